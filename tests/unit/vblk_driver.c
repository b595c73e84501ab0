/* The driver's side of the virtio-blk host tests (vblk_driver.h). */
#include <stdio.h>
#include <stdlib.h>
#include "vblk_driver.h"

struct vm vm;
u8 *ram;
struct fake_disk disk;
unsigned nmsi;
u32 msi_data[64];
static u16 next_desc;
u8 ferry_memory[8192] __attribute__((aligned(4096)));

static int fake_send(u64 addr, u32 data)
{
	(void)addr;
	if (nmsi < 64)
		msi_data[nmsi] = data;
	nmsi++;
	return 0;
}

/* ---- the driver's side ---------------------------------------------------- */

u32 cfg(u16 off, unsigned size) { return pcicfg_read(&vm, 0, SLOT, 0, off, size); }
void cfg_wr(u16 off, unsigned size, u32 v) { pcicfg_write(&vm, 0, SLOT, 0, off, size, v); }

u64 bar_rd(gpa_t bar, u64 off, unsigned size)
{
	struct mmio_region *r = mmio_find(&vm, bar + off);
	return r ? r->read(r->ctx, bar + off - r->start, size) : 0xDEAD;
}
void bar_wr(gpa_t bar, u64 off, unsigned size, u64 v)
{
	struct mmio_region *r = mmio_find(&vm, bar + off);
	if (r)
		r->write(r->ctx, bar + off - r->start, size, v);
}
u64 common(u64 off, unsigned size) { return bar_rd(BAR0, VBLK_BAR0_COMMON + off, size); }
void common_wr(u64 off, unsigned size, u64 v) { bar_wr(BAR0, VBLK_BAR0_COMMON + off, size, v); }
u8 status(void) { return (u8)common(VIRTIO_COMMON_STATUS, 1); }
void kick(void) { bar_wr(BAR0, VBLK_BAR0_NOTIFY, 2, 0); }

gpa_t at(size_t off) { return fake_gpa(ram + off); }
struct virtq_desc *desc(unsigned i) { return (struct virtq_desc *)(ram + DESC_OFF) + i; }
u16 *avail(unsigned word) { return (u16 *)(ram + AVAIL_OFF) + word; }
u16 used_idx(void) { return *(u16 *)(ram + USED_OFF + 2); }
struct virtq_used_elem *used(unsigned i) { return (struct virtq_used_elem *)(ram + USED_OFF + 4) + i % QSIZE; }

u64 device_features(void)
{
	common_wr(VIRTIO_COMMON_DFSELECT, 4, 0);
	u64 f = common(VIRTIO_COMMON_DF, 4);
	common_wr(VIRTIO_COMMON_DFSELECT, 4, 1);
	return f | common(VIRTIO_COMMON_DF, 4) << 32;
}

/* Linux's sequence: reset, ACK, DRIVER, features, FEATURES_OK (read back),
 * MSI-X vectors, the queue, DRIVER_OK.  Returns the status read back. */
