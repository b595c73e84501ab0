/* The ferry block protocol, server side: exports one struct blk_dev to the
 * clients on the link (docs/protocol.md).
 *
 * net_server_poll never waits: it takes the frames the link has, executes
 * the requests they complete on the disk, sends the answers and returns, so
 * it can run from a timer or an interrupt exit while the server's own guest
 * keeps running.  All state is in struct net_server and the request buffers
 * the caller provides; nothing is allocated. */
#ifndef FERRY_NET_SERVER_H
#define FERRY_NET_SERVER_H

#include "proto.h"
#include "link.h"

#define NET_SRV_PEERS 8       /* clients remembered at once (LRU beyond) */
#define NET_SRV_MAX_BUFS 8    /* request buffers, NET_MAX_REQ_BYTES each */
#define NET_DUP_CACHE 16      /* finished writes remembered per client */
#define NET_SRV_POLL_BUDGET 64 /* frames handled per net_server_poll call */

struct net_server_cfg {
	const void *key;     /* the pre-shared key, key_len >= NET_KEY_MIN bytes */
	size_t key_len;
	u64 session;         /* non-zero, different on every boot */
	u8 mac[ETH_ALEN];    /* the server's own address */
	struct blk_dev *dev; /* the exported disk */
	bool read_only;      /* export read-only even if the disk is writable */
	/* Request buffers: buf_size / NET_MAX_REQ_BYTES of them (1 to
	 * NET_SRV_MAX_BUFS), 4-byte aligned; the disk reads and writes them
	 * directly, so in ferry they are host-physical = virtual memory (pool
	 * pages or .bss).  One is enough for one synchronous client; each
	 * further one lets another client's request proceed without evicting. */
	void *buf;
	size_t buf_size;
};

/* A client the server knows: its address and session, the ticket it was
 * given, its replay window and its last finished writes. */
struct net_srv_peer {
	bool used;
	u8 mac[ETH_ALEN];
	u64 sess;                 /* the client's session */
	u64 ticket;               /* the server's session for this client */
	struct net_replay win;    /* the client's counters */
	u64 last_use;
	u64 tag_floor;            /* write tags <= this and not in done[] are stale */
	u64 live_floor;           /* the client has given up on tags below this */
	struct {
		u64 tag;              /* 0: empty */
		u32 status;
	} done[NET_DUP_CACHE];
};

enum net_buf_state { NET_BUF_FREE, NET_BUF_READ, NET_BUF_WRITE };

/* A request buffer: the data of one read (kept to answer re-requests for
 * missing chunks without reading the disk again) or one write being
 * reassembled. */
struct net_srv_buf {
	u8 state;                 /* enum net_buf_state */
	u8 peer;                  /* index into peers[] */
	u64 ticket;               /* that peer's ticket when the buffer was taken */
	u64 tag, lba;
	u32 count, bytes, nchunks, nhave;
	u8 have[NET_BITMAP_BYTES];
	u64 last_use;
	u8 *data;
};

struct net_server {
	struct net_server_cfg cfg;
	struct net_link link;
	struct net_key key;
	struct net_b_devinfo info;  /* what DEVINFO says */
	u64 counter;                /* last counter sent */
	u64 tickets;                /* tickets issued */
	u64 clock;                  /* LRU clock: frames accepted */
	unsigned nbufs;
	struct net_srv_peer peers[NET_SRV_PEERS];
	struct net_srv_buf bufs[NET_SRV_MAX_BUFS];
	struct net_stats stats;
	u8 rx[NET_FRAME_MAX], tx[NET_FRAME_MAX];
};

/* 0, or -E_INVAL (bad key, session, buffers or device), -E_NOTSUP (a disk
 * geometry the protocol cannot carry). */
int net_server_init(struct net_server *s, const struct net_server_cfg *cfg, const struct net_link *link);

/* Handles up to NET_SRV_POLL_BUDGET received frames; returns how many it
 * took from the link (0: nothing was waiting). */
unsigned net_server_poll(struct net_server *s);

#endif
