/* Virtio over PCI, modern interface only (virtio 1.x), and split
 * virtqueues: the transport shared by ferry's virtio drivers.
 *
 * Section numbers are those of the Virtio 1.2 specification (OASIS,
 * virtio-v1.2-cs01).  A device is found through vendor-specific PCI
 * capabilities that place its register blocks (common configuration,
 * notifications, ISR status, device configuration) inside its BARs
 * (4.1.4).  Everything here is little-endian, like x86, so no swapping.
 * Structures the device reads and writes by DMA are packed structs checked
 * with _Static_assert; bit fields are masks, never C bit-fields.
 *
 * A driver (drivers/virtio_net.c, drivers/vioblk.c) does:
 *   virtio_pci_open()      find the structures, claim the function, reset
 *   virtio_negotiate()     ACKNOWLEDGE, DRIVER, features, FEATURES_OK
 *   virtio_queue_setup()   for each virtqueue it uses
 *   virtio_driver_ok()     DRIVER_OK: the device is live
 * and virtio_pci_close() to give the function back after a failure.
 * Legacy (virtio 0.9) devices and packed virtqueues are not supported. */
#ifndef FERRY_VIRTIO_PCI_H
#define FERRY_VIRTIO_PCI_H

#include "lib/types.h"

struct pci_dev;

/* ---- PCI identity (4.1.2) ---------------------------------------------- */
#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_MODERN_ID_BASE 0x1040 /* device ID = 0x1040 + virtio device ID */
#define VIRTIO_PCI_TRANS_ID_NET 0x1000   /* transitional IDs (4.1.2.3); their */
#define VIRTIO_PCI_TRANS_ID_BLOCK 0x1001 /* subsystem ID is the virtio device ID */

/* Virtio device IDs (5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

/* ---- Vendor capabilities (4.1.4) --------------------------------------- */

struct virtio_pci_cap {
	u8 cap_vndr;   /* 00h PCI_CAP_ID_VNDR */
	u8 cap_next;   /* 01h next capability, 0 at the end */
	u8 cap_len;    /* 02h length of this capability, extra data included */
	u8 cfg_type;   /* 03h VIRTIO_PCI_CAP_* */
	u8 bar;        /* 04h BAR 0-5 holding the structure; others reserved */
	u8 id;         /* 05h tells apart several capabilities of one type */
	u8 padding[2];
	u32 offset;    /* 08h start of the structure within the BAR */
	u32 length;    /* 0Ch its length in bytes */
} __packed;
_Static_assert(sizeof(struct virtio_pci_cap) == 16, "virtio_pci_cap is 16 bytes");
_Static_assert(offsetof(struct virtio_pci_cap, offset) == 8, "cap.offset at 08h");
_Static_assert(offsetof(struct virtio_pci_cap, length) == 12, "cap.length at 0Ch");

/* The notification capability appends one field (4.1.4.4). */
struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	u32 notify_off_multiplier; /* 10h bytes between queue notify addresses, or 0 */
} __packed;
_Static_assert(offsetof(struct virtio_pci_notify_cap, notify_off_multiplier) == 16, "multiplier at 10h");

#define VIRTIO_PCI_CAP_COMMON_CFG 1 /* 4.1.4.3 common configuration */
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2 /* 4.1.4.4 notifications */
#define VIRTIO_PCI_CAP_ISR_CFG 3    /* 4.1.4.5 ISR status */
#define VIRTIO_PCI_CAP_DEVICE_CFG 4 /* 4.1.4.6 device-specific configuration */
#define VIRTIO_PCI_CAP_PCI_CFG 5    /* 4.1.4.8 access through config space (unused) */

/* ---- Common configuration structure (4.1.4.3) -------------------------- */
#define VIRTIO_COMMON_DFSELECT 0x00   /* le32 device_feature_select - RW */
#define VIRTIO_COMMON_DF 0x04         /* le32 device_feature - RO */
#define VIRTIO_COMMON_GFSELECT 0x08   /* le32 driver_feature_select - RW */
#define VIRTIO_COMMON_GF 0x0C         /* le32 driver_feature - RW */
#define VIRTIO_COMMON_MSIX 0x10       /* le16 config_msix_vector - RW */
#define VIRTIO_COMMON_NUMQ 0x12       /* le16 num_queues - RO */
#define VIRTIO_COMMON_STATUS 0x14     /* u8 device_status - RW, 0 resets */
#define VIRTIO_COMMON_CFGGEN 0x15     /* u8 config_generation - RO */
#define VIRTIO_COMMON_Q_SELECT 0x16   /* le16 queue_select - RW */
#define VIRTIO_COMMON_Q_SIZE 0x18     /* le16 queue_size - RW, max on reset */
#define VIRTIO_COMMON_Q_MSIX 0x1A     /* le16 queue_msix_vector - RW */
#define VIRTIO_COMMON_Q_ENABLE 0x1C   /* le16 queue_enable - RW, write 1 only */
#define VIRTIO_COMMON_Q_NOFF 0x1E     /* le16 queue_notify_off - RO */
#define VIRTIO_COMMON_Q_DESCLO 0x20   /* le64 queue_desc: descriptor table */
#define VIRTIO_COMMON_Q_DESCHI 0x24
#define VIRTIO_COMMON_Q_AVAILLO 0x28  /* le64 queue_driver: available ring */
#define VIRTIO_COMMON_Q_AVAILHI 0x2C
#define VIRTIO_COMMON_Q_USEDLO 0x30   /* le64 queue_device: used ring */
#define VIRTIO_COMMON_Q_USEDHI 0x34
#define VIRTIO_COMMON_LEN 0x38        /* the fields above (virtio 1.0) */

