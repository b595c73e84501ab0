/* The shared request path (blk_req.h): check a request against the back
 * end and the guest's RAM, then run it, split into back-end calls when the
 * caller allows it. */
#include "blk_req.h"

static enum blk_req_status status_of(int err)
{
	switch (-err) {
	case E_OK: return BLK_REQ_OK;
	case E_TIMEDOUT: return BLK_REQ_TIMEOUT;
	case E_ROFS: return BLK_REQ_READ_ONLY;
	case E_RANGE: return BLK_REQ_LBA_RANGE;
	case E_INVAL: return BLK_REQ_REFUSED;
	default: return BLK_REQ_IO_ERROR;
	}
}

const char *blk_req_status_name(enum blk_req_status st)
{
	static const char *const names[] = {
		[BLK_REQ_OK] = "ok", [BLK_REQ_NO_DEVICE] = "no device", [BLK_REQ_BAD_SEGS] = "bad segments",
		[BLK_REQ_ALIGN] = "misaligned segment", [BLK_REQ_DMA_RANGE] = "buffer outside guest RAM",
		[BLK_REQ_LBA_RANGE] = "sector range", [BLK_REQ_LENGTH] = "length mismatch",
		[BLK_REQ_READ_ONLY] = "read-only", [BLK_REQ_IO_ERROR] = "I/O error", [BLK_REQ_TIMEOUT] = "timeout",
		[BLK_REQ_REFUSED] = "refused by the back end",
	};
	return (unsigned)st < ARRAY_SIZE(names) && names[st] ? names[st] : "?";
}

enum blk_req_status blk_req_check_segs(const struct gmem *ram, const struct blk_gseg *in, unsigned n,
				       struct blk_seg *out, u64 *total)
{
	*total = 0;
	if (n == 0 || n > BLK_MAX_SEGS)
		return BLK_REQ_BAD_SEGS;
	for (unsigned i = 0; i < n; i++) {
		if (in[i].len == 0)
			return BLK_REQ_BAD_SEGS;
		if ((in[i].len | in[i].gpa) & 3)
			return BLK_REQ_ALIGN;
		if (gmem_check(ram, in[i].gpa, in[i].len) < 0)
			return BLK_REQ_DMA_RANGE;
		out[i] = (struct blk_seg){ gmem_gpa_to_hpa(in[i].gpa), in[i].len };
		*total += in[i].len;
	}
	return BLK_REQ_OK;
}

/* Runs count sectors from lba over segs[] in back-end calls of at most max
 * sectors each.  A call's segments are a run of segs[], the first and last
 * possibly cut at a sector boundary: every piece stays a multiple of 4
 * bytes long (sector sizes are), and there are never more than nseg. */
static enum blk_req_status run_chunks(struct blk_dev *dev, bool write, u64 lba, u32 count, const struct blk_seg *segs,
				      unsigned nseg, u32 max)
{
	struct blk_seg part[BLK_MAX_SEGS];
	unsigned si = 0;
	u64 soff = 0;

	while (count) {
		u32 n = MIN(count, max);
		u64 want = (u64)n * dev->info.sector_size;
		unsigned np = 0;
		while (want && si < nseg && np < BLK_MAX_SEGS) {
			u64 take = MIN(segs[si].len - soff, want);
			part[np++] = (struct blk_seg){ segs[si].addr + soff, (u32)take };
			soff += take;
			want -= take;
			if (soff == segs[si].len) {
				si++;
				soff = 0;
			}
		}
		if (want) /* cannot happen: the lengths were checked to add up */
			return BLK_REQ_LENGTH;
		int rc = write ? dev->ops->write(dev, lba, n, part, np) : dev->ops->read(dev, lba, n, part, np);
		if (rc < 0)
			return status_of(rc);
		lba += n;
		count -= n;
	}
	return BLK_REQ_OK;
}

enum blk_req_status blk_req_run(const struct gmem *ram, struct blk_dev *dev, const struct blk_req *r,
				struct blk_req_stats *stats)
{
	struct blk_seg bs[BLK_MAX_SEGS];
	u64 total;

	if (!dev)
		return BLK_REQ_NO_DEVICE;
	if (r->op == BLK_REQ_FLUSH)
		return r->nseg || r->count ? BLK_REQ_BAD_SEGS : status_of(dev->ops->flush(dev));
	enum blk_req_status st = blk_req_check_segs(ram, r->segs, r->nseg, bs, &total);
	if (st != BLK_REQ_OK)
		return st;

	const struct blk_info *info = &dev->info;
	u32 max = info->max_sectors ? info->max_sectors : 1;
	if (r->count == 0 || (r->count > max && !(r->flags & BLK_REQ_SPLIT)) || r->lba >= info->sectors ||
	    r->count > info->sectors - r->lba)
		return BLK_REQ_LBA_RANGE;
	if (total != (u64)r->count * info->sector_size)
		return BLK_REQ_LENGTH;
	bool write = r->op == BLK_REQ_WRITE;
	if (write && info->read_only)
		return BLK_REQ_READ_ONLY;
	st = run_chunks(dev, write, r->lba, r->count, bs, r->nseg, max);
	if (st == BLK_REQ_OK && write)
		stats->bytes_written += total;
	else if (st == BLK_REQ_OK)
		stats->bytes_read += total;
	return st;
}
