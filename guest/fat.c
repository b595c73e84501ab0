/* FAT16 / FAT32 (fatgen103).  See fat.h for the I/O model.
 *
 * Sector numbers inside this file are volume-relative and in units of the
 * volume's BytsPerSec ("vsec"); the device may have smaller sectors (the
 * ratio is kept in v->ratio).  Cluster numbers are validated against
 * 2 .. nclusters+1 before every use. */
#include "fat.h"
#include "alloc.h"
#include "../hv/lib/string.h"

/* ---- on-disk layouts ---------------------------------------------------- */

/* Boot sector and BPB, common part (fatgen103 "Boot Sector and BPB"). */
struct fat_bpb {
	u8 jmp_boot[3];
	u8 oem_name[8];
	u8 byts_per_sec[2];
	u8 sec_per_clus;
	u8 rsvd_sec_cnt[2];
	u8 num_fats;
	u8 root_ent_cnt[2];
	u8 tot_sec16[2];
	u8 media;
	u8 fat_sz16[2];
	u8 sec_per_trk[2];
	u8 num_heads[2];
	u8 hidd_sec[4];
	u8 tot_sec32[4];
	/* FAT32 extension, offset 36 */
	u8 fat_sz32[4];
	u8 ext_flags[2]; /* bit 7: mirroring off; bits 0-3: active FAT */
	u8 fs_ver[2];
	u8 root_clus[4];
	u8 fs_info[2];
	u8 bk_boot_sec[2];
	u8 reserved[12];
} __packed;
_Static_assert(__builtin_offsetof(struct fat_bpb, tot_sec32) == 32, "BPB");
_Static_assert(__builtin_offsetof(struct fat_bpb, fat_sz32) == 36, "BPB");
_Static_assert(__builtin_offsetof(struct fat_bpb, root_clus) == 44, "BPB");
_Static_assert(__builtin_offsetof(struct fat_bpb, fs_info) == 48, "BPB");
_Static_assert(sizeof(struct fat_bpb) == 64, "BPB");

/* FAT32 FSInfo sector (fatgen103 "FAT32 FSInfo Sector Structure"). */
struct fat_fsinfo {
	u8 lead_sig[4];  /* 0x41615252 */
	u8 reserved1[480];
	u8 struc_sig[4]; /* 0x61417272 */
	u8 free_count[4];
	u8 nxt_free[4];
	u8 reserved2[12];
	u8 trail_sig[4]; /* 0xAA550000 */
} __packed;
_Static_assert(__builtin_offsetof(struct fat_fsinfo, free_count) == 488, "FSInfo");
_Static_assert(sizeof(struct fat_fsinfo) == 512, "FSInfo");

#define FSI_LEAD_SIG 0x41615252u
#define FSI_STRUC_SIG 0x61417272u
#define FSI_TRAIL_SIG 0xaa550000u
#define FSI_UNKNOWN 0xffffffffu

/* 32-byte short directory entry. */
struct fat_sde {
	u8 name[11];
	u8 attr;
	u8 nt_res; /* 0x08: base is lower case, 0x10: extension is lower case */
	u8 crt_time_tenth;
	u8 crt_time[2];
	u8 crt_date[2];
	u8 lst_acc_date[2];
	u8 fst_clus_hi[2];
	u8 wrt_time[2];
	u8 wrt_date[2];
	u8 fst_clus_lo[2];
	u8 file_size[4];
} __packed;
_Static_assert(sizeof(struct fat_sde) == 32, "dir entry");
_Static_assert(__builtin_offsetof(struct fat_sde, fst_clus_hi) == 20, "dir entry");
_Static_assert(__builtin_offsetof(struct fat_sde, fst_clus_lo) == 26, "dir entry");

/* 32-byte long-name entry (fatgen103 "FAT Long Directory Entries"). */
struct fat_lde {
	u8 ord;        /* sequence 1..20, 0x40 on the last (first stored) */
	u8 name1[10];  /* characters 1-5, UTF-16LE */
	u8 attr;       /* FAT_ATTR_LONG_NAME */
	u8 type;       /* 0 */
	u8 chksum;     /* of the 8.3 name that follows */
	u8 name2[12];  /* characters 6-11 */
	u8 fst_clus_lo[2]; /* 0 */
	u8 name3[4];   /* characters 12-13 */
} __packed;
_Static_assert(sizeof(struct fat_lde) == 32, "LFN entry");
_Static_assert(__builtin_offsetof(struct fat_lde, name2) == 14, "LFN entry");
_Static_assert(__builtin_offsetof(struct fat_lde, name3) == 28, "LFN entry");

#define DIRENT_SIZE 32
#define DIR_FREE 0xe5      /* name[0] of a deleted entry */
#define DIR_END 0x00       /* name[0]: this and all later entries are free */
#define DIR_KANJI_E5 0x05  /* name[0] standing for a real 0xE5 */
#define LFN_LAST 0x40
#define LFN_MAX_ENTRIES 20
#define LFN_CHARS 13
#define DIR_MAX_ENTRIES 65536 /* 2 MiB: the spec's limit on a directory */

/* The guest has no clock: every timestamp is 2026-01-01 00:00:00.
 * Date = (year - 1980) << 9 | month << 5 | day; time = 0. */
#define FAT_FIXED_DATE (((2026 - 1980) << 9) | (1 << 5) | 1)
#define FAT_FIXED_TIME 0

/* Characters 1..13 of a long-name entry, by byte offset. */
static const u8 lfn_char_off[LFN_CHARS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };

/* ---- volume state ------------------------------------------------------- */

struct fat_line {
	u8 *data;
	u32 sector; /* first vsec */
	u32 count;  /* vsecs held, 0 = empty */
	u32 stamp;  /* for LRU */
	bool dirty;
};

struct fat_vol {
	struct disk *disk;
	u64 lba0;          /* device LBA of vsec 0 */
	u32 ratio;         /* device sectors per vsec */
	u32 bps, spc, cluster_bytes;
	u32 rsvd, nfats, fatsz;
	u32 fat0;          /* first vsec of the FAT we read (the active one) */
	bool mirror;       /* write every FAT copy (FAT32 ExtFlags bit 7 clear) */
	u32 root_sec, root_secs, root_ents; /* FAT16 fixed root directory */
	u32 root_clus;     /* FAT32 root directory cluster */
	u32 data_sec;      /* first vsec of cluster 2 */
	u32 tot_sec;
	u32 nclusters;     /* valid cluster numbers: 2 .. nclusters + 1 */
	int type;          /* 16 or 32 */
	u32 eoc_min;       /* FAT values >= this end a chain */
	u32 eoc;           /* value written to end a chain */
	u32 fsinfo_sec;    /* 0: none / invalid */
	bool free_known, fsinfo_dirty;
	u32 free_count, next_free;
	u32 line_secs;
	u32 stamp;
	struct fat_line lines[FAT_CACHE_LINES];
	u8 *line_mem;
	u8 *bounce;        /* one vsec */
};

/* ---- raw I/O ------------------------------------------------------------ */

static int vol_io(struct fat_vol *v, bool wr, u32 sec, u32 n, void *buf)
{
	if (n == 0 || sec >= v->tot_sec || n > v->tot_sec - sec)
		return -E_RANGE;
	u64 lba = v->lba0 + (u64)sec * v->ratio;
	u32 cnt = n * v->ratio;
	return wr ? disk_write(v->disk, lba, cnt, buf) : disk_read(v->disk, lba, cnt, buf);
}

/* ---- sector cache ------------------------------------------------------- */

static bool in_fat0(const struct fat_vol *v, u32 sec)
{
	return sec >= v->fat0 && sec - v->fat0 < v->fatsz;
}

/* The line a sector belongs to: FAT and fixed-root lines are line_secs
 * long counted from the region start; data lines never cross a cluster;
 * anything else is cached one sector at a time. */
