/* AMD SVM back end: capability checks, the VMCB, running the guest and
 * turning #VMEXITs into struct vm_exit (APM Vol. 2, chapter 15). */
#include "svm.h"
#include "vmcb.h"
#include "vm/vm.h"
#include "platform/mem.h"
#include "platform/console.h"
#include "platform/trap.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/msr.h"

#define IOPM_PAGES 3
#define MSRPM_PAGES 2

struct svm_vm {
	u8 *iopm;
	u8 *msrpm;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 pending_event; /* EVENTINJ for the next entry, 0 if none */
	bool intr_exiting;
};

#define SVM_VINTR_MASKING BIT(24) /* VMCB 0x060 bit 24: V_INTR_MASKING */

static struct {
	u32 features; /* CPUID 8000_000A EDX: CPUID_SVM_EDX_* */
	u32 nasid;
	struct vmcb *host_vmcb; /* ferry's FS/GS/TR/... for VMLOAD after #VMEXIT */
} svm;

void svm_vmrun(u64 *gprs, hpa_t guest_vmcb, hpa_t host_vmcb);

static int svm_probe(char *why, size_t n)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_EXT_MAX, 0);
	if (r.eax < CPUID_LEAF_SVM || !(cpuid(CPUID_LEAF_EXT_FEATURES, 0).ecx & CPUID_EXT1_ECX_SVM)) {
		fmt_snprintf(why, n, "this CPU has no AMD-V (SVM)");
		return -E_NOTSUP;
	}
	/* VM_CR.SVMDIS set by firmware: SVM is off (APM Vol. 2, 15.30.1). */
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		fmt_snprintf(why, n, "AMD-V (SVM) is disabled by the firmware (VM_CR.SVMDIS%s); enable SVM/AMD-V in the firmware setup",
			     rdmsr(MSR_VM_CR) & VM_CR_LOCK ? ", locked" : "");
		return -E_NOTSUP;
	}
	r = cpuid(CPUID_LEAF_SVM, 0);
	svm.features = r.edx;
	svm.nasid = r.ebx;
	if (!(r.edx & CPUID_SVM_EDX_NP)) {
		fmt_snprintf(why, n, "this CPU has SVM but no nested paging (NPT), which ferry needs to trap the logical device");
		return -E_NOTSUP;
	}
	if (svm.nasid < 2) {
		fmt_snprintf(why, n, "this CPU's SVM offers %u ASIDs; ferry needs at least 2", svm.nasid);
		return -E_NOTSUP;
	}
	return 0;
}

static void svm_log_features(void)
{
	log_info("SVM: revision %u, %u ASIDs, NPT yes, next_rip %s, decode assists %s",
		 CPUID_SVM_EAX_REVISION(cpuid(CPUID_LEAF_SVM, 0).eax), svm.nasid, svm.features & CPUID_SVM_EDX_NRIPS ? "yes" : "no",
		 svm.features & CPUID_SVM_EDX_DECODE_ASSISTS ? "yes" : "no");
}

static int svm_cpu_init(void)
{
	void *hsave = page_alloc(1);
	svm.host_vmcb = page_alloc(1);
	if (!hsave || !svm.host_vmcb)
		return -E_NOMEM;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, virt_to_phys(hsave));
	/* Capture ferry's FS/GS/TR/LDTR/syscall MSRs once; each #VMEXIT path
	 * reloads them from here. */
	__asm__ volatile("vmsave %0" ::"a"(virt_to_phys(svm.host_vmcb)) : "memory");
	return 0;
}

/* ---- I/O and MSR permission maps ---------------------------------------- */
static void svm_io_intercept(struct vm *vm, u16 port, u16 count, bool intercept)
{
	struct svm_vm *s = vm->arch_data;
	for (u32 p = port; p < (u32)port + count && p <= 0xFFFF; p++) {
		if (intercept)
			s->iopm[p / 8] |= (u8)(1u << (p % 8));
		else
			s->iopm[p / 8] &= (u8)~(1u << (p % 8));
	}
}

/* MSRPM: two bits per MSR (read, write) in three 2 KiB blocks, one for
 * each range of 0x2000 MSRs from 0, MSR_RANGE_HIGH and MSR_RANGE_AMD (APM
 * Vol. 2, 15.11).  Returns the bit index of the read bit, or -1 outside
 * them. */
#define MSRPM_RANGE_MSRS 0x2000

