/* The ferry block protocol's credentials and handshake secrets
 * (docs/protocol.md, "Keys").
 *
 *   master   the server's key (ferry.cfg key): never on a client
 *   K_c      a client's own key: HKDF-SHA-256(master, salt "ferry client
 *            key", info = the client's name), 32 bytes.  Never used on a
 *            frame itself: the handshake keys derive from it.
 *   K_hello, K_cookie
 *            the handshake keys: HKDF-SHA-256(K_c, no salt, info "ferry v3
 *            hello" | client session) seals HELLO, and HKDF-SHA-256(K_c,
 *            no salt, info "ferry v3 cookie" | server session | client
 *            session) seals COOKIE.  Each sender's boot session is in its
 *            key, so counters starting over at a reboot meet a new key.
 *   K_c2s, K_s2c
 *            a session's keys, one per direction: HKDF-SHA-256(K_c, salt
 *            Nc | Ns, info "ferry v3 c2s" or "ferry v3 s2c" | client MAC |
 *            server MAC | client session | ts | dev), 32 bytes each.  BIND
 *            and everything after it are sealed under them.
 *   cookie   HMAC-SHA-256(the server's per-boot cookie secret, client MAC |
 *            client session | name field | Nc | Ns | ts | dev), 16 bytes:
 *            lets the server check a BIND without having kept any state
 *            for the HELLO before it.
 *
 * Pure functions; the roles own the keys (net/client.c, net/server_bind.c). */
#ifndef FERRY_NET_KEYS_H
#define FERRY_NET_KEYS_H

#include "proto.h"

#define NET_CLIENT_KEY_LEN 32
#define NET_COOKIE_LIFE_US 10000000ull /* a COOKIE must come back as a BIND within this */

/* The master key's HKDF-Extract (PRK) as HMAC pads: each client key is one
 * HMAC under it. */
struct net_master {
	struct hmac_sha256_ctx prk;
};
void net_master_init(struct net_master *mk, const void *master, size_t len);
void net_master_wipe(struct net_master *mk);
/* K_c of the client named name[0 .. len). */
void net_client_key(const struct net_master *mk, const char *name, size_t len, u8 out[NET_CLIENT_KEY_LEN]);

/* What one handshake binds together: both ends, the client's boot
 * session, the device, the cookie's time and both nonces. */
struct net_binding {
	u8 cmac[ETH_ALEN], smac[ETH_ALEN];
	u64 csess;
	u64 ts;
	u16 dev;
	u8 nc[NET_NONCE_LEN], ns[NET_NONCE_LEN];
};

/* The handshake keys of a client boot session (and a server's, for
 * K_cookie). */
void net_hello_key(const u8 kc[NET_CLIENT_KEY_LEN], u64 csess, struct net_key *out);
void net_cookie_key(const u8 kc[NET_CLIENT_KEY_LEN], u64 ssess, u64 csess, struct net_key *out);

/* The session's two keys from K_c and the binding. */
void net_session_keys(const u8 kc[NET_CLIENT_KEY_LEN], const struct net_binding *b, struct net_key *c2s,
		      struct net_key *s2c);

/* The cookie of a binding for the client whose HELLO carried name_field
 * (NET_NAME_MAX bytes, as on the wire). */
void net_cookie_of(const struct hmac_sha256_ctx *secret, const struct net_binding *b, const char *name_field,
		   u8 out[NET_COOKIE_LEN]);

/* An unpredictable, never-repeating nonce: HMAC(k, "ferry v3 nonce" | a | b),
 * 16 bytes, for distinct (a, b). */
void net_nonce(const struct hmac_sha256_ctx *k, u64 a, u64 b, u8 out[NET_NONCE_LEN]);

/* Constant-time comparison of n bytes. */
bool net_equal(const u8 *a, const u8 *b, size_t n);

#endif
