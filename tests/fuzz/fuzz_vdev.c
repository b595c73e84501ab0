/* Fuzzes ferry's virtio-blk PCI function (vdev/virtio_blk.c,
 * virtio_blk_req.c, virtq.c, vpci.c, msix.c) the way a hostile guest
 * drives it: configuration space through CF8/CFC (vm/guest_io.c) and
 * ECAM (vm/pcicfg.c), BAR sizing and moves, MMIO of any size anywhere in
 * the BARs (vm/mmio.c's regions), its RAM (rings, descriptors, headers)
 * with any contents, doorbells, and a back end of its own that completes
 * requests synchronously or later, in any order, or fails them.
 *
 * Guest RAM is RAM_PAGES pages between two guard pages, with a hole (a
 * page of ferry's) inside; gpa == host address, as fake_disk.h's RAM.
 *
 * Oracles:
 *   - guards and the hole never change; the back end only sees segments
 *     in guest RAM, within the disk, as platform/blk.h promises, never a
 *     write on a read-only disk, and an io untouched until its done;
 *   - config space equals a model built from docs/virtio-blk.md (read-only
 *     bytes fixed, BARs, command, MSI-X control, PCI_CFG fields with their
 *     documented masks; 0x100 and up read 0; both doors agree);
 *   - BAR0/BAR2 reads: reserved ranges read 0, device configuration and
 *     offered features as documented, ISR clears on read, the MSI-X table
 *     as written, the PBA only for masked vectors;
 *   - an MSI is sent only to an unmasked entry's address/data with MSI-X
 *     enabled and the function unmasked;
 *   - while the queue is the harness's (tracked): each used element names
 *     a head made available and not used since, its length at most the
 *     chain's writable bytes, the used index moving by those only;
 *   - after a reset: no byte of guest RAM changes but by the guest and
 *     the back end, no interrupt is raised, until the driver writes the
 *     common configuration again; FEATURES_OK only for a subset of the
 *     offered features with VERSION_1; NEEDS_RESET sticks until reset. */
#include <string.h>
#include "fuzz.h"
#include "lib/virtio.h"
#include "platform/pci.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/fake_hv.h"
#include "tests/unit/fake_io.h"
#include "vdev/msix.h"
#include "vdev/virtio_blk.h"
#include "vdev/vpci.h"
#include "vm/pcicfg.h"

#define PG 4096u
#define RAM_PAGES 16u
#define RAM_SIZE (RAM_PAGES * PG)
#define HOLE 11u /* a page of ferry's inside RAM */
#define ARENA ((RAM_PAGES + 2) * PG)
#define GUARD_BYTE 0xA5
#define SLOT 0x10
#define BAR0_GPA 0x800100000ULL
#define BAR2_GPA 0x800104000ULL
#define ECAM_GPA 0xE0000000ULL
#define DESC_OFF 0x0000u
#define AVAIL_OFF 0x1000u
#define USED_OFF 0x2000u
#define ITAB_OFF 0x3000u
#define HDR_OFF 0x4000u
#define DATA_OFF 0x5000u
#define MAX_OPS 512

static struct vm vm;
static u8 *arena, *ram;      /* ram = arena + PG */
static u8 shadow[RAM_SIZE];  /* guest RAM as it must be, while frozen */
static void *ctx0, *ctx2, *ctxe; /* the regions' ctx: BAR0, BAR2, ECAM */

/* ---- the guest's side of the harness ---------------------------------------- */

static struct {
	u8 cfg[256], wmask[256]; /* config space as documented */
	u8 pc;                   /* the PCI_CFG capability */
	struct { u32 addr_lo, addr_hi, data; bool masked; } msix[VBLK_MSIX_VECTORS];
	u32 dfselect;
	bool tracked, frozen, saw_needs_reset, may_flush;
	u16 qsize, avail_idx, used_seen, next_desc;
	u8 avail_copy[PG];
	u32 avail_cnt[VIRTQ_MAX_SIZE]; /* made available, not used yet */
	u64 bound[VIRTQ_MAX_SIZE];     /* the most writable bytes its chain had */
	u64 features;
} g;

static gpa_t gpa_of(u32 off) { return (gpa_t)(uintptr_t)(ram + off); }
static bool in_ram(u64 a, u64 len)
{
	u64 s = gpa_of(0);
	if (len == 0 || a < s || a - s > RAM_SIZE || len > RAM_SIZE - (a - s))
		return false;
	return a + len <= s + HOLE * PG || a >= s + (HOLE + 1) * PG;
}
static bool overlaps(u64 a, u64 len, u64 s, u64 n) { return len && a < s + n && (a + len < a || a + len > s); }

static void guest_store(u32 off, const void *p, u32 n)
{
	for (u32 i = 0; i < n; i++, off++) {
		off %= RAM_SIZE;
		if (off / PG == HOLE)
			continue;
		ram[off] = shadow[off] = ((const u8 *)p)[i];
	}
}

static void check_guards(void)
{
	for (u32 i = 0; i < PG; i++)
		if (arena[i] != GUARD_BYTE || arena[ARENA - PG + i] != GUARD_BYTE || ram[HOLE * PG + i] != GUARD_BYTE)
			fuzz_fail("memory outside guest RAM changed (byte %u of a guard or the hole)", i);
	if (g.frozen && memcmp(ram, shadow, RAM_SIZE)) {
		u32 i = 0;
		while (ram[i] == shadow[i])
			i++;
		fuzz_fail("guest RAM +%#x changed after a reset", i);
	}
}

/* ---- the back end ----------------------------------------------------------- */

static struct {
	struct blk_dev dev;
	u8 *data;
	bool async, poll_all;
	int fail;
	unsigned nq;
	struct { struct blk_io *io, copy; struct blk_seg segs[BLK_MAX_SEGS]; } q[64];
} be;

