/* Reading the I/O APIC's redirection table (Intel 82093AA datasheet, 3.2):
 * the guest programs the I/O APIC itself (it is passed through); ferry
 * only looks up where the guest routed an ISA IRQ, to deliver the
 * interrupts of the devices it emulates the same way. */
#ifndef FERRY_IOAPIC_H
#define FERRY_IOAPIC_H

#include "lib/types.h"

#define IOAPIC_RTE_VECTOR 0xFFu
#define IOAPIC_RTE_DELIVERY (7u << 8)   /* 000 fixed, 001 lowest priority */
#define IOAPIC_RTE_LEVEL BIT(15)        /* trigger mode: level */
#define IOAPIC_RTE_MASKED BIT(16)

/* The low word of the redirection entry for gsi (0 and *rte, or -E_RANGE
 * for a GSI this I/O APIC does not have).  The guest's IOREGSEL is saved
 * and put back: an exit can come between its select and its access. */
int ioapic_read_rte(u32 gsi, u32 *rte);

#endif
