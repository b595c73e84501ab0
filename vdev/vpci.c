/* A virtual PCI function's configuration space and BARs (vpci.h). */
#include "vpci.h"
#include "platform/console.h"
#include "platform/pci.h"
#include "vm/pcicfg.h"
#include "lib/string.h"

static void put16(u8 *p, u16 v) { p[0] = (u8)v; p[1] = (u8)(v >> 8); }
static void put32(u8 *p, u32 v) { put16(p, (u16)v); put16(p + 2, (u16)(v >> 16)); }
static u16 get16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 get32(const u8 *p) { return get16(p) | (u32)get16(p + 2) << 16; }

void vpci_init(struct vpci_dev *d, struct vm *vm, const struct vpci_id *id)
{
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->cap_end = VPCI_CAP_START;
	put16(d->cfg + PCI_VENDOR_ID, id->vendor);
	put16(d->cfg + PCI_DEVICE_ID, id->device);
	put32(d->cfg + PCI_CLASS_REV, id->class_code << 8 | id->revision);
	d->cfg[PCI_HEADER_TYPE] = 0; /* type 0, one function */
	put16(d->cfg + PCI_SUBSYSTEM_VENDOR_ID, id->subsys_vendor);
	put16(d->cfg + PCI_SUBSYSTEM_ID, id->subsys);
	d->cfg[PCI_INTR_PIN] = 0; /* no INTx: MSI-X only */
	put16(d->wmask + PCI_COMMAND, VPCI_COMMAND_WRITABLE);
	d->wmask[0x0C] = 0xFF; /* cache line size */
	d->wmask[0x0D] = 0xFF; /* latency timer */
	d->wmask[PCI_INTR_LINE] = 0xFF;
}

int vpci_add_bar64(struct vpci_dev *d, unsigned idx, u64 size, const char *name,
		   u64 (*read)(void *ctx, u64 off, unsigned size), void (*write)(void *ctx, u64 off, unsigned size, u64 val),
		   void *ctx)
{
	if (idx > 4 || (idx & 1) || size < PAGE_SIZE || (size & (size - 1)))
		return -E_INVAL;
	d->bar[idx] = (struct vpci_bar){ .size = size, .name = name, .read = read, .write = write, .ctx = ctx, .dev = d };
	u8 *reg = d->cfg + PCI_BAR0 + 4 * idx, *mask = d->wmask + PCI_BAR0 + 4 * idx;
	put32(reg, VPCI_BAR_64);
	put32(reg + 4, 0);
	/* The address bits above the size stick; sizing reads them back. */
	put32(mask, (u32)~(size - 1) & ~0xFu);
	put32(mask + 4, (u32)(~(size - 1) >> 32));
	return 0;
}

u8 vpci_add_cap(struct vpci_dev *d, const void *cap, u8 len)
{
	u8 at = (u8)ALIGN_UP(d->cap_end, 4);
	if (len < 2 || (unsigned)at + len > VPCI_CFG_SIZE)
		return 0;
	memcpy(d->cfg + at, cap, len);
	d->cfg[at + 1] = 0;
	if (d->cap_last)
		d->cfg[d->cap_last + 1] = at;
	else
		d->cfg[PCI_CAP_PTR] = at;
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->cap_last = at;
	d->cap_end = (u8)MIN((unsigned)at + len, 0xFFu);
	return at;
}

void vpci_writable(struct vpci_dev *d, u8 off, u8 len)
{
	for (unsigned i = off; i < (unsigned)off + len && i < VPCI_CFG_SIZE; i++)
		d->wmask[i] = 0xFF;
}

gpa_t vpci_bar_addr(const struct vpci_dev *d, unsigned idx)
{
	const u8 *reg = d->cfg + PCI_BAR0 + 4 * idx;
	return (get32(reg) & ~0xFull) | (u64)get32(reg + 4) << 32;
}

u16 vpci_command(const struct vpci_dev *d) { return get16(d->cfg + PCI_COMMAND); }

static u64 region_read(void *ctx, u64 off, unsigned size)
{
	const struct vpci_bar *b = ctx;
	return off + size <= b->size ? b->read(b->ctx, off, size) : ~0ULL;
}

static void region_write(void *ctx, u64 off, unsigned size, u64 val)
{
	const struct vpci_bar *b = ctx;
	if (off + size <= b->size)
		b->write(b->ctx, off, size, val);
}

/* Registers each BAR's region where the guest put it, while memory
 * decode is on; a placement mmio_register refuses (overlapping another
 * device, wrapping) leaves the BAR decoding nowhere. */
static void update_bars(struct vpci_dev *d)
{
	bool decode = vpci_command(d) & PCI_COMMAND_MEM;
	for (unsigned i = 0; i < 6; i += 2) {
		struct vpci_bar *b = &d->bar[i];
		gpa_t want = decode && b->size ? vpci_bar_addr(d, i) : 0;
		if (want == b->mapped)
			continue;
		if (b->mapped)
			mmio_unregister(d->vm, b->mapped);
		b->mapped = 0;
		if (!want)
			continue;
		struct mmio_region r = { .name = b->name, .start = want, .len = b->size, .read = region_read,
					 .write = region_write, .ctx = b };
		int rc = mmio_register(d->vm, &r);
		if (rc == 0) {
			b->mapped = want;
			log_debug("vpci %02x:%02x.%x: %s at %lx", d->bus, d->dev, d->fn, b->name, want);
		} else if (d->bar_refusals++ < 8) {
			log_guest_warn("vpci %02x:%02x.%x: %s cannot decode at %lx+%lx: %s", d->bus, d->dev, d->fn, b->name, want,
				 b->size, err_name(rc));
		}
	}
}

