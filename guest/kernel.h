/* The guest kernel's small services. */
#ifndef GUEST_KERNEL_H
#define GUEST_KERNEL_H

#include "lib/guest_abi.h"

/* One line on the console (COM1), '\n' appended. */
void con_line(const char *s);
void con_printf(const char *fmt, ...) __printf(1, 2);

/* Maps [pa, pa+len) uncached at the same virtual address. */
int paging_map_device(u64 pa, u64 len);
void paging_init(const struct ferry_boot_info *bi);

/* True when [pa, pa+len) is guest RAM according to the boot info. */
bool ram_contains(u64 pa, u64 len);

__noreturn void power_off(int status);
void trap_init(void);
/* Interrupts for device tests: vectors 0x26 and 0x27 only; each one taken
 * is counted in guest_irq_count[] and acknowledged at the local APIC. */
#define GUEST_LAPIC_BASE 0xFEE00000u
int guest_irq_install(u8 vector);
extern u32 guest_irq_count[256];
/* Runs fn(arg); an exception inside returns -(1000 + vector) instead. */
int guest_try(int (*fn)(void *), void *arg);
extern u64 guest_trap_rip; /* where the last exception guest_try caught struck */
extern u32 guest_trap_exits; /* ferry's exit count as its handler began */
const struct ferry_boot_info *boot_info(void);

static inline void cpuid4(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#endif