static long msrpm_bit(u32 msr)
{
	if (msr < MSRPM_RANGE_MSRS)
		return (long)msr * 2;
	if (msr >= MSR_RANGE_HIGH && msr - MSR_RANGE_HIGH < MSRPM_RANGE_MSRS)
		return 0x800 * 8 + (long)(msr - MSR_RANGE_HIGH) * 2;
	if (msr >= MSR_RANGE_AMD && msr - MSR_RANGE_AMD < MSRPM_RANGE_MSRS)
		return 0x1000 * 8 + (long)(msr - MSR_RANGE_AMD) * 2;
	return -1;
}

static void set_bit8(u8 *map, long b, bool on)
{
	if (on)
		map[b / 8] |= (u8)(1u << (b % 8));
	else
		map[b / 8] &= (u8)~(1u << (b % 8));
}

static void svm_msr_intercept(struct vm *vm, u32 msr, bool read, bool write)
{
	struct svm_vm *s = vm->arch_data;
	long b = msrpm_bit(msr);
	if (b < 0)
		return; /* outside the map: always exits */
	set_bit8(s->msrpm, b, read);
	set_bit8(s->msrpm, b + 1, write);
}

static int svm_vm_init(struct vm *vm)
{
	struct svm_vm *s = page_alloc(1);
	if (!s)
		return -E_NOMEM;
	s->iopm = page_alloc(IOPM_PAGES);
	s->msrpm = page_alloc(MSRPM_PAGES);
	if (!s->iopm || !s->msrpm)
		return -E_NOMEM;
	vm->arch_data = s;
	/* Every MSR exits until the core's policy (vm/msr.c) says otherwise;
	 * the segment bases and SYSENTER MSRs it passes are switched by
	 * VMLOAD/VMSAVE or held in the VMCB. */
	memset(s->msrpm, 0xFF, MSRPM_PAGES * PAGE_SIZE);
	/* I/O ports: the core chooses what to intercept; start from none. */
	return 0;
}

/* ---- vCPU --------------------------------------------------------------- */
static struct vmcb_seg flat_seg(u16 sel, u16 attrib)
{
	return (struct vmcb_seg){ .sel = sel, .attrib = attrib, .limit = 0xFFFFFFFF, .base = 0 };
}

