/* The guest's port I/O that ferry intercepts.
 *
 *  - Ports of emulated devices (pio_register): handed to the device, e.g.
 *    the guest's 16550 at COM1, which is ferry's console (vdev/uart16550.c).
 *  - PCI configuration (0xCF8/0xCFC-0xCFF): one of the two doors of
 *    vm/pcicfg.c (virtual functions answer from their model, functions
 *    ferry owns read as absent, the rest is passed through).
 *    0xCF9 is the chipset reset register: a reset request stops the guest.
 *  - 0xF4 (QEMU's isa-debug-exit position): a write is the guest's
 *    power-off with an exit status.
 *  - I/O BARs of devices ferry owns, and the legacy port ranges their
 *    drivers own with them (pci_own_io, e.g. an IDE channel's 1F0h-1F7h
 *    and 3F6h): all ones / dropped.
 */
#include "guest_io.h"
#include "pcicfg.h"
#include "platform/console.h"
#include "platform/pci.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/io.h"

#define COM1 0x3F8
#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC
#define RESET_CONTROL 0xCF9
#define POWEROFF_PORT 0xF4

static u32 pci_addr_latch;

int pio_register(struct vm *vm, const struct pio_region *r)
{
	if (vm->npio == VM_MAX_PIO)
		return -E_NOSPC;
	for (unsigned i = 0; i < vm->npio; i++)
		if (r->port < vm->pio[i].port + vm->pio[i].len && vm->pio[i].port < r->port + r->len)
			return -E_EXIST;
	vm->pio[vm->npio++] = *r;
	vm->arch->io_intercept(vm, r->port, r->len, true);
	return 0;
}

static struct pio_region *pio_find(struct vm *vm, u16 port)
{
	for (unsigned i = 0; i < vm->npio; i++)
		if (port >= vm->pio[i].port && port - vm->pio[i].port < vm->pio[i].len)
			return &vm->pio[i];
	return NULL;
}

/* The data port reaches the register the address latch names, plus the
 * port's byte offset (mechanism #1; bits 30:24 are reserved). */
static void pci_data(struct vm *vm, u16 port, u8 size, bool in, u32 *v)
{
	u32 a = pci_addr_latch;
	if (!(a & BIT(31)))
		return;
	u8 bus = (a >> 16) & 0xFF, dev = (a >> 11) & 0x1F, fn = (a >> 8) & 7;
	u16 off = (u16)((a & 0xFC) + (port & 3));
	if (in)
		*v = pcicfg_read(vm, bus, dev, fn, off, size);
	else
		pcicfg_write(vm, bus, dev, fn, off, size, *v);
}

/* Is port inside an I/O BAR or an owned legacy range of a device ferry
 * owns? */
static bool port_owned(u16 port)
{
	for (unsigned i = 0; pci_get(i); i++) {
		struct pci_dev *d = pci_get(i);
		if (!d->owner)
			continue;
		for (unsigned b = 0; b < 6; b++)
			if (d->bar[b].is_io && d->bar[b].size && port >= d->bar[b].base &&
			    port < d->bar[b].base + d->bar[b].size)
				return true;
		for (unsigned r = 0; r < d->n_own_io; r++)
			if (port >= d->own_io[r].base && port - d->own_io[r].base < d->own_io[r].len)
				return true;
	}
	return false;
}

void guest_io_init(struct vm *vm)
{
	/* COM1 is ferry's console: the guest's UART there is a model
	 * (vdev/uart16550.c, registered by the wiring); until one is, the
	 * ports read as an empty bus. */
	vm->arch->io_intercept(vm, COM1, 8, true);
	vm->arch->io_intercept(vm, PCI_ADDR, 8, true);
	vm->arch->io_intercept(vm, POWEROFF_PORT, 1, true);
	for (unsigned i = 0; pci_get(i); i++) {
		struct pci_dev *d = pci_get(i);
		for (unsigned b = 0; d->owner && b < 6; b++)
			if (d->bar[b].is_io && d->bar[b].size)
				vm->arch->io_intercept(vm, (u16)d->bar[b].base, (u16)d->bar[b].size, true);
		for (unsigned r = 0; d->owner && r < d->n_own_io; r++)
			vm->arch->io_intercept(vm, d->own_io[r].base, d->own_io[r].len, true);
	}
}

bool guest_io(struct vcpu *vcpu, const struct vm_exit *e)
{
	struct vcpu_regs *r = &vcpu->regs;
	u16 port = e->io.port;
	u8 size = e->io.size;
	u32 mask = size == 4 ? ~0u : (1u << (size * 8)) - 1;
	u32 out = (u32)r->gpr[GPR_RAX] & mask, in = ~0u;

	if (e->io.string) {
		/* INS/OUTS: no device ferry emulates needs them. */
		log_guest_warn("guest string I/O on port %x not emulated: #GP", port);
		vcpu->vm->arch->inject_exception(vcpu, VEC_GP, true, 0);
		return false;
	}

	struct pio_region *pr = pio_find(vcpu->vm, port);
	if (pr) {
		if (e->io.in)
			in = pr->read(pr->ctx, (u16)(port - pr->port), size);
		else
			pr->write(pr->ctx, (u16)(port - pr->port), size, out);
	} else if (port == PCI_ADDR && size == 4) {
		if (e->io.in)
			in = pci_addr_latch;
		else
			pci_addr_latch = out;
	} else if (port >= PCI_DATA && port < PCI_DATA + 4) {
		pci_data(vcpu->vm, port, size, e->io.in, e->io.in ? &in : &out);
	} else if (port == RESET_CONTROL && size == 1) {
		if (!e->io.in && (out & 0x04)) {
			log_info("the guest asked for a reset (port 0xcf9)");
			vm_stop(vcpu->vm, VM_STOP_RESET);
		}
		in = 0;
	} else if (port == POWEROFF_PORT) {
		if (!e->io.in) {
			vcpu->vm->exit_status = (int)out;
			vm_stop(vcpu->vm, VM_STOP_POWER_OFF);
		}
	} else if (port_owned(port)) {
		log_guest_warn("guest %s port %x of a device ferry owns: %s", e->io.in ? "read" : "wrote", port,
			 e->io.in ? "all ones" : "dropped");
	}
	/* Other intercepted ports read as an empty bus. */

	if (e->io.in) {
		if (size == 4)
			r->gpr[GPR_RAX] = in; /* 32-bit results clear bits 63:32 */
		else
			r->gpr[GPR_RAX] = (r->gpr[GPR_RAX] & ~(u64)mask) | (in & mask);
	}
	return true;
}
