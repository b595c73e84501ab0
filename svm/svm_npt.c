/* AMD nested page tables (APM Vol. 2, 15.25): the entry format that
 * vm/nested.c builds the guest's physical address space with.  It is the
 * ordinary x86-64 page-table format; nested walks are user accesses.
 * Pure: also built for the host unit tests (tests/unit/test_nested.c). */
#include "svm.h"

#define NPT_P BIT(0)
#define NPT_RW BIT(1)
#define NPT_US BIT(2) /* nested walks are user accesses: every entry needs U */
#define NPT_PWT BIT(3)
#define NPT_PCD BIT(4)
#define NPT_PS BIT(7)         /* in a PDE: a 2 MiB leaf */
#define NPT_PAT_4K BIT(7)     /* in a PTE: bit 2 of the PAT index ... */
#define NPT_PAT_LARGE BIT(12) /* ... which a large leaf holds here */
#define NPT_NX BIT(63)
#define NPT_ADDR_MASK 0x000FFFFFFFFFF000ULL

static u64 npt_table(hpa_t next) { return next | NPT_P | NPT_RW | NPT_US; }

static u64 npt_leaf(hpa_t hpa, unsigned perm, bool large)
{
	if (!(perm & NESTED_RWX))
		return 0;
	/* NPT cannot express write- or execute-only: R is implied by P. */
	return hpa | NPT_P | NPT_US | (perm & NESTED_W ? NPT_RW : 0) | (perm & NESTED_X ? 0 : NPT_NX) |
	       (perm & NESTED_UC ? NPT_PCD | NPT_PWT : 0) | (large ? NPT_PS : 0);
}

/* A large leaf and a 4 KiB leaf differ in the size bit and the PAT bit's
 * place (APM Vol. 2, 5.4.1).  ferry sets no PAT bit, but a split keeps
 * whatever the leaf had. */
static u64 npt_split(u64 large, hpa_t hpa)
{
	return hpa | (large & ~NPT_ADDR_MASK & ~NPT_PS) | (large & NPT_PAT_LARGE ? NPT_PAT_4K : 0);
}

static bool npt_present(u64 e) { return e & NPT_P; }
static bool npt_is_large(u64 e) { return e & NPT_PS; }

const struct nested_format svm_npt_format = {
	.table = npt_table,
	.leaf = npt_leaf,
	.split = npt_split,
	.present = npt_present,
	.is_large = npt_is_large,
	.addr_mask = NPT_ADDR_MASK,
};