static int svm_vcpu_init(struct vcpu *vcpu, const struct vcpu_boot_state *bs)
{
	struct svm_vcpu *sv = page_alloc(1);
	struct vmcb *v = page_alloc(1);
	struct svm_vm *s = vcpu->vm->arch_data;
	if (!sv || !v)
		return -E_NOMEM;
	sv->vmcb = v;
	vcpu->arch = sv;

	/* INVD would drop ferry's dirty cache lines with the guest's; the
	 * SVM instructions and MONITOR/MWAIT are not in the guest's CPUID
	 * (a guest idling in MWAIT would make no exits). */
	v->ctl.intercept_misc1 = SVM_INTERCEPT_CPUID | SVM_INTERCEPT_HLT | SVM_INTERCEPT_IOIO |
				 SVM_INTERCEPT_MSR | SVM_INTERCEPT_SHUTDOWN | SVM_INTERCEPT_INVLPGA |
				 SVM_INTERCEPT_INVD;
	v->ctl.intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
				 SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
				 SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_MWAIT |
				 SVM_INTERCEPT_MWAIT_COND;
	v->ctl.intercept_exceptions = BIT(VEC_DB) | BIT(VEC_AC); /* vm/exit.c, EXIT_EXCEPTION */
	v->ctl.iopm_base_pa = virt_to_phys(s->iopm);
	v->ctl.msrpm_base_pa = virt_to_phys(s->msrpm);
	v->ctl.guest_asid = 1;
	v->ctl.tlb_control = SVM_TLB_FLUSH_ALL;
	v->ctl.np_enable = SVM_NP_ENABLE;
	v->ctl.n_cr3 = vcpu->vm->nested_root;

	/* Long mode, flat segments (attrib: APM Vol. 2, 15.5.1 "VMCB segment
	 * attributes"): 0x29b = 64-bit code (L, P, S, type execute/read
	 * accessed); 0xc93 = 4 GiB read/write data (G, DB, P, S). */
	v->save.cs = flat_seg(bs->code_sel, 0x29B);
	v->save.ds = v->save.es = v->save.ss = flat_seg(bs->data_sel, 0xC93);
	v->save.fs = v->save.gs = flat_seg(bs->data_sel, 0xC93);
	v->save.gdtr = (struct vmcb_seg){ .limit = bs->gdt_limit, .base = bs->gdt_base };
	v->save.idtr = (struct vmcb_seg){ 0 };
	v->save.ldtr = (struct vmcb_seg){ .attrib = 0x82 };            /* LDT, present */
	v->save.tr = (struct vmcb_seg){ .attrib = 0x8B, .limit = 0x67 }; /* busy 64-bit TSS */
	v->save.cpl = 0;
	/* The guest runs with EFER.SVME set (VMRUN requires it); the guest sees
	 * its own value without it through the MSR intercept. */
	v->save.efer = bs->efer | EFER_SVME;
	v->save.cr0 = bs->cr0;
	v->save.cr3 = bs->cr3;
	v->save.cr4 = bs->cr4;
	v->save.dr6 = 0xFFFF0FF0;
	v->save.dr7 = 0x400;
	v->save.rflags = 0x2;
	v->save.g_pat = PAT_POWER_ON;

	memset(&vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs.rip = bs->rip;
	vcpu->regs.gpr[GPR_RSP] = bs->rsp;
	vcpu->regs.gpr[GPR_RDI] = bs->rdi;
	vcpu->regs.gpr[GPR_RSI] = bs->rsi;
	vcpu->regs.rflags = 0x2;
	vcpu->regs.cr0 = bs->cr0;
	vcpu->regs.cr3 = bs->cr3;
	vcpu->regs.cr4 = bs->cr4;
	vcpu->regs.efer = bs->efer;
	return 0;
}

static enum x86_cpu_mode vmcb_mode(const struct vmcb *v)
{
	if (!(v->save.cr0 & CR0_PE))
		return X86_MODE_16;
	if ((v->save.efer & EFER_LMA) && (v->save.cs.attrib & BIT(9)))
		return X86_MODE_64;
	return v->save.cs.attrib & BIT(10) ? X86_MODE_32 : X86_MODE_16;
}

static void regs_to_vmcb(const struct vcpu_regs *r, struct vmcb *v)
{
	v->save.rax = r->gpr[GPR_RAX];
	v->save.rsp = r->gpr[GPR_RSP];
	v->save.rip = r->rip;
	v->save.rflags = r->rflags;
	v->save.cr0 = r->cr0;
	v->save.cr2 = r->cr2;
	v->save.cr3 = r->cr3;
	v->save.cr4 = r->cr4;
	v->save.efer = r->efer | EFER_SVME;
}

static void vmcb_to_regs(const struct vmcb *v, struct vcpu_regs *r)
{
	r->gpr[GPR_RAX] = v->save.rax;
	r->gpr[GPR_RSP] = v->save.rsp;
	r->rip = v->save.rip;
	r->rflags = v->save.rflags;
	r->cr0 = v->save.cr0;
	r->cr2 = v->save.cr2;
	r->cr3 = v->save.cr3;
	r->cr4 = v->save.cr4;
	r->efer = v->save.efer & ~EFER_SVME;
	r->mode = vmcb_mode(v);
	r->cpl = v->save.cpl;
}

/* Length of the exiting instruction when the CPU reports next_rip, else
 * the architectural length of the intercepted instruction (no prefixes). */
static u8 insn_len(const struct vmcb *v, u8 fixed)
{
	if (svm.features & CPUID_SVM_EDX_NRIPS && v->ctl.next_rip > v->save.rip && v->ctl.next_rip - v->save.rip <= 15)
		return (u8)(v->ctl.next_rip - v->save.rip);
	return fixed;
}

/* The intercepts that keep the guest from reaching beyond itself
 * (vm/exit.c, instruction_exit); EXIT_OTHER for anything else. */
static void decode_guarded(const struct vmcb *v, struct vm_exit *e)
{
	switch (v->ctl.exitcode) {
	case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI: case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT: case SVM_EXIT_INVLPGA:
	case SVM_EXIT_MONITOR: case SVM_EXIT_MWAIT: case SVM_EXIT_MWAIT_COND:
		e->reason = EXIT_UD_INSN;
		break;
	case SVM_EXIT_EXCP_BASE + VEC_DB:
		/* The VMCB's DR6 holds the status as the delivery would have
		 * left it, and VMRUN loads it.  ICEBP's #DB is not intercepted
		 * (APM Vol. 2, 15.12: it has an intercept of its own). */
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = VEC_DB;
		break;
	case SVM_EXIT_EXCP_BASE + VEC_AC: /* the error code (always 0) in EXITINFO1 */
		e->reason = EXIT_EXCEPTION;
		e->exc.vector = VEC_AC;
		e->exc.has_error = true;
		e->exc.error = (u32)v->ctl.exitinfo1;
		break;
	case SVM_EXIT_INVD:
		e->reason = EXIT_INVD;
		e->insn_len = insn_len(v, 2); /* 0F 08 */
		break;
	default:
		e->reason = EXIT_OTHER;
		break;
	}
}

static void decode_exit(const struct vmcb *v, struct vm_exit *e)
{
	u64 code = v->ctl.exitcode, i1 = v->ctl.exitinfo1, i2 = v->ctl.exitinfo2;

	memset(e, 0, sizeof(*e));
	e->raw_code = code;
	e->info1 = i1;
	e->info2 = i2;
	switch (code) {
	case SVM_EXIT_CPUID:
		e->reason = EXIT_CPUID;
		e->insn_len = insn_len(v, 2);
		break;
	case SVM_EXIT_MSR:
		e->reason = i1 ? EXIT_WRMSR : EXIT_RDMSR;
		e->insn_len = insn_len(v, 2);
		break;
	case SVM_EXIT_HLT:
		e->reason = EXIT_HLT;
		e->insn_len = insn_len(v, 1);
		break;
	case SVM_EXIT_PAUSE:
		e->reason = EXIT_POLL;
		e->insn_len = insn_len(v, 2); /* F3 90 */
		break;
	case SVM_EXIT_VMMCALL:
		e->reason = EXIT_HYPERCALL;
		e->insn_len = insn_len(v, 3);
		break;
	case SVM_EXIT_IOIO:
		e->reason = EXIT_IO;
		e->io.port = (u16)(i1 >> 16);
		e->io.size = i1 & SVM_IOIO_SZ32 ? 4 : i1 & SVM_IOIO_SZ16 ? 2 : 1;
		e->io.in = i1 & SVM_IOIO_IN;
		e->io.string = i1 & SVM_IOIO_STR;
		e->io.rep = i1 & SVM_IOIO_REP;
		/* EXITINFO2 holds the next RIP for IOIO even without NRIPS. */
		e->insn_len = (u8)(i2 - v->save.rip);
		break;
	case SVM_EXIT_NPF:
		e->reason = EXIT_NPF;
		e->npf.gpa = i2;
		e->npf.write = i1 & SVM_NPF_WRITE;
		e->npf.fetch = i1 & SVM_NPF_FETCH;
		if (svm.features & CPUID_SVM_EDX_DECODE_ASSISTS && v->ctl.insn_len <= 15) {
			e->insn_nbytes = v->ctl.insn_len;
			memcpy(e->insn_bytes, v->ctl.insn_bytes, e->insn_nbytes);
		}
		break;
	case SVM_EXIT_SHUTDOWN:
		e->reason = EXIT_SHUTDOWN;
		break;
	case SVM_EXIT_INTR:
		e->reason = EXIT_INTR;
		break;
	case SVM_EXIT_INVALID:
		e->reason = EXIT_ENTRY_FAIL;
		break;
	default:
		decode_guarded(v, e);
		break;
	}
}

static void svm_run(struct vcpu *vcpu, struct vm_exit *exit)
{
	struct svm_vcpu *sv = vcpu->arch;
	struct vmcb *v = sv->vmcb;

	regs_to_vmcb(&vcpu->regs, v);
	/* An NMI that struck ferry is the guest's (platform/trap.h).  SVM
	 * keeps no NMI-blocking state ferry could read, so it goes in
	 * whenever no other event is due. */
	if (!sv->pending_event && trap_nmi_waiting()) {
		sv->pending_event = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI | VEC_NMI;
		trap_nmi_forwarded();
	}
	v->ctl.event_inj = sv->pending_event;
	sv->pending_event = 0;

	/* With V_INTR_MASKING the host's IF at VMRUN decides whether physical
	 * interrupts stop the guest (APM Vol. 2, 15.21.1).  GIF is clear
	 * here, so the STI lets nothing in until the guest runs. */
	if (sv->intr_exiting)
		__asm__ volatile("clgi; sti" ::: "memory");
	else
		__asm__ volatile("clgi" ::: "memory");
	svm_vmrun(vcpu->regs.gpr, virt_to_phys(v), virt_to_phys(svm.host_vmcb));
	__asm__ volatile("cli; stgi" ::: "memory");

	v->ctl.tlb_control = 0;
	vmcb_to_regs(v, &vcpu->regs);
	decode_exit(v, exit);
	/* An event whose delivery was cut short by this exit (e.g. the IDT or
	 * stack page faulted in NPT) must be delivered again (APM Vol. 2,
	 * 15.7.2). */
	if (v->ctl.exitintinfo & SVM_EVTINJ_VALID)
		sv->pending_event = v->ctl.exitintinfo;
}

static void svm_inject_exception(struct vcpu *vcpu, u8 vector, bool has_error, u32 error)
{
	struct svm_vcpu *sv = vcpu->arch;
	sv->pending_event = vector | SVM_EVTINJ_TYPE_EXCEPTION | SVM_EVTINJ_VALID |
			    (has_error ? SVM_EVTINJ_ERR_VALID | ((u64)error << 32) : 0);
}

static void svm_step_trap(struct vcpu *vcpu)
{
	struct svm_vcpu *sv = vcpu->arch;
	sv->vmcb->save.dr6 |= DR6_BS; /* VMRUN loads the guest's DR6 from here */
	svm_inject_exception(vcpu, VEC_DB, false, 0);
}

static bool svm_msr_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	struct vmcb *v = ((struct svm_vcpu *)vcpu->arch)->vmcb;
	switch (msr) {
	case MSR_EFER:
		*val = vcpu->regs.efer;
		return true;
	case MSR_IA32_PAT:
		*val = v->save.g_pat;
		return true;
	}
	return false;
}

