/* The frame pump: two ferry instances move frames between them with no
 * disk and no guest, to test the NIC drivers and to measure the link's
 * ceiling (make bench).  EtherType 0x88B6 (IEEE 802 local experimental 2),
 * apart from the ferry protocol's 0x88B5. */
#ifndef FERRY_NET_PUMP_H
#define FERRY_NET_PUMP_H

#include "platform/nic.h"

#define PUMP_ETHERTYPE 0x88B6

/* Answers every pump frame with the same payload, forever. */
__noreturn void pump_echo(struct nic *nic);
/* Sends count frames of frame_len bytes with at most window unanswered,
 * checks each echo, prints the rate.  0 when every frame came back intact. */
int pump_send(struct nic *nic, u32 count, u32 frame_len, u32 window);

#endif
