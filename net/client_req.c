/* The ferry block protocol, client side: the requests (net/client.h,
 * docs/protocol.md).
 *
 * Every call runs one request to completion: send, then poll the link
 * (cl_rx does the checks that do not depend on the request) for frames
 * with the request's tag.  Silence for one retransmission timeout (RTO)
 * resends what is still missing; the RTO doubles up to a cap, progress
 * resets it.  A server silent for `retries` timeouts in a row is waited
 * for, retransmitting and rebinding, until dead_time_us of silence; a
 * server that answers without finishing the request is given
 * req_timeout_us (outages not counted).  Either ends it with -E_TIMEDOUT. */
#include "client_int.h"
#include "platform/mem.h"
#include "platform/console.h"
#include "lib/string.h"

/* ---- Retransmission timing --------------------------------------------------- */

struct req {
	u8 type;  /* NET_T_READ, _WRITE, _FLUSH or _IDENTIFY */
	u64 tag, start, deadline;
	u64 give_up;  /* the bound while the server answers: moved on by each outage ridden out */
	u64 hard;     /* the bound, whatever happens: req_timeout_us + dead_time_us */
	u64 rto;
	u32 timeouts;  /* in a row without progress */
	u32 quiet;     /* in a row without a frame from the server */
};

static void req_start(struct net_client *c, struct req *r, u8 type)
{
	u64 t = cl_now(c);
	r->type = type;
	r->tag = c->next_tag++;
	r->start = t;
	r->rto = c->cfg.rto_us;
	r->timeouts = r->quiet = 0;
	r->deadline = t + r->rto;
	r->give_up = t + c->cfg.req_timeout_us;
	r->hard = r->give_up + c->cfg.dead_time_us;
	c->stats.requests++;
}

/* The server is alive: wait a full RTO from now. */
static void req_alive(struct net_client *c, struct req *r)
{
	r->deadline = cl_now(c) + r->rto;
}

/* New data arrived: the backoff starts over. */
static void req_progress(struct net_client *c, struct req *r)
{
	r->timeouts = 0;
	r->rto = c->cfg.rto_us;
	req_alive(c, r);
}

/* `retries` timeouts without a word from it: the server has gone silent
 * (since the last frame heard, or since the request began if that was
 * earlier: an idle client expects nothing).  It is waited for (the caller
 * keeps retransmitting at rto_max_us and rebinding) until it has been
 * silent for dead_time_us; a server already dead when the request began
 * gets no second wait.  0 keep going, or -E_TIMEDOUT. */
static int req_silent(struct net_client *c, const struct req *r, u64 t)
{
	if (c->dead)
		return -E_TIMEDOUT;
	if (!c->silent) {
		c->silent = true;
		c->silent_since = MAX(c->last_heard, r->start);
		log_warn("client: server %s silent for %lu.%u s; waiting up to %lu s for it", c->name,
			 CL_SECS(t - c->silent_since), (unsigned long)(c->cfg.dead_time_us / 1000000));
	}
	return 0;
}

/* Nothing arrived: 0 keep waiting, 1 retransmit now, -E_TIMEDOUT give up.
 * Every rebind_after timeouts in a row, ask the server for its session
 * again, in case it rebooted and no longer knows our ticket. */
static int req_idle(struct net_client *c, struct req *r)
{
	u64 t = cl_now(c);
	if (t >= r->hard)
		return -E_TIMEDOUT;
	if (c->silent && !c->dead && t - c->silent_since >= c->cfg.dead_time_us) {
		c->dead = true;
		log_err("client: server %s silent for %lu.%u s: requests fail until it answers", c->name,
			CL_SECS(t - c->silent_since));
		return -E_TIMEDOUT;
	}
	/* An outage does not count against the bound on useless answers. */
	if (!c->silent && t >= r->give_up)
		return -E_TIMEDOUT;
	if (t < r->deadline)
		return 0;
	c->stats.timeouts++;
	r->timeouts++;
	if (++r->quiet > c->cfg.retries && req_silent(c, r, t) < 0)
		return -E_TIMEDOUT;
	r->rto = MIN(r->rto * 2, (u64)c->cfg.rto_max_us);
	r->deadline = t + r->rto;
	if (c->cfg.rebind_after && r->timeouts % c->cfg.rebind_after == 0)
		cl_send_discover(c);
	c->stats.retransmits++;
	return 1;
}

/* A frame from the server after it was silent: the outage is over.  The
 * request's bound moves on by the outage, and the backoff starts over. */
static void req_back(struct net_client *c, struct req *r)
{
	r->give_up = MIN(r->give_up + c->last_outage_us, r->hard);
	req_progress(c, r);
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
		bool silent = c->silent;
		int k = cl_rx(c, m);
		if (k == RX_MSG || k == RX_BOUND || k == RX_MISMATCH)
			r->quiet = 0; /* the server is there */
		if (silent && !c->silent)
			req_back(c, r);
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

/* Copies len bytes from byte off of the scatter list into buf (a write's
 * chunk before it is sent). */
static void seg_read(const struct blk_seg *segs, unsigned nseg, u64 off, u8 *buf, u32 len)
{
	for (unsigned i = 0; i < nseg && len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		u32 n = (u32)MIN((u64)segs[i].len - off, (u64)len);
		memcpy(buf, (const u8 *)phys_to_virt(segs[i].addr) + off, n);
		buf += n;
		len -= n;
		off = 0;
	}
}

/* Copies len bytes of buf to byte off of the scatter list (a read's chunk
 * as it arrives). */
static void seg_write(const struct blk_seg *segs, unsigned nseg, u64 off, const u8 *buf, u32 len)
{
	for (unsigned i = 0; i < nseg && len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		u32 n = (u32)MIN((u64)segs[i].len - off, (u64)len);
		memcpy((u8 *)phys_to_virt(segs[i].addr) + off, buf, n);
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
			seg_write(x->segs, x->nseg, (u64)i * NET_CHUNK, m.data, m.data_len);
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
	seg_read(x->segs, x->nseg, (u64)i * NET_CHUNK, c->chunk, m.data_len);
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
