/* The ferry block protocol end to end: clients (net/client.c) and servers
 * (net/server.c) in one process, wired through a simulated Ethernet with a
 * fake clock and a seeded PRNG injecting loss, duplication, reordering and
 * bit corruption, serving RAM disks that count every call.
 *
 * Every frame any side sends is checked on the wire: it must be at most
 * 1514 bytes and open (tag included) under a key its sender holds for
 * that peer (a handshake key, or a session's), and a ledger of every
 * (key, nonce) sealed checks that none seals two frames and that each
 * key's counters rise strictly, retransmissions included.
 *
 * The servers hold KEY as their master key; each client holds the key
 * derived from it for its name (client_start), as tools/ferrykey.py makes
 * it. */
#include <stdlib.h>
#include "check.h"
#include "net/client.h"
#include "net/server.h"
#include "net/keys.h"
#include "lib/string.h"
#include "platform/console.h"

#define MAX_SRV 2
#define MAX_CLI 10
#define QCAP 4096
#define STEP_US 100 /* the clock's step when nothing is in flight */

static const char KEY[] = "the master key for the tests....";
static const char BAD_KEY[] = "not the master key, same length.";

/* ---- The simulated wire --------------------------------------------------- */

struct pkt {
	u64 at, seq;
	u32 len;
	u8 buf[NET_FRAME_MAX];
};

struct queue {
	struct pkt *p;
	unsigned n;
};

struct port {
	unsigned idx;
	bool server;
};

static struct sim {
	u64 now, seq, rng;
	/* impairments: per mille, and microseconds */
	unsigned loss_c2s, loss_s2c, dup, corrupt, latency, jitter;
	bool up[MAX_SRV];
	struct queue to_srv[MAX_SRV], to_cli[MAX_CLI];
	struct port sport[MAX_SRV], cport[MAX_CLI];
	/* what crossed the wire */
	u64 frames, bad_frames, oversize, full_frames, qdrops;
	/* deterministic drops: the next drop_n frames of drop_type (to the
	 * client drop_s2c_to - 1 only, when not 0) */
	u8 drop_s2c_type, drop_c2s_type;
	unsigned drop_s2c_n, drop_c2s_n, drop_s2c_to;
	/* called once from client 0's receive when its timeouts reach
	 * hook_after (another machine acting while client 0 waits) */
	void (*hook)(void);
	u64 hook_after;
	bool capture_c2s, capture_s2c;
	struct queue cap_c2s, cap_s2c;
	bool flood; /* clients receive forged frames whenever nothing else came */
	/* a server restart: server 0 goes down once the disk has seen
	 * down_after_writes writes (0: never), and comes back with
	 * restart_session at restart_at (0: not planned) */
	unsigned down_after_writes;
	u64 restart_at, restart_session, restart_delay;
	u64 replay_at; /* the captured server frames go to client 0 again then */
	u64 drop_tag[4]; /* client frames of these tags are lost (captured when capture_c2s) */
	/* frame sizes: each end's largest (0: the standard), what the link
	 * carries (longer frames vanish, like on a switch of a smaller MTU,
	 * counted in link_drops), and what counts as a full frame */
	u32 cli_frame, srv_frame, link_frame, full_size;
	u64 link_drops, longest;
	/* each receiver's queue holds at most this many frames, in flight
	 * or not yet taken (a receive ring, a socket buffer; 0: QCAP); the
	 * frames that find it full are counted in ring_drops */
	unsigned ring;
	u64 ring_drops;
	/* the longest HELLO sent so far, and COOKIEs longer than it (an
	 * answer larger than the unauthenticated frame it answers) */
	u64 longest_hello, amplified;
	unsigned srv_nbufs; /* request buffers of the next server_start (2 unless a test says) */
	void (*flush_hook)(void); /* called from the RAM disk's flush */
	/* (key, nonce) pairs sealed on the wire since sim_reset, and each
	 * key's last counter */
	u64 sealed, nonce_reuse, ctr_regress, ledger_full;
} S;

/* Both ends' largest frame in the runs that follow (sim_reset takes it):
 * 0 for the standard, NET_FRAME_MAX for jumbo frames. */
static u32 run_frame;

/* ---- The nonce ledger ---------------------------------------------------------- */

#define LEDGER_SLOTS (1u << 18)
#define LEDGER_KEYS 256
static struct sealing {
	u8 key[32];
	u8 nonce[12];
	bool used;
} *ledger;
static struct key_last {
	u8 key[32];
	u64 last;
} key_last[LEDGER_KEYS];
static unsigned nkeys;

static void ledger_reset(void)
{
	if (!ledger)
		ledger = malloc(LEDGER_SLOTS * sizeof(*ledger));
	memset(ledger, 0, LEDGER_SLOTS * sizeof(*ledger));
	nkeys = 0;
	S.sealed = S.nonce_reuse = S.ctr_regress = S.ledger_full = 0;
}

/* Notes that key sealed a frame under nonce (direction | counter). */
static void ledger_note(const u8 key[32], const u8 nonce[12])
{
	u64 h = 0xcbf29ce484222325ull;
	for (unsigned i = 0; i < 32; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	for (unsigned i = 0; i < 12; i++)
		h = (h ^ nonce[i]) * 0x100000001b3ull;
	S.sealed++;
	for (u64 probe = 0; probe < LEDGER_SLOTS; probe++) {
		struct sealing *e = &ledger[(h + probe) & (LEDGER_SLOTS - 1)];
		if (!e->used) {
			e->used = true;
			memcpy(e->key, key, 32);
			memcpy(e->nonce, nonce, 12);
			break;
		}
		if (!memcmp(e->key, key, 32) && !memcmp(e->nonce, nonce, 12)) {
			S.nonce_reuse++;
			return;
		}
		if (probe == LEDGER_SLOTS - 1)
			S.ledger_full++;
	}
	u64 ctr;
	memcpy(&ctr, nonce + 4, 8);
	for (unsigned i = 0; i < nkeys; i++)
		if (!memcmp(key_last[i].key, key, 32)) {
			if (ctr <= key_last[i].last)
				S.ctr_regress++;
			key_last[i].last = ctr;
			return;
		}
	if (nkeys == LEDGER_KEYS) {
		S.ledger_full++;
		return;
	}
	memcpy(key_last[nkeys].key, key, 32);
	key_last[nkeys++].last = ctr;
}

static struct net_server *srv[MAX_SRV];
static const char *srv_clients[MAX_SRV]; /* the next server_start's clients= */
static struct net_client *cli[MAX_CLI];
static u8 *srvbuf[MAX_SRV];

static u64 rnd64(void)
{
	S.rng ^= S.rng >> 12;
	S.rng ^= S.rng << 25;
	S.rng ^= S.rng >> 27;
	return S.rng * 0x2545F4914F6CDD1Dull;
}
static u32 rnd(u32 n) { return n ? (u32)(rnd64() % n) : 0; }
static bool chance(unsigned permille) { return rnd(1000) < permille; }

static void smac(unsigned i, u8 *mac) { memcpy(mac, (u8[]){ 0x02, 0, 0, 0, 0xAA, (u8)i }, 6); }
static void cmac(unsigned i, u8 *mac) { memcpy(mac, (u8[]){ 0x02, 0, 0, 0, 0xCC, (u8)i }, 6); }

static void push(struct queue *q, const u8 *frame, size_t len, u64 at)
{
	if (q->n == QCAP) {
		S.qdrops++;
		return;
	}
	struct pkt *p = &q->p[q->n++];
	p->at = at;
	p->seq = ++S.seq;
	p->len = (u32)len;
	memcpy(p->buf, frame, len);
}

static bool pop(struct queue *q, u64 now, void *buf, size_t cap, size_t *len)
{
	int best = -1;
	for (unsigned i = 0; i < q->n; i++) {
		struct pkt *p = &q->p[i];
		if (p->at <= now && (best < 0 || p->at < q->p[best].at || (p->at == q->p[best].at && p->seq < q->p[best].seq)))
			best = (int)i;
	}
	if (best < 0)
		return false;
	struct pkt *p = &q->p[best];
	if (p->len > cap)
		abort();
	memcpy(buf, p->buf, p->len);
	*len = p->len;
	q->p[best] = q->p[--q->n];
	return true;
}

static void deliver(struct queue *q, const u8 *frame, size_t len, unsigned loss)
{
	if (chance(loss))
		return;
	if (S.ring && q->n >= S.ring) {
		S.ring_drops++;
		return;
	}
	int copies = chance(S.dup) ? 2 : 1;
	for (int c = 0; c < copies; c++) {
		push(q, frame, len, S.now + S.latency + rnd(S.jitter + 1));
		if (chance(S.corrupt) && q->n) {
			struct pkt *p = &q->p[q->n - 1];
			u32 bit = rnd(p->len * 8);
			p->buf[bit / 8] ^= (u8)(1 << (bit % 8));
		}
	}
}

/* Client i's index from its address, or -1. */
static int client_of(const u8 *mac)
{
	for (unsigned i = 0; i < MAX_CLI; i++) {
		u8 m[6];
		cmac(i, m);
		if (!memcmp(mac, m, 6))
			return (int)i;
	}
	return -1;
}

static const u8 *opened_by; /* the key of the last opens() that succeeded */

static bool opens(const void *frame, size_t len, const struct net_key *k)
{
	struct net_msg m;
	u8 copy[NET_FRAME_MAX];
	if (len > sizeof(copy))
		return false;
	memcpy(copy, frame, len); /* net_decode decrypts in place */
	if (net_decode(copy, len, k, NULL, &m) != NET_OK)
		return false;
	static u8 k_copy[32];
	memcpy(k_copy, k->k, 32);
	opened_by = k_copy;
	return true;
}

/* Does the frame verify under a key its sender holds for this exchange?
 * A client: its HELLO key, its session's, its handshake's.  A server: the
 * COOKIE key for its session and the client's, the handshake's (a
 * refusal), or a binding of one of its slots. */
static bool sealed_right(const struct port *pt, const void *frame, size_t len)
{
	int c = pt->server ? client_of(frame) : (int)pt->idx;
	if (c < 0)
		return false;
	const struct net_client *cl = cli[c];
	if (!pt->server)
		return opens(frame, len, &cl->hello_key) || opens(frame, len, &cl->tx) || opens(frame, len, &cl->hs.tx);
	struct net_key ck;
	net_cookie_key(cl->kc, srv[pt->idx]->cfg.session, cl->cfg.session, &ck);
	if (opens(frame, len, &ck))
		return true;
	if (opens(frame, len, &cl->hs.rx))
		return true;
	for (unsigned i = 0; i < NET_SRV_PEERS; i++) {
		const struct net_srv_peer *p = &srv[pt->idx]->peers[i];
		if (p->used && (opens(frame, len, &p->cur.tx_key) || (p->prev.ticket && opens(frame, len, &p->prev.tx_key))))
			return true;
	}
	return false;
}

static int wire_send(void *ctx, const void *frame, size_t len)
{
	struct port *pt = ctx;
	u8 type = len > 15 ? ((const u8 *)frame)[15] : 0;

	S.frames++;
	if (len > NET_FRAME_MAX) {
		S.oversize++;
		return -E_INVAL;
	}
	if (len == S.full_size)
		S.full_frames++;
	S.longest = MAX(S.longest, (u64)len);
	if (type == NET_T_HELLO)
		S.longest_hello = MAX(S.longest_hello, (u64)len);
	if (type == NET_T_COOKIE && len > S.longest_hello)
		S.amplified++;
	if (len > S.link_frame) {
		S.link_drops++;
		return 0; /* gone on the way, as the sender cannot know */
	}
	if (!sealed_right(pt, frame, len)) {
		S.bad_frames++;
	} else {
		u8 nonce[12];
		u32 dir = net_type_dir(type);
		memcpy(nonce, &dir, 4);
		memcpy(nonce + 4, (const u8 *)frame + 38, 8);
		ledger_note(opened_by, nonce);
	}
	if (!pt->server) {
		if (S.capture_c2s)
			push(&S.cap_c2s, frame, len, 0);
		u64 tag = 0;
		if (len >= 54)
			memcpy(&tag, (const u8 *)frame + 46, 8);
		for (unsigned i = 0; tag && i < ARRAY_SIZE(S.drop_tag); i++)
			if (S.drop_tag[i] == tag)
				return 0;
		if (S.drop_c2s_n && type == S.drop_c2s_type) {
			S.drop_c2s_n--;
			return 0;
		}
		/* A hub: every server sees every client frame. */
		for (unsigned i = 0; i < MAX_SRV; i++)
			if (S.up[i])
				deliver(&S.to_srv[i], frame, len, S.loss_c2s);
		return 0;
	}
	if (S.capture_s2c)
		push(&S.cap_s2c, frame, len, 0);
	if (S.drop_s2c_n && type == S.drop_s2c_type && (!S.drop_s2c_to || client_of(frame) == (int)S.drop_s2c_to - 1)) {
		S.drop_s2c_n--;
		return 0;
	}
	for (unsigned i = 0; i < MAX_CLI; i++) {
		u8 mac[6];
		cmac(i, mac);
		if (!memcmp(frame, mac, 6))
			deliver(&S.to_cli[i], frame, len, S.loss_s2c);
	}
	return 0;
}

static int server_start(unsigned i, u64 session, bool ro, const char *key);
#define RD_QUEUE 64
static struct ramdisk {
	struct blk_dev dev;
	u8 *data;
	unsigned reads, writes, flushes, violations;
	int fail;
	/* with submit (run_async): held requests in submission order, each
	 * done when its time comes and nothing it must follow is held */
	struct blk_io *q[RD_QUEUE];
	u64 due[RD_QUEUE];
	unsigned nq, most, submits, out_of_order;
	bool hold; /* nothing finishes while set */
} disk[MAX_SRV];
/* The RAM disks' queue depth in the runs that follow (disk_init takes
 * it): 0, synchronous; else submit and poll. */
static unsigned run_async;
static u64 rd_delay_us;              /* with submit: each request takes this long (0: 50-450 us) */
static unsigned rd_writes_at_flush;  /* disk writes when the last FLUSH finished */

static void replay_into(struct queue *from, struct queue *to);

/* The planned restart of server 0 (S.down_after_writes, S.restart_at)
 * and replay of its frames (S.replay_at). */
static void restart_plan(void)
{
	if (S.replay_at && S.now >= S.replay_at) {
		S.replay_at = 0;
		replay_into(&S.cap_s2c, &S.to_cli[0]);
	}
	if (S.down_after_writes && S.up[0] && disk[0].writes >= S.down_after_writes) {
		S.up[0] = false;
		S.down_after_writes = 0;
		S.restart_at = S.now + S.restart_delay;
	}
	if (S.restart_at && S.now >= S.restart_at) {
		S.restart_at = 0;
		S.drop_s2c_n = S.drop_c2s_n = 0;
		server_start(0, S.restart_session, false, KEY);
	}
}

static void run_servers(void)
{
	restart_plan();
	for (unsigned i = 0; i < MAX_SRV; i++)
		if (S.up[i] && srv[i])
			while (net_server_poll(srv[i]) == NET_SRV_POLL_BUDGET)
				;
}

static u64 next_event(unsigned cli_idx)
{
	u64 next = ~0ull;
	for (unsigned i = 0; i < MAX_SRV; i++)
		for (unsigned k = 0; S.up[i] && k < S.to_srv[i].n; k++)
			next = MIN(next, S.to_srv[i].p[k].at);
	for (unsigned k = 0; k < S.to_cli[cli_idx].n; k++)
		next = MIN(next, S.to_cli[cli_idx].p[k].at);
	return next;
}

/* A client's receive: the servers run first (they are the other machines),
 * then a frame is handed over if one has arrived; otherwise the clock moves
 * to the next arrival, at most STEP_US. */
static int cli_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct port *pt = ctx;
	if (pt->idx == 0 && S.hook && cli[0]->stats.timeouts >= S.hook_after) {
		void (*h)(void) = S.hook;
		S.hook = NULL;
		h();
	}
	run_servers();
	if (pop(&S.to_cli[pt->idx], S.now, buf, cap, len))
		return 0;
	if (S.flood) {
		/* a full-size frame for this client, as from its server under its
		 * ticket, with a MAC made up */
		u8 *f = buf;
		memset(f, 0x5A, NET_FRAME_MAX);
		cmac(pt->idx, f);
		smac(0, f + 6);
		f[12] = NET_ETHERTYPE >> 8;
		f[13] = NET_ETHERTYPE & 0xFF;
		f[14] = NET_VERSION;
		f[15] = NET_T_DATA;
		u16 blen = NET_BODY_MAX;
		memcpy(f + 18, &blen, 2);
		memcpy(f + 22, &cli[pt->idx]->ticket, 8);
		*len = NET_FRAME_MAX;
		S.now += 1000;
		return 0;
	}
	u64 next = next_event(pt->idx);
	S.now = next > S.now && next < S.now + STEP_US ? next : S.now + STEP_US;
	return -E_NOENT;
}

static int srv_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct port *pt = ctx;
	return pop(&S.to_srv[pt->idx], S.now, buf, cap, len) ? 0 : -E_NOENT;
}

static u64 clock_now(void *ctx)
{
	(void)ctx;
	return S.now;
}

/* ---- RAM disks -------------------------------------------------------------- */


static int rd_rw(struct blk_dev *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool wr)
{
	struct ramdisk *r = d->priv;
	u32 ss = d->info.sector_size;
	u64 total = 0;
	for (unsigned i = 0; i < nseg; i++)
		total += segs[i].len;
	/* what platform/blk.h promises a back end */
	if (count < 1 || count > d->info.max_sectors || lba >= d->info.sectors || count > d->info.sectors - lba ||
	    nseg < 1 || nseg > BLK_MAX_SEGS || total != (u64)count * ss) {
		r->violations++;
		return -E_INVAL;
	}
	if (wr)
		r->writes++;
	else
		r->reads++;
	if (r->fail)
		return r->fail;
	u8 *p = r->data + lba * ss;
	for (unsigned i = 0; i < nseg; i++) {
		u8 *s = (u8 *)(uintptr_t)segs[i].addr;
		if (wr)
			memcpy(p, s, segs[i].len);
		else
			memcpy(s, p, segs[i].len);
		p += segs[i].len;
	}
	return 0;
}
static int rd_read(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return rd_rw(d, l, c, s, n, false); }
static int rd_write(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n) { return rd_rw(d, l, c, s, n, true); }
static int rd_flush(struct blk_dev *d)
{
	struct ramdisk *r = d->priv;
	r->flushes++;
	if (S.flush_hook)
		S.flush_hook();
	return r->fail;
}
static const struct blk_ops rd_ops = { .read = rd_read, .write = rd_write, .flush = rd_flush };

/* An asynchronous disk as platform/blk.h describes it: requests finish
 * 50-450 us after submit in any order but the two the interface promises
 * (a FLUSH after every write before it, overlapping writes in order) and
 * one it does not (a read after a write it overlaps, as AHCI keeps). */
static int rd_submit(struct blk_dev *d, struct blk_io *io)
{
	struct ramdisk *r = d->priv;
	if (!io->done || (io->op == BLK_OP_FLUSH ? io->count || io->nseg : !io->segs || !io->count)) {
		r->violations++;
		return -E_INVAL;
	}
	if (r->nq == d->queue_depth)
		return -E_NOSPC;
	r->q[r->nq] = io;
	r->due[r->nq++] = S.now + (rd_delay_us ? rd_delay_us : 50 + rnd(400));
	r->most = MAX(r->most, r->nq);
	r->submits++;
	return 0;
}

static bool rd_overlap(const struct blk_io *a, const struct blk_io *b)
{
	return a->op != BLK_OP_FLUSH && b->op != BLK_OP_FLUSH && a->lba < b->lba + b->count && b->lba < a->lba + a->count;
}

/* Whether q[k] may finish before the requests submitted before it. */
static bool rd_may_finish(const struct ramdisk *r, unsigned k)
{
	for (unsigned j = 0; j < k; j++) {
		const struct blk_io *a = r->q[j], *b = r->q[k];
		if ((b->op == BLK_OP_FLUSH && a->op == BLK_OP_WRITE) ||
		    (rd_overlap(a, b) && (a->op == BLK_OP_WRITE || b->op == BLK_OP_WRITE)))
			return false;
	}
	return true;
}

