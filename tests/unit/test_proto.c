/* The ferry block protocol's codec (net/proto.c): byte layout, round trips,
 * rejection of every malformed field, truncated or oversize frame, the
 * AEAD tag against a flipped bit anywhere (checked against an independent
 * construction of its nonce and additional data), the counter rule, the
 * replay window and its jump bound;
 * the key derivations of net/keys.c against tools/ferrykey.py's. */
#include <stdlib.h>
#include "check.h"
#include "net/proto.h"
#include "net/keys.h"
#include "lib/aead.h"

static const u8 KEY[] = "ferry test key, 32 bytes long!!!";
static const u8 SELF[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const u8 PEER[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const u8 BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static struct net_key key;

static void setup(void)
{
	_Static_assert(sizeof(KEY) - 1 == AEAD_KEY_LEN, "test key size");
	net_key_init(&key, KEY);
}

/* A valid message of each type. */
static struct net_msg msg(u8 type)
{
	static u8 data[NET_CHUNK_MAX];
	struct net_msg m = { .type = type, .src_sess = 0x1111222233334444ull, .dst_sess = 0x5555666677778888ull,
			     .counter = 42, .tag = 7 };
	memcpy(m.dst, SELF, 6);
	memcpy(m.src, PEER, 6);
	switch (type) {
	case NET_T_HELLO:
		memcpy(m.b.hello.name, "client-a", 8);
		memset(m.b.hello.nc, 0x11, NET_NONCE_LEN);
		m.b.hello.dev = NET_DEV_ANY;
		m.b.hello.max_frame = 1514;
		m.dst_sess = 0;
		break;
	case NET_T_COOKIE:
		memset(m.b.cookie.nc, 0x11, NET_NONCE_LEN);
		memset(m.b.cookie.ns, 0x22, NET_NONCE_LEN);
		m.b.cookie.ts = 0x0A0B0C0D0E0F1011ull;
		memset(m.b.cookie.cookie, 0x33, NET_COOKIE_LEN);
		m.b.cookie.max_frame = 1514;
		break;
	case NET_T_BIND:
		memcpy(m.b.bind.name, "client-a", 8);
		memset(m.b.bind.nc, 0x11, NET_NONCE_LEN);
		memset(m.b.bind.ns, 0x22, NET_NONCE_LEN);
		m.b.bind.ts = 0x0A0B0C0D0E0F1011ull;
		memset(m.b.bind.cookie, 0x33, NET_COOKIE_LEN);
		m.b.bind.max_frame = 9000;
		break;
	case NET_T_IDENTIFY:
	case NET_T_FLUSH: m.b.dev.dev = 0; break;
	case NET_T_DEVINFO:
		m.b.info.dev = 0;
		m.b.info.ndev = 1;
		m.b.info.flags = NET_DEVINFO_READ_ONLY;
		m.b.info.sectors = 123456789;
		m.b.info.sector_size = 512;
		m.b.info.max_sectors = 512;
		memcpy(m.b.info.model, "QEMU HARDDISK", 13);
		memcpy(m.b.info.serial, "QM00001", 7);
		break;
	case NET_T_READ:
		m.b.read.count = 512;
		m.b.read.lba = 0x0102030405060708ull;
		for (int i = 0; i < 184; i += 3)
			net_bit_set(m.b.read.want, (u32)i);
		break;
	case NET_T_DATA:
	case NET_T_WRITE:
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (u8)(i * 13 + 5);
		m.b.data.chunk = 3;
		m.b.data.count = 16;
		m.b.data.lba = 1000;
		m.data = data;
		m.data_len = NET_CHUNK_STD;
		m.flags = type == NET_T_DATA ? NET_F_LAST : NET_F_ACK_REQ;
		break;
	case NET_T_NEED:
		m.b.need.nchunks = 184;
		net_bit_set(m.b.need.have, 0);
		net_bit_set(m.b.need.have, 183);
		break;
	case NET_T_STATUS: m.b.status.status = NET_ST_ROFS; break;
	}
	return m;
}

static u8 frame[NET_FRAME_MAX + 64];

/* The codec tests seal many frames under one key with counter 42; only
 * this rewinds the key's counter rule (test_net.c checks the rule). */
static int encode(const struct net_msg *m)
{
	key.sent = 0;
	return net_encode(frame, &key, m);
}

/* What docs/protocol.md says, built here independently of net/proto.c:
 * the nonce is direction (1: client to server, 2: server to client) |
 * counter, the additional data the headers (the whole body too for
 * HELLO, COOKIE and BIND), the tag the last 16 bytes. */
static void nonce_ad(const u8 *f, size_t len, u8 nonce[12], size_t *ad)
{
	u8 t = f[15];
	u32 dir = t == NET_T_DEVINFO || t == NET_T_DATA || t == NET_T_NEED || t == NET_T_STATUS || t == NET_T_COOKIE
			  ? 2 : 1;
	memcpy(nonce, &dir, 4);
	memcpy(nonce + 4, f + 38, 8);
	*ad = t == NET_T_HELLO || t == NET_T_COOKIE || t == NET_T_BIND ? len - 16 : 54;
}

/* Decrypts a sealed frame in place with the raw AEAD (the tag must verify). */
static void unseal(u8 *f, size_t len)
{
	u8 nonce[12];
	size_t ad;
	nonce_ad(f, len, nonce, &ad);
	CHECK_EQ(aead_open(KEY, nonce, f, ad, f + ad, len - 16 - ad, f + ad, f + len - 16), 0);
}

/* Seals a plaintext frame again after a test changed it. */
static void reseal(u8 *f, size_t len)
{
	u8 nonce[12];
	size_t ad;
	nonce_ad(f, len, nonce, &ad);
	aead_seal(KEY, nonce, f, ad, f + ad, len - 16 - ad, f + ad, f + len - 16);
}

/* A sealed frame of the type, then decrypted in place: its plaintext. */
static int enc_plain(u8 type)
{
	struct net_msg m = msg(type);
	int len = encode(&m);
	if (len > 0)
		unseal(frame, (size_t)len);
	return len;
}

static int enc(u8 type)
{
	struct net_msg m = msg(type);
	return encode(&m);
}

static void put16(u8 *f, size_t off, u16 v) { memcpy(f + off, &v, 2); }
static void put32(u8 *f, size_t off, u32 v) { memcpy(f + off, &v, 4); }
static void put64(u8 *f, size_t off, u64 v) { memcpy(f + off, &v, 8); }

static int dec(size_t len)
{
	struct net_msg m;
	return net_decode(frame, len, &key, SELF, &m);
}

/* Patches a field of a valid frame of `type`, reseals, decodes. */
#define MUT(type, stmt)                              \
	({                                           \
		int len_ = enc_plain(type);          \
		CHECK(len_ > 0);                     \
		u8 *f = frame;                       \
		(void)f;                             \
		stmt;                                \
		reseal(frame, (size_t)len_);         \
		dec((size_t)len_);                   \
	})

TEST(layout_offsets)
{
	setup();
	int len = enc(NET_T_READ);
	CHECK_EQ(len, ETH_HLEN + NET_HDR_LEN + 48 + NET_MAC_LEN);
	/* The body is ciphertext: not the plaintext's bytes. */
	u32 c32;
	memcpy(&c32, frame + 58, 4);
	CHECK(c32 != 512);
	/* The tag verifies under the nonce and additional data the protocol
	 * describes (unseal checks it), and the body decrypts to the layout. */
	unseal(frame, (size_t)len);
	CHECK(!memcmp(frame, SELF, 6));
	CHECK(!memcmp(frame + 6, PEER, 6));
	CHECK_EQ(frame[12], 0x88);
	CHECK_EQ(frame[13], 0xB5);
	CHECK_EQ(frame[14], NET_VERSION);
	CHECK_EQ(frame[15], NET_T_READ);
	u16 v16; u32 v32; u64 v64;
	memcpy(&v16, frame + 18, 2); CHECK_EQ(v16, 48);
	memcpy(&v64, frame + 22, 8); CHECK(v64 == 0x1111222233334444ull);
	memcpy(&v64, frame + 30, 8); CHECK(v64 == 0x5555666677778888ull);
	memcpy(&v64, frame + 38, 8); CHECK_EQ(v64, 42);
	memcpy(&v64, frame + 46, 8); CHECK_EQ(v64, 7);
	memcpy(&v32, frame + 58, 4); CHECK_EQ(v32, 512);
	memcpy(&v64, frame + 62, 8); CHECK(v64 == 0x0102030405060708ull);
	CHECK_EQ(frame[70], 0x49); /* want bits 0, 3 and 6 */
}

TEST(full_data_frame_fills_the_mtu)
{
	setup();
	CHECK_EQ(NET_CHUNK_STD, 1428);
	CHECK_EQ(net_chunk_size(NET_FRAME_STD), NET_CHUNK_STD);
	CHECK_EQ(enc(NET_T_DATA), 1514);
	CHECK_EQ(enc_plain(NET_T_WRITE), 1514);
	CHECK_EQ(frame[70], (u8)5); /* data at offset 70 */
	struct net_msg m = msg(NET_T_DATA);
	m.data_len = NET_CHUNK_MAX + 1;
	CHECK_EQ(encode(&m), -E_INVAL);
	m.data_len = 0;
	CHECK_EQ(encode(&m), -E_INVAL);
	/* Every frame is above the Ethernet minimum, so none is ever padded. */
	CHECK(enc(NET_T_HELLO) >= ETH_MIN_FRAME);
	CHECK(enc(NET_T_STATUS) >= ETH_MIN_FRAME);
	CHECK(NET_MAX_REQ_BYTES <= NET_MAX_CHUNKS * NET_CHUNK_STD);
}

TEST(jumbo_data_frame_fills_9014_bytes)
{
	setup();
	CHECK_EQ(NET_CHUNK_MAX, 8928);
	CHECK_EQ(net_chunk_size(NET_FRAME_MAX), NET_CHUNK_MAX);
	struct net_msg m = msg(NET_T_DATA), out;
	m.data_len = NET_CHUNK_MAX;
	m.b.data.chunk = 1; /* bytes 8928-17855 of 16 sectors of 4096 */
	CHECK_EQ(encode(&m), NET_FRAME_MAX);
	CHECK_EQ(net_decode(frame, NET_FRAME_MAX, &key, SELF, &out), NET_OK);
	CHECK_EQ(out.data_len, NET_CHUNK_MAX);
	CHECK(!memcmp(out.data, m.data, NET_CHUNK_MAX));
	/* Beyond the request at even the smallest chunk size: refused. */
	m.b.data.chunk = 45; /* 45 * 1428 + 8928 > 16 * 4096 */
	CHECK_EQ(encode(&m), -E_INVAL);
}

/* The frame size probe: HELLO and COOKIE may carry zero padding up to the
 * largest frame; nothing else may, and the padding must be zeros. */
TEST(hello_and_cookie_padding)
{
	setup();
	u8 types[] = { NET_T_HELLO, NET_T_COOKIE };
	for (unsigned t = 0; t < ARRAY_SIZE(types); t++) {
		struct net_msg m = msg(types[t]), out;
		m.pad = NET_FRAME_MAX - NET_HS_FRAME(0);
		CHECK_EQ(encode(&m), NET_FRAME_MAX);
		CHECK_EQ(net_decode(frame, NET_FRAME_MAX, &key, SELF, &out), NET_OK);
		CHECK_EQ(out.pad, m.pad);
		CHECK(!memcmp(&out.b, &m.b, 64));
		m.pad = 1;
		CHECK_EQ(encode(&m), NET_HS_FRAME(1));
		CHECK_EQ(net_decode(frame, NET_HS_FRAME(1), &key, SELF, &out), NET_OK);
		CHECK_EQ(out.pad, 1);
		/* A padding byte that is not zero, sealed as such. */
		m.pad = 100;
		CHECK_EQ(encode(&m), NET_HS_FRAME(100));
		frame[NET_HS_FRAME(0) - NET_MAC_LEN + 50] = 1;
		reseal(frame, NET_HS_FRAME(100));
		CHECK_EQ(net_decode(frame, NET_HS_FRAME(100), &key, SELF, &out), NET_DROP_MALFORMED);
		m.pad = NET_FRAME_MAX - NET_HS_FRAME(0) + 1;
		CHECK_EQ(encode(&m), -E_INVAL);
	}
	u8 others[] = { NET_T_BIND, NET_T_READ, NET_T_STATUS, NET_T_DATA };
	for (unsigned t = 0; t < ARRAY_SIZE(others); t++) {
		struct net_msg m = msg(others[t]);
		m.pad = 16;
		CHECK_EQ(encode(&m), -E_INVAL);
	}
}

TEST(round_trip_every_type)
{
	setup();
	for (u8 t = 1; t <= NET_T_MAX; t++) {
		struct net_msg in = msg(t), out;
		int len = encode(&in);
		CHECK(len > 0 && len <= NET_FRAME_MAX);
		CHECK_EQ(len, NET_OVERHEAD + (int)net_body_len(t, in.data_len));
		CHECK_EQ(net_decode(frame, (size_t)len, &key, SELF, &out), NET_OK);
		CHECK_EQ(out.type, t);
		CHECK_EQ(out.flags, in.flags);
		CHECK(out.src_sess == in.src_sess && out.dst_sess == in.dst_sess);
		CHECK(out.counter == in.counter && out.tag == in.tag);
		CHECK(!memcmp(out.dst, SELF, 6) && !memcmp(out.src, PEER, 6));
		CHECK(!memcmp(&out.b, &in.b, net_body_len(t, 0)));
		CHECK_EQ(out.data_len, in.data_len);
		if (in.data_len)
			CHECK(!memcmp(out.data, in.data, in.data_len));
	}
}

TEST(keep_leaves_only_the_data_sealed)
{
	/* net_decode_keep: every field as net_decode gives it; a DATA's or
	 * WRITE's data still ciphertext in the frame, and net_data_open in
	 * any two pieces gives it back; other types fully open.  A flipped
	 * bit anywhere, the data included, is refused before anything opens. */
	setup();
	for (u8 t = 1; t <= NET_T_MAX; t++) {
		struct net_msg in = msg(t), out;
		int len = encode(&in);
		static u8 plain[NET_FRAME_MAX];
		CHECK_EQ(net_decode_keep(frame, (size_t)len, &key, SELF, &out), NET_OK);
		CHECK_EQ(out.type, t);
		CHECK(out.counter == in.counter && out.tag == in.tag);
		CHECK(!memcmp(&out.b, &in.b, net_body_len(t, 0)));
		CHECK_EQ(out.data_len, in.data_len);
		CHECK_EQ(out.data_sealed, in.data_len != 0);
		if (!in.data_len)
			continue;
		CHECK(memcmp(out.data, in.data, in.data_len) != 0);
		for (u32 cut = 0; cut <= in.data_len; cut += 1 + cut / 3) {
			memset(plain, 0, sizeof(plain));
			net_data_open(&key, &out, 0, plain, cut);
			net_data_open(&key, &out, cut, plain + cut, in.data_len - cut);
			CHECK(!memcmp(plain, in.data, in.data_len));
			/* the opener: from byte cut / 2 on, in pieces of cut + 1 */
			struct net_opener o;
			u32 from = cut / 2;
			memset(plain, 0, sizeof(plain));
			net_open_begin(&o, &key, &out, from);
			for (u32 at = from; at < in.data_len; at += MIN(cut + 1, in.data_len - at))
				net_open_next(&o, plain + at, MIN(cut + 1, in.data_len - at));
			net_open_end(&o);
			CHECK(!memcmp(plain + from, in.data + from, in.data_len - from));
		}
		len = encode(&in);
		frame[len - NET_MAC_LEN - 1] ^= 0x80; /* the data's last byte */
		CHECK_EQ(net_decode_keep(frame, (size_t)len, &key, SELF, &out), NET_DROP_MAC);
	}
}

TEST(opener_copies_open_data_and_stops_at_its_end)
{
	/* Data in the clear (not sealed) is copied piece by piece; a piece
	 * that would run past the data is cut at its end, nothing after it
	 * read or written. */
	static const u8 data[40] = "0123456789abcdefghijklmnopqrstuvwxyzABCD";
	u8 out[64];
	struct net_msg m;
	struct net_opener o;
	memset(&m, 0, sizeof(m));
	m.type = NET_T_DATA;
	m.data = data;
	m.data_len = 30;
	memset(out, 0x5a, sizeof(out));
	net_open_begin(&o, &key, &m, 3);
	net_open_next(&o, out, 10);
	net_open_next(&o, out + 10, 0);
	net_open_next(&o, out + 10, 30); /* 17 left */
	net_open_next(&o, out + 27, 5);  /* none */
	net_open_end(&o);
	CHECK(!memcmp(out, data + 3, 27));
	CHECK(out[27] == 0x5a && out[28] == 0x5a);
	setup();
	struct net_msg in = msg(NET_T_DATA), k;
	int len = encode(&in);
	CHECK_EQ(net_decode_keep(frame, (size_t)len, &key, SELF, &k), NET_OK);
	static u8 plain[NET_FRAME_MAX + 8];
	memset(plain, 0x5a, sizeof(plain));
	net_open_begin(&o, &key, &k, 0);
	net_open_next(&o, plain, k.data_len + 8);
	net_open_end(&o);
	CHECK(!memcmp(plain, in.data, in.data_len));
	CHECK(plain[in.data_len] == 0x5a);
}

TEST(destination_checks)
{
	setup();
	struct net_msg m = msg(NET_T_HELLO), out;
	memcpy(m.dst, BCAST, 6);
	int len = encode(&m);
	CHECK_EQ(net_decode(frame, (size_t)len, &key, SELF, &out), NET_OK);
	memcpy(m.dst, PEER, 6);
	len = encode(&m);
	CHECK_EQ(net_decode(frame, (size_t)len, &key, SELF, &out), NET_DROP_DST);
	CHECK_EQ(net_decode(frame, (size_t)len, &key, NULL, &out), NET_OK);
}

TEST(truncated_and_oversize_frames)
{
	setup();
	int types[] = { NET_T_HELLO, NET_T_COOKIE, NET_T_BIND, NET_T_READ, NET_T_DATA, NET_T_DEVINFO };
	for (unsigned t = 0; t < ARRAY_SIZE(types); t++) {
		int len = enc((u8)types[t]);
		CHECK_EQ(dec((size_t)len), NET_OK);
		for (int l = 0; l < len; l++) {
			int v = dec((size_t)l);
			CHECK(v == (l < ETH_HLEN ? NET_DROP_NOT_OURS : NET_DROP_LEN));
		}
		/* Trailing bytes (even with a MAC that covers them) are refused. */
		frame[len] = 0;
		CHECK_EQ(dec((size_t)len + 1), NET_DROP_LEN);
	}
	/* A frame above 9014 bytes, whatever its length field says. */
	struct net_msg m = msg(NET_T_DATA);
	m.data_len = NET_CHUNK_MAX;
	int len = encode(&m);
	CHECK_EQ(len, NET_FRAME_MAX);
	put16(frame, 18, NET_BODY_MAX + 1);
	CHECK_EQ(dec(NET_FRAME_MAX + 1), NET_DROP_LEN);
	/* The length field disagrees with the frame. */
	CHECK_EQ(MUT(NET_T_READ, put16(f, 18, 47)), NET_DROP_LEN);
	CHECK_EQ(MUT(NET_T_READ, put16(f, 18, 49)), NET_DROP_LEN);
	CHECK_EQ(MUT(NET_T_READ, put16(f, 18, 0xFFFF)), NET_DROP_LEN);
}

TEST(foreign_frames)
{
	setup();
	int len = enc(NET_T_STATUS);
	frame[12] = 0x08;
	frame[13] = 0x00;
	CHECK_EQ(dec((size_t)len), NET_DROP_NOT_OURS);
	CHECK_EQ(MUT(NET_T_STATUS, f[13] = 0xB6), NET_DROP_NOT_OURS);
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = 1), NET_DROP_VERSION); /* protocol version 1 */
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = 2), NET_DROP_VERSION); /* HMAC-SHA-256, bodies in the clear */
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = 3), NET_DROP_VERSION); /* 1514-byte frames only */
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = NET_VERSION + 1), NET_DROP_VERSION);
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = 0), NET_DROP_VERSION);
	/* net_peek hands the roles the version for their log line. */
	struct net_hdr h;
	len = enc(NET_T_STATUS);
	frame[14] = 2;
	CHECK_EQ(net_peek(frame, (size_t)len, SELF, &h), NET_DROP_VERSION);
	CHECK_EQ(h.version, 2);
	struct net_stats st = { 0 };
	net_count_drop(&st, NET_DROP_VERSION, frame, &h);
	CHECK_EQ(st.rx_drop[NET_DROP_VERSION], 1);
	CHECK_EQ(st.bad_version, 2);
	CHECK(!memcmp(st.bad_version_from, PEER, 6));
}

