/* The AHCI driver's parts and what they share: drivers/ahci.c takes the
 * controller (BIOS handoff, HBA reset, link bring-up, the port scan);
 * drivers/ahci_port.c runs one port (its engines, COMRESET and recovery,
 * the synchronous commands, IDENTIFY) and is the block back end, whose
 * submit and poll drivers/ahci_queue.c keeps (NCQ, ordering, errors).
 *
 * References: AHCI 1.3.1, sections in ahci.h and beside each item. */
#ifndef FERRY_AHCI_PORT_H
#define FERRY_AHCI_PORT_H

#include "ahci.h"
#include "blk_hold.h"
#include "platform/blk.h"

#define AHCI_LINK_US (1000 * 1000) /* PxSSTS.DET reaches 3 */
#define AHCI_CMD_US (10 * 1000 * 1000)    /* one read, write or IDENTIFY */
#define AHCI_FLUSH_US (30 * 1000 * 1000)  /* FLUSH CACHE [EXT] */

/* Requests submit holds at once (blk_dev.queue_depth), issued or waiting
 * for a slot, for an overlapping one or behind a FLUSH. */
#define AHCI_QUEUE_HOLD 64

/* Everything the HBA reaches by DMA for the port, in one allocation: a
 * command table for each slot, so every command in flight has its own
 * PRDT (4.2.3). */
struct ahci_dma {
	struct ahci_cmd_header cmd_list[AHCI_CMD_LIST_SLOTS]; /* 1 KiB aligned */
	struct ahci_rx_fis rx_fis;                            /* 256-byte aligned */
	u16 ident[ATA_ID_WORDS];                              /* IDENTIFY data */
	u8 pad[0x100];
	struct ahci_cmd_table cmd_table[AHCI_CMD_LIST_SLOTS]; /* 128-byte aligned each */
};
_Static_assert(offsetof(struct ahci_dma, rx_fis) == 0x400, "received FIS placement");
_Static_assert(offsetof(struct ahci_dma, ident) == 0x500, "IDENTIFY buffer placement");
_Static_assert(offsetof(struct ahci_dma, cmd_table) == 0x800, "command table placement");
_Static_assert(sizeof(struct ahci_cmd_table) % 128 == 0, "every command table 128-byte aligned");
#define AHCI_DMA_PAGES ((sizeof(struct ahci_dma) + PAGE_SIZE - 1) / PAGE_SIZE)

struct ahci_port {
	volatile u8 *regs; /* this port's register block */
	struct pci_dev *pci; /* the controller: quarantined if an engine will not stop */
	unsigned num;
	struct ahci_dma *dma;
	bool s64a;       /* CAP.S64A: PRDs may point above 4 GiB */
	bool sncq;       /* CAP.SNCQ: the HBA queues commands */
	u8 slots;        /* CAP.NCS + 1 */
	bool lba48;
	bool ready;      /* PxCMD.ST set and the last command left the port sane */
	bool dead;       /* recovery failed twice: refuse everything */
	bool warned_4g;
	u8 cmd_read, cmd_write, cmd_flush;
	u64 sectors;
	u32 sector_size;
	u32 max_sectors;

	/* The queue (drivers/ahci_queue.c). */
	bool ncq;        /* reads and writes go as FPDMA QUEUED */
	bool nq_busy;    /* a non-queued command is in slot 0 */
	u8 depth;        /* commands issued at once: NCQ's depth, else 1 */
	u8 nbusy;
	u32 busy;        /* slots issued */
	struct blk_hold hold; /* every io held, issued or waiting: at most AHCI_QUEUE_HOLD */
	unsigned solo;   /* after a queued error: ios at the head to run alone first */
	struct blk_io *slot_io[AHCI_CMD_LIST_SLOTS];
	u64 slot_t0[AHCI_CMD_LIST_SLOTS]; /* when it was issued */
	unsigned most_issued, most_reaped; /* high-water marks, logged as they grow */
};

/* Command header DW0 (4.2.2) for a register H2D FIS and nprd PRDs. */
static inline u32 ahci_cmdh_info(bool write, unsigned nprd)
{
	return (sizeof(struct fis_reg_h2d) / 4) | (write ? AHCI_CMDH_W : 0) | ((u32)nprd << AHCI_CMDH_PRDTL_SHIFT);
}

/* Read-modify-write of PxCMD that never writes ICC or CLO back. */
void ahci_cmd_update(volatile u8 *regs, u32 set, u32 clear);
/* Polls until (reg & mask) == want; false on timeout. */
bool ahci_wait(volatile u8 *base, u32 reg, u32 mask, u32 want, u64 timeout_us);

/* Port bring-up (10.1.2, 10.3) of p, whose regs, num, dma and s64a are
 * set.  Returns 0 with the port running and the disk identified into
 * *info, -E_NOENT when there is nothing to serve, or an error with both
 * engines stopped.  *quiet is false when an engine would not stop, so the
 * DMA memory must not be reused or freed. */
int ahci_port_attach(struct ahci_port *p, struct blk_info *info, bool *quiet);

/* ---- Shared by ahci_port.c and ahci_queue.c ---- */

/* A register H2D FIS with command in t's CFIS (ext: the 48-bit fields). */
void ahci_set_fis(struct ahci_cmd_table *t, u8 command, u8 device, u64 lba, u32 count, bool ext);
/* The port's READ or WRITE DMA [EXT] of count sectors at lba in t. */
void ahci_set_rw_fis(const struct ahci_port *p, struct ahci_cmd_table *t, bool write, u64 lba, u32 count);
/* Fills t's PRDT from the segment list, or only checks it when t is NULL:
 * the number of PRDs, or -E_INVAL when the list breaks blk.h's rules or
 * the HBA cannot reach it. */
int ahci_fill_prdt(struct ahci_port *p, struct ahci_cmd_table *t, const struct blk_seg *segs, unsigned nseg,
		   u64 bytes);
/* -E_INVAL unless a read or write of count sectors at lba over segs fits
 * the disk and the PRDT. */
int ahci_check_rw(struct ahci_port *p, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
/* The error line of a failed or timed-out command (what: its name; then:
 * appended before the registers). */
void ahci_log_fail(const struct ahci_port *p, const char *what, int rc, const char *then);
/* Non-queued error recovery (6.2.2.1); COMRESET with force_reset. */
int ahci_port_recover(struct ahci_port *p, bool force_reset);
/* 0 when the port takes commands, after one more recovery if it needs it;
 * -E_IO once it is dead. */
int ahci_port_usable(struct ahci_port *p);

/* The queue (drivers/ahci_queue.c): NCQ or not and its depth, from CAP
 * and IDENTIFY data id; submit and poll of platform/blk.h; and drain,
 * which polls until nothing is held (the synchronous calls come after
 * it). */
void ahci_queue_setup(struct ahci_port *p, const u16 *id);
int ahci_submit(struct blk_dev *dev, struct blk_io *io);
unsigned ahci_poll(struct blk_dev *dev);
void ahci_queue_drain(struct ahci_port *p);

/* Read, write, flush, submit and poll on the port in blk_dev.priv. */
extern const struct blk_ops ahci_ops;

#endif
