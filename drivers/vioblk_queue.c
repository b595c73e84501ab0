/* A virtio-blk disk's request queue: many requests in flight (submit
 * and poll of platform/blk.h), and the synchronous calls over them.
 *
 * The ring is cut into slots of VIOBLK_SLOT_DESC descriptors, each with
 * its own header and status byte, and a request whose chain fits a slot
 * goes in one, up to VIOBLK_SLOTS at once; the device returns them in any
 * order.  blk.h's ordering is kept here (drivers/blk_hold.h): a request
 * starts only when nothing held before it is one it may not pass.  A
 * request whose chain does not fit a slot, or whose segments need more
 * pieces than seg_max allows (then through a bounce buffer), goes alone
 * over the whole ring once nothing else is in flight, and nothing after
 * it starts before it.  read, write and flush are submit, then poll to
 * the end.
 *
 * A request that does not complete in time, a device that sets
 * NEEDS_RESET or returns a chain it was not given is given up: it is
 * reset (or cut off the bus) before any buffer goes back, every request
 * held fails, and so does every later one: ferry never waits on a device
 * it has given up on.  Every io submit took finishes exactly once, from
 * poll. */
#include "vioblk_queue.h"
#include "blk_segs.h"
#include "platform/console.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "x86/io.h"

/* The data descriptors after the header at base, at most `room` of
 * them: false when the list needs more.  *next is the index after the
 * last. */
static bool vioblk_fill(struct vioblk *v, unsigned base, unsigned room, const struct blk_seg *segs, unsigned nseg,
			bool dev_writes, unsigned *next)
{
	unsigned n = base + 1;
	for (unsigned i = 0; i < nseg; i++) {
		u64 a = segs[i].addr;
		for (u32 len = segs[i].len; len;) {
			u32 chunk = MIN(len, v->size_max);
			if (n - base - 1 == room)
				return false;
			v->q.desc[n] = (struct virtq_desc){ a, chunk,
							    (u16)(VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0)),
							    (u16)(n + 1) };
			n++;
			a += chunk;
			len -= chunk;
		}
	}
	*next = n;
	return true;
}

static const char *vioblk_type_name(u32 type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN: return "IN";
	case VIRTIO_BLK_T_OUT: return "OUT";
	case VIRTIO_BLK_T_FLUSH: return "FLUSH";
	case VIRTIO_BLK_T_GET_ID: return "GET_ID";
	default: return "request";
	}
}

/* Makes the chain of slot s available: its header at descriptor base,
 * descriptors base+1 .. st-1 filled already, its status at st. */
void vioblk_post(struct vioblk *v, unsigned s, unsigned base, u32 type, u64 sector, unsigned st)
{
	struct virtio_blk_req_hdr *h = (struct virtio_blk_req_hdr *)(v->dma + VIOBLK_HDR_OFF(s));
	*h = (struct virtio_blk_req_hdr){ .type = type, .sector = sector };
	*vioblk_status(v, s) = 0xFF;
	v->q.desc[base] = (struct virtq_desc){ vioblk_pa(v, VIOBLK_HDR_OFF(s)), sizeof(*h), VIRTQ_DESC_F_NEXT,
					       (u16)(base + 1) };
	v->q.desc[st] = (struct virtq_desc){ vioblk_pa(v, VIOBLK_HDR_OFF(s) + 16), 1, VIRTQ_DESC_F_WRITE, 0 };
	virtq_add(&v->q, (u16)base);
}

/* Slot s's status byte as a result: 0, -E_NOTSUP (UNSUPP) or -E_IO. */
int vioblk_result(const struct vioblk *v, unsigned s, u32 type, u64 sector)
{
	u8 st = *vioblk_status(v, s);
	if (st == VIRTIO_BLK_S_OK)
		return 0;
	log_err("virtio-blk: %s: %s at sector %lu failed: status %u%s", v->name, vioblk_type_name(type), sector, st,
		st == VIRTIO_BLK_S_UNSUPP ? " (unsupported)" : "");
	return st == VIRTIO_BLK_S_UNSUPP ? -E_NOTSUP : -E_IO;
}

