/* Credentials and handshake secrets of the ferry block protocol
 * (net/keys.h, docs/protocol.md "Keys"). */
#include "keys.h"
#include "lib/hkdf.h"
#include "lib/string.h"

static const char client_key_salt[] = "ferry client key";

void net_master_init(struct net_master *mk, const void *master, size_t len)
{
	u8 prk[HKDF_PRK_SIZE];
	hkdf_extract(client_key_salt, sizeof(client_key_salt) - 1, master, len, prk);
	hmac_sha256_init(&mk->prk, prk, sizeof(prk));
	secure_wipe(prk, sizeof(prk));
}

void net_master_wipe(struct net_master *mk)
{
	secure_wipe(mk, sizeof(*mk));
}

void net_client_key(const struct net_master *mk, const char *name, size_t len, u8 out[NET_CLIENT_KEY_LEN])
{
	hkdf_expand_ctx(&mk->prk, name, len, out, NET_CLIENT_KEY_LEN);
}

static void put64(u8 *p, u64 v) { memcpy(p, &v, 8); }

/* HKDF(K_c, no salt, label | a | b) as a frame key; b only when two. */
static void handshake_key(const u8 kc[NET_CLIENT_KEY_LEN], const char *label, size_t llen, u64 a, u64 b,
			  bool two, struct net_key *out)
{
	u8 info[16 + 16], key[AEAD_KEY_LEN];
	memcpy(info, label, llen);
	put64(info + llen, a);
	put64(info + llen + 8, b);
	hkdf(NULL, 0, kc, NET_CLIENT_KEY_LEN, info, llen + (two ? 16 : 8), key, sizeof(key));
	net_key_init(out, key);
	secure_wipe(key, sizeof(key));
}

void net_hello_key(const u8 kc[NET_CLIENT_KEY_LEN], u64 csess, struct net_key *out)
{
	handshake_key(kc, "ferry v3 hello", 14, csess, 0, false, out);
}

void net_cookie_key(const u8 kc[NET_CLIENT_KEY_LEN], u64 ssess, u64 csess, struct net_key *out)
{
	handshake_key(kc, "ferry v3 cookie", 15, ssess, csess, true, out);
}

void net_session_keys(const u8 kc[NET_CLIENT_KEY_LEN], const struct net_binding *b, struct net_key *c2s,
		      struct net_key *s2c)
{
	u8 salt[2 * NET_NONCE_LEN], prk[HKDF_PRK_SIZE], key[32];
	/* "ferry v3 c2s" | client MAC | server MAC | session | ts | dev */
	u8 info[12 + 2 * ETH_ALEN + 8 + 8 + 2];
	memcpy(salt, b->nc, NET_NONCE_LEN);
	memcpy(salt + NET_NONCE_LEN, b->ns, NET_NONCE_LEN);
	hkdf_extract(salt, sizeof(salt), kc, NET_CLIENT_KEY_LEN, prk);
	memcpy(info + 12, b->cmac, ETH_ALEN);
	memcpy(info + 12 + ETH_ALEN, b->smac, ETH_ALEN);
	put64(info + 24, b->csess);
	put64(info + 32, b->ts);
	memcpy(info + 40, &b->dev, 2);
	memcpy(info, "ferry v3 c2s", 12);
	hkdf_expand(prk, sizeof(prk), info, sizeof(info), key, sizeof(key));
	net_key_init(c2s, key);
	memcpy(info, "ferry v3 s2c", 12);
	hkdf_expand(prk, sizeof(prk), info, sizeof(info), key, sizeof(key));
	net_key_init(s2c, key);
	secure_wipe(prk, sizeof(prk));
	secure_wipe(key, sizeof(key));
}

void net_cookie_of(const struct hmac_sha256_ctx *secret, const struct net_binding *b, const char *name_field,
		   u8 out[NET_COOKIE_LEN])
{
	struct hmac_sha256_ctx c = *secret;
	u8 full[SHA256_DIGEST_SIZE], v[8];
	hmac_sha256_update(&c, "ferry v3 cookie", 15);
	hmac_sha256_update(&c, b->cmac, ETH_ALEN);
	put64(v, b->csess);
	hmac_sha256_update(&c, v, 8);
	hmac_sha256_update(&c, name_field, NET_NAME_MAX);
	hmac_sha256_update(&c, b->nc, NET_NONCE_LEN);
	hmac_sha256_update(&c, b->ns, NET_NONCE_LEN);
	put64(v, b->ts);
	hmac_sha256_update(&c, v, 8);
	hmac_sha256_update(&c, &b->dev, 2);
	hmac_sha256_final(&c, full);
	memcpy(out, full, NET_COOKIE_LEN);
}

void net_nonce(const struct hmac_sha256_ctx *k, u64 a, u64 b, u8 out[NET_NONCE_LEN])
{
	struct hmac_sha256_ctx c = *k;
	u8 full[SHA256_DIGEST_SIZE], v[16];
	put64(v, a);
	put64(v + 8, b);
	hmac_sha256_update(&c, "ferry v3 nonce", 14);
	hmac_sha256_update(&c, v, sizeof(v));
	hmac_sha256_final(&c, full);
	memcpy(out, full, NET_NONCE_LEN);
}

bool net_equal(const u8 *a, const u8 *b, size_t n)
{
	u8 diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}
