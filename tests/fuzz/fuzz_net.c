/* Fuzzes the protocol's two state machines (net/client.c, net/server.c,
 * behind net/link.h) against each other: a real client and a real server
 * on a simulated wire the input controls, with the v2 handshake (HELLO,
 * COOKIE, BIND), reads, writes, flushes, identifies and client reboots.
 * Every frame is built by the roles themselves or through net/proto.h's
 * API (net_encode), so the harness survives any change of the frames'
 * protection.
 *
 * Input: a list of operations (struct op below), then, as the roles send,
 * one fate byte per frame (deliver, drop, duplicate, delay, flip a bit,
 * keep a copy to replay later, inject a forgery before it: a message of
 * the input's fields sealed under a key neither end holds, raw bytes, or a
 * frame kept earlier).
 *
 * Oracles:
 *   - a write is applied at most once: each write's sectors carry a stamp
 *     (its serial and sector), and the disk sees each stamp at most once;
 *   - no write is applied after a newer write to the same sector was
 *     acknowledged;
 *   - only authentic replies are accepted: a read that succeeds returns
 *     exactly the disk's bytes, and the device the client sees is the
 *     server's;
 *   - the key (the master key, the client's key) is in no log line, raw or
 *     in hex. */
#include <string.h>
#include "fuzz.h"
#include "net/client.h"
#include "net/server.h"
#include "net/keys.h"
#include "lib/string.h"
#include "platform/console.h"

#define SECTORS 256
#define SS 512
#define MAX_SECT 64
#define QCAP 256
#define STEP_US 500
#define MAX_OPS 48
#define KEEP 16

static const char MASTER[] = "the master key for fuzzing......";
static const char FORGER[] = "a key that neither end holds....";
static const char NAME[] = "fuzz-client";
static const u8 SMAC[ETH_ALEN] = { 0x02, 0, 0, 0, 0xAA, 1 };
static const u8 CMAC[ETH_ALEN] = { 0x02, 0, 0, 0, 0xCC, 1 };

/* ---- The wire -------------------------------------------------------------- */

struct pkt {
	u64 at;
	u32 len;
	u8 buf[NET_FRAME_MAX];
};
struct queue {
	struct pkt p[QCAP];
	unsigned n;
};

static struct {
	u64 now;
	struct fuzz_in in;
	struct queue to_srv, to_cli;
	struct pkt kept[KEEP];
	unsigned nkept;
	struct net_key forger;
	u32 cli_frame, srv_frame; /* each end's largest frame: 1514 or 9014 */
} W;

static struct net_server srv;
static struct net_client cli;
static u8 *srvbuf;
static u8 kc[NET_CLIENT_KEY_LEN];

static void push(struct queue *q, const void *frame, size_t len, u64 at)
{
	if (q->n == QCAP || len > NET_FRAME_MAX)
		return;
	struct pkt *p = &q->p[q->n++];
	p->at = at;
	p->len = (u32)len;
	memcpy(p->buf, frame, len);
}

/* The earliest frame due (ties: the first queued). */
static bool pop(struct queue *q, void *buf, size_t cap, size_t *len)
{
	int best = -1;
	for (unsigned i = 0; i < q->n; i++)
		if (q->p[i].at <= W.now && (best < 0 || q->p[i].at < q->p[best].at))
			best = (int)i;
	if (best < 0)
		return false;
	struct pkt *p = &q->p[best];
	fuzz_assert(p->len <= cap);
	memcpy(buf, p->buf, p->len);
	*len = p->len;
	memmove(p, p + 1, (q->n - (unsigned)best - 1) * sizeof(*p));
	q->n--;
	return true;
}

/* A forgery for q's receiver: a message from the input sealed under the
 * forger's key, addressed as the real peer would address it. */
