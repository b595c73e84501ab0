/* Intel e1000 network driver: 82540EM/82545EM (8254x) and 82574L.
 *
 * ferry takes the idx-th supported Intel NIC for itself and moves whole
 * Ethernet frames through one legacy receive ring and one legacy transmit
 * ring, polled.  Every descriptor owns a fixed 2 KiB buffer in ferry's
 * pool; a jumbo frame (up to NIC_JUMBO_FRAME) spans several: send copies
 * the caller's frame into as many transmit buffers as it needs, recv
 * copies a received frame out once all its descriptors are written back
 * and gives emptied descriptors back in batches (see e1000_rx_refill).  No
 * allocation and no logging on the send/receive path.
 *
 * References: the 8254x Software Developer's Manual ("SDM"; sections in
 * e1000.h and below) and, for the 82574L, its datasheet. */
#include "e1000.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/pci_msi.h"
#include "platform/time.h"
#include "lib/string.h"
#include "x86/io.h"

#define E1000_MAX_DEVS 2
/* Receive descriptors recv empties before it gives them back in one RDT
 * write (it also gives them back whenever the ring runs dry). */
#define E1000_RX_REFILL_BATCH 16
_Static_assert(E1000_RX_REFILL_BATCH < E1000_RX_DESCS / 2, "the device keeps most of the ring");

/* Timeouts, in microseconds. */
#define E1000_QUIESCE_US (10 * 1000)  /* in-flight DMA after RCTL/TCTL.EN clear */
#define E1000_RESET_US (100 * 1000)   /* CTRL.RST clears itself */
#define E1000_EERD_US (10 * 1000)     /* one EERD word read */

struct e1000_model {
	u16 device;
	const char *name;
	bool eerd_82574; /* EERD uses the 82574L layout (DONE bit 1, address in 15:2) */
};

static const struct e1000_model e1000_models[] = {
	{ E1000_DEV_82540EM, "82540EM", false },
	{ E1000_DEV_82545EM, "82545EM", false },
	{ E1000_DEV_82574L, "82574L", true },
};

/* Everything the device reaches by DMA, in one allocation: both rings
 * first (page aligned, so 16-byte aligned as RDBAL/TDBAL require), then
 * one buffer per descriptor. */
struct e1000_dma {
	struct e1000_rx_desc rx_ring[E1000_RX_DESCS];
	struct e1000_tx_desc tx_ring[E1000_TX_DESCS];
	u8 rx_buf[E1000_RX_DESCS][E1000_BUF_SIZE];
	u8 tx_buf[E1000_TX_DESCS][E1000_BUF_SIZE];
};
_Static_assert(offsetof(struct e1000_dma, tx_ring) % 16 == 0, "TDBAL is 16-byte aligned");
_Static_assert(offsetof(struct e1000_dma, rx_buf) % E1000_BUF_SIZE == 0, "buffers are naturally aligned");
#define E1000_DMA_PAGES ((sizeof(struct e1000_dma) + PAGE_SIZE - 1) / PAGE_SIZE)

struct e1000_dev {
	struct nic nic;
	struct pci_dev *pci;
	const struct e1000_model *model;
	volatile u8 *regs;
	struct e1000_dma *dma;
	unsigned rx_next;       /* the descriptor the device fills next */
	unsigned rx_unreturned; /* emptied by recv, not yet given back through RDT */
	unsigned tx_tail;       /* the next free transmit descriptor (our copy of TDT) */
	unsigned tx_clean;      /* the oldest transmit descriptor not yet seen done */
	bool up;
	bool msi;               /* the receive interrupt goes by MSI (e1000_irq_msi), not INTx */
};

static struct e1000_dev e1000_devs[E1000_MAX_DEVS];
static const struct nic_ops e1000_ops;

static inline u32 e1000_rd(const struct e1000_dev *dev, u32 reg) { return mmio_rd32(dev->regs, reg); }
static inline void e1000_wr(const struct e1000_dev *dev, u32 reg, u32 v) { mmio_wr32(dev->regs, reg, v); }

