/* Boot-time memory layout decisions (platform/mem.c). */
#ifndef FERRY_MEM_LAYOUT_H
#define FERRY_MEM_LAYOUT_H

#include "boot/boot_info.h"

/* ferry's pool: page tables, nested page tables, VMCB/VMCS, device rings;
 * and on a server, on top, its request buffers (net_buffers), at most
 * FERRY_POOL_EXTRA_MAX. */
#define FERRY_POOL_SIZE (16 * MiB)
#define FERRY_POOL_EXTRA_MAX (128 * MiB)

struct ferry_region {
	hpa_t start, end;
	const char *what;
};

/* Places the pool, FERRY_POOL_SIZE + extra bytes (extra: a multiple of
 * 2 MiB, at most FERRY_POOL_EXTRA_MAX), and maps what ferry reaches. */
int mem_init(const struct boot_info *bi, size_t extra);
/* The ranges ferry keeps for itself (image, pool). */
const struct ferry_region *mem_ferry_regions(unsigned *n);
size_t mem_pool_used_pages(void);

#endif
