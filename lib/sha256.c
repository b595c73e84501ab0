/* SHA-256 as specified in FIPS 180-4 (section 6.2) and HMAC (RFC 2104). */
#include "sha256.h"
#include "string.h"

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes. */
static const u32 sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline u32 ror32(u32 x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline u32 load_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static inline void store_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

/* One application of the compression function (section 6.2.2).  The
 * message schedule is kept as a 16-word ring to keep the frame small. */
static void sha256_block(u32 h[8], const u8 *blk)
{
	u32 w[16];
	u32 a = h[0], b = h[1], c = h[2], d = h[3];
	u32 e = h[4], f = h[5], g = h[6], hh = h[7];

	for (int t = 0; t < 64; t++) {
		u32 wt;
		if (t < 16) {
			wt = load_be32(blk + 4 * t);
		} else {
			u32 w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
			u32 s0 = ror32(w15, 7) ^ ror32(w15, 18) ^ (w15 >> 3);
			u32 s1 = ror32(w2, 17) ^ ror32(w2, 19) ^ (w2 >> 10);
			wt = s1 + w[(t - 7) & 15] + s0 + w[(t - 16) & 15];
		}
		w[t & 15] = wt;
		u32 S1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
		u32 ch = (e & f) ^ (~e & g);
		u32 t1 = hh + S1 + ch + sha256_k[t] + wt;
		u32 S0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
		u32 maj = (a & b) ^ (a & c) ^ (b & c);
		u32 t2 = S0 + maj;
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void sha256_init(struct sha256_ctx *c)
{
	/* Section 5.3.3: fractional parts of the square roots of the first
	 * eight primes. */
	static const u32 iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};
	memcpy(c->h, iv, sizeof(iv));
	c->total = 0;
	c->buf_len = 0;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	const u8 *p = data;

	c->total += len;
	if (c->buf_len) {
		size_t n = MIN(len, (size_t)(SHA256_BLOCK_SIZE - c->buf_len));
		memcpy(c->buf + c->buf_len, p, n);
		c->buf_len += (u32)n;
		p += n;
		len -= n;
		if (c->buf_len < SHA256_BLOCK_SIZE)
			return;
		sha256_block(c->h, c->buf);
		c->buf_len = 0;
	}
	while (len >= SHA256_BLOCK_SIZE) {
		sha256_block(c->h, p);
		p += SHA256_BLOCK_SIZE;
		len -= SHA256_BLOCK_SIZE;
	}
	if (len) {
		memcpy(c->buf, p, len);
		c->buf_len = (u32)len;
	}
}

void sha256_final(struct sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE])
{
	/* Section 5.1.1: append 0x80, zeros up to 56 mod 64, then the length
	 * in bits as a 64-bit big-endian number. */
	u64 bits = c->total * 8;
	u32 n = c->buf_len;

	c->buf[n++] = 0x80;
	if (n > 56) {
		memset(c->buf + n, 0, SHA256_BLOCK_SIZE - n);
		sha256_block(c->h, c->buf);
		n = 0;
	}
	memset(c->buf + n, 0, 56 - n);
	store_be32(c->buf + 56, (u32)(bits >> 32));
	store_be32(c->buf + 60, (u32)bits);
	sha256_block(c->h, c->buf);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
	memset(c, 0, sizeof(*c));
}

void sha256(const void *data, size_t len, u8 out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

void sha256_hex(const u8 digest[SHA256_DIGEST_SIZE], char out[2 * SHA256_DIGEST_SIZE + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[2 * SHA256_DIGEST_SIZE] = '\0';
}

/* RFC 2104 section 2: H(K ^ opad, H(K ^ ipad, text)), where K is the key
 * zero-padded to the block size, or its digest when it is longer. */
void hmac_sha256_init(struct hmac_sha256_ctx *c, const void *key, size_t klen)
{
	u8 k[SHA256_BLOCK_SIZE];
	u8 ikey[SHA256_BLOCK_SIZE];

	memset(k, 0, sizeof(k));
	if (klen > SHA256_BLOCK_SIZE)
		sha256(key, klen, k);
	else if (klen)
		memcpy(k, key, klen);
	for (int i = 0; i < SHA256_BLOCK_SIZE; i++) {
		ikey[i] = k[i] ^ 0x36;
		c->okey[i] = k[i] ^ 0x5c;
	}
	sha256_init(&c->inner);
	sha256_update(&c->inner, ikey, sizeof(ikey));
	memset(k, 0, sizeof(k));
	memset(ikey, 0, sizeof(ikey));
}

void hmac_sha256_update(struct hmac_sha256_ctx *c, const void *msg, size_t mlen)
{
	sha256_update(&c->inner, msg, mlen);
}

void hmac_sha256_final(struct hmac_sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE])
{
	u8 ihash[SHA256_DIGEST_SIZE];
	struct sha256_ctx outer;

	sha256_final(&c->inner, ihash);
	sha256_init(&outer);
	sha256_update(&outer, c->okey, sizeof(c->okey));
	sha256_update(&outer, ihash, sizeof(ihash));
	sha256_final(&outer, out);
	memset(ihash, 0, sizeof(ihash));
	memset(c, 0, sizeof(*c));
}

void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		 u8 out[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx c;

	hmac_sha256_init(&c, key, klen);
	hmac_sha256_update(&c, msg, mlen);
	hmac_sha256_final(&c, out);
}
