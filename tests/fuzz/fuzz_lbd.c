/* Fuzzes the logical device's command path (vdev/lbd_cmd.c, and the
 * request path it shares with virtio-blk, vdev/blk_req.c): a descriptor
 * and scatter list in guest RAM, and a back end that, while it runs,
 * lets "another vCPU of the guest" rewrite the descriptor, its segments
 * and its data.
 *
 * Guest RAM is two ranges with a page of ferry's memory between them and
 * a page after them (the input's addresses are offsets from RAM's start).
 * Input: the descriptor's offset, set-up flags, the descriptor and 64
 * segments as the guest wrote them, then rewrites (6 bytes each), one
 * consumed per back-end call.
 *
 * Oracles: every segment the back end gets lies within guest RAM, and
 * within a segment of the descriptor as it was when the doorbell rang (it
 * was copied once); lba and count lie within the copied request and the
 * device; the lengths add up; nothing outside guest RAM changes (identify
 * included); a command refused before the back end never reaches it; the
 * status stored is the one returned; no back-end call on a read-only
 * device writes. */
#include <string.h>
#include "fuzz.h"
#include "lib/guest_abi.h"
#include "vdev/lbd.h"

#define PG 4096
#define RAM_PAGES 16 /* guest RAM: pages 0-6 and 8-15; page 7 and 16 are ferry's */
#define HOLE 7
#define SECTORS 512

static u8 *mem;           /* RAM_PAGES + 1 pages */
static struct gmem gm;
static struct lbd_desc orig;
static struct lbd_seg orig_segs[BLK_MAX_SEGS];
static u8 *descp;         /* the descriptor in guest RAM */
static struct fuzz_in script;
static unsigned calls;
static bool read_only;
static u8 disk[SECTORS * 512];

static u64 base(void) { return (u64)(uintptr_t)mem; }

static bool in_ram(u64 a, u64 len)
{
	u64 o = a - base();
	if (a < base() || o + len > (u64)RAM_PAGES * PG || o + len < o)
		return false;
	return (o + len <= (u64)HOLE * PG) || o >= (u64)(HOLE + 1) * PG;
}

/* Another vCPU writes the descriptor or its segments (or a data buffer). */
static void rewrite(void)
{
	if (script.n < 6)
		return;
	u8 what = fz_u8(&script);
	u8 i = fz_u8(&script) % BLK_MAX_SEGS;
	u32 v = fz_u32(&script);
	struct lbd_desc *d = (struct lbd_desc *)descp;
	struct lbd_seg *s = (struct lbd_seg *)(descp + sizeof(*d));
	switch (what % 8) {
	case 0: d->nseg = (u16)v; break;
	case 1: d->lba = v; break;
	case 2: d->count = v; break;
	case 3: d->opcode = (u8)v; break;
	case 4: s[i].gpa = base() + v % (RAM_PAGES * PG + PG); break;
	case 5: s[i].len = v; break;
	case 6: d->status = v; break;
	default: { /* a data buffer: the guest's RAM only */
		u32 o = v % (RAM_PAGES * PG - 64);
		if (in_ram(base() + o, 64))
			memset(mem + o, (u8)what, 64);
	}
	}
}

