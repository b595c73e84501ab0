/* NVMe disk driver.
 *
 * ferry takes the machine's first NVMe controller for itself (hidden from
 * the guest: configuration space, BAR0 with its doorbells and MSI-X table)
 * and executes its guest's block commands on one of its namespaces.  The
 * controller is reset and enabled with CAP.TO as the limit on every
 * CSTS.RDY change, gets one admin queue pair and one I/O queue pair, and
 * is polled: INTMS masks every vector and MSI-X stays off.  The
 * synchronous calls here run one command at a time, after whatever
 * submit holds (drivers/nvme_queue.c keeps many in flight) has finished.
 *
 * Namespaces: every active namespace (IDENTIFY CNS 2, or 1..NN on a
 * controller without that list) is a disk, named nvme0n<NSID>; ferry
 * serves the first usable one.  A namespace keeps its own LBA size: a
 * 4096-byte format is presented to the guest as 4096-byte sectors (the
 * logical device, virtio-blk's blk_size and the network protocol all
 * carry the sector size), never emulated as 512, so no write ever turns
 * into a read-modify-write ferry would have to make atomic.  Formats with
 * metadata, or an LBA size other than 512 or 4096, are skipped.
 *
 * Data: a request's segments become a PRP list (4.3) when they can: the
 * first may start anywhere dword-aligned, every later one must start on a
 * page and every earlier one end on one.  A list that breaks that rule
 * (the guest's buffers are its own business) goes through a bounce buffer
 * of NVME_MAX_BYTES instead, alone.
 *
 * Errors: a command that does not complete in time is an I/O error; the
 * controller is stopped before the caller gets its buffer back (CC.EN = 0
 * aborts everything in flight) and reset before the next request; a reset
 * or a stop that fails makes every later request fail, and one that cannot
 * stop the controller turns its bus mastering off.  An error status is an
 * I/O error, with the namespace named when it says the namespace is gone.
 *
 * References: NVM Express Base Specification 1.4 (sections in nvme.h). */
#include "nvme_ctrl.h"
#include "nvme_prp.h"
#include "blk_segs.h"
#include "drivers.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/le.h"
#include "lib/string.h"

_Static_assert(NVME_MAX_BYTES / NVME_PAGE + 1 <= NVME_PRP_ENTRIES, "one PRP list page per request");

static struct nvme_ctrl nvme_ctrl;
static struct blk_dev nvme_blk;
static char nvme_name[24];

static inline void nvme_wr64(const struct nvme_ctrl *c, u32 reg, u64 v)
{
	nvme_wr(c, reg, (u32)v);
	nvme_wr(c, reg + 4, (u32)(v >> 32));
}

/* ---- Controller enable and disable (7.6.1, 3.1.5) ---------------------- */

/* Waits up to CAP.TO for CSTS.RDY to become want: 0, -E_TIMEDOUT, or -E_IO
 * at once for a controller that went fatal (when enabling) or is gone. */
static int nvme_wait_rdy(const struct nvme_ctrl *c, bool want)
{
	u64 start = time_us();
	for (;;) {
		u32 csts = nvme_rd(c, NVME_CSTS);
		if (nvme_gone(csts))
			return -E_IO;
		if (!!(csts & NVME_CSTS_RDY) == want)
			return 0;
		if (want && (csts & NVME_CSTS_CFS))
			return -E_IO;
		if (time_us() - start > c->to_us)
			return -E_TIMEDOUT;
		udelay(100);
	}
}

/* Logs why a wait on CSTS for `what` ("stop", "become ready") failed. */
static void nvme_log_wait(const struct nvme_ctrl *c, int rc, const char *what)
{
	u32 csts = nvme_rd(c, NVME_CSTS);
	if (nvme_gone(csts))
		log_err("nvme: the controller did not %s: it is gone from the bus (CSTS reads all ones)", what);
	else if (rc == -E_IO)
		log_err("nvme: the controller did not %s: it reports a fatal status (CSTS=%08x)", what, csts);
	else
		log_err("nvme: the controller did not %s within %lu ms (CSTS=%08x)", what, c->to_us / 1000, csts);
}

