/* The disk and network drivers ferry tries, in order. */
#ifndef FERRY_DRIVERS_H
#define FERRY_DRIVERS_H

#include "platform/blk.h"
#include "platform/nic.h"

extern const struct blk_driver *const blk_drivers[]; /* NULL-terminated */
extern const struct nic_driver *const nic_drivers[]; /* NULL-terminated */

#endif
