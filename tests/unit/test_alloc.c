/* The guest heap (guest/alloc.c) over a static arena. */
#include "check.h"
#include "guest/alloc.h"
#include <stdlib.h>

static u8 arena[256 * 1024] __attribute__((aligned(64)));

TEST(alloc_basic)
{
	struct heap_stats st;
	heap_init(arena, sizeof(arena));
	heap_get_stats(&st);
	CHECK_EQ(st.total, sizeof(arena));
	CHECK_EQ(st.largest_free, sizeof(arena) - 16);
	u8 *a = g_alloc(1), *b = g_alloc(100), *c = g_alloc(4096);
	CHECK(a && b && c);
	CHECK_EQ((uintptr_t)a % 16, 0);
	CHECK_EQ((uintptr_t)b % 16, 0);
	CHECK_EQ((uintptr_t)c % 16, 0);
	CHECK(b >= a + 16 && c >= b + 112);
	memset(a, 1, 1);
	memset(b, 2, 100);
	memset(c, 3, 4096);
	CHECK_EQ(heap_check(), 0);
	heap_get_stats(&st);
	CHECK_EQ(st.blocks, 3);
	CHECK_EQ(st.used, 32 + 128 + 4112);
	g_free(b);
	CHECK_EQ(heap_check(), 0);
	/* First fit reuses the hole left by b. */
	u8 *d = g_alloc(64);
	CHECK(d == b);
	g_free(a);
	g_free(c);
	g_free(d);
	CHECK_EQ(heap_check(), 0);
	heap_get_stats(&st);
	CHECK_EQ(st.used, 0);
	CHECK_EQ(st.blocks, 0);
	CHECK_EQ(st.largest_free, sizeof(arena) - 16);
	CHECK_EQ(st.peak, 32 + 128 + 4112);
	heap_init(NULL, 0);
}

TEST(alloc_full_and_zero)
{
	struct heap_stats st;
	heap_init(arena, sizeof(arena));
	CHECK(g_alloc(0) == NULL);
	CHECK(g_alloc(sizeof(arena)) == NULL);
	CHECK(g_alloc((size_t)-1) == NULL);
	void *big = g_alloc(sizeof(arena) - 16);
	CHECK(big != NULL);
	CHECK(g_alloc(1) == NULL);
	g_free(big);
	/* Fill with small blocks until full, then free in a scattered order. */
	void *p[20000];
	size_t n = 0;
	while (n < ARRAY_SIZE(p) && (p[n] = g_alloc(48)) != NULL)
		n++;
	CHECK(n > 1000 && n < ARRAY_SIZE(p));
	CHECK_EQ(heap_check(), 0);
	for (size_t i = 0; i < n; i += 2)
		g_free(p[i]);
	CHECK_EQ(heap_check(), 0);
	heap_get_stats(&st);
	CHECK_EQ(st.largest_free, 48); /* holes do not merge across used blocks */
	CHECK(g_alloc(100) == NULL);
	for (size_t i = 1; i < n; i += 2)
		g_free(p[i]);
	CHECK_EQ(heap_check(), 0);
	heap_get_stats(&st);
	CHECK_EQ(st.used, 0);
	CHECK(st.largest_free >= sizeof(arena) - 16 - 100 - 16);
	heap_init(NULL, 0);
}

TEST(alloc_bad_free_ignored)
{
	heap_init(arena, sizeof(arena));
	u8 *a = g_alloc(64);
	CHECK(a);
	g_free(a + 16);  /* interior pointer */
	g_free(a + 3);   /* misaligned */
	g_free(arena + sizeof(arena) + 64 - 64 * 2); /* not a header */
	CHECK_EQ(heap_check(), 0);
	g_free(a);
	g_free(a);       /* double free */
	CHECK_EQ(heap_check(), 0);
	struct heap_stats st;
	heap_get_stats(&st);
	CHECK_EQ(st.used, 0);
	heap_init(NULL, 0);
}

TEST(alloc_unaligned_arena)
{
	heap_init(arena + 3, 1000);
	u8 *a = g_alloc(10);
	CHECK(a && (uintptr_t)a % 16 == 0);
	CHECK(a >= arena + 3 && a + 10 <= arena + 1003);
	CHECK(g_alloc(2000) == NULL);
	g_free(a);
	CHECK_EQ(heap_check(), 0);
	heap_init(arena, 8); /* too small to hold a block */
	CHECK(g_alloc(1) == NULL);
	heap_init(NULL, 0);
}

/* Random allocations and frees against a shadow record, with each block
 * filled with a tag so overlapping blocks would show. */
TEST(alloc_random)
{
	enum { SLOTS = 200 };
	u8 *ptr[SLOTS] = { 0 };
	size_t len[SLOTS] = { 0 };
	u32 rng = 12345;
	heap_init(arena, sizeof(arena));
	for (int iter = 0; iter < 20000; iter++) {
		rng = rng * 1103515245u + 12345u;
		u32 s = (rng >> 8) % SLOTS;
		if (ptr[s]) {
			for (size_t i = 0; i < len[s]; i++)
				CHECK(ptr[s][i] == (u8)s);
			g_free(ptr[s]);
			ptr[s] = NULL;
		} else {
			rng = rng * 1103515245u + 12345u;
			len[s] = 1 + (rng >> 8) % ((rng & 1) ? 64 : 4000);
			ptr[s] = g_alloc(len[s]);
			if (ptr[s]) {
				CHECK((uintptr_t)ptr[s] % 16 == 0);
				memset(ptr[s], (u8)s, len[s]);
			}
		}
		if (iter % 1000 == 0)
			CHECK_EQ(heap_check(), 0);
	}
	for (int s = 0; s < SLOTS; s++)
		g_free(ptr[s]);
	CHECK_EQ(heap_check(), 0);
	struct heap_stats st;
	heap_get_stats(&st);
	CHECK_EQ(st.used, 0);
	CHECK_EQ(st.largest_free, sizeof(arena) - 16);
	heap_init(NULL, 0);
}

TEST(alloc_host_fallback)
{
	/* Without an arena the host build uses malloc (sanitizer-visible). */
	heap_init(NULL, 0);
	char *p = g_zalloc(1 << 20);
	CHECK(p && p[12345] == 0);
	g_free(p);
}

int main(void)
{
	RUN(alloc_basic);
	RUN(alloc_full_and_zero);
	RUN(alloc_bad_free_ignored);
	RUN(alloc_unaligned_arena);
	RUN(alloc_random);
	RUN(alloc_host_fallback);
	return CHECK_SUMMARY();
}
