/* The guest's own page tables: an identity map of the first 4 GiB and of
 * RAM above it in 2 MiB pages, plus 4 KiB uncached pages for devices
 * (the logical block device sits above 4 GiB). */
#include "kernel.h"
#include "lib/string.h"

#define P BIT(0)
#define W BIT(1)
#define PWT BIT(3)
#define PCD BIT(4)
#define PS BIT(7)
#define ADDR 0x000FFFFFFFFFF000ULL

/* Enough tables for 64 GiB of 2 MiB mappings and a few device pages. */
#define NTABLES 80
static u64 tables[NTABLES][512] __aligned(4096);
static unsigned used;
static u64 *pml4;
static const struct ferry_boot_info *boot;

static u64 *new_table(void)
{
	if (used == NTABLES)
		return NULL;
	return tables[used++];
}

static u64 *next(u64 *t, unsigned idx)
{
	if (!(t[idx] & P)) {
		u64 *n = new_table();
		if (!n)
			return NULL;
		t[idx] = (u64)(uintptr_t)n | P | W;
	}
	return (u64 *)(uintptr_t)(t[idx] & ADDR);
}

static int map_2m(u64 pa)
{
	u64 *pdpt = next(pml4, (pa >> 39) & 511);
	u64 *pd = pdpt ? next(pdpt, (pa >> 30) & 511) : NULL;
	if (!pd)
		return -E_NOMEM;
	pd[(pa >> 21) & 511] = pa | P | W | PS;
	return 0;
}

int paging_map_device(u64 pa, u64 len)
{
	for (u64 a = ALIGN_DOWN(pa, PAGE_SIZE); a < pa + len; a += PAGE_SIZE) {
		u64 *pdpt = next(pml4, (a >> 39) & 511);
		u64 *pd = pdpt ? next(pdpt, (a >> 30) & 511) : NULL;
		if (!pd || (pd[(a >> 21) & 511] & PS))
			return -E_INVAL; /* inside a RAM mapping: not a device */
		u64 *pt = next(pd, (a >> 21) & 511);
		if (!pt)
			return -E_NOMEM;
		pt[(a >> 12) & 511] = a | P | W | PCD | PWT;
		__asm__ volatile("invlpg (%0)" ::"r"(a) : "memory");
	}
	return 0;
}

bool ram_contains(u64 pa, u64 len)
{
	for (u32 i = 0; i < boot->nmem; i++)
		if (pa >= boot->mem[i].base && pa + len <= boot->mem[i].base + boot->mem[i].len && pa + len >= pa)
			return true;
	return false;
}

void paging_init(const struct ferry_boot_info *bi)
{
	boot = bi;
	pml4 = new_table();
	for (u64 pa = 0; pa < 4 * GiB; pa += 2 * MiB)
		map_2m(pa);
	for (u32 i = 0; i < bi->nmem; i++)
		for (u64 pa = ALIGN_DOWN(bi->mem[i].base, 2 * MiB); pa < bi->mem[i].base + bi->mem[i].len; pa += 2 * MiB)
			if (pa >= 4 * GiB && map_2m(pa) < 0)
				con_line("guest: warning: RAM above 64 GiB not mapped");
	__asm__ volatile("mov %0, %%cr3" ::"r"(pml4) : "memory");
}

const struct ferry_boot_info *boot_info(void) { return boot; }
