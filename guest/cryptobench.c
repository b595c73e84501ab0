/* cryptobench [MS]: the frame protection's cost per byte measured inside
 * a guest, that is on the machine ferry runs on, with ferry's lib/ code
 * and flags (the guest is built with them).  Under QEMU this is TCG with
 * its soft MMU, the way ferry itself runs there; tests/bench/crypto_bench.c
 * measures the same code on the host and under qemu-user.
 *
 * The frame as net/proto.c protects it: a 54-byte header and a body of
 * 1428 or 8948 bytes.  HMAC-SHA-256 over both (a copy of the keyed
 * context, as mac_of does), aead_seal in place with the header as AAD,
 * aead_open of a sealed frame, and memcpy of the body (one pass over the
 * data, what a frame copied between buffers costs).  Measured in turns, ten rounds of MS/10 ms
 * each (default MS 1000), each keeping its best round.  One line per
 * size, in the host benchmark's format:
 *   crypto: size=N hmac_sha256=R aead_seal=R aead_open=R memcpy=R bytes/us
 * First it checks the code it times against RFC 8439's section 2.8.2
 * vector, so a line "crypto: rfc8439 2.8.2 ok" says this freestanding
 * build, in this machine, computes what the RFC says; err auth if not. */
#include "kernel.h"
#include "shell.h"
#include "lib/aead.h"
#include "lib/sha256.h"
#include "lib/string.h"

#define CB_HDR 54
#define CB_ROUNDS 10

static u8 cb_frame[CB_HDR + 8948], cb_sealed[8948], cb_opened[8948];
static u8 cb_key[AEAD_KEY_LEN], cb_nonce[AEAD_NONCE_LEN], cb_sealed_nonce[AEAD_NONCE_LEN];
static u8 cb_tag[SHA256_DIGEST_SIZE], cb_sealed_tag[AEAD_TAG_LEN];
static struct hmac_sha256_ctx cb_hmac;

enum { CB_HMAC, CB_SEAL, CB_OPEN, CB_COPY, CB_OPS };

/* RFC 8439 section 2.8.2: key 80..9f, nonce 07000000 || 4041424344454647,
 * AAD 50515253c0c1c2c3c4c5c6c7, this plaintext, and the tag it gives. */
static const char cb_rfc_pt[] = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
				"for the future, sunscreen would be it.";
static const u8 cb_rfc_aad[12] = { 0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7 };
static const u8 cb_rfc_nonce[12] = { 0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 };
static const u8 cb_rfc_tag[16] = { 0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a,
				   0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06, 0x91 };

static int cb_rfc_check(void)
{
	u8 key[AEAD_KEY_LEN], ct[sizeof(cb_rfc_pt) - 1], tag[AEAD_TAG_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (u8)(0x80 + i);
	aead_seal(key, cb_rfc_nonce, cb_rfc_aad, sizeof(cb_rfc_aad), cb_rfc_pt, sizeof(ct), ct, tag);
	if (aead_tag_differs(tag, cb_rfc_tag, sizeof(tag)))
		return -E_AUTH;
	/* And back: open gives the plaintext, a changed tag gives nothing. */
	if (aead_open(key, cb_rfc_nonce, cb_rfc_aad, sizeof(cb_rfc_aad), ct, sizeof(ct), ct, tag) ||
	    memcmp(ct, cb_rfc_pt, sizeof(ct)))
		return -E_AUTH;
	tag[15] ^= 1;
	if (aead_open(key, cb_rfc_nonce, cb_rfc_aad, sizeof(cb_rfc_aad), ct, sizeof(ct), ct, tag) != -E_AUTH)
		return -E_AUTH;
	return 0;
}

static int cb_once(int op, size_t n)
{
	if (op == CB_HMAC) {
		struct hmac_sha256_ctx c = cb_hmac;
		hmac_sha256_update(&c, cb_frame, CB_HDR + n);
		hmac_sha256_final(&c, cb_tag);
	} else if (op == CB_SEAL) {
		cb_nonce[0]++;
		aead_seal(cb_key, cb_nonce, cb_frame, CB_HDR, cb_frame + CB_HDR, n, cb_frame + CB_HDR, cb_tag);
	} else if (op == CB_COPY) {
		memcpy(cb_opened, cb_sealed, n);
	} else if (aead_open(cb_key, cb_sealed_nonce, cb_frame, CB_HDR, cb_sealed, n, cb_opened, cb_sealed_tag)) {
		return -E_AUTH;
	}
	return 0;
}

/* Body bytes per microsecond, times ten, of a run of `ticks` TSC ticks. */
static int cb_rate(int op, size_t n, u64 ticks, u32 khz, u64 *x10)
{
	u64 start = rdtsc(), now, iters = 0;
	do {
		for (int i = 0; i < 8; i++)
			if (cb_once(op, n))
				return -E_AUTH;
		iters += 8;
		now = rdtsc();
	} while (now - start < ticks);
	/* bytes / (ticks / (khz * 1000)) / 1e6 * 10 */
	*x10 = iters * n * khz / ((now - start) * 100);
	return 0;
}

static int cmd_cryptobench(struct shell *sh, int argc, char **argv)
{
	static const size_t sizes[] = { 1428, 8948 };
	u64 ms = 1000;
	u32 khz, x;
	if (argc > 2 || (argc == 2 && (str_to_u64(argv[1], strlen(argv[1]), &ms) < 0 || !ms || ms > 60000)))
		return shell_usage(sh);
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	if (!khz)
		return -E_NOTSUP;
	int rc = cb_rfc_check();
	if (rc)
		return rc;
	shell_printf(sh, "crypto: rfc8439 2.8.2 ok");
	for (size_t i = 0; i < sizeof(cb_frame); i++)
		cb_frame[i] = (u8)(i * 131 + 7);
	for (size_t i = 0; i < sizeof(cb_key); i++)
		cb_key[i] = (u8)(i * 29 + 3);
	hmac_sha256_init(&cb_hmac, cb_key, sizeof(cb_key));
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		size_t n = sizes[s];
		u64 best[CB_OPS] = { 0 };
		aead_seal(cb_key, cb_sealed_nonce, cb_frame, CB_HDR, cb_frame + CB_HDR, n, cb_sealed, cb_sealed_tag);
		for (int r = 0; r < CB_ROUNDS; r++) {
			for (int op = 0; op < CB_OPS; op++) {
				u64 v;
				if (cb_rate(op, n, ms * khz / CB_ROUNDS, khz, &v))
					return -E_AUTH;
				if (v > best[op])
					best[op] = v;
			}
		}
		shell_printf(sh, "crypto: size=%zu hmac_sha256=%lu.%lu aead_seal=%lu.%lu aead_open=%lu.%lu memcpy=%lu.%lu bytes/us", n,
			     best[CB_HMAC] / 10, best[CB_HMAC] % 10, best[CB_SEAL] / 10, best[CB_SEAL] % 10,
			     best[CB_OPEN] / 10, best[CB_OPEN] % 10, best[CB_COPY] / 10, best[CB_COPY] % 10);
	}
	return 0;
}

const struct shell_cmd crypto_shell_cmds[] = {
	{ "cryptobench", cmd_cryptobench, "cryptobench [MS]" },
};
const size_t crypto_shell_ncmds = ARRAY_SIZE(crypto_shell_cmds);