static void line_span(const struct fat_vol *v, u32 sec, u32 *start, u32 *count)
{
	u32 base, end, unit;

	if (in_fat0(v, sec)) {
		base = v->fat0;
		end = v->fat0 + v->fatsz;
		unit = v->line_secs;
	} else if (v->root_secs && sec >= v->root_sec && sec < v->root_sec + v->root_secs) {
		base = v->root_sec;
		end = v->root_sec + v->root_secs;
		unit = v->line_secs;
	} else if (sec >= v->data_sec) {
		base = v->data_sec;
		end = v->tot_sec;
		unit = MIN(v->line_secs, v->spc);
	} else {
		base = sec;
		end = sec + 1;
		unit = 1;
	}
	*start = base + (sec - base) / unit * unit;
	*count = MIN(unit, end - *start);
}

static int line_writeback(struct fat_vol *v, struct fat_line *l)
{
	if (!l->count || !l->dirty)
		return 0;
	if (in_fat0(v, l->sector)) {
		/* Keep every FAT copy identical (unless mirroring is off, when
		 * only the active FAT is live: fatgen103 BPB_ExtFlags). */
		u32 rel = l->sector - v->fat0;
		for (u32 i = 0; i < v->nfats; i++) {
			u32 copy = v->rsvd + i * v->fatsz;
			if (!v->mirror && copy != v->fat0)
				continue;
			int rc = vol_io(v, true, copy + rel, l->count, l->data);
			if (rc)
				return rc;
		}
	} else {
		int rc = vol_io(v, true, l->sector, l->count, l->data);
		if (rc)
			return rc;
	}
	l->dirty = false;
	return 0;
}

/* Returns in *out a pointer to the cached bytes of sector sec, valid until
 * the next cache call.  dirty marks the line modified. */
static int cache_get(struct fat_vol *v, u32 sec, bool dirty, u8 **out)
{
	struct fat_line *victim = NULL;

	for (u32 i = 0; i < FAT_CACHE_LINES; i++) {
		struct fat_line *l = &v->lines[i];
		if (l->count && sec >= l->sector && sec - l->sector < l->count) {
			l->stamp = ++v->stamp;
			l->dirty |= dirty;
			*out = l->data + (sec - l->sector) * v->bps;
			return 0;
		}
		if (!victim || (victim->count && (!l->count || l->stamp < victim->stamp)))
			victim = l;
	}
	int rc = line_writeback(v, victim);
	if (rc)
		return rc;
	u32 start, count;
	line_span(v, sec, &start, &count);
	victim->count = 0;
	rc = vol_io(v, false, start, count, victim->data);
	if (rc)
		return rc;
	victim->sector = start;
	victim->count = count;
	victim->dirty = dirty;
	victim->stamp = ++v->stamp;
	*out = victim->data + (sec - start) * v->bps;
	return 0;
}

/* Before direct I/O on [sec, sec+n): write back overlapping dirty lines so
 * the disk is current, and for writes drop them so they cannot go stale. */
static int cache_sync_range(struct fat_vol *v, u32 sec, u32 n, bool drop)
{
	for (u32 i = 0; i < FAT_CACHE_LINES; i++) {
		struct fat_line *l = &v->lines[i];
		if (!l->count || l->sector >= sec + n || l->sector + l->count <= sec)
			continue;
		int rc = line_writeback(v, l);
		if (rc)
			return rc;
		if (drop)
			l->count = 0;
	}
	return 0;
}

static int cache_flush_all(struct fat_vol *v)
{
	int first_err = 0;
	for (u32 i = 0; i < FAT_CACHE_LINES; i++) {
		int rc = line_writeback(v, &v->lines[i]);
		if (rc && !first_err)
			first_err = rc;
	}
	return first_err;
}

/* ---- FAT entries and chains --------------------------------------------- */

static inline u32 max_clus(const struct fat_vol *v)
{
	return v->nclusters + 1;
}

static inline bool clus_ok(const struct fat_vol *v, u32 c)
{
	return c >= 2 && c <= max_clus(v);
}

static inline u32 clus_sec(const struct fat_vol *v, u32 c)
{
	return v->data_sec + (c - 2) * v->spc;
}

static int fat_entry_ptr(struct fat_vol *v, u32 c, bool dirty, u8 **p)
{
	if (!clus_ok(v, c))
		return -E_CORRUPT;
	u32 off = c * (v->type == 32 ? 4 : 2);
	u8 *s;
	int rc = cache_get(v, v->fat0 + off / v->bps, dirty, &s);
	if (rc)
		return rc;
	*p = s + off % v->bps;
	return 0;
}

static int fat_get(struct fat_vol *v, u32 c, u32 *val)
{
	u8 *p;
	int rc = fat_entry_ptr(v, c, false, &p);
	if (rc)
		return rc;
	/* FAT32 entries are 28 bits; the top 4 are reserved. */
	*val = v->type == 32 ? le32_at(p) & 0x0fffffff : le16_at(p);
	return 0;
}

static int fat_set(struct fat_vol *v, u32 c, u32 val)
{
	u8 *p;
	int rc = fat_entry_ptr(v, c, true, &p);
	if (rc)
		return rc;
	if (v->type == 32)
		put_le32(p, (le32_at(p) & 0xf0000000) | (val & 0x0fffffff));
	else
		put_le16(p, (u16)val);
	return 0;
}

/* One step along a chain: *next is the following cluster, or 0 at the end.
 * Free, reserved, bad and out-of-range links are corruption. */
static int chain_next(struct fat_vol *v, u32 c, u32 *next)
{
	u32 val;
	int rc = fat_get(v, c, &val);
	if (rc)
		return rc;
	if (val >= v->eoc_min) {
		*next = 0;
		return 0;
	}
	if (!clus_ok(v, val))
		return -E_CORRUPT;
	*next = val;
	return 0;
}

/* The run of physically consecutive clusters starting at c (at most max of
 * them), and the cluster that follows the run in the chain (0 at the end). */
static int chain_run(struct fat_vol *v, u32 c, u32 max, u32 *run, u32 *after)
{
	u32 n = 1, next;
	for (;;) {
		int rc = chain_next(v, c + n - 1, &next);
		if (rc)
			return rc;
		if (n >= max || next != c + n)
			break;
		n++;
	}
	*run = n;
	*after = next;
	return 0;
}

/* Counts free clusters with large direct reads of the FAT (after writing
 * back dirty FAT lines): used when FSInfo has no valid count. */
static int count_free(struct fat_vol *v)
{
	u32 chunk_secs = MAX(1u, (u32)(64 * 1024) / v->bps);
	u8 *buf = g_alloc((size_t)chunk_secs * v->bps);
	if (!buf)
		return -E_NOMEM;
	int rc = cache_sync_range(v, v->fat0, v->fatsz, false);
	u32 esz = v->type == 32 ? 4 : 2, per_sec = v->bps / esz;
	u32 free = 0, first_free = 0;
	u32 need_secs = (u32)(((u64)max_clus(v) + 1) * esz + v->bps - 1) / v->bps;
	for (u32 s = 0; !rc && s < need_secs; s += chunk_secs) {
		u32 n = MIN(chunk_secs, need_secs - s);
		rc = vol_io(v, false, v->fat0 + s, n, buf);
		for (u32 i = 0; !rc && i < n * per_sec; i++) {
			u32 c = s * per_sec + i;
			if (c < 2 || c > max_clus(v))
				continue;
			u32 val = esz == 4 ? le32_at(buf + 4 * i) & 0x0fffffff : le16_at(buf + 2 * i);
			if (val == 0) {
				free++;
				if (!first_free)
					first_free = c;
			}
		}
	}
	g_free(buf);
	if (rc)
		return rc;
	v->free_count = free;
	v->free_known = true;
	v->fsinfo_dirty = true;
	if (!clus_ok(v, v->next_free))
		v->next_free = first_free ? first_free : 2;
	return 0;
}

static int ensure_free_count(struct fat_vol *v)
{
	return v->free_known ? 0 : count_free(v);
}

