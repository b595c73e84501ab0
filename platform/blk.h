/* The block back-end interface.
 *
 * The logical block device (vdev/lbd.c) executes the guest's commands on
 * a struct blk_dev.  A back end is a local disk driver (drivers/ahci.c) or,
 * later, the network client (net/): the device model neither knows nor
 * cares which.
 *
 * Data moves through a scatter list of host-physical segments.  The caller
 * has already checked that every segment lies in memory the guest owns, and
 * guarantees: 1 <= nseg <= BLK_MAX_SEGS; every segment address and length
 * is a multiple of 4 and length > 0; the lengths add up to exactly
 * count * info.sector_size; 1 <= count <= info.max_sectors; and
 * lba + count <= info.sectors.  A back end may still refuse with -E_INVAL.
 *
 * read, write and flush are synchronous: when they return the data is in
 * memory (read) or accepted by the device (write).  They return 0 or a
 * negative E_* code.
 *
 * A back end that can keep several requests in flight (the network
 * client) also has submit and poll, and says how many it takes at once in
 * queue_depth.  submit queues a struct blk_io and returns 0: its done
 * callback then runs exactly once, from a later poll, never from submit.
 * -E_NOSPC means no room (queue_depth requests are in flight); any other
 * error refuses the request at once, and done does not run.  The caller
 * keeps the io and its segments untouched until done.  Ordering, whatever
 * completes first: a FLUSH completes only after every write submitted
 * before it is durable, and writes that overlap reach the disk in the
 * order they were submitted. */
#ifndef FERRY_BLK_H
#define FERRY_BLK_H

#include "lib/types.h"

#define BLK_MAX_SEGS 64

struct blk_seg {
	hpa_t addr;
	u32 len;
};

struct blk_info {
	u64 sectors;      /* capacity in sectors */
	u32 sector_size;  /* bytes per logical sector (512 or 4096) */
	u32 max_sectors;  /* largest count one request may carry */
	bool read_only;
	char model[41];   /* NUL-terminated, trailing blanks removed */
	char serial[21];
};

struct blk_dev;

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
};

/* One request in flight (submit).  For BLK_OP_FLUSH, count and nseg are 0. */
struct blk_io {
	enum blk_op op;
	u64 lba;
	u32 count;
	const struct blk_seg *segs;
	unsigned nseg;
	void (*done)(struct blk_io *io, int rc); /* 0 or -E_* */
	void *ctx;                               /* the submitter's */
	struct blk_io *next;                     /* the back end's, while it holds the io */
};

struct blk_ops {
	int (*read)(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
	int (*write)(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
	int (*flush)(struct blk_dev *dev);
	/* Optional (both or neither): see above.  poll runs the done
	 * callbacks of whatever finished and returns how many requests the
	 * back end still holds. */
	int (*submit)(struct blk_dev *dev, struct blk_io *io);
	unsigned (*poll)(struct blk_dev *dev);
};

struct blk_dev {
	const char *name;  /* e.g. "ahci0:port0" */
	const struct blk_ops *ops;
	struct blk_info info;
	u32 queue_depth;   /* requests submit takes at once; 0 without submit */
	void *priv;        /* the back end's own state */
};

/* A local disk driver: probes the machine and returns in *out the first
 * disk it can serve or, when want is not NULL, only the disk of that name
 * (the disk= key: "nvme0n2", "ahci0:port1"); 0 on success, -E_NOENT when
 * it finds no controller or no such disk, another negative code when a
 * controller is present but failed.  It names every disk it sees through
 * blk_take (drivers/drivers.h), wanted or not. */
struct blk_driver {
	const char *name;
	int (*probe)(const char *want, struct blk_dev **out);
};

#endif
