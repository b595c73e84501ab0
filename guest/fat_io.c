/* FAT: raw volume I/O and the direct path for file data (fat.h describes
 * the I/O model).  FAT and directory sectors go through fat_cache.c. */
#include "fat_internal.h"
#include "lib/string.h"

/* The disk request for n vsecs from sec, or -E_RANGE. */
static int vol_request(const struct fat_vol *v, u32 sec, u32 n, u64 *lba, u32 *cnt)
{
	if (n == 0 || sec >= v->tot_sec || n > v->tot_sec - sec)
		return -E_RANGE;
	*lba = v->lba0 + (u64)sec * v->ratio;
	*cnt = n * v->ratio;
	return 0;
}

int fat_vol_read(struct fat_vol *v, u32 sec, u32 n, void *buf)
{
	u64 lba;
	u32 cnt;
	int rc = vol_request(v, sec, n, &lba, &cnt);
	return rc ? rc : disk_read(v->disk, lba, cnt, buf);
}

int fat_vol_write(struct fat_vol *v, u32 sec, u32 n, const void *buf)
{
	u64 lba;
	u32 cnt;
	int rc = vol_request(v, sec, n, &lba, &cnt);
	return rc ? rc : disk_write(v->disk, lba, cnt, buf);
}

int fat_vol_io(struct fat_vol *v, bool wr, u32 sec, u32 n, void *buf)
{
	return wr ? fat_vol_write(v, sec, n, buf) : fat_vol_read(v, sec, n, buf);
}

/* Moves n bytes starting off bytes into vsec sec from src to the volume
 * (a write) or from the volume to dst (a read, src NULL).  Whole sectors
 * go in one request (if the buffer is 4-byte aligned); a partial sector at
 * either end uses the bounce buffer.  Writing never needs what lies past
 * the written bytes in a partial sector -- files are only appended to, so
 * that is beyond end of file -- and it is zero-filled. */
static int data_io(struct fat_vol *v, u32 sec, u32 off, u8 *dst, const u8 *src, u32 n)
{
	bool wr = src != NULL;
	u32 bps = v->bps;
	sec += off / bps;
	off %= bps;
	int rc = fat_cache_sync_range(v, sec, (off + n + bps - 1) / bps, wr);
	if (rc)
		return rc;
	size_t done = 0;
	if (off) {
		u32 k = MIN(n, bps - off);
		rc = fat_vol_read(v, sec, 1, v->bounce);
		if (rc)
			return rc;
		if (wr) {
			memcpy(v->bounce + off, src, k);
			memset(v->bounce + off + k, 0, bps - off - k);
			rc = fat_vol_write(v, sec, 1, v->bounce);
			if (rc)
				return rc;
		} else {
			memcpy(dst, v->bounce + off, k);
		}
		sec++;
		done = k;
		n -= k;
	}
	u32 full = n / bps;
	if (full && IS_ALIGNED((uintptr_t)(wr ? src + done : dst + done), 4)) {
		/* One request, unless clusters are larger than FAT_IO_MAX. */
		u32 step = MAX(1u, FAT_IO_MAX / bps);
		for (u32 i = 0; i < full; i += step) {
			size_t at = done + (size_t)i * bps;
			u32 cnt = MIN(step, full - i);
			rc = wr ? fat_vol_write(v, sec + i, cnt, src + at) : fat_vol_read(v, sec + i, cnt, dst + at);
			if (rc)
				return rc;
		}
	} else {
		for (u32 i = 0; i < full; i++) {
			size_t at = done + (size_t)i * bps;
			if (wr) {
				memcpy(v->bounce, src + at, bps);
				rc = fat_vol_write(v, sec + i, 1, v->bounce);
			} else {
				rc = fat_vol_read(v, sec + i, 1, v->bounce);
				if (!rc)
					memcpy(dst + at, v->bounce, bps);
			}
			if (rc)
				return rc;
		}
	}
	sec += full;
	done += (size_t)full * bps;
	n -= full * bps;
	if (n) {
		if (wr) {
			memcpy(v->bounce, src + done, n);
			memset(v->bounce + n, 0, bps - n);
			rc = fat_vol_write(v, sec, 1, v->bounce);
		} else {
			rc = fat_vol_read(v, sec, 1, v->bounce);
			if (!rc)
				memcpy(dst + done, v->bounce, n);
		}
	}
	return rc;
}

int fat_data_read(struct fat_vol *v, u32 sec, u32 off, u8 *buf, u32 n)
{
	return data_io(v, sec, off, buf, NULL, n);
}

int fat_data_write(struct fat_vol *v, u32 sec, u32 off, const u8 *buf, u32 n)
{
	return data_io(v, sec, off, NULL, buf, n);
}
