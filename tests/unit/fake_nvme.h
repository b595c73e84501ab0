/* A fake NVMe controller for host tests of drivers/nvme.c.
 *
 * Its registers are a page of host memory at a fixed low address, which
 * is BAR0 of a fake PCI function (fake_bus.h); mmio_map is the identity on
 * the host.  The controller has no thread of its own: it acts in
 * fake_nvme_step(), which the fake clock (fake_dev.h) runs on every
 * look, so a driver polling CSTS or a completion queue sees it progress.
 * It implements what the driver uses: CC.EN and CSTS.RDY, the admin queue,
 * IDENTIFY (controller, namespace, active list), SET FEATURES, CREATE I/O
 * CQ/SQ, and READ, WRITE and FLUSH through PRPs on in-memory namespaces.
 * Faults are switched on by the test; with io_hold the test decides when
 * each I/O command completes, in which order and with what status, and
 * may post completions of its own. */
#ifndef FERRY_FAKE_NVME_H
#define FERRY_FAKE_NVME_H

#include "lib/types.h"
#include "drivers/nvme.h"

#define FAKE_NVME_NS 4
#define FAKE_NVME_REGS_PA 0x40000000ul
#define FAKE_NVME_REGS_SIZE 0x4000u

struct fake_nvme_ns {
	bool present;  /* IDENTIFY reports it; I/O to it works */
	u32 lbads;     /* 9 or 12 */
	u64 sectors;
	u8 *data;
};

struct fake_nvme {
	/* Faults. */
	bool never_ready;   /* CC.EN = 1 never sets CSTS.RDY */
	bool fatal_on_enable; /* CC.EN = 1 sets CSTS.CFS instead */
	bool wont_stop;     /* CC.EN = 0 never clears CSTS.RDY */
	bool io_silent;     /* I/O commands are taken and never completed */
	bool gone;          /* surprise removal: every register reads all ones */
	bool io_hold;       /* I/O commands are taken and wait for fake_nvme_complete */
	bool admin_silent;  /* admin commands are taken and never completed */
	/* What happened. */
	unsigned enables;   /* CC.EN 0 -> 1 transitions */
	unsigned reads, writes, flushes;
	unsigned held;      /* I/O commands waiting (io_hold), oldest first */
	struct nvme_sqe hold[64];
	struct fake_nvme_ns ns[FAKE_NVME_NS]; /* NSID i + 1 */
};

extern struct fake_nvme fake_nvme;

/* A fresh controller (TO = 1 s) without namespaces.  The first call also
 * puts its PCI function on the fake bus (after fake_bus_reset, before
 * pci_init: the caller's). */
void fake_nvme_reset(void);
/* Namespace nsid (1-based): sectors of 2^lbads bytes, zero-filled. */
void fake_nvme_add_ns(u32 nsid, u32 lbads, u64 sectors);
void fake_nvme_step(void);
/* Runs held command i (io_hold) and posts its completion: with sc 0 its
 * own result, else status code sc without a transfer. */
void fake_nvme_complete(unsigned i, u16 sc);
/* Posts a completion no command asked for on the I/O CQ. */
void fake_nvme_post(u16 sqid, u16 cid, u16 sc);

#endif
