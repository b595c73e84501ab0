/* The UEFI loader's pure parts (boot/efi/mb2.c, boot/efi/image.c), and the
 * promise "two loaders, one entry": what the loader builds, ferry's own
 * multiboot2 parser (boot/multiboot.c) reads back. */
#include "check.h"
#include "boot/efi/image.h"
#include "boot/efi/mb2.h"
#include "boot/entry64.h"
#include "boot/boot_info.h"

#include <stdlib.h>

static uint8_t info_buf[64 * 1024] __attribute__((aligned(8)));
static struct boot_info bi;

static struct efi_mem_desc desc(uint32_t type, uint64_t base, uint64_t pages)
{
	return (struct efi_mem_desc){ type, 0, base, 0, pages, 0 };
}

TEST(memory_types)
{
	CHECK_EQ(mb2_mem_type(EFI_MT_CONVENTIONAL), MB2_MEM_AVAILABLE);
	CHECK_EQ(mb2_mem_type(EFI_MT_BOOT_SERVICES_CODE), MB2_MEM_AVAILABLE);
	CHECK_EQ(mb2_mem_type(EFI_MT_BOOT_SERVICES_DATA), MB2_MEM_AVAILABLE);
	CHECK_EQ(mb2_mem_type(EFI_MT_LOADER_CODE), MB2_MEM_AVAILABLE);
	CHECK_EQ(mb2_mem_type(EFI_MT_LOADER_DATA), MB2_MEM_AVAILABLE);
	CHECK_EQ(mb2_mem_type(EFI_MT_ACPI_RECLAIM), MB2_MEM_ACPI_RECLAIM);
	CHECK_EQ(mb2_mem_type(EFI_MT_ACPI_NVS), MB2_MEM_ACPI_NVS);
	CHECK_EQ(mb2_mem_type(EFI_MT_UNUSABLE), MB2_MEM_BAD);
	CHECK_EQ(mb2_mem_type(EFI_MT_RUNTIME_SERVICES_CODE), MB2_MEM_RESERVED);
	CHECK_EQ(mb2_mem_type(EFI_MT_RUNTIME_SERVICES_DATA), MB2_MEM_RESERVED);
	CHECK_EQ(mb2_mem_type(EFI_MT_MMIO), MB2_MEM_RESERVED);
	CHECK_EQ(mb2_mem_type(EFI_MT_RESERVED), MB2_MEM_RESERVED);
	CHECK_EQ(mb2_mem_type(EFI_MT_PERSISTENT), MB2_MEM_RESERVED);
	CHECK_EQ(mb2_mem_type(0x70000000), MB2_MEM_RESERVED); /* OEM types */
}

/* An unsorted map, with descriptors larger than the structure (as real
 * firmware gives them), runs to merge and an empty descriptor. */
#define DESC_SIZE 48
static uint8_t efi_map[16 * DESC_SIZE];

static size_t make_map(void)
{
	const struct efi_mem_desc d[] = {
		desc(EFI_MT_BOOT_SERVICES_DATA, 0x100000, 0x100),   /* 1 MiB..2 MiB */
		desc(EFI_MT_CONVENTIONAL, 0x0, 0xA0),               /* 0..640 KiB */
		desc(EFI_MT_LOADER_CODE, 0x200000, 0x10),           /* merges with the two around it */
		desc(EFI_MT_RUNTIME_SERVICES_DATA, 0x7F00000, 0x10), /* reserved */
		desc(EFI_MT_CONVENTIONAL, 0x210000, 0x7CF0),        /* ..0x7F00000 */
		desc(EFI_MT_ACPI_RECLAIM, 0x7F10000, 0x10),
		desc(EFI_MT_ACPI_NVS, 0x7F20000, 0x10),
		desc(EFI_MT_CONVENTIONAL, 0x8000000, 0),            /* empty: dropped */
		desc(EFI_MT_MMIO, 0xFFC00000, 0x400),               /* reserved, not merged with RT data */
		desc(EFI_MT_CONVENTIONAL, 0x100000000, 0x40000),    /* 1 GiB above 4 GiB */
	};
	memset(efi_map, 0xAA, sizeof(efi_map));
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		memcpy(efi_map + i * DESC_SIZE, &d[i], sizeof(d[i]));
	return sizeof(d) / sizeof(d[0]) * DESC_SIZE;
}

static const uint8_t rsdp2[36] = "RSD PTR \x42OEMID \x02\x00\x10\x00\x00\x24\x00\x00\x00\x00\x20\x00\x00\x00\x00\x00\x00\x99";

