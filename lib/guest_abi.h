/* What ferry promises its guest: the CPUID leaves, the boot handoff and the
 * logical block device.  Shared verbatim by ferry and the guest OS
 * (guest/); documented in docs/logical-device.md and docs/architecture.md.
 * Little-endian, packed, offsets checked below. */
#ifndef FERRY_GUEST_ABI_H
#define FERRY_GUEST_ABI_H

#include "types.h"

/* ---- CPUID -------------------------------------------------------------
 * Leaf 0x40000000: EAX = highest ferry leaf, EBX:ECX:EDX = "FerryHV\0\0\0\0\0"
 * Leaf 0x40000001: the logical block device: EAX = GPA bits 31:0 of its
 *   register page, EBX = GPA bits 63:32, ECX = size of the page in bytes,
 *   EDX = LBD_VERSION.  EAX = EBX = 0 when the machine has no device.
 * Leaf 0x40000002: EAX = TSC frequency in kHz as ferry measured it.
 * Leaf 0x40000003: exit counters for measuring exits per request: EAX =
 *   all VM exits so far bits 31:0, EBX = bits 63:32 (this CPUID's own exit
 *   included), ECX = nested-page-fault exits bits 31:0, EDX = port-I/O
 *   exits bits 31:0.
 * Leaf 0x40000004: more exit counters, bits 31:0 each: EAX = HLT exits,
 *   EBX = poll exits (a spinning guest stopped while requests are in
 *   flight), ECX = nested-page-fault exits that were writes to the local
 *   APIC (EOIs among them), EDX = exits for physical interrupts. */
#define FERRY_CPUID_BASE 0x40000000
#define FERRY_CPUID_LBD 0x40000001
#define FERRY_CPUID_TSC 0x40000002
#define FERRY_CPUID_STATS 0x40000003
#define FERRY_CPUID_STATS2 0x40000004
#define FERRY_CPUID_MAX FERRY_CPUID_STATS2
#define FERRY_SIG_EBX 0x72726546 /* "Ferr" */
#define FERRY_SIG_ECX 0x00564879 /* "yHV\0" */
#define FERRY_SIG_EDX 0x00000000

/* ---- Boot handoff ------------------------------------------------------
 * The guest kernel is an ELF64 file; ferry loads its PT_LOAD segments at
 * their physical addresses and enters e_entry in 64-bit mode with paging on
 * (an identity map of the first 4 GiB in 2 MiB pages, which the guest
 * should replace with its own), CS = 0x08, DS/ES/SS = 0x10, interrupts off,
 * RSP = FERRY_BOOT_STACK_TOP, RDI = GPA of struct ferry_boot_info. */
#define FERRY_BOOT_MAGIC 0x31544246 /* "FBT1" */
#define FERRY_BOOT_MAX_MEM 32
#define FERRY_BOOT_AREA_START 0x1000   /* boot structures ferry writes */
#define FERRY_BOOT_AREA_END 0x10000
#define FERRY_BOOT_STACK_TOP 0x10000
#define FERRY_BOOT_CMDLINE_MAX 8192

struct ferry_boot_mem {
	u64 base, len; /* guest RAM, page-aligned */
} __packed;

struct ferry_boot_info {
	u32 magic;           /* FERRY_BOOT_MAGIC */
	u32 version;         /* 1 */
	u64 cmdline_gpa;     /* NUL-terminated */
	u32 cmdline_len;     /* without the NUL */
	u32 nmem;
	struct ferry_boot_mem mem[FERRY_BOOT_MAX_MEM];
} __packed;
_Static_assert(sizeof(struct ferry_boot_info) == 24 + 16 * FERRY_BOOT_MAX_MEM, "boot info layout");

/* ---- Hypercalls (VMMCALL / VMCALL, number in RAX, result in RAX) ------- */
#define FERRY_HC_POWEROFF 1 /* RBX = exit status; ferry stops the machine */

/* ---- The logical block device -------------------------------------------
 * A 4 KiB register page.  The guest may read every register at any time
 * without leaving the guest (the page is mapped read-only).  Writing the
 * doorbell is the only access that traps: one VM exit per command. */
#define LBD_VERSION 1
#define LBD_PAGE_SIZE 4096
#define LBD_MAGIC 0x44424c46 /* "FLBD" */

#define LBD_REG_MAGIC 0x000       /* u32 ro */
#define LBD_REG_VERSION 0x004     /* u32 ro */
#define LBD_REG_STATE 0x008       /* u32 ro: LBD_STATE_* */
#define LBD_REG_SECTOR_SIZE 0x00C /* u32 ro: bytes per sector */
#define LBD_REG_CAPACITY 0x010    /* u64 ro: sectors */
#define LBD_REG_MAX_SECTORS 0x018 /* u32 ro: largest count per command */
#define LBD_REG_MAX_SEGS 0x01C    /* u32 ro: largest nseg per command */
#define LBD_REG_SUBMITTED 0x020   /* u64 ro: doorbell writes accepted */
#define LBD_REG_COMPLETED 0x028   /* u64 ro: commands finished (any status) */
#define LBD_REG_LAST_STATUS 0x030 /* u32 ro: status of the latest command */
#define LBD_REG_BAD_WRITES 0x034  /* u32 ro: writes to registers other than the doorbell */
#define LBD_REG_DOORBELL 0x100    /* u64 wo: GPA of a struct lbd_desc */

#define LBD_STATE_READY BIT(0)    /* a back end is attached */
#define LBD_STATE_READ_ONLY BIT(1)

/* Opcodes */
#define LBD_OP_IDENTIFY 0x01 /* fills a 512-byte struct lbd_identify */
#define LBD_OP_READ 0x02
#define LBD_OP_WRITE 0x03
#define LBD_OP_FLUSH 0x04

/* Status codes (struct lbd_desc.status and LBD_REG_LAST_STATUS) */
#define LBD_ST_OK 0x00
#define LBD_ST_BAD_OPCODE 0x01  /* unknown opcode */
#define LBD_ST_BAD_DESC 0x02    /* malformed descriptor (nseg, lengths, reserved fields) */
#define LBD_ST_LBA_RANGE 0x03   /* lba/count beyond the device or count 0 / too large */
#define LBD_ST_DMA_RANGE 0x04   /* an address is not in the guest's RAM */
#define LBD_ST_ALIGN 0x05       /* a segment address or length not a multiple of 4 */
#define LBD_ST_IO_ERROR 0x06    /* the back end failed */
#define LBD_ST_READ_ONLY 0x07   /* write to a read-only device */
#define LBD_ST_TIMEOUT 0x08     /* the back end did not answer in time */
#define LBD_ST_NO_DEVICE 0x09   /* no back end attached */
#define LBD_ST_PENDING 0xFFFFFFFFu /* set by the guest before ringing; never by ferry */

struct lbd_seg {
	u64 gpa;      /* guest-physical, multiple of 4 */
	u32 len;      /* bytes, multiple of 4, > 0 */
	u32 reserved; /* must be 0 */
} __packed;

/* A command, in guest RAM, followed directly by nseg struct lbd_seg. */
struct lbd_desc {
	u8 opcode;
	u8 flags;     /* must be 0 */
	u16 nseg;
	u32 status;   /* written by ferry when the command completes */
	u64 lba;
	u32 count;    /* sectors (read/write); 0 for identify and flush */
	u32 reserved; /* must be 0 */
	u64 tag;      /* the guest's own; ferry leaves it alone */
	struct lbd_seg seg[];
} __packed;
_Static_assert(sizeof(struct lbd_desc) == 32, "lbd_desc header is 32 bytes");
_Static_assert(sizeof(struct lbd_seg) == 16, "lbd_seg is 16 bytes");

#define LBD_IDENTIFY_MAGIC 0x44494c46 /* "FLID" */
#define LBD_ID_READ_ONLY BIT(0)

struct lbd_identify {
	u32 magic;
	u32 version;
	u64 sectors;
	u32 sector_size;
	u32 max_sectors;
	u32 max_segs;
	u32 flags;       /* LBD_ID_* */
	char model[48];  /* NUL-terminated */
	char serial[24]; /* NUL-terminated */
	char backend[32];/* which back end serves it, e.g. "ahci" */
	u8 reserved[512 - 136];
} __packed;
_Static_assert(sizeof(struct lbd_identify) == 512, "identify data is 512 bytes");

#endif
