/* The ferry block protocol, server side: the handshake and the client
 * slots (net/server.h, docs/protocol.md "Handshake").
 *
 * A HELLO costs the server a key derivation and a COOKIE, and leaves no
 * state behind.  Only a BIND that carries this boot's cookie, not older
 * than NET_COOKIE_LIFE_US nor than the binding its client's slot holds,
 * and authenticates under the session key the handshake derives, may
 * create or change a slot.  So a frame anyone recorded can neither create,
 * reset nor evict one. */
#include "server_int.h"
#include "lib/hkdf.h"
#include "lib/string.h"

#define BODY(s) ((s)->rx + ETH_HLEN + NET_HDR_LEN)

/* ---- Names ------------------------------------------------------------------- */

int srv_clients_check(const char *list)
{
	if (!list || !*list)
		return 0;
	for (const char *p = list;;) {
		const char *e = p;
		while (*e && *e != ',')
			e++;
		size_t n = (size_t)(e - p);
		if (!n || net_name_len(p, n) != n)
			return -E_INVAL;
		if (!*e)
			return 0;
		p = e + 1;
	}
}

/* A name field as the log may print it: '?' for anything not printable. */
static void printable_name(char out[NET_NAME_MAX + 1], const char *field)
{
	for (unsigned i = 0; i < NET_NAME_MAX; i++) {
		char ch = field[i];
		out[i] = ch > 0x20 && ch <= 0x7E ? ch : ch ? '?' : '\0';
	}
	out[NET_NAME_MAX] = '\0';
}

static void note_refusal(struct net_server *s, u8 why, const char *name_field)
{
	struct net_refusal *r = &s->refused;
	r->count++;
	r->why = why;
	memcpy(r->mac, s->rx + ETH_ALEN, ETH_ALEN);
	printable_name(r->name, name_field);
}

/* The enrolled client's name length, or 0 (counted, noted). */
static size_t known_name(struct net_server *s, const char *field)
{
	size_t n = net_name_len(field, NET_NAME_MAX);
	if (!n || !net_name_listed(s->cfg.clients, field, n)) {
		s->stats.rx_unknown_client++;
		note_refusal(s, NET_REFUSE_UNKNOWN, field);
		return 0;
	}
	return n;
}

/* ---- HELLO -> COOKIE ------------------------------------------------------------ */

/* Each COOKIE's time is later than the one before, so no two bindings of
 * one server boot share a ts. */
static u64 next_ts(struct net_server *s)
{
	u64 t = srv_now(s);
	s->last_ts = t > s->last_ts ? t : s->last_ts + 1;
	return s->last_ts;
}