/* Clears CC.EN and waits for CSTS.RDY to follow: afterwards the controller
 * runs no command and touches none of ferry's memory. */
static int nvme_disable(struct nvme_ctrl *c)
{
	u32 cc = nvme_rd(c, NVME_CC);
	if (cc & NVME_CC_EN)
		nvme_wr(c, NVME_CC, cc & ~NVME_CC_EN);
	int rc = nvme_wait_rdy(c, false);
	if (rc < 0) {
		nvme_log_wait(c, rc, "stop");
		c->enabled = true; /* it may still be running */
		return rc;
	}
	c->enabled = false;
	return 0;
}

static void nvme_queue_init(struct nvme_ctrl *c, struct nvme_queue *q, u16 qid, u16 entries, unsigned sq_pg,
			    unsigned cq_pg)
{
	*q = (struct nvme_queue){
		.sq = (struct nvme_sqe *)nvme_page(c, sq_pg),
		.cq = (volatile struct nvme_cqe *)nvme_page(c, cq_pg),
		.qid = qid,
		.entries = entries,
		.phase = 1,
	};
	memset(nvme_page(c, sq_pg), 0, NVME_PAGE);
	memset(nvme_page(c, cq_pg), 0, NVME_PAGE);
}

/* Disable, admin queue, enable (7.6.1).  Leaves c->enabled set whenever
 * CC.EN may be set, whether or not the controller came up. */
static int nvme_enable(struct nvme_ctrl *c)
{
	int rc = nvme_disable(c);
	if (rc < 0)
		return rc;
	nvme_queue_init(c, &c->admin, 0, (u16)NVME_ADMIN_ENTRIES, NVME_PG_ASQ, NVME_PG_ACQ);
	nvme_wr(c, NVME_INTMS, ~0u);
	nvme_wr(c, NVME_AQA, ((NVME_ADMIN_ENTRIES - 1) << 16) | (NVME_ADMIN_ENTRIES - 1));
	nvme_wr64(c, NVME_ASQ, virt_to_phys(nvme_page(c, NVME_PG_ASQ)));
	nvme_wr64(c, NVME_ACQ, virt_to_phys(nvme_page(c, NVME_PG_ACQ)));
	wmb();
	c->enabled = true;
	nvme_wr(c, NVME_CC, NVME_CC_EN | NVME_CC_CSS_NVM | NVME_CC_MPS_4K | NVME_CC_AMS_RR | NVME_CC_IOSQES |
				    NVME_CC_IOCQES);
	if ((rc = nvme_wait_rdy(c, true)) < 0)
		nvme_log_wait(c, rc, "become ready");
	return rc;
}

/* ---- Commands ------------------------------------------------------------ */

const char *nvme_op_name(const struct nvme_queue *q, u8 op)
{
	if (q->qid == 0) {
		switch (op) {
		case NVME_ADM_IDENTIFY: return "IDENTIFY";
		case NVME_ADM_CREATE_CQ: return "CREATE I/O CQ";
		case NVME_ADM_CREATE_SQ: return "CREATE I/O SQ";
		case NVME_ADM_SET_FEATURES: return "SET FEATURES";
		default: return "admin command";
		}
	}
	switch (op) {
	case NVME_CMD_READ: return "READ";
	case NVME_CMD_WRITE: return "WRITE";
	case NVME_CMD_FLUSH: return "FLUSH";
	default: return "I/O command";
	}
}

/* Waits for the completion of cid on q.  Returns its status field, or -1
 * on timeout or a controller that went fatal or away.  A completion for
 * another CID (cannot happen with one command in flight) is consumed. */
static int nvme_reap(struct nvme_ctrl *c, struct nvme_queue *q, u16 cid, u64 timeout_us)
{
	u64 start = time_us();
	for (;;) {
		volatile struct nvme_cqe *e = &q->cq[q->cq_head];
		u16 status = e->status;
		if ((status & NVME_CQE_PHASE) == q->phase) {
			rmb(); /* the rest of the entry, and the data, after the phase tag */
			u16 got = e->cid;
			if (++q->cq_head == q->entries) {
				q->cq_head = 0;
				q->phase ^= 1;
			}
			nvme_wr(c, nvme_db(c, q->qid, true), q->cq_head);
			if (got == cid)
				return (int)(status & 0xFFFEu);
			log_debug("nvme: stale completion cid %u on queue %u", got, q->qid);
			continue;
		}
		if (time_us() - start > timeout_us || (nvme_rd(c, NVME_CSTS) & NVME_CSTS_CFS))
			return -1;
		cpu_relax();
	}
}