static void forge(struct queue *q, bool to_client)
{
	static u8 data[NET_CHUNK_MAX];
	struct net_msg m = { 0 };
	m.type = (u8)(1 + fz_u8(&W.in) % NET_T_MAX);
	m.flags = fz_u8(&W.in) & 3;
	memcpy(m.dst, to_client ? CMAC : SMAC, ETH_ALEN);
	memcpy(m.src, to_client ? SMAC : CMAC, ETH_ALEN);
	m.src_sess = to_client ? cli.ticket : cli.cfg.session;
	m.dst_sess = to_client ? cli.cfg.session : cli.ticket;
	m.counter = 1 + fz_u16(&W.in) + (to_client ? cli.win.top : 0);
	m.tag = cli.next_tag - fz_u8(&W.in) % 3;
	fz_fill(&W.in, &m.b, sizeof(m.b));
	if (m.type == NET_T_DATA || m.type == NET_T_WRITE) {
		m.data_len = 1 + fz_u16(&W.in) % NET_CHUNK_MAX;
		memset(data, 0xEE, m.data_len);
		m.data = data;
	}
	u8 f[NET_FRAME_MAX];
	struct net_key k = W.forger; /* any counter: the forger keeps no rule */
	k.sent = 0;
	int n = net_encode(f, &k, &m);
	if (n > 0)
		push(q, f, (size_t)n, W.now);
}

/* What happens to one frame, and what comes with it. */
static void fate(struct queue *q, const u8 *frame, size_t len, bool to_client)
{
	u8 f = W.in.n ? fz_u8(&W.in) : 0;
	u64 at = W.now + 50;
	switch (f >> 5) {
	case 0:
	case 1:
		push(q, frame, len, at);
		return;
	case 2: /* lost */
		return;
	case 3: /* duplicated, the copy later */
		push(q, frame, len, at);
		push(q, frame, len, at + (f & 31) * 1000u);
		return;
	case 4: /* delayed, up to 62 ms */
		push(q, frame, len, at + (f & 31) * 2000u);
		return;
	case 5: { /* a bit flipped */
		u8 c[NET_FRAME_MAX];
		memcpy(c, frame, len);
		u32 bit = fz_u16(&W.in) % (u32)(len * 8);
		c[bit / 8] ^= (u8)(1u << (bit % 8));
		push(q, c, len, at);
		return;
	}
	case 6: /* kept for a replay, and delivered */
		if (W.nkept < KEEP) {
			W.kept[W.nkept].len = (u32)len;
			memcpy(W.kept[W.nkept].buf, frame, len);
			W.kept[W.nkept++].at = to_client;
		}
		push(q, frame, len, at);
		return;
	default: /* something injected first, then the frame */
		if ((f & 3) == 0)
			forge(q, to_client);
		else if ((f & 3) == 1 && W.nkept) {
			struct pkt *k = &W.kept[fz_u8(&W.in) % W.nkept];
			push(k->at ? &W.to_cli : &W.to_srv, k->buf, k->len, W.now);
		} else {
			u8 raw[NET_FRAME_MAX];
			size_t n = 14 + fz_u16(&W.in) % (NET_FRAME_MAX - 13);
			memcpy(raw, frame, len < n ? len : n);
			for (size_t i = 54; i < n && W.in.n; i += 1 + fz_u8(&W.in) % 64)
				raw[i] = fz_u8(&W.in);
			push(q, raw, n, W.now);
		}
		push(q, frame, len, at);
	}
}

static int cli_send(void *ctx, const void *frame, size_t len)
{
	fuzz_assert(len <= NET_FRAME_MAX);
	fate(&W.to_srv, frame, len, false);
	return 0;
}
static int srv_send(void *ctx, const void *frame, size_t len)
{
	fuzz_assert(len <= NET_FRAME_MAX);
	fate(&W.to_cli, frame, len, true);
	return 0;
}

/* The client's receive: the server runs first (it is the other machine);
 * nothing due, and the clock moves on. */
static int cli_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	while (net_server_poll(&srv) == NET_SRV_POLL_BUDGET)
		;
	if (pop(&W.to_cli, buf, cap, len))
		return 0;
	W.now += STEP_US;
	return -E_NOENT;
}
static int srv_recv(void *ctx, void *buf, size_t cap, size_t *len) { return pop(&W.to_srv, buf, cap, len) ? 0 : -E_NOENT; }
static u64 now_us(void *ctx) { return W.now; }

