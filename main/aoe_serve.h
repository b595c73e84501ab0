/* ATA over Ethernet beside ferry's own protocol on a server's NIC. */
#ifndef FERRY_AOE_SERVE_H
#define FERRY_AOE_SERVE_H

#include "net/link.h"
#include "platform/blk.h"
#include "platform/nic.h"

/* Exports disk as config.aoe_shelf.aoe_slot and rewires *link (the NIC's)
 * so that AoE frames go to the target and the rest to whoever reads link.
 * 0, or the error after logging it. */
int aoe_serve_start(struct net_link *link, struct nic *nic, struct blk_dev *disk);
/* One line of AoE counters (on stop); nothing when AoE is off. */
void aoe_serve_log_stats(void);

#endif
