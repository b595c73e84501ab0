/* AHCI (Serial ATA Advanced Host Controller Interface) definitions.
 *
 * Register offsets and bits follow the AHCI 1.3.1 specification; the
 * section is given on each.  The in-memory structures the HBA reads and
 * writes by DMA (command list, command table, received-FIS area) are packed
 * structs checked with _Static_assert, little-endian like the hardware.
 * Bit fields are spelled as masks, never as C bit-fields.
 *
 * The driver itself takes the first AHCI controller (drivers/ahci.c),
 * serves the first ATA disk on it (drivers/ahci_port.c), queues commands
 * with NCQ where both ends have it (drivers/ahci_queue.c) and polls: no
 * interrupts. */
#ifndef FERRY_AHCI_H
#define FERRY_AHCI_H

#include "lib/types.h"
#include "platform/blk.h"
#include "ata_id.h" /* the ATA commands, status bits and IDENTIFY data */

/* ---- PCI identity (AHCI 2.1) ------------------------------------------- */
#define AHCI_PCI_CLASS 0x01    /* mass storage */
#define AHCI_PCI_SUBCLASS 0x06 /* Serial ATA */
#define AHCI_PCI_PROGIF 0x01   /* AHCI 1.0 interface */
#define AHCI_PCI_ABAR 5        /* ABAR is BAR5, offset 24h (2.1.11) */

/* ---- Generic host control (AHCI 3.1) ----------------------------------- */
#define AHCI_CAP 0x00  /* 3.1.1 Host Capabilities */
#define AHCI_GHC 0x04  /* 3.1.2 Global HBA Control */
#define AHCI_IS 0x08   /* 3.1.3 Interrupt Status (one bit per port, RWC) */
#define AHCI_PI 0x0C   /* 3.1.4 Ports Implemented */
#define AHCI_VS 0x10   /* 3.1.5 Version (major 31:16, minor 15:0) */
#define AHCI_CAP2 0x24 /* 3.1.10 Host Capabilities Extended */
#define AHCI_BOHC 0x28 /* 3.1.11 BIOS/OS Handoff Control and Status */

/* CAP (3.1.1) */
#define AHCI_CAP_NP_MASK 0x1Fu /* number of ports - 1 */
#define AHCI_CAP_NCS_SHIFT 8   /* number of command slots - 1, 12:8 */
#define AHCI_CAP_NCS_MASK 0x1Fu
#define AHCI_CAP_SSS BIT32(27)  /* supports staggered spin-up */
#define AHCI_CAP_SNCQ BIT32(30) /* supports native command queuing */
#define AHCI_CAP_S64A BIT32(31) /* supports 64-bit addressing */

/* GHC (3.1.2) */
#define AHCI_GHC_HR BIT32(0)  /* HBA reset, self-clearing */
#define AHCI_GHC_IE BIT32(1)  /* interrupt enable */
#define AHCI_GHC_AE BIT32(31) /* AHCI enable */

/* CAP2 (3.1.10) */
#define AHCI_CAP2_BOH BIT32(0) /* BIOS/OS handoff supported */

/* BOHC (3.1.11) */
#define AHCI_BOHC_BOS BIT32(0) /* BIOS owned semaphore */
#define AHCI_BOHC_OOS BIT32(1) /* OS owned semaphore */
#define AHCI_BOHC_OOC BIT32(3) /* OS ownership change (RWC) */
#define AHCI_BOHC_BB BIT32(4)  /* BIOS busy */

/* ---- Port registers (AHCI 3.3): port n at 100h + n * 80h --------------- */
#define AHCI_PORT_BASE 0x100
#define AHCI_PORT_STRIDE 0x80
#define AHCI_MAX_PORTS 32

