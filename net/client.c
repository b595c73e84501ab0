/* The ferry block protocol, client side (net/client.h, docs/protocol.md):
 * frames to and from the server, the handshake that binds to it (HELLO,
 * COOKIE, BIND, DEVINFO), discovery and set-up.  The requests themselves
 * are in net/client_req.c.
 *
 * Every frame taken from the link must be authentic under the key its
 * kind calls for (a COOKIE under our K_cookie; the DEVINFO answering our
 * BIND under the new session's key; everything else under the bound
 * session's), from the right server, under our session and, once bound,
 * the binding's ticket, with a fresh counter. */
#include "client_int.h"
#include "lib/string.h"
#include "lib/fmt.h"
#include "lib/hkdf.h"
#include "platform/console.h"

static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void cl_emit(struct net_client *c, struct net_key *key, struct net_msg *m)
{
	int len = net_encode(c->tx_buf, key, m);
	if (len < 0 || c->link.send(c->link.ctx, c->tx_buf, (size_t)len) < 0) {
		c->stats.tx_errors++;
		return;
	}
	c->stats.tx_frames++;
}

static void cl_fill(struct net_client *c, const u8 *dst, struct net_msg *m)
{
	memcpy(m->dst, dst, ETH_ALEN);
	memcpy(m->src, c->cfg.mac, ETH_ALEN);
	m->src_sess = c->cfg.session;
}

/* To the bound server under its ticket and the session's key. */
void cl_send_bound(struct net_client *c, struct net_msg *m)
{
	cl_fill(c, c->server, m);
	m->dst_sess = c->ticket;
	m->counter = ++c->counter;
	cl_emit(c, &c->tx, m);
}

/* ---- The handshake --------------------------------------------------------------- */

static void hs_wipe_keys(struct net_client_hs *hs)
{
	net_key_wipe(&hs->tx);
	net_key_wipe(&hs->rx);
}

static void emit_hello(struct net_client *c, u32 pad)
{
	struct net_msg m = { .type = NET_T_HELLO, .tag = c->hs.tag, .pad = pad };
	const u8 *dst = c->bound ? c->server : c->cfg.want_server ? c->cfg.server_mac : bcast;
	cl_fill(c, dst, &m);
	m.dst_sess = 0;
	m.counter = ++c->hello_counter;
	memcpy(m.b.hello.name, c->ident, NET_NAME_MAX);
	memcpy(m.b.hello.nc, c->hs.nc, NET_NONCE_LEN);
	m.b.hello.dev = c->cfg.dev;
	m.b.hello.max_frame = (u16)c->cfg.max_frame;
	cl_emit(c, &c->hello_key, &m);
}

/* The frame size probe (docs/protocol.md, "Frame size"): a HELLO padded
 * to our largest frame, answered by a COOKIE as long as both ends and the
 * link allow.  A link that drops such frames answers neither, so from the
 * NET_HELLO_PROBES-th try on a plain HELLO follows (sent second, its
 * COOKIE comes second where both get through). */
static void send_hello(struct net_client *c)
{
	bool probe = c->cfg.max_frame > NET_FRAME_STD;
	if (probe)
		emit_hello(c, c->cfg.max_frame - NET_HS_FRAME(0));
	if (!probe || c->hs.hellos >= NET_HELLO_PROBES)
		emit_hello(c, 0);
	c->hs.hellos++;
}

static void send_bind(struct net_client *c)
{
	struct net_client_hs *hs = &c->hs;
	struct net_msg m = { .type = NET_T_BIND, .tag = hs->tag };
	cl_fill(c, hs->server, &m);
	m.dst_sess = hs->srv_sess;
	m.counter = ++hs->counter;
	struct net_b_bind *b = &m.b.bind;
	memcpy(b->name, c->ident, NET_NAME_MAX);
	memcpy(b->nc, hs->nc, NET_NONCE_LEN);
	memcpy(b->ns, hs->ck.ns, NET_NONCE_LEN);
	b->ts = hs->ck.ts;
	memcpy(b->cookie, hs->ck.cookie, NET_COOKIE_LEN);
	b->dev = hs->ck.dev;
	b->max_frame = hs->frame;
	hs->binds++;
	cl_emit(c, &hs->tx, &m);
}

