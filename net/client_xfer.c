/* The ferry block protocol, client side: the data of reads and writes
 * (net/client.h, docs/protocol.md): what each request sends when the
 * shared budget has room, and what the frames with its tag mean.  The
 * requests, their order and their clocks are in net/client_req.c. */
#include "client_int.h"
#include "platform/mem.h"
#include "lib/string.h"

/* ---- Data between the frames and the scatter list ----------------------- */

/* Copies len bytes from byte off of the scatter list into buf (a write's
 * chunk before it is sent). */
static void seg_read(const struct blk_seg *segs, unsigned nseg, u64 off, u8 *buf, u32 len)
{
	for (unsigned i = 0; i < nseg && len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		u32 n = (u32)MIN((u64)segs[i].len - off, (u64)len);
		memcpy(buf, (const u8 *)phys_to_virt(segs[i].addr) + off, n);
		buf += n;
		len -= n;
		off = 0;
	}
}

/* Decrypts m's data (a read's chunk as it arrives, sealed: it came
 * under c->rx, the only key of RX_MSG frames) to byte off of the scatter
 * list, straight where it belongs. */
static void seg_open(struct net_client *c, const struct blk_seg *segs, unsigned nseg, u64 off, const struct net_msg *m)
{
	struct net_opener o;
	u32 done = 0;
	net_open_begin(&o, &c->rx, m, 0);
	for (unsigned i = 0; i < nseg && done < m->data_len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		u32 n = (u32)MIN((u64)segs[i].len - off, (u64)(m->data_len - done));
		net_open_next(&o, (u8 *)phys_to_virt(segs[i].addr) + off, n);
		done += n;
		off = 0;
	}
	net_open_end(&o);
}

/* Checks a read or write against the bound disk: 0, or the error that
 * refuses it. */
int cl_xfer_check(struct net_client *c, const struct blk_io *io)
{
	const struct blk_info *in = &c->blk.info;
	if (!io->segs || io->nseg == 0 || io->nseg > BLK_MAX_SEGS || io->count == 0 || io->count > in->max_sectors)
		return -E_INVAL;
	if (io->lba >= in->sectors || io->count > in->sectors - io->lba)
		return -E_RANGE;
	u64 total = 0;
	for (unsigned i = 0; i < io->nseg; i++) {
		if (!io->segs[i].len || !io->segs[i].addr)
			return -E_INVAL;
		total += io->segs[i].len;
	}
	if (total != (u64)io->count * in->sector_size)
		return -E_INVAL;
	if (io->op == BLK_OP_WRITE && in->read_only)
		return -E_ROFS;
	return 0;
}

/* ---- The budget ---------------------------------------------------------------- */

/* With `burst` left 0 the budget adapts to the path, as TCP's congestion
 * window does (RFC 5681), in bytes: a round or burst answered whole that
 * was sent with the budget past half full (so the budget was what held
 * the link back) widens it by an eighth of what it carried, a standard
 * frame at least, up to NET_BURST_MAX standard frames; a loss (a round
 * whose last chunk came with others still missing, a write burst the
 * server did not get whole, a timeout) halves it, down to NET_BURST_MIN.
 * One loss event narrows it once: frames sent before the last narrowing
 * were sent into the same congestion. */
static void widen(struct net_client *c, struct net_rq *r)
{
	if (!c->adaptive || !r->filled)
		return;
	r->filled = false; /* one send widens once, however many answers it gets */
	u32 top = MAX((u32)NET_BURST_MAX * NET_FRAME_STD, (u32)c->frame);
	c->budget = MIN(c->budget + MAX(r->round_bytes / 8, (u32)NET_FRAME_STD), top);
	c->stats.burst_max = MAX(c->stats.burst_max, (u64)c->budget / NET_FRAME_STD);
}

void cl_budget_loss(struct net_client *c, struct net_rq *r)
{
	r->filled = false; /* nor may a late answer to it widen */
	if (!c->adaptive || r->sent_seq <= c->cut_seq)
		return;
	u32 floor = MAX((u32)NET_BURST_MIN * NET_FRAME_STD, (u32)c->frame);
	c->budget = MAX(c->budget / 2, floor);
	c->cut_seq = c->send_seq;
	c->stats.burst_cuts++;
}

/* ---- Sending ------------------------------------------------------------------ */

/* The budget left for new frames, in bytes. */
static u32 room(const struct net_client *c)
{
	return c->credit < c->budget ? c->budget - c->credit : 0;
}

/* What chunk i's frame (DATA or WRITE) costs the budget: its bytes, and
 * a standard frame's at least, as a receive descriptor holds one frame
 * whatever its length. */
static u32 chunk_cost(const struct net_rq *r, u32 i)
{
	return MAX(NET_OVERHEAD + NET_DATA_HDR_LEN + net_chunk_len(r->bytes, i, r->csize), (u32)NET_FRAME_STD);
}

