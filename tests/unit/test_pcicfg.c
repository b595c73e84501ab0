/* The guest's configuration space through both doors (vm/pcicfg.c): the
 * CF8/CFC ports of vm/guest_io.c and an ECAM window registered as an MMIO
 * region.  Real functions pass through, owned ones are absent, a virtual
 * one answers from its model, and both doors agree.
 *
 * The machine (fake_bus.c, found by platform/pci.c):
 *   00:00.0 host bridge       the guest's
 *   00:03.0 NIC               the guest's
 *   00:04.0 NIC               ferry's ("e1000")
 *   00:10.0 virtual function  a fake model (a config space array)
 *   00:08.0 PCI bridge        the guest's, buses 1-1
 *   01:02.0 NIC               ferry's ("virtio-net"), behind the bridge */
#include <stdlib.h>
#include "check.h"
#include "fake_arch.h"
#include "fake_io.h"
#include "fake_bus.h"
#include "fake_hv.h"
#include "platform/pci.h"
#include "vm/guest_io.h"
#include "vm/pcicfg.h"

#define ECAM_BASE 0xB0000000ULL

static struct vm vm;
static struct vcpu *const vcpu = &vm.vcpu;
static struct fake_pci_fn *nic, *owned, *bridge, *behind;
static u8 *real_ecam; /* what ferry's own ECAM access reaches (bus 0) */

/* The virtual function's model: 4 KiB of bytes, and what it was asked. */
static struct {
	u8 cfg[4096];
	unsigned reads, writes;
	u16 last_off;
	unsigned last_size;
	void *ctx;
} model;

static u32 model_read(void *ctx, u16 off, unsigned size)
{
	model.ctx = ctx;
	model.reads++;
	model.last_off = off;
	model.last_size = size;
	u32 v = 0;
	memcpy(&v, model.cfg + off, size);
	return v;
}

static void model_write(void *ctx, u16 off, unsigned size, u32 val)
{
	(void)ctx;
	model.writes++;
	model.last_off = off;
	model.last_size = size;
	memcpy(model.cfg + off, &val, size);
}

static void machine_init(void)
{
	fake_bus_reset();
	fake_pci_add(0, 0, 0, 0x8086, 0x29C0, 0x06000002, 0);
	nic = fake_pci_add(0, 3, 0, 0x8086, 0x100E, 0x02000003, 0);
	nic->cfg[15] = 0x0000010B;
	owned = fake_pci_add(0, 4, 0, 0x8086, 0x100E, 0x02000003, 0);
	bridge = fake_pci_add(0, 0x08, 0, 0x8086, 0x2918, 0x06040000, 1);
	bridge->cfg[1] = 0x00100007;              /* I/O, memory, bus master on */
	bridge->cfg[PCI_PRIMARY_BUS / 4] = 0x00010100; /* primary 0, secondary 1, subordinate 1 */
	bridge->cfg[PCI_MEMORY_BASE / 4] = 0xFE90FE80; /* a window over the NIC's BAR */
	behind = fake_pci_add(1, 2, 0, 0x1AF4, 0x1041, 0x02000001, 0);
	pci_init();
	pci_claim(pci_find_bdf(0, 4, 0), "e1000");
	pci_claim(pci_find_bdf(1, 2, 0), "virtio-net");
	real_ecam = aligned_alloc(4096, 1 << 20);
	memset(real_ecam, 0xEE, 1 << 20);
	pci_ecam_add((u64)(uintptr_t)real_ecam, 0, 0);
}

static void setup(void)
{
	fake_vm_init(&vm);
	fake_hv_reset();
	memset(&model, 0, sizeof(model));
	model.cfg[0] = 0xF4;
	model.cfg[1] = 0x1A;
	model.cfg[2] = 0x42;
	model.cfg[3] = 0x10;
	struct pci_vfn f = { 0, 0x10, 0, model_read, model_write, (void *)0x1234 };
	pcicfg_add_vfn(&vm, &f);
	struct acpi_ecam e = { .base = ECAM_BASE, .segment = 0, .start_bus = 0, .end_bus = 0xFF };
	pcicfg_map_ecam(&vm, &e, 1);
}

