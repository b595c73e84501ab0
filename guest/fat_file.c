/* FAT: the public file operations (open, read, create, write, close),
 * fat_remove (files and empty directories) and fat_mkdir. */
#include "fat_internal.h"
#include "lib/string.h"

int fat_open(struct fat_vol *v, const char *path, struct fat_file *f)
{
	struct fat_dirent e;
	memset(f, 0, sizeof(*f));
	int rc = fat_path_walk(v, path, strlen(path), &e);
	if (rc)
		return rc;
	if (e.is_dir)
		return -E_ISDIR;
	/* A size the volume could not hold, or data without clusters. */
	if ((u64)e.size > (u64)v->nclusters * v->cluster_bytes || (e.size && !fat_clus_ok(v, e.cluster)))
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
		int rc = fat_chain_run(v, f->clus, want, &run, &after);
		if (rc)
			return rc;
		u32 n = (u32)MIN((u64)len - done, (u64)run * cb - off);
		rc = fat_data_read(v, fat_clus_sec(v, f->clus), off, out + done, n);
		if (rc)
			return rc;
		u32 k = (off + n) / cb;
		f->clus = k == run ? after : f->clus + k;
		f->pos += n;
		done += n;
	}
	return (int)done;
}

/* The last component of a path and the directory it names an entry of. */
struct leaf {
	struct fat_dirent parent;
	const char *name;
	size_t len;
};

/* Resolves the parent directory of path and looks the last component up
 * in it: 0 and *e (the entry exists), 1 (it does not, but the parent does,
 * so it can be created), or an error. */
static int leaf_lookup(struct fat_vol *v, const char *path, struct leaf *l, struct fat_dirent *e)
{
	int rc = fat_path_parent(v, path, &l->parent, &l->name, &l->len);
	if (rc)
		return rc;
	rc = fat_dir_lookup(v, l->parent.cluster, l->name, l->len, e);
	return rc == -E_NOENT ? 1 : rc;
}

/* Writes the file's first cluster and size into its 8.3 entry. */
static int file_update_entry(struct fat_file *f)
{
	u8 *p;
	int rc = fat_cache_get(f->v, f->ent_sector, true, &p);
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
	struct leaf l;
	struct fat_dirent e;
	memset(f, 0, sizeof(*f)); /* a failed create leaves a closed handle */
	int rc = leaf_lookup(v, path, &l, &e);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (e.is_dir)
			return -E_ISDIR;
		if (e.attr & FAT_ATTR_READ_ONLY)
			return -E_ACCES;
		if (e.cluster && !fat_clus_ok(v, e.cluster))
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
				rc = fat_chain_free(v, e.cluster);
			if (rc) {
				memset(f, 0, sizeof(*f));
				return rc;
			}
		}
	} else {
		rc = fat_dir_add(v, l.parent.cluster, l.name, l.len, FAT_ATTR_ARCHIVE, 0, &e);
		if (rc)
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
	int rc = fat_data_write(f->v, fat_clus_sec(f->v, start), 0, *p, n);
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
			rc = fat_data_write(v, fat_clus_sec(v, f->clus), off, p, n);
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
			rc = fat_cluster_alloc(v, f->clus, &c);
			if (rc)
				break;
			if (!f->first)
				f->first = c;
			f->clus = c;
			if (run && c == run_start + run) {
				run++;
				continue;
			}
			if (run && (rc = write_run(f, run_start, run, &p, &len)) != 0) {
				/* The failed run's bytes were not written: writing the
				 * next run would put its data in their place.  Stop; the
				 * size covers only what was written. */
				run = 0;
				break;
			}
			run_start = c;
			run = 1;
		}
		/* Clusters allocated before an allocation failure still get
		 * their data. */
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
	fat_dir_init(v, start, &d);
	while ((rc = fat_readdir(&d, &e)) == 1)
		if (strcmp(e.short_name, ".") != 0 && strcmp(e.short_name, "..") != 0)
			return 0;
	return rc < 0 ? rc : 1;
}

int fat_remove(struct fat_vol *v, const char *path)
{
	struct leaf l;
	struct fat_dirent e;
	int rc = leaf_lookup(v, path, &l, &e);
	if (rc)
		return rc < 0 ? rc : -E_NOENT;
	if (e.cluster && !fat_clus_ok(v, e.cluster))
		return -E_CORRUPT;
	if (e.is_dir) {
		if (!e.cluster)
			return -E_CORRUPT; /* only the root has no cluster */
		rc = dir_is_empty(v, e.cluster);
		if (rc <= 0)
			return rc < 0 ? rc : -E_NOTEMPTY;
	}
	rc = fat_dir_delete(v, l.parent.cluster, e.first_index, e.index);
	if (rc)
		return rc;
	return e.cluster ? fat_chain_free(v, e.cluster) : 0;
}

int fat_mkdir(struct fat_vol *v, const char *path)
{
	struct leaf l;
	struct fat_dirent e;
	int rc = leaf_lookup(v, path, &l, &e);
	if (rc <= 0)
		return rc < 0 ? rc : -E_EXIST;

	u32 c;
	rc = fat_cluster_alloc(v, 0, &c);
	if (rc)
		return rc;
	rc = fat_cluster_zero(v, c);
	if (!rc) {
		/* fatgen103 "FAT Directory Structure": "." points at the
		 * directory itself, ".." at the parent, 0 for the root. */
		static const u8 dot[11] = ".          ", dotdot[11] = "..         ";
		struct fat_sde s;
		struct fat_dir d;
		fat_dir_init(v, c, &d);
		fat_sde_fill(&s, dot, 0, FAT_ATTR_DIRECTORY, c, 0);
		rc = fat_dir_put(&d, 0, &s, NULL, NULL);
		if (!rc) {
			fat_sde_fill(&s, dotdot, 0, FAT_ATTR_DIRECTORY, l.parent.cluster, 0);
			rc = fat_dir_put(&d, 1, &s, NULL, NULL);
		}
	}
	if (!rc)
		rc = fat_dir_add(v, l.parent.cluster, l.name, l.len, FAT_ATTR_DIRECTORY, c, &e);
	if (rc) {
		int rc2 = fat_chain_free(v, c);
		(void)rc2;
	}
	return rc;
}
