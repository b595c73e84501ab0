/* PCI enumeration through configuration mechanism #1 (PCI Local Bus Spec
 * 3.0, 3.2.2.3.2).  ferry records every function and its BARs once at boot;
 * the guest's accesses to configuration space go through
 * vm/guest_io.c, which consults this list. */
#include "pci.h"
#include "console.h"
#include "mem.h"
#include "x86/io.h"

#define PCI_CONFIG_ADDR 0xCF8
#define PCI_CONFIG_DATA 0xCFC

static struct pci_dev devs[PCI_MAX_DEVS];
static unsigned ndevs;

static u32 cfg_addr(u8 bus, u8 dev, u8 fn, u16 off)
{
	return BIT(31) | ((u32)bus << 16) | ((u32)dev << 11) | ((u32)fn << 8) | (off & 0xFC);
}

u32 pci_cfg_read32(u8 bus, u8 dev, u8 fn, u16 off)
{
	outl(PCI_CONFIG_ADDR, cfg_addr(bus, dev, fn, off));
	return inl(PCI_CONFIG_DATA);
}

void pci_cfg_write32(u8 bus, u8 dev, u8 fn, u16 off, u32 v)
{
	outl(PCI_CONFIG_ADDR, cfg_addr(bus, dev, fn, off));
	outl(PCI_CONFIG_DATA, v);
}

struct ecam_win {
	volatile u8 *base; /* the mapped configuration space of start_bus */
	u8 start_bus, end_bus;
};
static struct ecam_win ecam[PCI_MAX_ECAM];
static unsigned necam;

int pci_ecam_add(u64 base, u8 start_bus, u8 end_bus)
{
	if (necam == PCI_MAX_ECAM || end_bus < start_bus)
		return necam == PCI_MAX_ECAM ? -E_NOSPC : -E_INVAL;
	u64 start = base + ((u64)start_bus << 20), len = ((u64)end_bus - start_bus + 1) << 20;
	volatile u8 *p = mmio_map(start, len);
	if (!p)
		return -E_NOMEM;
	ecam[necam++] = (struct ecam_win){ p, start_bus, end_bus };
	return 0;
}

/* The ECAM address of a register, or NULL without a window for the bus. */
static volatile u8 *ecam_reg(u8 bus, u8 dev, u8 fn, u16 off)
{
	for (unsigned i = 0; i < necam; i++)
		if (bus >= ecam[i].start_bus && bus <= ecam[i].end_bus)
			return ecam[i].base + ((u64)(bus - ecam[i].start_bus) << 20 | (u64)dev << 15 | (u64)fn << 12 |
					       (off & 0xFFF));
	return NULL;
}

u32 pci_cfg_read(u8 bus, u8 dev, u8 fn, u16 off, unsigned size)
{
	if (off >= 0x100) {
		volatile u8 *p = ecam_reg(bus, dev, fn, off);
		if (!p)
			return size == 4 ? ~0u : (1u << (size * 8)) - 1;
		return size == 4 ? *(volatile u32 *)p : size == 2 ? *(volatile u16 *)p : *p;
	}
	outl(PCI_CONFIG_ADDR, cfg_addr(bus, dev, fn, off));
	u16 port = PCI_CONFIG_DATA + (off & 3);
	return size == 4 ? inl(port) : size == 2 ? inw(port) : inb(port);
}

void pci_cfg_write(u8 bus, u8 dev, u8 fn, u16 off, unsigned size, u32 v)
{
	if (off >= 0x100) {
		volatile u8 *p = ecam_reg(bus, dev, fn, off);
		if (p && size == 4)
			*(volatile u32 *)p = v;
		else if (p && size == 2)
			*(volatile u16 *)p = (u16)v;
		else if (p)
			*p = (u8)v;
		return;
	}
	outl(PCI_CONFIG_ADDR, cfg_addr(bus, dev, fn, off));
	u16 port = PCI_CONFIG_DATA + (off & 3);
	if (size == 4)
		outl(port, v);
	else if (size == 2)
		outw(port, (u16)v);
	else
		outb(port, (u8)v);
}

u32 pci_read32(const struct pci_dev *d, u16 off) { return pci_cfg_read32(d->bus, d->dev, d->fn, off); }
u16 pci_read16(const struct pci_dev *d, u16 off) { return (u16)(pci_read32(d, off & (u16)~3) >> ((off & 2) * 8)); }
u8 pci_read8(const struct pci_dev *d, u16 off) { return (u8)(pci_read32(d, off & (u16)~3) >> ((off & 3) * 8)); }
void pci_write32(const struct pci_dev *d, u16 off, u32 v) { pci_cfg_write32(d->bus, d->dev, d->fn, off, v); }

