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
#include "chacha20.h"

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

/* The two halves of both, for a message whose plaintext is not in one
 * place (net/proto.c encrypts a frame's data from where it lies and
 * decrypts it to where it belongs).  aead_xor_at encrypts or decrypts
 * bytes [pos, pos + len) of the message, from in to out; aead_tag_of
 * writes the tag over aad and the whole ciphertext; aead_verify checks a
 * tag in constant time, 0 or -E_AUTH.  Sealing in pieces: every piece
 * through aead_xor_at into one ciphertext, then aead_tag_of over it.
 * Opening in pieces: aead_verify first, and nothing decrypted unless it
 * said 0. */
void aead_xor_at(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN], size_t pos, const void *in,
		 void *out, size_t len);
/* Pieces that follow one another: a keystream positioned at byte pos of
 * the message, for chacha20_stream_xor (each block computed once, where
 * aead_xor_at per piece computes the block at each seam twice); wipe it
 * with chacha20_stream_wipe. */
void aead_stream_init(struct chacha20_stream *st, const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN],
		      size_t pos);
void aead_tag_of(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN], const void *aad, size_t aad_len,
		 const void *ct, size_t len, u8 tag[AEAD_TAG_LEN]);
int aead_verify(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN], const void *aad, size_t aad_len,
		const void *ct, size_t len, const u8 tag[AEAD_TAG_LEN]);

/* Compares n bytes in time that depends on n only: 0 when equal. */
int aead_tag_differs(const u8 *a, const u8 *b, size_t n);

#endif