static unsigned rd_poll(struct blk_dev *d)
{
	struct ramdisk *r = d->priv;
	while (!r->hold) {
		unsigned ready[RD_QUEUE], n = 0;
		for (unsigned k = 0; k < r->nq; k++)
			if (r->due[k] <= S.now && rd_may_finish(r, k))
				ready[n++] = k;
		if (!n)
			return r->nq;
		unsigned k = ready[rnd(n)];
		struct blk_io *io = r->q[k];
		r->out_of_order += k != 0;
		memmove(&r->q[k], &r->q[k + 1], (r->nq - k - 1) * sizeof(r->q[0]));
		memmove(&r->due[k], &r->due[k + 1], (r->nq - k - 1) * sizeof(r->due[0]));
		r->nq--;
		int rc = io->op == BLK_OP_FLUSH ? rd_flush(d) : rd_rw(d, io->lba, io->count, io->segs, io->nseg,
								       io->op == BLK_OP_WRITE);
		if (io->op == BLK_OP_FLUSH)
			rd_writes_at_flush = r->writes;
		io->done(io, rc);
	}
	return r->nq;
}
static const struct blk_ops rd_async_ops = { .read = rd_read, .write = rd_write, .flush = rd_flush,
					     .submit = rd_submit, .poll = rd_poll };

static void disk_init(unsigned i, u64 sectors, u32 ss, u32 max, const char *model)
{
	struct ramdisk *r = &disk[i];
	free(r->data);
	memset(r, 0, sizeof(*r));
	r->data = malloc(sectors * ss);
	for (u64 k = 0; k < sectors * ss; k++)
		r->data[k] = (u8)(k * 31 + (k >> 9) + i * 101);
	r->dev.name = "ram";
	r->dev.ops = run_async ? &rd_async_ops : &rd_ops;
	r->dev.queue_depth = run_async;
	r->dev.priv = r;
	r->dev.info = (struct blk_info){ .sectors = sectors, .sector_size = ss, .max_sectors = max };
	str_copy(r->dev.info.model, model, sizeof(r->dev.info.model));
	str_copy(r->dev.info.serial, i ? "SERIAL-B" : "SERIAL-A", sizeof(r->dev.info.serial));
}

/* ---- Set-up ----------------------------------------------------------------- */

static void sim_reset(u64 seed)
{
	for (unsigned i = 0; i < MAX_SRV; i++) {
		if (!S.to_srv[i].p)
			S.to_srv[i].p = malloc(QCAP * sizeof(struct pkt));
		S.to_srv[i].n = 0;
		S.up[i] = false;
		if (!srv[i])
			srv[i] = malloc(sizeof(struct net_server));
		if (!srvbuf[i])
			srvbuf[i] = aligned_alloc(4096, 64 * NET_MAX_REQ_BYTES);
	}
	for (unsigned i = 0; i < MAX_CLI; i++) {
		if (!S.to_cli[i].p)
			S.to_cli[i].p = malloc(QCAP * sizeof(struct pkt));
		S.to_cli[i].n = 0;
		if (!cli[i])
			cli[i] = malloc(sizeof(struct net_client));
	}
	if (!S.cap_c2s.p) {
		S.cap_c2s.p = malloc(QCAP * sizeof(struct pkt));
		S.cap_s2c.p = malloc(QCAP * sizeof(struct pkt));
	}
	S.cap_c2s.n = S.cap_s2c.n = 0;
	S.now = 1000000;
	S.seq = 0;
	S.rng = seed * 0x9E3779B97F4A7C15ull + 1;
	S.loss_c2s = S.loss_s2c = S.dup = S.corrupt = S.jitter = 0;
	S.latency = 50;
	S.frames = S.bad_frames = S.oversize = S.full_frames = S.qdrops = 0;
	S.cli_frame = S.srv_frame = run_frame;
	S.link_frame = NET_FRAME_MAX;
	S.full_size = run_frame ? run_frame : NET_FRAME_STD;
	S.link_drops = S.longest = 0;
	S.ring = 0;
	S.ring_drops = 0;
	S.longest_hello = S.amplified = 0;
	S.drop_s2c_n = S.drop_c2s_n = S.drop_s2c_to = 0;
	S.hook = NULL;
	memset(srv_clients, 0, sizeof(srv_clients));
	S.capture_c2s = S.capture_s2c = false;
	S.flood = false;
	S.down_after_writes = 0;
	S.restart_at = S.restart_session = S.restart_delay = S.replay_at = 0;
	memset(S.drop_tag, 0, sizeof(S.drop_tag));
	S.srv_nbufs = 2;
	S.flush_hook = NULL;
	ledger_reset();
	disk_init(0, 8192, 512, 65535, "RAM DISK A");
	disk_init(1, 4096, 512, 65535, "RAM DISK B");
}

static void impair(unsigned loss, unsigned dup, unsigned corrupt, unsigned jitter)
{
	S.loss_c2s = S.loss_s2c = loss;
	S.dup = dup;
	S.corrupt = corrupt;
	S.jitter = jitter;
}


static int server_start(unsigned i, u64 session, bool ro, const char *key)
{
	struct net_server_cfg cfg = { .key = key, .key_len = strlen(key), .session = session,
				      .dev = &disk[i].dev, .read_only = ro, .clients = srv_clients[i],
				      .buf = srvbuf[i], .buf_size = S.srv_nbufs * NET_MAX_REQ_BYTES,
				      .max_frame = S.srv_frame };
	smac(i, cfg.mac);
	S.sport[i] = (struct port){ .idx = i, .server = true };
	struct net_link link = { &S.sport[i], wire_send, srv_recv, clock_now };
	S.to_srv[i].n = 0;
	disk[i].nq = 0; /* a new boot: what the last one had on the disk is gone */
	int rc = net_server_init(srv[i], &cfg, &link);
	S.up[i] = rc == 0;
	return rc;
}

/* The key tools/ferrykey.py derives for name from master. */
static void derive(const char *master, const char *name, u8 out[NET_CLIENT_KEY_LEN])
{
	struct net_master mk;
	net_master_init(&mk, master, strlen(master));
	net_client_key(&mk, name, strlen(name), out);
}

/* Client i's default name: mac-0200000 0cc0i. */
static const char *default_name(unsigned i)
{
	static char names[MAX_CLI][24];
	snprintf(names[i], sizeof(names[i]), "mac-020000" "00cc%02x", i);
	return names[i];
}

/* With exactly this key (NET_CLIENT_KEY_LEN bytes for a working client). */
static int client_start_raw(unsigned i, u64 session, const struct net_client_cfg *over, const void *key, size_t klen)
{
	struct net_client_cfg cfg = { 0 };
	if (over)
		cfg = *over;
	cfg.key = key;
	cfg.key_len = klen;
	cfg.session = session;
	if (!cfg.max_frame)
		cfg.max_frame = S.cli_frame;
	cmac(i, cfg.mac);
	S.cport[i] = (struct port){ .idx = i, .server = false };
	struct net_link link = { &S.cport[i], wire_send, cli_recv, clock_now };
	S.to_cli[i].n = 0;
	return net_client_init(cli[i], &cfg, &link);
}

/* cfg: overrides, may be NULL; the key derives from master for the
 * client's name (cfg->name, or its default). */
static int client_start(unsigned i, u64 session, const struct net_client_cfg *over, const char *master)
{
	u8 kc[NET_CLIENT_KEY_LEN];
	derive(master, over && over->name ? over->name : default_name(i), kc);
	return client_start_raw(i, session, over, kc, sizeof(kc));
}

/* One server, one client, bound. */
static int pair(const struct net_client_cfg *over)
{
	int rc = server_start(0, 0x5E55105E55100001ull, false, KEY);
	if (rc)
		return rc;
	rc = client_start(0, 0xC11E27C11E270001ull, over, KEY);
	if (rc)
		return rc;
	return net_client_discover(cli[0], 5000000);
}

static bool wire_clean(void)
{
	if (S.bad_frames || S.oversize || S.qdrops || S.nonce_reuse || S.ctr_regress || S.ledger_full)
		printf("  wire: %llu bad, %llu oversize, %llu queue drops, %llu nonces reused, %llu counters not "
		       "rising, %llu ledger overflows\n",
		       (unsigned long long)S.bad_frames, (unsigned long long)S.oversize, (unsigned long long)S.qdrops,
		       (unsigned long long)S.nonce_reuse, (unsigned long long)S.ctr_regress,
		       (unsigned long long)S.ledger_full);
	return !S.bad_frames && !S.oversize && !S.qdrops && !S.nonce_reuse && !S.ctr_regress && !S.ledger_full;
}

static void fill(u8 *p, size_t n, u32 seed)
{
	u64 x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		p[i] = (u8)x;
	}
}

/* Cuts [buf, buf + bytes) into about `want` segments, lengths multiples of 4. */
static unsigned make_segs(struct blk_seg *segs, u8 *buf, u32 bytes, unsigned want)
{
	unsigned n = 0;
	u32 off = 0;
	want = MAX(1u, MIN(want, (unsigned)BLK_MAX_SEGS));
	while (off < bytes) {
		u32 left = bytes - off;
		u32 pick = n + 1 >= want ? left : 4 * (1 + rnd(2 * left / 4 / (want - n) + 1)); /* MIN evaluates twice */
		u32 len = MIN(left, pick);
		segs[n++] = (struct blk_seg){ (hpa_t)(uintptr_t)(buf + off), len };
		off += len;
	}
	return n;
}

static u8 *bufa, *bufb;

static int io(unsigned c, bool write, u64 lba, u32 count, u8 *buf, unsigned want_segs)
{
	struct blk_seg segs[BLK_MAX_SEGS];
	u32 bytes = count * cli[c]->blk.info.sector_size;
	unsigned n = make_segs(segs, buf, bytes, want_segs);
	return write ? net_client_write(cli[c], lba, count, segs, n) : net_client_read(cli[c], lba, count, segs, n);
}

static void stats_dump(const char *who, const struct net_stats *st)
{
	char line[1024];
	net_stats_format(st, line, sizeof(line));
	printf("  %s: %s\n", who, line);
}

/* Re-injects every captured frame into a queue, due now. */
static void replay_into(struct queue *from, struct queue *to)
{
	for (unsigned i = 0; i < from->n; i++)
		push(to, from->p[i].buf, from->p[i].len, S.now);
}

/* ---- Tests ------------------------------------------------------------------- */

TEST(discover_identify_flush)
{
	sim_reset(1);
	CHECK_EQ(pair(NULL), 0);
	struct net_client *c = cli[0];
	CHECK(c->bound);
	const struct blk_info *in = &net_client_blk(c)->info;
	CHECK_EQ(in->sectors, 8192);
	CHECK_EQ(in->sector_size, 512);
	CHECK_EQ(in->max_sectors, NET_MAX_REQ_BYTES / 512);
	CHECK(!in->read_only);
	CHECK_STR(in->model, "RAM DISK A");
	CHECK_STR(in->serial, "SERIAL-A");
	CHECK_STR(net_client_blk(c)->name, "net:02:00:00:00:aa:00");
	struct blk_info again;
	CHECK_EQ(net_client_identify(c, &again), 0);
	CHECK(!memcmp(&again, in, sizeof(again)));
	CHECK_EQ(net_client_flush(c), 0);
	CHECK_EQ(disk[0].flushes, 1);
	CHECK_EQ(srv[0]->stats.hellos, 1);
	CHECK_EQ(srv[0]->stats.binds, 1);
	CHECK_EQ(srv[0]->stats.identifies, 1);
	CHECK_EQ(cli[0]->stats.handshakes, 1);
	CHECK_STR(cli[0]->ident, "mac-0200000" "0cc00");
	CHECK(wire_clean());
}

/* Round trips of many sizes on a clean link: the data, one disk write
 * each, no retransmission, and frames that fill the binding's size. */
static void clean_link_sizes_run(void)
{
	static const u32 counts[] = { 1, 2, 3, 7, 8, 63, 64, 100, 255, 256, 300, 511, 512 };
	const struct net_client_cfg fixed = { .burst = NET_BURST }; /* round counts below are exact */
	sim_reset(2);
	CHECK_EQ(pair(&fixed), 0);
	unsigned writes = 0;
	for (unsigned k = 0; k < ARRAY_SIZE(counts); k++) {
		u32 count = counts[k], bytes = count * 512;
		u64 lba = (k * 977) % (8192 - count);
		fill(bufa, bytes, k);
		CHECK_EQ(io(0, true, lba, count, bufa, 1 + k % 5), 0);
		writes++;
		CHECK(!memcmp(disk[0].data + lba * 512, bufa, bytes));
		memset(bufb, 0xEE, bytes);
		CHECK_EQ(io(0, false, lba, count, bufb, 1 + k % 7), 0);
		CHECK(!memcmp(bufa, bufb, bytes));
	}
	CHECK_EQ(disk[0].writes, writes);
	CHECK_EQ(disk[0].violations, 0);
	CHECK_EQ(cli[0]->stats.retransmits, 0);
	CHECK_EQ(cli[0]->stats.timeouts, 0);
	CHECK(S.full_frames > 0); /* large transfers fill the frames */
	CHECK_EQ(S.longest, S.full_size);
	CHECK(wire_clean());
	CHECK_EQ(S.link_drops, 0);
}

TEST(clean_link_sizes)
{
	run_frame = 0;
	clean_link_sizes_run();
	/* A 256 KiB read is 184 DATA frames and 3 READ rounds of 64. */
	u64 f0 = S.frames;
	CHECK_EQ(io(0, false, 0, 512, bufb, 3), 0);
	CHECK_EQ(S.frames - f0, 184 + 3);
}


/* Reads and writes of random sizes, positions and scatter lists over a link
 * that loses, duplicates, reorders and corrupts frames; the data must be
 * byte-identical and every write applied exactly once. */
static void lossy_run(u64 seed, unsigned loss, unsigned dup, unsigned corrupt, unsigned ops)
{
	static u8 shadow[8192 * 512];
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	sim_reset(seed);
	CHECK_EQ(pair(&cfg), 0);
	impair(loss, dup, corrupt, 300);
	memcpy(shadow, disk[0].data, sizeof(shadow));
	unsigned writes = 0;
	for (unsigned k = 0; k < ops; k++) {
		u32 count = rnd(4) == 0 ? 1 + rnd(8) : 1 + rnd(512);
		u64 lba = rnd(8192 - count + 1);
		u32 bytes = count * 512;
		if (rnd(2)) {
			fill(bufa, bytes, (u32)(seed * 1000 + k));
			CHECK_EQ(io(0, true, lba, count, bufa, 1 + rnd(8)), 0);
			memcpy(shadow + lba * 512, bufa, bytes);
			writes++;
		} else {
			memset(bufb, 0xA5, bytes);
			CHECK_EQ(io(0, false, lba, count, bufb, 1 + rnd(8)), 0);
			CHECK(!memcmp(bufb, shadow + lba * 512, bytes));
		}
	}
	CHECK(!memcmp(disk[0].data, shadow, sizeof(shadow)));
	if (getenv("NET_STATS")) {
		stats_dump("client", &cli[0]->stats);
		stats_dump("server", &srv[0]->stats);
		printf("  wire: %llu frames, simulated %llu ms\n", (unsigned long long)S.frames,
		       (unsigned long long)(S.now - 1000000) / 1000);
	}
	CHECK_EQ(disk[0].writes, writes);
	CHECK_EQ(disk[0].violations, 0);
	CHECK(wire_clean());
	if (corrupt)
		CHECK(srv[0]->stats.rx_drop[NET_DROP_MAC] + srv[0]->stats.rx_drop[NET_DROP_LEN] > 0);
	if (dup)
		CHECK(srv[0]->stats.rx_replay > 0 && cli[0]->stats.rx_replay > 0);
}

/* loss, duplication and corruption in per mille of frames, jitter 0-300 us */
TEST(lossy_link_seed_1) { lossy_run(1, 200, 100, 50, 60); }
TEST(lossy_link_seed_2) { lossy_run(2, 200, 100, 50, 60); }
TEST(lossy_link_seed_3) { lossy_run(3, 100, 300, 20, 60); }
TEST(lossy_link_seed_4) { lossy_run(4, 300, 50, 100, 40); }

TEST(write_applied_once_when_replies_are_lost)
{
	sim_reset(5);
	CHECK_EQ(pair(NULL), 0);
	/* The write arrives and is applied; its STATUS is lost three times;
	 * the probes get the remembered status, the disk sees one write. */
	fill(bufa, 4096, 77);
	S.drop_s2c_type = NET_T_STATUS;
	S.drop_s2c_n = 3;
	CHECK_EQ(io(0, true, 100, 8, bufa, 2), 0);
	CHECK_EQ(disk[0].writes, 1);
	CHECK(srv[0]->stats.write_dups >= 3);
	CHECK(!memcmp(disk[0].data + 100 * 512, bufa, 4096));
	/* The same with a large write and its NEEDs lost as well. */
	fill(bufa, 512 * 512, 78);
	S.drop_s2c_type = NET_T_NEED;
	S.drop_s2c_n = 2;
	CHECK_EQ(io(0, true, 1000, 512, bufa, 9), 0);
	CHECK_EQ(disk[0].writes, 2);
	/* A failed write is not retried on the disk either: the error status
	 * is remembered like any other. */
	disk[0].fail = -E_IO;
	S.drop_s2c_type = NET_T_STATUS;
	S.drop_s2c_n = 2;
	CHECK_EQ(io(0, true, 5, 1, bufa, 1), -E_IO);
	CHECK_EQ(disk[0].writes, 3);
	CHECK(wire_clean());
}

TEST(write_applied_once_under_heavy_duplication)
{
	sim_reset(6);
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 30 };
	CHECK_EQ(pair(&cfg), 0);
	S.dup = 500;
	S.loss_c2s = 100;
	S.loss_s2c = 400;
	S.jitter = 500;
	unsigned writes = 0;
	for (unsigned k = 0; k < 60; k++) {
		u32 count = 1 + rnd(k % 3 ? 4 : 300);
		u64 lba = rnd(8192 - count + 1);
		fill(bufa, count * 512, 900 + k);
		CHECK_EQ(io(0, true, lba, count, bufa, 1 + rnd(4)), 0);
		writes++;
		CHECK_EQ(disk[0].writes, writes);
		CHECK(!memcmp(disk[0].data + lba * 512, bufa, count * 512));
	}
	CHECK(srv[0]->stats.write_dups > 0);
	CHECK(cli[0]->stats.retransmits > 0);
	CHECK(wire_clean());
}

TEST(abandoned_write_never_lands_late)
{
	/* Write 1 never reaches the server and the client gives up on it;
	 * write 2 to the same sectors succeeds; then write 1's frames turn
	 * up after all (their counters are fresh: never seen).  They must not
	 * put the old data over the new. */
	sim_reset(21);
	CHECK_EQ(pair(NULL), 0);
	cli[0]->cfg.retries = 1;
	cli[0]->cfg.dead_time_us = 1; /* no waiting for a silent server */
	S.capture_c2s = true;
	S.drop_c2s_type = NET_T_WRITE;
	S.drop_c2s_n = 1000;
	fill(bufa, 8 * 512, 40);
	CHECK_EQ(io(0, true, 64, 8, bufa, 1), -E_TIMEDOUT);
	S.capture_c2s = false;
	S.drop_c2s_n = 0;
	CHECK(S.cap_c2s.n >= 3);
	fill(bufb, 8 * 512, 41);
	CHECK_EQ(io(0, true, 64, 8, bufb, 1), 0);
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	u64 stale = srv[0]->stats.rx_stale;
	run_servers();
	CHECK(srv[0]->stats.rx_stale - stale >= 3);
	CHECK_EQ(disk[0].writes, 1);
	CHECK(!memcmp(disk[0].data + 64 * 512, bufb, 8 * 512));
}

TEST(server_gone_times_out)
{
	sim_reset(7);
	CHECK_EQ(pair(NULL), 0);
	S.up[0] = false;
	/* A silent server is waited for: the dead time (180 s) from the last
	 * frame heard, retransmitting at the capped RTO all along. */
	u64 t0 = S.now;
	CHECK_EQ(io(0, false, 0, 16, bufb, 1), -E_TIMEDOUT);
	CHECK(S.now - t0 >= NET_DEAD_TIME_US && S.now - t0 <= NET_DEAD_TIME_US + 2 * STEP_US);
	CHECK(cli[0]->dead);
	/* waits of 20, 40, 80, 160 ms, then 320 ms each */
	u64 capped = (S.now - t0 - 300000) / 320000;
	CHECK(cli[0]->stats.timeouts >= capped && cli[0]->stats.timeouts <= capped + 5);
	/* Once dead, a request gets the short budget only: waits of 20, 40,
	 * 80, 160 and 5 x 320 ms. */
	const u64 budget = 20000 + 40000 + 80000 + 160000 + 5 * 320000;
	t0 = S.now;
	CHECK_EQ(io(0, true, 0, 300, bufa, 3), -E_TIMEDOUT);
	CHECK(S.now - t0 >= budget && S.now - t0 <= budget + 2 * STEP_US);
	t0 = S.now;
	CHECK_EQ(net_client_flush(cli[0]), -E_TIMEDOUT);
	CHECK(S.now - t0 <= budget + 2 * STEP_US);
	CHECK_EQ(cli[0]->stats.failures, 3);
	/* Nobody at all: discovery gives up at its deadline. */
	CHECK_EQ(client_start(1, 0xC2, NULL, KEY), 0);
	t0 = S.now;
	CHECK_EQ(net_client_discover(cli[1], 3000000), -E_TIMEDOUT);
	CHECK(S.now - t0 >= 3000000 && S.now - t0 <= 3000000 + 2 * STEP_US);
	CHECK_EQ(disk[0].writes, 0);
}

