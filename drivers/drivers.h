/* The disk and network drivers ferry tries, in order. */
#ifndef FERRY_DRIVERS_H
#define FERRY_DRIVERS_H

#include "platform/blk.h"
#include "platform/nic.h"

extern const struct blk_driver *const blk_drivers[]; /* NULL-terminated */
extern const struct nic_driver *const nic_drivers[]; /* NULL-terminated */

/* A disk driver calls this for each disk it finds, by the name it would
 * serve it under: true when want (NULL: any) takes it.  The names are
 * kept for blk_found_names. */
bool blk_take(const char *want, const char *name);
/* "ahci0:port0, nvme0n1": every disk named to blk_take; "none". */
const char *blk_found_names(void);

#endif