static bool io(u16 port, u8 size, bool in) { return fake_io(vcpu, port, size, in); }
static u32 cf8_read(u8 dev, u16 reg, u8 size)
{
	vcpu->regs.gpr[GPR_RAX] = BIT(31) | (u32)dev << 11 | (reg & 0xFC);
	io(0xCF8, 4, false);
	vcpu->regs.gpr[GPR_RAX] = 0;
	io((u16)(0xCFC + (reg & 3)), size, true);
	return (u32)vcpu->regs.gpr[GPR_RAX];
}
static void cf8_write(u8 dev, u16 reg, u8 size, u32 v)
{
	vcpu->regs.gpr[GPR_RAX] = BIT(31) | (u32)dev << 11 | (reg & 0xFC);
	io(0xCF8, 4, false);
	vcpu->regs.gpr[GPR_RAX] = v;
	io((u16)(0xCFC + (reg & 3)), size, false);
}
static u64 ecam_read(u8 bus, u8 dev, u16 reg, unsigned size)
{
	gpa_t a = ECAM_BASE + ((u64)bus << 20 | (u64)dev << 15 | reg);
	struct mmio_region *r = mmio_find(&vm, a);
	return r ? r->read(r->ctx, a - r->start, size) : 0xBAD;
}
static void ecam_write(u8 bus, u8 dev, u16 reg, unsigned size, u64 v)
{
	gpa_t a = ECAM_BASE + ((u64)bus << 20 | (u64)dev << 15 | reg);
	struct mmio_region *r = mmio_find(&vm, a);
	if (r)
		r->write(r->ctx, a - r->start, size, v);
}

TEST(registry_refuses_taken_addresses)
{
	setup();
	struct pci_vfn f = { 0, 3, 0, model_read, model_write, NULL };
	CHECK_EQ(pcicfg_add_vfn(&vm, &f), -E_EXIST); /* a real function */
	f.dev = 0x10;
	CHECK_EQ(pcicfg_add_vfn(&vm, &f), -E_EXIST); /* the virtual one */
	CHECK_EQ(pcicfg_free_slot(&vm, 0, 0), 1);
	CHECK_EQ(pcicfg_free_slot(&vm, 0, 3), 5);
	CHECK_EQ(pcicfg_free_slot(&vm, 0, 0x10), 0x11);
	CHECK_EQ(pcicfg_free_slot(&vm, 0, 31), 31);
	CHECK_EQ(pcicfg_free_slot(&vm, 1, 0), 0);
	for (unsigned i = 1; i < VM_MAX_VFN; i++) {
		f.dev = (u8)(0x10 + i);
		CHECK_EQ(pcicfg_add_vfn(&vm, &f), 0);
	}
	f.dev = 0x1E;
	CHECK_EQ(pcicfg_add_vfn(&vm, &f), -E_NOSPC);
}

TEST(virtual_function_through_the_ports)
{
	setup();
	unsigned nic_writes = nic->cfg_writes;
	CHECK_EQ(cf8_read(0x10, 0, 4), 0x10421AF4);
	CHECK_EQ(cf8_read(0x10, 2, 2), 0x1042);
	CHECK_EQ(model.last_off, 2);
	CHECK_EQ(model.last_size, 2);
	CHECK_EQ(cf8_read(0x10, 3, 1), 0x10);
	cf8_write(0x10, 0x3C, 1, 0x0B);
	CHECK_EQ(model.cfg[0x3C], 0x0B);
	CHECK_EQ(model.last_size, 1);
	/* A 2-byte access at byte 3 crosses the dword: done byte by byte. */
	model.writes = 0;
	cf8_write(0x10, 0x43, 2, 0xBBAA);
	CHECK_EQ(model.writes, 2);
	CHECK_EQ(model.cfg[0x43], 0xAA);
	CHECK_EQ(model.cfg[0x44], 0xBB);
	CHECK_EQ(fake_nports, 0);
	CHECK_EQ(nic->cfg_writes, nic_writes);
}

