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
#include "keys.h"
#include "link.h"
#include "exports.h"

#define NET_SRV_PEERS 8       /* clients bound at once */
/* A client's slot may go to another client only after it has been silent
 * this long: twice the client's default dead time (180 s), so a client
 * that is still retrying a write never loses the slot that remembers it. */
#define NET_SRV_EVICT_IDLE_US (360ull * 1000000)
#define NET_SRV_MAX_BUFS 512  /* request buffers, NET_MAX_REQ_BYTES each (128 MiB) */
/* Finished writes remembered per client: more than the tags a client may
 * have in flight (NET_TAG_SPAN), so a write it may still retransmit
 * never leaves the cache (docs/protocol.md, "Many requests in flight"). */
#define NET_DUP_CACHE 128
_Static_assert(NET_DUP_CACHE > NET_TAG_SPAN, "the duplicate cache must outlast the client's window");
#define NET_SRV_POLL_BUDGET 64 /* frames handled per net_server_poll call */

struct net_server_cfg {
	const void *key;     /* the master key, key_len >= NET_KEY_MIN bytes; each
	                      * client's key derives from it (net/keys.h) */
	size_t key_len;
	const char *clients; /* the names enrolled, "a,b,c" (no blanks); NULL or "":
	                      * any name whose key derives from the master */
	u64 evict_idle_us;   /* 0: NET_SRV_EVICT_IDLE_US */
	u64 session;         /* non-zero, different on every boot */
	u8 mac[ETH_ALEN];    /* the server's own address */
	/* The exports, device i being exports->e[i]; the caller keeps the
	 * table (the AoE target shares it).  NULL: one export, dev, shared
	 * by every client as before several exports existed. */
	struct net_exports *exports;
	struct blk_dev *dev; /* without exports: the exported disk */
	bool read_only;      /* without exports: export read-only even if the disk is writable */
	/* Request buffers: buf_size / NET_MAX_REQ_BYTES of them (1 to
	 * NET_SRV_MAX_BUFS), 4-byte aligned; the disk reads and writes them
	 * directly, so in ferry they are host-physical = virtual memory (pool
	 * pages or .bss).  One per request in flight across all clients lets
	 * every one proceed without evicting another (main/netrole.c: the
	 * net_buffers key, in MiB: 16 by default, 64 buffers). */
	void *buf;
	size_t buf_size;
	u32 max_frame;       /* the largest frame the link takes (the NIC's under mtu), at most
	                      * NET_FRAME_MAX; 0: NET_FRAME_STD */
};

/* One binding of a client: the ticket naming it, its keys and counters. */
struct net_srv_binding {
	u64 ticket;               /* the server's session for this binding; 0: none */
	struct net_key rx_key;    /* K_c2s */
	struct net_key tx_key;    /* K_s2c */
	struct net_replay win;    /* the client's counters under rx_key */
	u64 tx_counter;           /* last counter sent under tx_key */
	u32 csize;                /* its chunk size: the frames BIND asked for, within ours */
};

/* A client the server knows, by name: its current binding (address,
 * session, the handshake's values, keys and counters), the binding before
 * it until the client uses the new one (so a rebinding whose answer is
 * lost interrupts nothing), and
 * what outlives a rebinding within the client's boot session (its last
 * finished writes and the floors below which write tags are stale). */
struct net_srv_peer {
	bool used;
	char name[NET_NAME_MAX];  /* as on the wire, NUL-padded */
	u8 mac[ETH_ALEN];
	u64 sess;                 /* the client's boot session */
	u8 nc[NET_NONCE_LEN], ns[NET_NONCE_LEN];
	u64 ts;                   /* the binding's cookie time: a BIND not newer is refused */
	u16 dev;                  /* the export its binding is for */
	struct net_srv_binding cur, prev;
	struct net_srv_binding *via; /* the one the frame being answered came under */
	u64 last_use;             /* server clock (us) of its last authentic frame */
	u64 tag_floor;            /* write tags <= this and not in done[] are stale */
	u64 live_floor;           /* the client has given up on tags below this */
	struct {
		u64 tag;              /* 0: empty */
		u32 status;
	} done[NET_DUP_CACHE];
};

/* FREE; READ: a read's data, kept to answer re-requests for missing
 * chunks without reading the disk again; WRITE: a write being
 * reassembled; DISK: a read, write or flush the disk path holds, waiting
 * for the disk or on it (net/server_disk.c), answered when it is done. */
enum net_buf_state { NET_BUF_FREE, NET_BUF_READ, NET_BUF_WRITE, NET_BUF_DISK };

