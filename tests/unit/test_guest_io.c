/* Host tests for the guest's intercepted port I/O (vm/guest_io.c): the
 * reset and power-off ports and their stop codes, the ports of devices
 * ferry owns, PCI configuration space hiding (COM1's model: test_uart.c).
 *
 * The machine is a fake port bus (fake_bus.c) holding four PCI functions,
 * found by ferry's own enumeration (platform/pci.c) and claimed the way
 * drivers claim them:
 *
 *   00:00.0 host bridge                           the guest's
 *   00:01.0 IDE, I/O BAR4 0xC040/16, legacy       ferry's ("ata"), with
 *           1F0h-1F7h and 3F6h (pci_own_io)       pci_own_io ranges
 *   00:03.0 NIC, I/O BAR1 0xC000/64               the guest's
 *   00:04.0 NIC, I/O BAR1 0xC080/64               ferry's ("e1000")
 *
 * Exits are built as a back end's run builds them and handed to guest_io
 * with a fake back end (fake_arch.c). */
#include "check.h"
#include "fake_arch.h"
#include "fake_io.h"
#include "fake_bus.h"
#include "fake_hv.h"
#include "platform/pci.h"
#include "vm/guest_io.h"
#include "x86/cpu.h"

static struct vm vm;
static struct vcpu *const vcpu = &vm.vcpu;
static struct fake_pci_fn *bridge, *ide, *nic, *owned_nic;
static struct pci_dev *ide_dev, *owned_nic_dev;

static u32 cfg_addr(u8 dev, u8 reg) { return (u32)BIT(31) | (u32)dev << 11 | reg; }

/* The fake machine, enumerated and claimed once (pci.c keeps its list). */
static void machine_init(void)
{
	fake_bus_reset();
	bridge = fake_pci_add(0, 0, 0, 0x8086, 0x1237, 0x06000002, 0);
	ide = fake_pci_add(0, 1, 0, 0x8086, 0x7010, 0x01018000, 0);
	fake_pci_bar(ide, 4, true, 0xC040, 16);
	nic = fake_pci_add(0, 3, 0, 0x8086, 0x100E, 0x02000003, 0);
	fake_pci_bar(nic, 0, false, 0xFEB80000, 0x20000);
	fake_pci_bar(nic, 1, true, 0xC000, 64);
	owned_nic = fake_pci_add(0, 4, 0, 0x8086, 0x100E, 0x02000003, 0);
	fake_pci_bar(owned_nic, 1, true, 0xC080, 64);
	nic->cfg[15] = 0x0000010B; /* interrupt pin A, line 11 */
	ide->cfg[15] = 0x0000010E;
	pci_init();
	ide_dev = pci_find_bdf(0, 1, 0);
	owned_nic_dev = pci_find_bdf(0, 4, 0);
	pci_claim(ide_dev, "ata");
	pci_own_io(ide_dev, 0x1F0, 8);
	pci_own_io(ide_dev, 0x3F6, 1);
	pci_claim(owned_nic_dev, "e1000");
}

static void setup(void)
{
	fake_vm_init(&vm);
	fake_hv_reset();
	fake_nports = 0;
}


static u64 in_rax(u16 port, u8 size, u64 rax) { return fake_in(vcpu, port, size, rax); }
static u32 in32(u16 port) { return (u32)in_rax(port, 4, 0); }

static bool out(u16 port, u8 size, u64 rax) { return fake_out(vcpu, port, size, rax); }

TEST(machine_found)
{
	CHECK(ide_dev && owned_nic_dev && pci_find_bdf(0, 0, 0) && pci_find_bdf(0, 3, 0));
	CHECK(pci_get(4) == NULL);
	CHECK(ide_dev->bar[4].is_io);
	CHECK_EQ(ide_dev->bar[4].base, 0xC040);
	CHECK_EQ(ide_dev->bar[4].size, 16);
	CHECK_EQ(ide_dev->n_own_io, 2);
	/* Legacy ranges need a claimed function. */
	CHECK_EQ(pci_own_io(pci_find_bdf(0, 3, 0), 0x170, 8), -E_INVAL);
}

/* Which ports exit: ferry's, and nothing of the guest's devices. */
TEST(intercepts)
{
	setup();
	guest_io_init(&vm);
	static const u16 on[] = { 0x3F8, 0x3FF, 0xCF8, 0xCF9, 0xCFC, 0xCFF, 0xF4, 0xC040, 0xC04F,
				  0x1F0, 0x1F7, 0x3F6, 0xC080, 0xC0BF };
	static const u16 off[] = { 0x3F7, 0x400, 0xCF7, 0xD00, 0xF3, 0xF5, 0xC050, 0x1EF, 0x1F8,
				   0x3F5, 0xC000, 0xC03F, 0xC0C0, 0x60, 0x80 };
	for (unsigned i = 0; i < ARRAY_SIZE(on); i++)
		if (!fake_port_intercepted(on[i])) {
			printf("  port %x not intercepted\n", on[i]);
			CHECK(0);
		}
	for (unsigned i = 0; i < ARRAY_SIZE(off); i++)
		if (fake_port_intercepted(off[i])) {
			printf("  port %x intercepted\n", off[i]);
			CHECK(0);
		}
}