static void check_rw(u64 lba, u32 count, const struct blk_seg *s, unsigned nseg, bool write)
{
	const struct blk_info *in = &be.dev.info;
	if (count == 0 || count > in->max_sectors || lba > in->sectors || count > in->sectors - lba)
		fuzz_fail("back end asked for %u sectors at %llu", count, (unsigned long long)lba);
	if (nseg == 0 || nseg > BLK_MAX_SEGS)
		fuzz_fail("back end asked for %u segments", nseg);
	if (write && in->read_only)
		fuzz_fail("a write reached a read-only back end");
	u64 total = 0;
	for (unsigned i = 0; i < nseg; i++) {
		if (!s[i].len || ((s[i].addr | s[i].len) & 3) || !in_ram(s[i].addr, s[i].len))
			fuzz_fail("segment %llx+%u not aligned or outside guest RAM", (unsigned long long)s[i].addr, s[i].len);
		total += s[i].len;
	}
	if (total != (u64)count * in->sector_size)
		fuzz_fail("segments of %llu bytes for %u sectors", (unsigned long long)total, count);
}

static int do_rw(u64 lba, u32 count, const struct blk_seg *s, unsigned nseg, bool write)
{
	check_rw(lba, count, s, nseg, write);
	if (be.fail)
		return be.fail;
	u8 *d = be.data + lba * be.dev.info.sector_size;
	for (unsigned i = 0; i < nseg; i++, d += s[i - 1].len) {
		u8 *p = (u8 *)(uintptr_t)s[i].addr;
		if (write) {
			memcpy(d, p, s[i].len);
			continue;
		}
		memcpy(p, d, s[i].len);
		memcpy(shadow + (p - ram), d, s[i].len); /* the back end's DMA is allowed */
		if (overlaps(s[i].addr, s[i].len, gpa_of(AVAIL_OFF), 2 * PG))
			g.tracked = false;
	}
	return 0;
}

static int be_read(struct blk_dev *d, u64 lba, u32 n, const struct blk_seg *s, unsigned ns)
{
	(void)d;
	return do_rw(lba, n, s, ns, false);
}
static int be_write(struct blk_dev *d, u64 lba, u32 n, const struct blk_seg *s, unsigned ns)
{
	(void)d;
	return do_rw(lba, n, s, ns, true);
}
static int be_flush(struct blk_dev *d) { (void)d; return be.fail; }

static int be_submit(struct blk_dev *d, struct blk_io *io)
{
	if (be.nq >= d->queue_depth)
		return -E_NOSPC;
	if (io->op == BLK_OP_FLUSH) {
		if (io->count || io->nseg)
			fuzz_fail("a flush with data");
	} else {
		check_rw(io->lba, io->count, io->segs, io->nseg, io->op == BLK_OP_WRITE);
	}
	be.q[be.nq].io = io;
	be.q[be.nq].copy = *io;
	if (io->nseg)
		memcpy(be.q[be.nq].segs, io->segs, io->nseg * sizeof(*io->segs));
	be.nq++;
	return 0;
}

/* Completes the i-th io held, with rc (0: runs it then). */
static void be_complete(unsigned i, int rc)
{
	struct blk_io *io = be.q[i].io, c = be.q[i].copy;
	if (io->op != c.op || io->lba != c.lba || io->count != c.count || io->nseg != c.nseg || io->segs != c.segs ||
	    io->done != c.done || (c.nseg && memcmp(io->segs, be.q[i].segs, c.nseg * sizeof(*c.segs))))
		fuzz_fail("an io changed while the back end held it");
	memmove(&be.q[i], &be.q[i + 1], (be.nq - i - 1) * sizeof(be.q[0]));
	be.nq--;
	if (rc == 0 && io->op != BLK_OP_FLUSH)
		rc = do_rw(io->lba, io->count, io->segs, io->nseg, io->op == BLK_OP_WRITE);
	io->done(io, rc ? rc : be.fail);
}

static unsigned be_poll(struct blk_dev *d)
{
	(void)d;
	while (be.poll_all && be.nq)
		be_complete(0, 0);
	return be.nq;
}

static const struct blk_ops sync_ops = { .read = be_read, .write = be_write, .flush = be_flush };
static const struct blk_ops async_ops = { .read = be_read, .write = be_write, .flush = be_flush,
					  .submit = be_submit, .poll = be_poll };

/* ---- MSI-X ------------------------------------------------------------------- */

static bool msix_on(void) { return (g.cfg[VPCI_CAP_START + 3] & 0xC0) == 0x80; }

static int send_msi(u64 addr, u32 data)
{
	if (g.frozen && !g.may_flush)
		fuzz_fail("an interrupt after a reset, before the driver set a vector");
	for (unsigned v = 0; v < VBLK_MSIX_VECTORS; v++)
		if (!g.msix[v].masked && msix_on() && data == g.msix[v].data &&
		    addr == ((u64)g.msix[v].addr_hi << 32 | g.msix[v].addr_lo))
			return 0;
	fuzz_fail("MSI %llx/%x sent, not an unmasked entry with MSI-X on", (unsigned long long)addr, data);
}

static void msix_model_write(u64 off, unsigned size, u64 val)
{
	if ((size != 4 && size != 8) || off % size || off + size > VBLK_MSIX_VECTORS * MSIX_ENTRY_SIZE)
		return;
	for (unsigned k = 0; k < size / 4; k++, off += 4, val >>= 32) {
		unsigned v = (unsigned)(off / MSIX_ENTRY_SIZE);
		switch (off % MSIX_ENTRY_SIZE) {
		case MSIX_ENTRY_ADDR_LO: g.msix[v].addr_lo = (u32)val; break;
		case MSIX_ENTRY_ADDR_HI: g.msix[v].addr_hi = (u32)val; break;
		case MSIX_ENTRY_DATA: g.msix[v].data = (u32)val; break;
		default: g.msix[v].masked = val & MSIX_CTRL_MASKED; break;
		}
	}
}

/* ---- what a BAR write does, as docs/virtio-blk.md says --------------------------- */

static void on_reset(void)
{
	g.dfselect = 0;
	g.tracked = false;
	g.saw_needs_reset = false;
	g.frozen = true;
	memcpy(shadow, ram, RAM_SIZE);
}

