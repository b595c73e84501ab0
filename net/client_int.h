/* The client's parts (net/client.c: frames, binding to a server,
 * discovery and set-up; net/client_req.c: the requests held, their order,
 * retransmission and polling; net/client_xfer.c: what each request sends
 * and what its answers mean) and what they share. */
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

/* ---- Between client_req.c and client_xfer.c ---- */

/* The request finished with rc: out of the budget, its callback at the
 * end of this poll. */
void cl_rq_finish(struct net_client *c, struct net_rq *r, int rc);
/* Its frames in flight are answered or lost: their budget is free. */
void cl_rq_release(struct net_client *c, struct net_rq *r);
/* The server is alive: a full RTO from now.  Progress: the backoff
 * starts over too. */
void cl_rq_alive(struct net_client *c, struct net_rq *r);
/* The server holds r whole on its disk (NEED): waits, and its next timeout is the disk's. */
void cl_rq_on_disk(struct net_client *c, struct net_rq *r);
void cl_rq_progress(struct net_client *c, struct net_rq *r);
/* Sends one request frame, `live` set from the oldest tag held. */
void cl_rq_emit(struct net_client *c, const struct net_rq *r, struct net_msg *m);
/* A read or write checked against the bound disk: 0 or the refusal. */
int cl_xfer_check(struct net_client *c, const struct blk_io *io);
/* A loss among r's frames: an adapting budget narrows (client_xfer.c). */
void cl_budget_loss(struct net_client *c, struct net_rq *r);
/* Sends what r owes the server if the budget has room: true if it did. */
bool cl_rq_send(struct net_client *c, struct net_rq *r);
/* A frame with r's tag, by r's type. */
void cl_got_read(struct net_client *c, struct net_rq *r, const struct net_msg *m);
void cl_got_write(struct net_client *c, struct net_rq *r, const struct net_msg *m);
void cl_got_simple(struct net_client *c, struct net_rq *r, const struct net_msg *m);

#endif
