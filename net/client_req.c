/* The ferry block protocol, client side: the requests (net/client.h,
 * docs/protocol.md, "Many requests in flight").
 *
 * Up to NET_DEPTH requests are held at once, in rq[] and, by tag (the
 * order they were submitted), in order[].  A request first WAITs while an
 * earlier one it must not overtake is held (platform/blk.h's ordering,
 * rq_blocked), then is ACTIVE: it sends what it owes the server (a read
 * round, a write burst, a probe) when the shared budget (`burst` standard
 * frames' bytes in flight) has room, and takes the frames with its tag.  Each active
 * request has its own timing: silence for one retransmission timeout
 * (RTO) resends what is still missing; the RTO doubles up to a cap,
 * progress resets it.  The server's liveness is the client's, not a
 * request's: `retries` timeouts in a row without a frame from it make it
 * silent (one log line), and it is waited for, retransmitting and
 * rebinding, until dead_time_us of silence; a server that answers without
 * finishing a request gives it req_timeout_us (outages not counted).
 * Either ends the request with -E_TIMEDOUT.  Finished requests are DONE
 * until the end of the poll, which runs their callbacks. */
#include "client_int.h"
#include "platform/mem.h"
#include "platform/console.h"
#include "lib/string.h"

/* ---- The requests held ------------------------------------------------------ */

static struct net_rq *rq_at(struct net_client *c, unsigned i)
{
	return &c->rq[c->order[i]];
}

/* The oldest tag the client still waits for (held and not done): what
 * `live` counts back to, so the floor the server learns.  ~0: none. */
static u64 oldest_tag(struct net_client *c)
{
	for (unsigned i = 0; i < c->held; i++)
		if (rq_at(c, i)->state != NET_RQ_DONE)
			return rq_at(c, i)->tag;
	return ~0ull;
}

/* A failed request is the guest's I/O error: each one is counted in
 * stats.failures and named in the log, at most NET_FAIL_LOG_MAX lines per
 * NET_FAIL_LOG_US (a dead server fails every request held); the last line
 * of a window says that further ones are only counted. */
#define NET_FAIL_LOG_MAX 8
#define NET_FAIL_LOG_US (10 * 1000 * 1000)
static void log_failure(struct net_client *c, const struct net_rq *r, int rc)
{
	static const char *const names[] = { [NET_T_READ] = "READ", [NET_T_WRITE] = "WRITE",
					     [NET_T_FLUSH] = "FLUSH", [NET_T_IDENTIFY] = "IDENTIFY" };
	const char *what = r->type < ARRAY_SIZE(names) && names[r->type] ? names[r->type] : "request";
	u64 t = cl_now(c);
	c->stats.failures++;
	if (t - c->fail_log_at >= NET_FAIL_LOG_US) {
		c->fail_log_at = t;
		c->fail_logged = 0;
	}
	if (c->fail_logged++ >= NET_FAIL_LOG_MAX)
		return;
	const char *more = c->fail_logged == NET_FAIL_LOG_MAX ? "; further failures in the next 10 s are only counted" : "";
	if (r->type == NET_T_READ || r->type == NET_T_WRITE)
		log_err("client: %s of %u sectors at LBA %lu (tag %lu) failed after %lu ms: %s%s", what, r->count,
			r->lba, r->tag, (t - r->start) / 1000, err_name(rc), more);
	else
		log_err("client: %s (tag %lu) failed after %lu ms: %s%s", what, r->tag, (t - r->start) / 1000,
			err_name(rc), more);
}

/* The request finished: its frames leave the budget, its callback runs at
 * the end of this poll.  A write given up on may still land from late
 * frames until the server's floor passes it: remembered (rq_blocked). */
void cl_rq_finish(struct net_client *c, struct net_rq *r, int rc)
{
	c->credit -= r->credit;
	r->credit = 0;
	r->rc = rc;
	if (r->state == NET_RQ_ACTIVE) {
		u64 us = cl_now(c) - r->start;
		c->stats.req_us += us;
		c->stats.req_us_max = MAX(c->stats.req_us_max, us);
	}
	r->state = NET_RQ_DONE;
	c->done_any = true;
	if (rc < 0)
		log_failure(c, r, rc);
	if (rc == -E_TIMEDOUT && r->type == NET_T_WRITE && c->nab < ARRAY_SIZE(c->ab))
		c->ab[c->nab++] = (struct net_abandoned){ r->tag, r->lba, r->count };
}

