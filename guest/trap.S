/* The guest's exception entry and a recovery point for tests.
 *
 * int guest_try(int (*fn)(void *), void *arg)
 *   calls fn(arg) and returns its result; if an exception hits while fn
 *   runs, the handler unwinds to here and guest_try returns
 *   -(1000 + vector) instead. */
	.text
.macro STUB vec, has_err
trap_stub_\vec:
	.if \has_err == 0
	push $0
	.endif
	push $\vec
	jmp trap_common
.endm
STUB 0,0;  STUB 1,0;  STUB 2,0;  STUB 3,0;  STUB 4,0;  STUB 5,0;  STUB 6,0;  STUB 7,0
STUB 8,1;  STUB 9,0;  STUB 10,1; STUB 11,1; STUB 12,1; STUB 13,1; STUB 14,1; STUB 15,0
STUB 16,0; STUB 17,1; STUB 18,0; STUB 19,0; STUB 20,0; STUB 21,1; STUB 22,0; STUB 23,0
STUB 24,0; STUB 25,0; STUB 26,0; STUB 27,0; STUB 28,0; STUB 29,1; STUB 30,1; STUB 31,0

trap_common:
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov %rsp, %rdi
	call guest_trap              /* may redirect the return frame */
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	add $16, %rsp                /* vector, error code */
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
	.align 8
	.globl guest_trap_stubs
guest_trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
	.endr
