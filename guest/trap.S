/* The guest's exception entry and a recovery point for tests.
 *
 * int guest_try(int (*fn)(void *), void *arg)
 *   calls fn(arg) and returns its result; if an exception hits while fn
 *   runs, the handler unwinds to here and guest_try returns
 *   -(1000 + vector) instead.
 * Two interrupt vectors, 0x26 and 0x27, have entries for device tests. */
#include "x86/exc_stubs.h"

	.text
	EXCEPTION_STUBS trap_common

trap_common:
	PUSH_CALLER_SAVED
	mov %rsp, %rdi
	call guest_trap              /* may redirect the return frame */
	POP_CALLER_SAVED
	add $16, %rsp                /* vector, error code */
	iretq

/* Interrupt entries for the device tests (guest_irq_install): the same
 * frame as an exception's, with error code 0. */
.macro IRQ_STUB vec
	.globl guest_irq_stub_\vec
guest_irq_stub_\vec:
	push $0
	push $\vec
	jmp irq_common
.endm
	IRQ_STUB 0x26
	IRQ_STUB 0x27

irq_common:
	PUSH_CALLER_SAVED
	mov %rsp, %rdi
	call guest_irq
	POP_CALLER_SAVED
	add $16, %rsp
	iretq

	.globl guest_try
guest_try:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, guest_try_rsp(%rip)
	mov %rdi, %rax
	mov %rsi, %rdi
	call *%rax
	movq $0, guest_try_rsp(%rip)
	jmp 1f
	.globl guest_try_landing
guest_try_landing:                   /* RSP = guest_try_rsp, RAX = result */
	movq $0, guest_try_rsp(%rip)
1:	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

	.section .rodata
	EXCEPTION_STUB_TABLE guest_trap_stubs
