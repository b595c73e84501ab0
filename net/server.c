/* The ferry block protocol, server side: requests and the frame loop
 * (net/server.h, docs/protocol.md).  The handshake and the client slots are
 * in net/server_bind.c.
 *
 * Every accepted request has passed, in this order: the checks before the
 * tag (EtherType, destination, lengths, version), the slot lookup (the
 * binding's ticket, client MAC and client session), the tag under that
 * binding's client-to-server key, the field rules and the binding's replay
 * window.  Only then does it touch the disk or any state. */
#include "server_int.h"
#include "lib/string.h"
#include "lib/hkdf.h"
#include "disk_rw.h"

/* ---- Sending -------------------------------------------------------------- */

void srv_send(struct net_server *s, struct net_srv_peer *p, struct net_msg *m)
{
	memcpy(m->dst, p->mac, ETH_ALEN);
	memcpy(m->src, s->cfg.mac, ETH_ALEN);
	struct net_srv_binding *b = p->via ? p->via : &p->cur;
	m->src_sess = b->ticket;
	m->dst_sess = p->sess;
	m->counter = ++b->tx_counter;
	s->sealed++;
	int len = net_encode(s->tx, &b->tx_key, m);
	if (len < 0 || s->link.send(s->link.ctx, s->tx, (size_t)len) < 0) {
		s->stats.tx_errors++;
		return;
	}
	s->stats.tx_frames++;
}

static void reply_status(struct net_server *s, struct net_srv_peer *p, u64 tag, u32 st)
{
	struct net_msg m = { .type = NET_T_STATUS, .tag = tag };
	m.b.status.status = st;
	if (st != NET_ST_OK)
		s->stats.errors++;
	srv_send(s, p, &m);
}

void reply_devinfo(struct net_server *s, struct net_srv_peer *p, u64 tag)
{
	struct net_msg m = { .type = NET_T_DEVINFO, .tag = tag };
	m.b.info = *srv_info(s, p);
	srv_send(s, p, &m);
}

/* ---- The disk -------------------------------------------------------------- */

/* Checks a request against p's export (the only device its binding is
 * for): NET_ST_OK or the status to answer. */
static u32 check_extent(const struct net_server *s, const struct net_srv_peer *p, u16 dev, u64 lba, u32 count)
{
	const struct net_b_devinfo *info = srv_info(s, p);
	if (dev != p->dev)
		return NET_ST_NODEV;
	if (count < 1 || count > info->max_sectors || lba >= info->sectors || count > info->sectors - lba)
		return NET_ST_RANGE;
	return NET_ST_OK;
}

/* ---- Requests --------------------------------------------------------------- */

/* The chunks of a kept read that want asks for, in the size of the
 * binding the READ came under (a read's data does not depend on it). */
static void send_chunks(struct net_server *s, struct net_srv_peer *p, const struct net_srv_buf *b,
			const u8 *want, u64 tag)
{
	u32 csize = srv_csize(p), nchunks = net_chunks(b->bytes, csize);
	u32 last = 0;
	for (u32 i = 0; i < nchunks; i++)
		if (net_bit(want, i))
			last = i;
	for (u32 i = 0; i < nchunks; i++) {
		if (!net_bit(want, i))
			continue;
		struct net_msg m = { .type = NET_T_DATA, .tag = tag, .flags = i == last ? NET_F_LAST : 0 };
		m.b.data.dev = p->dev;
		m.b.data.chunk = (u16)i;
		m.b.data.count = b->count;
		m.b.data.lba = b->lba;
		m.data = b->data + (size_t)i * csize;
		m.data_len = net_chunk_len(b->bytes, i, csize);
		srv_send(s, p, &m);
	}
}

/* NEED for tag, in the chunks of the binding the frame came under: on a
 * write the disk has (whole: every bit), on a read on its way from the
 * disk (none yet), on a FLUSH (one chunk, none held).  Each says: the
 * request is in hand, its answer comes when the disk is done, and nothing
 * needs sending again. */
