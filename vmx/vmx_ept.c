/* Extended page tables (SDM Vol. 3C, 28.2): the entry format that
 * vm/nested.c builds the guest's physical address space with, and the EPT
 * pointer.  Pure: also built for the host unit tests
 * (tests/unit/test_nested.c).  INVEPT is in vmx.c. */
#include "vmx.h"

/* EPT paging-structure entries (28.2.2, tables 28-1 to 28-6) */
#define EPT_R BIT(0)
#define EPT_W BIT(1)
#define EPT_X BIT(2)
#define EPT_MEMTYPE(t) ((u64)(t) << 3) /* leaves only: bits 5:3 */
#define EPT_LARGE BIT(7)               /* 2 MiB leaf in a PDE, 1 GiB in a PDPTE */
#define EPT_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* Memory types (SDM Vol. 3A, 11.11.1; 28.2.6) */
#define MEMTYPE_UC 0
#define MEMTYPE_WB 6

/* EPTP (24.6.11) */
#define EPTP_MEMTYPE(t) ((u64)(t) << 0)
#define EPTP_WALK_LENGTH(n) ((u64)((n)-1) << 3)

static u64 ept_table(hpa_t next)
{
	/* A non-leaf entry grants everything; the leaf decides. */
	return next | EPT_R | EPT_W | EPT_X;
}

static u64 ept_leaf(hpa_t hpa, unsigned perm, bool large)
{
	if (!(perm & NESTED_RWX))
		return 0;
	/* As with NPT, any permission implies read: write-only is an EPT
	 * misconfiguration (28.2.3.1) and execute-only needs a capability
	 * ferry does not ask for.  The EPT memory type takes the place of
	 * the MTRRs and combines with the guest's PAT (28.2.6.2): RAM is
	 * write-back, device memory uncached, which the guest's PAT can
	 * only make write-combining (a frame buffer), never cacheable. */
	u64 e = hpa | EPT_R;
	if (perm & NESTED_W)
		e |= EPT_W;
	if (perm & NESTED_X)
		e |= EPT_X;
	if (perm & NESTED_UC)
		e |= EPT_MEMTYPE(MEMTYPE_UC);
	else
		e |= EPT_MEMTYPE(MEMTYPE_WB);
	if (large)
		e |= EPT_LARGE;
	return e;
}

/* A 2 MiB leaf and a 4 KiB one differ only in the size bit (28.2.2,
 * tables 28-4 and 28-6): bits 20:12 of a 2 MiB leaf are reserved, 0. */
static u64 ept_split(u64 large, hpa_t hpa)
{
	return hpa | (large & ~EPT_ADDR_MASK & ~EPT_LARGE);
}

/* An EPT entry is present when it grants any access (28.2.2). */
static bool ept_present(u64 e) { return e & (EPT_R | EPT_W | EPT_X); }
static bool ept_is_large(u64 e) { return e & EPT_LARGE; }

const struct nested_format vmx_ept_format = {
	.table = ept_table,
	.leaf = ept_leaf,
	.split = ept_split,
	.present = ept_present,
	.is_large = ept_is_large,
	.addr_mask = EPT_ADDR_MASK,
};

/* Four-level walk, write-back paging structures (probe checked the CPU
 * supports both), accessed and dirty flags off. */
u64 vmx_eptp(hpa_t root)
{
	return (root & EPT_ADDR_MASK) | EPTP_MEMTYPE(MEMTYPE_WB) | EPTP_WALK_LENGTH(4);
}