/* Allocates a free cluster, marks it end-of-chain and, if prev != 0, links
 * prev to it.  Searching starts just after prev (so files grow contiguously)
 * or at the next-free hint, and wraps around once. */
static int cluster_alloc(struct fat_vol *v, u32 prev, u32 *out)
{
	int rc = ensure_free_count(v);
	if (rc)
		return rc;
	if (v->free_count == 0)
		return -E_NOSPC;
	u32 c = prev ? prev + 1 : v->next_free;
	if (!clus_ok(v, c))
		c = 2;
	for (u32 i = 0; i < v->nclusters; i++) {
		u32 val;
		rc = fat_get(v, c, &val);
		if (rc)
			return rc;
		if (val == 0) {
			rc = fat_set(v, c, v->eoc);
			if (!rc && prev)
				rc = fat_set(v, prev, c);
			if (rc)
				return rc;
			v->free_count--;
			v->next_free = c == max_clus(v) ? 2 : c + 1;
			v->fsinfo_dirty = true;
			*out = c;
			return 0;
		}
		c = c == max_clus(v) ? 2 : c + 1;
	}
	/* The count said there was room, the FAT says not: trust the FAT. */
	v->free_count = 0;
	v->fsinfo_dirty = true;
	return -E_NOSPC;
}

/* Frees a whole chain.  A chain that runs into a free cluster, a bad link
 * or is longer than the volume is corrupt; what was freed stays freed. */
static int chain_free(struct fat_vol *v, u32 c)
{
	int rc = ensure_free_count(v);
	if (rc)
		return rc;
	for (u32 steps = 0; c; steps++) {
		u32 next;
		if (steps > v->nclusters)
			return -E_CORRUPT;
		rc = chain_next(v, c, &next);
		if (rc)
			return rc;
		rc = fat_set(v, c, 0);
		if (rc)
			return rc;
		v->free_count++;
		v->fsinfo_dirty = true;
		c = next;
	}
	return 0;
}

/* Writes zeros over a whole cluster (new directory clusters must read as
 * empty: fatgen103 says a new directory cluster is zero-filled). */
static int cluster_zero(struct fat_vol *v, u32 c)
{
	u32 secs = MIN(v->spc, MAX(1u, (u32)(64 * 1024) / v->bps));
	u8 *z = g_zalloc((size_t)secs * v->bps);
	if (!z)
		return -E_NOMEM;
	u32 first = clus_sec(v, c);
	int rc = cache_sync_range(v, first, v->spc, true);
	for (u32 s = 0; !rc && s < v->spc; s += secs)
		rc = vol_io(v, true, first + s, MIN(secs, v->spc - s), z);
	g_free(z);
	return rc;
}

/* ---- file data I/O ------------------------------------------------------ */

/* Moves n bytes starting off bytes into vsec sec to or from buf.  Whole
 * sectors go in one request (if buf is 4-byte aligned); a partial sector
 * at either end uses the bounce buffer.  Writing never needs what lies
 * past the written bytes in a partial sector -- files are only appended
 * to, so that is beyond end of file -- and it is zero-filled. */
static int data_io(struct fat_vol *v, bool wr, u32 sec, u32 off, u8 *buf, u32 n)
{
	u32 bps = v->bps;
	sec += off / bps;
	off %= bps;
	int rc = cache_sync_range(v, sec, (off + n + bps - 1) / bps, wr);
	if (rc)
		return rc;
	if (off) {
		u32 k = MIN(n, bps - off);
		rc = vol_io(v, false, sec, 1, v->bounce);
		if (rc)
			return rc;
		if (wr) {
			memcpy(v->bounce + off, buf, k);
			memset(v->bounce + off + k, 0, bps - off - k);
			rc = vol_io(v, true, sec, 1, v->bounce);
			if (rc)
				return rc;
		} else {
			memcpy(buf, v->bounce + off, k);
		}
		sec++;
		buf += k;
		n -= k;
	}
	u32 full = n / bps;
	if (full && IS_ALIGNED((uintptr_t)buf, 4)) {
		/* One request, unless clusters are larger than FAT_IO_MAX. */
		u32 step = MAX(1u, FAT_IO_MAX / bps);
		for (u32 i = 0; i < full; i += step) {
			rc = vol_io(v, wr, sec + i, MIN(step, full - i), buf + (size_t)i * bps);
			if (rc)
				return rc;
		}
	} else {
		for (u32 i = 0; i < full; i++) {
			u8 *p = buf + (size_t)i * bps;
			if (wr)
				memcpy(v->bounce, p, bps);
			rc = vol_io(v, wr, sec + i, 1, v->bounce);
			if (rc)
				return rc;
			if (!wr)
				memcpy(p, v->bounce, bps);
		}
	}
	sec += full;
	buf += (size_t)full * bps;
	n -= full * bps;
	if (n) {
		if (wr) {
			memcpy(v->bounce, buf, n);
			memset(v->bounce + n, 0, bps - n);
			rc = vol_io(v, true, sec, 1, v->bounce);
		} else {
			rc = vol_io(v, false, sec, 1, v->bounce);
			if (!rc)
				memcpy(buf, v->bounce, n);
		}
	}
	return rc;
}

/* ---- names -------------------------------------------------------------- */

/* fatgen103 "Long Name Checksum": rotate right, add the next byte. */
static u8 lfn_checksum(const u8 sn[11])
{
	u8 sum = 0;
	for (int i = 0; i < 11; i++)
		sum = (u8)(((sum & 1) << 7) + (sum >> 1) + sn[i]);
	return sum;
}

/* Characters allowed in an 8.3 name besides A-Z and 0-9 (fatgen103
 * "DIR_Name"); bytes above 0x7F are codepage-dependent and not produced. */
static bool short_char_ok(char c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("$%'-_@~`!(){}^#&", c) != NULL;
}

/* Characters a long name may not contain. */
static bool long_char_ok(u32 ch)
{
	return ch >= 0x20 && ch != 0x7f && !(ch < 0x80 && strchr("\"*/:<>?\\|", (int)ch));
}

