/* The NIC interface: what the wire protocol (net/) uses and all it knows of
 * a network card.  One driver per file implements it (drivers/e1000.c,
 * drivers/virtio_net.c).
 *
 * Frames are whole Ethernet frames without the FCS (destination MAC, source
 * MAC, EtherType, payload), at most nic->max_frame bytes: NIC_MAX_FRAME
 * (a 1500-byte MTU) on every NIC, up to NIC_JUMBO_FRAME (9000) on a NIC and
 * link that carry jumbo frames.  Whether the *peer* takes them is for the
 * protocol to learn (docs/protocol.md); the driver pads
 * short frames to the 60-byte minimum.  Descriptor rings and buffers live
 * in ferry's pool (page_alloc); the driver copies frames in and out, so
 * callers may reuse their buffers as soon as a call returns.  Everything is
 * polled; nic_ops.irq_* exist for the server role, which takes the NIC's
 * interrupt to notice frames while its guest runs. */
#ifndef FERRY_NIC_H
#define FERRY_NIC_H

#include "lib/types.h"

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_MIN_FRAME 60    /* without FCS */
#define ETH_MTU 1500
#define ETH_JUMBO_MTU 9000
#define NIC_MAX_FRAME (ETH_HLEN + ETH_MTU)         /* 1514: every NIC */
#define NIC_JUMBO_FRAME (ETH_HLEN + ETH_JUMBO_MTU) /* 9014: the most any driver is asked to carry */

struct nic;

struct nic_ops {
	/* Queues one frame for sending.  0, -E_NOSPC when the TX ring is full
	 * (the caller may poll and retry), -E_INVAL for a bad length, -E_IO. */
	int (*send)(struct nic *nic, const void *frame, size_t len);
	/* Takes one received frame if there is one: 0 and *len, or -E_NOENT.
	 * Frames longer than cap are dropped and counted, never truncated. */
	int (*recv)(struct nic *nic, void *buf, size_t cap, size_t *len);
	bool (*link_up)(struct nic *nic);
	/* Interrupts: enable/disable the device's receive interrupt and
	 * acknowledge it.  Legacy INTx line in nic->irq_line (or 0xFF). */
	void (*irq_enable)(struct nic *nic, bool on);
	void (*irq_ack)(struct nic *nic);
	/* Sends the receive interrupt as a message to vector on this CPU
	 * instead (platform/pci_msi.h); irq_enable and irq_ack then act on
	 * it.  0, or -E_NOTSUP when the device has no way to (then it stays
	 * masked).  NULL: the driver has none. */
	int (*irq_msi)(struct nic *nic, u8 vector);
};

struct nic_stats {
	u64 tx_frames, rx_frames, tx_bytes, rx_bytes;
	u64 rx_dropped;  /* too long, errors, ring overrun */
	u64 tx_full;     /* send found the ring full */
	u64 rx_irqs;     /* receive interrupts taken (the server role's wake-ups) */
};

struct nic {
	const char *name;    /* "e1000", "virtio-net" */
	u8 mac[ETH_ALEN];
	u8 irq_line;
	/* The longest frame send takes and recv delivers, NIC_MAX_FRAME to
	 * NIC_JUMBO_FRAME: what the device (and, for virtio-net, the host's
	 * link) can carry. */
	u32 max_frame;
	const struct nic_ops *ops;
	struct nic_stats stats;
	void *priv;
};

/* A NIC driver: probes for the idx-th device it can drive (0, 1, ...).
 * 0 and *out; -E_NOENT when there is none; other codes when a device is
 * present but failed to come up. */
struct nic_driver {
	const char *name;
	int (*probe)(unsigned idx, struct nic **out);
};

#endif
