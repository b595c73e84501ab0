#include <stdlib.h>
#include <string.h>
#include "fake_disk.h"

static struct fake_disk *of(struct blk_dev *dev) { return dev->priv; }

static void record(struct fake_disk *d, char op, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	if (d->ncalls < FAKE_DISK_MAX_CALLS) {
		struct fake_disk_call *c = &d->call[d->ncalls];
		*c = (struct fake_disk_call){ .op = op, .lba = lba, .count = count, .nseg = nseg };
		if (segs)
			memcpy(c->seg, segs, nseg * sizeof(*segs));
	}
	d->ncalls++;
}

/* Checks what blk.h promises every back end before moving bytes. */
static int rw(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
{
	struct fake_disk *d = of(dev);
	record(d, write ? 'w' : 'r', lba, count, segs, nseg);
	if (d->fail)
		return d->fail;
	if (nseg == 0 || nseg > BLK_MAX_SEGS || count == 0 || count > dev->info.max_sectors ||
	    lba + count > dev->info.sectors)
		abort();
	u64 off = lba * dev->info.sector_size, total = 0;
	for (unsigned i = 0; i < nseg; i++) {
		if (segs[i].len == 0 || ((segs[i].addr | segs[i].len) & 3))
			abort();
		u8 *p = (u8 *)(uintptr_t)segs[i].addr;
		if (write)
			memcpy(d->data + off + total, p, segs[i].len);
		else
			memcpy(p, d->data + off + total, segs[i].len);
		total += segs[i].len;
	}
	if (total != (u64)count * dev->info.sector_size)
		abort();
	return 0;
}

static int fd_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return rw(dev, lba, count, segs, nseg, false);
}
static int fd_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return rw(dev, lba, count, segs, nseg, true);
}
static int fd_flush(struct blk_dev *dev)
{
	record(of(dev), 'f', 0, 0, NULL, 0);
	return of(dev)->fail;
}

static const struct blk_ops fake_ops = { .read = fd_read, .write = fd_write, .flush = fd_flush };

static int fd_submit(struct blk_dev *dev, struct blk_io *io)
{
	struct fake_disk *d = of(dev);
	if (d->nqueued >= dev->queue_depth)
		return -E_NOSPC;
	d->queued[d->nqueued++] = io;
	return 0;
}

bool fake_disk_complete(struct fake_disk *d, unsigned i)
{
	if (i >= d->nqueued)
		return false;
	struct blk_io *io = d->queued[i];
	memmove(&d->queued[i], &d->queued[i + 1], (d->nqueued - i - 1) * sizeof(d->queued[0]));
	d->nqueued--;
	int rc = io->op == BLK_OP_FLUSH ? fd_flush(&d->dev)
		 : rw(&d->dev, io->lba, io->count, io->segs, io->nseg, io->op == BLK_OP_WRITE);
	if (d->fail_next) {
		rc = d->fail_next;
		d->fail_next = 0;
	}
	io->done(io, rc);
	return true;
}

static unsigned fd_poll(struct blk_dev *dev)
{
	struct fake_disk *d = of(dev);
	while (d->complete_on_poll && fake_disk_complete(d, 0))
		;
	return d->nqueued;
}

static const struct blk_ops fake_async_ops = { .read = fd_read, .write = fd_write, .flush = fd_flush,
					       .submit = fd_submit, .poll = fd_poll };

void fake_disk_async(struct fake_disk *d, u32 depth)
{
	d->dev.ops = &fake_async_ops;
	d->dev.queue_depth = depth < FAKE_DISK_QUEUE ? depth : FAKE_DISK_QUEUE;
}

void fake_disk_init(struct fake_disk *d, u64 sectors, u32 sector_size, u32 max_sectors)
{
	memset(d, 0, sizeof(*d));
	d->dev = (struct blk_dev){
		.name = "fake0", .ops = &fake_ops, .priv = d,
		.info = { .sectors = sectors, .sector_size = sector_size, .max_sectors = max_sectors,
			  .model = "FAKE DISK", .serial = "FAKE-SERIAL-0001" },
	};
	d->data = malloc(sectors * sector_size);
	for (u64 i = 0; i < sectors * sector_size; i++)
		d->data[i] = fake_disk_byte(i);
}

void fake_disk_free(struct fake_disk *d)
{
	free(d->data);
	d->data = NULL;
}

u8 *fake_ram_init(struct gmem *gm, size_t size)
{
	u8 *ram = aligned_alloc(4096, size);
	memset(ram, 0, size);
	*gm = (struct gmem){ 0 };
	gmem_add(gm, fake_gpa(ram), fake_gpa(ram) + size);
	return ram;
}

void fake_ram_free(u8 *ram) { free(ram); }
