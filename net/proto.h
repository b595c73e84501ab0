/* The ferry block protocol: wire format, codec, frame protection and
 * replay window.
 *
 * A client ferry (no disk) carries its guest's block commands over raw
 * Ethernet (EtherType 0x88B5) to a server ferry that owns the disk.  This
 * file is the wire format only: pure logic, no hardware, no clock.  The
 * state machines are in net/client.c and net/server.c; docs/protocol.md
 * describes everything here with byte offsets and the reasoning.
 *
 * A frame is:
 *
 *   Ethernet header (14) | ferry header (40) | body (hdr.len bytes) | tag (16)
 *
 * at most 1514 bytes, or up to 9014 on a binding whose two ends and link
 * carry jumbo frames (docs/protocol.md, "Frame size").  All multi-byte
 * fields after the EtherType are
 * little-endian (ferry runs on x86 only; the structs below are its native
 * layout, and a _Static_assert refuses a big-endian build).
 *
 * Every frame is sealed with AEAD_CHACHA20_POLY1305 (RFC 8439, lib/aead.h)
 * under the key of its direction (net/keys.h): the nonce is the direction
 * (4 bytes, 1 = client to server, 2 = server to client, known from the
 * type) followed by the frame's counter (8 bytes); the additional data is
 * the Ethernet and ferry headers; the body is the ciphertext and the tag
 * follows it.  The handshake's bodies (HELLO, COOKIE, BIND) hold nothing
 * secret and are read before the key is known, so for those three types
 * the body is additional data too and the ciphertext is empty.  A sender
 * never seals two frames under one (key, counter): net_encode refuses a
 * counter not above the last one sealed under the key. */
#ifndef FERRY_NET_PROTO_H
#define FERRY_NET_PROTO_H

#include "lib/types.h"
#include "lib/sha256.h"
#include "lib/aead.h"
#include "platform/nic.h"
#include "platform/blk.h"

#define NET_ETHERTYPE 0x88B5 /* IEEE 802 local experimental 1 */
#define NET_VERSION 4 /* 3: 1514-byte frames only; 2: HMAC-SHA-256-128, bodies in the clear */

#define NET_HDR_LEN 40  /* the ferry header */
#define NET_MAC_LEN AEAD_TAG_LEN /* the Poly1305 tag */
#define NET_OVERHEAD (ETH_HLEN + NET_HDR_LEN + NET_MAC_LEN)  /* 70 */
#define NET_DATA_HDR_LEN 16                                /* DATA / WRITE body before the data */
/* Frames: every link carries NET_FRAME_STD bytes, and the handshake's
 * frames are that long (HELLO and COOKIE may be padded: the probe).  A
 * binding's frames are as long as both ends announce and the probe
 * proves the link carries, at most NET_FRAME_MAX; its chunks of data
 * fill them (net_chunk_size). */
#define NET_FRAME_STD NIC_MAX_FRAME                        /* 1514 */
#define NET_FRAME_MAX NIC_JUMBO_FRAME                      /* 9014 */
#define NET_BODY_MAX (NET_FRAME_MAX - NET_OVERHEAD)        /* 8944 */
#define NET_CHUNK_STD (NET_FRAME_STD - NET_OVERHEAD - NET_DATA_HDR_LEN) /* 1428 data bytes per frame */
#define NET_CHUNK_MAX (NET_FRAME_MAX - NET_OVERHEAD - NET_DATA_HDR_LEN) /* 8928 */

/* One request moves at most NET_MAX_REQ_BYTES, cut into chunks of its
 * binding's chunk size (the last one shorter); chunk sets travel as
 * bitmaps of NET_MAX_CHUNKS bits. */
#define NET_MAX_REQ_BYTES (256 * 1024)
#define NET_MAX_CHUNKS 256
#define NET_BITMAP_BYTES (NET_MAX_CHUNKS / 8)
#define NET_MIN_SECTOR 512
#define NET_MAX_SECTOR 4096
#define NET_KEY_MIN 16 /* bytes of the server's master key, at least */
#define NET_NAME_MAX 32 /* bytes of a client's name */
#define NET_NONCE_LEN 16
#define NET_COOKIE_LEN 16
/* Largest frames a peer may announce (HELLO, COOKIE, BIND); a binding
 * uses at most NET_FRAME_MAX of it. */
