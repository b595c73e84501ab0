/* ChaCha20, Poly1305 and AEAD_CHACHA20_POLY1305 (lib/chacha20.c,
 * lib/poly1305.c, lib/aead.c) against every test vector of RFC 8439
 * (aead_vectors.h), then what the frame protection relies on: any changed
 * byte of AAD, ciphertext, tag, nonce or key, or a moved boundary, fails
 * open and leaves the plaintext buffer as it was; seal and open in place;
 * the lengths frames have; incremental Poly1305 equal to one-shot for
 * every split of a message. */
#include <stdlib.h>

#include "check.h"
#include "aead_vectors.h"
#include "lib/aead.h"
#include "lib/chacha20.h"
#include "lib/poly1305.h"

/* Hex to bytes; returns the byte count. */
static size_t unhex(const char *s, u8 *out)
{
	size_t n = 0;
	for (; s[0] && s[1]; s += 2) {
		char b[3] = { s[0], s[1], 0 };
		out[n++] = (u8)strtoul(b, NULL, 16);
	}
	return n;
}

/* Compares len bytes with hex; 1 when equal. */
static int same(const void *got, const char *hex, size_t len)
{
	static u8 want[1024];
	return unhex(hex, want) == len && memcmp(got, want, len) == 0;
}

/* A deterministic byte stream (splitmix64) for test data. */
static void fill(void *buf, size_t len, u64 seed)
{
	u8 *p = buf;
	for (size_t i = 0; i < len; i++) {
		u64 z = (seed += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		p[i] = (u8)(z ^ (z >> 31));
	}
}

TEST(chacha_quarter_round_211)
{
	u32 a = 0x11111111, b = 0x01020304, c = 0x9b8d6f43, d = 0x01234567;
	chacha20_quarter_round(&a, &b, &c, &d);
	CHECK_EQ(a, 0xea2a92f4);
	CHECK_EQ(b, 0xcb1cf8ce);
	CHECK_EQ(c, 0x4581472e);
	CHECK_EQ(d, 0x5881c4bb);
}

TEST(chacha_state_quarter_round_221)
{
	u32 s[16] = { 0x879531e0, 0xc5ecf37d, 0x516461b1, 0xc9a62f8a, 0x44c20ef3, 0x3390af7f,
		      0xd9fc690b, 0x2a5f714c, 0x53372767, 0xb00a5631, 0x974c541a, 0x359e9963,
		      0x5c971061, 0x3d631689, 0x2098d9d6, 0x91dbd320 };
	const u32 want[16] = { 0x879531e0, 0xc5ecf37d, 0xbdb886dc, 0xc9a62f8a, 0x44c20ef3, 0x3390af7f,
			       0xd9fc690b, 0xcfacafd2, 0xe46bea80, 0xb00a5631, 0x974c541a, 0x359e9963,
			       0x5c971061, 0xccc07c79, 0x2098d9d6, 0x91dbd320 };
	chacha20_quarter_round(&s[2], &s[7], &s[8], &s[13]);
	CHECK(memcmp(s, want, sizeof(s)) == 0);
}

TEST(chacha_block_232)
{
	u8 key[32], nonce[12], out[64];
	u32 s[16];
	const u32 setup[16] = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574, 0x03020100, 0x07060504,
				0x0b0a0908, 0x0f0e0d0c, 0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c,
				0x00000001, 0x09000000, 0x4a000000, 0x00000000 };
	const u32 end[16] = { 0xe4e7f110, 0x15593bd1, 0x1fdd0f50, 0xc47120a3, 0xc7f4d1c7, 0x0368c033,
			      0x9aaa2204, 0x4e6cd4c3, 0x466482d2, 0x09aa9f07, 0x05d7c214, 0xa2028bd9,
			      0xd19c12b5, 0xb94e16de, 0xe883d0cb, 0x4e3c50a2 };
	unhex(s232_key, key);
	unhex(s232_nonce, nonce);
	chacha20_init_state(s, key, 1, nonce);
	CHECK(memcmp(s, setup, sizeof(s)) == 0);
	chacha20_core(s, s);
	CHECK(memcmp(s, end, sizeof(s)) == 0);
	chacha20_block(key, 1, nonce, out);
	CHECK(same(out, s232_block, 64));
}