static int backend(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool wr)
{
	calls++;
	fuzz_assert(!(wr && read_only));
	fuzz_assert(orig.opcode == (wr ? LBD_OP_WRITE : LBD_OP_READ));
	fuzz_assert(count >= 1 && count <= dev->info.max_sectors && lba < SECTORS && count <= SECTORS - lba);
	fuzz_assert(lba >= orig.lba && lba + count <= orig.lba + orig.count);
	fuzz_assert(nseg >= 1 && nseg <= BLK_MAX_SEGS);
	u64 total = 0;
	for (unsigned i = 0; i < nseg; i++) {
		const struct blk_seg *s = &segs[i];
		if (!in_ram(s->addr, s->len))
			fuzz_fail("DMA outside guest RAM: %#llx+%u", (unsigned long long)(s->addr - base()), s->len);
		bool within = false;
		for (unsigned k = 0; k < orig.nseg && !within; k++)
			within = s->addr >= orig_segs[k].gpa && s->addr + s->len <= orig_segs[k].gpa + orig_segs[k].len;
		if (!within)
			fuzz_fail("a segment the descriptor did not have when it rang: %#llx+%u",
				  (unsigned long long)(s->addr - base()), s->len);
		fuzz_assert(s->len > 0 && s->len % 4 == 0 && s->addr % 4 == 0);
		total += s->len;
	}
	fuzz_assert(total == (u64)count * 512);
	u64 off = lba * 512;
	for (unsigned i = 0; i < nseg; i++) {
		void *p = (void *)(uintptr_t)segs[i].addr;
		if (wr)
			memcpy(disk + off, p, segs[i].len);
		else
			memcpy(p, disk + off, segs[i].len);
		off += segs[i].len;
		rewrite();
	}
	rewrite();
	return 0;
}
static int be_read(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return backend(d, l, c, s, n, false); }
static int be_write(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return backend(d, l, c, s, n, true); }
static int be_flush(struct blk_dev *d)
{
	calls++;
	fuzz_assert(orig.opcode == LBD_OP_FLUSH);
	rewrite();
	return 0;
}
static const struct blk_ops be_ops = { .read = be_read, .write = be_write, .flush = be_flush };
static struct blk_dev dev = {
	.name = "fuzz", .ops = &be_ops,
	.info = { .sectors = SECTORS, .sector_size = 512, .max_sectors = 64, .model = "FUZZ", .serial = "1" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem)
		mem = aligned_alloc(PG, (RAM_PAGES + 1) * PG);
	memset(mem, 0x77, (RAM_PAGES + 1) * PG);
	gm = (struct gmem){ 0 };
	gmem_add(&gm, base(), base() + HOLE * PG);
	gmem_add(&gm, base() + (HOLE + 1) * PG, base() + RAM_PAGES * PG);

	struct fuzz_in in = { data, size };
	u64 off = (u64)fz_u16(&in) % (RAM_PAGES * PG + PG); /* anywhere, the hole and past RAM included */
	u8 flags = fz_u8(&in);
	read_only = flags & 1;
	dev.info.read_only = read_only;
	struct lbd_desc d;
	fz_fill(&in, &d, sizeof(d));
	d.nseg = d.nseg % 80; /* mostly at most BLK_MAX_SEGS, sometimes more */
	if (flags & 2)
		d.count %= 80, d.lba %= SECTORS + 8, d.flags = 0, d.reserved = 0;
	if (flags & 4)
		d.opcode = (u8)(d.opcode % 5);
	static struct lbd_seg segs[BLK_MAX_SEGS];
	for (unsigned i = 0; i < BLK_MAX_SEGS; i++) {
		u32 o = fz_u32(&in), len = fz_u16(&in);
		segs[i] = (struct lbd_seg){ .gpa = base() + (flags & 8 ? o % (RAM_PAGES * PG + PG) : o), .len = len };
	}
	script = in;
	calls = 0;

	/* The guest's writes: the descriptor, then its segments, where they
	 * fall in the guest's RAM (it cannot write ferry's). */
	descp = mem + off;
	static u8 img[sizeof(d) + sizeof(segs)];
	memcpy(img, &d, sizeof(d));
	memcpy(img + sizeof(d), segs, sizeof(segs));
	for (size_t i = 0; i < sizeof(img) && off + i < (RAM_PAGES + 1) * PG; i++)
		if (in_ram(base() + off + i, 1))
			descp[i] = img[i];
	static u8 hole[PG], after[PG];
	memcpy(hole, mem + HOLE * PG, PG);
	memcpy(after, mem + RAM_PAGES * PG, PG);