void srv_hello(struct net_server *s, size_t len, const struct net_hdr *h)
{
	/* The name picks the key, so it is read before the tag (the HELLO's
	 * body is additional data, in the clear). */
	if (h->len < sizeof(struct net_b_hello)) {
		s->stats.rx_drop[NET_DROP_LEN]++;
		return;
	}
	const struct net_b_hello *hb = (const struct net_b_hello *)BODY(s);
	size_t nlen = known_name(s, hb->name);
	if (!nlen)
		return;
	u8 kc[NET_CLIENT_KEY_LEN];
	struct net_key k;
	struct net_msg m;
	net_client_key(&s->master, hb->name, nlen, kc);
	net_hello_key(kc, h->src_sess, &k);
	char name[NET_NAME_MAX];
	memcpy(name, hb->name, NET_NAME_MAX);
	int v = net_decode(s->rx, len, &k, s->cfg.mac, &m);
	if (v != NET_OK) {
		s->stats.rx_drop[v]++;
		if (v == NET_DROP_MAC)
			note_refusal(s, NET_REFUSE_KEY, name);
		goto out;
	}
	u16 dev = m.b.hello.dev;
	if (dev == NET_DEV_ANY) {
		dev = (u16)net_export_default(s->x, name, nlen);
	} else if (dev >= s->x->n) {
		s->stats.rx_unexpected++; /* a device we do not have: another server may */
		goto out;
	}
	struct net_binding b = { .csess = m.src_sess, .ts = next_ts(s), .dev = dev };
	memcpy(b.cmac, m.src, ETH_ALEN);
	memcpy(b.smac, s->cfg.mac, ETH_ALEN);
	memcpy(b.nc, m.b.hello.nc, NET_NONCE_LEN);
	net_nonce(&s->cookie, s->cfg.session, ++s->nonces, b.ns);

	/* The probe's answer: padded like the HELLO, as far as our frames go
	 * (never longer than the HELLO: no amplification). */
	u32 pad = MIN(m.pad, s->cfg.max_frame - (u32)NET_HS_FRAME(0));
	struct net_msg c = { .type = NET_T_COOKIE, .tag = m.tag, .src_sess = s->cfg.session,
			     .dst_sess = m.src_sess, .counter = ++s->sealed, .pad = pad };
	memcpy(c.dst, m.src, ETH_ALEN);
	memcpy(c.src, s->cfg.mac, ETH_ALEN);
	struct net_b_cookie *ck = &c.b.cookie;
	memcpy(ck->nc, b.nc, NET_NONCE_LEN);
	memcpy(ck->ns, b.ns, NET_NONCE_LEN);
	ck->ts = b.ts;
	ck->dev = b.dev;
	ck->max_frame = (u16)s->cfg.max_frame;
	net_cookie_of(&s->cookie, &b, m.b.hello.name, ck->cookie);
	s->stats.rx_ok++;
	s->stats.hellos++;
	net_key_wipe(&k);
	net_cookie_key(kc, s->cfg.session, m.src_sess, &k);
	int n = net_encode(s->tx, &k, &c);
	if (n < 0 || s->link.send(s->link.ctx, s->tx, (size_t)n) < 0)
		s->stats.tx_errors++;
	else
		s->stats.tx_frames++;
out:
	secure_wipe(kc, sizeof(kc));
	net_key_wipe(&k);
}

/* ---- Slots ---------------------------------------------------------------------- */

struct net_srv_peer *peer_by_ticket(struct net_server *s, u64 ticket)
{
	for (unsigned i = 0; i < NET_SRV_PEERS; i++)
		if (s->peers[i].used && (s->peers[i].cur.ticket == ticket || s->peers[i].prev.ticket == ticket))
			return &s->peers[i];
	return NULL;
}

static struct net_srv_peer *peer_by_name(struct net_server *s, const char *field)
{
	for (unsigned i = 0; i < NET_SRV_PEERS; i++)
		if (s->peers[i].used && !memcmp(s->peers[i].name, field, NET_NAME_MAX))
			return &s->peers[i];
	return NULL;
}

/* A slot for a client that has none: a free one, else the one silent
 * longest if it has been silent longer than the eviction bound; else NULL
 * (every client is active: the newcomer is refused). */
static struct net_srv_peer *peer_alloc(struct net_server *s, u64 now)
{
	struct net_srv_peer *best = NULL;
	for (unsigned i = 0; i < NET_SRV_PEERS; i++) {
		struct net_srv_peer *p = &s->peers[i];
		if (!p->used)
			return p;
		if (!best || p->last_use < best->last_use)
			best = p;
	}
	if (now - best->last_use <= s->cfg.evict_idle_us)
		return NULL;
	s->stats.peer_evictions++;
	return best;
}

/* Forgets everything of the slot's earlier client or boot session. */
static void peer_reset(struct net_server *s, struct net_srv_peer *p)
{
	free_bufs_of(s, (unsigned)(p - s->peers));
	secure_wipe(p, sizeof(*p));
}

void srv_retire_prev(struct net_srv_peer *p)
{
	secure_wipe(&p->prev, sizeof(p->prev));
}

/* A ticket never issued before in this boot (the multiplier is odd, so
 * distinct counts give distinct tickets, none equal to the session). */
