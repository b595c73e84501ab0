/* The ios a disk driver holds, and platform/blk.h's ordering over them. */
#include "blk_hold.h"

void blk_hold_add(struct blk_hold *h, struct blk_io *io)
{
	io->next = NULL;
	if (h->tail)
		h->tail->next = io;
	else
		h->head = io;
	h->tail = io;
	h->n++;
}

void blk_hold_remove(struct blk_hold *h, struct blk_io *io)
{
	struct blk_io **pp = &h->head, *prev = NULL;
	while (*pp != io) {
		prev = *pp;
		pp = &prev->next;
	}
	*pp = io->next;
	if (h->tail == io)
		h->tail = prev;
	io->next = NULL;
	h->n--;
}

bool blk_hold_conflict(const struct blk_io *a, const struct blk_io *b)
{
	if (a->op == BLK_OP_FLUSH || b->op == BLK_OP_FLUSH)
		return true;
	if (a->op == BLK_OP_READ && b->op == BLK_OP_READ)
		return false;
	return a->lba < b->lba + b->count && b->lba < a->lba + a->count;
}

bool blk_hold_blocked(const struct blk_hold *h, const struct blk_io *io)
{
	for (const struct blk_io *e = h->head; e != io; e = e->next)
		if (blk_hold_conflict(e, io))
			return true;
	return false;
}
