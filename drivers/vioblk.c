/* virtio-blk disk driver: a virtio block device (a cloud or virtual
 * machine's disk) as the disk ferry owns.
 *
 * The device is found as the modern 1AF4:1042 or the transitional
 * 1AF4:1001 with subsystem 2, through the modern interface only (the
 * shared transport, drivers/virtio_pci.c, which also claims and hides the
 * function).  One request queue, one request at a time, polled: used
 * buffer notifications are off and no MSI-X vector is set.  A request is
 * one descriptor chain: the header, the data segments (split at size_max),
 * the status byte; a segment list with more pieces than seg_max allows
 * goes through a bounce buffer instead.
 *
 * Sector size: 4096 when the device reports blk_size 4096 (the guest then
 * sees 4096-byte sectors, as with NVMe), else 512; request sectors are
 * always in 512-byte units on the wire (5.2.6).  VIRTIO_BLK_F_RO makes the
 * disk read-only: the logical device refuses writes, and so does this
 * driver.  A request that does not complete in time, or a device that sets
 * NEEDS_RESET, is an I/O error, and every later request fails: ferry never
 * waits on a device it has given up on.
 *
 * References: Virtio 1.2 (OASIS virtio-v1.2-cs01), sections in vioblk.h
 * and virtio_pci.h. */
#include "vioblk.h"
#include "blk_segs.h"
#include "drivers.h"
#include "virtio_pci.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/io.h"

#define VIOBLK_NAME "vioblk"
#define VIOBLK_QUEUE_SIZE 128u
#define VIOBLK_MAX_BYTES (256u * 1024) /* one request */
#define VIOBLK_BOUNCE_PAGES (VIOBLK_MAX_BYTES / PAGE_SIZE)
#define VIOBLK_DMA_PAGES (1 + VIOBLK_BOUNCE_PAGES) /* header, status and ID, then the bounce buffer */
#define VIOBLK_STATUS_OFF 64
#define VIOBLK_ID_OFF 128
#define VIOBLK_IO_US (10 * 1000 * 1000)
#define VIOBLK_FLUSH_US (30 * 1000 * 1000)

struct vioblk {
	struct virtio_dev vd;
	struct virtq q;
	u8 *dma;
	u32 seg_max;      /* data descriptors per request */
	u32 size_max;     /* bytes per data descriptor */
	u32 sector_size;
	u64 sectors;      /* of sector_size */
	bool broken;
	char name[16];    /* virtioN */
};

/* One per disk taken: a server may export several (one probe each). */
#define VIOBLK_DISKS 8
static struct vioblk vioblk[VIOBLK_DISKS];
static struct blk_dev vioblk_blk[VIOBLK_DISKS];
static unsigned vioblk_taken;

static inline u64 vioblk_pa(const struct vioblk *v, unsigned off) { return virt_to_phys(v->dma + off); }

/* Descriptors 1.. for the data: false when the list needs more than
 * seg_max pieces.  *next is the index after the last. */
static bool vioblk_fill(struct vioblk *v, const struct blk_seg *segs, unsigned nseg, bool dev_writes,
			unsigned *next)
{
	unsigned n = 1;
	for (unsigned i = 0; i < nseg; i++) {
		u64 a = segs[i].addr;
		for (u32 len = segs[i].len; len;) {
			u32 chunk = MIN(len, v->size_max);
			if (n - 1 == v->seg_max)
				return false;
			v->q.desc[n] = (struct virtq_desc){ a, chunk,
							    (u16)(VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0)),
							    (u16)(n + 1) };
			n++;
			a += chunk;
			len -= chunk;
		}
	}
	*next = n;
	return true;
}

static const char *vioblk_type_name(u32 type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN: return "IN";
	case VIRTIO_BLK_T_OUT: return "OUT";
	case VIRTIO_BLK_T_FLUSH: return "FLUSH";
	case VIRTIO_BLK_T_GET_ID: return "GET_ID";
	default: return "request";
	}
}

/* Runs the chain header, descriptors 1..st-1, status at st, and polls for
 * it: 0, -E_NOTSUP (UNSUPP), -E_IO or -E_TIMEDOUT. */
