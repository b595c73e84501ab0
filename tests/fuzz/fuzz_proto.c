/* Fuzzes the frame codec (net/proto.c), built only through net/proto.h's
 * API, so it holds whatever protects the frames.
 *
 * Input: a mode byte, then
 *   0  a raw frame: net_peek and net_decode under the test key.  Oracle:
 *      a frame accepted re-encodes to exactly itself (nothing accepted
 *      that the encoder would not have produced).
 *   1  a message's fields (struct net_msg, see read_msg): net_encode.
 *      Oracles: it refuses exactly what net_check refuses; a frame it
 *      makes decodes under the same key to a message that re-encodes to
 *      the same bytes, and is refused under another key, with any one bit
 *      flipped, or cut short (only authentic frames are accepted).
 *   2  counters for a replay window.  Oracle: net_replay_accept agrees
 *      with a model that remembers every counter accepted. */
#define _GNU_SOURCE /* memmem */
#include <string.h>
#include "fuzz.h"
#include "net/proto.h"

static const char KEY[] = "the fuzzing key, 32 bytes long..";
static const char OTHER[] = "another key of the same length..";
static const u8 SELF[ETH_ALEN] = { 0x02, 0, 0, 0, 0xAA, 1 };

static struct net_key key, other;

_Static_assert(sizeof(KEY) - 1 == AEAD_KEY_LEN && sizeof(OTHER) - 1 == AEAD_KEY_LEN, "32-byte keys");

static void keys(void)
{
	static bool init;
	if (init)
		return;
	net_key_init(&key, (const u8 *)KEY);
	net_key_init(&other, (const u8 *)OTHER);
	init = true;
}

/* net_encode under the test key as if nothing had been sealed under it
 * yet: each input is judged on its own (the counter rule across frames is
 * test_net.c's nonce ledger). */
static int encode(u8 *out, const struct net_msg *m)
{
	struct net_key k = key;
	k.sent = 0;
	return net_encode(out, &k, m);
}

/* ---- The structured form of a message (mode 1, and the seeds) ------------ */

struct fields {
	struct net_msg m;
	u16 flip; /* bit to flip: index into the frame's bits, modulo */
	u8 data[NET_CHUNK_MAX + 2];
};

static void read_msg(struct fuzz_in *in, struct fields *f)
{
	memset(f, 0, sizeof(*f));
	struct net_msg *m = &f->m;
	m->type = fz_u8(in);
	m->flags = fz_u16(in);
	m->live = fz_u16(in);
	m->src_sess = fz_u64(in);
	m->dst_sess = fz_u64(in);
	m->counter = fz_u64(in);
	m->tag = fz_u64(in);
	fz_fill(in, m->dst, ETH_ALEN);
	fz_fill(in, m->src, ETH_ALEN);
	fz_fill(in, &m->b, sizeof(m->b));
	m->data_len = fz_u16(in) % (NET_CHUNK_MAX + 2);
	m->pad = fz_u16(in) % (NET_BODY_MAX + 2);
	f->flip = fz_u16(in);
	fz_fill(in, f->data, m->data_len);
	m->data = m->data_len ? f->data : NULL;
}

static size_t put(u8 *out, size_t at, u64 v, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		out[at + i] = (u8)(v >> (8 * i));
	return at + k;
}

/* The inverse of read_msg, after the mode byte. */
static size_t write_msg(u8 *out, const struct net_msg *m, u16 flip)
{
	size_t at = 0;
	out[at++] = m->type;
	at = put(out, at, m->flags, 2);
	at = put(out, at, m->live, 2);
	at = put(out, at, m->src_sess, 8);
	at = put(out, at, m->dst_sess, 8);
	at = put(out, at, m->counter, 8);
	at = put(out, at, m->tag, 8);
	memcpy(out + at, m->dst, ETH_ALEN);
	memcpy(out + at + ETH_ALEN, m->src, ETH_ALEN);
	at += 2 * ETH_ALEN;
	memcpy(out + at, &m->b, sizeof(m->b));
	at += sizeof(m->b);
	at = put(out, at, m->data_len, 2);
	at = put(out, at, m->pad, 2);
	at = put(out, at, flip, 2);
	if (m->data_len)
		memcpy(out + at, m->data, m->data_len);
	return at + m->data_len;
}

/* ---- Modes ---------------------------------------------------------------- */

/* net_decode_keep on the same frame gives net_decode's verdict and
 * message, and its data opened in pieces (net_data_open, net_open_*) is the data
 * net_decode decrypted in place. */
