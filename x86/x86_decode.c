/* Decoder for the MOV forms that touch emulated MMIO (see x86_decode.h).
 *
 * References are to the Intel SDM Vol. 2A, chapter 2 ("Instruction
 * Format"), and the MOV / MOVZX / MOVSX / MOVSXD pages of Vol. 2B.
 *
 * The decoder reads, in order: legacy and REX prefixes, the opcode (one
 * byte, or 0F and one more), the ModR/M byte with its SIB byte, then the
 * displacement / memory offset and the immediate.  It stops at the first
 * problem, so results depend only on the bytes before that point:
 *   - DECODE_INVALID as soon as the bytes seen prove the instruction is
 *     longer than 15 bytes, or encode something that raises #UD (LOCK on
 *     MOV) or names no memory operand (ModR/M.mod == 11);
 *   - DECODE_TRUNCATED when the instruction needs a byte beyond the n given;
 *   - DECODE_UNSUPPORTED for a valid instruction not emulated here. */
#include "x86_decode.h"

/* What an accepted opcode takes: operand size and where its operands are. */
#define OP_BYTE  0x01 /* 8-bit operand (the "w" bit of the opcode is 0) */
#define OP_MODRM 0x02 /* ModR/M memory operand follows */
#define OP_MOFFS 0x04 /* A0-A3: an address-size memory offset, no ModR/M */
#define OP_IMM   0x08 /* C6/C7: an immediate after the memory operand */
#define OP_REXW  0x10 /* only with REX.W (63 is MOVSXD r64, r/m32) */

struct op_desc {
	u8 opcode;
	u8 kind;     /* enum insn_kind */
	u8 flags;    /* OP_* */
	u8 src_size; /* memory size of MOVZX / MOVSX / MOVSXD; 0: operand size */
};

/* One-byte opcode map (Vol. 2D, Table A-2) entries we emulate. */
static const struct op_desc one_byte_ops[] = {
	{ 0x88, INSN_STORE,     OP_MODRM | OP_BYTE,          0 },
	{ 0x89, INSN_STORE,     OP_MODRM,                    0 },
	{ 0x8A, INSN_LOAD,      OP_MODRM | OP_BYTE,          0 },
	{ 0x8B, INSN_LOAD,      OP_MODRM,                    0 },
	{ 0xC6, INSN_STORE_IMM, OP_MODRM | OP_BYTE | OP_IMM, 0 },
	{ 0xC7, INSN_STORE_IMM, OP_MODRM | OP_IMM,           0 },
	{ 0xA0, INSN_LOAD,      OP_MOFFS | OP_BYTE,          0 },
	{ 0xA1, INSN_LOAD,      OP_MOFFS,                    0 },
	{ 0xA2, INSN_STORE,     OP_MOFFS | OP_BYTE,          0 },
	{ 0xA3, INSN_STORE,     OP_MOFFS,                    0 },
	/* In 32-bit mode 63 is ARPL; REX.W (64-bit mode only) excludes it. */
	{ 0x63, INSN_LOAD_SX,   OP_MODRM | OP_REXW,          4 },
};

/* Two-byte opcode map (0F xx, Vol. 2D, Table A-3) entries we emulate. */
static const struct op_desc two_byte_ops[] = {
	{ 0xB6, INSN_LOAD_ZX, OP_MODRM, 1 },
	{ 0xB7, INSN_LOAD_ZX, OP_MODRM, 2 },
	{ 0xBE, INSN_LOAD_SX, OP_MODRM, 1 },
	{ 0xBF, INSN_LOAD_SX, OP_MODRM, 2 },
};

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

/* Bytes [0, want) must exist: beyond 15 the instruction is invalid
 * (Vol. 2A 2.2.1: "the instruction-size limit of 15 bytes"); beyond the
 * bytes available it is truncated. */
static int need(size_t have, size_t want)
{
	if (want > X86_MAX_INSN_LEN)
		return DECODE_INVALID;
	if (want > have)
		return DECODE_TRUNCATED;
	return DECODE_OK;
}

