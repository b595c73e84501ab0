/* Block devices as the guest sees them, and the partition tables on them.
 *
 * part_find_fat() looks at a disk the way a firmware or OS would: a GPT
 * (UEFI spec 2.x, chapter 5 "GUID Partition Table Disk Layout"), a classic
 * MBR with primary partitions, or no table at all with a FAT boot sector at
 * LBA 0 (a "superfloppy").  It returns the first FAT-looking partition. */
#ifndef GUEST_PART_H
#define GUEST_PART_H

#include "lib/types.h"

/* Little-endian field access for on-disk structures (explicit even though
 * the guest only runs on x86). */
static inline u16 le16_at(const void *p)
{
	const u8 *b = p;
	return (u16)(b[0] | b[1] << 8);
}

static inline u32 le32_at(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static inline u64 le64_at(const void *p)
{
	return le32_at(p) | (u64)le32_at((const u8 *)p + 4) << 32;
}

static inline void put_le16(void *p, u16 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
}

static inline void put_le32(void *p, u32 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
	b[2] = (u8)(v >> 16);
	b[3] = (u8)(v >> 24);
}

static inline void put_le64(void *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32((u8 *)p + 4, (u32)(v >> 32));
}

/* One block device found by a guest driver.  read/write move whole sectors;
 * buffers handed to them are 4-byte aligned and count >= 1.  They return 0
 * or a negative E_* code. */
struct disk {
	const char *name;   /* e.g. "ld0" */
	const char *driver; /* name of the driver that serves it */
	u32 sector_size;    /* 512 or 4096 */
	u64 sectors;
	int (*read)(struct disk *d, u64 lba, u32 count, void *buf);
	int (*write)(struct disk *d, u64 lba, u32 count, const void *buf);
	int (*flush)(struct disk *d);
	void *priv;
};

/* Checked wrappers: -E_RANGE past the end, -E_INVAL for count 0 or an
 * unaligned buffer, otherwise whatever the driver returns. */
int disk_read(struct disk *d, u64 lba, u32 count, void *buf);
int disk_write(struct disk *d, u64 lba, u32 count, const void *buf);
int disk_flush(struct disk *d);

enum part_scheme {
	PART_SCHEME_NONE = 0, /* superfloppy: FAT boot sector at LBA 0 */
	PART_SCHEME_MBR,
	PART_SCHEME_GPT,
};

struct part_info {
	enum part_scheme scheme;
	u32 index;       /* 0-based slot in the MBR or GPT entry array */
	u64 start_lba;   /* in device sectors */
	u64 sectors;
	bool gpt_backup; /* the primary GPT was bad; the backup was used */
	const char *why; /* on error: a short reason ("gpt header crc") */
};

/* 0 and *out filled, or: -E_NOENT (no table and no FAT, or no FAT-looking
 * partition), -E_CORRUPT (a table that fails its checks), -E_NOMEM, or a
 * device error.  out->why explains failures. */
int part_find_fat(struct disk *d, struct part_info *out);
const char *part_scheme_name(enum part_scheme s); /* "none", "mbr", "gpt" */

/* Whether a sector looks like a FAT boot sector (jump, BPB ranges, 0x55AA). */
bool part_looks_like_fat(const u8 *sector);

/* CRC-32 as used by GPT (ISO-HDLC / zlib): crc of a+b is
 * part_crc32(part_crc32(0, a), b). */
u32 part_crc32(u32 crc, const void *data, size_t len);

#endif
