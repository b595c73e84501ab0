/* What a loader tells ferry, in one form whichever loader it was
 * (boot/multiboot.c parses multiboot 1 and multiboot2 into this). */
#ifndef FERRY_BOOT_INFO_H
#define FERRY_BOOT_INFO_H

#include "lib/types.h"

#define BOOT_MAX_MEM 64
#define BOOT_MAX_MODS 16
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

/* The display the loader left (multiboot2 framebuffer tag, multiboot 1
 * framebuffer fields).  For EGA text, width and height count characters
 * and pitch is 2 * width. */
enum boot_fb_type {
	BOOT_FB_NONE = 0,
	BOOT_FB_INDEXED,  /* palette colours: not drawn on */
	BOOT_FB_RGB,      /* direct colour, fields as below */
	BOOT_FB_EGA_TEXT, /* VGA text mode: character + attribute words */
};

struct boot_fb {
	hpa_t addr;
	u32 pitch;         /* bytes from one line to the next */
	u32 width, height; /* pixels (characters for EGA text) */
	u8 bpp;            /* bits per pixel */
	u8 type;           /* enum boot_fb_type */
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct boot_info {
	const char *loader;          /* "multiboot" or "multiboot2" */
	char cmdline[BOOT_CMDLINE_MAX];
	unsigned nmem;
	struct mem_range mem[BOOT_MAX_MEM];
	unsigned nmods;
	struct boot_module mods[BOOT_MAX_MODS];
	struct boot_fb fb;           /* type BOOT_FB_NONE: no display known */
	hpa_t info_start, info_end;  /* the loader's structure itself */
	bool truncated;              /* something did not fit: logged at boot */
	/* A copy of the ACPI RSDP (multiboot2 tag 15, else 14): rsdp_len is
	 * 36 for ACPI 2.0+, 20 for ACPI 1.0, 0 when the loader gave none. */
	u8 rsdp[36];
	u32 rsdp_len;
	/* Where the loader left text that may hold secrets (the command line
	 * with key=, module strings): boot_info_scrub zeroes it.  For
	 * multiboot2 the whole information structure. */
	unsigned nscrub;
	struct { hpa_t start, end; } scrub[BOOT_MAX_MODS + 2];
};

/* Parses the loader's structure; returns 0 or -E_INVAL for an unknown
 * magic value. */
int boot_info_parse(u32 magic, hpa_t info, struct boot_info *bi);
/* Zeroes the loader's copies of the command line and module strings in
 * memory that becomes the guest's: bi keeps its own copies. */
void boot_info_scrub(struct boot_info *bi);

#endif
