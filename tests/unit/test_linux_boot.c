/* The Linux boot protocol's pure half (vm/linux_boot.c): telling guest
 * kinds apart, checking bzImages and vmlinux files, placement, the E820
 * map and the zero page.  Images are synthesized here with the fields
 * Debian's kernel has (docs: ../shared/LINUX.md). */
#include "check.h"
#include <stdlib.h>
#include "vm/linux_boot.h"
#include "lib/elf.h"
#include "fake_bzimage.h"

/* A bzImage of size bytes: 39 setup sectors, protocol 2.15, 64-bit entry,
 * 2 MiB alignment, init_size 64 MiB. */
static unsigned char *fake_bzimage(size_t size, u16 version, u16 xlf)
{
	unsigned char *f = calloc(1, size);
	fake_bzimage_header(f, version, xlf);
	return f;
}

struct fake_elf {
	struct elf64_ehdr eh;
	struct elf64_phdr ph[3];
	struct elf64_nhdr nh;
	char name[4];
	char desc[8];
	unsigned char body[0x3000];
};

/* A vmlinux-shaped ELF: text at paddr 16 MiB (entry), data and bss after;
 * with_note adds Xen's GUEST_OS "linux" note. */
static struct fake_elf *fake_vmlinux(bool with_note)
{
	struct fake_elf *e = calloc(1, sizeof(*e));
	memcpy(e->eh.ident, "\x7f" "ELF\x02\x01\x01", 7);
	e->eh.machine = EM_X86_64;
	e->eh.entry = 0x1000000;
	e->eh.phoff = offsetof(struct fake_elf, ph);
	e->eh.phentsize = sizeof(struct elf64_phdr);
	e->eh.phnum = 3;
	e->ph[0] = (struct elf64_phdr){ PT_LOAD, 5, offsetof(struct fake_elf, body), 0xffffffff81000000ULL,
					0x1000000, 0x1000, 0x1000, 0x200000 };
	e->ph[1] = (struct elf64_phdr){ PT_LOAD, 6, offsetof(struct fake_elf, body) + 0x1000, 0xffffffff81400000ULL,
					0x1400000, 0x2000, 0x300000, 0x200000 };
	e->ph[2] = (struct elf64_phdr){ with_note ? PT_NOTE : 0, 4, offsetof(struct fake_elf, nh), 0, 0,
					sizeof(e->nh) + 4 + 8, sizeof(e->nh) + 4 + 8, 4 };
	e->nh = (struct elf64_nhdr){ 4, 6, 6 };
	memcpy(e->name, "Xen", 4);
	memcpy(e->desc, "linux", 6);
	return e;
}

TEST(kinds_are_told_apart)
{
	enum guest_kind k;
	unsigned char *bz = fake_bzimage(64 * 1024, 0x020F, LINUX_XLF_KERNEL_64);
	CHECK_EQ(guest_kind_of(bz, 64 * 1024, &k), 0);
	CHECK_EQ(k, GUEST_LINUX_BZIMAGE);
	struct fake_elf *vm = fake_vmlinux(true), *fe = fake_vmlinux(false);
	CHECK_EQ(guest_kind_of((const u8 *)vm, sizeof(*vm), &k), 0);
	CHECK_EQ(k, GUEST_LINUX_ELF);
	CHECK_EQ(guest_kind_of((const u8 *)fe, sizeof(*fe), &k), 0);
	CHECK_EQ(k, GUEST_FERRY_ELF);
	static const u8 junk[600] = { 'M', 'Z' };
	CHECK_EQ(guest_kind_of(junk, sizeof(junk), &k), -E_INVAL);
	CHECK_EQ(guest_kind_of(bz, 100, &k), -E_INVAL); /* too short to hold the header */
	free(bz), free(vm), free(fe);
}

TEST(bzimage_parsed_like_debians)
{
	size_t size = 8 << 20;
	unsigned char *bz = fake_bzimage(size, 0x020F, LINUX_XLF_KERNEL_64 | LINUX_XLF_ABOVE_4G);
	struct linux_image li;
	CHECK_EQ(linux_parse(bz, size, GUEST_LINUX_BZIMAGE, &li), 0);
	CHECK(li.file == bz + 40 * 512);             /* (setup_sects + 1) sectors */
	CHECK_EQ(li.file_size, size - 40 * 512);
	CHECK_EQ(li.align, 2 << 20);
	CHECK_EQ(li.span, 64 << 20);                 /* init_size beats the file size */
	CHECK_EQ(li.entry_offset, 0x200);
	CHECK_EQ(li.hdr.cmdline_size, 2047);
	CHECK_EQ(li.hdr.kernel_info_offset, 0);      /* past 0x26C: not copied */
	free(bz);
}

