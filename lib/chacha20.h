/* ChaCha20 (RFC 8439 section 2.1-2.4): the IETF variant with a 96-bit
 * nonce and a 32-bit block counter.
 *
 * Scalar 32-bit integer code, no tables, no vector instructions (ferry is
 * built -mno-sse and never touches the guest's FPU state; docs/crypto.md).
 * No allocation; usable freestanding and on the host. */
#ifndef FERRY_CHACHA20_H
#define FERRY_CHACHA20_H

#include "types.h"

#define CHACHA20_KEY_LEN 32
#define CHACHA20_NONCE_LEN 12
#define CHACHA20_BLOCK_LEN 64

static inline u32 chacha20_rotl(u32 x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

/* The quarter round of section 2.1 on four words of the state. */
static inline void chacha20_quarter_round(u32 *a, u32 *b, u32 *c, u32 *d)
{
	*a += *b; *d ^= *a; *d = chacha20_rotl(*d, 16);
	*c += *d; *b ^= *c; *b = chacha20_rotl(*b, 12);
	*a += *b; *d ^= *a; *d = chacha20_rotl(*d, 8);
	*c += *d; *b ^= *c; *b = chacha20_rotl(*b, 7);
}

/* The initial state of section 2.3: constants, key, counter, nonce. */
void chacha20_init_state(u32 state[16], const u8 key[CHACHA20_KEY_LEN], u32 counter,
			 const u8 nonce[CHACHA20_NONCE_LEN]);

/* The block function on a state: 20 rounds, then the input added back
 * (section 2.3); out may be in. */
void chacha20_core(u32 out[16], const u32 in[16]);

/* One 64-byte keystream block, serialized little-endian (section 2.3). */
void chacha20_block(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN],
		    u8 out[CHACHA20_BLOCK_LEN]);

/* Encrypts (or decrypts) len bytes of in into out with the keystream that
 * starts at block `counter` (section 2.4).  out == in is allowed; other
 * overlaps are not.  The counter wraps after 2^32 blocks (256 GiB): the
 * caller never encrypts that much under one nonce. */
void chacha20_xor(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN],
		  const void *in, void *out, size_t len);

/* The same with the keystream from byte pos of the stream that starts at
 * block `counter`: chacha20_xor_at(k, c, n, pos, in, out, len) does to
 * its bytes what chacha20_xor(k, c, n, ...) does to bytes [pos, pos +
 * len) of a longer message, so a message may be encrypted or decrypted
 * in pieces, each from and to its own place. */
void chacha20_xor_at(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN], size_t pos,
		     const void *in, void *out, size_t len);

/* A keystream used front to back, from any byte on: the pieces of one
 * message encrypted one after another, each from and to its own place
 * (a frame's fixed fields, then its data, then its padding; a chunk into
 * several guest buffers), with every block computed once, where
 * chacha20_xor_at per piece computes the block at each seam twice. */
struct chacha20_stream {
	u32 s[16];                 /* the state of the next block */
	u8 ks[CHACHA20_BLOCK_LEN]; /* the last block computed */
	u32 used;                  /* bytes of ks spent */
	u32 skip;                  /* until the first byte: where in block s it is */
};
/* Positions st at byte pos of the stream that starts at block counter. */
void chacha20_stream_init(struct chacha20_stream *st, const u8 key[CHACHA20_KEY_LEN], u32 counter,
			  const u8 nonce[CHACHA20_NONCE_LEN], size_t pos);
/* The next len bytes of the stream on in, to out (out == in allowed). */
void chacha20_stream_xor(struct chacha20_stream *st, const void *in, void *out, size_t len);
/* Zeroes st (it holds keystream and the key). */
void chacha20_stream_wipe(struct chacha20_stream *st);

#endif
