/* lib/string.c's memcpy, memmove and memset as ferry builds them (KCFLAGS:
 * rep movsq / rep stosq and a byte tail), linked in place of the C
 * library's: every length around the eight-byte step, every alignment,
 * overlaps both ways, and not a byte written outside the destination.
 * Built without sanitizers (ours would replace theirs) and -fno-builtin,
 * so each call reaches lib/string.c. */
#include <sys/mman.h>
#include <unistd.h>

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

TEST(no_byte_past_either_end_is_touched)
{
	/* Source and destination end where an inaccessible page begins: a
	 * wide step or a tail that read or wrote past n bytes would fault. */
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *a = mmap(NULL, (size_t)pg * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	unsigned char *src_end = a + pg, *dst_end = a + 3 * pg;
	CHECK(mprotect(src_end, (size_t)pg, PROT_NONE) == 0);
	CHECK(mprotect(dst_end, (size_t)pg, PROT_NONE) == 0);
	for (size_t n = 0; n <= 40; n++) {
		fill(src_end - n, n, (unsigned)n);
		memcpy(dst_end - n, src_end - n, n);
		CHECK(memcmp(dst_end - n, src_end - n, n) == 0);
		memset(dst_end - n, 0x33, n);
		for (size_t i = 0; i < n; i++)
			CHECK(dst_end[(long)i - (long)n] == 0x33);
		memmove(dst_end - n, src_end - n, n);
		CHECK(memcmp(dst_end - n, src_end - n, n) == 0);
	}
	munmap(a, (size_t)pg * 4);
}

TEST(memmove_large_overlaps)
{
	/* Sizes where hardware copies in fast-string mode, overlaps at
	 * distances around the eight-byte step and a cache line. */
	static unsigned char buf[8192 + 128], ref[8192 + 128];
	static const size_t dist[] = { 1, 7, 8, 9, 63, 64, 65 };
	static const size_t lens[] = { 4096, 4103, 8000 };
	for (size_t d = 0; d < sizeof(dist) / sizeof(dist[0]); d++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (int up = 0; up < 2; up++) {
				size_t n = lens[l], s = up ? 0 : dist[d], t = up ? dist[d] : 0;
				fill(buf, sizeof(buf), (unsigned)(d + l));
				memcpy(ref, buf, sizeof(buf));
				for (size_t i = 0; i < n; i++) /* the reference: through a copy */
					ref[t + i] = buf[s + i];
				memmove(buf + t, buf + s, n);
				CHECK(memcmp(buf, ref, sizeof(buf)) == 0);
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
	RUN(no_byte_past_either_end_is_touched);
	RUN(memmove_large_overlaps);
	RUN(memcpy_a_large_frame);
	return CHECK_SUMMARY();
}