TEST(chacha_encrypt_242)
{
	u8 key[32], nonce[12], pt[114], ct[114];
	unhex(s232_key, key);
	unhex(s242_nonce, nonce);
	CHECK_EQ(unhex(s242_pt, pt), 114);
	chacha20_xor(key, 1, nonce, pt, ct, sizeof(pt));
	CHECK(same(ct, s242_ct, 114));
	chacha20_xor(key, 1, nonce, ct, ct, sizeof(ct));
	CHECK(memcmp(ct, pt, sizeof(pt)) == 0);
}

TEST(chacha_block_a1)
{
	const struct { const char *key, *nonce, *ks; u32 counter; } v[] = {
		{ a1_1_key, a1_1_nonce, a1_1_ks, 0 }, { a1_2_key, a1_2_nonce, a1_2_ks, 1 },
		{ a1_3_key, a1_3_nonce, a1_3_ks, 1 }, { a1_4_key, a1_4_nonce, a1_4_ks, 2 },
		{ a1_5_key, a1_5_nonce, a1_5_ks, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		u8 key[32], nonce[12], out[64];
		unhex(v[i].key, key);
		unhex(v[i].nonce, nonce);
		chacha20_block(key, v[i].counter, nonce, out);
		CHECK(same(out, v[i].ks, 64));
	}
}

TEST(chacha_encrypt_a2)
{
	const struct { const char *key, *nonce, *pt, *ct; u32 counter; } v[] = {
		{ a2_1_key, a2_1_nonce, a2_1_pt, a2_1_ct, 0 },
		{ a2_2_key, a2_2_nonce, a2_2_pt, a2_2_ct, 1 },
		{ a2_3_key, a2_3_nonce, a2_3_pt, a2_3_ct, 42 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		u8 key[32], nonce[12], pt[400], ct[400];
		unhex(v[i].key, key);
		unhex(v[i].nonce, nonce);
		size_t n = unhex(v[i].pt, pt);
		chacha20_xor(key, v[i].counter, nonce, pt, ct, n);
		CHECK(same(ct, v[i].ct, n));
	}
}

TEST(poly1305_252)
{
	u8 key[32], msg[34], tag[16];
	unhex(s252_key, key);
	CHECK_EQ(unhex(s252_msg, msg), 34);
	poly1305(key, msg, sizeof(msg), tag);
	CHECK(same(tag, s252_tag, 16));
}

TEST(poly1305_a3)
{
	const struct poly_edge v[] = {
		{ a3_1_key, a3_1_msg, a3_1_tag }, { a3_2_key, a3_2_msg, a3_2_tag },
		{ a3_3_key, a3_3_msg, a3_3_tag }, { a3_4_key, a3_4_msg, a3_4_tag },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v) + ARRAY_SIZE(a3_edges); i++) {
		const struct poly_edge *e = i < ARRAY_SIZE(v) ? &v[i] : &a3_edges[i - ARRAY_SIZE(v)];
		u8 key[32], msg[400], tag[16];
		CHECK_EQ(unhex(e->key, key), 32);
		size_t n = unhex(e->msg, msg);
		poly1305(key, msg, n, tag);
		if (!same(tag, e->tag, 16))
			printf("  A.3 test vector #%zu\n", i + 1);
		CHECK(same(tag, e->tag, 16));
	}
}

TEST(poly1305_keygen_262_a4)
{
	const struct { const char *key, *nonce, *otk; } v[] = {
		{ s262_key, s262_nonce, s262_out }, { a4_1_key, a4_1_nonce, a4_1_otk },
		{ a4_2_key, a4_2_nonce, a4_2_otk }, { a4_3_key, a4_3_nonce, a4_3_otk },
		{ a5_key, a5_nonce, a5_otk },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		u8 key[32], nonce[12], block[64];
		unhex(v[i].key, key);
		unhex(v[i].nonce, nonce);
		chacha20_block(key, 0, nonce, block);
		CHECK(same(block, v[i].otk, 32));
	}
}

TEST(aead_seal_282)
{
	u8 key[32], nonce[12], aad[12], pt[114], ct[114], tag[16], block[64];
	unhex(s282_key, key);
	unhex(s282_fixed, nonce);
	unhex(s282_iv, nonce + 4);
	unhex(s282_aad, aad);
	unhex(s282_pt, pt);
	chacha20_block(key, 0, nonce, block);
	CHECK(same(block, s282_otk, 32));
	aead_seal(key, nonce, aad, sizeof(aad), pt, sizeof(pt), ct, tag);
	CHECK(same(ct, s282_ct, sizeof(ct)));
	CHECK(same(tag, s282_tag, 16));
	u8 back[114];
	CHECK_EQ(aead_open(key, nonce, aad, sizeof(aad), ct, sizeof(ct), back, tag), 0);
	CHECK(memcmp(back, pt, sizeof(pt)) == 0);
}

TEST(aead_open_a5)
{
	u8 key[32], nonce[12], aad[12], ct[265], tag[16], pt[265], tag2[16], ct2[265];
	unhex(a5_key, key);
	unhex(a5_nonce, nonce);
	unhex(a5_aad, aad);
	CHECK_EQ(unhex(a5_ct, ct), 265);
	unhex(a5_tag, tag);
	CHECK_EQ(aead_open(key, nonce, aad, sizeof(aad), ct, sizeof(ct), pt, tag), 0);
	CHECK(same(pt, a5_pt, sizeof(pt)));
	aead_seal(key, nonce, aad, sizeof(aad), pt, sizeof(pt), ct2, tag2);
	CHECK(memcmp(ct2, ct, sizeof(ct)) == 0);
	CHECK(memcmp(tag2, tag, sizeof(tag)) == 0);
}

/* The RFC's 2.8.2 message as the base of the tampering tests. */
struct sealed {
	u8 key[32], nonce[12], aad[12], pt[114], ct[114], tag[16];
};

static void sealed_282(struct sealed *m)
{
	unhex(s282_key, m->key);
	unhex(s282_fixed, m->nonce);
	unhex(s282_iv, m->nonce + 4);
	unhex(s282_aad, m->aad);
	unhex(s282_pt, m->pt);
	aead_seal(m->key, m->nonce, m->aad, sizeof(m->aad), m->pt, sizeof(m->pt), m->ct, m->tag);
}

/* Opens m into a buffer of 0xa5 and checks: -E_AUTH, buffer unchanged. */
static int refused(const struct sealed *m, size_t aad_len, const u8 *ct, size_t len)
{
	u8 out[sizeof(m->pt) + 1], mark[sizeof(out)];
	memset(out, 0xa5, sizeof(out));
	memset(mark, 0xa5, sizeof(mark));
	int r = aead_open(m->key, m->nonce, m->aad, aad_len, ct, len, out, m->tag);
	return r == -E_AUTH && memcmp(out, mark, sizeof(out)) == 0;
}

TEST(aead_tamper_any_byte)
{
	struct sealed m, t;
	sealed_282(&m);
	CHECK(!refused(&m, sizeof(m.aad), m.ct, sizeof(m.ct)));
	for (unsigned bit = 0; bit < 8; bit++) {
		u8 x = (u8)(1u << bit);
		for (size_t i = 0; i < sizeof(m.aad); i++) {
			t = m;
			t.aad[i] ^= x;
			CHECK(refused(&t, sizeof(t.aad), t.ct, sizeof(t.ct)));
		}
		for (size_t i = 0; i < sizeof(m.ct); i++) {
			t = m;
			t.ct[i] ^= x;
			CHECK(refused(&t, sizeof(t.aad), t.ct, sizeof(t.ct)));
		}
		for (size_t i = 0; i < sizeof(m.tag); i++) {
			t = m;
			t.tag[i] ^= x;
			CHECK(refused(&t, sizeof(t.aad), t.ct, sizeof(t.ct)));
		}
		for (size_t i = 0; i < sizeof(m.nonce); i++) {
			t = m;
			t.nonce[i] ^= x;
			CHECK(refused(&t, sizeof(t.aad), t.ct, sizeof(t.ct)));
		}
		for (size_t i = 0; i < sizeof(m.key); i++) {
			t = m;
			t.key[i] ^= x;
			CHECK(refused(&t, sizeof(t.aad), t.ct, sizeof(t.ct)));
		}
	}
}

TEST(aead_tamper_lengths)
{
	/* Truncated, extended, and the AAD/ciphertext boundary moved: the
	 * length block of the tag covers both. */
	struct sealed m;
	u8 joined[sizeof(m.aad) + sizeof(m.ct) + 1];
	sealed_282(&m);
	CHECK(refused(&m, sizeof(m.aad), m.ct, sizeof(m.ct) - 1));
	CHECK(refused(&m, sizeof(m.aad) - 1, m.ct, sizeof(m.ct)));
	CHECK(refused(&m, 0, m.ct, sizeof(m.ct)));
	CHECK(refused(&m, sizeof(m.aad), m.ct, 0));
	memcpy(joined, m.ct, sizeof(m.ct));
	joined[sizeof(m.ct)] = 0;
	CHECK(refused(&m, sizeof(m.aad), joined, sizeof(m.ct) + 1));
	/* aad | ct read as aad' | ct' with the boundary one byte later. */
	struct sealed s = m;
	u8 aad2[sizeof(m.aad) + 1];
	memcpy(aad2, m.aad, sizeof(m.aad));
	aad2[sizeof(m.aad)] = m.ct[0];
	u8 out[sizeof(m.pt)];
	memset(out, 0xa5, sizeof(out));
	CHECK_EQ(aead_open(s.key, s.nonce, aad2, sizeof(aad2), m.ct + 1, sizeof(m.ct) - 1, out, s.tag), -E_AUTH);
	for (size_t i = 0; i < sizeof(out); i++)
		CHECK_EQ(out[i], 0xa5);
}

TEST(aead_in_place)
{
	struct sealed m;
	u8 buf[114], tag[16];
	sealed_282(&m);
	memcpy(buf, m.pt, sizeof(buf));
	aead_seal(m.key, m.nonce, m.aad, sizeof(m.aad), buf, sizeof(buf), buf, tag);
	CHECK(memcmp(buf, m.ct, sizeof(buf)) == 0);
	CHECK(memcmp(tag, m.tag, sizeof(tag)) == 0);
	CHECK_EQ(aead_open(m.key, m.nonce, m.aad, sizeof(m.aad), buf, sizeof(buf), buf, tag), 0);
	CHECK(memcmp(buf, m.pt, sizeof(buf)) == 0);
	/* A refused in-place open leaves the ciphertext as it was. */
	memcpy(buf, m.ct, sizeof(buf));
	tag[0] ^= 1;
	CHECK_EQ(aead_open(m.key, m.nonce, m.aad, sizeof(m.aad), buf, sizeof(buf), buf, tag), -E_AUTH);
	CHECK(memcmp(buf, m.ct, sizeof(buf)) == 0);
}

/* The tag of section 2.8 built the plain way, one buffer and one-shot
 * Poly1305, to check the AEAD's incremental path against. */
static void tag_by_hand(const u8 *key, const u8 *nonce, const u8 *aad, size_t alen, const u8 *ct,
			size_t len, u8 tag[16])
{
	static u8 buf[9000 + 64 + 64];
	u8 block[64];
	size_t n = 0;
	if (alen)
		memcpy(buf, aad, alen);
	n = (alen + 15) / 16 * 16;
	memset(buf + alen, 0, n - alen);
	if (len)
		memcpy(buf + n, ct, len);
	memset(buf + n + len, 0, (len + 15) / 16 * 16 - len);
	n += (len + 15) / 16 * 16;
	for (int i = 0; i < 8; i++) {
		buf[n + (size_t)i] = (u8)((u64)alen >> (8 * i));
		buf[n + 8 + (size_t)i] = (u8)((u64)len >> (8 * i));
	}
	n += 16;
	chacha20_block(key, 0, nonce, block);
	poly1305(block, buf, n, tag);
}

TEST(aead_frame_lengths)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 1428, 1444, 8948, 8964 };
	static const size_t alens[] = { 0, 1, 7, 13, 16, 53, 54 };
	static u8 pt[9000], ct[9000], back[9000];
	u8 key[32], nonce[12], aad[64], tag[16], want[16];
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		for (size_t j = 0; j < ARRAY_SIZE(alens); j++) {
			size_t n = lens[i], an = alens[j];
			u64 seed = i * 100 + j;
			fill(key, sizeof(key), seed);
			fill(nonce, sizeof(nonce), seed + 1);
			fill(aad, an, seed + 2);
			fill(pt, n, seed + 3);
			aead_seal(key, nonce, aad, an, pt, n, ct, tag);
			/* The ciphertext is the keystream from block 1, the tag the
			 * plain construction's. */
			chacha20_xor(key, 1, nonce, pt, back, n);
			CHECK(memcmp(back, ct, n) == 0);
			tag_by_hand(key, nonce, aad, an, ct, n, want);
			CHECK(memcmp(tag, want, 16) == 0);
			memset(back, 0, n);
			CHECK_EQ(aead_open(key, nonce, aad, an, ct, n, back, tag), 0);
			CHECK(memcmp(back, pt, n) == 0);
			if (n) {
				ct[n - 1] ^= 0x80;
				CHECK_EQ(aead_open(key, nonce, aad, an, ct, n, back, tag), -E_AUTH);
			}
		}
	}
}

