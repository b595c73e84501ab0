#include "drivers.h"
#include "ahci.h"

const struct blk_driver *const blk_drivers[] = {
	&ahci_driver,
	NULL,
};

/* Each NIC driver adds its line here. */
const struct nic_driver *const nic_drivers[] = {
	NULL,
};