/* Starts a handshake, or sends its current step again.  A cookie is used
 * for NET_BIND_TRIES BINDs and while it is young enough for the server to
 * take it; then a new HELLO (fresh nonce) starts over.  Retransmitted
 * HELLOs keep their nonce and tag, so a late COOKIE still counts. */
void cl_send_discover(struct net_client *c)
{
	struct net_client_hs *hs = &c->hs;
	if (hs->phase == NET_HS_BIND && hs->binds < NET_BIND_TRIES &&
	    cl_now(c) - hs->cookie_at < NET_COOKIE_LIFE_US / 2) {
		send_bind(c);
		return;
	}
	if (hs->phase != NET_HS_HELLO) {
		hs_wipe_keys(hs);
		hs->phase = NET_HS_HELLO;
		hs->tag = c->next_tag++;
		hs->hellos = 0;
		/* Never repeats (our session and a count), and unpredictable to
		 * anyone without our key. */
		net_nonce(&c->kc_mac, c->cfg.session, hs->tag, hs->nc);
		c->stats.handshakes++;
	}
	send_hello(c);
}

static bool denied_by(const struct net_client *c, const u8 *mac)
{
	for (unsigned i = 0; i < c->ndenied; i++)
		if (!memcmp(c->denied_by[i], mac, ETH_ALEN))
			return true;
	return false;
}

/* A COOKIE answering our HELLO: derive the session's keys, BIND. */
static int got_cookie(struct net_client *c, const struct net_msg *m)
{
	struct net_client_hs *hs = &c->hs;
	const struct net_b_cookie *k = &m->b.cookie;
	if (hs->phase != NET_HS_HELLO || m->tag != hs->tag || !net_equal(k->nc, hs->nc, NET_NONCE_LEN)) {
		c->stats.rx_stale++; /* an earlier handshake's, or a second server's */
		return RX_DROP;
	}
	if ((c->cfg.want_server && memcmp(m->src, c->cfg.server_mac, ETH_ALEN) != 0) ||
	    (c->bound && memcmp(m->src, c->server, ETH_ALEN) != 0) || (!c->bound && denied_by(c, m->src)) ||
	    (c->cfg.dev != NET_DEV_ANY && k->dev != c->cfg.dev)) {
		c->stats.rx_unexpected++;
		return RX_DROP;
	}
	c->stats.rx_ok++;
	memcpy(hs->server, m->src, ETH_ALEN);
	hs->srv_sess = m->src_sess;
	hs->ck = *k;
	/* The link carried a COOKIE this long, and our HELLO at least as
	 * long: the binding's frames, within what both ends announced. */
	u32 frame = MIN((u32)NET_HS_FRAME(m->pad), MIN(c->cfg.max_frame, (u32)k->max_frame));
	hs->frame = (u16)MAX(frame, (u32)NET_FRAME_STD);
	struct net_binding b = { .csess = c->cfg.session, .ts = k->ts, .dev = k->dev };
	memcpy(b.cmac, c->cfg.mac, ETH_ALEN);
	memcpy(b.smac, m->src, ETH_ALEN);
	memcpy(b.nc, hs->nc, NET_NONCE_LEN);
	memcpy(b.ns, k->ns, NET_NONCE_LEN);
	net_session_keys(c->kc, &b, &hs->tx, &hs->rx);
	hs->counter = 0;
	hs->binds = 0;
	hs->cookie_at = cl_now(c);
	hs->phase = NET_HS_BIND;
	send_bind(c);
	return RX_HS;
}

void cl_heard(struct net_client *c, bool restarted)
{
	c->last_heard = cl_now(c);
	if (c->silent) {
		c->last_outage_us = c->last_heard - c->silent_since;
		log_info("client: server %s answers again after %lu.%u s of silence%s", c->name,
			 CL_SECS(c->last_outage_us), restarted ? " (restarted: a new session)" : "");
	}
	c->silent = c->dead = false;
}

/* Says which frames the binding uses when that is news: larger ones
 * than the standard, or the standard although both ends take larger
 * (the link dropped the probe: docs/protocol.md, "Frame size"). */
