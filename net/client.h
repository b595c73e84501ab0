/* The ferry block protocol, client side: a struct blk_dev whose disk is on
 * a server ferry across the link (docs/protocol.md).
 *
 * Up to NET_DEPTH requests in flight (submit and poll, platform/blk.h),
 * each under its own tag with its own retransmission timing, sharing one
 * send budget (`burst` standard frames' bytes in flight; a frame costs its
 * length, a standard frame's at least) so neither end's receive ring
 * overflows.  read, write and flush are the synchronous wrappers: submit,
 * then poll until done.  A server that falls silent (it restarts, the
 * cable is out) is waited for up to dead_time_us, with retransmissions and
 * rebinds, so a restart costs the caller time and no error; past that the
 * requests fail. */
#ifndef FERRY_NET_CLIENT_H
#define FERRY_NET_CLIENT_H

#include "proto.h"
#include "keys.h"
#include "link.h"

/* Defaults for fields left 0 in struct net_client_cfg. */
#define NET_RTO_US 20000          /* first retransmission timeout */
#define NET_RTO_MAX_US 320000     /* the timeout doubles up to this */
#define NET_RETRIES 8             /* timeouts in a row without an answer: the server is silent */
#define NET_REBIND_AFTER 3        /* every this many, re-ask the server's session */
#define NET_BURST 64              /* frames per round trip, in standard frames' bytes (net_client.budget) */
#define NET_BURST_MIN 16          /* `burst` left 0 adapts between these two, starting at NET_BURST */
#define NET_BURST_MAX 256
#define NET_REQ_TIMEOUT_US 10000000 /* bound on one request while the server answers */
#define NET_DEAD_TIME_US 180000000ull /* how long a silent server is waited for */
#define NET_BIND_TRIES 3          /* BINDs per cookie; then a new HELLO */
#define NET_DEPTH 64              /* requests held at once (blk_dev.queue_depth) */
#define NET_POLL_FRAMES 256       /* frames taken from the link per net_client_poll */
#define NET_CL_DENIED_MAX 8       /* servers that said DENIED, passed over in one discovery */
#define NET_HELLO_PROBES 2        /* padded HELLOs alone, before unpadded ones follow them */

struct net_client_cfg {
	const void *key;     /* this client's own key K_c (net/keys.h), NET_CLIENT_KEY_LEN bytes */
	size_t key_len;
	const char *name;    /* the client's name (1-32 printable bytes, no blank or ','); NULL or "":
	                      * "mac-" and the address in hex, e.g. mac-525400123456 */
	u64 session;         /* non-zero, different on every boot */
	u8 mac[ETH_ALEN];    /* the client's own address */
	bool want_server;    /* accept only server_mac's answer to HELLO */
	u8 server_mac[ETH_ALEN];
	u16 dev;             /* the export to import (its device index), or NET_DEV_ANY: the
	                      * first the server lets this client have */
	u32 max_frame;       /* the largest frame the link takes (the NIC's under mtu), at most
	                      * NET_FRAME_MAX; 0: NET_FRAME_STD */
	u32 rto_us, rto_max_us, retries, rebind_after, req_timeout_us;
	u32 burst;           /* 0: the budget adapts (client_xfer.c), else fixed at this many */
	u64 dead_time_us;
};

/* A handshake in progress: HELLO sent (and repeated) until a COOKIE comes,
 * then BIND under the new session's keys until its DEVINFO comes.  With
 * max_frame above NET_FRAME_STD the HELLO is padded to it (the probe),
 * and from the NET_HELLO_PROBES-th sending on an unpadded one follows it:
 * the COOKIE that comes first sets the binding's frame size. */
enum { NET_HS_IDLE, NET_HS_HELLO, NET_HS_BIND };
struct net_client_hs {
	u8 phase;                  /* NET_HS_* */
	u64 tag;                   /* of the HELLO, the COOKIE, the BIND and its DEVINFO */
	u8 nc[NET_NONCE_LEN];
	u8 server[ETH_ALEN];       /* the COOKIE's sender */
	u64 srv_sess;              /* its boot session (COOKIE src_sess) */
	struct net_b_cookie ck;    /* what BIND echoes */
	struct net_key tx, rx;     /* the new session's keys */
	u64 counter;               /* last counter sent under tx */
	u64 cookie_at;             /* our clock when the COOKIE came */
	u32 binds;                 /* BINDs sent for this cookie */
	u32 hellos;                /* times HELLO was sent in this handshake */
	u16 frame;                 /* the binding's frames: the COOKIE's length, at least NET_FRAME_STD */
};