static void common_model_write(u64 in, unsigned size, u64 val)
{
	if (in == VIRTIO_COMMON_STATUS && size <= 4) {
		if ((u8)val == 0)
			on_reset();
		return;
	}
	if (in <= VIRTIO_COMMON_STATUS && in + size > VIRTIO_COMMON_STATUS)
		g.tracked = false; /* touches the status, not as the status: not modelled */
	if (in == VIRTIO_COMMON_DFSELECT && size <= 4)
		g.dfselect = (u32)val;
	if (in < VIRTIO_COMMON_LEN && in != VIRTIO_COMMON_DFSELECT && in != VIRTIO_COMMON_GFSELECT)
		g.frozen = false; /* the driver sets up again: the device may write */
}

static void bar_model_write(unsigned bar, u64 off, unsigned size, u64 val)
{
	if (bar == 2 && off + size <= VBLK_BAR2_SIZE) {
		g.may_flush = true;
		msix_model_write(off - VBLK_MSIX_TABLE, size, val);
	}
	if (bar == 0 && off + size <= VBLK_BAR0_SIZE && off < VBLK_BAR0_ISR)
		common_model_write(off, size, val);
}

/* ---- configuration space ----------------------------------------------------------- */

static u32 get32(const u8 *p) { return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }

/* One access as vpci sees it (pcicfg split it). */
static void cfg_model_access(u16 off, unsigned size, u32 val)
{
	if (off >= 256 || off + size > 256)
		return;
	u16 data = g.pc + VIRTIO_CAP_PCI_CFG_DATA;
	if (off >= data && off < data + 4) {
		u8 bar = g.cfg[g.pc + VIRTIO_CAP_BAR];
		u32 boff = get32(g.cfg + g.pc + VIRTIO_CAP_OFFSET), len = get32(g.cfg + g.pc + VIRTIO_CAP_LENGTH);
		if (off == data && bar < 6 && (len == 1 || len == 2 || len == 4) && boff % len == 0)
			bar_model_write(bar, boff, len, len == 4 ? val : val & ((1u << (8 * len)) - 1));
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		u8 m = g.wmask[off + i];
		g.cfg[off + i] = (u8)((g.cfg[off + i] & ~m) | ((val >> (8 * i)) & m));
	}
	if (off <= VPCI_CAP_START + 3 && off + size > VPCI_CAP_START + 2)
		g.may_flush = true;
}

static void cfg_model_write(u8 bus, u8 dev, u8 fn, u16 off, unsigned size, u32 val)
{
	if (bus || dev != SLOT || fn)
		return;
	off &= 0xFFF;
	if ((size == 1 || size == 2 || size == 4) && off % size == 0) {
		cfg_model_access(off, size, val);
		return;
	}
	for (unsigned i = 0; i < size && i < 4; i++)
		cfg_model_access((u16)((off + i) & 0xFFF), 1, (val >> (8 * i)) & 0xFF);
}

static void check_cfg(void)
{
	for (u16 o = 0; o < 256; o += 4) {
		if (o == g.pc + VIRTIO_CAP_PCI_CFG_DATA)
			continue;
		u32 v = pcicfg_read(&vm, 0, SLOT, 0, o, 4);
		if (v != get32(g.cfg + o))
			fuzz_fail("config %#x reads %08x, documented %08x", o, v, get32(g.cfg + o));
	}
	for (u16 o = 0x100; o < 0x1000; o += 0x3FC)
		fuzz_assert(pcicfg_read(&vm, 0, SLOT, 0, o, 4) == 0);
}

static void set_wmask(u8 off, u32 mask, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		g.wmask[off + i] = (u8)(mask >> (8 * i));
}

/* The header as attached; its documented fields, then what may change. */
static void cfg_model_init(void)
{
	for (u16 o = 0; o < 256; o += 4) {
		u32 v = pcicfg_read(&vm, 0, SLOT, 0, o, 4);
		memcpy(g.cfg + o, &v, 4);
	}
	fuzz_assert(get32(g.cfg) == 0x10421AF4 && get32(g.cfg + PCI_CLASS_REV) == 0x01000001);
	fuzz_assert(g.cfg[PCI_HEADER_TYPE] == 0 && g.cfg[PCI_CAP_PTR] == VPCI_CAP_START && g.cfg[PCI_INTR_PIN] == 0);
	fuzz_assert(get32(g.cfg + PCI_SUBSYSTEM_VENDOR_ID) == 0x00021AF4);
	fuzz_assert(get32(g.cfg + PCI_BAR0 + 16) == 0 && get32(g.cfg + PCI_BAR0 + 20) == 0 && get32(g.cfg + 0x30) == 0);
	fuzz_assert(g.cfg[VPCI_CAP_START] == PCI_CAP_ID_MSIX);
	g.pc = 0;
	for (u8 p = g.cfg[PCI_CAP_PTR], n = 0; p && n < 16; p = g.cfg[p + 1], n++)
		if (g.cfg[p] == PCI_CAP_ID_VNDR && g.cfg[p + VIRTIO_CAP_TYPE] == VIRTIO_PCI_CAP_PCI_CFG)
			g.pc = p;
	fuzz_assert(g.pc != 0);
	memset(g.wmask, 0, sizeof(g.wmask));
	set_wmask(PCI_COMMAND, VPCI_COMMAND_WRITABLE, 2);
	set_wmask(0x0C, 0xFFFF, 2); /* cache line, latency */
	set_wmask(PCI_INTR_LINE, 0xFF, 1);
	set_wmask(PCI_BAR0, ~(VBLK_BAR0_SIZE - 1u), 4);
	set_wmask(PCI_BAR0 + 4, ~0u, 4);
	set_wmask(PCI_BAR0 + 8, ~(VBLK_BAR2_SIZE - 1u), 4);
	set_wmask(PCI_BAR0 + 12, ~0u, 4);
	set_wmask(VPCI_CAP_START + 3, 0xC0, 1);
	set_wmask(g.pc + VIRTIO_CAP_BAR, 0xFF, 1);
	set_wmask(g.pc + VIRTIO_CAP_OFFSET, ~0u, 4);
	set_wmask(g.pc + VIRTIO_CAP_LENGTH, ~0u, 4);
}

/* ---- the doors ------------------------------------------------------------------- */

static struct mmio_region *region_at(gpa_t a) { return mmio_find(&vm, a); }
static struct mmio_region *region_of(void *ctx)
{
	for (unsigned i = 0; i < vm.nmmio; i++)
		if (vm.mmio[i].ctx == ctx)
			return &vm.mmio[i];
	return NULL;
}
static u64 mask_of(unsigned size) { return size == 8 ? ~0ull : (1ull << (8 * size)) - 1; }

