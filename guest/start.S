/* Guest kernel entry (ferry's boot handoff: lib/guest_abi.h): long
 * mode, RDI = struct ferry_boot_info.  Switch to our own stack and go. */
	.section .text.start, "ax"
	.globl guest_start
guest_start:
	cli
	mov $guest_stack_top, %rsp
	xor %rbp, %rbp
	call guest_main
1:	hlt
	jmp 1b

	.section .bss
	.align 16
	.skip 256 * 1024
guest_stack_top:
