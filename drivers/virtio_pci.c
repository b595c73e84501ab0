/* Virtio over PCI, modern interface (drivers/virtio_pci.h): capability
 * parsing, device status and feature negotiation, split virtqueue setup
 * and the ring operations every virtio driver shares.
 *
 * References: Virtio 1.2 (virtio-v1.2-cs01), sections given below. */
#include "virtio_pci.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/pci_msi.h"
#include "platform/time.h"
#include "lib/string.h"
#include "x86/io.h"

#define VIRTIO_RESET_US (1000 * 1000) /* device_status reads 0 after a reset */
#define VIRTIO_PCI_CAP_MAX 48         /* (256 - 40h) / 4: a longer list loops */

/* ---- Register access ----------------------------------------------------- */

static inline u8 vcom_rd8(const struct virtio_dev *vd, u32 off) { return mmio_rd8(vd->common, off); }
static inline u16 vcom_rd16(const struct virtio_dev *vd, u32 off) { return mmio_rd16(vd->common, off); }
static inline u32 vcom_rd32(const struct virtio_dev *vd, u32 off) { return mmio_rd32(vd->common, off); }
static inline void vcom_wr8(const struct virtio_dev *vd, u32 off, u8 v) { mmio_wr8(vd->common, off, v); }
static inline void vcom_wr16(const struct virtio_dev *vd, u32 off, u16 v) { mmio_wr16(vd->common, off, v); }
static inline void vcom_wr32(const struct virtio_dev *vd, u32 off, u32 v) { mmio_wr32(vd->common, off, v); }

/* 64-bit fields as two 32-bit halves, low first (4.1.3). */
static void vcom_wr64(const struct virtio_dev *vd, u32 off, u64 v)
{
	vcom_wr32(vd, off, (u32)v);
	vcom_wr32(vd, off + 4, (u32)(v >> 32));
}

u8 virtio_status(const struct virtio_dev *vd) { return vcom_rd8(vd, VIRTIO_COMMON_STATUS); }
u8 virtio_config_generation(const struct virtio_dev *vd) { return vcom_rd8(vd, VIRTIO_COMMON_CFGGEN); }

static void virtio_set_status(const struct virtio_dev *vd, u8 bits)
{
	vcom_wr8(vd, VIRTIO_COMMON_STATUS, virtio_status(vd) | bits);
}

u8 virtio_cfg_rd8(const struct virtio_dev *vd, u32 off)
{
	return vd->device && off < vd->device_len ? mmio_rd8(vd->device, off) : 0;
}

u16 virtio_cfg_rd16(const struct virtio_dev *vd, u32 off)
{
	return vd->device && off + 2 <= vd->device_len ? mmio_rd16(vd->device, off) : 0;
}

u32 virtio_cfg_rd32(const struct virtio_dev *vd, u32 off)
{
	return vd->device && off + 4 <= vd->device_len ? mmio_rd32(vd->device, off) : 0;
}

u64 virtio_cfg_rd64(const struct virtio_dev *vd, u32 off)
{
	u8 gen;
	u64 v;
	do {
		gen = virtio_config_generation(vd);
		v = virtio_cfg_rd32(vd, off) | (u64)virtio_cfg_rd32(vd, off + 4) << 32;
	} while (gen != virtio_config_generation(vd));
	return v;
}

u8 virtio_isr_read(struct virtio_dev *vd) { return mmio_rd8(vd->isr, 0); }

void virtio_intx_enable(struct virtio_dev *vd, bool on)
{
	if (vd->msix)
		on = false; /* interrupts go by MSI-X: INTx stays off */
	u16 cmd = pci_read16(vd->pci, PCI_COMMAND);
	u16 want = on ? (u16)(cmd & ~PCI_COMMAND_INTX_DISABLE) : (u16)(cmd | PCI_COMMAND_INTX_DISABLE);
	if (want != cmd)
		pci_write16(vd->pci, PCI_COMMAND, want);
}

#define VIRTIO_MSI_NO_VECTOR 0xFFFF

