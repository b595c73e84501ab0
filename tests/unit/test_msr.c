/* The guest's MSR policy (vm/msr.c): what reaches the hardware, what exits,
 * and what ferry answers for an exit. */
#include "check.h"
#include "fake_arch.h"
#include "fake_hv.h"
#include "vm/msr.h"
#include "x86/msr.h"

#define APIC_BOOT (0xFEE00000ULL | APIC_BASE_ENABLE | APIC_BASE_BSP)
#define R 1
#define W 2

static struct vm vm;

static void setup(bool owns_timer)
{
	fake_vm_init(&vm);
	msr_policy_apply(&vm, owns_timer, APIC_BOOT);
}

TEST(reads_reach_the_hardware_except_ferrys)
{
	setup(true);
	/* Information and firmware state: hardware (a missing one #GPs there). */
	CHECK_EQ(fake_msr_intercepted(MSR_IA32_PLATFORM_ID) & R, 0);
	CHECK_EQ(fake_msr_intercepted(MSR_IA32_MTRR_PHYSBASE0) & R, 0);
	CHECK_EQ(fake_msr_intercepted(MSR_IA32_MCG_STATUS) & R, 0);
	CHECK_EQ(fake_msr_intercepted(MSR_IA32_APIC_BASE) & R, 0);
	CHECK_EQ(fake_msr_intercepted(0xC0010010) & R, 0); /* AMD SYSCFG */
	/* ferry's virtualization and what describes it: exit. */
	static const u32 trapped[] = { MSR_EFER, MSR_IA32_PAT, MSR_IA32_FEATURE_CONTROL, MSR_IA32_VMX_BASIC,
				       MSR_IA32_VMX_VMFUNC, MSR_VM_CR, MSR_VM_HSAVE_PA, MSR_X2APIC_FIRST, 0x830,
				       MSR_X2APIC_LAST };
	for (unsigned i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++)
		CHECK_EQ(fake_msr_intercepted(trapped[i]), R | W);
	/* Outside the permission maps: always exits (then #GP). */
	CHECK_EQ(fake_msr_intercepted(0x40000000), -1);
}

TEST(writes_exit_except_the_guests_own_state)
{
	setup(true);
	static const u32 hw[] = { MSR_LSTAR, MSR_STAR, MSR_SFMASK, MSR_FS_BASE, MSR_KERNEL_GS_BASE, MSR_TSC_AUX,
				  MSR_IA32_SYSENTER_EIP, MSR_IA32_SPEC_CTRL, MSR_IA32_PRED_CMD, MSR_IA32_MCG_STATUS,
				  MSR_IA32_MC0_CTL + 1, MSR_IA32_MC_LAST, MSR_IA32_PERFEVTSEL0, MSR_K7_PERF_FIRST,
				  MSR_IA32_TSC_DEADLINE };
	for (unsigned i = 0; i < sizeof(hw) / sizeof(hw[0]); i++)
		CHECK_EQ(fake_msr_intercepted(hw[i]) & W, 0);
	/* Host-wide state a guest must not change. */
	static const u32 trapped[] = { MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_APIC_BASE, MSR_IA32_MTRR_PHYSBASE0,
				       MSR_IA32_MTRR_DEF_TYPE, MSR_IA32_MISC_ENABLE, MSR_IA32_BIOS_SIGN_ID, 0x79,
				       0xC0010010, 0xC0010015, 0xC0010020, MSR_VM_HSAVE_PA };
	for (unsigned i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++)
		CHECK(fake_msr_intercepted(trapped[i]) & W);
}

TEST(server_keeps_the_apic_timer)
{
	setup(false);
	CHECK(fake_msr_intercepted(MSR_IA32_TSC_DEADLINE) & W);
	CHECK(!msr_guest_writes_hw(MSR_IA32_TSC_DEADLINE, false));
	CHECK(msr_guest_writes_hw(MSR_IA32_TSC_DEADLINE, true));
}

TEST(feature_control_reads_locked_without_vmx)
{
	setup(true);
	u64 v = 0xFF;
	CHECK(msr_emulate_read(&vm.vcpu, MSR_IA32_FEATURE_CONTROL, &v));
	CHECK_EQ(v, FEATURE_CONTROL_LOCK);
	CHECK(!msr_emulate_read(&vm.vcpu, MSR_VM_HSAVE_PA, &v)); /* #GP */
	CHECK(!msr_emulate_read(&vm.vcpu, MSR_IA32_VMX_BASIC, &v));
}

TEST(apic_base_stays_put)
{
	setup(true);
	fake_hv_reset();
	CHECK(msr_emulate_write(&vm.vcpu, MSR_IA32_APIC_BASE, APIC_BOOT));
	CHECK(msr_emulate_write(&vm.vcpu, MSR_IA32_APIC_BASE, APIC_BOOT & ~(u64)APIC_BASE_BSP)); /* BSP is read-only */
	CHECK_EQ(fake_log_by_level[LOG_WARN], 0);
	CHECK(!msr_emulate_write(&vm.vcpu, MSR_IA32_APIC_BASE, APIC_BOOT | APIC_BASE_X2APIC)); /* x2APIC mode */
	CHECK(!msr_emulate_write(&vm.vcpu, MSR_IA32_APIC_BASE, APIC_BOOT & ~(u64)APIC_BASE_ENABLE)); /* off */
	CHECK(!msr_emulate_write(&vm.vcpu, MSR_IA32_APIC_BASE, (APIC_BOOT & ~APIC_BASE_ADDR) | 0xFED00000)); /* moved */
	CHECK_EQ(fake_log_by_level[LOG_WARN], 3);
	CHECK(!msr_emulate_write(&vm.vcpu, MSR_IA32_MTRR_DEF_TYPE, 0)); /* no other write is emulated */
}

int main(void)
{
	RUN(reads_reach_the_hardware_except_ferrys);
	RUN(writes_exit_except_the_guests_own_state);
	RUN(server_keeps_the_apic_timer);
	RUN(feature_control_reads_locked_without_vmx);
	RUN(apic_base_stays_put);
	return CHECK_SUMMARY();
}
