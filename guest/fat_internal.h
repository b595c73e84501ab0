/* Internals of the FAT file system (fatgen103), shared by guest/fat_*.c and
 * included by nothing else.  See fat.h for the interface and the I/O model.
 *
 * Sector numbers in these files are volume-relative and in units of the
 * volume's BytsPerSec ("vsec"); the device may have smaller sectors (the
 * ratio is kept in v->ratio).  Cluster numbers are validated against
 * 2 .. nclusters+1 before every use. */
#ifndef GUEST_FAT_INTERNAL_H
#define GUEST_FAT_INTERNAL_H

#include "fat.h"

/* ---- on-disk layouts (the boot sector and FSInfo are in fat_mount.c) ---- */

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

/* Characters 1..13 of a long-name entry, by byte offset (fat_name.c). */
extern const u8 fat_lfn_char_off[LFN_CHARS];

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

/* ---- cluster numbers ---------------------------------------------------- */

static inline u32 fat_max_clus(const struct fat_vol *v)
{
	return v->nclusters + 1;
}

static inline bool fat_clus_ok(const struct fat_vol *v, u32 c)
{
	return c >= 2 && c <= fat_max_clus(v);
}

static inline u32 fat_clus_sec(const struct fat_vol *v, u32 c)
{
	return v->data_sec + (c - 2) * v->spc;
}

/* ---- fat_io.c: raw volume I/O and direct data transfer ------------------ */

int fat_vol_read(struct fat_vol *v, u32 sec, u32 n, void *buf);
int fat_vol_write(struct fat_vol *v, u32 sec, u32 n, const void *buf);
int fat_vol_io(struct fat_vol *v, bool wr, u32 sec, u32 n, void *buf);
/* File data: n bytes from byte off of vsec sec on, into or out of buf. */
int fat_data_read(struct fat_vol *v, u32 sec, u32 off, u8 *buf, u32 n);
int fat_data_write(struct fat_vol *v, u32 sec, u32 off, const u8 *buf, u32 n);

/* ---- fat_cache.c: the write-back cache of FAT and directory sectors ----- */

int fat_cache_get(struct fat_vol *v, u32 sec, bool dirty, u8 **out);
int fat_cache_sync_range(struct fat_vol *v, u32 sec, u32 n, bool drop);
int fat_cache_flush_all(struct fat_vol *v);

/* ---- fat_table.c: FAT entries, chains and cluster allocation ------------ */

int fat_chain_next(struct fat_vol *v, u32 c, u32 *next);
int fat_chain_run(struct fat_vol *v, u32 c, u32 max, u32 *run, u32 *after);
int fat_ensure_free_count(struct fat_vol *v);
int fat_cluster_alloc(struct fat_vol *v, u32 prev, u32 *out);
int fat_chain_free(struct fat_vol *v, u32 c);
int fat_cluster_zero(struct fat_vol *v, u32 c);

/* ---- fat_name.c: 8.3 and long (VFAT) names ------------------------------ */

u8 fat_lfn_checksum(const u8 sn[11]);
void fat_short_to_str(const u8 *sn, u8 nt_res, char *out);
void fat_utf16_to_utf8(const u16 *u, u32 n, char *out, size_t size);
int fat_utf8_to_utf16(const char *s, size_t len, u16 *u, u32 max);
bool fat_name_to_short(const char *name, size_t len, u8 sn[11], u8 *nt_res);
void fat_basis_name(const u16 *u, u32 n, u8 sn[11]);
bool fat_name_eq(const char *a, size_t alen, const char *b);

/* ---- fat_dir.c: reading directories ------------------------------------- */

void fat_dir_init(struct fat_vol *v, u32 start, struct fat_dir *d);
int fat_dir_locate(struct fat_dir *d, u32 index, u32 *sec, u32 *off);
int fat_dir_entry(struct fat_dir *d, u32 index, bool dirty, u8 **ent, u32 *sec, u32 *off);
int fat_dir_lookup(struct fat_vol *v, u32 start, const char *name, size_t len,
		   struct fat_dirent *e);

/* ---- fat_dir_write.c: adding and deleting directory entries ------------- */

void fat_sde_fill(struct fat_sde *s, const u8 sn[11], u8 nt_res, u8 attr, u32 clus, u32 size);
int fat_dir_put(struct fat_dir *d, u32 i, const void *ent, u32 *sec_out, u32 *off_out);
int fat_dir_add(struct fat_vol *v, u32 start, const char *name, size_t len, u8 attr,
		u32 clus, struct fat_dirent *e);
int fat_dir_delete(struct fat_vol *v, u32 start, u32 first, u32 last);

/* ---- fat_path.c: resolving paths ---------------------------------------- */

int fat_path_walk(struct fat_vol *v, const char *path, size_t len, struct fat_dirent *e);
int fat_path_parent(struct fat_vol *v, const char *path, struct fat_dirent *parent,
		    const char **leaf, size_t *leaf_len);

#endif