static u64 mmio_rd(gpa_t a, unsigned size)
{
	struct mmio_region *r = region_at(a);
	return r ? r->read(r->ctx, a - r->start, size) & mask_of(size) : mask_of(size);
}

static void mmio_wr(gpa_t a, unsigned size, u64 val)
{
	struct mmio_region *r = region_at(a);
	val &= mask_of(size);
	if (!r)
		return;
	u64 off = a - r->start;
	if (r->ctx == ctxe) {
		u8 dev = (off >> 15) & 31, fn = (off >> 12) & 7, bus = (u8)(off >> 20);
		cfg_model_write(bus, dev, fn, off & 0xFFF, size == 8 ? 4 : size, (u32)val);
		if (size == 8) /* the second dword may be another function's */
			cfg_model_write((u8)((off + 4) >> 20), ((off + 4) >> 15) & 31, ((off + 4) >> 12) & 7,
					(off + 4) & 0xFFF, 4, (u32)(val >> 32));
	} else if (r->ctx == ctx0 || r->ctx == ctx2) {
		bar_model_write(r->ctx == ctx0 ? 0 : 2, off, size, val);
	}
	r->write(r->ctx, off, size, val);
}

static u32 cf8_addr(u8 dev, u16 off, u8 junk) { return (u32)BIT(31) | (u32)(junk & 0x7F) << 24 | (u32)dev << 11 | (off & 0xFC); }

static u32 cfg_rd(bool ecam, u8 dev, u16 off, unsigned size, u8 junk)
{
	if (ecam)
		return (u32)mmio_rd(ECAM_GPA + ((u64)dev << 15) + (off & 0xFFF), size);
	fake_out(&vm.vcpu, 0xCF8, 4, cf8_addr(dev, off, junk));
	return (u32)fake_in(&vm.vcpu, (u16)(0xCFC + (off & 3)), (u8)size, 0);
}

static void cfg_wr(bool ecam, u8 dev, u16 off, unsigned size, u32 val, u8 junk)
{
	if (ecam) {
		mmio_wr(ECAM_GPA + ((u64)dev << 15) + (off & 0xFFF), size, val);
		return;
	}
	fake_out(&vm.vcpu, 0xCF8, 4, cf8_addr(dev, off, junk));
	val &= (u32)mask_of(size);
	u16 o = (u16)((off & 0xFC) + (off & 3)); /* guest_io's register */
	cfg_model_write(0, dev, 0, o, size, val);
	fake_out(&vm.vcpu, (u16)(0xCFC + (off & 3)), (u8)size, val);
}

static gpa_t bar_gpa(unsigned bar) { return (get32(g.cfg + PCI_BAR0 + 4 * bar) & ~0xFull) | (u64)get32(g.cfg + PCI_BAR0 + 4 * bar + 4) << 32; }

/* The device's BAR0 registers, wherever they are decoded (NULL: nowhere). */
static struct mmio_region *bar0(void) { return region_of(ctx0); }
static u64 reg_rd(u64 off, unsigned size)
{
	struct mmio_region *r = bar0();
	return r ? r->read(r->ctx, off, size) & mask_of(size) : 0;
}
static void reg_wr(u64 off, unsigned size, u64 v)
{
	struct mmio_region *r = bar0();
	if (r)
		mmio_wr(r->start + off, size, v);
}

/* ---- what reads return ------------------------------------------------------------- */

static u8 devcfg_byte(u64 i)
{
	const struct blk_info *in = &be.dev.info;
	u64 cap = in->sectors * (in->sector_size / 512);
	if (i < 8)
		return (u8)(cap >> (8 * i));
	if (i >= VIRTIO_BLK_CFG_SEG_MAX && i < VIRTIO_BLK_CFG_SEG_MAX + 4)
		return (u8)(VBLK_SEG_MAX >> (8 * (i - VIRTIO_BLK_CFG_SEG_MAX)));
	if (i >= VIRTIO_BLK_CFG_BLK_SIZE && i < VIRTIO_BLK_CFG_BLK_SIZE + 4)
		return (u8)(in->sector_size >> (8 * (i - VIRTIO_BLK_CFG_BLK_SIZE)));
	return 0;
}

static void check_bar0_read(u64 off, unsigned size, u64 v)
{
	u64 page = off & ~0xFFFull, in = off & 0xFFF, want = 0;
	if (off + size > VBLK_BAR0_SIZE)
		return;
	if (page == VBLK_BAR0_COMMON) {
		if (in == VIRTIO_COMMON_DF)
			want = g.dfselect < 2 ? (u32)(g.features >> (32 * g.dfselect)) : 0;
		else if (in == VIRTIO_COMMON_NUMQ)
			want = 1;
		else if (in < VIRTIO_COMMON_LEN)
			return;
		if (!(in % size == 0 && in + size <= VIRTIO_COMMON_LEN))
			want = 0;
	} else if (page == VBLK_BAR0_DEVICE) {
		for (unsigned i = 0; i < size && in + size <= VBLK_DEVCFG_LEN; i++)
			want |= (u64)devcfg_byte(in + i) << (8 * i);
	} else if (page == VBLK_BAR0_ISR && in == 0) {
		if (v & ~3ull)
			fuzz_fail("ISR reads %llx", (unsigned long long)v);
		if (reg_rd(VBLK_BAR0_ISR, 1))
			fuzz_fail("ISR not cleared by reading it");
		return;
	}
	if ((v & mask_of(size)) != (want & mask_of(size)))
		fuzz_fail("BAR0 +%llx/%u reads %llx, documented %llx", (unsigned long long)off, size, (unsigned long long)v,
			  (unsigned long long)want);
}

static void check_pba(u64 pba)
{
	fuzz_assert(!(pba >> VBLK_MSIX_VECTORS));
	for (unsigned v = 0; v < VBLK_MSIX_VECTORS; v++)
		if ((pba & BIT(v)) && msix_on() && !g.msix[v].masked)
			fuzz_fail("PBA bit %u set for an unmasked vector", v);
}