/* ---- The disk and the write oracle ------------------------------------------- */

/* A write's sectors: serial, sector, then a pattern of both. */
#define STAMP_MAGIC 0x5354414D50000000ull
struct op {
	u64 lba;
	u32 count;
	bool acked;
	u64 applied; /* sectors (bit i: lba + i) the disk has seen */
};
static struct op ops[MAX_OPS + 1];
static unsigned nops;

#define DISK_DEPTH 2
#define DISK_ASYNC_MAX 16 /* with submit the disk takes fewer sectors at once: larger requests run alone */
static struct {
	struct blk_dev dev;
	u8 data[SECTORS * SS];
	/* with submit: held requests in submission order */
	struct blk_io *q[DISK_DEPTH];
	unsigned nq;
} disk;

static void stamp(u8 *sector, u64 serial, u64 lba)
{
	u64 a = STAMP_MAGIC | serial;
	memcpy(sector, &a, 8);
	memcpy(sector + 8, &lba, 8);
	for (unsigned i = 16; i < SS; i++)
		sector[i] = (u8)(serial * 131 + lba * 7 + i);
}

static void applied(const u8 *sector, u64 lba)
{
	u64 a, l;
	memcpy(&a, sector, 8);
	memcpy(&l, sector + 8, 8);
	if ((a & ~0xFFFFull) != STAMP_MAGIC || (a & 0xFFFF) == 0 || (a & 0xFFFF) > nops)
		return;
	u64 serial = a & 0xFFFF;
	struct op *o = &ops[serial];
	if (l != lba)
		fuzz_fail("write %llu's sector for lba %llu landed on lba %llu", (unsigned long long)serial,
			  (unsigned long long)l, (unsigned long long)lba);
	u64 bit = 1ull << (lba - o->lba);
	if (o->applied & bit)
		fuzz_fail("write %llu applied twice to lba %llu", (unsigned long long)serial, (unsigned long long)lba);
	o->applied |= bit;
	for (unsigned j = (unsigned)serial + 1; j <= nops; j++)
		if (ops[j].acked && lba >= ops[j].lba && lba < ops[j].lba + ops[j].count)
			fuzz_fail("write %llu applied to lba %llu after newer write %u was acknowledged",
				  (unsigned long long)serial, (unsigned long long)lba, j);
}

static int disk_rw(struct blk_dev *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool wr)
{
	u64 total = 0;
	for (unsigned i = 0; i < nseg; i++)
		total += segs[i].len;
	/* what platform/blk.h promises a back end */
	fuzz_assert(count >= 1 && count <= d->info.max_sectors && lba < SECTORS && count <= SECTORS - lba);
	fuzz_assert(nseg >= 1 && nseg <= BLK_MAX_SEGS && total == (u64)count * SS);
	u8 *p = disk.data + lba * SS;
	u64 off = 0;
	for (unsigned i = 0; i < nseg; i++) {
		u8 *s = (u8 *)(uintptr_t)segs[i].addr;
		if (wr)
			memcpy(p + off, s, segs[i].len);
		else
			memcpy(s, p + off, segs[i].len);
		off += segs[i].len;
	}
	if (wr)
		for (u32 i = 0; i < count; i++)
			applied(p + (u64)i * SS, lba + i);
	return 0;
}
static int disk_read(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return disk_rw(d, l, c, s, n, false); }
static int disk_write(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return disk_rw(d, l, c, s, n, true); }
static int disk_flush(struct blk_dev *d) { return 0; }
static const struct blk_ops disk_ops = { .read = disk_read, .write = disk_write, .flush = disk_flush };

/* The disk with submit (the first byte says): requests finish at polls,
 * as many and in the order the input says, within platform/blk.h's
 * promises (a FLUSH after every write before it, overlapping writes in
 * order) and one more (a read after a write it overlaps, as AHCI). */
