/* Machine power-off and reset (platform/power.h). */
#include "power.h"
#include "acpi.h"
#include "console.h"
#include "time.h"
#include "x86/io.h"

void machine_acpi_sleep(u16 pm1a_val, u16 pm1b_val)
{
	if (!acpi.pm1a_cnt)
		return;
	outw(acpi.pm1a_cnt, pm1a_val);
	if (acpi.pm1b_cnt)
		outw(acpi.pm1b_cnt, pm1b_val);
	udelay(100000);
	log_err("the machine did not power off");
}

void machine_reset(void)
{
	if (acpi.reset.addr && acpi.reset.space == ACPI_SPACE_IO && acpi.reset.addr <= 0xFFFF) {
		outb((u16)acpi.reset.addr, acpi.reset_value);
		udelay(50000);
	}
	outb(0xCF9, 0x02); /* the reset control register: request a hard reset */
	outb(0xCF9, 0x06);
	udelay(50000);
	outb(0x64, 0xFE);  /* the keyboard controller's reset line */
	udelay(50000);
	log_err("the machine did not reset");
}
