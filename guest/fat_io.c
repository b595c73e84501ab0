/* FAT: raw volume I/O and the direct path for file data (fat.h describes
 * the I/O model).  FAT and directory sectors go through fat_cache.c. */
#include "fat_internal.h"
#include "lib/string.h"

int fat_vol_io(struct fat_vol *v, bool wr, u32 sec, u32 n, void *buf)
{
	if (n == 0 || sec >= v->tot_sec || n > v->tot_sec - sec)
		return -E_RANGE;
	u64 lba = v->lba0 + (u64)sec * v->ratio;
	u32 cnt = n * v->ratio;
	return wr ? disk_write(v->disk, lba, cnt, buf) : disk_read(v->disk, lba, cnt, buf);
}

/* Moves n bytes starting off bytes into vsec sec to or from buf.  Whole
 * sectors go in one request (if buf is 4-byte aligned); a partial sector
 * at either end uses the bounce buffer.  Writing never needs what lies
 * past the written bytes in a partial sector -- files are only appended
 * to, so that is beyond end of file -- and it is zero-filled. */
int fat_data_io(struct fat_vol *v, bool wr, u32 sec, u32 off, u8 *buf, u32 n)
{
	u32 bps = v->bps;
	sec += off / bps;
	off %= bps;
	int rc = fat_cache_sync_range(v, sec, (off + n + bps - 1) / bps, wr);
	if (rc)
		return rc;
	if (off) {
		u32 k = MIN(n, bps - off);
		rc = fat_vol_io(v, false, sec, 1, v->bounce);
		if (rc)
			return rc;
		if (wr) {
			memcpy(v->bounce + off, buf, k);
			memset(v->bounce + off + k, 0, bps - off - k);
			rc = fat_vol_io(v, true, sec, 1, v->bounce);
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
			rc = fat_vol_io(v, wr, sec + i, MIN(step, full - i), buf + (size_t)i * bps);
			if (rc)
				return rc;
		}
	} else {
		for (u32 i = 0; i < full; i++) {
			u8 *p = buf + (size_t)i * bps;
			if (wr)
				memcpy(v->bounce, p, bps);
			rc = fat_vol_io(v, wr, sec + i, 1, v->bounce);
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
			rc = fat_vol_io(v, true, sec, 1, v->bounce);
		} else {
			rc = fat_vol_io(v, false, sec, 1, v->bounce);
			if (!rc)
				memcpy(buf, v->bounce, n);
		}
	}
	return rc;
}
