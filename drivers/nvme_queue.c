/* The NVMe I/O queue: submit and poll of platform/blk.h.
 *
 * Reads and writes go on the one I/O queue pair, up to c->depth at once
 * (NVME_QUEUE_DEPTH, or one less than a smaller queue's entries), each
 * with its slot's number as its command identifier and its slot's own PRP
 * list page.  The controller completes them in any order: poll takes the
 * completion queue's new entries by their phase tag (4.6) and believes
 * one only when it names the I/O queue and a slot in flight.  Anything
 * else (a stale, repeated or invented identifier) is dropped and counted
 * in a log line, and poll takes at most a queue's worth of entries, so a
 * controller that writes completions without end cannot keep it there.
 *
 * Three kinds of io go alone, with nothing else in flight: a FLUSH; a
 * request whose segments no PRP list can describe, as the bounce buffer
 * is one (drivers/nvme.c); and, after a reset, those that were in flight
 * (below).  Alone means once it is the oldest held and nothing is in
 * flight, and nothing after it passes it.
 *
 * blk.h's ordering holds whatever order the controller completes in
 * (NVMe promises none, 6.1 of the NVM command set): every io taken waits
 * on the held list (submission order, drivers/blk_hold.h) until nothing
 * before it that it must not pass is still held: a write waits for an
 * overlapping read or write, a read for an overlapping write, and a
 * FLUSH, alone, for everything before it.  Nothing is allocated or
 * copied here (but for the bounce); on success the only log lines are a
 * few high-water marks that show the queue at work.
 *
 * Errors: NVMe gives each command its own status, so an error status
 * fails that io alone (-E_IO).  A command past its timeout, or a
 * controller that reports a fatal status or is gone from the bus, resets
 * the controller, and CC.EN = 0 aborts everything in flight: each io
 * that was in flight beside others then runs again alone, in submission
 * order, one at a time from later polls (c->solo), so each gets its own
 * true result, and the caller goes on meanwhile; one that was alone
 * already fails with that error.  A controller that cannot be brought
 * back fails every io held (and one that would not stop has its bus
 * mastering turned off first, drivers/nvme.c).  Every io submit took
 * finishes exactly once, from poll, after the controller stopped with
 * its buffers when it failed.
 *
 * References: NVM Express Base Specification 1.4 (sections in nvme.h). */
#include "nvme_ctrl.h"
#include "blk_segs.h"
#include "platform/console.h"
#include "platform/time.h"

static inline unsigned nvme_q_lowest(u32 bits) { return (unsigned)__builtin_ctz(bits); }

/* What one poll finished: the callbacks run last, once the queue's state
 * is whole again (a callback may submit).  Each frees a slot: at most
 * every slot's io. */
struct nvme_fin {
	unsigned n;
	struct {
		struct blk_io *io;
		int rc;
	} e[NVME_QUEUE_DEPTH];
};

void nvme_queue_setup(struct nvme_ctrl *c)
{
	c->depth = (u8)MIN(NVME_QUEUE_DEPTH, (unsigned)c->io.entries - 1);
}

/* ---- The held list and the slots ------------------------------------------ */

/* io leaves the list; its callback runs at the end of the poll.  While
 * c->solo ios go alone, each one that finishes is the head, one of them. */
static void nvme_q_fin(struct nvme_ctrl *c, struct nvme_fin *f, struct blk_io *io, int rc)
{
	blk_hold_remove(&c->hold, io);
	if (c->solo)
		c->solo--;
	f->e[f->n].io = io;
	f->e[f->n].rc = rc;
	f->n++;
}

static struct blk_io *nvme_q_free_slot(struct nvme_ctrl *c, unsigned s)
{
	struct blk_io *io = c->slot_io[s];
	c->slot_io[s] = NULL;
	c->busy &= ~BIT32(s);
	c->nbusy--;
	if (!c->busy)
		c->alone_busy = false;
	return io;
}

static bool nvme_q_issued(const struct nvme_ctrl *c, const struct blk_io *io)
{
	for (u32 b = c->busy; b; b &= b - 1)
		if (c->slot_io[nvme_q_lowest(b)] == io)
			return true;
	return false;
}

static bool nvme_q_alone(const struct nvme_ctrl *c, const struct blk_io *io)
{
	return c->solo || io->op == BLK_OP_FLUSH || nvme_needs_bounce(io->segs, io->nseg);
}

/* Logs each new power of two that the most commands in flight at once,
 * or found finished by one poll, reaches: the queue at work, in a few
 * lines. */
static void nvme_q_note(const struct nvme_ctrl *c, unsigned *most, unsigned n, const char *what)
{
	if (n <= *most)
		return;
	unsigned k = 1, old = *most;
	*most = n;
	while (k * 2 <= n)
		k *= 2;
	if (k >= 2 && k > old)
		log_info("nvme: nvme0n%u: %u commands %s (the most so far)", c->nsid, n, what);
}