static int vioblk_issue(struct vioblk *v, u32 type, u64 sector, unsigned st, u64 timeout_us)
{
	struct virtio_blk_req_hdr *h = (struct virtio_blk_req_hdr *)v->dma;
	volatile u8 *status = v->dma + VIOBLK_STATUS_OFF;
	*h = (struct virtio_blk_req_hdr){ .type = type, .sector = sector };
	*status = 0xFF;
	v->q.desc[0] = (struct virtq_desc){ vioblk_pa(v, 0), sizeof(*h), VIRTQ_DESC_F_NEXT, 1 };
	v->q.desc[st] = (struct virtq_desc){ vioblk_pa(v, VIOBLK_STATUS_OFF), 1, VIRTQ_DESC_F_WRITE, 0 };
	virtq_add(&v->q, 0);
	virtq_kick(&v->q);

	u64 start = time_us();
	u32 id, len;
	while (!virtq_get_used(&v->q, &id, &len)) {
		u8 ds = virtio_status(&v->vd);
		if ((ds & VIRTIO_STATUS_NEEDS_RESET) || time_us() - start > timeout_us) {
			log_err("virtio-blk: %s at sector %lu %s (device_status=%02x); every request to %s now fails",
				vioblk_type_name(type), sector, (ds & VIRTIO_STATUS_NEEDS_RESET) ? "made the device "
				"need a reset" : "timed out", ds, v->name);
			v->broken = true;
			return -E_TIMEDOUT;
		}
		cpu_relax();
	}
	rmb(); /* the status byte and the data after the used element */
	u8 s = *status;
	if (s == VIRTIO_BLK_S_OK)
		return 0;
	log_err("virtio-blk: %s at sector %lu failed: status %u%s", vioblk_type_name(type), sector, s,
		s == VIRTIO_BLK_S_UNSUPP ? " (unsupported)" : "");
	return s == VIRTIO_BLK_S_UNSUPP ? -E_NOTSUP : -E_IO;
}

static int vioblk_rw(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
{
	struct vioblk *v = dev ? dev->priv : NULL;
	if (!v || count == 0 || count > dev->info.max_sectors ||
	    lba >= v->sectors || count > v->sectors - lba)
		return -E_INVAL;
	u64 bytes = (u64)count * v->sector_size;
	int rc = blk_segs_check(segs, nseg, bytes);
	if (rc < 0)
		return rc;
	if (write && dev->info.read_only) {
		log_guest_warn("virtio-blk: %s is read-only (VIRTIO_BLK_F_RO): writes are refused", v->name);
		return -E_ROFS;
	}
	if (v->broken)
		return -E_IO;

	unsigned st;
	u8 *bounce = v->dma + PAGE_SIZE;
	struct blk_seg whole = { virt_to_phys(bounce), (u32)bytes };
	bool bounced = !vioblk_fill(v, segs, nseg, !write, &st);
	if (bounced) {
		if (write)
			blk_segs_copy(bounce, segs, nseg, true);
		if (!vioblk_fill(v, &whole, 1, !write, &st))
			return -E_INVAL; /* max_sectors keeps the bounce buffer within seg_max */
	}
	u64 sector = lba * (v->sector_size / VIRTIO_BLK_SECTOR);
	rc = vioblk_issue(v, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, st, VIOBLK_IO_US);
	if (rc == 0 && bounced && !write)
		blk_segs_copy(bounce, segs, nseg, false);
	return rc;
}

static int vioblk_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return vioblk_rw(dev, lba, count, segs, nseg, false);
}

static int vioblk_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return vioblk_rw(dev, lba, count, segs, nseg, true);
}

/* Without VIRTIO_BLK_F_FLUSH the device has no write cache to flush
 * (5.2.6.2: writes are then durable when they complete). */
static int vioblk_flush(struct blk_dev *dev)
{
	struct vioblk *v = dev ? dev->priv : NULL;
	if (!v)
		return -E_INVAL;
	if (v->broken)
		return -E_IO;
	if (!virtio_has(&v->vd, VIRTIO_BLK_F_FLUSH))
		return 0;
	return vioblk_issue(v, VIRTIO_BLK_T_FLUSH, 0, 1, VIOBLK_FLUSH_US);
}

static const struct blk_ops vioblk_ops = {
	.read = vioblk_read,
	.write = vioblk_write,
	.flush = vioblk_flush,
};

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
	u8 *id = v->dma + VIOBLK_ID_OFF;
	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	v->q.desc[1] = (struct virtq_desc){ vioblk_pa(v, VIOBLK_ID_OFF), VIRTIO_BLK_ID_BYTES,
					    VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	if (vioblk_issue(v, VIRTIO_BLK_T_GET_ID, 0, 2, VIOBLK_IO_US) == 0)
		for (unsigned i = 0; i < VIRTIO_BLK_ID_BYTES && id[i]; i++)
			info->serial[i] = (id[i] >= 0x20 && id[i] < 0x7F) ? (char)id[i] : '?';
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
	if (v->q.size < 4) {
		rc = -E_NOTSUP;
		goto fail;
	}
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
			 "%u-entry queue, seg_max %u, size_max %u, features %lx", name, pd->bus, pd->dev, pd->fn,
			 pd->vendor, pd->device, info.sectors, info.sector_size, (info.sectors * info.sector_size) >> 20,
			 info.read_only ? ", read-only" : "", info.serial, v->q.size, v->seg_max, v->size_max,
			 v->vd.features);
		struct blk_dev *d = &vioblk_blk[vioblk_taken++];
		*d = (struct blk_dev){ .name = v->name, .ops = &vioblk_ops, .info = info, .priv = v };
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