static void check_bar2_read(u64 off, unsigned size, u64 v)
{
	u64 want = 0, tab = VBLK_MSIX_VECTORS * MSIX_ENTRY_SIZE;
	bool ok = (size == 4 || size == 8) && off % size == 0;
	if (off + size > VBLK_BAR2_SIZE)
		return;
	if (ok && off + size <= tab) {
		for (unsigned k = 0; k < size / 4; k++) {
			u64 o = off + 4 * k;
			unsigned e = (unsigned)(o / 16);
			u32 w = o % 16 == 0 ? g.msix[e].addr_lo : o % 16 == 4 ? g.msix[e].addr_hi
				: o % 16 == 8 ? g.msix[e].data : g.msix[e].masked;
			want |= (u64)w << (32 * k);
		}
	} else if (ok && off >= VBLK_MSIX_PBA && off + size <= VBLK_MSIX_PBA + 8) {
		if (off == VBLK_MSIX_PBA)
			check_pba(v);
		return;
	}
	if (v != want)
		fuzz_fail("BAR2 +%llx/%u reads %llx, expected %llx", (unsigned long long)off, size, (unsigned long long)v,
			  (unsigned long long)want);
}

/* FEATURES_OK and NEEDS_RESET, read as the driver would (only when nothing
 * is in flight: a reset drains first). */
static void check_status(void)
{
	if (!bar0() || vblk_inflight())
		return;
	u8 st = (u8)reg_rd(VIRTIO_COMMON_STATUS, 1);
	if (g.saw_needs_reset && !(st & VIRTIO_STATUS_NEEDS_RESET))
		fuzz_fail("NEEDS_RESET cleared without a reset");
	g.saw_needs_reset = st & VIRTIO_STATUS_NEEDS_RESET;
	if (!(st & VIRTIO_STATUS_FEATURES_OK))
		return;
	u64 sel = reg_rd(VIRTIO_COMMON_GFSELECT, 4), f;
	struct mmio_region *r = bar0();
	r->write(r->ctx, VIRTIO_COMMON_GFSELECT, 4, 0);
	f = reg_rd(VIRTIO_COMMON_GF, 4);
	r->write(r->ctx, VIRTIO_COMMON_GFSELECT, 4, 1);
	f |= reg_rd(VIRTIO_COMMON_GF, 4) << 32;
	r->write(r->ctx, VIRTIO_COMMON_GFSELECT, 4, sel);
	if ((f & ~g.features) || !(f & BIT(VIRTIO_F_VERSION_1)))
		fuzz_fail("FEATURES_OK with driver features %llx (offered %llx)", (unsigned long long)f,
			  (unsigned long long)g.features);
}

/* ---- the queue, while the harness's (tracked) ------------------------------------ */

static bool taints(u64 a, u64 len) { return overlaps(a, len, gpa_of(0), HDR_OFF); }

/* The most writable bytes the chain at head may have, over-counted (an
 * indirect table's every entry); false when a writable buffer lies over the
 * rings or tables, or a table is not in ITAB: the device could change what
 * the harness follows, which it then does not. */
static bool chain_bound(u16 head, u64 *w)
{
	const struct virtq_desc *t = (const void *)(ram + DESC_OFF);
	*w = 0;
	for (unsigned n = 0, i = head; n < g.qsize && i < g.qsize; n++) {
		struct virtq_desc d = t[i];
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!in_ram(d.addr, d.len))
				return true;
			if (d.addr < gpa_of(ITAB_OFF) || d.addr + d.len > gpa_of(ITAB_OFF + PG))
				return false;
			const struct virtq_desc *it = (const void *)(uintptr_t)d.addr;
			for (unsigned k = 0; k < d.len / sizeof(*it); k++) {
				if (!(it[k].flags & VIRTQ_DESC_F_WRITE))
					continue;
				if (taints(it[k].addr, it[k].len))
					return false;
				*w += it[k].len;
			}
			return true;
		}
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			if (taints(d.addr, d.len))
				return false;
			*w += d.len;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
	}
	return true;
}

static void rebound(u16 h)
{
	u64 w;
	if (!chain_bound(h, &w))
		g.tracked = false;
	g.bound[h] = MAX(g.bound[h], w);
}

static void offer(u16 h)
{
	u16 slot = (u16)(2 + g.avail_idx % g.qsize), idx = (u16)(g.avail_idx + 1);
	guest_store(AVAIL_OFF + 2 * slot, &h, 2);
	guest_store(AVAIL_OFF + 2, &idx, 2);
	memcpy(g.avail_copy + 2 * slot, &h, 2);
	memcpy(g.avail_copy + 2, &idx, 2);
	g.avail_idx = idx;
	if (h < g.qsize) {
		if (!g.avail_cnt[h]++)
			g.bound[h] = 0;
		rebound(h);
	}
}

/* The used ring's new elements, each against what was made available. */
static void check_used(void)
{
	const u8 *u = ram + USED_OFF;
	if (memcmp(ram + AVAIL_OFF, g.avail_copy, PG) || u[0] || u[1]) {
		g.tracked = false; /* the guest's DMA went there: not followed */
		return;
	}
	u16 idx = (u16)(u[2] | u[3] << 8), delta = (u16)(idx - g.used_seen);
	u32 out = 0;
	for (unsigned h = 0; h < g.qsize; h++)
		out += g.avail_cnt[h];
	if (delta > out)
		fuzz_fail("used index moved by %u, %u requests outstanding", delta, out);
	if (delta > g.qsize) {
		g.tracked = false;
		return;
	}
	for (u16 k = 0; k < delta; k++) {
		const struct virtq_used_elem *e = (const void *)(u + 4 + 8 * ((g.used_seen + k) % g.qsize));
		if (e->id >= g.qsize || !g.avail_cnt[e->id])
			fuzz_fail("used element names head %u, not available", e->id);
		if (e->len == 0 || e->len > g.bound[e->id])
			fuzz_fail("used length %u for head %u, whose chain has %llu writable bytes", e->len, e->id,
				  (unsigned long long)g.bound[e->id]);
		g.avail_cnt[e->id]--;
	}
	g.used_seen = idx;
	for (unsigned h = 0; h < g.qsize && g.tracked; h++)
		if (g.avail_cnt[h])
			rebound((u16)h);
}

