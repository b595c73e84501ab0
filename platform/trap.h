#ifndef FERRY_X86_TRAP_H
#define FERRY_X86_TRAP_H

#include "lib/types.h"

/* Installs ferry's IDT (exception handlers that report and halt). */
void trap_init(void);

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