/* "NAME.EXT" for display, honouring the NT lower-case flags. */
static void short_to_str(const u8 *sn, u8 nt_res, char *out)
{
	size_t n = 0;
	int blen = 8, elen = 3;
	while (blen > 0 && sn[blen - 1] == ' ')
		blen--;
	while (elen > 0 && sn[8 + elen - 1] == ' ')
		elen--;
	for (int i = 0; i < blen + elen; i++) {
		int j = i < blen ? i : 8 + i - blen;
		u8 c = sn[j];
		if (i == blen)
			out[n++] = '.';
		if (j == 0 && c == DIR_KANJI_E5)
			c = 0xe5;
		if (c < 0x20 || c >= 0x7f)
			c = '?';
		if ((j < 8 && (nt_res & 0x08)) || (j >= 8 && (nt_res & 0x10)))
			c = (u8)to_lower((char)c);
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

/* UTF-16 (from a long name) to UTF-8; unpaired surrogates become '?'. */
static void utf16_to_utf8(const u16 *u, u32 n, char *out, size_t size)
{
	size_t o = 0;
	for (u32 i = 0; i < n; i++) {
		u32 ch = u[i];
		if (ch >= 0xd800 && ch < 0xdc00 && i + 1 < n && u[i + 1] >= 0xdc00 && u[i + 1] < 0xe000) {
			ch = 0x10000 + ((ch - 0xd800) << 10) + (u[i + 1] - 0xdc00);
			i++;
		} else if (ch >= 0xd800 && ch < 0xe000) {
			ch = '?';
		}
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		u8 b[4];
		size_t k;
		if (ch < 0x80) {
			b[0] = (u8)ch;
			k = 1;
		} else if (ch < 0x800) {
			b[0] = (u8)(0xc0 | ch >> 6);
			b[1] = (u8)(0x80 | (ch & 0x3f));
			k = 2;
		} else if (ch < 0x10000) {
			b[0] = (u8)(0xe0 | ch >> 12);
			b[1] = (u8)(0x80 | ((ch >> 6) & 0x3f));
			b[2] = (u8)(0x80 | (ch & 0x3f));
			k = 3;
		} else {
			b[0] = (u8)(0xf0 | ch >> 18);
			b[1] = (u8)(0x80 | ((ch >> 12) & 0x3f));
			b[2] = (u8)(0x80 | ((ch >> 6) & 0x3f));
			b[3] = (u8)(0x80 | (ch & 0x3f));
			k = 4;
		}
		if (o + k >= size)
			break;
		memcpy(out + o, b, k);
		o += k;
	}
	out[o] = '\0';
}

/* UTF-8 name to UTF-16 for a long-name entry.  Returns the number of
 * units, -E_INVAL for bad UTF-8 or a forbidden character, or
 * -E_NAMETOOLONG past 255 units. */
static int utf8_to_utf16(const char *s, size_t len, u16 *u, u32 max)
{
	u32 n = 0;
	for (size_t i = 0; i < len;) {
		u8 c = (u8)s[i];
		u32 ch, k;
		if (c < 0x80) {
			ch = c;
			k = 1;
		} else if ((c & 0xe0) == 0xc0) {
			ch = c & 0x1f;
			k = 2;
		} else if ((c & 0xf0) == 0xe0) {
			ch = c & 0x0f;
			k = 3;
		} else if ((c & 0xf8) == 0xf0) {
			ch = c & 0x07;
			k = 4;
		} else {
			return -E_INVAL;
		}
		if (k > len - i)
			return -E_INVAL;
		for (u32 j = 1; j < k; j++) {
			if (((u8)s[i + j] & 0xc0) != 0x80)
				return -E_INVAL;
			ch = ch << 6 | ((u8)s[i + j] & 0x3f);
		}
		/* Overlong forms and surrogates are not valid UTF-8. */
		if ((k == 2 && ch < 0x80) || (k == 3 && ch < 0x800) || (k == 4 && ch < 0x10000) ||
		    ch > 0x10ffff || (ch >= 0xd800 && ch < 0xe000))
			return -E_INVAL;
		if (!long_char_ok(ch))
			return -E_INVAL;
		i += k;
		if (ch >= 0x10000) {
			if (n + 2 > max)
				return -E_NAMETOOLONG;
			ch -= 0x10000;
			u[n++] = (u16)(0xd800 + (ch >> 10));
			u[n++] = (u16)(0xdc00 + (ch & 0x3ff));
		} else {
			if (n + 1 > max)
				return -E_NAMETOOLONG;
			u[n++] = (u16)ch;
		}
	}
	return (int)n;
}

/* If name is exactly an 8.3 name (each part all upper or all lower case),
 * fills sn and the NT case flags and returns true. */
static bool name_to_short(const char *name, size_t len, u8 sn[11], u8 *nt_res)
{
	const char *dot = NULL;
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (dot)
				return false;
			dot = name + i;
		}
	}
	size_t blen = dot ? (size_t)(dot - name) : len;
	size_t elen = dot ? len - blen - 1 : 0;
	if (blen < 1 || blen > 8 || (dot && (elen < 1 || elen > 3)))
		return false;
	memset(sn, ' ', 11);
	*nt_res = 0;
	for (int part = 0; part < 2; part++) {
		const char *p = part ? dot + 1 : name;
		size_t n = part ? elen : blen;
		bool lower = false, upper = false;
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			lower |= c >= 'a' && c <= 'z';
			upper |= c >= 'A' && c <= 'Z';
			c = to_upper(c);
			if (!short_char_ok(c))
				return false;
			sn[(part ? 8 : 0) + i] = (u8)c;
		}
		if (lower && upper)
			return false;
		if (lower)
			*nt_res |= part ? 0x10 : 0x08;
	}
	return true;
}

/* The basis name of fatgen103 "Basis-Name Generation Algorithm": upper
 * case, spaces and leading periods dropped, other unusable characters as
 * '_', base up to the first period (8 chars), extension after the last. */
static void basis_name(const u16 *u, u32 n, u8 sn[11])
{
	u32 start = 0, last_dot = n;
	memset(sn, ' ', 11);
	while (start < n && (u[start] == '.' || u[start] == ' '))
		start++;
	for (u32 i = start; i < n; i++)
		if (u[i] == '.')
			last_dot = i;
	u32 b = 0;
	for (u32 i = start; i < n && u[i] != '.' && b < 8; i++) {
		if (u[i] == ' ')
			continue;
		char c = u[i] < 0x80 ? to_upper((char)u[i]) : '_';
		sn[b++] = short_char_ok(c) ? (u8)c : '_';
	}
	if (b == 0)
		sn[b++] = '_';
	u32 e = 0;
	for (u32 i = last_dot + 1; i < n && e < 3; i++) {
		if (u[i] == ' ' || u[i] == '.')
			continue;
		char c = u[i] < 0x80 ? to_upper((char)u[i]) : '_';
		sn[8 + e++] = short_char_ok(c) ? (u8)c : '_';
	}
}

/* Case-insensitive (ASCII) comparison of a counted name with a string. */
static bool name_eq(const char *a, size_t alen, const char *b)
{
	for (size_t i = 0; i < alen; i++, b++)
		if (!*b || to_upper(a[i]) != to_upper(*b))
			return false;
	return *b == '\0';
}

/* ---- directories -------------------------------------------------------- */

static u32 dir_first_clus(const struct fat_vol *v, u32 start)
{
	return start ? start : (v->type == 32 ? v->root_clus : 0);
}

static void dir_init(struct fat_vol *v, u32 start, struct fat_dir *d)
{
	memset(d, 0, sizeof(*d));
	d->v = v;
	d->start = start;
	d->clus = dir_first_clus(v, start);
}

/* Finds entry number index of a directory.  Returns 0 with its sector and
 * offset, 1 when the directory ends before it (d->clus is then the last
 * cluster of the chain), or an error.  The cursor in d makes sequential
 * access walk the chain once. */
static int dir_locate(struct fat_dir *d, u32 index, u32 *sec, u32 *off)
{
	struct fat_vol *v = d->v;
	u32 byte;

	if (index >= DIR_MAX_ENTRIES)
		return 1;
	if (d->clus == 0) { /* FAT16 fixed root */
		if (index >= v->root_ents)
			return 1;
		byte = index * DIRENT_SIZE;
		*sec = v->root_sec + byte / v->bps;
		*off = byte % v->bps;
		return 0;
	}
	u32 epc = v->cluster_bytes / DIRENT_SIZE;
	u32 ci = index / epc;
	if (ci < d->clus_idx) {
		d->clus = dir_first_clus(v, d->start);
		d->clus_idx = 0;
		d->loop_pow = 0;
	}
	if (!clus_ok(v, d->clus))
		return -E_CORRUPT;
	while (d->clus_idx < ci) {
		u32 next;
		int rc = chain_next(v, d->clus, &next);
		if (rc)
			return rc;
		if (!next)
			return 1;
		/* Brent's cycle detection: compare with a mark that moves to
		 * the current cluster after 1, 2, 4, ... steps.  A chain that
		 * loops meets its mark within twice the loop's length. */
		if (d->loop_pow == 0 || d->loop_len == d->loop_pow) {
			d->loop_mark = d->clus;
			d->loop_pow = d->loop_pow ? d->loop_pow * 2 : 1;
			d->loop_len = 0;
		}
		if (next == d->loop_mark)
			return -E_CORRUPT;
		d->loop_len++;
		d->clus = next;
		d->clus_idx++;
	}
	byte = (index % epc) * DIRENT_SIZE;
	*sec = clus_sec(v, d->clus) + byte / v->bps;
	*off = byte % v->bps;
	return 0;
}

static void lfn_reset(struct fat_dir *d)
{
	d->lfn_expect = 0;
	d->lfn_total = 0;
}

