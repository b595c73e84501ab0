/* The fake port bus: see fake_bus.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_bus.h"
#include "x86/io.h"

#define CFG_ADDR 0xCF8
#define CFG_DATA 0xCFC

struct fake_pci_fn fake_pci[FAKE_PCI_MAX];
unsigned fake_npci;
struct fake_port_access fake_ports[FAKE_PORT_LOG];
unsigned fake_nports;
static u32 addr_latch;

void fake_bus_reset(void)
{
	memset(fake_pci, 0, sizeof(fake_pci));
	fake_npci = 0;
	fake_nports = 0;
	addr_latch = 0;
}

struct fake_pci_fn *fake_pci_add(u8 bus, u8 dev, u8 fn, u16 vendor, u16 device, u32 class_rev, u8 header_type)
{
	if (fake_npci == FAKE_PCI_MAX)
		abort();
	struct fake_pci_fn *f = &fake_pci[fake_npci++];
	*f = (struct fake_pci_fn){ .bus = bus, .dev = dev, .fn = fn };
	f->cfg[0] = vendor | (u32)device << 16;
	f->cfg[2] = class_rev;
	f->cfg[3] = (u32)header_type << 16;
	return f;
}

void fake_pci_bar(struct fake_pci_fn *f, unsigned i, bool io, u32 base, u32 size)
{
	f->bar_size[i] = size;
	f->cfg[4 + i] = (base & ~(size - 1)) | (io ? 1 : 0);
}

u32 fake_pci_cfg32(const struct fake_pci_fn *f, u16 off) { return f->cfg[(off & 0xFF) / 4]; }

/* The function the address latch selects, or NULL (no enable bit, or no
 * such function: the bus answers all ones). */
static struct fake_pci_fn *selected(void)
{
	if (!(addr_latch & BIT(31)))
		return NULL;
	u8 bus = (addr_latch >> 16) & 0xFF, dev = (addr_latch >> 11) & 0x1F, fn = (addr_latch >> 8) & 7;
	for (unsigned i = 0; i < fake_npci; i++)
		if (fake_pci[i].bus == bus && fake_pci[i].dev == dev && fake_pci[i].fn == fn)
			return &fake_pci[i];
	return NULL;
}

static u32 cfg_read(u16 port, unsigned size)
{
	struct fake_pci_fn *f = selected();
	if (!f)
		return size == 4 ? ~0u : (1u << (size * 8)) - 1;
	u32 v = f->cfg[(addr_latch & 0xFC) / 4] >> ((port & 3) * 8);
	return size == 4 ? v : v & ((1u << (size * 8)) - 1);
}

static void cfg_write(u16 port, unsigned size, u32 v)
{
	struct fake_pci_fn *f = selected();
	if (!f)
		return;
	f->cfg_writes++;
	unsigned reg = (addr_latch & 0xFC) / 4, shift = (port & 3) * 8;
	u32 mask = (size == 4 ? ~0u : (1u << (size * 8)) - 1) << shift;
	u32 nv = (f->cfg[reg] & ~mask) | ((v << shift) & mask);
	bool bridge = ((f->cfg[3] >> 16) & 0x7F) == 1; /* a type 1 header has two BARs */
	if (reg >= 4 && reg < (bridge ? 6u : 10u)) { /* a BAR: only the address bits above its size stick */
		u32 size_bytes = f->bar_size[reg - 4];
		if (!size_bytes)
			return;
		u32 flags = f->cfg[reg] & 1 ? 1 : 0;
		nv = (nv & ~(size_bytes - 1) & ~(u32)(flags ? 3 : 0xF)) | flags;
	} else if (reg == 0 || reg == 2) {
		return; /* IDs and class are read-only */
	}
	f->cfg[reg] = nv;
}

static void other(u16 port, u8 size, bool out, u32 val)
{
	if (fake_nports == FAKE_PORT_LOG)
		abort();
	fake_ports[fake_nports++] = (struct fake_port_access){ port, size, out, val };
}

static u32 in(u16 port, u8 size)
{
	if (port == CFG_ADDR && size == 4)
		return addr_latch;
	if (port >= CFG_DATA && port < CFG_DATA + 4)
		return cfg_read(port, size);
	other(port, size, false, 0);
	return size == 4 ? ~0u : (1u << (size * 8)) - 1;
}

static void out(u16 port, u8 size, u32 v)
{
	if (port == CFG_ADDR && size == 4)
		addr_latch = v;
	else if (port >= CFG_DATA && port < CFG_DATA + 4)
		cfg_write(port, size, v);
	else
		other(port, size, true, v);
}

void outb(u16 port, u8 v) { out(port, 1, v); }
void outw(u16 port, u16 v) { out(port, 2, v); }
void outl(u16 port, u32 v) { out(port, 4, v); }
u8 inb(u16 port) { return (u8)in(port, 1); }
u16 inw(u16 port) { return (u16)in(port, 2); }
u32 inl(u16 port) { return in(port, 4); }
