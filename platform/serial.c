/* The serial console sink on COM1.  Output only; ferry never reads it.
 * Each line goes out as it came, with a CR LF line end, so the log reads
 * the same on any terminal. */
#include "serial.h"
#include "x86/cpu.h"
#include "x86/io.h"

#define COM1 0x3F8
/* 16550 registers (offsets from the base port). */
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20

bool serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, 0xC7); /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x03);
	/* A missing UART reads 0xFF everywhere. */
	return inb(COM1 + UART_LSR) != 0xFF;
}

static void uart_putc(char c)
{
	/* Bounded wait: a wedged UART must not hang ferry. */
	for (unsigned i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, (u8)c);
}

static void serial_line(struct console_sink *sink, enum log_level level, const char *s, size_t n)
{
	(void)sink;
	(void)level; /* the text itself says whose line it is */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') /* inside a message: still a line end a terminal shows */
			uart_putc('\r');
		uart_putc(s[i]);
	}
	uart_putc('\r');
	uart_putc('\n');
}

struct console_sink serial_sink = { .line = serial_line };