static int disk_submit(struct blk_dev *d, struct blk_io *io)
{
	(void)d;
	fuzz_assert(io->done && (io->op == BLK_OP_FLUSH ? !io->count && !io->nseg : io->count && io->nseg));
	if (disk.nq == DISK_DEPTH)
		return -E_NOSPC;
	disk.q[disk.nq++] = io;
	return 0;
}

static bool disk_may_finish(unsigned k)
{
	const struct blk_io *b = disk.q[k];
	for (unsigned j = 0; j < k; j++) {
		const struct blk_io *a = disk.q[j];
		bool overlap = a->op != BLK_OP_FLUSH && b->op != BLK_OP_FLUSH && a->lba < b->lba + b->count &&
			       b->lba < a->lba + a->count;
		if ((b->op == BLK_OP_FLUSH && a->op == BLK_OP_WRITE) ||
		    (overlap && (a->op == BLK_OP_WRITE || b->op == BLK_OP_WRITE)))
			return false;
	}
	return true;
}

static unsigned disk_poll(struct blk_dev *d)
{
	/* out of input: everything, oldest first */
	for (unsigned n = W.in.n ? fz_u8(&W.in) % (DISK_DEPTH + 1) : DISK_DEPTH; n && disk.nq; n--) {
		unsigned k = fz_u8(&W.in) % disk.nq;
		while (!disk_may_finish(k))
			k--; /* the first request always may */
		struct blk_io *io = disk.q[k];
		memmove(&disk.q[k], &disk.q[k + 1], (disk.nq - k - 1) * sizeof(disk.q[0]));
		disk.nq--;
		int rc = io->op == BLK_OP_FLUSH ? 0 : disk_rw(d, io->lba, io->count, io->segs, io->nseg, io->op == BLK_OP_WRITE);
		io->done(io, rc);
	}
	return disk.nq;
}
static const struct blk_ops disk_async_ops = { .read = disk_read, .write = disk_write, .flush = disk_flush,
					       .submit = disk_submit, .poll = disk_poll };

/* ---- The key oracle -------------------------------------------------------- */

static bool has(const char *text, size_t len, const u8 *key, size_t klen)
{
	char hex[2][17];
	for (size_t off = 0; off + 8 <= klen; off++) {
		for (int u = 0; u < 2; u++) {
			const char *d = u ? "0123456789ABCDEF" : "0123456789abcdef";
			for (int i = 0; i < 8; i++) {
				hex[u][2 * i] = d[key[off + (size_t)i] >> 4];
				hex[u][2 * i + 1] = d[key[off + (size_t)i] & 15];
			}
			hex[u][16] = 0;
		}
		for (size_t i = 0; i < len; i++)
			if ((i + 8 <= len && !memcmp(text + i, key + off, 8)) ||
			    (i + 16 <= len && (!memcmp(text + i, hex[0], 16) || !memcmp(text + i, hex[1], 16))))
				return true;
	}
	return false;
}

static void on_line(struct console_sink *s, enum log_level level, const char *text, size_t len)
{
	if (has(text, len, (const u8 *)MASTER, sizeof(MASTER) - 1) || has(text, len, kc, sizeof(kc)))
		fuzz_fail("a key in a log line: %.*s", (int)len, text);
}
static struct console_sink sink = { .line = on_line };

/* ---- Set-up and the operations ------------------------------------------- */

static void setup(void)
{
	static bool init;
	if (init)
		return;
	init = true;
	console_register(&sink);
	log_threshold = LOG_DEBUG;
	srvbuf = aligned_alloc(4096, 2 * NET_MAX_REQ_BYTES);
	net_key_init(&W.forger, (const u8 *)FORGER);
	struct net_master mk;
	net_master_init(&mk, MASTER, sizeof(MASTER) - 1);
	net_client_key(&mk, NAME, sizeof(NAME) - 1, kc);
	net_master_wipe(&mk);
	disk.dev.name = "fuzz";
	disk.dev.ops = &disk_ops;
	disk.dev.info = (struct blk_info){ .sectors = SECTORS, .sector_size = SS, .max_sectors = MAX_SECT };
	str_copy(disk.dev.info.model, "FUZZ DISK", sizeof(disk.dev.info.model));
	str_copy(disk.dev.info.serial, "FZ1", sizeof(disk.dev.info.serial));
}

