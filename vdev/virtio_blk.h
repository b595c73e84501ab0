/* ferry's virtio-blk: a modern (virtio 1.x) PCI block device, 1AF4:1042,
 * served by the same struct blk_dev back end as the logical device
 * (docs/virtio-blk.md).  The transport and the queue are in
 * vdev/virtio_blk.c, a request's execution in vdev/virtio_blk_req.c, the
 * PCI function in vdev/vpci.c, the ring in vdev/virtq.c. */
#ifndef FERRY_VIRTIO_BLK_H
#define FERRY_VIRTIO_BLK_H

#include "vm/vm.h"
#include "platform/blk.h"
#include "virtq.h"

#define VBLK_SEG_MAX BLK_MAX_SEGS   /* data segments per request (seg_max) */
#define VBLK_MSIX_VECTORS 2         /* configuration + queue 0 */
#define VBLK_BAR0_SIZE 0x4000       /* common, ISR, device, notify: a page each */
#define VBLK_BAR2_SIZE 0x1000       /* MSI-X table and PBA */
#define VBLK_BAR0_COMMON 0x0000
#define VBLK_BAR0_ISR 0x1000
#define VBLK_BAR0_DEVICE 0x2000
#define VBLK_BAR0_NOTIFY 0x3000
#define VBLK_NOTIFY_MULT 4          /* notify_off_multiplier; queue 0's notify_off is 0 */
#define VBLK_MSIX_TABLE 0x000
#define VBLK_MSIX_PBA 0x800
#define VBLK_DEVCFG_LEN 0x40      /* device configuration exposed; unoffered fields read 0 */

struct vblk_stats {
	u64 requests, errors, unsupported;
	u64 reads, writes, flushes;     /* requests by type (IN, OUT, FLUSH) */
	u64 bytes_read, bytes_written;
	u64 notifies, ignored_notifies; /* doorbell writes; those before DRIVER_OK or after NEEDS_RESET */
	u64 needs_reset;                /* times the device gave up on its queue */
	u64 interrupts;                 /* queue and configuration interrupts raised */
};

/* Where the device sits and how it interrupts. */
struct vblk_cfg {
	u8 slot;                       /* device number on bus 0 */
	gpa_t bar0, bar2;              /* where "firmware" put the BARs */
	int (*send_msi)(u64 addr, u32 data); /* lapic_deliver_msi */
};

/* Builds the device on dev (not NULL) and makes its PCI function visible.
 * 0, or a negative code (slot taken, BARs overlapping another region). */
int vblk_attach(struct vm *vm, struct blk_dev *dev, const struct vblk_cfg *cfg);
const struct vblk_stats *vblk_get_stats(void);

/* Runs one request chain on dev (virtio_blk_req.c): returns the status it
 * wrote (VIRTIO_BLK_S_*) and in *used_len the bytes written into the
 * driver's buffers, or -1 when the chain has no device-writable status
 * byte in guest RAM: the device cannot complete it. */
int vblk_request(const struct gmem *ram, struct blk_dev *dev, const struct virtq_chain *c, u32 *used_len,
		 struct vblk_stats *stats);

#endif
