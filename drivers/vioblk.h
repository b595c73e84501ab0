/* virtio-blk (Virtio 1.2, 5.2) as a disk ferry owns, driven by
 * drivers/vioblk.c over the shared transport (drivers/virtio_pci.h).  The
 * block device's definitions are lib/virtio_blk.h, shared with the
 * virtio-blk device ferry presents to its guest. */
#ifndef FERRY_VIOBLK_H
#define FERRY_VIOBLK_H

#include "lib/types.h"
#include "lib/virtio_blk.h"
#include "platform/blk.h"

extern const struct blk_driver vioblk_driver;

#endif
