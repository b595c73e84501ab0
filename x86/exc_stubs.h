/* Assembler macros for an x86-64 exception entry table, shared by ferry
 * (platform/trap.S) and its guest OS (guest/trap.S).
 *
 * EXCEPTION_STUBS common: 32 stubs, trap_stub_0 .. trap_stub_31, each
 * pushing an error code of 0 where the CPU pushes none (so every frame has
 * the same shape), then the vector, then jumping to `common`.
 * EXCEPTION_STUB_TABLE name: a table of their 32 addresses, for the IDT.
 * PUSH_CALLER_SAVED / POP_CALLER_SAVED: around the call into C. */
#ifndef FERRY_X86_EXC_STUBS_H
#define FERRY_X86_EXC_STUBS_H
#ifndef __ASSEMBLY__
#error "x86/exc_stubs.h is for assembly files"
#endif

.macro EXCEPTION_STUB vec, has_err, common
	.align 16
trap_stub_\vec:
	.if \has_err == 0
	push $0
	.endif
	push $\vec
	jmp \common
.endm

/* SDM Vol. 3A table 6-1: vectors 8, 10-14, 17, 21, 29 and 30 push an error
 * code. */
.macro EXCEPTION_STUBS common
	.irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
	EXCEPTION_STUB \v, 0, \common
	.endr
	.irp v, 8,10,11,12,13,14,17,21,29,30
	EXCEPTION_STUB \v, 1, \common
	.endr
.endm

.macro EXCEPTION_STUB_TABLE name
	.align 8
	.globl \name
\name:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_stub_\v
	.endr
.endm

/* The registers a C handler called from an entry stub may clobber (System
 * V AMD64 ABI), pushed in this order: a C struct describing the frame lists
 * them from r11 up to rax. */
.macro PUSH_CALLER_SAVED
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
.endm

.macro POP_CALLER_SAVED
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
.endm

#endif
