/* PCI configuration space (mechanism #1, ports 0xCF8/0xCFC) and the list of
 * functions found at boot.  A function ferry takes for itself is "owned":
 * the guest's view of its configuration space reads as absent, its memory
 * BARs are left out of the nested page tables and its I/O BARs, plus any
 * legacy port ranges its driver owns (pci_own_io), stay intercepted (see
 * vm/guest_io.c). */
#ifndef FERRY_PCI_H
#define FERRY_PCI_H

#include "lib/types.h"

#define PCI_MAX_DEVS 64
#define PCI_MAX_OWN_IO 4 /* legacy I/O ranges per function (pci_own_io) */

/* Configuration-space offsets (PCI Local Bus Spec 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_COMMAND_IO BIT(0)
#define PCI_COMMAND_MEM BIT(1)
#define PCI_COMMAND_MASTER BIT(2)
#define PCI_COMMAND_INTX_DISABLE BIT(10)
#define PCI_STATUS 0x06
#define PCI_STATUS_CAP_LIST BIT(4) /* the capability list at 0x34 is valid */
#define PCI_CLASS_REV 0x08 /* rev[7:0] progif[15:8] subclass[23:16] class[31:24] */
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C /* 6.2.4 */
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_CAP_PTR 0x34
#define PCI_INTR_LINE 0x3C
#define PCI_INTR_PIN 0x3D  /* 0: no INTx pin */
#define PCI_CAP_ID_VNDR 0x09 /* vendor-specific capability */
/* Type 1 (PCI-to-PCI bridge) header, PCI-to-PCI Bridge Spec 1.2, 3.2. */
#define PCI_PRIMARY_BUS 0x18      /* primary, secondary, subordinate, latency */
#define PCI_IO_BASE 0x1C          /* I/O base and limit; 0x30: upper 16 bits */
#define PCI_MEMORY_BASE 0x20      /* memory, then prefetchable windows to 0x2F */
#define PCI_IO_BASE_UPPER 0x30
#define PCI_BRIDGE_CONTROL 0x3E
#define PCI_BRIDGE_CTL_BUS_RESET BIT(6) /* secondary bus reset */
#define PCI_INTEL_PCIEXBAR 0x60   /* Intel host bridges: the ECAM window's base */

struct pci_bar {
	u64 base;   /* bus address (== host-physical on x86) or I/O port */
	u64 size;   /* 0: BAR not implemented */
	bool is_io;
	bool is_64; /* occupies this slot and the next */
};

/* Ports a function decodes outside its BARs (an IDE channel in
 * compatibility mode: 1F0h-1F7h and 3F6h). */
struct pci_io_range {
	u16 base;
	u16 len;
};

struct pci_dev {
	u8 bus, dev, fn;
	u16 vendor, device;
	u8 class_code, subclass, progif, revision;
	u8 header_type;
	u8 sec_bus, sub_bus; /* bridges (header type 1): the buses behind it at boot */
	struct pci_bar bar[6];
	const char *owner; /* NULL: visible to the guest; else ferry's driver name */
	u16 saved_command; /* the command register before pci_claim */
	struct pci_io_range own_io[PCI_MAX_OWN_IO]; /* see pci_own_io */
	unsigned n_own_io;
	bool quarantined; /* see pci_quarantine: for good, pci_release refuses */
};

void pci_init(void); /* enumerates every bus and logs what it finds */
u32 pci_read32(const struct pci_dev *d, u16 off);
u16 pci_read16(const struct pci_dev *d, u16 off);
u8 pci_read8(const struct pci_dev *d, u16 off);
void pci_write32(const struct pci_dev *d, u16 off, u32 v);
void pci_write16(const struct pci_dev *d, u16 off, u16 v);

/* Raw access by bus/device/function (used by the guest's config emulation). */
u32 pci_cfg_read32(u8 bus, u8 dev, u8 fn, u16 off);
void pci_cfg_write32(u8 bus, u8 dev, u8 fn, u16 off, u32 v);
/* The same for a naturally aligned access of 1, 2 or 4 bytes anywhere in
 * the 4 KiB configuration space: CF8/CFC below 0x100, the ECAM window of
 * the bus from 0x100 (all ones, writes dropped, without one). */