TEST(mac_rejects_any_flipped_bit)
{
	setup();
	int types[] = { NET_T_READ, NET_T_DATA, NET_T_STATUS };
	for (unsigned t = 0; t < ARRAY_SIZE(types); t++) {
		int len = enc((u8)types[t]);
		for (int bit = 0; bit < len * 8; bit++) {
			frame[bit / 8] ^= (u8)(1 << (bit % 8));
			int v = dec((size_t)len);
			frame[bit / 8] ^= (u8)(1 << (bit % 8));
			if (v == NET_OK) {
				printf("  bit %d of type %d accepted\n", bit, types[t]);
				CHECK(v != NET_OK);
			}
			/* Only the Ethernet header, version and length are looked at
			 * before the MAC; everything else fails the MAC itself. */
			if (bit / 8 >= 20)
				CHECK_EQ(v, NET_DROP_MAC);
		}
		CHECK_EQ(dec((size_t)len), NET_OK);
	}
	/* The wrong key. */
	int len = enc(NET_T_WRITE);
	struct net_key other;
	struct net_msg m;
	net_key_init(&other, (const u8 *)"another key, also 32 bytes long!");
	CHECK_EQ(net_decode(frame, (size_t)len, &other, SELF, &m), NET_DROP_MAC);
}

TEST(header_fields)
{
	setup();
	CHECK_EQ(MUT(NET_T_STATUS, f[15] = 0), NET_DROP_TYPE);
	CHECK_EQ(MUT(NET_T_STATUS, f[15] = NET_T_MAX + 1), NET_DROP_TYPE);
	CHECK_EQ(MUT(NET_T_STATUS, f[15] = 0xFF), NET_DROP_TYPE);
	/* live: only requests, and never reaching below tag 1 (tag is 7) */
	CHECK_EQ(MUT(NET_T_STATUS, put16(f, 20, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DATA, put16(f, 20, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_HELLO, put16(f, 20, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, put16(f, 20, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_COOKIE, put16(f, 20, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_READ, put16(f, 20, 6)), NET_OK);
	CHECK_EQ(MUT(NET_T_WRITE, put16(f, 20, 6)), NET_OK);
	CHECK_EQ(MUT(NET_T_READ, put16(f, 20, 7)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_FLUSH, put16(f, 20, 0xFFFF)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_STATUS, put16(f, 16, NET_F_LAST)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_READ, put16(f, 16, NET_F_ACK_REQ)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DATA, put16(f, 16, NET_F_ACK_REQ)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_WRITE, put16(f, 16, NET_F_LAST)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_WRITE, put16(f, 16, 0x8000 | NET_F_ACK_REQ)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_STATUS, put64(f, 22, 0)), NET_DROP_MALFORMED);  /* src_sess */
	CHECK_EQ(MUT(NET_T_STATUS, put64(f, 30, 0)), NET_DROP_MALFORMED);  /* dst_sess */
	CHECK_EQ(MUT(NET_T_HELLO, put64(f, 30, 1)), NET_DROP_MALFORMED);   /* HELLO knows no session */
	CHECK_EQ(MUT(NET_T_COOKIE, put64(f, 30, 0)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, put64(f, 30, 0)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_STATUS, put64(f, 38, 0)), NET_DROP_MALFORMED);  /* counter */
	CHECK_EQ(MUT(NET_T_STATUS, put64(f, 46, 0)), NET_DROP_MALFORMED);  /* tag */
	/* A type whose body has another length: claim READ with an 8-byte body. */
	CHECK_EQ(MUT(NET_T_STATUS, f[15] = NET_T_READ), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_READ, f[15] = NET_T_STATUS), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_FLUSH, f[15] = NET_T_IDENTIFY), NET_OK);         /* same body */
}

TEST(dev_bodies)
{
	setup();
	CHECK_EQ(MUT(NET_T_IDENTIFY, put16(f, 56, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_FLUSH, put32(f, 58, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_FLUSH, put16(f, 54, NET_DEV_ANY)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_IDENTIFY, put16(f, 54, NET_DEV_ANY)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_IDENTIFY, put16(f, 54, 3)), NET_OK);
}

TEST(devinfo_body)
{
	setup();
	CHECK_EQ(MUT(NET_T_DEVINFO, put16(f, 56, 0)), NET_DROP_MALFORMED);       /* ndev */
	CHECK_EQ(MUT(NET_T_DEVINFO, put16(f, 56, 0xFFFF)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DEVINFO, put16(f, 54, 1)), NET_DROP_MALFORMED);       /* dev >= ndev */
	CHECK_EQ(MUT(NET_T_DEVINFO, (put16(f, 54, 1), put16(f, 56, 2))), NET_OK);
	CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 58, 2)), NET_DROP_MALFORMED);       /* flags */
	CHECK_EQ(MUT(NET_T_DEVINFO, put64(f, 62, 0)), NET_DROP_MALFORMED);       /* sectors */
	u32 bad_ss[] = { 0, 256, 768, 1000, 8192, 0x80000000u };
	for (unsigned i = 0; i < ARRAY_SIZE(bad_ss); i++)
		CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 70, bad_ss[i])), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 70, 1024)), NET_DROP_MALFORMED); /* 512 x 1 KiB too big */
	CHECK_EQ(MUT(NET_T_DEVINFO, (put32(f, 70, 1024), put32(f, 74, 256))), NET_OK);
	CHECK_EQ(MUT(NET_T_DEVINFO, (put32(f, 70, 4096), put32(f, 74, 64))), NET_OK);
	CHECK_EQ(MUT(NET_T_DEVINFO, (put32(f, 70, 4096), put32(f, 74, 65))), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 74, 0)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 74, 513)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DEVINFO, f[78] = 0x07), NET_DROP_MALFORMED);         /* model */
	CHECK_EQ(MUT(NET_T_DEVINFO, f[78] = 0x80), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_DEVINFO, f[117] = 'x'), NET_DROP_MALFORMED);         /* after the NUL */
	CHECK_EQ(MUT(NET_T_DEVINFO, memset(f + 78, 'M', 40)), NET_OK);          /* all 40 used */
	CHECK_EQ(MUT(NET_T_DEVINFO, f[137] = 'x'), NET_DROP_MALFORMED);         /* serial */
	CHECK_EQ(MUT(NET_T_DEVINFO, memset(f + 118, 'S', 20)), NET_OK);
	CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 138, 0xDEADBEEF)), NET_OK);          /* export_id: any value */
}

