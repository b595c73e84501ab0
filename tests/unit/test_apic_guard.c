/* The checks on the guest's local APIC writes (vm/apic_guard.c): no INIT,
 * startup, NMI, SMI or other CPU through the ICR, no SMI or INIT through an
 * LVT entry; and on its I/O APIC writes (vm/ioapic_guard.c): no INIT, NMI
 * or SMI through a redirection entry; and on its HPET writes
 * (vm/hpet_guard.c): no FSB delivery.  What Linux does still works. */
#include "check.h"
#include "vm/apic_guard.h"
#include "vm/hpet_guard.h"
#include "vm/ioapic_guard.h"

#define ICR_LO 0x300
#define ME 0                 /* this CPU's APIC ID */
#define LDR_ME (1u << 24)    /* logical ID 1, as Linux's flat mode sets it */
#define FLAT 0xFFFFFFFFu
#define CLUSTER 0x0FFFFFFFu

/* apic_guard_attach is not exercised here (emulator test
 * hostile_init_sipi_to_another_cpu_refused): its calls, faked. */
int nested_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, unsigned perm) { (void)vm, (void)gpa, (void)hpa, (void)size, (void)perm; return -E_NOTSUP; }
int mmio_register(struct vm *vm, const struct mmio_region *r) { (void)vm, (void)r; return -E_NOTSUP; }

static bool check(u32 off, u32 val, u32 hi, u32 *out) { return apic_guard_check(off, val, hi, ME, LDR_ME, FLAT, out); }

TEST(startup_init_nmi_smi_refused)
{
	u32 out;
	CHECK(!check(ICR_LO, 0x00004500, 1u << 24, &out)); /* INIT assert to CPU 1 */
	CHECK(!check(ICR_LO, 0x00004608, 1u << 24, &out)); /* SIPI */
	CHECK(!check(ICR_LO, 0x000C4500, 0, &out));        /* INIT to all but self */
	CHECK(!check(ICR_LO, 0x00044400, 0, &out));        /* NMI to self */
	CHECK(!check(ICR_LO, 0x00044200, 0, &out));        /* SMI to self */
	CHECK(!check(ICR_LO, 0x00040700, 0, &out));        /* ExtINT */
	CHECK(!check(ICR_LO, 0x00004500, 0, &out));        /* INIT to itself */
}

TEST(fixed_ipis_go_to_this_cpu_only)
{
	u32 out;
	CHECK(check(ICR_LO, 0x00040000 | 0xF6, 0, &out));  /* self shorthand (Linux's irq_work) */
	CHECK_EQ(out, 0x00040000 | 0xF6);
	CHECK(check(ICR_LO, 0x000800F6, 0, &out));         /* all including self: self only */
	CHECK_EQ(out, 0x000400F6);
	CHECK(!check(ICR_LO, 0x000C00F6, 0, &out));        /* all excluding self: nobody */
	CHECK(check(ICR_LO, 0x000000F6, ME << 24, &out));  /* physical, to me */
	CHECK_EQ(out, 0x000400F6);
	CHECK(!check(ICR_LO, 0x000000F6, 1u << 24, &out)); /* physical, to CPU 1 */
	CHECK(check(ICR_LO, 0x000000F6, 0xFFu << 24, &out)); /* physical broadcast: me only */
	CHECK_EQ(out, 0x000400F6);
	CHECK(check(ICR_LO, 0x000008F6, 0x03u << 24, &out)); /* logical flat, mask includes me */
	CHECK_EQ(out, 0x000400F6);
	CHECK(!check(ICR_LO, 0x000008F6, 0x02u << 24, &out)); /* logical flat, another CPU */
	CHECK(check(ICR_LO, 0x000001F6, 0, &out));         /* lowest priority becomes fixed to me */
	CHECK_EQ(out, 0x000400F6);
	/* Cluster mode: cluster 0, CPU bit 0. */
	CHECK(apic_guard_check(ICR_LO, 0x000008F6, 0x01u << 24, ME, 0x01u << 24, CLUSTER, &out));
	CHECK(!apic_guard_check(ICR_LO, 0x000008F6, 0x11u << 24, ME, 0x01u << 24, CLUSTER, &out));
	CHECK(apic_guard_check(ICR_LO, 0x000008F6, 0xF1u << 24, ME, 0x01u << 24, CLUSTER, &out));
}

TEST(lvt_delivery_modes)
{
	u32 out;
	CHECK(check(0x350, 0x00000700, 0, &out));          /* LINT0 ExtINT: virtual wire */
	CHECK(check(0x360, 0x00000400, 0, &out));          /* LINT1 NMI */
	CHECK(check(0x340, 0x00000400, 0, &out));          /* perf counter NMI */
	CHECK(!check(0x340, 0x00000200, 0, &out));         /* SMI */
	CHECK(!check(0x330, 0x00000500, 0, &out));         /* thermal INIT */
	CHECK(!check(0x360, 0x00000700, 0, &out));         /* ExtINT on LINT1 */
	CHECK(!check(0x2F0, 0x00000200, 0, &out));         /* CMCI SMI */
	CHECK(check(0x320, 0x000200EC, 0, &out));          /* timer: periodic, vector EC */
	CHECK_EQ(out, 0x000200EC);
}

TEST(other_registers_pass)
{
	u32 out;
	CHECK(check(0x0B0, 0, 0, &out));                   /* EOI */
	CHECK(check(0x080, 0x20, 0, &out));                /* TPR */
	CHECK(check(0x380, 12345, 0, &out));               /* timer initial count */
	CHECK_EQ(out, 12345);
	CHECK(check(0x0F0, 0x1FF, 0, &out));               /* SVR */
	CHECK(check(0x310, 1u << 24, 0, &out));            /* ICR high alone sends nothing */
}