static void reply_on_disk(struct net_server *s, struct net_srv_peer *p, const struct net_srv_buf *b, u64 tag)
{
	struct net_msg n = { .type = NET_T_NEED, .tag = tag };
	u32 nchunks = b->op == BLK_OP_FLUSH ? 1 : net_chunks(b->bytes, srv_csize(p));
	n.b.need.nchunks = (u16)nchunks;
	for (u32 i = 0; b->op == BLK_OP_WRITE && i < nchunks; i++)
		net_bit_set(n.b.need.have, i);
	s->stats.needs++;
	srv_send(s, p, &n);
}

static void do_read(struct net_server *s, struct net_srv_peer *p, const struct net_msg *m)
{
	const struct net_b_read *r = &m->b.read;
	unsigned idx = (unsigned)(p - s->peers);
	u32 st = check_extent(s, p, r->dev, r->lba, r->count);
	if (st != NET_ST_OK) {
		s->stats.rx_ok++; /* acted upon: refused with a status, as a write is */
		reply_status(s, p, m->tag, st);
		return;
	}
	u32 bytes = r->count * srv_info(s, p)->sector_size;
	if (net_bits_beyond(r->want, net_chunks(bytes, srv_csize(p)))) {
		s->stats.rx_drop[NET_DROP_MALFORMED]++;
		return;
	}
	struct net_srv_buf *b = buf_find(s, NET_BUF_READ, idx, m->tag);
	if (!b)
		b = buf_find(s, NET_BUF_DISK, idx, m->tag);
	if (b && (b->lba != r->lba || b->count != r->count || (b->state == NET_BUF_DISK && b->op != BLK_OP_READ))) {
		s->stats.rx_drop[NET_DROP_MALFORMED]++; /* one tag, two different requests */
		return;
	}
	if (b) {
		s->stats.rx_ok++;
		s->stats.read_hits++;
		if (b->state == NET_BUF_READ) {
			b->last_use = s->clock;
			send_chunks(s, p, b, r->want, m->tag);
			return;
		}
		/* On its way from the disk: these chunks go out with the rest
		 * (all of what this frame wants, if it came under another
		 * binding). */
		if (b->ticket != p->via->ticket) {
			b->ticket = p->via->ticket;
			b->csize = srv_csize(p);
			memset(b->want, 0, sizeof(b->want));
		}
		for (unsigned i = 0; i < sizeof(b->want); i++)
			b->want[i] |= r->want[i];
		reply_on_disk(s, p, b, m->tag);
		return;
	}
	if (!(b = buf_take(s, NET_BUF_DISK, p, m->tag, r->lba, r->count)))
		return;
	s->stats.rx_ok++;
	memcpy(b->want, r->want, sizeof(b->want));
	srv_disk_start(s, b, srv_dev(s, p), BLK_OP_READ);
}

/* A read the disk finished: its chunks go out; the data stays for
 * re-requests unless a write over it finished meanwhile. */
static void read_done(struct net_server *s, struct net_srv_peer *p, struct net_srv_buf *b, int rc)
{
	s->stats.reads++;
	if (rc < 0) {
		b->state = NET_BUF_FREE; /* nothing to keep for re-requests */
		reply_status(s, p, b->tag, net_err_to_status(rc));
		return;
	}
	b->state = b->stale ? NET_BUF_FREE : NET_BUF_READ;
	b->last_use = s->clock;
	send_chunks(s, p, b, b->want, b->tag);
}

/* Kept reads of export dev that a write changed must not be served again. */
static void drop_reads_over(struct net_server *s, u16 dev, u64 lba, u32 count)
{
	for (unsigned i = 0; i < s->nbufs; i++) {
		struct net_srv_buf *b = &s->bufs[i];
		bool reading = b->state == NET_BUF_DISK && b->op == BLK_OP_READ;
		if ((b->state != NET_BUF_READ && !reading) || s->peers[b->peer].dev != dev || b->lba >= lba + count ||
		    lba >= b->lba + b->count)
			continue;
		if (reading)
			b->stale = true;
		else
			b->state = NET_BUF_FREE;
	}
}

