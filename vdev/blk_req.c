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

/* Walks segs[] in pieces of whole sectors: each piece's segments are a
 * run of segs[], the first and last possibly cut at a sector boundary, so
 * every piece stays a multiple of 4 bytes long (sector sizes are) and
 * never has more segments than segs[]. */
struct seg_cursor {
	const struct blk_seg *segs;
	unsigned nseg, si;
	u64 soff;
};

/* The next want bytes into out[] (room for cap): the number of segments,
 * or -1 when segs[] runs out first (cannot happen: the lengths were checked
 * to add up) or out[] is too small. */
static int next_piece(struct seg_cursor *c, u64 want, struct blk_seg *out, unsigned cap)
{
	unsigned np = 0;
	while (want && c->si < c->nseg && np < cap) {
		u64 take = MIN(c->segs[c->si].len - c->soff, want);
		out[np++] = (struct blk_seg){ c->segs[c->si].addr + c->soff, (u32)take };
		c->soff += take;
		want -= take;
		if (c->soff == c->segs[c->si].len) {
			c->si++;
			c->soff = 0;
		}
	}
	return want ? -1 : (int)np;
}

/* Runs count sectors from lba over segs[] in back-end calls of at most max
 * sectors each. */
static enum blk_req_status run_chunks(struct blk_dev *dev, bool write, u64 lba, u32 count, const struct blk_seg *segs,
				      unsigned nseg, u32 max)
{
	struct blk_seg part[BLK_MAX_SEGS];
	struct seg_cursor c = { segs, nseg, 0, 0 };

	while (count) {
		u32 n = MIN(count, max);
		int np = next_piece(&c, (u64)n * dev->info.sector_size, part, BLK_MAX_SEGS);
		if (np < 0)
			return BLK_REQ_LENGTH;
		int rc = write ? dev->ops->write(dev, lba, n, part, (unsigned)np)
			       : dev->ops->read(dev, lba, n, part, (unsigned)np);
		if (rc < 0)
			return status_of(rc);
		lba += n;
		count -= n;
	}
	return BLK_REQ_OK;
}

/* The checks of a read or write that need no back-end call: host-physical
 * segments in bs[] and their total in *total. */
static enum blk_req_status check_rw(const struct gmem *ram, const struct blk_dev *dev, const struct blk_req *r,
				    struct blk_seg *bs, u64 *total)
{
	enum blk_req_status st = blk_req_check_segs(ram, r->segs, r->nseg, bs, total);
	if (st != BLK_REQ_OK)
		return st;
	const struct blk_info *info = &dev->info;
	u32 max = info->max_sectors ? info->max_sectors : 1;
	if (r->count == 0 || (r->count > max && !(r->flags & BLK_REQ_SPLIT)) || r->lba >= info->sectors ||
	    r->count > info->sectors - r->lba)
		return BLK_REQ_LBA_RANGE;
	if (*total != (u64)r->count * info->sector_size)
		return BLK_REQ_LENGTH;
	if (r->op == BLK_REQ_WRITE && info->read_only)
		return BLK_REQ_READ_ONLY;
	return BLK_REQ_OK;
}

static void count_bytes(struct blk_req_stats *stats, bool write, u64 bytes)
{
	if (write)
		stats->bytes_written += bytes;
	else
		stats->bytes_read += bytes;
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
	enum blk_req_status st = check_rw(ram, dev, r, bs, &total);
	if (st != BLK_REQ_OK)
		return st;
	u32 max = dev->info.max_sectors ? dev->info.max_sectors : 1;
	bool write = r->op == BLK_REQ_WRITE;
	st = run_chunks(dev, write, r->lba, r->count, bs, r->nseg, max);
	if (st == BLK_REQ_OK)
		count_bytes(stats, write, total);
	return st;
}

unsigned blk_req_parts(const struct blk_dev *dev, const struct blk_req *r)
{
	if (!dev || r->op == BLK_REQ_FLUSH || r->count == 0)
		return 1;
	u32 max = dev->info.max_sectors ? dev->info.max_sectors : 1;
	u64 n = ((u64)r->count + max - 1) / max;
	return n > BLK_AREQ_PARTS ? BLK_AREQ_PARTS : (unsigned)n;
}

