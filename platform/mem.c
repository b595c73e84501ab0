/* ferry's physical memory: its image, one contiguous pool carved from the
 * boot memory map for everything it allocates, and its identity page
 * tables.  Nothing here is ever mapped into the guest (vm/gmem.c
 * builds the guest's memory from what is left). */
#include "mem.h"
#include "mem_layout.h"
#include "console.h"
#include "lib/string.h"
#include "x86/cpu.h"

extern u8 __ferry_start[], __ferry_end[];
extern u64 boot_pml4[512], boot_pdpt[512], boot_pd[4 * 512];

#define PTE_P BIT(0)
#define PTE_W BIT(1)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_PS BIT(7)
#define PTE_ADDR 0x000FFFFFFFFFF000ULL
#define PAGE_2M (2 * MiB)

static struct {
	hpa_t base;
	size_t npages, size;
	u8 bitmap[(FERRY_POOL_SIZE + FERRY_POOL_EXTRA_MAX) / PAGE_SIZE / 8];
	size_t used;
} pool;

static struct ferry_region regions[2];

const struct ferry_region *mem_ferry_regions(unsigned *n)
{
	*n = ARRAY_SIZE(regions);
	return regions;
}

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

bool mem_is_ferry(hpa_t pa, u64 len)
{
	for (unsigned i = 0; i < ARRAY_SIZE(regions); i++)
		if (overlaps(pa, len ? len : 1, regions[i].start, regions[i].end - regions[i].start))
			return true;
	return false;
}

/* Chooses the pool: the top of the highest usable range below 4 GiB that
 * holds it without touching ferry's image, the loader's data or modules
 * (the guest kernel is read from a module after this). */
static int pool_place(const struct boot_info *bi)
{
	hpa_t img_s = (hpa_t)(uintptr_t)__ferry_start, img_e = (hpa_t)(uintptr_t)__ferry_end;
	u64 size = pool.size;

	for (int i = (int)bi->nmem - 1; i >= 0; i--) {
		const struct mem_range *r = &bi->mem[i];
		if (r->type != MEM_USABLE)
			continue;
		u64 end = MIN(r->base + r->len, 4 * GiB);
		if (end <= r->base || end - r->base < size)
			continue;
		/* 2 MiB alignment lets the guest's nested tables use large pages
		 * right up to the pool. */
		for (u64 top = ALIGN_DOWN(end, PAGE_2M); top >= r->base + size; top -= PAGE_2M) {
			u64 base = top - size;
			bool clash = overlaps(base, size, img_s, img_e - img_s) ||
				     overlaps(base, size, bi->info_start, bi->info_end - bi->info_start);
			for (unsigned m = 0; m < bi->nmods; m++)
				clash |= overlaps(base, size, bi->mods[m].start,
						  bi->mods[m].end - bi->mods[m].start);
			if (!clash) {
				pool.base = base;
				return 0;
			}
			if (top < PAGE_2M + size)
				break;
		}
	}
	return -E_NOMEM;
}

static bool bit_get(size_t i) { return pool.bitmap[i / 8] & (1u << (i % 8)); }
static void bit_set(size_t i, bool v)
{
	if (v)
		pool.bitmap[i / 8] |= (u8)(1u << (i % 8));
	else
		pool.bitmap[i / 8] &= (u8)~(1u << (i % 8));
}

void *page_alloc(size_t npages)
{
	if (npages == 0 || npages > pool.npages)
		return NULL;
	for (size_t i = 0; i + npages <= pool.npages;) {
		size_t run = 0;
		while (run < npages && !bit_get(i + run))
			run++;
		if (run == npages) {
			for (size_t k = 0; k < npages; k++)
				bit_set(i + k, true);
			pool.used += npages;
			void *p = phys_to_virt(pool.base + i * PAGE_SIZE);
			memset(p, 0, npages * PAGE_SIZE);
			return p;
		}
		i += run + 1;
	}
	log_err("page_alloc: pool exhausted (%zu of %zu pages used, %zu wanted)", pool.used, pool.npages, npages);
	return NULL;
}

void page_free(void *p, size_t npages)
{
	hpa_t pa = virt_to_phys(p);
	if (pa < pool.base || !IS_ALIGNED(pa, PAGE_SIZE) || pa + npages * PAGE_SIZE > pool.base + pool.npages * PAGE_SIZE)
		panic("page_free: %p (%zu pages) is not pool memory", p, npages);
	size_t first = (pa - pool.base) / PAGE_SIZE;
	for (size_t k = 0; k < npages; k++) {
		if (!bit_get(first + k))
			panic("page_free: page %p freed twice", phys_to_virt(pa + k * PAGE_SIZE));
		bit_set(first + k, false);
	}
	pool.used -= npages;
}

