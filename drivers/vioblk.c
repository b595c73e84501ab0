/* virtio-blk disk driver: a virtio block device (a cloud or virtual
 * machine's disk) as the disk ferry owns.
 *
 * The device is found as the modern 1AF4:1042 or the transitional
 * 1AF4:1001 with subsystem 2, through the modern interface only (the
 * shared transport, drivers/virtio_pci.c, which also claims and hides the
 * function).  One request queue, polled: used buffer notifications are
 * off and no MSI-X vector is set.  A request is one descriptor chain: the
 * header, the data segments (split at size_max), the status byte; up to
 * VIOBLK_SLOTS of them in flight (drivers/vioblk_queue.c).
 *
 * Sector size: 4096 when the device reports blk_size 4096 (the guest then
 * sees 4096-byte sectors, as with NVMe), else 512; request sectors are
 * always in 512-byte units on the wire (5.2.6).  VIRTIO_BLK_F_RO makes the
 * disk read-only: the logical device refuses writes, and so does this
 * driver.
 *
 * References: Virtio 1.2 (OASIS virtio-v1.2-cs01), sections in vioblk.h
 * and virtio_pci.h. */
#include "vioblk.h"
#include "vioblk_queue.h"
#include "drivers.h"
#include "platform/console.h"
#include "platform/pci.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/io.h"

#define VIOBLK_NAME "vioblk"
#define VIOBLK_QUEUE_SIZE 256u

/* One per disk taken: a server may export several (one probe each). */
#define VIOBLK_DISKS 8
static struct vioblk vioblk[VIOBLK_DISKS];
static struct blk_dev vioblk_blk[VIOBLK_DISKS];
static unsigned vioblk_taken;

/* GET_ID at probe (the queue is empty): the serial, or none. */
static void vioblk_get_id(struct vioblk *v, struct blk_info *info)
{
	u8 *id = v->dma + VIOBLK_ID_OFF;
	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	v->q.desc[1] = (struct virtq_desc){ vioblk_pa(v, VIOBLK_ID_OFF), VIRTIO_BLK_ID_BYTES,
					    VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	vioblk_post(v, 0, 0, VIRTIO_BLK_T_GET_ID, 0, 2);
	virtq_kick(&v->q);
	u64 start = time_us();
	u32 got, len;
	while (!virtq_get_used(&v->q, &got, &len)) {
		if ((virtio_status(&v->vd) & VIRTIO_STATUS_NEEDS_RESET) || time_us() - start > VIOBLK_IO_US) {
			vioblk_give_up(v, "GET_ID timed out or made the device need a reset");
			return;
		}
		cpu_relax();
	}
	rmb();
	if (got != 0) {
		vioblk_give_up(v, "GET_ID: the device returned a buffer it was not given");
		return;
	}
	if (vioblk_result(v, 0, VIRTIO_BLK_T_GET_ID, 0) == 0)
		for (unsigned i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
			info->serial[i] = (id[i] >= 0x20 && id[i] < 0x7F) ? (char)id[i] : '?';
}


/* ---- Probe --------------------------------------------------------------- */

static bool vioblk_match(struct pci_dev *pd)
{
	if (pd->vendor != VIRTIO_PCI_VENDOR || pd->header_type != 0)
		return false;
	if (pd->device == VIRTIO_PCI_MODERN_ID_BASE + VIRTIO_ID_BLOCK)
		return true;
	return pd->device == VIRTIO_PCI_TRANS_ID_BLOCK && pci_read16(pd, PCI_SUBSYSTEM_ID) == VIRTIO_ID_BLOCK;
}

/* The device's geometry and limits (5.2.4), and its ID (GET_ID) as the
 * serial. */
static int vioblk_geometry(struct vioblk *v, struct blk_info *info)
{
	const struct virtio_dev *vd = &v->vd;
	u64 cap = virtio_cfg_rd64(vd, VIRTIO_BLK_CFG_CAPACITY);
	u32 bs = virtio_has(vd, VIRTIO_BLK_F_BLK_SIZE) ? virtio_cfg_rd32(vd, VIRTIO_BLK_CFG_BLK_SIZE) : VIRTIO_BLK_SECTOR;
	v->sector_size = bs == 4096 ? 4096 : VIRTIO_BLK_SECTOR;
	v->sectors = cap / (v->sector_size / VIRTIO_BLK_SECTOR);
	v->seg_max = v->q.size - 2;
	if (virtio_has(vd, VIRTIO_BLK_F_SEG_MAX)) {
		u32 sm = virtio_cfg_rd32(vd, VIRTIO_BLK_CFG_SEG_MAX);
		v->seg_max = sm ? MIN(sm, v->seg_max) : 1;
	}
	v->size_max = 1u << 22;
	if (virtio_has(vd, VIRTIO_BLK_F_SIZE_MAX)) {
		u32 sz = virtio_cfg_rd32(vd, VIRTIO_BLK_CFG_SIZE_MAX) & ~(u32)(PAGE_SIZE - 1);
		v->size_max = sz ? MIN(sz, v->size_max) : PAGE_SIZE;
	}
	if (!v->sectors) {
		log_err("virtio-blk: the device reports no capacity");
		return -E_NOENT;
	}
	u64 max_bytes = MIN((u64)VIOBLK_MAX_BYTES, (u64)v->seg_max * v->size_max); /* the bounce buffer fits */
	*info = (struct blk_info){
		.sectors = v->sectors,
		.sector_size = v->sector_size,
		.max_sectors = (u32)(max_bytes / v->sector_size),
		.read_only = virtio_has(vd, VIRTIO_BLK_F_RO),
	};
	if (!info->max_sectors) {
		log_err("virtio-blk: limits too small for one sector (seg_max %u, size_max %u)", v->seg_max, v->size_max);
		return -E_NOTSUP;
	}
	str_copy(info->model, "virtio-blk", sizeof(info->model));
	vioblk_get_id(v, info);
	return v->broken ? -E_IO : 0;
}

/* Transport, features, queue, DRIVER_OK.  0, or an error with the device
 * given back or kept hidden by virtio_pci_close. */
static int vioblk_attach(struct pci_dev *pd, struct vioblk *v, struct blk_info *info)
{
	bool opened = false;
	int rc = virtio_pci_open(pd, VIOBLK_NAME, &v->vd);
	if (rc < 0)
		goto fail;
	opened = true;
	u64 want = BIT(VIRTIO_BLK_F_RO) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_SEG_MAX) |
		   BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_F_ACCESS_PLATFORM) | BIT(VIRTIO_F_ORDER_PLATFORM);
	if ((rc = virtio_negotiate(&v->vd, want, BIT(VIRTIO_F_VERSION_1))) < 0 ||
	    (rc = virtio_queue_setup(&v->vd, 0, VIOBLK_QUEUE_SIZE, &v->q)) < 0)
		goto fail;
	if (v->q.size < VIOBLK_SLOT_DESC) {
		log_err("virtio-blk: a queue of %u entries is too small (%u at least)", v->q.size, VIOBLK_SLOT_DESC);
		rc = -E_NOTSUP;
		goto fail;
	}
	v->slots = MIN(VIOBLK_SLOTS, v->q.size / VIOBLK_SLOT_DESC);
	virtq_interrupts(&v->q, false);
	virtio_driver_ok(&v->vd);
	u8 st = virtio_status(&v->vd);
	if (!(st & VIRTIO_STATUS_DRIVER_OK) || (st & VIRTIO_STATUS_NEEDS_RESET)) {
		log_err("virtio-blk: the device did not accept DRIVER_OK (device_status=%02x)", st);
		rc = -E_IO;
		goto fail;
	}
	if ((rc = vioblk_geometry(v, info)) < 0)
		goto fail;
	return 0;

fail:
	if (opened && virtio_pci_close(&v->vd) < 0) {
		log_err("virtio-blk: leaving the queue and buffers to the device");
		return rc;
	}
	virtio_queue_free(&v->q);
	page_free(v->dma, VIOBLK_DMA_PAGES);
	return rc;
}