/* What the next frame r sends costs: its first chunk the server lacks
 * (chunk 0 for a write's probe when it lacks none), or a request frame. */
static u32 next_cost(const struct net_rq *r)
{
	if (r->type != NET_T_READ && r->type != NET_T_WRITE)
		return NET_FRAME_STD;
	u32 i = 0;
	while (i < r->nchunks && net_bit(r->have, i))
		i++;
	return chunk_cost(r, i < r->nchunks ? i : 0);
}

/* Asks for the first chunks not yet received, as many as `room` bytes of
 * the budget hold (one at least). */
static void send_read(struct net_client *c, struct net_rq *r, u32 room)
{
	struct net_msg m = { .type = NET_T_READ, .tag = r->tag };
	m.b.read.dev = c->cfg.dev;
	m.b.read.count = r->count;
	m.b.read.lba = r->lba;
	u32 used = 0;
	r->pending = 0;
	for (u32 i = 0; i < r->nchunks; i++) {
		if (net_bit(r->have, i))
			continue;
		u32 cost = chunk_cost(r, i);
		if (r->pending && used + cost > room)
			break;
		net_bit_set(m.b.read.want, i);
		r->pending++;
		r->last_want = i;
		used += cost;
	}
	memcpy(r->want, m.b.read.want, sizeof(r->want));
	r->credit += used;
	c->credit += used;
	cl_rq_emit(c, r, &m);
}

static void send_chunk(struct net_client *c, struct net_rq *r, u32 i, bool ack)
{
	struct net_msg m = { .type = NET_T_WRITE, .tag = r->tag, .flags = ack ? NET_F_ACK_REQ : 0 };
	m.b.data.dev = c->cfg.dev;
	m.b.data.chunk = (u16)i;
	m.b.data.count = r->count;
	m.b.data.lba = r->lba;
	m.data_len = net_chunk_len(r->bytes, i, r->csize);
	seg_read(r->segs, r->nseg, (u64)i * r->csize, c->chunk, m.data_len);
	m.data = c->chunk;
	net_bit_set(r->want, i);
	r->credit += chunk_cost(r, i);
	c->credit += chunk_cost(r, i);
	cl_rq_emit(c, r, &m);
}

/* Sends the chunks the server lacks that `room` bytes of the budget hold
 * (one at least), asking for an answer on the last.  A probe (after a
 * timeout or a rebind) is one chunk the server lacks with ACK_REQ: NEED
 * says what else is missing, STATUS that the write is done. */
static void send_write(struct net_client *c, struct net_rq *r, u32 room)
{
	u32 used = 0, prev = r->nchunks;
	bool probe = r->probe;
	r->probe = false;
	memset(r->want, 0, sizeof(r->want));
	for (u32 i = 0; i < r->nchunks; i++) {
		if (net_bit(r->have, i))
			continue;
		u32 cost = chunk_cost(r, i);
		if (prev != r->nchunks && (probe || used + cost > room))
			break;
		if (prev != r->nchunks)
			send_chunk(c, r, prev, false);
		prev = i;
		used += cost;
	}
	send_chunk(c, r, prev != r->nchunks ? prev : 0, true);
}

static void send_simple(struct net_client *c, struct net_rq *r)
{
	struct net_msg q = { .type = r->type, .tag = r->tag };
	q.b.dev.dev = c->cfg.dev;
	r->credit += NET_FRAME_STD;
	c->credit += NET_FRAME_STD;
	cl_rq_emit(c, r, &q);
}

/* Sends what r owes the server if the budget has room: true if it did. */
bool cl_rq_send(struct net_client *c, struct net_rq *r)
{
	u32 n = room(c);
	if (n < next_cost(r))
		return false;
	r->send = false;
	r->sent_seq = ++c->send_seq;
	if (r->type == NET_T_READ)
		send_read(c, r, n);
	else if (r->type == NET_T_WRITE)
		send_write(c, r, n);
	else
		send_simple(c, r);
	r->round_bytes = r->credit;
	r->filled = c->credit * 2 >= c->budget;
	cl_rq_alive(c, r);
	return true;
}

/* ---- Receiving ---------------------------------------------------------------- */

static bool data_matches(struct net_client *c, const struct net_rq *r, const struct net_msg *m)
{
	const struct net_b_data *d = &m->b.data;
	return d->dev == c->cfg.dev && d->lba == r->lba && d->count == r->count && d->chunk < r->nchunks &&
	       m->data_len == net_chunk_len(r->bytes, d->chunk, r->csize);
}

