/* Time from the TSC, calibrated against the PIT at boot. */
#ifndef FERRY_TIME_H
#define FERRY_TIME_H

#include "lib/types.h"

void time_init(void);
u64 time_us(void);         /* microseconds since time_init() */
void udelay(u64 us);       /* busy-waits at least us microseconds */
u64 time_tsc_khz(void);    /* the calibrated TSC frequency */

#endif
