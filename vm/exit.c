/* Handling the exits the core cares about, whatever back end produced them.
 * Policy: a guest mistake is the guest's problem (an exception injected or
 * the guest stopped with a report), never a panic in ferry. */
#include "exit.h"
#include "msr.h"
#include "platform/console.h"
#include "lib/guest_abi.h"
#include "guest_io.h"
#include "mmio.h"
#include "platform/time.h"
#include "x86/cpu.h"
#include "x86/msr.h"
#include "platform/trap.h"

const char *exit_reason_name(enum exit_reason r)
{
	static const char *const names[EXIT_REASON_COUNT] = {
		[EXIT_CPUID] = "cpuid", [EXIT_RDMSR] = "rdmsr", [EXIT_WRMSR] = "wrmsr",
		[EXIT_IO] = "io", [EXIT_HLT] = "hlt", [EXIT_NPF] = "npf",
		[EXIT_HYPERCALL] = "hypercall", [EXIT_SHUTDOWN] = "shutdown",
		[EXIT_INTR] = "intr", [EXIT_UD_INSN] = "ud-insn", [EXIT_INVD] = "invd", [EXIT_EXCEPTION] = "exception",
		[EXIT_POLL] = "poll",
		[EXIT_ENTRY_FAIL] = "entry-fail", [EXIT_OTHER] = "other",
	};
	return r < EXIT_REASON_COUNT ? names[r] : "?";
}

static void set_rdx_rax(struct vcpu_regs *r, u64 v)
{
	r->gpr[GPR_RAX] = (u32)v;
	r->gpr[GPR_RDX] = v >> 32;
}

static void handle_cpuid(struct vcpu *vcpu)
{
	struct vcpu_regs *r = &vcpu->regs;
	u32 leaf = (u32)r->gpr[GPR_RAX], sub = (u32)r->gpr[GPR_RCX];
	struct cpuid_regs c = { 0, 0, 0, 0 };

	if (leaf >= CPUID_LEAF_HV_FIRST && leaf <= CPUID_LEAF_HV_LAST) {
		switch (leaf) {
		case FERRY_CPUID_BASE:
			c = (struct cpuid_regs){ FERRY_CPUID_MAX, FERRY_SIG_EBX, FERRY_SIG_ECX, FERRY_SIG_EDX };
			break;
		case FERRY_CPUID_LBD:
			if (vcpu->vm->lbd_gpa)
				c = (struct cpuid_regs){ (u32)vcpu->vm->lbd_gpa, (u32)(vcpu->vm->lbd_gpa >> 32),
							 LBD_PAGE_SIZE, LBD_VERSION };
			break;
		case FERRY_CPUID_TSC:
			c.eax = (u32)time_tsc_khz();
			break;
		case FERRY_CPUID_STATS:
			c.eax = (u32)vcpu->stats.exits;
			c.ebx = (u32)(vcpu->stats.exits >> 32);
			c.ecx = (u32)vcpu->stats.by_reason[EXIT_NPF];
			c.edx = (u32)vcpu->stats.by_reason[EXIT_IO];
			break;
		case FERRY_CPUID_STATS2:
			c.eax = (u32)vcpu->stats.by_reason[EXIT_HLT];
			c.ebx = (u32)vcpu->stats.by_reason[EXIT_POLL];
			c.ecx = (u32)vcpu->stats.apic_writes;
			c.edx = (u32)vcpu->stats.by_reason[EXIT_INTR];
			break;
		}
	} else {
		c = cpuid(leaf, sub);
		switch (leaf) {
		case CPUID_LEAF_FEATURES:
			c.ecx |= CPUID_1_ECX_HYPERVISOR;
			c.ecx &= ~(u32)CPUID_1_ECX_VMX;  /* no VMX inside the guest */
			/* No SMX: GETSEC exits under VMX, and ferry has no TXT
			 * to give (the guest would be stopped). */
			c.ecx &= ~(u32)CPUID_1_ECX_SMX;
			/* No x2APIC: its MSRs would reach the ICR around the
			 * guarded APIC page (vm/apic_guard.h). */
			c.ecx &= ~(u32)CPUID_1_ECX_X2APIC;
			/* No MONITOR/MWAIT: a guest idling in MWAIT makes no
			 * exit, and requests in flight finish only at exits
			 * (with SVM, and with deep C-states on VMX, nothing else
			 * stops it); without the bit Linux idles in HLT. */
			c.ecx &= ~(u32)CPUID_1_ECX_MONITOR;
			/* OSXSAVE mirrors the guest's CR4.OSXSAVE, not ferry's. */
			c.ecx = (c.ecx & ~(u32)CPUID_1_ECX_OSXSAVE) | (r->cr4 & CR4_OSXSAVE ? (u32)CPUID_1_ECX_OSXSAVE : 0);
			break;
		case CPUID_LEAF_MWAIT:
			c = (struct cpuid_regs){ 0, 0, 0, 0 };
			break;
		case CPUID_LEAF_EXT7:
			/* No WAITPKG: under VMX UMWAIT and TPAUSE raise #UD
			 * without "enable user wait and pause" (Linux delays with
			 * TPAUSE where it sees the bit), and with it UMWAIT would
			 * idle without exits, as MWAIT would. */
			if (sub == 0)
				c.ecx &= ~(u32)CPUID_7_ECX_WAITPKG;
			break;
		case CPUID_LEAF_EXT_FEATURES:
			c.ecx &= ~(u32)CPUID_EXT1_ECX_SVM;  /* no SVM inside the guest */
			c.ecx &= ~(u32)CPUID_EXT1_ECX_MONITORX; /* as MONITOR/MWAIT above */
			break;
		case CPUID_LEAF_SVM:
			c = (struct cpuid_regs){ 0, 0, 0, 0 };
			break;
		}
	}
	r->gpr[GPR_RAX] = c.eax;
	r->gpr[GPR_RBX] = c.ebx;
	r->gpr[GPR_RCX] = c.ecx;
	r->gpr[GPR_RDX] = c.edx;
}

