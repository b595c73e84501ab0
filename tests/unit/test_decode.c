/* Host tests for the MMIO instruction decoder (x86/x86_decode.c).
 *
 * The rows of valid instructions were produced at development time by
 * assembling each instruction with GNU as (--64 / --32, Intel syntax) and
 * decoding the bytes with objdump; each row's name is objdump's text, and
 * the expected fields follow from it.  Hand-made byte sequences (odd prefix
 * orders, encodings the assembler would not emit) went through objdump too;
 * it prints an ignored REX prefix (one followed by another prefix, SDM Vol.
 * 2A 2.2.1) as a separate "rex" line, shown here as "(ignored)".  The
 * decoder was also compared with objdump on some thousands of random byte
 * strings.  Nothing here runs a toolchain: the tables are plain data. */
#include "check.h"
#include <stdlib.h>
#include "x86/x86_decode.h"

struct decode_case {
	const char *name;
	enum x86_cpu_mode mode;
	u8 bytes[20];
	u8 n; /* bytes given to the decoder (all of them) */
	int result;
	/* The rest is checked only when result == DECODE_OK. */
	u8 len;
	enum insn_kind kind;
	u8 mem_size, reg_size, reg;
	bool reg_high8;
	u64 imm;
	bool rip_relative, has_moffs;
	s64 disp;
	u8 seg, base, index, scale;
	u8 addr_size; /* 0: the mode's default (8 or 4) */
};

#define X64 X86_MODE_64
#define X32 X86_MODE_32
#define X16 X86_MODE_16
#define GPR_NONE X86_REG_NONE
#define B(...) .bytes = { __VA_ARGS__ }, .n = sizeof((u8[]){ __VA_ARGS__ })
/* A valid load or store: length, kind, memory size, register size, register. */
#define OK(l, k, m, r, g) .result = DECODE_OK, .len = l, .kind = INSN_##k, \
	.mem_size = m, .reg_size = r, .reg = GPR_##g
/* A valid store of an immediate of size s bytes (as the instruction stores it). */
#define IMM(l, s, v) .result = DECODE_OK, .len = l, .kind = INSN_STORE_IMM, \
	.mem_size = s, .reg_size = s, .imm = v
#define HI8 .reg_high8 = true
#define MEM(b, i, s, d) .base = GPR_##b, .index = GPR_##i, .scale = s, .disp = d
#define RIP(d) .rip_relative = true, .base = GPR_NONE, .index = GPR_NONE, .disp = d
#define MOFFS(a) .has_moffs = true, .base = GPR_NONE, .index = GPR_NONE, .disp = a
#define SEG(s) .seg = s
#define A32 .addr_size = 4
#define ERR(e) .result = DECODE_##e

#define P4(b) b, b, b, b
#define P13(b) P4(b), P4(b), P4(b), b
#define P14(b) P13(b), b
#define P15(b) P14(b), b

