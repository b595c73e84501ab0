/* virtio-net driver (Virtio 1.2, 5.1) behind ferry's NIC interface
 * (platform/nic.h), on the modern PCI transport of drivers/virtio_pci.c.
 *
 * One receive queue and one transmit queue of up to 256 entries.  Each
 * descriptor owns one 2 KiB buffer for good: a receive buffer is posted
 * whole (device-writable) and reposted as soon as its frame is copied out;
 * transmit buffers take the 12-byte header and the frame, chained when
 * the frame is longer than one buffer, and go back to a free stack when
 * the device returns the chain.  Jumbo frames need two features: the
 * device's MTU (VIRTIO_NET_F_MTU) says how long a frame the host's link
 * takes, and mergeable receive buffers (VIRTIO_NET_F_MRG_RXBUF) let a
 * received frame span buffers; without both, frames stay at 1514 bytes.
 * No offloads are negotiated, so headers are all zeros on transmit, and on
 * receive only num_buffers is read.  Everything
 * is polled; interrupts stay suppressed (VIRTQ_AVAIL_F_NO_INTERRUPT and
 * PCI INTx disabled) until the NIC user asks for them. */
#include "virtio_net.h"
#include "virtio_pci.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/io.h"

#define VNET_NAME "virtio-net"       /* ferry's nic=virtio picks this name */
#define VNET_QUEUE_SIZE 256          /* entries per queue, at most */
#define VNET_BUF_SIZE 2048           /* one buffer per descriptor */
#define VNET_HDR_LEN sizeof(struct virtio_net_hdr)
#define VNET_CFG_RETRIES 16          /* config_generation changes tolerated */
/* Buffers one frame may take: header and a jumbo frame in 2 KiB pieces. */
#define VNET_FRAME_BUFS ((VNET_HDR_LEN + NIC_JUMBO_FRAME + VNET_BUF_SIZE - 1) / VNET_BUF_SIZE)

_Static_assert(VNET_BUF_SIZE > VIRTIO_NET_MIN_RX_BUF, "a receive buffer holds a whole frame and more");
_Static_assert(PAGE_SIZE % VNET_BUF_SIZE == 0, "buffers never straddle a page");

struct vnet {
	struct nic nic;
	struct virtio_dev vd;
	struct virtq rxq, txq;
	u8 *rx_bufs, *tx_bufs;       /* buffer i belongs to descriptor i */
	size_t rx_pages, tx_pages;
	bool has_status;             /* VIRTIO_NET_F_STATUS negotiated */
	bool mrg_rxbuf;              /* VIRTIO_NET_F_MRG_RXBUF negotiated */
	bool warned_bad_id;
	u16 tx_nfree;
	u16 tx_free[VNET_QUEUE_SIZE];  /* idle transmit descriptors (a stack) */
	bool tx_busy[VNET_QUEUE_SIZE]; /* heads of chains handed to the device */
	u8 tx_chain[VNET_QUEUE_SIZE];  /* descriptors in the chain at this head */
	u16 tx_next[VNET_QUEUE_SIZE];  /* our own copy of each descriptor's next */
};
#define VNET_STATE_PAGES (ALIGN_UP(sizeof(struct vnet), PAGE_SIZE) / PAGE_SIZE)

static u8 *vnet_rx_buf(struct vnet *v, u32 id) { return v->rx_bufs + (size_t)id * VNET_BUF_SIZE; }
static u8 *vnet_tx_buf(struct vnet *v, u32 id) { return v->tx_bufs + (size_t)id * VNET_BUF_SIZE; }

/* A used element naming a descriptor the device does not hold: a device
 * bug.  The element is skipped; said once. */
static void vnet_bad_id(struct vnet *v, const char *queue, u32 id)
{
	if (!v->warned_bad_id)
		log_err("virtio-net: the device returned %s descriptor %u, which it does not hold; ignored", queue, id);
	v->warned_bad_id = true;
}

/* Receive buffers (5.1.6.3): the whole buffer, device-writable. */
static void vnet_rx_post(struct vnet *v, u16 id)
{
	struct virtq_desc *d = &v->rxq.desc[id];
	d->addr = virt_to_phys(vnet_rx_buf(v, id));
	d->len = VNET_BUF_SIZE;
	d->flags = VIRTQ_DESC_F_WRITE;
	d->next = 0;
	virtq_add(&v->rxq, id);
}

