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
 * Calls are synchronous: when they return the data is in memory (read) or
 * accepted by the device (write).  They return 0 or a negative E_* code. */
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

struct blk_ops {
	int (*read)(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
	int (*write)(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg);
	int (*flush)(struct blk_dev *dev);
};

struct blk_dev {
	const char *name;  /* e.g. "ahci0:port0" */
	const struct blk_ops *ops;
	struct blk_info info;
	void *priv;        /* the back end's own state */
};

/* A local disk driver: probes the machine and returns the first disk it can
 * serve in *out, 0 on success, -E_NOENT when it finds no controller or disk,
 * another negative code when a controller is present but failed. */
struct blk_driver {
	const char *name;
	int (*probe)(struct blk_dev **out);
};

#endif
