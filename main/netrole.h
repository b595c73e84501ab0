/* The network roles: a client whose logical device is a disk on a server
 * ferry, and a server that exports its disk while its own guest runs. */
#ifndef FERRY_NETROLE_H
#define FERRY_NETROLE_H

#include "vm/vm.h"
#include "platform/blk.h"
#include "platform/nic.h"

/* Finds a server (waiting up to config.discover_timeout) and returns the
 * remote disk as a block back end, or NULL after saying why. */
struct blk_dev *netrole_client_start(struct nic *nic);
/* Exports disks[i] as config.exports[i] (n of them) on nic and serves
 * them from ferry's timer while vm runs. */
int netrole_server_start(struct vm *vm, struct nic *nic, struct blk_dev **disks, unsigned n);
/* One line of protocol counters (on stop). */
void netrole_log_stats(void);

#endif