TEST(read_body)
{
	setup();
	CHECK_EQ(MUT(NET_T_READ, put16(f, 54, NET_DEV_ANY)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_READ, put16(f, 56, 1)), NET_DROP_MALFORMED);          /* reserved */
	CHECK_EQ(MUT(NET_T_READ, put32(f, 58, 0)), NET_DROP_MALFORMED);          /* count */
	CHECK_EQ(MUT(NET_T_READ, put32(f, 58, 513)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_READ, put64(f, 62, ~0ull - 511)), NET_DROP_MALFORMED); /* lba + count wraps */
	CHECK_EQ(MUT(NET_T_READ, put64(f, 62, ~0ull - 512)), NET_OK);
	CHECK_EQ(MUT(NET_T_READ, memset(f + 70, 0, 32)), NET_DROP_MALFORMED);    /* wants nothing */
	CHECK_EQ(MUT(NET_T_READ, f[70 + 31] = 0x80), NET_DROP_MALFORMED);        /* chunk 255 > 184 */
	/* count 1: at most one 4096-byte sector, so chunks 0-2 only. */
	CHECK_EQ(MUT(NET_T_READ, (put32(f, 58, 1), memset(f + 70, 0, 32), f[70] = 0x07)), NET_OK);
	CHECK_EQ(MUT(NET_T_READ, (put32(f, 58, 1), memset(f + 70, 0, 32), f[70] = 0x08)), NET_DROP_MALFORMED);
}

