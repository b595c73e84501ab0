/* A fake NVMe controller (fake_nvme.h). */
#include <stdlib.h>
#include <string.h>
#include "fake_nvme.h"
#include "fake_bus.h"
#include "fake_dev.h"
#include "drivers/nvme.h"

struct fake_nvme fake_nvme;

struct fq {
	bool live;
	u64 sq, cq;        /* host addresses of the rings */
	u16 entries, cq_entries;
	u16 head, cq_tail;
	u16 phase;
};

static u8 *regs; /* the register page (read and written through volatile) */
static bool enabled;
static struct fq q[2]; /* admin, I/O queue 1 */
static u16 io_cq_entries;
static u64 io_cq_base;

static u32 rd(u32 off) { return *(volatile u32 *)(regs + off); }
static void wr(u32 off, u32 v) { *(volatile u32 *)(regs + off) = v; }
static u64 rd64(u32 off) { return rd(off) | (u64)rd(off + 4) << 32; }

void fake_nvme_reset(void)
{
	for (unsigned i = 0; i < FAKE_NVME_NS; i++)
		free(fake_nvme.ns[i].data);
	memset(&fake_nvme, 0, sizeof(fake_nvme));
	memset(q, 0, sizeof(q));
	enabled = false;
	if (!regs) {
		regs = fake_bar_map(FAKE_NVME_REGS_PA, FAKE_NVME_REGS_SIZE);
		fake_clock_tick = fake_nvme_step;
		struct fake_pci_fn *f = fake_pci_add(0, 5, 0, 0x1B36, 0x0010, 0x01080200, 0);
		fake_pci_bar(f, 0, false, (u32)FAKE_NVME_REGS_PA, FAKE_NVME_REGS_SIZE);
	}
	memset(regs, 0, FAKE_NVME_REGS_SIZE);
	/* MQES 63, CQR, TO 2 (1 s), DSTRD 0, the NVM command set, MPSMIN 0. */
	u64 cap = 63 | (1ull << 16) | (2ull << NVME_CAP_TO_SHIFT) | NVME_CAP_CSS_NVM;
	wr(NVME_CAP, (u32)cap);
	wr(NVME_CAP + 4, (u32)(cap >> 32));
	wr(NVME_VS, 0x00010400);
}

void fake_nvme_add_ns(u32 nsid, u32 lbads, u64 sectors)
{
	struct fake_nvme_ns *ns = &fake_nvme.ns[nsid - 1];
	ns->present = true;
	ns->lbads = lbads;
	ns->sectors = sectors;
	ns->data = calloc(sectors, 1u << lbads);
}

static void put16(u8 *p, u16 v) { p[0] = (u8)v, p[1] = (u8)(v >> 8); }
static void put32(u8 *p, u32 v) { put16(p, (u16)v), put16(p + 2, (u16)(v >> 16)); }
static void put64(u8 *p, u64 v) { put32(p, (u32)v), put32(p + 4, (u32)(v >> 32)); }

static void complete(struct fq *cq_of, const struct nvme_sqe *e, unsigned qi, u16 sc)
{
	struct nvme_cqe *cq = (struct nvme_cqe *)(uintptr_t)cq_of->cq;
	struct nvme_cqe c = {
		.sqhd = cq_of->head,
		.sqid = (u16)qi,
		.cid = (u16)(e->cdw0 >> 16),
		.status = (u16)((sc << 1) | cq_of->phase),
	};
	cq[cq_of->cq_tail] = c;
	if (++cq_of->cq_tail == cq_of->cq_entries) {
		cq_of->cq_tail = 0;
		cq_of->phase ^= 1;
	}
}

/* The data pages of a transfer of len bytes: PRP1, then PRP2 as a page or
 * a list (one list page is all the driver ever builds). */
static u8 *prp_page(const struct nvme_sqe *e, u32 len, u32 off)
{
	u32 first = NVME_PAGE - (u32)(e->prp1 & (NVME_PAGE - 1));
	if (off < first)
		return (u8 *)(uintptr_t)(e->prp1 + off);
	off -= first;
	if (len - first <= NVME_PAGE)
		return (u8 *)(uintptr_t)(e->prp2 + off);
	const u64 *list = (const u64 *)(uintptr_t)e->prp2;
	return (u8 *)(uintptr_t)(list[off / NVME_PAGE] + off % NVME_PAGE);
}

static void xfer(const struct nvme_sqe *e, u8 *disk, u32 len, bool to_disk)
{
	for (u32 off = 0; off < len;) {
		u8 *p = prp_page(e, len, off);
		u32 n = NVME_PAGE - (u32)((uintptr_t)p & (NVME_PAGE - 1));
		if (n > len - off)
			n = len - off;
		if (to_disk)
			memcpy(disk + off, p, n);
		else
			memcpy(p, disk + off, n);
		off += n;
	}
}

static u16 identify(const struct nvme_sqe *e)
{
	u8 *d = (u8 *)(uintptr_t)e->prp1;
	memset(d, 0, NVME_PAGE);
	switch (e->cdw10 & 0xFF) {
	case NVME_CNS_CTRL:
		memset(d + NVME_IDC_SN, ' ', 20);
		memcpy(d + NVME_IDC_SN, "FAKE0001", 8);
		memset(d + NVME_IDC_MN, ' ', 40);
		memcpy(d + NVME_IDC_MN, "fake nvme", 9);
		put32(d + NVME_IDC_NN, FAKE_NVME_NS);
		return 0;
	case NVME_CNS_NS_LIST: {
		unsigned n = 0;
		for (unsigned i = 0; i < FAKE_NVME_NS; i++)
			if (fake_nvme.ns[i].present)
				put32(d + 4 * n++, i + 1);
		return 0;
	}
	case NVME_CNS_NS: {
		if (e->nsid == 0 || e->nsid > FAKE_NVME_NS)
			return NVME_SC_INVALID_NS;
		const struct fake_nvme_ns *ns = &fake_nvme.ns[e->nsid - 1];
		if (!ns->present)
			return 0; /* an inactive namespace: all zeroes */
		put64(d + NVME_IDN_NSZE, ns->sectors);
		d[NVME_IDN_NLBAF] = 0;
		d[NVME_IDN_FLBAS] = 0;
		put32(d + NVME_IDN_LBAF, ns->lbads << 16);
		return 0;
	}
	}
	return 0x02; /* invalid field */
}

