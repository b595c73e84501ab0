/* Running the guest under VMX: vcpu->regs into the VMCS, the world switch,
 * and the VM exit turned into struct vm_exit (SDM Vol. 3C, chapters 26-27
 * and appendix C).  A few exits only VMX has are handled here and the
 * guest resumed, so the core sees the same exits as under SVM. */
#include "vmx.h"
#include "platform/console.h"
#include "platform/trap.h"
#include "vm/guest_mem.h"
#include "vm/vm.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/msr.h"

#define VMMCALL_LEN 3

/* What changed since the last exit goes into the VMCS; the core may have
 * moved RIP, set registers or written EFER and PAT. */
static void regs_to_vmcs(struct vmx_vcpu *xv, const struct vcpu_regs *r)
{
	vmcs_write(VMCS_GUEST_RIP, r->rip);
	vmcs_write(VMCS_GUEST_RSP, r->gpr[GPR_RSP]);
	vmcs_write(VMCS_GUEST_RFLAGS, r->rflags);
	if (r->cr0 != xv->cr0) {
		vmcs_write(VMCS_GUEST_CR0, ((r->cr0 & ~xv->cr0_mask) | (vmx.cr0_fixed0 & xv->cr0_mask)) & vmx.cr0_fixed1);
		vmcs_write(VMCS_CR0_READ_SHADOW, r->cr0);
		xv->cr0 = r->cr0;
	}
	if (r->cr4 != xv->cr4) {
		vmcs_write(VMCS_GUEST_CR4, ((r->cr4 & ~xv->cr4_mask) | (vmx.cr4_fixed0 & xv->cr4_mask)) & vmx.cr4_fixed1);
		vmcs_write(VMCS_CR4_READ_SHADOW, r->cr4);
		xv->cr4 = r->cr4;
	}
	if (r->cr3 != xv->cr3) {
		vmcs_write(VMCS_GUEST_CR3, r->cr3);
		xv->cr3 = r->cr3;
	}
	if (r->efer != xv->efer) {
		/* "IA-32e mode guest" must match EFER.LMA (26.2.4, 26.3.1.1). */
		vmcs_write(VMCS_GUEST_IA32_EFER, r->efer);
		u64 entry = vmcs_read(VMCS_ENTRY_CONTROLS) & ~(u64)ENTRY_IA32E_MODE_GUEST;
		vmcs_write(VMCS_ENTRY_CONTROLS, entry | (r->efer & EFER_LMA ? ENTRY_IA32E_MODE_GUEST : 0));
		xv->efer = r->efer;
	}
	/* ferry stepped over an instruction (emulated it): an STI or MOV SS
	 * shadow covered only that one (24.4.2, table 24-3). */
	if (r->rip != xv->exit_rip) {
		u64 intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
		if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
			vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(u64)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
	}
	/* An NMI that struck ferry is the guest's (platform/trap.h); it waits
	 * while the guest blocks NMIs, or while an STI or MOV SS shadow
	 * would make injecting it fail the entry (26.3.1.5). */
	if (!xv->pending_event && trap_nmi_waiting() &&
	    !(vmcs_read(VMCS_GUEST_INTERRUPTIBILITY) & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS | INTR_BLOCK_NMI))) {
		xv->pending_event = VEC_NMI | (u32)INTR_TYPE_NMI << 8 | INTR_INFO_VALID;
		xv->pending_error = 0;
		xv->pending_insn_len = 0;
		trap_nmi_forwarded();
	}
	if (xv->pending_event) {
		vmcs_write(VMCS_ENTRY_INTR_INFO, xv->pending_event);
		vmcs_write(VMCS_ENTRY_EXCEPTION_ERROR, xv->pending_error);
		vmcs_write(VMCS_ENTRY_INSN_LEN, xv->pending_insn_len);
		xv->pending_event = 0; /* a VM exit clears the valid bit (27.2.3) */
	}
	/* VMX does not switch CR2 (ferry never page-faults, so the CPU's CR2
	 * is the guest's while ferry runs). */
	if (read_cr2() != r->cr2)
		write_cr2(r->cr2);
}

static enum x86_cpu_mode guest_mode(u64 cr0, u64 efer, u64 cs_ar)
{
	if (!(cr0 & CR0_PE))
		return X86_MODE_16;
	if ((efer & EFER_LMA) && (cs_ar & AR_L))
		return X86_MODE_64;
	return cs_ar & AR_DB ? X86_MODE_32 : X86_MODE_16;
}