void cl_got_read(struct net_client *c, struct net_rq *r, const struct net_msg *m)
{
	if (m->type == NET_T_STATUS && m->b.status.status != NET_ST_OK) {
		c->stats.rx_ok++;
		cl_rq_finish(c, r, net_status_to_err(m->b.status.status));
		return;
	}
	if (m->type == NET_T_NEED) {
		if (m->b.need.nchunks != r->nchunks || net_bits_count(m->b.need.have, r->nchunks)) {
			c->stats.rx_drop[NET_DROP_MALFORMED]++;
			return;
		}
		/* Asked again, the READ is on the server's disk: its chunks come
		 * when the disk is done (docs/protocol.md, "On the disk"). */
		c->stats.rx_ok++;
		cl_rq_on_disk(c, r);
		return;
	}
	if (m->type != NET_T_DATA) {
		c->stats.rx_unexpected++;
		return;
	}
	if (!data_matches(c, r, m)) {
		c->stats.rx_drop[NET_DROP_MALFORMED]++;
		return;
	}
	c->stats.rx_ok++;
	u32 i = m->b.data.chunk;
	if (net_bit(r->have, i)) {
		c->stats.rx_dup_chunks++;
		cl_rq_alive(c, r);
	} else {
		seg_open(c, r->segs, r->nseg, (u64)i * r->csize, m);
		net_bit_set(r->have, i);
		if (++r->nhave == r->nchunks) {
			widen(c, r);
			cl_rq_finish(c, r, 0);
			return;
		}
		if (net_bit(r->want, i) && r->pending) {
			r->pending--;
			r->credit -= chunk_cost(r, i);
			c->credit -= chunk_cost(r, i);
		}
		cl_rq_progress(c, r);
	}
	/* This round is complete, or its last chunk came and the others it
	 * asked for are lost (or late): ask for the next round. */
	if (!r->pending || ((m->flags & NET_F_LAST) && i == r->last_want)) {
		if (r->send)
			; /* between rounds: a late or repeated chunk judges nothing */
		else if (r->pending)
			cl_budget_loss(c, r);
		else
			widen(c, r);
		cl_rq_release(c, r);
		r->pending = 0;
		memset(r->want, 0, sizeof(r->want));
		r->send = true;
	}
}

void cl_got_write(struct net_client *c, struct net_rq *r, const struct net_msg *m)
{
	if (m->type == NET_T_STATUS) {
		c->stats.rx_ok++;
		if (m->b.status.status == NET_ST_OK)
			widen(c, r);
		cl_rq_finish(c, r, net_status_to_err(m->b.status.status));
		return;
	}
	if (m->type != NET_T_NEED) {
		c->stats.rx_unexpected++;
		return;
	}
	if (m->b.need.nchunks != r->nchunks) {
		c->stats.rx_drop[NET_DROP_MALFORMED]++;
		return;
	}
	c->stats.rx_ok++;
	/* The server's word is the truth, even if it holds fewer chunks than
	 * before (it may have had to drop the reassembly).  The burst it
	 * answers is over. */
	u32 n = net_bits_count(m->b.need.have, r->nchunks);
	/* Judged only for a burst on the wire (with r->send it timed out, or
	 * a rebinding resends it: this NEED is late). */
	if (!r->send) {
		bool whole = true;
		for (u32 i = 0; i < r->nchunks && whole; i++)
			whole = !net_bit(r->want, i) || net_bit(m->b.need.have, i);
		if (whole)
			widen(c, r);
		else
			cl_budget_loss(c, r);
	}
	if (n > r->nhave)
		cl_rq_progress(c, r);
	else
		cl_rq_alive(c, r);
	memcpy(r->have, m->b.need.have, sizeof(r->have));
	r->nhave = n;
	cl_rq_release(c, r);
	r->probe = false;
	if (n == r->nchunks) {
		/* Every chunk held: the write is on the server's disk, its STATUS
		 * comes when the disk is done.  Nothing to send until then. */
		r->send = false;
		cl_rq_on_disk(c, r);
		return;
	}
	r->send = true;
}

void cl_got_simple(struct net_client *c, struct net_rq *r, const struct net_msg *m)
{
	if (m->type == NET_T_STATUS && (r->type == NET_T_FLUSH || m->b.status.status != NET_ST_OK)) {
		c->stats.rx_ok++;
		cl_rq_finish(c, r, net_status_to_err(m->b.status.status));
		return;
	}
	if (m->type == NET_T_NEED && r->type == NET_T_FLUSH && m->b.need.nchunks == 1 &&
	    !net_bit(m->b.need.have, 0)) {
		c->stats.rx_ok++; /* the FLUSH asked again is on the server's disk */
		cl_rq_on_disk(c, r);
		return;
	}
	if (m->type == NET_T_DEVINFO && r->type == NET_T_IDENTIFY && m->b.info.dev == c->cfg.dev) {
		c->stats.rx_ok++;
		net_devinfo_to_blk(&m->b.info, r->info);
		cl_rq_finish(c, r, 0);
		return;
	}
	c->stats.rx_unexpected++;
}

