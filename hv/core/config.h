/* ferry's configuration: "key=value" words on the boot command line (from
 * grub.cfg or QEMU's -append).  Every key is listed in docs/configuration.md
 * with its default.  An unknown key or a bad value is reported with the key's
 * name and ferry stops: running with a configuration it did not understand
 * could export the wrong disk. */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include "../lib/types.h"

enum ferry_role {
	ROLE_LOCAL,     /* ferry owns the disk and serves its own guest */
	ROLE_PUMP_ECHO, /* frame pump, echo side (tests, make bench) */
	ROLE_PUMP_SEND, /* frame pump, sending side */
};

enum nic_choice { NIC_ANY, NIC_E1000, NIC_VIRTIO };

struct ferry_config {
	int loglevel;
	enum ferry_role role;
	enum nic_choice nic;
	u32 pump_frames, pump_size, pump_window;
};

extern struct ferry_config config;

/* Parses the command line into `config`.  0, or -E_INVAL after logging one
 * line naming the offending key. */
int config_parse(const char *cmdline);
const char *config_role_name(enum ferry_role r);

#endif
