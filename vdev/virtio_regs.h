/* virtio 1.2 over PCI, device side: the register layouts ferry's
 * virtio-blk exposes (docs/virtio-blk.md).  Offsets and bits from the
 * virtio 1.2 specification, sections 4.1.4 (PCI capabilities), 4.1.4.3
 * (common configuration), 2.1 (device status), 6 (reserved feature bits)
 * and 5.2 (block device).  All registers are little-endian. */
#ifndef FERRY_VIRTIO_REGS_H
#define FERRY_VIRTIO_REGS_H

#include "lib/types.h"

#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_DEVICE_BLK 0x1042 /* 0x1040 + device ID 2 */
#define VIRTIO_PCI_REVISION 1        /* modern only */
#define VIRTIO_ID_BLOCK 2

/* struct virtio_pci_cap: vndr 0x09, next, len, cfg_type, bar, id, pad[2],
 * le32 offset, le32 length; NOTIFY adds le32 notify_off_multiplier, PCI_CFG
 * adds u8 pci_cfg_data[4]. */
#define VIRTIO_CAP_TYPE 3
#define VIRTIO_CAP_BAR 4
#define VIRTIO_CAP_OFFSET 8
#define VIRTIO_CAP_LENGTH 12
#define VIRTIO_CAP_NOTIFY_MULT 16
#define VIRTIO_CAP_PCI_CFG_DATA 16
#define VIRTIO_CAP_LEN 16
#define VIRTIO_CAP_NOTIFY_LEN 20
#define VIRTIO_CAP_PCI_CFG_LEN 20
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG 3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG 5

/* Common configuration (struct virtio_pci_common_cfg). */
#define VIRTIO_COMMON_DFSELECT 0x00      /* le32 rw: device_feature_select */
#define VIRTIO_COMMON_DF 0x04            /* le32 ro: device_feature */
#define VIRTIO_COMMON_GFSELECT 0x08      /* le32 rw: driver_feature_select */
#define VIRTIO_COMMON_GF 0x0C            /* le32 rw: driver_feature */
#define VIRTIO_COMMON_MSIX 0x10          /* le16 rw: config_msix_vector */
#define VIRTIO_COMMON_NUMQ 0x12          /* le16 ro: num_queues */
#define VIRTIO_COMMON_STATUS 0x14        /* u8 rw: device_status */
#define VIRTIO_COMMON_CFGGENERATION 0x15 /* u8 ro: config_generation */
#define VIRTIO_COMMON_Q_SELECT 0x16      /* le16 rw */
#define VIRTIO_COMMON_Q_SIZE 0x18        /* le16 rw */
#define VIRTIO_COMMON_Q_MSIX 0x1A        /* le16 rw */
#define VIRTIO_COMMON_Q_ENABLE 0x1C      /* le16 rw */
#define VIRTIO_COMMON_Q_NOFF 0x1E        /* le16 ro: queue_notify_off */
#define VIRTIO_COMMON_Q_DESC 0x20        /* le64 rw */
#define VIRTIO_COMMON_Q_DRIVER 0x28      /* le64 rw: the available ring */
#define VIRTIO_COMMON_Q_DEVICE 0x30      /* le64 rw: the used ring */
#define VIRTIO_COMMON_Q_NDATA 0x38       /* le16 ro: queue_notify_data */
#define VIRTIO_COMMON_Q_RESET 0x3A       /* le16 rw: queue_reset (RING_RESET, not offered) */
#define VIRTIO_COMMON_LEN 0x3C
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* Device status (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* ISR status (4.1.4.5): read clears. */
#define VIRTIO_ISR_QUEUE 0x1
#define VIRTIO_ISR_CONFIG 0x2

/* Feature bits. */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

/* struct virtio_blk_config (5.2.4). */
#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* le64: 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08 /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 0x0C  /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14 /* le32 */
#define VIRTIO_BLK_CFG_LEN 0x40      /* what ferry exposes; unoffered fields read 0 */

/* Requests (5.2.6): le32 type, le32 reserved, le64 sector; data; u8 status. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512        /* the unit of sector and capacity, whatever blk_size is */

struct virtio_blk_req_hdr {
	u32 type;
	u32 reserved;
	u64 sector;
} __packed;
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio-blk request header is 16 bytes");

#endif