/* Takes back the transmit buffers the device is done with (5.1.6.2). */
static void vnet_tx_reclaim(struct vnet *v)
{
	u32 id, len;
	while (virtq_get_used(&v->txq, &id, &len)) {
		if (id >= v->txq.size || !v->tx_busy[id]) {
			vnet_bad_id(v, "transmit", id);
			continue;
		}
		v->tx_busy[id] = false;
		for (unsigned n = v->tx_chain[id]; n-- > 0; id = v->tx_next[id])
			v->tx_free[v->tx_nfree++] = (u16)id;
	}
}

/* ---- nic_ops ---------------------------------------------------------------- */

/* A frame and its header in as many 2 KiB buffers as they need, chained
 * (2.7.5); the device returns the chain by its head. */
static int vnet_send(struct nic *nic, const void *frame, size_t len)
{
	struct vnet *v = nic->priv;

	if (!frame || len < ETH_HLEN || len > nic->max_frame)
		return -E_INVAL;
	size_t wire = MAX(len, (size_t)ETH_MIN_FRAME);
	size_t total = VNET_HDR_LEN + wire;
	unsigned ndesc = (unsigned)((total + VNET_BUF_SIZE - 1) / VNET_BUF_SIZE);
	if (v->tx_nfree < ndesc)
		vnet_tx_reclaim(v);
	if (v->tx_nfree < ndesc) {
		nic->stats.tx_full++;
		return -E_NOSPC;
	}

	const u8 *src = frame;
	u16 head = v->tx_free[v->tx_nfree - 1], prev = 0;
	for (size_t off = 0; off < total; off += VNET_BUF_SIZE) {
		u16 id = v->tx_free[--v->tx_nfree];
		u8 *buf = vnet_tx_buf(v, id);
		size_t n = MIN(total - off, (size_t)VNET_BUF_SIZE);
		/* bytes [off, off + n) of header (zeros: no checksum, no GSO,
		 * 5.1.6.2.1), frame and padding */
		memset(buf, 0, n);
		size_t lo = MAX(off, VNET_HDR_LEN), hi = MIN(off + n, VNET_HDR_LEN + len);
		if (hi > lo)
			memcpy(buf + (lo - off), src + (lo - VNET_HDR_LEN), hi - lo);
		struct virtq_desc *d = &v->txq.desc[id];
		d->addr = virt_to_phys(buf);
		d->len = (u32)n;
		d->flags = 0;
		d->next = 0;
		if (off) {
			v->txq.desc[prev].flags = VIRTQ_DESC_F_NEXT;
			v->txq.desc[prev].next = id;
			v->tx_next[prev] = id;
		}
		prev = id;
	}
	v->tx_chain[head] = (u8)ndesc;
	v->tx_busy[head] = true;
	virtq_add(&v->txq, head);
	virtq_kick(&v->txq);
	nic->stats.tx_frames++;
	nic->stats.tx_bytes += wire;
	return 0;
}

/* Processing of incoming packets (5.1.6.4): the used length covers header
 * and frame.  With mergeable buffers the first buffer's num_buffers says
 * how many used buffers the frame fills, all but the last to the brim
 * (5.1.6.4.2); recv waits until all of them are back.  Without, a buffer
 * filled to the last byte may hold the start of a longer frame the device
 * cut short, so it counts as too long. */
static unsigned vnet_rx_bufs_of(struct vnet *v, u32 id)
{
	if (!v->mrg_rxbuf)
		return 1;
	const struct virtio_net_hdr *h = (const void *)vnet_rx_buf(v, id);
	u16 nb = *(const volatile u16 *)&h->num_buffers;
	return nb >= 1 && nb <= VNET_FRAME_BUFS ? nb : 0;
}

/* Gives one used receive buffer back to the device. */
static void vnet_rx_repost(struct vnet *v, u32 id)
{
	vnet_rx_post(v, (u16)id);
	virtq_kick(&v->rxq);
}

/* Takes the nb used buffers of one frame, the first one's element already
 * read (id, used_len), copying into buf while the frame fits cap; returns
 * the frame's length, or 0 when it was dropped. */