#define NET_FRAME_ANNOUNCE_MAX 9216
/* A client sends a request only while its tag is less than this far above
 * the oldest request it still waits for: live < NET_TAG_SPAN.  The
 * server's duplicate cache holds more finished writes than that, so a
 * write the client may still retransmit never leaves it (docs/protocol.md,
 * "Many requests in flight"). */
#define NET_TAG_SPAN 120

_Static_assert(NET_MAX_REQ_BYTES <= (u64)NET_MAX_CHUNKS * NET_CHUNK_STD, "chunk bitmap too small");
_Static_assert(NET_MAX_REQ_BYTES % NET_MAX_SECTOR == 0, "whole sectors per request");

/* Message types.  C = client to server, S = server to client. */
enum net_type {
	NET_T_HELLO = 1,    /* C, broadcast or unicast: who exports what? (under K_hello) */
	NET_T_DEVINFO = 2,  /* S: one exported device (answers BIND, IDENTIFY) */
	NET_T_IDENTIFY = 3, /* C: DEVINFO again, on the bound session */
	NET_T_READ = 4,     /* C: read, and which chunks of the data to send */
	NET_T_DATA = 5,     /* S: one chunk of read data */
	NET_T_WRITE = 6,    /* C: one chunk of write data (carries the request) */
	NET_T_NEED = 7,     /* S: which chunks of a write have arrived */
	NET_T_FLUSH = 8,    /* C: flush the disk's write cache */
	NET_T_STATUS = 9,   /* S: a request finished (write, flush, any error), or a BIND refused */
	NET_T_COOKIE = 10,  /* S: answers HELLO with a cookie; the server keeps no state */
	NET_T_BIND = 11,    /* C: echoes the cookie, under the new session's key */
	NET_T_MAX = NET_T_BIND,
};

/* Header flags (others must be 0). */
#define NET_F_ACK_REQ 0x0001 /* WRITE only: answer with NEED or STATUS */
#define NET_F_LAST 0x0002    /* DATA only: last chunk of this answer */

/* Wire status codes (STATUS.status). */
enum net_status {
	NET_ST_OK = 0,
	NET_ST_IO = 1,     /* the disk failed */
	NET_ST_RANGE = 2,  /* LBA / count out of range */
	NET_ST_ROFS = 3,   /* write to a read-only export */
	NET_ST_INVAL = 4,  /* inconsistent request */
	NET_ST_NODEV = 5,  /* no such device index */
	NET_ST_BUSY = 6,   /* BIND: every client slot is in use by an active client */
	NET_ST_DENIED = 7, /* BIND: this client may not import that export (its clients=) */
	NET_ST_TAKEN = 8,  /* BIND, WRITE: the export is writable, not shared, and another client (or AoE initiator) writes it */
	NET_ST_COUNT,
};

#define NET_DEV_ANY 0xFFFF        /* HELLO: every device */
#define NET_DEVINFO_READ_ONLY 0x1u /* DEVINFO.flags */

/* ---- Layouts.  Offsets in comments are from the start of the frame. --- */

struct net_eth {
	u8 dst[ETH_ALEN];  /* 0 */
	u8 src[ETH_ALEN];  /* 6 */
	u8 type_be[2];     /* 12: 0x88 0xB5 */
} __packed;
_Static_assert(sizeof(struct net_eth) == ETH_HLEN, "eth layout");

struct net_hdr {
	u8 version;    /* 14: NET_VERSION */
	u8 type;       /* 15: enum net_type */
	u16 flags;     /* 16: NET_F_* */
	u16 len;       /* 18: body bytes (data included), tag excluded */
	u16 live;      /* 20: requests: tag - live = the client's oldest request
	                *     still outstanding (0: this is the only one);
	                *     HELLO, BIND and server frames: 0 */
	u64 src_sess;  /* 22: sender's session (client: per boot; server: its
	                *     boot session in COOKIE, the binding's ticket after) */
	u64 dst_sess;  /* 30: receiver's session as the sender knows it */
	u64 counter;   /* 38: sender's frame counter, never 0, strictly increasing */
	u64 tag;       /* 46: request tag, chosen by the client, never 0 */
} __packed;        /* body at 54 */
_Static_assert(sizeof(struct net_hdr) == NET_HDR_LEN, "header layout");

