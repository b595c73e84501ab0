#include "drivers.h"
#include "ahci.h"
#include "ata.h"
#include "e1000.h"
#include "nvme.h"
#include "virtio_net.h"

const struct blk_driver *const blk_drivers[] = {
	&ahci_driver,
	&ata_driver,
	&nvme_driver,
	NULL,
};

/* Each NIC driver adds its line here. */
const struct nic_driver *const nic_drivers[] = {
	&e1000_driver,
	&virtio_net_driver,
	NULL,
};
