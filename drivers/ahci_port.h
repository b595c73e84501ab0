/* The AHCI driver's two halves and what they share: drivers/ahci.c takes
 * the controller (BIOS handoff, HBA reset, link bring-up, the port scan);
 * drivers/ahci_port.c runs one port (its engines, COMRESET and recovery,
 * the commands, IDENTIFY) and is the block back end.
 *
 * References: AHCI 1.3.1, sections in ahci.h and beside each item. */
#ifndef FERRY_AHCI_PORT_H
#define FERRY_AHCI_PORT_H

#include "ahci.h"
#include "platform/blk.h"

#define AHCI_LINK_US (1000 * 1000) /* PxSSTS.DET reaches 3 */

/* Everything the HBA reaches by DMA for the port, in one allocation: a
 * command table for each slot, so every command in flight can have its
 * own PRDT (4.2.3). */
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
	unsigned num;
	struct ahci_dma *dma;
	bool s64a;       /* CAP.S64A: PRDs may point above 4 GiB */
	bool lba48;
	bool ready;      /* PxCMD.ST set and the last command left the port sane */
	bool dead;       /* recovery failed twice: refuse everything */
	bool warned_4g;
	u8 cmd_read, cmd_write, cmd_flush;
	u64 sectors;
	u32 sector_size;
	u32 max_sectors;
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

/* Read, write and flush on the port in blk_dev.priv. */
extern const struct blk_ops ahci_ops;

#endif