static size_t build(const char *cmdline, struct mb2_builder *b)
{
	size_t map_size = make_map();
	mb2_begin(b, info_buf, sizeof(info_buf));
	mb2_add_cmdline(b, cmdline);
	mb2_add_module(b, 0x3000000, 0x3041A3C, "");
	mb2_add_module(b, 0x3100000, 0x3100100, "ferry.cfg");
	mb2_add_rsdp(b, rsdp2, ACPI_RSDP_V1_LEN);
	mb2_add_rsdp(b, rsdp2, ACPI_RSDP_V2_LEN);
	struct mb2_fb fb = { .addr = 0xC0000000, .width = 1280, .height = 800, .pitch = 5120 };
	if (!mb2_fb_from_masks(&fb, 0xff0000, 0x00ff00, 0x0000ff, 0xff000000))
		return 0;
	mb2_add_framebuffer(b, &fb);
	mb2_add_efi_mmap(b, efi_map, map_size, DESC_SIZE);
	return mb2_end(b);
}

TEST(ferry_parses_what_the_loader_builds)
{
	struct mb2_builder b;
	size_t total = build("loglevel=debug role=client", &b);
	CHECK(total > 0);
	CHECK_EQ(*(uint32_t *)info_buf, total);
	CHECK_EQ(total % 8, 0);
	CHECK_EQ(boot_info_parse(MB2_LOADER_MAGIC, (hpa_t)(uintptr_t)info_buf, &bi), 0);
	CHECK_STR(bi.loader, "multiboot2");
	CHECK_STR(bi.cmdline, "loglevel=debug role=client");
	CHECK_EQ(bi.nmods, 2);
	CHECK_EQ(bi.mods[0].start, 0x3000000);
	CHECK_EQ(bi.mods[0].end, 0x3041A3C);
	CHECK_STR(bi.mods[0].cmdline, "");
	CHECK_STR(bi.mods[1].cmdline, "ferry.cfg");
	CHECK_EQ(bi.info_start, (uintptr_t)info_buf);
	CHECK_EQ(bi.info_end, (uintptr_t)info_buf + total);
	CHECK(!bi.truncated);

	/* Sorted, merged, typed. */
	static const struct mem_range want[] = {
		{ 0x0, 0xA0000, MEM_USABLE },
		{ 0x100000, 0x7E00000, MEM_USABLE },
		{ 0x7F00000, 0x10000, MEM_RESERVED },
		{ 0x7F10000, 0x10000, MEM_ACPI_RECLAIM },
		{ 0x7F20000, 0x10000, MEM_ACPI_NVS },
		{ 0xFFC00000, 0x400000, MEM_RESERVED },
		{ 0x100000000, 0x40000000, MEM_USABLE },
	};
	CHECK_EQ(bi.nmem, sizeof(want) / sizeof(want[0]));
	for (unsigned i = 0; i < bi.nmem; i++) {
		CHECK_EQ(bi.mem[i].base, want[i].base);
		CHECK_EQ(bi.mem[i].len, want[i].len);
		CHECK_EQ(bi.mem[i].type, want[i].type);
	}
	/* The ACPI 2.0 copy wins over the 1.0 one. */
	CHECK_EQ(bi.rsdp_len, 36);
	CHECK(!memcmp(bi.rsdp, rsdp2, 36));
}

TEST(framebuffer_tag_layout)
{
	struct mb2_builder b;
	CHECK(build("", &b) > 0);
	/* Find tag 8 and check it byte by byte against GRUB's layout. */
	uint32_t off = 8;
	const uint8_t *t = NULL;
	while (off < *(uint32_t *)info_buf) {
		const uint32_t *h = (const uint32_t *)(info_buf + off);
		if (h[0] == MB2_TAG_FRAMEBUFFER)
			t = info_buf + off;
		if (h[0] == MB2_TAG_END)
			break;
		off += (h[1] + 7) & ~7u;
	}
	CHECK(t != NULL);
	CHECK_EQ(*(const uint32_t *)(t + 4), 38);
	CHECK_EQ(*(const uint64_t *)(t + 8), 0xC0000000);
	CHECK_EQ(*(const uint32_t *)(t + 16), 5120);
	CHECK_EQ(*(const uint32_t *)(t + 20), 1280);
	CHECK_EQ(*(const uint32_t *)(t + 24), 800);
	CHECK_EQ(t[28], 32);
	CHECK_EQ(t[29], 1);
	const uint8_t colors[6] = { 16, 8, 8, 8, 0, 8 }; /* blue-green-red-reserved in memory */
	CHECK(!memcmp(t + 32, colors, 6));
}

