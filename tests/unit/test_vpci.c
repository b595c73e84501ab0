/* A virtual PCI function (vdev/vpci.c): the header, BAR sizing and 64-bit
 * relocation with the MMIO regions following (and memory decode), the
 * capability list, MSI-X's control word and table BAR, a model's hook
 * window, and placements the VM refuses. */
#include "check.h"
#include "fake_arch.h"
#include "fake_hv.h"
#include "platform/pci.h"
#include "vdev/vpci.h"
#include "vm/pcicfg.h"

static struct vm vm;
static struct vpci_dev d;
static struct msix mx;
static struct {
	unsigned reads, writes;
	u64 off, val;
} regs;
static unsigned hook_reads, hook_writes;
static int nsent;

static u64 regs_read(void *ctx, u64 off, unsigned size) { (void)ctx, (void)size; regs.reads++; regs.off = off; return 0x77; }
static void regs_write(void *ctx, u64 off, unsigned size, u64 val) { (void)ctx, (void)size; regs.writes++; regs.off = off; regs.val = val; }
static u32 hook_read(void *ctx, u16 off, unsigned size) { (void)ctx, (void)size; hook_reads++; return 0xAB00 | off; }
static void hook_write(void *ctx, u16 off, unsigned size, u32 val) { (void)ctx, (void)off, (void)size, (void)val; hook_writes++; }
static int send(u64 addr, u32 data) { (void)addr, (void)data; nsent++; return 0; }

static u32 rd(u16 off, unsigned size) { return pcicfg_read(&vm, 0, 5, 0, off, size); }
static void wr(u16 off, unsigned size, u32 v) { pcicfg_write(&vm, 0, 5, 0, off, size, v); }

static void setup(void)
{
	fake_vm_init(&vm);
	fake_hv_reset();
	memset(&regs, 0, sizeof(regs));
	hook_reads = hook_writes = 0;
	nsent = 0;
	struct vpci_id id = { 0x1AF4, 0x1042, 1, 0x010000, 0x1AF4, 0x0002 };
	vpci_init(&d, &vm, &id);
	vpci_add_bar64(&d, 0, 0x4000, "regs", regs_read, regs_write, NULL);
	vpci_add_bar64(&d, 2, 0x1000, "msix", NULL, NULL, NULL);
	msix_init(&mx, 2, send);
	vpci_add_msix(&d, &mx, 2, 0, 0x800);
	vpci_place_bar(&d, 0, 0x800000000ULL);
	vpci_place_bar(&d, 2, 0x800004000ULL);
	vpci_set_command(&d, PCI_COMMAND_MEM);
	CHECK_EQ(vpci_attach(&d, 0, 5, 0), 0);
}

