/* ferry's local APIC timer.  ferry owns the LAPIC in the roles that use it
 * (the guest's nested map then leaves the LAPIC page out). */
#include "lapic.h"
#include "x86/cpu.h"
#include "x86/msr.h"
#include "x86/io.h"
#include "trap.h"
#include "console.h"
#include "mem.h"
#include "time.h"

/* xAPIC registers (SDM Vol. 3A, table 10-1) */
#define LAPIC_ID 0x020           /* bits 31:24 */
#define LAPIC_EOI 0x0B0          /* write-only */
#define LAPIC_LDR 0x0D0          /* logical destination, bits 31:24 */
#define LAPIC_DFR 0x0E0          /* bits 31:28: 0xF flat, 0x0 cluster */
#define LAPIC_PPR 0x0A0          /* processor priority: class in bits 7:4 */
#define LAPIC_IRR 0x200          /* 8 registers of 32 vectors, 16 bytes apart */
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_BUSY BIT(12)   /* delivery status: send pending */
#define LAPIC_ICR_SELF (1u << 18) /* destination shorthand: self */
#define LAPIC_SVR 0x0F0          /* spurious vector; bit 8 APIC software enable */
#define LAPIC_SVR_ENABLE BIT(8)
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350    /* the 8259's virtual wire (ExtINT) when the firmware left it so */
#define LAPIC_LVT_CMCI 0x2F0     /* with 7 LVT entries or more (version bits 23:16 >= 6) */
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF 0x340
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_VERSION 0x030      /* bits 23:16: the highest LVT entry */
#define LAPIC_LVT_MASKED BIT(16)
#define LAPIC_TIMER_PERIODIC BIT(17)
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3E0
#define LAPIC_DIV_16 0x3

/* 8259 PICs: mask everything after remapping away from the exception
 * vectors, so a stray legacy interrupt cannot land on vector 8. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1

static volatile u8 *lapic;
static hpa_t base;
static void (*timer_fn)(void);

hpa_t lapic_base(void) { return base; }

static void lapic_wr(u32 reg, u32 v) { mmio_wr32(lapic, reg, v); }
static u32 lapic_rd(u32 reg) { return mmio_rd32(lapic, reg); }

static void pic_mask_all(void)
{
	outb(PIC1_CMD, 0x11); /* ICW1: init, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, 0x20); /* ICW2: vectors 0x20-0x27 */
	outb(PIC2_DATA, 0x28);
	outb(PIC1_DATA, 4);    /* ICW3 */
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 1);    /* ICW4: 8086 mode */
	outb(PIC2_DATA, 1);
	outb(PIC1_DATA, 0xFF);
	outb(PIC2_DATA, 0xFF);
}

static void on_timer(u8 vector)
{
	(void)vector;
	lapic_wr(LAPIC_EOI, 0);
	if (timer_fn)
		timer_fn();
}

/* A true spurious interrupt sets no in-service bit and takes no EOI (SDM
 * 10.9); a message sent with this vector (a device the guest drives) does,
 * and unacknowledged it would hold back every other vector for good. */
#define LAPIC_ISR_255 0x170 /* in-service bits 255-224 */
static void on_spurious(u8 vector)
{
	(void)vector;
	if (lapic_rd(LAPIC_ISR_255) & BIT(31))
		lapic_wr(LAPIC_EOI, 0);
}

int lapic_init(void)
{
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).edx & CPUID_1_EDX_APIC))
		return -E_NOTSUP;
	u64 msr = rdmsr(MSR_IA32_APIC_BASE);
	base = msr & APIC_BASE_ADDR;
	wrmsr(MSR_IA32_APIC_BASE, msr | APIC_BASE_ENABLE);
	lapic = mmio_map(base, PAGE_SIZE);
	if (!lapic)
		return -E_NOMEM;
	pic_mask_all();
	/* The 8259 takes its vectors from whoever programs it last, and the
	 * guest reaches its ports: none of its interrupts come to ferry.  Nor
	 * do the other local sources the guest can set off (the performance
	 * counters and machine-check banks it programs, thermal events) with
	 * vectors the firmware chose. */
	static const u16 lvts[] = { LAPIC_LVT_LINT0, LAPIC_LVT_CMCI, LAPIC_LVT_THERMAL, LAPIC_LVT_PERF,
				    LAPIC_LVT_ERROR };
	u32 maxlvt = (lapic_rd(LAPIC_VERSION) >> 16) & 0xFF;
	for (unsigned i = 0; i < ARRAY_SIZE(lvts); i++)
		if (lvts[i] != LAPIC_LVT_CMCI || maxlvt >= 6)
			lapic_wr(lvts[i], LAPIC_LVT_MASKED);
	irq_set_handler(LAPIC_TIMER_VECTOR, on_timer);
	irq_set_handler(LAPIC_SPURIOUS_VECTOR, on_spurious);
	lapic_wr(LAPIC_SVR, LAPIC_SVR_ENABLE | LAPIC_SPURIOUS_VECTOR);
	return 0;
}