TEST(framebuffer_masks)
{
	struct mb2_fb fb;
	CHECK(mb2_fb_from_masks(&fb, 0xf800, 0x07e0, 0x001f, 0)); /* RGB 5:6:5 */
	CHECK_EQ(fb.bpp, 16);
	CHECK_EQ(fb.red_pos, 11);
	CHECK_EQ(fb.red_size, 5);
	CHECK_EQ(fb.green_pos, 5);
	CHECK_EQ(fb.green_size, 6);
	CHECK_EQ(fb.blue_pos, 0);
	CHECK_EQ(fb.blue_size, 5);
	CHECK(mb2_fb_from_masks(&fb, 0xff, 0xff00, 0xff0000, 0));
	CHECK_EQ(fb.bpp, 24);
	CHECK(!mb2_fb_from_masks(&fb, 0, 0xff00, 0xff0000, 0));    /* no red */
	CHECK(!mb2_fb_from_masks(&fb, 0xf0f, 0xf000, 0xf0000, 0)); /* red in two runs */
}

TEST(a_full_buffer_fails_cleanly)
{
	struct mb2_builder b;
	uint8_t small[64] __attribute__((aligned(8)));
	mb2_begin(&b, small, sizeof(small));
	mb2_add_cmdline(&b, "a command line that is far too long for sixty-four bytes of room");
	CHECK(b.overflow);
	CHECK_EQ(mb2_end(&b), 0);
	size_t map_size = make_map();
	mb2_begin(&b, small, sizeof(small));
	CHECK_EQ(mb2_add_efi_mmap(&b, efi_map, map_size, DESC_SIZE), 0);
	CHECK_EQ(mb2_end(&b), 0);
	CHECK(mb2_mmap_tag_max(10) >= 16 + 10 * 24);
}

/* A small ELF64 executable: two segments, the second with .bss. */
static uint8_t elf[0x3000];

static void make_elf(void)
{
	memset(elf, 0, sizeof(elf));
	uint8_t *e = elf;
	memcpy(e, "\x7f" "ELF\x02\x01\x01", 7);
	*(uint16_t *)(e + 16) = 2;      /* ET_EXEC */
	*(uint16_t *)(e + 18) = 62;     /* x86-64 */
	*(uint64_t *)(e + 24) = 0x100000;
	*(uint64_t *)(e + 32) = 64;     /* phoff */
	*(uint16_t *)(e + 54) = 56;     /* phentsize */
	*(uint16_t *)(e + 56) = 2;      /* phnum */
	uint8_t *p = e + 64;
	*(uint32_t *)p = 1;                   /* PT_LOAD */
	*(uint64_t *)(p + 8) = 0x1000;        /* offset */
	*(uint64_t *)(p + 24) = 0x100000;     /* paddr */
	*(uint64_t *)(p + 32) = 0x800;        /* filesz */
	*(uint64_t *)(p + 40) = 0x800;
	p += 56;
	*(uint32_t *)p = 1;
	*(uint64_t *)(p + 8) = 0x2000;
	*(uint64_t *)(p + 24) = 0x102000;
	*(uint64_t *)(p + 32) = 0x10;
	*(uint64_t *)(p + 40) = 0x1800;       /* .bss past the file */
	memset(e + 0x1000, 0x11, 0x800);
	memset(e + 0x2000, 0x22, 0x10);
	/* The entry record, 8-aligned at 0x40 into the image. */
	uint32_t rec[4] = { FERRY_ENTRY64_MAGIC0, FERRY_ENTRY64_MAGIC1, 0x100123, 0 };
	memcpy(e + 0x1040, rec, sizeof(rec));
}

TEST(elf_placement)
{
	make_elf();
	uint64_t lo, hi;
	const char *why = NULL;
	CHECK_EQ(elf_span(elf, sizeof(elf), &lo, &hi, &why), 0);
	CHECK_EQ(lo, 0x100000);
	CHECK_EQ(hi, 0x104000);
	uint8_t *img = malloc(hi - lo);
	CHECK(img != NULL);
	memset(img, 0xEE, hi - lo);
	elf_place(elf, img, lo, hi);
	int ok = img[0] == 0x11 && img[0x7ff] == 0x11 && img[0x800] == 0 && img[0x1fff] == 0 && img[0x2000] == 0x22 &&
		 img[0x200f] == 0x22 && img[0x2010] == 0 && img[0x3fff] == 0;
	free(img);
	CHECK(ok);
}

