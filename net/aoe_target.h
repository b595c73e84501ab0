/* An AoE target: exports one struct blk_dev as shelf.slot to AoE initiators
 * (Linux's aoe driver, iPXE's sanboot aoe:) on a link (docs/aoe.md).
 *
 * aoe_target_frame handles one received AoE frame and sends its answer at
 * once; it never waits for anything but the disk.  AoE has no
 * authentication: anyone on the wire who passes the MAC lists may read and
 * write the disk. */
#ifndef FERRY_NET_AOE_TARGET_H
#define FERRY_NET_AOE_TARGET_H

#include "aoe.h"
#include "link.h"
#include "platform/blk.h"

#define AOE_TGT_BUFCNT 64    /* requests an initiator may keep outstanding (Linux: at most 64) */
#define AOE_TGT_ALLOW_MAX 16 /* MACs in the static allow list */
#define AOE_TGT_MASK_MAX 16  /* MACs in the MAC mask list */
#define AOE_TGT_RES_MAX 16   /* MACs in the reserve list */
#define AOE_TGT_MAX_SECTORS 17 /* per frame: a 9000-byte MTU */
#define AOE_TGT_FWVER 0x0001
#define AOE_TGT_PENDING AOE_TGT_BUFCNT /* write answers held for one flush; requests in a run */
#define AOE_TGT_RUN_SECTORS 128 /* consecutive sectors done as one disk command */

struct aoe_target_cfg {
	u16 shelf;           /* 0 to 0xFFFE */
	u8 slot;             /* 0 to 0xFE */
	u8 mac[ETH_ALEN];    /* the target's own address */
	u32 max_frame;       /* the link's largest frame: sectors per command */
	struct blk_dev *dev; /* 512-byte sectors */
	bool read_only;      /* refuse writes even if the disk takes them */
	/* Only these source MACs get any answer; nallow 0: everyone. */
	u8 allow[AOE_TGT_ALLOW_MAX][ETH_ALEN];
	unsigned nallow;
	/* Optional: may the initiator at mac write now?  The writer rule of
	 * an unshared export (net/exports.h); false fails the write (ATA
	 * ABRT) and nothing is written. */
	bool (*may_write)(void *ctx, const u8 *mac);
	void *may_write_ctx;
};

struct aoe_target_stats {
	u64 rx, tx, tx_errors;
	u64 dropped;   /* not for us, refused by a MAC list, a response, a runt */
	u64 errors;    /* answered with the E flag */
	u64 configs, identifies, reads, writes, flushes;
	u64 commits;    /* flushes for batches of writes */
	u64 ata_failed; /* answered with an ATA error status */
	u64 not_allowed;           /* frames for us from a MAC no list allows: silence */
	u8 not_allowed_mac[ETH_ALEN]; /* the last one's source */
	u64 writes_refused;        /* writes may_write refused */
	u8 refused_mac[ETH_ALEN];  /* the last one's source */
};

struct aoe_target {
	struct aoe_target_cfg cfg;
	struct net_link link;
	u32 scnt;                          /* sectors per ATA command */
	u8 cfg_str[AOE_CFG_STR_MAX];       /* the config string (Query Config) */
	u16 cfg_len;
	u8 mask[AOE_TGT_MASK_MAX][ETH_ALEN];
	unsigned nmask;
	u8 dirs[AOE_TGT_MASK_MAX * AOE_DIR_LEN]; /* the mask list's answer */
	u8 res[AOE_TGT_RES_MAX][ETH_ALEN];
	unsigned nres;
	struct aoe_target_stats stats;
	/* Answers to writes done but not yet flushed (aoe_target_commit). */
	struct aoe_msg pending[AOE_TGT_PENDING];
	unsigned npending;
	/* Reads or writes of consecutive sectors waiting to be done as one
	 * disk command (run_buf holds a write run's data, then a read's). */
	struct aoe_msg run[AOE_TGT_PENDING];
	unsigned nrun;
	bool run_write;
	u64 run_lba;
	u32 run_count;
	u8 run_buf[AOE_TGT_RUN_SECTORS * AOE_SECTOR] __aligned(4);
	/* Answers are built here; the disk reads and writes the data part
	 * directly, so in ferry it must be host-physical = virtual (.bss). */
	u8 tx[AOE_ATA_HDR_LEN + AOE_TGT_MAX_SECTORS * AOE_SECTOR] __aligned(4);
	u8 ident[AOE_SECTOR] __aligned(4);
};

/* 0, or -E_INVAL (bad address, no disk, link without send), -E_NOTSUP
 * (sectors other than 512 bytes, a frame too small for one sector). */
int aoe_target_init(struct aoe_target *t, const struct aoe_target_cfg *cfg, const struct net_link *link);

/* Handles one received frame (any EtherType: others are counted as
 * dropped).  Reads and writes of consecutive sectors wait to be done as
 * one disk command, and answers to writes for aoe_target_commit (or for
 * room): each write must be durable before its answer, and one flush for
 * a batch costs far less than one per write. */
void aoe_target_frame(struct aoe_target *t, const u8 *f, size_t len);

/* Executes the waiting run, flushes the disk and sends the held write
 * answers: call it after each batch of frames, before waiting for more.
 * A failed flush fails them all (ATA error status). */
void aoe_target_commit(struct aoe_target *t);

/* The 256 IDENTIFY DEVICE words (ATA8-ACS 7.16) for a disk of info, in
 * wire order (little-endian words), into out[512]. */
void aoe_identify_data(const struct blk_info *info, u32 max_sectors, u8 *out);

#endif
