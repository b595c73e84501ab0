/* The multiboot2 boot information format (Multiboot2 Specification 2.0,
 * section 3.6): what GRUB hands ferry and what ferry's own UEFI loader
 * builds (boot/efi/mb2.c), parsed by boot/multiboot.c.  One definition for
 * both sides; plain <stdint.h> types so the UEFI build can use it too. */
#ifndef FERRY_MULTIBOOT2_H
#define FERRY_MULTIBOOT2_H

#include <stddef.h>
#include <stdint.h>

#define MB2_LOADER_MAGIC 0x36D76289

/* Tag types. */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MODULE 3
#define MB2_TAG_MMAP 6
#define MB2_TAG_FRAMEBUFFER 8
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15

/* Memory types of the mmap tag (3.6.8). */
#define MB2_MEM_AVAILABLE 1
#define MB2_MEM_RESERVED 2
#define MB2_MEM_ACPI_RECLAIM 3
#define MB2_MEM_ACPI_NVS 4
#define MB2_MEM_BAD 5

struct mb2_tag {
	uint32_t type, size;
} __attribute__((packed));

struct mb2_mmap_tag {
	uint32_t type, size, entry_size, entry_version;
} __attribute__((packed));

struct mb2_mmap_entry {
	uint64_t base, len;
	uint32_t type, reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "multiboot2 mmap entry");

/* The framebuffer tag as GRUB writes it: the specification's text shows
 * one reserved byte, GRUB (and everyone following it) has two. */
struct mb2_fb_tag {
	uint32_t type, size;
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, fb_type;
	uint16_t reserved;
	uint8_t color_info[6]; /* RGB: red position, size, green ..., blue ... */
} __attribute__((packed));
_Static_assert(offsetof(struct mb2_fb_tag, color_info) == 32, "multiboot2 color_info");

struct mb2_module_tag {
	uint32_t type, size, mod_start, mod_end;
	char cmdline[];
} __attribute__((packed));

#endif
