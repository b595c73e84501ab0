/* First-fit heap with boundary tags.
 *
 * The arena is a sequence of blocks that tile it exactly.  Each block starts
 * with a 16-byte header holding its own size (bit 0: in use) and the size
 * of the block before it, so free() can merge with both neighbours in
 * constant time; g_alloc() walks the blocks from the start and takes the
 * first free one that fits, splitting off the rest.  Heaps here hold tens
 * of buffers, so the walk is short and no free list is needed. */
#include "alloc.h"
#include "lib/string.h"

#ifdef FERRY_HOST_TEST
#include <stdlib.h>
#endif

#define BLK_USED 1ULL
#define BLK_MAGIC 0x48454150u /* "HEAP", guards against stray frees */

struct blk_hdr {
	u64 size_flags; /* block size including this header | BLK_USED */
	u32 prev_size;  /* size of the previous block / 16, 0 for the first */
	u32 magic;
};
_Static_assert(sizeof(struct blk_hdr) == HEAP_ALIGN, "header keeps payloads aligned");

static struct {
	u8 *start; /* first header, 16-aligned; NULL before heap_init */
	u8 *end;   /* one past the last block */
	size_t used, peak, blocks;
	bool arena; /* heap_init was given an arena (even one too small) */
} heap;

static inline u64 blk_size(const struct blk_hdr *b)
{
	return b->size_flags & ~(u64)(HEAP_ALIGN - 1);
}

static inline bool blk_used(const struct blk_hdr *b)
{
	return b->size_flags & BLK_USED;
}

static inline struct blk_hdr *blk_next(struct blk_hdr *b)
{
	u8 *n = (u8 *)b + blk_size(b);
	return n < heap.end ? (struct blk_hdr *)n : NULL;
}

static inline struct blk_hdr *blk_prev(struct blk_hdr *b)
{
	return b->prev_size ? (struct blk_hdr *)((u8 *)b - (u64)b->prev_size * HEAP_ALIGN) : NULL;
}

static void blk_set(struct blk_hdr *b, u64 size, bool used, u64 prev_size)
{
	b->size_flags = size | (used ? BLK_USED : 0);
	b->prev_size = (u32)(prev_size / HEAP_ALIGN);
	b->magic = BLK_MAGIC;
}

/* Tells the block after b (if any) how large b now is. */
static void blk_fix_next(struct blk_hdr *b)
{
	struct blk_hdr *n = blk_next(b);
	if (n)
		n->prev_size = (u32)(blk_size(b) / HEAP_ALIGN);
}

void heap_init(void *base, size_t len)
{
	memset(&heap, 0, sizeof(heap));
	if (!base)
		return;
	heap.arena = true;
	u64 s = ALIGN_UP((u64)(uintptr_t)base, HEAP_ALIGN);
	u64 e = ALIGN_DOWN((u64)(uintptr_t)base + len, HEAP_ALIGN);
	/* prev_size is stored in 32 bits of 16-byte units: 64 GiB per block. */
	if (e > s + 64 * GiB - HEAP_ALIGN)
		e = s + 64 * GiB - HEAP_ALIGN;
	if (e < s + 2 * HEAP_ALIGN)
		return;
	heap.start = (u8 *)(uintptr_t)s;
	heap.end = (u8 *)(uintptr_t)e;
	blk_set((struct blk_hdr *)heap.start, e - s, false, 0);
}

void *g_alloc(size_t n)
{
#ifdef FERRY_HOST_TEST
	if (!heap.arena)
		return n ? malloc(n) : NULL;
#endif
	if (!heap.start || n == 0 || n > (size_t)(heap.end - heap.start))
		return NULL;
	u64 need = ALIGN_UP((u64)n, HEAP_ALIGN) + sizeof(struct blk_hdr);

	for (struct blk_hdr *b = (struct blk_hdr *)heap.start; b; b = blk_next(b)) {
		u64 size = blk_size(b);
		if (blk_used(b) || size < need)
			continue;
		if (size - need >= 2 * HEAP_ALIGN) {
			/* Split: the tail stays free. */
			struct blk_hdr *rest = (struct blk_hdr *)((u8 *)b + need);
			blk_set(rest, size - need, false, need);
			blk_fix_next(rest);
			size = need;
		}
		blk_set(b, size, true, (u64)b->prev_size * HEAP_ALIGN);
		heap.used += size;
		heap.blocks++;
		if (heap.used > heap.peak)
			heap.peak = heap.used;
		return b + 1;
	}
	return NULL;
}

void *g_zalloc(size_t n)
{
	void *p = g_alloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

void g_free(void *p)
{
	if (!p)
		return;
#ifdef FERRY_HOST_TEST
	if (!heap.arena) {
		free(p);
		return;
	}
#endif
	u8 *q = p;
	if (!heap.start || q < heap.start + sizeof(struct blk_hdr) || q >= heap.end ||
	    !IS_ALIGNED((u64)(uintptr_t)q, HEAP_ALIGN))
		return;
	struct blk_hdr *b = (struct blk_hdr *)q - 1;
	if (b->magic != BLK_MAGIC || !blk_used(b))
		return; /* not ours, or a double free */

	u64 size = blk_size(b);
	heap.used -= size;
	heap.blocks--;
	b->size_flags = size;

	struct blk_hdr *n = blk_next(b);
	if (n && !blk_used(n)) {
		n->magic = 0;
		b->size_flags = size += blk_size(n);
	}
	struct blk_hdr *pv = blk_prev(b);
	if (pv && !blk_used(pv)) {
		b->magic = 0;
		pv->size_flags = blk_size(pv) + size;
		b = pv;
	}
	blk_fix_next(b);
}

void heap_get_stats(struct heap_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!heap.start)
		return;
	st->total = (size_t)(heap.end - heap.start);
	st->used = heap.used;
	st->peak = heap.peak;
	st->blocks = heap.blocks;
	for (struct blk_hdr *b = (struct blk_hdr *)heap.start; b; b = blk_next(b))
		if (!blk_used(b) && blk_size(b) - sizeof(*b) > st->largest_free)
			st->largest_free = blk_size(b) - sizeof(*b);
}

int heap_check(void)
{
	if (!heap.start)
		return 0;
	u64 prev = 0, used = 0, blocks = 0;
	bool prev_free = false;
	u8 *p = heap.start;
	while (p < heap.end) {
		struct blk_hdr *b = (struct blk_hdr *)p;
		u64 size = blk_size(b);
		if (b->magic != BLK_MAGIC || size < 2 * HEAP_ALIGN || size > (u64)(heap.end - p) ||
		    (u64)b->prev_size * HEAP_ALIGN != prev)
			return -E_CORRUPT;
		if (!blk_used(b) && prev_free)
			return -E_CORRUPT; /* two free neighbours should have merged */
		if (blk_used(b)) {
			used += size;
			blocks++;
		}
		prev_free = !blk_used(b);
		prev = size;
		p += size;
	}
	if (p != heap.end || used != heap.used || blocks != heap.blocks)
		return -E_CORRUPT;
	return 0;
}