/* One request held by the client (net/client_req.c): waiting for an
 * earlier one it must not overtake (platform/blk.h's ordering), or
 * active on the wire. */
enum { NET_RQ_FREE, NET_RQ_WAIT, NET_RQ_ACTIVE, NET_RQ_DONE };
struct net_rq {
	u8 state;          /* NET_RQ_* */
	u8 type;           /* NET_T_READ, _WRITE, _FLUSH or _IDENTIFY */
	bool send;         /* owes the server frames: a read round, a write burst, a probe */
	bool probe;        /* write: the next send is a probe (after a timeout or a rebind) */
	bool on_disk;      /* the server said since the last timeout that it holds it whole on its disk */
	u64 tag, start, deadline;
	u64 give_up;       /* the bound while the server answers: moved on by each outage ridden out */
	u64 hard;          /* the bound, whatever happens: req_timeout_us + dead_time_us */
	u64 rto;
	u32 timeouts;      /* in a row without progress */
	u32 quiet;         /* in a row without a frame from the server */
	u32 credit;        /* bytes of the shared budget this request has in flight (client_xfer.c chunk_cost) */
	bool filled;       /* its last send took the budget past half full: its answer may widen it */
	u32 round_bytes;   /* what its last send cost the budget */
	u64 sent_seq;      /* when it last sent: the client's send_seq then */
	int rc;            /* NET_RQ_DONE: what done gets */
	/* read and write */
	u64 lba;
	u32 count, bytes, nchunks, nhave;
	u32 csize;         /* the chunk size nchunks and the bitmaps count in */
	u32 pending;       /* read: asked for in this round and not yet received */
	u32 last_want;     /* read: highest chunk asked for */
	u8 have[NET_BITMAP_BYTES]; /* read: chunks received; write: chunks the server holds */
	u8 want[NET_BITMAP_BYTES]; /* chunks asked for in this round (read), sent in this burst (write) */
	const struct blk_seg *segs;
	unsigned nseg;
	struct blk_io *io;     /* the submitter's */
	struct blk_info *info; /* identify: where the DEVINFO goes */
};

/* A write the client gave up on (-E_TIMEDOUT) whose late frames could
 * still complete it on the server: a later overlapping request waits
 * until the floor its frames carry (tag - live) is above it. */
struct net_abandoned {
	u64 tag, lba;
	u32 count;
};

