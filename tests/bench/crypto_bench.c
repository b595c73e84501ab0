/* Cost per byte of the frame protection: today's HMAC-SHA-256 against
 * AEAD_CHACHA20_POLY1305, side by side in one run.
 *
 * This driver is a host program; the code it measures is lib/sha256.c,
 * lib/chacha20.c, lib/poly1305.c, lib/aead.c and lib/string.c compiled
 * with ferry's own flags (-O2 -ffreestanding -mno-sse ..., the Makefile's
 * KCFLAGS), so the figures are those of ferry's code.  Run natively it
 * measures the host CPU; run under qemu-x86_64 (qemu-user) it measures
 * the same instructions through TCG, QEMU's translator.
 *
 * A frame is modelled as net/proto.c protects it: a 54-byte header
 * (Ethernet + ferry header) and the body.  HMAC: a copy of the keyed
 * context, then header and body, then the final (as mac_of does).  AEAD:
 * the header as additional data, the body encrypted in place.  memcpy:
 * the body copied once (what a frame copied between buffers costs).  Rates
 * count body bytes.
 *
 * Then the whole frame path of net/proto.c (built the same way) for a DATA
 * frame of each size ferry sends, 1514 and 9014 bytes: "seal" is net_encode
 * as the server seals a chunk read from its disk, "open" net_decode_keep
 * and net_open_* as the client's seg_open opens it into the guest's 4 KiB pages
 * (a chunk of a request that began on a page boundary, so most chunks
 * cross one or two pages).  Against aead_seal/aead_open of the same
 * bytes, this is what the protocol adds per frame.  Rates count data bytes.
 *
 *   crypto_bench [--ms N]   prints one "crypto:" line per body size and one
 *                           "frame:" line per frame size; each op runs about
 *                           N ms in all (default 500) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/aead.h"
#include "lib/sha256.h"
#include "net/proto.h"

#define HDR_LEN 54
#define ROUNDS 10
static const size_t sizes[] = { 1428, 8948 };

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static unsigned char frame[HDR_LEN + 9000], tag[32];
static unsigned char sealed[9000], sealed_tag[AEAD_TAG_LEN], opened[9000];
static unsigned char key[AEAD_KEY_LEN], nonce[AEAD_NONCE_LEN], sealed_nonce[AEAD_NONCE_LEN];
static struct hmac_sha256_ctx hmac_base;
static volatile unsigned sink;

enum op { OP_HMAC, OP_SEAL, OP_OPEN, OP_COPY, OP_FRAME_SEAL, OP_FRAME_OPEN, OP_COUNT };

/* ---- The frame path ---------------------------------------------------- */

#define REQ_BYTES (128 * 1024) /* a request of 128 KiB, its chunks in turn */
static unsigned char disk[REQ_BYTES], pages[REQ_BYTES], wire[NET_FRAME_MAX], rx[NET_FRAME_MAX];
static struct net_key srv_key, cli_key;
static const unsigned char cli_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 1 }, srv_mac[ETH_ALEN] = { 2, 0, 0, 0, 0, 2 };
static u64 counter;
static unsigned chunk;
static int wire_len;

static void data_msg(struct net_msg *m, size_t csize, unsigned i)
{
	memset(m, 0, sizeof(*m));
	memcpy(m->dst, cli_mac, ETH_ALEN);
	memcpy(m->src, srv_mac, ETH_ALEN);
	m->type = NET_T_DATA;
	m->src_sess = 1;
	m->dst_sess = 2;
	m->counter = ++counter;
	m->tag = 7;
	m->b.data.chunk = (u16)i;
	m->b.data.count = REQ_BYTES / 512;
	m->b.data.lba = 1000;
	m->data = disk + (size_t)i * csize;
	m->data_len = (u32)(REQ_BYTES - (size_t)i * csize < csize ? REQ_BYTES - (size_t)i * csize : csize);
}

static void frame_seal(size_t csize)
{
	struct net_msg m;
	data_msg(&m, csize, chunk);
	chunk = (chunk + 1) % (unsigned)(REQ_BYTES / csize);
	if (net_encode(wire, &srv_key, &m) < 0) {
		fprintf(stderr, "crypto_bench: net_encode refused a DATA\n");
		exit(1);
	}
}

/* One sealed frame per chunk would be the real thing; the client opens
 * the same one (a fresh copy each time, as decoding changes it) at the
 * place of chunk `chunk`, so the pages it crosses vary as they do. */
static void frame_open(size_t csize)
{
	struct net_msg m;
	memcpy(rx, wire, (size_t)wire_len);
	if (net_decode_keep(rx, (size_t)wire_len, &cli_key, cli_mac, &m) != NET_OK) {
		fprintf(stderr, "crypto_bench: net_decode_keep refused its own DATA\n");
		exit(1);
	}
	size_t at = (size_t)chunk * csize, done = 0;
	struct net_opener o;
	chunk = (chunk + 1) % (unsigned)(REQ_BYTES / csize);
	net_open_begin(&o, &cli_key, &m, 0);
	while (done < m.data_len) {
		size_t room = 4096 - (at + done) % 4096, k = m.data_len - done < room ? m.data_len - done : room;
		net_open_next(&o, pages + at + done, (u32)k);
		done += k;
	}
	net_open_end(&o);
}

