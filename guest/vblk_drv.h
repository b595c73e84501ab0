/* The guest's driver for a virtio-blk PCI device (1AF4:1042), ferry's
 * (vdev/virtio_blk.c): found on bus 0 through CF8/CFC, its structures
 * located by its vendor capabilities, one queue of VBLK_QSIZE entries,
 * polled: vblk_request spins on the used ring (a back end that keeps
 * requests in flight, ferry's network client, answers after the doorbell
 * returns).  The raw
 * pieces are exported for the hostile-driver tests (guest/vblk_test.c). */
#ifndef GUEST_VBLK_DRV_H
#define GUEST_VBLK_DRV_H

#include "shell.h"
#include "lib/virtio.h"

#define VBLK_QSIZE 256
#define VBLK_MAX_REQ_BYTES (256 * 1024) /* per request the driver builds */

struct vblk {
	u8 slot;
	u64 bar[6];                /* BAR addresses (64-bit ones in the lower index) */
	volatile u8 *common, *isr, *devcfg, *notify;
	u32 notify_mult;
	u8 msix_cap, pci_cfg_cap;
	u64 features;              /* negotiated */
	u64 capacity;              /* 512-byte sectors */
	u32 blk_size, seg_max;
	/* The queue, in our memory. */
	struct virtq_desc *desc;
	volatile u16 *avail;       /* flags, idx, ring[] */
	volatile u8 *used;         /* flags, idx, ring[] of struct virtq_used_elem */
	u16 avail_idx, used_idx;
};

/* Finds the device and brings it up (features: VERSION_1, SEG_MAX,
 * BLK_SIZE, FLUSH, INDIRECT_DESC, RO when offered).  0 and *out as disk
 * "vd0", -E_NOENT without one, another code when it does not come up. */
int vblk_probe(struct disk **out);
struct vblk *vblk_get(void); /* NULL before a successful probe */

/* Reset and bring up again with features & offered: the status read back
 * (VIRTIO_STATUS_*; FEATURES_OK clear when refused). */
u8 vblk_setup(u64 features); /* polled: no MSI-X vectors */
/* The same with MSI-X vectors (table entries) for configuration changes
 * and queue 0, or VIRTIO_MSI_NO_VECTOR. */
u8 vblk_setup_vectors(u64 features, u16 config_vector, u16 queue_vector);
u8 vblk_status(void);

/* PCI configuration space of the device (32-bit reads, 8/16/32 writes). */
u32 vblk_cfg_read32(u16 off);
void vblk_cfg_write(u16 off, unsigned size, u32 v);

/* The queue, raw: the driver's next descriptor slot, an available entry,
 * the doorbell; vblk_used() takes the next used entry (false if none). */
u16 vblk_next_desc(void);
void vblk_offer(u16 head);
void vblk_offer_raw(u16 avail_idx_delta, u16 head); /* writes ring[idx] = head, idx += delta */
void vblk_kick(void);
/* The doorbell unless the device's used ring asks for none
 * (VIRTQ_USED_F_NO_NOTIFY), as Linux rings it; true if it rang. */
bool vblk_kick_if_asked(void);
bool vblk_used(u32 *id, u32 *len);

/* One request of type with data [buf, buf+len) in one segment: the status
 * byte the device wrote, or -E_IO when no used entry came back. */
int vblk_request(u32 type, u64 sector, u64 buf_gpa, u32 len); /* buf_gpa: the data's address, the device's to read or write */

/* vblk-irq (guest/vblk_irq.c): MSI-X end to end. */
int vblk_cmd_irq(struct shell *sh, int argc, char **argv);
int vblk_cmd_qd(struct shell *sh, int argc, char **argv); /* guest/vblk_qd.c */

extern const struct shell_cmd vblk_shell_cmds[];
extern const size_t vblk_shell_ncmds;

#endif
