/* Partition table parsing: GPT, MBR, or a bare FAT volume. */
#include "part.h"
#include "alloc.h"
#include "lib/string.h"

/* ---- block device wrappers ---------------------------------------------- */

int disk_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	if (!count || !IS_ALIGNED((uintptr_t)buf, 4))
		return -E_INVAL;
	if (lba >= d->sectors || count > d->sectors - lba)
		return -E_RANGE;
	return d->read(d, lba, count, buf);
}

int disk_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	if (!count || !IS_ALIGNED((uintptr_t)buf, 4))
		return -E_INVAL;
	if (lba >= d->sectors || count > d->sectors - lba)
		return -E_RANGE;
	if (!d->write)
		return -E_ROFS;
	return d->write(d, lba, count, buf);
}

int disk_flush(struct disk *d)
{
	return d->flush ? d->flush(d) : 0;
}

/* ---- CRC-32 ------------------------------------------------------------- */

/* Reflected polynomial 0xEDB88320, processed a nibble at a time: a 16-entry
 * table keeps the code small and is fast enough for GPT entry arrays. */
u32 part_crc32(u32 crc, const void *data, size_t len)
{
	static const u32 tab[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
		0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};
	const u8 *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ tab[crc & 15];
		crc = (crc >> 4) ^ tab[crc & 15];
	}
	return ~crc;
}

/* ---- on-disk layouts ---------------------------------------------------- */

/* MBR partition entry, 16 bytes at offset 446 + 16 * i. */
struct mbr_entry {
	u8 status;        /* 0x00 or 0x80 (active) */
	u8 chs_first[3];
	u8 type;
	u8 chs_last[3];
	u8 lba_first[4];
	u8 lba_count[4];
} __packed;
_Static_assert(sizeof(struct mbr_entry) == 16, "MBR entry");

#define MBR_TABLE_OFF 446
#define MBR_SIG_OFF 510
#define MBR_TYPE_GPT_PROTECTIVE 0xEE

/* GPT header (UEFI 2.x, table "GPT Header"). */
struct gpt_header {
	u8 signature[8];   /* "EFI PART" */
	u8 revision[4];
	u8 header_size[4]; /* >= 92, <= the sector size */
	u8 header_crc[4];  /* over header_size bytes with this field zero */
	u8 reserved[4];
	u8 my_lba[8];
	u8 alternate_lba[8];
	u8 first_usable[8];
	u8 last_usable[8];
	u8 disk_guid[16];
	u8 entries_lba[8];
	u8 num_entries[4];
	u8 entry_size[4];  /* 128 * 2^n */
	u8 entries_crc[4];
} __packed;
_Static_assert(sizeof(struct gpt_header) == 92, "GPT header");
_Static_assert(__builtin_offsetof(struct gpt_header, entries_lba) == 72, "GPT header");

struct gpt_entry {
	u8 type_guid[16];
	u8 unique_guid[16];
	u8 first_lba[8];
	u8 last_lba[8]; /* inclusive */
	u8 attributes[8];
	u8 name[72];    /* UTF-16LE */
} __packed;
_Static_assert(sizeof(struct gpt_entry) == 128, "GPT entry");

/* GUIDs as stored on disk: the first three fields are little-endian. */
static const u8 guid_basic_data[16] = { /* EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 */
	0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
	0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7,
};
static const u8 guid_efi_system[16] = { /* C12A7328-F81F-11D2-BA4B-00A0C93EC93B */
	0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
	0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
};

/* Upper bound on the GPT entry array we are willing to read (the spec's
 * minimum is 16 KiB; 128 entries of 128 bytes is what every tool writes). */
#define GPT_MAX_ARRAY (1024 * 1024)
#define GPT_CHUNK (16 * 1024)
#define MAX_CANDIDATES 16

struct candidate {
	u32 index;
	u64 start, count;
};

/* ---- helpers ------------------------------------------------------------ */

const char *part_scheme_name(enum part_scheme s)
{
	switch (s) {
	case PART_SCHEME_NONE: return "none";
	case PART_SCHEME_MBR: return "mbr";
	case PART_SCHEME_GPT: return "gpt";
	}
	return "?";
}

static bool is_pow2(u32 v)
{
	return v && !(v & (v - 1));
}

/* Microsoft FAT spec (fatgen103) "Boot Sector and BPB": jmpBoot is EB xx 90
 * or E9 xx xx; BytsPerSec 512..4096; SecPerClus a power of two <= 128;
 * at least one reserved sector and one FAT; Media F0 or F8-FF; a sector
 * count and a FAT size are set; 55 AA at offset 510. */
