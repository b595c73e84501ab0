/* The guest's heap: first-fit over one caller-given arena, blocks 16-byte
 * aligned, neighbours coalesced on free.  Not thread-safe (the guest runs
 * on one CPU without preemption).
 *
 * Host tests: until heap_init() is called (or after heap_init(NULL, 0)),
 * g_alloc/g_free fall through to malloc/free so the sanitizers can watch
 * every buffer; after heap_init() with an arena the real allocator runs. */
#ifndef GUEST_ALLOC_H
#define GUEST_ALLOC_H

#include "lib/types.h"

#define HEAP_ALIGN 16

void heap_init(void *base, size_t len);
/* NULL when n is 0 or no free block is large enough. */
void *g_alloc(size_t n);
/* Zeroed memory; NULL on overflow or when full. */
void *g_zalloc(size_t n);
/* p may be NULL.  Pointers the heap did not hand out are ignored. */
void g_free(void *p);

struct heap_stats {
	size_t total;        /* usable arena bytes */
	size_t used;         /* bytes in allocated blocks, headers included */
	size_t peak;         /* highest "used" since heap_init */
	size_t largest_free; /* largest block g_alloc could still return */
	size_t blocks;       /* allocated blocks */
};

void heap_get_stats(struct heap_stats *st);
/* Walks the arena and checks every header; 0 if consistent, else -E_CORRUPT. */
int heap_check(void);

#endif
