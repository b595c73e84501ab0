/* The shared request path (vdev/blk_req.c): the checks in their order,
 * the guest-RAM gate, and the split of long requests into back-end calls
 * that each keep blk.h's promises (the fake disk aborts otherwise). */
#include "check.h"
#include "fake_disk.h"
#include "vdev/blk_req.h"

#define RAM_SIZE (1 << 20)

static struct gmem gm;
static u8 *ram;
static struct fake_disk disk;
static struct blk_req_stats stats;

static void setup(u32 sector_size, u32 max_sectors)
{
	if (ram)
		fake_ram_free(ram);
	fake_disk_free(&disk);
	ram = fake_ram_init(&gm, RAM_SIZE);
	fake_disk_init(&disk, 2048, sector_size, max_sectors);
	stats = (struct blk_req_stats){ 0, 0 };
}

static enum blk_req_status run(enum blk_req_op op, u64 lba, u32 count, const struct blk_gseg *s, unsigned n, unsigned flags)
{
	struct blk_req r = { .op = op, .lba = lba, .count = count, .segs = s, .nseg = n, .flags = flags };
	return blk_req_run(&gm, &disk.dev, &r, &stats);
}

static struct blk_gseg seg(size_t off, u32 len) { return (struct blk_gseg){ fake_gpa(ram + off), len }; }

TEST(read_and_write_reach_the_disk)
{
	setup(512, 128);
	struct blk_gseg s[2] = { seg(4096, 1024), seg(65536, 512) };
	CHECK_EQ(run(BLK_REQ_READ, 3, 3, s, 2, 0), BLK_REQ_OK);
	CHECK(memcmp(ram + 4096, disk.data + 3 * 512, 1024) == 0);
	CHECK(memcmp(ram + 65536, disk.data + 5 * 512, 512) == 0);
	CHECK_EQ(stats.bytes_read, 1536);
	memset(ram + 4096, 0xEE, 1024);
	CHECK_EQ(run(BLK_REQ_WRITE, 100, 2, s, 1, 0), BLK_REQ_OK);
	CHECK_EQ(disk.data[100 * 512], 0xEE);
	CHECK_EQ(stats.bytes_written, 1024);
	CHECK_EQ(disk.ncalls, 2);
	CHECK_EQ(disk.call[1].op, 'w');
	CHECK_EQ(disk.call[1].seg[0].addr, fake_gpa(ram + 4096));
}

TEST(checks_in_order_and_nothing_reaches_the_disk)
{
	setup(512, 128);
	static u8 outside[4096] __attribute__((aligned(4096)));
	struct blk_gseg s[BLK_MAX_SEGS + 1];
	for (unsigned i = 0; i <= BLK_MAX_SEGS; i++)
		s[i] = seg(4096, 512);
	struct blk_req r = { .op = BLK_REQ_READ, .lba = 0, .count = 1, .segs = s, .nseg = 1 };
	CHECK_EQ(blk_req_run(&gm, NULL, &r, &stats), BLK_REQ_NO_DEVICE);
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, s, 0, 0), BLK_REQ_BAD_SEGS);
	CHECK_EQ(run(BLK_REQ_READ, 0, BLK_MAX_SEGS + 1, s, BLK_MAX_SEGS + 1, 0), BLK_REQ_BAD_SEGS);
	s[0].len = 0;
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, s, 1, 0), BLK_REQ_BAD_SEGS);
	s[0] = seg(4098, 512);
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, s, 1, 0), BLK_REQ_ALIGN);
	s[0] = seg(4096, 510);
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, s, 1, 0), BLK_REQ_ALIGN);
	s[0] = (struct blk_gseg){ fake_gpa(outside), 512 };
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, s, 1, 0), BLK_REQ_DMA_RANGE);
	CHECK_EQ(run(BLK_REQ_WRITE, 0, 1, s, 1, 0), BLK_REQ_DMA_RANGE);
	s[0] = seg(RAM_SIZE - 512, 1024); /* crosses the end of RAM */
	CHECK_EQ(run(BLK_REQ_READ, 0, 2, s, 1, 0), BLK_REQ_DMA_RANGE);
	s[0] = (struct blk_gseg){ ~0ULL - 511, 1024 }; /* wraps */
	CHECK_EQ(run(BLK_REQ_READ, 0, 2, s, 1, 0), BLK_REQ_DMA_RANGE);
	s[0] = seg(4096, 512);
	CHECK_EQ(run(BLK_REQ_READ, 0, 0, s, 1, 0), BLK_REQ_LBA_RANGE);
	CHECK_EQ(run(BLK_REQ_READ, 2048, 1, s, 1, 0), BLK_REQ_LBA_RANGE);
	CHECK_EQ(run(BLK_REQ_READ, ~0ULL, 1, s, 1, 0), BLK_REQ_LBA_RANGE);
	CHECK_EQ(run(BLK_REQ_READ, 0, 2, s, 1, 0), BLK_REQ_LENGTH);
	disk.dev.info.read_only = true;
	CHECK_EQ(run(BLK_REQ_WRITE, 0, 1, s, 1, 0), BLK_REQ_READ_ONLY);
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, s, 1, 0), BLK_REQ_OK);
	CHECK_EQ(run(BLK_REQ_FLUSH, 0, 0, s, 1, 0), BLK_REQ_BAD_SEGS);
	CHECK_EQ(run(BLK_REQ_FLUSH, 0, 1, NULL, 0, 0), BLK_REQ_BAD_SEGS);
	CHECK_EQ(disk.ncalls, 1);
	CHECK_EQ(run(BLK_REQ_FLUSH, 0, 0, NULL, 0, 0), BLK_REQ_OK);
	CHECK_EQ(disk.call[1].op, 'f');
}

