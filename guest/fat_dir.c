/* FAT: reading directories -- locating entries along a cluster chain (or
 * in the FAT16 fixed root), assembling long names, lookup by name. */
#include "fat_internal.h"
#include "lib/string.h"

static u32 dir_first_clus(const struct fat_vol *v, u32 start)
{
	return start ? start : (v->type == 32 ? v->root_clus : 0);
}

void fat_dir_init(struct fat_vol *v, u32 start, struct fat_dir *d)
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
int fat_dir_locate(struct fat_dir *d, u32 index, u32 *sec, u32 *off)
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
	if (!fat_clus_ok(v, d->clus))
		return -E_CORRUPT;
	while (d->clus_idx < ci) {
		u32 next;
		int rc = fat_chain_next(v, d->clus, &next);
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
	*sec = fat_clus_sec(v, d->clus) + byte / v->bps;
	*off = byte % v->bps;
	return 0;
}

/* fat_dir_locate, then the entry's 32 bytes in the cache (marked dirty for
 * a caller that changes them).  Returns 0 with *ent and, where not NULL,
 * *sec and *off; 1 when the directory ends before the entry; or an error. */
int fat_dir_entry(struct fat_dir *d, u32 index, bool dirty, u8 **ent, u32 *sec, u32 *off)
{
	u32 s, o;
	int rc = fat_dir_locate(d, index, &s, &o);
	if (rc)
		return rc;
	rc = fat_cache_get(d->v, s, dirty, ent);
	if (rc)
		return rc;
	*ent += o;
	if (sec)
		*sec = s;
	if (off)
		*off = o;
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
	for (u32 i = 0; i < LFN_CHARS; i++) /* seq is 1 or more here */
		d->lfn[(u32)(seq - 1) * LFN_CHARS + i] = le16_at(p + fat_lfn_char_off[i]);
	d->lfn_expect = (u8)(seq - 1);
	if (d->lfn_expect == 0)
		d->lfn_expect = 0xff; /* complete: waiting for the 8.3 entry */
}

int fat_readdir(struct fat_dir *d, struct fat_dirent *e)
{
	struct fat_vol *v = d->v;

	for (;;) {
		u32 sec, off, index = d->index;
		u8 *p;
		int rc = fat_dir_entry(d, index, false, &p, &sec, &off);
		if (rc)
			return rc == 1 ? 0 : rc;
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
		fat_short_to_str(s->name, s->nt_res, e->short_name);
		bool have_lfn = d->lfn_expect == 0xff && d->lfn_sum == fat_lfn_checksum(s->name);
		if (have_lfn) {
			u32 n = 0, max = (u32)d->lfn_total * LFN_CHARS;
			while (n < max && d->lfn[n] != 0x0000)
				n++;
			fat_utf16_to_utf8(d->lfn, n, e->name, sizeof(e->name));
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
int fat_dir_lookup(struct fat_vol *v, u32 start, const char *name, size_t len,
		   struct fat_dirent *e)
{
	struct fat_dir d;
	int rc;

	fat_dir_init(v, start, &d);
	while ((rc = fat_readdir(&d, e)) == 1)
		if (fat_name_eq(name, len, e->name) || fat_name_eq(name, len, e->short_name))
			return 0;
	return rc ? rc : -E_NOENT;
}

int fat_opendir(struct fat_vol *v, const char *path, struct fat_dir *d)
{
	struct fat_dirent e;
	int rc = fat_path_walk(v, path, strlen(path), &e);
	if (rc)
		return rc;
	if (!e.is_dir)
		return -E_NOTDIR;
	if (e.cluster && !fat_clus_ok(v, e.cluster))
		return -E_CORRUPT;
	fat_dir_init(v, e.cluster, d);
	return 0;
}