TEST(a_flood_of_forged_frames_cannot_hold_a_request)
{
	sim_reset(22);
	struct net_client_cfg cfg = { .dead_time_us = 5000000 };
	CHECK_EQ(pair(&cfg), 0);
	S.up[0] = false;
	S.flood = true;
	/* Forged frames are not the server: it is silent, and the request
	 * ends at the dead time, then each request at the short budget. */
	const u64 budget = 20000 + 40000 + 80000 + 160000 + 5 * 320000;
	u64 t0 = S.now;
	CHECK_EQ(io(0, false, 0, 16, bufb, 1), -E_TIMEDOUT);
	CHECK(S.now - t0 >= cfg.dead_time_us && S.now - t0 <= cfg.dead_time_us + 1000);
	CHECK(cli[0]->dead);
	CHECK(cli[0]->last_heard <= t0);
	CHECK(cli[0]->stats.rx_drop[NET_DROP_MAC] > 1000);
	t0 = S.now;
	CHECK_EQ(io(0, true, 0, 16, bufa, 1), -E_TIMEDOUT);
	CHECK_EQ(net_client_flush(cli[0]), -E_TIMEDOUT);
	CHECK_EQ(net_client_discover(cli[0], 100000), -E_TIMEDOUT);
	CHECK(S.now - t0 <= 2 * budget + 100000 + 3000);
}

TEST(absolute_request_bound)
{
	/* A server that keeps answering a little (every chunk re-requested
	 * succeeds once in a while) cannot hold a request forever. */
	sim_reset(8);
	struct net_client_cfg cfg = { .req_timeout_us = 500000, .retries = 1000 };
	CHECK_EQ(pair(&cfg), 0);
	S.loss_s2c = 1000;
	u64 t0 = S.now;
	CHECK_EQ(io(0, false, 0, 512, bufb, 1), -E_TIMEDOUT);
	CHECK(S.now - t0 <= 500000 + 2 * STEP_US);
	/* With the defaults: the server answers every rebinding handshake but
	 * no DATA gets through.  It is not silent, so the dead time does not
	 * apply: req_timeout_us ends the read. */
	sim_reset(8);
	CHECK_EQ(pair(NULL), 0);
	S.drop_s2c_type = NET_T_DATA;
	S.drop_s2c_n = 1000000;
	t0 = S.now;
	CHECK_EQ(io(0, false, 0, 512, bufb, 1), -E_TIMEDOUT);
	CHECK(S.now - t0 >= NET_REQ_TIMEOUT_US && S.now - t0 <= NET_REQ_TIMEOUT_US + 2 * STEP_US);
	CHECK(cli[0]->stats.rebinds > 3);
	CHECK(!cli[0]->silent);
}

TEST(wrong_key_applies_nothing)
{
	sim_reset(9);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	/* A client key derived from another master. */
	CHECK_EQ(client_start(0, 0xC1, NULL, BAD_KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), -E_TIMEDOUT);
	CHECK(srv[0]->stats.rx_drop[NET_DROP_MAC] > 0);
	CHECK_EQ(srv[0]->stats.hellos, 0);
	CHECK_EQ(srv[0]->stats.tx_frames, 0);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_KEY);
	CHECK_STR(srv[0]->refused.name, default_name(0));
	/* The master itself as a client's key: it is not the key derived
	 * for the client's name. */
	u8 master32[NET_CLIENT_KEY_LEN];
	memcpy(master32, KEY, NET_CLIENT_KEY_LEN);
	CHECK_EQ(strlen(KEY), NET_CLIENT_KEY_LEN);
	CHECK_EQ(client_start_raw(0, 0xC2, NULL, master32, sizeof(master32)), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), -E_TIMEDOUT);
	CHECK_EQ(srv[0]->stats.hellos, 0);

	/* An attacker that knows the real client's address, session, ticket
	 * and counters, but not its keys, gets nothing applied. */
	CHECK_EQ(client_start(1, 0xC11E27, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	u64 bad_macs = srv[0]->stats.rx_drop[NET_DROP_MAC];
	CHECK_EQ(client_start(2, 0xC11E27, NULL, BAD_KEY), 0);
	struct net_client fake = *cli[2];
	memcpy(cli[2], cli[1], sizeof(*cli[1]));
	cli[2]->blk.priv = cli[2];
	cli[2]->link = fake.link;
	cli[2]->hello_key = cli[2]->tx = cli[2]->rx = fake.hello_key;
	memcpy(cli[2]->kc, fake.kc, sizeof(fake.kc));
	cli[2]->kc_mac = fake.kc_mac;
	cli[2]->cookie_ssess = 0;
	cli[2]->cfg.retries = 2;
	cli[2]->cfg.rebind_after = 100;
	cli[2]->cfg.dead_time_us = 1;
	fill(bufa, 8 * 512, 5);
	/* its answers would go to client 1's queue; it hears nothing anyway */
	CHECK_EQ(io(2, true, 0, 8, bufa, 1), -E_TIMEDOUT);
	CHECK_EQ(disk[0].writes, 0);
	CHECK(srv[0]->stats.rx_drop[NET_DROP_MAC] > bad_macs);
	/* The real client still works. */
	CHECK_EQ(io(1, true, 0, 8, bufa, 1), 0);
	CHECK_EQ(disk[0].writes, 1);
}

TEST(replayed_frames_are_rejected)
{
	sim_reset(10);
	CHECK_EQ(pair(NULL), 0);
	S.capture_c2s = true;
	fill(bufa, 200 * 512, 10);
	CHECK_EQ(io(0, true, 50, 200, bufa, 2), 0);
	CHECK_EQ(disk[0].writes, 1);
	S.capture_c2s = false;
	unsigned n = S.cap_c2s.n;
	CHECK(n >= 72);

	/* The same server: every frame is a replay. */
	memset(disk[0].data + 50 * 512, 0, 200 * 512);
	u64 r0 = srv[0]->stats.rx_replay;
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_replay - r0, n);
	CHECK_EQ(disk[0].writes, 1);

	/* Client frames replayed to the client's own server after it rebooted:
	 * the ticket they carry is not known any more. */
	CHECK_EQ(server_start(0, 0x5E55105E55100002ull, false, KEY), 0);
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_session, n);
	CHECK_EQ(disk[0].writes, 1);

	/* Server frames replayed to the client: rejected, and a read still
	 * returns the right data. */
	fill(bufa, 64 * 512, 11);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(io(0, true, 0, 64, bufa, 1), 0);
	S.capture_s2c = true;
	CHECK_EQ(io(0, false, 0, 64, bufb, 1), 0);
	S.capture_s2c = false;
	replay_into(&S.cap_s2c, &S.to_cli[0]);
	u64 c0 = cli[0]->stats.rx_replay;
	memset(bufb, 0, 64 * 512);
	CHECK_EQ(io(0, false, 0, 64, bufb, 1), 0);
	CHECK(!memcmp(bufa, bufb, 64 * 512));
	CHECK_EQ(cli[0]->stats.rx_replay - c0, S.cap_s2c.n);
}

TEST(duplicate_replies_are_ignored)
{
	sim_reset(11);
	CHECK_EQ(pair(NULL), 0);
	/* Every frame twice: the copies fail the replay window. */
	S.dup = 1000;
	fill(bufa, 100 * 512, 12);
	CHECK_EQ(io(0, true, 10, 100, bufa, 3), 0);
	CHECK_EQ(io(0, false, 10, 100, bufb, 3), 0);
	CHECK(!memcmp(bufa, bufb, 100 * 512));
	CHECK_EQ(disk[0].writes, 1);
	CHECK(cli[0]->stats.rx_replay >= 36); /* 100 sectors: 36 chunks */
	CHECK(srv[0]->stats.rx_replay >= 36);
	/* A lost DATA frame is asked for again and sent from the kept read,
	 * without reading the disk again. */
	S.dup = 0;
	S.drop_s2c_type = NET_T_DATA;
	S.drop_s2c_n = 1;
	unsigned reads = disk[0].reads;
	CHECK_EQ(io(0, false, 10, 1, bufb, 1), 0);
	CHECK_EQ(disk[0].reads, reads + 1);
	CHECK_EQ(srv[0]->stats.read_hits, 1);
	CHECK(!memcmp(bufb, bufa, 512));
	CHECK(wire_clean());
}

TEST(server_reboot_rebinds)
{
	sim_reset(12);
	CHECK_EQ(pair(NULL), 0);
	fill(bufa, 32 * 512, 13);
	CHECK_EQ(io(0, true, 7, 32, bufa, 1), 0);
	u64 old_ticket = cli[0]->ticket;
	/* The server reboots: a new session, nothing remembered. */
	CHECK_EQ(server_start(0, 0x5E55105E55100003ull, false, KEY), 0);
	CHECK_EQ(io(0, false, 7, 32, bufb, 1), 0);
	CHECK(!memcmp(bufa, bufb, 32 * 512));
	CHECK_EQ(cli[0]->stats.rebinds, 1);
	CHECK_EQ(cli[0]->stats.timeouts, NET_REBIND_AFTER);
	CHECK(cli[0]->ticket != old_ticket);
	CHECK(srv[0]->stats.rx_session > 0);
	/* Then straight on. */
	u64 t = cli[0]->stats.timeouts;
	CHECK_EQ(io(0, true, 7, 32, bufa, 1), 0);
	CHECK_EQ(cli[0]->stats.timeouts, t);
	/* A rebooted server with another disk behind it: -E_IO, and no
	 * request goes to it until the client is told to discover again. */
	disk_init(0, 9999, 512, 65535, "ANOTHER DISK");
	CHECK_EQ(server_start(0, 0x5E55105E55100004ull, false, KEY), 0);
	CHECK_EQ(io(0, false, 7, 32, bufb, 1), -E_IO);
	CHECK_EQ(cli[0]->stats.rebind_mismatch, 1);
	CHECK_EQ(io(0, false, 7, 32, bufb, 1), -E_IO);
	CHECK_EQ(disk[0].reads, 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_blk(cli[0])->info.sectors, 9999);
	CHECK_EQ(io(0, false, 7, 32, bufb, 1), 0);
}

TEST(client_reboot)
{
	sim_reset(13);
	CHECK_EQ(pair(NULL), 0);
	S.capture_c2s = true;
	fill(bufa, 16 * 512, 14);
	CHECK_EQ(io(0, true, 0, 16, bufa, 1), 0);
	S.capture_c2s = false;
	/* Same MAC, new session, counters from 1 again: accepted. */
	CHECK_EQ(client_start(0, 0xC11E27C11E270002ull, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(srv[0]->stats.peer_evictions, 0);
	fill(bufa, 16 * 512, 15);
	CHECK_EQ(io(0, true, 0, 16, bufa, 1), 0);
	CHECK_EQ(disk[0].writes, 2);
	/* The old incarnation's frames do not apply again. */
	u64 s0 = srv[0]->stats.rx_session;
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_session - s0, S.cap_c2s.n);
	CHECK_EQ(disk[0].writes, 2);
	CHECK(!memcmp(disk[0].data, bufa, 16 * 512));
}

TEST(read_only_export)
{
	sim_reset(14);
	CHECK_EQ(server_start(0, 0x5E1, true, KEY), 0);
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK(net_client_blk(cli[0])->info.read_only);
	u64 f0 = S.frames;
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), -E_ROFS);
	CHECK_EQ(S.frames, f0); /* refused locally */
	/* A client that ignores the flag is refused by the server. */
	cli[0]->blk.info.read_only = false;
	CHECK_EQ(io(0, true, 0, 300, bufa, 1), -E_ROFS);
	CHECK_EQ(disk[0].writes, 0);
	CHECK_EQ(io(0, false, 0, 8, bufb, 1), 0);
	CHECK(!memcmp(bufb, disk[0].data, 8 * 512));
}

/* Every frame taken from the link lands in exactly one rx_* bucket
 * (net/proto.h, struct net_stats). */
static bool rx_accounted(const struct net_stats *st)
{
	u64 sum = st->rx_ok + st->rx_replay + st->rx_jump + st->rx_session + st->rx_unknown_client + st->rx_cookie_bad +
		  st->rx_refused + st->rx_unexpected + st->rx_stale + st->rx_busy;
	for (unsigned i = 0; i < NET_VERDICT_COUNT; i++)
		sum += st->rx_drop[i];
	return sum == st->rx_frames;
}

TEST(errors_and_argument_checks)
{
	sim_reset(15);
	struct blk_seg seg = { (hpa_t)(uintptr_t)bufa, 512 };
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	CHECK_EQ(net_client_read(cli[0], 0, 1, &seg, 1), -E_NOENT); /* not bound */
	CHECK(net_client_blk(cli[0]) == NULL);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_read(cli[0], 0, 0, &seg, 1), -E_INVAL);
	CHECK_EQ(net_client_read(cli[0], 0, 2, &seg, 1), -E_INVAL);
	CHECK_EQ(net_client_read(cli[0], 8192, 1, &seg, 1), -E_RANGE);
	CHECK_EQ(net_client_read(cli[0], 0, 1, &seg, 0), -E_INVAL);
	CHECK_EQ(net_client_read(cli[0], 0, 513, &seg, 1), -E_INVAL);
	/* The disk fails. */
	disk[0].fail = -E_IO;
	CHECK_EQ(net_client_read(cli[0], 0, 1, &seg, 1), -E_IO);
	CHECK_EQ(net_client_write(cli[0], 0, 1, &seg, 1), -E_IO);
	CHECK_EQ(net_client_flush(cli[0]), -E_IO);
	disk[0].fail = 0;
	/* The server checks the range itself. */
	cli[0]->blk.info.sectors = 10000;
	CHECK_EQ(net_client_read(cli[0], 9000, 1, &seg, 1), -E_RANGE);
	CHECK_EQ(net_client_write(cli[0], 8191, 2, (struct blk_seg[]){ { seg.addr, 1024 } }, 1), -E_RANGE);
	CHECK_EQ(disk[0].violations, 0);
	CHECK(srv[0]->stats.errors >= 5);
	CHECK(rx_accounted(&srv[0]->stats)); /* the refused READ counted too */
	CHECK(rx_accounted(&cli[0]->stats));
	CHECK(wire_clean());
	/* Keys and sessions the set-up refuses. */
	CHECK_EQ(client_start(1, 0, NULL, KEY), -E_INVAL);
	CHECK_EQ(client_start_raw(1, 1, NULL, "short key", 9), -E_INVAL);
	CHECK_EQ(client_start_raw(1, 1, NULL, KEY, NET_CLIENT_KEY_LEN + 1), -E_INVAL);
	struct net_client_cfg named = { .name = "has blank" };
	CHECK_EQ(client_start(1, 1, &named, KEY), -E_INVAL);
	named.name = "a,b";
	CHECK_EQ(client_start(1, 1, &named, KEY), -E_INVAL);
	named.name = "0123456789abcdef0123456789abcdef0";
	CHECK_EQ(client_start(1, 1, &named, KEY), -E_INVAL);
	named.name = "0123456789abcdef0123456789abcdef";
	CHECK_EQ(client_start(1, 1, &named, KEY), 0);
	srv_clients[1] = "ok,not ok";
	CHECK_EQ(server_start(1, 1, false, KEY), -E_INVAL);
	srv_clients[1] = NULL;
	CHECK_EQ(server_start(1, 0, false, KEY), -E_INVAL);
	disk[1].dev.info.sector_size = 520;
	CHECK_EQ(server_start(1, 1, false, KEY), -E_NOTSUP);
	S.up[1] = false;
}

TEST(big_sectors_and_split_requests)
{
	sim_reset(16);
	disk_init(0, 512, 4096, 3, "4K DISK"); /* the disk takes 3 sectors per call */
	CHECK_EQ(pair(NULL), 0);
	CHECK_EQ(net_client_blk(cli[0])->info.max_sectors, 64);
	unsigned calls = 0;
	for (u32 count = 1; count <= 64; count += 9) {
		u64 lba = (count * 37) % (512 - count);
		fill(bufa, count * 4096, count);
		CHECK_EQ(io(0, true, lba, count, bufa, 4), 0);
		calls += (count + 2) / 3;
		CHECK_EQ(disk[0].writes, calls);
		CHECK_EQ(io(0, false, lba, count, bufb, 5), 0);
		CHECK(!memcmp(bufa, bufb, count * 4096));
		CHECK(!memcmp(disk[0].data + lba * 4096, bufa, count * 4096));
	}
	CHECK_EQ(disk[0].violations, 0);
	CHECK(wire_clean());
}

TEST(blk_dev_interface)
{
	sim_reset(17);
	CHECK_EQ(pair(NULL), 0);
	struct blk_dev *d = net_client_blk(cli[0]);
	CHECK(d != NULL && d->ops && d->priv == cli[0]);
	fill(bufa, 4096, 3);
	struct blk_seg segs[2] = { { (hpa_t)(uintptr_t)bufa, 1024 }, { (hpa_t)(uintptr_t)(bufa + 1024), 3072 } };
	CHECK_EQ(d->ops->write(d, 40, 8, segs, 2), 0);
	struct blk_seg rs = { (hpa_t)(uintptr_t)bufb, 4096 };
	CHECK_EQ(d->ops->read(d, 40, 8, &rs, 1), 0);
	CHECK(!memcmp(bufa, bufb, 4096));
	CHECK_EQ(d->ops->flush(d), 0);
	CHECK_EQ(disk[0].flushes, 1);
}

TEST(two_servers)
{
	sim_reset(18);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(server_start(1, 0x5E2, false, KEY), 0);
	/* Broadcast: whoever answers first. */
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	/* Asking for server B by address. */
	struct net_client_cfg cfg = { .want_server = true };
	smac(1, cfg.server_mac);
	CHECK_EQ(client_start(1, 0xC2, &cfg, KEY), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	CHECK_STR(net_client_blk(cli[1])->info.model, "RAM DISK B");
	CHECK_EQ(net_client_blk(cli[1])->info.sectors, 4096);
	CHECK_EQ(io(1, false, 0, 64, bufb, 1), 0);
	CHECK(!memcmp(bufb, disk[1].data, 64 * 512));
	/* Server A saw B's unicast frames on the hub and dropped them. */
	CHECK(srv[0]->stats.rx_drop[NET_DROP_DST] > 0);
	CHECK_EQ(disk[0].reads, 0);
}

static unsigned slots_used(const struct net_server *sv)
{
	unsigned n = 0;
	for (unsigned i = 0; i < NET_SRV_PEERS; i++)
		n += sv->peers[i].used;
	return n;
}

/* Finding 7's flip side: slots are never taken from a client that may
 * still be retrying.  With every slot held by an active client, a newcomer
 * is refused (and told); once a slot's client has been silent longer than
 * the eviction bound, the newcomer gets it. */
TEST(more_clients_than_peer_slots)
{
	sim_reset(19);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	for (unsigned i = 0; i < NET_SRV_PEERS; i++) {
		CHECK_EQ(client_start(i, 0xC100 + i, NULL, KEY), 0);
		CHECK_EQ(net_client_discover(cli[i], 1000000), 0);
		fill(bufa, 512, i);
		CHECK_EQ(io(i, true, i, 1, bufa, 1), 0);
	}
	unsigned last = NET_SRV_PEERS;
	CHECK_EQ(client_start(last, 0xC1FF, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[last], 2000000), -E_TIMEDOUT);
	CHECK(srv[0]->stats.rx_refused > 0);
	CHECK(cli[last]->stats.bind_refused > 0);
	CHECK_EQ(srv[0]->stats.peer_evictions, 0);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_BUSY);
	CHECK_STR(srv[0]->refused.name, default_name(last));
	/* Everyone else still works, without a rebind. */
	for (unsigned i = 0; i < NET_SRV_PEERS; i++) {
		fill(bufa, 512, 50 + i);
		CHECK_EQ(io(i, true, i, 1, bufa, 1), 0);
		CHECK_EQ(cli[i]->stats.rebinds, 0);
		CHECK(!memcmp(disk[0].data + i * 512, bufa, 512));
	}
	/* Client 0 has been silent longest; past the bound its slot is free
	 * to take, and only then. */
	S.now += NET_SRV_EVICT_IDLE_US - 5000000;
	for (unsigned i = 1; i < NET_SRV_PEERS; i++)
		CHECK_EQ(io(i, false, i, 1, bufb, 1), 0);
	S.now += 5000000 - 3000000;
	CHECK_EQ(net_client_discover(cli[last], 1000000), -E_TIMEDOUT);
	CHECK_EQ(srv[0]->stats.peer_evictions, 0);
	S.now += 3000000;
	CHECK_EQ(net_client_discover(cli[last], 1000000), 0);
	CHECK_EQ(srv[0]->stats.peer_evictions, 1);
	fill(bufa, 512, 100);
	CHECK_EQ(io(last, true, 4000, 1, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data + 4000 * 512, bufa, 512));
	/* Client 0 comes back: every slot is active again, so it is refused;
	 * its request fails instead of evicting anyone. */
	cli[0]->cfg.retries = 6;
	CHECK_EQ(io(0, true, 0, 1, bufa, 1), -E_TIMEDOUT);
	CHECK_EQ(srv[0]->stats.peer_evictions, 1);
	CHECK_EQ(slots_used(srv[0]), NET_SRV_PEERS);
	CHECK(wire_clean());
}