static void keep_agrees(const u8 *frame, size_t n_in, size_t len, int v, const struct net_msg *m)
{
	static u8 kbuf[NET_FRAME_MAX + 64], plain[NET_FRAME_MAX];
	struct net_msg k;
	memcpy(kbuf, frame, n_in);
	fuzz_assert(net_decode_keep(kbuf, len, &key, SELF, &k) == v);
	if (v != NET_OK)
		return;
	fuzz_assert(k.type == m->type && k.counter == m->counter && k.tag == m->tag && k.data_len == m->data_len &&
		    k.pad == m->pad && !memcmp(&k.b, &m->b, sizeof(k.b)));
	fuzz_assert(k.data_sealed == (k.data_len && !net_body_clear(k.type)));
	u32 cut = k.data_len ? (u32)(len % k.data_len) : 0;
	net_data_open(&key, &k, 0, plain, cut);
	net_data_open(&key, &k, cut, plain + cut, k.data_len - cut);
	fuzz_assert(!k.data_len || !memcmp(plain, m->data, k.data_len));
	/* the opener, in three pieces split at cut / 2 and cut */
	struct net_opener o;
	memset(plain, 0, sizeof(plain));
	net_open_begin(&o, &key, &k, 0);
	net_open_next(&o, plain, cut / 2);
	net_open_next(&o, plain + cut / 2, cut - cut / 2);
	net_open_next(&o, plain + cut, k.data_len - cut);
	net_open_end(&o);
	fuzz_assert(!k.data_len || !memcmp(plain, m->data, k.data_len));
}

static void raw(const u8 *frame, size_t len)
{
	struct net_hdr h;
	struct net_msg m;
	int p = net_peek(frame, len, SELF, &h);
	fuzz_assert(p >= 0 && p < NET_VERDICT_COUNT && net_verdict_name(p));
	/* net_decode opens the frame in place: work on a copy. */
	static u8 buf[NET_FRAME_MAX + 64];
	size_t n_in = len < sizeof(buf) ? len : sizeof(buf);
	memcpy(buf, frame, n_in);
	int v = net_decode(buf, len, &key, SELF, &m);
	fuzz_assert(v >= 0 && v < NET_VERDICT_COUNT && net_verdict_name(v));
	keep_agrees(frame, n_in, len, v, &m);
	if (v != NET_OK) {
		/* refused before its tag verified: unchanged (net/proto.h) */
		if (v != NET_DROP_TYPE && v != NET_DROP_MALFORMED)
			fuzz_assert(!memcmp(buf, frame, n_in));
		return;
	}
	fuzz_assert(p == NET_OK);
	fuzz_assert(net_check(&m) == NET_OK);
	u8 again[NET_FRAME_MAX];
	int n = encode(again, &m);
	fuzz_assert(n > 0 && (size_t)n == len && !memcmp(again, frame, len));
}

static void structured(struct fuzz_in *in)
{
	static struct fields f;
	read_msg(in, &f);
	u8 frame[NET_FRAME_MAX], sealed[NET_FRAME_MAX];
	int n = encode(frame, &f.m);
	int chk = net_check(&f.m);
	if (n < 0) {
		fuzz_assert(n == -E_INVAL);
		/* refused: a rule broken, a body too large for one frame, or
		 * counter 0 (not above a fresh key's) */
		fuzz_assert(chk != NET_OK ||
			    net_body_len(f.m.type, f.m.data_len) + f.m.pad + NET_OVERHEAD > NET_FRAME_MAX ||
			    f.m.counter == 0);
		return;
	}
	fuzz_assert(chk == NET_OK);
	fuzz_assert(n >= NET_OVERHEAD && n <= NET_FRAME_MAX);
	fuzz_assert((u32)n == NET_OVERHEAD + net_body_len(f.m.type, f.m.data_len) + f.m.pad);
	size_t len = (size_t)n;
	memcpy(sealed, frame, len);
	/* a sealed body shows none of its data (the handshake's are clear;
	 * the headers, in the clear, may hold the same bytes by chance) */
	const size_t body = ETH_HLEN + NET_HDR_LEN;
	if (!net_body_clear(f.m.type) && f.m.data_len >= 16)
		fuzz_assert(!memmem(frame + body, len - body - NET_MAC_LEN, f.data, f.m.data_len));

	struct net_msg d;
	fuzz_assert(net_decode(frame, len, &key, NULL, &d) == NET_OK);
	fuzz_assert(d.type == f.m.type && d.counter == f.m.counter && d.tag == f.m.tag &&
		    d.src_sess == f.m.src_sess && d.dst_sess == f.m.dst_sess && d.data_len == f.m.data_len &&
		    d.pad == f.m.pad);
	fuzz_assert(!memcmp(d.src, f.m.src, ETH_ALEN) && !memcmp(d.dst, f.m.dst, ETH_ALEN));
	fuzz_assert(!d.data_len || !memcmp(d.data, f.data, d.data_len));
	u8 again[NET_FRAME_MAX];
	fuzz_assert(encode(again, &d) == n && !memcmp(again, sealed, len));

	/* only authentic frames: another key, a flipped bit, a cut */
	memcpy(frame, sealed, len);
	fuzz_assert(net_decode(frame, len, &other, NULL, &d) != NET_OK);
	u32 bit = f.flip % (u32)(len * 8);
	frame[bit / 8] ^= (u8)(1u << (bit % 8));
	fuzz_assert(net_decode(frame, len, &key, NULL, &d) != NET_OK);
	frame[bit / 8] ^= (u8)(1u << (bit % 8));
	fuzz_assert(net_decode(frame, len - 1 - f.flip % 64 % len, &key, NULL, &d) != NET_OK);
}