/* Stops using the device for good, and makes sure it has let go of
 * every buffer (a reset, else off the bus) before they go back. */
void vioblk_give_up(struct vioblk *v, const char *what)
{
	log_err("virtio-blk: %s (device_status=%02x); every request to %s now fails", what, virtio_status(&v->vd),
		v->name);
	v->broken = true;
	virtio_pci_stop(&v->vd);
}

/* ---- The queue ------------------------------------------------------------- */

/* What one poll finished: the callbacks run last (a callback may submit).
 * Every io held may finish in one poll: the slots reaped, and FLUSHes a
 * device without VIRTIO_BLK_F_FLUSH never sees. */
struct vioblk_fin {
	unsigned n;
	struct {
		struct blk_io *io;
		int rc;
	} e[VIOBLK_HOLD];
};

static u32 vioblk_type(const struct blk_io *io)
{
	return io->op == BLK_OP_FLUSH ? VIRTIO_BLK_T_FLUSH : io->op == BLK_OP_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
}

static u64 vioblk_sector(const struct vioblk *v, const struct blk_io *io)
{
	return io->lba * (v->sector_size / VIRTIO_BLK_SECTOR);
}

static void vioblk_fin(struct vioblk *v, struct vioblk_fin *f, struct blk_io *io, int rc)
{
	blk_hold_remove(&v->hold, io);
	f->e[f->n].io = io;
	f->e[f->n].rc = rc;
	f->n++;
}

static bool vioblk_issued(const struct vioblk *v, const struct blk_io *io)
{
	for (u32 b = v->busy; b; b &= b - 1)
		if (v->slot_io[__builtin_ctz(b)] == io)
			return true;
	return false;
}

/* Sets io going in free slot s, or alone over the whole ring (s is 0),
 * through the bounce buffer if its segments need more pieces than
 * seg_max: false, nothing changed, when its chain does not fit slot s. */
static bool vioblk_issue(struct vioblk *v, struct blk_io *io, unsigned s, bool alone)
{
	unsigned base = alone ? 0 : s * VIOBLK_SLOT_DESC, st = base + 1;
	unsigned room = alone ? v->seg_max : MIN(VIOBLK_SLOT_DESC - 2, v->seg_max); /* seg_max binds every chain */
	bool in = io->op == BLK_OP_READ, bounced = false;
	if (io->op != BLK_OP_FLUSH && !vioblk_fill(v, base, room, io->segs, io->nseg, in, &st)) {
		if (!alone)
			return false;
		struct blk_seg whole = { vioblk_pa(v, PAGE_SIZE), io->count * v->sector_size };
		if (!in)
			blk_segs_copy(v->dma + PAGE_SIZE, io->segs, io->nseg, true);
		vioblk_fill(v, 0, room, &whole, 1, in, &st); /* max_sectors keeps the bounce buffer within seg_max */
		bounced = true;
	}
	vioblk_post(v, s, base, vioblk_type(io), vioblk_sector(v, io), st);
	v->slot_io[s] = io;
	v->slot_t0[s] = time_us();
	v->busy |= BIT32(s);
	v->alone = alone;
	v->bounced = bounced;
	return true;
}

static void vioblk_note(struct vioblk *v)
{
	unsigned n = 0, k = 1;
	for (u32 b = v->busy; b; b &= b - 1)
		n++;
	if (n <= v->most)
		return;
	unsigned old = v->most;
	v->most = n;
	while (k * 2 <= n)
		k *= 2;
	if (k >= 2 && k > old)
		log_info("virtio-blk: %s: %u requests in flight at once (the most so far)", v->name, n);
}

/* Issues what may go, oldest first, while a slot is free: each io that
 * nothing held before it blocks.  One whose chain fits no slot goes alone
 * once nothing is in flight, and nothing after it passes it.  A FLUSH on a
 * device without VIRTIO_BLK_F_FLUSH (writes are durable when they
 * complete, 5.2.6.2) finishes when nothing before it is held, from poll
 * (f): never from submit. */