TEST(header)
{
	setup();
	CHECK_EQ(rd(0, 4), 0x10421AF4);
	CHECK_EQ(rd(PCI_CLASS_REV, 4), 0x01000001);
	CHECK_EQ(rd(PCI_HEADER_TYPE, 1), 0);
	CHECK_EQ(rd(PCI_SUBSYSTEM_VENDOR_ID, 4), 0x00021AF4);
	CHECK_EQ(rd(PCI_INTR_PIN, 1), 0);
	CHECK_EQ(rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	CHECK_EQ(rd(0x100, 4), 0); /* no extended space */
	/* Read-only registers stay. */
	wr(0, 4, 0);
	wr(PCI_CLASS_REV, 4, 0);
	CHECK_EQ(rd(0, 4), 0x10421AF4);
	CHECK_EQ(rd(PCI_CLASS_REV, 4), 0x01000001);
	wr(PCI_INTR_LINE, 1, 11);
	CHECK_EQ(rd(PCI_INTR_LINE, 1), 11);
	wr(PCI_COMMAND, 2, 0xFFFF);
	CHECK_EQ(rd(PCI_COMMAND, 2), VPCI_COMMAND_WRITABLE);
	CHECK(vpci_bus_master(&d));
}

TEST(bar_sizing_reads_the_size_mask)
{
	setup();
	wr(PCI_COMMAND, 2, 0); /* Linux turns decode off to size */
	CHECK_EQ(vm.nmmio, 0);
	wr(PCI_BAR0, 4, 0xFFFFFFFF);
	CHECK_EQ(rd(PCI_BAR0, 4), 0xFFFFC004u);
	wr(PCI_BAR0 + 4, 4, 0xFFFFFFFF);
	CHECK_EQ(rd(PCI_BAR0 + 4, 4), 0xFFFFFFFFu);
	wr(PCI_BAR0 + 8, 4, 0xFFFFFFFF);
	CHECK_EQ(rd(PCI_BAR0 + 8, 4), 0xFFFFF004u);
	/* BARs 4 and 5 are not implemented. */
	wr(PCI_BAR0 + 16, 4, 0xFFFFFFFF);
	CHECK_EQ(rd(PCI_BAR0 + 16, 4), 0);
	CHECK_EQ(rd(0x30, 4), 0); /* no expansion ROM */
}

TEST(relocation_moves_the_region)
{
	setup();
	CHECK_EQ(vm.nmmio, 2);
	CHECK(mmio_find(&vm, 0x800000000ULL) != NULL);
	/* Linux: decode off, new address (both halves), decode on. */
	wr(PCI_COMMAND, 2, 0);
	wr(PCI_BAR0, 4, 0x00000000);
	wr(PCI_BAR0 + 4, 4, 0x1);
	wr(PCI_COMMAND, 2, PCI_COMMAND_MEM | PCI_COMMAND_MASTER);
	CHECK_EQ(vpci_bar_addr(&d, 0), 0x100000000ULL);
	CHECK(mmio_find(&vm, 0x800000000ULL) == NULL);
	struct mmio_region *r = mmio_find(&vm, 0x100003FFFULL);
	CHECK(r != NULL);
	CHECK_EQ(r->read(r->ctx, 0x3000, 2), 0x77);
	CHECK_EQ(regs.off, 0x3000);
	r->write(r->ctx, 0x3FFC, 4, 5);
	CHECK_EQ(regs.writes, 1);
	r->write(r->ctx, 0x3FFE, 4, 5); /* runs past the BAR: dropped */
	CHECK_EQ(regs.writes, 1);
	CHECK(mmio_find(&vm, 0x100004000ULL) == NULL);
	/* Moving with decode on works as well (a 32-bit address now). */
	wr(PCI_BAR0 + 4, 4, 0);
	wr(PCI_BAR0, 4, 0x20000000);
	CHECK(mmio_find(&vm, 0x20000000) != NULL);
	CHECK_EQ(vm.nmmio, 2);
	/* The low bits below the size and the flags cannot be written. */
	wr(PCI_BAR0, 4, 0x20001FFF);
	CHECK_EQ(rd(PCI_BAR0, 4), 0x20000004u);
}

TEST(decode_off_means_no_region)
{
	setup();
	wr(PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	CHECK_EQ(vm.nmmio, 0);
	wr(PCI_COMMAND, 2, PCI_COMMAND_MEM);
	CHECK_EQ(vm.nmmio, 2);
	wr(PCI_BAR0, 4, 0);
	wr(PCI_BAR0 + 4, 4, 0); /* address 0: unassigned */
	CHECK_EQ(vm.nmmio, 1);
}

TEST(placement_over_another_device_is_refused)
{
	setup();
	/* The MSI-X BAR onto the register BAR: one address, one device. */
	wr(PCI_BAR0 + 12, 4, 0x8);
	wr(PCI_BAR0 + 8, 4, 0x00002000);
	CHECK_EQ(d.bar[2].mapped, 0);
	CHECK_EQ(vm.nmmio, 1);
	CHECK_EQ(fake_log_by_level[LOG_WARN], 1);
	wr(PCI_BAR0 + 8, 4, 0x00004000); /* moved clear: decodes again */
	CHECK_EQ(d.bar[2].mapped, 0x800004000ULL);
	/* A BAR at the top of the address space would wrap: refused. */
	wr(PCI_BAR0 + 4, 4, 0xFFFFFFFF);
	wr(PCI_BAR0, 4, 0xFFFFC000);
	CHECK_EQ(d.bar[0].mapped, 0);
}

TEST(capability_list)
{
	setup();
	u8 vendor_cap[16] = { PCI_CAP_ID_VNDR, 0, 16, 1 };
	u8 at = vpci_add_cap(&d, vendor_cap, sizeof(vendor_cap));
	CHECK_EQ(at, VPCI_CAP_START + MSIX_CAP_LEN);
	u8 p = (u8)rd(PCI_CAP_PTR, 1);
	CHECK_EQ(p, VPCI_CAP_START);
	CHECK_EQ(rd(p, 1), PCI_CAP_ID_MSIX);
	CHECK_EQ(rd((u16)(p + 2), 2), 1); /* table size 2 */
	CHECK_EQ(rd((u16)(p + 4), 4), 2); /* table at BAR2 + 0 */
	CHECK_EQ(rd((u16)(p + 8), 4), 0x802);
	p = (u8)rd((u16)(p + 1), 1);
	CHECK_EQ(p, at);
	CHECK_EQ(rd(p, 4), 0x01100009); /* id, next 0, len, type */
	/* Not writable unless the model says so. */
	wr((u16)(p + 4), 1, 3);
	CHECK_EQ(rd((u16)(p + 4), 1), 0);
	vpci_writable(&d, (u8)(p + 4), 1);
	wr((u16)(p + 4), 1, 3);
	CHECK_EQ(rd((u16)(p + 4), 1), 3);
	/* A full header refuses more. */
	u8 big[200] = { PCI_CAP_ID_VNDR };
	CHECK_EQ(vpci_add_cap(&d, big, sizeof(big)), 0);
}

TEST(msix_through_config_and_bar)
{
	setup();
	u16 ctl = VPCI_CAP_START + MSIX_CAP_CONTROL;
	wr(ctl, 2, MSIX_CONTROL_ENABLE | MSIX_CONTROL_MASK_ALL | 0x7FF); /* size bits are read-only */
	CHECK_EQ(rd(ctl, 2), MSIX_CONTROL_ENABLE | MSIX_CONTROL_MASK_ALL | 1);
	CHECK(mx.enabled && mx.mask_all);
	struct mmio_region *t = mmio_find(&vm, 0x800004000ULL);
	CHECK(t != NULL);
	t->write(t->ctx, 0x10, 4, 0xFEE00000);
	t->write(t->ctx, 0x18, 4, 0x30);
	t->write(t->ctx, 0x1C, 4, 0);
	CHECK_EQ(t->read(t->ctx, 0x18, 4), 0x30);
	msix_signal(&mx, 1);
	CHECK_EQ(nsent, 0);
	CHECK_EQ(t->read(t->ctx, 0x800, 4), 2); /* PBA */
	t->write(t->ctx, 0x800, 4, 0);          /* read-only */
	CHECK_EQ(t->read(t->ctx, 0x800, 4), 2);
	wr((u16)(ctl + 1), 1, MSIX_CONTROL_ENABLE >> 8); /* lift the function mask */
	CHECK_EQ(nsent, 1);
	CHECK_EQ(t->read(t->ctx, 0x800, 4), 0);
	CHECK_EQ(t->read(t->ctx, 0x400, 4), 0); /* between table and PBA */
}

TEST(hook_window)
{
	setup();
	d.hook_off = 0x90;
	d.hook_len = 4;
	d.hook_read = hook_read;
	d.hook_write = hook_write;
	CHECK_EQ(rd(0x90, 4), 0xAB90);
	CHECK_EQ(rd(0x92, 2), 0xAB92 & 0xFFFF);
	wr(0x93, 1, 1);
	CHECK_EQ(hook_reads, 2);
	CHECK_EQ(hook_writes, 1);
	CHECK_EQ(rd(0x94, 4), 0);
	/* BAR access as the hook does it: straight to the handler. */
	wr(PCI_COMMAND, 2, 0);
	CHECK_EQ(vpci_bar_read(&d, 0, 0x10, 4), 0x77);
	vpci_bar_write(&d, 0, 0x3000, 2, 0);
	CHECK_EQ(regs.writes, 1);
	CHECK_EQ(vpci_bar_read(&d, 4, 0, 4), 0);
	CHECK_EQ(vpci_bar_read(&d, 0, 0x4000, 4), ~0ULL);
}

int main(void)
{
	RUN(header);
	RUN(bar_sizing_reads_the_size_mask);
	RUN(relocation_moves_the_region);
	RUN(decode_off_means_no_region);
	RUN(placement_over_another_device_is_refused);
	RUN(capability_list);
	RUN(msix_through_config_and_bar);
	RUN(hook_window);
	return CHECK_SUMMARY();
}
