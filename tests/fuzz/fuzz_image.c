/* Fuzzes the parsers of boot images from the USB stick: the guest module
 * (vm/linux_boot.c: ferry's guest ELF, a Linux bzImage or vmlinux; its
 * placement and zero page) and the UEFI loader's ELF placement of ferry
 * itself (boot/efi/image.c).
 *
 * Input: a byte of arguments (the command line's length, an initrd or
 * not), then the file.  Oracles: a Linux image accepted has a power-of-two
 * alignment (or none: its own address), its entry inside its span, and a span
 * covering the kernel's bytes; the address linux_place picks is aligned,
 * in one guest RAM range with the whole span, below 4 GiB and clear of
 * the avoided range; a zero page filled holds the arguments; an ELF span
 * accepted is page-aligned and elf_place writes only inside it (its
 * buffer is exactly the span: ASan sees any byte outside); the file is
 * never read past its end (it is exactly the input's length). */
#include <string.h>
#include "fuzz.h"
#include "vm/linux_boot.h"
#include "lib/elf.h"
#include "boot/efi/image.h"
#include "tests/unit/fake_hv.h"
#include "tests/unit/fake_bzimage.h"

static void quiet(const char *line) { (void)line; }

static void linux_image(const u8 *file, size_t size, enum guest_kind kind, u8 args)
{
	struct linux_image li;
	if (linux_parse(file, size, kind, &li) != 0)
		return;
	fuzz_assert(li.kind == kind);
	fuzz_assert((li.align & (li.align - 1)) == 0); /* 0: not relocatable */
	fuzz_assert(li.entry_offset < li.span);
	if (kind == GUEST_LINUX_BZIMAGE) {
		u64 setup = ((u64)(li.hdr.setup_sects ? li.hdr.setup_sects : 4) + 1) * 512;
		fuzz_assert(setup <= size && li.span >= size - setup);
	}
	/* 256 MiB of guest RAM at 1 MiB, and 512 MiB at 4 GiB - 256 MiB (half above 4 GiB) */
	struct gmem ram = { 0 };
	gmem_add(&ram, 0x100000, 0x10100000);
	gmem_add(&ram, 0xF0000000, 0x110000000);
	struct mem_range avoid = { .base = 0x2000000, .len = 0x400000 };
	u64 at = linux_place(&li, &ram, &avoid, 1);
	if (!at)
		return;
	fuzz_assert(li.align ? at % li.align == 0 : at == li.pref_address);
	fuzz_assert(gmem_check(&ram, at, li.span) == 0);
	fuzz_assert(at + li.span <= 0x100000000ull);
	fuzz_assert(at + li.span <= avoid.base || at >= avoid.base + avoid.len);

	static struct linux_boot_params bp;
	memset(&bp, 0, sizeof(bp));
	static const struct linux_e820 e820[2] = { { 0x100000, 0x10000000, 1 }, { 0xF0000000, 0x20000000, 1 } };
	struct linux_boot_args a = { .load = at, .cmdline_gpa = 0x90000, .cmdline_len = (u32)args * 16,
				     .initrd_gpa = args & 1 ? 0x8000000 : 0, .initrd_size = args & 1 ? 0x100000 : 0,
				     .e820 = e820, .ne820 = 2 };
	if (linux_boot_params(&bp, &li, &a) != 0)
		return;
	fuzz_assert(bp.hdr.cmd_line_ptr == a.cmdline_gpa);
	fuzz_assert(bp.e820_entries == 2 && bp.e820_table[1].addr == 0xF0000000);
	fuzz_assert(a.cmdline_len <= li.hdr.cmdline_size || li.hdr.cmdline_size == 0);
}

static void efi_elf(const u8 *file, size_t size)
{
	uint64_t lo, hi;
	const char *why = NULL;
	if (elf_span(file, size, &lo, &hi, &why) != 0) {
		fuzz_assert(why != NULL);
		return;
	}
	fuzz_assert(lo < hi && lo % 4096 == 0 && hi % 4096 == 0 && hi <= 0x100000000ull);
	if (hi - lo > (1u << 20))
		return; /* room the fuzzer need not allocate */
	u8 *dst = malloc(hi - lo);
	elf_place(file, dst, lo, hi);
	entry64_find(dst, hi - lo);
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fake_log_hook = quiet;
	if (size < 1)
		return 0;
	u8 args = data[0];
	/* the file alone, in a buffer of exactly its size */
	size_t n = size - 1;
	u8 *file = malloc(n ? n : 1);
	memcpy(file, data + 1, n);
	enum guest_kind kind;
	if (guest_kind_of(file, n, &kind) == 0) {
		if (kind == GUEST_FERRY_ELF)
			efi_elf(file, n);
		else
			linux_image(file, n, kind, args);
	}
	efi_elf(file, n);
	free(file);
	return 0;
}

/* ---- Seeds: a bzImage, a vmlinux, an ELF like ferry's guest ------------- */

struct fake_elf {
	u8 args;
	struct elf64_ehdr eh;
	struct elf64_phdr ph[3];
	struct elf64_nhdr nh;
	char name[4];
	char desc[8];
	unsigned char body[0x3000];
} __packed;

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static u8 bz[1 + 0x6000];
	u8 *f = bz + 1;
	bz[0] = 9;
	fake_bzimage_header(f, 0x020F, LINUX_XLF_KERNEL_64);
	emit(bz, sizeof(bz));

	static struct fake_elf e;
	for (int note = 0; note < 2; note++) {
		memset(&e, 0, sizeof(e));
		e.args = 4;
		memcpy(e.eh.ident, "\x7f" "ELF\x02\x01\x01", 7);
		e.eh.type = 2;
		e.eh.machine = EM_X86_64;
		e.eh.entry = 0x1000000;
		e.eh.phoff = offsetof(struct fake_elf, ph) - 1;
		e.eh.phentsize = sizeof(struct elf64_phdr);
		e.eh.phnum = 3;
		u64 body = offsetof(struct fake_elf, body) - 1, nh = offsetof(struct fake_elf, nh) - 1;
		e.ph[0] = (struct elf64_phdr){ PT_LOAD, 5, body, 0xffffffff81000000ULL, 0x1000000, 0x1000, 0x1000, 0x200000 };
		e.ph[1] = (struct elf64_phdr){ PT_LOAD, 6, body + 0x1000, 0xffffffff81400000ULL, 0x1400000, 0x2000, 0x300000,
					       0x200000 };
		e.ph[2] = (struct elf64_phdr){ note ? PT_NOTE : 0, 4, nh, 0, 0, sizeof(e.nh) + 12, sizeof(e.nh) + 12, 4 };
		e.nh = (struct elf64_nhdr){ 4, 6, 6 };
		memcpy(e.name, "Xen", 4);
		memcpy(e.desc, "linux", 6);
		emit(&e, sizeof(e));
	}
}
