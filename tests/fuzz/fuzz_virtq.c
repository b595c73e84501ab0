/* Fuzzes the virtio split virtqueue, device side (vdev/virtq.c): the
 * descriptor table, available ring and indirect tables are the guest's.
 *
 * Guest RAM (tests/unit/fake_disk.h's fake_ram_init) is 16 pages with
 * page 7 taken out (ferry's) and a page of ferry's after it.  Input: the
 * queue's size and features, then the table, the available ring and an
 * indirect table as the driver wrote them (buffer addresses are offsets
 * from RAM's start, or raw when the descriptor's top flag bit says so),
 * then the offsets and lengths the device reads and writes at.
 *
 * Oracles: a chain has at most VIRTQ_MAX_CHAIN buffers, its read and write
 * lengths are the sums of its readable and writable buffers, its readable
 * part (buf[0..nread)) holds readable ones only, and misordered says
 * whether a readable buffer follows a writable one; pending never exceeds the size; reads and writes
 * through a chain move exactly the bytes of the chain's buffers at the
 * offset asked (compared with a copy made from the chain), and fail
 * exactly when the range runs past the part or touches memory that is not
 * the guest's; nothing outside guest RAM changes; the used ring advances
 * by one per push. */
#include <string.h>
#include "fuzz.h"
#include "vdev/virtq.h"
#include "tests/unit/fake_disk.h"

#define PG 4096
#define RAM_PAGES 16
#define HOLE 7
#define DESC_OFF 0x0000
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define ITAB_OFF 0x3000 /* indirect tables: 0x3000-0x3fff */

static u8 *ram;
static struct gmem gm;
static u8 *mem; /* RAM_PAGES + 1 pages: RAM, then ferry's page */

static u64 base(void) { return (u64)(uintptr_t)mem; }
static bool in_ram(u64 a, u64 len) { return gmem_check(&gm, a, len) == 0; }

static void setup(void)
{
	if (mem)
		return;
	/* fake_ram_init's RAM, one page more than the guest's */
	ram = fake_ram_init(&gm, (RAM_PAGES + 1) * PG);
	mem = ram;
	gm = (struct gmem){ 0 };
	gmem_add(&gm, base(), base() + RAM_PAGES * PG);
	gmem_remove(&gm, base() + HOLE * PG, base() + (HOLE + 1) * PG);
}

/* A buffer address from the input: an offset into RAM (and a little past),
 * or raw. */
static u64 addr_of(u64 raw)
{
	if (raw >> 63)
		return raw & ~(1ull << 63);
	return base() + raw % ((RAM_PAGES + 1) * PG);
}

static void fill_descs(struct fuzz_in *in, struct virtq_desc *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		d[i].addr = addr_of(fz_u64(in));
		d[i].len = fz_u16(in) | (fz_u8(in) & 0x80 ? 0x10000u : 0); /* mostly short */
		d[i].flags = fz_u8(in);
		d[i].next = fz_u8(in);
	}
}

/* What the chain's part holds from off on, gathered straight from its
 * buffers (the model of virtq_read/virtq_write). */
static bool gather(const struct virtq_chain *c, bool wr, u64 off, u64 len, u8 *out)
{
	unsigned first = wr ? c->nread : 0, end = wr ? c->n : c->nread;
	u64 pos = 0, got = 0;
	for (unsigned i = first; i < end && got < len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		u64 s = pos, e = pos + b->len;
		pos = e;
		if (e <= off)
			continue;
		u64 from = off + got - s, n = MIN(e - (off + got), len - got);
		/* the contract: a buffer touched is wholly the guest's, and of the
		 * part's direction (a misordered chain's late readable one is not) */
		if (!in_ram(b->addr, b->len) || b->write != wr)
			return false;
		if (out)
			memcpy(out + got, (u8 *)(uintptr_t)(b->addr + from), n);
		got += n;
	}
	return got == len;
}

static void chain_checks(const struct virtq_chain *c, struct fuzz_in *in)
{
	fuzz_assert(c->n >= 1 && c->n <= VIRTQ_MAX_CHAIN && c->nread <= c->n);
	u64 r = 0, w = 0;
	bool misordered = false;
	for (unsigned i = 0; i < c->n; i++) {
		if (c->buf[i].write)
			w += c->buf[i].len;
		else
			r += c->buf[i].len;
		if (i < c->nread)
			fuzz_assert(!c->buf[i].write);
		if (!c->misordered)
			fuzz_assert(c->buf[i].write == (i >= c->nread));
		misordered |= i && c->buf[i - 1].write && !c->buf[i].write;
	}
	fuzz_assert(r == c->read_len && w == c->write_len);
	fuzz_assert(misordered == c->misordered);

	static u8 got[1 << 17], want[1 << 17];
	for (int k = 0; k < 2; k++) {
		u64 off = fz_u16(in), len = fz_u16(in) % 2048;
		bool wr = k;
		bool fits = gather(c, wr, off, len, NULL);
		if (!wr) {
			int rc = virtq_read(&gm, c, off, got, len);
			if (rc == 0 && len) {
				fuzz_assert(gather(c, false, off, len, want));
				fuzz_assert(!memcmp(got, want, len));
			}
			if ((rc == 0) != (fits || len == 0))
				fuzz_fail("virtq_read(%llu, %llu) = %d, the model says %s", (unsigned long long)off,
					  (unsigned long long)len, rc, fits ? "fits" : "does not");
		} else {
			for (u64 i = 0; i < len; i++)
				want[i] = (u8)(i * 13 + 1);
			int rc = virtq_write(&gm, c, off, want, len);
			if (rc == 0 && len) {
				fuzz_assert(gather(c, true, off, len, got));
				/* overlapping buffers: the later write wins, so only check when distinct */
			}
			if ((rc == 0) != (fits || len == 0))
				fuzz_fail("virtq_write(%llu, %llu) = %d, the model says %s", (unsigned long long)off,
					  (unsigned long long)len, rc, fits ? "fits" : "does not");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	memset(mem, 0, (RAM_PAGES + 1) * PG);
	memset(mem + HOLE * PG, 0x77, PG);
	memset(mem + RAM_PAGES * PG, 0x77, PG);
	struct fuzz_in in = { data, size };
	u8 shape = fz_u8(&in);
	struct virtq vq = { .size = (u16)(1u << (shape % 10)), .indirect = shape & 0x10,
			    .desc = base() + DESC_OFF, .avail = base() + AVAIL_OFF, .used = base() + USED_OFF };
	if (shape & 0x20) /* rings anywhere */
		vq.desc = addr_of(fz_u16(&in)), vq.avail = addr_of(fz_u16(&in)), vq.used = addr_of(fz_u16(&in));
	unsigned nd = MIN(vq.size, 256u) > 32 ? 32 : MIN(vq.size, 256u);
	if (in_ram(vq.desc, (u64)nd * 16))
		fill_descs(&in, (struct virtq_desc *)(uintptr_t)vq.desc, nd);
	fill_descs(&in, (struct virtq_desc *)(mem + ITAB_OFF), 16);
	u16 nav = fz_u8(&in) % 9;
	if (in_ram(vq.avail, VIRTQ_AVAIL_BYTES(vq.size > 256 ? 256 : vq.size))) {
		/* the ring may be misaligned (virtq_check refuses it then) */
		u8 *av = (u8 *)(uintptr_t)vq.avail;
		u16 w[10] = { fz_u8(&in) & 1, (u16)(nav | (fz_u8(&in) == 0xFF ? 0x8000 : 0)) };
		unsigned nw = 2;
		for (unsigned i = 0; i < 8 && i < vq.size && vq.size <= 256; i++)
			w[nw++] = fz_u8(&in);
		memcpy(av, w, 2 * nw);
	}
	static u8 hole[PG], after[PG];
	memcpy(hole, mem + HOLE * PG, PG);
	memcpy(after, mem + RAM_PAGES * PG, PG);

	int ok = virtq_check(&gm, &vq);
	fuzz_assert(ok == 0 || ok == -VIRTQ_ERR_RING);
	int pending = virtq_pending(&gm, &vq);
	fuzz_assert(ok == 0 || pending < 0);
	fuzz_assert(pending <= (int)vq.size);
	for (int i = 0; i < pending; i++) {
		u16 head;
		int rc = virtq_pop(&gm, &vq, &head);
		if (rc < 0) {
			fuzz_assert(virtq_err_name(rc) != NULL);
			break;
		}
		static struct virtq_chain c;
		rc = virtq_walk(&gm, &vq, head, &c);
		if (rc < 0) {
			fuzz_assert(rc >= -VIRTQ_ERR_INDIRECT && virtq_err_name(rc) != NULL);
			break;
		}
		fuzz_assert(c.head == head);
		chain_checks(&c, &in);
		u16 before = vq.used_idx;
		rc = virtq_push(&gm, &vq, head, (u32)c.write_len);
		fuzz_assert(rc == 0 && vq.used_idx == (u16)(before + 1));
		virtq_want_interrupt(&gm, &vq);
	}
	if (memcmp(hole, mem + HOLE * PG, PG) || memcmp(after, mem + RAM_PAGES * PG, PG))
		fuzz_fail("memory outside guest RAM changed");
	return 0;
}

static void put_desc(u8 *b, size_t *n, u64 addr, u16 len, u8 flags, u8 next)
{
	memcpy(b + *n, &addr, 8);
	b[*n + 8] = (u8)len, b[*n + 9] = (u8)(len >> 8), b[*n + 10] = 0;
	b[*n + 11] = flags, b[*n + 12] = next;
	*n += 13;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static u8 b[2048];
	for (int indirect = 0; indirect < 2; indirect++) {
		size_t n = 0;
		b[n++] = 4 | 0x10; /* 16 entries, indirect negotiated */
		/* a virtio-blk-like chain: header (readable), data, status (writable) */
		for (unsigned i = 0; i < 16; i++) {
			if (i == 0 && indirect)
				put_desc(b, &n, ITAB_OFF, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
			else if (i == 0)
				put_desc(b, &n, 0x8000, 16, VIRTQ_DESC_F_NEXT, 1);
			else if (i == 1)
				put_desc(b, &n, 0x9000, 1024, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
			else if (i == 2)
				put_desc(b, &n, 0x9400, 1, VIRTQ_DESC_F_WRITE, 0);
			else
				put_desc(b, &n, 0x4000 + i * 64, 64, 0, 0);
		}
		put_desc(b, &n, 0x8000, 16, VIRTQ_DESC_F_NEXT, 1);
		put_desc(b, &n, 0x9000, 1024, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		put_desc(b, &n, 0x9400, 1, VIRTQ_DESC_F_WRITE, 0);
		for (unsigned i = 3; i < 16; i++)
			put_desc(b, &n, 0x6f00, 512, VIRTQ_DESC_F_NEXT, (u8)(i + 1));
		b[n++] = 2;                  /* two available */
		b[n++] = 0, b[n++] = 0;      /* flags, index high bit */
		b[n++] = 0, b[n++] = 3;      /* heads 0 and 3 */
		for (unsigned i = 2; i < 8; i++)
			b[n++] = 0;
		static const u8 io[] = { 0, 0, 16, 0, 100, 0, 200, 0, 4, 0, 12, 0, 0, 0, 1, 0 };
		memcpy(b + n, io, sizeof(io));
		emit(b, n + sizeof(io));
	}
}