void vpci_place_bar(struct vpci_dev *d, unsigned idx, gpa_t gpa)
{
	u8 *reg = d->cfg + PCI_BAR0 + 4 * idx;
	put32(reg, (u32)(gpa & ~0xFull) | VPCI_BAR_64);
	put32(reg + 4, (u32)(gpa >> 32));
	update_bars(d);
}

void vpci_set_command(struct vpci_dev *d, u16 cmd)
{
	put16(d->cfg + PCI_COMMAND, cmd & VPCI_COMMAND_WRITABLE);
	update_bars(d);
}

/* ---- MSI-X: the capability's control word and the table BAR ------------- */

static u64 msix_bar_read(void *ctx, u64 off, unsigned size)
{
	struct vpci_dev *d = ctx;
	if (off >= d->msix_table && off < d->msix_table + (u64)d->msix->n * MSIX_ENTRY_SIZE)
		return msix_table_read(d->msix, off - d->msix_table, size);
	if (off >= d->msix_pba && off < d->msix_pba + 8)
		return msix_pba_read(d->msix, off - d->msix_pba, size);
	return 0;
}

static void msix_bar_write(void *ctx, u64 off, unsigned size, u64 val)
{
	struct vpci_dev *d = ctx;
	if (off >= d->msix_table && off < d->msix_table + (u64)d->msix->n * MSIX_ENTRY_SIZE)
		msix_table_write(d->msix, off - d->msix_table, size, val);
	/* The PBA is read-only. */
}

u8 vpci_add_msix(struct vpci_dev *d, struct msix *m, u8 bar, u32 table_off, u32 pba_off)
{
	if (bar > 4 || !d->bar[bar].size)
		return 0;
	u8 cap[MSIX_CAP_LEN] = { PCI_CAP_ID_MSIX };
	put16(cap + MSIX_CAP_CONTROL, (u16)(m->n - 1));
	put32(cap + MSIX_CAP_TABLE, table_off | bar);
	put32(cap + MSIX_CAP_PBA, pba_off | bar);
	u8 at = vpci_add_cap(d, cap, sizeof(cap));
	if (!at)
		return 0;
	d->wmask[at + MSIX_CAP_CONTROL + 1] = (MSIX_CONTROL_ENABLE | MSIX_CONTROL_MASK_ALL) >> 8;
	d->msix = m;
	d->msix_cap = at;
	d->msix_bar = bar;
	d->msix_table = table_off;
	d->msix_pba = pba_off;
	d->bar[bar].read = msix_bar_read;
	d->bar[bar].write = msix_bar_write;
	d->bar[bar].ctx = d;
	return at;
}

/* ---- configuration space -------------------------------------------------- */

static bool in_hook(const struct vpci_dev *d, u16 off) { return d->hook_len && off >= d->hook_off && off < d->hook_off + d->hook_len; }

u32 vpci_cfg_read(void *ctx, u16 off, unsigned size)
{
	struct vpci_dev *d = ctx;
	if (off >= VPCI_CFG_SIZE || off + size > VPCI_CFG_SIZE)
		return 0;
	if (in_hook(d, off))
		return d->hook_read(d->hook_ctx, off, size);
	u32 v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (u32)d->cfg[off + i] << (8 * i);
	return v;
}

static bool touches(u16 off, unsigned size, u16 reg, unsigned len) { return off < reg + len && reg < off + size; }

void vpci_cfg_write(void *ctx, u16 off, unsigned size, u32 val)
{
	struct vpci_dev *d = ctx;
	if (off >= VPCI_CFG_SIZE || off + size > VPCI_CFG_SIZE)
		return;
	if (in_hook(d, off)) {
		d->hook_write(d->hook_ctx, off, size, val);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		u8 m = d->wmask[off + i], b = (u8)(val >> (8 * i));
		d->cfg[off + i] = (u8)((d->cfg[off + i] & ~m) | (b & m));
	}
	if (touches(off, size, PCI_COMMAND, 2) || touches(off, size, PCI_BAR0, 24))
		update_bars(d);
	if (d->msix && touches(off, size, (u16)(d->msix_cap + MSIX_CAP_CONTROL), 2)) {
		u16 ctl = get16(d->cfg + d->msix_cap + MSIX_CAP_CONTROL);
		msix_control(d->msix, ctl & MSIX_CONTROL_ENABLE, ctl & MSIX_CONTROL_MASK_ALL);
	}
}

int vpci_attach(struct vpci_dev *d, u8 bus, u8 dev, u8 fn)
{
	struct pci_vfn f = { bus, dev, fn, vpci_cfg_read, vpci_cfg_write, d };
	d->bus = bus;
	d->dev = dev;
	d->fn = fn;
	return pcicfg_add_vfn(d->vm, &f);
}

u64 vpci_bar_read(struct vpci_dev *d, unsigned idx, u64 off, unsigned size)
{
	return idx < 6 && d->bar[idx].size ? region_read(&d->bar[idx], off, size) : 0;
}

void vpci_bar_write(struct vpci_dev *d, unsigned idx, u64 off, unsigned size, u64 val)
{
	if (idx < 6 && d->bar[idx].size)
		region_write(&d->bar[idx], off, size, val);
}
