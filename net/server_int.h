/* The server's two halves (net/server.c: requests and the frame loop;
 * net/server_bind.c: HELLO, COOKIE, BIND and the client slots) and what
 * they share; net/server_bufs.c: the request buffers; net/server_disk.c:
 * the disk path. */
#ifndef FERRY_NET_SERVER_INT_H
#define FERRY_NET_SERVER_INT_H

#include "server.h"

static inline u64 srv_now(struct net_server *s)
{
	return s->link.now_us(s->link.ctx);
}

/* What p's binding is for: its export's DEVINFO and disk. */
static inline const struct net_b_devinfo *srv_info(const struct net_server *s, const struct net_srv_peer *p)
{
	return &s->info[p->dev];
}

static inline struct blk_dev *srv_dev(const struct net_server *s, const struct net_srv_peer *p)
{
	return s->x->e[p->dev].dev;
}

/* Builds the export table and each export's DEVINFO (net_server_init):
 * 0, -E_INVAL or -E_NOTSUP. */
int srv_exports_init(struct net_server *s);

/* Under p's binding: its s2c key, ticket and counter. */
void srv_send(struct net_server *s, struct net_srv_peer *p, struct net_msg *m);
void reply_devinfo(struct net_server *s, struct net_srv_peer *p, u64 tag);
/* The request buffers and each slot's finished writes (net/server_bufs.c). */
/* Frees the request buffers of slot idx (those on the disk finish unanswered). */
void free_bufs_of(struct net_server *s, unsigned idx);
/* The finished write of p with this tag: its index in p->done, or -1. */
int done_find(const struct net_srv_peer *p, u64 tag);
/* Remembers a finished write; the oldest makes room and raises the floor. */
void done_add(struct net_srv_peer *p, u64 tag, u32 st);
/* The buffer in state of slot peer's current session with this tag, or NULL. */
struct net_srv_buf *buf_find(struct net_server *s, u8 state, unsigned peer, u64 tag);
/* The chunk size of the binding the frame being handled came under. */
u32 srv_csize(const struct net_srv_peer *p);
/* A buffer for request tag of p (a read or write of count sectors at
 * lba), or NULL, counted in rx_busy: every buffer on the disk, or p holds
 * its share while other clients are active.  The request is dropped and
 * its client sends it again. */
struct net_srv_buf *buf_take(struct net_server *s, u8 state, const struct net_srv_peer *p, u64 tag, u64 lba,
			     u32 count);
/* The client waits for nothing older than floor: partial writes below it go. */
void raise_live_floor(struct net_server *s, struct net_srv_peer *p, u64 floor);

/* The disk path (net/server_disk.c).  srv_disk_start hands buffer b
 * (state DISK, op set by it) to dev: a back end with submit takes it now
 * or when it has room, in the order requests were started, and the
 * server goes on; one without runs it at once.  Either way
 * srv_disk_finish (net/server.c) answers it when the disk is done: from
 * srv_disk_start itself, from a later srv_disk_poll, or from inside the
 * back end whenever another user's synchronous call makes it finish what
 * it holds (the AoE target on the same disk, from the link's receive):
 * it therefore touches neither s->rx nor the waiting list. */
void srv_disk_start(struct net_server *s, struct net_srv_buf *b, struct blk_dev *dev, enum blk_op op);
void srv_disk_poll(struct net_server *s);
void srv_disk_finish(struct net_server *s, struct net_srv_buf *b, int rc);

/* HELLO and BIND frames (s->rx, len bytes; h from net_peek). */
void srv_hello(struct net_server *s, size_t len, const struct net_hdr *h);
void srv_bind(struct net_server *s, size_t len, const struct net_hdr *h);
/* Forgets the slot's previous binding. */
void srv_retire_prev(struct net_srv_peer *p);
/* The slot whose current or previous binding has this ticket, or NULL. */
struct net_srv_peer *peer_by_ticket(struct net_server *s, u64 ticket);
/* The writer rule at each write (net/exports.h): NET_ST_OK when p is its
 * export's writer, or may become it now (the one before has lapsed);
 * NET_ST_TAKEN, noted as a refusal, when another client or an AoE
 * initiator writes the export since.  So a binding outlives its writer
 * record only as a reader: its writes are refused and write nothing. */
u32 srv_write_allowed(struct net_server *s, const struct net_srv_peer *p);
/* 0, or -E_INVAL when a name in cfg->clients breaks the name rule. */
int srv_clients_check(const char *list);

#endif