#define AHCI_PxCLB 0x00  /* 3.3.1 Command List Base Address (1 KiB aligned) */
#define AHCI_PxCLBU 0x04 /* 3.3.2 Command List Base Address Upper 32 bits */
#define AHCI_PxFB 0x08   /* 3.3.3 FIS Base Address (256-byte aligned) */
#define AHCI_PxFBU 0x0C  /* 3.3.4 FIS Base Address Upper 32 bits */
#define AHCI_PxIS 0x10   /* 3.3.5 Interrupt Status (RWC) */
#define AHCI_PxIE 0x14   /* 3.3.6 Interrupt Enable */
#define AHCI_PxCMD 0x18  /* 3.3.7 Command and Status */
#define AHCI_PxTFD 0x20  /* 3.3.8 Task File Data */
#define AHCI_PxSIG 0x24  /* 3.3.9 Signature */
#define AHCI_PxSSTS 0x28 /* 3.3.10 Serial ATA Status (SStatus) */
#define AHCI_PxSCTL 0x2C /* 3.3.11 Serial ATA Control (SControl) */
#define AHCI_PxSERR 0x30 /* 3.3.12 Serial ATA Error (SError, RWC) */
#define AHCI_PxSACT 0x34 /* 3.3.13 Serial ATA Active (SActive) */
#define AHCI_PxCI 0x38   /* 3.3.14 Command Issue */

/* PxIS / PxIE (3.3.5, 3.3.6) */
#define AHCI_PxIS_DHRS BIT32(0)  /* device-to-host register FIS received */
#define AHCI_PxIS_PSS BIT32(1)   /* PIO setup FIS received */
#define AHCI_PxIS_DSS BIT32(2)   /* DMA setup FIS received */
#define AHCI_PxIS_SDBS BIT32(3)  /* set device bits FIS received */
#define AHCI_PxIS_UFS BIT32(4)   /* unknown FIS received */
#define AHCI_PxIS_DPS BIT32(5)   /* descriptor processed */
#define AHCI_PxIS_PCS BIT32(6)   /* port connect change */
#define AHCI_PxIS_PRCS BIT32(22) /* PhyRdy change */
#define AHCI_PxIS_OFS BIT32(24)  /* overflow: PRDT shorter than the data */
#define AHCI_PxIS_INFS BIT32(26) /* interface non-fatal error */
#define AHCI_PxIS_IFS BIT32(27)  /* interface fatal error */
#define AHCI_PxIS_HBDS BIT32(28) /* host bus data error */
#define AHCI_PxIS_HBFS BIT32(29) /* host bus fatal error */
#define AHCI_PxIS_TFES BIT32(30) /* task file error (device set ERR) */
#define AHCI_PxIS_CPDS BIT32(31) /* cold port detect */
/* Conditions that stop the port's command processing (6.1, 6.2.2). */
#define AHCI_PxIS_ERRORS (AHCI_PxIS_TFES | AHCI_PxIS_HBFS | AHCI_PxIS_HBDS | AHCI_PxIS_IFS | AHCI_PxIS_OFS)

/* PxCMD (3.3.7) */
#define AHCI_PxCMD_ST BIT32(0)   /* start: process the command list */
#define AHCI_PxCMD_SUD BIT32(1)  /* spin-up device */
#define AHCI_PxCMD_POD BIT32(2)  /* power on device */
#define AHCI_PxCMD_CLO BIT32(3)  /* command list override */
#define AHCI_PxCMD_FRE BIT32(4)  /* FIS receive enable */
#define AHCI_PxCMD_FR BIT32(14)  /* FIS receive running */
#define AHCI_PxCMD_CR BIT32(15)  /* command list running */
#define AHCI_PxCMD_CPD BIT32(20) /* cold presence detection */
#define AHCI_PxCMD_ATAPI BIT32(24)
#define AHCI_PxCMD_ICC_MASK (0xFu << 28) /* interface communication control */

/* PxTFD (3.3.8): a copy of the device's status and error registers */
#define AHCI_PxTFD_STS_MASK 0xFFu
#define AHCI_PxTFD_ERR_SHIFT 8
#define AHCI_PxTFD_ERR_MASK 0xFFu

/* PxSIG (3.3.9): the signature the device sent after reset */
#define AHCI_SIG_ATA 0x00000101u   /* ATA disk */
#define AHCI_SIG_ATAPI 0xEB140101u /* ATAPI (CD/DVD) */
#define AHCI_SIG_SEMB 0xC33C0101u  /* enclosure management bridge */
#define AHCI_SIG_PM 0x96690101u    /* port multiplier */

