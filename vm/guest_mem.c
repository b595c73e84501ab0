/* Walking the guest's page tables (SDM Vol. 3A, 4.3-4.5): needed to fetch
 * the instruction that faulted on an emulated device, since TCG's SVM gives
 * no decode assist and VMX never does. */
#include "guest_mem.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/msr.h"

#define PTE_P BIT(0)
#define PTE_PS BIT(7)
#define ADDR_MASK 0x000FFFFFFFFFF000ULL

static int read_entry(struct vcpu *vcpu, gpa_t pa, unsigned size, u64 *e)
{
	void *p = gmem_ptr(&vcpu->vm->ram, pa, size);
	if (!p)
		return -E_RANGE;
	*e = size == 8 ? *(volatile u64 *)p : *(volatile u32 *)p;
	return 0;
}

int guest_virt_to_phys(struct vcpu *vcpu, gva_t va, gpa_t *out)
{
	const struct vcpu_regs *r = &vcpu->regs;
	u64 e;

	if (!(r->cr0 & CR0_PG)) {
		*out = r->mode == X86_MODE_64 ? va : (u32)va;
		return 0;
	}
	if (!(r->cr4 & CR4_PAE)) { /* 32-bit paging, 4.3 */
		va = (u32)va;
		if (read_entry(vcpu, (r->cr3 & 0xFFFFF000) + ((va >> 22) & 1023) * 4, 4, &e) < 0)
			return -E_RANGE;
		if (!(e & PTE_P))
			return -E_NOENT;
		if ((e & PTE_PS) && (r->cr4 & CR4_PSE)) {
			*out = (e & 0xFFC00000) + (va & 0x3FFFFF);
			return 0;
		}
		if (read_entry(vcpu, (e & 0xFFFFF000) + ((va >> 12) & 1023) * 4, 4, &e) < 0)
			return -E_RANGE;
		if (!(e & PTE_P))
			return -E_NOENT;
		*out = (e & 0xFFFFF000) + (va & 0xFFF);
		return 0;
	}

	unsigned levels;
	gpa_t table;
	if (r->efer & EFER_LMA) { /* 4-level paging, 4.5 */
		if (r->cr4 & CR4_LA57)
			return -E_NOENT; /* 5-level paging: not supported */
		levels = 4;
		table = r->cr3 & ADDR_MASK;
	} else { /* PAE paging, 4.4: CR3 points at 4 PDPTEs */
		va = (u32)va;
		if (read_entry(vcpu, (r->cr3 & 0xFFFFFFE0) + ((va >> 30) & 3) * 8, 8, &e) < 0)
			return -E_RANGE;
		if (!(e & PTE_P))
			return -E_NOENT;
		levels = 2;
		table = e & ADDR_MASK;
	}
	for (unsigned l = levels; l >= 1; l--) {
		unsigned shift = 12 + 9 * (l - 1);
		if (read_entry(vcpu, table + ((va >> shift) & 511) * 8, 8, &e) < 0)
			return -E_RANGE;
		if (!(e & PTE_P))
			return -E_NOENT;
		if (l == 1 || ((l == 2 || l == 3) && (e & PTE_PS))) {
			u64 page = 1ULL << shift;
			*out = (e & ADDR_MASK & ~(page - 1)) + (va & (page - 1));
			return 0;
		}
		table = e & ADDR_MASK;
	}
	return -E_NOENT;
}

size_t guest_read_virt(struct vcpu *vcpu, gva_t va, void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		gpa_t pa;
		size_t chunk = MIN(n - done, PAGE_SIZE - ((va + done) & (PAGE_SIZE - 1)));
		if (guest_virt_to_phys(vcpu, va + done, &pa) < 0)
			break;
		void *p = gmem_ptr(&vcpu->vm->ram, pa, chunk);
		if (!p)
			break;
		memcpy((u8 *)buf + done, p, chunk);
		done += chunk;
	}
	return done;
}