TEST(aead_empty_with_null)
{
	/* No AAD and no body may come as NULL pointers: a frame that is all
	 * header, say.  The tag is still the key's and the nonce's. */
	u8 key[32], nonce[12], tag[16], want[16];
	struct poly1305_ctx c;
	fill(key, sizeof(key), 41);
	fill(nonce, sizeof(nonce), 42);
	aead_seal(key, nonce, NULL, 0, NULL, 0, NULL, tag);
	tag_by_hand(key, nonce, NULL, 0, NULL, 0, want);
	CHECK(memcmp(tag, want, 16) == 0);
	CHECK_EQ(aead_open(key, nonce, NULL, 0, NULL, 0, NULL, tag), 0);
	tag[3] ^= 4;
	CHECK_EQ(aead_open(key, nonce, NULL, 0, NULL, 0, NULL, tag), -E_AUTH);
	poly1305_init(&c, key);
	poly1305_update(&c, key, 5);
	poly1305_update(&c, NULL, 0);
	poly1305_final(&c, tag);
	poly1305(key, key, 5, want);
	CHECK(memcmp(tag, want, 16) == 0);
}

TEST(chacha_stream_is_blocks)
{
	/* chacha20_xor of any length is the concatenated blocks' keystream:
	 * the whole-block path and the tail agree. */
	static u8 zero[600], out[600];
	u8 key[32], nonce[12], block[64];
	fill(key, sizeof(key), 7);
	fill(nonce, sizeof(nonce), 8);
	for (size_t n = 0; n <= sizeof(out); n += 1 + n / 8) {
		memset(out, 0x5a, sizeof(out));
		chacha20_xor(key, 0xfffffffeu, nonce, zero, out, n);
		for (size_t off = 0; off < n; off += 64) {
			chacha20_block(key, 0xfffffffeu + (u32)(off / 64), nonce, block);
			size_t k = n - off < 64 ? n - off : 64;
			CHECK(memcmp(out + off, block, k) == 0);
		}
		CHECK(out[n] == 0x5a);
	}
}