void pci_write16(const struct pci_dev *d, u16 off, u16 v)
{
	u32 old = pci_read32(d, off & (u16)~3);
	unsigned shift = (off & 2) * 8;
	pci_write32(d, off & (u16)~3, (old & ~(0xFFFFu << shift)) | ((u32)v << shift));
}

/* Sizes a BAR by writing all ones (spec 6.2.5.1) with decoding off, so the
 * probe address is never decoded. */
static unsigned probe_bar(struct pci_dev *d, unsigned i)
{
	u16 off = (u16)(PCI_BAR0 + 4 * i); /* i < 6 */
	u32 orig = pci_read32(d, off);
	struct pci_bar *b = &d->bar[i];

	pci_write32(d, off, 0xFFFFFFFF);
	u32 mask = pci_read32(d, off);
	pci_write32(d, off, orig);
	if (mask == 0 || mask == 0xFFFFFFFF)
		return 1;
	if (orig & 1) {
		b->is_io = true;
		b->base = orig & ~3u;
		b->size = (u16)(~(mask & ~3u) + 1);
		return 1;
	}
	u64 base = orig & ~0xFull, m = mask & ~0xFull;
	if (((orig >> 1) & 3) == 2 && i < 5) { /* 64-bit BAR */
		u32 orig_hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, 0xFFFFFFFF);
		u32 mask_hi = pci_read32(d, off + 4);
		pci_write32(d, off + 4, orig_hi);
		base |= (u64)orig_hi << 32;
		m |= (u64)mask_hi << 32;
		b->is_64 = true;
	} else {
		m |= 0xFFFFFFFF00000000ull;
	}
	b->base = base;
	b->size = ~m + 1;
	return b->is_64 ? 2 : 1;
}

static void add_function(u8 bus, u8 dev, u8 fn)
{
	if (ndevs == PCI_MAX_DEVS) {
		log_warn("pci: more than %d functions; %02x:%02x.%x and later ignored", PCI_MAX_DEVS, bus, dev, fn);
		return;
	}
	struct pci_dev *d = &devs[ndevs++];
	*d = (struct pci_dev){ .bus = bus, .dev = dev, .fn = fn };
	u32 id = pci_read32(d, PCI_VENDOR_ID), cls = pci_read32(d, PCI_CLASS_REV);
	d->vendor = (u16)id;
	d->device = (u16)(id >> 16);
	d->revision = (u8)cls;
	d->progif = (u8)(cls >> 8);
	d->subclass = (u8)(cls >> 16);
	d->class_code = (u8)(cls >> 24);
	d->header_type = pci_read8(d, PCI_HEADER_TYPE) & 0x7F;

	if (d->header_type == 1) {
		u32 buses = pci_read32(d, PCI_PRIMARY_BUS);
		d->sec_bus = (u8)(buses >> 8);
		d->sub_bus = (u8)(buses >> 16);
	}
	if (d->header_type == 0) {
		u16 cmd = pci_read16(d, PCI_COMMAND);
		pci_write16(d, PCI_COMMAND, cmd & (u16)~(PCI_COMMAND_IO | PCI_COMMAND_MEM));
		for (unsigned i = 0; i < 6;)
			i += probe_bar(d, i);
		pci_write16(d, PCI_COMMAND, cmd);
	}
	log_info("pci %02x:%02x.%x %04x:%04x class %02x%02x%02x", bus, dev, fn, d->vendor, d->device,
		 d->class_code, d->subclass, d->progif);
	for (unsigned i = 0; i < 6; i++)
		if (d->bar[i].size)
			log_debug("    bar%u %s %lx size %lx", i, d->bar[i].is_io ? "io" : "mem", d->bar[i].base, d->bar[i].size);
}

static void scan_bus(u8 bus)
{
	for (u8 dev = 0; dev < 32; dev++) {
		if ((u16)pci_cfg_read32(bus, dev, 0, 0) == 0xFFFF)
			continue;
		bool multi = (pci_cfg_read32(bus, dev, 0, PCI_HEADER_TYPE & ~3) >> 16) & 0x80;
		for (u8 fn = 0; fn < (multi ? 8 : 1); fn++)
			if ((u16)pci_cfg_read32(bus, dev, fn, 0) != 0xFFFF)
				add_function(bus, dev, fn);
	}
}

void pci_init(void)
{
	/* Brute force over all buses: simple, and fast enough (8192 reads). */
	for (unsigned bus = 0; bus < 256; bus++)
		scan_bus((u8)bus); /* below 256 */
}

struct pci_dev *pci_get(unsigned idx) { return idx < ndevs ? &devs[idx] : NULL; }

struct pci_dev *pci_find_class(u8 class_code, u8 subclass, int progif, unsigned idx)
{
	for (unsigned i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		if (d->class_code == class_code && d->subclass == subclass && (progif < 0 || d->progif == progif) &&
		    idx-- == 0)
			return d;
	}
	return NULL;
}