int virtio_msix_route(struct virtio_dev *vd, u8 vector, const struct virtq *q)
{
	int rc = pci_msi_route(vd->pci, vector, BIT(PCI_MSIX));
	if (rc < 0)
		return rc;
	vd->msix = true;
	vcom_wr16(vd, VIRTIO_COMMON_MSIX, VIRTIO_MSI_NO_VECTOR);
	for (u16 i = 0; i < vd->num_queues; i++) {
		vcom_wr16(vd, VIRTIO_COMMON_Q_SELECT, i);
		vcom_wr16(vd, VIRTIO_COMMON_Q_MSIX, i == q->index ? 0 : VIRTIO_MSI_NO_VECTOR);
	}
	vcom_wr16(vd, VIRTIO_COMMON_Q_SELECT, q->index);
	return vcom_rd16(vd, VIRTIO_COMMON_Q_MSIX) == 0 ? 0 : -E_IO;
}

/* ---- Finding the structures (4.1.4, 4.1.5.1.1) -------------------------- */

struct virtio_loc {
	bool found;
	u8 bar;
	u32 offset, length;
	u32 mult; /* notify_off_multiplier (NOTIFY_CFG only) */
};

static const char *virtio_cap_name(u8 type)
{
	switch (type) {
	case VIRTIO_PCI_CAP_COMMON_CFG: return "common";
	case VIRTIO_PCI_CAP_NOTIFY_CFG: return "notify";
	case VIRTIO_PCI_CAP_ISR_CFG: return "isr";
	case VIRTIO_PCI_CAP_DEVICE_CFG: return "device";
	default: return "other";
	}
}

/* Walks the capability list and keeps, for each structure type ferry uses,
 * the first capability it can use (4.1.4.1): one in a memory BAR that
 * holds the whole structure.  Reserved types and BAR numbers are skipped,
 * as are I/O BARs (QEMU's optional port-I/O notification capability). */