static u64 size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : BIT(8 * size) - 1;
}

/* The low size bytes of v, sign-extended to 64 bits. */
static u64 sign_extend(u64 v, unsigned size)
{
	if (size == 0)
		return 0;
	if (size >= 8)
		return v;
	v &= size_mask(size);
	return v & BIT(8 * size - 1) ? v | ~size_mask(size) : v;
}

/* Little-endian value of size (at most 8) bytes. */
static u64 read_le(const u8 *p, unsigned size)
{
	u64 v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

static const struct op_desc *find_op(const struct op_desc *tab, size_t count, u8 opcode)
{
	for (size_t i = 0; i < count; i++)
		if (tab[i].opcode == opcode)
			return &tab[i];
	return NULL;
}

static bool is_seg_prefix(u8 b)
{
	return b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65;
}

/* Decodes the ModR/M byte at bytes[*pos] and what follows it up to the
 * displacement (Vol. 2A 2.1.5, Table 2-2 for ModR/M and Table 2-3 for SIB;
 * 2.2.1.2 and Table 2-5 for REX).  In 64-bit mode REX extends the fields,
 * but the special encodings are recognised on the 3-bit fields alone:
 * r/m=100 always means "SIB follows" (r12 as a base needs a SIB byte),
 * mod=00 with r/m=101 or SIB.base=101 always means "disp32" (r13 as a
 * base needs mod=01 and a zero disp8), and SIB.index=100 means "no index"
 * only without REX.X (with it, the index is r12).  Leaves *pos at the
 * displacement and returns its size in *disp_size. */
static int decode_modrm(const u8 *bytes, size_t have, size_t *pos, enum x86_cpu_mode mode,
			u8 rex, struct insn *d, unsigned *disp_size)
{
	int r = need(have, *pos + 1);
	if (r)
		return r;
	u8 modrm = bytes[(*pos)++];
	u8 mod = modrm >> 6, reg = (modrm >> 3) & 7, rm = modrm & 7;

	/* mod=11 names a register, which cannot be what faulted. */
	if (mod == 3)
		return DECODE_INVALID;
	d->reg = reg | (rex & REX_R ? 8 : 0);
	*disp_size = mod == 1 ? 1 : mod == 2 ? 4 : 0;

	if (rm == 4) {
		r = need(have, *pos + 1);
		if (r)
			return r;
		u8 sib = bytes[(*pos)++];
		u8 index = ((sib >> 3) & 7) | (rex & REX_X ? 8 : 0);
		u8 base = sib & 7;
		if (index != GPR_RSP) {
			d->index = index;
			d->scale = 1 << (sib >> 6);
		}
		if (base == 5 && mod == 0) {
			d->base = X86_REG_NONE;
			*disp_size = 4;
		} else {
			d->base = base | (rex & REX_B ? 8 : 0);
		}
	} else if (rm == 5 && mod == 0) {
		/* Vol. 2A 2.2.1.6: RIP-relative in 64-bit mode (with 67, the
		 * 32-bit EIP); an absolute disp32 in 32-bit mode. */
		d->rip_relative = mode == X86_MODE_64;
		*disp_size = 4;
	} else {
		d->base = rm | (rex & REX_B ? 8 : 0);
	}
	return DECODE_OK;
}

/* The legacy and REX prefixes in front of the opcode. */
struct prefixes {
	bool opsize, addrsize, lock, rep;
	u8 rex;
};

/* Prefixes (Vol. 2A 2.1.1): any number, in any order.  A REX prefix
 * counts only when it immediately precedes the opcode (2.2.1: "Other
 * placements are ignored"), so each later prefix discards it; of several
 * REX bytes only the last one counts.  Leaves *pos at the opcode. */
static int decode_prefixes(const u8 *bytes, size_t have, enum x86_cpu_mode mode, size_t *pos, struct prefixes *p,
			   struct insn *d)
{
	*p = (struct prefixes){ false, false, false, false, 0 };
	for (;; (*pos)++) {
		int r = need(have, *pos + 1);
		if (r)
			return r;
		u8 b = bytes[*pos];
		if (mode == X86_MODE_64 && (b & 0xF0) == 0x40) {
			p->rex = b;
			continue;
		}
		if (b == 0x66)
			p->opsize = true;
		else if (b == 0x67)
			p->addrsize = true;
		else if (b == 0xF0)
			p->lock = true;
		else if (b == 0xF2 || b == 0xF3)
			p->rep = true;
		else if (is_seg_prefix(b))
			d->seg_override = b; /* the last one wins */
		else
			return DECODE_OK;
		p->rex = 0;
	}
}

/* The opcode, one byte or 0F and one more, and its entry in the tables
 * (NULL: not one we emulate). */
static int decode_opcode(const u8 *bytes, size_t have, size_t *pos, const struct op_desc **op)
{
	if (bytes[*pos] == 0x0F) {
		int r = need(have, *pos + 2);
		if (r)
			return r;
		*op = find_op(two_byte_ops, ARRAY_SIZE(two_byte_ops), bytes[*pos + 1]);
		*pos += 2;
	} else {
		*op = find_op(one_byte_ops, ARRAY_SIZE(one_byte_ops), bytes[*pos]);
		*pos += 1;
	}
	return DECODE_OK;
}

/* Whether the prefixes fit the opcode. */
static int check_prefixes(const struct op_desc *op, const struct prefixes *p, enum x86_cpu_mode mode)
{
	if (!op || ((op->flags & OP_REXW) && !(p->rex & REX_W)))
		return DECODE_UNSUPPORTED;
	/* LOCK is #UD on anything but the listed read-modify-write
	 * instructions (Vol. 2A, LOCK; Vol. 2A 2.1.1). */
	if (p->lock)
		return DECODE_INVALID;
	/* F2/F3 before these opcodes are XACQUIRE/XRELEASE, or select another
	 * instruction; not ours either way. */
	if (p->rep)
		return DECODE_UNSUPPORTED;
	/* In 32-bit mode, 67 selects 16-bit addressing. */
	if (p->addrsize && mode == X86_MODE_32)
		return DECODE_UNSUPPORTED;
	return DECODE_OK;
}

/* The displacement or memory offset, then the immediate, that end the
 * instruction. */
static int decode_disp_imm(const u8 *bytes, size_t have, size_t *pos, unsigned disp_size, unsigned imm_size,
			   struct insn *d)
{
	int r = need(have, *pos + disp_size + imm_size);
	if (r)
		return r;
	/* A 32-bit memory offset is zero-extended; displacements are signed. */
	u64 disp = read_le(bytes + *pos, disp_size);
	d->disp = (s64)(d->has_moffs ? disp : sign_extend(disp, disp_size));
	*pos += disp_size;
	if (imm_size) {
		d->imm = sign_extend(read_le(bytes + *pos, imm_size), imm_size) & size_mask(d->mem_size);
		*pos += imm_size;
		d->reg = 0;
	}
	return DECODE_OK;
}

int x86_decode(const u8 *bytes, size_t n, enum x86_cpu_mode mode, struct insn *out)
{
	struct insn d = { .base = X86_REG_NONE, .index = X86_REG_NONE };
	size_t have = MIN(n, (size_t)X86_MAX_INSN_LEN), pos = 0;
	struct prefixes pfx;
	const struct op_desc *op;
	int r;

	/* 16-bit code would need the 16-bit ModR/M table (Table 2-1). */
	if (mode != X86_MODE_64 && mode != X86_MODE_32)
		return DECODE_UNSUPPORTED;
	if ((r = decode_prefixes(bytes, have, mode, &pos, &pfx, &d)) ||
	    (r = decode_opcode(bytes, have, &pos, &op)) || (r = check_prefixes(op, &pfx, mode)))
		return r;

	/* Operand size (Vol. 2A Table 2-4, Vol. 1 3.6.1): REX.W beats 66.
	 * Memory offsets are address-sized (Vol. 2A 2.2.1.4): 8 bytes in
	 * 64-bit mode, 4 with 67, and 4 in 32-bit mode. */
	u8 opsz = op->flags & OP_BYTE ? 1 : pfx.rex & REX_W ? 8 : pfx.opsize ? 2 : 4;
	d.kind = op->kind;
	d.reg_size = opsz;
	d.mem_size = op->src_size ? op->src_size : opsz;
	d.addr_size = mode == X86_MODE_64 && !pfx.addrsize ? 8 : 4;

	unsigned disp_size, imm_size = 0;
	if (op->flags & OP_MODRM) {
		r = decode_modrm(bytes, have, &pos, mode, pfx.rex, &d, &disp_size);
		if (r)
			return r;
		/* C6 /0 and C7 /0: with a memory operand the other reg values
		 * are undefined.  REX.R does not extend an opcode extension
		 * (Vol. 2A 2.2.1.2), hence the & 7. */
		if (d.kind == INSN_STORE_IMM && (d.reg & 7) != 0)
			return DECODE_INVALID;
	} else {
		d.reg = GPR_RAX;
		d.has_moffs = true;
		disp_size = d.addr_size;
	}
	/* Immediates are at most 32 bits; with REX.W the imm32 is
	 * sign-extended to 64 (Vol. 2A 2.2.1.5). */
	if (op->flags & OP_IMM)
		imm_size = MIN(opsz, 4u);
	if ((r = decode_disp_imm(bytes, have, &pos, disp_size, imm_size, &d)))
		return r;

	/* Without any REX prefix, byte registers 4-7 are AH, CH, DH, BH;
	 * with one (even 40), SPL, BPL, SIL, DIL (Vol. 2A 2.2.1.2, Vol. 1
	 * 3.4.1.1). */
	if (d.reg_size == 1 && d.kind != INSN_STORE_IMM && !pfx.rex && d.reg >= 4) {
		d.reg -= 4;
		d.reg_high8 = true;
	}
	d.len = (u8)pos;
	*out = d;
	return DECODE_OK;
}

const char *x86_decode_strerror(int result)
{
	switch (result) {
	case DECODE_OK:
		return "ok";
	case DECODE_TRUNCATED:
		return "instruction truncated";
	case DECODE_UNSUPPORTED:
		return "instruction not supported";
	case DECODE_INVALID:
		return "invalid instruction";
	default:
		return "unknown decode result";
	}
}

/* Writes value into a register of size bytes with the x86 rules: 64-bit
 * replaces, 32-bit zero-extends into 63:32, 16- and 8-bit keep the rest
 * (Vol. 1 3.4.1.1). */
static void write_gpr(u64 *gpr, unsigned size, bool high8, u64 value)
{
	if (size == 4) {
		*gpr = (u32)value;
	} else if (high8) {
		*gpr = (*gpr & ~0xFF00ULL) | ((value & 0xFF) << 8);
	} else {
		u64 mask = size_mask(size);
		*gpr = (*gpr & ~mask) | (value & mask);
	}
}

void x86_apply_load(const struct insn *insn, u64 *gprs, u64 value)
{
	unsigned msize = insn->mem_size;

	switch (insn->kind) {
	case INSN_LOAD:
	case INSN_LOAD_ZX:
		value &= size_mask(msize);
		break;
	case INSN_LOAD_SX:
		value = sign_extend(value, msize);
		break;
	default:
		return; /* not a load */
	}
	write_gpr(&gprs[insn->reg], insn->reg_size, insn->reg_high8, value);
}

u64 x86_store_value(const struct insn *insn, const u64 *gprs)
{
	switch (insn->kind) {
	case INSN_STORE:
		if (insn->reg_high8)
			return (gprs[insn->reg] >> 8) & 0xFF;
		return gprs[insn->reg] & size_mask(insn->mem_size);
	case INSN_STORE_IMM:
		return insn->imm & size_mask(insn->mem_size);
	default:
		return 0; /* not a store */
	}
}
