/* HKDF-SHA-256, RFC 5869 (lib/hkdf.h), on lib/sha256.c's HMAC. */
#include "hkdf.h"
#include "string.h"

void secure_wipe(void *p, size_t n)
{
	volatile u8 *v = p;
	while (n--)
		*v++ = 0;
}

void hkdf_extract(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len, u8 prk[HKDF_PRK_SIZE])
{
	static const u8 zeros[SHA256_DIGEST_SIZE];
	/* Section 2.2: a salt not provided is HashLen zero bytes. */
	if (!salt || !salt_len) {
		salt = zeros;
		salt_len = sizeof(zeros);
	}
	hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
}

int hkdf_expand_ctx(const struct hmac_sha256_ctx *prk, const void *info, size_t info_len, u8 *out, size_t out_len)
{
	u8 t[SHA256_DIGEST_SIZE];
	size_t done = 0;

	if (out_len > HKDF_MAX_OUT)
		return -E_INVAL;
	for (u8 i = 1; done < out_len; i++) {
		struct hmac_sha256_ctx c = *prk;
		if (i > 1)
			hmac_sha256_update(&c, t, sizeof(t));
		if (info_len)
			hmac_sha256_update(&c, info, info_len);
		hmac_sha256_update(&c, &i, 1);
		hmac_sha256_final(&c, t);
		size_t n = MIN(out_len - done, sizeof(t));
		memcpy(out + done, t, n);
		done += n;
	}
	secure_wipe(t, sizeof(t));
	return 0;
}

int hkdf_expand(const u8 *prk, size_t prk_len, const void *info, size_t info_len, u8 *out, size_t out_len)
{
	struct hmac_sha256_ctx c;
	hmac_sha256_init(&c, prk, prk_len);
	int rc = hkdf_expand_ctx(&c, info, info_len, out, out_len);
	secure_wipe(&c, sizeof(c));
	return rc;
}

int hkdf(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len, const void *info, size_t info_len,
	 u8 *out, size_t out_len)
{
	u8 prk[HKDF_PRK_SIZE];
	hkdf_extract(salt, salt_len, ikm, ikm_len, prk);
	int rc = hkdf_expand(prk, sizeof(prk), info, info_len, out, out_len);
	secure_wipe(prk, sizeof(prk));
	return rc;
}
