/* An AoE initiator: a struct blk_dev whose disk is an AoE target across the
 * link (Linux's vblade, a ferry server with aoe = on; docs/aoe.md).
 *
 * Synchronous like the ferry client (net/client.h): each call returns when
 * its request is done, but a request goes out as many frames of scnt
 * sectors with up to `window` of them in flight (the target's buffer
 * count, at most AOE_CL_WINDOW), each retransmitted on its own timeout
 * (2 x smoothed RTT + 4 x its variation, Karn's rule for samples).  AoE has
 * no authentication: any machine on the wire could answer as the target. */
#ifndef FERRY_NET_AOE_CLIENT_H
#define FERRY_NET_AOE_CLIENT_H

#include "aoe.h"
#include "link.h"
#include "platform/blk.h"

#define AOE_CL_WINDOW 64            /* frames in flight, at most */
#define AOE_CL_MAX_SECTORS 256      /* per blk request (the logical device splits) */
#define AOE_CL_RTO_MIN_US 2000
#define AOE_CL_RTO_INIT_US 50000
#define AOE_CL_RTO_MAX_US 2000000
#define AOE_CL_DEAD_US 180000000ull /* a silent target fails requests after this */
#define AOE_CL_QUERY_US 1000000     /* Query Config repeated this often in discovery */

struct aoe_client_cfg {
	u8 mac[ETH_ALEN]; /* the initiator's own address */
	u32 max_frame;    /* the link's largest frame: sectors per frame */
	bool want_target; /* only shelf.slot; else the first target to answer */
	u16 shelf;
	u8 slot;
	u64 dead_time_us; /* 0: AOE_CL_DEAD_US */
};

struct aoe_cl_frame {
	bool busy;
	bool resent;  /* retransmitted: its RTT is no sample (Karn) */
	u32 tag;
	u32 index;    /* frame number within the request */
	u64 sent_at;
};

struct aoe_client_stats {
	u64 tx, rx, retransmits, stale, ata_errors, e_answers;
};

struct aoe_client {
	struct aoe_client_cfg cfg;
	struct net_link link;
	u8 target[ETH_ALEN];   /* the target's MAC (its Query Config answer) */
	u16 shelf;
	u8 slot;
	u32 window, scnt;      /* frames in flight; sectors per frame */
	bool lba48, can_flush;
	u32 next_tag;
	u64 srtt, rttvar, rto; /* microseconds */
	struct aoe_cl_frame fr[AOE_CL_WINDOW];
	struct blk_dev blk;
	char name[32];         /* "aoe:eS.N" */
	struct aoe_client_stats stats;
	u8 tx[NIC_JUMBO_FRAME], rx[NIC_JUMBO_FRAME];
};

/* 0, or -E_INVAL (no send/recv/clock, a frame too small for a sector). */
int aoe_client_init(struct aoe_client *c, const struct aoe_client_cfg *cfg, const struct net_link *link);

/* Finds the target by Query Config (broadcast to shelf.slot, or to all),
 * then learns its size, model, serial and LBA48 by IDENTIFY.  0 and
 * c->blk filled in, or -E_TIMEDOUT after timeout_us, -E_NOTSUP (a target
 * whose IDENTIFY ferry cannot use), -E_IO. */
int aoe_client_discover(struct aoe_client *c, u64 timeout_us);

/* struct blk_ops over the target (platform/blk.h): segments are host
 * addresses, dereferenced directly.  0, or -E_IO (the target's ATA error
 * status or E answer), -E_RANGE, -E_TIMEDOUT (silent for dead_time_us). */
int aoe_client_read(struct aoe_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
int aoe_client_write(struct aoe_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
int aoe_client_flush(struct aoe_client *c);

#endif