/* Descriptor status bytes are written by the device behind the compiler's
 * back: read them exactly once per look. */
static inline u8 e1000_desc_status(const u8 *status) { return *(const volatile u8 *)status; }

/* ---- Identification ---------------------------------------------------- */

static const struct e1000_model *e1000_model_of(const struct pci_dev *pd)
{
	if (pd->vendor != E1000_PCI_VENDOR || pd->class_code != E1000_PCI_CLASS || pd->subclass != E1000_PCI_SUBCLASS)
		return NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(e1000_models); i++)
		if (e1000_models[i].device == pd->device)
			return &e1000_models[i];
	return NULL;
}

/* The idx-th supported function in PCI enumeration order. */
static struct pci_dev *e1000_find(unsigned idx, const struct e1000_model **model)
{
	struct pci_dev *pd;
	for (unsigned i = 0; (pd = pci_get(i)) != NULL; i++) {
		*model = e1000_model_of(pd);
		if (*model && idx-- == 0)
			return pd;
	}
	return NULL;
}

/* ---- Reset, MAC address, link ------------------------------------------ */

/* Stops both DMA engines, then resets the MAC with CTRL.RST (13.4.1).
 * Interrupts are masked before and after: the reset does not stop an
 * interrupt already on its way, and leaves causes in ICR. */
static int e1000_reset(struct e1000_dev *dev)
{
	e1000_wr(dev, E1000_IMC, E1000_INT_ALL);
	e1000_wr(dev, E1000_RCTL, 0);
	e1000_wr(dev, E1000_TCTL, 0);
	(void)e1000_rd(dev, E1000_STATUS); /* flush the posted writes */
	udelay(E1000_QUIESCE_US);

	e1000_wr(dev, E1000_CTRL, e1000_rd(dev, E1000_CTRL) | E1000_CTRL_RST);
	udelay(1000); /* the device does not answer register reads at once */
	u64 start = time_us();
	while (e1000_rd(dev, E1000_CTRL) & E1000_CTRL_RST) {
		if (time_us() - start > E1000_RESET_US) {
			log_err("e1000: CTRL.RST did not clear (CTRL=%08x)", e1000_rd(dev, E1000_CTRL));
			return -E_TIMEDOUT;
		}
		udelay(100);
	}
	e1000_wr(dev, E1000_IMC, E1000_INT_ALL);
	(void)e1000_rd(dev, E1000_ICR);
	return 0;
}

/* One 16-bit EEPROM word through EERD (13.4.4). */
static int e1000_eeprom_read(const struct e1000_dev *dev, unsigned word, u16 *out)
{
	u32 done = dev->model->eerd_82574 ? E1000_EERD_82574_DONE : E1000_EERD_DONE;
	unsigned shift = dev->model->eerd_82574 ? E1000_EERD_82574_ADDR_SHIFT : E1000_EERD_ADDR_SHIFT;

	e1000_wr(dev, E1000_EERD, ((u32)word << shift) | E1000_EERD_START);
	u64 start = time_us();
	for (;;) {
		u32 v = e1000_rd(dev, E1000_EERD);
		if (v & done) {
			*out = (u16)(v >> E1000_EERD_DATA_SHIFT);
			return 0;
		}
		if (time_us() - start > E1000_EERD_US)
			return -E_TIMEDOUT;
		udelay(5);
	}
}

static bool e1000_mac_valid(const u8 *mac)
{
	static const u8 zero[ETH_ALEN];
	return !(mac[0] & 1) && memcmp(mac, zero, ETH_ALEN) != 0; /* unicast, not 0 (or all ones) */
}

/* The station address: receive address 0 when its AV bit is set (the
 * device loads it from the EEPROM at reset), else EEPROM words 0-2, which
 * are then written to receive address 0 so the unicast filter passes
 * frames for us. */
