/* A minimal virtio-blk driver for ferry's guest (vblk_drv.h), modern PCI
 * transport only (virtio 1.2, 4.1), as Linux's virtio_pci would find and
 * set it up, but polled: ferry completes every request before the
 * doorbell write returns. */
#include "vblk_drv.h"
#include "kernel.h"
#include "lib/string.h"
#include "x86/io.h"

#define PCI_ADDR 0xCF8
#define PCI_DATA 0xCFC
#define CMD_MEM 0x2
#define CMD_MASTER 0x4

static struct vblk vb;
static bool found;
static struct disk disk;
/* The rings and one request's header and status. */
static struct virtq_desc ring_desc[VBLK_QSIZE] __aligned(4096);
static u16 ring_avail[3 + VBLK_QSIZE] __aligned(4096);
static u8 ring_used[VIRTQ_USED_BYTES(VBLK_QSIZE)] __aligned(4096);
static struct virtio_blk_req_hdr req_hdr __aligned(16);
static volatile u8 req_status __aligned(16);
static u16 next_desc;

struct vblk *vblk_get(void) { return found ? &vb : NULL; }

static u32 cfg_addr(u8 slot, u16 off) { return BIT(31) | (u32)slot << 11 | (off & 0xFC); }

u32 vblk_cfg_read32(u16 off)
{
	outl(PCI_ADDR, cfg_addr(vb.slot, off));
	return inl(PCI_DATA);
}

void vblk_cfg_write(u16 off, unsigned size, u32 v)
{
	outl(PCI_ADDR, cfg_addr(vb.slot, off));
	if (size == 4)
		outl(PCI_DATA, v);
	else if (size == 2)
		outw((u16)(PCI_DATA + (off & 2)), (u16)v);
	else
		outb((u16)(PCI_DATA + (off & 3)), (u8)v);
}

static u8 cfg8(u16 off) { return (u8)(vblk_cfg_read32(off) >> (8 * (off & 3))); }

static volatile void *c16(u32 off) { return vb.common + off; }
static u8 cr8(u32 off) { return *(volatile u8 *)(vb.common + off); }
static void cw8(u32 off, u8 v) { *(volatile u8 *)(vb.common + off) = v; }
static void cw16(u32 off, u16 v) { *(volatile u16 *)c16(off) = v; }
static u32 cr32(u32 off) { return *(volatile u32 *)(vb.common + off); }
static void cw32(u32 off, u32 v) { *(volatile u32 *)(vb.common + off) = v; }

u8 vblk_status(void) { return cr8(VIRTIO_COMMON_STATUS); }

/* Reads the BARs and the vendor capabilities; maps what they point at. */
static int locate(void)
{
	for (unsigned i = 0; i < 5; i++) {
		u32 lo = vblk_cfg_read32((u16)(0x10 + 4 * i));
		if ((lo & 7) == 4) { /* 64-bit memory BAR: this slot and the next */
			vb.bar[i] = (lo & ~0xFull) | (u64)vblk_cfg_read32((u16)(0x14 + 4 * i)) << 32;
			i++;
		}
	}
	for (u8 p = cfg8(0x34); p; p = cfg8((u16)(p + 1))) {
		u8 id = cfg8(p), type = cfg8((u16)(p + VIRTIO_CAP_TYPE)), bar = cfg8((u16)(p + VIRTIO_CAP_BAR));
		if (id == 0x11)
			vb.msix_cap = p;
		if (id != 0x09 || bar > 5)
			continue;
		u64 a = vb.bar[bar] + vblk_cfg_read32((u16)(p + VIRTIO_CAP_OFFSET));
		u32 len = vblk_cfg_read32((u16)(p + VIRTIO_CAP_LENGTH));
		if (type == VIRTIO_PCI_CAP_PCI_CFG) {
			vb.pci_cfg_cap = p;
			continue;
		}
		if (!vb.bar[bar] || paging_map_device(a, len ? len : 1) < 0)
			return -E_NOMEM;
		volatile u8 *v = (volatile u8 *)(uintptr_t)a;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			vb.common = v;
		else if (type == VIRTIO_PCI_CAP_ISR_CFG)
			vb.isr = v;
		else if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
			vb.devcfg = v;
		else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			vb.notify = v;
			vb.notify_mult = vblk_cfg_read32((u16)(p + VIRTIO_CAP_NOTIFY_MULT));
		}
	}
	return vb.common && vb.isr && vb.devcfg && vb.notify ? 0 : -E_NOENT;
}