/* IDENTIFY, FLUSH. */
struct net_b_dev {
	u16 dev;        /* 54: device index, not NET_DEV_ANY */
	u16 reserved0;  /* 56 */
	u32 reserved1;  /* 58 */
} __packed;
_Static_assert(sizeof(struct net_b_dev) == 8, "dev body");

/* HELLO: as long as COOKIE, so answering one sends no more bytes than
 * it took (no amplification); a COOKIE is padded to at most its HELLO's
 * length. */
struct net_b_hello {
	char name[NET_NAME_MAX];  /* 54: the client's name, NUL-padded (net_name_ok) */
	u8 nc[NET_NONCE_LEN];     /* 86: client nonce, fresh per handshake */
	u16 dev;                  /* 102: device wanted, or NET_DEV_ANY */
	u16 max_frame;            /* 104: largest frame the client takes, 1514-9216 */
	u8 reserved[12];          /* 106 */
} __packed;
_Static_assert(sizeof(struct net_b_hello) == 64, "hello body");

struct net_b_cookie {
	u8 nc[NET_NONCE_LEN];       /* 54: the HELLO's */
	u8 ns[NET_NONCE_LEN];       /* 70: server nonce */
	u64 ts;                     /* 86: the server's clock (us) when it answered, never 0 */
	u8 cookie[NET_COOKIE_LEN];  /* 94: proof, to the server alone, that it sent this */
	u16 dev;                    /* 110: the device offered, not NET_DEV_ANY */
	u16 max_frame;              /* 112: largest frame the server takes, 1514-9216 */
	u32 reserved;               /* 114 */
} __packed;
_Static_assert(sizeof(struct net_b_cookie) == 64, "cookie body");
/* A HELLO or COOKIE of pad bytes of padding is this long. */
#define NET_HS_FRAME(pad) (NET_OVERHEAD + 64 + (pad))

struct net_b_bind {
	char name[NET_NAME_MAX];    /* 54: as in the HELLO */
	u8 nc[NET_NONCE_LEN];       /* 86: as in the HELLO and COOKIE */
	u8 ns[NET_NONCE_LEN];       /* 102: as in the COOKIE */
	u64 ts;                     /* 118: as in the COOKIE */
	u8 cookie[NET_COOKIE_LEN];  /* 126: as in the COOKIE */
	u16 dev;                    /* 142: as in the COOKIE */
	u16 max_frame;              /* 144: the binding's frames: the COOKIE's length (at least 1514) */
	u32 reserved;               /* 146 */
} __packed;
_Static_assert(sizeof(struct net_b_bind) == 96, "bind body");

struct net_b_devinfo {
	u16 dev;            /* 54: this device's index */
	u16 ndev;           /* 56: devices exported (dev < ndev) */
	u32 flags;          /* 58: NET_DEVINFO_READ_ONLY */
	u64 sectors;        /* 62: capacity, >= 1 */
	u32 sector_size;    /* 70: 512 or 4096 (power of two, 512-4096) */
	u32 max_sectors;    /* 74: per request, max_sectors * sector_size <= NET_MAX_REQ_BYTES */
	char model[40];     /* 78: printable ASCII, NUL-padded */
	char serial[20];    /* 118: printable ASCII, NUL-padded */
	u32 export_id;      /* 138: the export's name hashed (net_export_id); a client rebinding checks it */
} __packed;
_Static_assert(sizeof(struct net_b_devinfo) == 88, "devinfo body");

struct net_b_read {
	u16 dev;                    /* 54 */
	u16 reserved;               /* 56 */
	u32 count;                  /* 58: sectors */
	u64 lba;                    /* 62 */
	u8 want[NET_BITMAP_BYTES];  /* 70: chunks to send, bit i = byte i/8 bit i%8 */
} __packed;
_Static_assert(sizeof(struct net_b_read) == 48, "read body");

