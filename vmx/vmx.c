/* Intel VMX back end: capability checks, VMXON, the VMCS with its controls
 * adjusted to what the CPU allows, the I/O and MSR bitmaps and the initial
 * guest state (SDM Vol. 3C, chapters 23-24 and appendix A), INVEPT.
 * Running the guest and normalising exits is in vmx_run.c, the EPT entry
 * format in vmx_ept.c, entry failure reports in vmx_diag.c. */
#include "vmx.h"
#include "vm/vm.h"
#include "platform/mem.h"
#include "platform/console.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/msr.h"

struct vmx_caps vmx;

/* The primary processor-based controls that make the CPU exit (table
 * 24-6); the rest of the word is reserved.  ferry handles the exits of
 * the ones it asks for and refuses to run where the CPU forces others. */
#define PROC_EXITING_CONTROLS                                                                              \
	(PROC_INTR_WINDOW_EXITING | PROC_HLT_EXITING | PROC_INVLPG_EXITING | PROC_MWAIT_EXITING |         \
	 PROC_RDPMC_EXITING | PROC_RDTSC_EXITING | PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING |        \
	 PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_TPR_SHADOW | PROC_NMI_WINDOW_EXITING |       \
	 PROC_MOV_DR_EXITING | PROC_UNCOND_IO_EXITING | PROC_USE_IO_BITMAPS | PROC_MONITOR_TRAP_FLAG |     \
	 PROC_USE_MSR_BITMAPS | PROC_MONITOR_EXITING | PROC_PAUSE_EXITING)
/* MONITOR/MWAIT are not in the guest's CPUID, and a guest idling in MWAIT
 * would make no exits: they #UD. */
#define PROC_WANTED                                                                                        \
	(PROC_HLT_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS | PROC_SECONDARY_CONTROLS |        \
	 PROC_MWAIT_EXITING | PROC_MONITOR_EXITING)
/* Used where the CPU has them: unrestricted guest; VPID, so the guest's TLB
 * entries survive exits; and what guest instructions need not to #UD
 * although CPUID shows them. */
#define PROC2_OPTIONAL (PROC2_UNRESTRICTED_GUEST | PROC2_VPID | PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES)
#define GUEST_VPID 1 /* 0 is ferry's own (28.1) */
/* The debug controls: the guest's DR7 and DEBUGCTL in the VMCS, which a
 * VM exit otherwise resets (to 400h and 0), losing its breakpoints. */
#define EXIT_WANTED                                                                                        \
	(EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT | EXIT_SAVE_IA32_EFER |       \
	 EXIT_LOAD_IA32_EFER | EXIT_SAVE_DEBUG_CONTROLS)
#define ENTRY_WANTED (ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_IA32_PAT | ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_DEBUG_CONTROLS)

static void read_ctl_cap(u32 msr, u32 true_msr, struct vmx_ctl_cap *c)
{
	u64 v = rdmsr(vmx.basic & VMX_BASIC_TRUE_CTLS ? true_msr : msr);
	c->must1 = (u32)v;
	c->may1 = (u32)(v >> 32);
}

static u32 ctl_adjust(const struct vmx_ctl_cap *c, u32 want)
{
	return (want | c->must1) & c->may1;
}

static int vmx_probe(char *why, size_t n)
{
	memset(&vmx, 0, sizeof(vmx));
	if (!(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_VMX)) {
		fmt_snprintf(why, n, "this CPU has no Intel VT-x (VMX)");
		return -E_NOTSUP;
	}
	/* The firmware may turn VMX off and lock it until the next reset
	 * (SDM Vol. 3C, 23.7).  Unlocked, cpu_init enables and locks it. */
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		fmt_snprintf(why, n, "Intel VT-x (VMX) is disabled by the firmware and locked (IA32_FEATURE_CONTROL = %lx); "
			     "enable Intel Virtualization Technology in the firmware setup", fc);
		return -E_NOTSUP;
	}

	/* Each capability MSR is read only when another says it exists:
	 * reading an absent one raises #GP (appendix A). */
	vmx.basic = rdmsr(MSR_IA32_VMX_BASIC);
	if (VMX_BASIC_REGION_SIZE(vmx.basic) > PAGE_SIZE) {
		fmt_snprintf(why, n, "this CPU's VMCS is %lu bytes, more than a page", VMX_BASIC_REGION_SIZE(vmx.basic));
		return -E_NOTSUP;
	}
	read_ctl_cap(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, &vmx.pin);
	read_ctl_cap(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, &vmx.proc);
	read_ctl_cap(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, &vmx.exit);
	read_ctl_cap(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, &vmx.entry);
	if (vmx.proc.may1 & PROC_SECONDARY_CONTROLS)
		read_ctl_cap(MSR_IA32_VMX_PROCBASED_CTLS2, MSR_IA32_VMX_PROCBASED_CTLS2, &vmx.proc2);
	if (vmx.proc2.may1 & (PROC2_EPT | PROC2_VPID))
		vmx.ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	vmx.misc = rdmsr(MSR_IA32_VMX_MISC);
	vmx.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	vmx.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	vmx.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	vmx.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);

	if (!(vmx.proc2.may1 & PROC2_EPT)) {
		fmt_snprintf(why, n, "this CPU has VT-x but no EPT (extended page tables), which ferry needs to trap the "
			     "logical device");
		return -E_NOTSUP;
	}
	u64 need_ept = EPT_CAP_WALK4 | EPT_CAP_WB | EPT_CAP_2M | EPT_CAP_INVEPT;
	if ((vmx.ept_vpid & need_ept) != need_ept || !(vmx.ept_vpid & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		fmt_snprintf(why, n, "this CPU's EPT lacks what ferry needs: 4-level walks, write-back tables, 2 MiB pages "
			     "and INVEPT (IA32_VMX_EPT_VPID_CAP = %lx)", vmx.ept_vpid);
		return -E_NOTSUP;
	}

	vmx.pin_ctl = ctl_adjust(&vmx.pin, 0);
	vmx.proc_ctl = ctl_adjust(&vmx.proc, PROC_WANTED);
	vmx.proc2_ctl = ctl_adjust(&vmx.proc2, PROC2_EPT | PROC2_OPTIONAL);
	vmx.exit_ctl = ctl_adjust(&vmx.exit, EXIT_WANTED);
	vmx.entry_ctl = ctl_adjust(&vmx.entry, ENTRY_WANTED);
	if ((vmx.proc_ctl & PROC_WANTED) != PROC_WANTED || !(vmx.pin.may1 & PIN_EXT_INTR_EXITING)) {
		fmt_snprintf(why, n, "this CPU's VT-x cannot intercept HLT, MONITOR/MWAIT, I/O ports, MSRs or interrupts by bitmap "
			     "(processor-based controls allowed %x)", vmx.proc.may1);
		return -E_NOTSUP;
	}
	if (vmx.proc_ctl & PROC_EXITING_CONTROLS & ~PROC_WANTED) {
		fmt_snprintf(why, n, "this CPU's VT-x forces intercepts ferry does not handle (processor-based controls "
			     "%lx must be set)", vmx.proc_ctl & PROC_EXITING_CONTROLS & ~PROC_WANTED);
		return -E_NOTSUP;
	}
	if ((vmx.exit_ctl & EXIT_WANTED) != EXIT_WANTED || (vmx.entry_ctl & ENTRY_WANTED) != ENTRY_WANTED ||
	    (vmx.exit_ctl & EXIT_ACK_INTR_ON_EXIT) || (vmx.pin_ctl & PIN_EXT_INTR_EXITING)) {
		fmt_snprintf(why, n, "this CPU's VT-x cannot switch EFER, PAT and the debug controls or enter a 64-bit "
			     "guest on VM entry and exit (exit controls allowed %x, entry controls allowed %x)", vmx.exit.may1, vmx.entry.may1);
		return -E_NOTSUP;
	}
	vmx.unrestricted = vmx.proc2_ctl & PROC2_UNRESTRICTED_GUEST;
	if (cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_XSAVE) {
		struct cpuid_regs x = cpuid(CPUID_LEAF_XSAVE, 0);
		vmx.xcr0_supported = x.eax | (u64)x.edx << 32;
	}
	return 0;
}

static void vmx_log_features(void)
{
	log_info("VMX: revision %u, EPT yes (1 GiB pages %s, INVEPT %s), unrestricted guest %s, VPID %s, "
		 "true controls %s, preemption timer %s", VMX_BASIC_REVISION(vmx.basic),
		 vmx.ept_vpid & EPT_CAP_1G ? "yes" : "no",
		 vmx.ept_vpid & EPT_CAP_INVEPT_SINGLE ? "single-context" : "all-context",
		 vmx.unrestricted ? "yes" : "no", vmx.proc2_ctl & PROC2_VPID ? "yes" : "no",
		 vmx.basic & VMX_BASIC_TRUE_CTLS ? "yes" : "no", vmx.pin.may1 & PIN_PREEMPTION_TIMER ? "yes" : "no");
	log_debug("VMX: controls pin %x proc %x proc2 %x exit %x entry %x", vmx.pin_ctl, vmx.proc_ctl,
		  vmx.proc2_ctl, vmx.exit_ctl, vmx.entry_ctl);
}

/* ---- VMX operation ------------------------------------------------------- */
struct desc_ptr {
	u16 limit;
	u64 base;
} __packed;

#define HOST_GDT_ENTRIES 16
#define TSS_SIZE 104
#define TSS_IOMAP_BASE 102 /* offset of the I/O map base field: none (SDM Vol. 3A, 8.7) */
#define DESC_TSS64_AVAILABLE 0x9

/* VM exits load TR from the host-state area, and its selector may not be
 * 0 (26.2.3), so ferry gets a TSS: its GDT copied with a 64-bit TSS
 * descriptor appended.  ferry runs at CPL 0 without IST stacks, so the
 * TSS is never consulted. */
static u64 host_gdt[HOST_GDT_ENTRIES] __aligned(16);
static u8 host_tss[TSS_SIZE] __aligned(16);
static u16 host_tr_sel;

static int host_tss_init(void)
{
	struct desc_ptr old, gdt;
	__asm__ volatile("sgdt %0" : "=m"(old));
	unsigned used = ((unsigned)old.limit + 1) / 8;
	if (used + 2 > HOST_GDT_ENTRIES)
		return -E_NOSPC;
	memcpy(host_gdt, (const void *)(uintptr_t)old.base, (size_t)old.limit + 1);
	u64 base = (u64)(uintptr_t)host_tss;
	host_tss[TSS_IOMAP_BASE] = TSS_SIZE;
	/* 16-byte system descriptor (SDM Vol. 3A, 8.2.3, figure 8-4). */
	host_gdt[used] = (TSS_SIZE - 1) | (base & 0xFFFFFF) << 16 | (u64)DESC_TSS64_AVAILABLE << 40 | BIT(47) |
			 ((base >> 24) & 0xFF) << 56;
	host_gdt[used + 1] = base >> 32;
	host_tr_sel = (u16)(used * 8);
	gdt = (struct desc_ptr){ (u16)((used + 2) * 8 - 1), (u64)(uintptr_t)host_gdt };
	__asm__ volatile("lgdt %0; ltr %1" ::"m"(gdt), "r"(host_tr_sel) : "memory");
	return 0;
}

static int vmx_cpu_init(void)
{
	u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK);
	/* CR0 and CR4 in VMX operation: the fixed bits (23.8, A.7, A.8).
	 * For ferry that adds CR0.NE and CR4.VMXE. */
	write_cr0((read_cr0() | vmx.cr0_fixed0) & vmx.cr0_fixed1);
	write_cr4((read_cr4() | vmx.cr4_fixed0 | CR4_VMXE) & vmx.cr4_fixed1);
	int rc = host_tss_init();
	if (rc < 0)
		return rc;

	u32 *region = page_alloc(1);
	if (!region)
		return -E_NOMEM;
	*region = VMX_BASIC_REVISION(vmx.basic);
	u64 pa = virt_to_phys(region);
	bool fail;
	__asm__ volatile("vmxon %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	if (fail) {
		log_err("VMX: VMXON failed (IA32_FEATURE_CONTROL %lx, CR0 %lx, CR4 %lx)", rdmsr(MSR_IA32_FEATURE_CONTROL),
			read_cr0(), read_cr4());
		return -E_NOTSUP;
	}
	return 0;
}

