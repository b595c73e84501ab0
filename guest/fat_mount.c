/* FAT: the boot sector (BPB) and FSInfo sector, mounting, syncing and
 * unmounting a volume. */
#include "fat_internal.h"
#include "alloc.h"

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
		if (!fat_clus_ok(v, v->root_clus))
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
	int rc = fat_vol_io(v, false, v->fsinfo_sec, 1, v->bounce);
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
	if (fat_clus_ok(v, nf))
		v->next_free = nf;
	return 0;
}

static int write_fsinfo(struct fat_vol *v)
{
	if (!v->fsinfo_sec || !v->fsinfo_dirty)
		return 0;
	int rc = fat_vol_io(v, false, v->fsinfo_sec, 1, v->bounce);
	if (rc)
		return rc;
	struct fat_fsinfo *fi = (void *)v->bounce;
	/* A count above the cluster total can only come from a corrupt FAT
	 * (a cluster freed twice): then say "unknown" rather than lie. */
	bool known = v->free_known && v->free_count <= v->nclusters;
	put_le32(fi->free_count, known ? v->free_count : FSI_UNKNOWN);
	put_le32(fi->nxt_free, v->next_free);
	rc = fat_vol_io(v, true, v->fsinfo_sec, 1, v->bounce);
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
	int rc = fat_cache_flush_all(v);
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
	int rc = fat_ensure_free_count(v);
	info->type = v->type;
	info->bytes_per_sector = v->bps;
	info->cluster_bytes = v->cluster_bytes;
	info->clusters = v->nclusters;
	info->free_clusters = v->free_count;
	info->nfats = v->nfats;
	return rc;
}