/* A command that did not complete may still move data: stop it before its buffer goes back. */
static void nvme_stop_now(struct nvme_ctrl *c)
{
	if (nvme_disable(c) == 0)
		return;
	c->dead = true;
	log_err("nvme: the controller did not stop; every request to %s now fails", nvme_name[0] ? nvme_name : "it");
	pci_quarantine(c->pci, "nvme: the controller would not stop after a command timed out");
}

/* Submits cmd on q and polls for its completion: 0, -E_TIMEDOUT (the
 * controller is then stopped, and reset before the next request) or -E_IO. */
static int nvme_exec(struct nvme_ctrl *c, struct nvme_queue *q, struct nvme_sqe *cmd, u64 timeout_us)
{
	u8 op = (u8)cmd->cdw0;
	if (c->need_reset)
		return -E_IO; /* the queues are stale until the reset: no second wait on them */
	u16 cid = ++q->cid;
	cmd->cdw0 = op | ((u32)cid << 16); /* PSDT 0: PRPs */
	q->sq[q->sq_tail] = *cmd;
	q->sq_tail = (u16)((q->sq_tail + 1) % q->entries);
	wmb(); /* the entry and everything it points at are in memory first */
	nvme_wr(c, nvme_db(c, q->qid, false), q->sq_tail);

	int status = nvme_reap(c, q, cid, timeout_us);
	if (status == 0)
		return 0;
	if (status < 0) {
		u32 csts = nvme_rd(c, NVME_CSTS);
		log_err("nvme: %s (nsid %u) %s; resetting the controller before the next request (CSTS=%08x)",
			nvme_op_name(q, op), cmd->nsid, nvme_why_stuck(csts), csts);
		c->need_reset = true;
		nvme_stop_now(c);
		return (csts & NVME_CSTS_CFS) ? -E_IO : -E_TIMEDOUT;
	}
	nvme_log_status(q, op, cmd->nsid, (u32)status);
	return -E_IO;
}

const char *nvme_why_stuck(u32 csts)
{
	return nvme_gone(csts) ? "failed: the controller is gone from the bus" :
	       (csts & NVME_CSTS_CFS) ? "hit a fatal controller status" : "timed out";
}

void nvme_log_status(const struct nvme_queue *q, u8 op, u32 nsid, u32 status)
{
	u32 sct = NVME_CQE_SCT(status), sc = NVME_CQE_SC(status);
	if (sct == 0 && (sc == NVME_SC_INVALID_NS || sc == NVME_SC_NS_NOT_READY) && q->qid != 0)
		log_err("nvme: %s: namespace %u is gone or not ready (SCT %u SC %02x)", nvme_op_name(q, op), nsid, sct,
			sc);
	else
		log_err("nvme: %s (nsid %u) failed: SCT %u SC %02x", nvme_op_name(q, op), nsid, sct, sc);
}

static int nvme_identify(struct nvme_ctrl *c, u32 cns, u32 nsid)
{
	struct nvme_sqe cmd = {
		.cdw0 = NVME_ADM_IDENTIFY,
		.nsid = nsid,
		.prp1 = virt_to_phys(nvme_page(c, NVME_PG_IDENT)),
		.cdw10 = cns,
	};
	memset(nvme_page(c, NVME_PG_IDENT), 0, NVME_PAGE);
	return nvme_exec(c, &c->admin, &cmd, NVME_ADMIN_US);
}

