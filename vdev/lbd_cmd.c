/* The logical device's command path: copy the guest's descriptor and
 * scatter list, check what only this device has (opcode, flags, reserved
 * fields, identify), hand reads, writes and flushes to the shared request
 * path (vdev/blk_req.c), store the status.  Pure logic over struct gmem
 * and struct blk_dev (unit-tested on the host: tests/unit/test_lbd.c).
 *
 * Everything the guest hands us is copied before it is checked, so the
 * guest cannot change it between check and use. */
#include "lbd.h"
#include "blk_req.h"
#include "lib/guest_abi.h"
#include "platform/mem.h"
#include "lib/string.h"

static u32 lbd_status(enum blk_req_status st)
{
	static const u32 map[] = {
		[BLK_REQ_OK] = LBD_ST_OK,
		[BLK_REQ_NO_DEVICE] = LBD_ST_NO_DEVICE,
		[BLK_REQ_BAD_SEGS] = LBD_ST_BAD_DESC,
		[BLK_REQ_ALIGN] = LBD_ST_ALIGN,
		[BLK_REQ_DMA_RANGE] = LBD_ST_DMA_RANGE,
		[BLK_REQ_LBA_RANGE] = LBD_ST_LBA_RANGE,
		[BLK_REQ_LENGTH] = LBD_ST_BAD_DESC,
		[BLK_REQ_READ_ONLY] = LBD_ST_READ_ONLY,
		[BLK_REQ_IO_ERROR] = LBD_ST_IO_ERROR,
		[BLK_REQ_TIMEOUT] = LBD_ST_TIMEOUT,
		[BLK_REQ_REFUSED] = LBD_ST_BAD_DESC,
	};
	return (unsigned)st < ARRAY_SIZE(map) ? map[st] : LBD_ST_IO_ERROR;
}

static void fill_identify(struct lbd_identify *id, const struct blk_dev *dev)
{
	memset(id, 0, sizeof(*id));
	id->magic = LBD_IDENTIFY_MAGIC;
	id->version = LBD_VERSION;
	id->sectors = dev->info.sectors;
	id->sector_size = dev->info.sector_size;
	id->max_sectors = dev->info.max_sectors;
	id->max_segs = BLK_MAX_SEGS;
	id->flags = dev->info.read_only ? LBD_ID_READ_ONLY : 0;
	str_copy(id->model, dev->info.model, sizeof(id->model));
	str_copy(id->serial, dev->info.serial, sizeof(id->serial));
	str_copy(id->backend, dev->name, sizeof(id->backend));
}

/* Identify moves no data through the back end: its one segment passes the
 * same checks as a read's, then ferry writes the data itself. */
static u32 identify(const struct gmem *ram, struct blk_dev *dev, const struct lbd_desc *d, const struct blk_gseg *gs)
{
	struct blk_seg bs[BLK_MAX_SEGS];
	u64 total;

	if (!dev)
		return LBD_ST_NO_DEVICE;
	enum blk_req_status st = blk_req_check_segs(ram, gs, d->nseg, bs, &total);
	if (st != BLK_REQ_OK)
		return lbd_status(st);
	if (d->count || d->lba || d->nseg != 1 || total != sizeof(struct lbd_identify))
		return LBD_ST_BAD_DESC;
	fill_identify(phys_to_virt(bs[0].addr), dev);
	return LBD_ST_OK;
}

static u32 run_command(const struct gmem *ram, struct blk_dev *dev, const struct lbd_desc *d, const struct lbd_seg *segs,
		       struct lbd_stats *stats)
{
	static const enum blk_req_op ops[] = {
		[LBD_OP_READ] = BLK_REQ_READ, [LBD_OP_WRITE] = BLK_REQ_WRITE, [LBD_OP_FLUSH] = BLK_REQ_FLUSH
	};
	struct blk_gseg gs[BLK_MAX_SEGS];

	if (d->flags || d->reserved)
		return LBD_ST_BAD_DESC;
	if (d->opcode != LBD_OP_IDENTIFY && d->opcode != LBD_OP_READ && d->opcode != LBD_OP_WRITE &&
	    d->opcode != LBD_OP_FLUSH)
		return LBD_ST_BAD_OPCODE;
	/* The caller copied at most BLK_MAX_SEGS segments. */
	unsigned n = MIN(d->nseg, BLK_MAX_SEGS);
	for (unsigned i = 0; i < n; i++) {
		if (segs[i].reserved)
			return LBD_ST_BAD_DESC;
		gs[i] = (struct blk_gseg){ segs[i].gpa, segs[i].len };
	}
	if (d->opcode == LBD_OP_IDENTIFY)
		return identify(ram, dev, d, gs);

	struct blk_req r = { .op = ops[d->opcode], .lba = d->lba, .count = d->count, .segs = gs, .nseg = d->nseg };
	struct blk_req_stats moved = { 0, 0 };
	u32 st = lbd_status(blk_req_run(ram, dev, &r, &moved));
	stats->bytes_read += moved.bytes_read;
	stats->bytes_written += moved.bytes_written;
	return st;
}

u32 lbd_execute(const struct gmem *ram, struct blk_dev *dev, gpa_t desc_gpa, struct lbd_stats *stats)
{
	struct lbd_desc d;
	struct lbd_seg segs[BLK_MAX_SEGS];
	u32 st;

	struct lbd_desc *desc = gmem_ptr(ram, desc_gpa, sizeof(d));
	if (!desc || desc_gpa & 7)
		return desc ? LBD_ST_ALIGN : LBD_ST_DMA_RANGE; /* nowhere to write a status */
	memcpy(&d, desc, sizeof(d));
	if (d.nseg > BLK_MAX_SEGS) {
		st = LBD_ST_BAD_DESC;
	} else {
		const void *sp = gmem_ptr(ram, desc_gpa + sizeof(d), (u64)d.nseg * sizeof(struct lbd_seg));
		if (!sp) {
			st = LBD_ST_DMA_RANGE;
		} else {
			memcpy(segs, sp, (u64)d.nseg * sizeof(struct lbd_seg));
			st = run_command(ram, dev, &d, segs, stats);
		}
	}
	/* Through the pointer gmem_ptr checked above. */
	((volatile struct lbd_desc *)desc)->status = st;
	return st;
}
