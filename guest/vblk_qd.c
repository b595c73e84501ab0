/* vblk-qd SEED N SPAN QD: virtio-blk with up to QD requests in flight, as
 * a deep-queue driver keeps them (Linux keeps up to the queue's size).
 *
 *   1. N writes of 1-64 sectors at random sectors in [0, SPAN), each of
 *      shell_pattern_fill(SEED * 1000003 + i), up to QD in flight;
 *      overlapping ones land in the order they were offered (the device
 *      promises no order, ferry does: platform/blk.h);
 *   2. a FLUSH, offered while writes are still in flight;
 *   3. the whole span read back in 64-sector requests, up to QD in flight;
 *   4. N reads at random sectors again, up to QD in flight, each compared
 *      with what step 3 read.
 *
 * Result: the sha256 of the span after step 3, which the host computes
 * from the same seed (tests/emu/test_wire.py), and most=M, the most
 * requests the guest had in flight at once.  Sectors and counts come
 * from splitmix64(SEED): count = 1 + next % 64, sector = next % (SPAN -
 * count + 1).  The driver waits for completions by spinning on the used
 * ring with PAUSE, making no exit of its own, and rings the doorbell
 * only when the device asks for it (VIRTQ_USED_F_NO_NOTIFY clear), as
 * Linux does; it prints how often it rang. */
#include "vblk_drv.h"
#include "kernel.h"
#include "lib/sha256.h"
#include "lib/string.h"
#include "alloc.h"

#define QD_MAX 64
#define QD_SECTORS 64
#define QD_BYTES (QD_SECTORS * VIRTIO_BLK_SECTOR)

static struct qslot {
	struct virtio_blk_req_hdr hdr __aligned(16);
	u8 status;
	bool busy;
	u64 sector;
	u32 count;
	u8 *into; /* step 3: where the data goes */
	u8 *dst;  /* step 4: what step 3 read there */
} qs[QD_MAX];
static u8 qbuf[QD_MAX][QD_BYTES] __aligned(4096);

static u64 next(u64 *s)
{
	u64 z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

struct qd {
	struct vblk *v;
	unsigned depth, inflight, most, errors, mismatches;
	unsigned offered, doorbells;
};

/* Takes one completion, spinning: false after about 2^32 turns. */
static bool reap(struct qd *q)
{
	u32 id, len;
	for (u64 spin = 0; !vblk_used(&id, &len); spin++) {
		if (spin >> 32)
			return false;
		__asm__ volatile("pause" ::: "memory");
	}
	struct qslot *s = &qs[id / 3 % QD_MAX];
	if (s->status != VIRTIO_BLK_S_OK)
		q->errors++;
	if (s->into)
		memcpy(s->into, qbuf[s - qs], s->count * VIRTIO_BLK_SECTOR);
	if (s->dst && memcmp(s->dst, qbuf[s - qs], s->count * VIRTIO_BLK_SECTOR))
		q->mismatches++;
	s->busy = false;
	q->inflight--;
	return true;
}

/* A free slot, reaping until there is one. */
static struct qslot *slot(struct qd *q)
{
	while (q->inflight >= q->depth)
		if (!reap(q))
			return NULL;
	for (unsigned i = 0; i < q->depth; i++)
		if (!qs[i].busy)
			return &qs[i];
	return NULL;
}

/* Offers one request on slot s (descriptors 3s .. 3s + 2: its own) and
 * rings. */
static void offer(struct qd *q, struct qslot *s, u32 type, u64 sector, u32 count, u8 *into, u8 *dst)
{
	unsigned i = (unsigned)(s - qs);
	u16 h = (u16)(3 * i), d = (u16)(h + 1), st = (u16)(h + 2);
	u32 len = count * VIRTIO_BLK_SECTOR;
	s->hdr = (struct virtio_blk_req_hdr){ type, 0, sector };
	s->status = 0xFF;
	s->busy = true;
	s->sector = sector;
	s->count = count;
	s->into = into;
	s->dst = dst;
	struct virtq_desc *desc = q->v->desc;
	desc[h] = (struct virtq_desc){ (u64)(uintptr_t)&s->hdr, sizeof(s->hdr), VIRTQ_DESC_F_NEXT, len ? d : st };
	if (len)
		desc[d] = (struct virtq_desc){ (u64)(uintptr_t)qbuf[i], len,
					       (u16)(VIRTQ_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0)), st };
	desc[st] = (struct virtq_desc){ (u64)(uintptr_t)&s->status, 1, VIRTQ_DESC_F_WRITE, 0 };
	vblk_offer(h);
	q->offered++;
	q->doorbells += vblk_kick_if_asked();
	q->inflight++;
	q->most = MAX(q->most, q->inflight);
}

