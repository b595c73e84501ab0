/* Powering the machine off and resetting it, for ferry's orderly stop
 * after its guest asked for either (vm/guest_power.h). */
#ifndef FERRY_POWER_H
#define FERRY_POWER_H

#include "lib/types.h"

/* Writes the PM1 control values the guest's firmware tables chose (with
 * SLP_EN) to the FADT's PM1a/PM1b ports.  Returns if the machine is still
 * on (no ACPI, or it did not take them). */
void machine_acpi_sleep(u16 pm1a_val, u16 pm1b_val);
/* Resets the machine: the FADT's reset register, else 0xCF9, else the
 * keyboard controller.  Returns only if all three failed. */
void machine_reset(void);

#endif
