/* What the disk drivers' host tests share (fake_dev.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "fake_dev.h"
#include "fake_hv.h"
#include "drivers/drivers.h"
#include "platform/time.h"

u64 fake_now_us;
void (*fake_clock_tick)(void);

u64 time_us(void)
{
	fake_now_us += 10;
	if (fake_clock_tick)
		fake_clock_tick();
	return fake_now_us;
}

void udelay(u64 us)
{
	fake_now_us += us;
	if (fake_clock_tick)
		fake_clock_tick();
}

void *fake_bar_map(uintptr_t pa, size_t size)
{
	void *p = mmap((void *)pa, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)pa)
		abort();
	return p;
}

static char logbuf[16384];

static void keep_line(const char *line)
{
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

void fake_log_capture(void)
{
	logbuf[0] = 0;
	fake_log_hook = keep_line;
}

bool fake_logged(const char *s) { return strstr(logbuf, s) != NULL; }

unsigned fake_logged_times(const char *s)
{
	unsigned n = 0;
	for (const char *p = logbuf; (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	return n;
}

u8 *fake_pages(unsigned n)
{
	u8 *p = aligned_alloc(4096, (size_t)n * 4096);
	memset(p, 0, (size_t)n * 4096);
	return p;
}

/* blk_take as drivers/drivers.c has it, without the driver table (which
 * would link every driver). */
bool blk_take(const char *want, const char *name)
{
	return !want || !strcmp(want, name);
}

/* The drivers never give back the pages of a device they serve (ferry
 * has no driver unload), and each test probes afresh. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:nvme_probe\nleak:vioblk_probe\n"; }
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }
