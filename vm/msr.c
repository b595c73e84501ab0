/* The guest's MSR policy (vm/msr.h). */
#include "msr.h"
#include "platform/console.h"
#include "x86/msr.h"

struct msr_span {
	u32 first, last;
};

static bool in(const struct msr_span *t, unsigned n, u32 msr)
{
	for (unsigned i = 0; i < n; i++)
		if (msr >= t[i].first && msr <= t[i].last)
			return true;
	return false;
}

/* Reads that exit: ferry's own state, or what would reveal it. */
static const struct msr_span read_trapped[] = {
	{ MSR_IA32_FEATURE_CONTROL, MSR_IA32_FEATURE_CONTROL }, /* emulated: locked, VMX off */
	{ MSR_IA32_PAT, MSR_IA32_PAT },                         /* the back end's guest copy */
	{ MSR_IA32_VMX_BASIC, MSR_IA32_VMX_VMFUNC }, /* VMX is hidden from the guest */
	{ MSR_X2APIC_FIRST, MSR_X2APIC_LAST },                  /* x2APIC mode is never enabled */
	{ MSR_EFER, MSR_EFER },                                 /* the back end's guest copy */
	{ MSR_VM_CR, MSR_VM_HSAVE_PA },                         /* SVM's own registers */
};

/* Writes the hardware may take: state of the guest's own execution that
 * ferry neither uses nor depends on.  STAR, LSTAR, CSTAR, SFMASK and
 * KERNEL_GS_BASE are not switched by VMX (nor TSC_AUX by either back end):
 * safe because ferry never executes SYSCALL, SYSRET, SWAPGS or RDTSCP. */
static const struct msr_span write_hw[] = {
	{ MSR_IA32_SPEC_CTRL, MSR_IA32_PRED_CMD },
	{ MSR_IA32_PMC0, MSR_IA32_PMC7 },
	{ MSR_IA32_FLUSH_CMD, MSR_IA32_FLUSH_CMD },
	{ MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_EIP },
	{ MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL },
	{ MSR_IA32_PERFEVTSEL0, MSR_IA32_PERFEVTSEL7 },
	{ MSR_IA32_DEBUGCTL, MSR_IA32_DEBUGCTL },
	{ MSR_IA32_MC0_CTL2, MSR_IA32_MC31_CTL2 },
	{ MSR_IA32_FIXED_CTR0, MSR_IA32_FIXED_CTR2 },
	{ MSR_IA32_FIXED_CTR_CTRL, MSR_IA32_PERF_GLOBAL_OVF_CTRL },
	{ MSR_IA32_MC0_CTL, MSR_IA32_MC_LAST },
	{ MSR_IA32_XSS, MSR_IA32_XSS },
	{ MSR_STAR, MSR_SFMASK },
	{ MSR_FS_BASE, MSR_TSC_AUX },
	{ MSR_K7_PERF_FIRST, MSR_K7_PERF_LAST },
	{ MSR_F15H_PERF_FIRST, MSR_F15H_PERF_LAST },
};

bool msr_guest_reads_hw(u32 msr) { return !in(read_trapped, ARRAY_SIZE(read_trapped), msr); }

bool msr_guest_writes_hw(u32 msr, bool guest_owns_lapic_timer)
{
	if (msr == MSR_IA32_TSC_DEADLINE)
		return guest_owns_lapic_timer;
	return in(write_hw, ARRAY_SIZE(write_hw), msr);
}

static u64 boot_apic_base;

void msr_policy_apply(struct vm *vm, bool guest_owns_lapic_timer, u64 apic_base)
{
	boot_apic_base = apic_base;
	/* The three ranges the permission maps can cover; MSRs outside them
	 * always exit (and get #GP below). */
	static const u32 base[] = { 0, MSR_RANGE_HIGH, MSR_RANGE_AMD };
	for (unsigned r = 0; r < ARRAY_SIZE(base); r++)
		for (u32 msr = base[r]; msr < base[r] + 0x2000; msr++)
			vm->arch->msr_intercept(vm, msr, !msr_guest_reads_hw(msr),
						!msr_guest_writes_hw(msr, guest_owns_lapic_timer));
}

bool msr_emulate_read(struct vcpu *vcpu, u32 msr, u64 *val)
{
	(void)vcpu;
	if (msr == MSR_IA32_FEATURE_CONTROL) {
		/* Locked with VMX off: what firmware leaves when it forbids VMX. */
		*val = FEATURE_CONTROL_LOCK;
		return true;
	}
	return false;
}

bool msr_emulate_write(struct vcpu *vcpu, u32 msr, u64 val)
{
	(void)vcpu;
	if (msr == MSR_IA32_APIC_BASE) {
		/* The local APIC stays where it is, enabled, in xAPIC mode: ferry
		 * guards its page (and with it INIT and SIPI).  Writing the value
		 * it has is accepted; any change is refused. */
		if ((val & ~(u64)APIC_BASE_BSP) == (boot_apic_base & ~(u64)APIC_BASE_BSP))
			return true;
		log_guest_warn("guest: refused to move, disable or switch the local APIC (APIC_BASE %lx -> %lx)",
			 boot_apic_base, val);
		return false;
	}
	return false;
}