TEST(both_doors_agree)
{
	setup();
	/* The virtual function. */
	CHECK_EQ(ecam_read(0, 0x10, 0, 4), 0x10421AF4);
	ecam_write(0, 0x10, 0x40, 4, 0xCAFEF00D);
	CHECK_EQ(cf8_read(0x10, 0x40, 4), 0xCAFEF00D);
	cf8_write(0x10, 0x48, 4, 0x01020304);
	CHECK_EQ(ecam_read(0, 0x10, 0x48, 1), 0x04);
	cf8_write(0x10, 0x44, 4, 0x0A0B0C0D);
	CHECK_EQ(ecam_read(0, 0x10, 0x40, 8), 0x0A0B0C0DCAFEF00DULL); /* as two dwords */
	CHECK_EQ((uintptr_t)model.ctx, 0x1234);
	/* Extended space goes to the model as well. */
	ecam_write(0, 0x10, 0x100, 4, 7);
	CHECK_EQ(model.last_off, 0x100);
	/* A real function: through ferry's CF8/CFC below 0x100. */
	CHECK_EQ(ecam_read(0, 3, 0, 4), 0x100E8086);
	CHECK_EQ(ecam_read(0, 3, 0x3C, 4), cf8_read(3, 0x3C, 4));
	ecam_write(0, 3, 0x3C, 1, 0x05);
	CHECK_EQ(fake_pci_cfg32(nic, 0x3C), 0x00000105);
	/* ... and through ferry's own ECAM mapping from 0x100. */
	real_ecam[3 << 15 | 0x100] = 0x42;
	CHECK_EQ(ecam_read(0, 3, 0x100, 1), 0x42);
	ecam_write(0, 3, 0x104, 2, 0x5151);
	CHECK_EQ(real_ecam[3 << 15 | 0x104], 0x51);
	/* No window in ferry for bus 1: all ones. */
	CHECK_EQ(ecam_read(1, 3, 0x100, 4), 0xFFFFFFFFu);
}

TEST(owned_function_absent_through_both)
{
	setup();
	unsigned writes = owned->cfg_writes;
	CHECK_EQ(cf8_read(4, 0, 4), 0xFFFFFFFFu);
	CHECK_EQ(ecam_read(0, 4, 0, 4), 0xFFFFFFFFu);
	CHECK_EQ(ecam_read(0, 4, 0, 2), 0xFFFF);
	CHECK_EQ(ecam_read(0, 4, 0x10, 8), ~0ULL);
	real_ecam[4 << 15 | 0x100] = 0x11;
	CHECK_EQ(ecam_read(0, 4, 0x100, 1), 0xFF);
	ecam_write(0, 4, 0x3C, 1, 9);
	ecam_write(0, 4, 0x100, 1, 9);
	cf8_write(4, 0x3C, 1, 9);
	CHECK_EQ(owned->cfg_writes, writes);
	CHECK_EQ(real_ecam[4 << 15 | 0x100], 0x11);
}

static u32 cfgb_read(u8 bus, u8 dev, u16 reg, u8 size)
{
	vcpu->regs.gpr[GPR_RAX] = BIT(31) | (u32)bus << 16 | (u32)dev << 11 | (reg & 0xFC);
	io(0xCF8, 4, false);
	vcpu->regs.gpr[GPR_RAX] = 0;
	io((u16)(0xCFC + (reg & 3)), size, true);
	return (u32)vcpu->regs.gpr[GPR_RAX];
}

static void cfgb_write(u8 bus, u8 dev, u16 reg, u8 size, u32 v)
{
	vcpu->regs.gpr[GPR_RAX] = BIT(31) | (u32)bus << 16 | (u32)dev << 11 | (reg & 0xFC);
	io(0xCF8, 4, false);
	vcpu->regs.gpr[GPR_RAX] = v;
	io((u16)(0xCFC + (reg & 3)), size, false);
}

