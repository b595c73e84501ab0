/* FAT: adding and deleting directory entries, with short-name generation
 * for long names and growth of full directories. */
#include "fat_internal.h"
#include "lib/string.h"

/* Whether any entry of the directory has this exact 8.3 name. */
static int dir_has_short(struct fat_vol *v, u32 start, const u8 sn[11])
{
	struct fat_dir d;
	fat_dir_init(v, start, &d);
	for (u32 i = 0;; i++) {
		u8 *p;
		int rc = fat_dir_entry(&d, i, false, &p, NULL, NULL);
		if (rc)
			return rc == 1 ? 0 : rc;
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
	bool past_end = false; /* after a DIR_END entry everything is free */

	fat_dir_init(v, start, &d);
	for (u32 i = 0;; i++) {
		u32 sec, off;
		int rc = fat_dir_locate(&d, i, &sec, &off);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (d.clus == 0 || i >= DIR_MAX_ENTRIES)
				return -E_NOSPC;
			u32 c;
			rc = fat_cluster_alloc(v, d.clus, &c);
			if (rc)
				return rc;
			rc = fat_cluster_zero(v, c);
			if (rc)
				return rc;
			rc = fat_dir_locate(&d, i, &sec, &off);
			if (rc)
				return rc < 0 ? rc : -E_CORRUPT;
		}
		if (!past_end) {
			u8 *p;
			rc = fat_cache_get(v, sec, false, &p);
			if (rc)
				return rc;
			past_end = p[off] == DIR_END;
			if (p[off] != DIR_FREE && !past_end) {
				run = 0;
				continue;
			}
		}
		if (run++ == 0)
			*first = i;
		if (run == need)
			return 0;
	}
}

void fat_sde_fill(struct fat_sde *s, const u8 sn[11], u8 nt_res, u8 attr, u32 clus, u32 size)
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
int fat_dir_put(struct fat_dir *d, u32 i, const void *ent, u32 *sec_out, u32 *off_out)
{
	u8 *p;
	int rc = fat_dir_entry(d, i, true, &p, sec_out, off_out);
	if (rc)
		return rc < 0 ? rc : -E_CORRUPT;
	memcpy(p, ent, DIRENT_SIZE);
	return 0;
}

/* Adds an entry for `name` to directory start: a plain 8.3 entry when the
 * name is one, otherwise long-name entries plus a generated "BASIS~N.EXT"
 * short name unique in the directory.  The caller has checked that the
 * name does not exist.  Fills e->sector/offset of the 8.3 entry. */
int fat_dir_add(struct fat_vol *v, u32 start, const char *name, size_t len, u8 attr,
		u32 clus, struct fat_dirent *e)
{
	u16 u[256];
	u8 sn[11], nt_res = 0;
	int n = fat_utf8_to_utf16(name, len, u, 255);
	if (n < 0)
		return n;
	if (n == 0 || u[n - 1] == ' ' || u[n - 1] == '.')
		return -E_INVAL;

	u32 nlfn = 0;
	if (!fat_name_to_short(name, len, sn, &nt_res)) {
		nlfn = ((u32)n + LFN_CHARS - 1) / LFN_CHARS;
		fat_basis_name(u, (u32)n, sn);
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
	fat_dir_init(v, start, &d);
	u8 sum = fat_lfn_checksum(sn);
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
			put_le16(ent + fat_lfn_char_off[k], ch);
		}
		rc = fat_dir_put(&d, first + i, ent, NULL, NULL);
		if (rc)
			return rc;
	}
	struct fat_sde s;
	fat_sde_fill(&s, sn, nt_res, attr, clus, 0);
	rc = fat_dir_put(&d, first + nlfn, &s, &e->sector, &e->offset);
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
int fat_dir_delete(struct fat_vol *v, u32 start, u32 first, u32 last)
{
	struct fat_dir d;
	fat_dir_init(v, start, &d);
	for (u32 i = first; i <= last; i++) {
		u8 *p;
		int rc = fat_dir_entry(&d, i, true, &p, NULL, NULL);
		if (rc)
			return rc < 0 ? rc : -E_CORRUPT;
		p[0] = DIR_FREE;
	}
	return 0;
}
