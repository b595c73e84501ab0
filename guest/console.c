/* The guest's console: COM1, polled. */
#include "kernel.h"
#include "lib/fmt.h"
#include "x86/io.h"

#define COM1 0x3F8

static void putc_serial(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (u8)c);
}

void con_line(const char *s)
{
	while (*s)
		putc_serial(*s++);
	putc_serial('\n');
}

void con_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	con_line(buf);
}
