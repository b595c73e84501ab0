/* Building a multiboot2 information structure from what UEFI reports, so
 * that ferry parses the UEFI loader's handoff with the same code as GRUB's
 * (boot/multiboot.c): two loaders, one entry.
 *
 * Pure C over caller-supplied memory: no firmware calls, no allocation (the
 * memory-map tag is written between the final GetMemoryMap and the jump to
 * ferry, when nothing may be allocated).  Host-tested in
 * tests/unit/test_efi_boot.c.
 *
 * Layouts: Multiboot2 Specification 2.0 section 3.6; the framebuffer tag
 * as GRUB writes it (a 16-bit reserved field, colour information at offset
 * 32). */
#ifndef FERRY_EFI_MB2_H
#define FERRY_EFI_MB2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/multiboot2.h"

#define MB2_MMAP_ENTRY_SIZE sizeof(struct mb2_mmap_entry)
#define ACPI_RSDP_V1_LEN 20
#define ACPI_RSDP_V2_LEN 36

/* EFI_MEMORY_DESCRIPTOR (UEFI spec 2.9, 7.2 GetMemoryMap).  Descriptors
 * are desc_size bytes apart; desc_size may exceed this structure. */
struct efi_mem_desc {
	uint32_t type;
	uint32_t pad;
	uint64_t phys_start, virt_start, npages, attribute;
};

/* EFI_MEMORY_TYPE values (UEFI spec 2.9, 7.2 AllocatePages). */
enum efi_mem_type {
	EFI_MT_RESERVED = 0,
	EFI_MT_LOADER_CODE = 1,
	EFI_MT_LOADER_DATA = 2,
	EFI_MT_BOOT_SERVICES_CODE = 3,
	EFI_MT_BOOT_SERVICES_DATA = 4,
	EFI_MT_RUNTIME_SERVICES_CODE = 5,
	EFI_MT_RUNTIME_SERVICES_DATA = 6,
	EFI_MT_CONVENTIONAL = 7,
	EFI_MT_UNUSABLE = 8,
	EFI_MT_ACPI_RECLAIM = 9,
	EFI_MT_ACPI_NVS = 10,
	EFI_MT_MMIO = 11,
	EFI_MT_MMIO_PORT_SPACE = 12,
	EFI_MT_PAL_CODE = 13,
	EFI_MT_PERSISTENT = 14,
};

/* What memory of an EFI type is to ferry once boot services are gone:
 * free RAM (conventional, boot services, the loader's own), ACPI tables,
 * ACPI NVS, bad; everything else (runtime services, MMIO, ...) reserved. */
uint32_t mb2_mem_type(uint32_t efi_type);

/* A linear framebuffer in direct-colour RGB (framebuffer_type 1). */
struct mb2_fb {
	uint64_t addr;
	uint32_t pitch, width, height; /* pitch in bytes */
	uint8_t bpp;
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

/* Fills bpp and the colour fields from GOP-style channel masks (for
 * PixelBitMask; the two 8-bit-per-colour formats are fixed masks too).
 * False if a mask is empty or not one run of bits. */
bool mb2_fb_from_masks(struct mb2_fb *fb, uint32_t red, uint32_t green, uint32_t blue, uint32_t reserved);

struct mb2_builder {
	uint8_t *buf;
	size_t cap, len;
	bool overflow; /* a tag did not fit: mb2_end fails */
};

/* Starts the structure (total_size, reserved) in buf; buf must be 8-byte
 * aligned. */
void mb2_begin(struct mb2_builder *b, void *buf, size_t cap);
void mb2_add_cmdline(struct mb2_builder *b, const char *s);
void mb2_add_module(struct mb2_builder *b, uint32_t start, uint32_t end, const char *string);
/* A copy of the RSDP: 20 bytes as tag 14 (ACPI 1.0), 36 as tag 15. */
void mb2_add_rsdp(struct mb2_builder *b, const void *rsdp, size_t len);
void mb2_add_framebuffer(struct mb2_builder *b, const struct mb2_fb *fb);
/* The EFI memory map as a type-6 tag: each descriptor's type converted by
 * mb2_mem_type, empty ones dropped, sorted by address, and touching ranges
 * of the same type merged.  Returns the number of entries written. */
size_t mb2_add_efi_mmap(struct mb2_builder *b, const void *map, size_t map_size, size_t desc_size);
/* The most bytes mb2_add_efi_mmap can take for n descriptors. */
size_t mb2_mmap_tag_max(size_t n);
/* Ends the structure; returns its total size, or 0 if something did not
 * fit. */
size_t mb2_end(struct mb2_builder *b);

#endif
