/* The guest's local APIC writes, checked (vm/apic_guard.h).  Registers and
 * fields: Intel SDM Vol. 3A, 10.4.1 (table 10-1), 10.5.1 (LVT), 10.6.1
 * (ICR). */
#include "apic_guard.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "x86/io.h"

#define APIC_ID 0x020
#define APIC_LDR 0x0D0
#define APIC_DFR 0x0E0
#define APIC_LVT_CMCI 0x2F0
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370

#define DM_SHIFT 8
#define DM_MASK (7u << DM_SHIFT)
#define DM_FIXED 0u
#define DM_LOWEST 1u
#define DM_SMI 2u
#define DM_NMI 4u
#define DM_INIT 5u
#define DM_STARTUP 6u
#define DM_EXTINT 7u
#define ICR_DEST_LOGICAL BIT(11)
#define ICR_PENDING BIT(12)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_SHORTHAND_MASK (3u << ICR_SHORTHAND_SHIFT)
#define SH_NONE 0u
#define SH_SELF 1u
#define SH_ALL 2u
#define SH_OTHERS 3u
#define DFR_FLAT 0xF0000000u /* DFR model bits 31:28: 1111 flat, 0000 cluster */

static bool is_lvt(u32 off)
{
	return off == APIC_LVT_CMCI || (off >= APIC_LVT_TIMER && off <= APIC_LVT_ERROR && (off & 0xF) == 0);
}

/* Does the ICR's destination (no shorthand) include this CPU? */
static bool dest_is_me(u32 icr_lo, u32 icr_high, u8 my_id, u32 my_ldr, u32 dfr)
{
	u8 dest = (u8)(icr_high >> 24);
	if (!(icr_lo & ICR_DEST_LOGICAL))
		return dest == my_id || dest == 0xFF;
	u8 ldr = (u8)(my_ldr >> 24);
	if ((dfr & DFR_FLAT) == DFR_FLAT)
		return (dest & ldr) != 0; /* flat: a bit per CPU */
	/* cluster: high nibble the cluster (15 = all), low nibble the CPUs */
	return ((dest >> 4) == (ldr >> 4) || (dest >> 4) == 0xF) && (dest & ldr & 0xF);
}

bool apic_guard_check(u32 off, u32 val, u32 icr_high, u8 my_id, u32 my_ldr, u32 dfr, u32 *out)
{
	u32 dm = (val & DM_MASK) >> DM_SHIFT;
	*out = val;
	if (off == APIC_ICR_LO) {
		u32 sh = (val & ICR_SHORTHAND_MASK) >> ICR_SHORTHAND_SHIFT;
		if (dm != DM_FIXED && dm != DM_LOWEST)
			return false;
		bool me = sh == SH_SELF || sh == SH_ALL || (sh == SH_NONE && dest_is_me(val, icr_high, my_id, my_ldr, dfr));
		if (!me)
			return false;
		/* Fixed, to this CPU only; the vector and trigger bits kept. */
		*out = (val & 0xFFu) | (SH_SELF << ICR_SHORTHAND_SHIFT);
		return true;
	}
	if (is_lvt(off) && off != APIC_LVT_TIMER && off != APIC_LVT_ERROR)
		return dm == DM_FIXED || dm == DM_NMI || (dm == DM_EXTINT && off == APIC_LVT_LINT0);
	return true;
}

static volatile u8 *apic;

static u64 guard_read(void *ctx, u64 off, unsigned size)
{
	(void)ctx;
	if (size != 4 || (off & 0xF))
		return ~0ULL; /* the APIC takes aligned 32-bit accesses only */
	return mmio_rd32(apic, (u32)off);
}

static void guard_write(void *ctx, u64 off, unsigned size, u64 val)
{
	struct vm *vm = ctx;
	vm->vcpu.stats.apic_writes++;
	if (size != 4 || (off & 0xF) || off >= 0x400)
		return;
	/* Only an ICR write needs the destination registers; the EOI (one
	 * per interrupt) reads none of them. */
	u32 out, id = 0, ldr = 0, dfr = 0, icr_hi = 0;
	if (off == APIC_ICR_LO) {
		id = mmio_rd32(apic, APIC_ID) >> 24;
		ldr = mmio_rd32(apic, APIC_LDR);
		dfr = mmio_rd32(apic, APIC_DFR);
		icr_hi = mmio_rd32(apic, APIC_ICR_HI);
	}
	if (!apic_guard_check((u32)off, (u32)val, icr_hi, (u8)id, ldr, dfr, &out)) {
		log_guest_warn("guest: local APIC write %x to register %lx refused (only fixed interrupts to itself)",
				 (u32)val, off);
		return;
	}
	if (off == APIC_ICR_LO)
		for (unsigned i = 0; i < 100000 && (mmio_rd32(apic, APIC_ICR_LO) & ICR_PENDING); i++)
			cpu_relax();
	mmio_wr32(apic, (u32)off, out);
}

int apic_guard_attach(struct vm *vm, hpa_t base)
{
	apic = mmio_map(base, PAGE_SIZE);
	if (!apic)
		return -E_NOMEM;
	int rc = nested_map(vm, base, base, PAGE_SIZE, NESTED_R | NESTED_UC);
	if (rc < 0)
		return rc;
	const struct mmio_region r = { "local APIC", base, PAGE_SIZE, guard_read, guard_write, vm };
	return mmio_register(vm, &r);
}