/* Takes in one long-name entry (fatgen103 "FAT Long Directory Entries"):
 * a sequence starts with the LFN_LAST-flagged entry holding the highest
 * number and counts down to 1, all with the same checksum. */
static void lfn_take(struct fat_dir *d, const u8 *p, u32 index)
{
	u8 ord = p[0], seq = ord & 0x1f;

	if (ord & LFN_LAST) {
		if (seq == 0 || seq > LFN_MAX_ENTRIES) {
			lfn_reset(d);
			return;
		}
		d->lfn_total = seq;
		d->lfn_sum = p[13];
		d->lfn_start = index;
	} else if (!d->lfn_expect || seq != d->lfn_expect || p[13] != d->lfn_sum) {
		lfn_reset(d);
		return;
	}
	for (u32 i = 0; i < LFN_CHARS; i++)
		d->lfn[(seq - 1) * LFN_CHARS + i] = le16_at(p + lfn_char_off[i]);
	d->lfn_expect = (u8)(seq - 1);
	if (d->lfn_expect == 0)
		d->lfn_expect = 0xff; /* complete: waiting for the 8.3 entry */
}

int fat_readdir(struct fat_dir *d, struct fat_dirent *e)
{
	struct fat_vol *v = d->v;

	for (;;) {
		u32 sec, off, index = d->index;
		int rc = dir_locate(d, index, &sec, &off);
		if (rc)
			return rc == 1 ? 0 : rc;
		u8 *p;
		rc = cache_get(v, sec, false, &p);
		if (rc)
			return rc;
		p += off;
		if (p[0] == DIR_END)
			return 0;
		d->index++;
		if (p[0] == DIR_FREE) {
			lfn_reset(d);
			continue;
		}
		if ((p[11] & 0x3f) == FAT_ATTR_LONG_NAME) {
			lfn_take(d, p, index);
			continue;
		}
		if (p[11] & FAT_ATTR_VOLUME_ID) {
			lfn_reset(d);
			continue;
		}
		const struct fat_sde *s = (const void *)p;
		e->attr = s->attr;
		e->is_dir = s->attr & FAT_ATTR_DIRECTORY;
		e->size = le32_at(s->file_size);
		e->cluster = (v->type == 32 ? (u32)le16_at(s->fst_clus_hi) << 16 : 0) |
			     le16_at(s->fst_clus_lo);
		e->sector = sec;
		e->offset = off;
		e->index = index;
		e->first_index = index;
		short_to_str(s->name, s->nt_res, e->short_name);
		bool have_lfn = d->lfn_expect == 0xff && d->lfn_sum == lfn_checksum(s->name);
		if (have_lfn) {
			u32 n = 0, max = (u32)d->lfn_total * LFN_CHARS;
			while (n < max && d->lfn[n] != 0x0000)
				n++;
			utf16_to_utf8(d->lfn, n, e->name, sizeof(e->name));
			have_lfn = e->name[0] != '\0';
			if (have_lfn)
				e->first_index = d->lfn_start;
		}
		if (!have_lfn)
			str_copy(e->name, e->short_name, sizeof(e->name));
		lfn_reset(d);
		return 1;
	}
}

/* Looks a name up in directory start (0 = root).  0 and *e, -E_NOENT, or
 * an error. */
static int dir_lookup(struct fat_vol *v, u32 start, const char *name, size_t len,
		      struct fat_dirent *e)
{
	struct fat_dir d;
	int rc;

	dir_init(v, start, &d);
	while ((rc = fat_readdir(&d, e)) == 1)
		if (name_eq(name, len, e->name) || name_eq(name, len, e->short_name))
			return 0;
	return rc ? rc : -E_NOENT;
}

/* Whether any entry of the directory has this exact 8.3 name. */
static int dir_has_short(struct fat_vol *v, u32 start, const u8 sn[11])
{
	struct fat_dir d;
	dir_init(v, start, &d);
	for (u32 i = 0;; i++) {
		u32 sec, off;
		u8 *p;
		int rc = dir_locate(&d, i, &sec, &off);
		if (rc)
			return rc == 1 ? 0 : rc;
		rc = cache_get(v, sec, false, &p);
		if (rc)
			return rc;
		p += off;
		if (p[0] == DIR_END)
			return 0;
		if (p[0] != DIR_FREE && (p[11] & 0x3f) != FAT_ATTR_LONG_NAME && memcmp(p, sn, 11) == 0)
			return 1;
	}
}

/* Finds `need` consecutive free entries, growing the directory by zeroed
 * clusters when it is full (the FAT16 root cannot grow: -E_NOSPC). */
static int dir_find_free(struct fat_vol *v, u32 start, u32 need, u32 *first)
{
	struct fat_dir d;
	u32 run = 0;

	dir_init(v, start, &d);
	for (u32 i = 0;; i++) {
		u32 sec, off;
		int rc = dir_locate(&d, i, &sec, &off);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (d.clus == 0 || i >= DIR_MAX_ENTRIES)
				return -E_NOSPC;
			u32 c;
			rc = cluster_alloc(v, d.clus, &c);
			if (rc)
				return rc;
			rc = cluster_zero(v, c);
			if (rc)
				return rc;
			rc = dir_locate(&d, i, &sec, &off);
			if (rc)
				return rc < 0 ? rc : -E_CORRUPT;
		}
		u8 *p;
		rc = cache_get(v, sec, false, &p);
		if (rc)
			return rc;
		if (p[off] == DIR_FREE || p[off] == DIR_END) {
			if (run++ == 0)
				*first = i;
			if (run == need)
				return 0;
		} else {
			run = 0;
		}
	}
}

static void sde_fill(struct fat_sde *s, const u8 sn[11], u8 nt_res, u8 attr, u32 clus, u32 size)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->name, sn, 11);
	s->attr = attr;
	s->nt_res = nt_res;
	put_le16(s->crt_time, FAT_FIXED_TIME);
	put_le16(s->crt_date, FAT_FIXED_DATE);
	put_le16(s->lst_acc_date, FAT_FIXED_DATE);
	put_le16(s->wrt_time, FAT_FIXED_TIME);
	put_le16(s->wrt_date, FAT_FIXED_DATE);
	put_le16(s->fst_clus_hi, (u16)(clus >> 16));
	put_le16(s->fst_clus_lo, (u16)clus);
	put_le32(s->file_size, size);
}

/* Writes a raw 32-byte entry at index i of a directory. */
static int dir_put(struct fat_dir *d, u32 i, const void *ent, u32 *sec_out, u32 *off_out)
{
	u32 sec, off;
	u8 *p;
	int rc = dir_locate(d, i, &sec, &off);
	if (rc)
		return rc < 0 ? rc : -E_CORRUPT;
	rc = cache_get(d->v, sec, true, &p);
	if (rc)
		return rc;
	memcpy(p + off, ent, DIRENT_SIZE);
	if (sec_out) {
		*sec_out = sec;
		*off_out = off;
	}
	return 0;
}

/* Adds an entry for `name` to directory start: a plain 8.3 entry when the
 * name is one, otherwise long-name entries plus a generated "BASIS~N.EXT"
 * short name unique in the directory.  The caller has checked that the
 * name does not exist.  Fills e->sector/offset of the 8.3 entry. */