/* Enable, then one I/O queue pair (one CQ, one SQ on it; 5.3, 5.4). */
static int nvme_bring_up(struct nvme_ctrl *c)
{
	int rc = nvme_enable(c);
	if (rc < 0)
		return rc;
	c->need_reset = false; /* fresh admin queue; set again if a command below times out */
	/* MQES 0 is no queue at all: asked for two entries, such a controller
	 * refuses the queue, and the bring-up fails. */
	u16 entries = (u16)MAX(2, MIN(NVME_IO_ENTRIES, (c->cap & NVME_CAP_MQES_MASK) + 1));
	nvme_queue_init(c, &c->io, 1, entries, NVME_PG_IOSQ, NVME_PG_IOCQ);
	nvme_queue_setup(c);
	struct nvme_sqe nq = { .cdw0 = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES, .cdw11 = 0 };
	struct nvme_sqe cq = {
		.cdw0 = NVME_ADM_CREATE_CQ,
		.prp1 = virt_to_phys(nvme_page(c, NVME_PG_IOCQ)),
		.cdw10 = ((u32)(entries - 1) << 16) | 1,
		.cdw11 = NVME_QUEUE_PHYS_CONTIG, /* IEN clear: polled */
	};
	struct nvme_sqe sq = {
		.cdw0 = NVME_ADM_CREATE_SQ,
		.prp1 = virt_to_phys(nvme_page(c, NVME_PG_IOSQ)),
		.cdw10 = ((u32)(entries - 1) << 16) | 1,
		.cdw11 = (1u << 16) | NVME_QUEUE_PHYS_CONTIG,
	};
	if ((rc = nvme_exec(c, &c->admin, &nq, NVME_ADMIN_US)) < 0 ||
	    (rc = nvme_exec(c, &c->admin, &cq, NVME_ADMIN_US)) < 0 ||
	    (rc = nvme_exec(c, &c->admin, &sq, NVME_ADMIN_US)) < 0)
		return rc;
	return 0;
}

/* ---- Data transfer --------------------------------------------------------- */

int nvme_usable(struct nvme_ctrl *c)
{
	if (c->dead)
		return -E_IO;
	if (!c->need_reset)
		return 0;
	log_warn("nvme: resetting the controller");
	if (nvme_bring_up(c) == 0)
		return 0;
	if (!c->dead) /* else a command of it timed out, the stop failed, and nvme_stop_now said so */
		log_err("nvme: the controller did not come back; every request to %s now fails", nvme_name);
	c->dead = true;
	if (c->enabled) /* it may still move data into the buffers of the requests about to fail */
		pci_quarantine(c->pci, "nvme: the controller would not stop after a reset");
	return -E_IO;
}

int nvme_check_rw(const struct nvme_ctrl *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	u64 bytes = (u64)count * c->sector_size;
	if (count == 0 || bytes > c->max_bytes || lba >= c->sectors || count > c->sectors - lba)
		return -E_INVAL;
	return blk_segs_check(segs, nseg, bytes);
}

bool nvme_needs_bounce(const struct blk_seg *segs, unsigned nseg)
{
	return !nvme_build_prp(NULL, 0, segs, nseg, NULL, NULL);
}

void nvme_rw_cmd(const struct nvme_ctrl *c, struct nvme_sqe *cmd, bool write, u64 lba, u32 count,
		 const struct blk_seg *segs, unsigned nseg, unsigned slot, bool bounce)
{
	*cmd = (struct nvme_sqe){
		.cdw0 = write ? NVME_CMD_WRITE : NVME_CMD_READ,
		.nsid = c->nsid,
		.cdw10 = (u32)lba,
		.cdw11 = (u32)(lba >> 32),
		.cdw12 = count - 1, /* NLB, 0's based */
	};
	u8 *buf = nvme_page(c, NVME_PG_BOUNCE);
	struct blk_seg whole = { .addr = virt_to_phys(buf), .len = count * c->sector_size };
	u64 *list = (u64 *)nvme_page(c, NVME_PG_PRP + slot);
	if (bounce && write)
		blk_segs_copy(buf, segs, nseg, true);
	u64 prp1 = 0, prp2 = 0;
	/* Checked: it fits, and one page-aligned segment always does. */
	nvme_build_prp(list, virt_to_phys(list), bounce ? &whole : segs, bounce ? 1 : nseg, &prp1, &prp2);
	cmd->prp1 = prp1;
	cmd->prp2 = prp2;
}

