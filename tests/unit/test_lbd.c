/* The logical device's command path (vdev/lbd_cmd.c: lbd_execute) against a
 * fake back end: every malformed or hostile descriptor gets its error
 * status and never reaches the back end. */
#include <stdlib.h>
#include "check.h"
#include "lib/guest_abi.h"
#include "vdev/lbd.h"

#define RAM_SIZE (1 << 20)
#define SECTORS 2048

static u8 *ram;             /* the "guest RAM": gpa == host address */
static struct gmem gm;
static u8 disk[SECTORS * 512];
static int backend_calls;
static int backend_fail;
static struct lbd_stats stats;

static int fake_rw(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
{
	(void)dev;
	backend_calls++;
	if (backend_fail)
		return backend_fail;
	u64 off = lba * 512, total = 0;
	for (unsigned i = 0; i < nseg; i++) {
		u8 *p = (u8 *)(uintptr_t)segs[i].addr;
		if (write)
			memcpy(disk + off + total, p, segs[i].len);
		else
			memcpy(p, disk + off + total, segs[i].len);
		total += segs[i].len;
	}
	return total == (u64)count * 512 ? 0 : -E_INVAL;
}
static int fake_read(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return fake_rw(d, l, c, s, n, false); }
static int fake_write(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return fake_rw(d, l, c, s, n, true); }
static int fake_flush(struct blk_dev *d) { (void)d; backend_calls++; return backend_fail; }

static const struct blk_ops ops = { .read = fake_read, .write = fake_write, .flush = fake_flush };
static struct blk_dev dev = {
	.name = "fake", .ops = &ops,
	.info = { .sectors = SECTORS, .sector_size = 512, .max_sectors = 128, .model = "FAKE DISK", .serial = "42" },
};

static gpa_t gpa(size_t off) { return (gpa_t)(uintptr_t)(ram + off); }

/* A descriptor at RAM offset 0 with one segment. */
static struct lbd_desc *desc1(u8 op, u64 lba, u32 count, gpa_t buf, u32 len)
{
	struct lbd_desc *d = (struct lbd_desc *)ram;
	memset(d, 0, 64);
	d->opcode = op;
	d->nseg = 1;
	d->status = LBD_ST_PENDING;
	d->lba = lba;
	d->count = count;
	d->seg[0].gpa = buf;
	d->seg[0].len = len;
	return d;
}

static void setup(void)
{
	if (!ram)
		ram = aligned_alloc(4096, RAM_SIZE);
	memset(ram, 0, RAM_SIZE);
	gm = (struct gmem){ 0 };
	gmem_add(&gm, gpa(0), gpa(RAM_SIZE));
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (u8)(i * 7 + (i >> 9));
	backend_calls = 0;
	backend_fail = 0;
	dev.info.read_only = false;
}

TEST(identify_reports_the_backend)
{
	setup();
	struct lbd_desc *d = desc1(LBD_OP_IDENTIFY, 0, 0, gpa(4096), 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_OK);
	CHECK_EQ(d->status, LBD_ST_OK);
	struct lbd_identify *id = (void *)(ram + 4096);
	CHECK_EQ(id->magic, LBD_IDENTIFY_MAGIC);
	CHECK_EQ(id->sectors, SECTORS);
	CHECK_EQ(id->sector_size, 512);
	CHECK_STR(id->model, "FAKE DISK");
	CHECK_STR(id->backend, "fake");
}

TEST(read_and_write_move_the_bytes)
{
	setup();
	desc1(LBD_OP_READ, 10, 4, gpa(8192), 2048);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_OK);
	CHECK(memcmp(ram + 8192, disk + 10 * 512, 2048) == 0);
	memset(ram + 8192, 0xAB, 1024);
	desc1(LBD_OP_WRITE, 100, 2, gpa(8192), 1024);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_OK);
	CHECK_EQ(disk[100 * 512], 0xAB);
	CHECK_EQ(disk[102 * 512 - 1], 0xAB);
	CHECK(disk[102 * 512] != 0xAB || disk[102 * 512 + 1] != 0xAB);
}

TEST(scatter_list_of_several_segments)
{
	setup();
	struct lbd_desc *d = desc1(LBD_OP_READ, 0, 3, gpa(8192), 512);
	d->nseg = 3;
	d->seg[1] = (struct lbd_seg){ gpa(20000), 1000, 0 };
	d->seg[2] = (struct lbd_seg){ gpa(40000), 24, 0 };
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_OK);
	CHECK(memcmp(ram + 8192, disk, 512) == 0);
	CHECK(memcmp(ram + 20000, disk + 512, 1000) == 0);
	CHECK(memcmp(ram + 40000, disk + 1512, 24) == 0);
}

TEST(dma_outside_guest_ram_is_refused_untouched)
{
	setup();
	static u8 outside[4096] __attribute__((aligned(4096))); /* "ferry's memory" */
	memset(outside, 0x5A, sizeof(outside));
	desc1(LBD_OP_READ, 0, 1, (gpa_t)(uintptr_t)outside, 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_DMA_RANGE);
	CHECK_EQ(backend_calls, 0);
	CHECK_EQ(outside[0], 0x5A);
	/* Writing ferry's memory out to disk is refused as well. */
	desc1(LBD_OP_WRITE, 0, 1, (gpa_t)(uintptr_t)outside, 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_DMA_RANGE);
	CHECK_EQ(backend_calls, 0);
}

