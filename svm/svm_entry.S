/* The SVM world switch.
 *
 * void svm_vmrun(u64 *gprs, hpa_t guest_vmcb, hpa_t host_vmcb)
 *
 * gprs[] is struct vcpu_regs.gpr (enum x86_gpr order).  RAX and RSP live in
 * the VMCB and are not loaded from gprs.  VMRUN saves and restores only part
 * of the host state (APM Vol. 2, 15.5.1): FS, GS, TR, LDTR and the syscall
 * MSRs move with VMLOAD/VMSAVE, so we load the guest's before VMRUN, save
 * them after #VMEXIT and reload ferry's own.  GIF is cleared by the caller.
 */
#include "x86/gprs.h"

	.text
	.globl svm_vmrun
svm_vmrun:
	HOST_PUSH_CALLEE_SAVED
	push %rdi               /* gprs */
	push %rdx               /* host VMCB */

	mov %rsi, %rax          /* guest VMCB: VMRUN's operand is RAX */
	GUEST_GPRS_LOAD

	vmload %rax
	vmrun %rax
	vmsave %rax             /* RAX is ferry's again: the guest VMCB address */

	push %rdi               /* guest RDI; stack: rdi, host vmcb, gprs */
	mov 16(%rsp), %rdi
	GUEST_GPRS_SAVE

	pop %rax                /* host VMCB */
	vmload %rax
	add $8, %rsp            /* gprs */
	HOST_POP_CALLEE_SAVED
	ret