static void client_boot(u64 session)
{
	struct net_client_cfg cfg = { .key = kc, .key_len = sizeof(kc), .name = NAME, .session = session,
				      .rto_us = 2000, .rto_max_us = 16000, .retries = 4, .req_timeout_us = 200000,
				      .dead_time_us = 100000, .max_frame = W.cli_frame };
	memcpy(cfg.mac, CMAC, ETH_ALEN);
	struct net_link link = { NULL, cli_send, cli_recv, now_us };
	fuzz_assert(net_client_init(&cli, &cfg, &link) == 0);
}

static bool discover(void)
{
	if (net_client_discover(&cli, 100000) != 0)
		return false;
	const struct blk_info *i = &net_client_blk(&cli)->info;
	fuzz_assert(i->sectors == SECTORS && i->sector_size == SS && i->max_sectors == NET_MAX_REQ_BYTES / SS);
	fuzz_assert(!strcmp(i->model, "FUZZ DISK") && !strcmp(i->serial, "FZ1"));
	return true;
}

static u8 io[MAX_SECT * SS];

/* Did a write that was not acknowledged touch the disk (so a read may
 * see the old or the new data, and the wire's late frames may still
 * bring it)? Then reads are not compared. */
static bool unsure;

static void do_write(u64 lba, u32 count)
{
	if (nops == MAX_OPS)
		return;
	unsigned serial = ++nops;
	ops[serial] = (struct op){ .lba = lba, .count = count };
	for (u32 i = 0; i < count; i++)
		stamp(io + (u64)i * SS, serial, lba + i);
	struct blk_seg seg = { .addr = (u64)(uintptr_t)io, .len = count * SS };
	int rc = net_client_write(&cli, lba, count, &seg, 1);
	if (rc == 0) {
		ops[serial].acked = true;
		fuzz_assert(ops[serial].applied == (count == 64 ? ~0ull : (1ull << count) - 1));
	} else {
		unsure = true;
	}
}

static void do_read(u64 lba, u32 count)
{
	memset(io, 0xDD, sizeof(io));
	struct blk_seg seg = { .addr = (u64)(uintptr_t)io, .len = count * SS };
	int rc = net_client_read(&cli, lba, count, &seg, 1);
	if (rc == 0 && !unsure && memcmp(io, disk.data + lba * SS, (size_t)count * SS))
		fuzz_fail("read of %u sectors at %llu returned other bytes than the disk's", count,
			  (unsigned long long)lba);
}

/* Several requests in flight at once (net_client_submit): writes and reads
 * of one batch may overlap, and the client must keep their order; each
 * is checked when its callback runs. */
#define BATCH 8
static struct {
	struct blk_io io;
	struct blk_seg seg;
	unsigned serial; /* write: its ops[] entry; read: 0 */
	bool done;
	u8 buf[MAX_SECT * SS];
} batch[BATCH];

static void batch_done(struct blk_io *io, int rc)
{
	unsigned i = (unsigned)(uintptr_t)io->ctx;
	batch[i].done = true;
	if (batch[i].serial) {
		struct op *o = &ops[batch[i].serial];
		if (rc == 0) {
			o->acked = true;
			fuzz_assert(o->applied == (o->count == 64 ? ~0ull : (1ull << o->count) - 1));
		} else {
			unsure = true;
		}
	} else if (rc == 0 && !unsure && memcmp(batch[i].buf, disk.data + io->lba * SS, (size_t)io->count * SS)) {
		/* later overlapping writes wait for this read, so the disk still
		 * holds what it read */
		fuzz_fail("a read in flight of %u sectors at %llu returned other bytes than the disk's", io->count,
			  (unsigned long long)io->lba);
	}
}

