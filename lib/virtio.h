/* Virtio 1.2 (OASIS virtio-v1.2-cs01) as ferry's virtio-blk device
 * (vdev/) and its test guest's driver (guest/) both see it: the PCI
 * transport's registers (4.1.4), device status (2.1), feature bits (6),
 * split virtqueues (2.7) and the block device (5.2).  Little-endian, like
 * x86.  The names follow drivers/virtio_pci.h, ferry's own virtio driver
 * transport, which keeps its definitions for now. */
#ifndef FERRY_VIRTIO_H
#define FERRY_VIRTIO_H

#include "types.h"
#include "virtio_blk.h" /* the block device's own definitions (5.2) */

/* ---- PCI identity (4.1.2) ----------------------------------------------- */
#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_MODERN_ID_BASE 0x1040 /* device ID = 0x1040 + virtio device ID */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_PCI_DEVICE_BLK (VIRTIO_PCI_MODERN_ID_BASE + VIRTIO_ID_BLOCK)
#define VIRTIO_PCI_MODERN_REVISION 1   /* a revision of 1 or more: no legacy interface */

/* ---- Vendor capabilities (4.1.4): struct virtio_pci_cap ------------------ */
#define VIRTIO_CAP_LEN_OFF 2     /* u8 cap_len */
#define VIRTIO_CAP_TYPE 3        /* u8 cfg_type: VIRTIO_PCI_CAP_* */
#define VIRTIO_CAP_BAR 4         /* u8 bar */
#define VIRTIO_CAP_OFFSET 8      /* le32 offset within the BAR */
#define VIRTIO_CAP_LENGTH 12     /* le32 length */
#define VIRTIO_CAP_NOTIFY_MULT 16 /* le32 notify_off_multiplier (NOTIFY only) */
#define VIRTIO_CAP_PCI_CFG_DATA 16 /* u8 pci_cfg_data[4] (PCI_CFG only) */
#define VIRTIO_CAP_LEN 16
#define VIRTIO_CAP_NOTIFY_LEN 20
#define VIRTIO_CAP_PCI_CFG_LEN 20
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* ---- Common configuration (4.1.4.3) --------------------------------------- */
#define VIRTIO_COMMON_DFSELECT 0x00  /* le32 device_feature_select */
#define VIRTIO_COMMON_DF 0x04        /* le32 device_feature, ro */
#define VIRTIO_COMMON_GFSELECT 0x08  /* le32 driver_feature_select */
#define VIRTIO_COMMON_GF 0x0C        /* le32 driver_feature */
#define VIRTIO_COMMON_MSIX 0x10      /* le16 config_msix_vector */
#define VIRTIO_COMMON_NUMQ 0x12      /* le16 num_queues, ro */
#define VIRTIO_COMMON_STATUS 0x14    /* u8 device_status; 0 resets */
#define VIRTIO_COMMON_CFGGEN 0x15    /* u8 config_generation, ro */
#define VIRTIO_COMMON_Q_SELECT 0x16  /* le16 queue_select */
#define VIRTIO_COMMON_Q_SIZE 0x18    /* le16 queue_size: the maximum after reset */
#define VIRTIO_COMMON_Q_MSIX 0x1A    /* le16 queue_msix_vector */
#define VIRTIO_COMMON_Q_ENABLE 0x1C  /* le16 queue_enable: write 1 */
#define VIRTIO_COMMON_Q_NOFF 0x1E    /* le16 queue_notify_off, ro */
#define VIRTIO_COMMON_Q_DESCLO 0x20  /* le64 queue_desc */
#define VIRTIO_COMMON_Q_DESCHI 0x24
#define VIRTIO_COMMON_Q_AVAILLO 0x28 /* le64 queue_driver: the available ring */
#define VIRTIO_COMMON_Q_AVAILHI 0x2C
#define VIRTIO_COMMON_Q_USEDLO 0x30  /* le64 queue_device: the used ring */
#define VIRTIO_COMMON_Q_USEDHI 0x34
#define VIRTIO_COMMON_LEN 0x38       /* the virtio 1.0 fields: all Linux 6.1 needs */
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* ---- Device status (2.1) ------------------------------------------------------ */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40 /* set by the device: it gave up */
#define VIRTIO_STATUS_FAILED 0x80

/* ISR status (4.1.4.5): reading returns and clears it. */
#define VIRTIO_ISR_QUEUE 0x1
#define VIRTIO_ISR_CONFIG 0x2

/* ---- Feature bits (6, 5.2.3) ------------------------------------------------- */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define VIRTIO_F_RING_RESET 40

/* ---- Split virtqueues (2.7) ----------------------------------------------------- */
struct virtq_desc {
	u64 addr;
	u32 len;
	u16 flags; /* VIRTQ_DESC_F_* */
	u16 next;
} __packed;
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2    /* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT 4 /* the buffer is a table of descriptors */

/* Available ring: le16 flags, le16 idx, le16 ring[size], le16 used_event. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_AVAIL_BYTES(n) (6 + 2 * (u64)(n))
/* Used ring: le16 flags, le16 idx, ring[size] of these, le16 avail_event. */
#define VIRTQ_USED_F_NO_NOTIFY 1 /* the device asks for no notifications (a hint) */
struct virtq_used_elem {
	u32 id;  /* the chain's head */
	u32 len; /* bytes the device wrote into it */
} __packed;
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element is 8 bytes");
#define VIRTQ_USED_BYTES(n) (6 + 8 * (u64)(n))
#define VIRTQ_DESC_ALIGN 16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN 4

#endif
