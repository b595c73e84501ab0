/* The AoE initiator (net/aoe_client.h; AoE r11, ATA8-ACS). */
#include "aoe_client.h"
#include "platform/console.h"
#include "lib/fmt.h"
#include "lib/string.h"

static const u8 BCAST[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static u64 cl_now(struct aoe_client *c) { return c->link.now_us(c->link.ctx); }

static u16 id_word(const u8 *id, unsigned w) { return (u16)(id[2 * w] | id[2 * w + 1] << 8); }

/* An ATA string (two characters a word, the first in the high byte) into
 * out, NUL-terminated, trailing blanks removed. */
static void id_string(const u8 *id, unsigned w, unsigned words, char *out)
{
	unsigned n = 0;
	for (unsigned i = 0; i < 2 * words; i++) {
		u8 ch = id[2 * w + (i ^ 1)];
		out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	while (n && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

/* Copies len bytes at byte off of the request's segments: from in into
 * them when in is given, else from them to out. */
static void seg_copy(const struct blk_seg *segs, unsigned nseg, size_t off, u8 *out, const u8 *in, size_t len)
{
	for (unsigned i = 0; i < nseg && len; i++) {
		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		u8 *p = (u8 *)(uintptr_t)segs[i].addr + off;
		size_t n = MIN(len, (size_t)segs[i].len - off);
		if (in) {
			memcpy(p, in, n);
			in += n;
		} else {
			memcpy(out, p, n);
			out += n;
		}
		len -= n;
		off = 0;
	}
}

/* ---- Requests --------------------------------------------------------------- */

/* One ATA command split into frames: READ/WRITE of count sectors, or a
 * one-frame IDENTIFY (into ident) or FLUSH. */
struct cl_req {
	u8 cmd;
	bool write;
	u64 lba;
	u32 count;
	const struct blk_seg *segs;
	unsigned nseg;
	u8 *ident;
};

static u32 frames_of(const struct aoe_client *c, const struct cl_req *r)
{
	return r->ident || !r->count ? 1 : (r->count + c->scnt - 1) / c->scnt;
}

static u32 sectors_in(const struct aoe_client *c, const struct cl_req *r, u32 i)
{
	if (r->ident)
		return 1;
	return MIN(c->scnt, r->count - i * c->scnt);
}

static void send_frame(struct aoe_client *c, const struct cl_req *r, struct aoe_cl_frame *f)
{
	u32 n = sectors_in(c, r, f->index);
	struct aoe_msg m = { .ver = AOE_VERSION, .shelf = c->shelf, .slot = c->slot, .cmd = AOE_CMD_ATA, .tag = f->tag };
	memcpy(m.dst, c->target, ETH_ALEN);
	memcpy(m.src, c->cfg.mac, ETH_ALEN);
	struct aoe_ata *a = &m.b.ata;
	a->cmd = r->cmd;
	a->aflags = c->lba48 && !r->ident ? AOE_AF_EXT : 0;
	if (r->count && !r->ident) {
		a->count = (u8)n;
		aoe_ata_set_lba(a, r->lba + (u64)f->index * c->scnt);
	} else {
		a->count = r->ident ? 1 : 0;
		a->lba[3] = 0xA0; /* device register, as initiators send it */
	}
	if (r->write) {
		a->aflags |= AOE_AF_WRITE;
		a->data = c->tx + AOE_ATA_HDR_LEN; /* gathered in place */
		a->data_len = (size_t)n * AOE_SECTOR;
		seg_copy(r->segs, r->nseg, (size_t)f->index * c->scnt * AOE_SECTOR, c->tx + AOE_ATA_HDR_LEN, NULL,
			 a->data_len);
	}
	size_t len = aoe_encode(c->tx, sizeof(c->tx), &m);
	f->sent_at = cl_now(c);
	if (len && c->link.send(c->link.ctx, c->tx, len) == 0)
		c->stats.tx++;
}

/* RFC 6298's estimator on a sample of us microseconds. */
static void rtt_sample(struct aoe_client *c, u64 us)
{
	if (!c->srtt) {
		c->srtt = us;
		c->rttvar = us / 2;
	} else {
		u64 d = c->srtt > us ? c->srtt - us : us - c->srtt;
		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + us) / 8;
	}
	c->rto = MAX(MIN(c->srtt + 4 * c->rttvar, AOE_CL_RTO_MAX_US), (u64)AOE_CL_RTO_MIN_US);
}

/* The frame in flight that answer m is for, or NULL (another target's,
 * a stale tag, not an answer). */
static struct aoe_cl_frame *match(struct aoe_client *c, const struct aoe_msg *m)
{
	if (!(m->flags & AOE_F_RESP) || m->cmd != AOE_CMD_ATA || memcmp(m->src, c->target, ETH_ALEN) ||
	    m->shelf != c->shelf || m->slot != c->slot)
		return NULL;
	for (unsigned i = 0; i < c->window; i++)
		if (c->fr[i].busy && c->fr[i].tag == m->tag)
			return &c->fr[i];
	return NULL;
}

/* What an answer says: 0, 1 to ignore it (too short to be the answer),
 * or the request's error. */
static int take_answer(struct aoe_client *c, const struct cl_req *r, const struct aoe_msg *m,
		       const struct aoe_cl_frame *f)
{
	if (m->flags & AOE_F_ERR) {
		c->stats.e_answers++;
		return -E_IO;
	}
	if (m->b.ata.cmd & ATA_ST_FAIL) {
		c->stats.ata_errors++;
		return (m->b.ata.feature & ATA_ER_IDNF) ? -E_RANGE : -E_IO;
	}
	if (r->write || (!r->ident && !r->count))
		return 0;
	size_t bytes = (size_t)sectors_in(c, r, f->index) * AOE_SECTOR;
	if (m->b.ata.data_len < bytes)
		return 1;
	if (r->ident)
		memcpy(r->ident, m->b.ata.data, AOE_SECTOR);
	else
		seg_copy(r->segs, r->nseg, (size_t)f->index * c->scnt * AOE_SECTOR, NULL, m->b.ata.data, bytes);
	return 0;
}

/* Retransmits the frames whose timeout passed; -E_TIMEDOUT once the
 * target has been silent for dead_time_us. */
static int check_timeouts(struct aoe_client *c, const struct cl_req *r, u64 last_heard)
{
	u64 now = cl_now(c);
	bool backoff = false;
	for (unsigned i = 0; i < c->window; i++) {
		struct aoe_cl_frame *f = &c->fr[i];
		if (!f->busy || now - f->sent_at < c->rto)
			continue;
		if (now - last_heard >= c->cfg.dead_time_us)
			return -E_TIMEDOUT;
		f->resent = true;
		c->stats.retransmits++;
		send_frame(c, r, f);
		backoff = true;
	}
	if (backoff)
		c->rto = MIN(c->rto * 2, (u64)AOE_CL_RTO_MAX_US);
	return 0;
}

static int cl_run(struct aoe_client *c, const struct cl_req *r)
{
	u32 nframes = frames_of(c, r), next = 0, done = 0, inflight = 0;
	u64 last_heard = cl_now(c);
	for (unsigned i = 0; i < AOE_CL_WINDOW; i++)
		c->fr[i].busy = false;
	while (done < nframes) {
		for (unsigned i = 0; i < c->window && next < nframes && inflight < c->window; i++) {
			struct aoe_cl_frame *f = &c->fr[i];
			if (f->busy)
				continue;
			*f = (struct aoe_cl_frame){ .busy = true, .tag = c->next_tag++ & 0x7FFFFFFF, .index = next++ };
			inflight++;
			send_frame(c, r, f);
		}
		/* Every turn, frames or not: a stream of frames that answer
		 * nothing must not hold retransmissions or the dead time off. */
		int rc = check_timeouts(c, r, last_heard);
		if (rc < 0)
			return rc;
		size_t len;
		struct aoe_msg m;
		if (c->link.recv(c->link.ctx, c->rx, sizeof(c->rx), &len) < 0)
			continue;
		struct aoe_cl_frame *f;
		if (aoe_decode(c->rx, len, &m) != AOE_OK || !(f = match(c, &m))) {
			c->stats.stale++;
			continue;
		}
		c->stats.rx++;
		rc = take_answer(c, r, &m, f);
		if (rc == 1)
			continue;
		if (rc < 0)
			return rc; /* the frames still in flight are forgotten: their tags never come back */
		last_heard = cl_now(c);
		if (!f->resent)
			rtt_sample(c, last_heard - f->sent_at);
		f->busy = false;
		inflight--;
		done++;
	}
	return 0;
}

static int check_extent(const struct aoe_client *c, u64 lba, u32 count)
{
	if (!count || count > AOE_CL_MAX_SECTORS || lba >= c->blk.info.sectors || count > c->blk.info.sectors - lba)
		return -E_RANGE;
	return 0;
}

int aoe_client_read(struct aoe_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	int rc = check_extent(c, lba, count);
	if (rc < 0)
		return rc;
	struct cl_req r = { .cmd = c->lba48 ? ATA_CMD_READ_EXT : ATA_CMD_READ, .lba = lba, .count = count,
			    .segs = segs, .nseg = nseg };
	return cl_run(c, &r);
}

int aoe_client_write(struct aoe_client *c, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	int rc = check_extent(c, lba, count);
	if (rc < 0)
		return rc;
	struct cl_req r = { .cmd = c->lba48 ? ATA_CMD_WRITE_EXT : ATA_CMD_WRITE, .write = true, .lba = lba,
			    .count = count, .segs = segs, .nseg = nseg };
	return cl_run(c, &r);
}

int aoe_client_flush(struct aoe_client *c)
{
	if (!c->can_flush)
		return 0; /* the target says it has no cache to flush */
	/* FLUSH CACHE, not its EXT form, whatever the addressing: both flush
	 * the whole cache, and vblade knows only this one. */
	struct cl_req r = { .cmd = ATA_CMD_FLUSH };
	return cl_run(c, &r);
}

/* ---- Discovery -------------------------------------------------------------- */

static int blk_read(struct blk_dev *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return aoe_client_read(d->priv, lba, count, segs, nseg);
}
static int blk_write(struct blk_dev *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return aoe_client_write(d->priv, lba, count, segs, nseg);
}
static int blk_flush(struct blk_dev *d) { return aoe_client_flush(d->priv); }

static const struct blk_ops aoe_blk_ops = { .read = blk_read, .write = blk_write, .flush = blk_flush };

static void send_query(struct aoe_client *c)
{
	struct aoe_msg m = { .ver = AOE_VERSION, .cmd = AOE_CMD_CFG, .tag = c->next_tag++ & 0x7FFFFFFF,
			     .shelf = c->cfg.want_target ? c->cfg.shelf : AOE_BCAST_SHELF,
			     .slot = c->cfg.want_target ? c->cfg.slot : AOE_BCAST_SLOT };
	memcpy(m.dst, BCAST, ETH_ALEN);
	memcpy(m.src, c->cfg.mac, ETH_ALEN);
	size_t len = aoe_encode(c->tx, sizeof(c->tx), &m);
	if (len && c->link.send(c->link.ctx, c->tx, len) == 0)
		c->stats.tx++;
}

/* True when m is a target's Query Config answer we take. */
static bool take_config(struct aoe_client *c, const struct aoe_msg *m)
{
	if (!(m->flags & AOE_F_RESP) || (m->flags & AOE_F_ERR) || m->cmd != AOE_CMD_CFG ||
	    m->shelf == AOE_BCAST_SHELF || m->slot == AOE_BCAST_SLOT ||
	    (c->cfg.want_target && (m->shelf != c->cfg.shelf || m->slot != c->cfg.slot)))
		return false;
	memcpy(c->target, m->src, ETH_ALEN);
	c->shelf = m->shelf;
	c->slot = m->slot;
	u32 scnt = m->b.cfg.scnt ? m->b.cfg.scnt : 2; /* r11: 0 means 2 */
	c->scnt = MIN(scnt, aoe_sectors_per_frame(c->cfg.max_frame));
	c->window = MAX(MIN((u32)m->b.cfg.bufcnt, (u32)AOE_CL_WINDOW), 1u);
	return true;
}

/* Size, model, serial and addressing from the IDENTIFY data. */
static int take_identify(struct aoe_client *c, const u8 *id)
{
	struct blk_info *info = &c->blk.info;
	c->lba48 = ((id_word(id, 83) | id_word(id, 86)) & (1u << 10)) != 0;
	c->can_flush = (id_word(id, 83) & ((1u << 12) | (1u << 13))) != 0 && (id_word(id, 83) >> 14) == 1;
	u64 sectors = 0;
	if (c->lba48)
		for (unsigned i = 0; i < 4; i++)
			sectors |= (u64)id_word(id, 100 + i) << (16 * i);
	else
		sectors = id_word(id, 60) | (u64)id_word(id, 61) << 16;
	if (!sectors)
		return -E_NOTSUP;
	/* An address the ATA argument block cannot carry would be cut to
	 * another sector's (aoe_ata_set_lba): the disk ends where it ends. */
	u64 reach = c->lba48 ? 1ull << 48 : ATA_LBA28_MAX;
	if (sectors > reach) {
		log_warn("aoe: target e%u.%u reports %lu sectors, more than %s addressing reaches; using %lu", c->shelf,
			 c->slot, sectors, c->lba48 ? "48-bit" : "28-bit", reach);
		sectors = reach;
	}
	*info = (struct blk_info){ .sectors = sectors, .sector_size = AOE_SECTOR, .max_sectors = AOE_CL_MAX_SECTORS };
	id_string(id, 27, 20, info->model);
	id_string(id, 10, 10, info->serial);
	return 0;
}

int aoe_client_discover(struct aoe_client *c, u64 timeout_us)
{
	u64 start = cl_now(c), last_q = 0;
	bool found = false;
	for (bool first = true; !found; first = false) {
		u64 now = cl_now(c);
		if (now - start >= timeout_us)
			return -E_TIMEDOUT;
		if (first || now - last_q >= AOE_CL_QUERY_US) {
			send_query(c);
			last_q = now;
		}
		size_t len;
		struct aoe_msg m;
		if (c->link.recv(c->link.ctx, c->rx, sizeof(c->rx), &len) == 0 && aoe_decode(c->rx, len, &m) == AOE_OK)
			found = take_config(c, &m);
	}
	if (!c->scnt)
		return -E_NOTSUP;
	u8 id[AOE_SECTOR];
	struct cl_req r = { .cmd = ATA_CMD_IDENTIFY, .ident = id };
	int rc = cl_run(c, &r);
	if (rc == -E_RANGE)
		rc = -E_IO; /* IDENTIFY answered "no such sector": a target gone wrong, not a range of ours */
	if (rc == 0)
		rc = take_identify(c, id);
	if (rc < 0)
		return rc;
	c->blk.name = c->name;
	c->blk.ops = &aoe_blk_ops;
	c->blk.priv = c;
	fmt_snprintf(c->name, sizeof(c->name), "aoe:e%u.%u", c->shelf, c->slot);
	return 0;
}

int aoe_client_init(struct aoe_client *c, const struct aoe_client_cfg *cfg, const struct net_link *link)
{
	memset(c, 0, sizeof(*c));
	if (!link->send || !link->recv || !link->now_us || !aoe_sectors_per_frame(cfg->max_frame) ||
	    (cfg->want_target && (cfg->shelf == AOE_BCAST_SHELF || cfg->slot == AOE_BCAST_SLOT)))
		return -E_INVAL;
	c->cfg = *cfg;
	if (!c->cfg.dead_time_us)
		c->cfg.dead_time_us = AOE_CL_DEAD_US;
	c->cfg.max_frame = MIN(cfg->max_frame, (u32)NIC_JUMBO_FRAME);
	c->link = *link;
	c->rto = AOE_CL_RTO_INIT_US;
	c->next_tag = 1;
	return 0;
}
