/* The server's request buffers and the finished-write cache of each
 * client slot (net/server_int.h). */
#include "server_int.h"
#include "lib/string.h"

/* ---- Client slots ---------------------------------------------------------- */

void free_bufs_of(struct net_server *s, unsigned peer)
{
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct net_srv_buf *b = &s->bufs[i];
		if (b->state == NET_BUF_DISK && b->peer == peer)
			b->orphan = true; /* the disk has it: freed when it is done */
		else if (b->state != NET_BUF_FREE && b->peer == peer)
			b->state = NET_BUF_FREE;
	}
}

/* The finished write with this tag, or NULL. */
int done_find(const struct net_srv_peer *p, u64 tag)
{
	for (unsigned i = 0; i < NET_DUP_CACHE; i++)
		if (p->done[i].tag == tag)
			return (int)i;
	return -1;
}

/* Remembers a finished write; the oldest (lowest) tag makes room and
 * raises the floor below which write tags are refused. */
void done_add(struct net_srv_peer *p, u64 tag, u32 st)
{
	unsigned slot = 0;
	for (unsigned i = 0; i < NET_DUP_CACHE; i++) {
		if (!p->done[i].tag) {
			slot = i;
			goto put;
		}
		if (p->done[i].tag < p->done[slot].tag)
			slot = i;
	}
	if (p->done[slot].tag > p->tag_floor)
		p->tag_floor = p->done[slot].tag;
put:
	p->done[slot].tag = tag;
	p->done[slot].status = st;
}

/* ---- Buffers --------------------------------------------------------------- */

struct net_srv_buf *buf_find(struct net_server *s, u8 state, unsigned peer, u64 tag)
{
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct net_srv_buf *b = &s->bufs[i];
		if (b->state == state && b->peer == peer && b->sess == s->peers[peer].sess && b->tag == tag && !b->orphan)
			return b;
	}
	return NULL;
}

/* The chunk size of the binding the frame being handled came under. */
u32 srv_csize(const struct net_srv_peer *p)
{
	return (p->via ? p->via : &p->cur)->csize;
}

/* A free buffer, else the least recently used kept read, else the least
 * recently used write under reassembly (its client resends what NEED
 * then says is missing); NULL when the disk has every one. */
static struct net_srv_buf *buf_alloc(struct net_server *s)
{
	struct net_srv_buf *best = NULL;
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct net_srv_buf *b = &s->bufs[i];
		if (b->state == NET_BUF_FREE)
			return b;
		if (b->state == NET_BUF_DISK)
			continue;
		if (!best || (b->state == NET_BUF_READ && best->state == NET_BUF_WRITE) ||
		    (b->state == best->state && b->last_use < best->last_use))
			best = b;
	}
	if (!best)
		return NULL;
	if (best->state == NET_BUF_WRITE)
		s->stats.buf_evictions++;
	best->state = NET_BUF_FREE;
	return best;
}

/* Does p hold its share already?  While others are active (a frame in
 * the last NET_SRV_ACTIVE_US) each client may hold an equal share of the
 * buffers on the disk or under reassembly: one alone has them all. */
#define NET_SRV_ACTIVE_US 1000000
static bool over_share(struct net_server *s, const struct net_srv_peer *p)
{
	unsigned idx = (unsigned)(p - s->peers), active = 0, mine = 0;
	u64 now = srv_now(s);
	for (unsigned i = 0; i < NET_SRV_PEERS; i++)
		active += s->peers[i].used && now - s->peers[i].last_use < NET_SRV_ACTIVE_US;
	if (active < 2)
		return false;
	for (const struct net_srv_buf *b = s->bufs; b < s->bufs + s->nbufs; b++)
		mine += b->peer == idx && !b->orphan && (b->state == NET_BUF_DISK || b->state == NET_BUF_WRITE);
	return mine >= MAX(1u, s->nbufs / active);
}

/* Past its share, p's request takes the place of p's own least recently
 * used write under reassembly (its client resends what the next NEED says
 * is missing): writes it gave up on must not keep its later requests out.
 * NULL when all of p's share is on the disk. */
static struct net_srv_buf *own_oldest_write(struct net_server *s, const struct net_srv_peer *p)
{
	unsigned idx = (unsigned)(p - s->peers);
	struct net_srv_buf *best = NULL;
	for (struct net_srv_buf *b = s->bufs; b < s->bufs + s->nbufs; b++)
		if (b->state == NET_BUF_WRITE && b->peer == idx && (!best || b->last_use < best->last_use))
			best = b;
	if (best) {
		s->stats.buf_evictions++;
		best->state = NET_BUF_FREE;
	}
	return best;
}

/* A buffer given to request tag of peer p, under the binding its frame
 * came under: a read or write of count sectors at lba.  NULL, counted,
 * when the disk has every buffer, or all of p's share while others are
 * active: the request is dropped and its client sends it again. */
struct net_srv_buf *buf_take(struct net_server *s, u8 state, const struct net_srv_peer *p, u64 tag, u64 lba,
				    u32 count)
{
	struct net_srv_buf *b = over_share(s, p) ? own_oldest_write(s, p) : buf_alloc(s);
	if (!b) {
		s->stats.rx_busy++;
		return NULL;
	}
	b->state = state;
	b->orphan = false;
	b->peer = (u8)(p - s->peers);
	b->sess = p->sess;
	b->ticket = p->via->ticket;
	b->tag = tag;
	b->lba = lba;
	b->count = count;
	b->bytes = count * srv_info(s, p)->sector_size;
	b->csize = srv_csize(p);
	b->nchunks = net_chunks(b->bytes, b->csize);
	b->nhave = 0;
	memset(b->have, 0, sizeof(b->have));
	return b;
}

/* The client waits for nothing older than floor any more: partial writes
 * below it are dropped, and their late frames refused (do_write). */
void raise_live_floor(struct net_server *s, struct net_srv_peer *p, u64 floor)
{
	if (floor <= p->live_floor)
		return;
	p->live_floor = floor;
	unsigned idx = (unsigned)(p - s->peers);
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct net_srv_buf *b = &s->bufs[i];
		if (b->state == NET_BUF_WRITE && b->peer == idx && b->sess == p->sess && b->tag < floor)
			b->state = NET_BUF_FREE;
	}
}
