/* NVMe PRP lists from block segment lists (drivers/nvme_prp.c): the
 * shapes PRP can describe (NVMe 1.4, 4.3: the first entry anywhere
 * dword-aligned, every later one a page start, every page but the last
 * ending on a boundary), the ones it cannot (then the driver bounces),
 * and the segment checks and bounce copies of drivers/blk_segs.c. */
#include "check.h"
#include "drivers/nvme_prp.h"
#include "drivers/blk_segs.h"

#define PG NVME_PAGE
#define LIST_PA 0x77000ull

static u64 list[NVME_PRP_ENTRIES];
static u64 prp1, prp2;

static bool build(const struct blk_seg *s, unsigned n)
{
	memset(list, 0, sizeof(list));
	prp1 = prp2 = 0xdead;
	return nvme_build_prp(list, LIST_PA, s, n, &prp1, &prp2);
}

TEST(one_page_needs_only_prp1)
{
	struct blk_seg s[] = { { 0x10000, PG } };
	CHECK(build(s, 1));
	CHECK_EQ(prp1, 0x10000);
	CHECK_EQ(prp2, 0);
	struct blk_seg odd[] = { { 0x10204, 0x100 } }; /* inside one page, unaligned start */
	CHECK(build(odd, 1));
	CHECK_EQ(prp1, 0x10204);
	CHECK_EQ(prp2, 0);
}

TEST(two_pages_put_the_second_in_prp2)
{
	struct blk_seg s[] = { { 0x10000, 2 * PG } };
	CHECK(build(s, 1));
	CHECK_EQ(prp1, 0x10000);
	CHECK_EQ(prp2, 0x11000);
	/* An unaligned start that crosses one boundary: two entries too. */
	struct blk_seg u[] = { { 0x10e00, 0x400 } };
	CHECK(build(u, 1));
	CHECK_EQ(prp1, 0x10e00);
	CHECK_EQ(prp2, 0x11000);
}

TEST(more_pages_use_the_list)
{
	/* Unaligned first segment of 1.5 pages, then two whole pages elsewhere,
	 * then a short last one. */
	struct blk_seg s[] = { { 0x20800, 0 }, { 0x50000, 2 * PG }, { 0x90000, 512 } };
	s[0].len = 0x22000 - 0x20800; /* to the end of page 0x21000 */
	CHECK(build(s, 3));
	CHECK_EQ(prp1, 0x20800);
	CHECK_EQ(prp2, LIST_PA);
	CHECK_EQ(list[0], 0x21000);
	CHECK_EQ(list[1], 0x50000);
	CHECK_EQ(list[2], 0x51000);
	CHECK_EQ(list[3], 0x90000);
	CHECK_EQ(list[4], 0);
}

TEST(gaps_cannot_be_described)
{
	struct blk_seg mid_start[] = { { 0x10000, PG }, { 0x20200, PG } };
	CHECK(!build(mid_start, 2));
	struct blk_seg short_end[] = { { 0x10000, 512 }, { 0x20000, 512 } };
	CHECK(!build(short_end, 2));
	struct blk_seg ok[] = { { 0x10000, PG }, { 0x20000, 512 } };
	CHECK(build(ok, 2));
	CHECK_EQ(prp2, 0x20000);
}

TEST(a_list_page_bounds_the_entries)
{
	struct blk_seg big[] = { { 0x100000, (NVME_PRP_ENTRIES + 1) * PG } };
	CHECK(build(big, 1)); /* PRP1 plus a full list */
	CHECK_EQ(list[NVME_PRP_ENTRIES - 1], 0x100000 + (u64)NVME_PRP_ENTRIES * PG);
	struct blk_seg over[] = { { 0x100000, (NVME_PRP_ENTRIES + 2) * PG } };
	CHECK(!build(over, 1));
}

TEST(segment_checks)
{
	struct blk_seg s[] = { { 0x1000, 512 }, { 0x3000, 512 } };
	CHECK_EQ(blk_segs_check(s, 2, 1024), 0);
	CHECK_EQ(blk_segs_check(s, 2, 512), -E_INVAL);
	CHECK_EQ(blk_segs_check(s, 0, 0), -E_INVAL);
	CHECK_EQ(blk_segs_check(NULL, 1, 512), -E_INVAL);
	CHECK_EQ(blk_segs_check(s, BLK_MAX_SEGS + 1, 1024), -E_INVAL);
	struct blk_seg odd[] = { { 0x1002, 512 } }, empty[] = { { 0x1000, 0 } }, wrap[] = { { ~0ull - 3, 8 } };
	CHECK_EQ(blk_segs_check(odd, 1, 512), -E_INVAL);
	CHECK_EQ(blk_segs_check(empty, 1, 0), -E_INVAL);
	CHECK_EQ(blk_segs_check(wrap, 1, 8), -E_INVAL);
}

TEST(bounce_copies_both_ways)
{
	static u8 a[100], b[60], buf[160];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)i;
	struct blk_seg s[] = { { (hpa_t)(uintptr_t)a, sizeof(a) }, { (hpa_t)(uintptr_t)b, sizeof(b) } };
	blk_segs_copy(buf, s, 2, false);
	CHECK_EQ(a[99], 99);
	CHECK_EQ(b[0], 100);
	CHECK_EQ(b[59], 159);
	memset(buf, 0, sizeof(buf));
	blk_segs_copy(buf, s, 2, true);
	CHECK_EQ(buf[50], 50);
	CHECK_EQ(buf[159], 159);
}

int main(void)
{
	RUN(one_page_needs_only_prp1);
	RUN(two_pages_put_the_second_in_prp2);
	RUN(more_pages_use_the_list);
	RUN(gaps_cannot_be_described);
	RUN(a_list_page_bounds_the_entries);
	RUN(segment_checks);
	RUN(bounce_copies_both_ways);
	return CHECK_SUMMARY();
}