static void log_frame_size(const struct net_client *c)
{
	u32 both = MIN(c->cfg.max_frame, (u32)c->server_max_frame);
	if (c->frame > NET_FRAME_STD)
		log_info("client: server %s: frames of %u bytes (chunks of %u bytes)", c->name, c->frame, c->csize);
	else if (both > NET_FRAME_STD)
		log_warn("client: server %s and this client take frames of %u bytes, but only a plain HELLO was "
			 "answered: the link between them seems to carry no frames over %u bytes (or lost the "
			 "probe); using those", c->name, both, NET_FRAME_STD);
	else if (c->cfg.max_frame > NET_FRAME_STD)
		log_info("client: server %s takes frames of %u bytes at most (its mtu); using those", c->name,
			 c->server_max_frame);
}

static bool same_disk(const struct blk_info *a, const struct blk_info *b)
{
	return a->sectors == b->sectors && a->sector_size == b->sector_size && a->read_only == b->read_only &&
	       !strcmp(a->model, b->model) && !strcmp(a->serial, b->serial);
}

/* The answer to our BIND (authentic under the new session's key): a
 * DEVINFO binds us; a STATUS refuses us: no slot now (BUSY), another
 * client writes the export (TAKEN), both of which may change, so BIND
 * again later; or the export is not ours (DENIED): final when that is
 * the one server we want, else that server is passed over and a new
 * HELLO looks for another (net_client_discover). */
static int got_bind_answer(struct net_client *c, const struct net_msg *m)
{
	struct net_client_hs *hs = &c->hs;
	u32 st = m->type == NET_T_STATUS ? m->b.status.status : NET_ST_OK;
	if (st == NET_ST_BUSY || st == NET_ST_TAKEN || st == NET_ST_DENIED) {
		c->stats.rx_ok++;
		c->stats.bind_refused++;
		c->refused = st;
		if (st == NET_ST_DENIED && !c->bound && !c->cfg.want_server) {
			if (!denied_by(c, m->src) && c->ndenied < NET_CL_DENIED_MAX)
				memcpy(c->denied_by[c->ndenied++], m->src, ETH_ALEN);
			hs_wipe_keys(hs);
			hs->phase = NET_HS_IDLE; /* the next step is a new HELLO */
		}
		return RX_HS;
	}
	if (m->type != NET_T_DEVINFO || (c->cfg.dev != NET_DEV_ANY && m->b.info.dev != hs->ck.dev)) {
		c->stats.rx_unexpected++;
		return RX_DROP;
	}
	struct blk_info info;
	net_devinfo_to_blk(&m->b.info, &info);
	c->stats.rx_ok++;
	hs->phase = NET_HS_IDLE;
	/* A server of another boot session than the binding's has restarted. */
	cl_heard(c, c->bound && hs->srv_sess != c->srv_sess);
	if (c->bound && (!same_disk(&info, &c->blk.info) || m->b.info.export_id != c->export_id)) {
		/* Re-bound mid-request to a server that now exports another disk
		 * or another export there (its lines reordered: twin disks look
		 * alike, their export names do not). */
		hs_wipe_keys(hs);
		c->stats.rebind_mismatch++;
		c->changed = true;
		return RX_MISMATCH;
	}
	if (c->bound)
		c->stats.rebinds++;
	c->tx = hs->tx;
	c->rx = hs->rx;
	hs_wipe_keys(hs);
	c->counter = hs->counter;
	c->ticket = m->src_sess;
	c->srv_sess = hs->srv_sess;
	net_replay_init(&c->win);
	net_replay_mark(&c->win, m->counter);
	bool news = !c->bound || memcmp(c->server, m->src, ETH_ALEN) != 0;
	if (news) {
		memcpy(c->server, m->src, ETH_ALEN);
		fmt_snprintf(c->name, sizeof(c->name), "net:%02x:%02x:%02x:%02x:%02x:%02x", c->server[0],
			     c->server[1], c->server[2], c->server[3], c->server[4], c->server[5]);
	}
	if (news || c->frame != hs->frame || c->server_max_frame != hs->ck.max_frame) {
		c->server_max_frame = hs->ck.max_frame;
		c->frame = hs->frame;
		c->csize = net_chunk_size(c->frame);
		/* The budget is in bytes: `burst` standard frames, and one
		 * frame of the binding at least; adapting, it starts there. */
		c->budget = MAX(c->cfg.burst * NET_FRAME_STD, (u32)c->frame);
		c->stats.burst_max = MAX(c->stats.burst_max, (u64)c->budget / NET_FRAME_STD);
		log_frame_size(c);
	}
	c->cfg.dev = m->b.info.dev;
	c->blk.info = info;
	c->export_id = m->b.info.export_id;
	c->bound = true;
	c->changed = false;
	return RX_BOUND;
}