/* The model: every counter accepted, and the highest. */
static void replay(struct fuzz_in *in)
{
	static u64 seen[4096];
	unsigned nseen = 0;
	u64 top = 0;
	struct net_replay w;
	net_replay_init(&w);
	while (in->n && nseen < 4096) {
		/* a step back, a step forward, or a jump */
		u8 op = fz_u8(in);
		u64 ctr;
		if (op < 96)
			ctr = top - (op % 80);
		else if (op < 224)
			ctr = top + (u64)((op - 96) % 80);
		else
			ctr = top + fz_u64(in) % (NET_REPLAY_JUMP * 2);
		bool was = false;
		for (unsigned i = 0; i < nseen && !was; i++)
			was = seen[i] == ctr;
		bool expect = ctr != 0 && !was && (ctr > top ? ctr - top <= NET_REPLAY_JUMP : top - ctr < NET_REPLAY_WINDOW);
		int j = net_replay_judge(&w, ctr);
		fuzz_assert((j == NET_RP_FRESH) == expect);
		fuzz_assert(j != NET_RP_JUMP || (ctr > top && ctr - top > NET_REPLAY_JUMP));
		bool got = net_replay_accept(&w, ctr);
		if (got != expect)
			fuzz_fail("counter %llu top %llu: accepted %d, model %d", (unsigned long long)ctr,
				  (unsigned long long)top, got, expect);
		if (got) {
			seen[nseen++] = ctr;
			top = ctr > top ? ctr : top;
		}
		fuzz_assert(w.top == top);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys();
	if (size < 1)
		return 0;
	struct fuzz_in in = { data + 1, size - 1 };
	switch (data[0] % 3) {
	case 0:
		raw(data + 1, size - 1);
		break;
	case 1:
		structured(&in);
		break;
	default:
		replay(&in);
	}
	return 0;
}

/* ---- Seeds: one valid message of each type, as fields and as a frame ------ */

static void emit_msg(void (*emit)(const void *, size_t), struct net_msg *m)
{
	static u8 buf[2 + sizeof(struct fields) + 64];
	buf[0] = 1;
	size_t n = 1 + write_msg(buf + 1, m, (u16)(m->type * 37));
	emit(buf, n);
	int len = encode(buf + 1, m);
	if (len < 0)
		fuzz_fail("seed of type %u does not encode", m->type);
	buf[0] = 0;
	emit(buf, 1 + (size_t)len);
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	keys();
	static u8 chunk[NET_CHUNK_STD];
	for (unsigned i = 0; i < sizeof(chunk); i++)
		chunk[i] = (u8)(i * 7);
	for (u8 t = 1; t <= NET_T_MAX; t++) {
		struct net_msg m = { .type = t, .src_sess = 0x1111, .dst_sess = t == NET_T_HELLO ? 0 : 0x2222,
				     .counter = 5, .tag = 3 };
		memcpy(m.dst, SELF, ETH_ALEN);
		memcpy(m.src, (u8[]){ 0x02, 0, 0, 0, 0xCC, 0 }, ETH_ALEN);
		switch (t) {
		case NET_T_HELLO:
		case NET_T_BIND:
			memcpy(t == NET_T_HELLO ? m.b.hello.name : m.b.bind.name, "client-a", 8);
			m.b.hello.dev = 0;
			m.b.hello.max_frame = NET_FRAME_MAX;
			m.pad = t == NET_T_HELLO ? 300 : 0; /* a probe */
			if (t == NET_T_BIND) {
				m.b.bind.ts = 99;
				m.b.bind.max_frame = NET_FRAME_MAX;
			}
			break;
		case NET_T_COOKIE:
			m.b.cookie.ts = 99;
			m.b.cookie.max_frame = NET_FRAME_MAX;
			break;
		case NET_T_DEVINFO: {
			struct blk_info info = { .sectors = 8192, .sector_size = 512, .max_sectors = 128 };
			memcpy(info.model, "FUZZ DISK", 10);
			memcpy(info.serial, "F1", 3);
			net_blk_to_devinfo(&info, false, &m.b.info);
			break;
		}
		case NET_T_READ:
			m.b.read.count = 8;
			m.b.read.lba = 100;
			m.b.read.want[0] = 0x7;
			m.live = 2;
			break;
		case NET_T_DATA:
		case NET_T_WRITE:
			m.b.data.count = 8;
			m.b.data.lba = 100;
			m.b.data.chunk = 2;
			m.data = chunk;
			m.data_len = 4096 - 2 * NET_CHUNK_STD;
			m.flags = t == NET_T_DATA ? NET_F_LAST : NET_F_ACK_REQ;
			break;
		case NET_T_NEED:
			m.b.need.nchunks = 3;
			m.b.need.have[0] = 5;
			break;
		}
		emit_msg(emit, &m);
	}
	/* replay windows: forward steps, steps back, jumps */
	static const u8 w[] = { 2, 100, 100, 101, 150, 10, 10, 95, 223, 0, 240, 1, 2, 3, 4, 5, 6, 7, 8, 90, 100 };
	emit(w, sizeof(w));
}
