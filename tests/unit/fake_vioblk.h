/* A fake modern virtio-blk PCI device for host tests of drivers/vioblk.c
 * and the transport under it (drivers/virtio_pci.c).
 *
 * A PCI function 1AF4:1042 on the fake bus (fake_bus.h) with the vendor
 * capabilities of a virtio 1.x device, all in BAR0, a 16 KiB page of host
 * memory at a fixed low address: common configuration at 0, notification
 * at 1000h, ISR at 2000h, device configuration at 3000h.  The common
 * configuration is a register model (fake_mmio_access, x86/io.h): feature
 * and queue selects, device_status with its reset.  The request queue is
 * served whenever the fake clock is read (fake_dev.h).  Faults are
 * switched on by the test. */
#ifndef FERRY_FAKE_VIOBLK_H
#define FERRY_FAKE_VIOBLK_H

#include "lib/types.h"

#define FAKE_VIOBLK_PA 0x40100000ul
#define FAKE_VIOBLK_SIZE 0x4000u

struct fake_vioblk {
	/* The device. */
	u64 features;       /* offered */
	u64 sectors;        /* capacity, 512-byte sectors */
	u8 *data;
	/* Faults. */
	bool reset_stuck;   /* device_status never reads 0 after a reset */
	bool refuse_features; /* FEATURES_OK does not stay set */
	bool reject_driver_ok; /* DRIVER_OK sets NEEDS_RESET instead */
	bool io_silent;     /* requests are never completed */
	bool io_needs_reset; /* a request sets NEEDS_RESET instead of completing */
	bool io_error;      /* requests complete with VIRTIO_BLK_S_IOERR */
	bool hold;          /* requests made available wait, unserved, until cleared */
	bool lifo;          /* what is waiting is served newest first */
	u32 bad_id;         /* added to the next used element's id (a device that lies) */
	/* What happened. */
	unsigned resets, reads, writes, flushes;
	unsigned pending, most_pending; /* made available and not yet served: now, at most */
	unsigned most_data; /* the most data descriptors one request had */
	struct {
		u32 type, bytes;
		u64 sector;
	} log[512];         /* each request served, in the order served */
	unsigned nlog;
	u64 accepted;       /* the driver's features at FEATURES_OK */
	u8 status;          /* device_status */
};

extern struct fake_vioblk fake_vioblk;

/* A fresh device of `sectors` 512-byte sectors with FLUSH, SEG_MAX and
 * SIZE_MAX; the first call also puts it on the fake bus (after
 * fake_bus_reset, before pci_init). */
void fake_vioblk_reset(u64 sectors);

/* The SEG_MAX the device reports (16 after a reset). */
void fake_vioblk_seg_max(u32 n);

#endif
