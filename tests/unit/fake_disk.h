/* A fake block back end (struct blk_dev over a buffer) and a fake guest
 * RAM, for host tests of the request paths (blk_req, virtio-blk).  The
 * disk records every call; its contents start as a known pattern. */
#ifndef FERRY_FAKE_DISK_H
#define FERRY_FAKE_DISK_H

#include "platform/blk.h"
#include "vm/gmem.h"

#define FAKE_DISK_MAX_CALLS 64

struct fake_disk_call {
	char op; /* 'r', 'w', 'f' */
	u64 lba;
	u32 count;
	unsigned nseg;
	struct blk_seg seg[BLK_MAX_SEGS];
};

#define FAKE_DISK_QUEUE 64

struct fake_disk {
	struct blk_dev dev;
	u8 *data;        /* sectors * sector_size bytes */
	int fail;        /* returned by every call when non-zero */
	unsigned ncalls; /* all calls, also past FAKE_DISK_MAX_CALLS */
	struct fake_disk_call call[FAKE_DISK_MAX_CALLS];
	/* asynchronous mode (fake_disk_async): submitted, not yet done, in
	 * submission order; each runs (moves its bytes) only when completed */
	struct blk_io *queued[FAKE_DISK_QUEUE];
	unsigned nqueued;
	bool complete_on_poll; /* poll completes everything queued, oldest first */
	int fail_next;         /* the next completed request gets this */
};

/* A disk of sectors x sector_size bytes, at most max_sectors per call,
 * filled with fake_disk_byte(). */
void fake_disk_init(struct fake_disk *d, u64 sectors, u32 sector_size, u32 max_sectors);
void fake_disk_free(struct fake_disk *d);
/* Gives the disk submit and poll with room for depth requests: submitted
 * requests wait until fake_disk_complete (or a poll, with
 * complete_on_poll); done runs from there. */
void fake_disk_async(struct fake_disk *d, u32 depth);
/* Completes the i-th queued request (0: the oldest); false if none. */
bool fake_disk_complete(struct fake_disk *d, unsigned i);
static inline u8 fake_disk_byte(u64 off) { return (u8)(off * 7 + (off >> 9)); }

/* The guest's RAM: size bytes of page-aligned host memory; gpa == host
 * address.  gm gets one range covering all of it. */
u8 *fake_ram_init(struct gmem *gm, size_t size);
void fake_ram_free(u8 *ram);
static inline gpa_t fake_gpa(const void *p) { return (gpa_t)(uintptr_t)p; }

#endif