/* Finding 6: recorded HELLOs and BINDs, replayed while the client is
 * bound, after it has re-bound and after the cookie's lifetime, create,
 * reset and evict nothing; the client's requests go on working. */
TEST(replayed_handshakes_change_nothing)
{
	sim_reset(23);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	S.capture_c2s = true;
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	S.capture_c2s = false;
	CHECK_EQ(S.cap_c2s.n, 2); /* HELLO and BIND */
	fill(bufa, 16 * 512, 60);
	CHECK_EQ(io(0, true, 0, 16, bufa, 1), 0);
	struct net_srv_peer before = srv[0]->peers[0];
	u64 hellos = srv[0]->stats.hellos;

	/* While the binding is current: the HELLO gets a COOKIE (no state),
	 * the BIND is a duplicate whose counter was seen. */
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	CHECK_EQ(srv[0]->stats.hellos, hellos + 1);
	CHECK_EQ(srv[0]->stats.rx_replay, 1);
	CHECK_EQ(srv[0]->stats.binds, 1);
	CHECK_EQ(slots_used(srv[0]), 1);
	CHECK_EQ(srv[0]->peers[0].cur.ticket, before.cur.ticket);
	CHECK_EQ(srv[0]->peers[0].tag_floor, before.tag_floor);
	CHECK_EQ(srv[0]->peers[0].done[0].tag, before.done[0].tag);

	/* After the client re-bound: the old BIND is older than the binding. */
	S.now += 1000000;
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	u64 ticket = srv[0]->peers[0].cur.ticket;
	CHECK(ticket != before.cur.ticket);
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_cookie_bad, 1);
	CHECK_EQ(srv[0]->peers[0].cur.ticket, ticket);

	/* After the lifetime, with the slot gone quiet past the eviction
	 * bound and every other slot taken: still nothing. */
	S.now += NET_SRV_EVICT_IDLE_US + NET_COOKIE_LIFE_US;
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_cookie_bad, 2);
	CHECK_EQ(srv[0]->peers[0].cur.ticket, ticket);
	CHECK_EQ(srv[0]->stats.binds, 2);
	CHECK_EQ(srv[0]->stats.peer_evictions, 0);
	CHECK_EQ(slots_used(srv[0]), 1);
	/* The client's requests still work, on its binding. */
	memset(bufb, 0, 16 * 512);
	CHECK_EQ(io(0, false, 0, 16, bufb, 1), 0);
	CHECK(!memcmp(bufa, bufb, 16 * 512));
	CHECK_EQ(cli[0]->stats.rebinds, 0);
	CHECK_EQ(disk[0].writes, 1);
	CHECK(rx_accounted(&srv[0]->stats));
}

/* Finding 6's exact scenario: client A's write is applied and its STATUS
 * lost; while A retries, A's slot is attacked with replays of every
 * handshake recorded, and client B writes newer data to the same sectors
 * and is acknowledged.  A re-binds (same boot session) and gets its STATUS
 * from the duplicate cache: its write is not applied again over B's. */
static u8 *hook_buf;
static void b_writes_meanwhile(void)
{
	replay_into(&S.cap_c2s, &S.to_srv[0]);
	run_servers();
	fill(hook_buf, 8 * 512, 71);
	CHECK_EQ(io(1, true, 200, 8, hook_buf, 1), 0);
}

TEST(finding_6_old_write_never_lands_over_newer)
{
	sim_reset(24);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(client_start(0, 0xA1, NULL, KEY), 0);
	CHECK_EQ(client_start(1, 0xB1, NULL, KEY), 0);
	S.capture_c2s = true;
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	S.capture_c2s = false;
	static u8 bdata[8 * 512];
	hook_buf = bdata;
	/* A's STATUS is lost for the first write and the three probes before
	 * its rebind: the answer comes under the new binding. */
	S.drop_s2c_type = NET_T_STATUS;
	S.drop_s2c_n = 4;
	S.drop_s2c_to = 1;
	S.hook = b_writes_meanwhile;
	S.hook_after = 1;
	fill(bufa, 8 * 512, 70);
	CHECK_EQ(io(0, true, 200, 8, bufa, 1), 0);
	CHECK(S.hook == NULL);
	CHECK_EQ(cli[0]->stats.rebinds, 1);
	CHECK_EQ(disk[0].writes, 2); /* A's once, B's once */
	CHECK(!memcmp(disk[0].data + 200 * 512, bdata, 8 * 512));
	CHECK(srv[0]->stats.write_dups >= 1);
	CHECK_EQ(srv[0]->stats.peer_evictions, 0);
	CHECK(wire_clean());
}

/* Finding 7: a client holding only its own key cannot act as another
 * client, nor as the server towards another client. */
TEST(client_key_cannot_act_as_another)
{
	sim_reset(25);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	struct net_client_cfg alice = { .name = "alice" }, bob = { .name = "bob" };
	CHECK_EQ(client_start(0, 0xA1, &alice, KEY), 0);
	CHECK_EQ(client_start(1, 0xB1, &bob, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	u8 k_alice[NET_CLIENT_KEY_LEN];
	derive(KEY, "alice", k_alice);

	/* Alice's key, Bob's name: refused, Bob's slot untouched. */
	struct net_srv_peer bob_slot = srv[0]->peers[1];
	CHECK_STR(bob_slot.name, "bob");
	CHECK_EQ(client_start_raw(2, 0xA2, &bob, k_alice, sizeof(k_alice)), 0);
	CHECK_EQ(net_client_discover(cli[2], 1000000), -E_TIMEDOUT);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_KEY);
	CHECK_STR(srv[0]->refused.name, "bob");
	CHECK_EQ(srv[0]->stats.hellos, 2);
	CHECK_EQ(srv[0]->peers[1].cur.ticket, bob_slot.cur.ticket);
	/* ... nor with Bob's address, session, ticket and counters. */
	struct net_link link = cli[2]->link;
	memcpy(cli[2], cli[1], sizeof(*cli[1]));
	cli[2]->blk.priv = cli[2];
	cli[2]->link = link;
	cli[2]->hello_key = cli[2]->tx = cli[2]->rx = cli[0]->tx; /* whatever alice holds */
	memcpy(cli[2]->kc, cli[0]->kc, sizeof(cli[0]->kc));
	cli[2]->kc_mac = cli[0]->kc_mac;
	cli[2]->cookie_ssess = 0;
	cli[2]->cfg.retries = 2;
	cli[2]->cfg.rebind_after = 100;
	fill(bufa, 8 * 512, 80);
	CHECK_EQ(io(2, true, 300, 8, bufa, 1), -E_TIMEDOUT);
	CHECK_EQ(disk[0].writes, 0);

	/* Alice forging the server's answers to Bob: STATUS OK for Bob's next
	 * write (the server being down), and a COOKIE, under each of her keys. */
	S.up[0] = false;
	struct net_key hers[] = { cli[0]->hello_key, cli[0]->tx, cli[0]->rx, cli[0]->cookie_key };
	u64 bad = cli[1]->stats.rx_drop[NET_DROP_MAC];
	for (unsigned k = 0; k < ARRAY_SIZE(hers); k++) {
		for (u64 d = 0; d < 3; d++) {
			struct net_msg m = { .type = NET_T_STATUS, .tag = cli[1]->next_tag + d,
					     .src_sess = cli[1]->ticket, .dst_sess = 0xB1, .counter = cli[1]->win.top + 1 + d };
			smac(0, m.src);
			cmac(1, m.dst);
			u8 f[NET_FRAME_MAX];
			hers[k].sent = 0; /* a forger picks any counter */
			int n = net_encode(f, &hers[k], &m);
			CHECK(n > 0);
			push(&S.to_cli[1], f, (size_t)n, S.now + 1000 * d);
		}
		struct net_msg c = { .type = NET_T_COOKIE, .tag = cli[1]->next_tag, .src_sess = 0x5E1,
				     .dst_sess = 0xB1, .counter = 1 };
		smac(0, c.src);
		cmac(1, c.dst);
		c.b.cookie.ts = 1;
		c.b.cookie.max_frame = NET_FRAME_MAX;
		u8 f[NET_FRAME_MAX];
		hers[k].sent = 0;
		int n = net_encode(f, &hers[k], &c);
		CHECK(n > 0);
		push(&S.to_cli[1], f, (size_t)n, S.now + 500);
	}
	cli[1]->cfg.retries = 3;
	CHECK_EQ(io(1, true, 300, 8, bufa, 1), -E_TIMEDOUT);
	CHECK(cli[1]->stats.rx_drop[NET_DROP_MAC] - bad >= 3);
	S.up[0] = true;
	cli[1]->cfg.retries = NET_RETRIES;
	CHECK_EQ(io(1, true, 300, 8, bufa, 1), 0);
	CHECK_EQ(disk[0].writes, 1);
}

/* Finding 7: a counter far ahead of the window is refused, so a holder of
 * a session key cannot push a window out of reach; the client recovers
 * with a new handshake (new keys, counters from 1). */
TEST(counter_jump_refused_and_recovered)
{
	sim_reset(26);
	CHECK_EQ(pair(NULL), 0);
	u64 ticket = cli[0]->ticket;
	cli[0]->counter += NET_REPLAY_JUMP + 10;
	fill(bufa, 8 * 512, 90);
	CHECK_EQ(io(0, true, 10, 8, bufa, 1), 0);
	CHECK(srv[0]->stats.rx_jump > 0);
	CHECK_EQ(cli[0]->stats.rebinds, 1);
	CHECK(cli[0]->ticket != ticket);
	CHECK(cli[0]->counter < 100);
	CHECK_EQ(disk[0].writes, 1);
	CHECK(!memcmp(disk[0].data + 10 * 512, bufa, 8 * 512));
	/* The server's counter, the same way. */
	srv[0]->peers[0].cur.tx_counter += NET_REPLAY_JUMP + 10;
	CHECK_EQ(io(0, false, 10, 8, bufb, 1), 0);
	CHECK(cli[0]->stats.rx_jump > 0);
	CHECK_EQ(cli[0]->stats.rebinds, 2);
	CHECK(!memcmp(bufa, bufb, 8 * 512));
	CHECK(wire_clean());
}

/* A lost DEVINFO: the BIND repeated is a duplicate, answered again; a
 * forged or expired cookie, or one of another boot, binds nothing. */
TEST(bind_duplicates_and_bad_cookies)
{
	sim_reset(27);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	S.drop_s2c_type = NET_T_DEVINFO;
	S.drop_s2c_n = 1;
	S.capture_c2s = true;
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	S.capture_c2s = false;
	CHECK_EQ(srv[0]->stats.binds, 1);
	CHECK_EQ(srv[0]->stats.bind_dups, 1);
	/* The BIND (frame 1) with its cookie changed, resealed under the right
	 * key by nobody: the cookie check refuses it before any key work. */
	struct pkt *bind = &S.cap_c2s.p[1];
	CHECK_EQ(bind->buf[15], NET_T_BIND);
	u8 f[NET_FRAME_MAX];
	memcpy(f, bind->buf, bind->len);
	f[126] ^= 1;
	push(&S.to_srv[0], f, bind->len, S.now);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_cookie_bad, 1);
	/* A server that rebooted does not know the cookie's session. */
	CHECK_EQ(server_start(0, 0x5E2, false, KEY), 0);
	push(&S.to_srv[0], bind->buf, bind->len, S.now);
	run_servers();
	CHECK_EQ(srv[0]->stats.rx_session, 1);
	CHECK_EQ(slots_used(srv[0]), 0);
	/* A BIND held back by the network: taken up to 10 s after its COOKIE,
	 * refused after. */
	for (unsigned k = 0; k < 2; k++) {
		CHECK_EQ(client_start(2 + k, 0xD1 + k, NULL, KEY), 0);
		S.cap_c2s.n = 0;
		S.capture_c2s = true;
		S.drop_c2s_type = NET_T_BIND;
		S.drop_c2s_n = 1000;
		CHECK_EQ(net_client_discover(cli[2 + k], 20000), -E_TIMEDOUT);
		S.capture_c2s = false;
		S.drop_c2s_n = 0;
		int at = -1;
		for (unsigned i = 0; i < S.cap_c2s.n; i++)
			if (S.cap_c2s.p[i].buf[15] == NET_T_BIND)
				at = (int)i;
		CHECK(at >= 0);
		S.now += k ? NET_COOKIE_LIFE_US + 1000 : NET_COOKIE_LIFE_US - 100000;
		u64 bad = srv[0]->stats.rx_cookie_bad, binds = srv[0]->stats.binds;
		push(&S.to_srv[0], S.cap_c2s.p[at].buf, S.cap_c2s.p[at].len, S.now);
		run_servers();
		CHECK_EQ(srv[0]->stats.binds, binds + (k ? 0 : 1));
		CHECK_EQ(srv[0]->stats.rx_cookie_bad, bad + (k ? 1 : 0));
	}
	CHECK_EQ(slots_used(srv[0]), 1);
	/* An enrolled list: a name not on it gets no COOKIE at all. */
	srv_clients[0] = "alice,bob";
	CHECK_EQ(server_start(0, 0x5E3, false, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 500000), -E_TIMEDOUT);
	CHECK(srv[0]->stats.rx_unknown_client > 0);
	CHECK_EQ(srv[0]->stats.tx_frames, 0);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_UNKNOWN);
	struct net_client_cfg bob = { .name = "bob" };
	CHECK_EQ(client_start(1, 0xB1, &bob, KEY), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	CHECK(rx_accounted(&srv[0]->stats));
}

/* Handshakes over a link that loses, duplicates, corrupts and reorders
 * frames, and server reboots under it: every handshake completes, the
 * server holds one slot, every write lands once. */
TEST(handshakes_over_a_lossy_link)
{
	static u8 shadow[8192 * 512];
	sim_reset(28);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 30 };
	CHECK_EQ(client_start(0, 0xC1, &cfg, KEY), 0);
	impair(250, 100, 30, 300);
	for (unsigned k = 0; k < 20; k++)
		CHECK_EQ(net_client_discover(cli[0], 20000000), 0);
	CHECK_EQ(slots_used(srv[0]), 1);
	CHECK(srv[0]->stats.binds + srv[0]->stats.bind_dups >= 20);
	memcpy(shadow, disk[0].data, sizeof(shadow));
	unsigned writes = 0;
	for (unsigned k = 0; k < 30; k++) {
		if (k % 10 == 5) /* the server reboots: a new session, no slots */
			CHECK_EQ(server_start(0, 0x5E10 + k, false, KEY), 0);
		u32 count = 1 + rnd(64);
		u64 lba = rnd(8192 - count + 1);
		fill(bufa, count * 512, 500 + k);
		CHECK_EQ(io(0, true, lba, count, bufa, 1 + rnd(4)), 0);
		memcpy(shadow + lba * 512, bufa, count * 512);
		writes++;
	}
	CHECK(!memcmp(disk[0].data, shadow, sizeof(shadow)));
	/* once each, except a write whose STATUS was lost when its server
	 * rebooted (docs/protocol.md, limitations): at most one per reboot */
	CHECK(disk[0].writes >= writes && disk[0].writes <= writes + 3);
	CHECK(cli[0]->stats.rebinds >= 3);
	CHECK(rx_accounted(&srv[0]->stats));
	CHECK(rx_accounted(&cli[0]->stats));
	CHECK(wire_clean());
}

/* A keyless attacker's best guesses: recorded HELLOs and BINDs with bits,
 * bytes or whole fields changed (names, nonces, times, cookies, sessions,
 * addresses), thousands of them.  Nothing binds, nothing is created or
 * reset, every frame lands in one bucket, and the client keeps working. */
TEST(mutated_handshakes_bind_nothing)
{
	sim_reset(29);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	S.capture_c2s = true;
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	S.capture_c2s = false;
	CHECK_EQ(S.cap_c2s.n, 2);
	struct net_srv_peer before = srv[0]->peers[0];
	u64 binds = srv[0]->stats.binds, hellos = srv[0]->stats.hellos;
	static const unsigned fields[] = { 0, 6, 14, 15, 22, 30, 38, 46, 54, 86, 102, 118, 126, 142 };
	for (unsigned k = 0; k < 20000; k++) {
		const struct pkt *src = &S.cap_c2s.p[k % 2];
		u8 f[NET_FRAME_MAX];
		memcpy(f, src->buf, src->len);
		switch (rnd(3)) {
		case 0: /* a few bits anywhere */
			for (unsigned b = 1 + rnd(3); b; b--) {
				u32 bit = rnd(src->len * 8);
				f[bit / 8] ^= (u8)(1 << (bit % 8));
			}
			break;
		case 1: /* one field's bytes replaced */
		{
			unsigned off = fields[rnd(ARRAY_SIZE(fields))], n = 1 + rnd(16);
			for (unsigned i = off; i < off + n && i < src->len; i++)
				f[i] = (u8)rnd64();
			break;
		}
		default: /* another name, its MAC left as it was */
			memset(f + 54, 0, 32);
			memcpy(f + 54, k & 4 ? "bob" : "mac-020000" "00cc01", k & 4 ? 3 : 16);
			break;
		}
		push(&S.to_srv[0], f, src->len, S.now);
		if (k % 64 == 63)
			run_servers();
		S.now += 10;
	}
	run_servers();
	CHECK_EQ(srv[0]->stats.binds, binds);
	CHECK_EQ(slots_used(srv[0]), 1);
	CHECK_EQ(srv[0]->peers[0].cur.ticket, before.cur.ticket);
	CHECK_EQ(srv[0]->stats.peer_evictions, 0);
	/* Only unchanged copies (a field past the HELLO's end "replaced") are
	 * answered, statelessly: about 1 in 84 of the frames. */
	CHECK(srv[0]->stats.hellos - hellos < 400);
	CHECK(srv[0]->stats.rx_drop[NET_DROP_MAC] > 5000 && srv[0]->stats.rx_cookie_bad > 5000);
	CHECK(rx_accounted(&srv[0]->stats));
	fill(bufa, 8 * 512, 95);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 8 * 512));
}

