/* FAT16 / FAT32 file system on a struct disk (Microsoft "FAT: General
 * Overview of On-Disk Format", fatgen103, is the reference cited below).
 *
 * Paths are '/'-separated and case-insensitive (ASCII folding), relative to
 * the volume root; empty components and "." are ignored.  Long (VFAT)
 * names are read and written; names are UTF-8 in this interface.
 *
 * I/O model, because every block request costs the guest a VM exit:
 *   - file data moves directly between the caller's buffer and the disk, one
 *     request per run of physically contiguous clusters (at most
 *     FAT_IO_MAX bytes), plus one for a partial sector at either end;
 *     buffers that are not 4-byte aligned go through a one-sector bounce
 *     buffer, sector by sector (slow; callers should align);
 *   - FAT and directory sectors go through a write-back cache of
 *     FAT_CACHE_LINES lines of up to 4 KiB each; fat_sync() writes the dirty
 *     lines (FAT lines to every FAT copy), the FAT32 FSInfo sector, and then
 *     flushes the device.
 * Nothing on disk is trusted: corrupt structures give -E_CORRUPT. */
#ifndef GUEST_FAT_H
#define GUEST_FAT_H

#include "part.h"

#define FAT_NAME_MAX 768          /* buffer for a UTF-8 long name (255 UTF-16 units) */
#define FAT_IO_MAX (256 * 1024)   /* largest single data request */
#define FAT_CACHE_LINES 32
#define FAT_CACHE_LINE_BYTES 4096

/* Attribute bits (fatgen103 "FAT Directory Structure"). */
#define FAT_ATTR_READ_ONLY 0x01
#define FAT_ATTR_HIDDEN 0x02
#define FAT_ATTR_SYSTEM 0x04
#define FAT_ATTR_VOLUME_ID 0x08
#define FAT_ATTR_DIRECTORY 0x10
#define FAT_ATTR_ARCHIVE 0x20
#define FAT_ATTR_LONG_NAME 0x0f

struct fat_vol;

struct fat_info {
	int type;          /* 16 or 32 */
	u32 bytes_per_sector;
	u32 cluster_bytes;
	u32 clusters;      /* data clusters (numbers 2 .. clusters+1) */
	u32 free_clusters; /* counted if not yet known */
	u32 nfats;
};

/* Mounts the FAT volume at device LBA start (length sectors, in device
 * sectors).  -E_NOTSUP for FAT12, a FAT sector smaller than the device
 * sector, or a FAT32 version other than 0.0; -E_CORRUPT for a BPB that
 * fails validation. */
int fat_mount(struct disk *d, u64 start, u64 sectors, struct fat_vol **out);
/* Syncs and frees the volume; returns the sync result (freed regardless). */
int fat_unmount(struct fat_vol *v);
int fat_sync(struct fat_vol *v);
int fat_get_info(struct fat_vol *v, struct fat_info *info);

/* One directory entry as read from disk. */
struct fat_dirent {
	char name[FAT_NAME_MAX];  /* long name if valid, else the 8.3 name */
	char short_name[13];      /* "NAME.EXT" */
	u8 attr;
	bool is_dir;
	u32 size;
	u32 cluster;              /* first cluster, 0 if none */
	/* Where it lives: sector and byte offset of the 8.3 entry, its index
	 * in the directory and the index of its first long-name entry. */
	u32 sector;
	u32 offset;
	u32 index;
	u32 first_index;
};

/* Directory reading (a cursor; no resources to release). */
struct fat_dir {
	struct fat_vol *v;
	u32 start;      /* first cluster, 0 = root */
	u32 index;      /* next entry */
	u32 clus;       /* cursor into the chain: cluster holding entry ... */
	u32 clus_idx;   /* ... number clus_idx * entries_per_cluster */
	u32 loop_mark, loop_pow, loop_len; /* cycle detection (Brent) */
	/* long-name assembly state */
	u16 lfn[20 * 13];
	u8 lfn_sum;
	u8 lfn_expect;  /* next sequence number expected, 0 = none pending */
	u8 lfn_total;
	u32 lfn_start;
};

int fat_opendir(struct fat_vol *v, const char *path, struct fat_dir *d);
/* 1 and *e filled, 0 at the end, or a negative error.  Returns "." and
 * "..", but not volume labels or deleted entries. */
int fat_readdir(struct fat_dir *d, struct fat_dirent *e);

/* Status of a path; the root gives is_dir and an empty name. */
int fat_stat(struct fat_vol *v, const char *path, struct fat_dirent *e);

/* An open file.  Files opened with fat_open are read sequentially; files
 * from fat_create are written sequentially (append only). */
struct fat_file {
	struct fat_vol *v;
	u32 first;     /* first cluster, 0 while empty */
	u32 size;
	u32 pos;
	u32 clus;      /* reading: cluster holding pos (0 past the chain);
			  writing: last cluster of the chain */
	u32 ent_sector, ent_offset; /* the 8.3 entry, updated on writes */
	bool writing;
};

int fat_open(struct fat_vol *v, const char *path, struct fat_file *f);
/* Reads up to len bytes (len <= 1 GiB); returns the count (0 at EOF) or a
 * negative error. */
int fat_read(struct fat_file *f, void *buf, u32 len);
/* Creates path (the parent must exist) or truncates an existing file;
 * -E_ISDIR for a directory, -E_ACCES for a read-only file. */
int fat_create(struct fat_vol *v, const char *path, struct fat_file *f);
/* Appends len bytes.  On -E_NOSPC the bytes that fitted are kept and the
 * entry's size says how many.  The directory entry is updated each call. */
int fat_write(struct fat_file *f, const void *buf, u32 len);
/* Harmless on a handle whose fat_open/fat_create failed (those leave it
 * zeroed); reading or writing such a handle gives -E_INVAL. */
int fat_close(struct fat_file *f);

/* Removes a file or an empty directory (-E_NOTEMPTY otherwise): marks its
 * long-name and 8.3 entries deleted and frees its clusters. */
int fat_remove(struct fat_vol *v, const char *path);
/* Creates a directory with its "." and ".." entries. */
int fat_mkdir(struct fat_vol *v, const char *path);

#endif
