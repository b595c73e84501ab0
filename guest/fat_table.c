/* FAT: entries of the file allocation table, cluster chains, and
 * allocating and freeing clusters (with the free-cluster count that the
 * FAT32 FSInfo sector caches). */
#include "fat_internal.h"
#include "alloc.h"

static int fat_entry_ptr(struct fat_vol *v, u32 c, bool dirty, u8 **p)
{
	if (!fat_clus_ok(v, c))
		return -E_CORRUPT;
	u32 off = c * (v->type == 32 ? 4 : 2);
	u8 *s;
	int rc = fat_cache_get(v, v->fat0 + off / v->bps, dirty, &s);
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
int fat_chain_next(struct fat_vol *v, u32 c, u32 *next)
{
	u32 val;
	int rc = fat_get(v, c, &val);
	if (rc)
		return rc;
	if (val >= v->eoc_min) {
		*next = 0;
		return 0;
	}
	if (!fat_clus_ok(v, val))
		return -E_CORRUPT;
	*next = val;
	return 0;
}

/* The run of physically consecutive clusters starting at c (at most max of
 * them), and the cluster that follows the run in the chain (0 at the end). */
int fat_chain_run(struct fat_vol *v, u32 c, u32 max, u32 *run, u32 *after)
{
	u32 n = 1, next;
	for (;;) {
		int rc = fat_chain_next(v, c + n - 1, &next);
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
	int rc = fat_cache_sync_range(v, v->fat0, v->fatsz, false);
	u32 esz = v->type == 32 ? 4 : 2, per_sec = v->bps / esz;
	u32 free = 0, first_free = 0;
	u32 need_secs = (u32)(((u64)fat_max_clus(v) + 1) * esz + v->bps - 1) / v->bps;
	for (u32 s = 0; !rc && s < need_secs; s += chunk_secs) {
		u32 n = MIN(chunk_secs, need_secs - s);
		rc = fat_vol_io(v, false, v->fat0 + s, n, buf);
		for (u32 i = 0; !rc && i < n * per_sec; i++) {
			u32 c = s * per_sec + i;
			if (c < 2 || c > fat_max_clus(v))
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
	if (!fat_clus_ok(v, v->next_free))
		v->next_free = first_free ? first_free : 2;
	return 0;
}

int fat_ensure_free_count(struct fat_vol *v)
{
	return v->free_known ? 0 : count_free(v);
}

/* Allocates a free cluster, marks it end-of-chain and, if prev != 0, links
 * prev to it.  Searching starts just after prev (so files grow contiguously)
 * or at the next-free hint, and wraps around once. */
int fat_cluster_alloc(struct fat_vol *v, u32 prev, u32 *out)
{
	int rc = fat_ensure_free_count(v);
	if (rc)
		return rc;
	if (v->free_count == 0)
		return -E_NOSPC;
	u32 c = prev ? prev + 1 : v->next_free;
	if (!fat_clus_ok(v, c))
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
			v->next_free = c == fat_max_clus(v) ? 2 : c + 1;
			v->fsinfo_dirty = true;
			*out = c;
			return 0;
		}
		c = c == fat_max_clus(v) ? 2 : c + 1;
	}
	/* The count said there was room, the FAT says not: trust the FAT. */
	v->free_count = 0;
	v->fsinfo_dirty = true;
	return -E_NOSPC;
}

/* Frees a whole chain.  A chain that runs into a free cluster, a bad link
 * or is longer than the volume is corrupt; what was freed stays freed. */
int fat_chain_free(struct fat_vol *v, u32 c)
{
	int rc = fat_ensure_free_count(v);
	if (rc)
		return rc;
	for (u32 steps = 0; c; steps++) {
		u32 next;
		if (steps > v->nclusters)
			return -E_CORRUPT;
		rc = fat_chain_next(v, c, &next);
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
int fat_cluster_zero(struct fat_vol *v, u32 c)
{
	u32 secs = MIN(v->spc, MAX(1u, (u32)(64 * 1024) / v->bps));
	u8 *z = g_zalloc((size_t)secs * v->bps);
	if (!z)
		return -E_NOMEM;
	u32 first = fat_clus_sec(v, c);
	int rc = fat_cache_sync_range(v, first, v->spc, true);
	for (u32 s = 0; !rc && s < v->spc; s += secs)
		rc = fat_vol_io(v, true, first + s, MIN(secs, v->spc - s), z);
	g_free(z);
	return rc;
}
