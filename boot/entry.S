/* ferry's entry from a multiboot loader.
 *
 * Both headers live here: multiboot2 for GRUB (the ISO and USB images) and
 * multiboot 1 for QEMU's -kernel (fast test boots).  Either loader enters
 * at _start in 32-bit protected mode, paging off, with the magic in EAX and
 * the boot information in EBX.  We build an identity map of the first
 * 4 GiB with 2 MiB pages, enter long mode and call ferry_main(magic, info).
 *
 * The UEFI loader (boot/efi/) runs in long mode and enters at _start64
 * instead, found through the record described in boot/entry64.h.  _start64
 * leaves long mode and joins _start, so both loaders share one path: the
 * same page tables, the same GDT, the same long-mode switch.
 */
#include "entry64.h"
#include "x86/cpuid.h"
#include "x86/msr.h"

#define MB1_MAGIC 0x1BADB002
#define MB1_FLAGS 0x00000003 /* page-align modules, give memory info */
#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_PGE (1 << 7)
#define CR4_LA57 (1 << 12)
#define CR4_PCIDE (1 << 17)
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PS 0x80
#define COM1 0x3F8

	.section .multiboot, "a"
	.align 4
	.globl mb1_header, mb2_header
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)

	.align 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* Framebuffer tag (Multiboot2 3.1.10), optional, no preferred size or
	 * depth: GRUB keeps the UEFI GOP mode or sets a VBE mode on BIOS, and
	 * describes it in a framebuffer information tag for the screen
	 * console (platform/screen.c). */
	.short 5                /* type */
	.short 1                /* flags: optional */
	.long 20                /* size */
	.long 0, 0, 0           /* width, height, depth: no preference */
	.align 8
	/* end tag */
	.short 0
	.short 0
	.long 8
mb2_header_end:

	/* The 64-bit entry record (boot/entry64.h): 8-byte aligned, in the
	 * first 32 KiB of the file, like the multiboot2 header. */
	.align 8
	.globl ferry_entry64_record
ferry_entry64_record:
	.long FERRY_ENTRY64_MAGIC0
	.long FERRY_ENTRY64_MAGIC1
	.quad _start64

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	mov %eax, %edi          /* loader magic, first argument */
	mov %ebx, %esi          /* boot information, second argument */
	mov $boot_stack_top, %esp

	/* Long mode present?  CPUID 0x80000001 EDX bit 29 (SDM Vol. 2A CPUID). */
	mov $CPUID_LEAF_EXT_MAX, %eax
	cpuid
	cmp $CPUID_LEAF_EXT_FEATURES, %eax
	jb no_long_mode
	mov $CPUID_LEAF_EXT_FEATURES, %eax
	cpuid
	test $CPUID_EXT1_EDX_LM, %edx
	jz no_long_mode

	/* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. */
	mov $boot_pdpt, %eax
	or $(PTE_P | PTE_W), %eax
	mov %eax, boot_pml4
	mov $boot_pd, %eax
	or $(PTE_P | PTE_W), %eax
	xor %ecx, %ecx
1:	mov %eax, boot_pdpt(, %ecx, 8)
	add $4096, %eax
	inc %ecx
	cmp $4, %ecx
	jb 1b
	/* 2048 directory entries of 2 MiB: 0 .. 4 GiB. */
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $(PTE_P | PTE_W | PTE_PS), %eax
	mov %eax, boot_pd(, %ecx, 8)
	inc %ecx
	cmp $2048, %ecx
	jb 2b

	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PE | CR0_PG | CR0_WP), %eax
	mov %eax, %cr0

	lgdt boot_gdt_desc
	ljmp $0x08, $long_entry

	/* Prints a line on COM1 and stops: nothing else can run here. */
no_long_mode:
	mov $msg_no_lm, %esi
3:	lodsb
	test %al, %al
	jz 5f
	mov %al, %bl
	mov $(COM1 + 5), %dx
4:	inb %dx, %al
	test $0x20, %al
	jz 4b
	mov $COM1, %dx
	mov %bl, %al
	outb %al, %dx
	jmp 3b
5:	hlt
	jmp 5b

	/* From a loader in long mode (UEFI, after ExitBootServices): the
	 * multiboot2 magic in EDI, the information in ESI, both below 4 GiB,
	 * and the firmware's page tables, GDT and IDT still loaded.  We drop to
	 * 32-bit protected mode with paging off and join _start.  Leaving long
	 * mode (rather than switching page tables in place) also undoes state
	 * the firmware may have set that _start does not expect: 5-level paging
	 * (CR4.LA57 can only change with paging off), global pages, PCIDs.
	 * Every address used here is below 4 GiB and identity-mapped, as UEFI
	 * requires of the firmware's page tables on x64. */
	.code64
	.globl _start64
_start64:
	cli
	cld
	mov %edi, %eax              /* _start wants the magic in EAX... */
	mov %esi, %ebx              /* ...and the information in EBX */
	mov $boot_stack_top, %esp   /* writes all of RSP: off the firmware's stack */
	/* Clearing CR0.PG with CR4.PCIDE set faults (SDM Vol. 3A, CR4.PCIDE). */
	mov %cr4, %rcx
	and $~CR4_PCIDE, %rcx
	mov %rcx, %cr4
	lgdt boot_gdt_desc(%rip)
	pushq $0x18                 /* 32-bit code segment */
	pushq $compat_entry
	lretq

	.code32
compat_entry:
	mov $0x10, %cx
	mov %cx, %ds
	mov %cx, %es
	mov %cx, %ss
	mov %cx, %fs
	mov %cx, %gs
	/* Paging off makes long mode inactive (EFER.LMA clears); EFER.LME may
	 * stay set, _start sets it anyway (SDM Vol. 3A, "Switching Out of
	 * IA-32e Mode Operation"). */
	mov %cr0, %ecx
	and $~CR0_PG, %ecx
	mov %ecx, %cr0
	mov %cr4, %ecx
	and $~(CR4_LA57 | CR4_PGE), %ecx
	mov %ecx, %cr4
	jmp _start

	.code64
long_entry:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	mov %edi, %edi
	mov %esi, %esi
	call ferry_main
6:	cli
	hlt
	jmp 6b

	.section .rodata
msg_no_lm:
	.asciz "ferry: this CPU has no 64-bit long mode; ferry cannot run here\r\n"

	.align 16
boot_gdt:
	.quad 0                         /* null */
	.quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00CF92000000FFFF        /* 0x10: data, DPL 0 */
	.quad 0x00CF9A000000FFFF        /* 0x18: 32-bit code, DPL 0 (_start64) */
boot_gdt_end:
boot_gdt_desc:
	.short boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.section .bss.boot, "aw", @nobits
	.align 4096
	.globl boot_pml4, boot_pdpt, boot_pd
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096
	.align 16
boot_stack:
	.skip 64 * 1024
	.globl boot_stack_top
boot_stack_top:
