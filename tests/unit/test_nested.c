/* Nested page-table building (vm/nested.c) with the real NPT and EPT entry
 * encoders (svm/svm_npt.c, vmx/vmx_ept.c).  Every test runs once per
 * format.  The tables are walked here with the bits written out from the
 * manuals, not with the encoders' own definitions, so a wrong bit in an
 * encoder shows. */
#include "check.h"
#include "vm/vm.h"
#include "platform/mem.h"
#include "svm/svm.h"
#include "vmx/vmx.h"

extern long fake_page_budget;

#define ADDR_MASK 0x000FFFFFFFFFF000ULL
#define PS BIT(7) /* page size, in a PDPTE or PDE, in both formats */
#define SZ_4K 0x1000ULL
#define SZ_2M 0x200000ULL

/* What one format's entries must look like. */
struct fmt {
	const struct nested_format *f;
	u64 present;    /* any of these bits: the entry is present */
	u64 table_bits; /* a table entry's bits besides its address */
	u64 (*leaf_bits)(unsigned perm, bool large);
};

/* NPT (APM Vol. 2, 5.4.1 and 15.25): P, R/W, U/S (nested walks are user
 * accesses), PWT, PCD, PS, NX. */
static u64 npt_leaf_bits(unsigned perm, bool large)
{
	if (!(perm & NESTED_RWX))
		return 0;
	return BIT(0) | BIT(2) | (perm & NESTED_W ? BIT(1) : 0) | (perm & NESTED_X ? 0 : BIT(63)) |
	       (perm & NESTED_UC ? BIT(3) | BIT(4) : 0) | (large ? PS : 0);
}

/* EPT (SDM Vol. 3C, 28.2.2): R, W, X, memory type in bits 5:3 (UC 0,
 * WB 6), PS. */
static u64 ept_leaf_bits(unsigned perm, bool large)
{
	if (!(perm & NESTED_RWX))
		return 0;
	return BIT(0) | (perm & NESTED_W ? BIT(1) : 0) | (perm & NESTED_X ? BIT(2) : 0) |
	       ((perm & NESTED_UC ? 0ULL : 6ULL) << 3) | (large ? PS : 0);
}

static const struct fmt npt = { &svm_npt_format, BIT(0), BIT(0) | BIT(1) | BIT(2), npt_leaf_bits };
static const struct fmt ept = { &vmx_ept_format, BIT(0) | BIT(1) | BIT(2), BIT(0) | BIT(1) | BIT(2), ept_leaf_bits };

static const struct fmt *cur;
static struct hv_arch arch;
static struct vm vm;

static void vm_fresh(void)
{
	memset(&vm, 0, sizeof(vm));
	arch = (struct hv_arch){ .name = "test", .nested = cur->f };
	vm.arch = &arch;
	fake_page_budget = -1;
	vm.nested_root = virt_to_phys(page_alloc(1));
}

static void free_table(u64 *t, int level)
{
	for (int i = 0; level > 1 && i < 512; i++)
		if ((t[i] & cur->present) && !(t[i] & PS))
			free_table(phys_to_virt(t[i] & ADDR_MASK), level - 1);
	page_free(t, 1);
}

/* Frees the tables after each test (LeakSanitizer watches). */
static void vm_done(void)
{
	free_table(phys_to_virt(vm.nested_root), 4);
	vm.nested_root = 0;
	fake_page_budget = -1;
}

/* The entry that maps gpa and its level (1: 4 KiB leaf, 2: 2 MiB leaf;
 * the level where the walk stopped if nothing maps it).  Every table
 * entry on the way must be exactly a table pointer of the format. */
struct hit {
	u64 e;
	int level;
	bool bad_table;
};

static struct hit walk(gpa_t gpa)
{
	u64 *t = phys_to_virt(vm.nested_root);
	for (int l = 4;; l--) {
		u64 e = t[(gpa >> (12 + 9 * (l - 1))) & 511];
		if (!(e & cur->present) || l == 1 || (l <= 3 && (e & PS)))
			return (struct hit){ e, l, false };
		if ((e & ~ADDR_MASK) != cur->table_bits)
			return (struct hit){ e, l, true };
		t = phys_to_virt(e & ADDR_MASK);
	}
}

/* Checks that gpa g is mapped to hpa h by a leaf of level lvl with perm
 * p, and that nested_lookup finds the same entry. */