static int dir_add(struct fat_vol *v, u32 start, const char *name, size_t len, u8 attr,
		   u32 clus, struct fat_dirent *e)
{
	u16 u[256];
	u8 sn[11], nt_res = 0;
	int n = utf8_to_utf16(name, len, u, 255);
	if (n < 0)
		return n;
	if (n == 0 || u[n - 1] == ' ' || u[n - 1] == '.')
		return -E_INVAL;

	u32 nlfn = 0;
	if (!name_to_short(name, len, sn, &nt_res)) {
		nlfn = ((u32)n + LFN_CHARS - 1) / LFN_CHARS;
		basis_name(u, (u32)n, sn);
		u8 probe[11];
		memcpy(probe, sn, 11);
		int base_len = 8;
		while (base_len > 1 && sn[base_len - 1] == ' ')
			base_len--;
		u32 tail;
		for (tail = 1; tail < 1000000; tail++) {
			char t[8];
			int tl = 0;
			for (u32 x = tail; x; x /= 10)
				t[tl++] = (char)('0' + x % 10);
			t[tl++] = '~';
			int keep = MIN(base_len, 8 - tl);
			memset(probe, ' ', 8);
			memcpy(probe, sn, (size_t)keep);
			for (int k = 0; k < tl; k++)
				probe[keep + k] = (u8)t[tl - 1 - k];
			int rc = dir_has_short(v, start, probe);
			if (rc < 0)
				return rc;
			if (rc == 0)
				break;
		}
		if (tail == 1000000)
			return -E_EXIST;
		memcpy(sn, probe, 11);
	}

	u32 first;
	int rc = dir_find_free(v, start, nlfn + 1, &first);
	if (rc)
		return rc;
	struct fat_dir d;
	dir_init(v, start, &d);
	u8 sum = lfn_checksum(sn);
	for (u32 i = 0; i < nlfn; i++) {
		u8 ent[DIRENT_SIZE];
		u32 seq = nlfn - i;
		memset(ent, 0, sizeof(ent));
		ent[0] = (u8)(seq | (i == 0 ? LFN_LAST : 0));
		ent[11] = FAT_ATTR_LONG_NAME;
		ent[13] = sum;
		for (u32 k = 0; k < LFN_CHARS; k++) {
			u32 ci = (seq - 1) * LFN_CHARS + k;
			u16 ch = ci < (u32)n ? u[ci] : ci == (u32)n ? 0x0000 : 0xffff;
			put_le16(ent + lfn_char_off[k], ch);
		}
		rc = dir_put(&d, first + i, ent, NULL, NULL);
		if (rc)
			return rc;
	}
	struct fat_sde s;
	sde_fill(&s, sn, nt_res, attr, clus, 0);
	rc = dir_put(&d, first + nlfn, &s, &e->sector, &e->offset);
	if (rc)
		return rc;
	e->index = first + nlfn;
	e->first_index = first;
	e->cluster = clus;
	e->size = 0;
	e->attr = attr;
	e->is_dir = attr & FAT_ATTR_DIRECTORY;
	return 0;
}

/* Marks entries first..last of a directory deleted. */
static int dir_delete(struct fat_vol *v, u32 start, u32 first, u32 last)
{
	struct fat_dir d;
	dir_init(v, start, &d);
	for (u32 i = first; i <= last; i++) {
		u32 sec, off;
		u8 *p;
		int rc = dir_locate(&d, i, &sec, &off);
		if (rc)
			return rc < 0 ? rc : -E_CORRUPT;
		rc = cache_get(v, sec, true, &p);
		if (rc)
			return rc;
		p[off] = DIR_FREE;
	}
	return 0;
}

/* ---- paths -------------------------------------------------------------- */

/* Next component of a path: skips slashes; returns its length (0 at end). */
static size_t path_next(const char **p)
{
	while (**p == '/')
		(*p)++;
	size_t n = 0;
	while ((*p)[n] && (*p)[n] != '/')
		n++;
	return n;
}

static void root_dirent(struct fat_dirent *e)
{
	memset(e, 0, sizeof(*e));
	e->attr = FAT_ATTR_DIRECTORY;
	e->is_dir = true;
}

/* Walks path[0..len) from the root.  *e is the final entry (root_dirent()
 * for the root itself); a directory's cluster 0 means the root. */
static int path_walk(struct fat_vol *v, const char *path, size_t len, struct fat_dirent *e)
{
	const char *p = path, *end = path + len;
	root_dirent(e);
	for (;;) {
		size_t n = path_next(&p);
		if (p >= end || n == 0)
			return 0;
		if (p + n > end)
			n = (size_t)(end - p);
		if (n > 255 * 3)
			return -E_NAMETOOLONG;
		if (!e->is_dir)
			return -E_NOTDIR;
		u32 dir = e->cluster;
		bool dot = n == 1 && p[0] == '.', dotdot = n == 2 && p[0] == '.' && p[1] == '.';
		if (dot || (dotdot && dir == 0)) {
			p += n;
			continue;
		}
		if (dir && !clus_ok(v, dir))
			return -E_CORRUPT;
		int rc = dir_lookup(v, dir, p, n, e);
		if (rc)
			return rc;
		/* ".." of a first-level directory may name the FAT32 root by
		 * its real cluster; normalise so 0 always means the root. */
		if (e->is_dir && v->type == 32 && e->cluster == v->root_clus)
			e->cluster = 0;
		p += n;
	}
}

/* Splits path into its parent directory (resolved, into *parent) and the
 * last component. */
static int path_parent(struct fat_vol *v, const char *path, struct fat_dirent *parent,
		       const char **leaf, size_t *leaf_len)
{
	size_t len = strlen(path);
	while (len && path[len - 1] == '/')
		len--;
	size_t s = len;
	while (s && path[s - 1] != '/')
		s--;
	*leaf = path + s;
	*leaf_len = len - s;
	if (*leaf_len == 0)
		return -E_INVAL; /* the root itself */
	if (*leaf_len > 255 * 3)
		return -E_NAMETOOLONG;
	if ((*leaf_len == 1 && **leaf == '.') || (*leaf_len == 2 && !memcmp(*leaf, "..", 2)))
		return -E_INVAL;
	int rc = path_walk(v, path, s, parent);
	if (rc)
		return rc;
	if (!parent->is_dir)
		return -E_NOTDIR;
	if (parent->cluster && !clus_ok(v, parent->cluster))
		return -E_CORRUPT;
	return 0;
}

/* ---- mount / sync ------------------------------------------------------- */

static bool pow2(u32 x)
{
	return x && !(x & (x - 1));
}

/* Reads and validates the BPB (fatgen103 "Boot Sector and BPB" and "FAT
 * Type Determination": the type follows from the cluster count alone). */
static int parse_bpb(struct fat_vol *v, const u8 *bs, u64 part_sectors)
{
	const struct fat_bpb *b = (const void *)bs;

	if (!part_looks_like_fat(bs))
		return -E_CORRUPT;
	u32 bps = le16_at(b->byts_per_sec);
	u32 dss = v->disk->sector_size;
	if (bps < dss || bps % dss)
		return -E_NOTSUP;
	v->bps = bps;
	v->ratio = bps / dss;
	v->spc = b->sec_per_clus;
	v->cluster_bytes = bps * v->spc;
	v->rsvd = le16_at(b->rsvd_sec_cnt);
	v->nfats = b->num_fats;
	v->root_ents = le16_at(b->root_ent_cnt);
	u32 fatsz16 = le16_at(b->fat_sz16), tot16 = le16_at(b->tot_sec16);
	v->fatsz = fatsz16 ? fatsz16 : le32_at(b->fat_sz32);
	v->tot_sec = tot16 ? tot16 : le32_at(b->tot_sec32);
	if (!pow2(v->spc) || v->nfats > 8 || v->fatsz == 0)
		return -E_CORRUPT;
	if ((u64)v->tot_sec * v->ratio > part_sectors)
		return -E_CORRUPT;
	v->root_secs = (v->root_ents * DIRENT_SIZE + bps - 1) / bps;
	u64 meta = (u64)v->rsvd + (u64)v->nfats * v->fatsz + v->root_secs;
	if (meta >= v->tot_sec)
		return -E_CORRUPT;
	v->root_sec = v->rsvd + v->nfats * v->fatsz;
	v->data_sec = (u32)meta;
	v->nclusters = (v->tot_sec - v->data_sec) / v->spc;
	v->fat0 = v->rsvd;
	v->mirror = true;

	if (v->nclusters < 4085)
		return -E_NOTSUP; /* FAT12 */
	if (v->nclusters < 65525) {
		v->type = 16;
		v->eoc_min = 0xfff8;
		v->eoc = 0xffff;
		if (fatsz16 == 0 || v->root_ents == 0)
			return -E_CORRUPT;
	} else {
		v->type = 32;
		v->eoc_min = 0x0ffffff8;
		v->eoc = 0x0fffffff;
		/* Clusters above 0x0FFFFFF6 would collide with the reserved,
		 * bad and end-of-chain values. */
		if (v->nclusters > 0x0ffffff5 || v->root_ents != 0 || fatsz16 != 0)
			return -E_CORRUPT;
		if (le16_at(b->fs_ver) != 0)
			return -E_NOTSUP;
		u16 ext = le16_at(b->ext_flags);
		if (ext & 0x80) {
			u32 active = ext & 0x0f;
			if (active >= v->nfats)
				return -E_CORRUPT;
			v->mirror = false;
			v->fat0 = v->rsvd + active * v->fatsz;
		}
		v->root_clus = le32_at(b->root_clus);
		if (!clus_ok(v, v->root_clus))
			return -E_CORRUPT;
		v->root_secs = 0;
		v->fsinfo_sec = le16_at(b->fs_info);
		if (v->fsinfo_sec == 0 || v->fsinfo_sec >= v->rsvd)
			v->fsinfo_sec = 0;
	}
	/* The FAT must have an entry for every cluster. */
	if ((u64)v->fatsz * bps / (v->type == 32 ? 4 : 2) < (u64)v->nclusters + 2)
		return -E_CORRUPT;
	return 0;
}

