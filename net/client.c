/* The ferry block protocol, client side (net/client.h, docs/protocol.md).
 *
 * Every call runs one request to completion: send, then poll the link,
 * accepting only authentic frames from the bound server, under our session
 * and its ticket, with a fresh counter and the request's tag.  Silence for
 * one retransmission timeout (RTO) resends what is still missing; the RTO
 * doubles up to a cap, progress resets it, and too many timeouts in a row or
 * the absolute per-request bound end the request with -E_TIMEDOUT. */
#include "client.h"
#include "lib/string.h"
#include "lib/fmt.h"

static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

enum { RX_NONE, RX_DROP, RX_MSG, RX_BOUND, RX_MISMATCH };

static u64 now(struct net_client *c)
{
	return c->link.now_us(c->link.ctx);
}

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
static void cl_send_bound(struct net_client *c, struct net_msg *m)
{
	m->dst_sess = c->ticket;
	cl_send(c, c->server, m);
}

/* DISCOVER: broadcast while unbound (or to the configured server); to the
 * bound server when re-asking for its session.  Retransmissions keep the
 * tag, so a late answer to an earlier copy still counts. */
static void send_discover(struct net_client *c)
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
	return RX_BOUND;
}

/* Takes one frame from the link and runs it through every check that does
 * not depend on the request in progress. */
static int cl_rx(struct net_client *c, struct net_msg *m)
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
	return RX_MSG;
}

/* ---- Retransmission timing --------------------------------------------------- */

struct req {
	u8 type;  /* NET_T_READ, _WRITE, _FLUSH or _IDENTIFY */
	u64 tag, deadline, give_up;
	u64 rto;
	u32 timeouts;
};

static void req_start(struct net_client *c, struct req *r, u8 type)
{
	u64 t = now(c);
	r->type = type;
	r->tag = c->next_tag++;
	r->rto = c->cfg.rto_us;
	r->timeouts = 0;
	r->deadline = t + r->rto;
	r->give_up = t + c->cfg.req_timeout_us;
	c->stats.requests++;
}

/* The server is alive: wait a full RTO from now. */
static void req_alive(struct net_client *c, struct req *r)
{
	r->deadline = now(c) + r->rto;
}

/* New data arrived: the backoff starts over. */
static void req_progress(struct net_client *c, struct req *r)
{
	r->timeouts = 0;
	r->rto = c->cfg.rto_us;
	req_alive(c, r);
}

/* Nothing arrived: 0 keep waiting, 1 retransmit now, -E_TIMEDOUT give up.
 * Every rebind_after timeouts in a row, ask the server for its session
 * again, in case it rebooted and no longer knows our ticket. */
static int req_idle(struct net_client *c, struct req *r)
{
	u64 t = now(c);
	if (t >= r->give_up)
		return -E_TIMEDOUT;
	if (t < r->deadline)
		return 0;
	c->stats.timeouts++;
	if (++r->timeouts > c->cfg.retries)
		return -E_TIMEDOUT;
	r->rto = MIN(r->rto * 2, (u64)c->cfg.rto_max_us);
	r->deadline = t + r->rto;
	if (c->cfg.rebind_after && r->timeouts % c->cfg.rebind_after == 0)
		send_discover(c);
	c->stats.retransmits++;
	return 1;
}

static int req_end(struct net_client *c, int rc)
{
	if (rc < 0)
		c->stats.failures++;
	return rc;
}

struct xfer;

/* Sends again what the server has not answered yet: after a timeout, and
 * after a rebind (the server may have rebooted and lost the request).  x is
 * the transfer of a read or write, NULL for a flush or identify. */
typedef void req_resend_fn(struct net_client *c, const struct req *r, struct xfer *x);

/* Polls the link until a frame answers request r: 0 and *m, or the end of
 * the request (-E_TIMEDOUT; -E_IO when a rebind finds that the server now
 * exports another disk).  Frames for other tags are counted stale and
 * skipped; what a matching frame means is the caller's to decide. */