/* Returns false when it injected #GP (a fault: RIP stays put). */
static bool handle_msr(struct vcpu *vcpu, bool write)
{
	struct vcpu_regs *r = &vcpu->regs;
	u32 msr = (u32)r->gpr[GPR_RCX];
	u64 v = ((r->gpr[GPR_RDX] & 0xFFFFFFFF) << 32) | (r->gpr[GPR_RAX] & 0xFFFFFFFF);

	/* The back end's guest state first (EFER, PAT), then ferry's answers
	 * (vm/msr.c); never the hardware from here. */
	if (write) {
		if (vcpu->vm->arch->msr_write(vcpu, msr, v) || msr_emulate_write(vcpu, msr, v))
			return true;
		log_debug("guest wrmsr %x = %lx refused: #GP", msr, v);
	} else {
		if (vcpu->vm->arch->msr_read(vcpu, msr, &v) || msr_emulate_read(vcpu, msr, &v)) {
			set_rdx_rax(r, v);
			return true;
		}
		log_debug("guest rdmsr %x refused: #GP", msr);
	}
	vcpu->vm->arch->inject_exception(vcpu, VEC_GP, true, 0);
	return false;
}

static void handle_hypercall(struct vcpu *vcpu)
{
	struct vcpu_regs *r = &vcpu->regs;
	switch (r->gpr[GPR_RAX]) {
	case FERRY_HC_POWEROFF:
		vcpu->vm->exit_status = (int)r->gpr[GPR_RBX];
		vm_stop(vcpu->vm, VM_STOP_POWER_OFF);
		r->gpr[GPR_RAX] = 0;
		break;
	default:
		r->gpr[GPR_RAX] = ~0ULL;
		break;
	}
}

/* Where ferry takes the interrupts, the task priority is ferry's: VMX
 * lets MOV CR8 through to the local APIC, and a raised TPR would hold
 * back ferry's own vectors (its timer, its NIC) while the guest runs and
 * while ferry sleeps.  The guest takes no interrupts there, so no value
 * means anything to it; its exits (VMX's watchdog at the latest) put 0
 * back.  SVM keeps the guest's CR8 virtual (V_INTR_MASKING). */
static void tpr_reclaim(void)
{
	u64 tpr = read_cr8();
	if (!tpr)
		return;
	write_cr8(0);
	log_guest_warn("guest: task priority %lx set where ferry takes the interrupts: put back to 0", tpr);
}

static void report_stop(struct vcpu *vcpu, const struct vm_exit *e, const char *what)
{
	const struct vcpu_regs *r = &vcpu->regs;
	log_err("%s: exit %s (code 0x%lx, info1 0x%lx, info2 0x%lx); the guest is stopped", what,
		exit_reason_name(e->reason), e->raw_code, e->info1, e->info2);
	log_err("  guest rip=%lx rsp=%lx rflags=%lx cr0=%lx cr3=%lx cr4=%lx efer=%lx", r->rip, r->gpr[GPR_RSP],
		r->rflags, r->cr0, r->cr3, r->cr4, r->efer);
	vcpu->vm->arch->dump(vcpu);
}

/* What the guest gets back for an instruction or exception ferry
 * intercepted only to keep it from reaching beyond the guest. */
