/* Split virtqueues, device side (virtq.h). */
#include "virtq.h"
#include "lib/string.h"
#include "x86/io.h"

const char *virtq_err_name(int err)
{
	static const char *const names[] = {
		[VIRTQ_OK] = "ok",
		[VIRTQ_ERR_RING] = "ring not in guest RAM, misaligned or badly sized",
		[VIRTQ_ERR_AVAIL_IDX] = "available index jumped past the queue size",
		[VIRTQ_ERR_HEAD] = "available entry out of range",
		[VIRTQ_ERR_NEXT] = "next descriptor out of range",
		[VIRTQ_ERR_LOOP] = "chain longer than the queue",
		[VIRTQ_ERR_INDIRECT] = "bad indirect table",
	};
	unsigned e = (unsigned)(err < 0 ? -err : err);
	return e < ARRAY_SIZE(names) ? names[e] : "?";
}

int virtq_check(const struct gmem *ram, const struct virtq *vq)
{
	u16 n = vq->size;
	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -VIRTQ_ERR_RING;
	if (!IS_ALIGNED(vq->desc, VIRTQ_DESC_ALIGN) || !IS_ALIGNED(vq->avail, VIRTQ_AVAIL_ALIGN) ||
	    !IS_ALIGNED(vq->used, VIRTQ_USED_ALIGN))
		return -VIRTQ_ERR_RING;
	if (gmem_check(ram, vq->desc, (u64)n * sizeof(struct virtq_desc)) < 0 ||
	    gmem_check(ram, vq->avail, VIRTQ_AVAIL_BYTES(n)) < 0 || gmem_check(ram, vq->used, VIRTQ_USED_BYTES(n)) < 0)
		return -VIRTQ_ERR_RING;
	return 0;
}

/* The available ring's idx and ring[i] (guest memory, read once each). */
/* Only after virtq_check: the ring is in guest RAM. */
static volatile u16 *avail_word(const struct gmem *ram, const struct virtq *vq, unsigned i)
{
	return (volatile u16 *)gmem_ptr(ram, vq->avail, VIRTQ_AVAIL_BYTES(vq->size)) + i;
}

int virtq_pending(const struct gmem *ram, const struct virtq *vq)
{
	if (virtq_check(ram, vq) < 0)
		return -VIRTQ_ERR_RING;
	u16 idx = *avail_word(ram, vq, 1);
	barrier(); /* the ring entries are read after the index */
	u16 n = (u16)(idx - vq->last_avail);
	return n > vq->size ? -VIRTQ_ERR_AVAIL_IDX : n;
}

int virtq_pop(const struct gmem *ram, struct virtq *vq, u16 *head)
{
	if (virtq_check(ram, vq) < 0)
		return -VIRTQ_ERR_RING;
	u16 h = *avail_word(ram, vq, 2u + (unsigned)(vq->last_avail & (vq->size - 1u)));
	if (h >= vq->size)
		return -VIRTQ_ERR_HEAD;
	vq->last_avail++;
	*head = h;
	return 0;
}

