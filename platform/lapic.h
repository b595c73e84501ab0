/* The local APIC, for ferry's own periodic timer (the server role serves
 * the network while its guest runs).  Registers: Intel SDM Vol. 3A,
 * chapter 10 (xAPIC, memory-mapped). */
#ifndef FERRY_X86_LAPIC_H
#define FERRY_X86_LAPIC_H

#include "lib/types.h"

#define LAPIC_TIMER_VECTOR 0xF0
#define LAPIC_SPURIOUS_VECTOR 0xFF

/* Maps and enables the local APIC, masks the legacy 8259 PICs.  0 or
 * -E_NOTSUP without an APIC. */
int lapic_init(void);
/* Starts a periodic timer at hz on LAPIC_TIMER_VECTOR calling fn. */
int lapic_timer_start(u32 hz, void (*fn)(void));
hpa_t lapic_base(void);
/* Raises vector on this CPU as a fixed, edge interrupt (the ICR's "self"
 * shorthand): how ferry delivers its devices' interrupts to the guest, so
 * that the guest's own IRR, ISR and EOI stay consistent.  -E_INVAL for a
 * vector below 16, -E_TIMEDOUT when the APIC does not take it. */
int lapic_self_ipi(u8 vector);

#endif