TEST(chacha_xor_at_is_a_slice_of_the_stream)
{
	/* Every piece [pos, pos + n) through chacha20_xor_at is those bytes
	 * of the whole message through chacha20_xor, from any block counter,
	 * in place or not; nothing outside the piece is written. */
	static u8 msg[700], whole[700], piece[702];
	u8 key[32], nonce[12];
	fill(key, sizeof(key), 9);
	fill(nonce, sizeof(nonce), 10);
	fill(msg, sizeof(msg), 11);
	const u32 counters[] = { 0, 1, 0xfffffffeu };
	for (unsigned c = 0; c < 3; c++) {
		chacha20_xor(key, counters[c], nonce, msg, whole, sizeof(msg));
		for (size_t pos = 0; pos < 200; pos += 1 + pos / 16) {
			for (size_t n = 0; pos + n <= sizeof(msg); n += 1 + n / 4) {
				memset(piece, 0x5a, sizeof(piece));
				chacha20_xor_at(key, counters[c], nonce, pos, msg + pos, piece + 1, n);
				CHECK(memcmp(piece + 1, whole + pos, n) == 0);
				CHECK(piece[0] == 0x5a && piece[n + 1] == 0x5a);
				memcpy(piece, msg + pos, n);
				chacha20_xor_at(key, counters[c], nonce, pos, piece, piece, n);
				CHECK(memcmp(piece, whole + pos, n) == 0);
			}
		}
	}
}