static void do_batch(u64 lba, u32 count, u8 shape)
{
	unsigned n = 2 + shape % (BATCH - 1);
	for (unsigned i = 0; i < n; i++) {
		u64 l = (lba + i * 37u * (shape >> 4)) % (SECTORS - count + 1);
		bool write = (shape >> (i % 4)) & 1;
		if (write && nops == MAX_OPS)
			write = false;
		batch[i].serial = 0;
		batch[i].done = false;
		if (write) {
			unsigned serial = ++nops;
			ops[serial] = (struct op){ .lba = l, .count = count };
			for (u32 k = 0; k < count; k++)
				stamp(batch[i].buf + (u64)k * SS, serial, l + k);
			batch[i].serial = serial;
		}
		batch[i].seg = (struct blk_seg){ .addr = (u64)(uintptr_t)batch[i].buf, .len = count * SS };
		batch[i].io = (struct blk_io){ .op = write ? BLK_OP_WRITE : BLK_OP_READ, .lba = l, .count = count,
					      .segs = &batch[i].seg, .nseg = 1, .done = batch_done,
					      .ctx = (void *)(uintptr_t)i };
		if (net_client_submit(&cli, &batch[i].io) < 0) {
			batch[i].done = true;
			if (write)
				ops[batch[i].serial].count = 0; /* never sent: nothing of it may land */
		}
	}
	/* every request ends (done or failed) within the client's bounds */
	for (u64 end = W.now + 60000000ull; net_client_poll(&cli) && W.now < end;)
		;
	for (unsigned i = 0; i < n; i++)
		fuzz_assert(batch[i].done);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	memset(&W.to_srv, 0, sizeof(W.to_srv.n));
	W.to_srv.n = W.to_cli.n = 0;
	W.nkept = 0;
	W.now = 1000000;
	nops = 0;
	unsure = false;
	for (unsigned i = 0; i < sizeof(disk.data); i++)
		disk.data[i] = (u8)(i * 7 + (i >> 9));
	/* the operations: a count, then 4 bytes each */
	struct fuzz_in in = { data, size };
	/* the first byte: the operations' count, which ends take jumbo
	 * frames, and whether the disk has submit */
	u8 first = fz_u8(&in);
	unsigned n = first % 24u;
	W.cli_frame = first / 24u & 1 ? NET_FRAME_MAX : NET_FRAME_STD;
	W.srv_frame = first / 24u & 2 ? NET_FRAME_MAX : NET_FRAME_STD;
	bool async = first / 24u & 4;
	disk.dev.ops = async ? &disk_async_ops : &disk_ops;
	disk.dev.queue_depth = async ? DISK_DEPTH : 0;
	disk.dev.info.max_sectors = async ? DISK_ASYNC_MAX : MAX_SECT;
	disk.nq = 0;
	const u8 *oplist = in.p;
	size_t oplen = in.n < 4u * n ? in.n : 4u * n;
	W.in = (struct fuzz_in){ in.p + oplen, in.n - oplen };

	struct net_server_cfg scfg = { .key = MASTER, .key_len = sizeof(MASTER) - 1, .session = 0x5E55,
				       .dev = &disk.dev, .buf = srvbuf, .buf_size = 2 * NET_MAX_REQ_BYTES,
				       .max_frame = W.srv_frame };
	memcpy(scfg.mac, SMAC, ETH_ALEN);
	struct net_link slink = { NULL, srv_send, srv_recv, now_us };
	fuzz_assert(net_server_init(&srv, &scfg, &slink) == 0);
	u64 session = 0xC11E;
	client_boot(session);
	bool bound = discover();

	for (size_t k = 0; k + 4 <= oplen; k += 4) {
		const u8 *o = oplist + k;
		u64 lba = o[1] % (SECTORS + 8u);
		u32 count = 1 + o[2] % MAX_SECT;
		if (!bound) {
			bound = discover();
			continue;
		}
		switch (o[0] % 8) {
		case 0:
		case 1:
		case 2:
			if (lba + count <= SECTORS)
				do_write(lba, count);
			else
				fuzz_assert(net_client_write(&cli, lba, count, &(struct blk_seg){ (u64)(uintptr_t)io, count * SS }, 1) != 0);
			break;
		case 3:
		case 4:
			if (lba + count <= SECTORS)
				do_read(lba, count);
			break;
		case 5:
			net_client_flush(&cli);
			break;
		case 6:
			if (o[3] & 0x80) { /* several in flight */
				do_batch(lba % SECTORS, count, o[3]);
			} else {
				struct blk_info info;
				if (net_client_identify(&cli, &info) == 0)
					fuzz_assert(info.sectors == SECTORS && info.sector_size == SS);
			}
			break;
		default: /* the client reboots: a new session, frames of the old one still on the wire */
			client_boot(++session);
			bound = discover();
		}
		/* the wire runs on a little between operations */
		for (unsigned t = 0; t < (o[3] & 15); t++) {
			size_t len;
			u8 buf[NET_FRAME_MAX];
			W.now += 1000;
			while (net_server_poll(&srv) == NET_SRV_POLL_BUDGET)
				;
			while (pop(&W.to_cli, buf, sizeof(buf), &len))
				; /* the client is not listening between requests */
		}
	}
	if (getenv("FUZZ_VERBOSE")) {
		unsigned acked = 0;
		for (unsigned i = 1; i <= nops; i++)
			acked += ops[i].acked;
		char st[1024];
		net_stats_format(&srv.stats, st, sizeof(st));
		printf("bound %d, %u writes, %u acknowledged; server: %s\n", bound, nops, acked, st);
		net_stats_format(&cli.stats, st, sizeof(st));
		printf("client: %s\n", st);
	}
	return 0;
}