TEST(data_body)
{
	setup();
	for (int t = NET_T_DATA; t <= NET_T_WRITE; t++) {
		CHECK_EQ(MUT((u8)t, put16(f, 54, NET_DEV_ANY)), NET_DROP_MALFORMED);
		CHECK_EQ(MUT((u8)t, put16(f, 56, 256)), NET_DROP_MALFORMED);     /* chunk */
		CHECK_EQ(MUT((u8)t, put32(f, 58, 0)), NET_DROP_MALFORMED);       /* count */
		CHECK_EQ(MUT((u8)t, put32(f, 58, 513)), NET_DROP_MALFORMED);
		CHECK_EQ(MUT((u8)t, put64(f, 62, ~0ull)), NET_DROP_MALFORMED);   /* wraps */
		/* chunk 3 of 1428 bytes needs more than 4 sectors of 4096 */
		CHECK_EQ(MUT((u8)t, put32(f, 58, 1)), NET_DROP_MALFORMED);
		CHECK_EQ(MUT((u8)t, put32(f, 58, 2)), NET_OK);
		/* No data at all: a body of just the 16-byte header. */
		int len = enc((u8)t);
		size_t short_len = ETH_HLEN + NET_HDR_LEN + 16 + NET_MAC_LEN;
		put16(frame, 18, 16);
		reseal(frame, short_len);
		CHECK_EQ(dec(short_len), NET_DROP_MALFORMED);
		(void)len;
	}
}

