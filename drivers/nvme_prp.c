/* NVMe data pointers: a block request's segment list as PRP entries
 * (NVMe 1.4, 4.3).  Kept apart from the controller (drivers/nvme.c) so
 * the rules can be tested on the host. */
#include "nvme_prp.h"

/* The PRP entries of a checked segment list (4.3): false when the list
 * cannot be one (a page gap inside the transfer).  With list NULL it
 * only says so, writing nothing. */
bool nvme_build_prp(u64 *list, u64 list_pa, const struct blk_seg *segs, unsigned nseg, u64 *prp1, u64 *prp2)
{
	const u64 mask = NVME_PAGE - 1;
	u64 first = 0, second = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < nseg; i++) {
		u64 a = segs[i].addr, end = a + segs[i].len;
		if ((i > 0 && (a & mask)) || (i + 1 < nseg && (end & mask)))
			return false;
		u64 next = a;
		if (i == 0) {
			first = a;
			next = (a & ~mask) + NVME_PAGE;
		}
		for (; next < end; next += NVME_PAGE) {
			if (n == NVME_PRP_ENTRIES)
				return false;
			if (n == 0)
				second = next;
			if (list)
				list[n] = next;
			n++;
		}
	}
	if (list) {
		*prp1 = first;
		*prp2 = n == 0 ? 0 : n == 1 ? second : list_pa;
	}
	return true;
}
