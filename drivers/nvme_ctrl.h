/* The NVMe driver's parts and what they share: drivers/nvme.c takes the
 * controller (reset and enable, the admin and I/O queue pairs, IDENTIFY)
 * and runs the synchronous commands, one at a time; drivers/nvme_queue.c
 * keeps many reads and writes in flight on the I/O queue pair (submit and
 * poll of platform/blk.h).
 *
 * References: NVM Express Base Specification 1.4 (sections in nvme.h). */
#ifndef FERRY_NVME_CTRL_H
#define FERRY_NVME_CTRL_H

#include "nvme.h"
#include "blk_hold.h"
#include "x86/io.h"

#define NVME_ADMIN_ENTRIES 32u
#define NVME_IO_ENTRIES 64u
#define NVME_MAX_BYTES (256u * 1024)  /* one request, before MDTS */

/* Commands in flight on the I/O queue at once: each slot is a command
 * identifier and has its own PRP list page.  32 fills a u32 of busy
 * slots, costs 128 KiB of list pages in the 16 MiB pool, and is what
 * AHCI's NCQ takes; a controller whose queues are smaller (CAP.MQES)
 * gets one less than its queue's entries, so the SQ never fills. */
#define NVME_QUEUE_DEPTH 32u
_Static_assert(NVME_QUEUE_DEPTH < NVME_IO_ENTRIES, "the I/O SQ holds every command in flight");

/* Requests submit holds at once (blk_dev.queue_depth), issued or waiting
 * for a slot, for an overlapping one or behind one that goes alone: more
 * than the depth, as virtio-blk starts a request only with room for all
 * 8 of its parts. */
#define NVME_QUEUE_HOLD 64u

/* DMA pages: admin SQ, admin CQ, I/O SQ, I/O CQ, IDENTIFY data, a PRP list
 * page per slot (the synchronous commands use slot 0's), then the bounce
 * buffer. */
enum {
	NVME_PG_ASQ,
	NVME_PG_ACQ,
	NVME_PG_IOSQ,
	NVME_PG_IOCQ,
	NVME_PG_IDENT,
	NVME_PG_PRP,
	NVME_PG_BOUNCE = NVME_PG_PRP + NVME_QUEUE_DEPTH,
};
#define NVME_DMA_PAGES (NVME_PG_BOUNCE + NVME_MAX_BYTES / NVME_PAGE)

/* Timeouts, in microseconds. */
#define NVME_ADMIN_US (5 * 1000 * 1000)
#define NVME_IO_US (10 * 1000 * 1000)
#define NVME_FLUSH_US (30 * 1000 * 1000)

struct nvme_queue {
	struct nvme_sqe *sq; /* written, then published by wmb and the doorbell */
	volatile struct nvme_cqe *cq;
	u16 qid, entries;
	u16 sq_tail, cq_head, cid;
	u16 phase; /* the phase tag a new completion carries */
};

struct nvme_ctrl {
	struct pci_dev *pci;
	volatile u8 *regs;
	u64 cap, to_us;
	u32 dstrd, vs;
	u8 *dma;
	struct nvme_queue admin, io;
	u32 max_bytes;
	bool enabled;     /* CC.EN was set by ferry */
	bool need_reset;  /* a command timed out */
	bool dead;        /* a reset failed: every request fails */
	u32 nsid;         /* the namespace served */
	u32 sector_size;
	u64 sectors;

	/* The queue (drivers/nvme_queue.c). */
	u8 depth;         /* commands in flight at once, 1..NVME_QUEUE_DEPTH */
	u8 nbusy;
	u32 busy;         /* slots (command identifiers) in flight */
	bool alone_busy;  /* the one command in flight goes alone */
	bool bounced;     /* ... through the bounce buffer */
	struct blk_hold hold; /* every io held, issued or waiting: at most NVME_QUEUE_HOLD */
	unsigned solo;    /* after a reset: ios at the head to run alone first */
	struct blk_io *slot_io[NVME_QUEUE_DEPTH];
	u64 slot_t0[NVME_QUEUE_DEPTH]; /* when it was issued */
	unsigned most_issued, most_reaped, strays; /* logged as they grow */
};

static inline u32 nvme_rd(const struct nvme_ctrl *c, u32 reg) { return mmio_rd32(c->regs, reg); }
static inline void nvme_wr(const struct nvme_ctrl *c, u32 reg, u32 v) { mmio_wr32(c->regs, reg, v); }
static inline u8 *nvme_page(const struct nvme_ctrl *c, unsigned pg) { return c->dma + (size_t)pg * NVME_PAGE; }
static inline u32 nvme_db(const struct nvme_ctrl *c, u16 qid, bool cq)
{
	return NVME_DB_BASE + (2u * qid + (cq ? 1 : 0)) * (4u << c->dstrd);
}

/* CSTS reads all ones once the function is gone from the bus (surprise
 * removal, a link down): no register means anything then. */
static inline bool nvme_gone(u32 csts) { return csts == 0xFFFFFFFFu; }

/* ---- Shared by nvme.c and nvme_queue.c ---- */

/* The name of opcode op on q (admin or I/O), for log lines. */
const char *nvme_op_name(const struct nvme_queue *q, u8 op);
/* Why a command that did not complete ended, by CSTS, for log lines. */
const char *nvme_why_stuck(u32 csts);
/* The error line of a completion with a non-zero status field. */
void nvme_log_status(const struct nvme_queue *q, u8 op, u32 nsid, u32 status);
/* -E_INVAL unless a read or write of count sectors at lba over segs fits
 * the namespace and one command. */
int nvme_check_rw(const struct nvme_ctrl *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
/* Would segs need the bounce buffer (no PRP list can describe them)? */
bool nvme_needs_bounce(const struct blk_seg *segs, unsigned nseg);
/* cmd becomes the READ or WRITE of a checked request, its PRP list in
 * slot's page or, with bounce, over the bounce buffer (a write's data is
 * copied there first; a read's is the caller's to copy back). */
void nvme_rw_cmd(const struct nvme_ctrl *c, struct nvme_sqe *cmd, bool write, u64 lba, u32 count,
		 const struct blk_seg *segs, unsigned nseg, unsigned slot, bool bounce);
/* Resets a controller whose command timed out (need_reset); gives up for
 * good (dead, and bus mastering off if it would not stop) when that fails.
 * 0 when the controller takes commands. */
int nvme_usable(struct nvme_ctrl *c);

/* The queue (drivers/nvme_queue.c): its depth from the I/O queue's size
 * (after every bring-up); submit and poll of platform/blk.h; and drain,
 * which polls until nothing is held (the synchronous calls come after
 * it). */
void nvme_queue_setup(struct nvme_ctrl *c);
int nvme_submit(struct blk_dev *dev, struct blk_io *io);
unsigned nvme_poll(struct blk_dev *dev);
void nvme_queue_drain(struct nvme_ctrl *c);

#endif
