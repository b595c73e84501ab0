/* Segment lists of block requests (platform/blk.h), for the disk
 * drivers: the checks every back end repeats, and the copy in and out of
 * a bounce buffer for lists a controller cannot take as they are. */
#include "blk_segs.h"
#include "platform/mem.h"
#include "lib/string.h"

/* blk.h's rules for a segment list of bytes in all. */
int blk_segs_check(const struct blk_seg *segs, unsigned nseg, u64 bytes)
{
	u64 total = 0;
	if (!segs || nseg == 0 || nseg > BLK_MAX_SEGS)
		return -E_INVAL;
	for (unsigned i = 0; i < nseg; i++) {
		hpa_t a = segs[i].addr;
		u32 len = segs[i].len;
		if (len == 0 || ((a | len) & 3) || a + len < a)
			return -E_INVAL;
		total += len;
	}
	return total == bytes ? 0 : -E_INVAL;
}

void blk_segs_copy(u8 *buf, const struct blk_seg *segs, unsigned nseg, bool to_buf)
{
	for (unsigned i = 0; i < nseg; i++) {
		void *p = phys_to_virt(segs[i].addr);
		if (to_buf)
			memcpy(buf, p, segs[i].len);
		else
			memcpy(p, buf, segs[i].len);
		buf += segs[i].len;
	}
}