static int e1000_read_mac(struct e1000_dev *dev)
{
	u8 *mac = dev->nic.mac;
	u32 ral = e1000_rd(dev, E1000_RAL(0)), rah = e1000_rd(dev, E1000_RAH(0));

	for (unsigned i = 0; i < 4; i++)
		mac[i] = (u8)(ral >> (8 * i));
	mac[4] = (u8)rah;
	mac[5] = (u8)(rah >> 8);
	if ((rah & E1000_RAH_AV) && e1000_mac_valid(mac))
		return 0;

	if (!(e1000_rd(dev, E1000_EECD) & E1000_EECD_PRES))
		log_warn("e1000: RAH0.AV is clear and EECD.PRES says no EEPROM; trying EERD anyway");
	for (unsigned w = 0; w < 3; w++) {
		u16 v;
		if (e1000_eeprom_read(dev, E1000_EEPROM_MAC_WORD + w, &v) < 0) {
			log_err("e1000: EERD read of EEPROM word %u timed out (EERD=%08x)", w, e1000_rd(dev, E1000_EERD));
			return -E_TIMEDOUT;
		}
		mac[2 * w] = (u8)v;
		mac[2 * w + 1] = (u8)(v >> 8);
	}
	if (!e1000_mac_valid(mac)) {
		log_err("e1000: no valid MAC address in RAL0/RAH0 or the EEPROM");
		return -E_IO;
	}
	e1000_wr(dev, E1000_RAL(0), (u32)mac[0] | (u32)mac[1] << 8 | (u32)mac[2] << 16 | (u32)mac[3] << 24);
	e1000_wr(dev, E1000_RAH(0), (u32)mac[4] | (u32)mac[5] << 8 | E1000_RAH_AV);
	return 0;
}

/* Link set-up for copper with auto-negotiation (SDM 14.3): SLU lets
 * the MAC take speed and duplex from the PHY (ASDE), and nothing may hold
 * the link or the PHY in reset. */
static void e1000_link_setup(const struct e1000_dev *dev)
{
	u32 ctrl = e1000_rd(dev, E1000_CTRL);
	ctrl |= E1000_CTRL_SLU | E1000_CTRL_ASDE;
	ctrl &= ~(E1000_CTRL_LRST | E1000_CTRL_PHY_RST | E1000_CTRL_ILOS | E1000_CTRL_VME | E1000_CTRL_FRCSPD |
		  E1000_CTRL_FRCDPLX);
	e1000_wr(dev, E1000_CTRL, ctrl);
}

/* Receive filters: our address in entry 0, the other entries and the
 * multicast table empty (their reset values are undefined, 13.4). */
static void e1000_filters_setup(const struct e1000_dev *dev)
{
	for (unsigned i = 1; i < E1000_RAR_ENTRIES; i++) {
		e1000_wr(dev, E1000_RAH(i), 0);
		e1000_wr(dev, E1000_RAL(i), 0);
	}
	for (unsigned i = 0; i < E1000_MTA_DWORDS; i++)
		e1000_wr(dev, E1000_MTA + 4 * i, 0);
}

/* ---- Rings (SDM 14.4 receive and 14.5 transmit initialization) --------- */

static void e1000_rx_setup(struct e1000_dev *dev)
{
	struct e1000_dma *dma = dev->dma;
	hpa_t ring = virt_to_phys(dma->rx_ring);

	for (unsigned i = 0; i < E1000_RX_DESCS; i++)
		dma->rx_ring[i] = (struct e1000_rx_desc){ .buffer_addr = virt_to_phys(dma->rx_buf[i]) };
	dev->rx_next = dev->rx_unreturned = 0;
	wmb();
	e1000_wr(dev, E1000_RDBAL, (u32)ring);
	e1000_wr(dev, E1000_RDBAH, (u32)(ring >> 32));
	e1000_wr(dev, E1000_RDLEN, E1000_RX_DESCS * sizeof(struct e1000_rx_desc));
	e1000_wr(dev, E1000_RDH, 0);
	/* All but one descriptor go to the device: RDH == RDT means "no free
	 * descriptor" (3.2.6), so the ring can never be handed over whole. */
	e1000_wr(dev, E1000_RDT, E1000_RX_DESCS - 1);
	/* Broadcast and our unicast address; frames end in the buffer
	 * without their CRC; long frames (jumbo) accepted, spread over as
	 * many 2 KiB buffers as they need. */
	e1000_wr(dev, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC | E1000_RCTL_LPE |
					  E1000_RCTL_BSIZE_2048 | E1000_RCTL_RDMTS_HALF);
}