bool part_looks_like_fat(const u8 *s)
{
	if (!((s[0] == 0xeb && s[2] == 0x90) || s[0] == 0xe9))
		return false;
	if (s[MBR_SIG_OFF] != 0x55 || s[MBR_SIG_OFF + 1] != 0xaa)
		return false;
	u32 bps = le16_at(s + 11);
	if (bps < 512 || bps > 4096 || !is_pow2(bps))
		return false;
	if (s[13] > 128 || !is_pow2(s[13]))
		return false;
	if (le16_at(s + 14) == 0 || s[16] == 0)
		return false;
	if (s[21] != 0xf0 && s[21] < 0xf8)
		return false;
	if (le16_at(s + 19) == 0 && le32_at(s + 32) == 0)
		return false;
	if (le16_at(s + 22) == 0 && le32_at(s + 36) == 0)
		return false;
	return true;
}

static int fail(struct part_info *out, int err, const char *why)
{
	out->why = why;
	return err;
}

/* Picks the first candidate whose first sector looks like a FAT volume. */
static int pick_candidate(struct disk *d, u8 *sec, const struct candidate *c, u32 n,
			  struct part_info *out)
{
	for (u32 i = 0; i < n; i++) {
		int rc = disk_read(d, c[i].start, 1, sec);
		if (rc)
			return fail(out, rc, "reading partition");
		if (!part_looks_like_fat(sec))
			continue;
		out->index = c[i].index;
		out->start_lba = c[i].start;
		out->sectors = c[i].count;
		out->why = NULL;
		return 0;
	}
	return fail(out, -E_NOENT, "no FAT partition");
}

/* ---- GPT ---------------------------------------------------------------- */

/* Validates the GPT header at `lba` (1 for the primary, the last sector for
 * the backup, as UEFI "GPT Header" validation requires my_lba to match),
 * then its entry array, and collects the FAT-type partitions. */
static int gpt_try(struct disk *d, u64 lba, u8 *sec, u8 *chunk, struct candidate *cand,
		   u32 *ncand, struct part_info *out)
{
	const struct gpt_header *h = (const void *)sec;
	u32 ss = d->sector_size;
	int rc = disk_read(d, lba, 1, sec);
	if (rc)
		return fail(out, rc, "reading gpt header");
	if (memcmp(h->signature, "EFI PART", 8) != 0)
		return fail(out, -E_CORRUPT, "gpt signature");
	u32 hsize = le32_at(h->header_size);
	if (hsize < sizeof(*h) || hsize > ss)
		return fail(out, -E_CORRUPT, "gpt header size");
	u32 want_crc = le32_at(h->header_crc);
	put_le32(sec + __builtin_offsetof(struct gpt_header, header_crc), 0);
	if (part_crc32(0, sec, hsize) != want_crc)
		return fail(out, -E_CORRUPT, "gpt header crc");
	if (le64_at(h->my_lba) != lba)
		return fail(out, -E_CORRUPT, "gpt my_lba");

	u64 first = le64_at(h->first_usable), last = le64_at(h->last_usable);
	u64 elba = le64_at(h->entries_lba);
	u32 nent = le32_at(h->num_entries), esize = le32_at(h->entry_size);
	u32 ecrc = le32_at(h->entries_crc);
	if (first > last || last >= d->sectors)
		return fail(out, -E_CORRUPT, "gpt usable range");
	if (esize < sizeof(struct gpt_entry) || !is_pow2(esize) || nent == 0 ||
	    (u64)nent * esize > GPT_MAX_ARRAY)
		return fail(out, -E_CORRUPT, "gpt entry array size");
	u64 bytes = (u64)nent * esize;
	u64 nsec = (bytes + ss - 1) / ss;
	if (elba < 2 || elba >= d->sectors || nsec > d->sectors - elba)
		return fail(out, -E_CORRUPT, "gpt entry array location");

	/* Read the array in chunks, computing the CRC over exactly nent*esize
	 * bytes and collecting candidates as we go; they count only once the
	 * CRC has matched. */
	u32 crc = 0, per_chunk = GPT_CHUNK / ss, idx = 0;
	u64 done = 0;
	*ncand = 0;
	for (u64 s = 0; s < nsec; s += per_chunk) {
		u32 n = (u32)MIN((u64)per_chunk, nsec - s);
		rc = disk_read(d, elba + s, n, chunk);
		if (rc)
			return fail(out, rc, "reading gpt entries");
		u64 take = MIN((u64)n * ss, bytes - done);
		crc = part_crc32(crc, chunk, take);
		for (u64 off = 0; off + esize <= take; off += esize, idx++) {
			const struct gpt_entry *e = (const void *)(chunk + off);
			bool basic = memcmp(e->type_guid, guid_basic_data, 16) == 0;
			bool esp = memcmp(e->type_guid, guid_efi_system, 16) == 0;
			static const u8 zero[16];
			if (memcmp(e->type_guid, zero, 16) == 0)
				continue;
			u64 pf = le64_at(e->first_lba), pl = le64_at(e->last_lba);
			if (pf > pl || pf < first || pl > last)
				return fail(out, -E_CORRUPT, "gpt partition outside usable range");
			if ((basic || esp) && *ncand < MAX_CANDIDATES) {
				cand[*ncand].index = idx;
				cand[*ncand].start = pf;
				cand[*ncand].count = pl - pf + 1;
				(*ncand)++;
			}
		}
		done += take;
	}
	if (crc != ecrc)
		return fail(out, -E_CORRUPT, "gpt entries crc");
	return 0;
}