static void finish(struct blk_areq *a)
{
	if (a->status == BLK_REQ_OK && a->stats)
		count_bytes(a->stats, a->write, a->bytes);
	a->done(a);
}

/* One part back from the back end: the request is done with its last. */
static void part_done(struct blk_io *io, int rc)
{
	struct blk_areq *a = io->ctx;
	if (rc < 0 && a->status == BLK_REQ_OK)
		a->status = status_of(rc);
	if (--a->pending == 0)
		finish(a);
}

/* Cuts the checked request into parts of at most max sectors over bs[]:
 * false when it needs more than BLK_AREQ_PARTS. */
static bool cut_parts(struct blk_areq *a, const struct blk_dev *dev, const struct blk_req *r, const struct blk_seg *bs)
{
	u32 max = dev->info.max_sectors ? dev->info.max_sectors : 1;
	struct seg_cursor c = { bs, r->nseg, 0, 0 };
	unsigned used = 0;
	u64 lba = r->lba;
	a->nparts = 0;
	for (u32 left = r->count; left;) {
		u32 n = MIN(left, max);
		if (a->nparts == BLK_AREQ_PARTS)
			return false;
		int np = next_piece(&c, (u64)n * dev->info.sector_size, a->seg + used, ARRAY_SIZE(a->seg) - used);
		if (np < 0)
			return false;
		a->part[a->nparts++] = (struct blk_io){ .op = a->write ? BLK_OP_WRITE : BLK_OP_READ, .lba = lba,
							 .count = n, .segs = a->seg + used, .nseg = (unsigned)np };
		used += (unsigned)np;
		lba += n;
		left -= n;
	}
	return true;
}

/* Submits every part; a part the back end refuses fails the request
 * (the parts already in flight still complete it). */
static void submit_parts(struct blk_areq *a, struct blk_dev *dev)
{
	a->pending = a->nparts + 1; /* held until every part is out */
	for (unsigned i = 0; i < a->nparts; i++) {
		a->part[i].done = part_done;
		a->part[i].ctx = a;
		int rc = dev->ops->submit(dev, &a->part[i]);
		if (rc < 0) {
			a->status = a->status == BLK_REQ_OK ? status_of(rc == -E_NOSPC ? -E_IO : rc) : a->status;
			a->pending--;
		}
	}
	if (--a->pending == 0)
		finish(a);
}

void blk_req_start(const struct gmem *ram, struct blk_dev *dev, const struct blk_req *r, struct blk_areq *a)
{
	struct blk_seg bs[BLK_MAX_SEGS];
	u64 total = 0;

	a->status = BLK_REQ_OK;
	a->bytes = 0;
	a->write = r->op == BLK_REQ_WRITE;
	a->nparts = 0;
	if (!dev || !dev->ops->submit) {
		a->status = blk_req_run(ram, dev, r, a->stats ? a->stats : &(struct blk_req_stats){ 0, 0 });
		a->done(a); /* blk_req_run counted the bytes */
		return;
	}
	if (r->op == BLK_REQ_FLUSH) {
		if (r->nseg || r->count) {
			a->status = BLK_REQ_BAD_SEGS;
			finish(a);
			return;
		}
		a->part[0] = (struct blk_io){ .op = BLK_OP_FLUSH };
		a->nparts = 1;
		submit_parts(a, dev);
		return;
	}
	a->status = check_rw(ram, dev, r, bs, &total);
	if (a->status == BLK_REQ_OK && !cut_parts(a, dev, r, bs)) {
		a->status = blk_req_run(ram, dev, r, a->stats ? a->stats : &(struct blk_req_stats){ 0, 0 });
		a->done(a);
		return;
	}
	if (a->status != BLK_REQ_OK) {
		finish(a);
		return;
	}
	a->bytes = total;
	submit_parts(a, dev);
}