static bool drain(struct qd *q)
{
	while (q->inflight)
		if (!reap(q))
			return false;
	return true;
}

static int usage(struct shell *sh) { return shell_usage(sh); }

/* n requests at random sectors from *rs: writes of their pattern
 * (img NULL), or reads compared with img. */
static bool random_pass(struct qd *q, u64 *rs, u64 seed, u64 n, u64 span, u8 *img)
{
	for (u64 i = 0; i < n; i++) {
		struct qslot *s = slot(q);
		if (!s)
			return false;
		u32 count = (u32)(1 + next(rs) % QD_SECTORS);
		u64 sector = next(rs) % (span - count + 1);
		if (img) {
			offer(q, s, VIRTIO_BLK_T_IN, sector, count, NULL, img + sector * VIRTIO_BLK_SECTOR);
			continue;
		}
		u64 ps = seed * 1000003 + i;
		shell_pattern_fill(&ps, qbuf[s - qs], count * VIRTIO_BLK_SECTOR);
		offer(q, s, VIRTIO_BLK_T_OUT, sector, count, NULL, NULL);
	}
	return true;
}

int vblk_cmd_qd(struct shell *sh, int argc, char **argv)
{
	u64 seed, n, span, depth;
	struct qd q = { .v = vblk_get() };
	if (!q.v)
		return -E_NOENT;
	if (argc != 5 || str_to_u64(argv[1], strlen(argv[1]), &seed) || str_to_u64(argv[2], strlen(argv[2]), &n) ||
	    str_to_u64(argv[3], strlen(argv[3]), &span) || str_to_u64(argv[4], strlen(argv[4]), &depth) ||
	    span < QD_SECTORS || span > q.v->capacity || depth < 1 || depth > QD_MAX || n > 100000)
		return usage(sh);
	q.depth = (unsigned)depth;
	u8 *img = g_alloc(span * VIRTIO_BLK_SECTOR);
	if (!img)
		return -E_NOMEM;
	u64 rs = seed;
	bool ok = random_pass(&q, &rs, seed, n, span, NULL); /* 1: writes */
	struct qslot *fs = ok ? slot(&q) : NULL;
	if (fs) /* 2: the flush, with writes still in flight: ferry holds it back */
		offer(&q, fs, VIRTIO_BLK_T_FLUSH, 0, 0, NULL, NULL);
	ok = fs && drain(&q);
	for (u64 sec = 0; ok && sec < span; sec += QD_SECTORS) { /* 3: the span */
		struct qslot *s = slot(&q);
		ok = s != NULL;
		if (ok)
			offer(&q, s, VIRTIO_BLK_T_IN, sec, (u32)MIN((u64)QD_SECTORS, span - sec),
			      img + sec * VIRTIO_BLK_SECTOR, NULL);
	}
	ok = ok && drain(&q);
	ok = ok && random_pass(&q, &rs, seed, n, span, img); /* 4: reads against step 3 */
	ok = ok && drain(&q);
	u8 d[32];
	char hex[65];
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, img, span * VIRTIO_BLK_SECTOR);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	g_free(img);
	if (!ok || q.errors || q.mismatches) {
		shell_message(sh, "%s, %u errors, %u mismatches", ok ? "done" : "a request never completed", q.errors,
			      q.mismatches);
		return -E_IO;
	}
	con_printf("vblk-qd: %u doorbells for %u requests", q.doorbells, q.offered);
	shell_result(sh, "%s most=%u", hex, q.most);
	return 0;
}
