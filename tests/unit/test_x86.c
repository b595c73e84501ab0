/* Pure x86 rules ferry applies for its guest (x86/cpu.h). */
#include "check.h"
#include "x86/cpu.h"

#define ALL (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_BNDREGS | XCR0_BNDCSR | XCR0_AVX512 | XCR0_AMX)

/* XSETBV's rules: a value the CPU refuses would #GP inside ferry (VMX
 * performs the guest's XSETBV itself), so each must be refused first. */
TEST(xcr0_rules)
{
	CHECK(xcr0_valid(XCR0_X87, ALL));
	CHECK(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX, ALL));
	CHECK(!xcr0_valid(XCR0_SSE, ALL));                            /* no x87 */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_AVX, ALL));                 /* AVX without SSE */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_BNDREGS, ALL));             /* half of MPX */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX | BIT(5), ALL)); /* part of AVX-512 */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX512, ALL));   /* AVX-512 without AVX */
	CHECK(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512, ALL));
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | BIT(17), ALL));       /* XTILECFG without XTILEDATA */
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | BIT(18), ALL));       /* XTILEDATA without XTILECFG */
	CHECK(xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AMX, ALL));
	CHECK(!xcr0_valid(XCR0_X87 | XCR0_SSE | XCR0_AVX, XCR0_X87 | XCR0_SSE)); /* unsupported */
}

int main(void)
{
	RUN(xcr0_rules);
	return CHECK_SUMMARY();
}
