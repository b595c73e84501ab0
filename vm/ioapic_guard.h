/* The guest's I/O APIC, guarded (every role: the guest programs the I/O
 * APIC itself, for its own devices' interrupts).
 *
 * A redirection entry's delivery mode could make a device interrupt an
 * INIT (which resets the CPU the guest runs on: a reset behind ferry's
 * back), an SMI or an NMI (to a CPU ferry parks).  So the I/O APIC page
 * is mapped read-only: reads (IOREGSEL, IOWIN, the version) reach the
 * real I/O APIC with no exit; every write exits and is checked here:
 *  - a write to the low dword of a redirection entry whose delivery mode
 *    is not fixed, lowest priority or ExtINT is dropped, with a warning
 *    (on a server every unmasked one: see ioapic_guard_check);
 *  - every other write (IOREGSEL, the destination dword, the ID, the EOI
 *    register) reaches the I/O APIC as the guest wrote it.
 * ferry's own reads (platform/ioapic.c) put IOREGSEL back, so an exit
 * between the guest's select and its access changes nothing it sees.
 * What this cannot stop: MSIs of devices the guest drives, and DMA by
 * them to the interrupt range, carry a delivery mode too; only an IOMMU's
 * interrupt remapping can check those (docs/threat-model.md). */
#ifndef FERRY_IOAPIC_GUARD_H
#define FERRY_IOAPIC_GUARD_H

#include "vm.h"

/* Maps the I/O APIC page at base read-only for the guest and takes its
 * writes. */
int ioapic_guard_attach(struct vm *vm, hpa_t base);

/* The check on one IOWIN write (pure, host-tested): false to drop a
 * value val written to the register sel selects.  ferry_irqs (the
 * server role, where ferry's IDT takes every interrupt of this CPU): an
 * entry may not be unmasked at all: the guest takes no interrupts there,
 * and any vector would reach ferry's IDT, where those below 32 are its
 * exception stubs (a tick taken for a machine check), 0xFF its spurious
 * vector (never acknowledged) and ExtINT's the 8259's, which the guest
 * programs. */
bool ioapic_guard_check(u32 sel, u32 val, bool ferry_irqs);
/* Masks every entry left unmasked (the firmware's virtual wire, a legacy
 * vector): for the server role, before its guest runs.  How many. */
unsigned ioapic_guard_mask_all(void);

#endif