static u64 new_ticket(struct net_server *s)
{
	u64 t;
	do
		t = s->cfg.session ^ (++s->tickets * 0x9E3779B97F4A7C15ull);
	while (!t);
	return t;
}

/* ---- BIND -> DEVINFO ------------------------------------------------------------- */

/* A repeat of the slot's current binding (its answer was lost): answer
 * again, change nothing. */
static void bind_again(struct net_server *s, struct net_srv_peer *p, size_t len, u64 now)
{
	struct net_msg m;
	int v = net_decode(s->rx, len, &p->cur.rx_key, s->cfg.mac, &m);
	if (v != NET_OK) {
		s->stats.rx_drop[v]++;
		return;
	}
	int w = net_replay_judge(&p->cur.win, m.counter);
	if (w != NET_RP_FRESH) {
		if (w == NET_RP_JUMP)
			s->stats.rx_jump++;
		else
			s->stats.rx_replay++;
		return;
	}
	net_replay_mark(&p->cur.win, m.counter);
	p->last_use = now;
	s->stats.rx_ok++;
	s->stats.bind_dups++;
	p->via = &p->cur;
	reply_devinfo(s, p, m.tag);
}

/* An authentic BIND refused (no slot, the export not this client's, or
 * another writer's): tell it why, under the keys it expects (a STATUS is
 * smaller than the BIND: no amplification). */
static void bind_refuse(struct net_server *s, const struct net_msg *m, struct net_key *tx, u32 status, u8 why)
{
	struct net_msg r = { .type = NET_T_STATUS, .tag = m->tag, .src_sess = s->cfg.session,
			     .dst_sess = m->src_sess, .counter = ++s->sealed };
	memcpy(r.dst, m->src, ETH_ALEN);
	memcpy(r.src, s->cfg.mac, ETH_ALEN);
	r.b.status.status = status;
	s->stats.rx_refused++;
	note_refusal(s, why, m->b.bind.name);
	s->refused.dev = m->b.bind.dev;
	int n = net_encode(s->tx, tx, &r);
	if (n < 0 || s->link.send(s->link.ctx, s->tx, (size_t)n) < 0)
		s->stats.tx_errors++;
	else
		s->stats.tx_frames++;
}

/* The binding is authentic and newer than the slot's: (re)bind.  Within
 * the client's boot session the slot keeps its finished writes and floors,
 * so a write retransmitted across the rebinding is answered from the
 * cache, never applied again. */
static void bind_new(struct net_server *s, struct net_srv_peer *p, const struct net_msg *m,
		     const struct net_binding *b, struct net_key *c2s, struct net_key *s2c, u64 now)
{
	if (p->used && p->sess != m->src_sess)
		peer_reset(s, p); /* the client rebooted */
	else if (p->used && p->dev != b->dev)
		free_bufs_of(s, (unsigned)(p - s->peers)); /* kept for another export */
	/* The binding before stays usable until the client shows it has the
	 * new one; the one before that is gone. */
	srv_retire_prev(p);
	if (p->used)
		p->prev = p->cur;
	p->used = true;
	memcpy(p->name, m->b.bind.name, NET_NAME_MAX);
	memcpy(p->mac, m->src, ETH_ALEN);
	p->sess = m->src_sess;
	p->cur.ticket = new_ticket(s);
	memcpy(p->nc, b->nc, NET_NONCE_LEN);
	memcpy(p->ns, b->ns, NET_NONCE_LEN);
	p->ts = b->ts;
	p->cur.csize = net_chunk_size(MIN((u32)m->b.bind.max_frame, s->cfg.max_frame));
	p->dev = b->dev;
	p->cur.rx_key = *c2s;
	p->cur.tx_key = *s2c;
	net_replay_init(&p->cur.win);
	net_replay_mark(&p->cur.win, m->counter);
	p->cur.tx_counter = s->sealed;
	p->last_use = now;
	s->stats.rx_ok++;
	s->stats.binds++;
	p->via = &p->cur;
	reply_devinfo(s, p, m->tag);
}

