/* Fuzzes the instruction decoder (x86/x86_decode.c): the bytes at a guest's
 * faulting RIP are the guest's.
 *
 * Input: a mode byte, then the instruction bytes.  Oracles, from the
 * contract in x86/x86_decode.h: a decoded instruction is 1 to 15 bytes
 * long, within what was given, with operand sizes of 1, 2, 4 or 8 and
 * registers that exist; the result depends only on the bytes up to the
 * first one that shows a problem (the same bytes cut to len decode the
 * same; one byte fewer is TRUNCATED; more bytes change nothing); a failed
 * decode leaves *out alone. */
#include <string.h>
#include "fuzz.h"
#include "x86/x86_decode.h"

static bool size_ok(unsigned s) { return s == 1 || s == 2 || s == 4 || s == 8; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum x86_cpu_mode mode = (enum x86_cpu_mode)(data[0] % 3);
	const u8 *b = data + 1;
	size_t n = size - 1;

	struct insn a, c;
	memset(&a, 0xA5, sizeof(a));
	memset(&c, 0xA5, sizeof(c));
	int r = x86_decode(b, n, mode, &a);
	fuzz_assert(r == DECODE_OK || r == DECODE_TRUNCATED || r == DECODE_UNSUPPORTED || r == DECODE_INVALID);
	fuzz_assert(x86_decode_strerror(r) != NULL);
	if (r != DECODE_OK) {
		fuzz_assert(!memcmp(&a, &c, sizeof(a))); /* *out left alone */
		if (n >= 15)
			fuzz_assert(r != DECODE_TRUNCATED);
		/* more bytes never change a result other than TRUNCATED */
		if (r != DECODE_TRUNCATED && n < 64) {
			u8 more[80];
			memcpy(more, b, n);
			memset(more + n, 0x90, sizeof(more) - n);
			fuzz_assert(x86_decode(more, sizeof(more), mode, &c) == r);
		}
		return 0;
	}
	fuzz_assert(mode != X86_MODE_16);
	fuzz_assert(a.len >= 1 && a.len <= 15 && a.len <= n);
	fuzz_assert(a.kind >= INSN_LOAD && a.kind <= INSN_LOAD_SX);
	fuzz_assert(size_ok(a.mem_size) && size_ok(a.reg_size));
	fuzz_assert(a.reg < GPR_COUNT);
	fuzz_assert(!a.reg_high8 || (a.reg <= GPR_RBX && a.reg_size == 1));
	fuzz_assert(a.base == X86_REG_NONE || a.base < GPR_COUNT);
	fuzz_assert(a.index == X86_REG_NONE || a.index < GPR_COUNT);
	fuzz_assert(a.index == X86_REG_NONE ? a.scale == 0 : size_ok(a.scale));
	fuzz_assert(a.addr_size == 4 || a.addr_size == 8);
	fuzz_assert(!(a.rip_relative && a.has_moffs));
	if (a.kind == INSN_STORE_IMM && a.mem_size < 8)
		fuzz_assert(a.imm >> (8 * a.mem_size) == 0);

	/* exactly len bytes decode the same; one fewer is truncated */
	u8 exact[15];
	memcpy(exact, b, a.len);
	fuzz_assert(x86_decode(exact, a.len, mode, &c) == DECODE_OK);
	fuzz_assert(!memcmp(&a, &c, sizeof(a)));
	fuzz_assert(x86_decode(exact, a.len - 1u, mode, &c) == DECODE_TRUNCATED);
	return 0;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static const u8 seeds[][16] = {
		{ 0, 0x8b, 0x07 },                               /* mov eax, [rdi] */
		{ 0, 0x48, 0x89, 0x84, 0x8b, 0x78, 0x56, 0x34, 0x12 }, /* mov [rbx+rcx*4+disp32], rax */
		{ 0, 0x66, 0xc7, 0x05, 1, 2, 3, 4, 0x34, 0x12 }, /* mov word [rip+x], imm16 */
		{ 0, 0x0f, 0xb6, 0x46, 0x10 },                   /* movzx eax, byte [rsi+0x10] */
		{ 0, 0x48, 0x63, 0x03 },                         /* movsxd rax, [rbx] */
		{ 0, 0x65, 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, /* mov rax, gs:moffs64 */
		{ 1, 0x88, 0x60, 0x04 },                         /* mov [eax+4], ah (32-bit) */
		{ 1, 0x67, 0x8b, 0x04, 0x24 },                   /* mov eax, [esp] */
		{ 0, 0x41, 0xc6, 0x04, 0x24, 0x7f },             /* mov byte [r12], 0x7f */
		{ 0, 0xf0, 0x89, 0x07 },                         /* lock mov: invalid */
	};
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		size_t n = 16;
		while (n > 1 && !seeds[i][n - 1])
			n--;
		emit(seeds[i], n);
	}
}
