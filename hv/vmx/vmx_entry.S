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
#define G(r) (8 * r)
#define RAX 0
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
#define VMCS_HOST_RSP 0x6C14

	.text
	.globl vmx_enter
vmx_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi               /* gprs: at (%rsp) when the exit lands */

	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax
	jbe vmx_fail            /* CF or ZF: no current VMCS */

	test %sil, %sil         /* launched?  MOVs below keep the flags */
	mov G(RAX)(%rdi), %rax
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
	jnz 1f
	vmlaunch
	jmp vmx_fail
1:	vmresume

vmx_fail:
	mov $2, %eax            /* VMfailValid (ZF) ... */
	jnc 2f
	mov $1, %eax            /* ... or VMfailInvalid (CF) */
2:	add $8, %rsp            /* gprs */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

	.globl vmx_exit_entry
vmx_exit_entry:
	push %rdi               /* guest RDI; stack: rdi, gprs */
	mov 8(%rsp), %rdi
	mov %rax, G(RAX)(%rdi)
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

	add $8, %rsp            /* gprs */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	xor %eax, %eax
	ret