/* The synchronous calls wait for whatever submit took first. */
static int nvme_rw(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
{
	struct nvme_ctrl *c = dev ? dev->priv : NULL;
	if (!c)
		return -E_INVAL;
	int rc = nvme_check_rw(c, lba, count, segs, nseg);
	if (rc < 0)
		return rc;
	nvme_queue_drain(c);
	if ((rc = nvme_usable(c)) < 0)
		return rc;
	struct nvme_sqe cmd;
	bool bounce = nvme_needs_bounce(segs, nseg);
	nvme_rw_cmd(c, &cmd, write, lba, count, segs, nseg, 0, bounce);
	rc = nvme_exec(c, &c->io, &cmd, NVME_IO_US);
	if (rc == 0 && bounce && !write)
		blk_segs_copy(nvme_page(c, NVME_PG_BOUNCE), segs, nseg, false);
	return rc;
}

static int nvme_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return nvme_rw(dev, lba, count, segs, nseg, false);
}

static int nvme_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return nvme_rw(dev, lba, count, segs, nseg, true);
}

static int nvme_flush(struct blk_dev *dev)
{
	struct nvme_ctrl *c = dev ? dev->priv : NULL;
	if (!c)
		return -E_INVAL;
	nvme_queue_drain(c);
	int rc = nvme_usable(c);
	if (rc < 0)
		return rc;
	struct nvme_sqe cmd = { .cdw0 = NVME_CMD_FLUSH, .nsid = c->nsid };
	return nvme_exec(c, &c->io, &cmd, NVME_FLUSH_US);
}

static const struct blk_ops nvme_ops = {
	.read = nvme_read,
	.write = nvme_write,
	.flush = nvme_flush,
	.submit = nvme_submit,
	.poll = nvme_poll,
};

/* ---- IDENTIFY ------------------------------------------------------------ */

/* An ASCII field of IDENTIFY, trailing blanks removed, anything not
 * printable as '?'. */
static void nvme_str(char *dst, const u8 *src, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = (char)src[i];
		dst[i] = (ch >= 0x20 && ch < 0x7F) ? ch : '?';
		if (ch != ' ' && ch != 0)
			len = i + 1;
	}
	dst[len] = 0;
}

/* IDENTIFY NAMESPACE nsid: 0 with the geometry in *info when ferry can
 * serve it, -E_NOTSUP (logged) when it cannot, another code on failure. */
static int nvme_ns_info(struct nvme_ctrl *c, u32 nsid, struct blk_info *info)
{
	int rc = nvme_identify(c, NVME_CNS_NS, nsid);
	if (rc < 0)
		return rc;
	const u8 *id = nvme_page(c, NVME_PG_IDENT);
	u64 nsze = load_le64(id + NVME_IDN_NSZE);
	unsigned fmt = id[NVME_IDN_FLBAS] & 0xF;
	if (nsze == 0) {
		log_info("nvme: nvme0n%u: inactive (size 0)", nsid);
		return -E_NOTSUP;
	}
	if (fmt > id[NVME_IDN_NLBAF] || fmt >= NVME_IDN_LBAF_MAX) {
		log_warn("nvme: nvme0n%u: LBA format %u is out of range", nsid, fmt);
		return -E_NOTSUP;
	}
	u32 lbaf = load_le32(id + NVME_IDN_LBAF + 4 * fmt);
	u32 ms = lbaf & 0xFFFF, lbads = (lbaf >> 16) & 0xFF;
	if (ms != 0 || (lbads != 9 && lbads != 12)) {
		log_warn("nvme: nvme0n%u: LBA format %u (2^%u bytes, %u metadata bytes) is not supported; "
			 "ferry serves 512 or 4096 bytes without metadata", nsid, fmt, lbads, ms);
		return -E_NOTSUP;
	}
	info->sectors = nsze;
	info->sector_size = 1u << lbads;
	info->max_sectors = c->max_bytes >> lbads;
	info->read_only = id[NVME_IDN_NSATTR] & 1;
	log_info("nvme: nvme0n%u: %lu sectors of %u bytes (%lu MiB)%s", nsid, nsze, info->sector_size,
		 (nsze << lbads) >> 20, info->read_only ? ", write protected" : "");
	return 0;
}

