/* Per-boot values from the CPU's random number generator and timing. */
#include "entropy.h"
#include "console.h"
#include "lib/sha256.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/io.h"

#define CPUID_1_ECX_RDRAND BIT(30)
#define CPUID_7_EBX_RDSEED BIT(18)
#define HW_WORDS 8   /* 512 bits asked of the generator */
#define HW_TRIES 32  /* each may fail while the generator refills (SDM vol. 1, 7.3.17) */
#define JITTER 64    /* timed port reads */

static bool rdrand64(u64 *v)
{
	u8 ok;
	__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

static bool rdseed64(u64 *v)
{
	u8 ok;
	__asm__ volatile("rdseed %0; setc %1" : "=r"(*v), "=qm"(ok) : : "cc");
	return ok;
}

/* The words the CPU's generator gives, 0 if it has none or keeps failing. */
static unsigned hw_random(u64 *w, unsigned n)
{
	bool seed = cpuid(0, 0).eax >= 7 && (cpuid(7, 0).ebx & CPUID_7_EBX_RDSEED);
	bool rand = cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_RDRAND;
	unsigned got = 0;
	for (unsigned i = 0; i < n; i++)
		for (unsigned t = 0; t < HW_TRIES; t++)
			if ((seed && rdseed64(&w[got])) || (rand && rdrand64(&w[got]))) {
				got++;
				break;
			}
	return got;
}

void entropy_get(const void *ctx, size_t ctx_len, u8 out[32])
{
	static bool warned;
	struct sha256_ctx h;
	sha256_init(&h);
	u64 w[HW_WORDS];
	unsigned got = hw_random(w, HW_WORDS);
	sha256_update(&h, w, got * sizeof(w[0]));
	mem_wipe(w, sizeof(w));
	/* Timing: the TSC now and the cycles each of a series of port reads
	 * takes (an I/O bus access, whose time varies on hardware). */
	u64 t = rdtsc();
	sha256_update(&h, &t, sizeof(t));
	for (unsigned i = 0; i < JITTER; i++) {
		u64 a = rdtsc();
		(void)inb(0x80);
		u32 d = (u32)(rdtsc() - a);
		sha256_update(&h, &d, sizeof(d));
	}
	sha256_update(&h, ctx, ctx_len);
	sha256_final(&h, out);
	if (got < HW_WORDS && !warned) {
		warned = true;
		log_warn("entropy: %s; this boot's session values rest on timing, which a machine that repeats its "
			 "boot exactly (an emulator) repeats too (docs/protocol.md)",
			 got ? "the CPU's random number generator kept failing" : "this CPU has no RDRAND or RDSEED");
	}
}