static void e1000_tx_setup(struct e1000_dev *dev)
{
	struct e1000_dma *dma = dev->dma;
	hpa_t ring = virt_to_phys(dma->tx_ring);

	for (unsigned i = 0; i < E1000_TX_DESCS; i++)
		dma->tx_ring[i] = (struct e1000_tx_desc){ .buffer_addr = virt_to_phys(dma->tx_buf[i]) };
	dev->tx_tail = dev->tx_clean = 0;
	wmb();
	e1000_wr(dev, E1000_TDBAL, (u32)ring);
	e1000_wr(dev, E1000_TDBAH, (u32)(ring >> 32));
	e1000_wr(dev, E1000_TDLEN, E1000_TX_DESCS * sizeof(struct e1000_tx_desc));
	e1000_wr(dev, E1000_TDH, 0);
	e1000_wr(dev, E1000_TDT, 0);
	e1000_wr(dev, E1000_TIPG, E1000_TIPG_IPGT_COPPER | E1000_TIPG_IPGR1_DEFAULT << E1000_TIPG_IPGR1_SHIFT |
					  E1000_TIPG_IPGR2_DEFAULT << E1000_TIPG_IPGR2_SHIFT);
	/* PSP pads short frames on the wire as well; send pads them in the
	 * buffer too, so what the peer sees never depends on this bit. */
	e1000_wr(dev, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT_DEFAULT << E1000_TCTL_CT_SHIFT |
					  E1000_TCTL_COLD_FULL_DUPLEX << E1000_TCTL_COLD_SHIFT);
}

/* ---- nic_ops ------------------------------------------------------------ */

/* Retires transmit descriptors the device has finished with: every one is
 * queued with RS, so each gets DD written back in order (3.3.3.2). */
static void e1000_tx_reclaim(struct e1000_dev *dev)
{
	while (dev->tx_clean != dev->tx_tail &&
	       (e1000_desc_status(&dev->dma->tx_ring[dev->tx_clean].status) & E1000_TXD_STAT_DD))
		dev->tx_clean = (dev->tx_clean + 1) % E1000_TX_DESCS;
}

/* Free transmit descriptors: the ring holds at most N - 1 (3.4). */
static unsigned e1000_tx_free(const struct e1000_dev *dev)
{
	return (dev->tx_clean + E1000_TX_DESCS - dev->tx_tail - 1) % E1000_TX_DESCS;
}

/* A frame goes out in as many 2 KiB buffers as it needs, EOP on the last
 * (3.3.3); the device sends nothing before it has fetched the EOP one. */
static int e1000_send(struct nic *nic, const void *frame, size_t len)
{
	struct e1000_dev *dev = nic->priv;

	if (len < ETH_HLEN || len > nic->max_frame)
		return -E_INVAL;
	size_t wire = MAX(len, (size_t)ETH_MIN_FRAME);
	unsigned ndesc = (unsigned)((wire + E1000_BUF_SIZE - 1) / E1000_BUF_SIZE);
	e1000_tx_reclaim(dev);
	if (e1000_tx_free(dev) < ndesc) {
		nic->stats.tx_full++;
		return -E_NOSPC;
	}

	const u8 *src = frame;
	for (size_t off = 0; off < wire; off += E1000_BUF_SIZE) {
		size_t n = MIN(wire - off, (size_t)E1000_BUF_SIZE);
		u8 *buf = dev->dma->tx_buf[dev->tx_tail];
		size_t have = off < len ? MIN(len - off, n) : 0;
		memcpy(buf, src + off, have);
		if (have < n) /* zeros, never stale bytes of an earlier frame */
			memset(buf + have, 0, n - have);
		struct e1000_tx_desc *d = &dev->dma->tx_ring[dev->tx_tail];
		d->length = (u16)n;
		d->cso = 0;
		d->cmd = (u8)(E1000_TXD_CMD_IFCS | E1000_TXD_CMD_RS | (off + n == wire ? E1000_TXD_CMD_EOP : 0));
		d->status = 0;
		d->css = 0;
		d->special = 0;
		dev->tx_tail = (dev->tx_tail + 1) % E1000_TX_DESCS;
	}
	wmb(); /* the buffers and descriptors before the tail moves */
	e1000_wr(dev, E1000_TDT, dev->tx_tail);
	nic->stats.tx_frames++;
	nic->stats.tx_bytes += len;
	return 0;
}