TEST(abandoned_write_and_buffer_pressure)
{
	/* Client 0's large write is cut off half way (it hears nothing and
	 * gives up): its partial reassembly stays in one of the two buffers.
	 * Client 1 keeps working in the other; kept reads are evicted before a
	 * partial write; client 0's retry under a new tag completes. */
	sim_reset(20);
	CHECK_EQ(server_start(0, 0x5E1, false, KEY), 0);
	CHECK_EQ(client_start(0, 0xC1, NULL, KEY), 0);
	CHECK_EQ(client_start(1, 0xC2, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	fill(bufa, 512 * 512, 30);
	cli[0]->cfg.retries = 1;
	cli[0]->cfg.dead_time_us = cli[1]->cfg.dead_time_us = 1;
	S.loss_s2c = 1000;
	CHECK_EQ(io(0, true, 0, 512, bufa, 1), -E_TIMEDOUT);
	S.loss_s2c = 0;
	CHECK_EQ(disk[0].writes, 0);
	fill(bufb, 300 * 512, 31);
	CHECK_EQ(io(1, true, 4000, 300, bufb, 1), 0);
	CHECK_EQ(io(1, false, 4000, 300, bufb, 1), 0);
	CHECK_EQ(io(1, false, 2000, 100, bufb, 1), 0);
	CHECK(!memcmp(bufb, disk[0].data + 2000 * 512, 100 * 512));
	CHECK_EQ(srv[0]->stats.buf_evictions, 0);
	cli[0]->cfg.retries = NET_RETRIES;
	CHECK_EQ(io(0, true, 0, 512, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 512 * 512));
	CHECK_EQ(srv[0]->stats.buf_evictions, 0);
	/* Abandoned writes of two clients fill both buffers: a third
	 * client's request evicts the older one (counted); a client's own next
	 * request frees its abandoned write (the live floor; not counted). */
	cli[1]->cfg.retries = 0;
	S.loss_s2c = 1000;
	CHECK_EQ(io(0, true, 0, 512, bufa, 1), -E_TIMEDOUT);
	CHECK_EQ(io(1, true, 0, 512, bufa, 1), -E_TIMEDOUT);
	S.loss_s2c = 0;
	CHECK_EQ(srv[0]->stats.buf_evictions, 0);
	CHECK_EQ(client_start(2, 0xC3, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[2], 1000000), 0);
	CHECK_EQ(io(2, false, 0, 8, bufb, 1), 0);
	CHECK_EQ(srv[0]->stats.buf_evictions, 1);
	CHECK_EQ(io(1, false, 0, 8, bufb, 1), 0);
	CHECK_EQ(srv[0]->stats.buf_evictions, 1);
	CHECK(!memcmp(bufb, disk[0].data, 8 * 512));
}


/* ---- Server restarts ---------------------------------------------------------- */

/* What the client logged about its server (platform/console.c). */
static struct {
	unsigned silent, back, dead, restarted, failed, jumbo, fallback, peer_std;
	char last[CONSOLE_LINE_MAX];
} logged;

static void log_line(struct console_sink *sink, enum log_level level, const char *text, size_t len)
{
	(void)sink;
	(void)level;
	len = MIN(len, sizeof(logged.last) - 1);
	memcpy(logged.last, text, len);
	logged.last[len] = 0;
	if (strstr(logged.last, "waiting up to"))
		logged.silent++;
	if (strstr(logged.last, "answers again after"))
		logged.back++;
	if (strstr(logged.last, "restarted"))
		logged.restarted++;
	if (strstr(logged.last, "requests fail until"))
		logged.dead++;
	if (strstr(logged.last, "failed after"))
		logged.failed++;
	if (strstr(logged.last, ": frames of 9014 bytes (chunks of 8928 bytes)"))
		logged.jumbo++;
	if (strstr(logged.last, "seems to carry no frames over 1514 bytes"))
		logged.fallback++;
	if (strstr(logged.last, "takes frames of 1514 bytes at most (its mtu)"))
		logged.peer_std++;
}
static struct console_sink log_sink = { .line = log_line };

/* Server 0 goes down now and comes back as a new boot after down_us. */
static void outage(u64 down_us, u64 session)
{
	S.up[0] = false;
	S.restart_at = S.now + down_us;
	S.restart_session = session;
}

TEST(a_minute_long_restart_is_ridden_out)
{
	/* The server is gone for 60 s (well past the 1.9 s of `retries` and
	 * the 10 s req_timeout_us) and comes back as a new boot: the client
	 * keeps retransmitting at the capped RTO, rebinds to the new ticket,
	 * and the write and the read succeed with the right data. */
	sim_reset(30);
	CHECK_EQ(pair(NULL), 0);
	memset(&logged, 0, sizeof(logged));
	fill(bufa, 64 * 512, 300);
	CHECK_EQ(io(0, true, 100, 64, bufa, 2), 0);
	u64 ticket = cli[0]->ticket;
	outage(60000000, 0x5E55105E55100031ull);
	fill(bufa, 64 * 512, 301);
	u64 t0 = S.now, to0 = cli[0]->stats.timeouts;
	CHECK_EQ(io(0, true, 100, 64, bufa, 2), 0);
	CHECK(S.now - t0 >= 60000000);
	CHECK(!memcmp(disk[0].data + 100 * 512, bufa, 64 * 512));
	CHECK_EQ(srv[0]->stats.writes, 1); /* the new server's */
	CHECK(cli[0]->ticket != ticket);
	CHECK(cli[0]->last_outage_us >= 60000000 && cli[0]->last_outage_us < 61000000);
	/* 20 + 40 + 80 + 160 ms, then one retransmission every 320 ms; the
	 * rebinding HELLO (or BIND) goes with every third */
	u64 timeouts = cli[0]->stats.timeouts - to0;
	CHECK(timeouts >= 60000000 / 320000 && timeouts <= 60000000 / 320000 + 4 + NET_REBIND_AFTER);
	CHECK(cli[0]->stats.rebinds >= 1);
	/* One line when it fell silent, one when it was back. */
	CHECK_EQ(logged.silent, 1);
	CHECK_EQ(logged.back, 1);
	CHECK_EQ(logged.restarted, 1);
	CHECK_EQ(logged.dead, 0);
	/* A read over a second outage: the data is the disk's. */
	outage(60000000, 0x5E55105E55100032ull);
	memset(bufb, 0, 64 * 512);
	CHECK_EQ(io(0, false, 100, 64, bufb, 3), 0);
	CHECK(!memcmp(bufb, bufa, 64 * 512));
	CHECK_EQ(logged.silent, 2);
	CHECK_EQ(logged.back, 2);
	CHECK_EQ(cli[0]->stats.failures, 0);
	CHECK_EQ(disk[0].violations, 0);
	CHECK(wire_clean());
}

TEST(an_outage_past_the_dead_time_fails_then_recovers)
{
	sim_reset(31);
	CHECK_EQ(pair(NULL), 0);
	memset(&logged, 0, sizeof(logged));
	outage(200000000, 0x5E55105E55100033ull);
	fill(bufa, 8 * 512, 310);
	u64 t0 = S.now;
	CHECK_EQ(io(0, true, 8, 8, bufa, 1), -E_TIMEDOUT);
	CHECK(S.now - t0 >= NET_DEAD_TIME_US && S.now - t0 <= NET_DEAD_TIME_US + 2 * STEP_US);
	CHECK_EQ(logged.silent, 1);
	CHECK_EQ(logged.dead, 1);
	CHECK_EQ(disk[0].writes, 0);
	/* Dead: the next request fails at the short budget. */
	t0 = S.now;
	CHECK_EQ(net_client_flush(cli[0]), -E_TIMEDOUT);
	CHECK(S.now - t0 < 2000000);
	/* The server is back (the client was idle meanwhile): the next
	 * request rebinds and succeeds. */
	S.now = S.restart_at;
	CHECK_EQ(io(0, true, 8, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data + 8 * 512, bufa, 8 * 512));
	CHECK_EQ(logged.back, 1);
	CHECK(!cli[0]->dead && !cli[0]->silent);
	CHECK_EQ(logged.silent, 1);
}

TEST(an_idle_client_waits_the_full_dead_time)
{
	/* Silence is counted from the request, not from the last frame heard
	 * long before it. */
	sim_reset(32);
	struct net_client_cfg cfg = { .dead_time_us = 30000000 };
	CHECK_EQ(pair(&cfg), 0);
	S.now += 3600000000ull; /* an hour without I/O */
	outage(20000000, 0x5E55105E55100034ull);
	CHECK_EQ(io(0, false, 0, 8, bufb, 1), 0);
	CHECK(!memcmp(bufb, disk[0].data, 8 * 512));
}

/* The write is applied, its STATUS is lost, and the server dies before
 * the client's probe: the new server knows nothing of it.  The client
 * sends the write again after rebinding and the new server applies it
 * once; the disk holds the data. */
static void status_lost_before_restart(u64 seed, u64 lba, u32 count)
{
	sim_reset(seed);
	CHECK_EQ(pair(NULL), 0);
	fill(bufa, count * 512, (u32)seed);
	S.drop_s2c_type = NET_T_STATUS;
	S.drop_s2c_n = 1000;
	S.down_after_writes = 1;
	S.restart_delay = 3000000;
	S.restart_session = 0x5E55105E55100040ull + seed;
	CHECK_EQ(io(0, true, lba, count, bufa, 3), 0);
	CHECK_EQ(disk[0].writes, 2);       /* once on each server */
	CHECK_EQ(srv[0]->stats.writes, 1); /* once on the new one */
	CHECK_EQ(srv[0]->stats.write_dups, 0);
	CHECK(!memcmp(disk[0].data + lba * 512, bufa, count * 512));
	CHECK(cli[0]->stats.rebinds >= 1);
	memset(bufb, 0, count * 512);
	CHECK_EQ(io(0, false, lba, count, bufb, 1), 0);
	CHECK(!memcmp(bufa, bufb, count * 512));
	CHECK_EQ(disk[0].writes, 2);
	CHECK(wire_clean());
}

TEST(replayed_server_frames_do_not_end_a_silence)
{
	/* Someone without the key records the server's frames and plays them
	 * back while the server is down, to make it look alive: they fail the
	 * replay window, the silence goes on, the request ends at the dead
	 * time. */
	sim_reset(35);
	struct net_client_cfg cfg = { .dead_time_us = 10000000 };
	CHECK_EQ(pair(&cfg), 0);
	memset(&logged, 0, sizeof(logged));
	S.capture_s2c = true;
	fill(bufa, 100 * 512, 350);
	CHECK_EQ(io(0, true, 0, 100, bufa, 1), 0);
	CHECK_EQ(io(0, false, 0, 100, bufb, 1), 0);
	S.capture_s2c = false;
	CHECK(S.cap_s2c.n > 36);
	S.up[0] = false;
	u64 t0 = S.now;
	S.replay_at = t0 + 5000000; /* well into the silence */
	u64 r0 = cli[0]->stats.rx_replay + cli[0]->stats.rx_stale;
	CHECK_EQ(io(0, false, 0, 100, bufb, 1), -E_TIMEDOUT);
	CHECK(S.now - t0 >= cfg.dead_time_us && S.now - t0 <= cfg.dead_time_us + 2 * STEP_US);
	CHECK_EQ(cli[0]->stats.rx_replay + cli[0]->stats.rx_stale - r0, S.cap_s2c.n);
	CHECK_EQ(logged.silent, 1);
	CHECK_EQ(logged.back, 0);
	CHECK_EQ(logged.dead, 1);
}

TEST(a_write_whose_status_was_lost_lands_once_on_the_new_server)
{
	status_lost_before_restart(33, 500, 40);  /* one burst */
	status_lost_before_restart(34, 1000, 512); /* three bursts */
}

/* ---- Frame protection -------------------------------------------------------- */

/* The ledger itself: a (key, nonce) sealed twice, or a key's counter
 * going back, is counted (so wire_clean can fail). */
TEST(nonce_ledger_catches_reuse)
{
	sim_reset(40);
	u8 k1[32] = { 1 }, k2[32] = { 2 }, n[12] = { 1 };
	n[4] = 5;
	ledger_note(k1, n);
	ledger_note(k2, n);
	CHECK(wire_clean());
	ledger_note(k1, n);
	CHECK_EQ(S.nonce_reuse, 1);
	n[4] = 4;
	ledger_note(k2, n);
	CHECK_EQ(S.ctr_regress, 1);
	CHECK(!wire_clean());
}

/* Thousands of frames over a link that loses a quarter of them: every
 * retransmission is sealed again under a new counter, each key's counters
 * rise strictly and no (key, nonce) pair seals two frames. */
TEST(thousands_of_frames_never_reuse_a_nonce)
{
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 30 };
	sim_reset(41);
	CHECK_EQ(pair(&cfg), 0);
	impair(250, 50, 10, 300);
	for (unsigned k = 0; k < 24; k++) {
		u32 count = 64 + rnd(448);
		u64 lba = rnd(8192 - count + 1);
		fill(bufa, count * 512, 4100 + k);
		CHECK_EQ(io(0, true, lba, count, bufa, 1 + rnd(4)), 0);
		memset(bufb, 0, count * 512);
		CHECK_EQ(io(0, false, lba, count, bufb, 1 + rnd(4)), 0);
		CHECK(!memcmp(bufa, bufb, count * 512));
	}
	CHECK(S.sealed > 5000);
	CHECK(cli[0]->stats.retransmits > 50);
	CHECK_EQ(srv[0]->peers[0].cur.tx_key.sent, srv[0]->peers[0].cur.tx_counter);
	CHECK_EQ(cli[0]->tx.sent, cli[0]->counter);
	CHECK(wire_clean());
}

static unsigned mac_drops(void)
{
	return (unsigned)srv[0]->stats.rx_drop[NET_DROP_MAC];
}

/* Pushes f (len bytes) to server 0 and runs it: the MAC drops it caused. */
static unsigned refused(const u8 *f, size_t len)
{
	unsigned before = mac_drops();
	push(&S.to_srv[0], f, len, S.now);
	run_servers();
	return mac_drops() - before;
}

/* A sealed WRITE tampered anywhere (header, payload, tag), moved to another
 * client's session, turned around, or kept for the client's next session,
 * is refused before it touches anything; its data is not on the wire. */
TEST(sealed_frames_are_useless_elsewhere)
{
	sim_reset(42);
	CHECK_EQ(pair(NULL), 0);
	CHECK_EQ(client_start(1, 0xC11E27C11E270002ull, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[1], 5000000), 0);
	S.capture_c2s = true;
	fill(bufa, 4 * 512, 4242);
	CHECK_EQ(io(0, true, 100, 4, bufa, 1), 0);
	S.capture_c2s = false;
	int at = -1;
	for (unsigned i = 0; i < S.cap_c2s.n; i++)
		if (S.cap_c2s.p[i].buf[15] == NET_T_WRITE)
			at = (int)i;
	CHECK(at >= 0);
	const struct pkt *w = &S.cap_c2s.p[at];
	size_t len = w->len;
	u8 f[NET_FRAME_MAX];
	/* The payload is not in the clear: no 16 bytes of it on the wire. */
	for (unsigned off = 0; off + 16 <= 4 * 512; off += 16)
		for (size_t i = 0; i + 16 <= len; i++)
			CHECK(memcmp(w->buf + i, bufa + off, 16) != 0);
	unsigned writes = disk[0].writes;
	/* Tampered: a header field (the tag, 46), a payload byte, the tag. */
	static const unsigned spots[] = { 16, 20, 38, 46, 54, 70, 300, 1 };
	for (unsigned i = 0; i < ARRAY_SIZE(spots); i++) {
		memcpy(f, w->buf, len);
		size_t off = spots[i] == 1 ? len - 1 : spots[i];
		f[off] ^= 0x20;
		CHECK_EQ(refused(f, len), 1);
	}
	/* The same frame addressed as client 1's (its address, session and
	 * ticket): it lands on client 1's binding and fails there. */
	memcpy(f, w->buf, len);
	cmac(1, f + 6);
	memcpy(f + 22, &cli[1]->cfg.session, 8);
	memcpy(f + 30, &cli[1]->ticket, 8);
	CHECK_EQ(refused(f, len), 1);
	/* The other direction of the same session, and the other session. */
	struct net_msg m;
	memcpy(f, w->buf, len);
	CHECK_EQ(net_decode(f, len, &cli[0]->rx, NULL, &m), NET_DROP_MAC);
	CHECK_EQ(net_decode(f, len, &cli[1]->tx, NULL, &m), NET_DROP_MAC);
	CHECK(!memcmp(f, w->buf, len)); /* a refused frame is left as it was */
	CHECK_EQ(net_decode(f, len, &srv[0]->peers[0].cur.rx_key, NULL, &m), NET_OK);
	CHECK(!memcmp(m.data, bufa + m.b.data.chunk * cli[0]->csize, m.data_len)); /* the control: it opens */
	/* The client's next session (a new handshake): the old frame under the
	 * new ticket is refused, while the client's new frames are taken. */
	CHECK_EQ(net_client_discover(cli[0], 5000000), 0);
	memcpy(f, w->buf, len);
	memcpy(f + 30, &cli[0]->ticket, 8);
	CHECK_EQ(refused(f, len), 1);
	CHECK_EQ(disk[0].writes, writes);
	CHECK_EQ(io(0, false, 100, 4, bufb, 1), 0);
	CHECK(!memcmp(bufa, bufb, 4 * 512));
	CHECK(wire_clean());
}

/* net_encode refuses a counter not above the key's last: a sender cannot
 * seal two frames under one nonce even by mistake. */
TEST(encode_refuses_a_counter_that_does_not_rise)
{
	sim_reset(43);
	CHECK_EQ(pair(NULL), 0);
	struct net_key k = cli[0]->tx;
	struct net_msg m = { .type = NET_T_FLUSH, .tag = 9, .src_sess = 1, .dst_sess = 2, .counter = k.sent };
	u8 f[NET_FRAME_MAX];
	CHECK_EQ(net_encode(f, &k, &m), -E_INVAL);
	m.counter = k.sent - 1;
	CHECK_EQ(net_encode(f, &k, &m), -E_INVAL);
	m.counter = k.sent + 1;
	CHECK(net_encode(f, &k, &m) > 0);
	CHECK_EQ(k.sent, m.counter);
	CHECK_EQ(net_encode(f, &k, &m), -E_INVAL);
	/* A client whose counter was wound back by two: its next two frames
	 * are not sent (counted); the retransmission after them, under the next
	 * counter up, is. */
	u64 errs = cli[0]->stats.tx_errors;
	cli[0]->counter -= 2;
	CHECK_EQ(io(0, false, 0, 1, bufb, 1), 0);
	CHECK_EQ(cli[0]->stats.tx_errors - errs, 2);
	CHECK(cli[0]->stats.retransmits >= 2);
	CHECK(wire_clean());
}

/* ---- Many requests in flight (submit and poll) ------------------------------- */

#define AQ NET_DEPTH
#define AQ_MAX_SECT 64
static struct aslot {
	struct blk_io io;
	struct blk_seg seg[4];
	u8 *buf, *expect;
	bool busy, write, flush;
	int rc;
	unsigned seq;
} aq[AQ];
static struct {
	unsigned submitted, done, failed, bad_reads, flushes_done, flush_early;
	bool is_write[4096], write_done[4096]; /* by seq */
} A;
static u8 *a_shadow;

static void a_done(struct blk_io *io, int rc)
{
	struct aslot *s = io->ctx;
	s->busy = false;
	s->rc = rc;
	A.done++;
	if (rc) {
		A.failed++;
		return;
	}
	if (s->write && s->seq < ARRAY_SIZE(A.write_done))
		A.write_done[s->seq] = true;
	if (s->flush) {
		/* every write submitted before it has completed */
		A.flushes_done++;
		for (unsigned k = 0; k < s->seq && k < ARRAY_SIZE(A.write_done); k++)
			if (A.is_write[k] && !A.write_done[k])
				A.flush_early++;
	}
	if (!s->write && !s->flush && memcmp(s->buf, s->expect, s->io.count * 512))
		A.bad_reads++;
}

static void a_reset(void)
{
	memset(&A, 0, sizeof(A));
	for (unsigned i = 0; i < AQ; i++) {
		if (!aq[i].buf) {
			aq[i].buf = aligned_alloc(4096, AQ_MAX_SECT * 512);
			aq[i].expect = malloc(AQ_MAX_SECT * 512);
		}
		aq[i].busy = false;
	}
	if (!a_shadow)
		a_shadow = malloc(8192 * 512);
	memcpy(a_shadow, disk[0].data, 8192 * 512);
}

static struct aslot *a_free(void)
{
	for (unsigned i = 0; i < AQ; i++)
		if (!aq[i].busy)
			return &aq[i];
	return NULL;
}

/* Submits a read or write of count sectors at lba on client 0: a write's
 * data goes into the shadow now (overlapping requests run in submission
 * order), a read expects the shadow as it is now.  0, or submit's code. */
static int a_submit(bool write, u64 lba, u32 count, u32 seed)
{
	struct aslot *s = a_free();
	if (!s)
		return -E_NOSPC;
	u32 bytes = count * 512;
	*s = (struct aslot){ .buf = s->buf, .expect = s->expect, .busy = true, .write = write, .seq = A.submitted };
	if (write)
		fill(s->buf, bytes, seed);
	else
		memset(s->buf, 0xA5, bytes);
	unsigned n = make_segs(s->seg, s->buf, bytes, 1 + rnd(4));
	s->io = (struct blk_io){ .op = write ? BLK_OP_WRITE : BLK_OP_READ, .lba = lba, .count = count,
				 .segs = s->seg, .nseg = n, .done = a_done, .ctx = s };
	int rc = net_client_submit(cli[0], &s->io);
	if (rc) {
		s->busy = false;
		return rc;
	}
	if (write)
		memcpy(a_shadow + lba * 512, s->buf, bytes);
	else
		memcpy(s->expect, a_shadow + lba * 512, bytes);
	if (A.submitted < ARRAY_SIZE(A.is_write))
		A.is_write[A.submitted] = write;
	A.submitted++;
	return 0;
}

static int a_flush(void)
{
	struct aslot *s = a_free();
	if (!s)
		return -E_NOSPC;
	*s = (struct aslot){ .buf = s->buf, .expect = s->expect, .busy = true, .flush = true, .seq = A.submitted };
	s->io = (struct blk_io){ .op = BLK_OP_FLUSH, .done = a_done, .ctx = s };
	int rc = net_client_submit(cli[0], &s->io);
	if (rc) {
		s->busy = false;
		return rc;
	}
	A.submitted++;
	return 0;
}

/* Polls client 0 until nothing is held (bounded). */
static void a_drain(void)
{
	for (u64 end = S.now + 600000000ull; net_client_poll(cli[0]) && S.now < end;)
		;
}

static bool a_any_free(void)
{
	return a_free() != NULL && cli[0]->held < NET_DEPTH;
}

/* ops random reads and writes (and a FLUSH every 16), as many in flight
 * as the client takes, over [0, span) sectors; then everything is checked
 * against the shadow. */
static void pipeline_run(u64 seed, unsigned loss, unsigned dup, unsigned corrupt, unsigned ops, u32 span, bool restart,
			 unsigned nbufs)
{
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	sim_reset(seed);
	S.srv_nbufs = nbufs;
	CHECK_EQ(pair(&cfg), 0);
	a_reset();
	impair(loss, dup, corrupt, 300);
	memset(&logged, 0, sizeof(logged));
	if (restart) {
		S.down_after_writes = ops / 4;
		S.restart_delay = 2000000;
		S.restart_session = 0x5E55105E55100077ull + seed;
	}
	unsigned writes = 0;
	while (A.submitted < ops) {
		while (A.submitted < ops && a_any_free()) {
			if (rnd(16) == 0) {
				CHECK_EQ(a_flush(), 0);
				continue;
			}
			u32 count = rnd(4) == 0 ? 1 + rnd(AQ_MAX_SECT) : 1 + rnd(8);
			u64 lba = rnd(span - count + 1);
			bool w = rnd(2);
			CHECK_EQ(a_submit(w, lba, count, (u32)(seed * 100000 + A.submitted)), 0);
			writes += w;
		}
		net_client_poll(cli[0]);
	}
	a_drain();
	CHECK_EQ(cli[0]->held, 0);
	CHECK_EQ(A.done, A.submitted);
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(A.bad_reads, 0);
	CHECK_EQ(A.flush_early, 0);
	CHECK(!memcmp(disk[0].data, a_shadow, 8192 * 512));
	if (getenv("NET_STATS")) {
		stats_dump("client", &cli[0]->stats);
		stats_dump("server", &srv[0]->stats);
		printf("  wire: %llu frames, simulated %llu ms\n", (unsigned long long)S.frames,
		       (unsigned long long)(S.now - 1000000) / 1000);
	}
	CHECK(cli[0]->stats.inflight_max >= 32);
	if (!restart)
		CHECK_EQ(disk[0].writes, writes); /* each exactly once */
	else
		CHECK(cli[0]->stats.rebinds >= 1 && srv[0]->cfg.session == S.restart_session);
	/* one outage for the client, however many requests rode it out */
	CHECK_EQ(logged.silent, restart ? 1u : 0u);
	CHECK_EQ(logged.back, restart ? 1u : 0u);
	CHECK_EQ(logged.dead, 0);
	CHECK_EQ(disk[0].violations, 0);
	CHECK(wire_clean());
}

TEST(pipeline_clean_link) { pipeline_run(41, 0, 0, 0, 600, 8192, false, 64); }
TEST(pipeline_lossy_link) { pipeline_run(42, 100, 100, 20, 600, 8192, false, 64); }
TEST(pipeline_overlapping_lossy) { pipeline_run(43, 150, 100, 30, 400, 256, false, 64); }
TEST(pipeline_restart_mid_run) { pipeline_run(44, 50, 50, 10, 600, 2048, true, 64); }
TEST(pipeline_lossy_link_jumbo)
{
	run_frame = NET_FRAME_MAX;
	pipeline_run(46, 100, 100, 20, 600, 8192, false, 64);
	run_frame = 0;
}
TEST(pipeline_restart_mid_run_jumbo)
{
	run_frame = NET_FRAME_MAX;
	pipeline_run(47, 50, 50, 10, 600, 2048, true, 64);
	run_frame = 0;
}

/* A pair for many requests in flight (a buffer for each on the server),
 * the client configured by cfg (NULL: defaults), on a link of 500 us each
 * way. */
static void deep_pair(u64 seed, const struct net_client_cfg *cfg)
{
	sim_reset(seed);
	S.srv_nbufs = 64;
	CHECK_EQ(pair(cfg), 0);
	a_reset();
	S.latency = 500;
}

TEST(pipeline_keeps_the_link_busy)
{
	/* 64 reads of 4 KiB in flight on a clean link with 500 us of latency:
	 * far fewer round trips than requests, and the budget is respected. */
	deep_pair(45, NULL);
	u64 t0 = S.now;
	for (unsigned k = 0; k < 64; k++)
		CHECK_EQ(a_submit(false, k * 100, 8, 0), 0);
	CHECK_EQ(a_submit(false, 0, 8, 0), -E_NOSPC); /* the queue is full */
	CHECK(cli[0]->credit <= cli[0]->budget);
	a_drain();
	CHECK_EQ(A.done, 64);
	CHECK_EQ(A.bad_reads, 0);
	CHECK_EQ(cli[0]->stats.inflight_max, 64);
	/* 64 x 3 chunks = 192 frames in budgets of 64: about 3 round trips
	 * (1 ms each), not 64 */
	CHECK(S.now - t0 < 10 * 1000);
	CHECK_EQ(cli[0]->stats.retransmits, 0);
}

/* n waves of 64 requests of 32 KiB (23 chunks each) on client 0, each
 * wave drained before the next: the simulated time they took. */
static u64 waves(unsigned n, bool write)
{
	u64 t0 = S.now;
	for (unsigned w = 0; w < n; w++) {
		for (unsigned k = 0; k < 64; k++)
			if (a_submit(write, (u64)k * 64, 64, w * 64 + k) != 0)
				return ~0ull; /* the caller's count of completions fails */
		a_drain();
	}
	return S.now - t0;
}

TEST(an_unset_burst_widens_on_a_clean_link_up_to_its_cap)
{
	/* 1 ms round trips, requests enough to fill any budget: the budget
	 * left to adapt grows from NET_BURST to NET_BURST_MAX without a loss
	 * and moves the same reads in far less time than a fixed one. */
	const struct net_client_cfg fixed = { .burst = NET_BURST };
	deep_pair(51, &fixed);
	u64 t_fixed = waves(4, false);
	CHECK_EQ(cli[0]->budget, NET_BURST * NET_FRAME_STD); /* a set burst never moves */
	CHECK_EQ(cli[0]->stats.burst_max, NET_BURST);

	deep_pair(51, NULL);
	CHECK_EQ(cli[0]->budget, NET_BURST * NET_FRAME_STD);
	u64 t_adapt = waves(4, false);
	waves(2, true);
	CHECK_EQ(A.done, 6 * 64);
	CHECK_EQ(A.bad_reads, 0);
	CHECK(!memcmp(disk[0].data, a_shadow, 64 * 64 * 512));
	CHECK_EQ(cli[0]->budget, NET_BURST_MAX * NET_FRAME_STD);
	CHECK_EQ(cli[0]->stats.burst_max, NET_BURST_MAX);
	CHECK_EQ(cli[0]->stats.burst_cuts, 0);
	CHECK_EQ(cli[0]->stats.retransmits, 0);
	CHECK(t_adapt * 2 < t_fixed);
}

TEST(an_unset_burst_narrows_where_a_receive_queue_overflows)
{
	/* Each end's receive queue holds 90 frames (QEMU's UDP socket back
	 * end holds about that many standard frames): widening past it loses
	 * frames, and the budget halves, stays within its bounds, and every
	 * byte still arrives, each write once. */
	deep_pair(52, NULL);
	S.ring = 90;
	waves(6, false);
	waves(3, true);
	waves(2, false);
	CHECK_EQ(A.done, 11 * 64);
	CHECK_EQ(A.bad_reads, 0);
	CHECK(!memcmp(disk[0].data, a_shadow, 64 * 64 * 512));
	CHECK_EQ(disk[0].violations, 0);
	CHECK(S.ring_drops > 0);
	CHECK(cli[0]->stats.burst_cuts > 0);
	CHECK(cli[0]->stats.burst_max > NET_BURST);
	CHECK(cli[0]->budget >= NET_BURST_MIN * NET_FRAME_STD);
	CHECK(cli[0]->budget < NET_BURST_MAX * NET_FRAME_STD);
	CHECK_EQ(cli[0]->stats.failures, 0);
}

/* Requests with frames in flight (credit in the budget) on client 0. */
static unsigned requests_sending(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < NET_DEPTH; i++)
		n += cli[0]->rq[i].state == NET_RQ_ACTIVE && cli[0]->rq[i].credit;
	return n;
}

