/* Guest RAM bookkeeping: the check every guest-supplied address goes
 * through. */
#include "check.h"
#include "vm/gmem.h"

TEST(add_merges_and_sorts)
{
	struct gmem g = { 0 };
	CHECK_EQ(gmem_add(&g, 0x100000, 0x200000), 0);
	CHECK_EQ(gmem_add(&g, 0, 0x9f000), 0);
	CHECK_EQ(gmem_add(&g, 0x200000, 0x300000), 0); /* touches: merges */
	CHECK_EQ(g.n, 2);
	CHECK_EQ(g.r[0].start, 0);
	CHECK_EQ(g.r[0].end, 0x9f000);
	CHECK_EQ(g.r[1].start, 0x100000);
	CHECK_EQ(g.r[1].end, 0x300000);
	CHECK_EQ(gmem_total(&g), 0x9f000 + 0x200000);
}

TEST(add_rounds_inwards)
{
	struct gmem g = { 0 };
	CHECK_EQ(gmem_add(&g, 0x1001, 0x3fff), 0);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(g.r[0].start, 0x2000);
	CHECK_EQ(g.r[0].end, 0x3000);
	CHECK_EQ(gmem_add(&g, 0x5001, 0x5fff), 0); /* less than a page: nothing */
	CHECK_EQ(g.n, 1);
}

TEST(remove_splits)
{
	struct gmem g = { 0 };
	gmem_add(&g, 0, 0x10000000);
	CHECK_EQ(gmem_remove(&g, 0x100000, 0x139000), 0);  /* ferry's image */
	CHECK_EQ(gmem_remove(&g, 0xee00000, 0xfe00000), 0); /* ferry's pool */
	CHECK_EQ(g.n, 3);
	CHECK_EQ(g.r[0].end, 0x100000);
	CHECK_EQ(g.r[1].start, 0x139000);
	CHECK_EQ(g.r[1].end, 0xee00000);
	CHECK_EQ(g.r[2].start, 0xfe00000);
	CHECK_EQ(gmem_remove(&g, 0x100, 0x200), 0); /* rounds outwards */
	CHECK_EQ(g.r[0].start, 0x1000);
}

TEST(check_refuses_ferry_outside_and_crossing)
{
	struct gmem g = { 0 };
	gmem_add(&g, 0, 0x10000000);
	gmem_remove(&g, 0x100000, 0x139000);
	CHECK_EQ(gmem_check(&g, 0x1000, 0x1000), 0);
	CHECK_EQ(gmem_check(&g, 0x100000, 4), -E_RANGE);        /* ferry */
	CHECK_EQ(gmem_check(&g, 0xff000, 0x2000), -E_RANGE);    /* crosses into ferry */
	CHECK_EQ(gmem_check(&g, 0x138ffc, 8), -E_RANGE);        /* crosses out of ferry */
	CHECK_EQ(gmem_check(&g, 0x10000000, 1), -E_RANGE);      /* past the end */
	CHECK_EQ(gmem_check(&g, 0xffffffc, 4), 0);              /* last bytes */
	CHECK_EQ(gmem_check(&g, 0xffffffc, 5), -E_RANGE);
	CHECK_EQ(gmem_check(&g, ~0ULL - 3, 8), -E_RANGE);       /* wraps */
	CHECK_EQ(gmem_check(&g, 0x2000, 0), 0);                 /* len 0 as 1 byte */
	CHECK(gmem_ptr(&g, 0x100000, 1) == NULL);
}

TEST(table_full_is_reported)
{
	struct gmem g = { 0 };
	for (unsigned i = 0; i < GMEM_MAX_RANGES; i++)
		CHECK_EQ(gmem_add(&g, (u64)i * 0x10000, (u64)i * 0x10000 + 0x1000), 0);
	CHECK_EQ(gmem_add(&g, 0x10000000, 0x10001000), -E_NOSPC);
	CHECK_EQ(gmem_remove(&g, 0x800, 0x900), 0); /* removing whole ranges needs no slot */
}

/* Removing nothing changes nothing: an empty range inside a range used to
 * split it into two touching ones, and a buffer across the split was then
 * refused. */
TEST(remove_empty_range_keeps_one_range)
{
	struct gmem g = { 0 };
	CHECK_EQ(gmem_add(&g, 0x1000, 0x5000), 0);
	CHECK_EQ(gmem_remove(&g, 0x2000, 0x2000), 0);
	CHECK_EQ(g.n, 1);
	CHECK_EQ(gmem_check(&g, 0x1800, 0x1000), 0);
	CHECK_EQ(gmem_remove(&g, 0x3000, 0x2000), 0); /* reversed: nothing */
	CHECK_EQ(g.n, 1);
}

int main(void)
{
	RUN(add_merges_and_sorts);
	RUN(add_rounds_inwards);
	RUN(remove_splits);
	RUN(check_refuses_ferry_outside_and_crossing);
	RUN(table_full_is_reported);
	RUN(remove_empty_range_keeps_one_range);
	return CHECK_SUMMARY();
}
