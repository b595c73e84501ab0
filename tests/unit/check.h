/* Minimal host test harness.  Each test binary defines test functions with
 * TEST(name) and lists them in main() with RUN(name).  Every test prints
 * "PASS name" or "FAIL name: where: what", and the binary ends with
 * "N passed, M failed" and exits non-zero when anything failed.
 * tests/run.py adds the per-test lines up. */
#ifndef FERRY_CHECK_H
#define FERRY_CHECK_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

static int check_failed_now;
static int check_passed, check_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_failed_now = 1;                                         \
			return;                                                       \
		}                                                                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);         \
		if (check_a_ != check_b_) {                                             \
			printf("  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
			       __LINE__, #a, check_a_, #b, check_b_);                   \
			check_failed_now = 1;                                           \
			return;                                                         \
		}                                                                       \
	} while (0)

#define CHECK_STR(a, b)                                                                 \
	do {                                                                            \
		const char *check_a_ = (a), *check_b_ = (b);                            \
		if (strcmp(check_a_, check_b_) != 0) {                                  \
			printf("  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,     \
			       __LINE__, #a, check_a_, check_b_);                       \
			check_failed_now = 1;                                           \
			return;                                                         \
		}                                                                       \
	} while (0)

#define RUN(name)                                             \
	do {                                                  \
		check_failed_now = 0;                         \
		name();                                       \
		if (check_failed_now) {                       \
			check_failed++;                       \
			printf("FAIL %s\n", #name);           \
		} else {                                      \
			check_passed++;                       \
			printf("PASS %s\n", #name);           \
		}                                             \
	} while (0)

#define CHECK_SUMMARY()                                                      \
	(printf("%d passed, %d failed\n", check_passed, check_failed),        \
	 check_failed ? 1 : 0)

#endif
