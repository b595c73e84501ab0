/* The guest's power and reset paths (vm/guest_power.h). */
#include "guest_power.h"
#include "platform/acpi.h"
#include "platform/console.h"
#include "x86/io.h"

#define PM1_SLP_TYP_SHIFT 10     /* ACPI 4.8.3.2.1, PM1 control: bits 12:10 */
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN BIT(13)       /* write-only: enter the SLP_TYP state */
#define KBC_DATA 0x60
#define KBC_CMD 0x64
#define KBC_WRITE_OUTPUT 0xD1    /* the next data byte goes to the output port */
#define KBC_PULSE_FIRST 0xF0     /* 0xF0-0xFF pulse output bits 3:0 low for 6 us */
#define KBC_OUT_RESET BIT(0)     /* output port bit 0: low resets the CPU */

/* The port each region handles: its handlers' ctx points here. */
static u16 port_pm1a, port_pm1b, port_kbc[2], port_reset;

static u16 port_of(const void *ctx) { return *(const u16 *)ctx; }

static struct {
	struct vm *vm;
	bool pm1b_pending;           /* a PM1a sleep write waits for PM1b's */
	bool kbc_output_next;        /* the last command was 0xD1 */
} pw;

static void sleep_request(unsigned which, u16 v)
{
	struct vm *vm = pw.vm;
	if (which == 0)
		vm->sleep_pm1a = v;
	else
		vm->sleep_pm1b = v;
	/* With a PM1b block the guest writes both (ACPI 4.8.3.2.1); stop on
	 * the second, or at once without one. */
	if (which == 0 && acpi.pm1b_cnt) {
		pw.pm1b_pending = true;
		return;
	}
	vm->acpi_sleep = true;
	log_info("the guest entered ACPI sleep state SLP_TYP=%u: powering off",
		 (vm->sleep_pm1a & PM1_SLP_TYP_MASK) >> PM1_SLP_TYP_SHIFT);
	vm_stop(vm, VM_STOP_POWER_OFF);
}

static u32 pm1_read(void *ctx, u16 off, unsigned size)
{
	u16 port = (u16)(port_of(ctx) + off);
	return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
}

static void pm1_write(void *ctx, u16 off, unsigned size, u32 val, unsigned which)
{
	u16 port = (u16)(port_of(ctx) + off);
	/* SLP_EN lives in the high byte: a byte write at offset 1 sets it too. */
	u32 v16 = off == 1 ? val << 8 : val;
	/* Any write that reaches the high byte with SLP_EN set is the
	 * request, a dword one at offset 0 included. */
	if ((v16 & PM1_SLP_EN) && (off == 1 || size >= 2)) {
		sleep_request(which, (u16)v16);
		return;
	}
	if (which == 1 && pw.pm1b_pending) {
		sleep_request(1, (u16)v16);
		return;
	}
	if (size == 1)
		outb(port, (u8)val);
	else if (size == 2)
		outw(port, (u16)val);
	else
		outl(port, val);
}

static void pm1a_write(void *ctx, u16 off, unsigned size, u32 val) { pm1_write(ctx, off, size, val, 0); }
static void pm1b_write(void *ctx, u16 off, unsigned size, u32 val) { pm1_write(ctx, off, size, val, 1); }

static void reset_request(const char *how)
{
	log_info("the guest asked for a reset (%s)", how);
	vm_stop(pw.vm, VM_STOP_RESET);
}

static u32 kbc_read(void *ctx, u16 off, unsigned size)
{
	(void)off, (void)size;
	return inb(port_of(ctx));
}

static void kbc_write(void *ctx, u16 off, unsigned size, u32 val)
{
	(void)off, (void)size;
	u16 port = port_of(ctx);
	u8 v = (u8)val;
	if (port == KBC_CMD) {
		pw.kbc_output_next = v == KBC_WRITE_OUTPUT;
		if (v >= KBC_PULSE_FIRST && !(v & KBC_OUT_RESET)) {
			reset_request("keyboard controller pulse");
			return;
		}
	} else if (pw.kbc_output_next) {
		pw.kbc_output_next = false;
		if (!(v & KBC_OUT_RESET)) {
			reset_request("keyboard controller output port");
			return;
		}
	}
	outb(port, v);
}

static u32 reset_reg_read(void *ctx, u16 off, unsigned size)
{
	(void)off, (void)size;
	return inb(port_of(ctx));
}

static void reset_reg_write(void *ctx, u16 off, unsigned size, u32 val)
{
	(void)off, (void)size;
	if ((u8)val == acpi.reset_value) {
		reset_request("ACPI reset register");
		return;
	}
	outb(port_of(ctx), (u8)val);
}

int guest_power_attach(struct vm *vm)
{
	pw = (typeof(pw)){ .vm = vm };
	port_pm1a = acpi.pm1a_cnt;
	port_pm1b = acpi.pm1b_cnt;
	port_kbc[0] = KBC_DATA;
	port_kbc[1] = KBC_CMD;
	port_reset = (u16)acpi.reset.addr;
	int rc = 0;
	if (acpi.pm1a_cnt) {
		const struct pio_region r = { "ACPI PM1a control", acpi.pm1a_cnt, 2, pm1_read, pm1a_write,
					      &port_pm1a };
		rc = pio_register(vm, &r);
	}
	if (!rc && acpi.pm1b_cnt) {
		const struct pio_region r = { "ACPI PM1b control", acpi.pm1b_cnt, 2, pm1_read, pm1b_write,
					      &port_pm1b };
		rc = pio_register(vm, &r);
	}
	static const u16 kbc[] = { KBC_DATA, KBC_CMD };
	for (unsigned i = 0; i < 2 && !rc; i++) {
		const struct pio_region r = { "keyboard controller", kbc[i], 1, kbc_read, kbc_write,
					      &port_kbc[i] };
		rc = pio_register(vm, &r);
	}
	if (!rc && acpi.reset.addr && acpi.reset.space == ACPI_SPACE_IO && acpi.reset.addr != 0xCF9 &&
	    acpi.reset.addr != KBC_CMD && acpi.reset.addr <= 0xFFFF) {
		const struct pio_region r = { "ACPI reset register", (u16)acpi.reset.addr, 1, reset_reg_read,
					      reset_reg_write, &port_reset };
		rc = pio_register(vm, &r);
	} else if (acpi.reset.addr && acpi.reset.space != ACPI_SPACE_IO) {
		log_warn("the ACPI reset register is in %s space at %lx: not guarded against the guest",
			 acpi.reset.space == ACPI_SPACE_MEM ? "memory" : "PCI configuration", acpi.reset.addr);
	}
	return rc;
}
