/* AEAD_CHACHA20_POLY1305 (RFC 8439 section 2.8): ChaCha20 encryption with
 * a Poly1305 tag over the additional data and the ciphertext, the
 * Poly1305 key being the first half of keystream block 0.
 *
 * A (key, nonce) pair must never seal two messages: the nonce is the
 * caller's (a per-direction counter, say).  Plaintext length is limited
 * only by the 32-bit block counter (256 GiB). */
#ifndef FERRY_AEAD_H
#define FERRY_AEAD_H

#include "types.h"

#define AEAD_KEY_LEN 32
#define AEAD_NONCE_LEN 12
#define AEAD_TAG_LEN 16

/* Encrypts len bytes from pt into ct (ct == pt allowed) and writes the tag. */
void aead_seal(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN],
	       const void *aad, size_t aad_len, const void *pt, size_t len,
	       void *ct, u8 tag[AEAD_TAG_LEN]);

/* Verifies the tag in constant time before writing anything; then decrypts
 * (pt == ct allowed).  Returns 0, or -E_AUTH leaving pt untouched. */
int aead_open(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN],
	      const void *aad, size_t aad_len, const void *ct, size_t len,
	      void *pt, const u8 tag[AEAD_TAG_LEN]);

/* Compares n bytes in time that depends on n only: 0 when equal. */
int aead_tag_differs(const u8 *a, const u8 *b, size_t n);

#endif