static void vioblk_start(struct vioblk *v, struct vioblk_fin *f)
{
	u32 all = v->slots == 32 ? ~0u : BIT32(v->slots) - 1;
	bool kick = false;
	for (struct blk_io *io = v->hold.head, *next; io && !v->alone && !v->broken; io = next) {
		next = io->next;
		if (vioblk_issued(v, io) || blk_hold_blocked(&v->hold, io))
			continue;
		if (io->op == BLK_OP_FLUSH && !virtio_has(&v->vd, VIRTIO_BLK_F_FLUSH)) {
			if (f)
				vioblk_fin(v, f, io, 0);
			continue;
		}
		u32 free = all & ~v->busy;
		if (!free)
			break;
		if (!vioblk_issue(v, io, (unsigned)__builtin_ctz(free), false)) {
			if (!v->busy)
				kick = vioblk_issue(v, io, 0, true);
			break;
		}
		kick = true;
	}
	if (kick) {
		virtq_kick(&v->q);
		vioblk_note(v);
	}
}

/* Slot s's request is back. */
static void vioblk_done_slot(struct vioblk *v, unsigned s, struct vioblk_fin *f)
{
	struct blk_io *io = v->slot_io[s];
	int rc = vioblk_result(v, s, vioblk_type(io), vioblk_sector(v, io));
	if (rc == 0 && v->bounced && io->op == BLK_OP_READ)
		blk_segs_copy(v->dma + PAGE_SIZE, io->segs, io->nseg, false);
	v->slot_io[s] = NULL;
	v->busy &= ~BIT32(s);
	v->alone = v->bounced = false;
	vioblk_fin(v, f, io, rc);
}

/* Takes what the device returned: false once it returned a chain it was
 * not given (a slot's head that is not in flight), which gives it up. */
static bool vioblk_reap(struct vioblk *v, struct vioblk_fin *f)
{
	u32 id, len;
	while (virtq_get_used(&v->q, &id, &len)) {
		rmb(); /* the status byte and the data after the used element */
		unsigned s = id / VIOBLK_SLOT_DESC;
		if (id % VIOBLK_SLOT_DESC || s >= v->slots || !(v->busy & BIT32(s)) || (v->alone && id)) {
			char what[64];
			fmt_snprintf(what, sizeof(what), "%s returned descriptor %u, which heads no request in flight", v->name,
				     id);
			vioblk_give_up(v, what);
			return false;
		}
		vioblk_done_slot(v, s, f);
	}
	return true;
}

/* A request past its time, or a device that needs a reset: looked at
 * when a poll found nothing back, at most every millisecond (the status
 * is a register read).  The device is then given up; the request that
 * timed out (or the oldest in flight, for a reset) fails here with
 * -E_TIMEDOUT, the rest with -E_IO. */
static void vioblk_check(struct vioblk *v, struct vioblk_fin *f)
{
	u64 now = time_us();
	if (now - v->checked < 1000)
		return;
	v->checked = now;
	bool reset = (virtio_status(&v->vd) & VIRTIO_STATUS_NEEDS_RESET) != 0;
	for (struct blk_io *io = v->hold.head; io; io = io->next) {
		unsigned s = 0;
		while (s < v->slots && v->slot_io[s] != io)
			s++;
		if (s == v->slots || !(v->busy & BIT32(s)))
			continue;
		if (!reset && now - v->slot_t0[s] <= (io->op == BLK_OP_FLUSH ? VIOBLK_FLUSH_US : VIOBLK_IO_US))
			continue;
		char what[80];
		fmt_snprintf(what, sizeof(what), "%s at sector %lu %s", vioblk_type_name(vioblk_type(io)),
			     vioblk_sector(v, io), reset ? "made the device need a reset" : "timed out");
		vioblk_give_up(v, what);
		v->slot_io[s] = NULL;
		v->busy &= ~BIT32(s);
		vioblk_fin(v, f, io, -E_TIMEDOUT);
		return;
	}
}