static size_t vnet_rx_take(struct vnet *v, u32 id, u32 used_len, unsigned nb, void *buf, size_t cap)
{
	size_t flen = 0;
	bool ok = true;
	for (unsigned i = 0; i < nb; i++) {
		if (i && !virtq_get_used(&v->rxq, &id, &used_len))
			return 0; /* cannot happen: vnet_recv saw them all */
		if (id >= v->rxq.size) {
			vnet_bad_id(v, "receive", id);
			ok = false;
			continue;
		}
		size_t skip = i ? 0 : VNET_HDR_LEN;
		size_t n = used_len > skip ? used_len - skip : 0;
		bool full = used_len >= VNET_BUF_SIZE;
		if (i + 1 < nb ? !full : full && !v->mrg_rxbuf)
			ok = false; /* a short middle buffer, or a frame cut short */
		if (ok && flen + n <= cap && used_len <= VNET_BUF_SIZE)
			memcpy((u8 *)buf + flen, vnet_rx_buf(v, id) + skip, n);
		else
			ok = false;
		flen += n;
		vnet_rx_repost(v, id);
	}
	return ok && flen >= ETH_HLEN && flen <= v->nic.max_frame ? flen : 0;
}

static int vnet_recv(struct nic *nic, void *buf, size_t cap, size_t *len)
{
	struct vnet *v = nic->priv;

	if (!buf || !len)
		return -E_INVAL;
	for (unsigned guard = 0; guard < VNET_QUEUE_SIZE; guard++) {
		u32 id, used_len;
		if (!virtq_peek_used(&v->rxq, 0, &id, &used_len))
			return -E_NOENT;
		unsigned nb = id < v->rxq.size ? vnet_rx_bufs_of(v, id) : 1;
		if (!nb) { /* a num_buffers no frame of ours needs: drop this buffer */
			nb = 1;
		} else if (virtq_used_pending(&v->rxq) < nb) {
			return -E_NOENT; /* the rest of the frame is not back yet */
		}
		virtq_get_used(&v->rxq, &id, &used_len);
		size_t flen = vnet_rx_take(v, id, used_len, nb, buf, cap);
		if (flen) {
			*len = flen;
			nic->stats.rx_frames++;
			nic->stats.rx_bytes += flen;
			return 0;
		}
		nic->stats.rx_dropped++;
	}
	return -E_NOENT;
}