TEST(bzimage_without_64bit_entry_refused)
{
	unsigned char *bz = fake_bzimage(1 << 20, 0x020F, 0);
	struct linux_image li;
	CHECK_EQ(linux_parse(bz, 1 << 20, GUEST_LINUX_BZIMAGE, &li), -E_INVAL);
	free(bz);
	bz = fake_bzimage(1 << 20, 0x020A, LINUX_XLF_KERNEL_64); /* 2.10: no xloadflags */
	CHECK_EQ(linux_parse(bz, 1 << 20, GUEST_LINUX_BZIMAGE, &li), -E_INVAL);
	CHECK_EQ(linux_parse(bz, 40 * 512, GUEST_LINUX_BZIMAGE, &li), -E_INVAL); /* setup only */
	free(bz);
}

TEST(vmlinux_span_and_entry)
{
	struct fake_elf *e = fake_vmlinux(true);
	struct linux_image li;
	CHECK_EQ(linux_parse((const u8 *)e, sizeof(*e), GUEST_LINUX_ELF, &li), 0);
	CHECK_EQ(li.elf_base, 0x1000000);
	CHECK_EQ(li.span, 0x700000);                 /* to the end of the bss */
	CHECK_EQ(li.entry_offset, 0);
	CHECK_EQ(li.align, 2 << 20);
	CHECK_EQ(li.hdr.boot_flag, 0xAA55);
	CHECK_EQ(li.hdr.header, LINUX_HDRS);
	CHECK(li.hdr.xloadflags & LINUX_XLF_KERNEL_64);
	/* A segment whose bytes run past the file is refused. */
	e->ph[1].filesz = 0x100000;
	CHECK_EQ(linux_parse((const u8 *)e, sizeof(*e), GUEST_LINUX_ELF, &li), -E_INVAL);
	e->ph[1].filesz = 0x2000;
	e->eh.entry = 0x900000; /* outside every segment */
	CHECK_EQ(linux_parse((const u8 *)e, sizeof(*e), GUEST_LINUX_ELF, &li), -E_INVAL);
	free(e);
}

TEST(place_prefers_its_address_and_avoids_modules)
{
	struct gmem ram = { 0 };
	gmem_add(&ram, 0, 0x9f000);
	gmem_add(&ram, 0x100000, 0x1ee00000);
	struct linux_image li = { .pref_address = 0x1000000, .align = 2 << 20, .span = 0x3a00000 };
	CHECK_EQ(linux_place(&li, &ram, NULL, 0), 0x1000000);
	/* A module over the preferred place: the next aligned address past it. */
	struct mem_range avoid[] = { { 0, 1 << 20, 0 }, { 0x200000, 0x4025387 - 0x200000, 0 } };
	CHECK_EQ(linux_place(&li, &ram, avoid, 2), 0x4200000);
	/* No room above the preferred address: lower is tried too. */
	struct gmem small = { 0 };
	gmem_add(&small, 0x200000, 0x5000000);
	li.pref_address = 0x2000000;
	CHECK_EQ(linux_place(&li, &small, NULL, 0), 0x200000);
	/* Too big for any range. */
	li.span = 0x6000000;
	CHECK_EQ(linux_place(&li, &small, NULL, 0), 0);
	/* Not relocatable: its own address or nothing. */
	li = (struct linux_image){ .pref_address = 0x1000000, .align = 0, .span = 0x100000 };
	CHECK_EQ(linux_place(&li, &ram, NULL, 0), 0x1000000);
	CHECK_EQ(linux_place(&li, &ram, avoid, 2), 0);
}