static u64 offered(void)
{
	cw32(VIRTIO_COMMON_DFSELECT, 0);
	u64 f = cr32(VIRTIO_COMMON_DF);
	cw32(VIRTIO_COMMON_DFSELECT, 1);
	return f | (u64)cr32(VIRTIO_COMMON_DF) << 32;
}

static void queue_setup(u16 vector)
{
	memset(ring_desc, 0, sizeof(ring_desc));
	memset(ring_avail, 0, sizeof(ring_avail));
	memset(ring_used, 0, sizeof(ring_used));
	vb.desc = ring_desc;
	vb.avail = ring_avail;
	vb.used = ring_used;
	vb.avail_idx = vb.used_idx = 0;
	next_desc = 0;
	cw16(VIRTIO_COMMON_Q_SELECT, 0);
	cw16(VIRTIO_COMMON_Q_SIZE, VBLK_QSIZE);
	cw16(VIRTIO_COMMON_Q_MSIX, vector);
	u64 d = (u64)(uintptr_t)ring_desc, a = (u64)(uintptr_t)ring_avail, u = (u64)(uintptr_t)ring_used;
	cw32(VIRTIO_COMMON_Q_DESCLO, (u32)d);
	cw32(VIRTIO_COMMON_Q_DESCHI, (u32)(d >> 32));
	cw32(VIRTIO_COMMON_Q_AVAILLO, (u32)a);
	cw32(VIRTIO_COMMON_Q_AVAILHI, (u32)(a >> 32));
	cw32(VIRTIO_COMMON_Q_USEDLO, (u32)u);
	cw32(VIRTIO_COMMON_Q_USEDHI, (u32)(u >> 32));
	cw16(VIRTIO_COMMON_Q_ENABLE, 1);
}

u8 vblk_setup_vectors(u64 features, u16 config_vector, u16 queue_vector)
{
	cw8(VIRTIO_COMMON_STATUS, 0);
	for (unsigned i = 0; vblk_status() && i < 1000; i++)
		;
	u8 st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	cw8(VIRTIO_COMMON_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cw8(VIRTIO_COMMON_STATUS, st);
	vb.features = features & offered();
	cw32(VIRTIO_COMMON_GFSELECT, 0);
	cw32(VIRTIO_COMMON_GF, (u32)vb.features);
	cw32(VIRTIO_COMMON_GFSELECT, 1);
	cw32(VIRTIO_COMMON_GF, (u32)(vb.features >> 32));
	cw8(VIRTIO_COMMON_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
	if (!(vblk_status() & VIRTIO_STATUS_FEATURES_OK))
		return vblk_status();
	cw16(VIRTIO_COMMON_MSIX, config_vector);
	queue_setup(queue_vector);
	cw8(VIRTIO_COMMON_STATUS, st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	return vblk_status();
}

u8 vblk_setup(u64 features) { return vblk_setup_vectors(features, VIRTIO_MSI_NO_VECTOR, VIRTIO_MSI_NO_VECTOR); }

u16 vblk_next_desc(void) { return next_desc++ % VBLK_QSIZE; }

void vblk_offer_raw(u16 delta, u16 head)
{
	vb.avail[2 + (vb.avail_idx & (VBLK_QSIZE - 1))] = head;
	vb.avail_idx = (u16)(vb.avail_idx + delta);
	__asm__ volatile("" ::: "memory"); /* the entry before the index */
	vb.avail[1] = vb.avail_idx;
}

void vblk_offer(u16 head) { vblk_offer_raw(1, head); }

void vblk_kick(void)
{
	__asm__ volatile("mfence" ::: "memory");
	*(volatile u16 *)(vb.notify) = 0; /* queue 0, notify_off 0 */
	__asm__ volatile("" ::: "memory");
}

bool vblk_kick_if_asked(void)
{
	__asm__ volatile("mfence" ::: "memory"); /* the index is out before the flag is read */
	if (*(volatile u16 *)vb.used & VIRTQ_USED_F_NO_NOTIFY)
		return false;
	vblk_kick();
	return true;
}

bool vblk_used(u32 *id, u32 *len)
{
	u16 idx = *(volatile u16 *)(vb.used + 2);
	if (idx == vb.used_idx)
		return false;
	const volatile struct virtq_used_elem *e =
		(const volatile struct virtq_used_elem *)(vb.used + 4) + (vb.used_idx & (VBLK_QSIZE - 1));
	*id = e->id;
	*len = e->len;
	vb.used_idx++;
	return true;
}

int vblk_request(u32 type, u64 sector, u64 buf_gpa, u32 len)
{
	req_hdr = (struct virtio_blk_req_hdr){ type, 0, sector };
	req_status = 0xFF;
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	u16 h = vblk_next_desc(), d = len ? vblk_next_desc() : 0, s = vblk_next_desc();
	vb.desc[h] = (struct virtq_desc){ (u64)(uintptr_t)&req_hdr, sizeof(req_hdr), VIRTQ_DESC_F_NEXT, len ? d : s };
	if (len)
		vb.desc[d] = (struct virtq_desc){ buf_gpa, len,
						  (u16)(VIRTQ_DESC_F_NEXT | (in ? VIRTQ_DESC_F_WRITE : 0)), s };
	vb.desc[s] = (struct virtq_desc){ (u64)(uintptr_t)&req_status, 1, VIRTQ_DESC_F_WRITE, 0 };
	vblk_offer(h);
	vblk_kick();
	/* Done at the doorbell on a synchronous back end; else spin (ferry
	 * catches the PAUSE while the request is in flight).  ferry ends
	 * every request, within its dead time at worst. */
	u32 id, ulen;
	for (u64 spin = 0; !vblk_used(&id, &ulen); spin++) {
		if (spin >> 36)
			return -E_IO;
		__asm__ volatile("pause" ::: "memory");
	}
	if (id != h)
		return -E_IO;
	return req_status;
}

/* ---- the disk ---------------------------------------------------------------- */

static int transfer(bool write, u64 lba, u32 count, u64 p)
{
	u64 bytes = (u64)count * disk.sector_size, sector = lba * (disk.sector_size / VIRTIO_BLK_SECTOR);
	while (bytes) {
		u32 n = (u32)MIN(bytes, (u64)VBLK_MAX_REQ_BYTES);
		int st = vblk_request(write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, p, n);
		if (st != VIRTIO_BLK_S_OK)
			return st < 0 ? st : -E_IO;
		p += n;
		bytes -= n;
		sector += n / VIRTIO_BLK_SECTOR;
	}
	return 0;
}

static int vd_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	(void)d;
	return transfer(false, lba, count, (u64)(uintptr_t)buf);
}
static int vd_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	(void)d;
	return transfer(true, lba, count, (u64)(uintptr_t)buf);
}
static int vd_flush(struct disk *d)
{
	(void)d;
	return vblk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) == VIRTIO_BLK_S_OK ? 0 : -E_IO;
}