static bool svm_msr_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	struct vmcb *v = ((struct svm_vcpu *)vcpu->arch)->vmcb;
	switch (msr) {
	case MSR_EFER:
		/* LMA is the CPU's to set; SVME stays on underneath. */
		vcpu->regs.efer = (val & ~EFER_LMA) | (vcpu->regs.efer & EFER_LMA);
		return true;
	case MSR_IA32_PAT:
		v->save.g_pat = val;
		return true;
	}
	return false;
}

static void svm_intr_exiting(struct vcpu *vcpu, bool on)
{
	struct svm_vcpu *sv = vcpu->arch;
	struct vmcb *v = sv->vmcb;
	sv->intr_exiting = on;
	if (on) {
		v->ctl.intercept_misc1 |= SVM_INTERCEPT_INTR;
		v->ctl.vintr |= SVM_VINTR_MASKING;
	} else {
		v->ctl.intercept_misc1 &= ~(u32)SVM_INTERCEPT_INTR;
		v->ctl.vintr &= ~SVM_VINTR_MASKING;
	}
}

/* SVM has no timer that stops the guest without taking its interrupts
 * (the client role leaves them to the guest): a spinning guest is caught
 * at its PAUSE instead, every 64th with the pause filter, each one
 * without it (QEMU's TCG). */
