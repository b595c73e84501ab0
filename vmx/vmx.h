/* What the VMX back end's files share: the CPU's capabilities as probed,
 * the per-VM and per-vCPU state.  Nothing here is seen by the core, which
 * knows only vmx_arch (vm/vcpu.h). */
#ifndef FERRY_VMX_VMX_H
#define FERRY_VMX_VMX_H

#include "vmcs.h"
#include "vm/vcpu.h"

/* A VM-execution/exit/entry control word: what the CPU allows (capability
 * MSR, A.3-A.5): bits set in `must1` have to be 1, bits clear in `may1`
 * have to be 0. */
struct vmx_ctl_cap {
	u32 must1, may1;
};

struct vmx_caps {
	u64 basic;
	struct vmx_ctl_cap pin, proc, proc2, exit, entry;
	u64 ept_vpid;      /* 0 when the MSR is absent */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	/* The controls ferry runs every guest with (before per-vCPU toggles). */
	u32 pin_ctl, proc_ctl, proc2_ctl, exit_ctl, entry_ctl;
	bool unrestricted; /* unrestricted guest in use: CR0.PE/PG are the guest's */
	u64 misc;          /* IA32_VMX_MISC */
	u64 xcr0_supported; /* 0: no XSAVE, XSETBV exits end the guest */
};
extern struct vmx_caps vmx;

struct vmx_vm {
	u8 *io_bitmap;  /* A (ports 0-0x7FFF) then B (0x8000-0xFFFF): two pages */
	u8 *msr_bitmap; /* one page (24.6.9) */
	u64 eptp;
};

struct vmx_vcpu {
	void *vmcs;
	bool launched;          /* VMLAUNCH done: VMRESUME from now on */
	bool intr_exiting;
	bool poll_exits;
	u32 pending_event;      /* VM-entry interruption information, 0 if none */
	u32 pending_error;
	u32 pending_insn_len;   /* for software interrupts and exceptions */
	u64 cr0_mask, cr4_mask; /* guest/host masks: the bits ferry owns */
	u64 exit_rip;           /* RIP at the last exit: was it advanced? */
	/* The guest's CR0, CR3, CR4 (as it sees them) and EFER as last read
	 * from or written to the VMCS: only changes are written back. */
	u64 cr0, cr3, cr4, efer;
};

/* The world switch (vmx_entry.S): 0 after a VM exit, 1 when VMLAUNCH or
 * VMRESUME failed with VMfailInvalid (CF), 2 with VMfailValid (ZF). */
int vmx_enter(u64 *gprs, bool launched);

/* The EPT format for vm/nested.c and the EPTP for a root (vmx_ept.c). */
extern const struct nested_format vmx_ept_format;
u64 vmx_eptp(hpa_t root);

void vmx_run(struct vcpu *vcpu, struct vm_exit *exit);
void vmx_inject_exception(struct vcpu *vcpu, u8 vector, bool has_error, u32 error);
void vmx_step_trap(struct vcpu *vcpu);

/* Diagnostics (vmx_diag.c): the meaning of a VM-instruction error
 * number; a report naming what the current VMCS breaks when VM entry
 * failed; the guest state for exit reports. */
const char *vmx_insn_error_name(u32 err);
void vmx_report_entry_failure(u32 insn_error, bool guest_state);
void vmx_dump(struct vcpu *vcpu);

#endif
