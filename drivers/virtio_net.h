/* Virtio network device definitions (Virtio 1.2, 5.1).
 *
 * ferry's driver (drivers/virtio_net.c) takes a modern virtio-net PCI
 * function (1AF4:1041, or a transitional 1AF4:1000 with the modern
 * interface) through drivers/virtio_pci.c and uses one receive and one
 * transmit queue.  It negotiates no offloads: no checksum offload, no GSO.
 * With the device's MTU and mergeable receive buffers a frame of up to
 * NIC_JUMBO_FRAME bytes spans several 2 KiB buffers either way. */
#ifndef FERRY_VIRTIO_NET_H
#define FERRY_VIRTIO_NET_H

#include "lib/types.h"
#include "platform/nic.h"

/* ---- Virtqueues (5.1.2) ------------------------------------------------ */
#define VIRTIO_NET_RXQ 0 /* receiveq1 */
#define VIRTIO_NET_TXQ 1 /* transmitq1 */

/* ---- Feature bits (5.1.3) ---------------------------------------------- */
#define VIRTIO_NET_F_CSUM 0       /* device takes partially checksummed frames */
#define VIRTIO_NET_F_GUEST_CSUM 1 /* driver takes partially checksummed frames */
#define VIRTIO_NET_F_MTU 3        /* device reports its maximum MTU */
#define VIRTIO_NET_F_MAC 5        /* device has a MAC address in its config */
#define VIRTIO_NET_F_GSO 6        /* (legacy) any GSO type */
#define VIRTIO_NET_F_MRG_RXBUF 15 /* driver can merge receive buffers */
#define VIRTIO_NET_F_STATUS 16    /* config status field is valid */
#define VIRTIO_NET_F_CTRL_VQ 17   /* control virtqueue */
#define VIRTIO_NET_F_MQ 22        /* several queue pairs */

/* ---- Device configuration layout (5.1.4) -------------------------------
 * Offsets within the device-specific configuration structure; each field
 * is read with an access of its own width (4.1.3.1). */
#define VIRTIO_NET_CFG_MAC 0x00        /* u8 mac[6], with VIRTIO_NET_F_MAC */
#define VIRTIO_NET_CFG_STATUS 0x06     /* le16 status, with VIRTIO_NET_F_STATUS */
#define VIRTIO_NET_CFG_MAX_PAIRS 0x08  /* le16 max_virtqueue_pairs, with MQ */
#define VIRTIO_NET_CFG_MTU 0x0A        /* le16 mtu, with VIRTIO_NET_F_MTU */

/* status */
#define VIRTIO_NET_S_LINK_UP BIT(0)
#define VIRTIO_NET_S_ANNOUNCE BIT(1)

/* ---- Frame header (5.1.6) ---------------------------------------------
 * Precedes every frame in both directions.  With VIRTIO_F_VERSION_1 it
 * always has num_buffers: 12 bytes.  Without offloads the driver sends all
 * zeros (flags 0, gso_type VIRTIO_NET_HDR_GSO_NONE; num_buffers is unused
 * on transmit, 5.1.6.2) and the device writes num_buffers = 1 (5.1.6.3.2). */
struct virtio_net_hdr {
	u8 flags;         /* 00h VIRTIO_NET_HDR_F_* */
	u8 gso_type;      /* 01h VIRTIO_NET_HDR_GSO_* */
	u16 hdr_len;      /* 02h */
	u16 gso_size;     /* 04h */
	u16 csum_start;   /* 06h */
	u16 csum_offset;  /* 08h */
	u16 num_buffers;  /* 0Ah buffers holding the received frame */
} __packed;
_Static_assert(sizeof(struct virtio_net_hdr) == 12, "virtio_net_hdr is 12 bytes with VERSION_1");
_Static_assert(offsetof(struct virtio_net_hdr, num_buffers) == 10, "num_buffers at 0Ah");
#define VIRTIO_NET_HDR_F_NEEDS_CSUM BIT(0)
#define VIRTIO_NET_HDR_F_DATA_VALID BIT(1)
#define VIRTIO_NET_HDR_GSO_NONE 0

/* 5.1.6.3.1: without MRG_RXBUF and guest GSO a receive buffer needs at
 * least 12 + 1514 bytes. */
#define VIRTIO_NET_MIN_RX_BUF (sizeof(struct virtio_net_hdr) + NIC_MAX_FRAME)

extern const struct nic_driver virtio_net_driver; /* "virtio-net" */

#endif
