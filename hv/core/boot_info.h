/* What a loader tells ferry, in one form whichever loader it was
 * (boot/multiboot.c parses multiboot 1 and multiboot2 into this). */
#ifndef FERRY_BOOT_INFO_H
#define FERRY_BOOT_INFO_H

#include "../lib/types.h"

#define BOOT_MAX_MEM 64
#define BOOT_MAX_MODS 8
#define BOOT_CMDLINE_MAX 8192

enum mem_type {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIM = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

struct mem_range {
	u64 base, len;
	u32 type; /* enum mem_type */
};

struct boot_module {
	hpa_t start, end; /* [start, end) as loaded */
	char cmdline[BOOT_CMDLINE_MAX];
};

struct boot_info {
	const char *loader;          /* "multiboot" or "multiboot2" */
	char cmdline[BOOT_CMDLINE_MAX];
	unsigned nmem;
	struct mem_range mem[BOOT_MAX_MEM];
	unsigned nmods;
	struct boot_module mods[BOOT_MAX_MODS];
	hpa_t info_start, info_end;  /* the loader's structure itself */
	bool truncated;              /* something did not fit: logged at boot */
};

/* Parses the loader's structure; returns 0 or -E_INVAL for an unknown
 * magic value. */
int boot_info_parse(u32 magic, hpa_t info, struct boot_info *bi);

#endif
