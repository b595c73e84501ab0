/* NVMe (NVM Express) definitions.
 *
 * Register offsets and bits follow the NVM Express Base Specification 1.4
 * (section given on each); the NVM command set's READ, WRITE and FLUSH are
 * in the NVM Command Set part of the same document (6.x of 1.4).  The
 * queue entries and IDENTIFY data the controller reads and writes by DMA
 * are packed structs checked with _Static_assert, little-endian like the
 * hardware.  Bit fields are spelled as masks, never as C bit-fields.
 *
 * The driver itself (drivers/nvme.c) takes the first NVMe controller,
 * serves one of its namespaces and polls: no interrupts. */
#ifndef FERRY_NVME_H
#define FERRY_NVME_H

#include "lib/types.h"
#include "platform/blk.h"

/* ---- PCI identity (1.4, 2.1.5) ----------------------------------------- */
#define NVME_PCI_CLASS 0x01    /* mass storage */
#define NVME_PCI_SUBCLASS 0x08 /* non-volatile memory controller */
#define NVME_PCI_PROGIF 0x02   /* NVM Express */
#define NVME_PCI_BAR 0         /* MLBAR/MUBAR: BAR0 (and BAR1), 64-bit memory */

/* ---- Controller registers (3.1) ---------------------------------------- */
#define NVME_CAP 0x00   /* 3.1.1 Controller Capabilities (64-bit) */
#define NVME_VS 0x08    /* 3.1.2 Version */
#define NVME_INTMS 0x0C /* 3.1.3 Interrupt Mask Set */
#define NVME_CC 0x14    /* 3.1.5 Controller Configuration */
#define NVME_CSTS 0x1C  /* 3.1.6 Controller Status */
#define NVME_AQA 0x24   /* 3.1.8 Admin Queue Attributes */
#define NVME_ASQ 0x28   /* 3.1.9 Admin Submission Queue Base (64-bit) */
#define NVME_ACQ 0x30   /* 3.1.10 Admin Completion Queue Base (64-bit) */
#define NVME_DB_BASE 0x1000 /* 3.1.24/25: SQ y tail at 1000h + (2y)(4 << DSTRD), CQ y head after it */
#define NVME_REGS_MIN 0x2000 /* registers plus the doorbells of two queue pairs at DSTRD 0 */

/* CAP (3.1.1) */
#define NVME_CAP_MQES_MASK 0xFFFFull    /* maximum queue entries supported, 0's based */
#define NVME_CAP_TO_SHIFT 24            /* worst-case RDY change time, 500 ms units */
#define NVME_CAP_TO_MASK 0xFFull
#define NVME_CAP_DSTRD_SHIFT 32         /* doorbell stride: 4 << DSTRD bytes */
#define NVME_CAP_DSTRD_MASK 0xFull
#define NVME_CAP_CSS_NVM ((u64)1 << 37)      /* NVM command set supported */
#define NVME_CAP_MPSMIN_SHIFT 48        /* minimum page size 2^(12 + MPSMIN) */
#define NVME_CAP_MPSMIN_MASK 0xFull
#define NVME_TO_UNIT_US (500 * 1000)

/* CC (3.1.5) */
#define NVME_CC_EN BIT32(0)
#define NVME_CC_CSS_NVM (0u << 4)       /* NVM command set */
#define NVME_CC_MPS_4K (0u << 7)        /* memory page size 2^(12 + 0) */
#define NVME_CC_AMS_RR (0u << 11)       /* round robin arbitration */
#define NVME_CC_SHN_MASK (3u << 14)
#define NVME_CC_SHN_NORMAL (1u << 14)
#define NVME_CC_IOSQES (6u << 16)       /* I/O SQ entry 2^6 = 64 bytes */
#define NVME_CC_IOCQES (4u << 20)       /* I/O CQ entry 2^4 = 16 bytes */

/* CSTS (3.1.6) */
#define NVME_CSTS_RDY BIT32(0)
#define NVME_CSTS_CFS BIT32(1)          /* controller fatal status */

#define NVME_PAGE 4096u

/* ---- Queue entries (4.2, 4.6) ------------------------------------------ */
struct nvme_sqe {
	u32 cdw0;      /* opcode 7:0, fused 9:8, PSDT 15:14 (0: PRPs), CID 31:16 */
	u32 nsid;
	u32 cdw2, cdw3;
	u64 mptr;
	u64 prp1, prp2;
	u32 cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
} __attribute__((packed));
_Static_assert(sizeof(struct nvme_sqe) == 64, "NVMe submission queue entry is 64 bytes");

struct nvme_cqe {
	u32 dw0;       /* command specific */
	u32 dw1;
	u16 sqhd;      /* SQ head pointer */
	u16 sqid;
	u16 cid;
	u16 status;    /* phase 0, SC 8:1, SCT 11:9, More 14, DNR 15 */
} __attribute__((packed));
_Static_assert(sizeof(struct nvme_cqe) == 16, "NVMe completion queue entry is 16 bytes");

#define NVME_CQE_PHASE 0x1u
#define NVME_CQE_SC(s) (((s) >> 1) & 0xFFu)
#define NVME_CQE_SCT(s) (((s) >> 9) & 0x7u)
#define NVME_SC_INVALID_NS 0x0B         /* generic (SCT 0): invalid namespace or format */
#define NVME_SC_NS_NOT_READY 0x82       /* generic (SCT 0): namespace not ready */

/* ---- Admin commands (5) ------------------------------------------------ */
#define NVME_ADM_DELETE_SQ 0x00
#define NVME_ADM_CREATE_SQ 0x01
#define NVME_ADM_DELETE_CQ 0x04
#define NVME_ADM_CREATE_CQ 0x05
#define NVME_ADM_IDENTIFY 0x06
#define NVME_ADM_SET_FEATURES 0x09
#define NVME_FEAT_NUM_QUEUES 0x07       /* 5.21.1.7 */
#define NVME_QUEUE_PHYS_CONTIG BIT32(0) /* CDW11 of Create I/O SQ/CQ */
#define NVME_CQ_PRIO_URGENT 0           /* SQ QPRIO 2:1 (only with WRR) */

/* IDENTIFY CNS values (5.15.1) */
#define NVME_CNS_NS 0x00
#define NVME_CNS_CTRL 0x01
#define NVME_CNS_NS_LIST 0x02           /* active namespace IDs, ascending */

/* Identify Controller (5.15.2.2), the fields ferry reads. */
#define NVME_IDC_SN 4                   /* serial number, 20 ASCII bytes */
#define NVME_IDC_MN 24                  /* model number, 40 ASCII bytes */
#define NVME_IDC_MDTS 77                /* max transfer 2^MDTS min pages, 0: no limit */
#define NVME_IDC_VWC 525                /* bit 0: volatile write cache present */
#define NVME_IDC_NN 516                 /* number of namespaces (u32) */

/* Identify Namespace (NVM set, 6.1.5 of 1.4 / Figure 245). */
#define NVME_IDN_NSZE 0                 /* size in logical blocks (u64) */
#define NVME_IDN_NLBAF 25               /* number of LBA formats, 0's based */
#define NVME_IDN_FLBAS 26               /* 3:0: the format in use */
#define NVME_IDN_NSATTR 99              /* bit 0: write protected */
#define NVME_IDN_LBAF 128               /* LBA format i at 128 + 4i: MS 15:0, LBADS 23:16 */
#define NVME_IDN_LBAF_MAX 16

/* ---- NVM commands (NVM command set) ------------------------------------ */
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ 0x02

extern const struct blk_driver nvme_driver;

#endif
