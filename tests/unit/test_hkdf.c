/* HKDF-SHA-256 (lib/hkdf.c) against RFC 5869 appendix A, test cases 1-3:
 * the PRK of Extract and the OKM of Expand, whole and in pieces. */
#include <stdlib.h>
#include "check.h"
#include "lib/hkdf.h"

static size_t unhex(const char *s, u8 *out)
{
	size_t n = strlen(s) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (u8)v;
	}
	return n;
}

static u8 *seq(u8 *buf, unsigned from, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		buf[i] = (u8)(from + i);
	return buf;
}

static bool same(const u8 *got, const char *hex)
{
	u8 want[128];
	size_t n = unhex(hex, want);
	return !memcmp(got, want, n);
}

static void vector(const u8 *ikm, size_t il, const u8 *salt, size_t sl, const u8 *info, size_t nl, size_t L,
		   const char *prk_hex, const char *okm_hex)
{
	u8 prk[32], okm[128], okm2[128];
	hkdf_extract(salt, sl, ikm, il, prk);
	CHECK(same(prk, prk_hex));
	CHECK_EQ(hkdf_expand(prk, 32, info, nl, okm, L), 0);
	CHECK(same(okm, okm_hex));
	memset(okm2, 0, sizeof(okm2));
	CHECK_EQ(hkdf(salt, sl, ikm, il, info, nl, okm2, L), 0);
	CHECK(!memcmp(okm, okm2, L));
	/* A shorter output is a prefix of the longer one. */
	memset(okm2, 0, sizeof(okm2));
	CHECK_EQ(hkdf(salt, sl, ikm, il, info, nl, okm2, 33), 0);
	CHECK(!memcmp(okm, okm2, 33) && okm2[33] == 0);
}

TEST(rfc5869_case_1)
{
	u8 ikm[22], salt[13], info[10];
	memset(ikm, 0x0b, sizeof(ikm));
	vector(ikm, 22, seq(salt, 0, 13), 13, seq(info, 0xf0, 10), 10, 42,
	       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(rfc5869_case_2_long_inputs)
{
	u8 ikm[80], salt[80], info[80];
	vector(seq(ikm, 0, 80), 80, seq(salt, 0x60, 80), 80, seq(info, 0xb0, 80), 80, 82,
	       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	       "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

TEST(rfc5869_case_3_no_salt_no_info)
{
	u8 ikm[22];
	memset(ikm, 0x0b, sizeof(ikm));
	vector(ikm, 22, NULL, 0, NULL, 0, 42, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
	/* An empty salt is the same as 32 zero bytes (section 2.2). */
	u8 zeros[32] = { 0 }, a[42], b[42];
	CHECK_EQ(hkdf(zeros, 32, ikm, 22, NULL, 0, a, 42), 0);
	CHECK_EQ(hkdf(NULL, 0, ikm, 22, NULL, 0, b, 42), 0);
	CHECK(!memcmp(a, b, 42));
}

TEST(expand_limits)
{
	u8 prk[32] = { 1 };
	u8 *out = malloc(HKDF_MAX_OUT + 1);
	CHECK_EQ(hkdf_expand(prk, 32, "x", 1, out, HKDF_MAX_OUT + 1), -E_INVAL);
	CHECK_EQ(hkdf_expand(prk, 32, "x", 1, out, HKDF_MAX_OUT), 0);
	/* the precomputed-pads form gives the same bytes */
	struct hmac_sha256_ctx c;
	u8 a[100], b[100];
	hmac_sha256_init(&c, prk, 32);
	CHECK_EQ(hkdf_expand_ctx(&c, "info", 4, a, 100), 0);
	CHECK_EQ(hkdf_expand(prk, 32, "info", 4, b, 100), 0);
	CHECK(!memcmp(a, b, 100));
	free(out);
	u8 w[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	secure_wipe(w, sizeof(w));
	CHECK(!memcmp(w, (u8[8]){ 0 }, 8));
}

int main(void)
{
	RUN(rfc5869_case_1);
	RUN(rfc5869_case_2_long_inputs);
	RUN(rfc5869_case_3_no_salt_no_info);
	RUN(expand_limits);
	return CHECK_SUMMARY();
}