/* A write the disk finished: remembered for duplicates, answered. */
static void write_done(struct net_server *s, struct net_srv_peer *p, struct net_srv_buf *b, int rc)
{
	b->state = NET_BUF_FREE;
	s->stats.writes++;
	u32 st = net_err_to_status(rc);
	done_add(p, b->tag, st);
	drop_reads_over(s, p->dev, b->lba, b->count);
	reply_status(s, p, b->tag, st);
}

/* The binding a request on the disk is answered under: the one it came
 * under while the client has it, else the current one.  A read's chunk
 * map then counts in that binding's chunks: all of them. */
static struct net_srv_binding *answer_binding(struct net_srv_peer *p, struct net_srv_buf *b)
{
	if (p->cur.ticket == b->ticket)
		return &p->cur;
	if (p->prev.ticket && p->prev.ticket == b->ticket)
		return &p->prev;
	b->csize = p->cur.csize;
	memset(b->want, 0, sizeof(b->want));
	for (u32 i = 0; i < net_chunks(b->bytes, b->csize); i++)
		net_bit_set(b->want, i);
	return &p->cur;
}

void srv_disk_finish(struct net_server *s, struct net_srv_buf *b, int rc)
{
	s->stats.disk_us += srv_now(s) - b->disk_t0;
	if (b->orphan) {
		b->state = NET_BUF_FREE; /* its client's slot was reset: no one to answer */
		return;
	}
	struct net_srv_peer *p = &s->peers[b->peer];
	struct net_srv_binding *via = p->via;
	p->via = answer_binding(p, b);
	if (b->op == BLK_OP_READ) {
		read_done(s, p, b, rc);
	} else if (b->op == BLK_OP_WRITE) {
		write_done(s, p, b, rc);
	} else {
		b->state = NET_BUF_FREE;
		reply_status(s, p, b->tag, net_err_to_status(rc));
	}
	p->via = via;
}

static void do_write(struct net_server *s, struct net_srv_peer *p, const struct net_msg *m)
{
	const struct net_b_data *d = &m->b.data;
	unsigned idx = (unsigned)(p - s->peers);
	bool ack = (m->flags & NET_F_ACK_REQ) != 0;

	/* Executed already: answer from the cache, never write again.  Whole
	 * and on the disk: its STATUS comes when the disk is done. */
	int k = done_find(p, m->tag);
	const struct net_srv_buf *on = k < 0 ? buf_find(s, NET_BUF_DISK, idx, m->tag) : NULL;
	if (k >= 0 || on) {
		s->stats.rx_ok++;
		s->stats.write_dups++;
		if (ack && k >= 0)
			reply_status(s, p, m->tag, p->done[k].status);
		else if (ack && on->op == BLK_OP_WRITE)
			reply_on_disk(s, p, on, m->tag);
		return;
	}
	if (m->tag <= p->tag_floor || m->tag < p->live_floor) {
		/* Older than anything the cache still knows, or a write the
		 * client gave up on before it sent a later request: applying it
		 * now could put old data over newer. */
		s->stats.rx_stale++;
		return;
	}
	u32 st = check_extent(s, p, d->dev, d->lba, d->count);
	if (st == NET_ST_OK && (srv_info(s, p)->flags & NET_DEVINFO_READ_ONLY))
		st = NET_ST_ROFS;
	if (st == NET_ST_OK)
		st = srv_write_allowed(s, p); /* the writer rule, at every write */
	if (st != NET_ST_OK) {
		s->stats.rx_ok++;
		if (ack)
			reply_status(s, p, m->tag, st);
		return;
	}
	u32 bytes = d->count * srv_info(s, p)->sector_size, csize = srv_csize(p);
	u32 nchunks = net_chunks(bytes, csize);
	struct net_srv_buf *b = buf_find(s, NET_BUF_WRITE, idx, m->tag);
	if (d->chunk >= nchunks || m->data_len != net_chunk_len(bytes, d->chunk, csize) ||
	    (b && (b->lba != d->lba || b->count != d->count))) {
		s->stats.rx_drop[NET_DROP_MALFORMED]++;
		return;
	}
	/* Chunks of another size (a rebinding changed the frames) do not
	 * add up with these: gather the write again. */
	if (b && b->csize != csize) {
		b->state = NET_BUF_FREE;
		b = NULL;
	}
	if (!b && !(b = buf_take(s, NET_BUF_WRITE, p, m->tag, d->lba, d->count)))
		return;
	s->stats.rx_ok++;
	b->last_use = s->clock;
	if (net_bit(b->have, d->chunk)) {
		s->stats.rx_dup_chunks++;
	} else {
		/* decrypted straight into the reassembly (p->via: the binding
		 * request_ok verified it under) */
		net_data_open(&p->via->rx_key, m, 0, b->data + (size_t)d->chunk * csize, m->data_len);
		net_bit_set(b->have, d->chunk);
		b->nhave++;
	}
	if (b->nhave == b->nchunks) {
		b->ticket = p->via->ticket;
		srv_disk_start(s, b, srv_dev(s, p), BLK_OP_WRITE);
		return;
	}
	if (ack) {
		struct net_msg n = { .type = NET_T_NEED, .tag = m->tag };
		n.b.need.nchunks = (u16)b->nchunks;
		memcpy(n.b.need.have, b->have, sizeof(b->have));
		s->stats.needs++;
		srv_send(s, p, &n);
	}
}

