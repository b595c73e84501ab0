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
#define G(r) (8 * r)
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7
#define R8 8
#define R9 9
#define R10 10
#define R11 11
#define R12 12
#define R13 13
#define R14 14
#define R15 15

	.text
	.globl svm_vmrun
svm_vmrun:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi               /* gprs */
	push %rdx               /* host VMCB */

	mov %rsi, %rax          /* guest VMCB: VMRUN's operand is RAX */
	mov G(RCX)(%rdi), %rcx
	mov G(RDX)(%rdi), %rdx
	mov G(RBX)(%rdi), %rbx
	mov G(RBP)(%rdi), %rbp
	mov G(RSI)(%rdi), %rsi
	mov G(R8)(%rdi), %r8
	mov G(R9)(%rdi), %r9
	mov G(R10)(%rdi), %r10
	mov G(R11)(%rdi), %r11
	mov G(R12)(%rdi), %r12
	mov G(R13)(%rdi), %r13
	mov G(R14)(%rdi), %r14
	mov G(R15)(%rdi), %r15
	mov G(RDI)(%rdi), %rdi

	vmload %rax
	vmrun %rax
	vmsave %rax             /* RAX is ferry's again: the guest VMCB address */

	push %rdi               /* guest RDI; stack: rdi, host vmcb, gprs */
	mov 16(%rsp), %rdi
	mov %rcx, G(RCX)(%rdi)
	mov %rdx, G(RDX)(%rdi)
	mov %rbx, G(RBX)(%rdi)
	mov %rbp, G(RBP)(%rdi)
	mov %rsi, G(RSI)(%rdi)
	mov %r8, G(R8)(%rdi)
	mov %r9, G(R9)(%rdi)
	mov %r10, G(R10)(%rdi)
	mov %r11, G(R11)(%rdi)
	mov %r12, G(R12)(%rdi)
	mov %r13, G(R13)(%rdi)
	mov %r14, G(R14)(%rdi)
	mov %r15, G(R15)(%rdi)
	pop %rax
	mov %rax, G(RDI)(%rdi)

	pop %rax                /* host VMCB */
	vmload %rax
	add $8, %rsp            /* gprs */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
