/* PRP lists from block segment lists (drivers/nvme_prp.c). */
#ifndef FERRY_NVME_PRP_H
#define FERRY_NVME_PRP_H

#include "nvme.h"

#define NVME_PRP_ENTRIES (NVME_PAGE / 8) /* one list page */

/* Fills PRP1/PRP2 for a checked list: PRP2 is 0 (one page), the second
 * page, or list_pa with the entries in list (NVME_PRP_ENTRIES of room).
 * False when the list cannot be described: a segment after the first that
 * does not start on a page, or one before the last that does not end on
 * one, or more entries than a list page holds (blk_segs_check first).
 * With list NULL it only checks: nothing is written. */
bool nvme_build_prp(u64 *list, u64 list_pa, const struct blk_seg *segs, unsigned nseg, u64 *prp1, u64 *prp2);

#endif
