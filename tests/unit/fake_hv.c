/* Host stand-ins for the few ferry core services that pure-logic modules
 * call (logging, page allocation).  Page allocations come from the heap, so
 * ASan watches them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "platform/console.h"
#include "platform/mem.h"

enum log_level log_threshold = LOG_WARN;
int fake_log_count;

void log_printf(enum log_level lvl, const char *fmt, ...)
{
	fake_log_count++;
	if (lvl > log_threshold)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("  [log] ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
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
