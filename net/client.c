/* The ferry block protocol, client side (net/client.h, docs/protocol.md):
 * frames to and from the server, binding to it (DISCOVER and DEVINFO),
 * discovery and set-up.  The requests themselves are in net/client_req.c.
 *
 * Every frame taken from the link must be authentic, from the bound
 * server, under our session and its ticket, with a fresh counter; a
 * DEVINFO answering our DISCOVER may (re)bind the client. */
#include "client_int.h"
#include "lib/string.h"
#include "lib/fmt.h"
#include "platform/console.h"

static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void cl_send(struct net_client *c, const u8 *dst, struct net_msg *m)
{
	memcpy(m->dst, dst, ETH_ALEN);
	memcpy(m->src, c->cfg.mac, ETH_ALEN);
	m->src_sess = c->cfg.session;
	m->counter = ++c->counter;
	int len = net_encode(c->tx, &c->key, m);
	if (len < 0 || c->link.send(c->link.ctx, c->tx, (size_t)len) < 0) {
		c->stats.tx_errors++;
		return;
	}
	c->stats.tx_frames++;
}

/* To the bound server under its ticket. */
void cl_send_bound(struct net_client *c, struct net_msg *m)
{
	m->dst_sess = c->ticket;
	cl_send(c, c->server, m);
}

/* DISCOVER: broadcast while unbound (or to the configured server); to the
 * bound server when re-asking for its session.  Retransmissions keep the
 * tag, so a late answer to an earlier copy still counts. */