/* FAT32: take the free count and hint from FSInfo when its signatures are
 * right and the values plausible; otherwise count on first need. */
static int read_fsinfo(struct fat_vol *v)
{
	v->next_free = 2;
	if (!v->fsinfo_sec)
		return 0;
	int rc = vol_io(v, false, v->fsinfo_sec, 1, v->bounce);
	if (rc)
		return rc;
	const struct fat_fsinfo *fi = (const void *)v->bounce;
	if (le32_at(fi->lead_sig) != FSI_LEAD_SIG || le32_at(fi->struc_sig) != FSI_STRUC_SIG ||
	    le32_at(fi->trail_sig) != FSI_TRAIL_SIG) {
		v->fsinfo_sec = 0;
		return 0;
	}
	u32 fc = le32_at(fi->free_count), nf = le32_at(fi->nxt_free);
	if (fc != FSI_UNKNOWN && fc <= v->nclusters) {
		v->free_count = fc;
		v->free_known = true;
	}
	if (clus_ok(v, nf))
		v->next_free = nf;
	return 0;
}

static int write_fsinfo(struct fat_vol *v)
{
	if (!v->fsinfo_sec || !v->fsinfo_dirty)
		return 0;
	int rc = vol_io(v, false, v->fsinfo_sec, 1, v->bounce);
	if (rc)
		return rc;
	struct fat_fsinfo *fi = (void *)v->bounce;
	put_le32(fi->free_count, v->free_known ? v->free_count : FSI_UNKNOWN);
	put_le32(fi->nxt_free, v->next_free);
	rc = vol_io(v, true, v->fsinfo_sec, 1, v->bounce);
	if (!rc)
		v->fsinfo_dirty = false;
	return rc;
}

static void vol_free(struct fat_vol *v)
{
	if (!v)
		return;
	g_free(v->line_mem);
	g_free(v->bounce);
	g_free(v);
}

int fat_mount(struct disk *d, u64 start, u64 sectors, struct fat_vol **out)
{
	*out = NULL;
	if (d->sector_size < 512 || d->sector_size > 4096 || !pow2(d->sector_size))
		return -E_NOTSUP;
	if (start >= d->sectors || sectors > d->sectors - start || sectors == 0)
		return -E_RANGE;
	struct fat_vol *v = g_zalloc(sizeof(*v));
	if (!v)
		return -E_NOMEM;
	v->disk = d;
	v->lba0 = start;
	v->bounce = g_alloc(4096);
	int rc = -E_NOMEM;
	if (!v->bounce)
		goto fail;
	rc = disk_read(d, start, 1, v->bounce);
	if (rc)
		goto fail;
	/* With device sectors smaller than the volume's, the BPB is still in
	 * the first device sector (it ends at byte 512). */
	rc = parse_bpb(v, v->bounce, sectors);
	if (rc)
		goto fail;
	v->line_secs = MAX(1u, (u32)FAT_CACHE_LINE_BYTES / v->bps);
	v->line_mem = g_alloc((size_t)FAT_CACHE_LINES * v->line_secs * v->bps);
	rc = -E_NOMEM;
	if (!v->line_mem)
		goto fail;
	for (u32 i = 0; i < FAT_CACHE_LINES; i++)
		v->lines[i].data = v->line_mem + (size_t)i * v->line_secs * v->bps;
	rc = read_fsinfo(v);
	if (rc)
		goto fail;
	*out = v;
	return 0;
fail:
	vol_free(v);
	return rc;
}

int fat_sync(struct fat_vol *v)
{
	int rc = cache_flush_all(v);
	int rc2 = write_fsinfo(v);
	int rc3 = disk_flush(v->disk);
	return rc ? rc : rc2 ? rc2 : rc3;
}

int fat_unmount(struct fat_vol *v)
{
	if (!v)
		return 0;
	int rc = fat_sync(v);
	vol_free(v);
	return rc;
}

int fat_get_info(struct fat_vol *v, struct fat_info *info)
{
	int rc = ensure_free_count(v);
	info->type = v->type;
	info->bytes_per_sector = v->bps;
	info->cluster_bytes = v->cluster_bytes;
	info->clusters = v->nclusters;
	info->free_clusters = v->free_count;
	info->nfats = v->nfats;
	return rc;
}

/* ---- public file and directory operations ------------------------------- */

int fat_stat(struct fat_vol *v, const char *path, struct fat_dirent *e)
{
	return path_walk(v, path, strlen(path), e);
}

int fat_opendir(struct fat_vol *v, const char *path, struct fat_dir *d)
{
	struct fat_dirent e;
	int rc = path_walk(v, path, strlen(path), &e);
	if (rc)
		return rc;
	if (!e.is_dir)
		return -E_NOTDIR;
	if (e.cluster && !clus_ok(v, e.cluster))
		return -E_CORRUPT;
	dir_init(v, e.cluster, d);
	return 0;
}

int fat_open(struct fat_vol *v, const char *path, struct fat_file *f)
{
	struct fat_dirent e;
	memset(f, 0, sizeof(*f));
	int rc = path_walk(v, path, strlen(path), &e);
	if (rc)
		return rc;
	if (e.is_dir)
		return -E_ISDIR;
	/* A size the volume could not hold, or data without clusters. */
	if ((u64)e.size > (u64)v->nclusters * v->cluster_bytes || (e.size && !clus_ok(v, e.cluster)))
		return -E_CORRUPT;
	memset(f, 0, sizeof(*f));
	f->v = v;
	f->first = e.cluster;
	f->size = e.size;
	f->clus = e.size ? e.cluster : 0;
	f->ent_sector = e.sector;
	f->ent_offset = e.offset;
	return 0;
}

int fat_read(struct fat_file *f, void *buf, u32 len)
{
	struct fat_vol *v = f->v;
	u32 done = 0;
	u8 *out = buf;

	if (!v || f->writing)
		return -E_INVAL;
	u32 cb = v->cluster_bytes;
	len = MIN(len, 1u << 30);
	len = MIN(len, f->size - f->pos);
	while (done < len) {
		u32 off = f->pos % cb, run, after;
		if (!f->clus)
			return -E_CORRUPT; /* the chain ended before the size */
		u32 want = (u32)(((u64)off + (len - done) + cb - 1) / cb);
		want = MIN(want, MAX(1u, FAT_IO_MAX / cb));
		int rc = chain_run(v, f->clus, want, &run, &after);
		if (rc)
			return rc;
		u32 n = (u32)MIN((u64)len - done, (u64)run * cb - off);
		rc = data_io(v, false, clus_sec(v, f->clus), off, out + done, n);
		if (rc)
			return rc;
		u32 k = (off + n) / cb;
		f->clus = k == run ? after : f->clus + k;
		f->pos += n;
		done += n;
	}
	return (int)done;
}

