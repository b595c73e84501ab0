/* Poly1305 as specified in RFC 8439 section 2.5.
 *
 * The accumulator h = h0 + 2^64 h1 + 2^128 h2 is kept below about
 * 2^130 + 2^64 between blocks (a partial reduction, h2 <= 4); r = r0 +
 * 2^64 r1 with r0, r1 < 2^60 after clamping.  Clamping also clears the low
 * two bits of r1, so 2^128 r1 = 2^130 (r1/4), which is 5 (r1/4) = r1 + r1/4
 * modulo p = 2^130 - 5: the product needs four full multiplies and two
 * small ones, and no term exceeds 2^126. */
#include "poly1305.h"
#include "le.h"
#include "string.h"

typedef unsigned __int128 u128;

void poly1305_init(struct poly1305_ctx *c, const u8 key[POLY1305_KEY_LEN])
{
	/* Clamp (section 2.5): r[3], r[7], r[11], r[15] keep their low four
	 * bits, r[4], r[8], r[12] lose their low two. */
	c->r0 = load_le64(key) & 0x0ffffffc0fffffffull;
	c->r1 = load_le64(key + 8) & 0x0ffffffc0ffffffcull;
	c->s1 = c->r1 + (c->r1 >> 2);
	c->h0 = c->h1 = c->h2 = 0;
	c->pad0 = load_le64(key + 16);
	c->pad1 = load_le64(key + 24);
	c->buf_len = 0;
}

/* The 128-bit product a b as two halves: returns the low one. */
static inline u64 mul64(u64 a, u64 b, u64 *hi)
{
	u128 p = (u128)a * b;
	*hi = (u64)(p >> 64);
	return (u64)p;
}

/* h = (h + m + hibit 2^128) r mod p, partially reduced, for n blocks.
 * Sums are 64-bit words with explicit carries ((x + y) < y is the carry
 * out, which gcc turns into ADC/SETC, no branch); gcc keeps these in
 * registers, where a sum of unsigned __int128 went through the stack.
 * Aligned to a power of two above its size, the loop never crosses a page:
 * under TCG a jump chains straight to translated code only inside the
 * page its block began in, and across a page boundary the loop took a
 * lookup every turn and ran at half speed (qemu-x86_64, two layouts). */
static __aligned(512) void poly1305_blocks(struct poly1305_ctx *c, const u8 *p, size_t n, u64 hibit)
{
	const u64 r0 = c->r0, r1 = c->r1, s1 = c->s1;
	u64 h0 = c->h0, h1 = c->h1, h2 = c->h2;

	for (; n; n--, p += POLY1305_BLOCK_LEN) {
		u64 m = load_le64(p), t, carry;
		h0 += m;
		carry = h0 < m;
		m = load_le64(p + 8);
		t = h1 + m;
		u64 carry1 = t < m;
		h1 = t + carry;
		h2 += hibit + (carry1 | (h1 < carry));

		/* d0 = h0 r0 + h1 s1, d1 = h0 r1 + h1 r0 + h2 s1, d2 = h2 r0;
		 * h2 <= 6 here, so h2 s1 and h2 r0 fit 64 bits. */
		u64 hi, hi2;
		u64 d0 = mul64(h0, r0, &hi), lo2 = mul64(h1, s1, &hi2);
		d0 += lo2;
		u64 d0h = hi + hi2 + (d0 < lo2);
		u64 d1 = mul64(h0, r1, &hi);
		lo2 = mul64(h1, r0, &hi2);
		d1 += lo2;
		u64 d1h = hi + hi2 + (d1 < lo2);
		t = h2 * s1;
		d1 += t;
		d1h += d1 < t;
		u64 d2 = h2 * r0;
		d1 += d0h;
		d1h += d1 < d0h;
		d2 += d1h;

		/* Bits 130 and up, times 5, go back to the bottom. */
		carry = (d2 & ~(u64)3) + (d2 >> 2);
		h2 = d2 & 3;
		h0 = d0 + carry;
		carry = h0 < carry;
		h1 = d1 + carry;
		h2 += h1 < carry;
	}
	c->h0 = h0;
	c->h1 = h1;
	c->h2 = h2;
}

void poly1305_update(struct poly1305_ctx *c, const void *data, size_t len)
{
	const u8 *p = data;

	if (!len) /* data may then be NULL */
		return;
	if (c->buf_len) {
		size_t n = POLY1305_BLOCK_LEN - c->buf_len;
		if (n > len)
			n = len;
		memcpy(c->buf + c->buf_len, p, n);
		c->buf_len += (u32)n;
		p += n;
		len -= n;
		if (c->buf_len < POLY1305_BLOCK_LEN)
			return;
		poly1305_blocks(c, c->buf, 1, 1);
		c->buf_len = 0;
	}
	if (len >= POLY1305_BLOCK_LEN) {
		size_t whole = len / POLY1305_BLOCK_LEN;
		poly1305_blocks(c, p, whole, 1);
		p += whole * POLY1305_BLOCK_LEN;
		len -= whole * POLY1305_BLOCK_LEN;
	}
	if (len) {
		memcpy(c->buf, p, len);
		c->buf_len = (u32)len;
	}
}

void poly1305_pad16(struct poly1305_ctx *c)
{
	if (!c->buf_len)
		return;
	memset(c->buf + c->buf_len, 0, POLY1305_BLOCK_LEN - c->buf_len);
	poly1305_blocks(c, c->buf, 1, 1);
	c->buf_len = 0;
}

void poly1305_final(struct poly1305_ctx *c, u8 tag[POLY1305_TAG_LEN])
{
	if (c->buf_len) {
		/* The last partial block: its 0x01 byte, then zeros, and no
		 * 2^128 bit. */
		c->buf[c->buf_len] = 1;
		memset(c->buf + c->buf_len + 1, 0, POLY1305_BLOCK_LEN - c->buf_len - 1);
		poly1305_blocks(c, c->buf, 1, 0);
	}
	/* h < 2p: subtract p once if h + 5 reaches 2^130, without a branch. */
	u64 h0 = c->h0, h1 = c->h1, h2 = c->h2;
	u128 t = (u128)h0 + 5;
	u64 g0 = (u64)t;
	t = (u128)h1 + (u64)(t >> 64);
	u64 g1 = (u64)t;
	u64 g2 = h2 + (u64)(t >> 64);
	u64 take_g = 0 - (g2 >> 2);
	h0 = (h0 & ~take_g) | (g0 & take_g);
	h1 = (h1 & ~take_g) | (g1 & take_g);

	/* tag = (h + s) mod 2^128 */
	t = (u128)h0 + c->pad0;
	store_le64(tag, (u64)t);
	store_le64(tag + 8, h1 + c->pad1 + (u64)(t >> 64));
	mem_wipe(c, sizeof(*c));
}

void poly1305(const u8 key[POLY1305_KEY_LEN], const void *msg, size_t len, u8 tag[POLY1305_TAG_LEN])
{
	struct poly1305_ctx c;

	poly1305_init(&c, key);
	poly1305_update(&c, msg, len);
	poly1305_final(&c, tag);
}
