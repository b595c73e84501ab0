/* A fake clock (fake_clock.h). */
#include "fake_clock.h"
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