static void vmcs_to_regs(struct vmx_vcpu *xv, struct vcpu_regs *r)
{
	r->rip = vmcs_read(VMCS_GUEST_RIP);
	r->gpr[GPR_RSP] = vmcs_read(VMCS_GUEST_RSP);
	r->rflags = vmcs_read(VMCS_GUEST_RFLAGS);
	/* The guest's view: its own bits, and ferry's bits from the shadow. */
	r->cr0 = xv->cr0 = (vmcs_read(VMCS_GUEST_CR0) & ~xv->cr0_mask) | (xv->cr0 & xv->cr0_mask);
	r->cr4 = xv->cr4 = (vmcs_read(VMCS_GUEST_CR4) & ~xv->cr4_mask) | (xv->cr4 & xv->cr4_mask);
	r->cr3 = xv->cr3 = vmcs_read(VMCS_GUEST_CR3);
	r->efer = xv->efer = vmcs_read(VMCS_GUEST_IA32_EFER);
	r->cr2 = read_cr2();
	r->mode = guest_mode(r->cr0, r->efer, vmcs_read(VMCS_GUEST_CS_AR));
	r->cpl = (u8)AR_GET_DPL(vmcs_read(VMCS_GUEST_SS_AR)); /* CPL is SS.DPL (24.4.1) */
	xv->exit_rip = r->rip;
}

static u8 exit_insn_len(void)
{
	return (u8)vmcs_read(VMCS_EXIT_INSN_LEN);
}

/* #DB and #AC, for the core to give back (vm/exit.c, EXIT_EXCEPTION);
 * anything else (#UD) is handled_here's.  A #DB exit leaves DR6 and DR7
 * as they were (27.1): its status is in the qualification and goes into
 * DR6 here as the delivery would have put it (BLD and RTM read 1 unless
 * they are the cause), and a general-detect #DB clears DR7.GD, as the
 * delivery would, or the handler's first debug-register access faults
 * again.  ICEBP's #DB exits on the ICEBP itself: given back after it.  A
 * single step pending under an STI or MOV SS shadow must show in the
 * pending debug exceptions (unless DEBUGCTL.BTF), or the entry fails its
 * checks (26.3.1.5), since the exit did not record it. */
static void db_status(u64 qual)
{
	u64 dr6 = (read_dr6() & ~(u64)DR6_B0_3) | DR6_RTM | DR6_BLD | (qual & (DR6_B0_3 | DR6_BD | DR6_BS));
	write_dr6(dr6 & ~(qual & (DR6_RTM | DR6_BLD)));
	if (qual & DR6_BD)
		vmcs_write(VMCS_GUEST_DR7, vmcs_read(VMCS_GUEST_DR7) & ~(u64)DR7_GD);
	u64 intr = vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
	if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS) && vmcs_read(VMCS_GUEST_RFLAGS) & RFLAGS_TF &&
	    !(vmcs_read(VMCS_GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF))
		vmcs_write(VMCS_GUEST_PENDING_DBG, vmcs_read(VMCS_GUEST_PENDING_DBG) | DR6_BS);
}

static void decode_exception(struct vm_exit *e, u64 qual)
{
	u32 info = (u32)vmcs_read(VMCS_EXIT_INTR_INFO);
	u8 vector = (u8)INTR_INFO_VECTOR(info), type = (u8)INTR_INFO_TYPE(info);
	e->reason = EXIT_OTHER;
	if (vector == VEC_AC && type == INTR_TYPE_HW_EXCEPTION) {
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = VEC_AC;
		e->exc.has_error = true;
		e->exc.error = (u32)vmcs_read(VMCS_EXIT_INTR_ERROR);
	} else if (vector == VEC_DB && type == INTR_TYPE_PRIV_SW_EXCEPTION) {
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = VEC_DB;
		e->exc.after = true;
		e->insn_len = exit_insn_len();
	} else if (vector == VEC_DB && type == INTR_TYPE_HW_EXCEPTION) {
		db_status(qual);
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = VEC_DB;
	}
}

