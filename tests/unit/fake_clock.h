/* A fake clock for host tests of polling drivers (platform/time.h's
 * time_us and udelay): time moves only when code looks at it, 10 us per
 * look or the delay asked for, and each look first lets a fake device act
 * (fake_clock_tick), so a driver that polls a register or a ring sees the
 * device progress, and a timeout is checked exactly in fake_now_us. */
#ifndef FERRY_FAKE_CLOCK_H
#define FERRY_FAKE_CLOCK_H

#include "lib/types.h"

extern u64 fake_now_us;
extern void (*fake_clock_tick)(void);

#endif
