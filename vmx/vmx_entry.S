/* The VMX world switch.
 *
 * int vmx_enter(u64 *gprs, bool launched)
 *
 * gprs[] is struct vcpu_regs.gpr (enum x86_gpr order).  The VMCS holds the
 * guest's RSP and RIP (and ferry's, for the exit); every other general
 * register is ours to load and save (SDM Vol. 3C, 26.3.2 and 27.3).
 * VMLAUNCH on the first entry of a VMCS, VMRESUME after (30.3).
 *
 * Returns 0 after a VM exit.  When the instruction itself fails nothing
 * changed but the flags: 1 for VMfailInvalid (CF: no current VMCS), 2 for
 * VMfailValid (ZF: the VM-instruction error field says why).  A VM entry
 * that fails on the guest state instead comes back as a VM exit with bit
 * 31 of the exit reason set.
 *
 * On a VM exit the CPU loads RSP and RIP from the host-state area: RSP is
 * written here before every entry, pointing at the saved gprs pointer; RIP
 * is vmx_exit_entry (vmx.c).  RFLAGS is 0x2 after an exit (27.5.3): IF and
 * DF clear.
 */
#include "x86/gprs.h"

#define VMCS_HOST_RSP 0x6C14

	.text
	.globl vmx_enter
vmx_enter:
	HOST_PUSH_CALLEE_SAVED
	push %rdi               /* gprs: at (%rsp) when the exit lands */

	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	jbe vmx_fail            /* CF or ZF: no current VMCS */

	test %sil, %sil         /* launched?  MOVs below keep the flags */
	GUEST_GPRS_LOAD with_rax=1
	jnz 1f
	vmlaunch
	jmp vmx_fail
1:	vmresume

vmx_fail:
	mov $2, %eax            /* VMfailValid (ZF) ... */
	jnc 2f
	mov $1, %eax            /* ... or VMfailInvalid (CF) */
2:	add $8, %rsp            /* gprs */
	HOST_POP_CALLEE_SAVED
	ret

	.globl vmx_exit_entry
vmx_exit_entry:
	push %rdi               /* guest RDI; stack: rdi, gprs */
	mov 8(%rsp), %rdi
	GUEST_GPRS_SAVE with_rax=1

	add $8, %rsp            /* gprs */
	HOST_POP_CALLEE_SAVED
	xor %eax, %eax
	ret