static void decode_exit(u32 reason, bool intr_exiting, struct vm_exit *e)
{
	u64 qual = vmcs_read(VMCS_EXIT_QUALIFICATION);

	memset(e, 0, sizeof(*e));
	e->raw_code = reason;
	e->info1 = qual;
	switch (VMX_EXIT_REASON_BASIC(reason)) {
	case VMX_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->insn_len = exit_insn_len();
		break;
	case VMX_EXIT_RDMSR:
		e->reason = EXIT_RDMSR;
		e->insn_len = exit_insn_len();
		break;
	case VMX_EXIT_WRMSR:
		e->reason = EXIT_WRMSR;
		e->insn_len = exit_insn_len();
		break;
	case VMX_EXIT_HLT:
		e->reason = EXIT_HLT;
		e->insn_len = exit_insn_len();
		break;
	case VMX_EXIT_VMCALL:
		e->reason = EXIT_HYPERCALL;
		e->insn_len = exit_insn_len();
		break;
	case VMX_EXIT_IO:
		e->reason = EXIT_IO;
		e->insn_len = exit_insn_len();
		e->io.port = IO_QUAL_PORT(qual);
		e->io.size = (u8)IO_QUAL_SIZE(qual);
		e->io.in = qual & IO_QUAL_IN;
		e->io.string = qual & IO_QUAL_STRING;
		e->io.rep = qual & IO_QUAL_REP;
		break;
	case VMX_EXIT_EPT_VIOLATION:
		/* The instruction length is not defined for EPT violations
		 * (27.2.5): insn_len stays 0 and the core decodes. */
		e->reason = EXIT_NPF;
		e->info2 = e->npf.gpa = vmcs_read(VMCS_GUEST_PHYSICAL_ADDR);
		e->npf.write = qual & EPT_QUAL_WRITE;
		e->npf.fetch = qual & EPT_QUAL_FETCH;
		break;
	case VMX_EXIT_EPT_MISCONFIG:
		e->reason = EXIT_OTHER; /* a bug in ferry's tables: reported */
		e->info2 = vmcs_read(VMCS_GUEST_PHYSICAL_ADDR);
		break;
	case VMX_EXIT_EXTERNAL_INTR:
		e->reason = EXIT_INTR;
		break;
	case VMX_EXIT_PREEMPTION_TIMER:
		/* The interrupt watchdog (vmx.c) when ferry takes interrupts;
		 * else poll_exits, and ferry must not take the guest's. */
		e->reason = intr_exiting ? EXIT_INTR : EXIT_POLL;
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		e->reason = EXIT_SHUTDOWN;
		break;
	case VMX_EXIT_VMCLEAR: case VMX_EXIT_VMLAUNCH: case VMX_EXIT_VMPTRLD: case VMX_EXIT_VMPTRST:
	case VMX_EXIT_VMREAD: case VMX_EXIT_VMRESUME: case VMX_EXIT_VMWRITE: case VMX_EXIT_VMXOFF:
	case VMX_EXIT_VMXON: case VMX_EXIT_INVEPT: case VMX_EXIT_INVVPID: case VMX_EXIT_VMFUNC:
	case VMX_EXIT_MONITOR: case VMX_EXIT_MWAIT: case VMX_EXIT_GETSEC: /* SMX is hidden too */
		e->reason = EXIT_UD_INSN; /* the core injects #UD */
		break;
	case VMX_EXIT_EXCEPTION_NMI:
		decode_exception(e, qual);
		break;
	case VMX_EXIT_INVD: /* always exits (25.1.2) */
		e->reason = EXIT_INVD;
		e->insn_len = exit_insn_len();
		break;
	default:
		e->reason = EXIT_OTHER;
		break;
	}
}

/* An event whose delivery this exit cut short (e.g. the guest's IDT or
 * stack faulted in EPT) is delivered again on the next entry (27.2.4,
 * 29.2.2 of the SDM's "VM entry" event injection). */
static void requeue_event(struct vmx_vcpu *xv)
{
	u32 info = (u32)vmcs_read(VMCS_IDT_VECTORING_INFO);
	if (!(info & INTR_INFO_VALID))
		return;
	xv->pending_event = info & INTR_INFO_ENTRY_MASK;
	xv->pending_error = info & INTR_INFO_ERROR_VALID ? (u32)vmcs_read(VMCS_IDT_VECTORING_ERROR) : 0;
	switch (INTR_INFO_TYPE(info)) {
	case INTR_TYPE_SW_INTR: case INTR_TYPE_PRIV_SW_EXCEPTION: case INTR_TYPE_SW_EXCEPTION:
		xv->pending_insn_len = exit_insn_len();
		break;
	default:
		xv->pending_insn_len = 0;
	}
}

/* VMX switches no DR6: the guest's is the CPU's. */
void vmx_step_trap(struct vcpu *vcpu)
{
	write_dr6(read_dr6() | DR6_BS);
	vmx_inject_exception(vcpu, VEC_DB, false, 0);
}

void vmx_inject_exception(struct vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	struct vmx_vcpu *xv = vcpu->arch;
	xv->pending_event = vector | (u32)INTR_TYPE_HW_EXCEPTION << 8 | INTR_INFO_VALID |
			    (has_error ? INTR_INFO_ERROR_VALID : 0);
	xv->pending_error = has_error ? error : 0;
	xv->pending_insn_len = 0;
}

