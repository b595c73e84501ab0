/* PRP lists from block segment lists (drivers/nvme_prp.c). */
#ifndef FERRY_NVME_PRP_H
#define FERRY_NVME_PRP_H

#include "nvme.h"

#define NVME_PRP_ENTRIES (NVME_PAGE / 8) /* one list page */

/* 0 when segs follows blk.h's rules (1..BLK_MAX_SEGS segments, each
 * dword-aligned, none empty or wrapping) and carries exactly bytes;
 * -E_INVAL otherwise. */
int nvme_check_segs(const struct blk_seg *segs, unsigned nseg, u64 bytes);

/* Fills PRP1/PRP2 for a checked list: PRP2 is 0 (one page), the second
 * page, or list_pa with the entries in list (NVME_PRP_ENTRIES of room).
 * False when the list cannot be described: a segment after the first that
 * does not start on a page, or one before the last that does not end on
 * one, or more entries than a list page holds. */
bool nvme_build_prp(u64 *list, u64 list_pa, const struct blk_seg *segs, unsigned nseg, u64 *prp1, u64 *prp2);

/* Copies between a contiguous buffer and the segments (to_buf: into buf). */
void nvme_bounce_copy(u8 *buf, const struct blk_seg *segs, unsigned nseg, bool to_buf);

#endif