/* Rebuilds the binding a BIND claims into *b; true when its cookie is this
 * boot's for exactly that binding and younger than NET_COOKIE_LIFE_US. */
static bool cookie_ok(struct net_server *s, const struct net_hdr *h, const struct net_b_bind *bb, u64 now,
		      struct net_binding *b)
{
	memset(b, 0, sizeof(*b));
	memcpy(b->cmac, s->rx + ETH_ALEN, ETH_ALEN);
	memcpy(b->smac, s->cfg.mac, ETH_ALEN);
	b->csess = h->src_sess;
	b->ts = bb->ts;
	b->dev = bb->dev;
	memcpy(b->nc, bb->nc, NET_NONCE_LEN);
	memcpy(b->ns, bb->ns, NET_NONCE_LEN);
	u8 ck[NET_COOKIE_LEN];
	net_cookie_of(&s->cookie, b, bb->name, ck);
	/* A COOKIE's ts may run a few microseconds ahead of the clock
	 * (next_ts): that is age 0. */
	u64 age = now > b->ts ? now - b->ts : 0;
	if (!net_equal(ck, bb->cookie, NET_COOKIE_LEN) || age > NET_COOKIE_LIFE_US) {
		s->stats.rx_cookie_bad++;
		return false;
	}
	return true;
}

static struct net_writer ferry_writer(const char *name, const u8 *mac)
{
	struct net_writer w = { .kind = NET_WRITER_FERRY };
	memcpy(w.name, name, NET_NAME_MAX);
	memcpy(w.mac, mac, ETH_ALEN);
	return w;
}

/* The export's rules for an authentic BIND: its clients= must list the
 * name, and a writable unshared export must have no other writer.  A
 * client whose BIND is taken becomes the writer (net/exports.h); an
 * authenticated BIND wins over an AoE initiator's record (AoE is not
 * authenticated, so anyone could otherwise keep ferry clients out with a
 * forged write per lease), which the log says (s->took_over). */
static bool bind_allowed(struct net_server *s, const struct net_msg *m, size_t nlen, struct net_key *s2c, u64 now)
{
	const struct net_b_bind *bb = &m->b.bind;
	if (!net_export_admits(s->x, bb->dev, bb->name, nlen)) {
		bind_refuse(s, m, s2c, NET_ST_DENIED, NET_REFUSE_DENIED);
		return false;
	}
	struct net_writer w = ferry_writer(bb->name, m->src), holder;
	int rc = net_export_take(s->x, bb->dev, &w, now, &holder);
	if (rc < 0) {
		bind_refuse(s, m, s2c, NET_ST_TAKEN, NET_REFUSE_TAKEN);
		s->refused.holder = holder;
		return false;
	}
	if (rc == NET_EXPORT_TOOK_OVER) {
		struct net_takeover *t = &s->took_over;
		t->count++;
		t->dev = bb->dev;
		t->from = holder;
		printable_name(t->name, bb->name);
	}
	return true;
}

u32 srv_write_allowed(struct net_server *s, const struct net_srv_peer *p)
{
	struct net_writer w = ferry_writer(p->name, p->mac), holder;
	if (net_export_claim(s->x, p->dev, &w, srv_now(s), &holder) == 0)
		return NET_ST_OK;
	note_refusal(s, NET_REFUSE_TAKEN, p->name);
	s->refused.dev = p->dev;
	s->refused.holder = holder;
	return NET_ST_TAKEN;
}