/* Hands the descriptors recv has emptied back to the device in one RDT
 * write: RDT then points at the last of them, which stays held back.
 * Batching matters beyond saving register writes: QEMU's e1000 model,
 * when RDT moves, delivers every frame it had to hold back and discards
 * those that find no free descriptor, so the device should find many
 * free descriptors at once rather than one at a time. */
static void e1000_rx_refill(struct e1000_dev *dev)
{
	if (!dev->rx_unreturned)
		return;
	wmb(); /* status cleared before the device may reuse a descriptor */
	e1000_wr(dev, E1000_RDT, (dev->rx_next + E1000_RX_DESCS - 1) % E1000_RX_DESCS);
	dev->rx_unreturned = 0;
}

/* Looks at the frame that starts at descriptor rx_next without taking it:
 * the number of descriptors it spans (0: not all written back yet) and its
 * length.  A frame longer than the device may ever produce is cut off at
 * E1000_RX_MAX_DESCS and reported as bad. */
static unsigned e1000_rx_peek(const struct e1000_dev *dev, size_t *flen, bool *bad)
{
	*flen = 0;
	*bad = false;
	for (unsigned n = 0; n < E1000_RX_MAX_DESCS; n++) {
		const struct e1000_rx_desc *d = &dev->dma->rx_ring[(dev->rx_next + n) % E1000_RX_DESCS];
		u8 status = e1000_desc_status(&d->status);
		if (!(status & E1000_RXD_STAT_DD))
			return 0;
		rmb(); /* length, errors and data only after DD */
		*flen += d->length;
		*bad |= (d->errors & E1000_RXD_ERR_FRAME) != 0;
		if (status & E1000_RXD_STAT_EOP)
			return n + 1;
	}
	*bad = true;
	return E1000_RX_MAX_DESCS;
}

/* Takes the next whole frame, which may span descriptors (long frames are
 * on: RCTL.LPE); a frame too long for cap, or with errors, is dropped
 * whole and counted once. */
static int e1000_recv(struct nic *nic, void *buf, size_t cap, size_t *len)
{
	struct e1000_dev *dev = nic->priv;

	for (unsigned seen = 0; seen < E1000_RX_DESCS;) {
		size_t flen;
		bool bad;
		unsigned ndesc = e1000_rx_peek(dev, &flen, &bad);
		if (!ndesc) {
			e1000_rx_refill(dev); /* the burst is over: return what it used */
			return -E_NOENT;
		}
		bool take = !bad && flen >= ETH_HLEN && flen <= cap && flen <= nic->max_frame;
		size_t off = 0;
		for (unsigned n = 0; n < ndesc; n++) {
			unsigned i = dev->rx_next;
			struct e1000_rx_desc *d = &dev->dma->rx_ring[i];
			if (take)
				memcpy((u8 *)buf + off, dev->dma->rx_buf[i], d->length);
			off += d->length;
			d->status = 0;
			dev->rx_next = (i + 1) % E1000_RX_DESCS;
			if (++dev->rx_unreturned >= E1000_RX_REFILL_BATCH)
				e1000_rx_refill(dev);
		}
		seen += ndesc;
		if (take) {
			*len = flen;
			nic->stats.rx_frames++;
			nic->stats.rx_bytes += flen;
			return 0;
		}
		nic->stats.rx_dropped++;
	}
	e1000_rx_refill(dev);
	return -E_NOENT;
}

