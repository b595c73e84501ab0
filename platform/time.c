/* Time from the TSC, calibrated at boot against PIT channel 2 (which needs
 * no interrupt: the gate and OUT2 are visible in port 0x61). */
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

/* TSC ticks in 10 ms of PIT channel 2, or 0 when OUT2 never rose. */
static u64 pit_10ms(void)
{
	const u32 ticks = PIT_HZ / 100;
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
	return spins >= 100000000ULL || t1 <= t0 ? 0 : t1 - t0;
}

/* The median of five measurements: one taken while the CPU was away (an
 * emulator's thread descheduled on a busy host, an SMI) is off by as long
 * as it was away, and once made ferry's 10 s timeouts last 16 s. */
#define CALIBRATIONS 5
void time_init(void)
{
	u64 m[CALIBRATIONS];
	unsigned n = 0;
	for (unsigned i = 0; i < CALIBRATIONS; i++) {
		u64 t = pit_10ms();
		if (t)
			m[n++] = t;
	}
	for (unsigned i = 1; i < n; i++) /* insertion sort: five at most */
		for (unsigned j = i; j > 0 && m[j - 1] > m[j]; j--) {
			u64 x = m[j];
			m[j] = m[j - 1];
			m[j - 1] = x;
		}
	if (n == 0)
		log_warn("PIT calibration failed; assuming a 1 GHz TSC");
	else
		tsc_per_us = MAX(m[n / 2] / 10000, 1);
	tsc_start = rdtsc();
	if (n && m[n - 1] - m[0] > m[n / 2] / 10)
		log_info("TSC: %lu MHz (the median of %u calibrations from %lu to %lu MHz)", tsc_per_us, n,
			 m[0] / 10000, m[n - 1] / 10000);
	else
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