TEST(need_and_status_bodies)
{
	setup();
	CHECK_EQ(MUT(NET_T_NEED, put16(f, 54, 0)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_NEED, put16(f, 54, 257)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_NEED, put16(f, 54, 183)), NET_DROP_MALFORMED);   /* bit 183 beyond */
	CHECK_EQ(MUT(NET_T_NEED, put16(f, 56, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_NEED, put32(f, 58, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_NEED, memset(f + 62, 0, 32)), NET_OK);           /* holds nothing yet */
	CHECK_EQ(MUT(NET_T_STATUS, put32(f, 54, NET_ST_COUNT)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_STATUS, put32(f, 54, 0xFFFFFFFF)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_STATUS, put32(f, 58, 1)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_STATUS, put32(f, 54, NET_ST_OK)), NET_OK);
}

TEST(encoder_refuses_what_decoder_refuses)
{
	setup();
	struct net_msg m = msg(NET_T_READ);
	m.b.read.count = 0;
	CHECK_EQ(encode(&m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.counter = 0;
	CHECK_EQ(encode(&m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.type = 0;
	CHECK_EQ(encode(&m), -E_INVAL);
	m = msg(NET_T_DEVINFO);
	m.b.info.model[0] = '\n';
	CHECK_EQ(encode(&m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.flags = NET_F_LAST;
	CHECK_EQ(encode(&m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.data_len = 4;
	CHECK_EQ(encode(&m), -E_INVAL);
}

TEST(replay_window)
{
	struct net_replay w;
	net_replay_init(&w);
	CHECK(!net_replay_accept(&w, 0));
	CHECK(net_replay_accept(&w, 1));
	CHECK(!net_replay_accept(&w, 1));
	CHECK(net_replay_accept(&w, 2));
	/* Reordering inside the window. */
	CHECK(net_replay_accept(&w, 10));
	CHECK(net_replay_accept(&w, 5));
	CHECK(!net_replay_accept(&w, 5));
	CHECK(net_replay_accept(&w, 3));
	CHECK(!net_replay_accept(&w, 10));
	/* Exactly at the edge: top - 63 is still in, top - 64 is not. */
	CHECK(net_replay_accept(&w, 100));
	CHECK(!net_replay_fresh(&w, 36));
	CHECK(net_replay_fresh(&w, 37));
	CHECK(net_replay_accept(&w, 37));
	CHECK(!net_replay_accept(&w, 37));
	/* fresh does not change anything */
	CHECK(net_replay_fresh(&w, 99));
	CHECK(net_replay_fresh(&w, 99));
	/* A big jump forgets everything below the new window. */
	CHECK(net_replay_accept(&w, 1000000));
	CHECK(!net_replay_fresh(&w, 100));
	CHECK(net_replay_fresh(&w, 999999));
	u64 far = 1000000 + NET_REPLAY_JUMP;
	CHECK(net_replay_accept(&w, far));
	CHECK(!net_replay_accept(&w, far));
	CHECK(net_replay_accept(&w, far - 63));
	CHECK(!net_replay_accept(&w, far - 64));
}

/* Against a simple model: a set of seen counters and the highest. */
TEST(replay_window_random)
{
	static bool seen[100000];
	struct net_replay w;
	u64 top = 0, x = 12345;
	net_replay_init(&w);
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		u64 ctr, back = (x >> 8) % 80;
		if (x % 100 < 60)
			ctr = top + 1 + (x >> 8) % 4;
		else
			ctr = back > top ? 0 : top - back;
		bool fresh = ctr && !seen[ctr] && !(top >= NET_REPLAY_WINDOW && ctr <= top - NET_REPLAY_WINDOW);
		CHECK_EQ(net_replay_accept(&w, ctr), fresh);
		if (fresh) {
			seen[ctr] = true;
			top = MAX(top, ctr);
		}
	}
}

TEST(handshake_layouts)
{
	setup();
	u64 v64;
	u16 v16;
	CHECK_EQ(enc(NET_T_HELLO), NET_OVERHEAD + 64);
	CHECK(!memcmp(frame + 54, "client-a\0", 9));
	CHECK_EQ(frame[86], 0x11);
	memcpy(&v16, frame + 102, 2); CHECK_EQ(v16, NET_DEV_ANY);
	memcpy(&v16, frame + 104, 2); CHECK_EQ(v16, 1514);
	memcpy(&v64, frame + 30, 8); CHECK_EQ(v64, 0);
	CHECK_EQ(enc(NET_T_COOKIE), NET_OVERHEAD + 64);
	CHECK_EQ(frame[54], 0x11);
	CHECK_EQ(frame[70], 0x22);
	memcpy(&v64, frame + 86, 8); CHECK(v64 == 0x0A0B0C0D0E0F1011ull);
	CHECK_EQ(frame[94], 0x33);
	memcpy(&v16, frame + 110, 2); CHECK_EQ(v16, 0);
	memcpy(&v16, frame + 112, 2); CHECK_EQ(v16, 1514);
	CHECK_EQ(enc(NET_T_BIND), NET_OVERHEAD + 96);
	CHECK(!memcmp(frame + 54, "client-a\0", 9));
	CHECK_EQ(frame[86], 0x11);
	CHECK_EQ(frame[102], 0x22);
	memcpy(&v64, frame + 118, 8); CHECK(v64 == 0x0A0B0C0D0E0F1011ull);
	CHECK_EQ(frame[126], 0x33);
	memcpy(&v16, frame + 144, 2); CHECK_EQ(v16, 9000);
	CHECK_EQ(frame[15], NET_T_BIND);
	CHECK_EQ(frame[14], 4);
}

/* An answer to a frame nobody had to authenticate to send, or to one that
 * may be a replay, is never larger than that frame. */
TEST(no_amplification)
{
	setup();
	int hello = enc(NET_T_HELLO), cookie = enc(NET_T_COOKIE), bind = enc(NET_T_BIND);
	int devinfo = enc(NET_T_DEVINFO), status = enc(NET_T_STATUS);
	CHECK(cookie <= hello);
	CHECK(devinfo <= bind && status <= bind);
}

TEST(handshake_bodies)
{
	setup();
	/* names: 1-32 printable bytes, no blank or ',', NUL padding after */
	CHECK_EQ(MUT(NET_T_HELLO, memset(f + 54, 0, 32)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_HELLO, memset(f + 54, 'n', 32)), NET_OK);
	CHECK_EQ(MUT(NET_T_HELLO, f[56] = ' '), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_HELLO, f[56] = ','), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_HELLO, f[56] = 0x7F), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_HELLO, f[56] = 0), NET_DROP_MALFORMED);   /* "cl" then "ent-a" after the NUL */
	CHECK_EQ(MUT(NET_T_HELLO, f[85] = 'x'), NET_DROP_MALFORMED); /* after the NUL */
	CHECK_EQ(MUT(NET_T_BIND, f[54] = 0), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, f[60] = '\t'), NET_DROP_MALFORMED);
	/* device: any in HELLO only */
	CHECK_EQ(MUT(NET_T_HELLO, put16(f, 102, 0)), NET_OK);
	CHECK_EQ(MUT(NET_T_COOKIE, put16(f, 110, NET_DEV_ANY)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, put16(f, 142, NET_DEV_ANY)), NET_DROP_MALFORMED);
	/* largest frames: 1514-9216 */
	CHECK_EQ(MUT(NET_T_HELLO, put16(f, 104, 1513)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_HELLO, put16(f, 104, 9216)), NET_OK);
	CHECK_EQ(MUT(NET_T_HELLO, put16(f, 104, 9217)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_COOKIE, put16(f, 112, 0)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, put16(f, 144, 0xFFFF)), NET_DROP_MALFORMED);
	/* reserved bytes and the time */
	CHECK_EQ(MUT(NET_T_HELLO, f[117] = 1), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_COOKIE, f[117] = 1), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, f[149] = 1), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_COOKIE, put64(f, 86, 0)), NET_DROP_MALFORMED);
	CHECK_EQ(MUT(NET_T_BIND, put64(f, 118, 0)), NET_DROP_MALFORMED);
	/* another body length for the type */
	CHECK_EQ(MUT(NET_T_BIND, f[15] = NET_T_HELLO), NET_DROP_MALFORMED);
}

TEST(client_names)
{
	char f[32];
	memset(f, 0, sizeof(f));
	CHECK_EQ(net_name_len(f, 32), 0);
	memcpy(f, "mac-525400123456", 16);
	CHECK_EQ(net_name_len(f, 32), 16);
	CHECK_EQ(net_name_len("a", 1), 1);
	CHECK_EQ(net_name_len("a,b", 3), 0);
	CHECK_EQ(net_name_len("a b", 3), 0);
	memset(f, '~', 32);
	CHECK_EQ(net_name_len(f, 32), 32);
	char g[33];
	memset(g, 'x', 33);
	CHECK_EQ(net_name_len(g, 33), 0); /* 33 bytes: too long */
}

TEST(replay_jump_bound)
{
	struct net_replay w;
	net_replay_init(&w);
	CHECK_EQ(net_replay_judge(&w, NET_REPLAY_JUMP), NET_RP_FRESH);
	CHECK_EQ(net_replay_judge(&w, NET_REPLAY_JUMP + 1), NET_RP_JUMP);
	CHECK(!net_replay_accept(&w, NET_REPLAY_JUMP + 1));
	CHECK_EQ(w.top, 0);
	CHECK(net_replay_accept(&w, 1000));
	CHECK_EQ(net_replay_judge(&w, 1000 + NET_REPLAY_JUMP), NET_RP_FRESH);
	CHECK_EQ(net_replay_judge(&w, 1001 + NET_REPLAY_JUMP), NET_RP_JUMP);
	CHECK_EQ(net_replay_judge(&w, ~0ull), NET_RP_JUMP);
	CHECK_EQ(net_replay_judge(&w, 1000), NET_RP_OLD);
	CHECK_EQ(net_replay_judge(&w, 0), NET_RP_OLD);
	/* the window moves by at most the bound at a time */
	CHECK(net_replay_accept(&w, 1000 + NET_REPLAY_JUMP));
	CHECK(net_replay_accept(&w, 1000 + 2 * NET_REPLAY_JUMP));
}

static void unhex(const char *s, u8 *out)
{
	for (size_t i = 0; s[2 * i]; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (u8)v;
	}
}

static bool same_key(const struct net_key *a, const struct net_key *b)
{
	return !memcmp(a->k, b->k, AEAD_KEY_LEN);
}

/* The same numbers as tools/ferrykey.py (an independent implementation
 * on Python's hmac): the client key, and both session keys. */
TEST(key_derivation)
{
	struct net_master mk;
	u8 kc[32], want[32];
	net_master_init(&mk, "ferry test master key 32 bytes!!", 32);
	net_client_key(&mk, "client-a", 8, kc);
	unhex("ce69ced505f6704d3a525dfa8d128c46f6ce55c970b37b625865526b162438f3", want);
	CHECK(!memcmp(kc, want, 32));
	struct net_master m2;
	net_master_init(&m2, "0123456789abcdef", 16);
	u8 kc2[32];
	net_client_key(&m2, "client-a", 8, kc2);
	CHECK(memcmp(kc, kc2, 32) != 0);
	net_client_key(&mk, "client-b", 8, kc2);
	CHECK(memcmp(kc, kc2, 32) != 0);

	struct net_binding b = { .cmac = { 2, 0, 0, 0, 0xcc, 1 }, .smac = { 2, 0, 0, 0, 0xaa, 0 },
				 .csess = 0x1122334455667788ull, .ts = 123456789, .dev = 0 };
	for (int i = 0; i < 16; i++) {
		b.nc[i] = (u8)i;
		b.ns[i] = (u8)(16 + i);
	}
	struct net_key c2s, s2c, k;
	net_session_keys(kc, &b, &c2s, &s2c);
	unhex("9413045a064512a3d9fdc61043cfac2808cbf2884b964a36c0d9bdb2c3ff7be5", want);
	net_key_init(&k, want);
	CHECK(same_key(&k, &c2s));
	unhex("4d89720b17faf6eea55dd30951b482eab223ee8df2d88951bad2a26209df6834", want);
	net_key_init(&k, want);
	CHECK(same_key(&k, &s2c));
	/* The handshake keys: per client session, and per server session too
	 * for the COOKIE's. */
	struct net_key hk, ck, x;
	net_hello_key(kc, 0x1122334455667788ull, &hk);
	unhex("4326ff60d7ecf7b37c20675bfd8b53b98c069c0322e39d425d2cd878815eb263", want);
	net_key_init(&k, want);
	CHECK(same_key(&k, &hk));
	net_cookie_key(kc, 0x99, 0x1122334455667788ull, &ck);
	unhex("678f347a5bd446a79495a7add7da9cb5b241033edeba2fdc4f9946e2d3baaa45", want);
	net_key_init(&k, want);
	CHECK(same_key(&k, &ck));
	net_hello_key(kc, 0x1122334455667789ull, &x);
	CHECK(!same_key(&x, &hk));
	net_cookie_key(kc, 0x9A, 0x1122334455667788ull, &x);
	CHECK(!same_key(&x, &ck));
	net_cookie_key(kc, 0x99, 0x1122334455667789ull, &x);
	CHECK(!same_key(&x, &ck));
	/* Every value of the binding changes both keys. */
	struct net_binding v[7];
	for (int i = 0; i < 7; i++)
		v[i] = b;
	v[0].cmac[5] ^= 1;
	v[1].smac[5] ^= 1;
	v[2].csess++;
	v[3].ts++;
	v[4].dev++;
	v[5].nc[15] ^= 1;
	v[6].ns[0] ^= 1;
	for (int i = 0; i < 7; i++) {
		struct net_key a, z;
		net_session_keys(kc, &v[i], &a, &z);
		CHECK(!same_key(&a, &c2s) && !same_key(&z, &s2c));
		CHECK(!same_key(&a, &z));
	}
	/* Cookies: the name field, and every value of the binding, count. */
	struct hmac_sha256_ctx sec;
	hmac_sha256_init(&sec, "cookie secret of one boot.......", 32);
	char name[32] = "client-a";
	u8 c0[16], c1[16];
	net_cookie_of(&sec, &b, name, c0);
	name[7] = 'b';
	net_cookie_of(&sec, &b, name, c1);
	CHECK(memcmp(c0, c1, 16) != 0);
	name[7] = 'a';
	for (int i = 0; i < 7; i++) {
		if (i == 1)
			continue; /* the server's own address: the secret is the server's */
		net_cookie_of(&sec, &v[i], name, c1);
		CHECK(memcmp(c0, c1, 16) != 0);
	}
	net_cookie_of(&sec, &b, name, c1);
	CHECK(net_equal(c0, c1, 16));
	/* nonces never repeat over distinct inputs */
	u8 n0[16], n1[16];
	net_nonce(&sec, 1, 2, n0);
	net_nonce(&sec, 1, 3, n1);
	CHECK(memcmp(n0, n1, 16) != 0);
	net_nonce(&sec, 2, 2, n1);
	CHECK(memcmp(n0, n1, 16) != 0);
}

TEST(devinfo_and_blk_info)
{
	struct blk_info in = { .sectors = 1000, .sector_size = 512, .max_sectors = 128, .model = "QEMU HARDDISK",
			       .serial = "QM00001" }, out;
	struct net_b_devinfo d;
	CHECK_EQ(net_blk_to_devinfo(&in, false, &d), 0);
	CHECK_EQ(d.max_sectors, NET_MAX_REQ_BYTES / 512);
	CHECK_EQ(d.flags, 0);
	net_devinfo_to_blk(&d, &out);
	CHECK(out.sectors == 1000 && out.sector_size == 512 && !out.read_only);
	CHECK_STR(out.model, "QEMU HARDDISK");
	CHECK_STR(out.serial, "QM00001");
	CHECK_EQ(net_blk_to_devinfo(&in, true, &d), 0);
	CHECK_EQ(d.flags, NET_DEVINFO_READ_ONLY);
	memset(in.model, 'A', 40);
	in.model[40] = 0;
	in.serial[0] = 0x01;
	in.sector_size = 4096;
	CHECK_EQ(net_blk_to_devinfo(&in, false, &d), 0);
	CHECK_EQ(d.max_sectors, 64);
	struct net_msg m = msg(NET_T_DEVINFO);
	m.b.info = d;
	CHECK_EQ(net_check(&m), NET_OK);
	net_devinfo_to_blk(&d, &out);
	CHECK_EQ(strlen(out.model), 40);
	CHECK_EQ(out.serial[0], '?');
	in.sector_size = 520;
	CHECK_EQ(net_blk_to_devinfo(&in, false, &d), -E_NOTSUP);
	in.sector_size = 512;
	in.sectors = 0;
	CHECK_EQ(net_blk_to_devinfo(&in, false, &d), -E_NOTSUP);
}

TEST(status_codes)
{
	int errs[] = { 0, -E_IO, -E_RANGE, -E_ROFS, -E_INVAL, -E_NOENT };
	for (unsigned i = 0; i < ARRAY_SIZE(errs); i++)
		CHECK_EQ(net_status_to_err(net_err_to_status(errs[i])), errs[i]);
	CHECK_EQ(net_err_to_status(-E_TIMEDOUT), NET_ST_IO);
	CHECK_EQ(net_status_to_err(99), -E_IO);
}

TEST(chunks_and_bitmaps)
{
	CHECK_EQ(net_chunks(1, NET_CHUNK_STD), 1);
	CHECK_EQ(net_chunks(NET_CHUNK_STD, NET_CHUNK_STD), 1);
	CHECK_EQ(net_chunks(NET_CHUNK_STD + 1, NET_CHUNK_STD), 2);
	CHECK_EQ(net_chunks(NET_MAX_REQ_BYTES, NET_CHUNK_STD), 184);
	CHECK_EQ(net_chunk_len(NET_MAX_REQ_BYTES, 183, NET_CHUNK_STD), NET_MAX_REQ_BYTES - 183 * NET_CHUNK_STD);
	CHECK_EQ(net_chunk_len(512, 0, NET_CHUNK_STD), 512);
	/* Jumbo frames: 30 chunks of 8928 bytes, the last 3232. */
	CHECK_EQ(net_chunks(NET_MAX_REQ_BYTES, NET_CHUNK_MAX), 30);
	CHECK_EQ(net_chunk_len(NET_MAX_REQ_BYTES, 29, NET_CHUNK_MAX), 3232);
	CHECK_EQ(net_chunk_len(NET_MAX_REQ_BYTES, 28, NET_CHUNK_MAX), NET_CHUNK_MAX);
	u8 map[NET_BITMAP_BYTES] = { 0 };
	net_bit_set(map, 0);
	net_bit_set(map, 9);
	net_bit_set(map, 255);
	CHECK_EQ(net_bits_count(map, 256), 3);
	CHECK_EQ(net_bits_count(map, 10), 2);
	CHECK(net_bits_beyond(map, 255));
	CHECK(!net_bits_beyond(map, 256));
	CHECK(net_bit(map, 9) && !net_bit(map, 8));
}

TEST(stats_format)
{
	struct net_stats st = { 0 };
	char buf[256];
	CHECK_EQ(net_stats_format(&st, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	st.rx_frames = 5;
	st.rx_drop[NET_DROP_MAC] = 2;
	st.writes = 1;
	net_stats_format(&st, buf, sizeof(buf));
	CHECK_STR(buf, "rx_frames=5 bad_mac=2 writes=1");
	st.rx_cookie_bad = 3;
	st.rx_jump = 4;
	st.bind_refused = 1;
	net_stats_format(&st, buf, sizeof(buf));
	CHECK_STR(buf, "rx_frames=5 bad_mac=2 rx_jump=4 rx_cookie_bad=3 bind_refused=1 writes=1");
	st.rx_cookie_bad = st.rx_jump = st.bind_refused = 0;
	int n = net_stats_format(&st, buf, 8);
	CHECK_EQ(n, 30);
	CHECK_STR(buf, "rx_fram");
	CHECK_STR(net_verdict_name(NET_VERDICT_COUNT), "?");
	CHECK_STR(net_verdict_name(NET_DROP_MAC), "bad_mac");
}

int main(void)
{
	RUN(layout_offsets);
	RUN(full_data_frame_fills_the_mtu);
	RUN(jumbo_data_frame_fills_9014_bytes);
	RUN(hello_and_cookie_padding);
	RUN(round_trip_every_type);
	RUN(keep_leaves_only_the_data_sealed);
	RUN(opener_copies_open_data_and_stops_at_its_end);
	RUN(destination_checks);
	RUN(truncated_and_oversize_frames);
	RUN(foreign_frames);
	RUN(mac_rejects_any_flipped_bit);
	RUN(header_fields);
	RUN(dev_bodies);
	RUN(devinfo_body);
	RUN(read_body);
	RUN(data_body);
	RUN(need_and_status_bodies);
	RUN(encoder_refuses_what_decoder_refuses);
	RUN(replay_window);
	RUN(replay_window_random);
	RUN(handshake_layouts);
	RUN(no_amplification);
	RUN(handshake_bodies);
	RUN(client_names);
	RUN(replay_jump_bound);
	RUN(key_derivation);
	RUN(devinfo_and_blk_info);
	RUN(status_codes);
	RUN(chunks_and_bitmaps);
	RUN(stats_format);
	return CHECK_SUMMARY();
}