/* ---- Receiving ------------------------------------------------------------------- */

/* The key a frame must verify under, chosen by its header alone: NULL
 * when no key of ours fits (counted). */
static const struct net_key *key_for(struct net_client *c, const struct net_hdr *h, const u8 *src)
{
	if (h->type == NET_T_COOKIE) {
		/* Under the server session it claims (a forged claim only
		 * costs us a derivation: the tag then fails). */
		if (c->cookie_ssess != h->src_sess || !h->src_sess) {
			net_cookie_key(c->kc, h->src_sess, c->cfg.session, &c->cookie_key);
			c->cookie_ssess = h->src_sess;
		}
		return &c->cookie_key;
	}
	if (c->hs.phase == NET_HS_BIND && h->tag == c->hs.tag && !memcmp(src, c->hs.server, ETH_ALEN))
		return &c->hs.rx;
	if (!c->bound) {
		c->stats.rx_stale++;
		return NULL;
	}
	if (memcmp(src, c->server, ETH_ALEN) != 0 || h->src_sess != c->ticket) {
		c->stats.rx_session++;
		return NULL;
	}
	return &c->rx;
}

/* Takes one frame from the link and runs it through every check that does
 * not depend on the request in progress. */
int cl_rx(struct net_client *c, struct net_msg *m)
{
	size_t len;
	if (c->link.recv(c->link.ctx, c->rx_buf, sizeof(c->rx_buf), &len) < 0)
		return RX_NONE;
	c->stats.rx_frames++;
	struct net_hdr h;
	int v = net_peek(c->rx_buf, len, c->cfg.mac, &h);
	if (v != NET_OK) {
		net_count_drop(&c->stats, v, c->rx_buf, &h);
		return RX_DROP;
	}
	if (memcmp(c->rx_buf, c->cfg.mac, ETH_ALEN) != 0) {
		c->stats.rx_drop[NET_DROP_DST]++; /* servers never broadcast */
		return RX_DROP;
	}
	const struct net_key *key = key_for(c, &h, c->rx_buf + ETH_ALEN);
	if (!key)
		return RX_DROP;
	v = net_decode_keep(c->rx_buf, len, key, c->cfg.mac, m); /* a DATA's data: cl_got_read */
	if (v != NET_OK) {
		c->stats.rx_drop[v]++;
		return RX_DROP;
	}
	if (m->type != NET_T_COOKIE && m->type != NET_T_DEVINFO && m->type != NET_T_DATA && m->type != NET_T_NEED &&
	    m->type != NET_T_STATUS) {
		c->stats.rx_unexpected++; /* a client-to-server type */
		return RX_DROP;
	}
	if (m->dst_sess != c->cfg.session) {
		c->stats.rx_session++; /* meant for an earlier boot of ours */
		return RX_DROP;
	}
	if (m->type == NET_T_COOKIE)
		return got_cookie(c, m);
	if (key == &c->hs.rx)
		return got_bind_answer(c, m);
	v = net_replay_judge(&c->win, m->counter);
	if (v != NET_RP_FRESH) {
		if (v == NET_RP_JUMP)
			c->stats.rx_jump++;
		else
			c->stats.rx_replay++;
		return RX_DROP;
	}
	net_replay_mark(&c->win, m->counter);
	cl_heard(c, false);
	return RX_MSG;
}

/* ---- Discovery and set-up ---------------------------------------------------- */

int net_client_discover(struct net_client *c, u64 timeout_us)
{
	u64 t = cl_now(c), end = t + timeout_us, rto = c->cfg.rto_us;
	u64 deadline = t + rto;

	c->bound = false;
	c->refused = 0;
	c->ndenied = 0;
	c->hs.phase = NET_HS_IDLE;
	cl_send_discover(c);
	for (;;) {
		struct net_msg m;
		int k = cl_rx(c, &m);
		if (k == RX_BOUND)
			return 0;
		if (k == RX_HS && c->refused == NET_ST_DENIED && c->cfg.want_server) {
			c->stats.failures++;
			return -E_ACCES;
		}
		if (k == RX_HS && c->hs.phase == NET_HS_IDLE) {
			cl_send_discover(c); /* denied: look for another server at once */
			continue;
		}
		t = cl_now(c);
		if (t >= end) {
			c->stats.failures++;
			return c->ndenied ? -E_ACCES : -E_TIMEDOUT;
		}
		if (t >= deadline) {
			rto = MIN(rto * 2, (u64)c->cfg.rto_max_us);
			deadline = t + rto;
			c->stats.retransmits++;
			cl_send_discover(c);
		}
	}
}