TEST(small_requests_on_a_jumbo_binding_cost_their_bytes_not_a_jumbo_frame)
{
	/* A 4 KiB read's DATA is one 4182-byte frame: 23 of them fit in the
	 * 64 * 1514-byte budget, where 10 full jumbo frames do.  Each flush is
	 * charged a standard frame, so 64 of them fit. */
	run_frame = NET_FRAME_MAX;
	sim_reset(48);
	run_frame = 0;
	S.srv_nbufs = 64;
	CHECK_EQ(pair(NULL), 0);
	CHECK_EQ(cli[0]->frame, NET_FRAME_MAX);
	a_reset();
	S.latency = 500;
	for (unsigned k = 0; k < 40; k++)
		CHECK_EQ(a_submit(false, k * 100, 8, 0), 0);
	u32 cost = NET_OVERHEAD + NET_DATA_HDR_LEN + 4096;
	CHECK_EQ(requests_sending(), NET_BURST * NET_FRAME_STD / cost);
	CHECK_EQ(cli[0]->credit, NET_BURST * NET_FRAME_STD / cost * cost);
	a_drain();
	CHECK_EQ(A.done, 40);
	CHECK_EQ(A.bad_reads, 0);
	CHECK_EQ(cli[0]->credit, 0); /* every byte came back */
	CHECK_EQ(cli[0]->stats.retransmits, 0);
}

TEST(clean_link_sizes_jumbo)
{
	run_frame = NET_FRAME_MAX;
	memset(&logged, 0, sizeof(logged));
	clean_link_sizes_run();
	run_frame = 0;
	CHECK_EQ(cli[0]->frame, NET_FRAME_MAX);
	CHECK_EQ(cli[0]->csize, NET_CHUNK_MAX);
	CHECK_EQ(srv[0]->peers[0].cur.csize, NET_CHUNK_MAX);
	CHECK_EQ(logged.jumbo, 1);
	CHECK_EQ(logged.fallback, 0);
	CHECK_EQ(S.amplified, 0); /* the padded COOKIE is no longer than its HELLO */
	/* A 256 KiB read is 30 DATA frames of up to 8928 bytes, in rounds of
	 * 10 (64 standard frames' bytes: 64 * 1514 / 9014): 3 READs. */
	CHECK_EQ(cli[0]->budget, NET_BURST * NET_FRAME_STD);
	u64 f0 = S.frames;
	CHECK_EQ(io(0, false, 0, 512, bufb, 3), 0);
	CHECK_EQ(S.frames - f0, 30 + 3);
}

TEST(a_link_that_drops_jumbo_frames_falls_back_to_standard_ones)
{
	/* Both ends take 9014 bytes, the switch between them 1514: the
	 * padded HELLOs vanish, the plain one that follows from the
	 * NET_HELLO_PROBES-th try is answered, and the binding says why. */
	run_frame = NET_FRAME_MAX;
	sim_reset(51);
	run_frame = 0;
	S.link_frame = NET_FRAME_STD;
	memset(&logged, 0, sizeof(logged));
	u64 t0 = S.now;
	CHECK_EQ(pair(NULL), 0);
	CHECK(S.now - t0 < 200 * 1000); /* about three RTOs, not a discovery timeout */
	CHECK_EQ(cli[0]->frame, NET_FRAME_STD);
	CHECK_EQ(cli[0]->csize, NET_CHUNK_STD);
	CHECK_EQ(srv[0]->peers[0].cur.csize, NET_CHUNK_STD);
	CHECK_EQ(logged.fallback, 1);
	CHECK_EQ(logged.jumbo, 0);
	CHECK_EQ(S.link_drops, NET_HELLO_PROBES + 1); /* the padded HELLOs of the three tries */
	CHECK_EQ(cli[0]->stats.retransmits, NET_HELLO_PROBES); /* the HELLO's */
	u64 drops = S.link_drops;
	fill(bufa, 512 * 300, 9);
	CHECK_EQ(io(0, true, 100, 300, bufa, 3), 0);
	CHECK_EQ(io(0, false, 100, 300, bufb, 2), 0);
	CHECK(!memcmp(bufa, bufb, 512 * 300));
	CHECK_EQ(S.link_drops, drops); /* nothing more lost */
	CHECK_EQ(cli[0]->stats.retransmits, NET_HELLO_PROBES);
}

TEST(a_server_with_standard_frames_keeps_a_jumbo_client_at_1514)
{
	sim_reset(52);
	S.cli_frame = NET_FRAME_MAX;
	memset(&logged, 0, sizeof(logged));
	CHECK_EQ(pair(NULL), 0);
	CHECK_EQ(cli[0]->frame, NET_FRAME_STD);
	CHECK_EQ(cli[0]->server_max_frame, NET_FRAME_STD);
	CHECK_EQ(logged.peer_std, 1);
	CHECK_EQ(logged.fallback, 0);
	CHECK_EQ(S.amplified, 0);
	/* The server answered the padded HELLO with a COOKIE no longer than
	 * its own frames, and nothing else of it exceeded them. */
	fill(bufa, 512 * 64, 3);
	CHECK_EQ(io(0, true, 0, 64, bufa, 1), 0);
	CHECK_EQ(io(0, false, 0, 64, bufb, 1), 0);
	CHECK(!memcmp(bufa, bufb, 512 * 64));
	CHECK_EQ(S.link_drops, 0);
	/* and the other way round: a standard client, a jumbo server */
	sim_reset(53);
	S.srv_frame = NET_FRAME_MAX;
	CHECK_EQ(pair(NULL), 0);
	CHECK_EQ(cli[0]->frame, NET_FRAME_STD);
	CHECK_EQ(srv[0]->peers[0].cur.csize, NET_CHUNK_STD);
	CHECK_EQ(io(0, true, 0, 64, bufa, 1), 0);
	CHECK_EQ(S.longest, NET_FRAME_STD);
	CHECK_EQ(S.amplified, 0); /* a plain HELLO gets a plain COOKIE */
}

TEST(a_rebinding_to_smaller_frames_cuts_requests_in_flight_anew)
{
	/* Large writes and reads in flight under jumbo frames when the path
	 * stops carrying them: the requests time out, the rebinding falls
	 * back to 1514 bytes, and they finish in the new chunk size, the
	 * server's half-gathered writes gathered again. */
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	run_frame = NET_FRAME_MAX;
	sim_reset(54);
	run_frame = 0;
	S.srv_nbufs = 64;
	CHECK_EQ(pair(&cfg), 0);
	CHECK_EQ(cli[0]->frame, NET_FRAME_MAX);
	a_reset();
	memset(&logged, 0, sizeof(logged));
	for (unsigned k = 0; k < 24; k++)
		CHECK_EQ(a_submit(k % 3 != 2, (k * 300) % 7600, 40 + k, 700 + k), 0);
	for (unsigned n = 0; n < 3; n++)
		net_client_poll(cli[0]); /* some chunks have reached the server */
	S.link_frame = NET_FRAME_STD;
	a_drain();
	CHECK_EQ(A.done, A.submitted);
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(A.bad_reads, 0);
	CHECK(!memcmp(disk[0].data, a_shadow, 8192 * 512));
	CHECK_EQ(cli[0]->frame, NET_FRAME_STD);
	CHECK(cli[0]->stats.rebinds >= 1);
	CHECK_EQ(logged.fallback, 1);
	CHECK_EQ(disk[0].violations, 0);
}

static u8 *flush_expect;
static unsigned flush_bad, flush_calls;
static void check_flush(void)
{
	flush_calls++;
	if (memcmp(disk[0].data, flush_expect, 4096 * 512))
		flush_bad++;
}

TEST(flush_completes_after_every_earlier_write)
{
	/* 48 writes to the first half of the disk, a FLUSH, 15 writes to the
	 * second half, all in flight together over a lossy link: whenever the
	 * server's disk flushes, every write before the FLUSH is on it, and
	 * when the FLUSH completes every one of them has completed. */
	sim_reset(46);
	S.srv_nbufs = 64;
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	CHECK_EQ(pair(&cfg), 0);
	a_reset();
	impair(150, 100, 20, 300);
	for (unsigned k = 0; k < 48; k++) {
		u32 count = 1 + rnd(AQ_MAX_SECT);
		CHECK_EQ(a_submit(true, rnd(4096 - count + 1), count, 4600 + k), 0);
	}
	if (!flush_expect)
		flush_expect = malloc(4096 * 512);
	memcpy(flush_expect, a_shadow, 4096 * 512);
	flush_bad = flush_calls = 0;
	S.flush_hook = check_flush;
	CHECK_EQ(a_flush(), 0);
	for (unsigned k = 0; k < 15; k++)
		CHECK_EQ(a_submit(true, 4096 + rnd(4000), 8, 4700 + k), 0);
	CHECK(cli[0]->stats.inflight_max == 64);
	a_drain();
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(A.flushes_done, 1);
	CHECK_EQ(A.flush_early, 0);
	CHECK(flush_calls >= 1);
	CHECK_EQ(flush_bad, 0);
	CHECK(!memcmp(disk[0].data, a_shadow, 8192 * 512));
	CHECK_EQ(disk[0].writes, 63);
	CHECK(wire_clean());
}

TEST(overlapping_writes_land_in_submission_order)
{
	/* 60 writes over the same 64 sectors, each of other data, all in
	 * flight over a link that reorders (jitter) and loses: the disk ends
	 * as the last write of each sector says, and each write landed once. */
	sim_reset(47);
	S.srv_nbufs = 64;
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	CHECK_EQ(pair(&cfg), 0);
	a_reset();
	impair(200, 100, 0, 2000);
	for (unsigned k = 0; k < 60; k++) {
		u32 count = 1 + rnd(64);
		CHECK_EQ(a_submit(true, 100 + rnd(64 - count + 1), count, 4800 + k), 0);
	}
	a_drain();
	CHECK_EQ(A.failed, 0);
	CHECK(!memcmp(disk[0].data, a_shadow, 8192 * 512));
	CHECK_EQ(disk[0].writes, 60);
	CHECK(wire_clean());
}

/* W0 (sectors 500-507), R (a read of 500-507) and W1 (64-71) submitted
 * on a fresh pair whose wire loses every frame of W0 and W1 (their tags
 * t0 and t0 + 2), capturing what the client sends; one timeout and no
 * dead time, so both writes end in -E_TIMEDOUT soon. */
static bool lose_two_writes_behind_a_read(unsigned seed, u64 *t0)
{
	sim_reset(seed);
	S.srv_nbufs = 64;
	if (pair(NULL) != 0)
		return false;
	a_reset();
	cli[0]->cfg.retries = 1;
	cli[0]->cfg.dead_time_us = 1;
	*t0 = cli[0]->next_tag;
	S.drop_tag[0] = *t0;     /* W0 */
	S.drop_tag[1] = *t0 + 2; /* W1 */
	S.capture_c2s = true;
	return a_submit(true, 500, 8, 1) == 0 && a_submit(false, 500, 8, 0) == 0 && a_submit(true, 64, 8, 2) == 0;
}

/* The captured frames of tag turn up at server 0 after all, late. */
static void replay_late(u64 tag)
{
	struct queue late = { malloc(QCAP * sizeof(struct pkt)), 0 };
	for (unsigned i = 0; i < S.cap_c2s.n; i++) {
		u64 t;
		memcpy(&t, S.cap_c2s.p[i].buf + 46, 8);
		if (t == tag)
			push(&late, S.cap_c2s.p[i].buf, S.cap_c2s.p[i].len, 0);
	}
	memset(S.drop_tag, 0, sizeof(S.drop_tag));
	replay_into(&late, &S.to_srv[0]);
	free(late.p);
	run_servers();
}

TEST(a_timed_out_write_never_lands_after_a_later_overlapping_one)
{
	/* W0 (sectors 500-507) and W1 (64-71) never reach the server and time
	 * out together; R (a read of 500-507, after W0) is then the oldest
	 * request, so the floor (tag - live) is R's, below W1.  W2 (64-71,
	 * after W1) must not go until the floor has passed W1: every one of
	 * its frames says so.  W1's frames then arrive after all: dropped, the
	 * disk keeps W2's data. */
	u64 t0;
	CHECK(lose_two_writes_behind_a_read(48, &t0));
	CHECK_EQ(a_submit(true, 64, 8, 3), 0);
	struct aslot *w2 = &aq[3];
	CHECK_EQ(w2->io.lba, 64);
	unsigned failed = logged.failed;
	a_drain();
	S.capture_c2s = false;
	CHECK_EQ(aq[0].rc, -E_TIMEDOUT);
	CHECK_EQ(aq[2].rc, -E_TIMEDOUT);
	/* Each failure is named in the log, and counted. */
	CHECK(logged.failed - failed >= 2);
	CHECK(cli[0]->stats.failures >= 2);
	CHECK_EQ(aq[1].rc, 0);
	CHECK_EQ(w2->rc, 0);
	CHECK(!memcmp(disk[0].data + 64 * 512, w2->buf, 8 * 512));
	/* W2's frames carry a floor above W1; W1's are held back */
	unsigned w2_frames = 0, w1_frames = 0;
	for (unsigned i = 0; i < S.cap_c2s.n; i++) {
		struct pkt *p = &S.cap_c2s.p[i];
		u64 tag;
		u16 live;
		memcpy(&tag, p->buf + 46, 8);
		memcpy(&live, p->buf + 20, 2);
		if (tag == t0 + 3) {
			w2_frames++;
			CHECK(tag - live > t0 + 2);
		}
		w1_frames += tag == t0 + 2;
	}
	CHECK(w2_frames >= 1 && w1_frames >= 1);
	/* W1's frames turn up late: the server drops them */
	u64 writes = disk[0].writes, stale = srv[0]->stats.rx_stale;
	replay_late(t0 + 2);
	CHECK(srv[0]->stats.rx_stale - stale >= w1_frames);
	CHECK_EQ(disk[0].writes, writes);
	CHECK(!memcmp(disk[0].data + 64 * 512, w2->buf, 8 * 512));
}

