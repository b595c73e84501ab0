/* Host stand-ins for the few ferry core services that pure-logic modules
 * call (logging and the console, page allocation).  The log and the
 * console are recorded (fake_hv.h); page allocations come from the heap, so
 * ASan watches them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_hv.h"
#include "platform/mem.h"

enum log_level log_threshold = LOG_WARN;
int fake_log_count;
int fake_log_by_level[LOG_DEBUG + 1];
char fake_log_last[512];
void (*fake_log_hook)(const char *line);
char fake_console[16384];
size_t fake_console_len;
int fake_console_writes;
enum log_level fake_console_last_level;

void fake_hv_reset(void)
{
	fake_log_count = 0;
	memset(fake_log_by_level, 0, sizeof(fake_log_by_level));
	fake_log_last[0] = 0;
	fake_console_len = 0;
	fake_console_writes = 0;
}

void log_printf(enum log_level lvl, const char *fmt, ...)
{
	fake_log_count++;
	if ((unsigned)lvl <= LOG_DEBUG)
		fake_log_by_level[lvl]++;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fake_log_last, sizeof(fake_log_last), fmt, ap);
	va_end(ap);
	if (fake_log_hook) {
		fake_log_hook(fake_log_last);
		return;
	}
	if (lvl <= log_threshold)
		printf("  [log] %s\n", fake_log_last);
}

/* Each line is recorded with a newline after it, as a sink would end it. */
void console_line(enum log_level level, const char *s, size_t n)
{
	fake_console_writes++;
	fake_console_last_level = level;
	if (n > sizeof(fake_console) - 1 - fake_console_len)
		n = sizeof(fake_console) - 1 - fake_console_len;
	memcpy(fake_console + fake_console_len, s, n);
	fake_console_len += n;
	fake_console[fake_console_len++] = '\n';
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("PANIC: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	abort();
}

/* Pages page_alloc may still hand out, for tests of an exhausted pool;
 * negative: no limit. */
long fake_page_budget = -1;

void *page_alloc(size_t npages)
{
	if (fake_page_budget >= 0) {
		if ((size_t)fake_page_budget < npages)
			return NULL;
		fake_page_budget -= (long)npages;
	}
	void *p = aligned_alloc(4096, npages * 4096);
	if (p)
		memset(p, 0, npages * 4096);
	return p;
}

void page_free(void *p, size_t npages)
{
	(void)npages;
	free(p);
}

/* Host memory is already mapped: device mappings are the identity. */
void *mmio_map(hpa_t pa, u64 size)
{
	(void)size;
	return (void *)(uintptr_t)pa;
}

void *mmio_map_framebuffer(hpa_t pa, u64 size)
{
	return mmio_map(pa, size);
}

/* The local APIC's ID (platform/pci_msi.c aims messages at it): 0 unless
 * a test says otherwise. */
__attribute__((weak)) u8 lapic_id(void) { return 0; }