/* Its frames are answered, or lost: their room in the budget is free. */
void cl_rq_release(struct net_client *c, struct net_rq *r)
{
	c->credit -= r->credit;
	r->credit = 0;
}

static bool overlap(u64 a, u32 na, u64 b, u32 nb)
{
	return a < b + nb && b < a + na;
}

/* May r not be sent yet?  It must wait for every earlier request it must
 * not overtake: a FLUSH for every earlier write (its STATUS first, so the
 * FLUSH finds it on the disk); a read or write for an earlier overlapping
 * write, a write for an earlier overlapping read.  And for an abandoned
 * write it overlaps (a FLUSH: any) until the floor is above that write: the floor is the
 * oldest tag still waited for (r's own frames carry it, and the server
 * raises its floor before it applies them).  And its tag must stay within
 * NET_TAG_SPAN of the floor (the server's duplicate cache). */
static bool rq_blocked(struct net_client *c, unsigned pos, u64 floor)
{
	struct net_rq *r = rq_at(c, pos);
	if (r->tag - floor >= NET_TAG_SPAN)
		return true;
	bool rw = r->type == NET_T_READ || r->type == NET_T_WRITE;
	for (unsigned i = 0; i < pos; i++) {
		const struct net_rq *e = rq_at(c, i);
		if (e->state == NET_RQ_DONE)
			continue;
		if (r->type == NET_T_FLUSH && e->type == NET_T_WRITE)
			return true;
		if (rw && (e->type == NET_T_WRITE || (e->type == NET_T_READ && r->type == NET_T_WRITE)) &&
		    overlap(r->lba, r->count, e->lba, e->count))
			return true;
	}
	/* A FLUSH waits for every abandoned write, overlapping or not: one
	 * that landed after it would not be durable when it completes. */
	for (unsigned i = 0; (rw || r->type == NET_T_FLUSH) && i < c->nab; i++)
		if (c->ab[i].tag >= floor &&
		    (r->type == NET_T_FLUSH || overlap(r->lba, r->count, c->ab[i].lba, c->ab[i].count)))
			return true;
	return false;
}

/* Abandoned writes below the floor can no longer land (the floor only
 * rises, and every frame sent from now on carries one above them). */
static void ab_prune(struct net_client *c, u64 floor)
{
	for (unsigned i = 0; i < c->nab;)
		if (c->ab[i].tag < floor)
			c->ab[i] = c->ab[--c->nab];
		else
			i++;
}

/* ---- Retransmission timing --------------------------------------------------- */

/* The request goes on the wire now: its clocks start. */
static void rq_activate(struct net_client *c, struct net_rq *r)
{
	u64 t = cl_now(c);
	r->state = NET_RQ_ACTIVE;
	r->send = true;
	r->start = t;
	r->rto = c->cfg.rto_us;
	r->timeouts = r->quiet = 0;
	r->on_disk = false;
	r->deadline = t + r->rto;
	r->give_up = t + c->cfg.req_timeout_us;
	r->hard = r->give_up + c->cfg.dead_time_us;
}

/* The server is alive: wait a full RTO from now. */
void cl_rq_alive(struct net_client *c, struct net_rq *r)
{
	r->deadline = cl_now(c) + r->rto;
}

/* The server holds r whole on its disk: its answer comes when the disk
 * is done.  Until the next timeout r waits a full RTO; that timeout is
 * the disk's, not the link's: it neither shrinks the budget nor counts
 * towards a rebind (the backoff goes on: probes stay rare).  Nor is the
 * wait a useless answer: req_timeout_us counts from now again, so a disk
 * slower than it (spinning up) is waited for while the server says so,
 * its driver's own timeouts bounding it, and `hard` whatever it says. */
void cl_rq_on_disk(struct net_client *c, struct net_rq *r)
{
	r->on_disk = true;
	r->timeouts = 0;
	r->give_up = MIN(MAX(r->give_up, cl_now(c) + c->cfg.req_timeout_us), r->hard);
	cl_rq_alive(c, r);
}

/* New data arrived: the backoff starts over. */
void cl_rq_progress(struct net_client *c, struct net_rq *r)
{
	r->timeouts = 0;
	r->rto = c->cfg.rto_us;
	cl_rq_alive(c, r);
}

/* `retries` timeouts without a word from it: the server has gone silent
 * (since the last frame heard, or since the request began if that was
 * earlier: an idle client expects nothing).  It is waited for (the
 * requests keep retransmitting at rto_max_us and rebinding) until it has
 * been silent for dead_time_us; a server already dead gets no second
 * wait.  0 keep going, or -E_TIMEDOUT. */
