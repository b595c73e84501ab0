/* ATA over Ethernet: a server's target beside ferry's own protocol on its
 * NIC, and a client's initiator (docs/aoe.md). */
#ifndef FERRY_AOE_ROLE_H
#define FERRY_AOE_ROLE_H

#include "net/link.h"
#include "net/exports.h"
#include "platform/blk.h"
#include "platform/nic.h"

/* Serves every export of x that has an AoE address as a target and
 * rewires *link (the NIC's) so that AoE frames go to the targets and the
 * rest to whoever reads link.  0, or the error after logging it. */
int aoe_serve_start(struct net_link *link, struct nic *nic, struct net_exports *x);
/* Logs initiators refused since the last call (rate-limited). */
void aoe_log_refusals(void);
/* Finds the AoE target (config.aoe_target_*, or the first to answer;
 * waiting up to config.discover_timeout) and returns it as a block back
 * end, or NULL after saying why. */
struct blk_dev *aoe_client_start(struct nic *nic);
/* One line of AoE counters (on stop); nothing when AoE is off. */
void aoe_log_stats(void);

#endif
