/* Serial console on COM1.  Output only; ferry never reads the console. */
#include "console.h"
#include "screen.h"
#include "lib/fmt.h"
#include "lib/string.h"
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

enum log_level log_threshold = LOG_INFO;
static bool uart_present;

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_8N1);
	outb(COM1 + UART_FCR, 0xC7); /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x03);
	/* A missing UART reads 0xFF everywhere. */
	uart_present = inb(COM1 + UART_LSR) != 0xFF;
}

static void uart_putc(char c)
{
	if (!uart_present)
		return;
	/* Bounded wait: a wedged UART must not hang ferry. */
	for (unsigned i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & UART_LSR_THRE); i++)
		cpu_relax();
	outb(COM1 + UART_THR, (u8)c);
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
	screen_write(s, n);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[512];
	size_t p = str_copy(line, prefix, sizeof(line)); /* prefixes are short */
	int n = fmt_vsnprintf(line + p, sizeof(line) - p - 1, fmt, ap);
	size_t len = p + ((size_t)n < sizeof(line) - p - 1 ? (size_t)n : sizeof(line) - p - 2);
	line[len++] = '\n';
	console_write(line, len);
}

void log_printf(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix[] = {
		"ferry: error: ", "ferry: warning: ", "ferry: ", "ferry: debug: ",
	};
	if (lvl > log_threshold)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(prefix[lvl], fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("ferry: PANIC: ", fmt, ap);
	va_end(ap);
	console_write("ferry: halted\n", 14);
	cpu_halt_forever();
	__builtin_unreachable();
}
