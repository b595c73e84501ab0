/* The guest's RAM: which guest-physical ranges are the guest's memory.
 *
 * ferry maps guest RAM one to one (guest-physical == host-physical), minus
 * what ferry keeps for itself.  Every address the guest hands ferry (a DMA
 * descriptor, a page-table pointer) goes through gmem_ptr(), which accepts
 * it only when the whole range lies inside one guest RAM range.  Pure logic:
 * unit-tested on the host (tests/unit/test_gmem.c). */
#ifndef FERRY_GMEM_H
#define FERRY_GMEM_H

#include "lib/types.h"

#define GMEM_MAX_RANGES 64

struct gmem_range {
	gpa_t start, end; /* [start, end), page-aligned */
};

struct gmem {
	unsigned n;
	struct gmem_range r[GMEM_MAX_RANGES]; /* sorted, disjoint */
};

/* Adds [start, end) rounded inwards to pages, merging neighbours.
 * Returns -E_NOSPC when the table is full. */
int gmem_add(struct gmem *gm, gpa_t start, gpa_t end);
/* Removes [start, end) rounded outwards to pages (ferry's own memory). */
int gmem_remove(struct gmem *gm, gpa_t start, gpa_t end);
/* 0 if [gpa, gpa+len) lies within one range, else -E_RANGE (len 0 is
 * checked as 1 byte; wrap-around is refused). */
int gmem_check(const struct gmem *gm, gpa_t gpa, u64 len);
u64 gmem_total(const struct gmem *gm);

/* gpa -> host pointer for a checked range (NULL if gmem_check fails). */
static inline void *gmem_ptr(const struct gmem *gm, gpa_t gpa, u64 len)
{
	return gmem_check(gm, gpa, len) == 0 ? (void *)(uintptr_t)gpa : NULL;
}

/* The host-physical address backing a checked guest-physical one. */
static inline hpa_t gmem_gpa_to_hpa(gpa_t gpa) { return (hpa_t)gpa; }

#endif