static bool e1000_link_up(struct nic *nic)
{
	struct e1000_dev *dev = nic->priv;
	return e1000_rd(dev, E1000_STATUS) & E1000_STATUS_LU;
}

/* The receive interrupt: a frame arrived (RXT0), the ring runs low
 * (RXDMT0) or overflowed (RXO), and link changes (LSC).  pci_claim leaves
 * INTx disabled in the command register; it is opened only while wanted,
 * and never once the interrupt goes by MSI (the mask registers alone). */
static void e1000_irq_enable(struct nic *nic, bool on)
{
	struct e1000_dev *dev = nic->priv;
	u16 cmd = dev->msi ? 0 : pci_read16(dev->pci, PCI_COMMAND);

	if (on) {
		e1000_wr(dev, E1000_IMS, E1000_INT_RXT0 | E1000_INT_RXO | E1000_INT_RXDMT0 | E1000_INT_LSC);
		if (!dev->msi)
			pci_write16(dev->pci, PCI_COMMAND, cmd & (u16)~PCI_COMMAND_INTX_DISABLE);
	} else {
		e1000_wr(dev, E1000_IMC, E1000_INT_ALL);
		if (!dev->msi)
			pci_write16(dev->pci, PCI_COMMAND, cmd | (u16)PCI_COMMAND_INTX_DISABLE);
	}
}

/* By MSI on the 82574L (the 8254x have no MSI capability).  Its MSI-X
 * would need the IVAR's cause-to-vector routing as well: not used. */
static int e1000_irq_msi(struct nic *nic, u8 vector)
{
	struct e1000_dev *dev = nic->priv;
	e1000_wr(dev, E1000_IMC, E1000_INT_ALL);
	int rc = pci_msi_route(dev->pci, vector, BIT(PCI_MSI));
	if (rc < 0)
		return rc;
	dev->msi = true;
	return 0;
}

/* Reading ICR clears it on the 8254x; the 82574L clears on read only in
 * some interrupt modes, so the causes read are also written back (W1C). */
static void e1000_irq_ack(struct nic *nic)
{
	struct e1000_dev *dev = nic->priv;
	u32 icr = e1000_rd(dev, E1000_ICR);
	if (icr)
		e1000_wr(dev, E1000_ICR, icr);
}

static const struct nic_ops e1000_ops = {
	.send = e1000_send,
	.recv = e1000_recv,
	.link_up = e1000_link_up,
	.irq_enable = e1000_irq_enable,
	.irq_ack = e1000_irq_ack,
	.irq_msi = e1000_irq_msi,
};

/* ---- Probe -------------------------------------------------------------- */

static u8 e1000_irq_line(const struct pci_dev *pd)
{
	u8 pin = pci_read8(pd, PCI_INTR_LINE + 1); /* 3Dh Interrupt Pin: 0 none */
	u8 line = pci_read8(pd, PCI_INTR_LINE);
	return pin == 0 ? 0xFF : line;
}

static const char *e1000_speed(u32 status)
{
	static const char *const names[] = { "10", "100", "1000", "1000" };
	return names[(status >> E1000_STATUS_SPEED_SHIFT) & E1000_STATUS_SPEED_MASK];
}

/* Undoes a probe that failed after pci_claim.  Quiet (the MAC was reset,
 * or never touched): both DMA engines are stopped again, the rings (if
 * any) go back to the pool and the function back to the guest, which
 * finds a reset NIC.  Not quiet (CTRL.RST never cleared): the device is in
 * an unknown state, so it stays claimed and hidden, with bus mastering
 * off (pci_quarantine); it has no pool memory yet at that point. */
static void e1000_abandon(struct e1000_dev *dev, bool quiet)
{
	if (!quiet) {
		pci_quarantine(dev->pci, "e1000: the MAC reset did not complete");
		*dev = (struct e1000_dev){ 0 };
		return;
	}
	if (dev->regs) {
		e1000_wr(dev, E1000_IMC, E1000_INT_ALL);
		e1000_wr(dev, E1000_RCTL, 0);
		e1000_wr(dev, E1000_TCTL, 0);
		(void)e1000_rd(dev, E1000_STATUS);
		udelay(E1000_QUIESCE_US);
	}
	if (dev->dma)
		page_free(dev->dma, E1000_DMA_PAGES);
	pci_release(dev->pci);
	*dev = (struct e1000_dev){ 0 };
}

