/* lib/: formatting, string helpers, error names. */
#include "check.h"
#include "lib/fmt.h"
#include "lib/string.h"

static char buf[128];

#define FMT(expect, ...)                                       \
	do {                                                   \
		int n_ = fmt_snprintf(buf, sizeof(buf), __VA_ARGS__); \
		CHECK_STR(buf, expect);                        \
		CHECK_EQ(n_, (int)strlen(expect));             \
	} while (0)

TEST(fmt_integers)
{
	FMT("0", "%d", 0);
	FMT("-42", "%d", -42);
	FMT("4294967295", "%u", 4294967295u);
	FMT("-9223372036854775808", "%ld", (long)INT64_MIN);
	FMT("18446744073709551615", "%lu", (unsigned long)UINT64_MAX);
	FMT("ff", "%x", 255);
	FMT("FF", "%X", 255);
	FMT("0x1000", "%p", (void *)0x1000);
	FMT("deadbeefcafe", "%llx", 0xdeadbeefcafeull);
	FMT("42", "%zu", (size_t)42);
}

TEST(fmt_width_and_flags)
{
	FMT("   42", "%5d", 42);
	FMT("42   |", "%-5d|", 42);
	FMT("00042", "%05d", 42);
	FMT("-0042", "%05d", -42);
	FMT("0000abcd", "%08x", 0xabcd);
	FMT("  ab", "%4s", "ab");
	FMT("ab  |", "%-4s|", "ab");
	FMT("abc", "%.3s", "abcdef");
	FMT("x", "%c", 'x');
	FMT("100%", "%d%%", 100);
	const char *volatile null_str = NULL;
	FMT("(null)", "%s", null_str);
}

TEST(fmt_truncates_and_reports_length)
{
	char small[5];
	int n = fmt_snprintf(small, sizeof(small), "%s", "abcdefgh");
	CHECK_EQ(n, 8);
	CHECK_STR(small, "abcd");
	n = fmt_snprintf(small, 0, "%d", 12345);
	CHECK_EQ(n, 5);
}

TEST(str_to_u64_parses)
{
	u64 v;
	CHECK_EQ(str_to_u64("123", 3, &v), 0);
	CHECK_EQ(v, 123);
	CHECK_EQ(str_to_u64("0x1F", 4, &v), 0);
	CHECK_EQ(v, 31);
	CHECK_EQ(str_to_u64("18446744073709551615", 20, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(str_to_u64("18446744073709551616", 20, &v), -E_RANGE);
	CHECK_EQ(str_to_u64("12a", 3, &v), -E_INVAL);
	CHECK_EQ(str_to_u64("0x", 2, &v), -E_INVAL);
	CHECK_EQ(str_to_u64("", 0, &v), -E_INVAL);
}

TEST(str_helpers)
{
	char d[4];
	CHECK_EQ(str_copy(d, "hello", sizeof(d)), 5);
	CHECK_STR(d, "hel");
	CHECK_EQ(str_casecmp("Ab.TxT", "aB.txt"), 0);
	CHECK(str_casecmp("a", "b") < 0);
	CHECK_STR(err_name(-E_RANGE), "range");
	CHECK_STR(err_name(999), "unknown");
}

int main(void)
{
	RUN(fmt_integers);
	RUN(fmt_width_and_flags);
	RUN(fmt_truncates_and_reports_length);
	RUN(str_to_u64_parses);
	RUN(str_helpers);
	return CHECK_SUMMARY();
}
