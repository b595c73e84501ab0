/* The ferry block protocol's codec, frame protection and replay window
 * (net/proto.h, docs/protocol.md).  Strict: every length and field is
 * checked, in the order that keeps unauthenticated input from steering
 * anything but the location of the tag. */
#include "proto.h"
#include "lib/string.h"
#include "lib/fmt.h"
#include "lib/hkdf.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is the little-endian layout");

static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

void net_key_init(struct net_key *k, const u8 key[AEAD_KEY_LEN])
{
	memcpy(k->k, key, AEAD_KEY_LEN);
	k->sent = 0;
}

void net_key_wipe(struct net_key *k)
{
	secure_wipe(k, sizeof(*k));
}

u32 net_type_dir(u8 type)
{
	switch (type) {
	case NET_T_DEVINFO:
	case NET_T_DATA:
	case NET_T_NEED:
	case NET_T_STATUS:
	case NET_T_COOKIE: return NET_DIR_S2C;
	default: return NET_DIR_C2S;
	}
}

bool net_body_clear(u8 type)
{
	return type == NET_T_HELLO || type == NET_T_COOKIE || type == NET_T_BIND;
}

/* direction (le32) | counter (le64): distinct counters under one key give
 * distinct nonces, and the two directions never share one. */
static void nonce_of(u8 type, u64 counter, u8 nonce[AEAD_NONCE_LEN])
{
	u32 dir = net_type_dir(type);
	memcpy(nonce, &dir, 4);
	memcpy(nonce + 4, &counter, 8);
}

/* How much of a frame of len bytes (tag included) is additional data. */
static size_t aad_len(u8 type, size_t len)
{
	return net_body_clear(type) ? len - NET_MAC_LEN : ETH_HLEN + NET_HDR_LEN;
}

const char *net_verdict_name(int v)
{
	static const char *const names[NET_VERDICT_COUNT] = {
		[NET_OK] = "ok", [NET_DROP_NOT_OURS] = "not_ours", [NET_DROP_DST] = "wrong_dst",
		[NET_DROP_LEN] = "bad_len", [NET_DROP_VERSION] = "bad_version", [NET_DROP_MAC] = "bad_mac",
		[NET_DROP_TYPE] = "unknown_type", [NET_DROP_MALFORMED] = "malformed",
	};
	return v >= 0 && v < NET_VERDICT_COUNT ? names[v] : "?";
}

u32 net_body_len(u8 type, u32 data_len)
{
	switch (type) {
	case NET_T_HELLO: return sizeof(struct net_b_hello);
	case NET_T_COOKIE: return sizeof(struct net_b_cookie);
	case NET_T_BIND: return sizeof(struct net_b_bind);
	case NET_T_IDENTIFY:
	case NET_T_FLUSH: return sizeof(struct net_b_dev);
	case NET_T_DEVINFO: return sizeof(struct net_b_devinfo);
	case NET_T_READ: return sizeof(struct net_b_read);
	case NET_T_DATA:
	case NET_T_WRITE: return NET_DATA_HDR_LEN + data_len;
	case NET_T_NEED: return sizeof(struct net_b_need);
	case NET_T_STATUS: return sizeof(struct net_b_status);
	default: return 0;
	}
}

/* Printable ASCII, then NUL padding to the end. */
static bool text_ok(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] >= 0x20 && s[i] <= 0x7E)
		i++;
	for (; i < n; i++)
		if (s[i] != '\0')
			return false;
	return true;
}

size_t net_name_len(const char *s, size_t n)
{
	size_t len = 0;
	while (len < n && len < NET_NAME_MAX && s[len] > 0x20 && s[len] <= 0x7E && s[len] != ',')
		len++;
	if (!len)
		return 0;
	for (size_t i = len; i < n; i++)
		if (s[i] != '\0')
			return 0;
	return len;
}

static bool zeros(const u8 *p, size_t n)
{
	u8 any = 0;
	for (size_t i = 0; i < n; i++)
		any |= p[i];
	return any == 0;
}

static bool max_frame_ok(u16 f)
{
	return f >= NET_FRAME_STD && f <= NET_FRAME_ANNOUNCE_MAX;
}

