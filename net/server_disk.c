/* The server's disk path (net/server_int.h): requests go to the disk and
 * are answered when it is done.
 *
 * A back end with submit (platform/blk.h) keeps up to its queue_depth
 * requests in flight while the server goes on taking frames, so the disk
 * works while the server seals and sends: many clients' requests, or one
 * client's many, are served in pipeline.  What does not fit waits here,
 * oldest first, and goes to the disk in that order as room appears: the
 * back end's own ordering rules (a FLUSH after every write before it,
 * overlapping writes in order) then hold for the order requests became
 * whole.  A request larger than the disk takes at once waits its turn and
 * then runs alone (runs_alone).  On a back end without submit every
 * request runs there and then, as before there was a disk path. */
#include "server_int.h"
#include "disk_rw.h"
#include "lib/string.h"

static void io_done(struct blk_io *io, int rc)
{
	struct net_server *s = io->ctx;
	struct net_srv_buf *b = (struct net_srv_buf *)((u8 *)io - offsetof(struct net_srv_buf, io));
	s->disk_held--;
	srv_disk_finish(s, b, rc);
}

static int submit(struct net_server *s, struct net_srv_buf *b)
{
	bool flush = b->op == BLK_OP_FLUSH;
	b->seg = (struct blk_seg){ .addr = (hpa_t)(uintptr_t)b->data, .len = b->bytes };
	b->io = (struct blk_io){ .op = (enum blk_op)b->op, .lba = flush ? 0 : b->lba, .count = flush ? 0 : b->count,
				 .segs = flush ? NULL : &b->seg, .nseg = flush ? 0 : 1, .done = io_done, .ctx = s };
	return b->dev->ops->submit(b->dev, &b->io);
}

/* A request larger than the disk takes at once runs synchronously, in
 * pieces (net_disk_rw), and only when the disk holds nothing else of
 * ours: it then overtakes nothing, and blocks the server only for its
 * own time. */
static bool runs_alone(const struct net_srv_buf *b)
{
	return b->op != BLK_OP_FLUSH && b->count > b->dev->info.max_sectors;
}

/* b's request, there and then (flush, or in the disk's pieces). */
static int run_now(const struct net_srv_buf *b)
{
	return b->op == BLK_OP_FLUSH ? b->dev->ops->flush(b->dev)
				     : net_disk_rw(b->dev, b->op == BLK_OP_WRITE, b->lba, b->count, b->data);
}

static bool on_disk(const struct net_server *s, const struct blk_dev *dev)
{
	for (unsigned i = 0; i < s->nbufs; i++)
		if (s->bufs[i].state == NET_BUF_DISK && !s->bufs[i].waiting && s->bufs[i].dev == dev)
			return true;
	return false;
}

static bool in(struct blk_dev *const *set, unsigned n, const struct blk_dev *dev)
{
	for (unsigned i = 0; i < n; i++)
		if (set[i] == dev)
			return true;
	return false;
}

/* Hands the waiting buffers to their disks, oldest first; a disk with no
 * room keeps the rest of its own waiting (another disk's go on). */
static void submit_waiting(struct net_server *s)
{
	struct blk_dev *full[NET_EXPORTS_MAX];
	unsigned nfull = 0;
	struct net_srv_buf **link = &s->wait_head, *prev = NULL;
	while (*link) {
		struct net_srv_buf *b = *link;
		bool alone = runs_alone(b);
		int rc = -E_NOSPC;
		if (!in(full, nfull, b->dev) && (!alone || !on_disk(s, b->dev)))
			rc = alone ? 0 : submit(s, b);
		if (rc == -E_NOSPC) {
			if (!in(full, nfull, b->dev) && nfull < NET_EXPORTS_MAX)
				full[nfull++] = b->dev;
			prev = b;
			link = &b->wait_next;
			continue;
		}
		*link = b->wait_next;
		if (s->wait_tail == b)
			s->wait_tail = prev;
		b->waiting = false;
		b->wait_next = NULL;
		if (alone)
			rc = run_now(b);
		if (alone || rc < 0) {
			s->disk_held--; /* done now (refused, or run alone): done will not run */
			srv_disk_finish(s, b, rc);
		}
	}
}

void srv_disk_poll(struct net_server *s)
{
	if (!s->disk_held)
		return;
	for (unsigned i = 0; i < s->x->n; i++) {
		struct blk_dev *dev = s->x->e[i].dev;
		if (dev && dev->ops->poll)
			dev->ops->poll(dev);
	}
	submit_waiting(s);
}

void srv_disk_start(struct net_server *s, struct net_srv_buf *b, struct blk_dev *dev, enum blk_op op)
{
	b->state = NET_BUF_DISK;
	b->op = (u8)op;
	b->dev = dev;
	b->orphan = b->stale = false;
	b->disk_t0 = srv_now(s);
	if (!dev->ops->submit) {
		srv_disk_finish(s, b, run_now(b));
		return;
	}
	s->disk_held++;
	s->stats.disk_max = MAX(s->stats.disk_max, (u64)s->disk_held);
	b->waiting = true;
	b->wait_next = NULL;
	if (s->wait_tail)
		s->wait_tail->wait_next = b;
	else
		s->wait_head = b;
	s->wait_tail = b;
	submit_waiting(s);
}