bool virtq_want_interrupt(const struct gmem *ram, const struct virtq *vq)
{
	return virtq_check(ram, vq) < 0 || !(*avail_word(ram, vq, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

int virtq_set_notify(const struct gmem *ram, const struct virtq *vq, bool want)
{
	if (virtq_check(ram, vq) < 0)
		return -VIRTQ_ERR_RING;
	*(volatile u16 *)gmem_ptr(ram, vq->used, VIRTQ_USED_BYTES(vq->size)) = want ? 0 : VIRTQ_USED_F_NO_NOTIFY;
	return 0;
}

/* The one read of a descriptor in guest memory. */
static struct virtq_desc desc_copy(const struct virtq_desc *p)
{
	const volatile struct virtq_desc *v = p;
	struct virtq_desc d = { v->addr, v->len, v->flags, v->next };
	return d;
}

static int add_buf(struct virtq_chain *c, const struct virtq_desc *d)
{
	if (c->n == VIRTQ_MAX_CHAIN)
		return -VIRTQ_ERR_LOOP;
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	c->buf[c->n++] = (struct virtq_buf){ d->addr, d->len, w };
	if (w) {
		c->write_len += d->len;
	} else {
		c->read_len += d->len;
		if (c->nread + 1 != c->n)
			c->misordered = true;
		else
			c->nread++;
	}
	return 0;
}

/* Follows a chain through table[0..n) from first; a table entry marked
 * INDIRECT is allowed only when indirect_ok (the top-level table). */
static int follow(const struct gmem *ram, const struct virtq *vq, const struct virtq_desc *table, u32 n, u16 first,
		  bool indirect_ok, struct virtq_chain *c);

static int walk_indirect(const struct gmem *ram, const struct virtq *vq, const struct virtq_desc *d,
			 struct virtq_chain *c)
{
	if (!vq->indirect || (d->flags & VIRTQ_DESC_F_NEXT) || d->len == 0 || d->len % sizeof(struct virtq_desc) ||
	    d->len / sizeof(struct virtq_desc) > VIRTQ_MAX_SIZE)
		return -VIRTQ_ERR_INDIRECT;
	const struct virtq_desc *table = gmem_ptr(ram, d->addr, d->len);
	if (!table)
		return -VIRTQ_ERR_INDIRECT;
	return follow(ram, vq, table, d->len / sizeof(struct virtq_desc), 0, false, c);
}

static int follow(const struct gmem *ram, const struct virtq *vq, const struct virtq_desc *table, u32 n, u16 first,
		  bool indirect_ok, struct virtq_chain *c)
{
	u16 idx = first;
	for (u32 seen = 1;; seen++) {
		if (seen > n) /* a chain visits each entry once at most */
			return -VIRTQ_ERR_LOOP;
		struct virtq_desc d = desc_copy(&table[idx]);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return indirect_ok ? walk_indirect(ram, vq, &d, c) : -VIRTQ_ERR_INDIRECT;
		int rc = add_buf(c, &d);
		if (rc < 0)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -VIRTQ_ERR_NEXT;
		idx = d.next;
	}
}

int virtq_walk(const struct gmem *ram, const struct virtq *vq, u16 head, struct virtq_chain *c)
{
	c->head = head;
	c->n = c->nread = 0;
	c->misordered = false;
	c->read_len = c->write_len = 0;
	if (virtq_check(ram, vq) < 0)
		return -VIRTQ_ERR_RING;
	if (head >= vq->size)
		return -VIRTQ_ERR_HEAD;
	const struct virtq_desc *table = gmem_ptr(ram, vq->desc, (u64)vq->size * sizeof(struct virtq_desc));
	return follow(ram, vq, table, vq->size, head, true, c);
}

int virtq_push(const struct gmem *ram, struct virtq *vq, u16 head, u32 len)
{
	if (virtq_check(ram, vq) < 0)
		return -VIRTQ_ERR_RING;
	volatile u8 *used = gmem_ptr(ram, vq->used, VIRTQ_USED_BYTES(vq->size));
	volatile struct virtq_used_elem *e = (volatile struct virtq_used_elem *)(used + 4) + (vq->used_idx & (vq->size - 1));
	e->id = head;
	e->len = len;
	barrier(); /* the entry is visible before the index that publishes it */
	vq->used_idx++;
	*(volatile u16 *)(used + 2) = vq->used_idx;
	return 0;
}

/* Calls fn on every piece of [off, off+len) of one part of c: the
 * device-readable buffers or the device-writable ones.  -E_RANGE when the
 * part is shorter, or a buffer touched is not wholly guest RAM or not of
 * the part's direction (a misordered chain). */
/* Where a piece of a chain is copied to (reads) or from (writes). */
struct piece_arg {
	u8 *dst;
	const u8 *src;
};

static int each_piece(const struct gmem *ram, const struct virtq_chain *c, bool writable, u64 off, u64 len,
		      int (*fn)(void *host, u64 at, u64 n, const struct piece_arg *arg), const struct piece_arg *arg)
{
	unsigned from = writable ? c->nread : 0, to = writable ? c->n : c->nread;
	u64 at = 0; /* bytes of [off, off+len) done */
	for (unsigned i = from; i < to && at < len; i++) {
		u64 blen = c->buf[i].len;
		if (off >= blen) {
			off -= blen;
			continue;
		}
		u64 n = MIN(blen - off, len - at);
		/* The whole buffer must be guest RAM (so addr + off cannot
		 * wrap), and the writable part writable. */
		if (gmem_check(ram, c->buf[i].addr, blen) < 0 || c->buf[i].write != writable)
			return -E_RANGE;
		if (fn(gmem_ptr(ram, c->buf[i].addr + off, n), at, n, arg) < 0)
			return -E_RANGE;
		at += n;
		off = 0;
	}
	return at == len ? 0 : -E_RANGE;
}

static int piece_ok(void *host, u64 at, u64 n, const struct piece_arg *a) { (void)host, (void)at, (void)n, (void)a; return 0; }
static int piece_in(void *host, u64 at, u64 n, const struct piece_arg *a) { memcpy(a->dst + at, host, n); return 0; }
static int piece_out(void *host, u64 at, u64 n, const struct piece_arg *a) { memcpy(host, a->src + at, n); return 0; }

int virtq_read(const struct gmem *ram, const struct virtq_chain *c, u64 off, void *dst, u64 len)
{
	if (each_piece(ram, c, false, off, len, piece_ok, NULL) < 0)
		return -E_RANGE;
	const struct piece_arg a = { .dst = dst };
	return each_piece(ram, c, false, off, len, piece_in, &a);
}

int virtq_write(const struct gmem *ram, const struct virtq_chain *c, u64 off, const void *src, u64 len)
{
	if (each_piece(ram, c, true, off, len, piece_ok, NULL) < 0)
		return -E_RANGE;
	const struct piece_arg a = { .src = src };
	return each_piece(ram, c, true, off, len, piece_out, &a);
}
