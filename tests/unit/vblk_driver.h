/* The driver's side of the virtio-blk host tests (test_virtio_blk.c,
 * test_virtio_blk_hostile.c): a fake guest RAM and disk, ferry's device
 * attached to them, and the accesses Linux 6.1's virtio_pci and
 * virtio_blk make, through config space (vm/pcicfg.c) and the BARs. */
#ifndef FERRY_VBLK_DRIVER_H
#define FERRY_VBLK_DRIVER_H

#include "fake_arch.h"
#include "fake_disk.h"
#include "fake_hv.h"
#include "platform/pci.h"
#include "vdev/virtio_blk.h"
#include "lib/virtio.h"
#include "vdev/msix.h"
#include "vdev/vpci.h"
#include "vm/pcicfg.h"

#define RAM_SIZE (4 << 20)
#define SLOT 0x10
#define BAR0 0x800100000ULL
#define BAR2 0x800104000ULL
#define QSIZE 256
#define DESC_OFF 0x0000
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000
#define HDR_OFF 0x4000    /* request headers, 16 bytes each */
#define STATUS_OFF 0x5000 /* status bytes */
#define ITAB_OFF 0x6000   /* indirect tables */
#define DATA_OFF 0x10000


extern struct vm vm;
extern u8 *ram;
extern struct fake_disk disk;
extern unsigned nmsi;        /* MSI messages sent */
extern u32 msi_data[64];     /* their data, in order */
extern u8 ferry_memory[8192]; /* memory that is not guest RAM */
extern const u64 linux_features;

/* A fresh machine: the disk (sectors x ss, max sectors per call, read-only
 * or not), RAM, the device attached at SLOT with BARs at BAR0 and BAR2. */
void setup_with(u64 sectors, u32 ss, u32 max, bool ro);
void setup(void);

u32 cfg(u16 off, unsigned size);
void cfg_wr(u16 off, unsigned size, u32 v);
u64 bar_rd(gpa_t bar, u64 off, unsigned size);
void bar_wr(gpa_t bar, u64 off, unsigned size, u64 v);
u64 common(u64 off, unsigned size);
void common_wr(u64 off, unsigned size, u64 v);
u8 status(void);
void kick(void); /* the doorbell: queue 0's notify */
/* The virtio capability of type t: its offset in config space, or 0. */
u8 find_cap(u8 t);

gpa_t at(size_t off); /* guest-physical address of RAM offset off */
struct virtq_desc *desc(unsigned i);
u16 *avail(unsigned word);
u16 used_idx(void);
struct virtq_used_elem *used(unsigned i);

u64 device_features(void);
/* Linux's sequence: bus master, MSI-X (vector 0 data 0x27, vector 1 0x26),
 * reset, ACK, DRIVER, features, FEATURES_OK (read back), the queue at
 * DESC/AVAIL/USED_OFF on vector 1, DRIVER_OK.  Returns the status read
 * back. */
u8 driver_init(u64 features);
/* The next descriptor (they are used in order, each pointing at the next). */
u16 add_desc(gpa_t addr, u32 len, u16 flags);
void offer(u16 head);
/* A request as Linux builds it: header, data segments, status; returns its
 * head.  Request n has header HDR_OFF + 16n and status byte STATUS_OFF + n. */
u16 request(unsigned n, u32 type, u64 sector, const gpa_t *data, const u32 *len, unsigned nseg, bool data_write);
u8 req_status(unsigned n);

#endif
