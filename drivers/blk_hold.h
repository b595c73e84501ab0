/* The ios a disk driver holds (drivers/blk_hold.c): every io its submit
 * took and poll has not yet finished, in submission order, and the
 * ordering rule of platform/blk.h over them.  A driver whose device
 * finishes commands in any order (AHCI with NCQ, NVMe, virtio-blk) issues
 * an io only when nothing held before it is one it may not pass. */
#ifndef FERRY_BLK_HOLD_H
#define FERRY_BLK_HOLD_H

#include "platform/blk.h"

struct blk_hold {
	struct blk_io *head, *tail; /* linked by io->next */
	unsigned n;
};

/* io joins the end (its next is cleared). */
void blk_hold_add(struct blk_hold *h, struct blk_io *io);

/* io, which h holds, leaves it. */
void blk_hold_remove(struct blk_hold *h, struct blk_io *io);

/* May b, submitted after a, not start while a is held?  A FLUSH passes
 * nothing and nothing passes it; reads pass reads; a read or write
 * passes a write or read it does not overlap. */
bool blk_hold_conflict(const struct blk_io *a, const struct blk_io *b);

/* Does anything held before io (which h holds) keep it waiting? */
bool blk_hold_blocked(const struct blk_hold *h, const struct blk_io *io);

#endif