	/* What lbd_execute may take as the descriptor: what RAM held when it rang. */
	bool desc_ok = in_ram(base() + off, sizeof(d)) && off % 8 == 0;
	if (desc_ok) {
		memcpy(&orig, descp, sizeof(orig));
		u64 sl = (u64)MIN(orig.nseg, BLK_MAX_SEGS) * sizeof(struct lbd_seg);
		memset(orig_segs, 0, sizeof(orig_segs));
		if (in_ram(base() + off + sizeof(d), sl ? sl : 1))
			memcpy(orig_segs, descp + sizeof(d), sl);
	}
	struct lbd_stats st = { 0 };
	u32 status = lbd_execute(&gm, &dev, base() + off, &st);
	fuzz_assert(status <= LBD_ST_NO_DEVICE);
	if (!desc_ok) {
		fuzz_assert(calls == 0 && (status == LBD_ST_DMA_RANGE || status == LBD_ST_ALIGN));
	} else {
		fuzz_assert(((struct lbd_desc *)descp)->status == status);
		if (status != LBD_ST_OK && status != LBD_ST_IO_ERROR)
			fuzz_assert(calls == 0 || orig.opcode == LBD_OP_READ || orig.opcode == LBD_OP_WRITE);
		if (status == LBD_ST_OK && orig.opcode != LBD_OP_IDENTIFY)
			fuzz_assert(calls >= 1);
		if (orig.opcode == LBD_OP_IDENTIFY)
			fuzz_assert(calls == 0);
	}
	/* ferry's memory is untouched */
	if (memcmp(hole, mem + HOLE * PG, PG) || memcmp(after, mem + RAM_PAGES * PG, PG)) {
		/* only the guest's own writes of the descriptor may land there: it was placed there by the input */
		if (desc_ok)
			fuzz_fail("memory outside guest RAM changed");
	}
	return 0;
}

static size_t put_desc(u8 *b, u16 off, u8 flags, u8 op, u64 lba, u32 count, u16 nseg, const u32 *seg, const u16 *len)
{
	size_t n = 0;
	b[n++] = (u8)off, b[n++] = (u8)(off >> 8), b[n++] = flags;
	struct lbd_desc d = { .opcode = op, .nseg = nseg, .status = LBD_ST_PENDING, .lba = lba, .count = count };
	memcpy(b + n, &d, sizeof(d));
	n += sizeof(d);
	for (unsigned i = 0; i < BLK_MAX_SEGS; i++) {
		u32 o = i < nseg ? seg[i] : 0;
		u16 l = i < nseg ? len[i] : 0;
		memcpy(b + n, &o, 4), memcpy(b + n + 4, &l, 2);
		n += 6;
	}
	return n;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static u8 b[1024];
	/* read 8 sectors into two segments; rewrites during the call */
	size_t n = put_desc(b, 0, 8 | 4 | 2, LBD_OP_READ, 10, 8, 2, (u32[]){ 0x1000, 0x9000 }, (u16[]){ 2048, 2048 });
	static const u8 rw[] = { 0, 0, 64, 0, 0, 0, 4, 1, 0, 0x70, 0, 0, 5, 0, 0, 0x20, 0, 0, 2, 0, 9, 0, 0, 0 };
	memcpy(b + n, rw, sizeof(rw));
	emit(b, n + sizeof(rw));
	emit(b, put_desc(b, 0x100, 8 | 4 | 2, LBD_OP_WRITE, 0, 16, 1, (u32[]){ 0x8000 }, (u16[]){ 8192 }));
	emit(b, put_desc(b, 0x6fe0, 8 | 4 | 2, LBD_OP_WRITE, 0, 1, 1, (u32[]){ 0x6e00 }, (u16[]){ 512 }));
	emit(b, put_desc(b, 0x200, 8 | 4 | 2, LBD_OP_IDENTIFY, 0, 0, 1, (u32[]){ 0x3000 }, (u16[]){ 512 }));
	emit(b, put_desc(b, 0x200, 8 | 4 | 2, LBD_OP_FLUSH, 0, 0, 0, NULL, NULL));
	emit(b, put_desc(b, 0x200, 9 | 4 | 2, LBD_OP_WRITE, 0, 1, 1, (u32[]){ 0x6f00 }, (u16[]){ 512 }));
}
