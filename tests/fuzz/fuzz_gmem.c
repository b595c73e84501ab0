/* Fuzzes the guest RAM map (vm/gmem.c), through which every address a
 * guest hands ferry is checked: adds, removes and checks against a model
 * that knows, page by page, which pages are the guest's.
 *
 * The model covers two windows of 256 pages: the bottom of the address
 * space and its top (where rounding up overflows).  Input: 6 bytes per
 * step: an operation, then two window offsets.  Oracles: gmem_check
 * accepts a range exactly when every page it touches is the guest's (one
 * range: neighbours are merged) and it does not wrap; gmem_total is the
 * model's; the ranges stay sorted, page-aligned, non-empty, disjoint and
 * not touching; a call that fails changes nothing. */
#include <string.h>
#include "fuzz.h"
#include "vm/gmem.h"

#define WPAGES 256
#define WBYTES ((u64)WPAGES * PAGE_SIZE)
#define TOP_BASE (0 - WBYTES) /* the top window's first byte */

typedef unsigned __int128 u128;

static bool model[2 * WPAGES];

/* A point in one of the windows: bit 23 of v picks the window, the rest
 * the offset (the last byte at most: gmem cannot name an end of 2^64). */
static u128 point(u32 v, bool top)
{
	u64 off = (v & 0x1FFFFF) % WBYTES;
	return top ? (u128)TOP_BASE + off : off;
}

/* The model's index of the page at byte address a, or -1 outside the windows. */
static int idx(u128 a)
{
	if (a < WBYTES)
		return (int)(a / PAGE_SIZE);
	if (a >= TOP_BASE && a < (u128)1 << 64)
		return WPAGES + (int)((a - TOP_BASE) / PAGE_SIZE);
	return -1;
}

/* The model's pages wholly inside [a, b) (inner) or touching it: set to v.
 * Walks the model, not the range (a range may span the address space). */
static void model_set(u128 a, u128 b, bool inner, bool v)
{
	for (int i = 0; i < 2 * WPAGES; i++) {
		u128 p = i < WPAGES ? (u128)i * PAGE_SIZE : (u128)TOP_BASE + (u128)(i - WPAGES) * PAGE_SIZE;
		if (inner ? (p >= a && p + PAGE_SIZE <= b) : (a < b && p < b && p + PAGE_SIZE > a))
			model[i] = v;
	}
}

static void check_shape(const struct gmem *gm)
{
	fuzz_assert(gm->n <= GMEM_MAX_RANGES);
	for (unsigned i = 0; i < gm->n; i++) {
		const struct gmem_range *r = &gm->r[i];
		fuzz_assert(r->start < r->end || (r->end == 0 && r->start)); /* end 0: the very top */
		fuzz_assert(r->start % PAGE_SIZE == 0 && r->end % PAGE_SIZE == 0);
		if (i)
			fuzz_assert(gm->r[i - 1].end < r->start);
	}
	u64 pages = 0;
	for (unsigned i = 0; i < 2 * WPAGES; i++)
		pages += model[i];
	fuzz_assert(gmem_total(gm) == pages * PAGE_SIZE);
}

static void check(const struct gmem *gm, u128 a, u128 b)
{
	u64 gpa = (u64)a, len = (u64)(b > a ? b - a : 0);
	u128 end = (u128)gpa + (len ? len : 1);
	bool expect = end <= (u128)1 << 64;
	/* every page it touches in the model (a range leaving a window touches a page outside) */
	u128 first = a / PAGE_SIZE * PAGE_SIZE;
	if (expect && (idx(first) < 0 || idx(end - 1) < 0 || (idx(first) < WPAGES) != (idx(end - 1) < WPAGES)))
		expect = false;
	for (u128 p = first; expect && p < end; p += PAGE_SIZE)
		expect = model[idx(p)];
	int rc = gmem_check(gm, gpa, len);
	if ((rc == 0) != expect)
		fuzz_fail("gmem_check(%#llx, %#llx) = %d, the model says %s", (unsigned long long)gpa,
			  (unsigned long long)len, rc, expect ? "guest RAM" : "not");
	fuzz_assert(rc == 0 ? gmem_ptr(gm, gpa, len) == (void *)(uintptr_t)gpa : gmem_ptr(gm, gpa, len) == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gmem gm, before;
	memset(&gm, 0, sizeof(gm));
	memset(model, 0, sizeof(model));
	struct fuzz_in in = { data, size };
	while (in.n >= 6) {
		u8 op = fz_u8(&in);
		u32 x = (u32)fz_bytes_u(&in, 3), y = (u32)fz_bytes_u(&in, 2) | (u32)(op & 0x80) << 16;
		bool top = op & 0x40;
		u128 a = point(x, top), b = point(y, (op & 0x20) ? !top : top);
		if (a > b && !(op & 0x10)) {
			u128 t = a;
			a = b;
			b = t;
		}
		before = gm;
		switch (op % 4) {
		case 0: { /* add: the pages wholly inside, both ends in one window */
			if ((a < WBYTES) != (b < WBYTES))
				break;
			int rc = gmem_add(&gm, (u64)a, (u64)b);
			fuzz_assert(rc == 0 || rc == -E_NOSPC);
			if (rc) {
				fuzz_assert(!memcmp(&gm, &before, sizeof(gm)));
				break;
			}
			model_set(a, b, true, true);
			break;
		}
		case 1: { /* remove: every page it touches */
			int rc = gmem_remove(&gm, (u64)a, (u64)b);
			fuzz_assert(rc == 0 || rc == -E_NOSPC);
			if (rc) {
				fuzz_assert(!memcmp(&gm, &before, sizeof(gm)));
				break;
			}
			model_set(a, b, false, false);
			break;
		}
		default:
			check(&gm, a, b);
		}
		check_shape(&gm);
	}
	return 0;
}

static size_t step(u8 *out, u8 op, u32 x, u16 y)
{
	out[0] = op;
	out[1] = (u8)x, out[2] = (u8)(x >> 8), out[3] = (u8)(x >> 16);
	out[4] = (u8)y, out[5] = (u8)(y >> 8);
	return 6;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	u8 b[64];
	size_t n = 0;
	/* add 1 MiB low, punch a page out, check across it and inside */
	n += step(b + n, 0, 0, 0xFFFF);
	n += step(b + n, 1, 0x5000, 0x6000);
	n += step(b + n, 2, 0x4ff0, 0x5010);
	n += step(b + n, 3, 0x7000, 0x8000);
	n += step(b + n, 1, 0x9000, 0x9000); /* an empty removal */
	n += step(b + n, 2, 0x8ff0, 0x9010);
	emit(b, n);
	n = 0;
	/* the top window: add up to the very end, check the last bytes */
	n += step(b + n, 0x40, 0x1001, 0xFFFF);
	n += step(b + n, 0x42, 0xF0000, 0xFFFF);
	n += step(b + n, 0x41, 0xFFFF0, 0xFFFF);
	n += step(b + n, 0x43, 0x3000, 0x3001);
	emit(b, n);
}