void cl_send_discover(struct net_client *c)
{
	if (!c->disc_tag)
		c->disc_tag = c->next_tag++;
	struct net_msg m = { .type = NET_T_DISCOVER, .tag = c->disc_tag };
	m.b.dev.dev = c->cfg.dev;
	if (c->bound) {
		cl_send_bound(c, &m);
	} else {
		m.dst_sess = 0;
		cl_send(c, c->cfg.want_server ? c->cfg.server_mac : bcast, &m);
	}
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

static bool same_disk(const struct blk_info *a, const struct blk_info *b)
{
	return a->sectors == b->sectors && a->sector_size == b->sector_size && a->read_only == b->read_only &&
	       !strcmp(a->model, b->model) && !strcmp(a->serial, b->serial);
}

/* A DEVINFO answering our DISCOVER (its tag is c->disc_tag). */
static int got_devinfo(struct net_client *c, const struct net_msg *m)
{
	const struct net_b_devinfo *d = &m->b.info;
	struct blk_info info;

	if (c->cfg.dev != NET_DEV_ANY && d->dev != c->cfg.dev) {
		c->stats.rx_unexpected++;
		return RX_DROP;
	}
	net_devinfo_to_blk(d, &info);
	if (c->bound) {
		/* Re-asked mid-request: only the same server, and it must still
		 * export the same disk. */
		if (memcmp(m->src, c->server, ETH_ALEN) != 0) {
			c->stats.rx_session++;
			return RX_DROP;
		}
		if (m->src_sess == c->ticket && !net_replay_accept(&c->win, m->counter)) {
			c->stats.rx_replay++;
			return RX_DROP;
		}
		c->stats.rx_ok++;
		c->disc_tag = 0;
		cl_heard(c, m->src_sess != c->ticket);
		if (!same_disk(&info, &c->blk.info)) {
			c->stats.rebind_mismatch++;
			c->changed = true;
			return RX_MISMATCH;
		}
		if (m->src_sess != c->ticket) {
			/* The server rebooted (or forgot us): its new ticket, a
			 * new window for its counters. */
			c->ticket = m->src_sess;
			net_replay_init(&c->win);
			net_replay_mark(&c->win, m->counter);
		}
		c->stats.rebinds++;
		return RX_BOUND;
	}
	if (c->cfg.want_server && memcmp(m->src, c->cfg.server_mac, ETH_ALEN) != 0) {
		c->stats.rx_unexpected++;
		return RX_DROP;
	}
	if (!memcmp(m->src, c->server, ETH_ALEN) && m->src_sess == c->ticket) {
		/* The server we had, same ticket: keep its window. */
		if (!net_replay_accept(&c->win, m->counter)) {
			c->stats.rx_replay++;
			return RX_DROP;
		}
	} else {
		net_replay_init(&c->win);
		net_replay_mark(&c->win, m->counter);
	}
	c->stats.rx_ok++;
	memcpy(c->server, m->src, ETH_ALEN);
	c->ticket = m->src_sess;
	c->cfg.dev = d->dev;
	c->blk.info = info;
	c->bound = true;
	c->changed = false;
	c->disc_tag = 0;
	fmt_snprintf(c->name, sizeof(c->name), "net:%02x:%02x:%02x:%02x:%02x:%02x", c->server[0], c->server[1],
		     c->server[2], c->server[3], c->server[4], c->server[5]);
	cl_heard(c, false);
	return RX_BOUND;
}

/* Takes one frame from the link and runs it through every check that does
 * not depend on the request in progress. */
int cl_rx(struct net_client *c, struct net_msg *m)
{
	size_t len;
	if (c->link.recv(c->link.ctx, c->rx, sizeof(c->rx), &len) < 0)
		return RX_NONE;
	c->stats.rx_frames++;
	int v = net_decode(c->rx, len, &c->key, c->cfg.mac, m);
	if (v != NET_OK) {
		c->stats.rx_drop[v]++;
		return RX_DROP;
	}
	if (memcmp(m->dst, c->cfg.mac, ETH_ALEN) != 0) {
		c->stats.rx_drop[NET_DROP_DST]++; /* servers never broadcast */
		return RX_DROP;
	}
	if (m->type != NET_T_DEVINFO && m->type != NET_T_DATA && m->type != NET_T_NEED && m->type != NET_T_STATUS) {
		c->stats.rx_unexpected++; /* a client-to-server type */
		return RX_DROP;
	}
	if (m->dst_sess != c->cfg.session) {
		c->stats.rx_session++; /* meant for an earlier boot of ours */
		return RX_DROP;
	}
	if (m->type == NET_T_DEVINFO && c->disc_tag && m->tag == c->disc_tag)
		return got_devinfo(c, m);
	if (!c->bound) {
		c->stats.rx_stale++;
		return RX_DROP;
	}
	if (memcmp(m->src, c->server, ETH_ALEN) != 0 || m->src_sess != c->ticket) {
		c->stats.rx_session++;
		return RX_DROP;
	}
	if (!net_replay_accept(&c->win, m->counter)) {
		c->stats.rx_replay++;
		return RX_DROP;
	}
	cl_heard(c, false);
	return RX_MSG;
}

/* ---- Discovery and set-up ---------------------------------------------------- */

int net_client_discover(struct net_client *c, u64 timeout_us)
{
	u64 t = cl_now(c), end = t + timeout_us, rto = c->cfg.rto_us;
	u64 deadline = t + rto;

	c->bound = false;
	c->disc_tag = 0;
	cl_send_discover(c);
	for (;;) {
		struct net_msg m;
		if (cl_rx(c, &m) == RX_BOUND)
			return 0;
		t = cl_now(c);
		if (t >= end) {
			c->disc_tag = 0;
			c->stats.failures++;
			return -E_TIMEDOUT;
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

static const struct blk_ops net_blk_ops = {
	.read = blk_read,
	.write = blk_write,
	.flush = blk_flush,
};

struct blk_dev *net_client_blk(struct net_client *c)
{
	return c->bound ? &c->blk : NULL;
}

int net_client_init(struct net_client *c, const struct net_client_cfg *cfg, const struct net_link *link)
{
	memset(c, 0, sizeof(*c));
	if (!cfg->key || cfg->key_len < NET_KEY_MIN || !cfg->session || !link->send || !link->recv || !link->now_us)
		return -E_INVAL;
	c->cfg = *cfg;
	if (!c->cfg.rto_us)
		c->cfg.rto_us = NET_RTO_US;
	if (!c->cfg.rto_max_us)
		c->cfg.rto_max_us = NET_RTO_MAX_US;
	c->cfg.rto_max_us = MAX(c->cfg.rto_max_us, c->cfg.rto_us);
	if (!c->cfg.retries)
		c->cfg.retries = NET_RETRIES;
	if (!c->cfg.rebind_after)
		c->cfg.rebind_after = NET_REBIND_AFTER;
	if (!c->cfg.burst)
		c->cfg.burst = NET_BURST;
	c->cfg.burst = MIN(c->cfg.burst, (u32)NET_MAX_CHUNKS);
	if (!c->cfg.req_timeout_us)
		c->cfg.req_timeout_us = NET_REQ_TIMEOUT_US;
	if (!c->cfg.dead_time_us)
		c->cfg.dead_time_us = NET_DEAD_TIME_US;
	c->link = *link;
	net_key_init(&c->key, cfg->key, cfg->key_len);
	c->next_tag = 1;
	str_copy(c->name, "net", sizeof(c->name));
	c->blk.name = c->name;
	c->blk.ops = &net_blk_ops;
	c->blk.priv = c;
	return 0;
}