u8 driver_init(u64 features)
{
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEM | PCI_COMMAND_MASTER);
	u16 mctl = VPCI_CAP_START + MSIX_CAP_CONTROL;
	cfg_wr(mctl, 2, MSIX_CONTROL_ENABLE | MSIX_CONTROL_MASK_ALL);
	for (unsigned v = 0; v < 2; v++) {
		bar_wr(BAR2, v * 16 + MSIX_ENTRY_ADDR_LO, 4, 0xFEE01004);
		bar_wr(BAR2, v * 16 + MSIX_ENTRY_ADDR_HI, 4, 0);
		bar_wr(BAR2, v * 16 + MSIX_ENTRY_DATA, 4, 0x27 - v);
		bar_wr(BAR2, v * 16 + MSIX_ENTRY_CTRL, 4, 0);
	}
	cfg_wr(mctl, 2, MSIX_CONTROL_ENABLE);
	common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	common_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	common_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	common_wr(VIRTIO_COMMON_GFSELECT, 4, 0);
	common_wr(VIRTIO_COMMON_GF, 4, (u32)features);
	common_wr(VIRTIO_COMMON_GFSELECT, 4, 1);
	common_wr(VIRTIO_COMMON_GF, 4, (u32)(features >> 32));
	common_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(status() & VIRTIO_STATUS_FEATURES_OK))
		return status();
	common_wr(VIRTIO_COMMON_MSIX, 2, 0);
	common_wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	common_wr(VIRTIO_COMMON_Q_SIZE, 2, QSIZE);
	common_wr(VIRTIO_COMMON_Q_MSIX, 2, 1);
	common_wr(VIRTIO_COMMON_Q_DESCLO, 4, (u32)at(DESC_OFF));
	common_wr(VIRTIO_COMMON_Q_DESCHI, 4, at(DESC_OFF) >> 32);
	common_wr(VIRTIO_COMMON_Q_AVAILLO, 4, (u32)at(AVAIL_OFF));
	common_wr(VIRTIO_COMMON_Q_AVAILHI, 4, at(AVAIL_OFF) >> 32);
	common_wr(VIRTIO_COMMON_Q_USEDLO, 8, at(USED_OFF)); /* one 8-byte write works too */
	common_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	common_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				      VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	next_desc = 0;
	return status();
}

const u64 linux_features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
				  BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_F_INDIRECT_DESC);

u16 add_desc(gpa_t addr, u32 len, u16 flags)
{
	u16 i = next_desc++ % QSIZE;
	*desc(i) = (struct virtq_desc){ addr, len, flags, (u16)(next_desc % QSIZE) };
	return i;
}

void offer(u16 head)
{
	u16 idx = *avail(1);
	*avail(2 + idx % QSIZE) = head;
	*avail(1) = (u16)(idx + 1);
}

/* A request as Linux builds it: header, data segments, status; returns
 * its head.  Each request gets its own header and status slot (n). */
u16 request(unsigned n, u32 type, u64 sector, const gpa_t *data, const u32 *len, unsigned nseg, bool data_write)
{
	struct virtio_blk_req_hdr *h = (void *)(ram + HDR_OFF + 16 * n);
	*h = (struct virtio_blk_req_hdr){ type, 0, sector };
	ram[STATUS_OFF + n] = 0xEE;
	u16 head = add_desc(at(HDR_OFF + 16 * n), 16, VIRTQ_DESC_F_NEXT);
	for (unsigned i = 0; i < nseg; i++)
		add_desc(data[i], len[i], VIRTQ_DESC_F_NEXT | (data_write ? VIRTQ_DESC_F_WRITE : 0));
	add_desc(at(STATUS_OFF + n), 1, VIRTQ_DESC_F_WRITE);
	offer(head);
	return head;
}

u8 req_status(unsigned n) { return ram[STATUS_OFF + n]; }

void setup_with(u64 sectors, u32 ss, u32 max, bool ro)
{
	fake_disk_free(&disk);
	if (ram)
		fake_ram_free(ram);
	fake_vm_init(&vm);
	fake_hv_reset();
	ram = fake_ram_init(&vm.ram, RAM_SIZE);
	fake_disk_init(&disk, sectors, ss, max);
	disk.dev.info.read_only = ro;
	nmsi = 0;
	struct vblk_cfg c = { SLOT, BAR0, BAR2, fake_send };
	if (vblk_attach(&vm, &disk.dev, &c) < 0)
		abort();
}
void setup(void) { setup_with(4096, 512, 64, false); }

u8 find_cap(u8 t)
{
	for (u8 p = (u8)cfg(PCI_CAP_PTR, 1); p; p = (u8)cfg((u16)(p + 1), 1))
		if (cfg(p, 1) == PCI_CAP_ID_VNDR && cfg((u16)(p + VIRTIO_CAP_TYPE), 1) == t)
			return p;
	return 0;
}