/* XSETBV always exits under VMX (25.1.2) and never under SVM: do what the
 * CPU would, so the guest cannot tell.  CPL > 0 and CR4.OSXSAVE = 0 fault
 * in the guest before the exit. */
static void emulate_xsetbv(struct vcpu *vcpu)
{
	struct vcpu_regs *r = &vcpu->regs;
	u64 v = (r->gpr[GPR_RDX] << 32) | (u32)r->gpr[GPR_RAX];
	/* A value the CPU would refuse would raise #GP here, in ferry. */
	if ((u32)r->gpr[GPR_RCX] != 0 || !xcr0_valid(v, vmx.xcr0_supported)) {
		vmx_inject_exception(vcpu, VEC_GP, true, 0);
		return;
	}
	/* ferry uses no extended state; XCR0 is left as the guest set it. */
	u64 cr4 = read_cr4();
	write_cr4(cr4 | CR4_OSXSAVE);
	__asm__ volatile("xsetbv" ::"c"(0), "a"((u32)v), "d"((u32)(v >> 32)));
	write_cr4(cr4);
	r->rip += exit_insn_len();
}

/* ferry's guests call ferry with VMMCALL, AMD's instruction, which an
 * Intel CPU refuses with #UD.  #UD exits (the exception bitmap), and a
 * VMMCALL is the hypercall; any other #UD goes back to the guest. */
static bool is_vmmcall(struct vcpu *vcpu)
{
	u8 b[VMMCALL_LEN];
	return guest_read_virt(vcpu, vcpu->regs.rip, b, sizeof(b)) == sizeof(b) && b[0] == 0x0F && b[1] == 0x01 &&
	       b[2] == 0xD9;
}

/* Exits the core does not know: handled here, true to resume the guest. */
static bool handled_here(struct vcpu *vcpu, u32 reason, struct vm_exit *e)
{
	switch (VMX_EXIT_REASON_BASIC(reason)) {
	case VMX_EXIT_XSETBV:
		if (!vmx.xcr0_supported)
			return false;
		emulate_xsetbv(vcpu);
		return true;
	case VMX_EXIT_EXCEPTION_NMI: {
		u32 info = (u32)vmcs_read(VMCS_EXIT_INTR_INFO);
		if (INTR_INFO_TYPE(info) != INTR_TYPE_HW_EXCEPTION || INTR_INFO_VECTOR(info) != VEC_UD)
			return false;
		if (is_vmmcall(vcpu)) {
			e->reason = EXIT_HYPERCALL;
			e->insn_len = VMMCALL_LEN;
			return false;
		}
		vmx_inject_exception(vcpu, VEC_UD, false, 0);
		return true;
	}
	}
	return false;
}

static void entry_failed(struct vm_exit *e, u64 raw, u64 qual, const char *how)
{
	memset(e, 0, sizeof(*e));
	e->reason = EXIT_ENTRY_FAIL;
	e->raw_code = raw;
	e->info1 = qual;
	log_err("VMX: %s", how);
}

void vmx_run(struct vcpu *vcpu, struct vm_exit *e)
{
	struct vmx_vcpu *xv = vcpu->arch;
	for (;;) {
		regs_to_vmcs(xv, &vcpu->regs);
		int rc = vmx_enter(vcpu->regs.gpr, xv->launched);
		if (rc) {
			/* VMLAUNCH/VMRESUME did not even try the guest state. */
			/* Reported as code 1_0000_00xx: bit 32 tells the
			 * VM-instruction error from an exit reason. */
			u32 err = rc == 2 ? (u32)vmcs_read(VMCS_INSN_ERROR) : 0;
			entry_failed(e, BIT(32) | err, 0, xv->launched ? "VMRESUME failed" : "VMLAUNCH failed");
			vmx_report_entry_failure(rc == 2 ? err : 0, false);
			return;
		}
		u32 reason = (u32)vmcs_read(VMCS_EXIT_REASON);
		if (reason & VMX_EXIT_REASON_ENTRY_FAIL) {
			u64 qual = vmcs_read(VMCS_EXIT_QUALIFICATION);
			entry_failed(e, reason, qual, "VM entry failed on the guest state");
			vmx_report_entry_failure(0, true);
			return;
		}
		xv->launched = true;
		vmcs_to_regs(xv, &vcpu->regs);
		decode_exit(reason, xv->intr_exiting, e);
		requeue_event(xv);
		if (!handled_here(vcpu, reason, e))
			return;
	}
}
