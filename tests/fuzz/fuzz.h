/* What every fuzz harness in tests/fuzz/ provides and may use
 * (docs/testing.md, "Fuzzing").
 *
 * A harness is one C file defining LLVMFuzzerTestOneInput and fuzz_seeds.
 * It is linked twice: with clang's -fsanitize=fuzzer for `make fuzz`, and
 * with tests/fuzz/replay.c (any compiler, ASan + UBSan) into
 * build/unit/fuzz_NAME, which tests/run.py --unit runs over the seeds and
 * the checked-in corpus and regression inputs.  An oracle that does not
 * hold calls fuzz_fail: a crash libFuzzer saves the input of. */
#ifndef FERRY_FUZZ_H
#define FERRY_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Gives the harness's generated seeds (valid inputs built through the
 * code's own APIs, e.g. frames through net_encode) to emit, one each. */
void fuzz_seeds(void (*emit)(const void *buf, size_t len));

#define fuzz_fail(...)                                            \
	do {                                                      \
		fprintf(stderr, "fuzz oracle failed: " __VA_ARGS__); \
		fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);   \
		abort();                                          \
	} while (0)

#define fuzz_assert(cond)                               \
	do {                                            \
		if (!(cond))                            \
			fuzz_fail("%s", #cond);         \
	} while (0)

/* Reads the input a byte, a u16... at a time; past the end everything is 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};
static inline uint8_t fz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}
static inline uint64_t fz_bytes_u(struct fuzz_in *in, unsigned k)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < k; i++)
		v |= (uint64_t)fz_u8(in) << (8 * i);
	return v;
}
static inline uint16_t fz_u16(struct fuzz_in *in) { return (uint16_t)fz_bytes_u(in, 2); }
static inline uint32_t fz_u32(struct fuzz_in *in) { return (uint32_t)fz_bytes_u(in, 4); }
static inline uint64_t fz_u64(struct fuzz_in *in) { return fz_bytes_u(in, 8); }
static inline void fz_fill(struct fuzz_in *in, void *out, size_t k)
{
	uint8_t *o = out;
	for (size_t i = 0; i < k; i++)
		o[i] = fz_u8(in);
}

#endif
