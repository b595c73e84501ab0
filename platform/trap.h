#ifndef FERRY_X86_TRAP_H
#define FERRY_X86_TRAP_H

#include "lib/types.h"

/* Installs ferry's IDT (exception handlers that report and halt; an NMI
 * is the exception: see trap_take_nmi). */
void trap_init(void);

/* An NMI that arrived while ferry ran (not the guest) is kept, not fatal:
 * it is the guest's in every likely case (its performance counter, an
 * MSI it programmed, the NMI button), or a platform event the guest OS
 * reports as well as ferry could.  The back ends deliver it to the guest
 * at the next entry that can take one (trap_nmi_waiting, then
 * trap_nmi_forwarded); several arrivals before that fold into one, as the
 * CPU folds NMIs that wait. */
bool trap_nmi_waiting(void);
void trap_nmi_forwarded(void);
/* NMIs taken while ferry ran, since boot (for the statistics). */
u64 trap_nmi_count(void);

typedef void (*irq_handler_fn)(u8 vector);
/* Handler for an interrupt vector (32-255), run with interrupts off. */
void irq_set_handler(u8 vector, irq_handler_fn fn);

/* Takes any pending interrupts now: ferry otherwise runs with IF clear. */
#ifdef FERRY_HOST_TEST
void irq_poll(void); /* host unit tests have no interrupts: the test supplies it */
#else
static inline void irq_poll(void)
{
	__asm__ volatile("sti; nop; cli" ::: "memory");
}
#endif

#endif