TEST(a_flush_waits_until_no_abandoned_write_can_land)
{
	/* W0 (500-507) and W1 (64-71) are lost and time out; R (read 500-507)
	 * is then the oldest held, so the floor stays R's, below W1.  F (a
	 * FLUSH after W1) must wait until the floor has passed W1, so that
	 * W1's late frames, played to the server after F completed, are
	 * dropped instead of landing after a FLUSH that followed them. */
	u64 t0;
	CHECK(lose_two_writes_behind_a_read(92, &t0));
	CHECK_EQ(a_flush(), 0);
	a_drain();
	S.capture_c2s = false;
	CHECK_EQ(aq[2].rc, -E_TIMEDOUT);
	CHECK_EQ(aq[3].rc, 0); /* the FLUSH completed */
	u64 flushes = disk[0].flushes;
	CHECK(flushes >= 1);
	u64 writes = disk[0].writes;
	replay_late(t0 + 2); /* W1's frames turn up after the FLUSH */
	CHECK_EQ(disk[0].writes, writes); /* W1 never lands */
}

/* ---- Several exports (net/exports.h) ------------------------------------------ */

static struct net_exports xt;

/* Server 0 exporting both RAM disks: export 0 disk A, export 1 disk B. */
static void exports_table(const char *clients0, const char *clients1, bool shared)
{
	xt = (struct net_exports){ .n = 2 };
	xt.e[0] = (struct net_export){ .name = "a", .dev = &disk[0].dev, .clients = clients0, .shared = shared };
	xt.e[1] = (struct net_export){ .name = "b", .dev = &disk[1].dev, .clients = clients1, .shared = shared };
}

/* Server 0 (boot session session) on the table xt as it stands. */
static int server_init_exports(u64 session, u64 evict_us)
{
	struct net_server_cfg cfg = { .key = KEY, .key_len = strlen(KEY), .session = session, .exports = &xt,
				      .evict_idle_us = evict_us, .buf = srvbuf[0], .buf_size = 2 * NET_MAX_REQ_BYTES };
	smac(0, cfg.mac);
	S.sport[0] = (struct port){ .idx = 0, .server = true };
	struct net_link link = { &S.sport[0], wire_send, srv_recv, clock_now };
	S.to_srv[0].n = 0;
	int rc = net_server_init(srv[0], &cfg, &link);
	S.up[0] = rc == 0;
	return rc;
}

static int server_start_exports(const char *clients0, const char *clients1, bool shared, u64 evict_us)
{
	exports_table(clients0, clients1, shared);
	return server_init_exports(0x5E5E, evict_us);
}

static int named_client(unsigned i, const char *name, u16 dev)
{
	struct net_client_cfg cfg = { .name = name, .dev = dev };
	return client_start(i, 0xC100 + i, &cfg, KEY);
}

TEST(two_exports_two_clients)
{
	sim_reset(40);
	CHECK_EQ(server_start_exports("alice", "bob", false, 0), 0);
	/* Asking for no export in particular, each gets the first that lists it. */
	CHECK_EQ(named_client(0, "alice", NET_DEV_ANY), 0);
	CHECK_EQ(named_client(1, "bob", NET_DEV_ANY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	CHECK_EQ(cli[0]->cfg.dev, 0);
	CHECK_EQ(cli[1]->cfg.dev, 1);
	CHECK_EQ(net_client_blk(cli[0])->info.sectors, 8192);
	CHECK_EQ(net_client_blk(cli[1])->info.sectors, 4096);
	CHECK_STR(net_client_blk(cli[1])->info.model, "RAM DISK B");
	/* Both write at once, each on its own disk. */
	fill(bufa, 64 * 512, 1);
	CHECK_EQ(io(0, true, 100, 64, bufa, 3), 0);
	fill(bufb, 64 * 512, 2);
	CHECK_EQ(io(1, true, 100, 64, bufb, 3), 0);
	CHECK(!memcmp(disk[0].data + 100 * 512, bufa, 64 * 512));
	CHECK(!memcmp(disk[1].data + 100 * 512, bufb, 64 * 512));
	u8 *back = aligned_alloc(4096, 64 * 512);
	CHECK_EQ(io(0, false, 100, 64, back, 2), 0);
	CHECK(!memcmp(back, bufa, 64 * 512));
	CHECK_EQ(io(1, false, 100, 64, back, 2), 0);
	CHECK(!memcmp(back, bufb, 64 * 512));
	/* A client bound to export 1 that names device 0 in its requests
	 * reaches nothing of export 0. */
	unsigned w0 = disk[0].writes, r0 = disk[0].reads;
	cli[1]->cfg.dev = 0;
	CHECK_EQ(io(1, true, 0, 8, bufb, 1), -E_NOENT);
	CHECK_EQ(io(1, false, 0, 8, back, 1), -E_NOENT);
	CHECK_EQ(disk[0].writes, w0);
	CHECK_EQ(disk[0].reads, r0);
	free(back);
	CHECK(wire_clean());
}

TEST(an_export_not_listed_for_the_client_is_refused)
{
	sim_reset(41);
	CHECK_EQ(server_start_exports("alice", "bob", false, 0), 0);
	u8 *before = malloc(8192 * 512);
	memcpy(before, disk[0].data, 8192 * 512);
	/* bob pinned to this server: final at once, not after the timeout. */
	struct net_client_cfg pinned = { .name = "bob", .dev = 0, .want_server = true };
	smac(0, pinned.server_mac);
	CHECK_EQ(client_start(1, 0xC101, &pinned, KEY), 0);
	u64 t0 = S.now;
	CHECK_EQ(net_client_discover(cli[1], 30000000), -E_ACCES);
	CHECK(S.now - t0 < 2000000);
	CHECK_EQ(cli[1]->refused, NET_ST_DENIED);
	/* Looking for any server: another might serve him, so he asks until
	 * the timeout and reports the denial then. */
	CHECK_EQ(named_client(1, "bob", 0), 0);
	t0 = S.now;
	CHECK_EQ(net_client_discover(cli[1], 3000000), -E_ACCES);
	CHECK(S.now - t0 >= 3000000);
	CHECK_EQ(cli[1]->refused, NET_ST_DENIED);
	CHECK_EQ(cli[1]->ndenied, 1);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_DENIED);
	CHECK_EQ(srv[0]->refused.dev, 0);
	CHECK_STR(srv[0]->refused.name, "bob");
	CHECK_EQ(srv[0]->stats.binds, 0);
	CHECK_EQ(disk[0].reads + disk[0].writes, 0);
	CHECK(!memcmp(before, disk[0].data, 8192 * 512));
	/* A device the server does not have: no answer at all (another
	 * server may have it). */
	CHECK_EQ(named_client(2, "carol", 7), 0);
	CHECK_EQ(net_client_discover(cli[2], 2000000), -E_TIMEDOUT);
	free(before);
}

TEST(a_second_writer_of_an_unshared_export_is_refused)
{
	sim_reset(42);
	CHECK_EQ(server_start_exports(NULL, NULL, false, 20000000), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(named_client(1, "bob", 0), 0);
	CHECK_EQ(net_client_discover(cli[1], 3000000), -E_TIMEDOUT);
	CHECK_EQ(cli[1]->refused, NET_ST_TAKEN);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_TAKEN);
	CHECK_EQ(srv[0]->refused.holder.kind, NET_WRITER_FERRY);
	CHECK_STR(srv[0]->refused.holder.name, "alice");
	CHECK_EQ(xt.refused > 0, 1);
	/* The first writer goes on working. */
	fill(bufa, 16 * 512, 3);
	CHECK_EQ(io(0, true, 8, 16, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data + 8 * 512, bufa, 16 * 512));
	/* Another export of the same server is bob's to take. */
	CHECK_EQ(named_client(2, "bob", 1), 0);
	CHECK_EQ(net_client_discover(cli[2], 1000000), 0);
	/* The same client rebinding (its reboot) is the same writer. */
	CHECK_EQ(client_start(0, 0xC1A2, &(struct net_client_cfg){ .name = "alice", .dev = 0 }, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	/* Once the first writer has been silent past the eviction bound, its
	 * export is free. */
	S.now += 21000000;
	CHECK_EQ(named_client(1, "bob2", 0), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	CHECK_EQ(xt.e[0].writer.kind, NET_WRITER_FERRY);
	CHECK_STR(xt.e[0].writer.name, "bob2");
	/* ... and alice, still bound, may only read: her write is refused
	 * (TAKEN) and changes nothing on the disk. */
	fill(bufb, 16 * 512, 4);
	CHECK_EQ(io(1, true, 8, 16, bufb, 1), 0);
	fill(bufa, 16 * 512, 5);
	CHECK_EQ(io(0, true, 8, 16, bufa, 1), -E_EXIST);
	CHECK(!memcmp(disk[0].data + 8 * 512, bufb, 16 * 512));
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_TAKEN);
	CHECK_STR(srv[0]->refused.name, "alice");
	CHECK_STR(srv[0]->refused.holder.name, "bob2");
	memset(bufa, 0, 16 * 512);
	CHECK_EQ(io(0, false, 8, 16, bufa, 1), 0);
	CHECK(!memcmp(bufa, bufb, 16 * 512));
}

/* After a server restart whose export lines were reordered (twin disks:
 * one kind and size, no serial, as QEMU's default virtio-blk disks of one
 * size), a client pinned to device 0 must not go on writing another
 * export's disk: DEVINFO's export ID (the name's) tells them apart. */
TEST(a_rebinding_to_another_export_of_twin_disks_is_a_mismatch)
{
	sim_reset(94);
	disk_init(1, 8192, 512, 65535, "RAM DISK A"); /* a twin of disk 0 */
	disk[0].dev.info.serial[0] = disk[1].dev.info.serial[0] = 0;
	CHECK_EQ(server_start_exports(NULL, NULL, true, 0), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(cli[0]->export_id, net_export_id("a"));
	fill(bufa, 8 * 512, 11);
	CHECK_EQ(io(0, true, 7, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data + 7 * 512, bufa, 8 * 512));
	/* The restart: the lines swapped, each name with its disk. */
	struct net_export t = xt.e[0];
	xt.e[0] = xt.e[1];
	xt.e[1] = t;
	CHECK_EQ(server_init_exports(0x5E5E0002, 0), 0);
	unsigned w1 = disk[1].writes;
	fill(bufb, 8 * 512, 12);
	CHECK(io(0, true, 7, 8, bufb, 1) != 0);
	CHECK_EQ(disk[1].writes, w1);
	CHECK_EQ(cli[0]->stats.rebind_mismatch, 1);
	CHECK(!memcmp(disk[0].data + 7 * 512, bufa, 8 * 512));
	/* The same order again after another restart: the rebinding is fine. */
	sim_reset(96);
	disk_init(1, 8192, 512, 65535, "RAM DISK A");
	disk[0].dev.info.serial[0] = disk[1].dev.info.serial[0] = 0;
	CHECK_EQ(server_start_exports(NULL, NULL, true, 0), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(server_init_exports(0x5E5E0003, 0), 0);
	CHECK_EQ(io(0, true, 7, 8, bufb, 1), 0);
	CHECK(!memcmp(disk[0].data + 7 * 512, bufb, 8 * 512));
	CHECK_EQ(cli[0]->stats.rebind_mismatch, 0);
}

/* Discovery without a server named: a server whose exports do not list
 * the client must not hide another on the segment that would serve it. */
TEST(a_denying_server_does_not_hide_another_that_would_serve)
{
	sim_reset(93);
	CHECK_EQ(server_start_exports("alice", "alice", false, 0), 0);
	CHECK_EQ(server_start(1, 0x5E2, false, KEY), 0);
	CHECK_EQ(named_client(0, "carol", NET_DEV_ANY), 0);
	CHECK_EQ(net_client_discover(cli[0], 3000000), 0);
	CHECK_EQ(srv[0]->refused.why, NET_REFUSE_DENIED);
	CHECK_STR(srv[0]->refused.name, "carol");
	CHECK_STR(net_client_blk(cli[0])->info.model, "RAM DISK B");
	fill(bufa, 8 * 512, 10);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[1].data, bufa, 8 * 512));
	CHECK_EQ(disk[0].writes, 0);
}

/* A writer idle past the eviction bound (a mounted, quiet file system)
 * whose record went to another client: its next write is refused, not
 * applied over the new writer's data; once the other has lapsed in turn,
 * it is the writer again. */
TEST(a_writer_whose_record_lapsed_cannot_write_under_the_new_writer)
{
	sim_reset(90);
	CHECK_EQ(server_start_exports(NULL, NULL, false, 20000000), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	fill(bufa, 8 * 512, 5);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), 0);
	S.now += 21000000;
	CHECK_EQ(named_client(1, "bob", 0), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	CHECK_STR(xt.e[0].writer.name, "bob");
	fill(bufb, 8 * 512, 6);
	CHECK_EQ(io(1, true, 0, 8, bufb, 1), 0);
	unsigned w0 = disk[0].writes;
	fill(bufa, 8 * 512, 7);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), -E_EXIST);
	CHECK_EQ(disk[0].writes, w0);
	CHECK(!memcmp(disk[0].data, bufb, 8 * 512));
	/* bob's writes go on. */
	fill(bufb, 8 * 512, 8);
	CHECK_EQ(io(1, true, 0, 8, bufb, 1), 0);
	CHECK(!memcmp(disk[0].data, bufb, 8 * 512));
	/* bob idle past the bound: alice's write takes the export back. */
	S.now += 21000000;
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 8 * 512));
	CHECK_STR(xt.e[0].writer.name, "alice");
	CHECK_EQ(io(1, true, 0, 8, bufb, 1), -E_EXIST);
	CHECK(!memcmp(disk[0].data, bufa, 8 * 512));
}

/* The same across protocols: an AoE initiator that took the export from
 * an idle ferry writer (aoe_may_write's claim) is not written over by it. */
TEST(a_lapsed_ferry_writer_cannot_write_under_an_aoe_writer)
{
	sim_reset(91);
	CHECK_EQ(server_start_exports(NULL, NULL, false, 20000000), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	S.now += 21000000;
	struct net_writer w = { .kind = NET_WRITER_AOE, .mac = { 0x52, 0x54, 0, 0xc1, 0, 9 } };
	CHECK_EQ(net_export_claim(&xt, 0, &w, S.now, NULL), 0);
	memcpy(bufb, disk[0].data, 8 * 512);
	fill(bufa, 8 * 512, 8);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), -E_EXIST);
	CHECK(!memcmp(disk[0].data, bufb, 8 * 512));
	CHECK_EQ(srv[0]->refused.holder.kind, NET_WRITER_AOE);
}

/* AoE is unauthenticated: a forged AoE write per lease must not keep an
 * authenticated ferry client out.  Its BIND takes the export (noted for
 * the log); the initiator's writes are refused from then on. */
TEST(a_ferry_bind_wins_over_an_aoe_writer)
{
	sim_reset(95);
	CHECK_EQ(server_start_exports(NULL, NULL, false, 20000000), 0);
	struct net_writer w = { .kind = NET_WRITER_AOE, .mac = { 0x52, 0x54, 0, 0xc1, 0, 0x66 } };
	CHECK_EQ(net_export_claim(&xt, 0, &w, S.now, NULL), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(xt.e[0].writer.kind, NET_WRITER_FERRY);
	CHECK_STR(xt.e[0].writer.name, "alice");
	CHECK_EQ(srv[0]->took_over.count, 1);
	CHECK_EQ(srv[0]->took_over.dev, 0);
	CHECK_STR(srv[0]->took_over.name, "alice");
	CHECK(!memcmp(srv[0]->took_over.from.mac, w.mac, ETH_ALEN));
	CHECK_EQ(net_export_claim(&xt, 0, &w, S.now + 1000, NULL), -E_EXIST);
	fill(bufa, 8 * 512, 9);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 8 * 512));
}