static int req_silent(struct net_client *c, const struct net_rq *r, u64 t)
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

/* Asks the server for its session again (it may have rebooted and no
 * longer know our ticket), at most every rto_max_us / 2 however many
 * requests time out together: one handshake for the client. */
static void rebind(struct net_client *c, u64 t)
{
	if (c->last_discover && t - c->last_discover < c->cfg.rto_max_us / 2)
		return;
	c->last_discover = t;
	cl_send_discover(c);
}

/* An active request's clock: 0 keep waiting, 1 retransmit now,
 * -E_TIMEDOUT give up.  Every rebind_after timeouts in a row, rebind. */
static int req_idle(struct net_client *c, struct net_rq *r, u64 t)
{
	if (t >= r->hard)
		return -E_TIMEDOUT;
	if (c->silent && !c->dead && t - c->silent_since >= c->cfg.dead_time_us) {
		c->dead = true;
		log_err("client: server %s silent for %lu.%u s: requests fail until it answers", c->name,
			CL_SECS(t - c->silent_since));
		return -E_TIMEDOUT;
	}
	/* Dead: every request that has heard nothing for `retries` timeouts
	 * fails now, not one by one. */
	if (c->dead && r->quiet > c->cfg.retries)
		return -E_TIMEDOUT;
	/* An outage does not count against the bound on useless answers. */
	if (!c->silent && t >= r->give_up)
		return -E_TIMEDOUT;
	if (r->send || t < r->deadline)
		return 0; /* nothing on the wire yet (the budget is full), or not due */
	c->stats.timeouts++;
	r->timeouts++;
	if (++r->quiet > c->cfg.retries && req_silent(c, r, t) < 0)
		return -E_TIMEDOUT;
	r->rto = MIN(r->rto * 2, (u64)c->cfg.rto_max_us);
	r->deadline = t + r->rto;
	if (c->cfg.rebind_after && r->timeouts % c->cfg.rebind_after == 0)
		rebind(c, t);
	c->stats.retransmits++;
	return 1;
}

/* A frame from the server after it was silent: the outage is over.  Each
 * request's bound moves on by the outage, and its backoff starts over. */
static void req_back(struct net_client *c, struct net_rq *r)
{
	r->give_up = MIN(r->give_up + c->last_outage_us, r->hard);
	cl_rq_progress(c, r);
}

/* ---- Sending: one path, so every frame's counter rises ------------------- */

/* A request frame: `live` counts back to the oldest tag still waited for,
 * so the server drops what is left of requests older than that. */
void cl_rq_emit(struct net_client *c, const struct net_rq *r, struct net_msg *m)
{
	u64 floor = oldest_tag(c);
	m->live = (u16)(floor < r->tag ? r->tag - floor : 0);
	cl_send_bound(c, m);
}

/* Starts what may start and sends what is owed, oldest first, while the
 * budget has room. */
static void pump(struct net_client *c)
{
	u64 floor = oldest_tag(c);
	ab_prune(c, floor);
	for (unsigned i = 0; i < c->held; i++) {
		struct net_rq *r = rq_at(c, i);
		if (r->state == NET_RQ_WAIT && !rq_blocked(c, i, floor))
			rq_activate(c, r);
		if (r->state == NET_RQ_ACTIVE && r->send && !cl_rq_send(c, r))
			break;
	}
}

/* ---- Receiving --------------------------------------------------------------- */

/* The server answered a request sent at seq: it works through what it
 * got in order, so the requests sent after that one are queued behind it,
 * not lost.  Their RTO starts again (a request sent before it gets no
 * such grace: its frames were likely lost). */
static void queue_moves(struct net_client *c, u64 seq)
{
	for (unsigned i = 0; i < c->held; i++) {
		struct net_rq *y = rq_at(c, i);
		if (y->state == NET_RQ_ACTIVE && !y->send && y->sent_seq > seq)
			cl_rq_alive(c, y);
	}
}

/* An authentic frame from the bound server: to the active request with
 * its tag, or stale. */
static void dispatch(struct net_client *c, const struct net_msg *m)
{
	for (unsigned i = 0; i < c->held; i++) {
		struct net_rq *r = rq_at(c, i);
		if (r->tag != m->tag)
			continue;
		if (r->state != NET_RQ_ACTIVE)
			break;
		if (r->type == NET_T_READ)
			cl_got_read(c, r, m);
		else if (r->type == NET_T_WRITE)
			cl_got_write(c, r, m);
		else
			cl_got_simple(c, r, m);
		queue_moves(c, r->sent_seq);
		return;
	}
	c->stats.rx_stale++;
}

