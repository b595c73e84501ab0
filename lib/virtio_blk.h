/* Virtio 1.2 (OASIS virtio-v1.2-cs01), 5.2: the block device's own
 * definitions, apart from the transport and rings, so that both ferry's
 * virtio-blk device (vdev/, through lib/virtio.h) and its driver for a
 * virtio-blk disk it owns (drivers/vioblk.c, over drivers/virtio_pci.h)
 * use one copy. */
#ifndef FERRY_LIB_VIRTIO_BLK_H
#define FERRY_LIB_VIRTIO_BLK_H

#include "types.h"

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9

/* ---- The block device (5.2) --------------------------------------------------------- */
/* struct virtio_blk_config */
#define VIRTIO_BLK_CFG_CAPACITY 0x00 /* le64, in 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 0x08 /* le32 */
#define VIRTIO_BLK_CFG_SEG_MAX 0x0C  /* le32 */
#define VIRTIO_BLK_CFG_BLK_SIZE 0x14 /* le32 */

/* A request: this header (device-readable), data, one status byte
 * (device-writable). */
struct virtio_blk_req_hdr {
	u32 type;
	u32 reserved;
	u64 sector; /* in 512-byte units, whatever blk_size is */
} __packed;
_Static_assert(sizeof(struct virtio_blk_req_hdr) == 16, "virtio-blk request header is 16 bytes");
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SECTOR 512

#endif