TEST(dma_crossing_the_end_of_ram_is_refused)
{
	setup();
	desc1(LBD_OP_READ, 0, 2, gpa(RAM_SIZE - 512), 1024);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_DMA_RANGE);
	CHECK_EQ(backend_calls, 0);
	desc1(LBD_OP_READ, 0, 1, ~0ULL - 255, 512); /* wraps around */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_DMA_RANGE);
}

TEST(descriptor_outside_ram_gets_nothing_written)
{
	setup();
	static struct lbd_desc outside __attribute__((aligned(8)));
	memset(&outside, 0, sizeof(outside));
	outside.opcode = LBD_OP_FLUSH;
	outside.status = 0x1234;
	CHECK_EQ(lbd_execute(&gm, &dev, (gpa_t)(uintptr_t)&outside, &stats), LBD_ST_DMA_RANGE);
	CHECK_EQ(outside.status, 0x1234);
	CHECK_EQ(backend_calls, 0);
	/* Header in RAM, segment list running past its end. */
	struct lbd_desc *d = (struct lbd_desc *)(ram + RAM_SIZE - 40);
	memset(d, 0, 40);
	d->opcode = LBD_OP_READ;
	d->nseg = 2;
	d->count = 1;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(RAM_SIZE - 40), &stats), LBD_ST_DMA_RANGE);
	CHECK_EQ(d->status, LBD_ST_DMA_RANGE);
	/* Misaligned descriptor. */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(4), &stats), LBD_ST_ALIGN);
}

TEST(lba_and_count_limits)
{
	setup();
	desc1(LBD_OP_READ, SECTORS, 1, gpa(8192), 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_LBA_RANGE);
	desc1(LBD_OP_READ, SECTORS - 1, 2, gpa(8192), 1024);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_LBA_RANGE);
	desc1(LBD_OP_READ, ~0ULL, 2, gpa(8192), 1024); /* lba + count wraps */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_LBA_RANGE);
	desc1(LBD_OP_READ, 0, 0, gpa(8192), 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_LBA_RANGE);
	desc1(LBD_OP_READ, 0, 129, gpa(8192), 129 * 512); /* over max_sectors */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_LBA_RANGE);
	desc1(LBD_OP_READ, SECTORS - 1, 1, gpa(8192), 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_OK);
	CHECK_EQ(backend_calls, 1);
}

TEST(malformed_descriptors)
{
	setup();
	struct lbd_desc *d = desc1(0x77, 0, 1, gpa(8192), 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_OPCODE);
	CHECK_EQ(d->status, LBD_ST_BAD_OPCODE);
	desc1(LBD_OP_READ, 0, 1, gpa(8192), 500); /* length != count * sector */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	d = desc1(LBD_OP_READ, 0, 1, gpa(8192), 512);
	d->nseg = 0;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	d->nseg = BLK_MAX_SEGS + 1;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	d = desc1(LBD_OP_READ, 0, 1, gpa(8192), 512);
	d->flags = 1;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	d = desc1(LBD_OP_READ, 0, 1, gpa(8192), 512);
	d->seg[0].reserved = 1;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	desc1(LBD_OP_READ, 0, 1, gpa(8194), 512); /* unaligned address */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_ALIGN);
	desc1(LBD_OP_IDENTIFY, 0, 0, gpa(8192), 256); /* identify wants 512 */
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	d = desc1(LBD_OP_FLUSH, 0, 0, 0, 0);
	d->nseg = 1;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_BAD_DESC);
	CHECK_EQ(backend_calls, 0);
}

TEST(backend_errors_and_read_only)
{
	setup();
	backend_fail = -E_IO;
	desc1(LBD_OP_READ, 0, 1, gpa(8192), 512);
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_IO_ERROR);
	backend_fail = -E_TIMEDOUT;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_TIMEOUT);
	backend_fail = 0;
	dev.info.read_only = true;
	desc1(LBD_OP_WRITE, 0, 1, gpa(8192), 512);
	u8 before = disk[0];
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_READ_ONLY);
	CHECK_EQ(disk[0], before);
	dev.info.read_only = false;
	desc1(LBD_OP_READ, 0, 1, gpa(8192), 512);
	CHECK_EQ(lbd_execute(&gm, NULL, gpa(0), &stats), LBD_ST_NO_DEVICE);
}

TEST(flush_reaches_the_backend)
{
	setup();
	desc1(LBD_OP_FLUSH, 0, 0, 0, 0)->nseg = 0;
	CHECK_EQ(lbd_execute(&gm, &dev, gpa(0), &stats), LBD_ST_OK);
	CHECK_EQ(backend_calls, 1);
}

int main(void)
{
	RUN(identify_reports_the_backend);
	RUN(read_and_write_move_the_bytes);
	RUN(scatter_list_of_several_segments);
	RUN(dma_outside_guest_ram_is_refused_untouched);
	RUN(dma_crossing_the_end_of_ram_is_refused);
	RUN(descriptor_outside_ram_gets_nothing_written);
	RUN(lba_and_count_limits);
	RUN(malformed_descriptors);
	RUN(backend_errors_and_read_only);
	RUN(flush_reaches_the_backend);
	free(ram);
	return CHECK_SUMMARY();
}