/* Cuts a read or write into the binding's chunks, none held yet. */
static void rq_chunk(struct net_client *c, struct net_rq *r)
{
	r->csize = c->csize;
	r->nchunks = net_chunks(r->bytes, r->csize);
	r->nhave = 0;
	memset(r->have, 0, sizeof(r->have));
}

/* Everything in flight is resent: after a rebind (the server may have
 * rebooted and lost the requests), as probes for the writes.  A binding
 * with another frame size cuts every request anew: the chunks held so far
 * are counted in the old size (a read's data is in place and comes again;
 * the server drops a write's reassembly of the old size). */
static void resend_all(struct net_client *c)
{
	for (unsigned i = 0; i < c->held; i++) {
		struct net_rq *r = rq_at(c, i);
		if ((r->type == NET_T_READ || r->type == NET_T_WRITE) && r->state != NET_RQ_DONE && r->csize != c->csize)
			rq_chunk(c, r);
		if (r->state != NET_RQ_ACTIVE)
			continue;
		cl_rq_release(c, r);
		r->pending = 0;
		memset(r->want, 0, sizeof(r->want));
		r->probe = r->send = true;
		cl_rq_alive(c, r);
	}
}

/* Takes one frame from the link and acts on it: false when none came. */
static bool take_frame(struct net_client *c)
{
	struct net_msg m;
	bool silent = c->silent;
	int k = cl_rx(c, &m);
	if (k == RX_NONE)
		return false;
	bool server = k == RX_MSG || k == RX_BOUND || k == RX_MISMATCH;
	for (unsigned i = 0; server && i < c->held; i++)
		rq_at(c, i)->quiet = 0; /* the server is there */
	if (silent && !c->silent)
		for (unsigned i = 0; i < c->held; i++)
			if (rq_at(c, i)->state == NET_RQ_ACTIVE)
				req_back(c, rq_at(c, i));
	if (k == RX_MISMATCH) {
		/* The server now exports another disk: nothing held may go on. */
		for (unsigned i = 0; i < c->held; i++)
			if (rq_at(c, i)->state != NET_RQ_DONE)
				cl_rq_finish(c, rq_at(c, i), -E_IO);
	} else if (k == RX_BOUND) {
		resend_all(c);
	} else if (k == RX_MSG) {
		dispatch(c, &m);
	}
	return true;
}

/* Every active request's clock: retransmissions and the ends of those
 * that time out.  Checked on every poll, frames or not, so a stream of
 * frames that are of no use cannot hold a request past its budget. */
static void check_timers(struct net_client *c)
{
	u64 t = cl_now(c);
	for (unsigned i = 0; i < c->held; i++) {
		struct net_rq *r = rq_at(c, i);
		if (r->state != NET_RQ_ACTIVE)
			continue;
		int k = req_idle(c, r, t);
		if (k < 0) {
			cl_rq_finish(c, r, k);
		} else if (k > 0) {
			/* a FLUSH or IDENTIFY waits on the server's disk, not the
			 * link; so does a request the server said it has there */
			if ((r->type == NET_T_READ || r->type == NET_T_WRITE) && !r->on_disk)
				cl_budget_loss(c, r);
			else
				r->filled = false;
			r->on_disk = false; /* until the server says so again */
			cl_rq_release(c, r);
			r->pending = 0;
			memset(r->want, 0, sizeof(r->want));
			r->probe = r->send = true;
		}
	}
}

/* Frees the finished requests and runs their callbacks (which may submit
 * again: the slot is free first). */
static void complete(struct net_client *c)
{
	while (c->done_any) {
		c->done_any = false;
		for (unsigned i = 0; i < c->held; i++) {
			struct net_rq *r = rq_at(c, i);
			if (r->state != NET_RQ_DONE)
				continue;
			struct blk_io *io = r->io;
			int rc = r->rc;
			r->state = NET_RQ_FREE;
			memmove(&c->order[i], &c->order[i + 1], c->held - i - 1);
			c->held--;
			io->done(io, rc);
			c->done_any = true; /* the order changed: look again */
			break;
		}
	}
}

/* The earliest time a request's clock needs looking at: a retransmission,
 * a bound, or the dead time. */
