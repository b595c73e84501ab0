/* Building the guest's physical address space.
 *
 * Nested mappings (identity, guest-physical == host-physical):
 *  - guest RAM: every usable range of the boot memory map minus ferry's
 *    image and pool, read/write/execute;
 *  - ACPI tables and NVS, the other firmware-reserved ranges of the map
 *    (SMBIOS, the firmware's own tables), legacy VGA and the BIOS area
 *    below 1 MiB;
 *  - the BARs of PCI devices ferry does not own, and the fixed platform
 *    devices (I/O APIC, HPET, local APIC), uncached.
 * Nothing else is mapped: ferry's memory, the BARs of devices it owns and
 * the PCIe configuration window (MMCONFIG) fault, and the fault handler
 * shows them to the guest as an empty bus. */
#include "vm_create.h"
#include "platform/acpi.h"
#include "platform/config.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/mem_layout.h"
#include "platform/pci.h"
#include "apic_guard.h"
#include "ioapic_guard.h"
#include "hpet_guard.h"
#include "guest_io.h"
#include "msr.h"
#include "x86/cpu.h"
#include "x86/msr.h"

static bool overlaps(u64 a, u64 alen, u64 b, u64 blen) { return a < b + blen && b < a + alen; }

/* Does [pa, pa+len) touch a BAR of a device ferry owns? */
static bool touches_owned_bar(u64 pa, u64 len)
{
	for (unsigned i = 0; pci_get(i); i++) {
		const struct pci_dev *d = pci_get(i);
		for (unsigned b = 0; d->owner && b < 6; b++)
			if (!d->bar[b].is_io && d->bar[b].size && overlaps(pa, len, d->bar[b].base, d->bar[b].size))
				return true;
	}
	return false;
}

/* May a platform device's pages be given to the guest?  Not when they
 * overlap RAM, ferry or a device ferry owns (said once). */
static bool device_page_free(const struct vm *vm, u64 pa, u64 len, const char *what)
{
	u64 s = ALIGN_DOWN(pa, PAGE_SIZE), e = ALIGN_UP(pa + len, PAGE_SIZE);
	if (mem_is_ferry(s, e - s) || gmem_check(&vm->ram, s, 1) == 0 || touches_owned_bar(s, e - s)) {
		log_warn("%s at %lx+%lx overlaps RAM, ferry or an owned device: not mapped for the guest", what, pa, len);
		return false;
	}
	return true;
}

static int map_device(struct vm *vm, u64 pa, u64 len, const char *what)
{
	if (!device_page_free(vm, pa, len, what))
		return 0;
	u64 s = ALIGN_DOWN(pa, PAGE_SIZE), e = ALIGN_UP(pa + len, PAGE_SIZE);
	return nested_map(vm, s, s, e - s, NESTED_R | NESTED_W | NESTED_UC);
}

/* Is this page one the guest may reach directly as firmware memory?  Not
 * RAM (mapped already), not ferry's, not an owned BAR, not a PCIe ECAM
 * window (config space goes through ferry's checks), not the fixed
 * platform devices (mapped on their own terms below). */
static bool firmware_page(const struct vm *vm, u64 pa)
{
	if (gmem_check(&vm->ram, pa, PAGE_SIZE) == 0 || mem_is_ferry(pa, PAGE_SIZE) || touches_owned_bar(pa, PAGE_SIZE))
		return false;
	for (unsigned i = 0; i < acpi.necam; i++) {
		u64 len = ((u64)acpi.ecam[i].end_bus - acpi.ecam[i].start_bus + 1) << 20;
		if (overlaps(pa, PAGE_SIZE, acpi.ecam[i].base + ((u64)acpi.ecam[i].start_bus << 20), len))
			return false;
	}
	return !overlaps(pa, PAGE_SIZE, 0xFEC00000, 0x1000) && !overlaps(pa, PAGE_SIZE, 0xFED00000, 0x1000) &&
	       !(acpi.ioapic_base && overlaps(pa, PAGE_SIZE, acpi.ioapic_base, 0x1000)) &&
	       !overlaps(pa, PAGE_SIZE, 0xFEE00000, 0x1000);
}

/* Maps the firmware pages of [base, base+len) in runs. */
static int map_firmware_range(struct vm *vm, u64 base, u64 len)
{
	u64 s = ALIGN_DOWN(base, PAGE_SIZE), e = ALIGN_UP(base + len, PAGE_SIZE), run = 0;
	for (u64 pa = s; pa <= e; pa += PAGE_SIZE) {
		bool ok = pa < e && firmware_page(vm, pa);
		if (ok && !run)
			run = pa;
		if (!ok && run) {
			int rc = nested_map(vm, run, run, pa - run, NESTED_R | NESTED_W | NESTED_UC);
			if (rc < 0)
				return rc;
			run = 0;
		}
	}
	return 0;
}