TEST(backend_errors_map)
{
	setup(512, 128);
	struct blk_gseg s = seg(4096, 512);
	disk.fail = -E_IO;
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, &s, 1, 0), BLK_REQ_IO_ERROR);
	disk.fail = -E_TIMEDOUT;
	CHECK_EQ(run(BLK_REQ_WRITE, 0, 1, &s, 1, 0), BLK_REQ_TIMEOUT);
	disk.fail = -E_INVAL;
	CHECK_EQ(run(BLK_REQ_READ, 0, 1, &s, 1, 0), BLK_REQ_REFUSED);
	disk.fail = -E_ROFS;
	CHECK_EQ(run(BLK_REQ_FLUSH, 0, 0, NULL, 0, 0), BLK_REQ_READ_ONLY);
	CHECK_EQ(stats.bytes_read + stats.bytes_written, 0);
	CHECK_STR(blk_req_status_name(BLK_REQ_DMA_RANGE), "buffer outside guest RAM");
}

TEST(max_sectors_without_split_is_a_range_error)
{
	setup(512, 8);
	struct blk_gseg s = seg(4096, 9 * 512);
	CHECK_EQ(run(BLK_REQ_READ, 0, 9, &s, 1, 0), BLK_REQ_LBA_RANGE);
	CHECK_EQ(disk.ncalls, 0);
}

/* 20 sectors over three segments (7, 1.5 and 11.5 sectors) with at most 8
 * per call: three calls, each within max_sectors and blk.h's rules, and
 * the bytes land where a single read would have put them. */
TEST(split_cuts_segments_at_sector_boundaries)
{
	setup(512, 8);
	struct blk_gseg s[3] = { seg(4096, 7 * 512), seg(65536, 3 * 256), seg(200000, 11 * 512 + 256) };
	CHECK_EQ(run(BLK_REQ_READ, 10, 20, s, 3, BLK_REQ_SPLIT), BLK_REQ_OK);
	CHECK_EQ(disk.ncalls, 3);
	CHECK_EQ(disk.call[0].lba, 10);
	CHECK_EQ(disk.call[0].count, 8);
	CHECK_EQ(disk.call[0].nseg, 2);
	CHECK_EQ(disk.call[0].seg[1].len, 512);
	CHECK_EQ(disk.call[1].lba, 18);
	CHECK_EQ(disk.call[1].nseg, 2);
	CHECK_EQ(disk.call[1].seg[0].addr, fake_gpa(ram + 65536 + 512));
	CHECK_EQ(disk.call[1].seg[0].len, 256);
	CHECK_EQ(disk.call[2].lba, 26);
	CHECK_EQ(disk.call[2].count, 4);
	CHECK_EQ(disk.call[2].nseg, 1);
	CHECK(memcmp(ram + 4096, disk.data + 10 * 512, 7 * 512) == 0);
	CHECK(memcmp(ram + 65536, disk.data + 17 * 512, 768) == 0);
	CHECK(memcmp(ram + 200000, disk.data + 17 * 512 + 768, 11 * 512 + 256) == 0);
	CHECK_EQ(stats.bytes_read, 20 * 512);
}

TEST(split_stops_at_the_first_failure)
{
	setup(4096, 2);
	struct blk_gseg s = seg(0, 5 * 4096);
	disk.fail = -E_IO;
	CHECK_EQ(run(BLK_REQ_WRITE, 0, 5, &s, 1, BLK_REQ_SPLIT), BLK_REQ_IO_ERROR);
	CHECK_EQ(disk.ncalls, 1);
	disk.fail = 0;
	CHECK_EQ(run(BLK_REQ_WRITE, 2043, 5, &s, 1, BLK_REQ_SPLIT), BLK_REQ_OK);
	CHECK_EQ(disk.ncalls, 4);
	CHECK_EQ(disk.call[3].lba, 2047);
	CHECK_EQ(run(BLK_REQ_WRITE, 2044, 5, &s, 1, BLK_REQ_SPLIT), BLK_REQ_LBA_RANGE);
}

int main(void)
{
	RUN(read_and_write_reach_the_disk);
	RUN(checks_in_order_and_nothing_reaches_the_disk);
	RUN(backend_errors_map);
	RUN(max_sectors_without_split_is_a_range_error);
	RUN(split_cuts_segments_at_sector_boundaries);
	RUN(split_stops_at_the_first_failure);
	fake_ram_free(ram);
	fake_disk_free(&disk);
	return CHECK_SUMMARY();
}