/* Every active namespace (CNS 2, or 1..NN where the controller has no
 * such list) is a disk and is logged; ferry serves the first it can, or
 * the one named want. */
static int nvme_pick_ns(struct nvme_ctrl *c, u32 nn, const char *want, struct blk_info *info)
{
	static u32 ids[NVME_PAGE / 4];
	unsigned n = 0;
	if (nvme_identify(c, NVME_CNS_NS_LIST, 0) == 0) {
		const u8 *id = nvme_page(c, NVME_PG_IDENT);
		while (n < ARRAY_SIZE(ids) && load_le32(id + 4 * n))
			ids[n] = load_le32(id + 4 * n), n++;
	} else {
		log_info("nvme: no active namespace list; trying namespaces 1..%u", nn);
		for (u32 i = 1; i <= nn && n < ARRAY_SIZE(ids); i++)
			ids[n++] = i;
	}
	log_info("nvme: %u namespace%s", n, n == 1 ? "" : "s");
	int rc = -E_NOENT;
	for (unsigned i = 0; i < n; i++) {
		struct blk_info ns = *info; /* model and serial are the controller's */
		char name[24];
		int r = nvme_ns_info(c, ids[i], &ns);
		fmt_snprintf(name, sizeof(name), "nvme0n%u", ids[i]);
		if (r == 0 && blk_take(want, name) && !c->nsid) {
			c->nsid = ids[i];
			*info = ns;
			rc = 0;
		} else if (r < 0 && r != -E_NOTSUP && rc != 0) {
			rc = r;
		}
	}
	return rc;
}

/* IDENTIFY CONTROLLER: model, serial, MDTS, NN. */
static int nvme_ctrl_info(struct nvme_ctrl *c, struct blk_info *info, u32 *nn)
{
	int rc = nvme_identify(c, NVME_CNS_CTRL, 0);
	if (rc < 0)
		return rc;
	const u8 *id = nvme_page(c, NVME_PG_IDENT);
	nvme_str(info->model, id + NVME_IDC_MN, 40);
	nvme_str(info->serial, id + NVME_IDC_SN, 20);
	u8 mdts = id[NVME_IDC_MDTS];
	c->max_bytes = NVME_MAX_BYTES;
	if (mdts && mdts < 20 && (NVME_PAGE << mdts) < c->max_bytes)
		c->max_bytes = NVME_PAGE << mdts;
	*nn = load_le32(id + NVME_IDC_NN);
	log_info("nvme: model \"%s\" serial \"%s\", %u namespaces, %u KiB per request, up to %u commands in flight",
		 info->model, info->serial, *nn, c->max_bytes / 1024, c->depth);
	return 0;
}

/* ---- Probe --------------------------------------------------------------- */

/* Undoes a probe that failed after pci_claim: a controller ferry stopped
 * (CC.EN clear, CSTS.RDY followed) goes back to the guest and its pages to
 * the pool; one that would not stop may still move data and stays
 * quarantined with its pages. */
static void nvme_abandon(struct nvme_ctrl *c)
{
	if (c->pci->quarantined)
		return; /* a command timed out and the controller would not stop */
	if (c->regs && c->enabled && nvme_disable(c) < 0) {
		pci_quarantine(c->pci, "nvme: the controller would not stop");
		return;
	}
	if (c->dma)
		page_free(c->dma, NVME_DMA_PAGES);
	pci_release(c->pci);
}