static int map_pci_bars(struct vm *vm)
{
	for (unsigned i = 0; pci_get(i); i++) {
		const struct pci_dev *d = pci_get(i);
		if (d->owner)
			continue;
		for (unsigned b = 0; b < 6; b++) {
			const struct pci_bar *bar = &d->bar[b];
			if (bar->is_io || !bar->size || !bar->base)
				continue;
			int rc = map_device(vm, bar->base, bar->size, "a PCI BAR");
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* A guest-physical page for the logical device: on a GiB boundary above
 * the guest's RAM and 4 GiB, clear of every range in the memory map and
 * every BAR, and inside the CPU's physical address width.  A page apart
 * from every memory-map range: Linux merges the window's E820 reserved
 * entry with a reserved range it touches (the BIOS's, which ends at
 * 4 GiB on QEMU), and the merged range no longer keeps moved BARs off
 * the page (linux_e820). */
static gpa_t pick_lbd_gpa(const struct vm *vm, const struct boot_info *bi)
{
	u64 top = 4 * GiB;
	for (unsigned i = 0; i < vm->ram.n; i++)
		top = MAX(top, vm->ram.r[i].end);
	u64 limit = 1ULL << cpu_phys_addr_bits();
	for (gpa_t g = ALIGN_UP(top, GiB); g + LBD_GPA_SPAN <= limit; g += GiB) {
		bool clash = false;
		for (unsigned i = 0; i < bi->nmem; i++)
			clash |= overlaps(g - PAGE_SIZE, LBD_GPA_SPAN + 2 * PAGE_SIZE, bi->mem[i].base, bi->mem[i].len);
		for (unsigned i = 0; pci_get(i); i++)
			for (unsigned b = 0; b < 6; b++) {
				const struct pci_bar *bar = &pci_get(i)->bar[b];
				clash |= !bar->is_io && bar->size && overlaps(g, LBD_GPA_SPAN, bar->base, bar->size);
			}
		if (!clash)
			return g;
	}
	return 0;
}

int vm_create(struct vm *vm, const struct hv_arch *arch, const struct boot_info *bi, gpa_t *lbd_gpa)
{
	int rc;
	void *root = page_alloc(1);
	if (!root)
		return -E_NOMEM;
	vm->arch = arch;
	vm->nested_root = virt_to_phys(root);
	vm->vcpu.vm = vm;
	if ((rc = arch->vm_init(vm)) < 0)
		return rc;

	for (unsigned i = 0; i < bi->nmem; i++)
		if (bi->mem[i].type == MEM_USABLE && (rc = gmem_add(&vm->ram, bi->mem[i].base, bi->mem[i].base + bi->mem[i].len)) < 0)
			return rc;
	unsigned nfr;
	const struct ferry_region *fr = mem_ferry_regions(&nfr);
	for (unsigned i = 0; i < nfr; i++)
		if ((rc = gmem_remove(&vm->ram, fr[i].start, fr[i].end)) < 0)
			return rc;
	for (unsigned i = 0; i < vm->ram.n; i++) {
		const struct gmem_range *r = &vm->ram.r[i];
		if ((rc = nested_map(vm, r->start, r->start, r->end - r->start, NESTED_RWX)) < 0)
			return rc;
	}

	for (unsigned i = 0; i < bi->nmem; i++) {
		const struct mem_range *m = &bi->mem[i];
		if ((m->type == MEM_ACPI_RECLAIM || m->type == MEM_ACPI_NVS) &&
		    (rc = map_device(vm, m->base, m->len, "ACPI memory")) < 0)
			return rc;
		if (m->type == MEM_RESERVED && (rc = map_firmware_range(vm, m->base, m->len)) < 0)
			return rc;
	}
	/* Below 1 MiB, where not RAM: the EBDA and other firmware data below
	 * 640 KiB (Linux reads them: the EBDA, iBFT and MP table scans), VGA
	 * memory, and the BIOS/option ROM area. */
	for (u64 pa = 0; pa < 0x100000; pa += PAGE_SIZE) {
		u32 perm = pa < 0xA0000 ? NESTED_R | NESTED_W : pa < 0xC0000 ? NESTED_R | NESTED_W | NESTED_UC : NESTED_R | NESTED_X;
		if (gmem_check(&vm->ram, pa, PAGE_SIZE) < 0 && !mem_is_ferry(pa, PAGE_SIZE) &&
		    (rc = nested_map(vm, pa, pa, PAGE_SIZE, perm)) < 0)
			return rc;
	}
	if ((rc = map_pci_bars(vm)) < 0)
		return rc;
	/* The HPET: the guest's timer, behind a check on every write (no FSB
	 * delivery: a memory write and an MSI the guest would aim). */
	if (device_page_free(vm, HPET_BASE, PAGE_SIZE, "the HPET") && (rc = hpet_guard_attach(vm, HPET_BASE)) < 0)
		return rc;
	/* The I/O APIC is the guest's in every role, behind a check on every
	 * write (no INIT, SMI or NMI from a device interrupt). */
	u64 ioapic_base = acpi.ioapic_base ? acpi.ioapic_base : 0xFEC00000;
	if (device_page_free(vm, ioapic_base, PAGE_SIZE, "the I/O APIC") && (rc = ioapic_guard_attach(vm, ioapic_base)) < 0)
		return rc;
	/* The local APIC: the server keeps it for its own timer (unmapped);
	 * elsewhere it is the guest's, behind a check on every write. */
	u64 apic_base = rdmsr(MSR_IA32_APIC_BASE);
	if (config.role != ROLE_SERVER && (rc = apic_guard_attach(vm, apic_base & APIC_BASE_ADDR)) < 0)
		return rc;

	guest_io_init(vm);
	/* The server keeps the local APIC timer; elsewhere it is the guest's. */
	msr_policy_apply(vm, config.role != ROLE_SERVER, apic_base);
	*lbd_gpa = pick_lbd_gpa(vm, bi);
	if (!*lbd_gpa) {
		log_err("no free guest-physical address for the logical device");
		return -E_NOSPC;
	}
	log_info("guest: %lu MiB of RAM in %u ranges", gmem_total(&vm->ram) / MiB, vm->ram.n);
	for (unsigned i = 0; i < vm->ram.n; i++)
		log_debug("    guest RAM %lx-%lx", vm->ram.r[i].start, vm->ram.r[i].end);
	return 0;
}