/* ---- the input ---------------------------------------------------------------------- */

static u64 addr_of(struct fuzz_in *in)
{
	u8 k = fz_u8(in);
	if (k == 0xFF)
		return fz_u64(in);
	return gpa_of(0) - PG + (((u32)k << 16 | fz_u16(in)) % (ARENA + PG));
}
static u32 len_of(struct fuzz_in *in)
{
	u8 k = fz_u8(in);
	return k < 0xF0 ? (u32)k << 4 : k < 0xFE ? fz_u16(in) : fz_u32(in);
}
static unsigned size_of(u8 b) { return 1u << (b & 3); }

static void put_desc(u32 at, u64 addr, u32 len, u16 flags, u16 next)
{
	struct virtq_desc d = { addr, len, flags, next };
	guest_store(at, &d, sizeof(d));
}

/* A request as a driver builds it, its fields the input's: the header,
 * up to 3 data buffers and the status, direct or through a table. */
static void op_request(struct fuzz_in *in)
{
	static const u32 types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID };
	u8 f = fz_u8(in), n = (f >> 2) & 3, k = fz_u8(in);
	struct virtio_blk_req_hdr h = { f & 0x80 ? fz_u32(in) : types[f & 3], 0, f & 0x40 ? fz_u64(in) : fz_u8(in) };
	u32 hdr = HDR_OFF + 16 * (k % 128), st = HDR_OFF + 0x800 + k;
	guest_store(hdr, &h, sizeof(h));
	struct virtq_desc d[5] = { { gpa_of(hdr), 16, VIRTQ_DESC_F_NEXT, 0 } };
	for (unsigned i = 1; i <= n; i++) {
		u8 l = fz_u8(in);
		u32 off = DATA_OFF + (fz_u16(in) & ~3u) % (RAM_SIZE - DATA_OFF);
		d[i] = (struct virtq_desc){ gpa_of(off), l & 0x80 ? (l & 0x7F) * 4u : (l & 0x7F) * 512u,
					    (u16)(VIRTQ_DESC_F_NEXT | (h.type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE)), 0 };
	}
	d[n + 1] = (struct virtq_desc){ gpa_of(st), 1, VIRTQ_DESC_F_WRITE, 0 };
	u16 head = (u16)(g.next_desc % g.qsize);
	if (f & 0x20) { /* indirect: the table in ITAB, one descriptor for it */
		u32 tab = ITAB_OFF + 128 * (k % 32);
		for (unsigned i = 0; i <= n + 1u; i++) {
			d[i].next = (u16)(i + 1);
			if (i == n + 1u)
				d[i].flags &= (u16)~VIRTQ_DESC_F_NEXT;
			put_desc(tab + 16 * i, d[i].addr, d[i].len, d[i].flags, d[i].next);
		}
		put_desc(DESC_OFF + 16 * head, gpa_of(tab), 16 * (n + 2u), VIRTQ_DESC_F_INDIRECT, 0);
		g.next_desc++;
	} else {
		for (unsigned i = 0; i <= n + 1u; i++) {
			u16 at = (u16)(g.next_desc++ % g.qsize);
			put_desc(DESC_OFF + 16 * at, d[i].addr, d[i].len, i == n + 1u ? VIRTQ_DESC_F_WRITE : d[i].flags,
				 (u16)(g.next_desc % g.qsize));
		}
	}
	if (!(f & 0x10) || fz_u8(in) & 1)
		offer(head);
}

/* The driver's probe, as Linux's (vblk_driver.c): bus master, MSI-X,
 * reset, features, the queue at DESC/AVAIL/USED_OFF, DRIVER_OK; tracked
 * from there when the queue reads back as set. */
static void op_setup(struct fuzz_in *in)
{
	u8 f = fz_u8(in), m = fz_u8(in);
	cfg_wr(f & 1, SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEM | PCI_COMMAND_MASTER, 0);
	cfg_wr(f & 1, SLOT, VPCI_CAP_START + MSIX_CAP_CONTROL, 2, MSIX_CONTROL_ENABLE | MSIX_CONTROL_MASK_ALL, 0);
	struct mmio_region *r2 = region_of(ctx2);
	for (unsigned v = 0; r2 && v < VBLK_MSIX_VECTORS; v++) {
		mmio_wr(r2->start + 16 * v, 8, 0xFEE00000u | (u32)(m & 0xF0) << 8);
		mmio_wr(r2->start + 16 * v + 8, 4, 0x30 + v);
		mmio_wr(r2->start + 16 * v + 12, 4, (m >> v) & 1);
	}
	cfg_wr(f & 1, SLOT, VPCI_CAP_START + MSIX_CAP_CONTROL, 2, MSIX_CONTROL_ENABLE | (m & 4 ? MSIX_CONTROL_MASK_ALL : 0), 0);
	reg_wr(VIRTIO_COMMON_STATUS, 1, 0);
	reg_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	u64 feat = f & 2 ? g.features & ~(u64)fz_u32(in) : g.features;
	if (f & 4)
		feat |= BIT(fz_u8(in) & 63);
	for (unsigned s = 0; s < 2; s++) {
		reg_wr(VIRTIO_COMMON_GFSELECT, 4, s);
		reg_wr(VIRTIO_COMMON_GF, 4, (u32)(feat >> (32 * s)));
	}
	reg_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	g.qsize = (u16)(1u << ((f >> 3) % 9));
	memset(g.avail_copy, 0, PG);
	static const u8 zero[PG];
	guest_store(AVAIL_OFF, zero, PG);
	guest_store(USED_OFF, zero, PG);
	reg_wr(VIRTIO_COMMON_MSIX, 2, m & 8 ? 0 : VIRTIO_MSI_NO_VECTOR);
	reg_wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	reg_wr(VIRTIO_COMMON_Q_SIZE, 2, g.qsize);
	reg_wr(VIRTIO_COMMON_Q_MSIX, 2, (m >> 4) & 1);
	reg_wr(VIRTIO_COMMON_Q_DESCLO, 8, gpa_of(DESC_OFF));
	reg_wr(VIRTIO_COMMON_Q_AVAILLO, 8, gpa_of(AVAIL_OFF));
	reg_wr(VIRTIO_COMMON_Q_USEDLO, 4, (u32)gpa_of(USED_OFF));
	reg_wr(VIRTIO_COMMON_Q_USEDHI, 4, gpa_of(USED_OFF) >> 32);
	reg_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	reg_wr(VIRTIO_COMMON_STATUS, 1, 0x0F);
	g.tracked = bar0() && reg_rd(VIRTIO_COMMON_Q_ENABLE, 2) == 1 && reg_rd(VIRTIO_COMMON_Q_SIZE, 2) == g.qsize &&
		    reg_rd(VIRTIO_COMMON_Q_DESCLO, 8) == gpa_of(DESC_OFF) && reg_rd(VIRTIO_COMMON_Q_AVAILLO, 8) == gpa_of(AVAIL_OFF) &&
		    reg_rd(VIRTIO_COMMON_Q_USEDLO, 8) == gpa_of(USED_OFF);
	g.avail_idx = g.used_seen = g.next_desc = 0;
	memset(g.avail_cnt, 0, sizeof(g.avail_cnt));
}

