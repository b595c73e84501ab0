/* Boot-time memory layout decisions (platform/mem.c). */
#ifndef FERRY_MEM_LAYOUT_H
#define FERRY_MEM_LAYOUT_H

#include "boot/boot_info.h"

/* ferry's pool: page tables, nested page tables, VMCB/VMCS, device rings. */
#define FERRY_POOL_SIZE (16 * MiB)

struct ferry_region {
	hpa_t start, end;
	const char *what;
};

int mem_init(const struct boot_info *bi);
/* The ranges ferry keeps for itself (image, pool). */
const struct ferry_region *mem_ferry_regions(unsigned *n);
size_t mem_pool_used_pages(void);

#endif
