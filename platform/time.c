/* Time from the TSC, calibrated once against PIT channel 2 (which needs no
 * interrupt: the gate and OUT2 are visible in port 0x61). */
#include "time.h"
#include "console.h"
#include "x86/cpu.h"
#include "x86/io.h"

#define PIT_HZ 1193182
#define PIT_CH2 0x42
#define PIT_CMD 0x43
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPKR 0x02
#define PORT_B_OUT2 0x20

static u64 tsc_per_us = 1000; /* used until calibrated: assume 1 GHz */
static u64 tsc_start;

void time_init(void)
{
	const u32 ticks = PIT_HZ / 100; /* 10 ms */
	u8 b = inb(PORT_B);
	outb(PORT_B, (b & (u8)~PORT_B_SPKR) | PORT_B_GATE2);
	outb(PIT_CMD, 0xB0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, ticks & 0xFF);
	outb(PIT_CH2, ticks >> 8);
	/* Restart the count by toggling the gate. */
	b = inb(PORT_B);
	outb(PORT_B, b & (u8)~PORT_B_GATE2);
	outb(PORT_B, b | PORT_B_GATE2);
	u64 t0 = rdtsc();
	u64 spins = 0;
	while (!(inb(PORT_B) & PORT_B_OUT2) && ++spins < 100000000ULL)
		;
	u64 t1 = rdtsc();
	if (spins >= 100000000ULL || t1 <= t0)
		log_warn("PIT calibration failed; assuming a 1 GHz TSC");
	else
		tsc_per_us = MAX((t1 - t0) / 10000, 1);
	tsc_start = rdtsc();
	log_info("TSC: %lu MHz", tsc_per_us);
}

u64 time_us(void) { return (rdtsc() - tsc_start) / tsc_per_us; }

void udelay(u64 us)
{
	u64 end = rdtsc() + us * tsc_per_us;
	while (rdtsc() < end)
		cpu_relax();
}
u64 time_tsc_khz(void) { return tsc_per_us * 1000; }
