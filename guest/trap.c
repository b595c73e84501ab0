/* The guest's IDT: every exception is reported on the console; inside
 * guest_try() it unwinds to the caller, otherwise the guest powers off
 * with a failure. */
#include "kernel.h"

struct trap_frame {
	u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

struct idt_entry {
	u16 off_lo, sel;
	u8 ist, attr;
	u16 off_mid;
	u32 off_hi, zero;
} __packed;

extern const u64 guest_trap_stubs[32];
extern void guest_try_landing(void);
u64 guest_try_rsp;
u64 guest_trap_rip; /* where the last exception struck */
u32 guest_trap_exits; /* ferry's exit count then (CPUID 0x40000003), 0 without ferry */
static struct idt_entry idt[256] __aligned(16);
u32 guest_irq_count[256];

/* An interrupt (guest_irq_install): counted and acknowledged at the local
 * APIC, which ferry's guest owns. */
void guest_irq(struct trap_frame *f);
void guest_irq(struct trap_frame *f)
{
	guest_irq_count[f->vector & 0xFF]++;
	*(volatile u32 *)(uintptr_t)(GUEST_LAPIC_BASE + 0xB0) = 0; /* EOI */
}

extern void guest_irq_stub_0x26(void), guest_irq_stub_0x27(void);

int guest_irq_install(u8 vector)
{
	u64 a = vector == 0x26 ? (u64)(uintptr_t)guest_irq_stub_0x26 : vector == 0x27 ? (u64)(uintptr_t)guest_irq_stub_0x27 : 0;
	if (!a)
		return -E_INVAL;
	idt[vector] = (struct idt_entry){ (u16)a, 0x08, 0, 0x8E, (u16)(a >> 16), (u32)(a >> 32), 0 };
	return 0;
}

void guest_trap(struct trap_frame *f);
void guest_trap(struct trap_frame *f)
{
	if (f->vector == 2) { /* NMI: counted (the nmis command), then back */
		guest_irq_count[2]++;
		return;
	}
	u32 x;
	cpuid4(FERRY_CPUID_STATS, &guest_trap_exits, &x, &x, &x); /* before the report's own exits */
	con_printf("guest: exception %lu at rip %lx (error %lx)", f->vector, f->rip, f->error);
	guest_trap_rip = f->rip;
	if (guest_try_rsp) {
		f->rflags &= ~(u64)0x100; /* a single step (TF) ends with the try */
		f->rip = (u64)(uintptr_t)guest_try_landing;
		f->rsp = guest_try_rsp;
		f->rax = (u64)(s64)-(1000 + (s64)f->vector);
		return;
	}
	con_line("guest: unexpected exception; powering off");
	con_line("result: fail");
	power_off(1);
}

void trap_init(void)
{
	for (unsigned v = 0; v < 32; v++) {
		u64 a = guest_trap_stubs[v];
		idt[v] = (struct idt_entry){ (u16)a, 0x08, 0, 0x8E, (u16)(a >> 16), (u32)(a >> 32), 0 };
	}
	struct {
		u16 limit;
		u64 base;
	} __packed p = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	__asm__ volatile("lidt %0" ::"m"(p));
}
