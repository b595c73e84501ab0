/* SHA-256 against the FIPS 180-4 / NIST example vectors and HMAC-SHA-256
 * against RFC 4231 test cases 1-4, 6 and 7. */
#include "check.h"
#include "lib/sha256.h"

static const char *hex_of(const void *data, size_t len)
{
	static char hex[2 * SHA256_DIGEST_SIZE + 1];
	u8 d[SHA256_DIGEST_SIZE];
	sha256(data, len, d);
	sha256_hex(d, hex);
	return hex;
}

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

TEST(sha256_abc)
{
	CHECK_STR(hex_of("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(sha256_empty)
{
	CHECK_STR(hex_of("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(sha256_448)
{
	CHECK_EQ(strlen(msg448), 56);
	CHECK_STR(hex_of(msg448, 56), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(sha256_896)
{
	CHECK_EQ(strlen(msg896), 112);
	CHECK_STR(hex_of(msg896, 112), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(sha256_million_a)
{
	/* Fed in uneven pieces to exercise the partial-block path. */
	static char chunk[1000];
	struct sha256_ctx c;
	u8 d[32];
	char hex[65];
	size_t done = 0, step = 1;

	memset(chunk, 'a', sizeof(chunk));
	sha256_init(&c);
	while (done < 1000000) {
		size_t n = step;
		if (n > 1000000 - done)
			n = 1000000 - done;
		sha256_update(&c, chunk, n);
		done += n;
		step = step * 7 % 997 + 1;
	}
	sha256_final(&c, d);
	sha256_hex(d, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(sha256_split_everywhere)
{
	/* Every split point of the 896-bit message gives the same digest. */
	u8 want[32], got[32];
	sha256(msg896, 112, want);
	for (size_t i = 0; i <= 112; i++) {
		struct sha256_ctx c;
		sha256_init(&c);
		sha256_update(&c, msg896, i);
		sha256_update(&c, msg896 + i, 112 - i);
		sha256_final(&c, got);
		CHECK(memcmp(want, got, 32) == 0);
	}
}

static const char *hmac_hex(const void *k, size_t kl, const void *m, size_t ml)
{
	static char hex[65];
	u8 d[32];
	hmac_sha256(k, kl, m, ml, d);
	sha256_hex(d, hex);
	return hex;
}

TEST(hmac_rfc4231_1)
{
	u8 key[20];
	memset(key, 0x0b, sizeof(key));
	CHECK_STR(hmac_hex(key, 20, "Hi There", 8),
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(hmac_rfc4231_2)
{
	const char *m = "what do ya want for nothing?";
	CHECK_STR(hmac_hex("Jefe", 4, m, strlen(m)),
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(hmac_rfc4231_3)
{
	u8 key[20], msg[50];
	memset(key, 0xaa, sizeof(key));
	memset(msg, 0xdd, sizeof(msg));
	CHECK_STR(hmac_hex(key, 20, msg, 50),
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
}

TEST(hmac_rfc4231_4)
{
	u8 key[25], msg[50];
	for (int i = 0; i < 25; i++)
		key[i] = (u8)(i + 1);
	memset(msg, 0xcd, sizeof(msg));
	CHECK_STR(hmac_hex(key, 25, msg, 50),
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
}

TEST(hmac_rfc4231_6)
{
	u8 key[131];
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	memset(key, 0xaa, sizeof(key));
	CHECK_STR(hmac_hex(key, 131, m, strlen(m)),
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(hmac_rfc4231_7)
{
	u8 key[131];
	const char *m = "This is a test using a larger than block-size key and a larger "
			"than block-size data. The key needs to be hashed before being "
			"used by the HMAC algorithm.";
	memset(key, 0xaa, sizeof(key));
	CHECK_STR(hmac_hex(key, 131, m, strlen(m)),
		  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(hmac_incremental)
{
	/* The incremental interface matches the one-shot one. */
	const char *m = "This is a test using a larger than block-size key";
	u8 a[32], b[32];
	struct hmac_sha256_ctx c;
	hmac_sha256("key", 3, m, strlen(m), a);
	hmac_sha256_init(&c, "key", 3);
	hmac_sha256_update(&c, m, 10);
	hmac_sha256_update(&c, m + 10, strlen(m) - 10);
	hmac_sha256_final(&c, b);
	CHECK(memcmp(a, b, 32) == 0);
}

int main(void)
{
	RUN(sha256_abc);
	RUN(sha256_empty);
	RUN(sha256_448);
	RUN(sha256_896);
	RUN(sha256_million_a);
	RUN(sha256_split_everywhere);
	RUN(hmac_rfc4231_1);
	RUN(hmac_rfc4231_2);
	RUN(hmac_rfc4231_3);
	RUN(hmac_rfc4231_4);
	RUN(hmac_rfc4231_6);
	RUN(hmac_rfc4231_7);
	RUN(hmac_incremental);
	return CHECK_SUMMARY();
}