static int vioblk_probe(const char *want, struct blk_dev **out)
{
	if (vioblk_taken == VIOBLK_DISKS) {
		log_warn("virtio-blk: ferry takes at most %u virtio-blk disks", VIOBLK_DISKS);
		return -E_NOENT;
	}
	struct vioblk *v = &vioblk[vioblk_taken];
	unsigned idx = 0;
	struct pci_dev *pd;
	int rc = -E_NOENT;

	for (unsigned i = 0; (pd = pci_get(i)); i++) {
		if (!vioblk_match(pd))
			continue;
		char name[16];
		fmt_snprintf(name, sizeof(name), "virtio%u", idx++);
		if (pd->owner)
			continue;
		if (want && strcmp(want, name)) {
			blk_take(want, name); /* seen, not started */
			continue;
		}
		*v = (struct vioblk){ .dma = page_alloc(VIOBLK_DMA_PAGES) };
		if (!v->dma)
			return -E_NOMEM;
		struct blk_info info;
		int r = vioblk_attach(pd, v, &info);
		if (r < 0) {
			rc = r;
			continue;
		}
		blk_take(want, name);
		str_copy(v->name, name, sizeof(v->name));
		log_info("virtio-blk: %s: %02x:%02x.%x %04x:%04x, %lu sectors of %u bytes (%lu MiB)%s, id \"%s\", "
			 "%u-entry queue (%u requests in flight), seg_max %u, size_max %u, features %lx", name, pd->bus, pd->dev, pd->fn,
			 pd->vendor, pd->device, info.sectors, info.sector_size, (info.sectors * info.sector_size) >> 20,
			 info.read_only ? ", read-only" : "", info.serial, v->q.size, v->slots, v->seg_max, v->size_max,
			 v->vd.features);
		struct blk_dev *d = &vioblk_blk[vioblk_taken++];
		*d = (struct blk_dev){ .name = v->name, .ops = &vioblk_ops, .info = info, .queue_depth = VIOBLK_HOLD,
				       .priv = v };
		*out = d;
		return 0;
	}
	if (rc == -E_NOENT)
		log_debug("virtio-blk: no virtio block device%s", want ? " of that name" : "");
	return rc;
}

const struct blk_driver vioblk_driver = {
	.name = "virtio-blk",
	.probe = vioblk_probe,
};
