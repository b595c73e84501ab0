/* ATA over Ethernet: a server's target beside ferry's own protocol on its
 * NIC, and a client's initiator (docs/aoe.md). */
#ifndef FERRY_AOE_ROLE_H
#define FERRY_AOE_ROLE_H

#include "net/link.h"
#include "platform/blk.h"
#include "platform/nic.h"

/* Exports disk as config.aoe_shelf.aoe_slot and rewires *link (the NIC's)
 * so that AoE frames go to the target and the rest to whoever reads link.
 * 0, or the error after logging it. */
int aoe_serve_start(struct net_link *link, struct nic *nic, struct blk_dev *disk);
/* Finds the AoE target (config.aoe_target_*, or the first to answer;
 * waiting up to config.discover_timeout) and returns it as a block back
 * end, or NULL after saying why. */
struct blk_dev *aoe_client_start(struct nic *nic);
/* One line of AoE counters (on stop); nothing when AoE is off. */
void aoe_log_stats(void);

#endif
