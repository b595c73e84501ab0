/* virtio-blk (Virtio 1.2, 5.2) as a disk ferry owns: the device-specific
 * definitions its driver (drivers/vioblk.c) needs on top of the shared
 * transport (drivers/virtio_pci.h).  The same values are in lib/virtio.h,
 * the guest ABI of the virtio-blk device ferry itself presents; that
 * header cannot be included beside virtio_pci.h (both define the ring
 * structures), hence the VIOBLK_ names. */
#ifndef FERRY_VIOBLK_H
#define FERRY_VIOBLK_H

#include "lib/types.h"
#include "platform/blk.h"

/* Feature bits (5.2.3). */
#define VIOBLK_F_SIZE_MAX 1  /* size_max: largest segment */
#define VIOBLK_F_SEG_MAX 2   /* seg_max: most data segments per request */
#define VIOBLK_F_RO 5        /* the device is read-only */
#define VIOBLK_F_BLK_SIZE 6  /* blk_size: the logical block size */
#define VIOBLK_F_FLUSH 9     /* VIRTIO_BLK_T_FLUSH is supported */

/* struct virtio_blk_config (5.2.4) */
#define VIOBLK_CFG_CAPACITY 0x00 /* le64, in 512-byte sectors */
#define VIOBLK_CFG_SIZE_MAX 0x08 /* le32 */
#define VIOBLK_CFG_SEG_MAX 0x0C  /* le32 */
#define VIOBLK_CFG_BLK_SIZE 0x14 /* le32 */

/* A request (5.2.6): this header (device-readable), data, one status
 * byte (device-writable). */
struct vioblk_req_hdr {
	u32 type;
	u32 reserved;
	u64 sector; /* in 512-byte units, whatever blk_size is */
} __packed;
_Static_assert(sizeof(struct vioblk_req_hdr) == 16, "virtio-blk request header is 16 bytes");

#define VIOBLK_T_IN 0
#define VIOBLK_T_OUT 1
#define VIOBLK_T_FLUSH 4
#define VIOBLK_T_GET_ID 8
#define VIOBLK_S_OK 0
#define VIOBLK_S_IOERR 1
#define VIOBLK_S_UNSUPP 2
#define VIOBLK_ID_BYTES 20
#define VIOBLK_SECTOR 512

extern const struct blk_driver vioblk_driver;

#endif
