/* ChaCha20 as specified in RFC 8439 sections 2.3 and 2.4. */
#include "chacha20.h"
#include "string.h"

/* "expand 32-byte k" read as four little-endian words (section 2.3). */
#define CHACHA20_C0 0x61707865u
#define CHACHA20_C1 0x3320646eu
#define CHACHA20_C2 0x79622d32u
#define CHACHA20_C3 0x6b206574u

/* x86 is little-endian, so a word of the state is its bytes as they are;
 * __builtin_memcpy of a constant 4 bytes is one unaligned move (it stays a
 * builtin under -fno-builtin). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ChaCha20 words are little-endian");

static inline u32 load_le32(const u8 *p)
{
	u32 v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline void store_le32(u8 *p, u32 v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

void chacha20_init_state(u32 s[16], const u8 key[CHACHA20_KEY_LEN], u32 counter,
			 const u8 nonce[CHACHA20_NONCE_LEN])
{
	s[0] = CHACHA20_C0;
	s[1] = CHACHA20_C1;
	s[2] = CHACHA20_C2;
	s[3] = CHACHA20_C3;
	for (int i = 0; i < 8; i++)
		s[4 + i] = load_le32(key + 4 * i);
	s[12] = counter;
	s[13] = load_le32(nonce);
	s[14] = load_le32(nonce + 4);
	s[15] = load_le32(nonce + 8);
}

/* The 20 rounds on x (ten double rounds: a column round, then a
 * diagonal round), without the final addition. */
static inline __attribute__((always_inline)) void chacha20_rounds(u32 x[16])
{
	for (int i = 0; i < 10; i++) {
		chacha20_quarter_round(&x[0], &x[4], &x[8], &x[12]);
		chacha20_quarter_round(&x[1], &x[5], &x[9], &x[13]);
		chacha20_quarter_round(&x[2], &x[6], &x[10], &x[14]);
		chacha20_quarter_round(&x[3], &x[7], &x[11], &x[15]);
		chacha20_quarter_round(&x[0], &x[5], &x[10], &x[15]);
		chacha20_quarter_round(&x[1], &x[6], &x[11], &x[12]);
		chacha20_quarter_round(&x[2], &x[7], &x[8], &x[13]);
		chacha20_quarter_round(&x[3], &x[4], &x[9], &x[14]);
	}
}

void chacha20_core(u32 out[16], const u32 in[16])
{
	u32 x[16];

	for (int i = 0; i < 16; i++)
		x[i] = in[i];
	chacha20_rounds(x);
	for (int i = 0; i < 16; i++)
		out[i] = x[i] + in[i];
}

void chacha20_block(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN],
		    u8 out[CHACHA20_BLOCK_LEN])
{
	u32 s[16];

	chacha20_init_state(s, key, counter, nonce);
	chacha20_core(s, s);
	for (int i = 0; i < 16; i++)
		store_le32(out + 4 * i, s[i]);
	mem_wipe(s, sizeof(s));
}

void chacha20_xor_at(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN], size_t pos,
		     const void *in, void *out, size_t len)
{
	const u8 *src = in;
	u8 *dst = out;
	counter += (u32)(pos / CHACHA20_BLOCK_LEN);
	size_t skip = pos % CHACHA20_BLOCK_LEN;
	if (skip && len) {
		/* the rest of a block begun before pos */
		u8 ks[CHACHA20_BLOCK_LEN];
		size_t n = MIN(len, CHACHA20_BLOCK_LEN - skip);
		chacha20_block(key, counter, nonce, ks);
		for (size_t i = 0; i < n; i++)
			dst[i] = src[i] ^ ks[skip + i];
		mem_wipe(ks, sizeof(ks));
		src += n;
		dst += n;
		len -= n;
		counter++;
	}
	if (len)
		chacha20_xor(key, counter, nonce, src, dst, len);
}

void chacha20_xor(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN],
		  const void *in, void *out, size_t len)
{
	const u8 *src = in;
	u8 *dst = out;
	u32 s[16];

	chacha20_init_state(s, key, counter, nonce);
	/* Whole blocks a word at a time, the keystream added and XORed
	 * straight into the output; each word is read before it is written,
	 * so out == in works.  x lives in registers and spill slots, which
	 * die with the frame (the state and the tail block are wiped). */
	for (; len >= CHACHA20_BLOCK_LEN; len -= CHACHA20_BLOCK_LEN) {
		u32 x[16];
		for (int i = 0; i < 16; i++)
			x[i] = s[i];
		chacha20_rounds(x);
		for (int i = 0; i < 16; i++)
			store_le32(dst + 4 * i, load_le32(src + 4 * i) ^ (x[i] + s[i]));
		s[12]++;
		src += CHACHA20_BLOCK_LEN;
		dst += CHACHA20_BLOCK_LEN;
	}
	if (len) {
		u8 tail[CHACHA20_BLOCK_LEN];
		u32 ks[16];
		chacha20_core(ks, s);
		for (int i = 0; i < 16; i++)
			store_le32(tail + 4 * i, ks[i]);
		for (size_t i = 0; i < len; i++)
			dst[i] = src[i] ^ tail[i];
		mem_wipe(tail, sizeof(tail));
		mem_wipe(ks, sizeof(ks));
	}
	mem_wipe(s, sizeof(s));
}
