/* Parallel ATA ("IDE") controller definitions: the task-file registers of
 * an ATA channel, the PCI IDE controller's programming interface, and the
 * bus-master DMA registers and descriptor.
 *
 * References: ATA/ATAPI-6 (T13/1410D) for the command and control block
 * registers and the reset protocol; "PCI IDE Controller Specification"
 * rev. 1.0 for the programming interface and the compatibility-mode ports;
 * "Programming Interface for Bus Master IDE Controller" rev. 1.0 (BMIDE)
 * for the bus-master registers and the physical region descriptor.  The
 * ATA commands, status bits and IDENTIFY data are shared with the AHCI
 * driver in ata_id.h.
 *
 * The driver itself (drivers/ata.c, ata_chan.c, ata_dma.c) serves the
 * first ATA disk on the first PCI IDE controller that has one, polls with
 * the device's interrupt off (nIEN) and moves data by bus-master DMA, or
 * by PIO when the controller has no bus-master registers. */
#ifndef FERRY_ATA_H
#define FERRY_ATA_H

#include "lib/types.h"
#include "ata_id.h"
#include "platform/blk.h"

/* ---- PCI identity (PCI IDE Controller Specification 1.0) --------------- */
#define ATA_PCI_CLASS 0x01    /* mass storage */
#define ATA_PCI_SUBCLASS 0x01 /* IDE */

/* Programming interface byte: per channel, native (PCI) mode or
 * compatibility (legacy ISA port) mode, and whether software may switch. */
#define ATA_PROGIF_PRI_NATIVE BIT(0) /* primary channel in native mode */
#define ATA_PROGIF_PRI_PROG BIT(1)   /* ... and its mode is programmable */
#define ATA_PROGIF_SEC_NATIVE BIT(2) /* secondary channel in native mode */
#define ATA_PROGIF_SEC_PROG BIT(3)
#define ATA_PROGIF_BUS_MASTER BIT(7) /* bus-master IDE registers in BAR4 */

/* Native mode: BAR0/BAR1 are the primary channel's command and control
 * blocks, BAR2/BAR3 the secondary's.  The control block BAR is 4 ports
 * wide; the device control / alternate status register is at offset 2. */
#define ATA_BAR_CMD(ch) (2 * (ch))
#define ATA_BAR_CTL(ch) (2 * (ch) + 1)
#define ATA_NATIVE_CTL_OFF 2
#define ATA_BAR_BMIDE 4 /* BMIDE 1.0: 16 ports, 8 per channel */

/* Compatibility mode: the fixed ISA ports (PCI IDE Controller spec 1.0). */
#define ATA_LEGACY_PRI_CMD 0x1F0
#define ATA_LEGACY_PRI_CTL 0x3F6
#define ATA_LEGACY_SEC_CMD 0x170
#define ATA_LEGACY_SEC_CTL 0x376
#define ATA_CMD_BLOCK_LEN 8 /* command block: 8 ports */
#define ATA_CTL_BLOCK_LEN 1 /* control block: one port (3F7h/377h are the floppy's) */

/* ---- Command block registers (ATA/ATAPI-6), offsets from its base ------ */
#define ATA_REG_DATA 0     /* RW 16-bit: PIO data */
#define ATA_REG_ERROR 1    /* R: error (ATA_ERR_*) */
#define ATA_REG_FEATURES 1 /* W: features */
#define ATA_REG_COUNT 2    /* RW: sector count; after reset part of the signature */
#define ATA_REG_LBA_LOW 3  /* RW: LBA 7:0 (EXT: then 31:24) */
#define ATA_REG_LBA_MID 4  /* RW: LBA 15:8 (EXT: then 39:32) */
#define ATA_REG_LBA_HIGH 5 /* RW: LBA 23:16 (EXT: then 47:40) */
#define ATA_REG_DEVICE 6   /* RW: ATA_DEV_* (ata_id.h) */
#define ATA_REG_STATUS 7   /* R: status (ATA_STS_*); reading it clears INTRQ */
#define ATA_REG_COMMAND 7  /* W: command */

/* ---- Control block register ------------------------------------------- */
/* Read: alternate status (the status without clearing INTRQ).
 * Write: device control. */
#define ATA_CTL_NIEN BIT(1) /* the selected device's INTRQ is disabled */
#define ATA_CTL_SRST BIT(2) /* software reset of both devices on the channel */
#define ATA_CTL_HOB BIT(7)  /* read back the previous (high-order) EXT bytes */

/* Signatures in LBA mid / LBA high after a reset or a failed IDENTIFY
 * (ATA/ATAPI-6; Serial ATA adds the 3Ch/C3h and 69h/96h pairs). */
#define ATA_SIG_ATA 0x0000       /* ATA device */
#define ATA_SIG_ATAPI 0xEB14     /* packet device (CD/DVD) */
#define ATA_SIG_SATA_ATA 0xC33C  /* SATA disk behind a PATA-emulating host */
#define ATA_SIG_SATA_ATAPI 0x9669
#define ATA_SIG_NONE 0xFFFF      /* no device (floating bus, or QEMU's empty position) */

/* ---- Bus-master IDE registers (BMIDE 1.0), from BAR4 ------------------ */
#define ATA_BM_CHANNEL_STRIDE 8 /* the secondary channel's block is at +8 */
#define ATA_BM_CMD 0            /* RW 8-bit: command */
#define ATA_BM_STATUS 2         /* RWC 8-bit: status */
#define ATA_BM_PRDT 4           /* RW 32-bit: PRD table address, dword aligned */

/* Command register */
#define ATA_BM_CMD_START BIT(0) /* start / stop the bus master */
#define ATA_BM_CMD_READ BIT(3)  /* direction: 1 = the bus master writes memory
                                 * (a disk read); set only while stopped */

/* Status register */
#define ATA_BM_STS_ACTIVE BIT(0) /* RO: the transfer is in progress */
#define ATA_BM_STS_ERROR BIT(1)  /* RWC: the bus master hit a PCI error */
#define ATA_BM_STS_INTR BIT(2)   /* RWC: the device raised INTRQ (not with nIEN) */
#define ATA_BM_STS_DRV0_DMA BIT(5) /* RW: set by firmware: device 0 DMA capable */
#define ATA_BM_STS_DRV1_DMA BIT(6) /* RW: device 1 DMA capable */
#define ATA_BM_STS_SIMPLEX BIT(7)  /* RO: only one channel may run at a time */

/* Physical region descriptor (BMIDE 1.0): one memory region
 * of the transfer.  The region must not cross a 64 KiB boundary; the table
 * is dword aligned and must not cross one either. */
struct ata_prd {
	u32 addr;  /* physical address, bit 0 zero: 32 bits only */
	u16 count; /* bytes, bit 0 zero; 0 means 64 KiB */
	u16 flags; /* ATA_PRD_EOT on the last entry */
} __packed;
_Static_assert(sizeof(struct ata_prd) == 8, "a PRD is two dwords");
#define ATA_PRD_EOT BIT(15)
#define ATA_PRD_MAX_BYTES (64 * KiB) /* and the boundary no region may cross */

/* ferry's PRD table is one 4 KiB page (which never crosses 64 KiB): 512
 * entries.  QEMU's BMIDE model also stops reading PRDs one page past the
 * table's start. */
#define ATA_PRDT_ENTRIES (PAGE_SIZE / sizeof(struct ata_prd))

extern const struct blk_driver ata_driver;

#endif