u32 pci_cfg_read(u8 bus, u8 dev, u8 fn, u16 off, unsigned size);
void pci_cfg_write(u8 bus, u8 dev, u8 fn, u16 off, unsigned size, u32 v);
/* A PCIe ECAM window (segment 0) for extended configuration space: the
 * configuration space of bus start_bus is at base + (start_bus << 20).
 * -E_NOSPC past PCI_MAX_ECAM windows. */
#define PCI_MAX_ECAM 4
int pci_ecam_add(u64 base, u8 start_bus, u8 end_bus);

/* Iterates the functions found: returns the idx-th or NULL. */
struct pci_dev *pci_get(unsigned idx);
/* The idx-th function (counting from 0) matching class/subclass/progif;
 * progif < 0 matches any. */
struct pci_dev *pci_find_class(u8 class_code, u8 subclass, int progif, unsigned idx);
struct pci_dev *pci_find_bdf(u8 bus, u8 dev, u8 fn);

/* Claims and the guest.  Whether a function is owned is read when the
 * guest's VM is built: vm_create leaves owned BARs out of the nested page
 * tables and guest_io_init intercepts owned ports, once.  So every claim,
 * release and pci_own_io happens before that, and pci_seal() marks the
 * point: a later call panics rather than leave the guest a view that no
 * longer matches who drives the device.
 *
 * A driver whose probe fails after pci_claim ends in one of two ways (its
 * abandon function says which, and why):
 *  - pci_release: ferry knows the function is quiet (nothing ferry started
 *    still runs, no DMA can reach ferry's memory), so the guest may have
 *    it as the firmware left it;
 *  - pci_quarantine: the function may still be moving data (an engine that
 *    would not stop, a reset that never completed), so it stays hidden for
 *    good, where the guest can neither be hit by it nor drive it, with bus
 *    mastering off. */

/* Takes the function for ferry: hides it from the guest, enables memory /
 * I/O decoding and bus mastering. */
void pci_claim(struct pci_dev *d, const char *owner);
/* Gives a claimed function back to the guest: its command register as it
 * was before pci_claim; its owned I/O ranges go with it.  Refused, with a
 * log line, for a function quarantined before. */
void pci_release(struct pci_dev *d);
/* Keeps a claimed function ferry gave up on hidden from the guest for good
 * and clears its Bus Master Enable (PCI 3.0, 6.2.2), so it stops reaching
 * memory at all; why is logged.  Pool pages the function was given stay
 * allocated all the same: a device that ignored an engine stop earns no
 * trust that it honours the command register.  A second call does nothing. */
void pci_quarantine(struct pci_dev *d, const char *why);
/* The guest's view is being built from the owners: no more claims,
 * releases or owned ranges. */
void pci_seal(void);

/* The bits of the configuration dword at off4 (4-aligned) of a function
 * the guest may not change, whatever it writes: ferry knows its devices by
 * the bus numbers it found, so no bridge may renumber its buses; a bridge
 * above a device ferry owns keeps its windows, its I/O, memory and
 * bus-master enables and its secondary bus out of reset; an Intel host
 * bridge keeps its ECAM base (PCIEXBAR).  0 for most registers. */
u32 pci_guest_locked_bits(u8 bus, u8 dev, u8 fn, u16 off4);
/* Adds [base, base + len) to the ports ferry owns with the claimed function
 * d: the guest reads all ones there and its writes are dropped, exactly as
 * for an owned I/O BAR.  Call it before the guest's VM is built
 * (guest_io_init reads the ranges once).  -E_INVAL when d is not claimed or
 * the range wraps, -E_NOSPC when d's PCI_MAX_OWN_IO slots are used up. */
int pci_own_io(struct pci_dev *d, u16 base, u16 len);

#endif