static void instruction_exit(struct vcpu *vcpu, const struct vm_exit *e)
{
	struct vcpu_regs *r = &vcpu->regs;
	switch (e->reason) {
	case EXIT_UD_INSN: /* not in its CPUID */
		vcpu->vm->arch->inject_exception(vcpu, VEC_UD, false, 0);
		break;
	case EXIT_EXCEPTION:
		/* #AC and #DB: intercepted so that one raised while delivering
		 * another (an alignment check on a misaligned CPL 3 stack, a
		 * data breakpoint on the stack the delivery pushes to) exits
		 * each time instead of looping in the CPU with no exit, no
		 * interrupt and no way back for ferry (CVE-2015-5307,
		 * CVE-2015-8104).  Given back as it came (the back end has
		 * put DR6 as the CPU would); a loop now runs exit by exit. */
		if (e->exc.after)
			r->rip += e->insn_len;
		vcpu->vm->arch->inject_exception(vcpu, e->exc.vector, e->exc.has_error, e->exc.error);
		break;
	default: /* EXIT_INVD */
		/* Dropping the caches unwritten would drop ferry's writes
		 * with the guest's; leaving them is what a coherent machine
		 * shows, and the guest cannot tell a cache it may not drop. */
		r->rip += e->insn_len;
		break;
	}
}

/* ferry completed the instruction (RIP moved on; a fault leaves it): a
 * guest stepping through it (a debugger's stepi over CPUID, I/O or MMIO)
 * gets its trap after it, not after the next one.  ICEBP's given-back
 * #DB is that trap already. */
static void step_trap_if_tracing(struct vcpu *vcpu, const struct vm_exit *e, u64 rip0)
{
	if (vcpu->regs.rip != rip0 && (vcpu->regs.rflags & RFLAGS_TF) && e->reason != EXIT_EXCEPTION &&
	    !vcpu->vm->stop)
		vcpu->vm->arch->step_trap(vcpu);
}

void exit_handle(struct vcpu *vcpu, const struct vm_exit *e)
{
	struct vm *vm = vcpu->vm;
	struct vcpu_regs *r = &vcpu->regs;
	u64 rip0 = r->rip;

	vcpu->stats.exits++;
	vcpu->stats.by_reason[e->reason]++;

	switch (e->reason) {
	case EXIT_CPUID:
		handle_cpuid(vcpu);
		r->rip += e->insn_len;
		break;
	case EXIT_RDMSR:
	case EXIT_WRMSR:
		if (handle_msr(vcpu, e->reason == EXIT_WRMSR))
			r->rip += e->insn_len;
		break;
	case EXIT_IO:
		if (guest_io(vcpu, e))
			r->rip += e->insn_len;
		break;
	case EXIT_HLT:
		if (!(r->rflags & RFLAGS_IF)) {
			log_info("the guest halted with interrupts disabled");
			vm_stop(vm, VM_STOP_HALTED);
			break;
		}
		/* Interrupts go straight to the guest; treat HLT as a pause and
		 * let the guest check again, after on_halt (requests in flight:
		 * wait for them here, not in an exit per HLT). */
		r->rip += e->insn_len;
		if (vm->on_halt)
			vm->on_halt(vm);
		break;
	case EXIT_HYPERCALL:
		handle_hypercall(vcpu);
		r->rip += e->insn_len;
		break;
	case EXIT_NPF:
		if (mmio_emulate(vcpu, e) == MMIO_STOP) {
			report_stop(vcpu, e, "guest memory access ferry cannot emulate");
			vm_stop(vm, VM_STOP_FATAL_MEMORY);
		}
		break;
	case EXIT_POLL: /* requests in flight, a guest making no exits: on_exit polls them */
		r->rip += e->insn_len;
		break;
	case EXIT_UD_INSN:
	case EXIT_EXCEPTION:
	case EXIT_INVD:
		instruction_exit(vcpu, e);
		break;
	case EXIT_INTR:
		tpr_reclaim();
		irq_poll(); /* ferry's handlers run (timer, ...) */
		if (vm->on_interrupt)
			vm->on_interrupt(vm);
		break;
	case EXIT_SHUTDOWN:
		report_stop(vcpu, e, "the guest triple-faulted");
		vm_stop(vm, VM_STOP_TRIPLE_FAULT);
		break;
	case EXIT_ENTRY_FAIL:
		report_stop(vcpu, e, "the CPU refused to enter the guest (see the back end's report above)");
		vm_stop(vm, VM_STOP_ENTRY_FAILED);
		break;
	case EXIT_OTHER:
	default:
		report_stop(vcpu, e, "unhandled exit");
		vm_stop(vm, VM_STOP_UNHANDLED_EXIT);
		break;
	}
	step_trap_if_tracing(vcpu, e, rip0);
	if (vm->on_exit && !vm->stop)
		vm->on_exit(vm);
}