/* Idempotent: a repeated flush simply flushes again, unless the first is
 * still on the disk (its answer comes then).  The disk path finishes it
 * after every write that went to the disk before it. */
static void do_flush(struct net_server *s, struct net_srv_peer *p, const struct net_msg *m)
{
	if (m->b.dev.dev != p->dev) {
		s->stats.rx_ok++;
		reply_status(s, p, m->tag, NET_ST_NODEV);
		return;
	}
	struct blk_dev *dev = srv_dev(s, p);
	if (!dev->ops->submit) {
		/* done at once: no buffer needed */
		s->stats.rx_ok++;
		s->stats.flushes++;
		reply_status(s, p, m->tag, net_err_to_status(dev->ops->flush(dev)));
		return;
	}
	const struct net_srv_buf *held = buf_find(s, NET_BUF_DISK, (unsigned)(p - s->peers), m->tag);
	if (held) {
		s->stats.rx_ok++;
		reply_on_disk(s, p, held, m->tag); /* not flushed twice */
		return;
	}
	struct net_srv_buf *b = buf_take(s, NET_BUF_DISK, p, m->tag, 0, 0);
	if (!b)
		return;
	s->stats.rx_ok++;
	s->stats.flushes++;
	srv_disk_start(s, b, dev, BLK_OP_FLUSH);
}

/* A request under binding b: authentic, well-formed and fresh, or
 * dropped (counted). */
static bool request_ok(struct net_server *s, struct net_srv_binding *b, size_t len, struct net_msg *m)
{
	int v = net_decode_keep(s->rx, len, &b->rx_key, s->cfg.mac, m); /* a WRITE's data: do_write */
	if (v != NET_OK) {
		s->stats.rx_drop[v]++;
		return false;
	}
	v = net_replay_judge(&b->win, m->counter);
	if (v != NET_RP_FRESH) {
		if (v == NET_RP_JUMP)
			s->stats.rx_jump++;
		else
			s->stats.rx_replay++;
		return false;
	}
	net_replay_mark(&b->win, m->counter);
	return true;
}

