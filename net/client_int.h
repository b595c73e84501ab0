/* The client's two halves (net/client.c: frames, binding to a server,
 * discovery and set-up; net/client_req.c: the requests, their
 * retransmission and the data) and what they share. */
#ifndef FERRY_NET_CLIENT_INT_H
#define FERRY_NET_CLIENT_INT_H

#include "client.h"

/* What cl_rx made of a frame. */
enum {
	RX_NONE,     /* nothing arrived */
	RX_DROP,     /* dropped (counted in the stats) */
	RX_MSG,      /* an authentic frame from the bound server: the caller's to judge */
	RX_BOUND,    /* a DEVINFO (re)bound the client */
	RX_HS,       /* a handshake frame, handled */
	RX_MISMATCH, /* the server now exports another disk */
};

static inline u64 cl_now(struct net_client *c)
{
	return c->link.now_us(c->link.ctx);
}

/* To the bound server under its ticket. */
void cl_send_bound(struct net_client *c, struct net_msg *m);
/* Starts a handshake, or sends its current step again (HELLO: broadcast
 * while unbound, or to the configured server; to the bound server when
 * re-binding.  BIND: to the COOKIE's sender).  The name is from protocol
 * version 1's DISCOVER. */
void cl_send_discover(struct net_client *c);
/* An authentic frame from the server arrived: it is alive.  After a
 * silence, logs that it is back and keeps the outage's length in
 * c->last_outage_us; restarted says it came back under a new ticket. */
void cl_heard(struct net_client *c, bool restarted);
/* "12.3" for a time in microseconds: seconds with one decimal. */
#define CL_SECS(us) (unsigned long)((us) / 1000000), (unsigned)((us) / 100000 % 10)
/* Takes one frame from the link and runs it through every check that does
 * not depend on the request in progress. */
int cl_rx(struct net_client *c, struct net_msg *m);

#endif
