/* The state a virtio-blk disk's two halves share: the device
 * (drivers/vioblk.c: probe, features, geometry) and its request queue
 * (drivers/vioblk_queue.c: chains, slots, submit and poll, the
 * synchronous calls).  Private to them. */
#ifndef FERRY_VIOBLK_QUEUE_H
#define FERRY_VIOBLK_QUEUE_H

#include "blk_hold.h"
#include "virtio_pci.h"
#include "lib/virtio_blk.h"
#include "platform/blk.h"
#include "platform/mem.h"

#define VIOBLK_SLOTS 32u      /* requests in flight at most */
#define VIOBLK_SLOT_DESC 8u   /* descriptors per slot: header, up to 6 data, status */
#define VIOBLK_HOLD 64u       /* requests held, in flight or waiting (queue_depth) */
#define VIOBLK_MAX_BYTES (256u * 1024) /* one request */
#define VIOBLK_BOUNCE_PAGES (VIOBLK_MAX_BYTES / PAGE_SIZE)
#define VIOBLK_DMA_PAGES (1 + VIOBLK_BOUNCE_PAGES) /* headers, statuses and ID, then the bounce buffer */
#define VIOBLK_HDR_OFF(s) (32u * (s))      /* slot s's header; its status byte 16 after */
#define VIOBLK_ID_OFF (32u * VIOBLK_SLOTS)
#define VIOBLK_IO_US (10 * 1000 * 1000)
#define VIOBLK_FLUSH_US (30 * 1000 * 1000)
_Static_assert(VIOBLK_ID_OFF + VIRTIO_BLK_ID_BYTES <= PAGE_SIZE, "headers, statuses and ID in one page");

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

	/* The queue. */
	struct blk_hold hold;
	unsigned slots;   /* of VIOBLK_SLOT_DESC descriptors each, at most VIOBLK_SLOTS */
	u32 busy;         /* slots in flight */
	bool alone;       /* slot 0's request has the whole ring */
	bool bounced;     /* ... through the bounce buffer */
	struct blk_io *slot_io[VIOBLK_SLOTS];
	u64 slot_t0[VIOBLK_SLOTS];
	unsigned most;    /* the most in flight at once, logged as it grows */
	u64 checked;      /* when poll last read the device's status */
};

static inline u64 vioblk_pa(const struct vioblk *v, unsigned off) { return virt_to_phys(v->dma + off); }
static inline volatile u8 *vioblk_status(const struct vioblk *v, unsigned s)
{
	return v->dma + VIOBLK_HDR_OFF(s) + 16;
}

/* Makes the chain of slot s available: its header at descriptor base,
 * descriptors base+1 .. st-1 filled already, its status at st. */
void vioblk_post(struct vioblk *v, unsigned s, unsigned base, u32 type, u64 sector, unsigned st);
/* Slot s's status byte as a result (a failure logged): 0, -E_NOTSUP
 * (UNSUPP) or -E_IO. */
int vioblk_result(const struct vioblk *v, unsigned s, u32 type, u64 sector);
/* Stops using the device for good (logged with what it did), and makes
 * sure it has let go of every buffer (a reset, else off the bus) before
 * they go back. */
void vioblk_give_up(struct vioblk *v, const char *what);

extern const struct blk_ops vioblk_ops;

#endif