#define CHECK_LEAF(g, h, lvl, p)                                                            \
	do {                                                                                \
		struct hit h_ = walk(g);                                                    \
		CHECK(!h_.bad_table);                                                       \
		CHECK_EQ(h_.level, (lvl));                                                  \
		CHECK_EQ(h_.e & ADDR_MASK, (h) & ~((lvl) == 2 ? SZ_2M - 1 : SZ_4K - 1));    \
		CHECK_EQ(h_.e & ~ADDR_MASK, cur->leaf_bits((p), (lvl) == 2));               \
		CHECK_EQ(nested_lookup(&vm, (g)), h_.e);                                    \
	} while (0)

#define CHECK_UNMAPPED(g)                               \
	do {                                            \
		struct hit h_ = walk(g);                \
		CHECK(!h_.bad_table);                   \
		CHECK_EQ(h_.e, 0);                      \
		CHECK_EQ(nested_lookup(&vm, (g)), 0);   \
	} while (0)

/* Each test runs in a helper that may return early on a failed CHECK;
 * the wrapper frees the tables either way. */
#define BOTH(t)                                                    \
	static void t(void);                                       \
	TEST(npt_##t) { cur = &npt; vm_fresh(); t(); vm_done(); }  \
	TEST(ept_##t) { cur = &ept; vm_fresh(); t(); vm_done(); }  \
	static void t(void)

BOTH(map_4k)
{
	static const unsigned perms[] = {
		NESTED_R, NESTED_R | NESTED_W, NESTED_R | NESTED_X, NESTED_RWX, NESTED_R | NESTED_W | NESTED_UC,
		NESTED_RWX | NESTED_UC,
	};
	for (unsigned i = 0; i < ARRAY_SIZE(perms); i++) {
		gpa_t g = 0x12345000ULL + i * 0x10000000ULL;
		hpa_t h = 0xABCDE000ULL + i * SZ_4K;
		CHECK_EQ(nested_map(&vm, g, h, SZ_4K, perms[i]), 0);
		CHECK_LEAF(g, h, 1, perms[i]);
		CHECK_UNMAPPED(g + SZ_4K);
		CHECK_UNMAPPED(g - SZ_4K);
	}
	/* High in the 48-bit space: all four levels indexed. */
	gpa_t g = 0xFFFFFFFFF000ULL;
	CHECK_EQ(nested_map(&vm, g, 0x123456789000ULL, SZ_4K, NESTED_RWX), 0);
	CHECK_LEAF(g, 0x123456789000ULL, 1, NESTED_RWX);
}

BOTH(map_2m)
{
	/* 4 MiB aligned both sides: two 2 MiB leaves. */
	CHECK_EQ(nested_map(&vm, 0x40000000, 0x80000000, 2 * SZ_2M, NESTED_RWX), 0);
	CHECK_LEAF(0x40000000, 0x80000000, 2, NESTED_RWX);
	CHECK_LEAF(0x40000000 + SZ_2M, 0x80000000 + SZ_2M, 2, NESTED_RWX);
	CHECK_LEAF(0x40000000 + SZ_2M + 0x7F000, 0x80000000 + SZ_2M, 2, NESTED_RWX);
	CHECK_UNMAPPED(0x40000000 + 2 * SZ_2M);
	/* Device memory, read/write, no execute: NX / no X, uncached. */
	CHECK_EQ(nested_map(&vm, 0xFEC00000, 0xFEC00000, SZ_2M, NESTED_R | NESTED_W | NESTED_UC), 0);
	CHECK_LEAF(0xFEC00000, 0xFEC00000, 2, NESTED_R | NESTED_W | NESTED_UC);
	/* 2 MiB + 4 KiB: one large leaf, then one small one. */
	CHECK_EQ(nested_map(&vm, 0x100000000, 0x200000000, SZ_2M + SZ_4K, NESTED_R), 0);
	CHECK_LEAF(0x100000000, 0x200000000, 2, NESTED_R);
	CHECK_LEAF(0x100000000 + SZ_2M, 0x200000000 + SZ_2M, 1, NESTED_R);
	CHECK_UNMAPPED(0x100000000 + SZ_2M + SZ_4K);
	/* The host side only 4 KiB aligned: 512 small leaves, no large one. */
	CHECK_EQ(nested_map(&vm, 0x140000000, 0x300001000, SZ_2M, NESTED_RWX), 0);
	for (u64 off = 0; off < SZ_2M; off += SZ_4K)
		CHECK_LEAF(0x140000000 + off, 0x300001000 + off, 1, NESTED_RWX);
}

/* A 4 KiB remap inside a 2 MiB leaf: the leaf becomes a table of 512
 * small leaves; the other 511 keep the old address and permissions. */
static void check_split(unsigned big_perm, unsigned small_perm, unsigned idx)
{
	const gpa_t g = 0x7FE00000;
	const hpa_t h = 0x3C00000, h2 = 0x55555000;
	CHECK_EQ(nested_map(&vm, g, h, SZ_2M, big_perm), 0);
	CHECK_LEAF(g, h, 2, big_perm);
	CHECK_EQ(nested_map(&vm, g + idx * SZ_4K, h2, SZ_4K, small_perm), 0);
	for (unsigned i = 0; i < 512; i++) {
		if (i == idx)
			continue;
		CHECK_LEAF(g + i * SZ_4K, h + i * SZ_4K, 1, big_perm);
	}
	if (small_perm & NESTED_RWX)
		CHECK_LEAF(g + idx * SZ_4K, h2, 1, small_perm);
	else
		CHECK_UNMAPPED(g + idx * SZ_4K);
	/* The neighbouring 2 MiB are untouched. */
	CHECK_UNMAPPED(g + SZ_2M);
	CHECK_UNMAPPED(g - SZ_4K);
}

BOTH(split_rwx_into_r)
{
	check_split(NESTED_RWX, NESTED_R, 5);
}

BOTH(split_uc_keeps_type)
{
	check_split(NESTED_R | NESTED_W | NESTED_UC, NESTED_RWX, 0);
}

BOTH(split_last_entry)
{
	check_split(NESTED_R | NESTED_X, NESTED_R | NESTED_W | NESTED_UC, 511);
}

BOTH(unmap_4k_inside_2m)
{
	check_split(NESTED_RWX, 0, 300);
}

BOTH(unmap)
{
	/* A whole 2 MiB leaf. */
	CHECK_EQ(nested_map(&vm, 0x40000000, 0x40000000, SZ_2M, NESTED_RWX), 0);
	CHECK_EQ(nested_map(&vm, 0x40000000, 0x40000000, SZ_2M, 0), 0);
	CHECK_UNMAPPED(0x40000000);
	CHECK_UNMAPPED(0x40000000 + SZ_2M - SZ_4K);
	/* 4 KiB leaves, and a permission-less "mapping" is none. */
	CHECK_EQ(nested_map(&vm, 0x1000, 0x1000, 3 * SZ_4K, NESTED_RWX), 0);
	CHECK_EQ(nested_map(&vm, 0x2000, 0x2000, SZ_4K, NESTED_UC), 0);
	CHECK_LEAF(0x1000, 0x1000, 1, NESTED_RWX);
	CHECK_UNMAPPED(0x2000);
	CHECK_LEAF(0x3000, 0x3000, 1, NESTED_RWX);
	/* Where nothing was mapped. */
	CHECK_EQ(nested_map(&vm, 0x900000000, 0, SZ_4K, 0), 0);
	CHECK_UNMAPPED(0x900000000);
	/* A remap replaces. */
	CHECK_EQ(nested_map(&vm, 0x1000, 0x77000, SZ_4K, NESTED_R), 0);
	CHECK_LEAF(0x1000, 0x77000, 1, NESTED_R);
}

static bool root_empty(void)
{
	const u64 *t = phys_to_virt(vm.nested_root);
	for (int i = 0; i < 512; i++)
		if (t[i])
			return false;
	return true;
}

BOTH(errors_unaligned)
{
	CHECK_EQ(nested_map(&vm, 0x1001, 0x1000, SZ_4K, NESTED_RWX), -E_INVAL);
	CHECK_EQ(nested_map(&vm, 0x1000, 0x1800, SZ_4K, NESTED_RWX), -E_INVAL);
	CHECK_EQ(nested_map(&vm, 0x1000, 0x1000, 0x800, NESTED_RWX), -E_INVAL);
	/* Beyond the 48 bits four levels reach, or wrapping around. */
	CHECK_EQ(nested_map(&vm, 1ULL << 48, 0, SZ_4K, NESTED_RWX), -E_INVAL);
	CHECK_EQ(nested_map(&vm, (1ULL << 48) - SZ_4K, 0, 2 * SZ_4K, NESTED_RWX), -E_INVAL);
	CHECK_EQ(nested_map(&vm, ~0ULL - SZ_4K + 1, 0, SZ_4K, NESTED_RWX), -E_INVAL);
	CHECK(root_empty());
}

BOTH(errors_out_of_pool)
{
	/* A 4 KiB page in an empty tree needs three tables: PDPT, PD, PT. */
	fake_page_budget = 0;
	CHECK_EQ(nested_map(&vm, 0x1000, 0x1000, SZ_4K, NESTED_RWX), -E_NOMEM);
	fake_page_budget = 2;
	CHECK_EQ(nested_map(&vm, 0x1000, 0x1000, SZ_4K, NESTED_RWX), -E_NOMEM);
	CHECK_UNMAPPED(0x1000);
	fake_page_budget = 1; /* the PDPT and PD are left from the failed try */
	CHECK_EQ(nested_map(&vm, 0x1000, 0x1000, SZ_4K, NESTED_RWX), 0);
	CHECK_LEAF(0x1000, 0x1000, 1, NESTED_RWX);
	/* A split that finds no page leaves the 2 MiB leaf as it was. */
	fake_page_budget = -1;
	CHECK_EQ(nested_map(&vm, 0x600000, 0xA00000, SZ_2M, NESTED_RWX), 0);
	fake_page_budget = 0;
	CHECK_EQ(nested_map(&vm, 0x601000, 0x1000, SZ_4K, NESTED_R), -E_NOMEM);
	CHECK_LEAF(0x600000, 0xA00000, 2, NESTED_RWX);
	CHECK_LEAF(0x601000, 0xA01000, 2, NESTED_RWX);
}

/* The split encoders alone, on bits ferry's leaves never carry: NPT's PAT
 * bit moves from bit 12 of a large leaf to bit 7 of a small one (APM
 * Vol. 2, 5.4.1); EPT's "ignore PAT" (bit 6) stays (SDM Vol. 3C, 28.2.2). */
TEST(npt_split_moves_pat)
{
	u64 big = svm_npt_format.leaf(0x40000000, NESTED_RWX, true) | BIT(12);
	u64 small = svm_npt_format.split(big, 0x40003000);
	CHECK_EQ(small, 0x40003000 | BIT(0) | BIT(1) | BIT(2) | BIT(7));
	CHECK(!svm_npt_format.is_large(svm_npt_format.split(svm_npt_format.leaf(0, NESTED_R, true), 0x1000)));
}

TEST(ept_split_keeps_ignore_pat)
{
	u64 big = vmx_ept_format.leaf(0x40000000, NESTED_RWX, true) | BIT(6);
	CHECK_EQ(vmx_ept_format.split(big, 0x40003000), 0x40003000 | 7 | (6 << 3) | BIT(6));
}

/* EPTP (SDM Vol. 3C, 24.6.11): write-back (6), four-level walk (3 in
 * bits 5:3), no accessed/dirty flags. */
TEST(ept_pointer)
{
	CHECK_EQ(vmx_eptp(0x12345000), 0x12345000 | 6 | (3 << 3));
}

int main(void)
{
	RUN(npt_map_4k);
	RUN(ept_map_4k);
	RUN(npt_map_2m);
	RUN(ept_map_2m);
	RUN(npt_split_rwx_into_r);
	RUN(ept_split_rwx_into_r);
	RUN(npt_split_uc_keeps_type);
	RUN(ept_split_uc_keeps_type);
	RUN(npt_split_last_entry);
	RUN(ept_split_last_entry);
	RUN(npt_unmap_4k_inside_2m);
	RUN(ept_unmap_4k_inside_2m);
	RUN(npt_unmap);
	RUN(ept_unmap);
	RUN(npt_errors_unaligned);
	RUN(ept_errors_unaligned);
	RUN(npt_errors_out_of_pool);
	RUN(ept_errors_out_of_pool);
	RUN(npt_split_moves_pat);
	RUN(ept_split_keeps_ignore_pat);
	RUN(ept_pointer);
	return CHECK_SUMMARY();
}
