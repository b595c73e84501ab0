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
	ROLE_CLIENT,    /* the guest's disk is on a server across the network */
	ROLE_SERVER,    /* ferry exports its disk to clients while its guest runs */
	ROLE_PUMP_ECHO, /* frame pump, echo side (tests, make bench) */
	ROLE_PUMP_SEND, /* frame pump, sending side */
};

enum nic_choice { NIC_ANY, NIC_E1000, NIC_VIRTIO };

#define CONFIG_KEY_MAX 64 /* bytes of pre-shared key */

struct ferry_config {
	int loglevel;
	enum ferry_role role;
	enum nic_choice nic;
	u8 key[CONFIG_KEY_MAX]; /* the network's pre-shared key */
	u32 key_len;            /* 0: not given */
	bool want_server;       /* client: import only from server_mac */
	u8 server_mac[6];
	bool read_only;         /* server: export read-only */
	u32 discover_timeout;   /* client: seconds to wait for a server */
	u32 poll_hz;            /* server: how often to look at the network */
	u32 pump_frames, pump_size, pump_window;
};

extern struct ferry_config config;

/* Parses the command line into `config`, then checks that the keys the
 * role needs are there.  0, or -E_INVAL after logging one line naming the
 * offending key. */
int config_parse(const char *cmdline);
const char *config_role_name(enum ferry_role r);

#endif
