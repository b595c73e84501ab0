/* Building the nested page tables (NPT or EPT).  Both are four-level radix
 * trees indexed by guest-physical address bits 47:12; the back end's
 * nested_format says how an entry is encoded. */
#include "vm.h"
#include "platform/mem.h"
#include "platform/console.h"

#define PAGE_2M (2 * MiB)

static u64 *entry_table(const struct nested_format *f, u64 e)
{
	return phys_to_virt(e & f->addr_mask);
}

/* Returns the table at `level` (3 = PDPT, 2 = PD, 1 = PT) for gpa,
 * allocating missing tables and splitting a 2 MiB leaf into 4 KiB ones
 * with the same permissions when a smaller mapping is needed inside it. */
static u64 *walk(struct vm *vm, gpa_t gpa, int level)
{
	const struct nested_format *f = vm->arch->nested;
	u64 *t = phys_to_virt(vm->nested_root);
	for (int l = 4; l > level; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (f->present(*e) && f->is_large(*e)) {
			/* Split (only 2 MiB leaves are ever created). */
			u64 *pt = page_alloc(1);
			if (!pt)
				return NULL;
			u64 big = *e;
			hpa_t base = big & f->addr_mask & ~(PAGE_2M - 1);
			for (int i = 0; i < 512; i++)
				pt[i] = f->split(big, base + (u64)i * PAGE_SIZE);
			*e = f->table(virt_to_phys(pt));
		} else if (!f->present(*e)) {
			u64 *n = page_alloc(1);
			if (!n)
				return NULL;
			*e = f->table(virt_to_phys(n));
		}
		t = entry_table(f, *e);
	}
	return t;
}

int nested_map(struct vm *vm, gpa_t gpa, hpa_t hpa, u64 size, unsigned perm)
{
	const struct nested_format *f = vm->arch->nested;
	if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || gpa + size < gpa || gpa + size > (1ULL << 48))
		return -E_INVAL;
	while (size) {
		bool large = IS_ALIGNED(gpa | hpa, PAGE_2M) && size >= PAGE_2M;
		u64 *t = walk(vm, gpa, large ? 2 : 1);
		if (!t)
			return -E_NOMEM;
		unsigned idx = (gpa >> (large ? 21 : 12)) & 511;
		u64 step = large ? PAGE_2M : PAGE_SIZE;
		t[idx] = f->leaf(hpa, perm, large);
		gpa += step;
		hpa += step;
		size -= step;
	}
	return 0;
}

u64 nested_lookup(struct vm *vm, gpa_t gpa)
{
	const struct nested_format *f = vm->arch->nested;
	u64 *t = phys_to_virt(vm->nested_root);
	for (int l = 4; l >= 1; l--) {
		u64 e = t[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (!f->present(e) || l == 1 || (l == 2 && f->is_large(e)))
			return e;
		t = entry_table(f, e);
	}
	return 0;
}