/* ---- ferry's page tables ------------------------------------------------
 * The boot code mapped 0-4 GiB with 2 MiB pages from PML4[0]/PDPT[0..3].
 * Here we extend the identity map for RAM and device memory anywhere in the
 * lower canonical half within the CPU's physical address width (UEFI puts
 * 64-bit BARs far up, e.g. at 896 GiB), allocating page-directory-pointer
 * tables and page directories as needed, and set device ranges' caching
 * (SDM Vol. 3A 11.12.3, default PAT: PCD|PWT = UC, PCD alone = UC-, which a
 * write-combining MTRR turns into WC).
 *
 * Tables come from the pool once mem_init() has placed it, and from a few
 * static pages before that, so a framebuffer or a device needed for an
 * early message can be mapped at any time. */
#define EARLY_TABLES 6
static u64 early_tables[EARLY_TABLES][512] __aligned(4096);
static unsigned early_used;

static u64 *table_alloc(void)
{
	if (pool.npages)
		return page_alloc(1);
	if (early_used < EARLY_TABLES)
		return early_tables[early_used++];
	return NULL;
}

/* The page directory covering pa, built on demand (identity-filled with
 * write-back 2 MiB pages).  NULL when out of tables or out of range. */
static u64 *pd_for(hpa_t pa)
{
	u64 *pdpt;
	u64 *e4 = &boot_pml4[(pa >> 39) & 511];
	if (!(*e4 & PTE_P)) {
		if (!(pdpt = table_alloc()))
			return NULL;
		*e4 = virt_to_phys(pdpt) | PTE_P | PTE_W;
	}
	pdpt = phys_to_virt(*e4 & PTE_ADDR);
	u64 *e3 = &pdpt[(pa >> 30) & 511];
	if (!(*e3 & PTE_P)) {
		u64 *pd = table_alloc();
		if (!pd)
			return NULL;
		u64 gib = ALIGN_DOWN(pa, GiB);
		for (u64 i = 0; i < 512; i++)
			pd[i] = (gib + i * PAGE_2M) | PTE_P | PTE_W | PTE_PS;
		*e3 = virt_to_phys(pd) | PTE_P | PTE_W;
	}
	return phys_to_virt(*e3 & PTE_ADDR);
}

static int map_identity(hpa_t pa, u64 size, u64 cache_bits)
{
	u64 limit = (u64)1 << MIN(cpu_phys_addr_bits(), 47u);
	if (size == 0 || pa + size < pa || pa + size > limit)
		return -E_RANGE;
	for (u64 a = ALIGN_DOWN(pa, PAGE_2M); a < pa + size; a += PAGE_2M) {
		u64 *pd = pd_for(a);
		if (!pd)
			return -E_NOMEM;
		u64 *e = &pd[(a >> 21) & 511];
		u64 want = a | PTE_P | PTE_W | PTE_PS | cache_bits;
		if (*e != want) {
			*e = want;
			invlpg((void *)(uintptr_t)a);
		}
	}
	return 0;
}

static void *map_or_log(hpa_t pa, u64 size, u64 cache_bits)
{
	int rc = map_identity(pa, size, cache_bits);
	if (rc < 0) {
		log_err("mmio_map: cannot map %lx+%lx: %s", pa, size, err_name(rc));
		return NULL;
	}
	return phys_to_virt(pa);
}

void *mmio_map(hpa_t pa, u64 size) { return map_or_log(pa, size, PTE_PCD | PTE_PWT); }
void *mmio_map_framebuffer(hpa_t pa, u64 size) { return map_or_log(pa, size, PTE_PCD); }

size_t mem_pool_used_pages(void) { return pool.used; }

int mem_init(const struct boot_info *bi, size_t extra)
{
	pool.size = FERRY_POOL_SIZE + MIN(ALIGN_UP(extra, PAGE_2M), (size_t)FERRY_POOL_EXTRA_MAX);
	if (pool_place(bi) < 0) {
		log_err("no usable RAM below 4 GiB can hold ferry's %lu MiB pool%s", pool.size / MiB,
			extra ? " (with the server's net_buffers)" : "");
		return -E_NOMEM;
	}
	pool.npages = pool.size / PAGE_SIZE;
	regions[0] = (struct ferry_region){ (hpa_t)(uintptr_t)__ferry_start, (hpa_t)(uintptr_t)__ferry_end, "image" };
	regions[1] = (struct ferry_region){ pool.base, pool.base + pool.size, "pool" };

	/* RAM above 4 GiB is guest memory that ferry must reach by DMA
	 * descriptors; map it write-back. */
	for (unsigned i = 0; i < bi->nmem; i++) {
		const struct mem_range *r = &bi->mem[i];
		if (r->type == MEM_USABLE && r->base + r->len > 4 * GiB) {
			u64 s = MAX(r->base, 4 * GiB);
			if (map_identity(s, r->base + r->len - s, 0) < 0)
				log_warn("RAM at %lx+%lx cannot be mapped: left to nobody", s, r->base + r->len - s);
		}
	}
	log_info("memory: image %lx-%lx, pool %lx-%lx (%lu MiB)", regions[0].start, regions[0].end,
		 regions[1].start, regions[1].end, pool.size / MiB);
	return 0;
}