void srv_bind(struct net_server *s, size_t len, const struct net_hdr *h)
{
	if (memcmp(s->rx, s->cfg.mac, ETH_ALEN) != 0) {
		s->stats.rx_drop[NET_DROP_DST]++; /* only HELLO may be broadcast */
		return;
	}
	if (h->len != sizeof(struct net_b_bind)) {
		s->stats.rx_drop[NET_DROP_LEN]++;
		return;
	}
	if (h->dst_sess != s->cfg.session) {
		s->stats.rx_session++; /* a cookie of an earlier boot, or another server's */
		return;
	}
	const struct net_b_bind *bb = (const struct net_b_bind *)BODY(s);
	size_t nlen = known_name(s, bb->name);
	struct net_binding b;
	u64 now = srv_now(s);
	if (!nlen || !cookie_ok(s, h, bb, now, &b))
		return;
	if (b.dev >= s->x->n) {
		s->stats.rx_unexpected++; /* a cookie of ours is for a device we have */
		return;
	}
	struct net_srv_peer *p = peer_by_name(s, bb->name);
	if (p && p->ts == b.ts && net_equal(p->ns, b.ns, NET_NONCE_LEN)) {
		bind_again(s, p, len, now);
		return;
	}
	if (p && b.ts <= p->ts) {
		s->stats.rx_cookie_bad++; /* older than the binding the slot holds */
		return;
	}
	u8 kc[NET_CLIENT_KEY_LEN];
	struct net_key c2s, s2c;
	struct net_msg m;
	net_client_key(&s->master, bb->name, nlen, kc);
	net_session_keys(kc, &b, &c2s, &s2c);
	secure_wipe(kc, sizeof(kc));
	int v = net_decode(s->rx, len, &c2s, s->cfg.mac, &m);
	if (v != NET_OK) {
		s->stats.rx_drop[v]++;
		if (v == NET_DROP_MAC)
			note_refusal(s, NET_REFUSE_KEY, bb->name);
	} else if (m.counter > NET_REPLAY_JUMP) {
		s->stats.rx_jump++;
	} else if (!bind_allowed(s, &m, nlen, &s2c, now)) {
		/* refused: the slot, if any, keeps its binding */
	} else if (p) {
		bind_new(s, p, &m, &b, &c2s, &s2c, now);
	} else if ((p = peer_alloc(s, now)) != NULL) {
		if (p->used)
			peer_reset(s, p); /* evicted: silent for longer than the bound */
		bind_new(s, p, &m, &b, &c2s, &s2c, now);
	} else {
		bind_refuse(s, &m, &s2c, NET_ST_BUSY, NET_REFUSE_BUSY);
	}
	net_key_wipe(&c2s);
	net_key_wipe(&s2c);
}

/* ---- Exports ---------------------------------------------------------------------- */

/* The writer rule's "still bound" for a ferry client (net/exports.h): its
 * slot is bound to export i and was heard from within the eviction bound,
 * so it may still be retrying a write there. */
static bool ferry_holds(void *ctx, unsigned i, const char *name, u64 now)
{
	struct net_server *s = ctx;
	const struct net_srv_peer *p = peer_by_name(s, name);
	return p && p->dev == i && now - p->last_use <= s->cfg.evict_idle_us;
}

int srv_exports_init(struct net_server *s)
{
	const struct net_server_cfg *cfg = &s->cfg;
	if (cfg->exports) {
		s->x = cfg->exports;
	} else {
		s->x = &s->own;
		s->own = (struct net_exports){ .n = 1 };
		s->own.e[0] = (struct net_export){ .dev = cfg->dev, .read_only = cfg->read_only, .shared = true };
		str_copy(s->own.e[0].name, "default", sizeof(s->own.e[0].name));
	}
	struct net_exports *x = s->x;
	if (!x->n || x->n > NET_EXPORTS_MAX)
		return -E_INVAL;
	for (unsigned i = 0; i < x->n; i++) {
		const struct net_export *e = &x->e[i];
		if (!e->dev || !e->dev->ops || srv_clients_check(e->clients) < 0)
			return -E_INVAL;
		int rc = net_blk_to_devinfo(&e->dev->info, e->read_only, &s->info[i]);
		if (rc < 0)
			return rc;
		s->info[i].dev = (u16)i;
		s->info[i].ndev = (u16)x->n;
		s->info[i].export_id = net_export_id(e->name);
	}
	x->ferry_holds = ferry_holds;
	x->ferry_ctx = s;
	return 0;
}