/* Writes the file's first cluster and size into its 8.3 entry. */
static int file_update_entry(struct fat_file *f)
{
	u8 *p;
	int rc = cache_get(f->v, f->ent_sector, true, &p);
	if (rc)
		return rc;
	struct fat_sde *s = (void *)(p + f->ent_offset);
	put_le16(s->fst_clus_hi, (u16)(f->first >> 16));
	put_le16(s->fst_clus_lo, (u16)f->first);
	put_le32(s->file_size, f->size);
	put_le16(s->wrt_time, FAT_FIXED_TIME);
	put_le16(s->wrt_date, FAT_FIXED_DATE);
	put_le16(s->lst_acc_date, FAT_FIXED_DATE);
	s->attr |= FAT_ATTR_ARCHIVE;
	return 0;
}

int fat_create(struct fat_vol *v, const char *path, struct fat_file *f)
{
	struct fat_dirent parent, e;
	const char *leaf;
	size_t leaf_len;
	memset(f, 0, sizeof(*f)); /* a failed create leaves a closed handle */
	int rc = path_parent(v, path, &parent, &leaf, &leaf_len);
	if (rc)
		return rc;
	rc = dir_lookup(v, parent.cluster, leaf, leaf_len, &e);
	if (rc == 0) {
		if (e.is_dir)
			return -E_ISDIR;
		if (e.attr & FAT_ATTR_READ_ONLY)
			return -E_ACCES;
		if (e.cluster && !clus_ok(v, e.cluster))
			return -E_CORRUPT;
		if (e.cluster) {
			/* Detach first, then free: a crash in between loses
			 * clusters rather than cross-linking them. */
			memset(f, 0, sizeof(*f));
			f->v = v;
			f->ent_sector = e.sector;
			f->ent_offset = e.offset;
			rc = file_update_entry(f);
			if (!rc)
				rc = chain_free(v, e.cluster);
			if (rc) {
				memset(f, 0, sizeof(*f));
				return rc;
			}
		}
	} else if (rc == -E_NOENT) {
		rc = dir_add(v, parent.cluster, leaf, leaf_len, FAT_ATTR_ARCHIVE, 0, &e);
		if (rc)
			return rc;
	} else {
		return rc;
	}
	memset(f, 0, sizeof(*f));
	f->v = v;
	f->writing = true;
	f->ent_sector = e.sector;
	f->ent_offset = e.offset;
	return file_update_entry(f);
}

/* Writes the next bytes of the file into a freshly allocated run of
 * consecutive clusters. */
static int write_run(struct fat_file *f, u32 start, u32 run, const u8 **p, u32 *len)
{
	u32 n = (u32)MIN((u64)*len, (u64)run * f->v->cluster_bytes);
	int rc = data_io(f->v, true, clus_sec(f->v, start), 0, (u8 *)*p, n);
	if (rc)
		return rc;
	f->size += n;
	f->pos = f->size;
	*p += n;
	*len -= n;
	return 0;
}

int fat_write(struct fat_file *f, const void *buf, u32 len)
{
	struct fat_vol *v = f->v;
	const u8 *p = buf;
	int rc = 0;

	if (!v || !f->writing)
		return -E_INVAL;
	u32 cb = v->cluster_bytes;
	if (len > 0xffffffffu - f->size)
		return -E_RANGE; /* FAT file sizes are 32-bit */
	while (len && !rc) {
		u32 off = f->size % cb;
		if (off) {
			/* Fill the tail of the last cluster. */
			u32 n = MIN(len, cb - off);
			rc = data_io(v, true, clus_sec(v, f->clus), off, (u8 *)p, n);
			if (rc)
				break;
			f->size += n;
			f->pos = f->size;
			p += n;
			len -= n;
			continue;
		}
		/* Allocate up to FAT_IO_MAX worth of clusters and write each
		 * physically contiguous run with one request.  Every cluster
		 * allocated gets data, so the chain always matches the size. */
		u32 want = MIN((len + cb - 1) / cb, MAX(1u, FAT_IO_MAX / cb));
		u32 run_start = 0, run = 0;
		for (u32 i = 0; i < want && !rc; i++) {
			u32 c;
			rc = cluster_alloc(v, f->clus, &c);
			if (rc)
				break;
			if (!f->first)
				f->first = c;
			f->clus = c;
			if (run && c == run_start + run) {
				run++;
				continue;
			}
			if (run)
				rc = write_run(f, run_start, run, &p, &len);
			run_start = c;
			run = 1;
		}
		if (run) {
			int rc2 = write_run(f, run_start, run, &p, &len);
			if (!rc)
				rc = rc2;
		}
	}
	int rc2 = file_update_entry(f);
	return rc ? rc : rc2;
}

int fat_close(struct fat_file *f)
{
	int rc = f->v && f->writing ? file_update_entry(f) : 0;
	f->v = NULL;
	return rc;
}

/* A directory is empty when it holds nothing but "." and "..". */
static int dir_is_empty(struct fat_vol *v, u32 start)
{
	struct fat_dir d;
	struct fat_dirent e;
	int rc;
	dir_init(v, start, &d);
	while ((rc = fat_readdir(&d, &e)) == 1)
		if (strcmp(e.short_name, ".") != 0 && strcmp(e.short_name, "..") != 0)
			return 0;
	return rc < 0 ? rc : 1;
}

int fat_remove(struct fat_vol *v, const char *path)
{
	struct fat_dirent parent, e;
	const char *leaf;
	size_t leaf_len;
	int rc = path_parent(v, path, &parent, &leaf, &leaf_len);
	if (rc)
		return rc;
	rc = dir_lookup(v, parent.cluster, leaf, leaf_len, &e);
	if (rc)
		return rc;
	if (e.cluster && !clus_ok(v, e.cluster))
		return -E_CORRUPT;
	if (e.is_dir) {
		if (!e.cluster)
			return -E_CORRUPT; /* only the root has no cluster */
		rc = dir_is_empty(v, e.cluster);
		if (rc <= 0)
			return rc < 0 ? rc : -E_NOTEMPTY;
	}
	rc = dir_delete(v, parent.cluster, e.first_index, e.index);
	if (rc)
		return rc;
	return e.cluster ? chain_free(v, e.cluster) : 0;
}

int fat_mkdir(struct fat_vol *v, const char *path)
{
	struct fat_dirent parent, e;
	const char *leaf;
	size_t leaf_len;
	int rc = path_parent(v, path, &parent, &leaf, &leaf_len);
	if (rc)
		return rc;
	rc = dir_lookup(v, parent.cluster, leaf, leaf_len, &e);
	if (rc != -E_NOENT)
		return rc ? rc : -E_EXIST;

	u32 c;
	rc = cluster_alloc(v, 0, &c);
	if (rc)
		return rc;
	rc = cluster_zero(v, c);
	if (!rc) {
		/* fatgen103 "FAT Directory Structure": "." points at the
		 * directory itself, ".." at the parent, 0 for the root. */
		static const u8 dot[11] = ".          ", dotdot[11] = "..         ";
		struct fat_sde s;
		struct fat_dir d;
		dir_init(v, c, &d);
		sde_fill(&s, dot, 0, FAT_ATTR_DIRECTORY, c, 0);
		rc = dir_put(&d, 0, &s, NULL, NULL);
		if (!rc) {
			sde_fill(&s, dotdot, 0, FAT_ATTR_DIRECTORY, parent.cluster, 0);
			rc = dir_put(&d, 1, &s, NULL, NULL);
		}
	}
	if (!rc)
		rc = dir_add(v, parent.cluster, leaf, leaf_len, FAT_ATTR_DIRECTORY, c, &e);
	if (rc) {
		int rc2 = chain_free(v, c);
		(void)rc2;
	}
	return rc;
}
