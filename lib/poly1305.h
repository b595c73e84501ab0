/* Poly1305 (RFC 8439 section 2.5), a one-time authenticator: a key must
 * never authenticate two different messages (the AEAD of lib/aead.h makes
 * a fresh one per nonce).
 *
 * Scalar integer code in radix 2^64 with 64x64->128-bit multiplies
 * (unsigned __int128, which gcc turns into MUL without library calls),
 * constant time in the data and the key.  The incremental interface
 * authenticates a message fed in pieces of any length; the AEAD feeds
 * AAD, padding, ciphertext and lengths without copying them together. */
#ifndef FERRY_POLY1305_H
#define FERRY_POLY1305_H

#include "types.h"

#define POLY1305_KEY_LEN 32
#define POLY1305_TAG_LEN 16
#define POLY1305_BLOCK_LEN 16

struct poly1305_ctx {
	u64 r0, r1;        /* clamped r, little-endian halves */
	u64 s1;            /* r1 + r1/4: 2^128 * r1 reduced mod 2^130 - 5 */
	u64 h0, h1, h2;    /* the accumulator, h2 holds bits 128 and up */
	u64 pad0, pad1;    /* s, added at the end */
	u8 buf[POLY1305_BLOCK_LEN]; /* partial block not yet processed */
	u32 buf_len;
};

void poly1305_init(struct poly1305_ctx *c, const u8 key[POLY1305_KEY_LEN]);
void poly1305_update(struct poly1305_ctx *c, const void *data, size_t len);
/* Feeds zero bytes up to the next multiple of 16 of the length so far
 * (nothing when it is one): the padding of the AEAD (section 2.8). */
void poly1305_pad16(struct poly1305_ctx *c);
/* Writes the tag and wipes the context. */
void poly1305_final(struct poly1305_ctx *c, u8 tag[POLY1305_TAG_LEN]);
void poly1305(const u8 key[POLY1305_KEY_LEN], const void *msg, size_t len, u8 tag[POLY1305_TAG_LEN]);

#endif