static u64 next_due(struct net_client *c)
{
	u64 due = ~0ull;
	for (unsigned i = 0; i < c->held; i++) {
		const struct net_rq *r = rq_at(c, i);
		if (r->state != NET_RQ_ACTIVE)
			continue;
		due = MIN(due, r->hard);
		if (!r->send)
			due = MIN(due, r->deadline);
		if (!c->silent)
			due = MIN(due, r->give_up);
	}
	if (c->silent && !c->dead)
		due = MIN(due, c->silent_since + c->cfg.dead_time_us);
	return due;
}

unsigned net_client_poll(struct net_client *c)
{
	if (!c->held)
		return 0;
	/* Frames until the link has none or a clock is due: time is checked
	 * on every turn, so a stream of frames of no use cannot hold a
	 * request past its budget. */
	u64 due = next_due(c);
	for (unsigned n = 0; n < NET_POLL_FRAMES && take_frame(c); n++)
		if (cl_now(c) >= due)
			break;
	check_timers(c);
	pump(c);
	complete(c);
	if (c->held)
		pump(c); /* the floor may have risen: more may start */
	return c->held;
}

/* ---- Submitting --------------------------------------------------------------- */

static int rq_submit(struct net_client *c, u8 type, struct blk_io *io, struct blk_info *info)
{
	if (!c->bound)
		return -E_NOENT;
	if (c->changed)
		return -E_IO;
	if (type == NET_T_READ || type == NET_T_WRITE) {
		int rc = cl_xfer_check(c, io);
		if (rc < 0)
			return rc;
	}
	if (c->held == NET_DEPTH)
		return -E_NOSPC;
	unsigned slot = 0;
	while (c->rq[slot].state != NET_RQ_FREE)
		slot++;
	struct net_rq *r = &c->rq[slot];
	*r = (struct net_rq){ .state = NET_RQ_WAIT, .type = type, .tag = c->next_tag++, .io = io, .info = info };
	if (type == NET_T_READ || type == NET_T_WRITE) {
		r->lba = io->lba;
		r->count = io->count;
		r->segs = io->segs;
		r->nseg = io->nseg;
		r->bytes = io->count * c->blk.info.sector_size;
		rq_chunk(c, r);
	}
	c->order[c->held++] = (u8)slot;
	c->stats.requests++;
	c->stats.inflight_max = MAX(c->stats.inflight_max, (u64)c->held);
	pump(c); /* on the wire at once if it may go */
	return 0;
}

int net_client_submit(struct net_client *c, struct blk_io *io)
{
	static const u8 types[] = { [BLK_OP_READ] = NET_T_READ, [BLK_OP_WRITE] = NET_T_WRITE,
				    [BLK_OP_FLUSH] = NET_T_FLUSH };
	int rc = (unsigned)io->op < ARRAY_SIZE(types) && io->done ? rq_submit(c, types[io->op], io, NULL) : -E_INVAL;
	if (rc < 0 && rc != -E_NOSPC)
		c->stats.failures++;
	return rc;
}

/* ---- The synchronous calls: submit, then poll until done ------------------ */

static void sync_done(struct blk_io *io, int rc)
{
	*(int *)io->ctx = rc;
}

static int run_sync(struct net_client *c, u8 type, struct blk_io *io, struct blk_info *info)
{
	int rc = 1; /* done gives 0 or a negative code */
	io->done = sync_done;
	io->ctx = &rc;
	int s;
	while ((s = rq_submit(c, type, io, info)) == -E_NOSPC)
		net_client_poll(c); /* room comes as others finish */
	if (s < 0) {
		c->stats.failures++;
		return s;
	}
	while (rc == 1)
		net_client_poll(c);
	return rc;
}

int net_client_read(struct net_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	struct blk_io io = { .op = BLK_OP_READ, .lba = lba, .count = count, .segs = segs, .nseg = nseg };
	return run_sync(c, NET_T_READ, &io, NULL);
}

int net_client_write(struct net_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	struct blk_io io = { .op = BLK_OP_WRITE, .lba = lba, .count = count, .segs = segs, .nseg = nseg };
	return run_sync(c, NET_T_WRITE, &io, NULL);
}

int net_client_flush(struct net_client *c)
{
	struct blk_io io = { .op = BLK_OP_FLUSH };
	return run_sync(c, NET_T_FLUSH, &io, NULL);
}

int net_client_identify(struct net_client *c, struct blk_info *info)
{
	struct blk_io io = { .op = BLK_OP_FLUSH };
	return run_sync(c, NET_T_IDENTIFY, &io, info);
}
