/* What the host tests of ferry's disk drivers share (test_nvme.c,
 * test_vioblk.c) and the fake devices under them (fake_nvme.c,
 * fake_vioblk.c).
 *
 * The fake clock (platform/time.h's time_us and udelay): time moves only
 * when code looks at it, 10 us per look or the delay asked for, and each
 * look first lets the fake device act (fake_clock_tick), so a driver that
 * polls a register or a ring sees the device progress, and a timeout is
 * checked exactly in fake_now_us. */
#ifndef FERRY_FAKE_DEV_H
#define FERRY_FAKE_DEV_H

#include "lib/types.h"

extern u64 fake_now_us;
extern void (*fake_clock_tick)(void);

/* A device's BAR: size bytes of zeroed host memory at the fixed low
 * address pa, which a 32-bit BAR of the fake bus can name (mmio_map is
 * the identity on the host); aborts when the address is taken. */
void *fake_bar_map(uintptr_t pa, size_t size);

/* From now on every log line is kept; fake_logged tells whether one held s. */
void fake_log_capture(void);
bool fake_logged(const char *s);
unsigned fake_logged_times(const char *s); /* how many times s occurs in the log kept */

/* Zeroed, page-aligned buffers the tests pass as segments. */
u8 *fake_pages(unsigned n);

#endif