static int gpt_find(struct disk *d, u8 *sec, struct part_info *out)
{
	struct candidate cand[MAX_CANDIDATES];
	u32 ncand = 0;
	u8 *chunk = g_alloc(GPT_CHUNK);
	if (!chunk)
		return fail(out, -E_NOMEM, "gpt buffer");

	out->scheme = PART_SCHEME_GPT;
	int rc = gpt_try(d, 1, sec, chunk, cand, &ncand, out);
	if (rc == -E_CORRUPT) {
		/* UEFI: if the primary is bad, the backup at the last LBA is
		 * used.  Report the primary's problem when both are bad. */
		const char *why = out->why;
		int rc2 = gpt_try(d, d->sectors - 1, sec, chunk, cand, &ncand, out);
		if (rc2 == 0)
			out->gpt_backup = true;
		else
			out->why = why;
		rc = rc2 == 0 ? 0 : rc;
	}
	g_free(chunk);
	if (rc)
		return rc;
	return pick_candidate(d, sec, cand, ncand, out);
}

/* ---- MBR ---------------------------------------------------------------- */

static bool mbr_type_is_fat(u8 t)
{
	/* FAT12 (0x01), FAT16 <32M (0x04), FAT16 (0x06), FAT32 CHS (0x0B),
	 * FAT32 LBA (0x0C), FAT16 LBA (0x0E). */
	return t == 0x01 || t == 0x04 || t == 0x06 || t == 0x0b || t == 0x0c || t == 0x0e;
}

static int mbr_find(struct disk *d, u8 *sec, struct part_info *out)
{
	struct candidate cand[4];
	u32 ncand = 0;

	out->scheme = PART_SCHEME_MBR;
	for (u32 i = 0; i < 4; i++) {
		const struct mbr_entry *e = (const void *)(sec + MBR_TABLE_OFF + 16 * i);
		if (e->type == MBR_TYPE_GPT_PROTECTIVE)
			return gpt_find(d, sec, out);
	}
	for (u32 i = 0; i < 4; i++) {
		const struct mbr_entry *e = (const void *)(sec + MBR_TABLE_OFF + 16 * i);
		if (e->status != 0x00 && e->status != 0x80)
			return fail(out, -E_CORRUPT, "mbr status byte");
		if (e->type == 0)
			continue;
		u64 start = le32_at(e->lba_first), count = le32_at(e->lba_count);
		if (start == 0 || count == 0 || start + count > d->sectors)
			return fail(out, -E_CORRUPT, "mbr partition outside disk");
		if (mbr_type_is_fat(e->type)) {
			cand[ncand].index = i;
			cand[ncand].start = start;
			cand[ncand].count = count;
			ncand++;
		}
	}
	return pick_candidate(d, sec, cand, ncand, out);
}

/* ---- entry point -------------------------------------------------------- */

int part_find_fat(struct disk *d, struct part_info *out)
{
	memset(out, 0, sizeof(*out));
	if (d->sector_size < 512 || d->sector_size > 4096 || !is_pow2(d->sector_size))
		return fail(out, -E_NOTSUP, "sector size");
	if (d->sectors < 2)
		return fail(out, -E_NOENT, "disk too small");
	u8 *sec = g_alloc(d->sector_size);
	if (!sec)
		return fail(out, -E_NOMEM, "sector buffer");

	int rc = disk_read(d, 0, 1, sec);
	if (rc) {
		fail(out, rc, "reading lba 0");
	} else if (sec[MBR_SIG_OFF] != 0x55 || sec[MBR_SIG_OFF + 1] != 0xaa) {
		rc = fail(out, -E_NOENT, "no partition table or FAT");
	} else if (part_looks_like_fat(sec)) {
		/* A BPB at LBA 0 wins over whatever its boot code bytes at 446
		 * would mean as a partition table ("mkfs.fat --mbr" even puts
		 * a fake table there). */
		out->scheme = PART_SCHEME_NONE;
		out->start_lba = 0;
		out->sectors = d->sectors;
	} else {
		rc = mbr_find(d, sec, out);
	}
	g_free(sec);
	return rc;
}
