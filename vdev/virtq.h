/* The device side of a virtio split virtqueue (virtio 1.2, 2.7): the
 * driver's descriptor table, available ring and used ring, all in guest
 * RAM.  Pure logic over struct gmem, host-tested (tests/unit/test_virtq.c).
 *
 * Every address the guest gives (the three rings, each buffer, each
 * indirect table) passes gmem_ptr before ferry reads or writes through
 * it.  Each descriptor is read from guest memory once, into a copy that is
 * all ferry uses afterwards; the device keeps its own avail and used
 * indexes and never reads them back from the guest.  A chain is bounded by
 * the queue size: a loop or an over-long chain is an error, never a hang.
 *
 * Errors are the ring's (VIRTQ_ERR_*): the caller cannot trust anything
 * more on that queue and marks the device DEVICE_NEEDS_RESET.  What is
 * wrong with a well-formed chain's buffers (a length, a direction, an
 * address outside RAM) is the request's business (vdev/virtio_blk_req.c). */
#ifndef FERRY_VIRTQ_H
#define FERRY_VIRTQ_H

#include "vm/gmem.h"
#include "lib/virtio.h"

#define VIRTQ_MAX_SIZE 256   /* the largest queue ferry offers; a power of two */
#define VIRTQ_MAX_CHAIN VIRTQ_MAX_SIZE /* buffers in one chain, indirect ones included */

/* One queue as the device holds it. */
struct virtq {
	u16 size;        /* entries: a power of two, 1..VIRTQ_MAX_SIZE */
	bool indirect;   /* VIRTIO_F_INDIRECT_DESC negotiated */
	gpa_t desc, avail, used;
	u16 last_avail;  /* the next available entry to take */
	u16 used_idx;    /* the next used entry to fill */
};

/* A buffer of a chain, as copied from its descriptor. */
struct virtq_buf {
	gpa_t addr;
	u32 len;
	bool write;      /* device-writable */
};

struct virtq_chain {
	u16 head;
	unsigned n;       /* buffers in buf[] */
	unsigned nread;   /* buf[0..nread) are device-readable, the rest writable */
	bool misordered;  /* a device-readable buffer after a device-writable one */
	u64 read_len, write_len; /* bytes in each part */
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
};

enum virtq_err {
	VIRTQ_OK,
	VIRTQ_ERR_RING,      /* size not a power of two, a ring misaligned or not in guest RAM */
	VIRTQ_ERR_AVAIL_IDX, /* the available index is more than the queue size ahead */
	VIRTQ_ERR_HEAD,      /* an available entry names no descriptor */
	VIRTQ_ERR_NEXT,      /* a next field names no descriptor */
	VIRTQ_ERR_LOOP,      /* a chain longer than the queue: a loop */
	VIRTQ_ERR_INDIRECT,  /* indirect table not negotiated, with NEXT, nested, badly sized or not in RAM */
};
const char *virtq_err_name(int err); /* err: VIRTQ_ERR_* or its negation */

/* 0 when the rings of vq lie in guest RAM, aligned, and the size is
 * valid; -VIRTQ_ERR_RING otherwise. */
int virtq_check(const struct gmem *ram, const struct virtq *vq);
/* How many entries the driver made available since the device last
 * looked (0..size), reading the available index once; -VIRTQ_ERR_* when
 * the rings are bad or the index jumped. */
int virtq_pending(const struct gmem *ram, const struct virtq *vq);
/* Takes the next available entry (the caller knows from virtq_pending
 * that there is one): 0 and *head, or -VIRTQ_ERR_*. */
int virtq_pop(const struct gmem *ram, struct virtq *vq, u16 *head);
/* Copies the chain starting at head into *c (direct descriptors, then at
 * most one indirect table, which ends the chain). */
int virtq_walk(const struct gmem *ram, const struct virtq *vq, u16 head, struct virtq_chain *c);
/* Returns a chain to the driver: the used entry {head, len} first, then
 * the used index (the driver reads them in that order). */
int virtq_push(const struct gmem *ram, struct virtq *vq, u16 head, u32 len);
/* Asks the driver for notifications (want) or for none
 * (VIRTQ_USED_F_NO_NOTIFY, a hint the driver may ignore): the used ring's
 * flags word.  -VIRTQ_ERR_RING when the rings are bad. */
int virtq_set_notify(const struct gmem *ram, const struct virtq *vq, bool want);
/* False when the driver asked for no interrupts (VIRTQ_AVAIL_F_NO_INTERRUPT). */
bool virtq_want_interrupt(const struct gmem *ram, const struct virtq *vq);

/* The chain's two parts as byte streams.  Each returns 0, or -E_RANGE
 * when [off, off+len) runs past the part or a buffer it touches is not in
 * guest RAM (nothing is copied then). */
int virtq_read(const struct gmem *ram, const struct virtq_chain *c, u64 off, void *dst, u64 len);
int virtq_write(const struct gmem *ram, const struct virtq_chain *c, u64 off, const void *src, u64 len);

#endif