TEST(reset_port)
{
	setup();
	CHECK(out(0xCF9, 1, 0x02)); /* no reset bit: nothing */
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(in_rax(0xCF9, 1, 0xFFFF), 0xFF00);
	CHECK(!vm_stopped(&vm));
	CHECK(out(0xCF9, 1, 0x06));
	CHECK_EQ(vm.stop, VM_STOP_RESET);
	CHECK_STR(vm_stop_text(vm.stop), "the guest asked for a reset");
	CHECK_EQ(vm.exit_status, 0);
	CHECK_EQ(fake_nports, 0); /* the machine was not reset */
}

TEST(power_off_port)
{
	setup();
	CHECK_EQ(in_rax(0xF4, 1, 0), 0xFF); /* a read is not a power-off */
	CHECK(!vm_stopped(&vm));
	CHECK(out(0xF4, 1, 0x1234)); /* a byte write: status 0x34 */
	CHECK_EQ(vm.stop, VM_STOP_POWER_OFF);
	CHECK_EQ(vm.exit_status, 0x34);
	CHECK_STR(vm_stop_text(vm.stop), "the guest powered off");
	CHECK_EQ(fake_nports, 0);

	setup();
	CHECK(out(0xF4, 4, 0xFFFFFFFF00000007ULL));
	CHECK_EQ(vm.stop, VM_STOP_POWER_OFF);
	CHECK_EQ(vm.exit_status, 7);
}

/* Ports of devices ferry owns: all ones in, writes dropped, a warning. */
TEST(owned_ports_refused)
{
	setup();
	CHECK_EQ(in_rax(0x1F7, 1, 0x123456789ABCDE00ULL), 0x123456789ABCDEFFULL); /* legacy IDE status */
	CHECK_EQ(fake_log_by_level[LOG_WARN], 1);
	CHECK(strstr(fake_log_last, "port 1f7") && strstr(fake_log_last, "all ones"));
	CHECK_EQ(in_rax(0x3F6, 1, 0), 0xFF);
	CHECK_EQ(in_rax(0xC040, 2, 0x1111111111110000ULL), 0x111111111111FFFFULL); /* IDE BAR4 */
	CHECK_EQ(in_rax(0xC084, 4, 0x1111111100000000ULL), 0xFFFFFFFFULL); /* 32-bit IN clears 63:32 */
	CHECK_EQ(fake_log_by_level[LOG_WARN], 4);
	CHECK(out(0x1F6, 1, 0xA0));
	CHECK(out(0xC0A0, 4, 0x12345678));
	CHECK_EQ(fake_log_by_level[LOG_WARN], 6);
	CHECK(strstr(fake_log_last, "wrote port c0a0") && strstr(fake_log_last, "dropped"));
	CHECK_EQ(fake_nports, 0); /* nothing reached the hardware */
	CHECK(!vm_stopped(&vm));
	CHECK_EQ(fake_calls.injects, 0);
}

/* Any other intercepted port reads as an empty bus, quietly. */
TEST(other_port_empty_bus)
{
	setup();
	CHECK_EQ(in_rax(0xC000, 1, 0x4200), 0x42FF); /* the guest's NIC: not ferry's */
	CHECK(out(0xC000, 1, 1));
	CHECK_EQ(fake_log_by_level[LOG_WARN], 0);
	CHECK_EQ(fake_nports, 0);
}

TEST(pci_owned_function_absent)
{
	setup();
	unsigned writes = ide->cfg_writes;
	CHECK(out(0xCF8, 4, cfg_addr(1, 0x00)));
	CHECK_EQ(in32(0xCF8), cfg_addr(1, 0x00)); /* the guest's latch reads back */
	CHECK_EQ(in32(0xCFC), 0xFFFFFFFFu);
	CHECK_EQ(in_rax(0xCFE, 2, 0), 0xFFFF);
	CHECK(out(0xCF8, 4, cfg_addr(1, 0x20)));
	CHECK_EQ(in32(0xCFC), 0xFFFFFFFFu); /* BAR4: not even its address */
	CHECK(out(0xCF8, 4, cfg_addr(1, 0x3C)));
	CHECK(out(0xCFC, 1, 0x05));
	CHECK(out(0xCFC, 4, 0xFFFFFFFF));
	CHECK_EQ(ide->cfg_writes, writes); /* dropped */
	CHECK_EQ(fake_pci_cfg32(ide, 0x3C), 0x0000010E);
	/* The other owned function as well. */
	CHECK(out(0xCF8, 4, cfg_addr(4, 0x00)));
	CHECK_EQ(in32(0xCFC), 0xFFFFFFFFu);
}