/* ---- I/O and MSR bitmaps (24.6.4, 24.6.9) --------------------------------- */
#define IO_BITMAP_PAGES 2
#define MSR_BITMAP_RANGE_MSRS 0x2000 /* each bitmap: 0x2000 MSRs from 0 or MSR_RANGE_HIGH */
#define MSR_BITMAP_READ_LOW 0        /* MSRs 0-0x1FFF */
#define MSR_BITMAP_READ_HIGH 1024    /* MSRs 0xC0000000-0xC0001FFF */
#define MSR_BITMAP_WRITE 2048        /* the write bitmaps follow the read ones */

/* One bit per port, bitmap A then B: the same meaning as SVM's IOPM.  An
 * access of several bytes exits if any of its ports' bits is set. */
static void vmx_io_intercept(struct vm *vm, u16 port, u16 count, bool intercept)
{
	struct vmx_vm *v = vm->arch_data;
	for (u32 p = port; p < (u32)port + count && p <= 0xFFFF; p++) {
		if (intercept)
			v->io_bitmap[p / 8] |= (u8)(1u << (p % 8));
		else
			v->io_bitmap[p / 8] &= (u8)~(1u << (p % 8));
	}
}

static void bit_set(u8 *map, u32 b, bool on)
{
	if (on)
		map[b / 8] |= (u8)(1u << (b % 8));
	else
		map[b / 8] &= (u8)~(1u << (b % 8));
}

static void vmx_msr_intercept(struct vm *vm, u32 msr, bool read, bool write)
{
	struct vmx_vm *v = vm->arch_data;
	u32 off;
	if (msr < MSR_BITMAP_RANGE_MSRS) {
		off = MSR_BITMAP_READ_LOW;
	} else if (msr >= MSR_RANGE_HIGH && msr - MSR_RANGE_HIGH < MSR_BITMAP_RANGE_MSRS) {
		off = MSR_BITMAP_READ_HIGH;
		msr -= MSR_RANGE_HIGH;
	} else {
		return; /* outside the bitmaps: always exits */
	}
	bit_set(v->msr_bitmap + off, msr, read);
	bit_set(v->msr_bitmap + MSR_BITMAP_WRITE + off, msr, write);
}

static int vmx_vm_init(struct vm *vm)
{
	struct vmx_vm *v = page_alloc(1);
	if (!v)
		return -E_NOMEM;
	v->io_bitmap = page_alloc(IO_BITMAP_PAGES);
	v->msr_bitmap = page_alloc(1);
	if (!v->io_bitmap || !v->msr_bitmap)
		return -E_NOMEM;
	v->eptp = vmx_eptp(vm->nested_root);
	vm->arch_data = v;
	/* Every MSR exits until the core's policy (vm/msr.c) says otherwise.
	 * Of what it passes, SYSENTER_CS/ESP/EIP and the FS and GS bases are
	 * guest-state fields of the VMCS, switched on every entry and exit
	 * (24.4.1, 27.3); the rest (STAR, LSTAR, CSTAR, SFMASK,
	 * KERNEL_GS_BASE, TSC_AUX, speculation control, performance counters)
	 * is not switched at all: the guest's values stay in the CPU while
	 * ferry runs, which is safe only because ferry never executes
	 * SYSCALL, SYSRET, SWAPGS or RDTSCP and reads no counter. */
	memset(v->msr_bitmap, 0xFF, PAGE_SIZE);
	/* I/O ports: the core chooses what to intercept; start from none. */
	return 0;
}

/* ---- vCPU --------------------------------------------------------------- */
void vmx_exit_entry(void); /* vmx_entry.S: where VM exits land */

