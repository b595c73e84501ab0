/* One virtio-blk request (virtio 1.2, 5.2.6): a chain whose device-readable
 * part is the 16-byte header, then an OUT request's data, and whose
 * device-writable part is an IN request's data, then the status byte.
 * The device does not assume how the driver cut these into descriptors.
 *
 * Every request that has a place for its status gets one: IOERR for a
 * request that is malformed (header too short, data in the wrong
 * direction, lengths not in whole sectors, a buffer outside guest RAM,
 * more than VBLK_SEG_MAX segments, past the end of the disk) or that the
 * back end failed, UNSUPP for a type ferry does not serve.  Data moves
 * through the shared request path (vdev/blk_req.c), which checks every
 * segment against guest RAM before the back end sees it.  Pure logic,
 * host-tested (tests/unit/test_virtio_blk.c). */
#include "virtio_blk.h"
#include "lib/virtio.h"
#include "blk_req.h"
#include "lib/string.h"

/* The segments of [skip, skip+len) of one part of the chain; -1 when the
 * part is shorter, a buffer wraps, or there are more than VBLK_SEG_MAX. */
static int gather(const struct virtq_chain *c, bool writable, u64 skip, u64 len, struct blk_gseg *out)
{
	unsigned from = writable ? c->nread : 0, to = writable ? c->n : c->nread, n = 0;
	for (unsigned i = from; i < to && len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		if (b->addr + b->len < b->addr)
			return -1;
		if (skip >= b->len) {
			skip -= b->len;
			continue;
		}
		u64 take = MIN(b->len - skip, len);
		if (n == VBLK_SEG_MAX)
			return -1;
		out[n++] = (struct blk_gseg){ b->addr + skip, (u32)take };
		len -= take;
		skip = 0;
	}
	return len ? -1 : (int)n;
}

/* A request that ends without the back end (malformed, GET_ID, an
 * unsupported type): its status now. */
static void finish_now(struct vblk_slot *s, u8 status, u32 written)
{
	s->status = status;
	s->data_len = written;
	s->a.status = BLK_REQ_OK;
	s->a.done(&s->a);
}

/* IN (write false) or OUT: the data is the part after the header (OUT) or
 * before the status byte (IN), in 512-byte sectors.  false: malformed. */
static bool read_write(const struct gmem *ram, struct blk_dev *dev, const struct virtq_chain *c, bool write,
		       u64 sector, u64 len, struct vblk_slot *s)
{
	struct blk_gseg gs[VBLK_SEG_MAX];
	if (!dev)
		return false;
	u32 ss = dev->info.sector_size, per = ss / VIRTIO_BLK_SECTOR;
	if (len == 0 || len % ss || !per || sector % per || len / ss > 0xFFFFFFFFu)
		return false;
	int n = gather(c, !write, write ? sizeof(struct virtio_blk_req_hdr) : 0, len, gs);
	if (n <= 0)
		return false;
	struct blk_req r = { .op = write ? BLK_REQ_WRITE : BLK_REQ_READ, .lba = sector / per, .count = (u32)(len / ss),
			     .segs = gs, .nseg = (unsigned)n, .flags = BLK_REQ_SPLIT };
	s->status = VBLK_FROM_REQ;
	s->data_len = write ? 0 : (u32)len;
	blk_req_start(ram, dev, &r, &s->a);
	return true;
}

/* The device ID: the back end's serial, NUL-padded to 20 bytes. */
static u8 get_id(const struct gmem *ram, struct blk_dev *dev, const struct virtq_chain *c, u64 room, u32 *written)
{
	char id[VIRTIO_BLK_ID_BYTES];
	memset(id, 0, sizeof(id));
	if (dev)
		memcpy(id, dev->info.serial, MIN(strlen(dev->info.serial), sizeof(id)));
	u64 n = MIN(room, (u64)sizeof(id));
	if (n == 0 || virtq_write(ram, c, 0, id, n) < 0)
		return VIRTIO_BLK_S_IOERR;
	*written = (u32)n;
	return VIRTIO_BLK_S_OK;
}

static void execute(const struct gmem *ram, struct blk_dev *dev, const struct virtq_chain *c, struct vblk_slot *s,
		    struct vblk_stats *stats)
{
	struct virtio_blk_req_hdr h;
	u32 written = 0;
	if (c->misordered || c->read_len < sizeof(h) || virtq_read(ram, c, 0, &h, sizeof(h)) < 0) {
		finish_now(s, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	u64 out_len = c->read_len - sizeof(h), in_len = c->write_len - 1;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		stats->reads++;
		/* device-readable data where it must write: malformed */
		if (out_len || !read_write(ram, dev, c, false, h.sector, in_len, s))
			finish_now(s, VIRTIO_BLK_S_IOERR, 0);
		return;
	case VIRTIO_BLK_T_OUT:
		stats->writes++;
		if (in_len || !read_write(ram, dev, c, true, h.sector, out_len, s))
			finish_now(s, VIRTIO_BLK_S_IOERR, 0);
		return;
	case VIRTIO_BLK_T_FLUSH: {
		stats->flushes++;
		if (out_len || in_len || !dev) {
			finish_now(s, VIRTIO_BLK_S_IOERR, 0);
			return;
		}
		struct blk_req r = { .op = BLK_REQ_FLUSH };
		s->status = VBLK_FROM_REQ;
		s->data_len = 0;
		blk_req_start(ram, dev, &r, &s->a);
		return;
	}
	case VIRTIO_BLK_T_GET_ID: {
		u8 st = out_len ? VIRTIO_BLK_S_IOERR : get_id(ram, dev, c, in_len, &written);
		finish_now(s, st, written);
		return;
	}
	default:
		stats->unsupported++;
		finish_now(s, VIRTIO_BLK_S_UNSUPP, 0);
		return;
	}
}

int vblk_start(const struct gmem *ram, struct blk_dev *dev, const struct virtq_chain *c, struct vblk_slot *s,
	       struct vblk_stats *stats)
{
	/* The status is the last byte of the last buffer, which must be
	 * device-writable and wholly guest RAM. */
	const struct virtq_buf *last = c->n ? &c->buf[c->n - 1] : NULL;
	if (!last || !last->write || last->len == 0 || gmem_check(ram, last->addr, last->len) < 0)
		return -1;
	s->status_gpa = last->addr + last->len - 1;
	s->head = c->head;
	execute(ram, dev, c, s, stats);
	return 0;
}

u8 vblk_slot_status(const struct vblk_slot *s)
{
	if (s->status != VBLK_FROM_REQ)
		return s->status;
	return s->a.status == BLK_REQ_OK ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
}

u32 vblk_slot_used_len(const struct vblk_slot *s)
{
	return (vblk_slot_status(s) == VIRTIO_BLK_S_OK ? s->data_len : 0) + 1;
}
