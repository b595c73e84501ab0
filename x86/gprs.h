/* Assembler macros for the world switches (svm/svm_entry.S,
 * vmx/vmx_entry.S): moving the guest's general registers between the
 * CPU and struct vcpu_regs.gpr[] (enum x86_gpr order, 8 bytes each), and
 * keeping ferry's callee-saved registers across the guest's run.  RSP is
 * never here (both VMCB and VMCS hold it); RAX only where the back end
 * does not keep it in its control block (with_rax=1: VMX). */
#ifndef FERRY_X86_GPRS_H
#define FERRY_X86_GPRS_H
#ifndef __ASSEMBLY__
#error "x86/gprs.h is for assembly files (its GPR_* names are enum x86_gpr's in C)"
#endif

#define GPR(r) (8 * (r))
#define GPR_RAX 0
#define GPR_RCX 1
#define GPR_RDX 2
#define GPR_RBX 3
#define GPR_RBP 5
#define GPR_RSI 6
#define GPR_RDI 7
#define GPR_R8 8
#define GPR_R9 9
#define GPR_R10 10
#define GPR_R11 11
#define GPR_R12 12
#define GPR_R13 13
#define GPR_R14 14
#define GPR_R15 15

/* ferry's callee-saved registers (System V AMD64 ABI). */
.macro HOST_PUSH_CALLEE_SAVED
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro HOST_POP_CALLEE_SAVED
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
.endm

/* Loads the guest's registers from the array at %rdi, %rdi itself last.
 * MOVs only: the flags are untouched. */
.macro GUEST_GPRS_LOAD with_rax=0
	.if \with_rax
	mov GPR(GPR_RAX)(%rdi), %rax
	.endif
	mov GPR(GPR_RCX)(%rdi), %rcx
	mov GPR(GPR_RDX)(%rdi), %rdx
	mov GPR(GPR_RBX)(%rdi), %rbx
	mov GPR(GPR_RBP)(%rdi), %rbp
	mov GPR(GPR_RSI)(%rdi), %rsi
	mov GPR(GPR_R8)(%rdi), %r8
	mov GPR(GPR_R9)(%rdi), %r9
	mov GPR(GPR_R10)(%rdi), %r10
	mov GPR(GPR_R11)(%rdi), %r11
	mov GPR(GPR_R12)(%rdi), %r12
	mov GPR(GPR_R13)(%rdi), %r13
	mov GPR(GPR_R14)(%rdi), %r14
	mov GPR(GPR_R15)(%rdi), %r15
	mov GPR(GPR_RDI)(%rdi), %rdi
.endm

/* Stores the guest's registers into the array at %rdi; the guest's own
 * RDI must already be on the stack at (%rsp).  Clobbers %rax, the guest's
 * RAX having been stored first when with_rax=1; pops the saved RDI. */
.macro GUEST_GPRS_SAVE with_rax=0
	.if \with_rax
	mov %rax, GPR(GPR_RAX)(%rdi)
	.endif
	mov %rcx, GPR(GPR_RCX)(%rdi)
	mov %rdx, GPR(GPR_RDX)(%rdi)
	mov %rbx, GPR(GPR_RBX)(%rdi)
	mov %rbp, GPR(GPR_RBP)(%rdi)
	mov %rsi, GPR(GPR_RSI)(%rdi)
	mov %r8, GPR(GPR_R8)(%rdi)
	mov %r9, GPR(GPR_R9)(%rdi)
	mov %r10, GPR(GPR_R10)(%rdi)
	mov %r11, GPR(GPR_R11)(%rdi)
	mov %r12, GPR(GPR_R12)(%rdi)
	mov %r13, GPR(GPR_R13)(%rdi)
	mov %r14, GPR(GPR_R14)(%rdi)
	mov %r15, GPR(GPR_R15)(%rdi)
	pop %rax
	mov %rax, GPR(GPR_RDI)(%rdi)
.endm

#endif