/* PxSSTS (3.3.10) */
#define AHCI_PxSSTS_DET_MASK 0xFu /* device detection */
#define AHCI_PxSSTS_DET_NONE 0x0u
#define AHCI_PxSSTS_DET_PRESENT 0x3u /* device present, Phy communication up */
#define AHCI_PxSSTS_DET_OFFLINE 0x4u
#define AHCI_PxSSTS_IPM_SHIFT 8 /* interface power management, 11:8 */
#define AHCI_PxSSTS_IPM_MASK 0xFu
#define AHCI_PxSSTS_IPM_ACTIVE 0x1u

/* PxSCTL (3.3.11) */
#define AHCI_PxSCTL_DET_MASK 0xFu
#define AHCI_PxSCTL_DET_NONE 0x0u  /* no action */
#define AHCI_PxSCTL_DET_RESET 0x1u /* COMRESET while set (10.4.2) */
#define AHCI_PxSCTL_IPM_SHIFT 8
#define AHCI_PxSCTL_IPM_MASK 0xFu
#define AHCI_PxSCTL_IPM_NONE 0x3u /* no transitions to Partial or Slumber */

/* ---- In-memory structures (AHCI 4.2) ----------------------------------- */

/* FIS types (Serial ATA 3.x, FIS layouts; AHCI 4.2.1 places them). */
#define FIS_TYPE_REG_H2D 0x27
#define FIS_TYPE_REG_D2H 0x34

/* Register - Host to Device FIS (Serial ATA 3.x): 5 dwords. */
struct fis_reg_h2d {
	u8 fis_type;     /* FIS_TYPE_REG_H2D */
	u8 flags;        /* FIS_H2D_C, port multiplier port in 3:0 */
	u8 command;      /* ATA command */
	u8 features;     /* features 7:0 */
	u8 lba0;         /* LBA 7:0 */
	u8 lba1;         /* LBA 15:8 */
	u8 lba2;         /* LBA 23:16 */
	u8 device;       /* ATA_DEV_LBA, LBA 27:24 for 28-bit commands */
	u8 lba3;         /* LBA 31:24 */
	u8 lba4;         /* LBA 39:32 */
	u8 lba5;         /* LBA 47:40 */
	u8 features_exp; /* features 15:8 */
	u8 count;        /* count 7:0 */
	u8 count_exp;    /* count 15:8 */
	u8 icc;
	u8 control;
	u8 rsvd[4];
} __packed;
_Static_assert(sizeof(struct fis_reg_h2d) == 20, "Register H2D FIS is 5 dwords");
#define FIS_H2D_C 0x80 /* the FIS carries a command (not a control update) */

/* Received-FIS area (4.2.1): 256 bytes, 256-byte aligned. */
struct ahci_rx_fis {
	u8 dsfis[0x1C]; /* 00h DMA setup FIS */
	u8 rsvd0[0x04];
	u8 psfis[0x14]; /* 20h PIO setup FIS */
	u8 rsvd1[0x0C];
	u8 rfis[0x14];  /* 40h D2H register FIS */
	u8 rsvd2[0x04];
	u8 sdbfis[0x08]; /* 58h set device bits FIS */
	u8 ufis[0x40];   /* 60h unknown FIS */
	u8 rsvd3[0x60];
} __packed;
_Static_assert(sizeof(struct ahci_rx_fis) == 256, "received-FIS area is 256 bytes");
_Static_assert(offsetof(struct ahci_rx_fis, psfis) == 0x20, "PSFIS at 20h");
_Static_assert(offsetof(struct ahci_rx_fis, rfis) == 0x40, "RFIS at 40h");
_Static_assert(offsetof(struct ahci_rx_fis, sdbfis) == 0x58, "SDBFIS at 58h");
_Static_assert(offsetof(struct ahci_rx_fis, ufis) == 0x60, "UFIS at 60h");

/* Command header (4.2.2): 32 bytes; the command list holds 32 of them,
 * 1 KiB, 1 KiB aligned. */