/* DATA and WRITE; followed by the chunk's bytes. */
struct net_b_data {
	u16 dev;     /* 54 */
	u16 chunk;   /* 56: index; data starts at byte chunk * (the binding's chunk size) of the request */
	u32 count;   /* 58: sectors of the whole request */
	u64 lba;     /* 62: first sector of the whole request */
} __packed;      /* data at 70 */
_Static_assert(sizeof(struct net_b_data) == NET_DATA_HDR_LEN, "data body");

struct net_b_need {
	u16 nchunks;               /* 54: chunks of the request */
	u16 reserved0;             /* 56 */
	u32 reserved1;             /* 58 */
	u8 have[NET_BITMAP_BYTES]; /* 62: chunks the server holds */
} __packed;
_Static_assert(sizeof(struct net_b_need) == 40, "need body");

struct net_b_status {
	u32 status;    /* 54: enum net_status */
	u32 reserved;  /* 58 */
} __packed;
_Static_assert(sizeof(struct net_b_status) == 8, "status body");

/* A decoded (or to-be-encoded) message. */
struct net_msg {
	u8 dst[ETH_ALEN], src[ETH_ALEN];
	u8 type;
	u16 flags;
	u16 live;
	u64 src_sess, dst_sess, counter, tag;
	union {
		struct net_b_hello hello;
		struct net_b_cookie cookie;
		struct net_b_bind bind;
		struct net_b_dev dev;
		struct net_b_devinfo info;
		struct net_b_read read;
		struct net_b_data data;
		struct net_b_need need;
		struct net_b_status status;
	} b;
	const u8 *data;  /* DATA / WRITE: the chunk (decode: points into the frame) */
	u32 data_len;
	bool data_sealed; /* net_decode_keep: data is still ciphertext (net_data_open) */
	/* HELLO, COOKIE: zero bytes after the body, which make the frame as
	 * long as the frame size it probes for; else 0. */
	u32 pad;
};

/* ---- Keys and the codec -------------------------------------------------- */

/* One direction's key: a handshake key or a session key (net/keys.h).
 * sent is the highest counter net_encode sealed under it; it refuses any
 * counter not above, so no (key, nonce) pair seals two frames.  A copy of
 * the struct carries sent along, so keys move between owners as a whole. */
struct net_key {
	u8 k[AEAD_KEY_LEN];
	u64 sent;
};
void net_key_init(struct net_key *k, const u8 key[AEAD_KEY_LEN]);
void net_key_wipe(struct net_key *k);

/* The direction of a message type: NET_DIR_C2S or NET_DIR_S2C (the
 * nonce's first word). */
enum { NET_DIR_C2S = 1, NET_DIR_S2C = 2 };
u32 net_type_dir(u8 type);
/* Is the body of this type additional data (the handshake's), not
 * ciphertext? */
bool net_body_clear(u8 type);

/* Why net_decode refused a frame (0: accepted). */
enum net_verdict {
	NET_OK = 0,
	NET_DROP_NOT_OURS,  /* shorter than an Ethernet header, or another EtherType */
	NET_DROP_DST,       /* destination is neither self nor broadcast */
	NET_DROP_LEN,       /* truncated, oversize, or hdr.len disagrees with the frame length */
	NET_DROP_VERSION,   /* hdr.version != NET_VERSION */
	NET_DROP_MAC,       /* the tag does not verify (tampered, or another key) */
	NET_DROP_TYPE,      /* authentic, but an unknown message type */
	NET_DROP_MALFORMED, /* authentic, but a field breaks the rules */
	NET_VERDICT_COUNT,
};
const char *net_verdict_name(int v);

/* Bytes of body (data included) a message of this shape carries, or 0 for
 * an unknown type. */
u32 net_body_len(u8 type, u32 data_len);

/* Encodes and seals m into out (NET_FRAME_MAX bytes) under key.  Returns
 * the frame length, or -E_INVAL when m breaks a rule the decoder enforces
 * (the encoder never emits a frame its peer would refuse) or m->counter is
 * not above key->sent; on success key->sent becomes m->counter. */
int net_encode(u8 *out, struct net_key *key, const struct net_msg *m);

/* Parses, authenticates and decrypts frame in place: 0 and *m (m->data
 * points into frame), or a NET_DROP_* reason.  A frame refused before its
 * tag verified is unchanged; one refused after (NET_DROP_TYPE,
 * NET_DROP_MALFORMED) has its body decrypted.  self
 * (may be NULL: any destination) is the receiver's MAC address; broadcast
 * is accepted as well, and the role decides which types may arrive so. */