static u16 read_sel(int which)
{
	u16 s = 0;
	switch (which) {
	case SEG_ES: __asm__ volatile("mov %%es, %0" : "=r"(s)); break;
	case SEG_CS: __asm__ volatile("mov %%cs, %0" : "=r"(s)); break;
	case SEG_SS: __asm__ volatile("mov %%ss, %0" : "=r"(s)); break;
	case SEG_DS: __asm__ volatile("mov %%ds, %0" : "=r"(s)); break;
	case SEG_FS: __asm__ volatile("mov %%fs, %0" : "=r"(s)); break;
	case SEG_GS: __asm__ volatile("mov %%gs, %0" : "=r"(s)); break;
	}
	return s;
}

/* ferry's state, loaded by every VM exit (24.5, 27.5). */
static bool write_host_state(void)
{
	struct desc_ptr gdt, idt;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdt), "=m"(idt));
	bool ok = true;
	ok &= vmcs_write(VMCS_HOST_CR0, read_cr0());
	ok &= vmcs_write(VMCS_HOST_CR3, read_cr3());
	ok &= vmcs_write(VMCS_HOST_CR4, read_cr4());
	/* Selectors with RPL and TI 0 (26.2.3); CS and TR never 0. */
	ok &= vmcs_write(VMCS_HOST_CS_SEL, read_sel(SEG_CS) & 0xF8);
	ok &= vmcs_write(VMCS_HOST_SS_SEL, read_sel(SEG_SS) & 0xF8);
	ok &= vmcs_write(VMCS_HOST_DS_SEL, read_sel(SEG_DS) & 0xF8);
	ok &= vmcs_write(VMCS_HOST_ES_SEL, read_sel(SEG_ES) & 0xF8);
	ok &= vmcs_write(VMCS_HOST_FS_SEL, read_sel(SEG_FS) & 0xF8);
	ok &= vmcs_write(VMCS_HOST_GS_SEL, read_sel(SEG_GS) & 0xF8);
	ok &= vmcs_write(VMCS_HOST_TR_SEL, host_tr_sel);
	ok &= vmcs_write(VMCS_HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	ok &= vmcs_write(VMCS_HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	ok &= vmcs_write(VMCS_HOST_TR_BASE, (u64)(uintptr_t)host_tss);
	ok &= vmcs_write(VMCS_HOST_GDTR_BASE, gdt.base);
	ok &= vmcs_write(VMCS_HOST_IDTR_BASE, idt.base);
	ok &= vmcs_write(VMCS_HOST_SYSENTER_CS, 0);
	ok &= vmcs_write(VMCS_HOST_SYSENTER_ESP, 0);
	ok &= vmcs_write(VMCS_HOST_SYSENTER_EIP, 0);
	ok &= vmcs_write(VMCS_HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	ok &= vmcs_write(VMCS_HOST_IA32_EFER, rdmsr(MSR_EFER));
	ok &= vmcs_write(VMCS_HOST_RIP, (u64)(uintptr_t)vmx_exit_entry);
	/* HOST_RSP is written by vmx_enter before each entry. */
	return ok;
}

static bool write_seg(enum vmx_seg s, u16 sel, u32 limit, u32 ar, u64 base)
{
	return vmcs_write(VMCS_SEG_SEL(s), sel) & vmcs_write(VMCS_SEG_LIMIT(s), limit) &
	       vmcs_write(VMCS_SEG_AR(s), ar) & vmcs_write(VMCS_SEG_BASE(s), base);
}

/* The guest starts in 64-bit mode with flat segments (access rights in the
 * VMCS format: 24.4.1, table 24-2). */
static bool write_guest_state(struct vmx_vcpu *xv, const struct vcpu_boot_state *bs)
{
	const u32 code = AR_TYPE(SEG_TYPE_CODE_XR_ACCESSED) | AR_S | AR_DPL(0) | AR_P | AR_L | AR_G;
	const u32 data = AR_TYPE(SEG_TYPE_DATA_RW_ACCESSED) | AR_S | AR_DPL(0) | AR_P | AR_DB | AR_G;
	bool ok = true;
	ok &= write_seg(SEG_CS, bs->code_sel, 0xFFFFFFFF, code, 0);
	for (enum vmx_seg s = SEG_ES; s <= SEG_GS; s++)
		if (s != SEG_CS)
			ok &= write_seg(s, bs->data_sel, 0xFFFFFFFF, data, 0);
	/* LDTR unusable; TR a busy 64-bit TSS (26.3.1.2: TR must be usable,
	 * type 11 in IA-32e mode, limit consistent with G). */
	ok &= write_seg(SEG_LDTR, 0, 0, AR_UNUSABLE, 0);
	ok &= write_seg(SEG_TR, 0, 0x67, AR_TYPE(SEG_TYPE_TSS64_BUSY) | AR_P, 0);
	ok &= vmcs_write(VMCS_GUEST_GDTR_BASE, bs->gdt_base);
	ok &= vmcs_write(VMCS_GUEST_GDTR_LIMIT, bs->gdt_limit);
	ok &= vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
	ok &= vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0);

	ok &= vmcs_write(VMCS_GUEST_CR0, (bs->cr0 | (vmx.cr0_fixed0 & xv->cr0_mask)) & vmx.cr0_fixed1);
	ok &= vmcs_write(VMCS_CR0_READ_SHADOW, bs->cr0);
	ok &= vmcs_write(VMCS_GUEST_CR3, bs->cr3);
	ok &= vmcs_write(VMCS_GUEST_CR4, (bs->cr4 | (vmx.cr4_fixed0 & xv->cr4_mask)) & vmx.cr4_fixed1);
	ok &= vmcs_write(VMCS_CR4_READ_SHADOW, bs->cr4);
	ok &= vmcs_write(VMCS_GUEST_IA32_EFER, bs->efer);
	ok &= vmcs_write(VMCS_GUEST_IA32_PAT, PAT_POWER_ON);
	ok &= vmcs_write(VMCS_GUEST_IA32_DEBUGCTL, 0);
	ok &= vmcs_write(VMCS_GUEST_DR7, 0x400);
	ok &= vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
	ok &= vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
	ok &= vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
	ok &= vmcs_write(VMCS_GUEST_RSP, bs->rsp);
	ok &= vmcs_write(VMCS_GUEST_RIP, bs->rip);
	ok &= vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
	ok &= vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
	ok &= vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
	ok &= vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
	ok &= vmcs_write(VMCS_LINK_POINTER, ~0ULL); /* no shadow VMCS (26.3.1.5) */
	xv->cr0 = bs->cr0;
	xv->cr4 = bs->cr4;
	xv->cr3 = bs->cr3;
	xv->efer = bs->efer;
	return ok;
}

static bool write_controls(struct vmx_vcpu *xv, struct vm *vm)
{
	const struct vmx_vm *v = vm->arch_data;
	bool ok = true;
	ok &= vmcs_write(VMCS_PIN_CONTROLS, vmx.pin_ctl);
	ok &= vmcs_write(VMCS_PROC_CONTROLS, vmx.proc_ctl);
	ok &= vmcs_write(VMCS_PROC_CONTROLS2, vmx.proc2_ctl);
	ok &= vmcs_write(VMCS_EXIT_CONTROLS, vmx.exit_ctl);
	ok &= vmcs_write(VMCS_ENTRY_CONTROLS, vmx.entry_ctl);
	/* #UD exits: a guest's VMMCALL is ferry's hypercall (vmx_run.c). */
	ok &= vmcs_write(VMCS_EXCEPTION_BITMAP, BIT(VEC_DB) | BIT(VEC_UD) | BIT(VEC_AC)); /* vmx_run.c */
	ok &= vmcs_write(VMCS_PF_ERROR_MASK, 0);
	ok &= vmcs_write(VMCS_PF_ERROR_MATCH, 0);
	ok &= vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
	ok &= vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
	ok &= vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	ok &= vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	ok &= vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
	ok &= vmcs_write(VMCS_TSC_OFFSET, 0);
	ok &= vmcs_write(VMCS_IO_BITMAP_A, virt_to_phys(v->io_bitmap));
	ok &= vmcs_write(VMCS_IO_BITMAP_B, virt_to_phys(v->io_bitmap + PAGE_SIZE));
	ok &= vmcs_write(VMCS_MSR_BITMAP, virt_to_phys(v->msr_bitmap));
	ok &= vmcs_write(VMCS_EPT_POINTER, v->eptp);
	if (vmx.proc2_ctl & PROC2_XSAVES)
		ok &= vmcs_write(VMCS_XSS_EXIT_BITMAP, 0);
	/* With a VPID the guest's translations stay cached across exits;
	 * INVEPT still drops the ones built on changed EPT entries (28.3.3). */
	if (vmx.proc2_ctl & PROC2_VPID)
		ok &= vmcs_write(VMCS_VPID, GUEST_VPID);
	/* The CR0 and CR4 bits VMX fixes are ferry's: the guest reads its own
	 * values from the read shadows, and changing them exits (25.3).  With
	 * unrestricted guest, CR0.PE and PG are the guest's (26.3.1.1). */
	xv->cr0_mask = vmx.cr0_fixed0 & ~(vmx.unrestricted ? (u64)(CR0_PE | CR0_PG) : 0);
	xv->cr4_mask = vmx.cr4_fixed0;
	ok &= vmcs_write(VMCS_CR0_GUEST_HOST_MASK, xv->cr0_mask);
	ok &= vmcs_write(VMCS_CR4_GUEST_HOST_MASK, xv->cr4_mask);
	return ok;
}

static int vmx_vcpu_init(struct vcpu *vcpu, const struct vcpu_boot_state *bs)
{
	struct vmx_vcpu *xv = page_alloc(1);
	u32 *vmcs = page_alloc(1);
	if (!xv || !vmcs)
		return -E_NOMEM;
	xv->vmcs = vmcs;
	vcpu->arch = xv;
	*vmcs = VMX_BASIC_REVISION(vmx.basic);
	u64 pa = virt_to_phys(vmcs);
	bool fail;
	/* VMCLEAR makes the region a clear, inactive VMCS; VMPTRLD makes it
	 * the current one (24.11.3).  ferry has one vCPU, so it stays
	 * current from here on. */
	__asm__ volatile("vmclear %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	if (!fail)
		__asm__ volatile("vmptrld %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	if (fail) {
		log_err("VMX: cannot load the VMCS: %s", vmx_insn_error_name((u32)vmcs_read(VMCS_INSN_ERROR)));
		return -E_IO;
	}
	if (!write_controls(xv, vcpu->vm) || !write_host_state() || !write_guest_state(xv, bs)) {
		log_err("VMX: a VMWRITE failed: %s", vmx_insn_error_name((u32)vmcs_read(VMCS_INSN_ERROR)));
		return -E_IO;
	}

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
	vcpu->regs.mode = X86_MODE_64;
	xv->exit_rip = bs->rip;
	return 0;
}

/* ---- MSRs held in the VMCS ------------------------------------------------ */
#define EFER_WRITABLE (EFER_SCE | EFER_LME | EFER_NXE)

static bool vmx_msr_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_EFER:
		*val = vcpu->regs.efer;
		return true;
	case MSR_IA32_PAT:
		*val = vmcs_read(VMCS_GUEST_IA32_PAT);
		return true;
	}
	return false;
}