/* HELLO, COOKIE and BIND bodies. */
static int check_handshake(const struct net_msg *m)
{
	switch (m->type) {
	case NET_T_HELLO: {
		const struct net_b_hello *h = &m->b.hello;
		if (m->dst_sess || !net_name_len(h->name, sizeof(h->name)) || !max_frame_ok(h->max_frame) ||
		    !zeros(h->reserved, sizeof(h->reserved)))
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	case NET_T_COOKIE: {
		const struct net_b_cookie *k = &m->b.cookie;
		if (!k->ts || k->dev == NET_DEV_ANY || !max_frame_ok(k->max_frame) || k->reserved)
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	default: {
		const struct net_b_bind *b = &m->b.bind;
		if (!net_name_len(b->name, sizeof(b->name)) || !b->ts || b->dev == NET_DEV_ANY ||
		    !max_frame_ok(b->max_frame) || b->reserved)
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	}
}

static bool bits_zero(const u8 *map)
{
	u8 any = 0;
	for (unsigned i = 0; i < NET_BITMAP_BYTES; i++)
		any |= map[i];
	return any == 0;
}

u32 net_bits_count(const u8 *map, u32 nbits)
{
	u32 n = 0;
	for (u32 i = 0; i < nbits; i++)
		n += net_bit(map, i);
	return n;
}

bool net_bits_beyond(const u8 *map, u32 nbits)
{
	for (u32 i = nbits; i < NET_MAX_CHUNKS; i++)
		if (net_bit(map, i))
			return true;
	return false;
}

/* lba + count must not wrap; count within the largest request of the
 * smallest sector size. */
static bool extent_ok(u64 lba, u32 count)
{
	return count >= 1 && count <= NET_MAX_REQ_BYTES / NET_MIN_SECTOR && lba <= ~(u64)0 - count;
}

/* Data in DATA and WRITE only, one chunk at most; padding in HELLO and
 * COOKIE only (the probe), within NET_FRAME_MAX. */
static bool lengths_ok(const struct net_msg *m)
{
	bool has_data = m->type == NET_T_DATA || m->type == NET_T_WRITE;
	if (has_data ? (m->data_len < 1 || m->data_len > NET_CHUNK_MAX) : m->data_len != 0)
		return false;
	bool padded = m->type == NET_T_HELLO || m->type == NET_T_COOKIE;
	return padded ? m->pad <= NET_BODY_MAX - sizeof(struct net_b_hello) : m->pad == 0;
}

int net_check(const struct net_msg *m)
{
	static const u16 allowed_flags[NET_T_MAX + 1] = {
		[NET_T_WRITE] = NET_F_ACK_REQ,
		[NET_T_DATA] = NET_F_LAST,
	};

	if (m->type < 1 || m->type > NET_T_MAX)
		return NET_DROP_TYPE;
	if (m->flags & ~allowed_flags[m->type])
		return NET_DROP_MALFORMED;
	/* Counters, tags and the sender's session are never 0; the receiver's
	 * session is unknown (0) in HELLO only, and always. */
	if (!m->counter || !m->tag || !m->src_sess || (!m->dst_sess && m->type != NET_T_HELLO))
		return NET_DROP_MALFORMED;
	/* Only requests name older live requests, never further back than tag 1. */
	bool request = m->type == NET_T_IDENTIFY || m->type == NET_T_READ || m->type == NET_T_WRITE ||
		       m->type == NET_T_FLUSH;
	if (request ? m->live >= m->tag : m->live != 0)
		return NET_DROP_MALFORMED;
	if (!lengths_ok(m))
		return NET_DROP_MALFORMED;

	if (m->type == NET_T_HELLO || m->type == NET_T_COOKIE || m->type == NET_T_BIND)
		return check_handshake(m);
	switch (m->type) {
	case NET_T_IDENTIFY:
	case NET_T_FLUSH: {
		const struct net_b_dev *d = &m->b.dev;
		if (d->reserved0 || d->reserved1 || d->dev == NET_DEV_ANY)
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	case NET_T_DEVINFO: {
		const struct net_b_devinfo *d = &m->b.info;
		u32 ss = d->sector_size;
		if (d->ndev < 1 || d->ndev == NET_DEV_ANY || d->dev >= d->ndev || (d->flags & ~NET_DEVINFO_READ_ONLY) ||
		    d->sectors < 1 || ss < NET_MIN_SECTOR || ss > NET_MAX_SECTOR || (ss & (ss - 1)) ||
		    d->max_sectors < 1 || d->max_sectors > NET_MAX_REQ_BYTES / ss || !text_ok(d->model, sizeof(d->model)) ||
		    !text_ok(d->serial, sizeof(d->serial)))
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	case NET_T_READ: {
		const struct net_b_read *r = &m->b.read;
		if (r->dev == NET_DEV_ANY || r->reserved || !extent_ok(r->lba, r->count) || bits_zero(r->want))
			return NET_DROP_MALFORMED;
		/* At most the chunks of count sectors of the largest size. */
		u64 bytes = (u64)r->count * NET_MAX_SECTOR;
		if (net_bits_beyond(r->want, net_chunks((u32)MIN(bytes, (u64)NET_MAX_REQ_BYTES), NET_CHUNK_STD)))
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	case NET_T_DATA:
	case NET_T_WRITE: {
		const struct net_b_data *d = &m->b.data;
		if (d->dev == NET_DEV_ANY || !extent_ok(d->lba, d->count) || d->chunk >= NET_MAX_CHUNKS)
			return NET_DROP_MALFORMED;
		/* The chunk lies within count sectors of the largest size even
		 * at the smallest chunk size.  The exact rule (the binding's
		 * chunk size, only the last chunk short) is the role's. */
		u64 bytes = MIN((u64)d->count * NET_MAX_SECTOR, (u64)NET_MAX_REQ_BYTES);
		if ((u64)d->chunk * NET_CHUNK_STD + m->data_len > bytes)
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	case NET_T_NEED: {
		const struct net_b_need *n = &m->b.need;
		if (n->nchunks < 1 || n->nchunks > NET_MAX_CHUNKS || n->reserved0 || n->reserved1 ||
		    net_bits_beyond(n->have, n->nchunks))
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	case NET_T_STATUS:
		if (m->b.status.status >= NET_ST_COUNT || m->b.status.reserved)
			return NET_DROP_MALFORMED;
		return NET_OK;
	}
	return NET_DROP_TYPE;
}

int net_encode(u8 *out, struct net_key *key, const struct net_msg *m)
{
	if (net_check(m) != NET_OK || m->counter <= key->sent)
		return -E_INVAL;
	u32 fixed = net_body_len(m->type, 0);
	u32 blen = fixed + m->data_len + m->pad;
	size_t len = ETH_HLEN + NET_HDR_LEN + blen;
	if (len + NET_MAC_LEN > NET_FRAME_MAX || (m->data_len && !m->data))
		return -E_INVAL;

	struct net_eth *eth = (struct net_eth *)out;
	memcpy(eth->dst, m->dst, ETH_ALEN);
	memcpy(eth->src, m->src, ETH_ALEN);
	eth->type_be[0] = NET_ETHERTYPE >> 8;
	eth->type_be[1] = NET_ETHERTYPE & 0xFF;

	struct net_hdr h = {
		.version = NET_VERSION,
		.type = m->type,
		.flags = m->flags,
		.len = (u16)blen,
		.live = m->live,
		.src_sess = m->src_sess,
		.dst_sess = m->dst_sess,
		.counter = m->counter,
		.tag = m->tag,
	};
	memcpy(out + ETH_HLEN, &h, sizeof(h));
	u8 *body = out + ETH_HLEN + NET_HDR_LEN, *data = body + fixed;
	memcpy(body, &m->b, fixed);
	memset(data + m->data_len, 0, m->pad);
	u8 nonce[AEAD_NONCE_LEN];
	nonce_of(m->type, m->counter, nonce);
	size_t ad = aad_len(m->type, len + NET_MAC_LEN);
	if (ad == (size_t)(body - out)) {
		/* The body sealed in three pieces, the data encrypted from where
		 * it lies rather than copied first: one pass over it, not two. */
		struct chacha20_stream cs;
		aead_stream_init(&cs, key->k, nonce, 0);
		chacha20_stream_xor(&cs, body, body, fixed);
		chacha20_stream_xor(&cs, m->data, data, m->data_len);
		chacha20_stream_xor(&cs, data + m->data_len, data + m->data_len, m->pad);
		chacha20_stream_wipe(&cs);
	} else if (m->data_len) {
		memcpy(data, m->data, m->data_len); /* a body in the clear (none has data today) */
	}
	aead_tag_of(key->k, nonce, out, ad, out + ad, len - ad, out + len);
	key->sent = m->counter;
	return (int)(len + NET_MAC_LEN);
}

int net_peek(const u8 *frame, size_t len, const u8 *self, struct net_hdr *h)
{
	const struct net_eth *eth = (const struct net_eth *)frame;

	if (len < ETH_HLEN || eth->type_be[0] != (NET_ETHERTYPE >> 8) || eth->type_be[1] != (NET_ETHERTYPE & 0xFF))
		return NET_DROP_NOT_OURS;
	if (self && memcmp(eth->dst, self, ETH_ALEN) != 0 && memcmp(eth->dst, bcast, ETH_ALEN) != 0)
		return NET_DROP_DST;
	/* Every message is longer than the 60-byte minimum frame, so a frame
	 * is never padded: its length is exact. */
	if (len < ETH_HLEN + NET_HDR_LEN + NET_MAC_LEN || len > NET_FRAME_MAX)
		return NET_DROP_LEN;
	memcpy(h, frame + ETH_HLEN, sizeof(*h));
	if (h->version != NET_VERSION)
		return NET_DROP_VERSION;
	if ((size_t)h->len != len - NET_OVERHEAD)
		return NET_DROP_LEN;
	return NET_OK;
}

static int decode(u8 *frame, size_t len, const struct net_key *key, const u8 *self, struct net_msg *m, bool keep)
{
	const struct net_eth *eth = (const struct net_eth *)frame;
	struct net_hdr h;
	int v = net_peek(frame, len, self, &h);
	if (v != NET_OK)
		return v;

	u8 nonce[AEAD_NONCE_LEN];
	nonce_of(h.type, h.counter, nonce);
	size_t mlen = len - NET_MAC_LEN, ad = aad_len(h.type, len);
	if (aead_verify(key->k, nonce, frame, ad, frame + ad, mlen - ad, frame + mlen) < 0)
		return NET_DROP_MAC;
	/* Authentic from here on: a peer holding the key sent exactly this.
	 * The body is decrypted in place, but for the data of a DATA or
	 * WRITE when keep asks: that stays sealed, for net_data_open. */
	u32 fixed = net_body_len(h.type, 0);
	bool sealed = keep && (h.type == NET_T_DATA || h.type == NET_T_WRITE) && fixed && mlen - ad > fixed;
	aead_xor_at(key->k, nonce, 0, frame + ad, frame + ad, sealed ? fixed : mlen - ad);

	memset(m, 0, sizeof(*m));
	m->data_sealed = sealed;
	memcpy(m->dst, eth->dst, ETH_ALEN);
	memcpy(m->src, eth->src, ETH_ALEN);
	m->type = h.type;
	m->flags = h.flags;
	m->live = h.live;
	m->src_sess = h.src_sess;
	m->dst_sess = h.dst_sess;
	m->counter = h.counter;
	m->tag = h.tag;
	if (!fixed)
		return NET_DROP_TYPE;
	bool has_data = h.type == NET_T_DATA || h.type == NET_T_WRITE;
	bool padded = h.type == NET_T_HELLO || h.type == NET_T_COOKIE;
	if (has_data ? h.len <= fixed : padded ? h.len < fixed : h.len != fixed)
		return NET_DROP_MALFORMED;
	const u8 *body = frame + ETH_HLEN + NET_HDR_LEN;
	memcpy(&m->b, body, fixed);
	if (has_data) {
		m->data = body + fixed;
		m->data_len = h.len - fixed;
	} else if (padded) {
		m->pad = h.len - fixed;
		if (!zeros(body + fixed, m->pad))
			return NET_DROP_MALFORMED;
	}
	return net_check(m);
}

int net_decode(u8 *frame, size_t len, const struct net_key *key, const u8 *self, struct net_msg *m)
{
	return decode(frame, len, key, self, m, false);
}

int net_decode_keep(u8 *frame, size_t len, const struct net_key *key, const u8 *self, struct net_msg *m)
{
	return decode(frame, len, key, self, m, true);
}

void net_open_begin(struct net_opener *o, const struct net_key *key, const struct net_msg *m, u32 off)
{
	o->m = m;
	o->at = off;
	if (m->data_sealed) {
		u8 nonce[AEAD_NONCE_LEN];
		nonce_of(m->type, m->counter, nonce);
		aead_stream_init(&o->cs, key->k, nonce, net_body_len(m->type, 0) + off);
	}
}

void net_open_next(struct net_opener *o, void *dst, u32 n)
{
	n = o->at < o->m->data_len ? MIN(n, o->m->data_len - o->at) : 0; /* never past the data */
	if (n && o->m->data_sealed)
		chacha20_stream_xor(&o->cs, o->m->data + o->at, dst, n);
	else if (n) /* with none, m->data may be NULL */
		memcpy(dst, o->m->data + o->at, n);
	o->at += n;
}

void net_open_end(struct net_opener *o)
{
	chacha20_stream_wipe(&o->cs); /* harmless if it never began */
}

void net_data_open(const struct net_key *key, const struct net_msg *m, u32 off, void *dst, u32 n)
{
	struct net_opener o;
	net_open_begin(&o, key, m, off);
	net_open_next(&o, dst, n);
	net_open_end(&o);
}

int net_status_to_err(u32 st)
{
	switch (st) {
	case NET_ST_OK: return 0;
	case NET_ST_RANGE: return -E_RANGE;
	case NET_ST_ROFS: return -E_ROFS;
	case NET_ST_INVAL: return -E_INVAL;
	case NET_ST_NODEV: return -E_NOENT;
	case NET_ST_TAKEN: return -E_EXIST; /* a write: the export has another writer now */
	default: return -E_IO;
	}
}

u32 net_err_to_status(int err)
{
	switch (-err) {
	case E_OK: return NET_ST_OK;
	case E_RANGE: return NET_ST_RANGE;
	case E_ROFS: return NET_ST_ROFS;
	case E_INVAL: return NET_ST_INVAL;
	case E_NOENT: return NET_ST_NODEV;
	default: return NET_ST_IO;
	}
}

/* ---- Replay window ------------------------------------------------------- */

int net_replay_judge(const struct net_replay *w, u64 ctr)
{
	if (ctr == 0)
		return NET_RP_OLD;
	if (ctr > w->top)
		return ctr - w->top > NET_REPLAY_JUMP ? NET_RP_JUMP : NET_RP_FRESH;
	u64 back = w->top - ctr;
	if (back >= NET_REPLAY_WINDOW)
		return NET_RP_OLD;
	return (w->seen >> back) & 1 ? NET_RP_OLD : NET_RP_FRESH;
}

bool net_replay_fresh(const struct net_replay *w, u64 ctr)
{
	return net_replay_judge(w, ctr) == NET_RP_FRESH;
}

void net_replay_mark(struct net_replay *w, u64 ctr)
{
	if (ctr > w->top) {
		u64 shift = ctr - w->top;
		w->seen = shift >= NET_REPLAY_WINDOW ? 0 : w->seen << shift;
		w->seen |= 1;
		w->top = ctr;
	} else if (w->top - ctr < NET_REPLAY_WINDOW) {
		w->seen |= (u64)1 << (w->top - ctr);
	}
}

bool net_replay_accept(struct net_replay *w, u64 ctr)
{
	if (!net_replay_fresh(w, ctr))
		return false;
	net_replay_mark(w, ctr);
	return true;
}

/* ---- Statistics ---------------------------------------------------------- */

void net_count_drop(struct net_stats *st, int v, const u8 *frame, const struct net_hdr *h)
{
	st->rx_drop[v]++;
	if (v == NET_DROP_VERSION) {
		st->bad_version = h->version;
		memcpy(st->bad_version_from, frame + ETH_ALEN, ETH_ALEN);
	}
}

int net_stats_format(const struct net_stats *st, char *buf, size_t size)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
#define F(x) { #x, __builtin_offsetof(struct net_stats, x) }
		F(rx_frames), F(rx_ok), F(rx_replay), F(rx_jump), F(rx_session), F(rx_unknown_client),
		F(rx_cookie_bad), F(rx_refused), F(rx_unexpected), F(rx_stale), F(rx_busy), F(rx_dup_chunks), F(tx_frames),
		F(tx_errors), F(requests), F(retransmits), F(timeouts), F(rebinds), F(rebind_mismatch),
		F(failures), F(handshakes), F(bind_refused), F(inflight_max), F(req_us), F(req_us_max), F(burst_max), F(burst_cuts), F(hellos), F(binds), F(bind_dups), F(identifies),
		F(reads), F(read_hits), F(writes), F(write_dups), F(flushes), F(errors), F(buf_evictions),
		F(peer_evictions), F(needs), F(disk_max), F(disk_us),
#undef F
	};
	size_t n = 0;
	if (size)
		buf[0] = '\0';
#define PUT(...)                                                                            \
	do {                                                                                \
		int k_ = fmt_snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, __VA_ARGS__); \
		n += (size_t)(k_ > 0 ? k_ : 0);                                             \
	} while (0)
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		u64 v;
		memcpy(&v, (const u8 *)st + fields[i].off, sizeof(v));
		if (v)
			PUT("%s%s=%llu", n ? " " : "", fields[i].name, (unsigned long long)v);
		if (i == 1)
			for (int r = 1; r < NET_VERDICT_COUNT; r++)
				if (st->rx_drop[r])
					PUT("%s%s=%llu", n ? " " : "", net_verdict_name(r),
					    (unsigned long long)st->rx_drop[r]);
	}
#undef PUT
	return (int)n;
}
