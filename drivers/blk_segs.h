/* Segment-list helpers of the disk drivers (drivers/blk_segs.c). */
#ifndef FERRY_BLK_SEGS_H
#define FERRY_BLK_SEGS_H

#include "platform/blk.h"

/* 0 when segs follows blk.h's rules (1..BLK_MAX_SEGS segments, each
 * dword-aligned, none empty or wrapping) and carries exactly bytes;
 * -E_INVAL otherwise. */
int blk_segs_check(const struct blk_seg *segs, unsigned nseg, u64 bytes);

/* Copies between a contiguous buffer and the segments (to_buf: into buf). */
void blk_segs_copy(u8 *buf, const struct blk_seg *segs, unsigned nseg, bool to_buf);

#endif