static bool vmx_msr_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	switch (msr) {
	case MSR_EFER:
		/* LMA is the CPU's to set; LME may not change under paging, nor
		 * may reserved bits be set (#GP, as on hardware). */
		if ((val & ~(EFER_WRITABLE | EFER_LMA)) ||
		    ((val ^ vcpu->regs.efer) & EFER_LME && vcpu->regs.cr0 & CR0_PG))
			return false;
		vcpu->regs.efer = (val & ~EFER_LMA) | (vcpu->regs.efer & EFER_LMA);
		return true;
	case MSR_IA32_PAT:
		if (!pat_valid(val))
			return false;
		vmcs_write(VMCS_GUEST_IA32_PAT, val);
		return true;
	}
	return false;
}

/* External-interrupt exiting (24.6.1), with "acknowledge interrupt on exit"
 * clear (probe made sure of it): the interrupt stays pending in the local
 * APIC after the exit, and ferry takes it through its own IDT when the
 * core opens a window (irq_poll).  The guest's RFLAGS.IF cannot hold it
 * off (25.3).
 *
 * The VMX-preemption timer (25.5.1) backs it up where the CPU has one: the
 * guest never runs longer than INTR_WATCHDOG_US without an exit, which the
 * core sees as EXIT_INTR too.  On hardware ferry's own timer interrupts
 * come first and the watchdog never fires.  Bochs 2.7 needs it: its VM
 * entry recomputes interrupt masking from the guest's RFLAGS.IF before it
 * enters guest mode (cpu/vmx.cc, setEFlags), so with a guest that runs
 * with IF clear, external interrupts stop causing exits after the first. */
