/* The guest's serial port: a 16550A at a legacy I/O address (COM1 is
 * ferry's own console, so the guest gets this model in its place).
 *
 * Output is collected per line and handed to the console whole as
 * LOG_GUEST, so the guest's lines never interleave with ferry's; a line
 * longer than CONSOLE_LINE_MAX goes on in pieces of that size and empty
 * lines are kept: nothing the guest writes is lost or merged.  Control
 * characters arrive as '?', and a guest line that starts like one of
 * ferry's ("ferry:") gets "guest| " before it: the guest can neither
 * forge ferry's lines nor send terminal escapes.  The
 * transmitter is always ready (ferry sends at once), and it raises the
 * transmitter-empty interrupt a real 16550 raises (IER bit 1, gated by
 * MCR OUT2) on the guest's ISA IRQ, so an interrupt-driven driver such
 * as Linux's 8250 tty path runs at full speed instead of being polled.
 * There is no input: the receiver never has data.  Register map:
 * docs/devices.md. */
#ifndef FERRY_UART16550_H
#define FERRY_UART16550_H

#include "platform/console.h"
#include "vm/vm.h"

struct uart16550 {
	struct vm *vm;
	u16 base;
	u8 irq;
	u8 ier, lcr, mcr, scratch, dll, dlm;
	bool fifo;          /* FCR bit 0: FIFOs enabled (IIR bits 7:6) */
	bool thre_pending;  /* the THR-empty interrupt is latched */
	bool irq_high;      /* the interrupt line's level after the last access */
	char line[CONSOLE_LINE_MAX];
	size_t len;
};

/* Claims the 8 ports at base for the guest's UART on ISA IRQ irq. */
int uart16550_attach(struct uart16550 *u, struct vm *vm, u16 base, u8 irq);
/* Hands a partial last line to the console (at the end of the run). */
void uart16550_flush(struct uart16550 *u);

#endif