/* 5.1.4: without VIRTIO_NET_F_STATUS the link is assumed up. */
static bool vnet_link_up(struct nic *nic)
{
	struct vnet *v = nic->priv;
	if (!v->has_status)
		return true;
	return virtio_cfg_rd16(&v->vd, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

/* Receive interrupts only: the transmit queue stays suppressed, its
 * buffers are reclaimed when send runs short. */
static void vnet_irq_enable(struct nic *nic, bool on)
{
	struct vnet *v = nic->priv;
	virtq_interrupts(&v->rxq, on);
	virtio_intx_enable(&v->vd, on);
}

/* Reading the ISR status acknowledges and deasserts INTx (4.1.4.5,
 * 4.1.5.5); a message needs no acknowledgement. */
static void vnet_irq_ack(struct nic *nic)
{
	struct vnet *v = nic->priv;
	if (!v->vd.msix)
		virtio_isr_read(&v->vd);
}

/* The receive queue's used buffers by MSI-X, the only way a modern
 * virtio-net device sends messages. */
static int vnet_irq_msi(struct nic *nic, u8 vector)
{
	struct vnet *v = nic->priv;
	return virtio_msix_route(&v->vd, vector, &v->rxq);
}

static const struct nic_ops vnet_ops = {
	.send = vnet_send,
	.recv = vnet_recv,
	.link_up = vnet_link_up,
	.irq_enable = vnet_irq_enable,
	.irq_ack = vnet_irq_ack,
	.irq_msi = vnet_irq_msi,
};

/* ---- Bring-up (3.1.1, 5.1.5) ------------------------------------------------ */

/* The MAC from the device configuration, read until config_generation
 * holds still (2.5.1); without VIRTIO_NET_F_MAC a random locally
 * administered unicast address (5.1.5). */
static const char *vnet_read_mac(struct vnet *v)
{
	u8 *mac = v->nic.mac;

	if (virtio_has(&v->vd, VIRTIO_NET_F_MAC)) {
		for (unsigned tries = 0; tries < VNET_CFG_RETRIES; tries++) {
			u8 gen = virtio_config_generation(&v->vd);
			for (unsigned i = 0; i < ETH_ALEN; i++)
				mac[i] = virtio_cfg_rd8(&v->vd, VIRTIO_NET_CFG_MAC + i);
			if (virtio_config_generation(&v->vd) == gen)
				break;
		}
		return "device";
	}
	const struct pci_dev *pd = v->vd.pci;
	u64 r = rdtsc() ^ ((u64)pd->bus << 48 | (u64)pd->dev << 40 | (u64)pd->fn << 32);
	r *= 0x9E3779B97F4A7C15ull;
	r ^= r >> 31;
	mac[0] = 0x02; /* locally administered, unicast */
	for (unsigned i = 1; i < ETH_ALEN; i++)
		mac[i] = (u8)(r >> (8 * i));
	return "random";
}

/* The longest frame both ways: the device's MTU (5.1.4.1: the driver
 * sends nothing longer) when it reports one and receive buffers can be
 * merged, else the standard 1514 bytes. */
static u32 vnet_max_frame(struct vnet *v)
{
	v->mrg_rxbuf = virtio_has(&v->vd, VIRTIO_NET_F_MRG_RXBUF);
	if (!v->mrg_rxbuf || !virtio_has(&v->vd, VIRTIO_NET_F_MTU))
		return NIC_MAX_FRAME;
	u32 mtu = virtio_cfg_rd16(&v->vd, VIRTIO_NET_CFG_MTU);
	return ETH_HLEN + MIN(MAX(mtu, (u32)ETH_MTU), (u32)ETH_JUMBO_MTU);
}

static bool vnet_match(struct pci_dev *pd)
{
	if (pd->vendor != VIRTIO_PCI_VENDOR || pd->header_type != 0)
		return false;
	if (pd->device == VIRTIO_PCI_MODERN_ID_BASE + VIRTIO_ID_NET)
		return true;
	return pd->device == VIRTIO_PCI_TRANS_ID_NET && pci_read16(pd, PCI_SUBSYSTEM_ID) == VIRTIO_ID_NET;
}

static void vnet_free(struct vnet *v)
{
	if (v->rx_bufs)
		page_free(v->rx_bufs, v->rx_pages);
	if (v->tx_bufs)
		page_free(v->tx_bufs, v->tx_pages);
	virtio_queue_free(&v->rxq);
	virtio_queue_free(&v->txq);
	page_free(v, VNET_STATE_PAGES);
}

/* Undoes a failed attach.  The transport settles the function's fate
 * (virtio_pci_open and _close: given back to the guest after a completed
 * reset, else kept hidden with bus mastering off); the memory follows it.
 * It goes back to the pool when the device let go of it, or never had it
 * (open failed before any queue existed); otherwise the rings and buffers
 * stay allocated for good, since the device may still write them.  The
 * state page, which the device never sees, goes back either way. */
static void vnet_abandon(struct vnet *v, bool opened)
{
	if (opened && virtio_pci_close(&v->vd) < 0) {
		log_err("virtio-net: leaving the rings and buffers to the device");
		page_free(v, VNET_STATE_PAGES);
		return;
	}
	vnet_free(v);
}

/* Both queues, a buffer per descriptor, every receive buffer posted. */
static int vnet_queues_setup(struct vnet *v)
{
	int rc = virtio_queue_setup(&v->vd, VIRTIO_NET_RXQ, VNET_QUEUE_SIZE, &v->rxq);
	if (rc == 0)
		rc = virtio_queue_setup(&v->vd, VIRTIO_NET_TXQ, VNET_QUEUE_SIZE, &v->txq);
	if (rc < 0) {
		log_err("virtio-net: cannot set up the %s queue (%u queues): %s", v->rxq.mem ? "transmit" : "receive",
			v->vd.num_queues, err_name(rc));
		return rc == -E_NOENT ? -E_IO : rc;
	}
	v->rx_pages = ALIGN_UP((size_t)v->rxq.size * VNET_BUF_SIZE, PAGE_SIZE) / PAGE_SIZE;
	v->tx_pages = ALIGN_UP((size_t)v->txq.size * VNET_BUF_SIZE, PAGE_SIZE) / PAGE_SIZE;
	v->rx_bufs = page_alloc(v->rx_pages);
	v->tx_bufs = page_alloc(v->tx_pages);
	if (!v->rx_bufs || !v->tx_bufs)
		return -E_NOMEM;
	for (u16 i = 0; i < v->rxq.size; i++)
		vnet_rx_post(v, i);
	for (u16 i = v->txq.size; i-- > 0;)
		v->tx_free[v->tx_nfree++] = i;
	virtq_interrupts(&v->rxq, false);
	virtq_interrupts(&v->txq, false);
	return 0;
}

static int vnet_attach(struct pci_dev *pd, struct nic **out)
{
	struct vnet *v = page_alloc(VNET_STATE_PAGES);
	bool opened = false;
	int rc;

	if (!v)
		return -E_NOMEM;
	rc = virtio_pci_open(pd, VNET_NAME, &v->vd);
	if (rc < 0)
		goto fail;
	opened = true;

	/* VERSION_1 is required; no offloads, so one buffer is one frame.
	 * ferry's DMA addresses are physical addresses, which is also what
	 * the platform's translation (ACCESS_PLATFORM) yields without an
	 * IOMMU, and its barriers are hardware fences (ORDER_PLATFORM). */
	u64 want = BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(VIRTIO_F_ORDER_PLATFORM);
	if (v->vd.device_len >= VIRTIO_NET_CFG_MAC + ETH_ALEN)
		want |= BIT(VIRTIO_NET_F_MAC);
	if (v->vd.device_len >= VIRTIO_NET_CFG_STATUS + 2)
		want |= BIT(VIRTIO_NET_F_STATUS);
	if (v->vd.device_len >= VIRTIO_NET_CFG_MTU + 2)
		want |= BIT(VIRTIO_NET_F_MTU) | BIT(VIRTIO_NET_F_MRG_RXBUF);
	rc = virtio_negotiate(&v->vd, want, BIT(VIRTIO_F_VERSION_1));
	if (rc < 0)
		goto fail;
	rc = vnet_queues_setup(v);
	if (rc < 0)
		goto fail;
	const char *mac_from = vnet_read_mac(v);
	v->has_status = virtio_has(&v->vd, VIRTIO_NET_F_STATUS);
	v->nic.max_frame = vnet_max_frame(v);

	virtio_driver_ok(&v->vd);
	virtq_kick(&v->rxq); /* notifications only after DRIVER_OK (3.1.1) */
	u8 st = virtio_status(&v->vd);
	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET)) {
		log_err("virtio-net: the device did not accept DRIVER_OK (device_status=%02x)", st);
		rc = -E_IO;
		goto fail;
	}

	u8 pin = pci_read8(pd, PCI_INTR_PIN);
	v->nic.name = VNET_NAME;
	v->nic.irq_line = pin ? pci_read8(pd, PCI_INTR_LINE) : 0xFF;
	v->nic.ops = &vnet_ops;
	v->nic.priv = v;
	log_info("virtio-net: %02x:%02x.%x %04x:%04x, %u receive and %u transmit entries of %u bytes, MAC from %s, "
		 "link status %s, frames up to %u bytes, features %lx, IRQ %u",
		 pd->bus, pd->dev, pd->fn, pd->vendor, pd->device, v->rxq.size, v->txq.size, VNET_BUF_SIZE, mac_from,
		 v->has_status ? "reported" : "not reported (assumed up)", v->nic.max_frame, v->vd.features,
		 v->nic.irq_line);
	*out = &v->nic;
	return 0;

fail:
	vnet_abandon(v, opened);
	return rc;
}

static int vnet_probe(unsigned idx, struct nic **out)
{
	unsigned seen = 0;
	struct pci_dev *pd;

	for (unsigned i = 0; (pd = pci_get(i)); i++) {
		if (!vnet_match(pd) || seen++ != idx)
			continue;
		if (pd->owner) {
			log_warn("virtio-net: %02x:%02x.%x is already taken by %s", pd->bus, pd->dev, pd->fn, pd->owner);
			return -E_EXIST;
		}
		return vnet_attach(pd, out);
	}
	log_debug("virtio-net: no virtio network device #%u", idx);
	return -E_NOENT;
}

const struct nic_driver virtio_net_driver = {
	.name = VNET_NAME,
	.probe = vnet_probe,
};
