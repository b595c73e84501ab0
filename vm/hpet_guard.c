/* The HPET's writes, checked (vm/hpet_guard.h).  Registers: IA-PC HPET
 * 1.0a, 2.3: the capabilities at 00h (bits 12:8: the last timer), timer N
 * at 100h + 20h N: its configuration (FSB_EN_CNF, bit 14) and, at 110h,
 * its FSB route (value in 31:0, address in 63:32). */
#include "hpet_guard.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "x86/io.h"

#define HPET_CAP 0x000
#define HPET_CAP_TIMERS(c) ((((c) >> 8) & 0x1F) + 1)
#define HPET_TIMER0 0x100
#define HPET_TIMER_STRIDE 0x20
#define HPET_TIMERS_MAX 32
#define HPET_TN_FSB_EN BIT(14)

static volatile u8 *hpet;

u64 hpet_guard_filter(u64 off, unsigned size, u64 val, bool *refused)
{
	*refused = false;
	if (off < HPET_TIMER0 || off >= HPET_TIMER0 + HPET_TIMERS_MAX * HPET_TIMER_STRIDE)
		return val;
	/* Writes are aligned 32- or 64-bit: only one that starts at the
	 * configuration register holds its bit 14. */
	if ((off - HPET_TIMER0) % HPET_TIMER_STRIDE != 0)
		return val;
	(void)size;
	u64 bit = HPET_TN_FSB_EN;
	*refused = (val & bit) != 0;
	return val & ~bit;
}

static u64 guard_read(void *ctx, u64 off, unsigned size)
{
	(void)ctx;
	/* The page is readable: only an access the decoder could not map
	 * through comes here. */
	if (off + size > PAGE_SIZE)
		return ~0ULL;
	return size == 8 ? *(volatile u64 *)(hpet + off) : size == 4 ? mmio_rd32(hpet, (u32)off) : ~0ULL;
}

static void guard_write(void *ctx, u64 off, unsigned size, u64 val)
{
	(void)ctx;
	if ((size != 4 && size != 8) || (off & (size - 1)) || off + size > PAGE_SIZE)
		return; /* the HPET takes aligned 32- and 64-bit accesses */
	bool refused;
	val = hpet_guard_filter(off, size, val, &refused);
	if (refused)
		log_guest_warn("guest: HPET timer %lu FSB delivery refused (an FSB interrupt is a memory write, and "
			       "an MSI, the guest would aim): its interrupts go through the I/O APIC",
			       (off - HPET_TIMER0) / HPET_TIMER_STRIDE);
	if (size == 8)
		*(volatile u64 *)(hpet + off) = val;
	else
		mmio_wr32(hpet, (u32)off, (u32)val);
}

int hpet_guard_attach(struct vm *vm, hpa_t base)
{
	hpet = mmio_map(base, PAGE_SIZE);
	if (!hpet)
		return -E_NOMEM;
	u32 cap = mmio_rd32(hpet, HPET_CAP);
	if (cap && cap != ~0u)
		for (unsigned t = 0; t < HPET_CAP_TIMERS(cap); t++) {
			u32 off = HPET_TIMER0 + t * HPET_TIMER_STRIDE, conf = mmio_rd32(hpet, off);
			if (conf & HPET_TN_FSB_EN)
				mmio_wr32(hpet, off, conf & ~(u32)HPET_TN_FSB_EN);
		}
	int rc = nested_map(vm, base, base, PAGE_SIZE, NESTED_R | NESTED_UC);
	if (rc < 0)
		return rc;
	const struct mmio_region r = { "HPET", base, PAGE_SIZE, guard_read, guard_write, vm };
	return mmio_register(vm, &r);
}