/* ---- Issuing ------------------------------------------------------------- */

/* Writes io's command into the SQ as slot s (the caller rings the
 * doorbell). */
static void nvme_q_issue(struct nvme_ctrl *c, struct blk_io *io, unsigned s, bool alone)
{
	struct nvme_sqe cmd = { .cdw0 = NVME_CMD_FLUSH, .nsid = c->nsid };
	bool bounce = false;
	if (io->op != BLK_OP_FLUSH) {
		bounce = nvme_needs_bounce(io->segs, io->nseg);
		nvme_rw_cmd(c, &cmd, io->op == BLK_OP_WRITE, io->lba, io->count, io->segs, io->nseg, s, bounce);
	}
	cmd.cdw0 |= (u32)s << 16; /* CID; PSDT 0: PRPs */
	struct nvme_queue *q = &c->io;
	q->sq[q->sq_tail] = cmd;
	q->sq_tail = (u16)((q->sq_tail + 1) % q->entries);
	c->slot_io[s] = io;
	c->slot_t0[s] = time_us();
	c->busy |= BIT32(s);
	c->nbusy++;
	c->alone_busy = alone;
	c->bounced = bounce;
	if (!alone)
		nvme_q_note(c, &c->most_issued, c->nbusy, "in flight at once");
}

/* Issues what may go, oldest first: each io nothing earlier blocks, while
 * a slot is free; one that goes alone once it is the oldest held and
 * nothing is in flight, and nothing after it passes it.  One doorbell
 * for them all. */
static void nvme_q_start(struct nvme_ctrl *c)
{
	if (c->dead || c->need_reset || c->alone_busy || !c->hold.head)
		return;
	unsigned n = 0;
	for (struct blk_io *io = c->hold.head; io; io = io->next) {
		if (nvme_q_alone(c, io)) {
			if (io == c->hold.head && !c->busy)
				nvme_q_issue(c, io, 0, true), n++;
			break;
		}
		if (c->nbusy == c->depth)
			break;
		if (!nvme_q_issued(c, io) && !blk_hold_blocked(&c->hold, io)) {
			unsigned s = 0;
			while (c->busy & BIT32(s))
				s++; /* a slot below depth: fewer than depth are busy */
			nvme_q_issue(c, io, s, false);
			n++;
		}
	}
	if (n) {
		wmb(); /* the entries and everything they point at are in memory first */
		nvme_wr(c, nvme_db(c, c->io.qid, false), c->io.sq_tail);
	}
}

/* ---- Completion and errors ------------------------------------------------- */

/* A completion that names no command in flight: dropped, and logged at
 * the first and then at each power of two. */
static void nvme_q_stray(struct nvme_ctrl *c, u16 sqid, u16 cid)
{
	unsigned n = ++c->strays;
	if ((n & (n - 1)) == 0)
		log_warn("nvme: nvme0n%u: a completion names no command in flight (SQ %u, CID %u); ignored (%u so far)",
			 c->nsid, sqid, cid, n);
}

/* One completion of slot s with status field st (phase bit clear). */
static void nvme_q_done(struct nvme_ctrl *c, struct nvme_fin *f, unsigned s, u32 st)
{
	bool bounced = c->alone_busy && c->bounced;
	struct blk_io *io = nvme_q_free_slot(c, s);
	if (st)
		nvme_log_status(&c->io, io->op == BLK_OP_FLUSH ? NVME_CMD_FLUSH :
					io->op == BLK_OP_WRITE ? NVME_CMD_WRITE : NVME_CMD_READ, c->nsid, st);
	else if (bounced && io->op == BLK_OP_READ)
		blk_segs_copy(nvme_page(c, NVME_PG_BOUNCE), io->segs, io->nseg, false);
	nvme_q_fin(c, f, io, st ? -E_IO : 0);
}

/* Takes the CQ's new entries, at most a queue's worth. */
static void nvme_q_reap(struct nvme_ctrl *c, struct nvme_fin *f)
{
	struct nvme_queue *q = &c->io;
	unsigned seen = 0;
	while (seen < q->entries) {
		volatile struct nvme_cqe *e = &q->cq[q->cq_head];
		u16 status = e->status;
		if ((status & NVME_CQE_PHASE) != q->phase)
			break;
		rmb(); /* the rest of the entry, and the data, after the phase tag */
		u16 cid = e->cid, sqid = e->sqid;
		if (++q->cq_head == q->entries) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		seen++;
		if (sqid != q->qid || cid >= c->depth || !(c->busy & BIT32(cid)))
			nvme_q_stray(c, sqid, cid);
		else
			nvme_q_done(c, f, cid, status & 0xFFFEu);
	}
	if (seen)
		nvme_wr(c, nvme_db(c, q->qid, true), q->cq_head);
	if (f->n > 1)
		nvme_q_note(c, &c->most_reaped, f->n, "finished at one poll");
}

