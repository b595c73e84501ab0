/* ferry's own IDT.  Vectors 0-31 are CPU exceptions, in ferry a bug: the
 * handler prints what a developer needs (vector, error code, CR2, all
 * registers) and stops the machine.  Vectors 32-255 are interrupts, which
 * ferry takes only where it enables them (irq_poll). */
#include "trap.h"
#include "lapic.h"
#include "x86/cpu.h"
#include "console.h"

struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

struct idt_entry {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __packed;
_Static_assert(sizeof(struct idt_entry) == 16, "IDT entry is 16 bytes (SDM 6.14.1)");

struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

extern const u64 trap_stubs[32];
extern const u8 irq_stub_base[];
static struct idt_entry idt[256] __aligned(16);
static irq_handler_fn irq_handlers[256];

static const char *const vector_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection",
};

void irq_set_handler(u8 vector, irq_handler_fn fn)
{
	irq_handlers[vector] = fn;
}

void irq_dispatch(u64 vector);
void irq_dispatch(u64 vector)
{
	static u64 unexpected;
	if (irq_handlers[vector & 255]) {
		irq_handlers[vector & 255]((u8)vector);
		return;
	}
	/* Acknowledged, or its in-service bit would hold back every vector
	 * of its priority class and below (ferry's timer among them). */
	lapic_eoi();
	if (unexpected++ < 8)
		log_warn("unexpected interrupt, vector %lu: acknowledged and ignored", vector);
}

void trap_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		u64 a = v < 32 ? trap_stubs[v] : (u64)(uintptr_t)(irq_stub_base + (v - 32) * 16);
		idt[v] = (struct idt_entry){
			.offset_lo = (u16)a,
			.selector = 0x08,
			.type_attr = 0x8E, /* present, DPL 0, 64-bit interrupt gate */
			.offset_mid = (u16)(a >> 16),
			.offset_hi = (u32)(a >> 32),
		};
	}
	struct desc_ptr p = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	__asm__ volatile("lidt %0" ::"m"(p));
}

static volatile bool nmi_waiting;
static volatile u64 nmi_count;

bool trap_nmi_waiting(void) { return nmi_waiting; }
void trap_nmi_forwarded(void) { nmi_waiting = false; }

u64 trap_nmi_count(void) { return nmi_count; }

/* The only exception trap_handler returns from (trap.S then irets). */
static void nmi(void)
{
	nmi_count++;
	nmi_waiting = true;
}

void trap_handler(struct trap_frame *f);
void trap_handler(struct trap_frame *f)
{
	if (f->vector == VEC_NMI) {
		nmi();
		return;
	}
	const char *name = f->vector < 32 && vector_names[f->vector] ? vector_names[f->vector] : "exception";
	log_err("exception in ferry: vector %lu (%s), error code 0x%lx", f->vector, name, f->error);
	log_err("  rip=%016lx cs=%04lx rflags=%016lx rsp=%016lx ss=%04lx", f->rip, f->cs, f->rflags, f->rsp, f->ss);
	log_err("  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx", read_cr0(), read_cr2(), read_cr3(), read_cr4());
	log_err("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx", f->rax, f->rbx, f->rcx, f->rdx);
	log_err("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx", f->rsi, f->rdi, f->rbp, f->r8);
	log_err("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx", f->r9, f->r10, f->r11, f->r12);
	log_err("  r13=%016lx r14=%016lx r15=%016lx", f->r13, f->r14, f->r15);
	if (f->vector == VEC_PF)
		log_err("  page fault at %016lx (%s, %s)", read_cr2(), f->error & 2 ? "write" : "read",
			f->error & 1 ? "protection" : "not present");
	panic("unhandled exception %lu at rip %016lx", f->vector, f->rip);
}
