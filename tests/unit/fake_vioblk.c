/* A fake modern virtio-blk PCI device (fake_vioblk.h). */
#include <stdlib.h>
#include <string.h>
#include "fake_vioblk.h"
#include "fake_bus.h"
#include "fake_dev.h"
#include "drivers/virtio_pci.h"
#include "lib/virtio_blk.h"
#include "platform/pci.h"

#define COMMON 0x0000u
#define NOTIFY 0x1000u
#define ISR 0x2000u
#define DEVICE 0x3000u
#define QMAX 128u

struct fake_vioblk fake_vioblk;

static u8 *bar;
static struct fake_pci_fn *fn;
static u8 com[VIRTIO_COMMON_LEN]; /* what the driver wrote */
static u32 gf[2];  /* driver_feature, both halves */
static u16 qsize;
static bool qenabled;
static u16 last_avail;

static u32 get(const u8 *p, unsigned n)
{
	u32 v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (u32)p[i] << (8 * i);
	return v;
}

static void put(u8 *p, unsigned n, u64 v)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (u8)(v >> (8 * i));
}

static u64 get64(unsigned off) { return get(com + off, 4) | (u64)get(com + off + 4, 4) << 32; }

/* device_status 0: the device forgets the driver (2.1.2, 4.1.4.3.2). */
static void device_reset(void)
{
	memset(com, 0, sizeof(com));
	gf[0] = gf[1] = 0;
	qsize = QMAX;
	qenabled = false;
	last_avail = 0;
	fake_vioblk.status = 0;
	fake_vioblk.resets++;
}

static void set_status(u8 v)
{
	struct fake_vioblk *d = &fake_vioblk;
	if (v == 0) {
		if (!d->reset_stuck)
			device_reset();
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		d->accepted = gf[0] | (u64)gf[1] << 32;
		if (d->refuse_features)
			v &= (u8)~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && d->reject_driver_ok)
		v |= VIRTIO_STATUS_NEEDS_RESET;
	d->status = v;
}

/* The common configuration's registers; everything else in the BAR is
 * plain memory the test and the device model read. */
bool fake_mmio_access(volatile void *addr, unsigned size, bool write, u32 *val)
{
	uintptr_t a = (uintptr_t)addr;
	if (!bar || a < (uintptr_t)bar + COMMON || a + size > (uintptr_t)bar + COMMON + VIRTIO_COMMON_LEN)
		return false;
	unsigned off = (unsigned)(a - (uintptr_t)bar - COMMON);
	struct fake_vioblk *d = &fake_vioblk;
	if (write) {
		if (off == VIRTIO_COMMON_STATUS) {
			set_status((u8)*val);
		} else if (off == VIRTIO_COMMON_GF) { /* the half driver_feature_select names */
			u32 sel = get(com + VIRTIO_COMMON_GFSELECT, 4);
			if (sel < 2)
				gf[sel] = *val;
		} else if (off == VIRTIO_COMMON_Q_SIZE) {
			if (get(com + VIRTIO_COMMON_Q_SELECT, 2) == 0)
				qsize = (u16)*val;
		} else if (off == VIRTIO_COMMON_Q_ENABLE) {
			qenabled = *val & 1;
		} else {
			put(com + off, size, *val);
		}
		return true;
	}
	u8 r[VIRTIO_COMMON_LEN];
	memcpy(r, com, sizeof(r));
	u32 dsel = get(com + VIRTIO_COMMON_DFSELECT, 4);
	put(r + VIRTIO_COMMON_DF, 4, dsel < 2 ? (u32)(d->features >> (32 * dsel)) : 0);
	u32 gsel = get(com + VIRTIO_COMMON_GFSELECT, 4);
	put(r + VIRTIO_COMMON_GF, 4, gsel < 2 ? gf[gsel] : 0);
	put(r + VIRTIO_COMMON_NUMQ, 2, 1);
	r[VIRTIO_COMMON_STATUS] = d->status;
	r[VIRTIO_COMMON_CFGGEN] = 0;
	bool q0 = get(com + VIRTIO_COMMON_Q_SELECT, 2) == 0;
	put(r + VIRTIO_COMMON_Q_SIZE, 2, q0 ? qsize : 0);
	put(r + VIRTIO_COMMON_Q_ENABLE, 2, q0 && qenabled);
	put(r + VIRTIO_COMMON_Q_NOFF, 2, 0);
	*val = get(r + off, size);
	return true;
}

