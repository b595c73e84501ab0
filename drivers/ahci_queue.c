/* One AHCI port's queue: submit and poll of platform/blk.h.
 *
 * With NCQ (CAP.SNCQ, and the disk's IDENTIFY word 76 bit 8) reads and
 * writes go as READ/WRITE FPDMA QUEUED, up to depth at once, each in its
 * own slot and command table with the slot's number as its tag.  The
 * device finishes them in any order; one is done when its PxSACT bit and
 * its PxCI bit have cleared (3.3.13, 3.3.14).  Without NCQ one ordinary
 * DMA command at a time is in flight, issued here and found finished by
 * poll, so the caller still overlaps its own work with the disk's.  A
 * FLUSH is never queued: FLUSH CACHE [EXT] goes alone.
 *
 * blk.h's ordering holds whatever order the device completes in.  Every
 * io taken waits on the held list (submission order, linked by io->next)
 * until nothing before it that it must not pass is still held: a write
 * waits for an overlapping read or write, a read for an overlapping
 * write.  A FLUSH waits until everything before it has finished and
 * everything after it waits for the FLUSH.  Without NCQ the list runs
 * strictly in order.  The list takes AHCI_QUEUE_HOLD ios whatever the
 * depth (blk_dev.queue_depth): virtio-blk starts a request only with
 * room for 8 parts.  Nothing is allocated or copied here; on success the
 * only log lines are a few high-water marks that show NCQ at work.
 *
 * Errors: an error bit in PxIS, or a command past its timeout, stops the
 * queue.  Queued commands whose bits had already cleared finished
 * (6.2.2.2), unless the error is the host's (a bus, interface or PRD
 * error the device may not know of: then none counts as done); the port
 * is recovered and each command still in flight runs again alone, in
 * submission order, so each gets its own true status.  They run one at a
 * time from later polls (p->solo: the held list's head goes alone until
 * the last of them has), never inside this one: a disk that hangs costs
 * each of them its timeout, and the caller goes on meanwhile.  A
 * recovery that cannot stop the port's engine turns bus mastering off
 * for the controller before any io fails back.  A non-queued command's
 * failure is its own.
 * A dead port fails every io held.  Every io submit took finishes exactly
 * once, from poll.
 *
 * References: AHCI 1.3.1 (sections in ahci.h and below), ACS-3 for READ
 * and WRITE FPDMA QUEUED and the IDENTIFY words. */
#include "ahci_port.h"
#include "platform/config.h"
#include "platform/console.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "x86/io.h"

static inline u32 ahci_q_rd(const struct ahci_port *p, u32 reg) { return mmio_rd32(p->regs, reg); }
static inline void ahci_q_wr(const struct ahci_port *p, u32 reg, u32 v) { mmio_wr32(p->regs, reg, v); }
static inline unsigned ahci_q_lowest(u32 bits) { return (unsigned)__builtin_ctz(bits); }

/* What one poll finished: the callbacks run last, once the port's state
 * is whole again (a callback may submit).  At most every slot's io. */
struct ahci_fin {
	unsigned n;
	struct {
		struct blk_io *io;
		int rc;
	} e[AHCI_CMD_LIST_SLOTS];
};

void ahci_queue_setup(struct ahci_port *p, const u16 *id)
{
	u16 sata = id[ATA_ID_SATA_CAP];
	unsigned depth = (id[ATA_ID_QUEUE_DEPTH] & ATA_ID_QUEUE_DEPTH_MASK) + 1;
	depth = MIN(depth, (unsigned)p->slots);
	depth = MIN(depth, (unsigned)AHCI_CMD_LIST_SLOTS);
	/* Word 76 reads 0000h or FFFFh when not reported.  FPDMA QUEUED
	 * carries 48-bit LBAs; a queue of one tag would queue nothing. */
	p->ncq = config.ncq && p->sncq && p->lba48 && sata != 0 && sata != 0xFFFF && (sata & ATA_ID_SATA_CAP_NCQ) && depth > 1;
	p->depth = p->ncq ? (u8)depth : 1;
}

/* ---- The held list and the slots ------------------------------------------ */

