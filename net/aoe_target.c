/* The AoE target (net/aoe_target.h; AoE r11, ATA8-ACS for the ATA side).
 *
 * Answers follow what initiators act on (../docs/aoe.md): a read or write
 * that fails is answered with an ATA error status (Linux drops E-flag
 * answers and retries for minutes), the E flag is kept for requests the
 * target cannot parse or take.  Every request is executed when it arrives
 * and is idempotent, so a retransmitted duplicate does the same again. */
#include "aoe_target.h"
#include "lib/string.h"
#include "disk_rw.h"

static const u8 BCAST[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static bool mac_in(const u8 (*list)[ETH_ALEN], unsigned n, const u8 *mac)
{
	for (unsigned i = 0; i < n; i++)
		if (!memcmp(list[i], mac, ETH_ALEN))
			return true;
	return false;
}

/* ---- IDENTIFY -------------------------------------------------------------- */

static void put_word(u8 *id, unsigned w, u16 v)
{
	id[2 * w] = (u8)v;
	id[2 * w + 1] = (u8)(v >> 8);
}

/* An ATA string: blank-padded, two characters a word, the first in the
 * high byte (ATA8-ACS 3.3.10). */
static void put_string(u8 *id, unsigned w, unsigned words, const char *s)
{
	size_t n = strlen(s);
	for (unsigned i = 0; i < 2 * words; i++) {
		u8 c = i < n ? (u8)s[i] : ' ';
		id[2 * w + (i ^ 1)] = c;
	}
}

void aoe_identify_data(const struct blk_info *info, u32 max_sectors, u8 *id)
{
	u64 cap = MIN(info->sectors, ATA_LBA48_MAX);
	u64 cyl = MIN(cap / (16 * 63), 16383ull);
	memset(id, 0, AOE_SECTOR);
	put_word(id, 0, 0x0040); /* fixed disk */
	put_word(id, 1, (u16)cyl);
	put_word(id, 3, 16);
	put_word(id, 6, 63);
	put_string(id, 10, 10, info->serial[0] ? info->serial : "0");
	put_string(id, 23, 4, "ferry");
	put_string(id, 27, 20, info->model[0] ? info->model : "ferry AoE disk");
	put_word(id, 47, (u16)(0x8000 | MIN(max_sectors, 255u)));
	put_word(id, 49, 0x0300); /* LBA and DMA supported */
	put_word(id, 50, 0x4000);
	u32 lba28 = (u32)MIN(cap, ATA_LBA28_MAX);
	put_word(id, 60, (u16)lba28);
	put_word(id, 61, (u16)(lba28 >> 16));
	put_word(id, 80, 0x00F0); /* ATA/ATAPI-4 to -7 */
	/* Words 83 and 86: 48-bit addressing (bit 10), FLUSH CACHE (12) and
	 * FLUSH CACHE EXT (13), supported and enabled; 83 and 84, 87 carry
	 * the 01b validity pattern in bits 15:14. */
	u16 sets = (1u << 10) | (1u << 12) | (1u << 13);
	put_word(id, 82, 0x4000);
	put_word(id, 83, (u16)(0x4000 | sets));
	put_word(id, 84, 0x4000);
	put_word(id, 86, sets);
	put_word(id, 87, 0x4000);
	for (unsigned i = 0; i < 4; i++)
		put_word(id, 100 + i, (u16)(cap >> (16 * i)));
	/* Word 255: integrity signature 0xA5 and the checksum that makes all
	 * 512 bytes add up to 0 (ATA8-ACS 7.16.7.91). */
	id[510] = 0xA5;
	u8 sum = 0;
	for (unsigned i = 0; i < 511; i++)
		sum = (u8)(sum + id[i]);
	id[511] = (u8)-sum;
}

/* ---- Answers --------------------------------------------------------------- */

static void send_reply(struct aoe_target *t, struct aoe_msg *m)
{
	memcpy(m->dst, m->src, ETH_ALEN);
	memcpy(m->src, t->cfg.mac, ETH_ALEN);
	m->flags |= AOE_F_RESP;
	m->shelf = t->cfg.shelf; /* never the broadcast address it was asked under */
	m->slot = t->cfg.slot;
	size_t n = aoe_encode(t->tx, sizeof(t->tx), m);
	if (!n || t->link.send(t->link.ctx, t->tx, n) < 0) {
		t->stats.tx_errors++;
		return;
	}
	t->stats.tx++;
}

static void reply_error(struct aoe_target *t, struct aoe_msg *m, u8 err)
{
	m->flags = AOE_F_ERR;
	m->error = err;
	m->ver = AOE_VERSION;
	if (m->cmd != AOE_CMD_ATA)
		memset(&m->b, 0, sizeof(m->b)); /* echo a blank fixed block */
	t->stats.errors++;
	send_reply(t, m);
}

/* ---- ATA -------------------------------------------------------------------- */

/* Status and error registers of the answer; data_len bytes of read data at
 * t->tx + AOE_ATA_HDR_LEN. */
struct ata_result {
	u8 status, error;
	size_t data_len;
};

static struct ata_result ata_fail(struct aoe_target *t, u8 error)
{
	t->stats.ata_failed++;
	return (struct ata_result){ ATA_ST_DRDY | ATA_ST_ERR, error, 0 };
}

static void set_status(struct aoe_msg *m, struct ata_result r)
{
	struct aoe_ata *a = &m->b.ata;
	a->cmd = r.status;
	a->feature = r.error;
	a->aflags &= AOE_AF_EXT | AOE_AF_DEV | AOE_AF_ASYNC | AOE_AF_WRITE;
}

/* Holds the answer to a write done but not yet durable: Linux's
 * initiator never flushes, so it must not hear of the write before. */
static void hold_answer(struct aoe_target *t, struct aoe_msg *m)
{
	m->b.ata.data_len = 0;
	t->pending[t->npending++] = *m;
	if (t->npending == AOE_TGT_PENDING)
		aoe_target_commit(t);
}

/* Executes the run: one disk command for requests that were contiguous,
 * then each one's answer (a write's held for the flush). */
static void run_end(struct aoe_target *t)
{
	if (!t->nrun)
		return;
	unsigned n = t->nrun;
	t->nrun = 0;
	int rc = net_disk_rw(t->cfg.dev, t->run_write, t->run_lba, t->run_count, t->run_buf);
	for (unsigned i = 0; i < n; i++) {
		struct aoe_msg *m = &t->run[i];
		struct aoe_ata *a = &m->b.ata;
		if (rc < 0) {
			set_status(m, ata_fail(t, t->run_write ? ATA_ER_ABRT : ATA_ER_UNC));
			a->data_len = 0;
			send_reply(t, m);
			continue;
		}
		set_status(m, (struct ata_result){ ATA_ST_DRDY, 0, 0 });
		if (t->run_write) {
			hold_answer(t, m);
			continue;
		}
		a->data = t->run_buf + (size_t)(aoe_ata_lba(a) - t->run_lba) * AOE_SECTOR;
		a->data_len = (size_t)a->count * AOE_SECTOR;
		send_reply(t, m);
	}
}

/* A READ or WRITE, 28- or 48-bit: -1 when the request itself is bad (E
 * flag, error 2), 0 with *r to answer now, 1 when it joined the run
 * (answered by run_end).  Requests for consecutive sectors in one batch
 * become one disk command: a 1500-byte frame carries only 2 sectors. */
static int ata_rw(struct aoe_target *t, struct aoe_msg *m, bool write, bool ext, struct ata_result *r)
{
	const struct aoe_ata *a = &m->b.ata;
	u32 count = a->count;
	if (!count || count > t->scnt || ext != ((a->aflags & AOE_AF_EXT) != 0) ||
	    (write && (!(a->aflags & AOE_AF_WRITE) || a->data_len < count * AOE_SECTOR)))
		return -1;
	u64 lba = aoe_ata_lba(a);
	if (!ext && !(a->lba[3] & ATA_DEV_LBA)) {
		*r = ata_fail(t, ATA_ER_ABRT); /* CHS addressing */
		return 0;
	}
	if (lba >= t->cfg.dev->info.sectors || count > t->cfg.dev->info.sectors - lba) {
		*r = ata_fail(t, ATA_ER_IDNF);
		return 0;
	}
	if (write) {
		t->stats.writes++;
		if (t->cfg.read_only) {
			*r = ata_fail(t, ATA_ER_ABRT);
			return 0;
		}
		if (t->cfg.may_write && !t->cfg.may_write(t->cfg.may_write_ctx, m->src)) {
			t->stats.writes_refused++;
			memcpy(t->stats.refused_mac, m->src, ETH_ALEN);
			*r = ata_fail(t, ATA_ER_ABRT);
			return 0;
		}
	} else {
		t->stats.reads++;
	}
	if (t->nrun && (t->run_write != write || t->run_lba + t->run_count != lba ||
			t->run_count + count > AOE_TGT_RUN_SECTORS || t->nrun == AOE_TGT_PENDING))
		run_end(t);
	if (!t->nrun) {
		t->run_write = write;
		t->run_lba = lba;
		t->run_count = 0;
	}
	/* The frame's data is copied out: the caller's buffer is reused. */
	if (write)
		memcpy(t->run_buf + (size_t)t->run_count * AOE_SECTOR, a->data, count * AOE_SECTOR);
	t->run_count += count;
	t->run[t->nrun++] = *m;
	return 1;
}

static void do_ata(struct aoe_target *t, struct aoe_msg *m)
{
	struct aoe_ata *a = &m->b.ata;
	struct ata_result r = { ATA_ST_DRDY, 0, 0 };
	if (t->nres && !mac_in(t->res, t->nres, m->src)) {
		reply_error(t, m, AOE_ERR_RESERVED);
		return;
	}
	bool write = a->cmd == ATA_CMD_WRITE || a->cmd == ATA_CMD_WRITE_EXT;
	bool ext = a->cmd == ATA_CMD_READ_EXT || a->cmd == ATA_CMD_WRITE_EXT;
	if (write || ext || a->cmd == ATA_CMD_READ) {
		int rc = ata_rw(t, m, write, ext, &r);
		if (rc < 0)
			reply_error(t, m, AOE_ERR_ARG);
		if (rc != 0)
			return;
	} else {
		run_end(t); /* a FLUSH must follow the writes before it */
		switch (a->cmd) {
		case ATA_CMD_IDENTIFY:
			t->stats.identifies++;
			memcpy(t->tx + AOE_ATA_HDR_LEN, t->ident, AOE_SECTOR);
			r.data_len = AOE_SECTOR;
			break;
		case ATA_CMD_FLUSH:
		case ATA_CMD_FLUSH_EXT:
			t->stats.flushes++;
			if (t->cfg.dev->ops->flush(t->cfg.dev) < 0)
				r = ata_fail(t, ATA_ER_ABRT);
			break;
		default:
			r = ata_fail(t, ATA_ER_ABRT);
			break;
		}
	}
	set_status(m, r);
	a->data = t->tx + AOE_ATA_HDR_LEN;
	a->data_len = r.data_len;
	send_reply(t, m);
}

void aoe_target_commit(struct aoe_target *t)
{
	run_end(t);
	if (!t->npending)
		return;
	t->stats.commits++;
	bool ok = t->cfg.dev->ops->flush(t->cfg.dev) == 0;
	unsigned n = t->npending;
	t->npending = 0;
	for (unsigned i = 0; i < n; i++) {
		struct aoe_msg *m = &t->pending[i];
		if (!ok)
			set_status(m, ata_fail(t, ATA_ER_ABRT));
		send_reply(t, m);
	}
}

/* ---- Query Config, MAC mask list, reserve/release -------------------------------- */

static void do_cfg(struct aoe_target *t, struct aoe_msg *m)
{
	struct aoe_cfg *c = &m->b.cfg;
	t->stats.configs++;
	switch (c->ccmd) {
	case AOE_CCMD_TEST:
		if (c->len != t->cfg_len || memcmp(c->str, t->cfg_str, c->len))
			return; /* not for this initiator: stay silent */
		break;
	case AOE_CCMD_PREFIX:
		if (c->len > t->cfg_len || memcmp(c->str, t->cfg_str, c->len))
			return;
		break;
	case AOE_CCMD_SET:
		if (t->cfg_len && (c->len != t->cfg_len || memcmp(c->str, t->cfg_str, c->len))) {
			reply_error(t, m, AOE_ERR_CFG);
			return;
		}
		/* fall through */
	case AOE_CCMD_FORCE:
		memcpy(t->cfg_str, c->str, c->len);
		t->cfg_len = c->len;
		break;
	default:
		break;
	}
	*c = (struct aoe_cfg){ .bufcnt = AOE_TGT_BUFCNT, .fwver = AOE_TGT_FWVER, .scnt = (u8)t->scnt,
			       .ver = AOE_VERSION, .ccmd = c->ccmd, .len = t->cfg_len, .str = t->cfg_str };
	send_reply(t, m);
}

static void do_mask(struct aoe_target *t, struct aoe_msg *m)
{
	struct aoe_mask *mk = &m->b.mask;
	u8 merror = 0;
	for (unsigned i = 0; mk->mcmd == AOE_MCMD_EDIT && i < mk->ndir && !merror; i++) {
		const u8 *mac = aoe_dir_mac(mk, i);
		unsigned j = 0;
		while (j < t->nmask && memcmp(t->mask[j], mac, ETH_ALEN))
			j++;
		switch (aoe_dir_cmd(mk, i)) {
		case AOE_DCMD_NONE:
			break;
		case AOE_DCMD_ADD:
			if (j < t->nmask)
				break; /* there already */
			if (t->nmask == AOE_TGT_MASK_MAX) {
				merror = AOE_MERR_FULL;
				break;
			}
			memcpy(t->mask[t->nmask++], mac, ETH_ALEN);
			break;
		case AOE_DCMD_DEL:
			if (j < t->nmask)
				memcpy(t->mask[j], t->mask[--t->nmask], ETH_ALEN);
			break;
		default:
			merror = AOE_MERR_BADDIR;
			break;
		}
	}
	/* The answer lists the whole mask list as it now stands. */
	u8 *dirs = t->dirs;
	memset(dirs, 0, sizeof(t->dirs));
	for (unsigned i = 0; i < t->nmask; i++) {
		dirs[i * AOE_DIR_LEN + 1] = AOE_DCMD_ADD;
		memcpy(dirs + i * AOE_DIR_LEN + 2, t->mask[i], ETH_ALEN);
	}
	*mk = (struct aoe_mask){ .mcmd = mk->mcmd, .merror = merror, .ndir = (u8)t->nmask, .dir = dirs };
	send_reply(t, m);
}

static void do_reserve(struct aoe_target *t, struct aoe_msg *m)
{
	struct aoe_reserve *r = &m->b.res;
	if (r->rcmd != AOE_RCMD_READ) {
		if (r->nmacs > AOE_TGT_RES_MAX) {
			reply_error(t, m, AOE_ERR_ARG);
			return;
		}
		if (r->rcmd == AOE_RCMD_SET && t->nres && !mac_in(t->res, t->nres, m->src)) {
			reply_error(t, m, AOE_ERR_RESERVED);
			return;
		}
		memcpy(t->res, r->macs, (size_t)r->nmacs * ETH_ALEN);
		t->nres = r->nmacs;
	}
	*r = (struct aoe_reserve){ .rcmd = r->rcmd, .nmacs = (u8)t->nres, .macs = &t->res[0][0] };
	send_reply(t, m);
}

/* ---- Frames ----------------------------------------------------------------- */

/* Whether a frame from src may be answered at all: the static allow list
 * of ferry.cfg and, when the initiators set one, the MAC mask list. */
static bool src_allowed(const struct aoe_target *t, const u8 *src)
{
	return (!t->cfg.nallow || mac_in(t->cfg.allow, t->cfg.nallow, src)) &&
	       (!t->nmask || mac_in(t->mask, t->nmask, src));
}

void aoe_target_frame(struct aoe_target *t, const u8 *f, size_t len)
{
	struct aoe_msg m;
	t->stats.rx++;
	int v = aoe_decode(f, len, &m);
	bool to_us = !memcmp(m.dst, t->cfg.mac, ETH_ALEN) || !memcmp(m.dst, BCAST, ETH_ALEN);
	bool exact = m.shelf == t->cfg.shelf && m.slot == t->cfg.slot;
	bool bcast = (m.shelf == t->cfg.shelf || m.shelf == AOE_BCAST_SHELF) &&
		     (m.slot == t->cfg.slot || m.slot == AOE_BCAST_SLOT);
	if (v == AOE_BAD_SHORT || v == AOE_BAD_TYPE || (m.flags & AOE_F_RESP) || !to_us || !bcast) {
		t->stats.dropped++;
		return;
	}
	m.flags = 0; /* the request's own (E, reserved bits) are not the answer's: send_reply sets R, reply_error E */
	if (!src_allowed(t, m.src)) {
		t->stats.dropped++;
		t->stats.not_allowed++;
		memcpy(t->stats.not_allowed_mac, m.src, ETH_ALEN);
		return;
	}
	/* Only Query Config may be broadcast: a broadcast write would reach
	 * every target on the wire. */
	if (!exact && (v != AOE_OK || m.cmd != AOE_CMD_CFG)) {
		t->stats.dropped++;
		return;
	}
	if (v != AOE_OK) {
		reply_error(t, &m, v == AOE_BAD_VERSION ? AOE_ERR_VER : v == AOE_BAD_CMD ? AOE_ERR_CMD : AOE_ERR_ARG);
		return;
	}
	if (m.cmd != AOE_CMD_ATA)
		run_end(t); /* a reservation or mask applies after what came before */
	switch (m.cmd) {
	case AOE_CMD_ATA:
		do_ata(t, &m);
		return;
	case AOE_CMD_CFG:
		do_cfg(t, &m);
		return;
	case AOE_CMD_MASK:
		do_mask(t, &m);
		return;
	default:
		do_reserve(t, &m);
		return;
	}
}

int aoe_target_init(struct aoe_target *t, const struct aoe_target_cfg *cfg, const struct net_link *link)
{
	memset(t, 0, sizeof(*t));
	if (!cfg->dev || !cfg->dev->ops || !link->send || cfg->shelf >= AOE_BCAST_SHELF || cfg->slot >= AOE_BCAST_SLOT ||
	    cfg->nallow > AOE_TGT_ALLOW_MAX)
		return -E_INVAL;
	if (cfg->dev->info.sector_size != AOE_SECTOR)
		return -E_NOTSUP;
	t->scnt = MIN(aoe_sectors_per_frame(cfg->max_frame), (u32)AOE_TGT_MAX_SECTORS);
	if (!t->scnt)
		return -E_NOTSUP;
	t->cfg = *cfg;
	t->link = *link;
	aoe_identify_data(&cfg->dev->info, t->scnt, t->ident);
	return 0;
}