TEST(shared_and_read_only_exports_take_several_clients)
{
	sim_reset(43);
	CHECK_EQ(server_start_exports(NULL, NULL, true, 0), 0);
	CHECK_EQ(named_client(0, "alice", 0), 0);
	CHECK_EQ(named_client(1, "bob", 0), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	fill(bufa, 8 * 512, 4);
	CHECK_EQ(io(1, true, 0, 8, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 8 * 512));
	/* ... and both write: shared means no writer rule. */
	fill(bufb, 8 * 512, 5);
	CHECK_EQ(io(0, true, 8, 8, bufb, 1), 0);
	CHECK(!memcmp(disk[0].data + 8 * 512, bufb, 8 * 512));
	/* Read-only, unshared: readers are no writers, and none writes. */
	sim_reset(44);
	exports_table(NULL, NULL, false);
	xt.e[1].read_only = true; /* as the configuration says it, before the server starts */
	CHECK_EQ(server_init_exports(0x5E5E, 0), 0);
	CHECK_EQ(named_client(0, "alice", 1), 0);
	CHECK_EQ(named_client(1, "bob", 1), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	CHECK_EQ(srv[0]->stats.binds, 2);
	CHECK(net_client_blk(cli[0])->info.read_only);
	unsigned w1 = disk[1].writes;
	fill(bufa, 8 * 512, 6);
	CHECK_EQ(io(0, true, 0, 8, bufa, 1), -E_ROFS);
	CHECK_EQ(io(1, true, 0, 8, bufa, 1), -E_ROFS);
	CHECK_EQ(disk[1].writes, w1);
	CHECK_EQ(io(1, false, 0, 8, bufb, 1), 0);
	CHECK(!memcmp(bufb, disk[1].data, 8 * 512));
}

/* ---- The server's disk path on a disk with submit --------------------------- */

/* pipeline_run's checks, and that the server kept the disk busy: many
 * requests on it at once, finished out of order. */
static void async_pipeline(unsigned depth, unsigned nbufs, u64 seed, unsigned loss, u32 span, bool restart)
{
	run_async = depth;
	pipeline_run(seed, loss, loss, loss / 5, 500, span, restart, nbufs);
	run_async = 0;
	CHECK(disk[0].submits > 0);
	CHECK(disk[0].most >= MIN(depth, MIN(nbufs, 4u)));
	CHECK(disk[0].out_of_order > 0);
	CHECK(restart || srv[0]->stats.disk_max >= disk[0].most); /* a restart: the new boot counts anew */
	CHECK(rx_accounted(&srv[0]->stats));
}

TEST(async_disk_pipeline_clean) { async_pipeline(32, 64, 61, 0, 8192, false); }
TEST(async_disk_pipeline_lossy_overlapping) { async_pipeline(32, 64, 62, 150, 256, false); }
TEST(async_disk_pipeline_restart) { async_pipeline(32, 64, 63, 50, 2048, true); }
/* Two at a time on the disk: the rest wait in the server, in order. */
TEST(async_disk_pipeline_shallow_queue) { async_pipeline(2, 64, 64, 100, 512, false); }

TEST(async_disk_every_buffer_on_the_disk)
{
	/* Four buffers for 64 requests in flight: requests that find every
	 * buffer on the disk are dropped (counted) and sent again. */
	async_pipeline(32, 4, 65, 0, 1024, false);
	CHECK(srv[0]->stats.rx_busy > 0);
}

static unsigned srv_disk_bufs(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < srv[0]->nbufs; i++)
		n += srv[0]->bufs[i].state == NET_BUF_DISK;
	return n;
}

static bool b_done_flag;
static int b_rc;
static void b_done(struct blk_io *io, int rc)
{
	(void)io;
	b_done_flag = true;
	b_rc = rc;
}

TEST(async_disk_a_second_client_gets_its_share_of_the_buffers)
{
	/* Client 0 keeps all 8 buffers on a slow disk (24 reads of 5 ms
	 * each); client 1's read, sent meanwhile, gets a buffer once client
	 * 0 is down to its share (4), not when it has run out of requests. */
	run_async = 8;
	sim_reset(69);
	S.srv_nbufs = 8;
	struct net_client_cfg c0 = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	CHECK_EQ(pair(&c0), 0);
	struct net_client_cfg c1 = { .name = "bob", .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	CHECK_EQ(client_start(1, 0xC11E27C11E270169ull, &c1, KEY), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	run_async = 0;
	a_reset();
	S.now += 1100000; /* bob's handshake is past: alice is the only one active */
	rd_delay_us = 5000;
	for (unsigned i = 0; i < 24; i++)
		CHECK_EQ(a_submit(false, 8 * i, 8, 0), 0);
	for (u64 end = S.now + 2000; S.now < end;)
		net_client_poll(cli[0]);
	CHECK_EQ(srv_disk_bufs(), 8);
	u8 got[8 * 512];
	struct blk_seg seg = { (hpa_t)(uintptr_t)got, sizeof(got) };
	struct blk_io io = { .op = BLK_OP_READ, .lba = 1000, .count = 8, .segs = &seg, .nseg = 1, .done = b_done };
	b_done_flag = false;
	CHECK_EQ(net_client_submit(cli[1], &io), 0);
	unsigned alice_done = 0;
	for (u64 end = S.now + 2000000; S.now < end && !b_done_flag;) {
		net_client_poll(cli[0]);
		net_client_poll(cli[1]);
		alice_done = A.done;
	}
	CHECK(b_done_flag);
	CHECK_EQ(b_rc, 0);
	CHECK(!memcmp(got, disk[0].data + 1000 * 512, sizeof(got)));
	CHECK(srv[0]->stats.rx_busy > 0);
	CHECK(alice_done <= 12);
	rd_delay_us = 0;
	a_drain();
	CHECK_EQ(A.done, 24);
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(A.bad_reads, 0);
}

TEST(a_client_at_its_share_of_given_up_writes_still_gets_a_buffer)
{
	/* Client 0 holds its share (4 of 8, bob being active) in writes
	 * under reassembly that it gave up on and whose tags its floor has not
	 * passed: its next read takes the place of the oldest of them instead
	 * of being refused until it times out. */
	sim_reset(70);
	S.srv_nbufs = 8;
	CHECK_EQ(pair(NULL), 0);
	struct net_client_cfg c1 = { .name = "bob" };
	CHECK_EQ(client_start(1, 0xC11E27C11E270170ull, &c1, KEY), 0);
	CHECK_EQ(net_client_discover(cli[1], 1000000), 0);
	unsigned idx = 0;
	while (idx < NET_SRV_PEERS && strncmp(srv[0]->peers[idx].name, default_name(0), NET_NAME_MAX))
		idx++;
	CHECK(idx < NET_SRV_PEERS);
	for (unsigned i = 0; i < 4; i++) {
		struct net_srv_buf *b = &srv[0]->bufs[i];
		b->state = NET_BUF_WRITE;
		b->peer = (u8)idx;
		b->sess = srv[0]->peers[idx].sess;
		b->orphan = false;
		b->tag = (1ull << 40) + i; /* above any floor the client sends */
		b->last_use = srv[0]->clock;
	}
	u64 t0 = S.now;
	CHECK_EQ(io(0, false, 100, 8, bufa, 1), 0);
	CHECK(!memcmp(bufa, disk[0].data + 100 * 512, 8 * 512));
	CHECK(S.now - t0 < 100000);
	CHECK(srv[0]->stats.buf_evictions >= 1);
}

/* Client 0 on a pair whose disk (submit, 8 deep) holds everything: one
 * request submitted, the client left to retransmit for us. */
static bool held_on_the_disk_cfg(u64 seed, bool write, u64 lba, u32 count, u32 fill_seed, u64 us,
				 const struct net_client_cfg *cfg)
{
	run_async = 8;
	sim_reset(seed);
	S.srv_nbufs = 8;
	int rc = pair(cfg);
	run_async = 0;
	if (rc)
		return false;
	a_reset();
	disk[0].hold = true;
	if (a_submit(write, lba, count, fill_seed))
		return false;
	for (u64 end = S.now + us; S.now < end && net_client_poll(cli[0]);)
		; /* until the request is done (it may fail), or us */
	return true;
}

static bool held_on_the_disk(u64 seed, bool write, u64 lba, u32 count, u32 fill_seed, u64 us)
{
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20 };
	return held_on_the_disk_cfg(seed, write, lba, count, fill_seed, us, &cfg);
}

/* A disk slower than req_timeout_us (one spinning up): while the server
 * says the request is on its disk, the client waits for it, and the data
 * arrives; past `hard` (req_timeout_us + dead_time_us) it gives up all
 * the same, whatever the server says. */
TEST(async_disk_a_read_on_a_disk_slower_than_req_timeout_is_waited_for)
{
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20, .req_timeout_us = 30000,
				      .dead_time_us = 1000000 };
	CHECK(held_on_the_disk_cfg(69, false, 300, AQ_MAX_SECT, 0, 200000, &cfg));
	CHECK_EQ(A.failed, 0);
	CHECK(srv[0]->stats.needs > 0);
	disk[0].hold = false;
	a_drain();
	CHECK_EQ(A.done, 1);
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(A.bad_reads, 0);
	CHECK_EQ(cli[0]->stats.rebinds, 0);
}

TEST(async_disk_a_request_on_the_disk_past_the_hard_bound_fails)
{
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 20, .req_timeout_us = 30000,
				      .dead_time_us = 50000 };
	CHECK(held_on_the_disk_cfg(70, true, 100, 64, 7000, 200000, &cfg));
	CHECK_EQ(A.failed, 1); /* -E_TIMEDOUT at 80 ms */
	disk[0].hold = false;
	a_drain();
}

TEST(async_disk_a_write_on_the_disk_is_not_written_again)
{
	/* The disk holds a write while its client retransmits it: the
	 * retransmissions are duplicates, the write lands once, answered. */
	CHECK(held_on_the_disk(66, true, 100, 64, 6600, 100000));
	CHECK_EQ(disk[0].nq, 1);
	CHECK_EQ(disk[0].writes, 0);
	CHECK(cli[0]->stats.retransmits > 0);
	CHECK(srv[0]->stats.write_dups > 0);
	/* Each probe heard that the write is on the disk (NEED, every chunk
	 * held): the client neither rebinds nor sends more than probes. */
	CHECK(srv[0]->stats.needs > 0);
	CHECK_EQ(cli[0]->stats.rebinds, 0);
	CHECK(cli[0]->stats.tx_frames - cli[0]->stats.retransmits <= 64 * 512 / NET_CHUNK_STD + 4);
	disk[0].hold = false;
	a_drain();
	CHECK_EQ(A.done, 1);
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(disk[0].writes, 1);
	CHECK(!memcmp(disk[0].data, a_shadow, 8192 * 512));
}

TEST(async_disk_a_read_asked_again_is_read_once)
{
	/* The disk holds a read while its client asks again: the data is
	 * read once and every chunk arrives. */
	CHECK(held_on_the_disk(67, false, 300, AQ_MAX_SECT, 0, 100000));
	CHECK(cli[0]->stats.retransmits > 0);
	CHECK(srv[0]->stats.read_hits > 0);
	CHECK(srv[0]->stats.needs > 0); /* each READ asked again: "on the disk" */
	CHECK_EQ(cli[0]->stats.rebinds, 0);
	disk[0].hold = false;
	a_drain();
	CHECK_EQ(A.done, 1);
	CHECK_EQ(A.failed, 0);
	CHECK_EQ(A.bad_reads, 0);
	CHECK_EQ(disk[0].reads, 1);
}

TEST(async_disk_a_rebooted_client_gets_no_answer_of_its_last_boot)
{
	/* The disk holds client 0's write when the client reboots: the
	 * write still lands (it was whole), nothing of it is sent to the new
	 * incarnation, whose own requests work. */
	CHECK(held_on_the_disk(68, true, 0, 16, 6800, 5000));
	CHECK_EQ(disk[0].nq, 1);
	CHECK_EQ(client_start(0, 0xC11E27C11E270068ull, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	u64 tx = srv[0]->stats.tx_frames;
	disk[0].hold = false;
	run_servers();
	CHECK_EQ(disk[0].writes, 1);
	CHECK_EQ(srv[0]->stats.tx_frames, tx); /* no answer for the old boot's write */
	fill(bufa, 16 * 512, 6801);
	CHECK_EQ(io(0, true, 0, 16, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 16 * 512));
	for (unsigned i = 0; i < srv[0]->nbufs; i++)
		CHECK(srv[0]->bufs[i].state != NET_BUF_DISK);
}

/* The server's own order matters for writes that are whole on it but
 * that their client gave up on (timed out) or forgot (rebooted): the
 * client then sends later writes over them, or a FLUSH. */
static void giving_up_pair(unsigned depth, u64 seed, u32 max_sect)
{
	run_async = depth;
	sim_reset(seed);
	if (max_sect)
		disk[0].dev.info.max_sectors = max_sect;
	S.srv_nbufs = 16;
	struct net_client_cfg cfg = { .rto_us = 2000, .rto_max_us = 16000, .retries = 4, .req_timeout_us = 200000,
				      .dead_time_us = 100000 };
	CHECK_EQ(pair(&cfg), 0);
	run_async = 0;
	a_reset();
	rd_delay_us = 1000000; /* a slow disk: the client gives up first */
}

/* The client waits again as by default; the disk is quick again. */
static void giving_up_over(void)
{
	rd_delay_us = 0;
	cli[0]->cfg.req_timeout_us = 10000000;
	cli[0]->cfg.dead_time_us = 10000000;
	cli[0]->cfg.retries = 20;
}

/* Until the slot is done and the server's disk path holds nothing. */
static void run_until_done(struct aslot *a)
{
	for (u64 end = S.now + 5000000; S.now < end && (a->busy || srv_disk_bufs());) {
		if (cli[0]->held) {
			net_client_poll(cli[0]);
		} else {
			S.now += 100;
			run_servers();
		}
	}
}

/* W0 on a disk that takes one request at a time, W1 whole and waiting in
 * the server; the client gives up on both. */
static void two_given_up(u64 seed, struct aslot **w0, struct aslot **w1)
{
	giving_up_pair(1, seed, 0);
	*w0 = a_free();
	CHECK_EQ(a_submit(true, 0, 8, (u32)seed * 10), 0);
	*w1 = a_free();
	CHECK_EQ(a_submit(true, 64, 8, (u32)seed * 10 + 1), 0);
	for (u64 end = S.now + 900000; S.now < end && ((*w0)->busy || (*w1)->busy);)
		net_client_poll(cli[0]);
	CHECK((*w0)->rc == -E_TIMEDOUT && (*w1)->rc == -E_TIMEDOUT);
	CHECK(srv[0]->wait_head != NULL);
	giving_up_over();
}

TEST(async_disk_a_waiting_write_given_up_lands_before_a_later_one_over_it)
{
	struct aslot *w0, *w1;
	two_given_up(71, &w0, &w1);
	struct aslot *w2 = a_free();
	CHECK_EQ(a_submit(true, 64, 8, 712), 0);
	u8 want[8 * 512];
	memcpy(want, w2->buf, sizeof(want));
	run_until_done(w2);
	CHECK_EQ(w2->rc, 0);
	CHECK(!memcmp(disk[0].data + 64 * 512, want, sizeof(want))); /* W1 never lands over W2 */
}

TEST(async_disk_a_flush_finishes_after_a_waiting_write_given_up)
{
	struct aslot *w0, *w1;
	two_given_up(72, &w0, &w1);
	struct aslot *f = a_free();
	CHECK_EQ(a_flush(), 0);
	run_until_done(f);
	CHECK_EQ(f->rc, 0);
	CHECK_EQ(disk[0].writes, 2);
	CHECK_EQ(rd_writes_at_flush, 2); /* nothing landed after the FLUSH */
}

TEST(async_disk_a_request_run_alone_overtakes_nothing)
{
	/* The disk takes 8 sectors at once: a 16-sector write runs alone,
	 * once the write given up on before it has landed (8 sectors, on
	 * the disk) -- never under it. */
	giving_up_pair(8, 73, 8);
	struct aslot *w0 = a_free();
	CHECK_EQ(a_submit(true, 64, 8, 731), 0);
	for (u64 end = S.now + 900000; S.now < end && w0->busy;)
		net_client_poll(cli[0]);
	CHECK_EQ(w0->rc, -E_TIMEDOUT);
	CHECK_EQ(disk[0].nq, 1);
	giving_up_over();
	struct aslot *w2 = a_free();
	CHECK_EQ(a_submit(true, 64, 16, 732), 0);
	u8 want[16 * 512];
	memcpy(want, w2->buf, sizeof(want));
	run_until_done(w2);
	CHECK_EQ(w2->rc, 0);
	CHECK(!memcmp(disk[0].data + 64 * 512, want, sizeof(want)));
	CHECK_EQ(disk[0].writes, 1 + 2); /* W0, then W2 in two pieces */
}

TEST(async_disk_a_rebooted_clients_write_runs_alone_over_its_last_boots)
{
	giving_up_pair(8, 74, 8);
	CHECK_EQ(a_submit(true, 0, 8, 741), 0);
	for (u64 end = S.now + 5000; S.now < end;)
		net_client_poll(cli[0]);
	CHECK_EQ(disk[0].nq, 1);
	CHECK_EQ(client_start(0, 0xC11E27C11E270074ull, NULL, KEY), 0);
	CHECK_EQ(net_client_discover(cli[0], 1000000), 0);
	rd_delay_us = 0;
	fill(bufa, 16 * 512, 742);
	CHECK_EQ(io(0, true, 0, 16, bufa, 1), 0);
	CHECK(!memcmp(disk[0].data, bufa, 16 * 512));
}

TEST(async_disk_a_flush_asked_again_on_the_disk_flushes_once)
{
	giving_up_pair(8, 75, 0);
	giving_up_over();
	rd_delay_us = 50000; /* the client asks again meanwhile */
	struct aslot *f = a_free();
	CHECK_EQ(a_flush(), 0);
	a_drain();
	rd_delay_us = 0;
	CHECK_EQ(f->rc, 0);
	CHECK(cli[0]->stats.retransmits > 0);
	CHECK_EQ(disk[0].flushes, 1);
	/* Each FLUSH asked again heard "on the disk" (NEED, one chunk, none
	 * held): no rebinding for a slow flush. */
	CHECK(srv[0]->stats.needs > 0);
	CHECK_EQ(cli[0]->stats.rebinds, 0);
}

/* A FLUSH on a disk slower than req_timeout_us is waited for. */
TEST(async_disk_a_flush_on_a_disk_slower_than_req_timeout_is_waited_for)
{
	giving_up_pair(8, 76, 0);
	giving_up_over();
	cli[0]->cfg.req_timeout_us = 30000;
	rd_delay_us = 150000;
	struct aslot *f = a_free();
	CHECK_EQ(a_flush(), 0);
	a_drain();
	rd_delay_us = 0;
	CHECK_EQ(f->rc, 0);
	CHECK_EQ(disk[0].flushes, 1);
	CHECK_EQ(cli[0]->stats.rebinds, 0);
}

/* Every test, on synchronous RAM disks, then (run_async) on ones with
 * submit: the server's disk path must keep every rule either way. */
static void run_all(void)
{
	RUN(discover_identify_flush);
	RUN(clean_link_sizes);
	RUN(lossy_link_seed_1);
	RUN(lossy_link_seed_2);
	RUN(lossy_link_seed_3);
	RUN(lossy_link_seed_4);
	RUN(write_applied_once_when_replies_are_lost);
	RUN(write_applied_once_under_heavy_duplication);
	RUN(abandoned_write_never_lands_late);
	RUN(server_gone_times_out);
	RUN(a_flood_of_forged_frames_cannot_hold_a_request);
	RUN(absolute_request_bound);
	RUN(wrong_key_applies_nothing);
	RUN(replayed_frames_are_rejected);
	RUN(duplicate_replies_are_ignored);
	RUN(server_reboot_rebinds);
	RUN(client_reboot);
	RUN(read_only_export);
	RUN(errors_and_argument_checks);
	RUN(big_sectors_and_split_requests);
	RUN(blk_dev_interface);
	RUN(two_servers);
	RUN(more_clients_than_peer_slots);
	RUN(replayed_handshakes_change_nothing);
	RUN(finding_6_old_write_never_lands_over_newer);
	RUN(client_key_cannot_act_as_another);
	RUN(counter_jump_refused_and_recovered);
	RUN(bind_duplicates_and_bad_cookies);
	RUN(handshakes_over_a_lossy_link);
	RUN(mutated_handshakes_bind_nothing);
	RUN(abandoned_write_and_buffer_pressure);
	RUN(a_minute_long_restart_is_ridden_out);
	RUN(an_outage_past_the_dead_time_fails_then_recovers);
	RUN(an_idle_client_waits_the_full_dead_time);
	RUN(replayed_server_frames_do_not_end_a_silence);
	RUN(a_write_whose_status_was_lost_lands_once_on_the_new_server);
	RUN(nonce_ledger_catches_reuse);
	RUN(thousands_of_frames_never_reuse_a_nonce);
	RUN(sealed_frames_are_useless_elsewhere);
	RUN(encode_refuses_a_counter_that_does_not_rise);
	RUN(pipeline_clean_link);
	RUN(pipeline_lossy_link);
	RUN(pipeline_overlapping_lossy);
	RUN(pipeline_restart_mid_run);
	RUN(pipeline_lossy_link_jumbo);
	RUN(pipeline_restart_mid_run_jumbo);
	RUN(small_requests_on_a_jumbo_binding_cost_their_bytes_not_a_jumbo_frame);
	RUN(clean_link_sizes_jumbo);
	RUN(a_link_that_drops_jumbo_frames_falls_back_to_standard_ones);
	RUN(a_server_with_standard_frames_keeps_a_jumbo_client_at_1514);
	RUN(a_rebinding_to_smaller_frames_cuts_requests_in_flight_anew);
	RUN(pipeline_keeps_the_link_busy);
	RUN(an_unset_burst_widens_on_a_clean_link_up_to_its_cap);
	RUN(an_unset_burst_narrows_where_a_receive_queue_overflows);
	RUN(flush_completes_after_every_earlier_write);
	RUN(overlapping_writes_land_in_submission_order);
	RUN(a_timed_out_write_never_lands_after_a_later_overlapping_one);
	RUN(a_flush_waits_until_no_abandoned_write_can_land);

	RUN(two_exports_two_clients);
	RUN(an_export_not_listed_for_the_client_is_refused);
	RUN(a_second_writer_of_an_unshared_export_is_refused);
	RUN(shared_and_read_only_exports_take_several_clients);
	RUN(a_denying_server_does_not_hide_another_that_would_serve);
	RUN(a_rebinding_to_another_export_of_twin_disks_is_a_mismatch);
	RUN(a_writer_whose_record_lapsed_cannot_write_under_the_new_writer);
	RUN(a_lapsed_ferry_writer_cannot_write_under_an_aoe_writer);
	RUN(a_ferry_bind_wins_over_an_aoe_writer);
}

int main(void)
{
	console_register(&log_sink);
	bufa = aligned_alloc(4096, NET_MAX_REQ_BYTES);
	bufb = aligned_alloc(4096, NET_MAX_REQ_BYTES);
	run_all();
	run_async = 32;
	printf("# the same on RAM disks with submit (queue depth %u)\n", run_async);
	run_all();
	run_async = 0;
	RUN(async_disk_pipeline_clean);
	RUN(async_disk_pipeline_lossy_overlapping);
	RUN(async_disk_pipeline_restart);
	RUN(async_disk_pipeline_shallow_queue);
	RUN(async_disk_every_buffer_on_the_disk);
	RUN(async_disk_a_second_client_gets_its_share_of_the_buffers);
	RUN(a_client_at_its_share_of_given_up_writes_still_gets_a_buffer);
	RUN(async_disk_a_write_on_the_disk_is_not_written_again);
	RUN(async_disk_a_read_asked_again_is_read_once);
	RUN(async_disk_a_rebooted_client_gets_no_answer_of_its_last_boot);
	RUN(async_disk_a_waiting_write_given_up_lands_before_a_later_one_over_it);
	RUN(async_disk_a_flush_finishes_after_a_waiting_write_given_up);
	RUN(async_disk_a_request_run_alone_overtakes_nothing);
	RUN(async_disk_a_rebooted_clients_write_runs_alone_over_its_last_boots);
	RUN(async_disk_a_flush_asked_again_on_the_disk_flushes_once);
	RUN(async_disk_a_flush_on_a_disk_slower_than_req_timeout_is_waited_for);
	RUN(async_disk_a_read_on_a_disk_slower_than_req_timeout_is_waited_for);
	RUN(async_disk_a_request_on_the_disk_past_the_hard_bound_fails);
	return CHECK_SUMMARY();
}
