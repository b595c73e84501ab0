/* A fake port bus for host tests of code that does port I/O (x86/io.h's
 * accessors under FERRY_HOST_TEST): PCI configuration mechanism #1 at
 * 0xCF8/0xCFC over a few fake functions, and a record of every access to
 * any other port, which reads as an empty bus (all ones). */
#ifndef FERRY_FAKE_BUS_H
#define FERRY_FAKE_BUS_H

#include "lib/types.h"

#define FAKE_PCI_MAX 8
#define FAKE_PORT_LOG 64

struct fake_pci_fn {
	u8 bus, dev, fn;
	u32 cfg[64];         /* configuration space, 256 bytes */
	u32 bar_size[6];     /* 0: BAR not implemented (reads 0, ignores writes) */
	unsigned cfg_writes; /* writes that reached this function */
};

struct fake_port_access {
	u16 port;
	u8 size;
	bool out;
	u32 val;
};

extern struct fake_pci_fn fake_pci[FAKE_PCI_MAX];
extern unsigned fake_npci;
/* Accesses to ports other than 0xCF8 and 0xCFC-0xCFF, in order. */
extern struct fake_port_access fake_ports[FAKE_PORT_LOG];
extern unsigned fake_nports;

/* An empty bus: no functions, nothing recorded. */
void fake_bus_reset(void);
/* Adds a function: header_type 0, or 1 for a PCI-to-PCI bridge (two BARs,
 * then the bus numbers and windows as plain registers); bit 7 is
 * multi-function. */
struct fake_pci_fn *fake_pci_add(u8 bus, u8 dev, u8 fn, u16 vendor, u16 device, u32 class_rev, u8 header_type);
/* BAR i: an I/O BAR at port base, or a 32-bit memory BAR at base; size a
 * power of two. */
void fake_pci_bar(struct fake_pci_fn *f, unsigned i, bool io, u32 base, u32 size);
/* A configuration register as the function holds it (byte offset off). */
u32 fake_pci_cfg32(const struct fake_pci_fn *f, u16 off);

#endif