static void svm_poll_exits(struct vcpu *vcpu, bool on)
{
	struct svm_vcpu *sv = vcpu->arch;
	struct vmcb *v = sv->vmcb;
	if (on) {
		v->ctl.intercept_misc1 |= SVM_INTERCEPT_PAUSE;
		v->ctl.pause_filter_count = svm.features & CPUID_SVM_EDX_PAUSE_FILTER ? 64 : 0;
	} else {
		v->ctl.intercept_misc1 &= ~(u32)SVM_INTERCEPT_PAUSE;
	}
}

static void svm_flush_nested_tlb(struct vcpu *vcpu)
{
	((struct svm_vcpu *)vcpu->arch)->vmcb->ctl.tlb_control = SVM_TLB_FLUSH_ALL;
}

static void svm_dump(struct vcpu *vcpu)
{
	const struct vmcb *v = ((struct svm_vcpu *)vcpu->arch)->vmcb;
	log_err("  vmcb: exitcode=%lx info1=%lx info2=%lx intinfo=%lx", v->ctl.exitcode, v->ctl.exitinfo1,
		v->ctl.exitinfo2, v->ctl.exitintinfo);
	log_err("  vmcb: cs=%04x/%03x efer=%lx cr0=%lx cr3=%lx cr4=%lx cpl=%u", v->save.cs.sel, v->save.cs.attrib,
		v->save.efer, v->save.cr0, v->save.cr3, v->save.cr4, v->save.cpl);
}

const struct hv_arch svm_arch = {
	.name = "AMD SVM with NPT",
	.probe = svm_probe,
	.log_features = svm_log_features,
	.cpu_init = svm_cpu_init,
	.nested = &svm_npt_format,
	.vm_init = svm_vm_init,
	.vcpu_init = svm_vcpu_init,
	.run = svm_run,
	.inject_exception = svm_inject_exception,
	.step_trap = svm_step_trap,
	.io_intercept = svm_io_intercept,
	.msr_intercept = svm_msr_intercept,
	.msr_read = svm_msr_read,
	.msr_write = svm_msr_write,
	.intr_exiting = svm_intr_exiting,
	.poll_exits = svm_poll_exits,
	.flush_nested_tlb = svm_flush_nested_tlb,
	.dump = svm_dump,
};