/* ---- Seeds ------------------------------------------------------------------ */

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	/* clean runs: writes then reads over one range, a reboot, more */
	static const u8 a[] = { 6, 0, 10, 7, 0, 3, 10, 7, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0, 0, 11, 3, 0, 3, 11, 3, 0 };
	emit(a, sizeof(a));
	/* with losses, duplicates, delays and replays of the frames */
	static const u8 b[] = { 4, 0, 20, 40, 5, 3, 20, 40, 3, 7, 0, 0, 1, 0, 20, 40, 5,
				0, 0x40, 0x60, 0x85, 0xC0, 0x00, 0x40, 0xE1, 0, 0x88, 0xC0, 0x61, 0x40, 0xE0, 1, 2, 3, 0xE2, 9, 9 };
	emit(b, sizeof(b));
	/* the same with jumbo frames at both ends (78 = 6 + 3 * 24), and at the client only */
	static u8 c[sizeof(a)];
	memcpy(c, a, sizeof(a));
	c[0] = 78;
	emit(c, sizeof(c));
	static u8 d[sizeof(b)];
	memcpy(d, b, sizeof(b));
	d[0] = 4 + 24;
	emit(d, sizeof(d));
	/* batches of requests in flight (op 6 with bit 7 of its last byte),
	 * overlapping writes and reads, standard and jumbo frames */
	static const u8 e[] = { 5, 0, 10, 7, 0, 6, 10, 20, 0xF5, 6, 3, 64, 0xB3, 3, 10, 7, 0, 6, 0, 33, 0x9E };
	emit(e, sizeof(e));
	static u8 f[sizeof(e)];
	memcpy(f, e, sizeof(e));
	f[0] = 5 + 3 * 24;
	emit(f, sizeof(f));
	/* the lossy run and the batches on a disk with submit (first byte
	 * + 4 * 24) */
	static u8 g[sizeof(b)], h[sizeof(e)];
	memcpy(g, b, sizeof(b));
	g[0] = 4 + 4 * 24;
	emit(g, sizeof(g));
	memcpy(h, e, sizeof(e));
	h[0] = 5 + 4 * 24;
	emit(h, sizeof(h));
}