/* device_status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE BIT(0) /* the guest found the device */
#define VIRTIO_STATUS_DRIVER BIT(1)      /* ... and knows how to drive it */
#define VIRTIO_STATUS_DRIVER_OK BIT(2)   /* the driver is ready */
#define VIRTIO_STATUS_FEATURES_OK BIT(3) /* feature negotiation is complete */
#define VIRTIO_STATUS_NEEDS_RESET BIT(6) /* the device hit an error */
#define VIRTIO_STATUS_FAILED BIT(7)      /* the driver gave up */

/* Device-independent feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32       /* compliant with virtio 1.x: required here */
#define VIRTIO_F_ACCESS_PLATFORM 33 /* DMA goes through the platform's translation */
#define VIRTIO_F_RING_PACKED 34
#define VIRTIO_F_ORDER_PLATFORM 36  /* the driver must use hardware barriers */
#define VIRTIO_F_NOTIFICATION_DATA 38

/* ISR status (4.1.4.5): reading it returns and clears it, and deasserts
 * INTx. */
#define VIRTIO_ISR_QUEUE BIT(0)  /* a used buffer notification */
#define VIRTIO_ISR_CONFIG BIT(1) /* the device configuration changed */

/* ---- Split virtqueues (2.7) -------------------------------------------- */
#define VIRTQ_MAX_SIZE 32768 /* 2.6: queue sizes are powers of 2 up to 32768 */

/* Descriptor table entry (2.7.5), 16-byte aligned table. */
struct virtq_desc {
	u64 addr;  /* 00h guest-physical (here: host-physical) buffer address */
	u32 len;   /* 08h buffer length */
	u16 flags; /* 0Ch VIRTQ_DESC_F_* */
	u16 next;  /* 0Eh next descriptor of a chain, with F_NEXT */
} __packed;
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc is 16 bytes");
#define VIRTQ_DESC_F_NEXT BIT(0)     /* the chain continues in next */
#define VIRTQ_DESC_F_WRITE BIT(1)    /* device-writable (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT BIT(2) /* a table of descriptors (not used) */

/* Available ring (2.7.6), 2-byte aligned: flags, idx, ring[size], then
 * used_event (only with VIRTIO_F_EVENT_IDX). */
struct virtq_avail {
	u16 flags;  /* 00h VIRTQ_AVAIL_F_* */
	u16 idx;    /* 02h where the driver puts the next entry, modulo 2^16 */
	u16 ring[]; /* 04h descriptor chain heads */
} __packed;
_Static_assert(offsetof(struct virtq_avail, ring) == 4, "avail ring at 04h");
#define VIRTQ_AVAIL_F_NO_INTERRUPT BIT(0) /* 2.7.7: no used buffer notifications, please */

/* Used ring (2.7.8), 4-byte aligned: flags, idx, ring[size], then
 * avail_event (only with VIRTIO_F_EVENT_IDX). */
struct virtq_used_elem {
	u32 id;  /* head of the descriptor chain the device is done with */
	u32 len; /* bytes the device wrote into it */
} __packed;
_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element is 8 bytes");

struct virtq_used {
	u16 flags; /* 00h VIRTQ_USED_F_* */
	u16 idx;   /* 02h where the device puts the next entry, modulo 2^16 */
	struct virtq_used_elem ring[]; /* 04h */
} __packed;
_Static_assert(offsetof(struct virtq_used, ring) == 4, "used ring at 04h");
#define VIRTQ_USED_F_NO_NOTIFY BIT(0) /* 2.7.10: no available buffer notifications needed */

/* One split virtqueue as the driver keeps it.  avail_idx and used_idx run
 * freely and wrap at 2^16 like the rings' idx fields; an entry's slot is
 * idx & (size - 1). */
struct virtq {
	u16 index;                /* queue number (queue_select) */
	u16 size;                 /* entries, a power of 2 */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	volatile u16 *notify;     /* this queue's notification address (4.1.4.4) */
	u16 avail_idx;            /* next available entry the driver fills */
	u16 used_idx;             /* next used entry the driver consumes */
	void *mem;                /* the rings, from page_alloc */
	size_t pages;
};

