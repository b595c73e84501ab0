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
/* This CPU's APIC ID (xAPIC), and the end of the interrupt being handled:
 * for ferry's own vectors (lapic_init first). */
u8 lapic_id(void);
void lapic_eoi(void);
/* ferry's device interrupts (platform/pci_msi.h): the NIC's receive. */
#define LAPIC_NIC_VECTOR 0xE0

/* Interrupts for the guest, raised on the real local APIC the guest owns
 * (local and client roles), so its IRR, ISR and EOI stay its own. */

/* An MSI message as a device model holds it (PCI 3.0, 6.8.3; SDM Vol. 3A,
 * 10.11): address 0xFEE0_0000 | destination << 12 | DM << 2, data =
 * vector | delivery mode << 8 | trigger << 15. */
struct lapic_msi {
	u8 vector;
	u8 dest;      /* APIC ID (physical) or logical destination */
	bool logical; /* destination mode */
};
#define LAPIC_MSI_ADDR_BASE 0xFEE00000u

/* 0 and *m for a fixed, edge-triggered message with a vector of 16 or
 * more; -E_INVAL for anything that is not an interrupt message, -E_NOTSUP
 * for another delivery mode (lowest priority, SMI, NMI, INIT, ExtINT) or
 * a level-triggered one. */
static inline int lapic_msi_decode(u64 addr, u32 data, struct lapic_msi *m)
{
	if ((addr >> 20) != (LAPIC_MSI_ADDR_BASE >> 20) || (data & 0xFF) < 16)
		return -E_INVAL;
	if (((data >> 8) & 7) != 0 || (data & BIT(15)))
		return -E_NOTSUP;
	*m = (struct lapic_msi){ .vector = (u8)data, .dest = (u8)(addr >> 12), .logical = (addr >> 2) & 1 };
	return 0;
}

/* Raises vector on this CPU as a fixed, edge-triggered interrupt: an
 * xAPIC self-IPI (ICR destination shorthand "self").  -E_NOTSUP in x2APIC
 * mode, -E_TIMEDOUT when an earlier IPI never left the ICR. */
int lapic_send_self_ipi(u8 vector);
/* Delivers an MSI message that names this CPU (the guest's only one) by a
 * self-IPI; refuses every other message (see lapic_msi_decode) with its
 * error, -E_RANGE for another destination. */
int lapic_deliver_msi(u64 addr, u32 data);
/* Does the local APIC hold an interrupt the CPU would take now were its
 * IF set: a vector in the IRR of a higher priority class than the PPR
 * (SDM Vol. 3A, 10.8.3.1)?  False in x2APIC mode, which the guest is
 * never given. */
bool lapic_irq_deliverable(void);

#endif