static void e1000_log_up(const struct e1000_dev *dev)
{
	const struct pci_dev *pd = dev->pci;
	u32 status = e1000_rd(dev, E1000_STATUS);
	const u8 *m = dev->nic.mac;
	log_info("e1000: %02x:%02x.%x %04x:%04x %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s%s%s, IRQ %u, "
		 "%u RX / %u TX descriptors",
		 pd->bus, pd->dev, pd->fn, pd->vendor, pd->device, dev->model->name, m[0], m[1], m[2], m[3], m[4], m[5],
		 (status & E1000_STATUS_LU) ? e1000_speed(status) : "down",
		 (status & E1000_STATUS_LU) ? " Mb/s" : "",
		 (status & E1000_STATUS_LU) ? ((status & E1000_STATUS_FD) ? " full duplex" : " half duplex") : "",
		 dev->nic.irq_line, E1000_RX_DESCS, E1000_TX_DESCS);
}

static int e1000_probe(unsigned idx, struct nic **out)
{
	const struct e1000_model *model;
	struct pci_dev *pd = e1000_find(idx, &model);
	bool quiet = true;
	int rc;

	if (!pd) {
		log_debug("e1000: no supported Intel NIC number %u", idx);
		return -E_NOENT;
	}
	if (idx >= E1000_MAX_DEVS) {
		log_warn("e1000: %02x:%02x.%x ignored: the driver serves %d NICs", pd->bus, pd->dev, pd->fn,
			 E1000_MAX_DEVS);
		return -E_NOTSUP;
	}
	struct e1000_dev *dev = &e1000_devs[idx];
	if (dev->up && dev->pci == pd) {
		*out = &dev->nic;
		return 0;
	}
	if (pd->owner) {
		log_warn("e1000: %02x:%02x.%x is already taken by %s", pd->bus, pd->dev, pd->fn, pd->owner);
		return -E_EXIST;
	}
	const struct pci_bar *bar = &pd->bar[E1000_PCI_BAR_MMIO];
	if (bar->is_io || bar->base == 0 || bar->size < E1000_RAH(E1000_RAR_ENTRIES)) {
		log_err("e1000: %02x:%02x.%x: BAR0 is missing or not memory", pd->bus, pd->dev, pd->fn);
		return -E_IO;
	}

	*dev = (struct e1000_dev){
		.nic = { .name = "e1000", .irq_line = e1000_irq_line(pd), .max_frame = NIC_JUMBO_FRAME,
			 .ops = &e1000_ops, .priv = dev },
		.pci = pd,
		.model = model,
	};
	pci_claim(pd, "e1000");
	dev->regs = mmio_map(bar->base, bar->size);
	if (!dev->regs) {
		rc = -E_NOMEM;
		goto fail;
	}
	rc = e1000_reset(dev);
	if (rc < 0)
		goto fail_stuck;
	rc = e1000_read_mac(dev);
	if (rc < 0)
		goto fail;
	dev->dma = page_alloc(E1000_DMA_PAGES);
	if (!dev->dma) {
		rc = -E_NOMEM;
		goto fail;
	}

	e1000_link_setup(dev);
	e1000_filters_setup(dev);
	e1000_rx_setup(dev);
	e1000_tx_setup(dev);
	dev->up = true;
	e1000_log_up(dev);
	*out = &dev->nic;
	return 0;

fail_stuck:
	quiet = false;
fail:
	log_err("e1000: %02x:%02x.%x %s did not come up: %s", pd->bus, pd->dev, pd->fn, model->name, err_name(rc));
	e1000_abandon(dev, quiet);
	return rc;
}

const struct nic_driver e1000_driver = {
	.name = "e1000",
	.probe = e1000_probe,
};