static int req_wait(struct net_client *c, struct req *r, req_resend_fn *resend, struct xfer *x,
		    struct net_msg *m)
{
	for (;;) {
		/* Time is checked on every turn, so a stream of frames that are
		 * of no use cannot hold the request past its budget. */
		int t = req_idle(c, r);
		if (t < 0)
			return t;
		if (t > 0)
			resend(c, r, x);
		int k = cl_rx(c, m);
		if (k == RX_MISMATCH)
			return -E_IO;
		if (k == RX_BOUND) {
			resend(c, r, x);
			req_alive(c, r);
			continue;
		}
		if (k != RX_MSG)
			continue;
		if (m->tag == r->tag)
			return 0;
		c->stats.rx_stale++;
	}
}

/* ---- Data between the frames and the scatter list ----------------------- */

static void seg_copy(const struct blk_seg *segs, unsigned nseg, u64 off, u8 *buf, u32 len, bool to_buf)
{
	for (unsigned i = 0; i < nseg && len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		u32 n = (u32)MIN((u64)segs[i].len - off, (u64)len);
		u8 *p = (u8 *)(uintptr_t)segs[i].addr + off;
		if (to_buf)
			memcpy(buf, p, n);
		else
			memcpy(p, buf, n);
		buf += n;
		len -= n;
		off = 0;
	}
}

struct xfer {
	u64 lba;
	u32 count, bytes, nchunks, nhave;
	u8 have[NET_BITMAP_BYTES];  /* read: chunks received; write: chunks the server holds */
	u8 want[NET_BITMAP_BYTES];  /* read: chunks asked for in this round */
	u32 pending;                /* read: asked for and not yet received */
	u32 last_want;              /* read: highest chunk asked for */
	const struct blk_seg *segs;
	unsigned nseg;
};

/* Checks a read or write against the bound disk: 0 and *x describing the
 * transfer, or the error that ends the request. */
static int xfer_init(struct net_client *c, struct xfer *x, u64 lba, u32 count, const struct blk_seg *segs,
		     unsigned nseg)
{
	const struct blk_info *in = &c->blk.info;
	if (!c->bound)
		return -E_NOENT;
	if (c->changed)
		return -E_IO;
	if (!segs || nseg == 0 || nseg > BLK_MAX_SEGS || count == 0 || count > in->max_sectors)
		return -E_INVAL;
	if (lba >= in->sectors || count > in->sectors - lba)
		return -E_RANGE;
	u64 total = 0;
	for (unsigned i = 0; i < nseg; i++) {
		if (!segs[i].len || !segs[i].addr)
			return -E_INVAL;
		total += segs[i].len;
	}
	if (total != (u64)count * in->sector_size)
		return -E_INVAL;
	*x = (struct xfer){ .lba = lba, .count = count, .segs = segs, .nseg = nseg };
	x->bytes = count * in->sector_size;
	x->nchunks = net_chunks(x->bytes);
	return 0;
}

/* ---- Read ------------------------------------------------------------------ */

/* Asks for the first `burst` chunks not yet received. */
static void send_read(struct net_client *c, const struct req *r, struct xfer *x)
{
	struct net_msg m = { .type = NET_T_READ, .tag = r->tag };
	m.b.read.dev = c->cfg.dev;
	m.b.read.count = x->count;
	m.b.read.lba = x->lba;
	x->pending = 0;
	for (u32 i = 0; i < x->nchunks && x->pending < c->cfg.burst; i++) {
		if (net_bit(x->have, i))
			continue;
		net_bit_set(m.b.read.want, i);
		x->pending++;
		x->last_want = i;
	}
	memcpy(x->want, m.b.read.want, sizeof(x->want));
	cl_send_bound(c, &m);
}