static bool find_slot(void)
{
	for (u8 s = 0; s < 32; s++) {
		outl(PCI_ADDR, cfg_addr(s, 0));
		if (inl(PCI_DATA) == (VIRTIO_PCI_VENDOR | (u32)VIRTIO_PCI_DEVICE_BLK << 16)) {
			vb.slot = s;
			return true;
		}
	}
	return false;
}

int vblk_probe(struct disk **out)
{
	if (!find_slot())
		return -E_NOENT;
	vblk_cfg_write(0x04, 2, CMD_MEM | CMD_MASTER);
	int rc = locate();
	if (rc < 0)
		return rc;
	u64 want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
		   BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_RO);
	u8 st = vblk_setup(want);
	if (st != (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK))
		return -E_IO;
	vb.capacity = *(volatile u64 *)(vb.devcfg + VIRTIO_BLK_CFG_CAPACITY);
	vb.seg_max = *(volatile u32 *)(vb.devcfg + VIRTIO_BLK_CFG_SEG_MAX);
	vb.blk_size = (vb.features & BIT(VIRTIO_BLK_F_BLK_SIZE)) ? *(volatile u32 *)(vb.devcfg + VIRTIO_BLK_CFG_BLK_SIZE)
							       : VIRTIO_BLK_SECTOR;
	if (vb.blk_size < VIRTIO_BLK_SECTOR || vb.blk_size % VIRTIO_BLK_SECTOR)
		return -E_IO;
	found = true;
	disk = (struct disk){ .name = "vd0", .driver = "virtio-blk", .sector_size = vb.blk_size,
			      .sectors = vb.capacity / (vb.blk_size / VIRTIO_BLK_SECTOR), .read = vd_read,
			      .write = vd_write, .flush = vd_flush };
	*out = &disk;
	con_printf("guest: vd0: virtio-blk at pci 00:%02x.0, %lu sectors of %u bytes, features %lx", vb.slot,
		   disk.sectors, vb.blk_size, vb.features);
	return 0;
}
