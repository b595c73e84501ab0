/* ferry's configuration: "key=value" words on the boot command line (from
 * grub.cfg or QEMU's -append).  Every key is listed in docs/configuration.md
 * with its default.  An unknown key or a bad value is reported with the key's
 * name and ferry stops: running with a configuration it did not understand
 * could export the wrong disk. */
#ifndef FERRY_CONFIG_H
#define FERRY_CONFIG_H

#include "lib/types.h"

enum ferry_role {
	ROLE_LOCAL,     /* ferry owns the disk and serves its own guest */
	ROLE_CLIENT,    /* the guest's disk is on a server across the network */
	ROLE_SERVER,    /* ferry exports its disk to clients while its guest runs */
	ROLE_PUMP_ECHO, /* frame pump, echo side (tests, make bench) */
	ROLE_PUMP_SEND, /* frame pump, sending side */
};

enum nic_choice { NIC_ANY, NIC_E1000, NIC_VIRTIO };

enum net_protocol {
	PROTO_FERRY, /* ferry's own authenticated protocol (docs/protocol.md) */
	PROTO_AOE,   /* ATA over Ethernet to any AoE target (docs/aoe.md) */
};

#define CONFIG_KEY_MAX 64 /* bytes of key */
#define CONFIG_CLIENT_KEY_LEN 32 /* a client's own key (net/keys.h NET_CLIENT_KEY_LEN) */
#define CONFIG_CLIENT_NAME_MAX 32 /* bytes of a client's name (net/proto.h NET_NAME_MAX) */
#define CONFIG_CLIENTS_MAX 1023 /* bytes of the clients= list */
#define CONFIG_AOE_ALLOW_MAX 16 /* MACs in aoe_allow (net/aoe_target.h AOE_TGT_ALLOW_MAX) */
#define CONFIG_NAME_MAX 63 /* bytes of a file name (kernel, initrd) */
#define CONFIG_DISK_MAX 23 /* bytes of disk=, a disk's name (e.g. nvme0n1, ahci0:port1) */

#define CONFIG_EXPORTS_MAX 8     /* export lines (net/exports.h NET_EXPORTS_MAX) */
#define CONFIG_EXPORT_NAME_MAX 15 /* bytes of an export's name */

/* One disk a server exports (an export line; docs/configuration.md,
 * "Several exports").  Without any line, config_check makes one from
 * disk, read_only and the aoe_* keys, as ferry always did. */
struct config_export {
	char name[CONFIG_EXPORT_NAME_MAX + 1];
	char disk[CONFIG_DISK_MAX + 1];       /* "": the first disk found (the implicit export only) */
	char clients[CONFIG_CLIENTS_MAX + 1]; /* ferry names that may import it; "": every client */
	bool read_only;
	bool shared;                          /* more than one writer at a time is allowed */
	bool aoe;                             /* also served over AoE, as aoe_shelf.aoe_slot */
	u16 aoe_shelf;
	u8 aoe_slot;
	u8 aoe_allow[CONFIG_AOE_ALLOW_MAX][6]; /* the only MACs AoE answers for it; none: all */
	u32 aoe_nallow;
	bool read_only_given, allow_given;    /* in the line; else the server-wide key applies */
};

struct ferry_config {
	int loglevel;
	enum ferry_role role;
	enum nic_choice nic;
	char disk[CONFIG_DISK_MAX + 1]; /* local, server: the disk to own by name; "": the first found */
	u8 key[CONFIG_KEY_MAX]; /* server: the master key; client: its own key */
	u32 key_len;            /* 0: not given */
	char client_name[CONFIG_CLIENT_NAME_MAX + 1]; /* client: its name; "": from its MAC */
	char clients[CONFIG_CLIENTS_MAX + 1];         /* server: enrolled names, "a,b,c"; "": any */
	bool want_server;       /* client: import only from server_mac */
	u8 server_mac[6];
	bool read_only;         /* server: export read-only */
	bool aoe;               /* server: also answer ATA over Ethernet (unauthenticated) */
	u16 aoe_shelf;          /* server: the AoE address shelf.slot */
	u8 aoe_slot;
	bool aoe_addr_given;    /* aoe_shelf or aoe_slot given (the implicit export's) */
	u8 aoe_allow[CONFIG_AOE_ALLOW_MAX][6]; /* server: MACs AoE answers; none: all */
	u32 aoe_nallow;
	struct config_export exports[CONFIG_EXPORTS_MAX]; /* server: after config_check, at least one */
	u32 nexports;
	u32 export_lines;       /* server: export lines given (0: the implicit export) */
	bool want_export;       /* client: export = N given */
	u16 export_index;       /* client: the export to import (ferry's protocol: its device index) */
	enum net_protocol protocol; /* client: what it speaks to its server */
	bool aoe_want_target;       /* client, protocol=aoe: target= given */
	u16 aoe_target_shelf;
	u8 aoe_target_slot;
	bool virtio_blk;        /* local, client: the guest also gets a virtio-blk PCI device */
	bool ncq;               /* AHCI: queue commands (NCQ) where controller and disk can */
	u32 discover_timeout;   /* client: seconds to wait for a server */
	u32 dead_time;          /* client: seconds a silent server is waited for */
	u32 poll_hz;            /* server: how often to look at the network */
	u32 net_buffers;        /* server: MiB of request buffers (reads kept, writes reassembled) */
	u32 burst;              /* client: bytes in flight, in standard frames' worth; 0: net/client.h's NET_BURST */
	u32 mtu;                /* the largest IP-sized payload of a frame ferry sends: 1500 (default) to 9000 */
	u32 pump_frames, pump_size, pump_window;
	bool have_guest_cmds;   /* guest_cmds given: replaces the guest module's string */
	char guest_cmds[4096];
	/* The guest kernel's and the initrd's boot modules, by name (a file
	 * in the USB stick's ferry folder; vm/guest_mods.h); "": not given. */
	char kernel[CONFIG_NAME_MAX + 1];
	char initrd[CONFIG_NAME_MAX + 1];
};

extern struct ferry_config config;

/* The name of the configuration file's boot module: a module whose string
 * is exactly this is ferry's configuration, not its guest. */
#define CONFIG_FILE_NAME "ferry.cfg"
/* True for the configuration file's module: its string is ferry.cfg, or a
 * path ending in /ferry.cfg (QEMU's -initrd gives the path). */
bool config_is_file_module(const char *module_string);

/* Each returns 0, or -E_INVAL after logging one line naming the offending
 * key (and, for the file, the line).  Parse the file first, then the
 * command line, which overrides it; then check what the role needs. */
int config_parse_file(const char *name, const char *text, size_t len);
int config_parse_cmdline(const char *cmdline);
int config_check(void);
/* A copy of cmdline fit for a log line or the screen: the value of every
 * key= word replaced by <hidden>. */
void config_mask_secrets(const char *cmdline, char *out, size_t size);
const char *config_role_name(enum ferry_role r);

#endif