TEST(e820_reserves_ferry_and_keeps_firmware_types)
{
	static struct boot_info bi;
	bi.nmem = 4;
	bi.mem[0] = (struct mem_range){ 0, 0x9fc00, MEM_USABLE };
	bi.mem[1] = (struct mem_range){ 0xf0000, 0x10000, MEM_RESERVED };
	bi.mem[2] = (struct mem_range){ 0x100000, 0x1fee0000, MEM_USABLE };
	bi.mem[3] = (struct mem_range){ 0x1ffe0000, 0x20000, MEM_ACPI_RECLAIM };
	struct gmem ram = { 0 };
	gmem_add(&ram, 0, 0x9fc00);
	gmem_add(&ram, 0x100000, 0x1ffe0000);
	gmem_remove(&ram, 0x100000, 0x16b000);   /* ferry's image */
	gmem_remove(&ram, 0x1ee00000, 0x1fe00000); /* ferry's pool */
	struct linux_e820 e[16];
	int n = linux_e820(&bi, &ram, (struct mem_range){ 0 }, e, 16);
	CHECK_EQ(n, 8);
	for (int i = 1; i < n; i++)
		CHECK(e[i - 1].addr <= e[i].addr);
	/* Every byte of ferry's memory is reserved; guest RAM is usable. */
	int found_image = 0, found_pool = 0, found_acpi = 0;
	for (int i = 0; i < n; i++) {
		if (e[i].addr == 0x100000 && e[i].size == 0x6b000 && e[i].type == MEM_RESERVED)
			found_image = 1;
		if (e[i].addr == 0x1ee00000 && e[i].size == 0x1000000 && e[i].type == MEM_RESERVED)
			found_pool = 1;
		if (e[i].addr == 0x1ffe0000 && e[i].type == MEM_ACPI_RECLAIM)
			found_acpi = 1;
		if (e[i].type == MEM_USABLE)
			CHECK_EQ(gmem_check(&ram, e[i].addr, e[i].size), 0);
	}
	CHECK(found_image && found_pool && found_acpi);
	/* The page lost to rounding at 0x9f000 is ferry's too: reserved. */
	CHECK_EQ(e[1].addr, 0x9f000);
	CHECK_EQ(e[1].type, MEM_RESERVED);
	CHECK_EQ(linux_e820(&bi, &ram, (struct mem_range){ 0 }, e, 4), -E_NOSPC);

	/* ferry's device page above RAM is reserved too, in its sorted place. */
	struct mem_range dev = { 0x100000000ULL, 0x100000, MEM_RESERVED };
	n = linux_e820(&bi, &ram, dev, e, 16);
	CHECK_EQ(n, 9);
	CHECK_EQ(e[n - 1].addr, 0x100000000ULL);
	CHECK_EQ(e[n - 1].size, 0x100000);
	CHECK_EQ(e[n - 1].type, MEM_RESERVED);
	for (int i = 1; i < n; i++)
		CHECK(e[i - 1].addr <= e[i].addr);
}

TEST(boot_params_fields)
{
	size_t size = 8 << 20;
	unsigned char *bz = fake_bzimage(size, 0x020F, LINUX_XLF_KERNEL_64);
	struct linux_image li;
	CHECK_EQ(linux_parse(bz, size, GUEST_LINUX_BZIMAGE, &li), 0);
	struct linux_e820 e820[2] = { { 0, 0x9f000, 1 }, { 0x100000, 0x1000000, 1 } };
	struct linux_boot_args a = { .load = 0x1000000, .cmdline_gpa = 0x9000, .cmdline_len = 20,
				     .initrd_gpa = 0x4000000, .initrd_size = 0x200000, .rsdp_gpa = 0xC000,
				     .e820 = e820, .ne820 = 2 };
	static struct linux_boot_params bp;
	memset(&bp, 0xAA, sizeof(bp));
	CHECK_EQ(linux_boot_params(&bp, &li, &a), 0);
	const u8 *raw = (const u8 *)&bp;
	u64 e1_addr;
	memcpy(&e1_addr, raw + 0x2D0 + 20, 8); /* entries are 20 bytes: unaligned */
	CHECK_EQ(raw[0x210], LINUX_LOADER_ID);       /* nonzero, or the initrd is ignored */
	CHECK_EQ(*(const u32 *)(raw + 0x228), 0x9000);
	CHECK_EQ(*(const u32 *)(raw + 0x218), 0x4000000);
	CHECK_EQ(*(const u32 *)(raw + 0x21C), 0x200000);
	CHECK_EQ(*(const u16 *)(raw + 0x1FA), 0xFFFF);
	CHECK_EQ(*(const u64 *)(raw + 0x070), 0xC000);
	CHECK_EQ(raw[0x1E8], 2);
	CHECK_EQ(e1_addr, 0x100000);
	CHECK_EQ(raw[0x1EF], 0);                     /* sentinel cleared */
	CHECK_EQ(raw[0x500], 0);                     /* the rest zeroed */
	CHECK_EQ(*(const u16 *)(raw + 0x1FE), 0xAA55);
	/* Too long a command line, an initrd out of reach. */
	a.cmdline_len = 2048;
	CHECK_EQ(linux_boot_params(&bp, &li, &a), -E_RANGE);
	a.cmdline_len = 20;
	a.initrd_gpa = 0x7ff00000;
	CHECK_EQ(linux_boot_params(&bp, &li, &a), -E_RANGE);
	free(bz);
}

int main(void)
{
	RUN(kinds_are_told_apart);
	RUN(bzimage_parsed_like_debians);
	RUN(bzimage_without_64bit_entry_refused);
	RUN(vmlinux_span_and_entry);
	RUN(place_prefers_its_address_and_avoids_modules);
	RUN(e820_reserves_ferry_and_keeps_firmware_types);
	RUN(boot_params_fields);
	return CHECK_SUMMARY();
}