TEST(chacha_stream_pieces_are_the_stream)
{
	/* A chacha20_stream from any pos, fed pieces of any lengths one after
	 * another (in place or not), gives the bytes chacha20_xor gives the
	 * whole message there; nothing outside a piece is written. */
	static u8 msg[700], whole[700], out[702];
	u8 key[32], nonce[12];
	fill(key, sizeof(key), 12);
	fill(nonce, sizeof(nonce), 13);
	fill(msg, sizeof(msg), 14);
	const u32 counters[] = { 1, 0xfffffffdu };
	for (unsigned c = 0; c < 2; c++) {
		chacha20_xor(key, counters[c], nonce, msg, whole, sizeof(msg));
		for (size_t pos = 0; pos < 140; pos += 1 + pos / 8) {
			for (unsigned step = 1; step < 150; step += 1 + step / 2) {
				struct chacha20_stream st;
				memset(out, 0x5a, sizeof(out));
				chacha20_stream_init(&st, key, counters[c], nonce, pos);
				if (step & 1) /* an empty first piece: pos must hold for the next */
					chacha20_stream_xor(&st, msg + pos, out + 1 + pos, 0);
				size_t at = pos, k = 0;
				while (at < sizeof(msg)) {
					/* lengths step, 0, step + 7, 1, ...: empty pieces too */
					size_t n = (k % 4 == 0) ? step : (k % 4 == 1) ? 0 : (k % 4 == 2) ? step + 7 : 1;
					n = MIN(n, sizeof(msg) - at);
					if (k % 3 == 0) {
						chacha20_stream_xor(&st, msg + at, out + 1 + at, n);
					} else {
						memcpy(out + 1 + at, msg + at, n);
						chacha20_stream_xor(&st, out + 1 + at, out + 1 + at, n);
					}
					at += n;
					k++;
				}
				chacha20_stream_wipe(&st);
				CHECK(memcmp(out + 1 + pos, whole + pos, sizeof(msg) - pos) == 0);
				CHECK(out[pos] == 0x5a && out[sizeof(msg) + 1] == 0x5a);
				static const struct chacha20_stream zero;
				CHECK(memcmp(&st, &zero, sizeof(st)) == 0);
			}
		}
	}
}