static u16 admin(const struct nvme_sqe *e)
{
	switch ((u8)e->cdw0) {
	case NVME_ADM_IDENTIFY:
		return identify(e);
	case NVME_ADM_SET_FEATURES:
		return 0;
	case NVME_ADM_CREATE_CQ:
		io_cq_base = e->prp1;
		io_cq_entries = (u16)((e->cdw10 >> 16) + 1);
		return 0;
	case NVME_ADM_CREATE_SQ:
		q[1] = (struct fq){ .live = true, .sq = e->prp1, .cq = io_cq_base, .entries = (u16)((e->cdw10 >> 16) + 1),
				    .cq_entries = io_cq_entries, .phase = 1 };
		return 0;
	}
	return 0x01; /* invalid opcode */
}

/* 0, a status code, or -1 for a command never completed. */
static int io(const struct nvme_sqe *e)
{
	if (fake_nvme.io_silent)
		return -1;
	u8 op = (u8)e->cdw0;
	if (e->nsid == 0 || e->nsid > FAKE_NVME_NS || !fake_nvme.ns[e->nsid - 1].present)
		return NVME_SC_INVALID_NS;
	struct fake_nvme_ns *ns = &fake_nvme.ns[e->nsid - 1];
	if (op == NVME_CMD_FLUSH) {
		fake_nvme.flushes++;
		return 0;
	}
	u64 lba = e->cdw10 | (u64)e->cdw11 << 32;
	u32 count = (e->cdw12 & 0xFFFF) + 1;
	if (lba >= ns->sectors || count > ns->sectors - lba)
		return 0x80; /* LBA out of range */
	u32 len = count << ns->lbads;
	u8 *disk = ns->data + (lba << ns->lbads);
	if (op == NVME_CMD_WRITE)
		fake_nvme.writes++, xfer(e, disk, len, true);
	else if (op == NVME_CMD_READ)
		fake_nvme.reads++, xfer(e, disk, len, false);
	else
		return 0x01;
	return 0;
}

static void run_queue(unsigned qi)
{
	struct fq *s = &q[qi];
	u16 tail = (u16)rd(NVME_DB_BASE + 8 * qi);
	while (s->live && s->head != tail % s->entries) {
		const struct nvme_sqe *e = (const struct nvme_sqe *)(uintptr_t)s->sq + s->head;
		s->head = (u16)((s->head + 1) % s->entries);
		if (qi && fake_nvme.io_hold) {
			fake_nvme.hold[fake_nvme.held++] = *e;
			continue;
		}
		if (!qi && fake_nvme.admin_silent)
			continue;
		int sc = qi ? io(e) : admin(e);
		if (sc >= 0)
			complete(s, e, qi, (u16)sc);
	}
}

void fake_nvme_complete(unsigned i, u16 sc)
{
	struct nvme_sqe e = fake_nvme.hold[i];
	memmove(&fake_nvme.hold[i], &fake_nvme.hold[i + 1], (fake_nvme.held - i - 1) * sizeof(e));
	fake_nvme.held--;
	int rc = sc ? sc : io(&e);
	if (rc >= 0)
		complete(&q[1], &e, 1, (u16)rc);
}

void fake_nvme_post(u16 sqid, u16 cid, u16 sc)
{
	struct nvme_sqe e = { .cdw0 = (u32)cid << 16 };
	complete(&q[1], &e, sqid, sc);
}

void fake_nvme_step(void)
{
	if (!regs)
		return;
	if (fake_nvme.gone) {
		memset(regs, 0xFF, FAKE_NVME_REGS_SIZE);
		return;
	}
	u32 cc = rd(NVME_CC);
	if ((cc & NVME_CC_EN) && !enabled) {
		if (fake_nvme.fatal_on_enable) {
			wr(NVME_CSTS, NVME_CSTS_CFS);
		} else if (!fake_nvme.never_ready) {
			enabled = true;
			fake_nvme.enables++;
			u32 aqa = rd(NVME_AQA);
			q[0] = (struct fq){ .live = true, .sq = rd64(NVME_ASQ), .cq = rd64(NVME_ACQ),
					    .entries = (u16)((aqa & 0xFFF) + 1), .cq_entries = (u16)(((aqa >> 16) & 0xFFF) + 1),
					    .phase = 1 };
			q[1].live = false;
			wr(NVME_CSTS, NVME_CSTS_RDY);
		}
	} else if (!(cc & NVME_CC_EN) && !fake_nvme.wont_stop) {
		enabled = false;
		q[0].live = q[1].live = false;
		fake_nvme.held = 0; /* aborted */
		wr(NVME_CSTS, 0);
		/* A reset clears the doorbells. */
		memset(regs + NVME_DB_BASE, 0, FAKE_NVME_REGS_SIZE - NVME_DB_BASE);
	}
	if (enabled) {
		run_queue(0);
		run_queue(1);
	}
}
