/* The one request path of ferry's guest-visible block devices: a request
 * (operation, first sector, sector count, guest-physical segments) is
 * checked and run on a struct blk_dev back end.  The logical device
 * (vdev/lbd_cmd.c) and virtio-blk (vdev/virtio_blk_req.c) both build a
 * struct blk_req from what their guest wrote and call blk_req_run; neither
 * hands the back end anything this path did not check.
 *
 * Every segment passes the guest-RAM gate (gmem_check) before the back end
 * sees it, and is handed over as a host-physical blk_seg.  Pure logic over
 * struct gmem and struct blk_dev, host-tested (tests/unit/test_blk_req.c). */
#ifndef FERRY_BLK_REQ_H
#define FERRY_BLK_REQ_H

#include "vm/gmem.h"
#include "platform/blk.h"

enum blk_req_op {
	BLK_REQ_READ,
	BLK_REQ_WRITE,
	BLK_REQ_FLUSH,
};

/* BLK_REQ_SPLIT: a request longer than the back end's max_sectors is run
 * as several back-end calls (virtio-blk: the guest does not know the
 * limit).  Without it such a request fails with BLK_REQ_LBA_RANGE (the
 * logical device publishes MAX_SECTORS). */
#define BLK_REQ_SPLIT BIT(0)

/* A guest-physical buffer, not yet checked. */
struct blk_gseg {
	gpa_t gpa;
	u32 len;
};

struct blk_req {
	enum blk_req_op op;
	u64 lba;                     /* in the back end's sectors */
	u32 count;                   /* sectors; 0 for flush */
	const struct blk_gseg *segs; /* nseg of them; none for flush */
	unsigned nseg;
	unsigned flags;              /* BLK_REQ_* */
};

/* The outcome, in the order blk_req_run checks (the first failure wins). */
enum blk_req_status {
	BLK_REQ_OK,
	BLK_REQ_NO_DEVICE, /* no back end */
	BLK_REQ_BAD_SEGS,  /* flush with data, nseg 0 or > BLK_MAX_SEGS, a zero-length segment */
	BLK_REQ_ALIGN,     /* a segment's address or length is not a multiple of 4 */
	BLK_REQ_DMA_RANGE, /* a segment is not wholly inside one range of guest RAM */
	BLK_REQ_LBA_RANGE, /* count 0, above max_sectors (without SPLIT), or past the end */
	BLK_REQ_LENGTH,    /* the segments do not add up to count sectors */
	BLK_REQ_READ_ONLY, /* write to a read-only back end */
	BLK_REQ_IO_ERROR,  /* the back end failed */
	BLK_REQ_TIMEOUT,   /* the back end did not answer in time */
	BLK_REQ_REFUSED,   /* the back end refused the request (-E_INVAL) */
};

struct blk_req_stats {
	u64 bytes_read, bytes_written;
};

/* Checks and runs r on dev; counts moved bytes in *stats. */
enum blk_req_status blk_req_run(const struct gmem *ram, struct blk_dev *dev, const struct blk_req *r,
				struct blk_req_stats *stats);

/* ---- Requests in flight ------------------------------------------------------
 * blk_req_start checks r exactly as blk_req_run does and runs it on dev
 * without waiting when dev has submit (platform/blk.h): as at most
 * BLK_AREQ_PARTS back-end requests (BLK_REQ_SPLIT), all submitted at once.
 * On a back end without submit it runs r at once.  Either way a->done runs
 * exactly once, with a->status final: maybe before blk_req_start returns
 * (a failed check, a synchronous back end), maybe from the back end's poll.
 * The caller keeps *a untouched until then.  A request that needs more
 * parts than BLK_AREQ_PARTS runs synchronously (through the back end's
 * read and write, which wait). */
#define BLK_AREQ_PARTS 8

struct blk_areq {
	/* the caller's */
	void (*done)(struct blk_areq *a);
	void *ctx;
	struct blk_req_stats *stats; /* moved bytes, counted at completion */
	/* the outcome */
	enum blk_req_status status;  /* the first failure, or BLK_REQ_OK */
	/* blk_req.c's */
	struct blk_io part[BLK_AREQ_PARTS];
	struct blk_seg seg[BLK_MAX_SEGS + BLK_AREQ_PARTS];
	unsigned nparts, pending;
	u64 bytes;
	bool write;
};

void blk_req_start(const struct gmem *ram, struct blk_dev *dev, const struct blk_req *r, struct blk_areq *a);

/* Back-end requests r will take (1 for a flush): what a device reserves
 * of the back end's queue_depth before it starts r. */
unsigned blk_req_parts(const struct blk_dev *dev, const struct blk_req *r);

/* The segment checks of blk_req_run on their own (for a command that
 * moves data without the back end, like the logical device's identify):
 * 1 <= n <= BLK_MAX_SEGS, each length > 0, address and length multiples
 * of 4, inside guest RAM.  Fills out[] (host-physical) and *total. */
enum blk_req_status blk_req_check_segs(const struct gmem *ram, const struct blk_gseg *in, unsigned n,
				       struct blk_seg *out, u64 *total);

const char *blk_req_status_name(enum blk_req_status st);

#endif