static const struct decode_case cases[] = {
	/* 64-bit: 88/89 store, every operand size and register class */
	{ "mov BYTE PTR [rax],cl", X64, B(0x88, 0x08),
	  OK(2, STORE, 1, 1, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [rax],ah", X64, B(0x88, 0x20),
	  OK(2, STORE, 1, 1, RAX), HI8, MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [rdx],bh", X64, B(0x88, 0x3a),
	  OK(2, STORE, 1, 1, RBX), HI8, MEM(RDX, NONE, 0, 0) },
	{ "mov BYTE PTR [rax],spl", X64, B(0x40, 0x88, 0x20),
	  OK(3, STORE, 1, 1, RSP), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [rax],dil", X64, B(0x40, 0x88, 0x38),
	  OK(3, STORE, 1, 1, RDI), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [rax],r9b", X64, B(0x44, 0x88, 0x08),
	  OK(3, STORE, 1, 1, R9), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [r8],r15b", X64, B(0x45, 0x88, 0x38),
	  OK(3, STORE, 1, 1, R15), MEM(R8, NONE, 0, 0) },
	{ "mov WORD PTR [rax],cx", X64, B(0x66, 0x89, 0x08),
	  OK(3, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov WORD PTR [rax],r15w", X64, B(0x66, 0x44, 0x89, 0x38),
	  OK(4, STORE, 2, 2, R15), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [rax],ecx", X64, B(0x89, 0x08),
	  OK(2, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [rbx],r10d", X64, B(0x44, 0x89, 0x13),
	  OK(3, STORE, 4, 4, R10), MEM(RBX, NONE, 0, 0) },
	{ "mov QWORD PTR [rax],rcx", X64, B(0x48, 0x89, 0x08),
	  OK(3, STORE, 8, 8, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov QWORD PTR [rdi],r11", X64, B(0x4c, 0x89, 0x1f),
	  OK(3, STORE, 8, 8, R11), MEM(RDI, NONE, 0, 0) },
	/* 64-bit: 8A/8B load */
	{ "mov cl,BYTE PTR [rax]", X64, B(0x8a, 0x08),
	  OK(2, LOAD, 1, 1, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov ch,BYTE PTR [rax]", X64, B(0x8a, 0x28),
	  OK(2, LOAD, 1, 1, RCX), HI8, MEM(RAX, NONE, 0, 0) },
	{ "mov sil,BYTE PTR [rax]", X64, B(0x40, 0x8a, 0x30),
	  OK(3, LOAD, 1, 1, RSI), MEM(RAX, NONE, 0, 0) },
	{ "mov r8b,BYTE PTR [rax]", X64, B(0x44, 0x8a, 0x00),
	  OK(3, LOAD, 1, 1, R8), MEM(RAX, NONE, 0, 0) },
	{ "mov dx,WORD PTR [rsi]", X64, B(0x66, 0x8b, 0x16),
	  OK(3, LOAD, 2, 2, RDX), MEM(RSI, NONE, 0, 0) },
	{ "mov r14w,WORD PTR [rsi]", X64, B(0x66, 0x44, 0x8b, 0x36),
	  OK(4, LOAD, 2, 2, R14), MEM(RSI, NONE, 0, 0) },
	{ "mov edx,DWORD PTR [rsi]", X64, B(0x8b, 0x16),
	  OK(2, LOAD, 4, 4, RDX), MEM(RSI, NONE, 0, 0) },
	{ "mov r13d,DWORD PTR [rsi]", X64, B(0x44, 0x8b, 0x2e),
	  OK(3, LOAD, 4, 4, R13), MEM(RSI, NONE, 0, 0) },
	{ "mov rdx,QWORD PTR [rsi]", X64, B(0x48, 0x8b, 0x16),
	  OK(3, LOAD, 8, 8, RDX), MEM(RSI, NONE, 0, 0) },
	{ "mov r12,QWORD PTR [r9]", X64, B(0x4d, 0x8b, 0x21),
	  OK(3, LOAD, 8, 8, R12), MEM(R9, NONE, 0, 0) },
	/* 64-bit: C6/C7 store immediate */
	{ "mov BYTE PTR [rax],0x12", X64, B(0xc6, 0x00, 0x12),
	  IMM(3, 1, 0x12), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [r8],0xff", X64, B(0x41, 0xc6, 0x00, 0xff),
	  IMM(4, 1, 0xff), MEM(R8, NONE, 0, 0) },
	{ "mov WORD PTR [rax],0x1234", X64, B(0x66, 0xc7, 0x00, 0x34, 0x12),
	  IMM(5, 2, 0x1234), MEM(RAX, NONE, 0, 0) },
	{ "mov WORD PTR [rax],0x8000", X64, B(0x66, 0xc7, 0x00, 0x00, 0x80),
	  IMM(5, 2, 0x8000), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [rax],0x12345678", X64, B(0xc7, 0x00, 0x78, 0x56, 0x34, 0x12),
	  IMM(6, 4, 0x12345678), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [rcx],0x80000000", X64, B(0xc7, 0x01, 0x00, 0x00, 0x00, 0x80),
	  IMM(6, 4, 0x80000000), MEM(RCX, NONE, 0, 0) },
	{ "mov QWORD PTR [rax],0x12345678", X64, B(0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12),
	  IMM(7, 8, 0x12345678), MEM(RAX, NONE, 0, 0) },
	{ "mov QWORD PTR [rax],0xffffffffffffffff", X64, B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff),
	  IMM(7, 8, 0xffffffffffffffff), MEM(RAX, NONE, 0, 0) },
	{ "mov QWORD PTR [rax],0xffffffff80000000", X64, B(0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80),
	  IMM(7, 8, 0xffffffff80000000), MEM(RAX, NONE, 0, 0) },
	{ "mov QWORD PTR [r15+0x10],0x7fffffff", X64, B(0x49, 0xc7, 0x47, 0x10, 0xff, 0xff, 0xff, 0x7f),
	  IMM(8, 8, 0x7fffffff), MEM(R15, NONE, 0, 0x10) },
	{ "mov WORD PTR [rax+0x10],0xfffe", X64, B(0x66, 0xc7, 0x40, 0x10, 0xfe, 0xff),
	  IMM(6, 2, 0xfffe), MEM(RAX, NONE, 0, 0x10) },
	{ "rex.WR mov QWORD PTR [rax],0x1 (REX.R is ignored for /0)", X64, B(0x4c, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00),
	  IMM(7, 8, 0x1), MEM(RAX, NONE, 0, 0) },
	{ "data16 mov QWORD PTR [rax],0xffffffff80000000 (REX.W beats 66: imm32)", X64, B(0x66, 0x48, 0xc7, 0x00, 0x00, 0x00, 0x00, 0x80),
	  IMM(8, 8, 0xffffffff80000000), MEM(RAX, NONE, 0, 0) },
	/* 64-bit: A0-A3 memory offsets */
	{ "movabs al,ds:0x1122334455667788", X64, B(0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(9, LOAD, 1, 1, RAX), MOFFS(0x1122334455667788) },
	{ "movabs eax,ds:0x1122334455667788", X64, B(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(9, LOAD, 4, 4, RAX), MOFFS(0x1122334455667788) },
	{ "movabs ax,ds:0x1122334455667788", X64, B(0x66, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(10, LOAD, 2, 2, RAX), MOFFS(0x1122334455667788) },
	{ "movabs rax,ds:0x8877665544332211", X64, B(0x48, 0xa1, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88),
	  OK(10, LOAD, 8, 8, RAX), MOFFS((s64)0x8877665544332211ULL) },
	{ "movabs ds:0x1122334455667788,al", X64, B(0xa2, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(9, STORE, 1, 1, RAX), MOFFS(0x1122334455667788) },
	{ "movabs ds:0x1122334455667788,ax", X64, B(0x66, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(10, STORE, 2, 2, RAX), MOFFS(0x1122334455667788) },
	{ "movabs ds:0x1122334455667788,eax", X64, B(0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(9, STORE, 4, 4, RAX), MOFFS(0x1122334455667788) },
	{ "movabs ds:0x1122334455667788,rax", X64, B(0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(10, STORE, 8, 8, RAX), MOFFS(0x1122334455667788) },
	{ "addr32 mov al,ds:0x11223344", X64, B(0x67, 0xa0, 0x44, 0x33, 0x22, 0x11),
	  OK(6, LOAD, 1, 1, RAX), MOFFS(0x11223344), A32 },
	{ "addr32 mov ds:0x80000000,rax", X64, B(0x67, 0x48, 0xa3, 0x00, 0x00, 0x00, 0x80),
	  OK(7, STORE, 8, 8, RAX), MOFFS(0x80000000), A32 },
	{ "rex.B movabs eax,ds:0x1122334455667788 (REX.B does not change rAX)", X64, B(0x41, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(10, LOAD, 4, 4, RAX), MOFFS(0x1122334455667788) },
	{ "movabs eax,fs:0x1122334455667788", X64, B(0x64, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  OK(10, LOAD, 4, 4, RAX), MOFFS(0x1122334455667788), SEG(0x64) },
	/* 64-bit: MOVZX / MOVSX / MOVSXD */
	{ "movzx eax,BYTE PTR [rcx]", X64, B(0x0f, 0xb6, 0x01),
	  OK(3, LOAD_ZX, 1, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movzx eax,WORD PTR [rcx]", X64, B(0x0f, 0xb7, 0x01),
	  OK(3, LOAD_ZX, 2, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movzx ax,BYTE PTR [rcx]", X64, B(0x66, 0x0f, 0xb6, 0x01),
	  OK(4, LOAD_ZX, 1, 2, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movzx rax,BYTE PTR [rcx]", X64, B(0x48, 0x0f, 0xb6, 0x01),
	  OK(4, LOAD_ZX, 1, 8, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movzx r11,WORD PTR [rcx]", X64, B(0x4c, 0x0f, 0xb7, 0x19),
	  OK(4, LOAD_ZX, 2, 8, R11), MEM(RCX, NONE, 0, 0) },
	{ "movzx r9d,BYTE PTR [r10]", X64, B(0x45, 0x0f, 0xb6, 0x0a),
	  OK(4, LOAD_ZX, 1, 4, R9), MEM(R10, NONE, 0, 0) },
	{ "movzx ax,WORD PTR [rcx] (movzx r16, r/m16)", X64, B(0x66, 0x0f, 0xb7, 0x01),
	  OK(4, LOAD_ZX, 2, 2, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movsx eax,BYTE PTR [rcx]", X64, B(0x0f, 0xbe, 0x01),
	  OK(3, LOAD_SX, 1, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movsx eax,WORD PTR [rcx]", X64, B(0x0f, 0xbf, 0x01),
	  OK(3, LOAD_SX, 2, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movsx cx,BYTE PTR [rdx]", X64, B(0x66, 0x0f, 0xbe, 0x0a),
	  OK(4, LOAD_SX, 1, 2, RCX), MEM(RDX, NONE, 0, 0) },
	{ "movsx rax,BYTE PTR [rcx]", X64, B(0x48, 0x0f, 0xbe, 0x01),
	  OK(4, LOAD_SX, 1, 8, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movsx r8,WORD PTR [r9]", X64, B(0x4d, 0x0f, 0xbf, 0x01),
	  OK(4, LOAD_SX, 2, 8, R8), MEM(R9, NONE, 0, 0) },
	{ "movsxd rax,DWORD PTR [rcx]", X64, B(0x48, 0x63, 0x01),
	  OK(3, LOAD_SX, 4, 8, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movsxd r15,DWORD PTR [r13+0x0]", X64, B(0x4d, 0x63, 0x7d, 0x00),
	  OK(4, LOAD_SX, 4, 8, R15), MEM(R13, NONE, 0, 0) },
	{ "movsxd rax,DWORD PTR [rcx] (66 ignored with REX.W)", X64, B(0x66, 0x48, 0x63, 0x01),
	  OK(4, LOAD_SX, 4, 8, RAX), MEM(RCX, NONE, 0, 0) },
	/* 64-bit ModR/M without SIB (Table 2-2), mod 00/01/10 */
	{ "mov eax,DWORD PTR [rcx]", X64, B(0x8b, 0x01),
	  OK(2, LOAD, 4, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rdx]", X64, B(0x8b, 0x02),
	  OK(2, LOAD, 4, 4, RAX), MEM(RDX, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rbx]", X64, B(0x8b, 0x03),
	  OK(2, LOAD, 4, 4, RAX), MEM(RBX, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rsi]", X64, B(0x8b, 0x06),
	  OK(2, LOAD, 4, 4, RAX), MEM(RSI, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rdi]", X64, B(0x8b, 0x07),
	  OK(2, LOAD, 4, 4, RAX), MEM(RDI, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rbp+0x0]", X64, B(0x8b, 0x45, 0x00),
	  OK(3, LOAD, 4, 4, RAX), MEM(RBP, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [r13+0x0]", X64, B(0x41, 0x8b, 0x45, 0x00),
	  OK(4, LOAD, 4, 4, RAX), MEM(R13, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [r8]", X64, B(0x41, 0x8b, 0x00),
	  OK(3, LOAD, 4, 4, RAX), MEM(R8, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [r14]", X64, B(0x41, 0x8b, 0x06),
	  OK(3, LOAD, 4, 4, RAX), MEM(R14, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rax+0x7f]", X64, B(0x8b, 0x40, 0x7f),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, 0x7f) },
	{ "mov eax,DWORD PTR [rax-0x80]", X64, B(0x8b, 0x40, 0x80),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, -0x80LL) },
	{ "mov eax,DWORD PTR [rax+0x80]", X64, B(0x8b, 0x80, 0x80, 0x00, 0x00, 0x00),
	  OK(6, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, 0x80) },
	{ "mov eax,DWORD PTR [rax-0x81]", X64, B(0x8b, 0x80, 0x7f, 0xff, 0xff, 0xff),
	  OK(6, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, -0x81LL) },
	{ "mov eax,DWORD PTR [rbp+0x12345678]", X64, B(0x8b, 0x85, 0x78, 0x56, 0x34, 0x12),
	  OK(6, LOAD, 4, 4, RAX), MEM(RBP, NONE, 0, 0x12345678) },
	{ "mov eax,DWORD PTR [r13-0x7fffffff]", X64, B(0x41, 0x8b, 0x85, 0x01, 0x00, 0x00, 0x80),
	  OK(7, LOAD, 4, 4, RAX), MEM(R13, NONE, 0, -0x7fffffffLL) },
	{ "mov eax,DWORD PTR [r11+0x10]", X64, B(0x41, 0x8b, 0x43, 0x10),
	  OK(4, LOAD, 4, 4, RAX), MEM(R11, NONE, 0, 0x10) },
	{ "mov eax,DWORD PTR [rax-0x80000000] (disp32 sign-extended)", X64, B(0x8b, 0x80, 0x00, 0x00, 0x00, 0x80),
	  OK(6, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, -0x80000000LL) },
	{ "mov eax,DWORD PTR [rax+0x0] (mod 01 with a zero disp8)", X64, B(0x8b, 0x40, 0x00),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, 0) },
	/* 64-bit RIP-relative (2.2.1.6) */
	{ "mov eax,DWORD PTR [rip+0x10]", X64, B(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
	  OK(6, LOAD, 4, 4, RAX), RIP(0x10) },
	{ "mov eax,DWORD PTR [rip+0xfffffffffffffff0]", X64, B(0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff),
	  OK(6, LOAD, 4, 4, RAX), RIP(-0x10LL) },
	{ "mov r9,QWORD PTR [rip+0x12345678]", X64, B(0x4c, 0x8b, 0x0d, 0x78, 0x56, 0x34, 0x12),
	  OK(7, LOAD, 8, 8, R9), RIP(0x12345678) },
	{ "mov DWORD PTR [rip+0x100],0x1", X64, B(0xc7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00),
	  IMM(10, 4, 0x1), RIP(0x100) },
	{ "mov BYTE PTR [rip+0x10],0x1", X64, B(0xc6, 0x05, 0x10, 0x00, 0x00, 0x00, 0x01),
	  IMM(7, 1, 0x1), RIP(0x10) },
	{ "movzx eax,WORD PTR [rip+0x20]", X64, B(0x0f, 0xb7, 0x05, 0x20, 0x00, 0x00, 0x00),
	  OK(7, LOAD_ZX, 2, 4, RAX), RIP(0x20) },
	{ "mov eax,DWORD PTR [rip+0x10] (REX.B: still RIP, not r13)", X64, B(0x41, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
	  OK(7, LOAD, 4, 4, RAX), RIP(0x10) },
	{ "mov eax,DWORD PTR [eip+0x10] (67: EIP-relative)", X64, B(0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
	  OK(7, LOAD, 4, 4, RAX), RIP(0x10), A32 },
	/* 64-bit SIB (Table 2-3) */
	{ "mov eax,DWORD PTR [rsp]", X64, B(0x8b, 0x04, 0x24),
	  OK(3, LOAD, 4, 4, RAX), MEM(RSP, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [r12]", X64, B(0x41, 0x8b, 0x04, 0x24),
	  OK(4, LOAD, 4, 4, RAX), MEM(R12, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rsp+0x8]", X64, B(0x8b, 0x44, 0x24, 0x08),
	  OK(4, LOAD, 4, 4, RAX), MEM(RSP, NONE, 0, 0x8) },
	{ "mov eax,DWORD PTR [r12+0x1000]", X64, B(0x41, 0x8b, 0x84, 0x24, 0x00, 0x10, 0x00, 0x00),
	  OK(8, LOAD, 4, 4, RAX), MEM(R12, NONE, 0, 0x1000) },
	{ "mov eax,DWORD PTR [rax+rcx*1]", X64, B(0x8b, 0x04, 0x08),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, RCX, 1, 0) },
	{ "mov eax,DWORD PTR [rax+rcx*2]", X64, B(0x8b, 0x04, 0x48),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, RCX, 2, 0) },
	{ "mov eax,DWORD PTR [rax+rcx*4]", X64, B(0x8b, 0x04, 0x88),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, RCX, 4, 0) },
	{ "mov eax,DWORD PTR [rax+rcx*8]", X64, B(0x8b, 0x04, 0xc8),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, RCX, 8, 0) },
	{ "mov eax,DWORD PTR [rsp+rax*4+0x8]", X64, B(0x8b, 0x44, 0x84, 0x08),
	  OK(4, LOAD, 4, 4, RAX), MEM(RSP, RAX, 4, 0x8) },
	{ "mov eax,DWORD PTR [rbp+rcx*2+0x0]", X64, B(0x8b, 0x44, 0x4d, 0x00),
	  OK(4, LOAD, 4, 4, RAX), MEM(RBP, RCX, 2, 0) },
	{ "mov eax,DWORD PTR [r13+rcx*2+0x0]", X64, B(0x41, 0x8b, 0x44, 0x4d, 0x00),
	  OK(5, LOAD, 4, 4, RAX), MEM(R13, RCX, 2, 0) },
	{ "mov eax,DWORD PTR [r13+rcx*2+0x12345678]", X64, B(0x41, 0x8b, 0x84, 0x4d, 0x78, 0x56, 0x34, 0x12),
	  OK(8, LOAD, 4, 4, RAX), MEM(R13, RCX, 2, 0x12345678) },
	{ "mov DWORD PTR [r12+r13*8+0x10],eax", X64, B(0x43, 0x89, 0x44, 0xec, 0x10),
	  OK(5, STORE, 4, 4, RAX), MEM(R12, R13, 8, 0x10) },
	{ "mov eax,DWORD PTR [rax+r12*1]", X64, B(0x42, 0x8b, 0x04, 0x20),
	  OK(4, LOAD, 4, 4, RAX), MEM(RAX, R12, 1, 0) },
	{ "mov eax,DWORD PTR [r12+r12*1]", X64, B(0x43, 0x8b, 0x04, 0x24),
	  OK(4, LOAD, 4, 4, RAX), MEM(R12, R12, 1, 0) },
	{ "mov eax,DWORD PTR [r8+r15*4-0x4]", X64, B(0x43, 0x8b, 0x44, 0xb8, 0xfc),
	  OK(5, LOAD, 4, 4, RAX), MEM(R8, R15, 4, -0x4LL) },
	{ "mov eax,DWORD PTR [rcx*4+0x10]", X64, B(0x8b, 0x04, 0x8d, 0x10, 0x00, 0x00, 0x00),
	  OK(7, LOAD, 4, 4, RAX), MEM(NONE, RCX, 4, 0x10) },
	{ "mov eax,DWORD PTR [r9*8+0x0]", X64, B(0x42, 0x8b, 0x04, 0xcd, 0x00, 0x00, 0x00, 0x00),
	  OK(8, LOAD, 4, 4, RAX), MEM(NONE, R9, 8, 0) },
	{ "mov eax,DWORD PTR [rbp*2+0x0]", X64, B(0x8b, 0x04, 0x6d, 0x00, 0x00, 0x00, 0x00),
	  OK(7, LOAD, 4, 4, RAX), MEM(NONE, RBP, 2, 0) },
	{ "mov eax,DWORD PTR ds:0x12345678", X64, B(0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
	  OK(7, LOAD, 4, 4, RAX), MEM(NONE, NONE, 0, 0x12345678) },
	{ "mov eax,DWORD PTR ds:0xfffffffffffffff0", X64, B(0x8b, 0x04, 0x25, 0xf0, 0xff, 0xff, 0xff),
	  OK(7, LOAD, 4, 4, RAX), MEM(NONE, NONE, 0, -0x10LL) },
	{ "mov eax,DWORD PTR ds:0x12345678 (REX.B with SIB base 101, mod 00: no base)", X64, B(0x41, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
	  OK(8, LOAD, 4, 4, RAX), MEM(NONE, NONE, 0, 0x12345678) },
	{ "mov eax,DWORD PTR [r13*1+0x12345678] (index r13, no base)", X64, B(0x43, 0x8b, 0x04, 0x2d, 0x78, 0x56, 0x34, 0x12),
	  OK(8, LOAD, 4, 4, RAX), MEM(NONE, R13, 1, 0x12345678) },
	{ "mov eax,DWORD PTR [rax+riz*4] (index 100, scale 4: no index)", X64, B(0x8b, 0x04, 0xa0),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [rsp+0x0] ([rsp] with disp8)", X64, B(0x8b, 0x44, 0x24, 0x00),
	  OK(4, LOAD, 4, 4, RAX), MEM(RSP, NONE, 0, 0) },
	{ "mov BYTE PTR [rsp+rsi*2+0x1],dl", X64, B(0x88, 0x54, 0x74, 0x01),
	  OK(4, STORE, 1, 1, RDX), MEM(RSP, RSI, 2, 0x1) },
	{ "mov QWORD PTR [rbx+rdi*8+0x100],0x5", X64, B(0x48, 0xc7, 0x84, 0xfb, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00),
	  IMM(12, 8, 0x5), MEM(RBX, RDI, 8, 0x100) },
	{ "movsx rax,WORD PTR [r10+r11*2]", X64, B(0x4b, 0x0f, 0xbf, 0x04, 0x5a),
	  OK(5, LOAD_SX, 2, 8, RAX), MEM(R10, R11, 2, 0) },
	/* 64-bit with 67: 32-bit addressing, same ModR/M layout */
	{ "mov eax,DWORD PTR [ecx]", X64, B(0x67, 0x8b, 0x01),
	  OK(3, LOAD, 4, 4, RAX), MEM(RCX, NONE, 0, 0), A32 },
	{ "mov eax,DWORD PTR [esp]", X64, B(0x67, 0x8b, 0x04, 0x24),
	  OK(4, LOAD, 4, 4, RAX), MEM(RSP, NONE, 0, 0), A32 },
	{ "mov DWORD PTR [r8d+r9d*2+0x10],r8d", X64, B(0x67, 0x47, 0x89, 0x44, 0x48, 0x10),
	  OK(6, STORE, 4, 4, R8), MEM(R8, R9, 2, 0x10), A32 },
	{ "mov eax,DWORD PTR [eiz*1+0x12345678]", X64, B(0x67, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
	  OK(8, LOAD, 4, 4, RAX), MEM(NONE, NONE, 0, 0x12345678), A32 },
	/* 64-bit prefixes */
	{ "mov WORD PTR [rax],cx", X64, B(0x66, 0x89, 0x08),
	  OK(3, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "data16 mov WORD PTR [rax],cx", X64, B(0x66, 0x66, 0x89, 0x08),
	  OK(4, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "data16 mov QWORD PTR [rax],rcx (REX.W beats 66)", X64, B(0x66, 0x48, 0x89, 0x08),
	  OK(4, STORE, 8, 8, RCX), MEM(RAX, NONE, 0, 0) },
	{ "rex.W (ignored) mov WORD PTR [rax],cx (REX before a legacy prefix is ignored)", X64, B(0x48, 0x66, 0x89, 0x08),
	  OK(4, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "rex.B (ignored) data16 mov BYTE PTR [rax],ah (ignored REX: AH, not SPL, and not r8)", X64, B(0x41, 0x66, 0x88, 0x20),
	  OK(4, STORE, 1, 1, RAX), HI8, MEM(RAX, NONE, 0, 0) },
	{ "cs mov BYTE PTR [rax],spl (REX 40 last: SPL)", X64, B(0x2e, 0x40, 0x88, 0x20),
	  OK(4, STORE, 1, 1, RSP), MEM(RAX, NONE, 0, 0), SEG(0x2e) },
	{ "rex (ignored) cs mov BYTE PTR [rax],ah (ignored REX 40: AH)", X64, B(0x40, 0x2e, 0x88, 0x20),
	  OK(4, STORE, 1, 1, RAX), HI8, MEM(RAX, NONE, 0, 0), SEG(0x2e) },
	{ "rex (ignored) mov QWORD PTR [rax],rcx (two REX: the last counts)", X64, B(0x40, 0x48, 0x89, 0x08),
	  OK(4, STORE, 8, 8, RCX), MEM(RAX, NONE, 0, 0) },
	{ "rex.W (ignored) rex mov DWORD PTR [rax],ecx (two REX: the last counts)", X64, B(0x48, 0x40, 0x89, 0x08),
	  OK(4, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0) },
	{ "rex.WR (ignored) mov DWORD PTR [eax],ecx (ignored REX.WR)", X64, B(0x4c, 0x67, 0x89, 0x08),
	  OK(4, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), A32 },
	{ "mov QWORD PTR [eax],r9", X64, B(0x67, 0x4c, 0x89, 0x08),
	  OK(4, STORE, 8, 8, R9), MEM(RAX, NONE, 0, 0), A32 },
	{ "mov spl,BYTE PTR [rax] (bare REX: SPL)", X64, B(0x40, 0x8a, 0x20),
	  OK(3, LOAD, 1, 1, RSP), MEM(RAX, NONE, 0, 0) },
	{ "es mov DWORD PTR [rax],ecx", X64, B(0x26, 0x89, 0x08),
	  OK(3, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x26) },
	{ "cs mov DWORD PTR [rax],ecx", X64, B(0x2e, 0x89, 0x08),
	  OK(3, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x2e) },
	{ "ss mov DWORD PTR [rax],ecx", X64, B(0x36, 0x89, 0x08),
	  OK(3, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x36) },
	{ "ds mov DWORD PTR [rax],ecx", X64, B(0x3e, 0x89, 0x08),
	  OK(3, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x3e) },
	{ "mov DWORD PTR fs:[rax],ecx", X64, B(0x64, 0x89, 0x08),
	  OK(3, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x64) },
	{ "mov DWORD PTR gs:[rax],ecx", X64, B(0x65, 0x89, 0x08),
	  OK(3, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x65) },
	{ "fs mov DWORD PTR gs:[rax],ecx (last segment wins)", X64, B(0x64, 0x65, 0x89, 0x08),
	  OK(4, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0), SEG(0x65) },
	{ "gs mov rax,QWORD PTR gs:0x28 (the last segment prefix is recorded: 2E)", X64, B(0x65, 0x2e, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00),
	  OK(10, LOAD, 8, 8, RAX), MEM(NONE, NONE, 0, 0x28), SEG(0x2e) },
	{ "mov WORD PTR gs:[r12d+0x8],0x1234", X64, B(0x65, 0x66, 0x67, 0x41, 0xc7, 0x44, 0x24, 0x08, 0x34, 0x12),
	  IMM(10, 2, 0x1234), MEM(R12, NONE, 0, 0x8), SEG(0x65), A32 },
	{ "es es es es es data16 mov QWORD PTR [esp],0xffffffff80000001 (15 bytes)", X64, B(0x26, 0x26, 0x26, 0x26, 0x26, 0x67, 0x66, 0x48, 0xc7, 0x04, 0x24, 0x01, 0x00, 0x00, 0x80),
	  IMM(15, 8, 0xffffffff80000001), MEM(RSP, NONE, 0, 0), SEG(0x26), A32 },
	{ "data16 data16 data16 data16 data16 data16 data16 data16 data16 data16 data16 data16 mov WORD PTR [rax],cx (15 bytes)", X64, B(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89, 0x08),
	  OK(15, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "cs cs cs cs cs cs cs cs cs cs cs cs mov BYTE PTR [rax],spl (15 bytes)", X64, B(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x40, 0x88, 0x20),
	  OK(15, STORE, 1, 1, RSP), MEM(RAX, NONE, 0, 0), SEG(0x2e) },
	/* 32-bit: every opcode */
	{ "mov BYTE PTR [eax],cl", X32, B(0x88, 0x08),
	  OK(2, STORE, 1, 1, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [eax],ah", X32, B(0x88, 0x20),
	  OK(2, STORE, 1, 1, RAX), HI8, MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [eax],bh", X32, B(0x88, 0x38),
	  OK(2, STORE, 1, 1, RBX), HI8, MEM(RAX, NONE, 0, 0) },
	{ "mov WORD PTR [eax],cx", X32, B(0x66, 0x89, 0x08),
	  OK(3, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [eax],ecx", X32, B(0x89, 0x08),
	  OK(2, STORE, 4, 4, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [edi],esp", X32, B(0x89, 0x27),
	  OK(2, STORE, 4, 4, RSP), MEM(RDI, NONE, 0, 0) },
	{ "mov dl,BYTE PTR [ebx]", X32, B(0x8a, 0x13),
	  OK(2, LOAD, 1, 1, RDX), MEM(RBX, NONE, 0, 0) },
	{ "mov dh,BYTE PTR [ebx]", X32, B(0x8a, 0x33),
	  OK(2, LOAD, 1, 1, RDX), HI8, MEM(RBX, NONE, 0, 0) },
	{ "mov si,WORD PTR [ebx]", X32, B(0x66, 0x8b, 0x33),
	  OK(3, LOAD, 2, 2, RSI), MEM(RBX, NONE, 0, 0) },
	{ "mov ebp,DWORD PTR [ebx]", X32, B(0x8b, 0x2b),
	  OK(2, LOAD, 4, 4, RBP), MEM(RBX, NONE, 0, 0) },
	{ "mov BYTE PTR [eax],0x80", X32, B(0xc6, 0x00, 0x80),
	  IMM(3, 1, 0x80), MEM(RAX, NONE, 0, 0) },
	{ "mov WORD PTR [eax],0xffff", X32, B(0x66, 0xc7, 0x00, 0xff, 0xff),
	  IMM(5, 2, 0xffff), MEM(RAX, NONE, 0, 0) },
	{ "mov DWORD PTR [eax],0xdeadbeef", X32, B(0xc7, 0x00, 0xef, 0xbe, 0xad, 0xde),
	  IMM(6, 4, 0xdeadbeef), MEM(RAX, NONE, 0, 0) },
	{ "mov al,ds:0x12345678", X32, B(0xa0, 0x78, 0x56, 0x34, 0x12),
	  OK(5, LOAD, 1, 1, RAX), MOFFS(0x12345678) },
	{ "mov ax,ds:0x12345678", X32, B(0x66, 0xa1, 0x78, 0x56, 0x34, 0x12),
	  OK(6, LOAD, 2, 2, RAX), MOFFS(0x12345678) },
	{ "mov eax,ds:0x80000000", X32, B(0xa1, 0x00, 0x00, 0x00, 0x80),
	  OK(5, LOAD, 4, 4, RAX), MOFFS(0x80000000) },
	{ "mov ds:0x12345678,al", X32, B(0xa2, 0x78, 0x56, 0x34, 0x12),
	  OK(5, STORE, 1, 1, RAX), MOFFS(0x12345678) },
	{ "mov ds:0x12345678,ax", X32, B(0x66, 0xa3, 0x78, 0x56, 0x34, 0x12),
	  OK(6, STORE, 2, 2, RAX), MOFFS(0x12345678) },
	{ "mov ds:0x12345678,eax", X32, B(0xa3, 0x78, 0x56, 0x34, 0x12),
	  OK(5, STORE, 4, 4, RAX), MOFFS(0x12345678) },
	{ "mov ds:0x12345678,eax", X32, B(0x3e, 0xa3, 0x78, 0x56, 0x34, 0x12),
	  OK(6, STORE, 4, 4, RAX), MOFFS(0x12345678), SEG(0x3e) },
	{ "movzx eax,BYTE PTR [ecx]", X32, B(0x0f, 0xb6, 0x01),
	  OK(3, LOAD_ZX, 1, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movzx eax,WORD PTR [ecx]", X32, B(0x0f, 0xb7, 0x01),
	  OK(3, LOAD_ZX, 2, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movzx dx,BYTE PTR [ecx]", X32, B(0x66, 0x0f, 0xb6, 0x11),
	  OK(4, LOAD_ZX, 1, 2, RDX), MEM(RCX, NONE, 0, 0) },
	{ "movsx eax,BYTE PTR [ecx]", X32, B(0x0f, 0xbe, 0x01),
	  OK(3, LOAD_SX, 1, 4, RAX), MEM(RCX, NONE, 0, 0) },
	{ "movsx edi,WORD PTR [ecx]", X32, B(0x0f, 0xbf, 0x39),
	  OK(3, LOAD_SX, 2, 4, RDI), MEM(RCX, NONE, 0, 0) },
	{ "movsx bx,BYTE PTR [ecx]", X32, B(0x66, 0x0f, 0xbe, 0x19),
	  OK(4, LOAD_SX, 1, 2, RBX), MEM(RCX, NONE, 0, 0) },
	/* 32-bit ModR/M and SIB */
	{ "mov eax,DWORD PTR [ebp+0x0]", X32, B(0x8b, 0x45, 0x00),
	  OK(3, LOAD, 4, 4, RAX), MEM(RBP, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [esp]", X32, B(0x8b, 0x04, 0x24),
	  OK(3, LOAD, 4, 4, RAX), MEM(RSP, NONE, 0, 0) },
	{ "mov eax,DWORD PTR [esi+0x7f]", X32, B(0x8b, 0x46, 0x7f),
	  OK(3, LOAD, 4, 4, RAX), MEM(RSI, NONE, 0, 0x7f) },
	{ "mov eax,DWORD PTR [esi-0x80]", X32, B(0x8b, 0x46, 0x80),
	  OK(3, LOAD, 4, 4, RAX), MEM(RSI, NONE, 0, -0x80LL) },
	{ "mov eax,DWORD PTR [esi+0x1000]", X32, B(0x8b, 0x86, 0x00, 0x10, 0x00, 0x00),
	  OK(6, LOAD, 4, 4, RAX), MEM(RSI, NONE, 0, 0x1000) },
	{ "mov ecx,DWORD PTR ds:0x12345678", X32, B(0x8b, 0x0d, 0x78, 0x56, 0x34, 0x12),
	  OK(6, LOAD, 4, 4, RCX), MEM(NONE, NONE, 0, 0x12345678) },
	{ "mov ecx,DWORD PTR ds:0x80000000 (absolute disp32, not RIP-relative)", X32, B(0x8b, 0x0d, 0x00, 0x00, 0x00, 0x80),
	  OK(6, LOAD, 4, 4, RCX), MEM(NONE, NONE, 0, -0x80000000LL) },
	{ "mov eax,DWORD PTR [ebp+ecx*4+0x0]", X32, B(0x8b, 0x44, 0x8d, 0x00),
	  OK(4, LOAD, 4, 4, RAX), MEM(RBP, RCX, 4, 0) },
	{ "mov eax,DWORD PTR [ecx*8+0x10]", X32, B(0x8b, 0x04, 0xcd, 0x10, 0x00, 0x00, 0x00),
	  OK(7, LOAD, 4, 4, RAX), MEM(NONE, RCX, 8, 0x10) },
	{ "mov eax,DWORD PTR [esp+eax*2-0x4]", X32, B(0x8b, 0x44, 0x44, 0xfc),
	  OK(4, LOAD, 4, 4, RAX), MEM(RSP, RAX, 2, -0x4LL) },
	{ "mov eax,DWORD PTR [ebx+esi*1+0x12345678]", X32, B(0x8b, 0x84, 0x33, 0x78, 0x56, 0x34, 0x12),
	  OK(7, LOAD, 4, 4, RAX), MEM(RBX, RSI, 1, 0x12345678) },
	{ "mov eax,DWORD PTR [eiz*1+0x12345678] (SIB with neither base nor index)", X32, B(0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12),
	  OK(7, LOAD, 4, 4, RAX), MEM(NONE, NONE, 0, 0x12345678) },
	{ "mov eax,DWORD PTR [eax+eiz*2] (index 100: no index)", X32, B(0x8b, 0x04, 0x60),
	  OK(3, LOAD, 4, 4, RAX), MEM(RAX, NONE, 0, 0) },
	{ "mov BYTE PTR [edx+edi*8+0x40],0x7", X32, B(0xc6, 0x44, 0xfa, 0x40, 0x07),
	  IMM(5, 1, 0x7), MEM(RDX, RDI, 8, 0x40) },
	{ "movzx ecx,WORD PTR [esp+0x10]", X32, B(0x0f, 0xb7, 0x4c, 0x24, 0x10),
	  OK(5, LOAD_ZX, 2, 4, RCX), MEM(RSP, NONE, 0, 0x10) },
	/* 32-bit prefixes */
	{ "mov WORD PTR [eax],cx", X32, B(0x66, 0x89, 0x08),
	  OK(3, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0) },
	{ "mov ecx,DWORD PTR fs:0x0", X32, B(0x64, 0x8b, 0x0d, 0x00, 0x00, 0x00, 0x00),
	  OK(7, LOAD, 4, 4, RCX), MEM(NONE, NONE, 0, 0), SEG(0x64) },
	{ "es mov WORD PTR cs:[eax],cx", X32, B(0x26, 0x66, 0x2e, 0x89, 0x08),
	  OK(5, STORE, 2, 2, RCX), MEM(RAX, NONE, 0, 0), SEG(0x2e) },
	{ "ss ss ss ss ss ss ss mov WORD PTR ss:[esp+0x4],0x1234 (15 bytes)", X32, B(0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x36, 0x66, 0xc7, 0x44, 0x24, 0x04, 0x34, 0x12),
	  IMM(15, 2, 0x1234), MEM(RSP, NONE, 0, 0x4), SEG(0x36) },
	/* LOCK on MOV is #UD */
	{ "lock mov [rax],ecx", X64, B(0xf0, 0x89, 0x08), ERR(INVALID) },
	{ "lock mov [rax],cl", X64, B(0xf0, 0x88, 0x08), ERR(INVALID) },
	{ "lock mov ecx,[rax]", X64, B(0xf0, 0x8b, 0x08), ERR(INVALID) },
	{ "lock mov dword [rax],1", X64, B(0xf0, 0xc7, 0x00, 0x01, 0x00, 0x00, 0x00), ERR(INVALID) },
	{ "lock movabs eax,[moffs]", X64, B(0xf0, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0), ERR(INVALID) },
	{ "data16 lock mov [rax],rcx", X64, B(0x66, 0xf0, 0x48, 0x89, 0x08), ERR(INVALID) },
	{ "lock movzx eax,byte [rcx]", X64, B(0xf0, 0x0f, 0xb6, 0x01), ERR(INVALID) },
	{ "lock movsxd rax,[rcx]", X64, B(0xf0, 0x48, 0x63, 0x01), ERR(INVALID) },
	{ "lock mov [eax],ecx (32)", X32, B(0xf0, 0x89, 0x08), ERR(INVALID) },
	{ "lock add [rax],ecx: valid, not ours", X64, B(0xf0, 0x01, 0x08), ERR(UNSUPPORTED) },
	/* F2/F3 (XACQUIRE/XRELEASE, or another instruction) */
	{ "rep mov [rax],ecx", X64, B(0xf3, 0x89, 0x08), ERR(UNSUPPORTED) },
	{ "repne mov ecx,[rax]", X64, B(0xf2, 0x8b, 0x08), ERR(UNSUPPORTED) },
	{ "xrelease mov [rax],cl", X64, B(0xf3, 0x88, 0x08), ERR(UNSUPPORTED) },
	{ "xrelease mov byte [rax],1", X64, B(0xf3, 0xc6, 0x00, 0x01), ERR(UNSUPPORTED) },
	{ "rep movzx", X64, B(0xf3, 0x0f, 0xb6, 0x01), ERR(UNSUPPORTED) },
	{ "repne movabs eax,[moffs]", X64, B(0xf2, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0), ERR(UNSUPPORTED) },
	{ "rep movsxd", X64, B(0xf3, 0x48, 0x63, 0x01), ERR(UNSUPPORTED) },
	{ "rep mov [eax],ecx (32)", X32, B(0xf3, 0x89, 0x08), ERR(UNSUPPORTED) },
	{ "rep movsb", X64, B(0xf3, 0xa4), ERR(UNSUPPORTED) },
	{ "popcnt eax,[rcx]", X64, B(0xf3, 0x0f, 0xb8, 0x01), ERR(UNSUPPORTED) },
	/* 67 in 32-bit mode selects 16-bit addressing */
	{ "addr16 mov eax,[bx] (32)", X32, B(0x67, 0x8b, 0x07), ERR(UNSUPPORTED) },
	{ "addr16 mov eax,[moffs16] (32)", X32, B(0x67, 0xa1, 0x34, 0x12), ERR(UNSUPPORTED) },
	{ "addr16 mov byte [bx+si],1 (32)", X32, B(0x67, 0xc6, 0x00, 0x01), ERR(UNSUPPORTED) },
	/* 40-4F are INC/DEC outside 64-bit mode */
	{ "dec eax; mov [eax],ecx (32)", X32, B(0x48, 0x89, 0x08), ERR(UNSUPPORTED) },
	{ "inc eax; mov eax,[eax] (32)", X32, B(0x40, 0x8b, 0x00), ERR(UNSUPPORTED) },
	/* 63 is MOVSXD only with REX.W here, ARPL in 32-bit mode */
	{ "movsxd eax,[rcx] (no REX.W)", X64, B(0x63, 0x01), ERR(UNSUPPORTED) },
	{ "movsxd r8d,[rcx] (REX.R, no REX.W)", X64, B(0x44, 0x63, 0x01), ERR(UNSUPPORTED) },
	{ "ignored rex.W; movsxd", X64, B(0x48, 0x66, 0x63, 0x01), ERR(UNSUPPORTED) },
	{ "arpl [ecx],ax (32)", X32, B(0x63, 0x01), ERR(UNSUPPORTED) },
	/* other instructions that touch memory */
	{ "add [rax],ecx", X64, B(0x01, 0x08), ERR(UNSUPPORTED) },
	{ "add ecx,[rax]", X64, B(0x03, 0x08), ERR(UNSUPPORTED) },
	{ "or [rax],cl", X64, B(0x08, 0x08), ERR(UNSUPPORTED) },
	{ "and dword [rax],1", X64, B(0x83, 0x20, 0x01), ERR(UNSUPPORTED) },
	{ "cmp [rax],ecx", X64, B(0x39, 0x08), ERR(UNSUPPORTED) },
	{ "cmp ecx,[rax]", X64, B(0x3b, 0x08), ERR(UNSUPPORTED) },
	{ "cmp byte [rax],1", X64, B(0x80, 0x38, 0x01), ERR(UNSUPPORTED) },
	{ "test [rax],ecx", X64, B(0x85, 0x08), ERR(UNSUPPORTED) },
	{ "xchg [rax],ecx", X64, B(0x87, 0x08), ERR(UNSUPPORTED) },
	{ "xchg [rax],cl", X64, B(0x86, 0x08), ERR(UNSUPPORTED) },
	{ "lea eax,[rcx]", X64, B(0x8d, 0x01), ERR(UNSUPPORTED) },
	{ "mov [rax],ds", X64, B(0x8c, 0x18), ERR(UNSUPPORTED) },
	{ "mov ds,[rax]", X64, B(0x8e, 0x18), ERR(UNSUPPORTED) },
	{ "inc dword [rax]", X64, B(0xff, 0x00), ERR(UNSUPPORTED) },
	{ "not byte [rax]", X64, B(0xf6, 0x10), ERR(UNSUPPORTED) },
	{ "movsb", X64, B(0xa4), ERR(UNSUPPORTED) },
	{ "movsd", X64, B(0xa5), ERR(UNSUPPORTED) },
	{ "movsq", X64, B(0x48, 0xa5), ERR(UNSUPPORTED) },
	{ "stosb", X64, B(0xaa), ERR(UNSUPPORTED) },
	{ "lodsd", X64, B(0xad), ERR(UNSUPPORTED) },
	{ "movups xmm0,[rax]", X64, B(0x0f, 0x10, 0x00), ERR(UNSUPPORTED) },
	{ "movups [rax],xmm0", X64, B(0x0f, 0x11, 0x00), ERR(UNSUPPORTED) },
	{ "movaps xmm0,[rax]", X64, B(0x0f, 0x28, 0x00), ERR(UNSUPPORTED) },
	{ "movdqa xmm0,[rax]", X64, B(0x66, 0x0f, 0x6f, 0x00), ERR(UNSUPPORTED) },
	{ "movdqu xmm0,[rax]", X64, B(0xf3, 0x0f, 0x6f, 0x00), ERR(UNSUPPORTED) },
	{ "movd [rax],xmm0", X64, B(0x66, 0x0f, 0x7e, 0x00), ERR(UNSUPPORTED) },
	{ "movq mm0,[rax]", X64, B(0x0f, 0x6f, 0x00), ERR(UNSUPPORTED) },
	{ "movnti [rax],ecx", X64, B(0x0f, 0xc3, 0x08), ERR(UNSUPPORTED) },
	{ "movbe ecx,[rax]", X64, B(0x0f, 0x38, 0xf0, 0x08), ERR(UNSUPPORTED) },
	{ "cmpxchg [rax],ecx", X64, B(0x0f, 0xb1, 0x08), ERR(UNSUPPORTED) },
	{ "prefetchnta [rax]", X64, B(0x0f, 0x18, 0x00), ERR(UNSUPPORTED) },
	{ "vmovdqa xmm0,[rax]", X64, B(0xc5, 0xf9, 0x6f, 0x00), ERR(UNSUPPORTED) },
	{ "vmovdqu ymm0,[rax]", X64, B(0xc4, 0xe1, 0x7e, 0x6f, 0x00), ERR(UNSUPPORTED) },
	{ "ud2", X64, B(0x0f, 0x0b), ERR(UNSUPPORTED) },
	{ "nop", X64, B(0x90), ERR(UNSUPPORTED) },
	{ "add [eax],ecx (32)", X32, B(0x01, 0x08), ERR(UNSUPPORTED) },
	{ "movsd (32)", X32, B(0xa5), ERR(UNSUPPORTED) },
	{ "movdqa xmm0,[eax] (32)", X32, B(0x66, 0x0f, 0x6f, 0x00), ERR(UNSUPPORTED) },
	{ "les eax,[eax] (32)", X32, B(0xc4, 0x00), ERR(UNSUPPORTED) },
	/* register operands: nothing in memory */
	{ "mov eax,ecx (89)", X64, B(0x89, 0xc8), ERR(INVALID) },
	{ "mov eax,ecx (8B)", X64, B(0x8b, 0xc1), ERR(INVALID) },
	{ "mov al,ah", X64, B(0x88, 0xe0), ERR(INVALID) },
	{ "mov ah,al", X64, B(0x8a, 0xe0), ERR(INVALID) },
	{ "mov r8,r9", X64, B(0x4d, 0x89, 0xc8), ERR(INVALID) },
	{ "mov al,0x12 (C6 /0)", X64, B(0xc6, 0xc0, 0x12), ERR(INVALID) },
	{ "mov eax,imm32 (C7 /0)", X64, B(0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00), ERR(INVALID) },
	{ "mov rax,imm32 (C7 /0)", X64, B(0x48, 0xc7, 0xc0, 0x01, 0x00, 0x00, 0x00), ERR(INVALID) },
	{ "movzx eax,cl", X64, B(0x0f, 0xb6, 0xc1), ERR(INVALID) },
	{ "movsx eax,ax", X64, B(0x0f, 0xbf, 0xc0), ERR(INVALID) },
	{ "movsxd rax,ecx", X64, B(0x48, 0x63, 0xc1), ERR(INVALID) },
	{ "xabort 0", X64, B(0xc6, 0xf8, 0x00), ERR(INVALID) },
	{ "xbegin", X64, B(0xc7, 0xf8, 0x00, 0x00, 0x00, 0x00), ERR(INVALID) },
	{ "mov eax,ecx (32)", X32, B(0x89, 0xc8), ERR(INVALID) },
	/* C6/C7 with ModR/M.reg != 0 */
	{ "C6 /1", X64, B(0xc6, 0x08, 0x12), ERR(INVALID) },
	{ "C6 /7", X64, B(0xc6, 0x38, 0x12), ERR(INVALID) },
	{ "C7 /1 disp8", X64, B(0xc7, 0x48, 0x10, 0x01, 0x00, 0x00, 0x00), ERR(INVALID) },
	{ "REX.W C7 /4", X64, B(0x48, 0xc7, 0x20, 0x01, 0x00, 0x00, 0x00), ERR(INVALID) },
	{ "66 C7 /2", X64, B(0x66, 0xc7, 0x10, 0x34, 0x12), ERR(INVALID) },
	{ "C6 /3 (32)", X32, B(0xc6, 0x18, 0x12), ERR(INVALID) },
	/* more than 15 bytes (SDM Vol. 2A 2.2.1: the 15-byte limit) */
	{ "15 prefixes, then an opcode", X64, B(P15(0x66), 0x89, 0x08), ERR(INVALID) },
	{ "15 prefixes only", X64, B(P15(0x66)), ERR(INVALID) },
	{ "16 prefixes", X64, B(P15(0x2e), 0x2e), ERR(INVALID) },
	{ "14 prefixes + 89 08: 16 bytes", X64, B(P14(0x66), 0x89, 0x08), ERR(INVALID) },
	{ "14 prefixes + REX + 89 08: 17 bytes", X64, B(P14(0x2e), 0x48, 0x89, 0x08), ERR(INVALID) },
	{ "13 prefixes + REX + 89 08: 16 bytes", X64, B(P13(0x2e), 0x48, 0x89, 0x08), ERR(INVALID) },
	{ "4 prefixes + mov qword [rax+rcx*4+disp32],imm32: 16 bytes", X64,
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x48, 0xc7, 0x84, 0x88, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00),
	  ERR(INVALID) },
	{ "the same, cut after the SIB byte: length known to be 16", X64,
	  B(0x2e, 0x2e, 0x2e, 0x2e, 0x48, 0xc7, 0x84, 0x88), ERR(INVALID) },
	{ "6 prefixes + movabs rax,[moffs64]: 16 bytes", X64,
	  B(0x64, 0x64, 0x64, 0x64, 0x64, 0x64, 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), ERR(INVALID) },
	{ "8 prefixes + mov word [esp+4],imm16: 16 bytes (32)", X32,
	  B(P4(0x36), P4(0x36), 0x66, 0x66, 0xc7, 0x44, 0x24, 0x04, 0x34, 0x12), ERR(INVALID) },
	{ "15 prefixes (32)", X32, B(P15(0x3e), 0x89, 0x08), ERR(INVALID) },
	/* nothing to decode / 16-bit code */
	{ "no bytes", X64, .n = 0, ERR(TRUNCATED) },
	{ "no bytes (32)", X32, .n = 0, ERR(TRUNCATED) },
	{ "16-bit mode", X16, B(0x89, 0x08), ERR(UNSUPPORTED) },
	{ "16-bit mode, no bytes", X16, .n = 0, ERR(UNSUPPORTED) },
};

/* Decodes from a heap copy of exactly n bytes, so that ASan catches any
 * read past what the decoder was given. */
static int decode_exact(const u8 *bytes, size_t n, enum x86_cpu_mode mode, struct insn *out)
{
	u8 *copy = malloc(n ? n : 1);
	if (n)
		memcpy(copy, bytes, n);
	int r = x86_decode(copy, n, mode, out);
	free(copy);
	return r;
}

static bool insn_equal(const struct insn *a, const struct insn *b)
{
	return a->len == b->len && a->kind == b->kind && a->mem_size == b->mem_size &&
	       a->reg_size == b->reg_size && a->reg == b->reg && a->reg_high8 == b->reg_high8 &&
	       a->imm == b->imm && a->rip_relative == b->rip_relative &&
	       a->has_moffs == b->has_moffs && a->disp == b->disp &&
	       a->seg_override == b->seg_override && a->base == b->base &&
	       a->index == b->index && a->scale == b->scale && a->addr_size == b->addr_size;
}

#define FIELD(got, want)                                                                    \
	do {                                                                                \
		if ((u64)(got) != (u64)(want)) {                                            \
			printf("  case \"%s\"%s: %s == %#llx, expected %#llx\n", c->name, how, \
			       #got, (unsigned long long)(got), (unsigned long long)(want)); \
			return false;                                                       \
		}                                                                           \
	} while (0)

/* Compares one decode with a table row; prints and returns false on a
 * mismatch.  how says which variant of the row was run. */
static bool check_case(const struct decode_case *c, const char *how, int r, const struct insn *d)
{
	FIELD(r, c->result);
	if (r != DECODE_OK)
		return true;
	FIELD(d->len, c->len);
	FIELD(d->kind, c->kind);
	FIELD(d->mem_size, c->mem_size);
	FIELD(d->reg_size, c->reg_size);
	if (c->kind != INSN_STORE_IMM)
		FIELD(d->reg, c->reg);
	FIELD(d->reg_high8, c->reg_high8);
	FIELD(d->imm, c->imm);
	FIELD(d->rip_relative, c->rip_relative);
	FIELD(d->has_moffs, c->has_moffs);
	FIELD(d->disp, c->disp);
	FIELD(d->seg_override, c->seg);
	FIELD(d->base, c->base);
	FIELD(d->index, c->index);
	FIELD(d->scale, c->scale);
	FIELD(d->addr_size, c->addr_size ? c->addr_size : c->mode == X86_MODE_64 ? 8 : 4);
	return true;
}

/* Every row, given exactly its bytes. */
TEST(decode_table)
{
	int bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct decode_case *c = &cases[i];
		struct insn d;
		memset(&d, 0, sizeof(d));
		bad += !check_case(c, "", decode_exact(c->bytes, c->n, c->mode, &d), &d);
	}
	CHECK_EQ(bad, 0);
}

/* Every row followed by junk up to 16 bytes: bytes after the instruction
 * must not matter, and no result other than "truncated" may change. */
TEST(decode_table_trailing_bytes)
{
	int bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct decode_case *c = &cases[i];
		u8 buf[20];
		if (c->result == DECODE_TRUNCATED || c->n >= 16)
			continue;
		for (size_t n = c->n + 1; n <= 16; n++) {
			memset(buf, 0xCC, sizeof(buf));
			memcpy(buf, c->bytes, c->n);
			struct insn d;
			memset(&d, 0, sizeof(d));
			if (!check_case(c, " + junk", decode_exact(buf, n, c->mode, &d), &d)) {
				bad++;
				break;
			}
		}
	}
	CHECK_EQ(bad, 0);
}

/* Each proper prefix of each valid instruction is truncated. */
TEST(decode_truncated_every_length)
{
	int bad = 0, checked = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct decode_case *c = &cases[i];
		if (c->result != DECODE_OK)
			continue;
		for (size_t n = 0; n < c->len; n++) {
			struct insn d;
			int r = decode_exact(c->bytes, n, c->mode, &d);
			checked++;
			if (r != DECODE_TRUNCATED) {
				printf("  case \"%s\" cut to %zu bytes: %s\n", c->name, n,
				       x86_decode_strerror(r));
				bad++;
			}
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(checked > 900);
}

/* On failure the output is left alone. */
TEST(decode_error_leaves_output)
{
	static const u8 bad[][3] = { { 0xf0, 0x89, 0x08 }, { 0x01, 0x08, 0x00 }, { 0x89, 0x08, 0 } };
	static const size_t n[] = { 3, 2, 1 };
	static const int want[] = { DECODE_INVALID, DECODE_UNSUPPORTED, DECODE_TRUNCATED };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct insn d, ref;
		memset(&d, 0x5A, sizeof(d));
		memcpy(&ref, &d, sizeof(d));
		CHECK_EQ(x86_decode(bad[i], n[i], X86_MODE_64, &d), want[i]);
		CHECK(memcmp(&d, &ref, sizeof(d)) == 0);
	}
}

TEST(decode_strerror)
{
	CHECK_STR(x86_decode_strerror(DECODE_OK), "ok");
	CHECK_STR(x86_decode_strerror(DECODE_TRUNCATED), "instruction truncated");
	CHECK_STR(x86_decode_strerror(DECODE_UNSUPPORTED), "instruction not supported");
	CHECK_STR(x86_decode_strerror(DECODE_INVALID), "invalid instruction");
	CHECK_STR(x86_decode_strerror(42), "unknown decode result");
}

/* x86_apply_load on decoded instructions: which bits of the destination
 * change, and how the loaded value is extended. */
struct load_case {
	const char *name;
	enum x86_cpu_mode mode;
	u8 bytes[20];
	u8 n;
	u64 before, value, after; /* the destination register */
};

#define REG_BEFORE 0x1122334455667788ULL

static const struct load_case load_cases[] = {
	{ "mov rcx,[rax]", X64, B(0x48, 0x8b, 0x08), REG_BEFORE, 0x8877665544332211ULL, 0x8877665544332211ULL },
	{ "mov ecx,[rax]: clears 63:32", X64, B(0x8b, 0x08), ~0ULL, 0x80000000, 0x80000000 },
	{ "mov ecx,[rax]: value masked", X64, B(0x8b, 0x08), 0, 0xAAAAAAAA12345678ULL, 0x12345678 },
	{ "mov cx,[rax]: merges", X64, B(0x66, 0x8b, 0x08), REG_BEFORE, 0xFFFFABCD, 0x112233445566ABCDULL },
	{ "mov cl,[rax]: merges", X64, B(0x8a, 0x08), REG_BEFORE, 0x1EE, 0x11223344556677EEULL },
	{ "mov ch,[rax]: bits 15:8", X64, B(0x8a, 0x28), REG_BEFORE, 0x1EE, 0x112233445566EE88ULL },
	{ "mov bh,[eax] (32)", X32, B(0x8a, 0x38), REG_BEFORE, 0x00, 0x1122334455660088ULL },
	{ "mov bpl,[rax]", X64, B(0x40, 0x8a, 0x28), REG_BEFORE, 0xEE, 0x11223344556677EEULL },
	{ "mov r9d,[rax]", X64, B(0x44, 0x8b, 0x08), REG_BEFORE, 0xDEADBEEF, 0xDEADBEEF },
	{ "mov r15w,[rax]", X64, B(0x66, 0x44, 0x8b, 0x38), REG_BEFORE, 0x1234, 0x1122334455661234ULL },
	{ "movabs al,[moffs]", X64, B(0xa0, 1, 2, 3, 4, 5, 6, 7, 8), REG_BEFORE, 0x99, 0x1122334455667799ULL },
	{ "mov eax,[moffs] (32)", X32, B(0xa1, 1, 2, 3, 4), REG_BEFORE, 0x99, 0x99 },
	{ "movzx ecx,byte [rax]", X64, B(0x0f, 0xb6, 0x08), ~0ULL, 0x80, 0x80 },
	{ "movzx ecx,byte [rax]: value masked", X64, B(0x0f, 0xb6, 0x08), ~0ULL, 0xFF80, 0x80 },
	{ "movzx rcx,word [rax]", X64, B(0x48, 0x0f, 0xb7, 0x08), ~0ULL, 0xFFFF, 0xFFFF },
	{ "movzx cx,byte [rax]: merges", X64, B(0x66, 0x0f, 0xb6, 0x08), REG_BEFORE, 0xFF, 0x11223344556600FFULL },
	{ "movsx ecx,byte [rax]", X64, B(0x0f, 0xbe, 0x08), ~0ULL, 0x80, 0xFFFFFF80 },
	{ "movsx ecx,byte [rax]: positive", X64, B(0x0f, 0xbe, 0x08), ~0ULL, 0x7F, 0x7F },
	{ "movsx rcx,byte [rax]", X64, B(0x48, 0x0f, 0xbe, 0x08), 0, 0x80, 0xFFFFFFFFFFFFFF80ULL },
	{ "movsx rcx,byte [rax]: upper value bits ignored", X64, B(0x48, 0x0f, 0xbe, 0x08), 0,
	  0x1234567800000080ULL, 0xFFFFFFFFFFFFFF80ULL },
	{ "movsx rcx,word [rax]", X64, B(0x48, 0x0f, 0xbf, 0x08), 0, 0x8000, 0xFFFFFFFFFFFF8000ULL },
	{ "movsx ecx,word [rax]: clears 63:32", X64, B(0x0f, 0xbf, 0x08), ~0ULL, 0x8000, 0xFFFF8000 },
	{ "movsx cx,byte [rax]: merges", X64, B(0x66, 0x0f, 0xbe, 0x08), REG_BEFORE, 0x80, 0x112233445566FF80ULL },
	{ "movsx cx,byte [eax]: merges (32)", X32, B(0x66, 0x0f, 0xbe, 0x08), REG_BEFORE, 0x01, 0x1122334455660001ULL },
	{ "movsxd rcx,[rax]", X64, B(0x48, 0x63, 0x08), 0, 0x80000000, 0xFFFFFFFF80000000ULL },
	{ "movsxd rcx,[rax]: positive", X64, B(0x48, 0x63, 0x08), ~0ULL, 0x7FFFFFFF, 0x7FFFFFFF },
	{ "movsxd r12,[rax]", X64, B(0x4c, 0x63, 0x20), 0, 0xFFFFFFFF, ~0ULL },
};

TEST(apply_load)
{
	int bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(load_cases); i++) {
		const struct load_case *c = &load_cases[i];
		struct insn d;
		u64 gprs[GPR_COUNT], want[GPR_COUNT];
		if (x86_decode(c->bytes, c->n, c->mode, &d) != DECODE_OK) {
			printf("  %s: does not decode\n", c->name);
			bad++;
			continue;
		}
		for (int g = 0; g < GPR_COUNT; g++)
			gprs[g] = want[g] = (u64)0x0101010101010101ULL * (u64)(g + 1);
		gprs[d.reg] = c->before;
		want[d.reg] = c->after;
		x86_apply_load(&d, gprs, c->value);
		for (int g = 0; g < GPR_COUNT; g++) {
			if (gprs[g] != want[g]) {
				printf("  %s: gprs[%d] == %#llx, expected %#llx\n", c->name, g,
				       (unsigned long long)gprs[g], (unsigned long long)want[g]);
				bad++;
			}
		}
	}
	CHECK_EQ(bad, 0);
}

/* A store instruction given to x86_apply_load changes nothing. */
TEST(apply_load_ignores_stores)
{
	struct insn d;
	u64 gprs[GPR_COUNT] = { 0 };
	CHECK_EQ(x86_decode((const u8[]){ 0x48, 0x89, 0x08 }, 3, X86_MODE_64, &d), DECODE_OK);
	x86_apply_load(&d, gprs, ~0ULL);
	for (int g = 0; g < GPR_COUNT; g++)
		CHECK_EQ(gprs[g], 0);
}

/* x86_store_value with gprs[i] = 0x1020304050607080 + i * 0x0101010101010101. */
struct store_case {
	const char *name;
	enum x86_cpu_mode mode;
	u8 bytes[20];
	u8 n;
	u64 value;
};

static const struct store_case store_cases[] = {
	{ "mov [rax],cl", X64, B(0x88, 0x08), 0x81 },
	{ "mov [rax],ah", X64, B(0x88, 0x20), 0x70 },
	{ "mov [rax],bh", X64, B(0x88, 0x38), 0x73 },
	{ "mov [eax],dh (32)", X32, B(0x88, 0x30), 0x72 },
	{ "mov [rax],spl", X64, B(0x40, 0x88, 0x20), 0x84 },
	{ "mov [rax],dil", X64, B(0x40, 0x88, 0x38), 0x87 },
	{ "mov [rax],r15b", X64, B(0x44, 0x88, 0x38), 0x8F },
	{ "mov [rax],cx", X64, B(0x66, 0x89, 0x08), 0x7181 },
	{ "mov [rax],ecx", X64, B(0x89, 0x08), 0x51617181 },
	{ "mov [rax],rcx", X64, B(0x48, 0x89, 0x08), 0x1121314151617181ULL },
	{ "mov [rax],r9", X64, B(0x4c, 0x89, 0x08), 0x1929394959697989ULL },
	{ "mov [rax],r12d", X64, B(0x44, 0x89, 0x20), 0x5C6C7C8C },
	{ "rex ignored: mov [rax],ah", X64, B(0x40, 0x66, 0x88, 0x20), 0x70 },
	{ "movabs [moffs],al", X64, B(0xa2, 1, 2, 3, 4, 5, 6, 7, 8), 0x80 },
	{ "movabs [moffs],rax", X64, B(0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 0x1020304050607080ULL },
	{ "mov [moffs],ax (32)", X32, B(0x66, 0xa3, 1, 2, 3, 4), 0x7080 },
	{ "mov byte [rax],0x12", X64, B(0xc6, 0x00, 0x12), 0x12 },
	{ "mov word [rax],0x8000", X64, B(0x66, 0xc7, 0x00, 0x00, 0x80), 0x8000 },
	{ "mov dword [rax],0x80000000", X64, B(0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), 0x80000000 },
	{ "mov qword [rax],-1", X64, B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff), ~0ULL },
	{ "mov qword [rax],0x7fffffff", X64, B(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0x7f), 0x7FFFFFFF },
	{ "mov eax,[rax]: not a store", X64, B(0x8b, 0x00), 0 },
	{ "movzx eax,byte [rax]: not a store", X64, B(0x0f, 0xb6, 0x00), 0 },
};

TEST(store_value)
{
	u64 gprs[GPR_COUNT];
	int bad = 0;
	for (int g = 0; g < GPR_COUNT; g++)
		gprs[g] = (u64)0x1020304050607080ULL + (u64)g * (u64)0x0101010101010101ULL;
	for (size_t i = 0; i < ARRAY_SIZE(store_cases); i++) {
		const struct store_case *c = &store_cases[i];
		struct insn d;
		if (x86_decode(c->bytes, c->n, c->mode, &d) != DECODE_OK) {
			printf("  %s: does not decode\n", c->name);
			bad++;
			continue;
		}
		u64 v = x86_store_value(&d, gprs);
		if (v != c->value) {
			printf("  %s: %#llx, expected %#llx\n", c->name, (unsigned long long)v,
			       (unsigned long long)c->value);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
}

/* Random byte strings, biased towards prefixes, the accepted opcodes and
 * memory ModR/M forms.  Properties: no reads beyond n (ASan), a valid
 * decode fits in n and 15 bytes, decodes the same from exactly its own
 * bytes and is truncated one byte short, fifteen bytes are never
 * "truncated", and adding bytes changes no other result. */
static u64 rng_state = 0x9E3779B97F4A7C15ULL;

static u64 rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static const u8 interesting[] = {
	0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x40, 0x41, 0x44,
	0x48, 0x4c, 0x4f, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xa0, 0xa1, 0xa2, 0xa3, 0x63,
	0x0f, 0xb6, 0xb7, 0xbe, 0xbf, 0x04, 0x05, 0x24, 0x25, 0x44, 0x84, 0xc0,
};

TEST(decode_random_properties)
{
	int ok = 0;
	for (int iter = 0; iter < 300000; iter++) {
		u8 buf[16];
		for (size_t i = 0; i < sizeof(buf); i++) {
			u64 x = rng();
			buf[i] = x & 1 ? interesting[(x >> 8) % sizeof(interesting)] : (u8)(x >> 16);
		}
		enum x86_cpu_mode mode = rng() & 1 ? X86_MODE_64 : X86_MODE_32;
		size_t n = rng() % 17;
		struct insn d, d2;
		int r = decode_exact(buf, n, mode, &d);
		CHECK(r == DECODE_OK || r == DECODE_TRUNCATED || r == DECODE_UNSUPPORTED ||
		      r == DECODE_INVALID);
		CHECK(!(r == DECODE_TRUNCATED && n >= X86_MAX_INSN_LEN));
		if (r != DECODE_TRUNCATED && n < 16) {
			int r2 = decode_exact(buf, 16, mode, &d2);
			CHECK_EQ(r2, r);
		}
		if (r != DECODE_OK)
			continue;
		ok++;
		CHECK(d.len >= 2 && d.len <= n && d.len <= X86_MAX_INSN_LEN);
		CHECK(d.mem_size == 1 || d.mem_size == 2 || d.mem_size == 4 || d.mem_size == 8);
		CHECK(d.reg_size >= d.mem_size || d.kind == INSN_LOAD_SX || d.kind == INSN_LOAD_ZX);
		CHECK(d.reg < GPR_COUNT);
		CHECK(!d.reg_high8 || (d.reg < 4 && d.reg_size == 1));
		CHECK(d.base == X86_REG_NONE || d.base < GPR_COUNT);
		CHECK(d.index == X86_REG_NONE || d.index < GPR_COUNT);
		CHECK(d.index != GPR_RSP || mode == X86_MODE_64);
		CHECK((d.index == X86_REG_NONE) == (d.scale == 0));
		CHECK(!d.rip_relative || mode == X86_MODE_64);
		CHECK_EQ(decode_exact(buf, d.len, mode, &d2), DECODE_OK);
		CHECK(insn_equal(&d, &d2));
		CHECK_EQ(decode_exact(buf, d.len - 1u, mode, &d2), DECODE_TRUNCATED);
	}
	CHECK(ok > 1000);
}

int main(void)
{
	RUN(decode_table);
	RUN(decode_table_trailing_bytes);
	RUN(decode_truncated_every_length);
	RUN(decode_error_leaves_output);
	RUN(decode_strerror);
	RUN(apply_load);
	RUN(apply_load_ignores_stores);
	RUN(store_value);
	RUN(decode_random_properties);
	return CHECK_SUMMARY();
}
