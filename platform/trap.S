/* Exception entry stubs: every vector pushes a uniform frame (an error code
 * of 0 where the CPU pushes none) and calls trap_handler(frame), which
 * returns only for an NMI. */
#include "x86/exc_stubs.h"

	.text

	EXCEPTION_STUBS trap_common

trap_common:
	push %rax
	push %rcx
	push %rdx
	push %rbx
	push %rbp
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	mov %rsp, %rbx          /* callee-saved; its own value is in the frame */
	and $-16, %rsp
	call trap_handler
	/* trap_handler returns for an NMI only: back to where it struck. */
	mov %rbx, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rbp
	pop %rbx
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp           /* vector and error code */
	iretq

/* Interrupt vectors 32-255: save the caller-saved registers, call
 * irq_dispatch(vector), return.  ferry only takes interrupts at points it
 * chooses (sti; nop; cli), so nothing else needs saving. */
	.align 16
	.globl irq_stub_base
irq_stub_base:                      /* stub for vector v at base + (v - 32) * 16 */
	.set vec, 32
	.rept 224
	.align 16
	push $vec
	jmp irq_common
	.set vec, vec + 1
	.endr

irq_common:
	push %rbp
	PUSH_CALLER_SAVED
	mov 80(%rsp), %rdi          /* the vector */
	mov %rsp, %rbp
	and $-16, %rsp
	call irq_dispatch
	mov %rbp, %rsp
	POP_CALLER_SAVED
	pop %rbp
	add $8, %rsp
	iretq

	.section .rodata
	EXCEPTION_STUB_TABLE trap_stubs