static u32 cfg_expected(u16 off, unsigned size)
{
	off &= 0xFFF;
	bool one = (size == 1 || size == 2 || size == 4) && off % size == 0;
	if (one && off + size > 256)
		return 0;
	u32 v = 0;
	for (unsigned i = 0; i < size && i < 4; i++) {
		u16 o = (u16)((off + i) & 0xFFF);
		v |= (u32)(o < 256 ? g.cfg[o] : 0) << (8 * i);
	}
	return v;
}

static void op_cfg(struct fuzz_in *in, bool write)
{
	u8 f = fz_u8(in), dev = f & 0x80 ? fz_u8(in) & 31 : SLOT;
	bool ecam = f & 1;
	u16 off = fz_u16(in) & (ecam ? 0xFFF : 0xFF);
	unsigned size = ecam ? size_of(f >> 1) : 1u << ((f >> 1) % 3);
	if (!ecam && (off & 3) + size > 4)
		size = 4 - (off & 3) == 3 ? 2 : 4 - (off & 3); /* a port access stays in CFC-CFF */
	if (write) {
		cfg_wr(ecam, dev, off, size, fz_u32(in), fz_u8(in));
		return;
	}
	u32 v = cfg_rd(ecam, dev, off, size, f);
	u16 data = g.pc + VIRTIO_CAP_PCI_CFG_DATA;
	bool hook = overlaps(off, size, data, 4) || (off + size > 0x1000);
	if (dev == SLOT && size <= 4 && !hook && v != cfg_expected(off, size))
		fuzz_fail("config %#x/%u reads %x, documented %x", off, size, v, cfg_expected(off, size));
}

static void op_bar_size(struct fuzz_in *in)
{
	static const u32 mask[6] = { ~(VBLK_BAR0_SIZE - 1u) | VPCI_BAR_64, ~0u, ~(VBLK_BAR2_SIZE - 1u) | VPCI_BAR_64, ~0u, 0, 0 };
	u8 f = fz_u8(in);
	unsigned i = (f >> 1) % 6;
	u16 reg = (u16)(PCI_BAR0 + 4 * i);
	u32 old = get32(g.cfg + reg);
	cfg_wr(f & 1, SLOT, reg, 4, ~0u, 0);
	u32 v = cfg_rd(f & 1, SLOT, reg, 4, 0);
	if (v != mask[i])
		fuzz_fail("BAR%u sizes as %08x, not %08x", i, v, mask[i]);
	if (!(f & 0x80))
		cfg_wr(f & 1, SLOT, reg, 4, f & 0x40 ? fz_u32(in) : old, 0);
}

static void op_mmio(struct fuzz_in *in, bool write)
{
	u8 f = fz_u8(in);
	unsigned size = size_of(f);
	u64 off = fz_u16(in);
	gpa_t a = (f & 0xC) == 0 ? bar_gpa(0) + off % 0x4100 : (f & 0xC) == 4 ? bar_gpa(2) + off % 0x1100
		  : (f & 0xC) == 8 ? ECAM_GPA + ((u64)SLOT << 15) + off % 0x1000 : fz_u64(in);
	if (write) {
		mmio_wr(a, size, f & 0x10 ? fz_u64(in) : fz_u8(in));
		return;
	}
	struct mmio_region *r = region_at(a);
	u64 v = mmio_rd(a, size);
	if (r && r->ctx == ctx0)
		check_bar0_read(a - r->start, size, v);
	else if (r && r->ctx == ctx2)
		check_bar2_read(a - r->start, size, v);
}

/* The PCI_CFG window: the capability's bar, offset and length, then its data. */
static void op_window(struct fuzz_in *in)
{
	u8 f = fz_u8(in);
	cfg_wr(f & 1, SLOT, g.pc + VIRTIO_CAP_BAR, 1, f & 2 ? fz_u8(in) : (f >> 2) & 2, 0);
	cfg_wr(f & 1, SLOT, g.pc + VIRTIO_CAP_OFFSET, 4, fz_u16(in), 0);
	cfg_wr(f & 1, SLOT, g.pc + VIRTIO_CAP_LENGTH, 4, 1u << ((f >> 4) & 3), 0);
	if (f & 0x40)
		cfg_wr(f & 1, SLOT, g.pc + VIRTIO_CAP_PCI_CFG_DATA, 4, fz_u32(in), 0);
	else
		cfg_rd(f & 1, SLOT, g.pc + VIRTIO_CAP_PCI_CFG_DATA, 4, 0);
}

static void op_ram(struct fuzz_in *in)
{
	u32 off = fz_u16(in) % RAM_SIZE, n = fz_u8(in) % 64;
	u8 b[64];
	fz_fill(in, b, n);
	guest_store(off, b, n);
	if (overlaps(off, n, AVAIL_OFF, 2 * PG))
		g.tracked = false;
}

static void op_desc(struct fuzz_in *in)
{
	u8 f = fz_u8(in), i = fz_u8(in);
	u64 addr = addr_of(in);
	u32 len = len_of(in);
	put_desc((f & 1 ? ITAB_OFF : DESC_OFF) + 16u * i, addr, len, fz_u8(in) & 7, f & 2 ? fz_u16(in) : fz_u8(in));
}

