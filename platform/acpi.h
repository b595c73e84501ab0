/* ACPI tables ferry reads (ACPI 6.x, section 5.2): the RSDP the loader
 * handed over, the RSDT/XSDT, and from them the MCFG (the PCIe ECAM
 * windows, PCI Firmware Spec 3.0 4.1.2) and the FADT (PM1a control block,
 * reset register).  Tables are read in place: ferry identity-maps physical
 * memory.  Every table is length- and checksum-checked before use. */
#ifndef FERRY_ACPI_H
#define FERRY_ACPI_H

#include "boot/boot_info.h"
#include "lib/types.h"

#define ACPI_MAX_ECAM 4
#define ACPI_ISA_IRQS 16

struct acpi_ecam {
	u64 base;          /* the window of bus start_bus */
	u16 segment;
	u8 start_bus, end_bus;
};

/* A generic address structure (ACPI 5.2.3.2) reduced to what ferry uses. */
struct acpi_gas {
	u8 space; /* ACPI_SPACE_* */
	u8 width; /* bits */
	u64 addr; /* 0: absent */
};
#define ACPI_SPACE_MEM 0
#define ACPI_SPACE_IO 1
#define ACPI_SPACE_PCI 2

struct acpi_info {
	bool present;
	u8 rsdp[36];             /* the loader's copy, else the one found in the BIOS area */
	u32 rsdp_len;            /* 20 (ACPI 1.0), 36, or 0: none */
	unsigned necam;
	struct acpi_ecam ecam[ACPI_MAX_ECAM];
	u16 pm1a_cnt, pm1b_cnt;  /* I/O ports of the PM1 control registers, 0 if none */
	u16 pm1a_evt;            /* PM1a event block */
	struct acpi_gas reset;   /* the reset register (FADT 2.0+, flag RESET_REG_SUP) */
	u8 reset_value;
	/* From the MADT: the first I/O APIC, and where each ISA IRQ arrives
	 * (identity unless an interrupt source override says otherwise). */
	u64 ioapic_base;         /* 0: no MADT I/O APIC (then 0xFEC00000 is assumed) */
	u32 ioapic_gsi_base;
	u32 isa_gsi[ACPI_ISA_IRQS];
	u16 isa_flags[ACPI_ISA_IRQS]; /* MPS INTI flags: polarity bits 1:0, trigger 3:2 */
};

extern struct acpi_info acpi;

/* Reads the tables from the loader's RSDP copy, or (BIOS machines, multiboot
 * 1) from the RSDP found in the EBDA or 0xE0000-0xFFFFF (ACPI 5.2.5.1).
 * Missing or broken ACPI is logged and leaves acpi.present false. */
void acpi_init(const struct boot_info *bi);

/* Pure parts, host-tested: a table at pa of at least min_len bytes whose
 * checksum is right, or NULL. */
const void *acpi_table_at(u64 pa, u32 min_len);
/* The first table with this signature the RSDP's root table lists. */
const void *acpi_find(const u8 *rsdp, u32 rsdp_len, const char sig[4]);

#endif
