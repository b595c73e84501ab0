/* The disk side shared by the servers of both protocols (net/server.c,
 * net/aoe_target.c): a request whose data is one contiguous buffer. */
#ifndef FERRY_NET_DISK_RW_H
#define FERRY_NET_DISK_RW_H

#include "platform/blk.h"

/* Reads or writes count sectors at lba through data (host-physical =
 * virtual, 4-byte aligned), in pieces of the disk's own max_sectors, one
 * segment each.  0 or the disk's error. */
int net_disk_rw(struct blk_dev *dev, bool write, u64 lba, u32 count, u8 *data);

#endif
