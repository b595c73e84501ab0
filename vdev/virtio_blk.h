/* ferry's virtio-blk: a modern (virtio 1.x) PCI block device, 1AF4:1042,
 * served by the same struct blk_dev back end as the logical device
 * (docs/virtio-blk.md).  The transport and the queue are in
 * vdev/virtio_blk.c, a request's execution in vdev/virtio_blk_req.c, the
 * PCI function in vdev/vpci.c, the ring in vdev/virtq.c. */
#ifndef FERRY_VIRTIO_BLK_H
#define FERRY_VIRTIO_BLK_H

#include "vm/vm.h"
#include "platform/blk.h"
#include "blk_req.h"
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
#define VBLK_INFLIGHT 64          /* requests in flight at once (with a back end that has submit) */

struct vblk_stats {
	u64 requests, errors, unsupported;
	u64 reads, writes, flushes;     /* requests by type (IN, OUT, FLUSH) */
	u64 bytes_read, bytes_written;
	u64 notifies, ignored_notifies; /* doorbell writes; those before DRIVER_OK or after NEEDS_RESET */
	u64 needs_reset;                /* times the device gave up on its queue */
	u64 interrupts;                 /* queue and configuration interrupts raised */
	u64 inflight_max;               /* the most requests in flight at once */
	u64 orphaned;                   /* requests that finished after a reset: not returned */
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

/* Takes the completions of requests in flight (the back end's poll) and
 * returns them to the driver, then takes more from the queue; one
 * interrupt for all.  Cheap when nothing is in flight: ferry calls it
 * after every exit.  Returns how many requests went back to the driver. */
unsigned vblk_poll(void);
/* Requests the back end holds for the driver now. */
unsigned vblk_inflight(void);

/* One request from its chain until the driver has it back. */
struct vblk_slot {
	struct blk_areq a;   /* a.done and a.ctx: the device's, set before vblk_start */
	gpa_t status_gpa;    /* where the status byte goes */
	u32 data_len;        /* bytes an IN or GET_ID request writes into the driver's buffers */
	u8 status;           /* VIRTIO_BLK_S_*, or VBLK_FROM_REQ: from a.status */
	u16 head;            /* the chain's head, for the used ring */
	u32 gen;             /* the device's reset generation it belongs to */
	bool busy, counted;
};
#define VBLK_FROM_REQ 0xFF

/* Starts the request chain c describes on dev (virtio_blk_req.c), the
 * data through the shared request path: 0, and s->a.done runs exactly
 * once (maybe before this returns); or -1 when the chain has no
 * device-writable status byte in guest RAM: nothing started, the device
 * cannot complete it. */
int vblk_start(const struct gmem *ram, struct blk_dev *dev, const struct virtq_chain *c, struct vblk_slot *s,
	       struct vblk_stats *stats);
/* A finished slot's status byte and the used length (bytes written into
 * the driver's buffers, the status byte included). */
u8 vblk_slot_status(const struct vblk_slot *s);
u32 vblk_slot_used_len(const struct vblk_slot *s);

#endif
