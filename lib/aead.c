/* AEAD_CHACHA20_POLY1305 as specified in RFC 8439 section 2.8. */
#include "aead.h"
#include "chacha20.h"
#include "poly1305.h"
#include "le.h"
#include "string.h"

_Static_assert(AEAD_KEY_LEN == CHACHA20_KEY_LEN && AEAD_NONCE_LEN == CHACHA20_NONCE_LEN &&
		       AEAD_TAG_LEN == POLY1305_TAG_LEN,
	       "the AEAD's sizes are ChaCha20's and Poly1305's");

/* The tag of section 2.8: Poly1305, keyed with the first 32 bytes of
 * keystream block 0 (section 2.6), over aad | pad16 | ct | pad16 |
 * le64(aad_len) | le64(ct_len). */
void aead_tag_of(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN], const void *aad, size_t aad_len,
		 const void *ct, size_t len, u8 tag[AEAD_TAG_LEN])
{
	u8 block0[CHACHA20_BLOCK_LEN], lens[16];
	struct poly1305_ctx p;

	chacha20_block(key, 0, nonce, block0);
	poly1305_init(&p, block0);
	mem_wipe(block0, sizeof(block0));
	poly1305_update(&p, aad, aad_len);
	poly1305_pad16(&p);
	poly1305_update(&p, ct, len);
	poly1305_pad16(&p);
	store_le64(lens, aad_len);
	store_le64(lens + 8, len);
	poly1305_update(&p, lens, sizeof(lens));
	poly1305_final(&p, tag);
}

/* The ciphertext is keystream from block 1 on (block 0 keyed the tag). */
void aead_xor_at(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN], size_t pos, const void *in,
		 void *out, size_t len)
{
	chacha20_xor_at(key, 1, nonce, pos, in, out, len);
}

void aead_stream_init(struct chacha20_stream *st, const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN],
		      size_t pos)
{
	chacha20_stream_init(st, key, 1, nonce, pos);
}

void aead_seal(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN],
	       const void *aad, size_t aad_len, const void *pt, size_t len,
	       void *ct, u8 tag[AEAD_TAG_LEN])
{
	chacha20_xor(key, 1, nonce, pt, ct, len);
	aead_tag_of(key, nonce, aad, aad_len, ct, len, tag);
}

int aead_tag_differs(const u8 *a, const u8 *b, size_t n)
{
	u8 diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	/* Only the verdict leaves the loop, never where the bytes differ. */
	return (int)((diff + 0xffu) >> 8);
}

int aead_verify(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN], const void *aad, size_t aad_len,
		const void *ct, size_t len, const u8 tag[AEAD_TAG_LEN])
{
	u8 want[AEAD_TAG_LEN];

	aead_tag_of(key, nonce, aad, aad_len, ct, len, want);
	int bad = aead_tag_differs(want, tag, AEAD_TAG_LEN);
	mem_wipe(want, sizeof(want));
	return bad ? -E_AUTH : 0;
}

int aead_open(const u8 key[AEAD_KEY_LEN], const u8 nonce[AEAD_NONCE_LEN],
	      const void *aad, size_t aad_len, const void *ct, size_t len,
	      void *pt, const u8 tag[AEAD_TAG_LEN])
{
	if (aead_verify(key, nonce, aad, aad_len, ct, len, tag) < 0)
		return -E_AUTH;
	chacha20_xor(key, 1, nonce, ct, pt, len);
	return 0;
}
