/* Interrupts of the devices ferry emulates, delivered to the guest.
 *
 * The guest owns the real interrupt controllers (local APIC, I/O APIC) in
 * the local and client roles.  An emulated device's interrupt is sent to
 * the real local APIC as a self-IPI with the vector the guest chose, so it
 * arrives exactly like a device interrupt: the guest's IRR, ISR, TPR and
 * EOI work unchanged and ferry keeps no interrupt state of its own.  An
 * ISA IRQ's vector is the one the guest wrote into the I/O APIC's entry for
 * it; MSI-X messages carry theirs. */
#ifndef FERRY_VIRQ_H
#define FERRY_VIRQ_H

#include "lib/types.h"

/* An edge on ISA IRQ irq (0-15): delivered when the guest's I/O APIC entry
 * for it is unmasked with fixed or lowest-priority delivery; otherwise
 * dropped, as a masked edge is.  0, -E_NOENT when dropped. */
int virq_raise_isa(unsigned irq);

#endif