/* Renumbering the bridge would move ferry's NIC to a bus/device/function
 * ferry does not know as its own: the bus numbers stay; so do the window,
 * decoding and bus mastering of a bridge above an owned device, and its
 * secondary bus cannot be reset.  The rest of the bridge is the guest's. */
TEST(bridges_above_owned_devices_hold)
{
	setup();
	CHECK_EQ(cfgb_read(1, 2, 0, 4), 0xFFFFFFFFu);        /* the owned NIC: absent */
	cfgb_write(0, 0x08, PCI_PRIMARY_BUS, 4, 0x40020200); /* secondary 2, latency 0x40 */
	CHECK_EQ(fake_pci_cfg32(bridge, PCI_PRIMARY_BUS), 0x40010100u);
	cfgb_write(0, 0x08, PCI_PRIMARY_BUS + 1, 1, 5);      /* a byte write to the secondary bus */
	CHECK_EQ(fake_pci_cfg32(bridge, PCI_PRIMARY_BUS), 0x40010100u);
	CHECK_EQ(cfgb_read(2, 2, 0, 4), 0xFFFFFFFFu);        /* nothing came up on a new bus */
	cfgb_write(0, 0x08, PCI_COMMAND, 2, 0);              /* decoding and bus mastering off */
	CHECK_EQ(fake_pci_cfg32(bridge, PCI_COMMAND) & 7, 7u);
	cfgb_write(0, 0x08, PCI_MEMORY_BASE, 4, 0);          /* the window moved away */
	CHECK_EQ(fake_pci_cfg32(bridge, PCI_MEMORY_BASE), 0xFE90FE80u);
	cfgb_write(0, 0x08, PCI_BRIDGE_CONTROL, 2, 0x0043);  /* secondary bus reset, parity, SERR */
	CHECK_EQ(fake_pci_cfg32(bridge, PCI_BRIDGE_CONTROL & ~3u) >> 16, 0x0003u);
	CHECK(fake_log_by_level[LOG_WARN] >= 1);
	/* A bridge above nothing of ferry's keeps only its bus numbers. */
	CHECK_EQ(pci_guest_locked_bits(0, 3, 0, PCI_COMMAND), 0u);
	CHECK_EQ(pci_guest_locked_bits(0, 0x08, 0, PCI_CAP_PTR), 0u);
}

/* A function ferry quarantined (it may still move data) stays ferry's for
 * good: a later release by a driver's clean-up is refused, bus mastering
 * stays off, and the guest still does not see it. */
TEST(a_quarantined_function_is_never_given_back)
{
	setup();
	struct pci_dev *d = pci_find_bdf(0, 4, 0);
	pci_quarantine(d, "test");
	CHECK_EQ(fake_pci_cfg32(owned, PCI_COMMAND) & PCI_COMMAND_MASTER, 0u);
	pci_quarantine(d, "test again"); /* a second call: nothing */
	CHECK_EQ(fake_log_by_level[LOG_ERR], 1);
	pci_release(d);
	CHECK_EQ(fake_log_by_level[LOG_ERR], 2); /* the refusal */
	CHECK(d->owner != NULL);
	CHECK_EQ(fake_pci_cfg32(owned, PCI_COMMAND) & PCI_COMMAND_MASTER, 0u);
	CHECK_EQ(cf8_read(4, 0, 4), 0xFFFFFFFFu);
	d->quarantined = false; /* the function as the other tests found it */
	pci_claim(d, "e1000");
}

int main(void)
{
	machine_init();
	RUN(registry_refuses_taken_addresses);
	RUN(virtual_function_through_the_ports);
	RUN(both_doors_agree);
	RUN(owned_function_absent_through_both);
	RUN(bridges_above_owned_devices_hold);
	RUN(a_quarantined_function_is_never_given_back);
	free(real_ecam);
	return CHECK_SUMMARY();
}