TEST(entry_record)
{
	make_elf();
	uint64_t lo, hi;
	const char *why;
	CHECK_EQ(elf_span(elf, sizeof(elf), &lo, &hi, &why), 0);
	static uint8_t img[0x4000];
	elf_place(elf, img, lo, hi);
	CHECK_EQ(entry64_find(img, sizeof(img)), 0x100123);
	/* Not 8-aligned: not a record. */
	static uint8_t odd[64];
	uint32_t rec[4] = { FERRY_ENTRY64_MAGIC0, FERRY_ENTRY64_MAGIC1, 0x1000, 0 };
	memcpy(odd + 4, rec, sizeof(rec));
	CHECK_EQ(entry64_find(odd, sizeof(odd)), 0);
}

TEST(bad_elf_files)
{
	uint64_t lo, hi;
	const char *why = NULL;
	make_elf();
	CHECK_EQ(elf_span(elf, 10, &lo, &hi, &why), -1);
	CHECK_STR(why, "not an ELF file");
	elf[4] = 1; /* ELFCLASS32 */
	CHECK_EQ(elf_span(elf, sizeof(elf), &lo, &hi, &why), -1);
	CHECK_STR(why, "not an x86-64 ELF executable");
	make_elf();
	*(uint64_t *)(elf + 64 + 32) = 0x10000; /* filesz past the end */
	CHECK_EQ(elf_span(elf, sizeof(elf), &lo, &hi, &why), -1);
	CHECK_STR(why, "an ELF segment lies outside the file");
	make_elf();
	*(uint64_t *)(elf + 64 + 24) = 0xFFFFFC00; /* crosses 4 GiB */
	CHECK_EQ(elf_span(elf, sizeof(elf), &lo, &hi, &why), -1);
	CHECK_STR(why, "an ELF segment lies above 4 GiB");
	make_elf();
	*(uint16_t *)(elf + 56) = 1000; /* phnum */
	CHECK_EQ(elf_span(elf, sizeof(elf), &lo, &hi, &why), -1);
	CHECK_STR(why, "ELF program headers outside the file");
}

static int opts(const char *ascii, char *out, size_t cap)
{
	uint16_t w[256];
	size_t n = strlen(ascii);
	for (size_t i = 0; i < n; i++)
		w[i] = (uint8_t)ascii[i];
	w[n] = 0;
	return load_options_cmdline(w, (n + 1) * 2, out, cap);
}

TEST(loader_masks_the_key)
{
	char out[128];
	cmdline_mask_key("role=client key=0011aabb nic=e1000", out, sizeof(out));
	CHECK_STR(out, "role=client key=<hidden> nic=e1000");
	cmdline_mask_key("key=ff", out, sizeof(out));
	CHECK_STR(out, "key=<hidden>");
	cmdline_mask_key("monkey=1 key=", out, sizeof(out));
	CHECK_STR(out, "monkey=1 key=<hidden>");
	cmdline_mask_key("key=00112233", out, 8); /* cut, never the digits */
	CHECK_STR(out, "key=<hi");
}

TEST(load_options)
{
	char out[64];
	CHECK_EQ(opts("role=server key=00", out, sizeof(out)), 18);
	CHECK_STR(out, "role=server key=00");
	opts("\\EFI\\BOOT\\BOOTX64.EFI  loglevel=debug ", out, sizeof(out));
	CHECK_STR(out, "loglevel=debug");
	opts("ferry.efi", out, sizeof(out));
	CHECK_STR(out, "");
	opts("  a\tb  ", out, sizeof(out));
	CHECK_STR(out, "a b");
	uint16_t unterminated[] = { 'x', '=', '1' };
	CHECK_EQ(load_options_cmdline(unterminated, sizeof(unterminated), out, sizeof(out)), 3);
	CHECK_STR(out, "x=1");
	/* Binary optional data (a GUID, say) is not a command line. */
	uint16_t binary[] = { 'x', 0x263A, 0x0003, '1', 0 };
	CHECK_EQ(load_options_cmdline(binary, sizeof(binary), out, sizeof(out)), -1);
	CHECK_STR(out, "");
	CHECK_EQ(load_options_cmdline(NULL, 0, out, sizeof(out)), 0);
	CHECK_STR(out, "");
	opts("0123456789", out, 5);
	CHECK_STR(out, "0123");
}