/* One request: header, data descriptors, status byte (5.2.6). */
static void serve(struct virtq_desc *desc, u16 head, struct virtq_used *used)
{
	struct fake_vioblk *d = &fake_vioblk;
	struct virtq_desc *e = &desc[head], *data[QMAX];
	const struct virtio_blk_req_hdr *hdr = (const void *)(uintptr_t)e->addr;
	unsigned n = 0;
	u64 bytes = 0;
	while ((e->flags & VIRTQ_DESC_F_NEXT) && n < QMAX) {
		e = &desc[e->next % qsize];
		data[n++] = e;
	}
	u8 *status = (u8 *)(uintptr_t)data[--n]->addr; /* the last one */
	if (n > d->most_data)
		d->most_data = n;
	for (unsigned i = 0; i < n; i++)
		bytes += data[i]->len;
	u8 s = VIRTIO_BLK_S_OK;
	u32 written = 1;
	u64 off = hdr->sector * VIRTIO_BLK_SECTOR;
	bool in_range = hdr->sector <= d->sectors && bytes <= (d->sectors - hdr->sector) * VIRTIO_BLK_SECTOR;
	if (d->io_error) {
		s = VIRTIO_BLK_S_IOERR;
	} else if (hdr->type == VIRTIO_BLK_T_IN || hdr->type == VIRTIO_BLK_T_OUT) {
		bool out = hdr->type == VIRTIO_BLK_T_OUT;
		if (!in_range || (out && (d->features & BIT(VIRTIO_BLK_F_RO)))) {
			s = VIRTIO_BLK_S_IOERR;
		} else {
			for (unsigned i = 0; i < n; i++) {
				u8 *p = (u8 *)(uintptr_t)data[i]->addr;
				if (out)
					memcpy(d->data + off, p, data[i]->len);
				else
					memcpy(p, d->data + off, data[i]->len);
				off += data[i]->len;
			}
			if (!out)
				written += (u32)bytes;
			out ? d->writes++ : d->reads++;
		}
	} else if (hdr->type == VIRTIO_BLK_T_FLUSH) {
		d->flushes++;
	} else if (hdr->type == VIRTIO_BLK_T_GET_ID && n == 1) {
		memset((void *)(uintptr_t)data[0]->addr, 0, data[0]->len);
		memcpy((void *)(uintptr_t)data[0]->addr, "FAKEVBLK7", 9);
		written += data[0]->len;
	} else {
		s = VIRTIO_BLK_S_UNSUPP;
	}
	*status = s;
	if (d->nlog < sizeof(d->log) / sizeof(d->log[0]))
		d->log[d->nlog++] = (typeof(d->log[0])){ .type = hdr->type, .bytes = (u32)bytes, .sector = hdr->sector };
	used->ring[used->idx % qsize] = (struct virtq_used_elem){ .id = head + d->bad_id, .len = written };
	d->bad_id = 0;
	used->idx++;
}

static void step(void)
{
	struct fake_vioblk *d = &fake_vioblk;
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || (d->status & VIRTIO_STATUS_NEEDS_RESET) || !qenabled)
		return;
	struct virtq_desc *desc = (void *)(uintptr_t)get64(VIRTIO_COMMON_Q_DESCLO);
	struct virtq_avail *avail = (void *)(uintptr_t)get64(VIRTIO_COMMON_Q_AVAILLO);
	struct virtq_used *used = (void *)(uintptr_t)get64(VIRTIO_COMMON_Q_USEDLO);
	d->pending = (u16)(avail->idx - last_avail);
	if (d->pending > d->most_pending)
		d->most_pending = d->pending;
	if (!d->pending || d->hold || d->io_silent)
		return;
	if (d->io_needs_reset) {
		d->status |= VIRTIO_STATUS_NEEDS_RESET;
		return;
	}
	u16 heads[QMAX], n = 0;
	while (last_avail != avail->idx && n < QMAX)
		heads[n++] = avail->ring[last_avail++ % qsize];
	for (u16 i = 0; i < n; i++)
		serve(desc, heads[d->lifo ? n - 1 - i : i], used);
	d->pending = 0;
}

/* A vendor capability (4.1.4) at config offset at, for a structure in BAR0. */
static void cap(unsigned at, unsigned next, u8 type, u32 off, u32 len, unsigned caplen)
{
	u8 c[20] = { PCI_CAP_ID_VNDR, (u8)next, (u8)caplen, type, 0 };
	put(c + 8, 4, off);
	put(c + 12, 4, len);
	for (unsigned i = 0; i < caplen; i++)
		fn->cfg[(at + i) / 4] |= (u32)c[i] << (8 * ((at + i) % 4));
}

void fake_vioblk_reset(u64 sectors)
{
	if (!bar) {
		bar = fake_bar_map(FAKE_VIOBLK_PA, FAKE_VIOBLK_SIZE);
		fn = fake_pci_add(0, 6, 0, VIRTIO_PCI_VENDOR, VIRTIO_PCI_MODERN_ID_BASE + VIRTIO_ID_BLOCK, 0x01000001, 0);
		fake_pci_bar(fn, 0, false, (u32)FAKE_VIOBLK_PA, FAKE_VIOBLK_SIZE);
		fn->cfg[1] |= (u32)PCI_STATUS_CAP_LIST << 16;
		fn->cfg[PCI_CAP_PTR / 4] = 0x40;
		cap(0x40, 0x50, VIRTIO_PCI_CAP_COMMON_CFG, COMMON, VIRTIO_COMMON_LEN, 16);
		cap(0x50, 0x64, VIRTIO_PCI_CAP_NOTIFY_CFG, NOTIFY, 4, 20); /* multiplier 0: one doorbell */
		cap(0x64, 0x74, VIRTIO_PCI_CAP_ISR_CFG, ISR, 4, 16);
		cap(0x74, 0, VIRTIO_PCI_CAP_DEVICE_CFG, DEVICE, 0x40, 16);
		fake_clock_tick = step;
	}
	free(fake_vioblk.data);
	memset(&fake_vioblk, 0, sizeof(fake_vioblk));
	memset(bar, 0, FAKE_VIOBLK_SIZE);
	device_reset();
	fake_vioblk.resets = 0;
	fake_vioblk.sectors = sectors;
	fake_vioblk.data = calloc(sectors, VIRTIO_BLK_SECTOR);
	fake_vioblk.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_SEG_MAX) |
			       BIT(VIRTIO_BLK_F_SIZE_MAX);
	u8 *cfg = bar + DEVICE;
	put(cfg + VIRTIO_BLK_CFG_CAPACITY, 8, sectors);
	put(cfg + VIRTIO_BLK_CFG_SIZE_MAX, 4, 64 * 1024);
	put(cfg + VIRTIO_BLK_CFG_SEG_MAX, 4, 16);
}

void fake_vioblk_seg_max(u32 n)
{
	put(bar + DEVICE + VIRTIO_BLK_CFG_SEG_MAX, 4, n);
}