int net_decode(u8 *frame, size_t len, const struct net_key *key, const u8 *self, struct net_msg *m);

/* The same, but a DATA or WRITE frame's data is left sealed (authentic:
 * the tag covered it) and m->data_sealed set: net_data_open decrypts it
 * piece by piece to where it belongs, one pass instead of a decryption
 * in place and a copy.  Every other field of *m is as net_decode's. */
int net_decode_keep(u8 *frame, size_t len, const struct net_key *key, const u8 *self, struct net_msg *m);
/* Bytes [off, off + n) of m's data (off + n <= m->data_len), plaintext,
 * to dst: decrypted under key (the one m was decoded with) when sealed,
 * copied when not. */
void net_data_open(const struct net_key *key, const struct net_msg *m, u32 off, void *dst, u32 n);
/* The same for a chunk that goes to several places (the guest's buffers),
 * piece after piece, front to back: net_open_begin at byte off of m's
 * data, net_open_next for each following piece (n bytes to dst; in all
 * at most m->data_len - off: what lies past the data is never read, a
 * piece is cut short there), net_open_end.  Each keystream block is
 * computed once, where net_data_open per piece computes the one at each
 * seam twice. */
struct net_opener {
	struct chacha20_stream cs;
	const struct net_msg *m;
	u32 at; /* the next piece's offset in m's data */
};
void net_open_begin(struct net_opener *o, const struct net_key *key, const struct net_msg *m, u32 off);
void net_open_next(struct net_opener *o, void *dst, u32 n);
void net_open_end(struct net_opener *o);

/* The checks before the tag (EtherType, destination, lengths, version):
 * 0 and the header, or NET_DROP_*.  The roles use it to choose the key a
 * frame must verify under (by its type, ticket or client name) before
 * net_decode authenticates it.  A frame of another protocol version is
 * NET_DROP_VERSION with h->version set (the roles log it). */
int net_peek(const u8 *frame, size_t len, const u8 *self, struct net_hdr *h);

/* A client name: 1 to NET_NAME_MAX bytes of printable ASCII other than
 * blank and ',', NUL-padded to n bytes (n >= len).  Returns the length, or
 * 0 when the field breaks the rule. */
size_t net_name_len(const char *field, size_t n);

/* The field rules shared by net_encode and net_decode: 0 or NET_DROP_*. */
int net_check(const struct net_msg *m);

/* DEVINFO <-> struct blk_info.  net_devinfo_to_blk expects a checked
 * message; net_blk_to_devinfo returns -E_NOTSUP for a geometry the protocol
 * cannot carry. */
void net_devinfo_to_blk(const struct net_b_devinfo *d, struct blk_info *info);
int net_blk_to_devinfo(const struct blk_info *info, bool read_only, struct net_b_devinfo *d);

/* Wire status <-> 0 / -E_*. */
int net_status_to_err(u32 st);
u32 net_err_to_status(int err);

/* ---- Replay window --------------------------------------------------------
 * Per (sender MAC, sender session): the highest counter seen and which of
 * the NET_REPLAY_WINDOW counters at and below it have been seen.  Counters
 * further back than the window are refused. */
#define NET_REPLAY_WINDOW 64
/* A counter further than this above the highest seen is refused, so even
 * a holder of the session key cannot push the window far ahead. */
#define NET_REPLAY_JUMP (1ull << 20)

struct net_replay {
	u64 top;   /* highest counter accepted; 0: none yet */
	u64 seen;  /* bit i: counter top - i accepted */
};

static inline void net_replay_init(struct net_replay *w)
{
	w->top = 0;
	w->seen = 0;
}
enum { NET_RP_FRESH, NET_RP_OLD, NET_RP_JUMP };
/* Is ctr fresh (NET_RP_FRESH), seen or too old (NET_RP_OLD), or too far
 * ahead (NET_RP_JUMP)?  Does not change the window. */