/* Is a command in flight past its timeout? */
static bool nvme_q_timed_out(const struct nvme_ctrl *c)
{
	u64 now = time_us();
	for (u32 b = c->busy; b; b &= b - 1) {
		unsigned s = nvme_q_lowest(b);
		u64 limit = c->slot_io[s]->op == BLK_OP_FLUSH ? NVME_FLUSH_US : NVME_IO_US;
		if (now - c->slot_t0[s] > limit)
			return true;
	}
	return false;
}

/* A command timed out, or the controller went fatal or away (rc): the
 * reset aborts everything in flight.  One that was alone fails with rc;
 * those in flight beside others run again alone, oldest first, from the
 * next polls on: every io held up to the last of them goes alone
 * (c->solo), an io that was waiting between them too. */
static void nvme_q_error(struct nvme_ctrl *c, int rc, u32 csts, struct nvme_fin *f)
{
	if (c->alone_busy) {
		struct blk_io *io = c->slot_io[nvme_q_lowest(c->busy)];
		const char *op = io->op == BLK_OP_FLUSH ? "FLUSH" : io->op == BLK_OP_WRITE ? "WRITE" : "READ";
		log_err("nvme: %s (nsid %u) %s; resetting the controller (CSTS=%08x)", op, c->nsid,
			nvme_why_stuck(csts), csts);
		nvme_q_fin(c, f, nvme_q_free_slot(c, nvme_q_lowest(c->busy)), rc);
	} else {
		log_err("nvme: READ/WRITE %s (%u in flight, each to run alone); resetting the controller (CSTS=%08x)",
			nvme_why_stuck(csts), c->nbusy, csts);
		unsigned n = 0, last = 0;
		for (struct blk_io *io = c->hold.head; io; io = io->next) {
			n++;
			if (nvme_q_issued(c, io))
				last = n;
		}
		c->solo = last;
	}
	for (unsigned s = 0; s < NVME_QUEUE_DEPTH; s++)
		c->slot_io[s] = NULL;
	c->busy = 0;
	c->nbusy = 0;
	c->alone_busy = false;
	c->need_reset = true;
	nvme_usable(c); /* the callbacks come after it: the controller has stopped, or is dead */
}

/* Every io held fails: the controller is dead (nothing is in flight). */
static void nvme_q_fail_held(struct nvme_ctrl *c)
{
	struct blk_io *io;
	while (!c->busy && (io = c->hold.head)) {
		blk_hold_remove(&c->hold, io);
		io->done(io, -E_IO);
	}
	c->solo = 0;
}

static void nvme_q_poll(struct nvme_ctrl *c)
{
	struct nvme_fin f;
	f.n = 0;
	if (c->busy) {
		nvme_q_reap(c, &f);
		if (c->busy) {
			/* CSTS only when nothing finished: it costs a read across the bus. */
			u32 csts = f.n ? 0 : nvme_rd(c, NVME_CSTS);
			if (nvme_gone(csts) || (csts & NVME_CSTS_CFS))
				nvme_q_error(c, -E_IO, csts, &f);
			else if (nvme_q_timed_out(c))
				nvme_q_error(c, -E_TIMEDOUT, nvme_rd(c, NVME_CSTS), &f);
		}
	} else if (c->hold.n && c->need_reset) {
		nvme_usable(c); /* one more reset, or the controller is dead */
	}
	nvme_q_start(c);
	for (unsigned i = 0; i < f.n; i++)
		f.e[i].io->done(f.e[i].io, f.e[i].rc);
	if (c->dead)
		nvme_q_fail_held(c);
}

/* ---- blk_ops --------------------------------------------------------------- */

int nvme_submit(struct blk_dev *dev, struct blk_io *io)
{
	struct nvme_ctrl *c = dev ? dev->priv : NULL;
	if (!c || !io || !io->done || (io->op != BLK_OP_READ && io->op != BLK_OP_WRITE && io->op != BLK_OP_FLUSH))
		return -E_INVAL;
	if (io->op != BLK_OP_FLUSH) {
		int rc = nvme_check_rw(c, io->lba, io->count, io->segs, io->nseg);
		if (rc < 0)
			return rc;
	}
	if (c->dead)
		return -E_IO;
	if (c->hold.n == NVME_QUEUE_HOLD)
		return -E_NOSPC;
	if (!c->busy && nvme_usable(c) < 0)
		return -E_IO;
	blk_hold_add(&c->hold, io);
	nvme_q_start(c);
	return 0;
}

unsigned nvme_poll(struct blk_dev *dev)
{
	struct nvme_ctrl *c = dev ? dev->priv : NULL;
	if (!c)
		return 0;
	nvme_q_poll(c);
	return c->hold.n;
}

void nvme_queue_drain(struct nvme_ctrl *c)
{
	while (c->hold.n) {
		nvme_q_poll(c);
		cpu_relax();
	}
}