/* A UCS-2 copy of an ASCII name, as the File protocol gives it. */
static const uint16_t *ucs2(const char *s)
{
	static uint16_t buf[128];
	size_t i = 0;
	for (; s[i] && i + 1 < sizeof(buf) / sizeof(buf[0]); i++)
		buf[i] = (uint8_t)s[i];
	buf[i] = 0;
	return buf;
}

TEST(folder_files)
{
	char name[FOLDER_NAME_MAX + 1];
	CHECK_EQ(folder_file(ucs2("vmlinuz"), name, sizeof(name)), FOLDER_MODULE);
	CHECK_STR(name, "vmlinuz");
	CHECK_EQ(folder_file(ucs2("initrd.img-6.1.0-57-amd64"), name, sizeof(name)), FOLDER_MODULE);
	CHECK_STR(name, "initrd.img-6.1.0-57-amd64");
	CHECK_EQ(folder_file(ucs2("VMLINUZ"), name, sizeof(name)), FOLDER_MODULE); /* case as stored */
	CHECK_STR(name, "VMLINUZ");
	/* ferry's own files, read by their own paths, in any case. */
	CHECK_EQ(folder_file(ucs2("ferry.elf"), name, sizeof(name)), FOLDER_OWN);
	CHECK_EQ(folder_file(ucs2("GUEST.ELF"), name, sizeof(name)), FOLDER_OWN);
	CHECK_EQ(folder_file(ucs2("Ferry.Cfg"), name, sizeof(name)), FOLDER_OWN);
	CHECK_EQ(folder_file(ucs2("ferry.cfg.old"), name, sizeof(name)), FOLDER_MODULE);
	/* Names ferry.cfg cannot give: skipped. */
	CHECK_EQ(folder_file(ucs2("my kernel"), name, sizeof(name)), FOLDER_BAD_NAME);
	CHECK_STR(name, "");
	CHECK_EQ(folder_file(ucs2(""), name, sizeof(name)), FOLDER_BAD_NAME);
	static const uint16_t accented[] = { 'c', 'a', 'f', 0xe9, 0 };
	CHECK_EQ(folder_file(accented, name, sizeof(name)), FOLDER_BAD_NAME);
	CHECK_EQ(folder_file(ucs2("012345678901234567890123456789012345678901234567890123456789012"), name,
			     sizeof(name)), FOLDER_MODULE); /* 63 characters */
	CHECK_EQ(strlen(name), 63);
	CHECK_EQ(folder_file(ucs2("0123456789012345678901234567890123456789012345678901234567890123"), name,
			     sizeof(name)), FOLDER_BAD_NAME); /* 64 */
	char small[4];
	CHECK_EQ(folder_file(ucs2("abcd"), small, sizeof(small)), FOLDER_BAD_NAME); /* never past out */
	CHECK_EQ(folder_file(ucs2("abc"), small, sizeof(small)), FOLDER_MODULE);
	CHECK_STR(small, "abc");
}

/* The modules as the loader gives them reach ferry by their names. */
TEST(named_modules_reach_ferry)
{
	struct mb2_builder b;
	mb2_begin(&b, info_buf, sizeof(info_buf));
	mb2_add_module(&b, 0x200000, 0x249000, "guest.elf");
	mb2_add_module(&b, 0x300000, 0xB00000, "vmlinuz");
	mb2_add_module(&b, 0xC00000, 0xE00000, "initrd.gz");
	mb2_add_module(&b, 0xF00000, 0xF00400, "ferry.cfg");
	CHECK(mb2_end(&b));
	memset(&bi, 0, sizeof(bi));
	CHECK_EQ(boot_info_parse(MB2_LOADER_MAGIC, (hpa_t)(uintptr_t)info_buf, &bi), 0);
	CHECK_EQ(bi.nmods, 4);
	CHECK_STR(bi.mods[1].cmdline, "vmlinuz");
	CHECK_EQ(bi.mods[1].start, 0x300000);
	CHECK_STR(bi.mods[3].cmdline, "ferry.cfg");
}

int main(void)
{
	RUN(memory_types);
	RUN(ferry_parses_what_the_loader_builds);
	RUN(framebuffer_tag_layout);
	RUN(framebuffer_masks);
	RUN(a_full_buffer_fails_cleanly);
	RUN(elf_placement);
	RUN(entry_record);
	RUN(bad_elf_files);
	RUN(load_options);
	RUN(loader_masks_the_key);
	RUN(folder_files);
	RUN(named_modules_reach_ferry);
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