static void virtio_find_caps(struct virtio_dev *vd, struct virtio_loc loc[VIRTIO_PCI_CAP_DEVICE_CFG + 1])
{
	struct pci_dev *pd = vd->pci;

	if (!(pci_read16(pd, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return;
	u8 ptr = pci_read8(pd, PCI_CAP_PTR) & 0xFC;
	for (unsigned n = 0; ptr >= 0x40 && n < VIRTIO_PCI_CAP_MAX; n++) {
		u8 id = pci_read8(pd, ptr), next = pci_read8(pd, ptr + 1) & 0xFC;
		u8 len = pci_read8(pd, ptr + 2), type = pci_read8(pd, ptr + 3), bar = pci_read8(pd, ptr + 4);

		if (id != PCI_CAP_ID_VNDR || len < sizeof(struct virtio_pci_cap) || type < VIRTIO_PCI_CAP_COMMON_CFG ||
		    type > VIRTIO_PCI_CAP_DEVICE_CFG || bar > 5 || loc[type].found)
			goto next;
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && len < sizeof(struct virtio_pci_notify_cap))
			goto next;
		const struct pci_bar *b = &pd->bar[bar];
		u32 off = pci_read32(pd, ptr + offsetof(struct virtio_pci_cap, offset));
		u32 length = pci_read32(pd, ptr + offsetof(struct virtio_pci_cap, length));
		if (b->is_io || b->size == 0 || b->base == 0) {
			log_debug("%s: %s structure in bar%u skipped: not a memory BAR", vd->name, virtio_cap_name(type), bar);
			goto next;
		}
		if (length == 0 || (u64)off + length > b->size) {
			log_warn("%s: %s structure bar%u+%x (%x bytes) lies outside the BAR (%lx bytes), skipped", vd->name,
				 virtio_cap_name(type), bar, off, length, b->size);
			goto next;
		}
		loc[type] = (struct virtio_loc){ .found = true, .bar = bar, .offset = off, .length = length };
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			loc[type].mult = pci_read32(pd, ptr + offsetof(struct virtio_pci_notify_cap, notify_off_multiplier));
	next:
		ptr = next;
	}
}

static volatile u8 *virtio_map(struct virtio_dev *vd, const struct virtio_loc *l)
{
	return mmio_map(vd->pci->bar[l->bar].base + l->offset, l->length);
}

/* Writes 0 to device_status and waits for it to read back 0 (4.1.4.3.2). */
static int virtio_reset(struct virtio_dev *vd)
{
	vcom_wr8(vd, VIRTIO_COMMON_STATUS, 0);
	u64 start = time_us();
	while (virtio_status(vd) != 0) {
		if (time_us() - start > VIRTIO_RESET_US) {
			log_err("%s: device reset did not complete (device_status=%02x)", vd->name, virtio_status(vd));
			return -E_TIMEDOUT;
		}
		udelay(10);
	}
	return 0;
}

/* Where a claimed function goes when ferry stops using it: back to the
 * guest when a device reset completed (device_status reads 0, so the
 * device has let go of every queue, 2.1.2) or when ferry never wrote to
 * it; otherwise it may still be reaching rings in ferry's pool, so it stays
 * claimed and hidden, with bus mastering off, and the caller keeps its
 * rings allocated (see virtio_pci_close). */
static void virtio_pci_abandon(struct virtio_dev *vd, bool quiet)
{
	virtio_intx_enable(vd, false);
	if (quiet)
		pci_release(vd->pci);
	else
		pci_quarantine(vd->pci, "virtio: the device reset did not complete");
}

/* The structures ferry needs, from the capability list: false (logged)
 * when the function lacks one or has it too short. */
static bool virtio_locate(struct virtio_dev *vd, struct virtio_loc loc[VIRTIO_PCI_CAP_DEVICE_CFG + 1])
{
	const struct pci_dev *pd = vd->pci;

	memset(loc, 0, sizeof(loc[0]) * (VIRTIO_PCI_CAP_DEVICE_CFG + 1));
	virtio_find_caps(vd, loc);
	const struct virtio_loc *com = &loc[VIRTIO_PCI_CAP_COMMON_CFG], *ntf = &loc[VIRTIO_PCI_CAP_NOTIFY_CFG];
	const struct virtio_loc *isr = &loc[VIRTIO_PCI_CAP_ISR_CFG];
	if (!com->found || !ntf->found || !isr->found) {
		log_warn("%s: %02x:%02x.%x %04x:%04x has no usable virtio 1.x %s structure (a legacy-only device?)",
			 vd->name, pd->bus, pd->dev, pd->fn, pd->vendor, pd->device,
			 !com->found ? "common configuration" : !ntf->found ? "notification" : "ISR status");
		return false;
	}
	if (com->length < VIRTIO_COMMON_LEN || ntf->length < 2) {
		log_err("%s: common configuration (%u bytes) or notification area (%u bytes) too short", vd->name,
			com->length, ntf->length);
		return false;
	}
	return true;
}

int virtio_pci_open(struct pci_dev *pd, const char *name, struct virtio_dev *vd)
{
	struct virtio_loc loc[VIRTIO_PCI_CAP_DEVICE_CFG + 1];
	bool quiet = true;
	int rc;

	*vd = (struct virtio_dev){ .pci = pd, .name = name };
	if (!virtio_locate(vd, loc))
		return -E_NOTSUP;
	const struct virtio_loc *com = &loc[VIRTIO_PCI_CAP_COMMON_CFG], *ntf = &loc[VIRTIO_PCI_CAP_NOTIFY_CFG];
	const struct virtio_loc *isr = &loc[VIRTIO_PCI_CAP_ISR_CFG], *dev = &loc[VIRTIO_PCI_CAP_DEVICE_CFG];

	pci_claim(pd, name);
	vd->common = virtio_map(vd, com);
	vd->notify = virtio_map(vd, ntf);
	vd->isr = virtio_map(vd, isr);
	vd->device = dev->found ? virtio_map(vd, dev) : NULL;
	if (!vd->common || !vd->notify || !vd->isr || (dev->found && !vd->device)) {
		rc = -E_NOMEM;
		goto fail; /* nothing written to the device yet */
	}
	vd->notify_len = ntf->length;
	vd->notify_mult = ntf->mult;
	vd->device_len = dev->found ? dev->length : 0;
	log_debug("%s: common bar%u+%x, notify bar%u+%x (x%u), isr bar%u+%x, device %s bar%u+%x", name, com->bar,
		  com->offset, ntf->bar, ntf->offset, ntf->mult, isr->bar, isr->offset, dev->found ? "" : "none",
		  dev->bar, dev->offset);

	rc = virtio_reset(vd);
	if (rc < 0)
		goto fail_stuck; /* the firmware's driver may have left it live */
	vd->num_queues = vcom_rd16(vd, VIRTIO_COMMON_NUMQ);
	return 0;

fail_stuck:
	quiet = false;
fail:
	virtio_pci_abandon(vd, quiet);
	return rc;
}

int virtio_pci_close(struct virtio_dev *vd)
{
	virtio_set_status(vd, VIRTIO_STATUS_FAILED);
	int rc = virtio_reset(vd);
	virtio_pci_abandon(vd, rc == 0);
	return rc;
}

int virtio_pci_stop(struct virtio_dev *vd)
{
	virtio_set_status(vd, VIRTIO_STATUS_FAILED);
	int rc = virtio_reset(vd);
	if (rc < 0)
		pci_quarantine(vd->pci, "virtio: the device reset did not complete");
	return rc;
}

/* ---- Initialization (3.1.1) ---------------------------------------------- */

int virtio_negotiate(struct virtio_dev *vd, u64 want, u64 need)
{
	virtio_set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_set_status(vd, VIRTIO_STATUS_DRIVER);

	vcom_wr32(vd, VIRTIO_COMMON_DFSELECT, 0);
	u64 offered = vcom_rd32(vd, VIRTIO_COMMON_DF);
	vcom_wr32(vd, VIRTIO_COMMON_DFSELECT, 1);
	offered |= (u64)vcom_rd32(vd, VIRTIO_COMMON_DF) << 32;
	if ((offered & need) != need) {
		log_err("%s: the device lacks required features %lx (offers %lx)", vd->name, need & ~offered, offered);
		return -E_NOTSUP;
	}

	u64 f = offered & (want | need);
	vcom_wr32(vd, VIRTIO_COMMON_GFSELECT, 0);
	vcom_wr32(vd, VIRTIO_COMMON_GF, (u32)f);
	vcom_wr32(vd, VIRTIO_COMMON_GFSELECT, 1);
	vcom_wr32(vd, VIRTIO_COMMON_GF, (u32)(f >> 32));
	virtio_set_status(vd, VIRTIO_STATUS_FEATURES_OK);
	/* The device clears FEATURES_OK again when it cannot work with the set. */
	if (!(virtio_status(vd) & VIRTIO_STATUS_FEATURES_OK)) {
		log_err("%s: the device refused features %lx (FEATURES_OK did not stay set)", vd->name, f);
		return -E_NOTSUP;
	}
	vd->features = f;
	log_debug("%s: features offered %lx, accepted %lx", vd->name, offered, f);
	return 0;
}

/* Ring placement in one zeroed allocation: descriptor table at 0 (16-byte
 * aligned), available ring after it (2-byte), used ring 4-byte aligned
 * (2.7, alignment table). */
static size_t virtq_avail_off(u16 size) { return sizeof(struct virtq_desc) * size; }
static size_t virtq_used_off(u16 size) { return ALIGN_UP(virtq_avail_off(size) + 6 + 2 * (size_t)size, 4); }
static size_t virtq_bytes(u16 size) { return virtq_used_off(size) + 6 + sizeof(struct virtq_used_elem) * size; }

/* Virtqueue configuration (4.1.5.1.3). */
int virtio_queue_setup(struct virtio_dev *vd, u16 index, u16 max_size, struct virtq *q)
{
	if (index >= vd->num_queues)
		return -E_NOENT;
	vcom_wr16(vd, VIRTIO_COMMON_Q_SELECT, index);
	u16 dev_max = vcom_rd16(vd, VIRTIO_COMMON_Q_SIZE);
	if (dev_max == 0)
		return -E_NOENT;
	if (vcom_rd16(vd, VIRTIO_COMMON_Q_ENABLE)) {
		log_err("%s: queue %u is enabled before setup", vd->name, index);
		return -E_IO;
	}
	/* The largest power of 2 that both sides accept. */
	u16 limit = MIN(MIN(dev_max, max_size), VIRTQ_MAX_SIZE);
	u16 size = 1;
	while ((u32)size * 2 <= limit)
		size *= 2;

	u16 noff = vcom_rd16(vd, VIRTIO_COMMON_Q_NOFF);
	u64 notify_at = (u64)noff * vd->notify_mult;
	if (notify_at + 2 > vd->notify_len) {
		log_err("%s: queue %u notification offset %lx is outside the notification area (%u bytes)", vd->name,
			index, notify_at, vd->notify_len);
		return -E_IO;
	}

	size_t pages = ALIGN_UP(virtq_bytes(size), PAGE_SIZE) / PAGE_SIZE;
	u8 *mem = page_alloc(pages);
	if (!mem)
		return -E_NOMEM;
	*q = (struct virtq){
		.index = index,
		.size = size,
		.desc = (struct virtq_desc *)mem,
		.avail = (struct virtq_avail *)(mem + virtq_avail_off(size)),
		.used = (struct virtq_used *)(mem + virtq_used_off(size)),
		.notify = (volatile u16 *)(vd->notify + notify_at),
		.mem = mem,
		.pages = pages,
	};
	/* Always written: a device may take queue_size only from this write. */
	vcom_wr16(vd, VIRTIO_COMMON_Q_SIZE, size);
	vcom_wr64(vd, VIRTIO_COMMON_Q_DESCLO, virt_to_phys(q->desc));
	vcom_wr64(vd, VIRTIO_COMMON_Q_AVAILLO, virt_to_phys(q->avail));
	vcom_wr64(vd, VIRTIO_COMMON_Q_USEDLO, virt_to_phys(q->used));
	wmb();
	vcom_wr16(vd, VIRTIO_COMMON_Q_ENABLE, 1);
	return 0;
}

void virtio_queue_free(struct virtq *q)
{
	if (q->mem)
		page_free(q->mem, q->pages);
	q->mem = NULL;
}

void virtio_driver_ok(struct virtio_dev *vd)
{
	wmb(); /* rings and buffers are in memory before the device may look */
	virtio_set_status(vd, VIRTIO_STATUS_DRIVER_OK);
}

/* ---- Virtqueue operation ------------------------------------------------- */

/* Supplying buffers (2.7.13.3, 2.7.13.4): the ring entries are visible
 * before idx, idx before the driver reads the suppression flag. */
void virtq_kick(struct virtq *q)
{
	wmb();
	*(volatile u16 *)&q->avail->idx = q->avail_idx;
	mb();
	if (!(*(volatile u16 *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY))
		*q->notify = q->index; /* 4.1.5.2: the queue's index, 16 bits */
}

/* Receiving used buffers (2.7.14): read used->idx, then (after the
 * barrier) the elements it covers. */
u16 virtq_used_pending(const struct virtq *q)
{
	u16 idx = *(const volatile u16 *)&q->used->idx;
	rmb();
	return (u16)(idx - q->used_idx);
}

bool virtq_peek_used(const struct virtq *q, u16 ahead, u32 *id, u32 *len)
{
	if (virtq_used_pending(q) <= ahead)
		return false;
	const volatile struct virtq_used_elem *e = &q->used->ring[(u16)(q->used_idx + ahead) & (q->size - 1)];
	*id = e->id;
	*len = e->len;
	return true;
}

bool virtq_get_used(struct virtq *q, u32 *id, u32 *len)
{
	if (!virtq_peek_used(q, 0, id, len))
		return false;
	q->used_idx++;
	return true;
}

void virtq_interrupts(struct virtq *q, bool on)
{
	*(volatile u16 *)&q->avail->flags = on ? 0 : (u16)VIRTQ_AVAIL_F_NO_INTERRUPT;
	mb();
}