struct ahci_cmd_header {
	u32 info;  /* DW0: CFL 4:0, A 5, W 6, P 7, R 8, B 9, C 10, PMP 15:12, PRDTL 31:16 */
	u32 prdbc; /* DW1: bytes transferred, written by the HBA */
	u32 ctba;  /* DW2: command table base, 128-byte aligned */
	u32 ctbau; /* DW3: upper 32 bits */
	u32 rsvd[4];
} __packed;
_Static_assert(sizeof(struct ahci_cmd_header) == 32, "command header is 32 bytes");
_Static_assert(offsetof(struct ahci_cmd_header, ctba) == 8, "CTBA in DW2");
#define AHCI_CMD_LIST_SLOTS 32
#define AHCI_CMDH_CFL_MASK 0x1Fu /* command FIS length in dwords (2..16) */
#define AHCI_CMDH_A BIT32(5)       /* ATAPI */
#define AHCI_CMDH_W BIT32(6)       /* write: data flows to the device */
#define AHCI_CMDH_P BIT32(7)       /* prefetchable */
#define AHCI_CMDH_R BIT32(8)       /* reset */
#define AHCI_CMDH_C BIT32(10)      /* clear busy upon R_OK */
#define AHCI_CMDH_PRDTL_SHIFT 16 /* number of PRDT entries */

/* Physical region descriptor (4.2.3.3): 16 bytes. */
struct ahci_prd {
	u32 dba;  /* data base address; bit 0 reserved (word aligned) */
	u32 dbau; /* upper 32 bits */
	u32 rsvd;
	u32 dbc;  /* byte count - 1 in 21:0 (bit 0 always 1: even counts); I bit 31 */
} __packed;
_Static_assert(sizeof(struct ahci_prd) == 16, "PRD is 16 bytes");
#define AHCI_PRD_DBC_MASK 0x3FFFFFu
#define AHCI_PRD_I BIT32(31)              /* interrupt on completion */
#define AHCI_PRD_MAX_BYTES (4 * MiB)    /* one PRD moves at most 4 MiB */

/* PRDT entries in ferry's command table.  A request has at most
 * BLK_MAX_SEGS segments and each is split at 4 MiB, so it needs at most
 * floor(bytes / 4 MiB) + BLK_MAX_SEGS entries; with requests capped at
 * 256 MiB (see ahci.c) 128 entries always suffice. */
#define AHCI_PRDT_ENTRIES 128

/* Command table (4.2.3): CFIS at 00h, ATAPI command at 40h, PRDT at 80h;
 * 128-byte aligned. */
struct ahci_cmd_table {
	union {
		struct fis_reg_h2d h2d;
		u8 raw[64];
	} cfis;
	u8 acmd[16];
	u8 rsvd[48];
	struct ahci_prd prdt[AHCI_PRDT_ENTRIES];
} __packed;
_Static_assert(offsetof(struct ahci_cmd_table, acmd) == 0x40, "ACMD at 40h");
_Static_assert(offsetof(struct ahci_cmd_table, prdt) == 0x80, "PRDT at 80h");
_Static_assert(sizeof(struct ahci_cmd_table) == 0x80 + 16 * AHCI_PRDT_ENTRIES, "command table size");
_Static_assert(AHCI_PRDT_ENTRIES <= 0xFFFF, "PRDTL is 16 bits");

/* ---- Native Command Queuing (ACS-3: READ/WRITE FPDMA QUEUED, IDENTIFY) -- */
#define ATA_CMD_READ_FPDMA_QUEUED 0x60  /* tag in count 7:3, sector count in features 15:0 */
#define ATA_CMD_WRITE_FPDMA_QUEUED 0x61
#define ATA_FPDMA_TAG_SHIFT 3
#define ATA_ID_QUEUE_DEPTH 75   /* 4:0: the most queued commands, minus one */
#define ATA_ID_QUEUE_DEPTH_MASK 0x1Fu
#define ATA_ID_SATA_CAP 76      /* 0000h or FFFFh: not reported; bit 8: NCQ supported */
#define ATA_ID_SATA_CAP_NCQ BIT(8)

extern const struct blk_driver ahci_driver;

#endif
