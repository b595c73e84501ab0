/* Exception entry stubs: every vector pushes a uniform frame (an error code
 * of 0 where the CPU pushes none) and calls trap_handler(frame). */
	.text
.macro STUB vec, has_err
	.align 16
trap_stub_\vec:
	.if \has_err == 0
	push $0
	.endif
	push $\vec
	jmp trap_common
.endm

/* SDM Vol. 3A table 6-1: vectors 8, 10-14, 17, 21, 29, 30 push an error code. */
STUB 0,0;  STUB 1,0;  STUB 2,0;  STUB 3,0;  STUB 4,0;  STUB 5,0;  STUB 6,0;  STUB 7,0
STUB 8,1;  STUB 9,0;  STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 20,0; STUB 21,1; STUB 22,0; STUB 23,0
STUB 24,0; STUB 25,0; STUB 26,0; STUB 27,0; STUB 28,0; STUB 29,1; STUB 30,1; STUB 31,0

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
	and $-16, %rsp
	call trap_handler
	/* trap_handler does not return. */
1:	cli
	hlt
	jmp 1b

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
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov 80(%rsp), %rdi          /* the vector */
	mov %rsp, %rbp
	and $-16, %rsp
	call irq_dispatch
	mov %rbp, %rsp
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	pop %rbp
	add $8, %rsp
	iretq

	.section .rodata
	.align 8
	.globl trap_stubs
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
	.endr
