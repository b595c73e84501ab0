/* The guest's MSRs: which ones the hardware serves directly, which exit to
 * ferry, and what ferry answers for those (docs/architecture.md, "MSRs").
 *
 * Reads go to the hardware (no exit) except for the MSRs that describe or
 * hold ferry's virtualization (EFER, PAT, the VMX capabilities, VM_CR,
 * VM_HSAVE_PA, FEATURE_CONTROL) and the x2APIC range.  Writes exit unless
 * the MSR is on a short list of registers that only affect the guest's
 * own execution (syscall entry, segment bases, speculation control,
 * machine-check banks, performance counters).  An MSR the CPU lacks then
 * raises #GP in the guest, never in ferry, and an exit that ferry does not
 * answer injects #GP: no guest MSR access ever runs RDMSR/WRMSR inside
 * ferry on the guest's behalf. */
#ifndef FERRY_VM_MSR_H
#define FERRY_VM_MSR_H

#include "vm.h"

/* Programs the back end's MSR permissions.  guest_owns_lapic_timer:
 * TSC_DEADLINE goes to the hardware (local and client roles; the server
 * keeps the timer for itself).  apic_base: the boot value of APIC_BASE,
 * the only one the guest may write. */
void msr_policy_apply(struct vm *vm, bool guest_owns_lapic_timer, u64 apic_base);

/* Does the hardware serve this access without an exit? (the policy, pure:
 * host-tested) */
bool msr_guest_reads_hw(u32 msr);
bool msr_guest_writes_hw(u32 msr, bool guest_owns_lapic_timer);

/* An exiting access the back end did not handle: true and the value (read)
 * when ferry emulates it; false means #GP. */
bool msr_emulate_read(struct vcpu *vcpu, u32 msr, u64 *val);
bool msr_emulate_write(struct vcpu *vcpu, u32 msr, u64 val);

#endif
