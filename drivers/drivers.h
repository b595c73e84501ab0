/* The disk drivers ferry tries, in order. */
#ifndef FERRY_DRIVERS_H
#define FERRY_DRIVERS_H

#include "blk.h"

extern const struct blk_driver *const blk_drivers[]; /* NULL-terminated */

#endif