#define INTR_WATCHDOG_US 2000

/* The pin controls for intr_exiting and poll_exits: external interrupts
 * exit with the first; the preemption timer runs with either, every
 * INTR_WATCHDOG_US for the first, VCPU_POLL_US for the second alone. */
static void vmx_pin_update(struct vmx_vcpu *xv)
{
	u32 pin = vmx.pin_ctl;
	if (xv->intr_exiting)
		pin |= PIN_EXT_INTR_EXITING;
	if ((xv->intr_exiting || xv->poll_exits) && (vmx.pin.may1 & PIN_PREEMPTION_TIMER)) {
		u64 us = xv->poll_exits ? VCPU_POLL_US : INTR_WATCHDOG_US;
		u64 ticks = (time_tsc_khz() * us / 1000) >> VMX_MISC_PREEMPTION_SHIFT(vmx.misc);
		pin |= PIN_PREEMPTION_TIMER;
		vmcs_write(VMCS_PREEMPTION_TIMER_VALUE, MIN(MAX(ticks, 1), 0xFFFFFFFFu));
	}
	vmcs_write(VMCS_PIN_CONTROLS, pin);
}

static void vmx_intr_exiting(struct vcpu *vcpu, bool on)
{
	struct vmx_vcpu *xv = vcpu->arch;
	xv->intr_exiting = on;
	vmx_pin_update(xv);
}

