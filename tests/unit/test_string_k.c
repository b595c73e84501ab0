/* lib/string.c's memcpy, memmove and memset as ferry builds them (KCFLAGS:
 * rep movsq / rep stosq and a byte tail), linked in place of the C
 * library's: every length around the eight-byte step, every alignment,
 * overlaps both ways, and not a byte written outside the destination.
 * Built without sanitizers (ours would replace theirs) and -fno-builtin,
 * so each call reaches lib/string.c. */
#include "check.h"

#define SPAN 160
#define GUARD 16
static unsigned char src[SPAN + 2 * GUARD], dst[SPAN + 2 * GUARD], want[SPAN + 2 * GUARD];

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 37 + seed * 11 + 1);
}

TEST(memcpy_every_length_and_alignment)
{
	for (size_t so = 0; so < 8; so++)
		for (size_t d = 0; d < 8; d++)
			for (size_t n = 0; n <= SPAN - 8; n++) {
				fill(src, sizeof(src), (unsigned)(so + n));
				memset(dst, 0xEE, sizeof(dst));
				for (size_t i = 0; i < sizeof(want); i++)
					want[i] = 0xEE;
				for (size_t i = 0; i < n; i++)
					want[GUARD + d + i] = src[GUARD + so + i];
				void *r = memcpy(dst + GUARD + d, src + GUARD + so, n);
				CHECK(r == dst + GUARD + d);
				CHECK(memcmp(dst, want, sizeof(dst)) == 0);
			}
}

TEST(memset_every_length_and_alignment_low_byte_only)
{
	for (size_t d = 0; d < 8; d++)
		for (size_t n = 0; n <= SPAN - 8; n++) {
			int c = (n & 1) ? 0x1A5 : 0; /* only the low byte counts */
			fill(dst, sizeof(dst), (unsigned)n);
			memcpy(want, dst, sizeof(dst));
			for (size_t i = 0; i < n; i++)
				want[GUARD + d + i] = (unsigned char)c;
			void *r = memset(dst + GUARD + d, c, n);
			CHECK(r == dst + GUARD + d);
			CHECK(memcmp(dst, want, sizeof(dst)) == 0);
		}
}

TEST(memmove_overlaps_both_ways)
{
	for (int shift = -20; shift <= 20; shift++)
		for (size_t n = 0; n <= 100; n++) {
			size_t s = GUARD + 24, t = (size_t)((long)s + shift);
			fill(dst, sizeof(dst), (unsigned)n);
			memcpy(want, dst, sizeof(dst));
			unsigned char tmp[SPAN];
			for (size_t i = 0; i < n; i++)
				tmp[i] = dst[s + i];
			for (size_t i = 0; i < n; i++)
				want[t + i] = tmp[i];
			void *r = memmove(dst + t, dst + s, n);
			CHECK(r == dst + t);
			CHECK(memcmp(dst, want, sizeof(dst)) == 0);
		}
}

TEST(memcpy_a_large_frame)
{
	static unsigned char a[9100], b[9100];
	fill(a, sizeof(a), 3);
	memset(b, 0, sizeof(b));
	memcpy(b + 1, a + 3, 9014);
	CHECK(memcmp(b + 1, a + 3, 9014) == 0);
	CHECK(b[0] == 0 && b[9015] == 0);
}

int main(void)
{
	RUN(memcpy_every_length_and_alignment);
	RUN(memset_every_length_and_alignment_low_byte_only);
	RUN(memmove_overlaps_both_ways);
	RUN(memcpy_a_large_frame);
	return CHECK_SUMMARY();
}