TEST(aead_in_pieces_is_aead)
{
	/* Sealing in three pieces from three places gives aead_seal's
	 * ciphertext and tag; aead_verify accepts exactly that, and opening
	 * in pieces gives the plaintext back. */
	static u8 pt[1500], ct[1500], ct2[1500], back[1500];
	u8 key[32], nonce[12], aad[30], tag[16], tag2[16];
	fill(key, sizeof(key), 12);
	fill(nonce, sizeof(nonce), 13);
	fill(aad, sizeof(aad), 14);
	fill(pt, sizeof(pt), 15);
	const size_t a = 24, b = 1428;
	aead_seal(key, nonce, aad, sizeof(aad), pt, sizeof(pt), ct, tag);
	aead_xor_at(key, nonce, 0, pt, ct2, a);
	aead_xor_at(key, nonce, a, pt + a, ct2 + a, b);
	aead_xor_at(key, nonce, a + b, pt + a + b, ct2 + a + b, sizeof(pt) - a - b);
	aead_tag_of(key, nonce, aad, sizeof(aad), ct2, sizeof(ct2), tag2);
	CHECK(memcmp(ct, ct2, sizeof(ct)) == 0);
	CHECK(memcmp(tag, tag2, sizeof(tag)) == 0);
	CHECK_EQ(aead_verify(key, nonce, aad, sizeof(aad), ct, sizeof(ct), tag), 0);
	ct[700] ^= 1;
	CHECK_EQ(aead_verify(key, nonce, aad, sizeof(aad), ct, sizeof(ct), tag), -E_AUTH);
	ct[700] ^= 1;
	aead_xor_at(key, nonce, 0, ct, back, 100);
	aead_xor_at(key, nonce, 100, ct + 100, back + 100, sizeof(ct) - 100);
	CHECK(memcmp(back, pt, sizeof(pt)) == 0);
}

