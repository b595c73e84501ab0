/* The checks on the guest's local APIC writes (vm/apic_guard.c): no INIT,
 * startup, NMI, SMI or other CPU through the ICR, no SMI or INIT through an
 * LVT entry; and on its I/O APIC writes (vm/ioapic_guard.c): no INIT, NMI
 * or SMI through a redirection entry.  What Linux does still works. */
#include "check.h"
#include "vm/apic_guard.h"
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
		CHECK(ioapic_guard_check(lo, 0x00000031));  /* fixed, edge, unmasked (Linux) */
		CHECK(ioapic_guard_check(lo, 0x0001A131));  /* lowest priority, level, masked, logical */
		CHECK(ioapic_guard_check(lo, 0x00000700));  /* ExtINT (the 8259's virtual wire) */
		CHECK(!ioapic_guard_check(lo, 0x00000531)); /* INIT */
		CHECK(!ioapic_guard_check(lo, 0x00010531)); /* INIT, even masked */
		CHECK(!ioapic_guard_check(lo, 0x00000400)); /* NMI */
		CHECK(!ioapic_guard_check(lo, 0x00000200)); /* SMI */
		CHECK(!ioapic_guard_check(lo, 0x00000300)); /* reserved */
		CHECK(!ioapic_guard_check(lo, 0x00000600)); /* reserved (startup is not an I/O APIC mode) */
		CHECK(ioapic_guard_check(lo + 1, 0xFF000500)); /* the destination dword is free */
	}
	/* IOREGSEL's upper bits are ignored by the I/O APIC: so by the check */
	CHECK(!ioapic_guard_check(0xFFFFFF10, 0x00000500));
	CHECK(ioapic_guard_check(0x00, 0x0F000000));    /* the ID */
	CHECK(ioapic_guard_check(0x01, 0x00000500));    /* the version (read-only anyway) */
}

int main(void)
{
	RUN(startup_init_nmi_smi_refused);
	RUN(fixed_ipis_go_to_this_cpu_only);
	RUN(lvt_delivery_modes);
	RUN(other_registers_pass);
	RUN(ioapic_entries_keep_to_fixed_lowest_extint);
	return CHECK_SUMMARY();
}