/* io leaves the list; its callback runs at the end of the poll.  While
 * p->solo ios go alone, each one that finishes is the head, one of them. */
static void ahci_q_fin(struct ahci_port *p, struct ahci_fin *f, struct blk_io *io, int rc)
{
	blk_hold_remove(&p->hold, io);
	if (p->solo)
		p->solo--;
	f->e[f->n].io = io;
	f->e[f->n].rc = rc;
	f->n++;
}

static struct blk_io *ahci_q_free_slot(struct ahci_port *p, unsigned s)
{
	struct blk_io *io = p->slot_io[s];
	p->slot_io[s] = NULL;
	p->busy &= ~BIT32(s);
	p->nbusy--;
	return io;
}

static bool ahci_q_issued(const struct ahci_port *p, const struct blk_io *io)
{
	for (u32 b = p->busy; b; b &= b - 1)
		if (p->slot_io[ahci_q_lowest(b)] == io)
			return true;
	return false;
}

/* Logs each new power of two that the most commands queued at once, or
 * found finished by one poll, reaches: NCQ at work, in a few lines. */
static void ahci_q_note(const struct ahci_port *p, unsigned *most, unsigned n, const char *what)
{
	if (n <= *most)
		return;
	unsigned k = 1, old = *most;
	*most = n;
	while (k * 2 <= n)
		k *= 2;
	if (k >= 2 && k > old)
		log_info("ahci: port %u: %u queued commands %s (the most so far)", p->num, n, what);
}

/* ---- Issuing ------------------------------------------------------------- */

/* Sets io going in slot s: queued with tag s, or alone (then s is 0). */
static void ahci_q_issue(struct ahci_port *p, struct blk_io *io, unsigned s, bool queued)
{
	struct ahci_cmd_table *t = &p->dma->cmd_table[s];
	bool write = io->op == BLK_OP_WRITE;
	int nprd = 0;

	/* submit checked the list: this cannot fail while the caller keeps
	 * it untouched (and no PRD at all would only fail the command). */
	if (io->op != BLK_OP_FLUSH)
		nprd = MAX(ahci_fill_prdt(p, t, io->segs, io->nseg, (u64)io->count * p->sector_size), 0);
	if (queued) {
		/* ACS-3: the tag in count 7:3, the sector count in features
		 * 15:0 (0 means 65536), device bit 6 set. */
		ahci_set_fis(t, write ? ATA_CMD_WRITE_FPDMA_QUEUED : ATA_CMD_READ_FPDMA_QUEUED, ATA_DEV_LBA, io->lba,
			     s << ATA_FPDMA_TAG_SHIFT, true);
		t->cfis.h2d.features = (u8)io->count;
		t->cfis.h2d.features_exp = (u8)(io->count >> 8);
	} else if (io->op == BLK_OP_FLUSH) {
		ahci_set_fis(t, p->cmd_flush, 0, 0, 0, false);
	} else {
		ahci_set_rw_fis(p, t, write, io->lba, io->count);
	}
	p->dma->cmd_list[s].info = ahci_cmdh_info(write, (unsigned)nprd);
	p->dma->cmd_list[s].prdbc = 0;
	if (!p->busy)
		ahci_q_wr(p, AHCI_PxIS, ~0u); /* the port was idle: nothing in PxIS is a command's */
	p->slot_io[s] = io;
	p->slot_t0[s] = time_us();
	p->busy |= BIT32(s);
	p->nbusy++;
	p->nq_busy = !queued;
	wmb(); /* header, FIS and PRDT are in memory before the HBA fetches them */
	if (queued)
		ahci_q_wr(p, AHCI_PxSACT, BIT32(s)); /* before PxCI (3.3.13) */
	ahci_q_wr(p, AHCI_PxCI, BIT32(s));
	if (queued)
		ahci_q_note(p, &p->most_issued, p->nbusy, "in flight at once");
}

