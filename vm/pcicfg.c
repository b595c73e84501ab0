/* The guest's PCI configuration space (pcicfg.h). */
#include "pcicfg.h"
#include "platform/acpi.h"
#include "platform/console.h"
#include "platform/pci.h"

int pcicfg_add_vfn(struct vm *vm, const struct pci_vfn *f)
{
	if (vm->nvfn == VM_MAX_VFN)
		return -E_NOSPC;
	if (pci_find_bdf(f->bus, f->dev, f->fn))
		return -E_EXIST;
	for (unsigned i = 0; i < vm->nvfn; i++)
		if (vm->vfn[i].bus == f->bus && vm->vfn[i].dev == f->dev && vm->vfn[i].fn == f->fn)
			return -E_EXIST;
	vm->vfn[vm->nvfn++] = *f;
	return 0;
}

static bool slot_used(const struct vm *vm, u8 bus, u8 dev)
{
	for (unsigned i = 0; i < vm->nvfn; i++)
		if (vm->vfn[i].bus == bus && vm->vfn[i].dev == dev)
			return true;
	for (u8 fn = 0; fn < 8; fn++)
		if (pci_find_bdf(bus, dev, fn))
			return true;
	return false;
}

int pcicfg_free_slot(const struct vm *vm, u8 bus, u8 first)
{
	for (unsigned i = 0; i < 32; i++) {
		u8 dev = (u8)((first + i) % 32);
		if (!slot_used(vm, bus, dev))
			return dev;
	}
	return -E_NOSPC;
}

static const struct pci_vfn *find_vfn(const struct vm *vm, u8 bus, u8 dev, u8 fn)
{
	for (unsigned i = 0; i < vm->nvfn; i++)
		if (vm->vfn[i].bus == bus && vm->vfn[i].dev == dev && vm->vfn[i].fn == fn)
			return &vm->vfn[i];
	return NULL;
}

static bool owned(u8 bus, u8 dev, u8 fn)
{
	const struct pci_dev *d = pci_find_bdf(bus, dev, fn);
	return d && d->owner;
}

/* One naturally aligned access. */
static u32 read_aligned(struct vm *vm, u8 bus, u8 dev, u8 fn, u16 off, unsigned size)
{
	const struct pci_vfn *v = find_vfn(vm, bus, dev, fn);
	u32 ones = size == 4 ? ~0u : (1u << (size * 8)) - 1;
	if (v)
		return v->read(v->ctx, off, size) & ones;
	if (owned(bus, dev, fn))
		return ones;
	return pci_cfg_read(bus, dev, fn, off, size);
}

static void write_aligned(struct vm *vm, u8 bus, u8 dev, u8 fn, u16 off, unsigned size, u32 val)
{
	const struct pci_vfn *v = find_vfn(vm, bus, dev, fn);
	if (v) {
		v->write(v->ctx, off, size, val);
	} else if (owned(bus, dev, fn)) {
		log_debug("guest wrote PCI config of a device ferry owns (%02x:%02x.%x reg %x): dropped", bus, dev, fn,
			  off);
	} else {
		/* What the guest may not change keeps its current value. */
		u32 locked = pci_guest_locked_bits(bus, dev, fn, (u16)(off & ~3u)) >> (8 * (off & 3));
		u32 ones = size == 4 ? ~0u : (1u << (size * 8)) - 1;
		locked &= ones;
		if (locked) {
			u32 cur = pci_cfg_read(bus, dev, fn, off, size);
			if ((val & locked) != (cur & locked))
				log_guest_warn("guest: PCI %02x:%02x.%x register %x: bits %x kept (ferry's devices depend on them)",
					       bus, dev, fn, off, (val ^ cur) & locked);
			val = (val & ~locked) | (cur & locked);
		}
		pci_cfg_write(bus, dev, fn, off, size, val);
	}
}

static bool aligned(u16 off, unsigned size) { return (size == 1 || size == 2 || size == 4) && off % size == 0; }

u32 pcicfg_read(struct vm *vm, u8 bus, u8 dev, u8 fn, u16 off, unsigned size)
{
	off &= 0xFFF;
	if (aligned(off, size))
		return read_aligned(vm, bus, dev, fn, off, size);
	u32 v = 0;
	for (unsigned i = 0; i < size && i < 4; i++)
		v |= read_aligned(vm, bus, dev, fn, (u16)((off + i) & 0xFFF), 1) << (8 * i);
	return v;
}

void pcicfg_write(struct vm *vm, u8 bus, u8 dev, u8 fn, u16 off, unsigned size, u32 val)
{
	off &= 0xFFF;
	if (aligned(off, size)) {
		write_aligned(vm, bus, dev, fn, off, size, val);
		return;
	}
	for (unsigned i = 0; i < size && i < 4; i++)
		write_aligned(vm, bus, dev, fn, (u16)((off + i) & 0xFFF), 1, (val >> (8 * i)) & 0xFF);
}

/* ---- ECAM: bus << 20 | dev << 15 | fn << 12 | register ------------------ */

struct ecam_window {
	struct vm *vm;
	u8 start_bus;
};
static struct ecam_window windows[ACPI_MAX_ECAM];

/* One access of at most 4 bytes at window offset off. */
static u32 ecam_read32(const struct ecam_window *w, u64 off, unsigned size)
{
	return pcicfg_read(w->vm, (u8)(w->start_bus + (off >> 20)), (off >> 15) & 31, (off >> 12) & 7, off & 0xFFF, size);
}

static void ecam_write32(const struct ecam_window *w, u64 off, unsigned size, u32 val)
{
	pcicfg_write(w->vm, (u8)(w->start_bus + (off >> 20)), (off >> 15) & 31, (off >> 12) & 7, off & 0xFFF, size, val);
}

static u64 ecam_read(void *ctx, u64 off, unsigned size)
{
	if (size == 8)
		return ecam_read32(ctx, off, 4) | (u64)ecam_read32(ctx, off + 4, 4) << 32;
	return ecam_read32(ctx, off, size);
}

static void ecam_write(void *ctx, u64 off, unsigned size, u64 val)
{
	ecam_write32(ctx, off, size == 8 ? 4 : size, (u32)val);
	if (size == 8)
		ecam_write32(ctx, off + 4, 4, (u32)(val >> 32));
}

int pcicfg_map_ecam(struct vm *vm, const struct acpi_ecam *ecam, unsigned n)
{
	for (unsigned i = 0; i < n && i < ACPI_MAX_ECAM; i++) {
		const struct acpi_ecam *e = &ecam[i];
		if (e->segment != 0 || e->end_bus < e->start_bus)
			continue;
		windows[i] = (struct ecam_window){ vm, e->start_bus };
		struct mmio_region r = {
			.name = "PCIe ECAM", .start = e->base + ((u64)e->start_bus << 20),
			.len = ((u64)e->end_bus - e->start_bus + 1) << 20, .read = ecam_read, .write = ecam_write,
			.ctx = &windows[i],
		};
		int rc = mmio_register(vm, &r);
		if (rc < 0) {
			log_warn("ECAM window %lx (buses %x-%x) not emulated: %s", r.start, e->start_bus, e->end_bus,
				 err_name(rc));
			continue;
		}
		log_info("guest: ECAM window %lx-%lx (buses %x-%x) routed to the configuration-space view", r.start,
			 r.start + r.len - 1, e->start_bus, e->end_bus);
	}
	return 0;
}
