#include "gmem.h"

/* The highest page boundary: no range ends above it (an end of 2^64 is
 * not a gpa_t), so rounding up past it means "to the end of memory". */
#define GMEM_TOP ALIGN_DOWN(~(gpa_t)0, PAGE_SIZE)

static void remove_at(struct gmem *gm, unsigned i)
{
	for (unsigned k = i; k + 1 < gm->n; k++)
		gm->r[k] = gm->r[k + 1];
	gm->n--;
}

static int insert_at(struct gmem *gm, unsigned i, gpa_t s, gpa_t e)
{
	if (gm->n == GMEM_MAX_RANGES)
		return -E_NOSPC;
	for (unsigned k = gm->n; k > i; k--)
		gm->r[k] = gm->r[k - 1];
	gm->r[i] = (struct gmem_range){ s, e };
	gm->n++;
	return 0;
}

int gmem_add(struct gmem *gm, gpa_t start, gpa_t end)
{
	if (start > GMEM_TOP)
		return 0; /* no whole page: ALIGN_UP would wrap to 0 */
	start = ALIGN_UP(start, PAGE_SIZE);
	end = ALIGN_DOWN(end, PAGE_SIZE);
	if (end <= start)
		return 0;
	unsigned i = 0;
	while (i < gm->n && gm->r[i].end < start)
		i++;
	/* Merge with every range that touches or overlaps [start, end). */
	while (i < gm->n && gm->r[i].start <= end) {
		start = MIN(start, gm->r[i].start);
		end = MAX(end, gm->r[i].end);
		remove_at(gm, i);
	}
	return insert_at(gm, i, start, end);
}

int gmem_remove(struct gmem *gm, gpa_t start, gpa_t end)
{
	if (start >= end)
		return 0; /* empty or inverted: rounded outwards it would cover a page */
	start = ALIGN_DOWN(start, PAGE_SIZE);
	end = end > GMEM_TOP ? GMEM_TOP : ALIGN_UP(end, PAGE_SIZE); /* ALIGN_UP would wrap to 0 */
	if (start >= end)
		return 0; /* nothing: an empty range must not split the one around it */
	for (unsigned i = 0; i < gm->n;) {
		struct gmem_range r = gm->r[i];
		if (r.end <= start || r.start >= end) {
			i++;
			continue;
		}
		remove_at(gm, i);
		if (r.start < start) {
			if (insert_at(gm, i, r.start, start) < 0)
				return -E_NOSPC;
			i++;
		}
		if (r.end > end) {
			if (insert_at(gm, i, end, r.end) < 0)
				return -E_NOSPC;
			i++;
		}
	}
	return 0;
}

int gmem_check(const struct gmem *gm, gpa_t gpa, u64 len)
{
	if (len == 0)
		len = 1;
	if (gpa + len < gpa)
		return -E_RANGE;
	for (unsigned i = 0; i < gm->n; i++)
		if (gpa >= gm->r[i].start && gpa + len <= gm->r[i].end)
			return 0;
	return -E_RANGE;
}

u64 gmem_total(const struct gmem *gm)
{
	u64 t = 0;
	for (unsigned i = 0; i < gm->n; i++)
		t += gm->r[i].end - gm->r[i].start;
	return t;
}
