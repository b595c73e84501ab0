/* The ferry block protocol's codec (net/proto.c): byte layout, round trips,
 * rejection of every malformed field, truncated or oversize frame, the MAC
 * against a flipped bit anywhere, and the replay window. */
#include <stdlib.h>
#include "check.h"
#include "net/proto.h"

static const u8 KEY[] = "ferry test key, 32 bytes long!!";
static const u8 SELF[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const u8 PEER[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const u8 BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static struct net_key key;

static void setup(void)
{
	net_key_init(&key, KEY, sizeof(KEY) - 1);
}

/* A valid message of each type. */
static struct net_msg msg(u8 type)
{
	static u8 data[NET_CHUNK];
	struct net_msg m = { .type = type, .src_sess = 0x1111222233334444ull, .dst_sess = 0x5555666677778888ull,
			     .counter = 42, .tag = 7 };
	memcpy(m.dst, SELF, 6);
	memcpy(m.src, PEER, 6);
	switch (type) {
	case NET_T_DISCOVER: m.b.dev.dev = NET_DEV_ANY; m.dst_sess = 0; break;
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
		m.data_len = NET_CHUNK;
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

static int enc(u8 type)
{
	struct net_msg m = msg(type);
	return net_encode(frame, &key, &m);
}

/* Recomputes the MAC after a test changed the frame, with the raw HMAC
 * (an independent check of what docs/protocol.md says the MAC covers). */
static void reseal(u8 *f, size_t len)
{
	u8 full[32];
	hmac_sha256(KEY, sizeof(KEY) - 1, f, len - NET_MAC_LEN, full);
	memcpy(f + len - NET_MAC_LEN, full, NET_MAC_LEN);
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
		int len_ = enc(type);                \
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
	/* The MAC is HMAC-SHA-256 truncated, over everything before it. */
	u8 full[32];
	hmac_sha256(KEY, sizeof(KEY) - 1, frame, (size_t)len - 16, full);
	CHECK(!memcmp(frame + len - 16, full, 16));
}

TEST(full_data_frame_fills_the_mtu)
{
	setup();
	CHECK_EQ(NET_CHUNK, 1428);
	CHECK_EQ(enc(NET_T_DATA), 1514);
	CHECK_EQ(enc(NET_T_WRITE), 1514);
	CHECK_EQ(frame[70], (u8)5); /* data at offset 70 */
	struct net_msg m = msg(NET_T_DATA);
	m.data_len = NET_CHUNK + 1;
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	m.data_len = 0;
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	/* Every frame is above the Ethernet minimum, so none is ever padded. */
	CHECK(enc(NET_T_DISCOVER) >= ETH_MIN_FRAME);
	CHECK(enc(NET_T_STATUS) >= ETH_MIN_FRAME);
	CHECK(NET_MAX_REQ_BYTES <= NET_MAX_CHUNKS * NET_CHUNK);
}

TEST(round_trip_every_type)
{
	setup();
	for (u8 t = 1; t <= NET_T_MAX; t++) {
		struct net_msg in = msg(t), out;
		int len = net_encode(frame, &key, &in);
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

TEST(destination_checks)
{
	setup();
	struct net_msg m = msg(NET_T_DISCOVER), out;
	memcpy(m.dst, BCAST, 6);
	int len = net_encode(frame, &key, &m);
	CHECK_EQ(net_decode(frame, (size_t)len, &key, SELF, &out), NET_OK);
	memcpy(m.dst, PEER, 6);
	len = net_encode(frame, &key, &m);
	CHECK_EQ(net_decode(frame, (size_t)len, &key, SELF, &out), NET_DROP_DST);
	CHECK_EQ(net_decode(frame, (size_t)len, &key, NULL, &out), NET_OK);
}

TEST(truncated_and_oversize_frames)
{
	setup();
	int types[] = { NET_T_DISCOVER, NET_T_READ, NET_T_DATA, NET_T_DEVINFO };
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
	/* A frame above 1514 bytes, whatever its length field says. */
	int len = enc(NET_T_DATA);
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
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = 2), NET_DROP_VERSION);
	CHECK_EQ(MUT(NET_T_STATUS, f[14] = 0), NET_DROP_VERSION);
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
	net_key_init(&other, "another key of enough length", 28);
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
	CHECK_EQ(MUT(NET_T_DISCOVER, put16(f, 20, 1)), NET_DROP_MALFORMED);
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
	CHECK_EQ(MUT(NET_T_DISCOVER, put64(f, 30, 0)), NET_OK);            /* allowed in DISCOVER */
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
	CHECK_EQ(MUT(NET_T_DISCOVER, put16(f, 56, 1)), NET_DROP_MALFORMED);
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
	CHECK_EQ(MUT(NET_T_DEVINFO, put32(f, 138, 1)), NET_DROP_MALFORMED);      /* reserved */
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
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.counter = 0;
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.type = 0;
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	m = msg(NET_T_DEVINFO);
	m.b.info.model[0] = '\n';
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.flags = NET_F_LAST;
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
	m = msg(NET_T_STATUS);
	m.data_len = 4;
	CHECK_EQ(net_encode(frame, &key, &m), -E_INVAL);
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
	CHECK(net_replay_accept(&w, ~0ull));
	CHECK(!net_replay_accept(&w, ~0ull));
	CHECK(net_replay_accept(&w, ~0ull - 63));
	CHECK(!net_replay_accept(&w, ~0ull - 64));
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
	CHECK_EQ(net_chunks(1), 1);
	CHECK_EQ(net_chunks(NET_CHUNK), 1);
	CHECK_EQ(net_chunks(NET_CHUNK + 1), 2);
	CHECK_EQ(net_chunks(NET_MAX_REQ_BYTES), 184);
	CHECK_EQ(net_chunk_len(NET_MAX_REQ_BYTES, 183), NET_MAX_REQ_BYTES - 183 * NET_CHUNK);
	CHECK_EQ(net_chunk_len(512, 0), 512);
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
	RUN(round_trip_every_type);
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
	RUN(devinfo_and_blk_info);
	RUN(status_codes);
	RUN(chunks_and_bitmaps);
	RUN(stats_format);
	return CHECK_SUMMARY();
}
