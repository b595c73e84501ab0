/* CPU instructions and architectural registers used by ferry's core.  The
 * CPUID leaves and bits are named in x86/cpuid.h, the MSRs in x86/msr.h. */
#ifndef FERRY_X86_CPU_H
#define FERRY_X86_CPU_H

#include "lib/types.h"
#include "cpuid.h"

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_insn(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
	return r;
}

#ifdef FERRY_HOST_TEST
/* Host tests may set it to show ferry CPUID bits the host lacks
 * (tests/unit/test_exit.c); NULL: the host's own. */
__attribute__((weak)) struct cpuid_regs (*host_test_cpuid)(u32 leaf, u32 subleaf);
static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	return host_test_cpuid ? host_test_cpuid(leaf, subleaf) : cpuid_insn(leaf, subleaf);
}
#else
static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf) { return cpuid_insn(leaf, subleaf); }
#endif

/* The vendor string of CPUID leaf 0 ("AuthenticAMD", "GenuineIntel"). */
static inline void cpu_vendor(char out[13])
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	__builtin_memcpy(out, &r.ebx, 4);
	__builtin_memcpy(out + 4, &r.edx, 4);
	__builtin_memcpy(out + 8, &r.ecx, 4);
	out[12] = 0;
}

/* The CPU's physical-address width, MAXPHYADDR (SDM Vol. 3A, 4.1.4). */
static inline unsigned cpu_phys_addr_bits(void)
{
	if (cpuid(CPUID_LEAF_EXT_MAX, 0).eax < CPUID_LEAF_ADDR_SIZES)
		return CPU_PHYS_ADDR_BITS_DEFAULT;
	return CPUID_ADDR_EAX_PHYS_BITS(cpuid(CPUID_LEAF_ADDR_SIZES, 0).eax);
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#define DEFINE_CR(n)                                                                  \
	static inline u64 read_cr##n(void) { u64 v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
	static inline void write_cr##n(u64 v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR
/* DR6, the debug status: B0-B3 (the breakpoints matched), BD, BS; bit 16
 * (RTM) reads 1 outside a transaction.  SDM Vol. 3B, 17.2.3. */
#define DR6_B0_3 0xFu
#define DR6_BLD BIT(11) /* bus lock (reads 1 unless one struck) */
#define DR6_BD BIT(13)
#define DR6_BS BIT(14)
#define DR6_RTM BIT(16) /* reads 1 unless in a transaction */
#define DR7_GD BIT(13)  /* general detect: the CPU clears it on #DB */
#define DEBUGCTL_BTF BIT(1)
static inline u64 read_dr6(void) { u64 v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }
static inline void write_dr6(u64 v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

/* CR8: the local APIC's task priority (TPR bits 7:4).  Host tests, where
 * it is privileged, see a variable of their own. */
#ifdef FERRY_HOST_TEST
__attribute__((weak)) u64 host_test_cr8;
static inline u64 read_cr8(void) { return host_test_cr8; }
static inline void write_cr8(u64 v) { host_test_cr8 = v; }
#else
static inline u64 read_cr8(void) { u64 v; __asm__ volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void write_cr8(u64 v) { __asm__ volatile("mov %0, %%cr8" ::"r"(v) : "memory"); }
#endif

static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static inline void invlpg(const void *va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

/* Control registers (SDM Vol. 3A, 2.5). */
#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_PG BIT(31)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_PGE BIT(7)
#define CR4_LA57 BIT(12)
#define CR4_VMXE BIT(13)
#define CR4_OSXSAVE BIT(18)

/* XCR0, the extended state XSETBV enables (SDM Vol. 1, 13.3). */
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_BNDREGS BIT(3)
#define XCR0_BNDCSR BIT(4)
#define XCR0_AVX512 (BIT(5) | BIT(6) | BIT(7)) /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_AMX (BIT(17) | BIT(18))           /* XTILECFG, XTILEDATA */

/* Would XSETBV accept v for XCR0 on a CPU supporting `supported` (SDM
 * Vol. 1, 13.3; Vol. 2D, XSETBV)?  x87 always; AVX needs SSE; MPX's two
 * components, AVX-512's three (with AVX) and AMX's two come whole. */
static inline bool xcr0_valid(u64 v, u64 supported)
{
	return (v & XCR0_X87) && !(v & ~supported) && (!(v & XCR0_AVX) || (v & XCR0_SSE)) &&
	       (!(v & XCR0_BNDREGS) == !(v & XCR0_BNDCSR)) &&
	       (!(v & XCR0_AVX512) || ((v & XCR0_AVX512) == XCR0_AVX512 && (v & XCR0_AVX))) &&
	       (!(v & XCR0_AMX) || (v & XCR0_AMX) == XCR0_AMX);
}

#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)

/* Exception vectors (SDM Vol. 3A, 6.3.1). */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14
#define VEC_AC 17

#endif