/* CAP: the NVM command set, 4 KiB pages, the timeout and the doorbells. */
static int nvme_read_cap(struct nvme_ctrl *c, u64 bar_size)
{
	c->cap = nvme_rd(c, NVME_CAP) | (u64)nvme_rd(c, NVME_CAP + 4) << 32;
	c->vs = nvme_rd(c, NVME_VS);
	c->dstrd = (u32)((c->cap >> NVME_CAP_DSTRD_SHIFT) & NVME_CAP_DSTRD_MASK);
	u64 to = (c->cap >> NVME_CAP_TO_SHIFT) & NVME_CAP_TO_MASK;
	c->to_us = (to ? to : 1) * NVME_TO_UNIT_US;
	log_info("nvme: NVMe %u.%u, CAP=%016lx (timeout %lu ms, doorbell stride %u)", c->vs >> 16, (c->vs >> 8) & 0xFF,
		 c->cap, c->to_us / 1000, 4u << c->dstrd);
	if (!(c->cap & NVME_CAP_CSS_NVM) || ((c->cap >> NVME_CAP_MPSMIN_SHIFT) & NVME_CAP_MPSMIN_MASK) != 0) {
		log_err("nvme: the controller lacks the NVM command set or 4 KiB pages (CAP=%016lx)", c->cap);
		return -E_NOTSUP;
	}
	if (nvme_db(c, 1, true) + 4 > bar_size) {
		log_err("nvme: BAR0 (%lx bytes) does not hold the doorbells of queue 1", bar_size);
		return -E_IO;
	}
	return 0;
}

static int nvme_probe(const char *want, struct blk_dev **out)
{
	struct pci_dev *pd = pci_find_class(NVME_PCI_CLASS, NVME_PCI_SUBCLASS, NVME_PCI_PROGIF, 0);
	struct nvme_ctrl *c = &nvme_ctrl;
	u32 nn = 0;
	int rc;

	if (!pd) {
		log_debug("nvme: no NVMe controller");
		return -E_NOENT;
	}
	if (pd->owner && nvme_blk.ops && c->pci == pd) {
		/* Handed out: another probe (export) would overwrite its state. */
		if (want && !strncmp(want, "nvme", 4)) {
			log_err("nvme: %s is served already; the NVMe driver serves one namespace of one controller, so "
				"%s cannot be a second", nvme_name, want);
			return -E_EXIST;
		}
		return -E_NOENT;
	}
	if (pd->owner) {
		log_warn("nvme: %02x:%02x.%x is already taken by %s", pd->bus, pd->dev, pd->fn, pd->owner);
		return -E_EXIST;
	}
	const struct pci_bar *bar = &pd->bar[NVME_PCI_BAR];
	if (bar->is_io || bar->base == 0 || bar->size < NVME_REGS_MIN) {
		log_err("nvme: %02x:%02x.%x: BAR0 is missing, too small or not memory", pd->bus, pd->dev, pd->fn);
		return -E_IO;
	}
	log_info("nvme: %02x:%02x.%x %04x:%04x", pd->bus, pd->dev, pd->fn, pd->vendor, pd->device);
	pci_claim(pd, "nvme");
	*c = (struct nvme_ctrl){ .pci = pd, .regs = mmio_map(bar->base, bar->size), .dma = page_alloc(NVME_DMA_PAGES) };
	nvme_blk = (struct blk_dev){ 0 };
	rc = -E_NOMEM;
	if (!c->regs || !c->dma)
		goto fail;
	if ((rc = nvme_read_cap(c, bar->size)) < 0 || (rc = nvme_bring_up(c)) < 0 ||
	    (rc = nvme_ctrl_info(c, &nvme_blk.info, &nn)) < 0 || (rc = nvme_pick_ns(c, nn, want, &nvme_blk.info)) < 0)
		goto fail;
	c->sector_size = nvme_blk.info.sector_size;
	c->sectors = nvme_blk.info.sectors;
	fmt_snprintf(nvme_name, sizeof(nvme_name), "nvme0n%u", c->nsid);
	nvme_blk.name = nvme_name;
	nvme_blk.ops = &nvme_ops;
	nvme_blk.queue_depth = NVME_QUEUE_HOLD;
	nvme_blk.priv = c;
	*out = &nvme_blk;
	return 0;

fail:
	if (rc == -E_NOENT)
		log_info("nvme: no namespace ferry can serve on %02x:%02x.%x", pd->bus, pd->dev, pd->fn);
	nvme_abandon(c);
	return rc;
}

const struct blk_driver nvme_driver = {
	.name = "nvme",
	.probe = nvme_probe,
};
