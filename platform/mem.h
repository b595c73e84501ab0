/* ferry's physical memory.
 *
 * ferry identity-maps physical memory (host-virtual == host-physical), so a
 * pointer returned here is also the address to give a device for DMA.  All
 * pages handed out come from ferry's own pool, which is never mapped into
 * the guest's nested page tables. */
#ifndef FERRY_MEM_H
#define FERRY_MEM_H

#include "lib/types.h"

/* Allocates npages physically contiguous, zeroed, 4 KiB-aligned pages.
 * Returns NULL when the pool is exhausted. */
void *page_alloc(size_t npages);
void page_free(void *p, size_t npages);

static inline hpa_t virt_to_phys(const void *p) { return (hpa_t)(uintptr_t)p; }
static inline void *phys_to_virt(hpa_t pa) { return (void *)(uintptr_t)pa; }

/* Makes [pa, pa+size) accessible as uncached device memory in ferry's page
 * tables and returns a pointer to it (NULL on failure).  Works anywhere in
 * the physical address width, and before mem_init() as well. */
void *mmio_map(hpa_t pa, u64 size);
/* The same for a framebuffer: UC-, which a write-combining MTRR set by the
 * firmware makes write-combining. */
void *mmio_map_framebuffer(hpa_t pa, u64 size);

/* True when [pa, pa+len) overlaps memory ferry keeps for itself. */
bool mem_is_ferry(hpa_t pa, u64 len);

#endif
