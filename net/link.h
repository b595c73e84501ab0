/* The link the ferry block protocol runs on: whole Ethernet frames in and
 * out, and a clock.  The protocol (net/client.c, net/server.c) knows nothing
 * else of the machine, so host tests plug in a simulated lossy wire and a
 * fake clock, and ferry plugs in a struct nic and time_us (main/link_nic.c). */
#ifndef FERRY_NET_LINK_H
#define FERRY_NET_LINK_H

#include "lib/types.h"

struct net_link {
	void *ctx;
	/* Queues one frame (at most NIC_MAX_FRAME bytes): 0 or -E_*.  A
	 * failed send counts as a lost frame; the protocol retransmits. */
	int (*send)(void *ctx, const void *frame, size_t len);
	/* Takes one received frame without waiting: 0 and *len, or -E_NOENT. */
	int (*recv)(void *ctx, void *buf, size_t cap, size_t *len);
	/* Microseconds on a clock that never goes backwards. */
	u64 (*now_us)(void *ctx);
};

struct nic;
/* Fills *link with a wrapper around nic (and time_us); send waits up to
 * 2 ms for room in a full TX ring before giving up on the frame. */
void net_link_nic(struct net_link *link, struct nic *nic);

#endif