static void do_frame(struct net_server *s, size_t len)
{
	struct net_hdr h;
	int v = net_peek(s->rx, len, s->cfg.mac, &h);
	if (v != NET_OK) {
		net_count_drop(&s->stats, v, s->rx, &h);
		return;
	}
	if (h.type == NET_T_HELLO) {
		srv_hello(s, len, &h);
		return;
	}
	if (h.type == NET_T_BIND) {
		srv_bind(s, len, &h);
		return;
	}
	if (memcmp(s->rx, s->cfg.mac, ETH_ALEN) != 0) {
		s->stats.rx_drop[NET_DROP_DST]++; /* only HELLO may be broadcast */
		return;
	}
	/* The ticket names the binding, and so the key the frame must verify
	 * under; looking it up costs no hashing. */
	struct net_srv_peer *p = peer_by_ticket(s, h.dst_sess);
	if (!p || p->sess != h.src_sess || memcmp(p->mac, s->rx + ETH_ALEN, ETH_ALEN) != 0) {
		s->stats.rx_session++;
		return;
	}
	struct net_srv_binding *b = p->cur.ticket == h.dst_sess ? &p->cur : &p->prev;
	struct net_msg m;
	if (!request_ok(s, b, len, &m))
		return;
	if (b == &p->cur && p->prev.ticket)
		srv_retire_prev(p); /* the client has moved to the new binding */
	p->via = b;
	p->last_use = srv_now(s);
	s->clock++;
	raise_live_floor(s, p, m.tag - m.live);

	switch (m.type) {
	case NET_T_IDENTIFY:
		s->stats.rx_ok++;
		s->stats.identifies++;
		if (m.b.dev.dev != p->dev)
			reply_status(s, p, m.tag, NET_ST_NODEV);
		else
			reply_devinfo(s, p, m.tag);
		return;
	case NET_T_FLUSH:
		do_flush(s, p, &m);
		return;
	case NET_T_READ:
		do_read(s, p, &m);
		return;
	case NET_T_WRITE:
		do_write(s, p, &m);
		return;
	default:
		s->stats.rx_unexpected++; /* a server-to-client type */
		return;
	}
}

int net_server_init(struct net_server *s, const struct net_server_cfg *cfg, const struct net_link *link)
{
	memset(s, 0, sizeof(*s));
	if (!cfg->key || cfg->key_len < NET_KEY_MIN || !cfg->session || !cfg->buf ||
	    ((uintptr_t)cfg->buf & 3) || cfg->buf_size < NET_MAX_REQ_BYTES || !link->send || !link->recv ||
	    !link->now_us || srv_clients_check(cfg->clients) < 0)
		return -E_INVAL;
	s->cfg = *cfg;
	s->cfg.max_frame = cfg->max_frame ? MIN(MAX(cfg->max_frame, (u32)NET_FRAME_STD), (u32)NET_FRAME_MAX)
					  : NET_FRAME_STD;
	s->link = *link;
	int rc = srv_exports_init(s);
	if (rc < 0)
		return rc;
	if (!s->cfg.evict_idle_us)
		s->cfg.evict_idle_us = NET_SRV_EVICT_IDLE_US;
	net_master_init(&s->master, cfg->key, cfg->key_len);
	/* This boot's cookie secret: from the master (no one without it can
	 * make a cookie) and the boot's session (a new secret every boot, so
	 * cookies of an earlier boot are worthless). */
	u8 sec[32], ctx[8 + ETH_ALEN];
	memcpy(ctx, &cfg->session, 8);
	memcpy(ctx + 8, cfg->mac, ETH_ALEN);
	hkdf(ctx, sizeof(ctx), cfg->key, cfg->key_len, "ferry v3 cookie secret", 22, sec, sizeof(sec));
	hmac_sha256_init(&s->cookie, sec, sizeof(sec));
	secure_wipe(sec, sizeof(sec));
	s->nbufs = (unsigned)MIN(cfg->buf_size / NET_MAX_REQ_BYTES, (size_t)NET_SRV_MAX_BUFS);
	for (unsigned i = 0; i < s->nbufs; i++)
		s->bufs[i].data = (u8 *)cfg->buf + (size_t)i * NET_MAX_REQ_BYTES;
	return 0;
}

unsigned net_server_poll(struct net_server *s)
{
	srv_disk_poll(s);
	unsigned n = 0;
	while (n < NET_SRV_POLL_BUDGET) {
		size_t len;
		if (s->link.recv(s->link.ctx, s->rx, sizeof(s->rx), &len) < 0)
			break;
		n++;
		s->stats.rx_frames++;
		do_frame(s, len);
	}
	return n;
}