/* Issues what may go, oldest first: each queued io nothing earlier
 * blocks, while a tag is free; an io that goes alone (a FLUSH, any
 * without NCQ, those p->solo counts after an error) once it is the
 * oldest held and the port is idle, and
 * nothing after it passes it.
 *
 * An idle port whose PxTFD still shows ERR (a command failed, and the
 * recovery needed no COMRESET) also runs its first command alone: its
 * good status clears ERR.  QEMU 7.2 puts that ERR in the Register FIS
 * that accepts the next queued command, failing it (TFES) for nothing. */
static void ahci_q_start(struct ahci_port *p)
{
	/* Each busy slot holds a distinct held io: as many busy as held, and
	 * every one is in flight already (the common case while polling). */
	if (!p->ready || p->nq_busy || !p->hold.head || p->nbusy == p->hold.n)
		return;
	bool stale = p->ncq && !p->busy && (ahci_q_rd(p, AHCI_PxTFD) & ATA_STS_ERR);
	for (struct blk_io *io = p->hold.head; io; io = io->next) {
		if (io->op == BLK_OP_FLUSH || !p->ncq || stale || p->solo) {
			if (io == p->hold.head && !p->busy)
				ahci_q_issue(p, io, 0, false);
			return;
		}
		if (p->nbusy == p->depth)
			return;
		if (!ahci_q_issued(p, io) && !blk_hold_blocked(&p->hold, io)) {
			unsigned s = 0;
			while (p->busy & BIT32(s))
				s++; /* a tag below depth: fewer than depth are busy */
			ahci_q_issue(p, io, s, true);
		}
	}
}

/* ---- Completion and errors ------------------------------------------------- */

/* The slots whose command is still in flight, by the HBA's registers. */
static u32 ahci_q_pending(const struct ahci_port *p)
{
	u32 ci = ahci_q_rd(p, AHCI_PxCI);
	return p->busy & (p->nq_busy ? ci : ci | ahci_q_rd(p, AHCI_PxSACT));
}

/* Is a command of left past its timeout (and, looked at again, still in
 * flight: it may have finished just now)? */
static bool ahci_q_timed_out(const struct ahci_port *p, u32 left)
{
	u64 now = time_us();
	u32 late = 0;
	for (u32 b = left; b; b &= b - 1) {
		unsigned s = ahci_q_lowest(b);
		u64 limit = p->slot_io[s]->op == BLK_OP_FLUSH ? AHCI_FLUSH_US : AHCI_CMD_US;
		if (now - p->slot_t0[s] > limit)
			late |= BIT32(s);
	}
	return late && (late & ahci_q_pending(p));
}

/* The queue stops on an error or a timeout (rc).  Queued commands whose
 * bits had cleared finished before it, unless the error is the host's
 * (is); after recovery each queued one still in flight (after a host
 * error: each queued one) runs again alone, oldest first, from the next
 * polls on: every io held up to the last of them goes alone (p->solo),
 * an io that was waiting between them too.  A queued error leaves
 * the device refusing commands until its NCQ error log is read: the
 * COMRESET of the recovery clears that too, and whatever it still held. */
static void ahci_q_error(struct ahci_port *p, int rc, u32 is, struct ahci_fin *f)
{
	bool queued = !p->nq_busy;
	/* A host-side error (a PRD overflow, a bus or interface error) is
	 * one the device may know nothing of: it may still report success
	 * for the command it hit, so no queued command counts as done. */
	bool host = (is & (AHCI_PxIS_HBFS | AHCI_PxIS_HBDS | AHCI_PxIS_IFS | AHCI_PxIS_OFS)) != 0;
	u32 pending = ahci_q_pending(p), again = 0;
	char then[48] = "";

	if (queued) {
		fmt_snprintf(then, sizeof(then), " (%u in flight, each to run alone)", p->nbusy);
		ahci_log_fail(p, "READ/WRITE FPDMA QUEUED", rc, then);
	} else {
		ahci_log_fail(p, ata_cmd_name(p->dma->cmd_table[0].cfis.h2d.command), rc, then);
	}
	for (u32 b = p->busy; b; b &= b - 1) {
		unsigned s = ahci_q_lowest(b);
		if (queued && (host || (pending & BIT32(s))))
			again |= BIT32(s);
		else
			ahci_q_fin(p, f, p->slot_io[s], queued ? 0 : rc);
	}
	p->busy = 0;
	p->nbusy = 0;
	p->nq_busy = false;
	ahci_port_recover(p, queued || rc == -E_TIMEDOUT);
	unsigned n = 0;
	for (struct blk_io *io = p->hold.head; io && again; io = io->next) {
		n++;
		for (u32 b = again; b; b &= b - 1)
			if (p->slot_io[ahci_q_lowest(b)] == io)
				again &= ~BIT32(ahci_q_lowest(b));
	}
	if (queued)
		p->solo = n; /* a command run alone that fails leaves the rest of them to run alone */
	for (unsigned s = 0; s < AHCI_CMD_LIST_SLOTS; s++)
		p->slot_io[s] = NULL;
}