struct net_client {
	struct net_client_cfg cfg;
	struct net_link link;
	char ident[NET_NAME_MAX + 1]; /* the client's name, NUL-padded (the wire field) */
	u8 kc[NET_CLIENT_KEY_LEN];    /* K_c: the session keys derive from it */
	struct hmac_sha256_ctx kc_mac; /* K_c as HMAC pads: handshake nonces */
	struct net_key hello_key;     /* K_hello of our boot session: HELLO */
	u64 hello_counter;            /* last counter sent under hello_key */
	struct net_key cookie_key;    /* K_cookie for the server session cookie_ssess */
	u64 cookie_ssess;             /* 0: cookie_key not derived yet */
	struct net_key tx, rx;        /* the bound session's keys: c2s, s2c */
	u64 counter;                  /* last counter sent under tx */
	u64 next_tag;                 /* tags: 1, 2, ... per session, never reused */
	bool bound;                   /* a server answered BIND */
	bool changed;                 /* the server now exports another disk: -E_IO until rediscovered */
	u32 refused;                  /* the last BIND refusal's status (BUSY, DENIED, TAKEN); 0: none */
	/* Discovery without want_server: servers that answered DENIED, whose
	 * COOKIEs it passes over so that another server may take it. */
	u8 denied_by[NET_CL_DENIED_MAX][ETH_ALEN];
	unsigned ndenied;
	u8 server[ETH_ALEN];
	u64 ticket;                   /* the server's session for this binding */
	u64 srv_sess;                 /* the server's boot session (its COOKIE's src_sess) */
	struct net_replay win;        /* the server's counters under rx */
	u16 server_max_frame;         /* the server's largest frame (COOKIE) */
	u16 frame;                    /* the binding's frames (BIND.max_frame) */
	u32 csize;                    /* the binding's chunk size: net_chunk_size(frame) */
	u32 budget;                   /* bytes in flight at most: burst standard frames, or adapting */
	bool adaptive;                /* cfg.burst was 0: budget moves between NET_BURST_MIN and _MAX */
	u64 cut_seq;                  /* send_seq when a loss last narrowed the budget */
	u32 export_id;                /* DEVINFO's: a rebinding to another export is a mismatch */
	struct net_client_hs hs;
	/* The server's liveness: the last authentic frame from it; silent
	 * after `retries` timeouts without one (silent since the last frame
	 * heard, or the request's start if later); dead once silent for
	 * dead_time_us; the length of the last outage ridden out. */
	u64 last_heard, silent_since, last_outage_us;
	bool silent, dead;
	u64 last_discover;            /* our clock when a timeout last sent HELLO or BIND */
	/* The requests held: rq[] by slot, order[] their slots by tag (the
	 * order submitted); credit: bytes in flight of all of them. */
	struct net_rq rq[NET_DEPTH];
	u8 order[NET_DEPTH];
	unsigned held, credit;
	u64 send_seq;                 /* counts requests' sends (rounds, bursts, probes) */
	bool done_any;                /* some rq[] is NET_RQ_DONE */
	struct net_abandoned ab[NET_TAG_SPAN];
	unsigned nab;
	u64 fail_log_at;              /* failed requests' log lines: the window's start, lines in it */
	unsigned fail_logged;
	struct blk_dev blk;           /* ops below; info from DEVINFO */
	char name[32];         /* "net:xx:xx:xx:xx:xx:xx" */
	struct net_stats stats;
	u8 tx_buf[NET_FRAME_MAX], rx_buf[NET_FRAME_MAX], chunk[NET_CHUNK_MAX];
};

/* 0, or -E_INVAL for a bad key, name, session or link. */
int net_client_init(struct net_client *c, const struct net_client_cfg *cfg, const struct net_link *link);

/* Broadcasts HELLO (unicast to cfg.server_mac when want_server) and binds
 * to the first server exporting cfg.dev that answers (COOKIE, BIND,
 * DEVINFO), retransmitting with backoff, for at most timeout_us.  0 and
 * c->blk.info filled in.  A server that says the export is not this
 * client's (STATUS DENIED) ends it at once with -E_ACCES when it is the
 * one server wanted (want_server); else discovery passes that server over
 * and goes on, another may serve us, and returns -E_ACCES at the timeout.
 * Otherwise -E_TIMEDOUT, c->refused saying why when the server refused
 * every BIND (BUSY: no slot; TAKEN: another client writes the export). */
int net_client_discover(struct net_client *c, u64 timeout_us);

/* The back end for the logical device: c->blk, ops calling the functions
 * below.  Valid after net_client_discover succeeded. */
struct blk_dev *net_client_blk(struct net_client *c);

/* struct blk_ops' submit and poll (platform/blk.h): up to NET_DEPTH
 * requests, their done callbacks run from net_client_poll.  submit refuses
 * at once with the codes below (done does not run), -E_NOSPC when full.
 * net_client_poll takes what the link has, retransmits what timed out,
 * sends what the budget allows, completes what finished and returns how
 * many requests are still held; with none held it does nothing. */
int net_client_submit(struct net_client *c, struct blk_io *io);
unsigned net_client_poll(struct net_client *c);

/* Same contract as struct blk_ops (platform/blk.h): segments are host
 * addresses, dereferenced directly.  0, or -E_TIMEDOUT (the server was
 * silent for dead_time_us, or was dead already and stayed silent for
 * `retries` timeouts, or answered uselessly for req_timeout_us), -E_IO (the disk failed, or the server now exports a
 * different disk), -E_RANGE, -E_ROFS, -E_INVAL, -E_NOENT (not bound). */
int net_client_read(struct net_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
int net_client_write(struct net_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
int net_client_flush(struct net_client *c);
/* Asks the server for the device's properties again (into *info). */
int net_client_identify(struct net_client *c, struct blk_info *info);

#endif
