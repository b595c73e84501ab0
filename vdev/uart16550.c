/* The guest's 16550A (vdev/uart16550.h).  Registers: PC16550D datasheet
 * (National Semiconductor), table II. */
#include "uart16550.h"
#include "lib/string.h"
#include "vm/virq.h"

#define UART_RBR_THR 0  /* DLAB: divisor latch low */
#define UART_IER 1      /* DLAB: divisor latch high */
#define UART_IIR_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_THRI BIT(1)      /* transmitter holding register empty */
#define IER_MASK 0x0F
#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_FIFOS 0xC0       /* FIFOs enabled (a 16550A) */
#define FCR_FIFO_ENABLE BIT(0)
#define LCR_DLAB BIT(7)
#define MCR_OUT2 BIT(3)      /* on a PC, connects the interrupt to the IRQ line */
#define MCR_LOOP BIT(4)
#define MCR_MASK 0x1F
#define LSR_THRE BIT(5)
#define LSR_TEMT BIT(6)
#define MSR_IDLE 0xB0        /* DCD, DSR, CTS: a terminal is attached */

/* ferry's own lines start with this: a guest line that does gets
 * GUEST_MARK before it, so no guest can print a line that reads as
 * ferry's. */
#define FERRY_PREFIX "ferry:"
#define GUEST_MARK "guest| "

static void emit(struct uart16550 *u)
{
	size_t p = sizeof(FERRY_PREFIX) - 1;
	if (u->len >= p && !memcmp(u->line, FERRY_PREFIX, p)) {
		char marked[sizeof(GUEST_MARK) - 1 + CONSOLE_LINE_MAX];
		memcpy(marked, GUEST_MARK, sizeof(GUEST_MARK) - 1);
		memcpy(marked + sizeof(GUEST_MARK) - 1, u->line, u->len);
		console_line(LOG_GUEST, marked, sizeof(GUEST_MARK) - 1 + u->len);
	} else {
		console_line(LOG_GUEST, u->line, u->len);
	}
	u->len = 0;
}

void uart16550_flush(struct uart16550 *u)
{
	if (u->len)
		emit(u);
}

static void transmit(struct uart16550 *u, u8 c)
{
	if (c == '\n') {
		emit(u);
	} else if (c != '\r') {
		/* Control characters (terminal escapes among them) reach
		 * ferry's console as '?': the guest cannot move the cursor or
		 * rewrite ferry's lines on the terminal.  Tabs pass. */
		u->line[u->len++] = (c < 0x20 && c != '\t') || c == 0x7F ? '?' : (char)c;
		if (u->len == sizeof(u->line))
			emit(u);
	}
}

/* In loopback the modem outputs come back as inputs: DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD (Linux's probe checks this). */
static u8 modem_status(const struct uart16550 *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_IDLE;
	u8 m = u->mcr;
	return (u8)(((m & 1) << 5) | ((m & 2) << 3) | ((m & 4) << 4) | ((m & 8) << 4));
}

/* The interrupt line after an access; an edge goes to the guest's APIC. */
static void update_irq(struct uart16550 *u)
{
	bool high = (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP) && (u->ier & IER_THRI) && u->thre_pending;
	if (high && !u->irq_high)
		virq_raise_isa(u->irq);
	u->irq_high = high;
}

static u32 uart_read(void *ctx, u16 off, unsigned size)
{
	struct uart16550 *u = ctx;
	bool dlab = u->lcr & LCR_DLAB;
	u8 v = 0;
	switch (off) {
	case UART_RBR_THR: v = dlab ? u->dll : 0; break; /* no input */
	case UART_IER: v = dlab ? u->dlm : u->ier; break;
	case UART_IIR_FCR:
		v = u->fifo ? IIR_FIFOS : 0;
		if ((u->ier & IER_THRI) && u->thre_pending) {
			v |= IIR_THRI;
			u->thre_pending = false; /* reading IIR clears THRE as its source */
		} else {
			v |= IIR_NO_INT;
		}
		break;
	case UART_LCR: v = u->lcr; break;
	case UART_MCR: v = u->mcr; break;
	case UART_LSR: v = LSR_THRE | LSR_TEMT; break;
	case UART_MSR: v = modem_status(u); break;
	case UART_SCR: v = u->scratch; break;
	}
	update_irq(u);
	(void)size; /* every register is a byte; a wider IN gets it zero-extended */
	return v;
}

static void uart_write(void *ctx, u16 off, unsigned size, u32 val)
{
	struct uart16550 *u = ctx;
	u8 v = (u8)val;
	bool dlab = u->lcr & LCR_DLAB;
	(void)size;
	switch (off) {
	case UART_RBR_THR:
		if (dlab) {
			u->dll = v;
		} else {
			if (!(u->mcr & MCR_LOOP))
				transmit(u, v);
			u->thre_pending = true; /* sent at once: the THR is empty again */
		}
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = v;
		} else {
			/* Enabling the THRE interrupt with the THR empty raises it. */
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thre_pending = true;
			u->ier = v & IER_MASK;
		}
		break;
	case UART_IIR_FCR: u->fifo = v & FCR_FIFO_ENABLE; break;
	case UART_LCR: u->lcr = v; break;
	case UART_MCR: u->mcr = v & MCR_MASK; break;
	case UART_SCR: u->scratch = v; break;
	default: break; /* LSR, MSR: read-only */
	}
	update_irq(u);
}

int uart16550_attach(struct uart16550 *u, struct vm *vm, u16 base, u8 irq)
{
	*u = (struct uart16550){ .vm = vm, .base = base, .irq = irq };
	const struct pio_region r = { "16550 UART", base, 8, uart_read, uart_write, u };
	return pio_register(vm, &r);
}
