/* The guest's power and reset paths (vm/guest_power.c) through the port
 * dispatch of vm/guest_io.c: sleep requests in any width, keyboard
 * controller resets, and what passes through to the hardware. */
#include "check.h"
#include "fake_arch.h"
#include "fake_bus.h"
#include "fake_hv.h"
#include "fake_io.h"
#include "platform/acpi.h"
#include "vm/guest_power.h"

/* What platform/acpi.c would have read from the FADT. */
struct acpi_info acpi;

static struct vm vm;
static struct vcpu *const vcpu = &vm.vcpu;

static void setup(void)
{
	fake_bus_reset();
	fake_vm_init(&vm);
	fake_hv_reset();
	fake_nports = 0;
	memset(&acpi, 0, sizeof(acpi));
	acpi.pm1a_cnt = 0x604;
	CHECK_EQ(guest_power_attach(&vm), 0);
}

TEST(sleep_requests_in_every_width)
{
	static const struct { u16 port; u8 size; u32 val; } w[] = {
		{ 0x604, 2, 0x2000 }, { 0x604, 4, 0x3C00 | 0x2000 }, { 0x605, 1, 0x20 },
	};
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		setup();
		CHECK(fake_out(vcpu, w[i].port, w[i].size, w[i].val));
		CHECK_EQ(vm.stop, VM_STOP_POWER_OFF);
		CHECK(vm.acpi_sleep);
		CHECK_EQ(vm.sleep_pm1a & 0x2000, 0x2000);
		CHECK_EQ(fake_nports, 0); /* the hardware never saw it */
	}
}

TEST(other_pm1_writes_reach_the_hardware)
{
	setup();
	CHECK(fake_out(vcpu, 0x604, 2, 0x0001)); /* SCI_EN */
	CHECK_EQ(vm.stop, VM_RUNNING);
	CHECK_EQ(fake_nports, 1);
	CHECK_EQ(fake_ports[0].port, 0x604);
	CHECK_EQ(fake_ports[0].val, 1);
}

TEST(keyboard_controller_resets)
{
	setup();
	CHECK(fake_out(vcpu, 0x64, 1, 0xFE));
	CHECK_EQ(vm.stop, VM_STOP_RESET);
	setup();
	CHECK(fake_out(vcpu, 0x64, 1, 0xD1));
	CHECK(fake_out(vcpu, 0x60, 1, 0xDF)); /* A20 on, reset line high: fine */
	CHECK_EQ(vm.stop, VM_RUNNING);
	CHECK(fake_out(vcpu, 0x64, 1, 0xD1));
	CHECK(fake_out(vcpu, 0x60, 1, 0xDE)); /* reset line low */
	CHECK_EQ(vm.stop, VM_STOP_RESET);
	setup();
	CHECK(fake_out(vcpu, 0x64, 1, 0xAE)); /* enable keyboard: passes */
	CHECK(fake_out(vcpu, 0x60, 1, 0xF4));
	CHECK_EQ(vm.stop, VM_RUNNING);
	CHECK_EQ(fake_nports, 2);
}

int main(void)
{
	RUN(sleep_requests_in_every_width);
	RUN(other_pm1_writes_reach_the_hardware);
	RUN(keyboard_controller_resets);
	return CHECK_SUMMARY();
}