static void frame_prepare(size_t csize)
{
	static const unsigned char k[AEAD_KEY_LEN] = { 9 };
	struct net_msg m;
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (unsigned char)(i * 7 + 1);
	net_key_init(&srv_key, k);
	net_key_init(&cli_key, k);
	chunk = 1;
	data_msg(&m, csize, chunk);
	wire_len = net_encode(wire, &srv_key, &m);
	if (wire_len < 0) {
		fprintf(stderr, "crypto_bench: net_encode refused a DATA\n");
		exit(1);
	}
}

static void run_once(enum op op, size_t n)
{
	switch (op) {
	case OP_HMAC: {
		struct hmac_sha256_ctx c = hmac_base;
		hmac_sha256_update(&c, frame, HDR_LEN + n);
		hmac_sha256_final(&c, tag);
		break;
	}
	case OP_SEAL:
		nonce[0]++;
		aead_seal(key, nonce, frame, HDR_LEN, frame + HDR_LEN, n, frame + HDR_LEN, tag);
		break;
	case OP_OPEN:
		/* Verify and decrypt a frame sealed beforehand. */
		if (aead_open(key, sealed_nonce, frame, HDR_LEN, sealed, n, opened, sealed_tag) != 0) {
			fprintf(stderr, "crypto_bench: aead_open refused its own frame\n");
			exit(1);
		}
		tag[0] = opened[0];
		break;
	case OP_COPY:
		memcpy(opened, sealed, n);
		tag[0] = opened[n - 1];
		break;
	case OP_FRAME_SEAL:
		frame_seal(n);
		break;
	case OP_FRAME_OPEN:
		frame_open(n);
		break;
	case OP_COUNT:
		break;
	}
	sink += tag[0];
}

/* Body bytes per microsecond of one run of about ms milliseconds. */
static double rate(enum op op, size_t n, double ms)
{
	double t0 = now_us(), t;
	unsigned long iters = 0;
	do {
		for (int i = 0; i < 16; i++)
			run_once(op, n);
		iters += 16;
		t = now_us();
	} while (t - t0 < ms * 1000);
	return (double)iters * (double)n / (t - t0);
}

/* The best (least disturbed) of ROUNDS turns of each op in ops: the
 * machine is shared, so the ops are measured in turns and each keeps its
 * best round, and a burst of load elsewhere does not skew their ratios. */
static void best_of(const enum op *ops, int nops, size_t n, double ms, double *best)
{
	for (int i = 0; i < nops; i++)
		best[i] = 0;
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < nops; i++) {
			double v = rate(ops[i], n, ms / ROUNDS);
			if (v > best[i])
				best[i] = v;
		}
}

int main(int argc, char **argv)
{
	static const u32 frames[] = { NET_FRAME_STD, NET_FRAME_MAX };
	double ms = 500;
	if (argc == 3 && strcmp(argv[1], "--ms") == 0)
		ms = atof(argv[2]);
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (unsigned char)(i * 131 + 7);
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(i * 29 + 3);
	hmac_sha256_init(&hmac_base, key, sizeof(key));
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		static const enum op ops[] = { OP_HMAC, OP_SEAL, OP_OPEN, OP_COPY };
		size_t n = sizes[s];
		double b[4];
		aead_seal(key, sealed_nonce, frame, HDR_LEN, frame + HDR_LEN, n, sealed, sealed_tag);
		best_of(ops, 4, n, ms, b);
		printf("crypto: size=%zu hmac_sha256=%.1f aead_seal=%.1f aead_open=%.1f memcpy=%.1f bytes/us"
		       " ns_per_byte hmac=%.2f seal=%.2f seal_vs_hmac=%.2f\n",
		       n, b[0], b[1], b[2], b[3], 1000 / b[0], 1000 / b[1], b[1] / b[0]);
	}
	for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++) {
		static const enum op ops[] = { OP_FRAME_SEAL, OP_FRAME_OPEN, OP_SEAL, OP_OPEN };
		size_t n = net_chunk_size(frames[f]);
		double b[4];
		frame_prepare(n);
		aead_seal(key, sealed_nonce, frame, HDR_LEN, frame + HDR_LEN, n, sealed, sealed_tag);
		best_of(ops, 4, n, ms, b);
		printf("frame: size=%u data=%zu seal=%.1f open=%.1f bytes/us, of aead_seal=%.1f aead_open=%.1f: %.2f %.2f\n",
		       frames[f], n, b[0], b[1], b[2], b[3], b[0] / b[2], b[1] / b[3]);
	}
	return 0;
}
