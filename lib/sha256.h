/* SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104).
 *
 * Pure C, no allocation, usable freestanding and on the host.  The
 * incremental interface hashes data of any length in pieces; the one-shot
 * helpers wrap it. */
#ifndef FERRY_SHA256_H
#define FERRY_SHA256_H

#include "types.h"

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64

struct sha256_ctx {
	u32 h[8];                   /* intermediate hash value H(i) */
	u64 total;                  /* message length so far, in bytes */
	u8 buf[SHA256_BLOCK_SIZE];  /* partial block not yet compressed */
	u32 buf_len;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
/* Pads, writes the 32-byte digest to out and wipes the context. */
void sha256_final(struct sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE]);
void sha256(const void *data, size_t len, u8 out[SHA256_DIGEST_SIZE]);

/* Lower-case hex of a digest: writes 64 characters and a NUL to out. */
void sha256_hex(const u8 digest[SHA256_DIGEST_SIZE], char out[2 * SHA256_DIGEST_SIZE + 1]);

/* HMAC-SHA-256 with a key of any length (keys longer than the block size
 * are hashed first, RFC 2104 section 2). */
struct hmac_sha256_ctx {
	struct sha256_ctx inner;
	u8 okey[SHA256_BLOCK_SIZE]; /* key XOR opad, kept for the outer hash */
};

void hmac_sha256_init(struct hmac_sha256_ctx *c, const void *key, size_t klen);
void hmac_sha256_update(struct hmac_sha256_ctx *c, const void *msg, size_t mlen);
void hmac_sha256_final(struct hmac_sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE]);
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		 u8 out[SHA256_DIGEST_SIZE]);

#endif
