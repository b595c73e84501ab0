/* The held list of the disk drivers with many commands in flight
 * (drivers/blk_hold.c): submission order kept through removals anywhere,
 * and platform/blk.h's ordering rule, which decides what may start. */
#include "check.h"
#include "drivers/blk_hold.h"

static struct blk_io R(u64 lba, u32 n) { return (struct blk_io){ .op = BLK_OP_READ, .lba = lba, .count = n }; }
static struct blk_io W(u64 lba, u32 n) { return (struct blk_io){ .op = BLK_OP_WRITE, .lba = lba, .count = n }; }
static struct blk_io F(void) { return (struct blk_io){ .op = BLK_OP_FLUSH }; }

TEST(reads_pass_reads_even_overlapping)
{
	struct blk_io a = R(0, 8), b = R(4, 8);
	CHECK(!blk_hold_conflict(&a, &b));
}

TEST(a_write_and_an_overlapping_request_keep_their_order)
{
	struct blk_io w = W(10, 4), r = R(13, 1), w2 = W(6, 5), r2 = R(0, 11);
	CHECK(blk_hold_conflict(&w, &r));
	CHECK(blk_hold_conflict(&r, &w));
	CHECK(blk_hold_conflict(&w, &w2));
	CHECK(blk_hold_conflict(&r2, &w));
}

TEST(requests_that_only_touch_pass_each_other)
{
	struct blk_io w = W(10, 4), before = W(6, 4), after = R(14, 100);
	CHECK(!blk_hold_conflict(&w, &before));
	CHECK(!blk_hold_conflict(&before, &w));
	CHECK(!blk_hold_conflict(&w, &after));
}

TEST(a_flush_passes_nothing_and_nothing_passes_it)
{
	struct blk_io f = F(), r = R(0, 1), w = W(100, 1);
	CHECK(blk_hold_conflict(&f, &r));
	CHECK(blk_hold_conflict(&w, &f));
	CHECK(blk_hold_conflict(&f, &f));
}

TEST(blocked_looks_only_at_what_came_before)
{
	struct blk_hold h = { 0 };
	struct blk_io a = R(0, 8), w = W(4, 1), b = R(100, 8), c = R(4, 1);
	blk_hold_add(&h, &a);
	blk_hold_add(&h, &w);
	blk_hold_add(&h, &b);
	blk_hold_add(&h, &c);
	CHECK(!blk_hold_blocked(&h, &a));
	CHECK(blk_hold_blocked(&h, &w));  /* the read before it overlaps */
	CHECK(!blk_hold_blocked(&h, &b)); /* nothing before it touches it */
	CHECK(blk_hold_blocked(&h, &c));  /* the write before it */
	blk_hold_remove(&h, &a);
	CHECK(!blk_hold_blocked(&h, &w));
	CHECK(blk_hold_blocked(&h, &c));
	blk_hold_remove(&h, &w);
	CHECK(!blk_hold_blocked(&h, &c));
}

static bool order_is(const struct blk_hold *h, struct blk_io *const *want, unsigned n)
{
	const struct blk_io *e = h->head;
	for (unsigned i = 0; i < n; i++, e = e->next)
		if (e != want[i])
			return false;
	return !e && h->n == n && (n ? h->tail == want[n - 1] : !h->tail && !h->head);
}

TEST(removing_from_anywhere_keeps_the_order)
{
	struct blk_hold h = { 0 };
	struct blk_io io[5];
	for (unsigned i = 0; i < 5; i++) {
		io[i] = R(i, 1);
		io[i].next = &io[0]; /* stale: add clears it */
		blk_hold_add(&h, &io[i]);
	}
	blk_hold_remove(&h, &io[2]);
	CHECK(!io[2].next);
	CHECK(order_is(&h, (struct blk_io *[]){ &io[0], &io[1], &io[3], &io[4] }, 4));
	blk_hold_remove(&h, &io[4]); /* the tail */
	CHECK(order_is(&h, (struct blk_io *[]){ &io[0], &io[1], &io[3] }, 3));
	blk_hold_add(&h, &io[2]);
	CHECK(order_is(&h, (struct blk_io *[]){ &io[0], &io[1], &io[3], &io[2] }, 4));
	blk_hold_remove(&h, &io[0]); /* the head */
	blk_hold_remove(&h, &io[1]);
	blk_hold_remove(&h, &io[3]);
	CHECK(order_is(&h, (struct blk_io *[]){ &io[2] }, 1));
	blk_hold_remove(&h, &io[2]);
	CHECK(order_is(&h, NULL, 0));
}

int main(void)
{
	RUN(reads_pass_reads_even_overlapping);
	RUN(a_write_and_an_overlapping_request_keep_their_order);
	RUN(requests_that_only_touch_pass_each_other);
	RUN(a_flush_passes_nothing_and_nothing_passes_it);
	RUN(blocked_looks_only_at_what_came_before);
	RUN(removing_from_anywhere_keeps_the_order);
	return CHECK_SUMMARY();
}
