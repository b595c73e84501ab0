/* The I/O APIC's redirection table, read-only (platform/ioapic.h). */
#include "ioapic.h"
#include "acpi.h"
#include "mem.h"
#include "x86/io.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000
#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VER 0x01       /* bits 23:16: the highest redirection entry */
#define IOAPIC_RTE_LO(n) (0x10 + 2 * (n))

static volatile u8 *regs;

int ioapic_read_rte(u32 gsi, u32 *rte)
{
	if (!regs)
		regs = mmio_map(acpi.ioapic_base ? acpi.ioapic_base : IOAPIC_DEFAULT_BASE, PAGE_SIZE);
	if (!regs || gsi < acpi.ioapic_gsi_base)
		return -E_RANGE;
	u32 pin = gsi - acpi.ioapic_gsi_base;
	u32 sel = mmio_rd32(regs, IOREGSEL);
	mmio_wr32(regs, IOREGSEL, IOAPIC_VER);
	u32 max = (mmio_rd32(regs, IOWIN) >> 16) & 0xFF;
	int rc = -E_RANGE;
	if (pin <= max) {
		mmio_wr32(regs, IOREGSEL, IOAPIC_RTE_LO(pin));
		*rte = mmio_rd32(regs, IOWIN);
		rc = 0;
	}
	mmio_wr32(regs, IOREGSEL, sel);
	return rc;
}