static bool data_matches(struct net_client *c, const struct xfer *x, const struct net_msg *m)
{
	const struct net_b_data *d = &m->b.data;
	return d->dev == c->cfg.dev && d->lba == x->lba && d->count == x->count && d->chunk < x->nchunks &&
	       m->data_len == net_chunk_len(x->bytes, d->chunk);
}

static int do_read(struct net_client *c, struct xfer *x)
{
	struct req r;
	req_start(c, &r, NET_T_READ);
	send_read(c, &r, x);
	for (;;) {
		struct net_msg m;
		int rc = req_wait(c, &r, send_read, x, &m);
		if (rc < 0)
			return rc;
		if (m.type == NET_T_STATUS && m.b.status.status != NET_ST_OK) {
			c->stats.rx_ok++;
			return net_status_to_err(m.b.status.status);
		}
		if (m.type != NET_T_DATA) {
			c->stats.rx_unexpected++;
			continue;
		}
		if (!data_matches(c, x, &m)) {
			c->stats.rx_drop[NET_DROP_MALFORMED]++;
			continue;
		}
		c->stats.rx_ok++;
		u32 i = m.b.data.chunk;
		if (net_bit(x->have, i)) {
			c->stats.rx_dup_chunks++;
			req_alive(c, &r);
		} else {
			seg_copy(x->segs, x->nseg, (u64)i * NET_CHUNK, (u8 *)m.data, m.data_len, false);
			net_bit_set(x->have, i);
			if (++x->nhave == x->nchunks)
				return 0;
			if (net_bit(x->want, i) && x->pending)
				x->pending--;
			req_progress(c, &r);
		}
		/* This round is complete, or its last chunk came and the others
		 * it asked for are lost (or late): ask for the next round. */
		if (!x->pending || ((m.flags & NET_F_LAST) && i == x->last_want))
			send_read(c, &r, x);
	}
}

int net_client_read(struct net_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	struct xfer x;
	int rc = xfer_init(c, &x, lba, count, segs, nseg);
	return req_end(c, rc < 0 ? rc : do_read(c, &x));
}

/* ---- Write ----------------------------------------------------------------- */

static void send_chunk(struct net_client *c, const struct req *r, const struct xfer *x, u32 i, bool ack)
{
	struct net_msg m = { .type = NET_T_WRITE, .tag = r->tag, .flags = ack ? NET_F_ACK_REQ : 0 };
	m.b.data.dev = c->cfg.dev;
	m.b.data.chunk = (u16)i;
	m.b.data.count = x->count;
	m.b.data.lba = x->lba;
	m.data_len = net_chunk_len(x->bytes, i);
	seg_copy(x->segs, x->nseg, (u64)i * NET_CHUNK, c->chunk, m.data_len, true);
	m.data = c->chunk;
	cl_send_bound(c, &m);
}

/* Sends the first `burst` chunks the server lacks, asking for an answer
 * on the last. */
static void send_burst(struct net_client *c, const struct req *r, const struct xfer *x)
{
	u32 sent = 0, prev = x->nchunks;
	for (u32 i = 0; i < x->nchunks && sent < c->cfg.burst; i++) {
		if (net_bit(x->have, i))
			continue;
		if (prev != x->nchunks)
			send_chunk(c, r, x, prev, false);
		prev = i;
		sent++;
	}
	send_chunk(c, r, x, prev != x->nchunks ? prev : 0, true);
}

/* After a timeout or a rebind: one chunk the server lacks, asking for an
 * answer (NEED says what else is missing; STATUS if the write is done). */
static void send_probe(struct net_client *c, const struct req *r, struct xfer *x)
{
	u32 i = 0;
	while (i < x->nchunks && net_bit(x->have, i))
		i++;
	send_chunk(c, r, x, i < x->nchunks ? i : 0, true);
}