static void vmx_poll_exits(struct vcpu *vcpu, bool on)
{
	struct vmx_vcpu *xv = vcpu->arch;
	if (xv->poll_exits == on)
		return;
	xv->poll_exits = on;
	vmx_pin_update(xv);
}

/* ---- EPT ------------------------------------------------------------------- */
struct invept_desc {
	u64 eptp;
	u64 reserved;
} __packed;

/* INVEPT: drops cached guest-physical translations after nested mappings
 * changed (28.3.3.4): the one EPT context when the CPU can, else all of them.
 * Probe refused CPUs without INVEPT. */
static void vmx_ept_flush(struct vcpu *vcpu)
{
	const struct vmx_vm *v = vcpu->vm->arch_data;
	struct invept_desc d = { .eptp = v->eptp, .reserved = 0 };
	u64 type = vmx.ept_vpid & EPT_CAP_INVEPT_SINGLE ? INVEPT_SINGLE_CONTEXT : INVEPT_ALL_CONTEXT;
	__asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

const struct hv_arch vmx_arch = {
	.name = "Intel VMX with EPT",
	.probe = vmx_probe,
	.log_features = vmx_log_features,
	.cpu_init = vmx_cpu_init,
	.nested = &vmx_ept_format,
	.vm_init = vmx_vm_init,
	.vcpu_init = vmx_vcpu_init,
	.run = vmx_run,
	.inject_exception = vmx_inject_exception,
	.step_trap = vmx_step_trap,
	.io_intercept = vmx_io_intercept,
	.msr_intercept = vmx_msr_intercept,
	.msr_read = vmx_msr_read,
	.msr_write = vmx_msr_write,
	.intr_exiting = vmx_intr_exiting,
	.poll_exits = vmx_poll_exits,
	.flush_nested_tlb = vmx_ept_flush,
	.dump = vmx_dump,
};
