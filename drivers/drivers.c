#include "drivers.h"
#include "ahci.h"

const struct blk_driver *const blk_drivers[] = {
	&ahci_driver,
	NULL,
};
