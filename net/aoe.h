/* ATA over Ethernet (AoE r11): the frame codec, independent of any NIC
 * (docs/aoe.md).  aoe_decode checks a received frame and points into it;
 * aoe_encode builds one.  Offsets are from the start of the Ethernet frame;
 * multi-byte fields are big-endian except the ATA LBA (little-endian). */
#ifndef FERRY_NET_AOE_H
#define FERRY_NET_AOE_H

#include "lib/types.h"
#include "platform/nic.h"

#define AOE_ETHERTYPE 0x88A2
#define AOE_VERSION 1
#define AOE_HDR_LEN 24       /* Ethernet 14 + AoE common header 10 */
#define AOE_ATA_HDR_LEN 36   /* + the ATA argument block (12) */
#define AOE_CFG_HDR_LEN 32   /* + the Query Config block (8) */
#define AOE_MASK_HDR_LEN 28  /* + the MAC mask list block (4) */
#define AOE_RES_HDR_LEN 26   /* + the reserve/release block (2) */
#define AOE_CFG_STR_MAX 1024 /* r11 3.2: config string length */
#define AOE_SECTOR 512
#define AOE_BCAST_SHELF 0xFFFF
#define AOE_BCAST_SLOT 0xFF

/* Byte 14: version (high nibble) and flags. */
#define AOE_F_RESP 0x08  /* R: a response */
#define AOE_F_ERR 0x04   /* E: error field valid */

/* Byte 15: error (with AOE_F_ERR). */
enum aoe_error {
	AOE_ERR_CMD = 1,      /* unrecognized command code */
	AOE_ERR_ARG = 2,      /* bad argument parameter */
	AOE_ERR_DEV = 3,      /* device unavailable */
	AOE_ERR_CFG = 4,      /* config string present */
	AOE_ERR_VER = 5,      /* unsupported version */
	AOE_ERR_RESERVED = 6, /* target is reserved */
};

/* Byte 19. */
enum aoe_cmd { AOE_CMD_ATA = 0, AOE_CMD_CFG = 1, AOE_CMD_MASK = 2, AOE_CMD_RESERVE = 3 };

/* ATA argument block, byte 24: aflags. */
#define AOE_AF_EXT 0x40   /* E: LBA48 register layout */
#define AOE_AF_DEV 0x10   /* D: device/head register (obsolete) */
#define AOE_AF_ASYNC 0x02 /* A: asynchronous write (answer before writing) */
#define AOE_AF_WRITE 0x01 /* W: data follows the request */

/* Query Config ccmd (low nibble of byte 29). */
enum aoe_ccmd {
	AOE_CCMD_READ = 0,
	AOE_CCMD_TEST = 1,   /* answer only if the string matches exactly */
	AOE_CCMD_PREFIX = 2, /* answer only if the string starts with it */
	AOE_CCMD_SET = 3,    /* set if empty, else error 4 */
	AOE_CCMD_FORCE = 4,  /* set */
};

/* MAC mask list (r11 3.3). */
enum aoe_mcmd { AOE_MCMD_READ = 0, AOE_MCMD_EDIT = 1 };
enum aoe_merror { AOE_MERR_UNSPEC = 1, AOE_MERR_BADDIR = 2, AOE_MERR_FULL = 3 };
enum aoe_dcmd { AOE_DCMD_NONE = 0, AOE_DCMD_ADD = 1, AOE_DCMD_DEL = 2 };
#define AOE_DIR_LEN 8 /* {reserved, dcmd, mac[6]} */

/* Reserve/release (r11 3.4). */
enum aoe_rcmd { AOE_RCMD_READ = 0, AOE_RCMD_SET = 1, AOE_RCMD_FORCE = 2 };

