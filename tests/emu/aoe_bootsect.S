/* A boot sector for test_aoe's iPXE test (sanboot aoe:e0.0).  Proves the
 * sector ran and that the SAN disk iPXE hooked as INT 13h drive DL works:
 * prints a line on COM1, reads one sector at the LBA in dap_lba through
 * INT 13h AH=42h (extended read), prints the first TOKEN_LEN bytes of that
 * sector (the test puts a random printable token there) and halts.
 *
 * Built by the test with gcc -m32 -c and ld --oformat binary at 0x7c00;
 * the test patches dap_lba (offset DAP_LBA_OFF, checked by the test
 * against the symbol's address) before it writes the sector to the image. */
	.code16
	.text
	.globl	_start
_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7c00, %sp
	sti
	movb	%dl, drive

	movw	$msg_ran, %si
	call	puts

	movb	$0x42, %ah		/* extended read: DS:SI = the packet */
	movb	drive, %dl
	movw	$dap, %si
	int	$0x13
	jc	read_failed
	testb	%ah, %ah
	jnz	read_failed

	movw	$msg_token, %si
	call	puts
	movw	$0x7e00, %si
	movw	$32, %cx		/* TOKEN_LEN */
1:	lodsb
	call	putc
	loop	1b
	movw	$msg_end, %si
	call	puts
	jmp	halt

read_failed:
	movw	$msg_fail, %si
	call	puts
halt:
	cli
	hlt
	jmp	halt

/* One byte in AL to COM1, when the transmitter holds no byte. */
putc:
	pushw	%dx
	pushw	%ax
	movw	$0x3fd, %dx
2:	inb	%dx, %al
	testb	$0x20, %al
	jz	2b
	popw	%ax
	movw	$0x3f8, %dx
	outb	%al, %dx
	popw	%dx
	ret

/* The NUL-terminated string at DS:SI to COM1. */
puts:
	lodsb
	testb	%al, %al
	jz	3f
	call	putc
	jmp	puts
3:	ret

msg_ran:	.asciz	"\r\nFERRY-AOE-BOOT ran\r\n"
msg_token:	.asciz	"FERRY-AOE-BOOT token "
msg_end:	.asciz	"\r\nFERRY-AOE-BOOT halt\r\n"
msg_fail:	.asciz	"FERRY-AOE-BOOT int13 read failed\r\n"
drive:		.byte	0

	.balign	4
dap:	.byte	16, 0		/* size of the packet, reserved */
	.word	1		/* sectors */
	.word	0x7e00, 0	/* buffer offset, segment */
	.globl	dap_lba
dap_lba:
	.quad	0		/* patched by the test */

	.org	510
	.byte	0x55, 0xaa