static int blk_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return net_client_read(dev->priv, lba, count, segs, nseg);
}

static int blk_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return net_client_write(dev->priv, lba, count, segs, nseg);
}

static int blk_flush(struct blk_dev *dev)
{
	return net_client_flush(dev->priv);
}

static int blk_submit(struct blk_dev *dev, struct blk_io *io)
{
	return net_client_submit(dev->priv, io);
}

static unsigned blk_poll(struct blk_dev *dev)
{
	return net_client_poll(dev->priv);
}

static const struct blk_ops net_blk_ops = {
	.read = blk_read,
	.write = blk_write,
	.flush = blk_flush,
	.submit = blk_submit,
	.poll = blk_poll,
};

struct blk_dev *net_client_blk(struct net_client *c)
{
	return c->bound ? &c->blk : NULL;
}

/* The name on the wire: cfg.name, or "mac-" and the address. */
static int set_ident(struct net_client *c, const char *name)
{
	memset(c->ident, 0, sizeof(c->ident));
	if (!name || !*name) {
		const u8 *a = c->cfg.mac;
		fmt_snprintf(c->ident, sizeof(c->ident), "mac-%02x%02x%02x%02x%02x%02x", a[0], a[1], a[2], a[3], a[4],
			     a[5]);
		return 0;
	}
	size_t n = strlen(name);
	if (n > NET_NAME_MAX || net_name_len(name, n) != n)
		return -E_INVAL;
	memcpy(c->ident, name, n);
	return 0;
}

int net_client_init(struct net_client *c, const struct net_client_cfg *cfg, const struct net_link *link)
{
	memset(c, 0, sizeof(*c));
	if (!cfg->key || cfg->key_len != NET_CLIENT_KEY_LEN || !cfg->session || !link->send || !link->recv ||
	    !link->now_us)
		return -E_INVAL;
	c->cfg = *cfg;
	if (set_ident(c, cfg->name) < 0)
		return -E_INVAL;
	c->cfg.name = c->ident;
	if (!c->cfg.rto_us)
		c->cfg.rto_us = NET_RTO_US;
	if (!c->cfg.rto_max_us)
		c->cfg.rto_max_us = NET_RTO_MAX_US;
	c->cfg.rto_max_us = MAX(c->cfg.rto_max_us, c->cfg.rto_us);
	if (!c->cfg.retries)
		c->cfg.retries = NET_RETRIES;
	if (!c->cfg.rebind_after)
		c->cfg.rebind_after = NET_REBIND_AFTER;
	c->cfg.max_frame = c->cfg.max_frame ? MIN(MAX(c->cfg.max_frame, (u32)NET_FRAME_STD), (u32)NET_FRAME_MAX)
					    : NET_FRAME_STD;
	c->adaptive = !c->cfg.burst;
	if (!c->cfg.burst)
		c->cfg.burst = NET_BURST;
	c->cfg.burst = MIN(c->cfg.burst, (u32)NET_MAX_CHUNKS);
	if (!c->cfg.req_timeout_us)
		c->cfg.req_timeout_us = NET_REQ_TIMEOUT_US;
	if (!c->cfg.dead_time_us)
		c->cfg.dead_time_us = NET_DEAD_TIME_US;
	c->link = *link;
	memcpy(c->kc, cfg->key, NET_CLIENT_KEY_LEN);
	hmac_sha256_init(&c->kc_mac, c->kc, sizeof(c->kc));
	net_hello_key(c->kc, c->cfg.session, &c->hello_key);
	c->next_tag = 1;
	str_copy(c->name, "net", sizeof(c->name));
	c->blk.name = c->name;
	c->blk.ops = &net_blk_ops;
	c->blk.priv = c;
	c->blk.queue_depth = NET_DEPTH;
	return 0;
}
