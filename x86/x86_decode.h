/* Decoder for the instructions that touch emulated MMIO.
 *
 * When a guest access faults in the nested page tables and the hardware
 * gives no decode assist, ferry fetches the bytes at the guest's RIP and
 * decodes them here.  Only the data-moving forms compilers emit for device
 * registers are accepted; everything else is refused so the caller can
 * report it and inject #UD.  Pure logic: no hardware access, unit-tested on
 * the host (tests/unit/test_decode.c). */
#ifndef FERRY_X86_DECODE_H
#define FERRY_X86_DECODE_H

#include "lib/types.h"

#define X86_MAX_INSN_LEN 15

/* General-purpose register numbers as encoded in ModRM/REX. */
enum x86_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT
};

enum x86_cpu_mode {
	X86_MODE_64,   /* long mode, CS.L = 1 */
	X86_MODE_32,   /* protected or compatibility mode, CS.D = 1 */
	X86_MODE_16,   /* CS.D = 0: refused (16-bit addressing not supported) */
};

enum insn_kind {
	INSN_LOAD,      /* MOV reg, [mem]        (8A, 8B, A0, A1) */
	INSN_STORE,     /* MOV [mem], reg        (88, 89, A2, A3) */
	INSN_STORE_IMM, /* MOV [mem], imm        (C6 /0, C7 /0) */
	INSN_LOAD_ZX,   /* MOVZX reg, [mem]      (0F B6, 0F B7) */
	INSN_LOAD_SX,   /* MOVSX reg, [mem]      (0F BE, 0F BF); MOVSXD (63 with REX.W) */
};

struct insn {
	u8 len;            /* total length in bytes, prefixes included */
	enum insn_kind kind;
	u8 mem_size;       /* bytes read or written in memory: 1, 2, 4 or 8 */
	u8 reg_size;       /* size of the register operand: 1, 2, 4 or 8 (for
			    * LOAD/STORE/STORE_IMM equal to mem_size; for
			    * ZX/SX the destination size) */
	u8 reg;            /* enum x86_gpr of the register operand; for
			    * STORE_IMM unused (0) */
	bool reg_high8;    /* 8-bit operand is AH/CH/DH/BH (no REX; reg is then
			    * GPR_RAX..GPR_RBX holding it in bits 15:8) */
	u64 imm;           /* STORE_IMM: the immediate, already sign-extended
			    * to mem_size bytes (upper bits zero above it) */
	/* The memory operand, for diagnostics; the faulting address itself comes
	 * from the hardware. */
	bool rip_relative;
	bool has_moffs;    /* A0-A3 absolute address form */
	s64 disp;          /* displacement, sign-extended; for A0-A3 the offset,
			    * zero-extended */
	u8 seg_override;   /* 0 or the last segment prefix byte (0x26 0x2E 0x36
			    * 0x3E 0x64 0x65), recorded as encoded even in
			    * 64-bit mode, where 26/2E/36/3E do nothing */
	u8 base;           /* enum x86_gpr, or X86_REG_NONE (RIP-relative,
			    * moffs, disp32 alone) */
	u8 index;          /* enum x86_gpr, or X86_REG_NONE */
	u8 scale;          /* 1, 2, 4 or 8 with an index register, else 0 */
	u8 addr_size;      /* 4 or 8 bytes (64-bit mode with 0x67: 4) */
};

#define X86_REG_NONE 0xFF

enum decode_result {
	DECODE_OK = 0,
	DECODE_TRUNCATED = -1,   /* fewer bytes than the instruction needs */
	DECODE_UNSUPPORTED = -2, /* a valid instruction we do not emulate
				  * (also any opcode outside the accepted
				  * set, valid or not) */
	DECODE_INVALID = -3,     /* not a valid encoding (e.g. LOCK on MOV,
				  * register operand where memory needed,
				  * more than 15 bytes) */
};

/* Decodes the instruction starting at bytes[0] (n bytes available, at most
 * X86_MAX_INSN_LEN are looked at).  Returns DECODE_OK and fills *out;
 * otherwise leaves *out alone.  The result depends only on the bytes up to
 * the first one that shows a problem, so DECODE_TRUNCATED (the instruction
 * runs past bytes[n-1]) is never returned once 15 bytes are given, and
 * giving more bytes never changes any other result. */
int x86_decode(const u8 *bytes, size_t n, enum x86_cpu_mode mode, struct insn *out);

/* Short text for a decode result, for error reports. */
const char *x86_decode_strerror(int result);

/* Applies a completed load to the register file: writes value (mem_size
 * bytes, zero- or sign-extended as the instruction says) into
 * gprs[insn->reg] with x86 rules (32-bit destinations clear bits 63:32,
 * 8- and 16-bit destinations keep the other bits, high-8 registers). */
void x86_apply_load(const struct insn *insn, u64 *gprs, u64 value);

/* The value a store writes (mem_size bytes, in the low bits). */
u64 x86_store_value(const struct insn *insn, const u64 *gprs);

#endif
