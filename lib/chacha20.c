/* ChaCha20 as specified in RFC 8439 sections 2.3 and 2.4. */
#include "chacha20.h"
#include "le.h"
#include "string.h"

/* "expand 32-byte k" read as four little-endian words (section 2.3). */
#define CHACHA20_C0 0x61707865u
#define CHACHA20_C1 0x3320646eu
#define CHACHA20_C2 0x79622d32u
#define CHACHA20_C3 0x6b206574u

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
 * diagonal round), without the final addition.  Unrolled: under TCG each
 * turn of a loop enters its translated block anew and stores and reloads
 * the words it keeps in registers; straight-line rounds ran the AEAD 1.25
 * times as fast in ferry's guest under QEMU (8948-byte bodies; 1.05 on
 * the host), for 6 KB more code. */
static inline __attribute__((always_inline)) void chacha20_rounds(u32 x[16])
{
#pragma GCC unroll 10
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
	mem_wipe(x, sizeof(x)); /* with a block of keystream, x gives the key back */
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

/* dst = src ^ ks for n bytes, eight at a time where it can: under TCG a
 * byte loop costs its three memory accesses per byte. */
static void xor_bytes(u8 *dst, const u8 *src, const u8 *ks, size_t n)
{
	for (; n >= 8; n -= 8, dst += 8, src += 8, ks += 8)
		store_le64(dst, load_le64(src) ^ load_le64(ks));
	for (; n; n--)
		*dst++ = *src++ ^ *ks++;
}

/* n whole blocks of keystream from state `state` on src, to dst, a word
 * at a time, the keystream added and XORed straight into the output; each
 * word is read before it is written, so dst == src works.  Returns the
 * counter after them.  The state is a local copy: through st's pointer
 * gcc would reload it after every store to dst (a byte pointer may alias
 * it), and under TCG every load is a soft-MMU lookup.  x lives in
 * registers and spill slots, which die with the frame; the copy is wiped. */
static u32 xor_blocks(const u32 state[16], const u8 *src, u8 *dst, size_t n)
{
	u32 s[16];
	for (int i = 0; i < 16; i++)
		s[i] = state[i];
	for (; n; n--) {
		u32 x[16];
		/* Unrolled: under TCG a loop's every turn is a translated block
		 * entered anew, and the words then stay in registers. */
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++)
			x[i] = s[i];
		chacha20_rounds(x);
#pragma GCC unroll 16
		for (int i = 0; i < 16; i++)
			store_le32(dst + 4 * i, load_le32(src + 4 * i) ^ (x[i] + s[i]));
		s[12]++;
		src += CHACHA20_BLOCK_LEN;
		dst += CHACHA20_BLOCK_LEN;
	}
	u32 next = s[12];
	mem_wipe(s, sizeof(s));
	return next;
}

/* The block at st->s into st->ks, none of it spent; the counter moves on. */
static void next_block(struct chacha20_stream *st)
{
	u32 x[16];
	chacha20_core(x, st->s);
	for (int i = 0; i < 16; i++)
		store_le32(st->ks + 4 * i, x[i]);
	mem_wipe(x, sizeof(x));
	st->s[12]++;
	st->used = 0;
}

void chacha20_stream_init(struct chacha20_stream *st, const u8 key[CHACHA20_KEY_LEN], u32 counter,
			  const u8 nonce[CHACHA20_NONCE_LEN], size_t pos)
{
	chacha20_init_state(st->s, key, counter + (u32)(pos / CHACHA20_BLOCK_LEN), nonce);
	st->used = CHACHA20_BLOCK_LEN;
	st->skip = (u32)(pos % CHACHA20_BLOCK_LEN);
}

void chacha20_stream_xor(struct chacha20_stream *st, const void *in, void *out, size_t len)
{
	const u8 *src = in;
	u8 *dst = out;
	if (st->skip && len) {
		/* the first piece begins inside a block: computed when needed */
		next_block(st);
		st->used = st->skip;
		st->skip = 0;
	}
	if (st->used < CHACHA20_BLOCK_LEN && len) {
		/* the rest of the block a piece before this one began */
		size_t n = MIN(len, CHACHA20_BLOCK_LEN - st->used);
		xor_bytes(dst, src, st->ks + st->used, n);
		st->used += (u32)n;
		src += n;
		dst += n;
		len -= n;
	}
	if (len >= CHACHA20_BLOCK_LEN) {
		size_t whole = len / CHACHA20_BLOCK_LEN;
		st->s[12] = xor_blocks(st->s, src, dst, whole);
		src += whole * CHACHA20_BLOCK_LEN;
		dst += whole * CHACHA20_BLOCK_LEN;
		len %= CHACHA20_BLOCK_LEN;
	}
	if (len) {
		next_block(st);
		xor_bytes(dst, src, st->ks, len);
		st->used = (u32)len;
	}
}

void chacha20_stream_wipe(struct chacha20_stream *st)
{
	mem_wipe(st, sizeof(*st));
}

void chacha20_xor_at(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN], size_t pos,
		     const void *in, void *out, size_t len)
{
	struct chacha20_stream st;
	chacha20_stream_init(&st, key, counter, nonce, pos);
	chacha20_stream_xor(&st, in, out, len);
	chacha20_stream_wipe(&st);
}

void chacha20_xor(const u8 key[CHACHA20_KEY_LEN], u32 counter, const u8 nonce[CHACHA20_NONCE_LEN],
		  const void *in, void *out, size_t len)
{
	chacha20_xor_at(key, counter, nonce, 0, in, out, len);
}