/* A request buffer, one request's data and its state. */
struct net_srv_buf {
	u8 state;                 /* enum net_buf_state */
	u8 peer;                  /* index into peers[] */
	u8 op;                    /* DISK: the enum blk_op */
	bool orphan;              /* DISK: its client's slot was reset: finish without answering */
	bool stale;               /* DISK read: a write over it finished meanwhile: answer, do not keep */
	u64 sess;                 /* that peer's client session when the buffer was taken */
	u64 ticket;               /* the binding the request came under: DISK answers under it */
	u64 tag, lba;
	u32 count, bytes;
	u32 csize, nchunks, nhave; /* write: the chunks being gathered, in the size of their binding */
	u8 have[NET_BITMAP_BYTES];
	u8 want[NET_BITMAP_BYTES]; /* DISK read: the chunks to send when the data is in (size csize) */
	u64 last_use;
	u8 *data;
	u64 disk_t0;              /* DISK: server clock (us) when it entered the disk path */
	/* DISK: what the disk was handed (submit), and the wait for room */
	struct blk_dev *dev;
	struct blk_seg seg;
	struct blk_io io;
	struct net_srv_buf *wait_next;
	bool waiting;
};

/* The last handshake refused, for the log (main/netrole.c): which client
 * (as the frame claimed) and why.  count grows with each. */
enum net_refusal_why {
	NET_REFUSE_UNKNOWN = 1, NET_REFUSE_KEY, NET_REFUSE_BUSY,
	NET_REFUSE_DENIED,            /* the export's clients= does not list it */
	NET_REFUSE_TAKEN,             /* the export has another writer (holder) */
};
struct net_refusal {
	u64 count;
	u8 why;                       /* enum net_refusal_why */
	u16 dev;                      /* DENIED, TAKEN: the export */
	struct net_writer holder;     /* TAKEN: who writes it */
	u8 mac[ETH_ALEN];
	char name[NET_NAME_MAX + 1];  /* printable, '?' for anything else */
};

/* The last export an authenticated ferry BIND took from an AoE
 * initiator's writer record (net/exports.h), for the log.  count grows
 * with each. */
struct net_takeover {
	u64 count;
	u16 dev;
	struct net_writer from;       /* the AoE initiator */
	char name[NET_NAME_MAX + 1];  /* the ferry client, printable */
};

struct net_server {
	struct net_server_cfg cfg;
	struct net_link link;
	struct net_master master;   /* client keys derive from it */
	struct hmac_sha256_ctx cookie; /* this boot's cookie secret */
	struct net_exports *x;      /* cfg.exports, or own */
	struct net_exports own;     /* the one export without cfg.exports */
	struct net_b_devinfo info[NET_EXPORTS_MAX]; /* what DEVINFO says, per export */
	/* Frames sealed this boot: a COOKIE or a refusal is sealed at
	 * ++sealed, and a new binding's counters start above it, so even a
	 * binding whose keys come back (a BIND bound again after its slot was
	 * reset) never seals under a counter used before. */
	u64 sealed;
	u64 nonces;                 /* server nonces made */
	u64 last_ts;                /* the last COOKIE's ts: each one later */
	u64 tickets;                /* tickets issued */
	u64 clock;                  /* buffer LRU clock: requests accepted */
	unsigned nbufs;
	struct net_srv_peer peers[NET_SRV_PEERS];
	struct net_srv_buf bufs[NET_SRV_MAX_BUFS];
	/* The disk path: buffers it holds, and those waiting (oldest first)
	 * for a disk with submit to have room. */
	unsigned disk_held;
	struct net_srv_buf *wait_head, *wait_tail;
	struct net_stats stats;
	struct net_refusal refused;
	struct net_takeover took_over;
	u8 rx[NET_FRAME_MAX], tx[NET_FRAME_MAX];
};

/* 0, or -E_INVAL (bad key, session, buffers, client list or device),
 * -E_NOTSUP (a disk geometry the protocol cannot carry). */
int net_server_init(struct net_server *s, const struct net_server_cfg *cfg, const struct net_link *link);

/* Finishes what the disks finished (answers go out), then handles up to
 * NET_SRV_POLL_BUDGET received frames; returns how many it took from the
 * link (0: nothing was waiting). */
unsigned net_server_poll(struct net_server *s);

/* Requests are on a disk that finishes them later (submit): poll again
 * soon rather than sleep until the next frame or tick. */
static inline bool net_server_disk_busy(const struct net_server *s)
{
	return s->disk_held != 0;
}

#endif