int net_replay_judge(const struct net_replay *w, u64 ctr);
/* Would ctr be fresh? */
bool net_replay_fresh(const struct net_replay *w, u64 ctr);
/* Records ctr as seen; call only after the frame authenticated. */
void net_replay_mark(struct net_replay *w, u64 ctr);
/* Both: true when ctr was fresh (and is now recorded). */
bool net_replay_accept(struct net_replay *w, u64 ctr);

/* ---- Chunks and bitmaps ----------------------------------------------------- */

/* The chunk size of a binding whose frames are up to frame bytes
 * (NET_FRAME_STD to NET_FRAME_MAX): one chunk fills a DATA or WRITE. */
static inline u32 net_chunk_size(u32 frame)
{
	return frame - NET_OVERHEAD - NET_DATA_HDR_LEN;
}
/* Chunks of csize bytes in a request of `bytes` bytes. */
static inline u32 net_chunks(u32 bytes, u32 csize)
{
	return (bytes + csize - 1) / csize;
}
/* Length of chunk i of a request of `bytes` bytes. */
static inline u32 net_chunk_len(u32 bytes, u32 i, u32 csize)
{
	u32 off = i * csize;
	return bytes - off < csize ? bytes - off : csize;
}
static inline bool net_bit(const u8 *map, u32 i)
{
	return (map[i / 8] >> (i % 8)) & 1;
}
static inline void net_bit_set(u8 *map, u32 i)
{
	map[i / 8] = (u8)(map[i / 8] | (1u << (i % 8)));
}
u32 net_bits_count(const u8 *map, u32 nbits);
/* True when a bit at or above nbits is set. */
bool net_bits_beyond(const u8 *map, u32 nbits);

/* ---- Statistics -------------------------------------------------------------
 * One struct for both roles; fields a role never touches stay 0. */
struct net_stats {
	/* receive path: every frame taken from the link lands in exactly one
	 * rx_* bucket after rx_frames (rx_ok for those acted upon) */
	u64 rx_frames;
	u64 rx_ok;
	u64 rx_drop[NET_VERDICT_COUNT]; /* by enum net_verdict (index 0 unused) */
	u64 rx_replay;      /* counter not fresh for its sender */
	u64 rx_jump;        /* counter too far ahead of its sender's window */
	u64 rx_session;     /* unknown peer, session or ticket, wrong sender */
	u64 rx_unknown_client; /* server: a name not enrolled (HELLO, BIND) */
	u64 rx_cookie_bad;  /* server: a BIND whose cookie is forged, expired or older than the binding */
	u64 rx_refused;     /* server: an authentic BIND refused, every slot busy */
	u64 rx_unexpected;  /* authentic, but the wrong direction or not expected now */
	u64 rx_stale;       /* answers to finished requests, write tags below the cache */
	u64 rx_busy;        /* server: requests dropped, every buffer on the disk or the client's share held (it resends) */
	/* above rx_ok: things noticed in accepted frames */
	u64 rx_dup_chunks;  /* data chunks already held */
	u64 tx_frames, tx_errors;
	/* client */
	u64 requests, retransmits, timeouts, rebinds, rebind_mismatch, failures;
	u64 handshakes, bind_refused;
	u64 inflight_max;   /* most requests held at once (submitted, not yet done) */
	u64 req_us, req_us_max; /* time requests were on the wire (activated to done): sum, longest */
	u64 burst_max, burst_cuts; /* the budget's widest (standard frames), times a loss narrowed it */
	/* server */
	u64 hellos, binds, bind_dups, identifies, reads, read_hits, writes, write_dups, flushes, errors;
	u64 buf_evictions, peer_evictions, needs;
	u64 disk_max;       /* most requests the disk path held at once (waiting or on the disk) */
	u64 disk_us;        /* time requests spent in the disk path (waiting and on the disk): sum */
	/* the last frame of another protocol version: its version and sender */
	u8 bad_version;
	u8 bad_version_from[ETH_ALEN];
};

/* Counts a frame net_peek or net_decode refused for reason v (h: its
 * header, as net_peek filled it), noting another version's sender. */
void net_count_drop(struct net_stats *st, int v, const u8 *frame, const struct net_hdr *h);

/* "name=value" for every non-zero field, space separated.  Returns the
 * length the full text has (like snprintf). */
int net_stats_format(const struct net_stats *st, char *buf, size_t size);

#endif