int lapic_timer_start(u32 hz, void (*fn)(void))
{
	if (!lapic || hz == 0)
		return -E_INVAL;
	timer_fn = fn;
	/* Calibrate against the TSC: count down for 10 ms. */
	lapic_wr(LAPIC_TIMER_DIV, LAPIC_DIV_16);
	lapic_wr(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
	lapic_wr(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	udelay(10000);
	u32 per_10ms = 0xFFFFFFFF - lapic_rd(LAPIC_TIMER_CUR);
	if (per_10ms < 100) {
		log_err("lapic: timer does not count (%u ticks in 10 ms)", per_10ms);
		return -E_IO;
	}
	u32 count = (u32)((u64)per_10ms * 100 / hz);
	lapic_wr(LAPIC_TIMER_INIT, 0);
	lapic_wr(LAPIC_LVT_TIMER, LAPIC_TIMER_PERIODIC | LAPIC_TIMER_VECTOR);
	lapic_wr(LAPIC_TIMER_INIT, MAX(count, 1));
	log_info("lapic: timer at %u Hz (%u bus ticks / 16 per 10 ms)", hz, per_10ms);
	return 0;
}

/* The LAPIC page for the guest's interrupts: mapped on first use (the
 * local and client roles never call lapic_init). */
static volatile u8 *lapic_regs(void)
{
	if (!lapic) {
		base = rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR;
		lapic = mmio_map(base, PAGE_SIZE);
	}
	return lapic;
}

u8 lapic_id(void) { return (u8)(mmio_rd32(lapic_regs(), LAPIC_ID) >> 24); }

void lapic_eoi(void) { lapic_wr(LAPIC_EOI, 0); }

static bool x2apic_mode(void) { return rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC; }

int lapic_send_self_ipi(u8 vector)
{
	if (x2apic_mode())
		return -E_NOTSUP;
	volatile u8 *r = lapic_regs();
	if (!r)
		return -E_NOMEM;
	for (unsigned i = 0; mmio_rd32(r, LAPIC_ICR_LO) & LAPIC_ICR_BUSY; i++) {
		if (i == 100000)
			return -E_TIMEDOUT;
		cpu_relax();
	}
	mmio_wr32(r, LAPIC_ICR_LO, LAPIC_ICR_SELF | vector); /* fixed, edge */
	return 0;
}

/* SDM Vol. 3A, 10.6.2: physical (APIC ID or 0xFF, all), logical flat (a
 * bit of the LDR) or logical cluster (cluster in 7:4, bits in 3:0). */
static bool dest_is_self(const struct lapic_msi *m)
{
	volatile u8 *r = lapic_regs();
	if (!r)
		return false;
	if (!m->logical)
		return m->dest == 0xFF || m->dest == mmio_rd32(r, LAPIC_ID) >> 24;
	u8 ldr = (u8)(mmio_rd32(r, LAPIC_LDR) >> 24);
	if (mmio_rd32(r, LAPIC_DFR) >> 28 == 0xF)
		return m->dest & ldr;
	return ((m->dest >> 4) == 0xF || (m->dest >> 4) == (ldr >> 4)) && (m->dest & ldr & 0xF);
}

bool lapic_irq_deliverable(void)
{
	if (x2apic_mode())
		return false;
	volatile u8 *r = lapic_regs();
	if (!r)
		return false;
	u32 ppr_class = (mmio_rd32(r, LAPIC_PPR) >> 4) & 0xF;
	for (int i = 7; i >= 0 && (u32)i * 2 + 1 > ppr_class; i--) {
		u32 irr = mmio_rd32(r, LAPIC_IRR + (u32)i * 0x10);
		if (irr && (u32)(i * 32 + 31 - __builtin_clz(irr)) >> 4 > ppr_class)
			return true;
	}
	return false;
}

int lapic_deliver_msi(u64 addr, u32 data)
{
	struct lapic_msi m;
	int rc = lapic_msi_decode(addr, data, &m);
	if (rc < 0)
		return rc;
	if (x2apic_mode())
		return -E_NOTSUP;
	return dest_is_self(&m) ? lapic_send_self_ipi(m.vector) : -E_RANGE;
}
