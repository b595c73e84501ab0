/* FAT: the write-back cache of FAT and directory sectors (FAT_CACHE_LINES
 * lines of up to FAT_CACHE_LINE_BYTES).  Dirty FAT lines are written to
 * every FAT copy. */
#include "fat_internal.h"

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
			int rc = fat_vol_io(v, true, copy + rel, l->count, l->data);
			if (rc)
				return rc;
		}
	} else {
		int rc = fat_vol_io(v, true, l->sector, l->count, l->data);
		if (rc)
			return rc;
	}
	l->dirty = false;
	return 0;
}

/* Returns in *out a pointer to the cached bytes of sector sec, valid until
 * the next cache call.  dirty marks the line modified. */
int fat_cache_get(struct fat_vol *v, u32 sec, bool dirty, u8 **out)
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
	rc = fat_vol_io(v, false, start, count, victim->data);
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
int fat_cache_sync_range(struct fat_vol *v, u32 sec, u32 n, bool drop)
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

int fat_cache_flush_all(struct fat_vol *v)
{
	int first_err = 0;
	for (u32 i = 0; i < FAT_CACHE_LINES; i++) {
		int rc = line_writeback(v, &v->lines[i]);
		if (rc && !first_err)
			first_err = rc;
	}
	return first_err;
}
