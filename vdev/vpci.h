/* A virtual PCI function (PCI Local Bus 3.0, chapter 6): a type-0
 * configuration header, 64-bit memory BARs whose MMIO regions follow the
 * guest's BAR writes and the command register's memory decode, a
 * capability list, and MSI-X (vdev/msix.c) with its table and PBA in a
 * BAR.  The guest reaches the header through vm/pcicfg.c (CF8/CFC and
 * ECAM); the device model (vdev/virtio_blk.c) supplies the BAR handlers
 * and its own capabilities.  Host-tested (tests/unit/test_vpci.c). */
#ifndef FERRY_VPCI_H
#define FERRY_VPCI_H

#include "vm/vm.h"
#include "msix.h"

#define VPCI_CFG_SIZE 256      /* conventional space; 0x100 and up read 0 */
#define VPCI_CAP_START 0x40
#define VPCI_BAR_64 0x4        /* memory BAR, 64-bit, not prefetchable */
#define VPCI_COMMAND_WRITABLE 0x0406 /* memory decode, bus master, INTx disable */

struct vpci_dev;

struct vpci_bar {
	u64 size;          /* a power of two, at least 4 KiB; 0: no BAR */
	const char *name;
	u64 (*read)(void *ctx, u64 off, unsigned size);
	void (*write)(void *ctx, u64 off, unsigned size, u64 val);
	void *ctx;
	gpa_t mapped;      /* where its MMIO region is registered; 0: nowhere */
	struct vpci_dev *dev;
};

struct vpci_id {
	u16 vendor, device;
	u8 revision;
	u32 class_code;    /* class << 16 | subclass << 8 | progif */
	u16 subsys_vendor, subsys;
};

struct vpci_dev {
	struct vm *vm;
	u8 bus, dev, fn;
	u8 cfg[VPCI_CFG_SIZE];
	u8 wmask[VPCI_CFG_SIZE]; /* the bits the guest may change */
	struct vpci_bar bar[6];  /* 64-bit BARs use an even index and the next */
	u8 cap_end;              /* where the next capability goes */
	u8 cap_last;             /* the last capability, 0 if none */
	struct msix *msix;
	u8 msix_cap;
	u32 msix_table, msix_pba; /* offsets in the MSI-X BAR */
	u8 msix_bar;
	/* Config-space bytes [hook_off, hook_off + hook_len) belong to the
	 * model (virtio's PCI_CFG data window): read and written through these. */
	u8 hook_off, hook_len;
	u32 (*hook_read)(void *ctx, u16 off, unsigned size);
	void (*hook_write)(void *ctx, u16 off, unsigned size, u32 val);
	void *hook_ctx;
	u64 bar_refusals;        /* BAR placements mmio_register refused */
};

void vpci_init(struct vpci_dev *d, struct vm *vm, const struct vpci_id *id);
/* BAR idx (even) as a 64-bit memory BAR of size bytes. */
int vpci_add_bar64(struct vpci_dev *d, unsigned idx, u64 size, const char *name,
		   u64 (*read)(void *ctx, u64 off, unsigned size), void (*write)(void *ctx, u64 off, unsigned size, u64 val),
		   void *ctx);
/* Appends a capability of len bytes (cap[0] its ID; cap[1], the next
 * pointer, is filled in) to the list; returns its offset, or 0 when the
 * header has no room left. */
u8 vpci_add_cap(struct vpci_dev *d, const void *cap, u8 len);
/* Lets the guest write every bit of [off, off+len). */
void vpci_writable(struct vpci_dev *d, u8 off, u8 len);
/* An MSI-X capability for m, its table at table_off and PBA at pba_off of
 * BAR bar (added before, 64-bit), which serves nothing else. */
u8 vpci_add_msix(struct vpci_dev *d, struct msix *m, u8 bar, u32 table_off, u32 pba_off);
/* Puts BAR idx at gpa, as firmware would before the guest starts. */
void vpci_place_bar(struct vpci_dev *d, unsigned idx, gpa_t gpa);
void vpci_set_command(struct vpci_dev *d, u16 cmd);
/* Makes the function visible at bus:dev.fn (vm/pcicfg.c). */
int vpci_attach(struct vpci_dev *d, u8 bus, u8 dev, u8 fn);

gpa_t vpci_bar_addr(const struct vpci_dev *d, unsigned idx);
u16 vpci_command(const struct vpci_dev *d);
static inline bool vpci_bus_master(const struct vpci_dev *d) { return vpci_command(d) & BIT(2); }

/* The configuration space as pcicfg sees it (ctx is the vpci_dev). */
u32 vpci_cfg_read(void *ctx, u16 off, unsigned size);
void vpci_cfg_write(void *ctx, u16 off, unsigned size, u32 val);
/* An access to BAR idx at off, as if through its region (decoded or not):
 * for virtio's PCI_CFG window.  Reads of a missing BAR are 0. */
u64 vpci_bar_read(struct vpci_dev *d, unsigned idx, u64 off, unsigned size);
void vpci_bar_write(struct vpci_dev *d, unsigned idx, u64 off, unsigned size, u64 val);

#endif