TEST(pci_passthrough)
{
	setup();
	CHECK(out(0xCF8, 4, cfg_addr(3, 0x00)));
	CHECK_EQ(in32(0xCFC), 0x100E8086u);
	CHECK_EQ(in_rax(0xCFE, 2, 0), 0x100E);
	CHECK_EQ(in_rax(0xCFD, 1, 0), 0x80);
	CHECK(out(0xCF8, 4, cfg_addr(3, 0x14)));
	CHECK_EQ(in32(0xCFC), 0xC001u); /* its I/O BAR */
	CHECK(out(0xCF8, 4, cfg_addr(3, 0x3C)));
	CHECK(out(0xCFC, 1, 0x05)); /* interrupt line 5 */
	CHECK_EQ(fake_pci_cfg32(nic, 0x3C), 0x00000105);
	CHECK(out(0xCFE, 2, 0xABCD));
	CHECK_EQ(fake_pci_cfg32(nic, 0x3C), 0xABCD0105);
	CHECK_EQ(in_rax(0xCFC, 2, 0), 0x0105);
	/* The host bridge too. */
	CHECK(out(0xCF8, 4, cfg_addr(0, 0x08)));
	CHECK_EQ(in32(0xCFC), 0x06000002u);
	CHECK_EQ(fake_nports, 0);
}

/* No enable bit in the latch: nothing is read or written. */
TEST(pci_latch_disabled)
{
	setup();
	unsigned writes = nic->cfg_writes;
	u32 before = fake_pci_cfg32(nic, 0x3C);
	CHECK(out(0xCF8, 4, cfg_addr(3, 0x3C) & ~(u32)BIT(31)));
	CHECK_EQ(in32(0xCFC), 0xFFFFFFFFu);
	CHECK(out(0xCFC, 1, 0x09));
	CHECK_EQ(nic->cfg_writes, writes);
	CHECK_EQ(fake_pci_cfg32(nic, 0x3C), before);
}

TEST(pci_absent_function)
{
	setup();
	CHECK(out(0xCF8, 4, cfg_addr(7, 0x00)));
	CHECK_EQ(in32(0xCFC), 0xFFFFFFFFu);
}

/* A guest hammering an owned port cannot flood ferry's console: a few
 * warnings, one saying the rest are not shown, then silence. */
TEST(owned_port_warnings_limited)
{
	setup();
	for (int i = 0; i < 3 * GUEST_WARN_MAX; i++)
		CHECK_EQ(in_rax(0xC080, 1, 0), 0xFF);
	int first = fake_log_by_level[LOG_WARN];
	CHECK(first <= GUEST_WARN_MAX + 1);
	for (int i = 0; i < 3 * GUEST_WARN_MAX; i++)
		CHECK_EQ(in_rax(0xC080, 1, 0), 0xFF);
	CHECK_EQ(fake_log_by_level[LOG_WARN], first); /* nothing more */
	CHECK_EQ(fake_nports, 0);                       /* and nothing reached the device */
}

/* INS/OUTS are not emulated: #GP, and RIP must stay. */
TEST(string_io_gp)
{
	setup();
	struct vm_exit e = { .reason = EXIT_IO, .insn_len = 1 };
	e.io.port = 0x3F8;
	e.io.size = 1;
	e.io.string = true;
	CHECK(!guest_io(vcpu, &e));
	CHECK_EQ(fake_calls.injects, 1);
	CHECK_EQ(fake_calls.vector, VEC_GP);
	CHECK(fake_calls.has_error);
	CHECK_EQ(fake_calls.error, 0);
	CHECK_EQ(fake_console_writes, 0);
}

/* A function a driver gives back is the guest's again (runs last). */
TEST(released_function_visible)
{
	setup();
	pci_release(owned_nic_dev);
	CHECK(out(0xCF8, 4, cfg_addr(4, 0x00)));
	CHECK_EQ(in32(0xCFC), 0x100E8086u);
	CHECK(out(0xCF8, 4, cfg_addr(4, 0x3C)));
	CHECK(out(0xCFC, 1, 0x0A));
	CHECK_EQ(fake_pci_cfg32(owned_nic, 0x3C) & 0xFF, 0x0A);
	CHECK_EQ(in_rax(0xC080, 1, 0), 0xFF); /* its port is no longer refused */
	CHECK_EQ(fake_log_by_level[LOG_WARN], 0);
}

int main(void)
{
	machine_init();
	RUN(machine_found);
	RUN(intercepts);
	RUN(reset_port);
	RUN(power_off_port);
	RUN(owned_ports_refused);
	RUN(other_port_empty_bus);
	RUN(pci_owned_function_absent);
	RUN(pci_passthrough);
	RUN(pci_latch_disabled);
	RUN(pci_absent_function);
	RUN(owned_port_warnings_limited);
	RUN(string_io_gp);
	RUN(released_function_visible);
	return CHECK_SUMMARY();
}