static void step(struct fuzz_in *in)
{
	u8 op = fz_u8(in);
	g.may_flush = false;
	switch (op % 18) {
	case 0: op_cfg(in, false); break;
	case 1: op_cfg(in, true); break;
	case 2: op_bar_size(in); break;
	case 3: op_mmio(in, false); break;
	case 4: case 5: op_mmio(in, true); break;
	case 6: op_ram(in); break;
	case 7: op_desc(in); break;
	case 8: case 9: op_request(in); break;
	case 10: offer(fz_u16(in) % 512); break;
	case 11: reg_wr(VBLK_BAR0_NOTIFY, 2, 0); break;
	case 12: vblk_poll(); break;
	case 13:
		if (be.nq)
			be_complete(fz_u8(in) % be.nq, op & 0x80 ? -E_IO : 0);
		break;
	case 14: be.poll_all = op & 0x20, be.fail = op & 0x40 ? -E_IO : 0; break;
	case 15: op_setup(in); break;
	case 16: reg_wr(VIRTIO_COMMON_STATUS, 1, op & 0x80 ? fz_u8(in) : 0); break;
	case 17: op_window(in); break;
	}
	check_guards();
	if (g.tracked)
		check_used();
	check_cfg();
	check_status();
}

/* ---- one machine per input --------------------------------------------------------- */

static void quiet(const char *line) { (void)line; }

static void machine(u8 shape)
{
	if (!arena)
		arena = aligned_alloc(PG, ARENA);
	ram = arena + PG;
	memset(arena, 0, ARENA);
	memset(arena, GUARD_BYTE, PG);
	memset(arena + ARENA - PG, GUARD_BYTE, PG);
	memset(ram + HOLE * PG, GUARD_BYTE, PG);
	memset(shadow, 0, sizeof(shadow));
	fake_log_hook = quiet;
	fake_vm_init(&vm);
	gmem_add(&vm.ram, gpa_of(0), gpa_of(RAM_SIZE));
	gmem_remove(&vm.ram, gpa_of(HOLE * PG), gpa_of((HOLE + 1) * PG));
	u32 ss = shape & 1 ? 4096 : 512;
	free(be.data);
	memset(&be, 0, sizeof(be));
	be.dev = (struct blk_dev){ .name = "fuzz0", .ops = shape & 4 ? &async_ops : &sync_ops,
				   .info = { .sectors = (64 << 10) / ss, .sector_size = ss, .max_sectors = shape & 8 ? 4 : 64,
					     .read_only = shape & 2, .serial = "FUZZ-SERIAL" } };
	be.dev.queue_depth = shape & 4 ? BLK_AREQ_PARTS + (u32)(shape >> 4) * 3 : 0;
	be.data = calloc(64 << 10, 1);
	memset(&g, 0, sizeof(g));
	g.qsize = VIRTQ_MAX_SIZE;
	g.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_SEG_MAX) |
		     BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) | (shape & 2 ? BIT(VIRTIO_BLK_F_RO) : 0);
	struct vblk_cfg c = { SLOT, BAR0_GPA, BAR2_GPA, send_msi };
	fuzz_assert(vblk_attach(&vm, &be.dev, &c) == 0);
	struct acpi_ecam e = { ECAM_GPA, 0, 0, 0 };
	pcicfg_map_ecam(&vm, &e, 1);
	ctx0 = region_at(BAR0_GPA)->ctx;
	ctx2 = region_at(BAR2_GPA)->ctx;
	ctxe = region_at(ECAM_GPA)->ctx;
	fake_out(&vm.vcpu, 0xCF8, 4, 0);
	cfg_model_init();
	for (unsigned v = 0; v < VBLK_MSIX_VECTORS; v++)
		g.msix[v].masked = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	machine(fz_u8(&in));
	for (unsigned n = 0; in.n && n < MAX_OPS; n++)
		step(&in);
	/* The back end finishes everything; the device returns what it may. */
	be.fail = 0;
	while (be.nq)
		be_complete(0, 0);
	vblk_poll();
	check_guards();
	if (g.tracked)
		check_used();
	check_status();
	return 0;
}

/* ---- seeds: a driver's probe, then requests of every kind -------------------------- */

static size_t put(u8 *b, size_t n, const void *p, size_t k)
{
	memcpy(b + n, p, k);
	return n + k;
}

static size_t req(u8 *b, size_t n, u8 f, u8 k, u8 sector, const u8 *segs, unsigned nseg)
{
	u8 op[] = { 8, f | (u8)(nseg << 2), k, sector };
	n = put(b, n, op, sizeof(op));
	for (unsigned i = 0; i < nseg; i++)
		n = put(b, n, segs + 3 * i, 3);
	return n;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static u8 b[1024];
	static const u8 seg[] = { 8, 0x00, 0x10, 1, 0x00, 0x30, 0x84, 0x00, 0x60 }; /* 4 KiB, 512, 16 bytes */
	for (unsigned shape = 0; shape < 8; shape++) {
		u8 head[] = { (u8)((shape & 3) | (shape & 4) | 0x30), 15, 8 << 3 | 1, 0x10 };
		size_t n = put(b, 0, head, sizeof(head));
		n = req(b, n, 0, 0, 8, seg, 1);                       /* IN 4 KiB */
		n = req(b, n, 1, 1, 16, seg + 3, 1);                  /* OUT 512 */
		n = req(b, n, 2, 2, 0, NULL, 0);                      /* FLUSH */
		n = req(b, n, 3, 3, 0, seg + 6, 1);                   /* GET_ID */
		n = req(b, n, 0x20, 4, 24, seg, 2);                   /* IN, indirect */
		n = req(b, n, 1, 5, 255, seg, 1);                     /* OUT past the end */
		static const u8 tail[] = { 11, 12, 3, 0x06, 0x00, 0x10, 3, 0x04, 0x00, 0x08, 13, 0, 0x4D, 12,
					   16, 0, 2, 0x00, 0x18, 0, 0x03, 0x04 };
		n = put(b, n, tail, sizeof(tail));
		emit(b, n);
	}
}
