/* The Linux x86 boot protocol, 64-bit entry (Documentation/arch/x86/boot.rst
 * and zero-page.rst): the setup header a bzImage carries and the
 * boot_params ("zero page") a loader hands the kernel in RSI.
 *
 * ferry loads either Debian's bzImage as shipped or the uncompressed
 * vmlinux ELF taken from its payload (tools/linux.py): the XZ decompressor
 * costs 5-6 s under emulation.  For a vmlinux ferry writes the setup
 * header itself.  vm/linux_load.c is the loader; the parsing, placement and
 * boot_params logic is pure and host-tested (tests/unit/test_linux_load.c). */
#ifndef FERRY_LINUX_BOOT_H
#define FERRY_LINUX_BOOT_H

#include "boot/boot_info.h"
#include "gmem.h"
#include "lib/types.h"

/* The setup header, at file offset 0x1F1 of a bzImage and at the same
 * offset inside boot_params.  Offsets are those of boot_params. */
struct linux_setup_header {
	u8 setup_sects;            /* 0x1F1: 512-byte real-mode sectors after the boot sector (0 = 4) */
	u16 root_flags;            /* 0x1F2 */
	u32 syssize;               /* 0x1F4 */
	u16 ram_size;              /* 0x1F8 */
	u16 vid_mode;              /* 0x1FA: 0xFFFF = normal */
	u16 root_dev;              /* 0x1FC */
	u16 boot_flag;             /* 0x1FE: 0xAA55 */
	u16 jump;                  /* 0x200 */
	u32 header;                /* 0x202: "HdrS" */
	u16 version;               /* 0x206: protocol version, 0x020F for 6.1 */
	u32 realmode_swtch;        /* 0x208 */
	u16 start_sys_seg;         /* 0x20C */
	u16 kernel_version;        /* 0x20E */
	u8 type_of_loader;         /* 0x210: 0 makes Linux ignore the initrd */
	u8 loadflags;              /* 0x211 */
	u16 setup_move_size;       /* 0x212 */
	u32 code32_start;          /* 0x214 */
	u32 ramdisk_image;         /* 0x218 */
	u32 ramdisk_size;          /* 0x21C */
	u32 bootsect_kludge;       /* 0x220 */
	u16 heap_end_ptr;          /* 0x224 */
	u8 ext_loader_ver;         /* 0x226 */
	u8 ext_loader_type;        /* 0x227 */
	u32 cmd_line_ptr;          /* 0x228 */
	u32 initrd_addr_max;       /* 0x22C: highest byte the initrd may use */
	u32 kernel_alignment;      /* 0x230 */
	u8 relocatable_kernel;     /* 0x234 */
	u8 min_alignment;          /* 0x235: log2 */
	u16 xloadflags;            /* 0x236 */
	u32 cmdline_size;          /* 0x238: longest command line, without the NUL */
	u32 hardware_subarch;      /* 0x23C */
	u64 hardware_subarch_data; /* 0x240 */
	u32 payload_offset;        /* 0x248: from the protected-mode code */
	u32 payload_length;        /* 0x24C */
	u64 setup_data;            /* 0x250 */
	u64 pref_address;          /* 0x258 */
	u32 init_size;             /* 0x260: memory the kernel needs from its load address */
	u32 handover_offset;       /* 0x264 */
	u32 kernel_info_offset;    /* 0x268 */
} __packed;

#define LINUX_HDR_OFFSET 0x1F1
#define LINUX_BOOT_FLAG 0xAA55
#define LINUX_HDRS 0x53726448u /* "HdrS" */
#define LINUX_MIN_VERSION 0x020C /* xloadflags, 64-bit entry */
#define LINUX_LOADED_HIGH BIT(0)     /* loadflags: protected-mode code at 1 MiB+ */
#define LINUX_CAN_USE_HEAP BIT(7)
#define LINUX_XLF_KERNEL_64 BIT(0)   /* xloadflags: 64-bit entry at load + 0x200 */
#define LINUX_XLF_ABOVE_4G BIT(1)    /* kernel, boot_params, initrd may lie above 4 GiB */
#define LINUX_ENTRY64_OFFSET 0x200
#define LINUX_LOADER_ID 0xFF /* type_of_loader: "undefined", a loader without an ID */

/* boot_params.e820_table entry: BIOS INT 15h E820 layout. */
struct linux_e820 {
	u64 addr, size;
	u32 type; /* enum mem_type's values are E820's */
} __packed;

#define LINUX_E820_MAX 128

/* boot_params, the "zero page": 4 KiB, everything not named here stays 0. */
struct linux_boot_params {
	u8 screen_info[0x40];           /* 0x000 */
	u8 apm_bios_info[0x14];         /* 0x040 */
	u8 pad0[4];                     /* 0x054 */
	u64 tboot_addr;                 /* 0x058 */
	u8 ist_info[0x10];              /* 0x060 */
	u64 acpi_rsdp_addr;             /* 0x070 */
	u8 pad1[8];                     /* 0x078 */
	u8 hd0_info[0x10];              /* 0x080 */
	u8 hd1_info[0x10];              /* 0x090 */
	u8 sys_desc_table[0x10];        /* 0x0A0 */
	u8 olpc_ofw_header[0x10];       /* 0x0B0 */
	u32 ext_ramdisk_image;          /* 0x0C0 */
	u32 ext_ramdisk_size;           /* 0x0C4 */
	u32 ext_cmd_line_ptr;           /* 0x0C8 */
	u8 pad2[0x74];                  /* 0x0CC */
	u8 edid_info[0x80];             /* 0x140 */
	u8 efi_info[0x20];              /* 0x1C0 */
	u32 alt_mem_k;                  /* 0x1E0 */
	u32 scratch;                    /* 0x1E4 */
	u8 e820_entries;                /* 0x1E8 */
	u8 eddbuf_entries;              /* 0x1E9 */
	u8 edd_mbr_sig_buf_entries;     /* 0x1EA */
	u8 kbd_status;                  /* 0x1EB */
	u8 secure_boot;                 /* 0x1EC */
	u8 pad3[2];                     /* 0x1ED */
	u8 sentinel;                    /* 0x1EF: a loader that did not clear it is caught */
	u8 pad4;                        /* 0x1F0 */
	struct linux_setup_header hdr;  /* 0x1F1 */
	u8 pad5[0x290 - 0x1F1 - sizeof(struct linux_setup_header)];
	u8 edd_mbr_sig_buffer[0x40];    /* 0x290 */
	struct linux_e820 e820_table[LINUX_E820_MAX]; /* 0x2D0 */
	u8 pad6[0x1000 - 0x2D0 - LINUX_E820_MAX * sizeof(struct linux_e820)];
} __packed;

_Static_assert(__builtin_offsetof(struct linux_boot_params, acpi_rsdp_addr) == 0x070, "zero-page.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, ext_ramdisk_image) == 0x0C0, "zero-page.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, e820_entries) == 0x1E8, "zero-page.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, sentinel) == 0x1EF, "zero-page.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, hdr) == 0x1F1, "zero-page.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, hdr.version) == 0x206, "boot.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, hdr.cmd_line_ptr) == 0x228, "boot.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, hdr.kernel_info_offset) == 0x268, "boot.rst");
_Static_assert(__builtin_offsetof(struct linux_boot_params, e820_table) == 0x2D0, "zero-page.rst");
_Static_assert(sizeof(struct linux_boot_params) == 0x1000, "one page");

/* What a guest module is. */
enum guest_kind {
	GUEST_FERRY_ELF,    /* ferry's own guest OS (ELF64, entered with ferry_boot_info) */
	GUEST_LINUX_BZIMAGE,
	GUEST_LINUX_ELF,    /* the uncompressed vmlinux */
};

/* A parsed Linux image: what to copy where, relative to the load address. */
struct linux_image {
	enum guest_kind kind;
	const u8 *file;
	u64 file_size;
	struct linux_setup_header hdr; /* the bzImage's own, or synthesized for a vmlinux */
	u64 pref_address;  /* where the kernel would like to be */
	u64 align;         /* the load address is a multiple of this */
	u64 span;          /* [load, load + span) must be free guest RAM */
	u64 entry_offset;  /* entry = load + entry_offset */
	/* vmlinux: the ELF's PT_LOAD segments' lowest physical address, which
	 * the load address replaces (the kernel relocates itself by the 2 MiB
	 * aligned difference, head_64.S). */
	u64 elf_base;
};

/* Tells ferry's guest from a bzImage from a vmlinux (an x86-64 ELF with
 * Xen's GUEST_OS note "linux", which every x86 Linux since 2.6 carries).
 * -E_INVAL with a message for something that is none of the three. */
int guest_kind_of(const u8 *file, u64 size, enum guest_kind *kind);

/* Checks a Linux image and fills *li.  -E_INVAL (with a log line) for an
 * image ferry cannot boot: too old a protocol, no 64-bit entry, segments
 * outside the file. */
int linux_parse(const u8 *file, u64 size, enum guest_kind kind, struct linux_image *li);

/* The lowest address >= the kernel's preferred one (then the lowest
 * anywhere) that is a multiple of li->align, with [addr, addr + span) in
 * one guest RAM range, below 4 GiB (the boot page tables map 4 GiB), and
 * clear of the avoid ranges.  0 when there is none. */
u64 linux_place(const struct linux_image *li, const struct gmem *ram, const struct mem_range *avoid,
		unsigned navoid);

/* The E820 map Linux gets: guest RAM as usable; ferry's own memory (the
 * usable boot ranges that are not guest RAM) as reserved, so that neither
 * KASLR nor the page allocator goes there; every other boot range with its
 * own type; and dev (if its len is not 0), ferry's device page above RAM,
 * as reserved, so that Linux moves no BAR onto it.  Sorted.  Returns the
 * number of entries, or -E_NOSPC. */
int linux_e820(const struct boot_info *bi, const struct gmem *ram, struct mem_range dev, struct linux_e820 *out,
	       unsigned max);

struct linux_boot_args {
	u64 load;                 /* where the kernel was copied */
	u64 cmdline_gpa;
	u32 cmdline_len;          /* without the NUL */
	u64 initrd_gpa, initrd_size; /* 0, 0: none */
	u64 rsdp_gpa;             /* 0: Linux searches the BIOS area itself */
	const struct linux_e820 *e820;
	unsigned ne820;
};

/* Fills the zero page.  -E_RANGE when the command line is longer than
 * the kernel accepts or the initrd lies above what it can reach. */
int linux_boot_params(struct linux_boot_params *bp, const struct linux_image *li, const struct linux_boot_args *a);

#endif