struct pci_dev *pci_find_bdf(u8 bus, u8 dev, u8 fn)
{
	for (unsigned i = 0; i < ndevs; i++)
		if (devs[i].bus == bus && devs[i].dev == dev && devs[i].fn == fn)
			return &devs[i];
	return NULL;
}

/* Set by pci_seal: the guest's address space and I/O map are built from
 * the owners as they are now. */
static bool sealed;

void pci_seal(void) { sealed = true; }

/* Is a device ferry owns on a bus behind bridge b? */
static bool above_owned(const struct pci_dev *b)
{
	for (unsigned i = 0; i < ndevs; i++)
		if (devs[i].owner && devs[i].bus >= b->sec_bus && devs[i].bus <= b->sub_bus && b->sec_bus)
			return true;
	return false;
}

u32 pci_guest_locked_bits(u8 bus, u8 dev, u8 fn, u16 off4)
{
	const struct pci_dev *d = pci_find_bdf(bus, dev, fn);
	if (!d)
		return 0;
	if (d->header_type == 0 && d->class_code == 0x06 && d->subclass == 0x00 && d->vendor == 0x8086 &&
	    (off4 == PCI_INTEL_PCIEXBAR || off4 == PCI_INTEL_PCIEXBAR + 4))
		return ~0u;
	if (d->header_type != 1)
		return 0;
	if (off4 == PCI_PRIMARY_BUS)
		return 0x00FFFFFF; /* the bus numbers; the latency timer is free */
	if (!above_owned(d))
		return 0;
	switch (off4) {
	case PCI_COMMAND:
		return PCI_COMMAND_IO | PCI_COMMAND_MEM | PCI_COMMAND_MASTER;
	case PCI_IO_BASE:
		return 0x0000FFFF; /* base and limit; secondary status (RW1C) is free */
	case PCI_MEMORY_BASE:
	case PCI_MEMORY_BASE + 4:
	case PCI_MEMORY_BASE + 8:
	case PCI_MEMORY_BASE + 12:
	case PCI_IO_BASE_UPPER:
		return ~0u;
	case PCI_BRIDGE_CONTROL & ~3u:
		return (u32)PCI_BRIDGE_CTL_BUS_RESET << 16;
	}
	return 0;
}

static void check_unsealed(const struct pci_dev *d, const char *what)
{
	if (sealed)
		panic("pci %02x:%02x.%x: %s after the guest's view of the bus was built", d->bus, d->dev, d->fn, what);
}

void pci_claim(struct pci_dev *d, const char *owner)
{
	check_unsealed(d, "claim");
	d->owner = owner;
	u16 cmd = pci_read16(d, PCI_COMMAND);
	d->saved_command = cmd;
	pci_write16(d, PCI_COMMAND, cmd | PCI_COMMAND_IO | PCI_COMMAND_MEM | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	log_info("pci %02x:%02x.%x taken by ferry's %s driver and hidden from the guest", d->bus, d->dev, d->fn, owner);
	for (unsigned i = 0; i < 6; i++)
		if (d->bar[i].size)
			log_info("    %s bar%u %s %lx size %lx (not visible to the guest)", owner, i,
				 d->bar[i].is_io ? "io" : "mem", d->bar[i].base, d->bar[i].size);
}

void pci_release(struct pci_dev *d)
{
	check_unsealed(d, "release");
	if (d->quarantined) {
		log_err("pci %02x:%02x.%x stays hidden: ferry's %s driver quarantined it before", d->bus, d->dev, d->fn,
			d->owner);
		return;
	}
	log_info("pci %02x:%02x.%x given back to the guest by ferry's %s driver", d->bus, d->dev, d->fn, d->owner);
	pci_write16(d, PCI_COMMAND, d->saved_command);
	d->owner = NULL;
	d->n_own_io = 0;
}

void pci_quarantine(struct pci_dev *d, const char *why)
{
	if (d->quarantined)
		return;
	d->quarantined = true;
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & (u16)~PCI_COMMAND_MASTER);
	log_err("pci %02x:%02x.%x stays hidden from the guest with bus mastering off: %s", d->bus, d->dev, d->fn, why);
}

int pci_own_io(struct pci_dev *d, u16 base, u16 len)
{
	check_unsealed(d, "owned I/O range");
	if (!d->owner || len == 0 || (u32)base + len > 0x10000)
		return -E_INVAL;
	if (d->n_own_io == PCI_MAX_OWN_IO)
		return -E_NOSPC;
	d->own_io[d->n_own_io++] = (struct pci_io_range){ .base = base, .len = len };
	log_info("    %s io %x size %x (legacy ports, not visible to the guest)", d->owner, base, len);
	return 0;
}