static int do_write(struct net_client *c, struct xfer *x)
{
	struct req r;
	req_start(c, &r, NET_T_WRITE);
	send_burst(c, &r, x);
	for (;;) {
		struct net_msg m;
		int rc = req_wait(c, &r, send_probe, x, &m);
		if (rc < 0)
			return rc;
		if (m.type == NET_T_STATUS) {
			c->stats.rx_ok++;
			return net_status_to_err(m.b.status.status);
		}
		if (m.type != NET_T_NEED) {
			c->stats.rx_unexpected++;
			continue;
		}
		if (m.b.need.nchunks != x->nchunks) {
			c->stats.rx_drop[NET_DROP_MALFORMED]++;
			continue;
		}
		c->stats.rx_ok++;
		/* The server's word is the truth, even if it holds fewer chunks
		 * than before (it may have had to drop the reassembly). */
		u32 n = net_bits_count(m.b.need.have, x->nchunks);
		if (n > x->nhave)
			req_progress(c, &r);
		else
			req_alive(c, &r);
		memcpy(x->have, m.b.need.have, sizeof(x->have));
		x->nhave = n;
		send_burst(c, &r, x);
	}
}

int net_client_write(struct net_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	struct xfer x;
	int rc = xfer_init(c, &x, lba, count, segs, nseg);
	if (rc == 0 && c->blk.info.read_only)
		rc = -E_ROFS;
	return req_end(c, rc < 0 ? rc : do_write(c, &x));
}

/* ---- Flush and identify: one frame each way ---------------------------------- */

static void send_simple(struct net_client *c, const struct req *r, struct xfer *x)
{
	(void)x;
	struct net_msg q = { .type = r->type, .tag = r->tag };
	q.b.dev.dev = c->cfg.dev;
	cl_send_bound(c, &q);
}

static int do_simple(struct net_client *c, u8 type, struct blk_info *info)
{
	struct req r;

	if (!c->bound)
		return -E_NOENT;
	if (c->changed)
		return -E_IO;
	req_start(c, &r, type);
	send_simple(c, &r, NULL);
	for (;;) {
		struct net_msg m;
		int rc = req_wait(c, &r, send_simple, NULL, &m);
		if (rc < 0)
			return rc;
		if (m.type == NET_T_STATUS && (type == NET_T_FLUSH || m.b.status.status != NET_ST_OK)) {
			c->stats.rx_ok++;
			return net_status_to_err(m.b.status.status);
		}
		if (m.type == NET_T_DEVINFO && type == NET_T_IDENTIFY && m.b.info.dev == c->cfg.dev) {
			c->stats.rx_ok++;
			net_devinfo_to_blk(&m.b.info, info);
			return 0;
		}
		c->stats.rx_unexpected++;
	}
}

int net_client_flush(struct net_client *c)
{
	return req_end(c, do_simple(c, NET_T_FLUSH, NULL));
}

int net_client_identify(struct net_client *c, struct blk_info *info)
{
	return req_end(c, do_simple(c, NET_T_IDENTIFY, info));
}

/* ---- Discovery and set-up ---------------------------------------------------- */

int net_client_discover(struct net_client *c, u64 timeout_us)
{
	u64 t = now(c), end = t + timeout_us, rto = c->cfg.rto_us;
	u64 deadline = t + rto;

	c->bound = false;
	c->disc_tag = 0;
	send_discover(c);
	for (;;) {
		struct net_msg m;
		if (cl_rx(c, &m) == RX_BOUND)
			return 0;
		t = now(c);
		if (t >= end) {
			c->disc_tag = 0;
			c->stats.failures++;
			return -E_TIMEDOUT;
		}
		if (t >= deadline) {
			rto = MIN(rto * 2, (u64)c->cfg.rto_max_us);
			deadline = t + rto;
			c->stats.retransmits++;
			send_discover(c);
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
	c->link = *link;
	net_key_init(&c->key, cfg->key, cfg->key_len);
	c->next_tag = 1;
	str_copy(c->name, "net", sizeof(c->name));
	c->blk.name = c->name;
	c->blk.ops = &net_blk_ops;
	c->blk.priv = c;
	return 0;
}