TEST(poly1305_split_everywhere)
{
	/* Two pieces at every split point, three pieces at every pair of
	 * points, and byte by byte: always the one-shot tag. */
	static u8 msg[300];
	u8 key[32], want[16], got[16];
	struct poly1305_ctx c;
	fill(key, sizeof(key), 11);
	fill(msg, sizeof(msg), 12);
	poly1305(key, msg, sizeof(msg), want);
	for (size_t i = 0; i <= sizeof(msg); i++) {
		poly1305_init(&c, key);
		poly1305_update(&c, msg, i);
		poly1305_update(&c, msg + i, sizeof(msg) - i);
		poly1305_final(&c, got);
		CHECK(memcmp(got, want, 16) == 0);
	}
	for (size_t n = 0; n <= 70; n++) {
		poly1305(key, msg, n, want);
		for (size_t i = 0; i <= n; i++) {
			for (size_t j = i; j <= n; j++) {
				poly1305_init(&c, key);
				poly1305_update(&c, msg, i);
				poly1305_update(&c, msg + i, j - i);
				poly1305_update(&c, msg + j, n - j);
				poly1305_final(&c, got);
				CHECK(memcmp(got, want, 16) == 0);
			}
		}
	}
	poly1305(key, msg, sizeof(msg), want);
	poly1305_init(&c, key);
	for (size_t i = 0; i < sizeof(msg); i++)
		poly1305_update(&c, msg + i, 1);
	poly1305_final(&c, got);
	CHECK(memcmp(got, want, 16) == 0);
}

TEST(poly1305_pad16_is_zeros)
{
	static const u8 zeros[16];
	static u8 msg[40];
	u8 key[32], want[16], got[16];
	struct poly1305_ctx c;
	fill(key, sizeof(key), 21);
	fill(msg, sizeof(msg), 22);
	for (size_t n = 0; n <= 33; n++) {
		poly1305_init(&c, key);
		poly1305_update(&c, msg, n);
		poly1305_update(&c, zeros, (16 - n % 16) % 16);
		poly1305_update(&c, msg, 7);
		poly1305_final(&c, want);
		poly1305_init(&c, key);
		poly1305_update(&c, msg, n);
		poly1305_pad16(&c);
		poly1305_update(&c, msg, 7);
		poly1305_final(&c, got);
		CHECK(memcmp(got, want, 16) == 0);
	}
}

TEST(poly1305_final_wipes)
{
	struct poly1305_ctx c;
	static const struct poly1305_ctx zero;
	u8 key[32], tag[16];
	fill(key, sizeof(key), 31);
	poly1305_init(&c, key);
	poly1305_update(&c, key, 5);
	poly1305_final(&c, tag);
	CHECK(memcmp(&c, &zero, sizeof(c)) == 0);
}

TEST(aead_err_name)
{
	CHECK_STR(err_name(-E_AUTH), "auth");
	u8 a[16] = { 0 }, b[16] = { 0 };
	CHECK_EQ(aead_tag_differs(a, b, 16), 0);
	for (size_t i = 0; i < 16; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			b[i] = (u8)(1u << bit);
			CHECK_EQ(aead_tag_differs(a, b, 16), 1);
			b[i] = 0;
		}
	}
}

int main(void)
{
	RUN(chacha_quarter_round_211);
	RUN(chacha_state_quarter_round_221);
	RUN(chacha_block_232);
	RUN(chacha_encrypt_242);
	RUN(chacha_block_a1);
	RUN(chacha_encrypt_a2);
	RUN(poly1305_252);
	RUN(poly1305_a3);
	RUN(poly1305_keygen_262_a4);
	RUN(aead_seal_282);
	RUN(aead_open_a5);
	RUN(aead_tamper_any_byte);
	RUN(aead_tamper_lengths);
	RUN(aead_in_place);
	RUN(aead_frame_lengths);
	RUN(aead_empty_with_null);
	RUN(chacha_stream_is_blocks);
	RUN(chacha_xor_at_is_a_slice_of_the_stream);
	RUN(chacha_stream_pieces_are_the_stream);
	RUN(aead_in_pieces_is_aead);
	RUN(poly1305_split_everywhere);
	RUN(poly1305_pad16_is_zeros);
	RUN(poly1305_final_wipes);
	RUN(aead_err_name);
	return CHECK_SUMMARY();
}