/* A virtio PCI function and its mapped structures. */
struct virtio_dev {
	struct pci_dev *pci;
	const char *name;         /* the driver's name, for logs and pci_claim */
	volatile u8 *common;      /* common configuration */
	volatile u8 *isr;         /* ISR status (one byte) */
	volatile u8 *device;      /* device-specific configuration, or NULL */
	volatile u8 *notify;      /* notification area */
	u32 device_len, notify_len;
	u32 notify_mult;          /* notify_off_multiplier */
	u16 num_queues;
	u64 features;             /* negotiated */
	bool msix;                /* interrupts go by MSI-X (virtio_msix_route) */
};

/* Full barrier: a store (avail->idx) must be visible before a later load
 * (used->flags) on x86, which sfence/lfence do not order (2.7.13.4). */

static inline bool virtio_has(const struct virtio_dev *vd, unsigned feature)
{
	return (vd->features >> feature) & 1;
}

/* Finds the structures of pd, claims it for ferry under name, maps the
 * structures and resets the device.  0, -E_NOTSUP for a function without
 * the modern interface (not claimed), -E_NOMEM (given back to the guest),
 * -E_TIMEDOUT when the reset does not complete (it stays claimed, see
 * virtio_pci_close). */
int virtio_pci_open(struct pci_dev *pd, const char *name, struct virtio_dev *vd);
/* Marks the device FAILED, resets it and gives the function back to the
 * guest: 0.  When the reset does not complete the function stays claimed
 * (pci_quarantine) and -E_TIMEDOUT says the device may still reach its
 * rings: the caller must not free them. */
int virtio_pci_close(struct virtio_dev *vd);
/* Marks the device FAILED and resets it, so that it lets go of its queues
 * (2.1.2) before the driver hands their buffers back; the function stays
 * ferry's.  When the reset does not complete, bus mastering goes off
 * (pci_quarantine) and -E_TIMEDOUT says so. */
int virtio_pci_stop(struct virtio_dev *vd);

/* Device initialization (3.1.1) up to FEATURES_OK: offers the device's
 * features masked by want; fails with -E_NOTSUP when a feature in need is
 * missing or the device refuses the set.  The result is in vd->features. */
int virtio_negotiate(struct virtio_dev *vd, u64 want, u64 need);
/* Sets up virtqueue index with at most max_size entries (4.1.5.1.3); its
 * rings are zeroed and it is enabled.  Before virtio_driver_ok() only. */
int virtio_queue_setup(struct virtio_dev *vd, u16 index, u16 max_size, struct virtq *q);
void virtio_queue_free(struct virtq *q);
void virtio_driver_ok(struct virtio_dev *vd);
u8 virtio_status(const struct virtio_dev *vd);

/* Device configuration space (2.5, 4.1.4.6): accesses of the field's
 * width; a multi-field read loops on virtio_config_generation() for a
 * consistent snapshot.  Offsets beyond the structure read as 0. */
u8 virtio_config_generation(const struct virtio_dev *vd);
u8 virtio_cfg_rd8(const struct virtio_dev *vd, u32 off);
u16 virtio_cfg_rd16(const struct virtio_dev *vd, u32 off);
u32 virtio_cfg_rd32(const struct virtio_dev *vd, u32 off);
u64 virtio_cfg_rd64(const struct virtio_dev *vd, u32 off); /* two halves, one generation */

/* Interrupts: legacy INTx through PCI_COMMAND.INTX_DISABLE, acknowledged by
 * reading the ISR status (4.1.5.5), which returns VIRTIO_ISR_* bits. */
void virtio_intx_enable(struct virtio_dev *vd, bool on);
u8 virtio_isr_read(struct virtio_dev *vd);
/* Or by MSI-X (4.1.4.3, 4.1.5.1.2): enables the function's MSI-X with
 * entry 0 aimed at vector on this CPU (platform/pci_msi.h), gives entry 0
 * to queue q alone (the configuration and every other queue get
 * NO_VECTOR), and INTx stays off for good.  0; -E_NOTSUP without MSI-X;
 * -E_IO when the device refuses the entry (reads back NO_VECTOR). */
int virtio_msix_route(struct virtio_dev *vd, u8 vector, const struct virtq *q);

/* ---- Virtqueue operation (2.7.13, 2.7.14) ------------------------------ */

/* Makes descriptor chain head available (not yet visible to the device). */
static inline void virtq_add(struct virtq *q, u16 head)
{
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
}
/* Publishes what virtq_add added and notifies the device unless it said it
 * needs no notification (VIRTQ_USED_F_NO_NOTIFY). */
void virtq_kick(struct virtq *q);
/* Takes the next used element: true with *id and *len, false when none. */
bool virtq_get_used(struct virtq *q, u32 *id, u32 *len);
/* Used elements the device has returned and the driver not yet taken. */
u16 virtq_used_pending(const struct virtq *q);
/* Reads the used element `ahead` places after the next one without taking
 * it: false when the device has not returned that many. */
bool virtq_peek_used(const struct virtq *q, u16 ahead, u32 *id, u32 *len);
/* Asks the device for used buffer notifications on q, or not (2.7.7). */
void virtq_interrupts(struct virtq *q, bool on);

#endif