/* Finds what finished, or what went wrong. */
static void ahci_q_reap(struct ahci_port *p, struct ahci_fin *f)
{
	u32 is = ahci_q_rd(p, AHCI_PxIS);
	u32 left = ahci_q_pending(p), done = p->busy & ~left;
	int rc = 0;

	if (is & AHCI_PxIS_ERRORS)
		rc = -E_IO;
	else if (p->nq_busy && done && (ahci_q_rd(p, AHCI_PxTFD) & (ATA_STS_ERR | ATA_STS_BSY | ATA_STS_DRQ)))
		rc = -E_IO; /* as ahci_issue judges a command alone */
	else if (left && ahci_q_timed_out(p, left))
		rc = -E_TIMEDOUT;
	if (rc < 0) {
		ahci_q_error(p, rc, is, f);
		return;
	}
	if (!done)
		return;
	rmb(); /* the data is read only after completion */
	for (u32 b = done; b; b &= b - 1)
		ahci_q_fin(p, f, ahci_q_free_slot(p, ahci_q_lowest(b)), 0);
	if (!p->nq_busy)
		ahci_q_note(p, &p->most_reaped, f->n, "finished at one poll");
	p->nq_busy = false;
}

/* Every io held fails: the port is dead (nothing is in flight). */
static void ahci_q_fail_held(struct ahci_port *p)
{
	struct blk_io *io;
	while (!p->busy && (io = p->hold.head)) {
		blk_hold_remove(&p->hold, io);
		io->done(io, -E_IO);
	}
	p->solo = 0;
}

static void ahci_q_poll(struct ahci_port *p)
{
	struct ahci_fin f;
	f.n = 0;
	if (p->busy)
		ahci_q_reap(p, &f);
	else if (p->hold.n && !p->ready)
		ahci_port_usable(p); /* one more recovery, or the port is dead */
	ahci_q_start(p);
	for (unsigned i = 0; i < f.n; i++)
		f.e[i].io->done(f.e[i].io, f.e[i].rc);
	if (p->dead)
		ahci_q_fail_held(p);
}

/* ---- blk_ops --------------------------------------------------------------- */

int ahci_submit(struct blk_dev *dev, struct blk_io *io)
{
	struct ahci_port *p = dev ? dev->priv : NULL;
	if (!p || !io || !io->done || (io->op != BLK_OP_READ && io->op != BLK_OP_WRITE && io->op != BLK_OP_FLUSH))
		return -E_INVAL;
	if (io->op != BLK_OP_FLUSH) {
		int rc = ahci_check_rw(p, io->lba, io->count, io->segs, io->nseg);
		if (rc < 0)
			return rc;
	}
	if (p->dead)
		return -E_IO;
	if (p->hold.n == AHCI_QUEUE_HOLD)
		return -E_NOSPC;
	if (ahci_port_usable(p) < 0)
		return -E_IO;
	blk_hold_add(&p->hold, io);
	ahci_q_start(p);
	return 0;
}

unsigned ahci_poll(struct blk_dev *dev)
{
	struct ahci_port *p = dev ? dev->priv : NULL;
	if (!p)
		return 0;
	ahci_q_poll(p);
	return p->hold.n;
}

void ahci_queue_drain(struct ahci_port *p)
{
	while (p->hold.n) {
		ahci_q_poll(p);
		cpu_relax();
	}
}
