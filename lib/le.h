/* Little-endian words in byte buffers, as ChaCha20, Poly1305 and the AEAD
 * read and write them.  x86 is little-endian, so a word is its bytes as
 * they are: __builtin_memcpy of a constant size is one unaligned move (it
 * stays a builtin under -fno-builtin). */
#ifndef FERRY_LE_H
#define FERRY_LE_H

#include "types.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "words in buffers are little-endian");

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

static inline u64 load_le64(const u8 *p)
{
	u64 v;
	__builtin_memcpy(&v, p, sizeof(v));
	return v;
}

static inline void store_le64(u8 *p, u64 v)
{
	__builtin_memcpy(p, &v, sizeof(v));
}

#endif
