/* The logical device's command path: copy the guest's descriptor and
 * scatter list, check every field and address, run the command on the
 * back end, store the status.  Pure logic over struct gmem and struct
 * blk_dev (unit-tested on the host: tests/unit/test_lbd.c).
 *
 * Everything the guest hands us is copied before it is checked, so the
 * guest cannot change it between check and use. */
#include "lbd.h"
#include "lib/guest_abi.h"
#include "platform/mem.h"
#include "lib/string.h"

static u32 status_of(int err)
{
	switch (-err) {
	case E_OK: return LBD_ST_OK;
	case E_TIMEDOUT: return LBD_ST_TIMEOUT;
	case E_ROFS: return LBD_ST_READ_ONLY;
	case E_RANGE: return LBD_ST_LBA_RANGE;
	case E_INVAL: return LBD_ST_BAD_DESC;
	default: return LBD_ST_IO_ERROR;
	}
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

/* Checks the scatter list and turns it into host-physical segments.
 * Returns LBD_ST_OK and the total length, or an error status. */
static u32 check_segments(const struct gmem *ram, const struct lbd_seg *in, unsigned n, struct blk_seg *out, u64 *total)
{
	*total = 0;
	for (unsigned i = 0; i < n; i++) {
		if (in[i].reserved)
			return LBD_ST_BAD_DESC;
		if (in[i].len == 0 || (in[i].len | in[i].gpa) & 3)
			return in[i].len ? LBD_ST_ALIGN : LBD_ST_BAD_DESC;
		if (gmem_check(ram, in[i].gpa, in[i].len) < 0)
			return LBD_ST_DMA_RANGE;
		out[i] = (struct blk_seg){ gmem_gpa_to_hpa(in[i].gpa), in[i].len };
		*total += in[i].len;
	}
	return LBD_ST_OK;
}

static u32 run_command(const struct gmem *ram, struct blk_dev *dev, const struct lbd_desc *d, const struct lbd_seg *segs,
		       struct lbd_stats *stats)
{
	struct blk_seg bs[BLK_MAX_SEGS];
	u64 total;
	u32 st;

	if (d->flags || d->reserved)
		return LBD_ST_BAD_DESC;
	if (d->opcode != LBD_OP_IDENTIFY && d->opcode != LBD_OP_READ && d->opcode != LBD_OP_WRITE &&
	    d->opcode != LBD_OP_FLUSH)
		return LBD_ST_BAD_OPCODE;
	if (!dev)
		return LBD_ST_NO_DEVICE;
	if (d->opcode == LBD_OP_FLUSH)
		return d->nseg || d->count ? LBD_ST_BAD_DESC : status_of(dev->ops->flush(dev));
	if (d->nseg == 0 || d->nseg > BLK_MAX_SEGS)
		return LBD_ST_BAD_DESC;
	st = check_segments(ram, segs, d->nseg, bs, &total);
	if (st != LBD_ST_OK)
		return st;

	if (d->opcode == LBD_OP_IDENTIFY) {
		if (d->count || d->lba || d->nseg != 1 || total != sizeof(struct lbd_identify))
			return LBD_ST_BAD_DESC;
		fill_identify(phys_to_virt(bs[0].addr), dev);
		return LBD_ST_OK;
	}

	const struct blk_info *info = &dev->info;
	if (d->count == 0 || d->count > info->max_sectors || d->lba >= info->sectors ||
	    d->count > info->sectors - d->lba)
		return LBD_ST_LBA_RANGE;
	if (total != (u64)d->count * info->sector_size)
		return LBD_ST_BAD_DESC;
	if (d->opcode == LBD_OP_WRITE) {
		if (info->read_only)
			return LBD_ST_READ_ONLY;
		st = status_of(dev->ops->write(dev, d->lba, d->count, bs, d->nseg));
		if (st == LBD_ST_OK)
			stats->bytes_written += total;
	} else {
		st = status_of(dev->ops->read(dev, d->lba, d->count, bs, d->nseg));
		if (st == LBD_ST_OK)
			stats->bytes_read += total;
	}
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