/* ATA commands a target handles (ATA/ATAPI-7). */
#define ATA_CMD_READ 0x20
#define ATA_CMD_READ_EXT 0x24
#define ATA_CMD_WRITE 0x30
#define ATA_CMD_WRITE_EXT 0x34
#define ATA_CMD_FLUSH 0xE7
#define ATA_CMD_FLUSH_EXT 0xEA
#define ATA_CMD_IDENTIFY 0xEC
#define ATA_ST_ERR 0x01  /* status: error register valid */
#define ATA_ST_DRQ 0x08
#define ATA_ST_DF 0x20
#define ATA_ST_DRDY 0x40
#define ATA_ST_BSY 0x80
#define ATA_ST_FAIL (ATA_ST_BSY | ATA_ST_DF | ATA_ST_DRQ | ATA_ST_ERR) /* 0xa9: what Linux tests */
#define ATA_ER_ABRT 0x04 /* error: command aborted */
#define ATA_ER_IDNF 0x10 /* error: address not found */
#define ATA_ER_UNC 0x40  /* error: uncorrectable data */
#define ATA_DEV_LBA 0x40 /* device register: LBA addressing */
#define ATA_LBA28_MAX 0x0FFFFFFFull
#define ATA_LBA48_MAX 0xFFFFFFFFFFFFull

/* What aoe_decode says of a frame. */
enum aoe_verdict {
	AOE_OK = 0,
	AOE_BAD_SHORT,   /* shorter than the common header: nothing to answer */
	AOE_BAD_TYPE,    /* not EtherType 0x88A2 */
	AOE_BAD_VERSION, /* header valid, version not 1: answer error 5 */
	AOE_BAD_CMD,     /* header valid, command unknown: answer error 1 */
	AOE_BAD_ARG,     /* header valid, the command's block short or inconsistent: error 2 */
};

struct aoe_ata {
	u8 aflags, feature, count, cmd; /* feature/error, command/status */
	u8 lba[6];                      /* as on the wire, lba0 first */
	const u8 *data;                 /* after the block: data and any padding */
	size_t data_len;
};

struct aoe_cfg {
	u16 bufcnt, fwver;
	u8 scnt;   /* sectors per ATA command */
	u8 ver;    /* AoE version of the target (high nibble of byte 29) */
	u8 ccmd;
	u16 len;
	const u8 *str;
};

struct aoe_mask {
	u8 mcmd, merror, ndir;
	const u8 *dir; /* ndir directives of AOE_DIR_LEN bytes */
};

struct aoe_reserve {
	u8 rcmd, nmacs;
	const u8 *macs; /* nmacs addresses of ETH_ALEN bytes */
};

struct aoe_msg {
	u8 dst[ETH_ALEN], src[ETH_ALEN];
	u8 ver, flags; /* flags: AOE_F_* (low nibble of byte 14) */
	u8 error;
	u16 shelf;
	u8 slot, cmd;
	u32 tag;
	union {
		struct aoe_ata ata;
		struct aoe_cfg cfg;
		struct aoe_mask mask;
		struct aoe_reserve res;
	} b;
};

/* Checks len bytes of frame f and fills *m (pointing into f): AOE_OK or
 * the verdict.  With AOE_BAD_VERSION, _CMD and _ARG the common header of
 * *m is valid, so a target can answer the error.  Bytes after a command's
 * own fields (Ethernet padding) are tolerated. */
int aoe_decode(const u8 *f, size_t len, struct aoe_msg *m);

/* Writes m as a frame into f (cap bytes): the length, or 0 when it does
 * not fit or a field is out of range.  The pointers of m's block say what
 * follows it: ATA data, the config string, directives or MACs. */
size_t aoe_encode(u8 *f, size_t cap, const struct aoe_msg *m);

/* The ATA block's address: 48 bits with AOE_AF_EXT, else 28 (the low
 * nibble of lba3 is bits 24-27, its high nibble the device register). */
u64 aoe_ata_lba(const struct aoe_ata *a);
/* Stores lba for the layout aflags selects; 28-bit mode also writes the
 * device register (LBA bit and the obsolete bits 7 and 5: 0xE0). */
void aoe_ata_set_lba(struct aoe_ata *a, u64 lba);

/* The i-th directive of a mask list (i < ndir). */
static inline u8 aoe_dir_cmd(const struct aoe_mask *mk, unsigned i) { return mk->dir[i * AOE_DIR_LEN + 1]; }
static inline const u8 *aoe_dir_mac(const struct aoe_mask *mk, unsigned i) { return mk->dir + i * AOE_DIR_LEN + 2; }

/* Sectors of AOE_SECTOR bytes an ATA frame of at most max_frame bytes
 * carries (a 1514-byte frame: 2), at most 255. */
u32 aoe_sectors_per_frame(u32 max_frame);

#endif