/* I/O APIC: IOWIN writes by the register IOREGSEL selects. */
TEST(ioapic_entries_keep_to_fixed_lowest_extint)
{
	for (u32 pin = 0; pin < 24; pin++) {
		u32 lo = 0x10 + 2 * pin;
		CHECK(ioapic_guard_check(lo, 0x00000031, false));  /* fixed, edge, unmasked (Linux) */
		CHECK(ioapic_guard_check(lo, 0x0001A131, false));  /* lowest priority, level, masked, logical */
		CHECK(ioapic_guard_check(lo, 0x00000700, false));  /* ExtINT (the 8259's virtual wire) */
		CHECK(!ioapic_guard_check(lo, 0x00000531, false)); /* INIT */
		CHECK(!ioapic_guard_check(lo, 0x00010531, false)); /* INIT, even masked */
		CHECK(!ioapic_guard_check(lo, 0x00000400, false)); /* NMI */
		CHECK(!ioapic_guard_check(lo, 0x00000200, false)); /* SMI */
		CHECK(!ioapic_guard_check(lo, 0x00000300, false)); /* reserved */
		CHECK(!ioapic_guard_check(lo, 0x00000600, false)); /* reserved (startup is not an I/O APIC mode) */
		CHECK(ioapic_guard_check(lo + 1, 0xFF000500, false)); /* the destination dword is free */
	}
	/* IOREGSEL's upper bits are ignored by the I/O APIC: so by the check */
	CHECK(!ioapic_guard_check(0xFFFFFF10, 0x00000500, false));
	CHECK(ioapic_guard_check(0x00, 0x0F000000, false));    /* the ID */
	CHECK(ioapic_guard_check(0x01, 0x00000500, false));    /* the version (read-only anyway) */
}

/* On a server ferry's IDT takes the interrupts and the guest none: no
 * entry unmasked; masked, anything the other roles allow (unmasking it
 * is a write of its own). */
TEST(ioapic_entries_on_a_server_stay_masked)
{
	for (u32 pin = 0; pin < 24; pin++) {
		u32 lo = 0x10 + 2 * pin;
		CHECK(!ioapic_guard_check(lo, 0x00000031, true)); /* fixed, vector 0x31 */
		CHECK(!ioapic_guard_check(lo, 0x0000A1E0, true)); /* lowest priority, level, logical */
		CHECK(!ioapic_guard_check(lo, 0x000000FF, true)); /* ferry's spurious vector */
		CHECK(!ioapic_guard_check(lo, 0x0000001F, true)); /* an exception's vector */
		CHECK(!ioapic_guard_check(lo, 0x0000000E, true)); /* #PF */
		CHECK(!ioapic_guard_check(lo, 0x00000108, true)); /* lowest priority to #DF */
		CHECK(!ioapic_guard_check(lo, 0x00000700, true)); /* ExtINT: the 8259's vector */
		CHECK(!ioapic_guard_check(lo, 0x00000531, true)); /* INIT, as everywhere */
		CHECK(ioapic_guard_check(lo, 0x0001000E, true));  /* masked */
		CHECK(ioapic_guard_check(lo, 0x00010700, true));  /* masked ExtINT */
		CHECK(!ioapic_guard_check(lo, 0x00010531, true)); /* masked INIT, as everywhere */
		CHECK(ioapic_guard_check(lo + 1, 0xFF000000, true));
	}
}

/* A timer's configuration keeps all but FSB_EN_CNF; nothing else of the
 * HPET changes, its FSB route registers included (harmless unused). */
TEST(hpet_timers_lose_fsb_delivery)
{
	bool refused;
	for (unsigned t = 0; t < 32; t++) {
		u64 conf = 0x100 + 0x20 * t;
		CHECK_EQ(hpet_guard_filter(conf, 4, 0x0000404C, &refused), 0x0000004C); /* FSB, level, enabled */
		CHECK(refused);
		CHECK_EQ(hpet_guard_filter(conf, 8, 0xFFFFFFFF0000C14Cull, &refused), 0xFFFFFFFF0000814Cull);
		CHECK(refused);
		CHECK_EQ(hpet_guard_filter(conf, 4, 0x0000084C, &refused), 0x0000084C); /* I/O APIC pin 4 */
		CHECK(!refused);
		CHECK_EQ(hpet_guard_filter(conf + 4, 4, 0x00004000, &refused), 0x00004000); /* upper half: read-only */
		CHECK(!refused);
		CHECK_EQ(hpet_guard_filter(conf + 8, 8, 0x4000, &refused), 0x4000);           /* comparator */
		CHECK_EQ(hpet_guard_filter(conf + 0x10, 8, 0xFEE0000000004030ull, &refused), 0xFEE0000000004030ull);
		CHECK(!refused);
	}
	CHECK_EQ(hpet_guard_filter(0x10, 4, 0x4003, &refused), 0x4003); /* general configuration */
	CHECK(!refused);
	CHECK_EQ(hpet_guard_filter(0xF0, 8, 0x4000, &refused), 0x4000);  /* main counter */
	CHECK(!refused);
}

int main(void)
{
	RUN(startup_init_nmi_smi_refused);
	RUN(fixed_ipis_go_to_this_cpu_only);
	RUN(lvt_delivery_modes);
	RUN(other_registers_pass);
	RUN(ioapic_entries_keep_to_fixed_lowest_extint);
	RUN(ioapic_entries_on_a_server_stay_masked);
	RUN(hpet_timers_lose_fsb_delivery);
	return CHECK_SUMMARY();
}