static unsigned vioblk_poll(struct blk_dev *dev)
{
	struct vioblk *v = dev ? dev->priv : NULL;
	if (!v)
		return 0;
	struct vioblk_fin f;
	f.n = 0;
	if (!v->broken && v->busy && vioblk_reap(v, &f) && !f.n)
		vioblk_check(v, &f);
	vioblk_start(v, &f);
	for (unsigned i = 0; i < f.n; i++)
		f.e[i].io->done(f.e[i].io, f.e[i].rc);
	/* Given up (the device reset or off the bus): every io held fails. */
	for (struct blk_io *io; v->broken && (io = v->hold.head);) {
		blk_hold_remove(&v->hold, io);
		io->done(io, -E_IO);
	}
	if (v->broken)
		v->busy = 0;
	return v->hold.n;
}

static int vioblk_check_rw(const struct blk_dev *dev, const struct vioblk *v, const struct blk_io *io)
{
	if (io->count == 0 || io->count > dev->info.max_sectors || io->lba >= v->sectors ||
	    io->count > v->sectors - io->lba)
		return -E_INVAL;
	int rc = blk_segs_check(io->segs, io->nseg, (u64)io->count * v->sector_size);
	if (rc < 0)
		return rc;
	if (io->op == BLK_OP_WRITE && dev->info.read_only) {
		log_guest_warn("virtio-blk: %s is read-only (VIRTIO_BLK_F_RO): writes are refused", v->name);
		return -E_ROFS;
	}
	return 0;
}

static int vioblk_submit(struct blk_dev *dev, struct blk_io *io)
{
	struct vioblk *v = dev ? dev->priv : NULL;
	if (!v || !io || !io->done || (io->op != BLK_OP_READ && io->op != BLK_OP_WRITE && io->op != BLK_OP_FLUSH))
		return -E_INVAL;
	int rc = io->op == BLK_OP_FLUSH ? 0 : vioblk_check_rw(dev, v, io);
	if (rc < 0)
		return rc;
	if (v->broken)
		return -E_IO;
	if (v->hold.n == VIOBLK_HOLD)
		return -E_NOSPC;
	blk_hold_add(&v->hold, io);
	vioblk_start(v, NULL);
	return 0;
}

/* ---- The synchronous calls: submit, then poll to the end ------------------ */

struct vioblk_wait {
	bool done;
	int rc;
};

static void vioblk_woken(struct blk_io *io, int rc)
{
	struct vioblk_wait *w = io->ctx;
	w->done = true;
	w->rc = rc;
}

/* The queue's own rules bound the waits: every io held finishes, or the
 * device is given up, within its timeout. */
static int vioblk_sync(struct blk_dev *dev, enum blk_op op, u64 lba, u32 count, const struct blk_seg *segs,
		       unsigned nseg)
{
	struct vioblk_wait w = { false, 0 };
	struct blk_io io = { .op = op, .lba = lba, .count = count, .segs = segs, .nseg = nseg, .done = vioblk_woken,
			     .ctx = &w };
	int rc;
	while ((rc = vioblk_submit(dev, &io)) == -E_NOSPC) {
		vioblk_poll(dev);
		cpu_relax();
	}
	if (rc < 0)
		return rc;
	while (!w.done) {
		vioblk_poll(dev);
		cpu_relax();
	}
	return w.rc;
}

static int vioblk_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return vioblk_sync(dev, BLK_OP_READ, lba, count, segs, nseg);
}

static int vioblk_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return vioblk_sync(dev, BLK_OP_WRITE, lba, count, segs, nseg);
}

static int vioblk_flush(struct blk_dev *dev)
{
	return vioblk_sync(dev, BLK_OP_FLUSH, 0, 0, NULL, 0);
}

const struct blk_ops vioblk_ops = {
	.read = vioblk_read,
	.write = vioblk_write,
	.flush = vioblk_flush,
	.submit = vioblk_submit,
	.poll = vioblk_poll,
};
