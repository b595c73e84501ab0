/* HKDF with HMAC-SHA-256 (RFC 5869): derives keys from a secret.
 *
 * Extract concentrates the input keying material (ikm) and a salt into a
 * pseudorandom key (PRK); Expand stretches a PRK and a context string
 * (info) into as many output bytes as asked, up to 255 x 32.  ferry's
 * network credentials and session keys come from here
 * (docs/protocol.md, "Keys"). */
#ifndef FERRY_HKDF_H
#define FERRY_HKDF_H

#include "sha256.h"

#define HKDF_PRK_SIZE SHA256_DIGEST_SIZE
#define HKDF_MAX_OUT (255 * SHA256_DIGEST_SIZE)

/* PRK = HMAC-SHA-256(salt, ikm); a NULL or empty salt is 32 zero bytes. */
void hkdf_extract(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len, u8 prk[HKDF_PRK_SIZE]);

/* out = the first out_len bytes of T(1) | T(2) | ..., where
 * T(i) = HMAC(PRK, T(i-1) | info | i).  The PRK comes as HMAC pads
 * (hmac_sha256_init of it), so a PRK used often is hashed into its pads
 * once.  Returns 0, or -E_INVAL for out_len above HKDF_MAX_OUT. */
int hkdf_expand_ctx(const struct hmac_sha256_ctx *prk, const void *info, size_t info_len, u8 *out, size_t out_len);
int hkdf_expand(const u8 *prk, size_t prk_len, const void *info, size_t info_len, u8 *out, size_t out_len);

/* Extract, then Expand. */
int hkdf(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len, const void *info, size_t info_len,
	 u8 *out, size_t out_len);

/* Overwrites n bytes in a way the compiler cannot drop (key material on
 * the stack before it goes out of scope). */
void secure_wipe(void *p, size_t n);

#endif
