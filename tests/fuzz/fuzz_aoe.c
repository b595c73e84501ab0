/* Fuzzes ATA over Ethernet (docs/aoe.md): the frame codec (net/aoe.c), the
 * target (net/aoe_target.c) on a RAM disk (tests/unit/fake_disk.c) and the
 * initiator (net/aoe_client.c) against a target the input scripts.  Frames
 * are the input's bytes or built through net/aoe.h (aoe_encode).
 *
 * Input: a mode byte, then
 *   0  a raw frame: codec_check's oracles (which every frame of modes 1
 *      and 2 also gets, both ways);
 *   1  a target's configuration, then frames in batches (target_run):
 *      tgt_send's and commit_batch's oracles;
 *   2  a client's configuration, then the target's side of the wire, a
 *      script of answers (client_run): cl_send's, cl_recv's, client_op's. */
#include <string.h>
#include "fuzz.h"
#include "net/aoe.h"
#include "net/aoe_client.h"
#include "net/aoe_target.h"
#include "tests/unit/fake_disk.h"

#define SHELF 1
#define SLOT 2
#define SECTORS 300
#define SS AOE_SECTOR
#define DATA_MAX (AOE_TGT_MAX_SECTORS * SS)
#define FRAME_CAP 16384
static const u8 TGT[ETH_ALEN] = { 0x02, 0, 0, 0, 0xAA, 1 };
static const u8 OTHER[ETH_ALEN] = { 0x02, 0, 0, 0, 0xEE, 7 };
static const u8 CMAC[ETH_ALEN] = { 0x02, 0, 0, 0, 0xCC, 0x01 };
static const u8 BCAST[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const u8 HOSTS[4][ETH_ALEN] = { { 2, 0, 0, 0, 0xCC, 0x10 }, { 2, 0, 0, 0, 0xCC, 0x11 },
				       { 2, 0, 0, 0, 0xCC, 0x12 }, { 2, 0, 0, 0, 0xCC, 0x13 } };
static const u8 *mac6(u8 i) { return i % 6 < 4 ? HOSTS[i % 6] : i % 6 == 4 ? TGT : OTHER; }

static void pattern(u8 *p, size_t n, u32 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed + i * 31 + (i >> 9) * 7);
}

enum { K_NONE, K_READ, K_WRITE, K_FLUSH, K_IDENT, K_OTHER };
static u8 kind_of(u8 c)
{
	static const u8 k[] = { [ATA_CMD_READ] = K_READ, [ATA_CMD_READ_EXT] = K_READ, [ATA_CMD_WRITE] = K_WRITE,
				[ATA_CMD_WRITE_EXT] = K_WRITE, [ATA_CMD_FLUSH] = K_FLUSH, [ATA_CMD_FLUSH_EXT] = K_FLUSH,
				[ATA_CMD_IDENTIFY] = K_IDENT, [0xFF] = 0 };
	return k[c] ? k[c] : K_OTHER;
}

/* ---- The codec ---------------------------------------------------------------- */

static size_t fixed_len(u8 cmd)
{
	static const size_t len[4] = { AOE_ATA_HDR_LEN, AOE_CFG_HDR_LEN, AOE_MASK_HDR_LEN, AOE_RES_HDR_LEN };
	return cmd < 4 ? len[cmd] : AOE_HDR_LEN;
}

/* What follows m's fixed block (aoe_encode's tail), at *p. */
static size_t tail_of(const struct aoe_msg *m, const u8 **p)
{
	switch (m->cmd) {
	case AOE_CMD_ATA: *p = m->b.ata.data; return m->b.ata.data_len;
	case AOE_CMD_CFG: *p = m->b.cfg.str; return m->b.cfg.len;
	case AOE_CMD_MASK: *p = m->b.mask.dir; return (size_t)m->b.mask.ndir * AOE_DIR_LEN;
	case AOE_CMD_RESERVE: *p = m->b.res.macs; return (size_t)m->b.res.nmacs * ETH_ALEN;
	}
	*p = NULL;
	return 0;
}

/* An accepted frame f re-encodes to its own fixed block (reserved bytes 0)
 * and tail (an error answer's: none), padded to 60 bytes, into exactly
 * that length and not one less, in place as elsewhere; that decodes and
 * encodes again to the same bytes; its ATA address round-trips. */
static void reencode(const u8 *f, size_t len, const struct aoe_msg *m)
{
	static u8 out[FRAME_CAP + 64], again[FRAME_CAP + 64];
	const u8 *tail;
	size_t fixed = fixed_len(m->cmd), tl = tail_of(m, &tail);
	bool err = m->flags & AOE_F_ERR;
	size_t want = fixed + (err ? 0 : tl), n = aoe_encode(out, sizeof(out), m);
	fuzz_assert(n == MAX(want, (size_t)ETH_MIN_FRAME));
	for (size_t i = 0; i < fixed; i++)
		fuzz_assert(out[i] == ((m->cmd == AOE_CMD_ATA && i >= 34) || (m->cmd == AOE_CMD_MASK && i == 24) ? 0 : f[i]));
	fuzz_assert(!memcmp(out + fixed, f + fixed, want - fixed));
	for (size_t i = want; i < n; i++)
		fuzz_assert(out[i] == 0);
	u8 *exact = malloc(want); /* ASan watches its edge */
	fuzz_assert(aoe_encode(exact, want, m) == want && !memcmp(exact, out, want));
	fuzz_assert(aoe_encode(exact, want - 1, m) == 0);
	free(exact);
	struct aoe_msg k;
	memcpy(again, f, len);
	fuzz_assert(aoe_decode(again, len, &k) == AOE_OK);
	fuzz_assert(aoe_encode(again, sizeof(again), &k) == n && !memcmp(again, out, n));
	if ((!err || m->cmd == AOE_CMD_ATA || !tl) && aoe_decode(out, n, &k) == AOE_OK)
		fuzz_assert(aoe_encode(again, sizeof(again), &k) == n && !memcmp(again, out, n));
	else
		fuzz_assert(err && tl && m->cmd != AOE_CMD_ATA);
	struct aoe_ata a = m->b.ata;
	bool ext = a.aflags & AOE_AF_EXT;
	u64 lba = aoe_ata_lba(&a);
	aoe_ata_set_lba(&a, lba);
	fuzz_assert(m->cmd || (lba <= (ext ? ATA_LBA48_MAX : ATA_LBA28_MAX) && aoe_ata_lba(&a) == lba &&
			       (ext ? !memcmp(a.lba, m->b.ata.lba, 6) : (a.lba[3] & 0xF0) == 0xE0 && !a.lba[4] && !a.lba[5])));
}

/* aoe_decode's verdict is one of aoe.h's; the common header is the frame's
 * bytes whenever aoe.h says it is valid; what it returns lies inside the
 * frame and within the limits of the fields, and needs all its bytes;
 * then reencode. */
static void codec_check(const u8 *f, size_t len)
{
	struct aoe_msg m;
	len = MIN(len, (size_t)FRAME_CAP);
	int v = aoe_decode(f, len, &m);
	fuzz_assert(v >= AOE_OK && v <= AOE_BAD_ARG);
	fuzz_assert((v == AOE_BAD_SHORT) == (len < AOE_HDR_LEN));
	if (v == AOE_BAD_SHORT)
		return;
	fuzz_assert((v == AOE_BAD_TYPE) == (f[12] != 0x88 || f[13] != 0xA2));
	if (v == AOE_BAD_TYPE)
		return;
	u32 tag = (u32)f[20] << 24 | (u32)f[21] << 16 | (u32)f[22] << 8 | f[23];
	fuzz_assert(!memcmp(m.dst, f, ETH_ALEN) && !memcmp(m.src, f + ETH_ALEN, ETH_ALEN) && m.ver == f[14] >> 4 &&
		    m.flags == (f[14] & 0x0F) && m.error == f[15] && m.shelf == (f[16] << 8 | f[17]) &&
		    m.slot == f[18] && m.cmd == f[19] && m.tag == tag);
	fuzz_assert((v == AOE_BAD_VERSION) == (m.ver != AOE_VERSION));
	fuzz_assert((v == AOE_BAD_CMD) == (m.ver == AOE_VERSION && m.cmd > AOE_CMD_RESERVE));
	if (m.ver == AOE_VERSION && m.cmd <= AOE_CMD_RESERVE && len < fixed_len(m.cmd))
		fuzz_assert(v == AOE_BAD_ARG);
	if (v != AOE_OK)
		return;
	const u8 *p;
	size_t n = tail_of(&m, &p), fixed = fixed_len(m.cmd);
	fuzz_assert(p == f + fixed && n <= len - fixed && (m.cmd != AOE_CMD_ATA || n == len - fixed));
	fuzz_assert(m.cmd != AOE_CMD_CFG || (m.b.cfg.len <= AOE_CFG_STR_MAX && m.b.cfg.ccmd <= AOE_CCMD_FORCE));
	fuzz_assert(m.cmd != AOE_CMD_MASK || m.b.mask.mcmd <= AOE_MCMD_EDIT);
	fuzz_assert(m.cmd != AOE_CMD_RESERVE || m.b.res.rcmd <= AOE_RCMD_FORCE);
	/* its own bytes (an ATA block's data aside) suffice, one fewer does not */
	struct aoe_msg k;
	size_t need = fixed + (m.cmd == AOE_CMD_ATA ? 0 : n);
	fuzz_assert(aoe_decode(f, need, &k) == AOE_OK && aoe_decode(f, need - 1, &k) == AOE_BAD_ARG);
	reencode(f, len, &m);
}

/* ---- The target ---------------------------------------------------------------- */

#define BATCH 48
#define FRAMES 160

static const u8 ATA_CMDS[7] = { ATA_CMD_READ,  ATA_CMD_READ_EXT,  ATA_CMD_WRITE,   ATA_CMD_WRITE_EXT,
				ATA_CMD_FLUSH, ATA_CMD_FLUSH_EXT, ATA_CMD_IDENTIFY };

/* A request from the input: who (source: bits 0-3, destination: 4-5), addr
 * (shelf: 0-1, slot: 2-3, version: 4-7), flags and error, command, tag, x,
 * y, then the block: ATA: command (x), aflags ^ y, count, LBA, data
 * sectors and seed; Query Config: ccmd x, a string of y; mask list and
 * reserve: command x, y % 20 entries. */
static void read_msg(struct fuzz_in *in, struct aoe_msg *m, u8 *tail)
{
	static const u16 shelves[4] = { SHELF, AOE_BCAST_SHELF, SHELF + 1, SHELF };
	static const u8 slots[4] = { SLOT, AOE_BCAST_SLOT, SLOT + 1, SLOT };
	memset(m, 0, sizeof(*m));
	u8 who = fz_u8(in), addr = fz_u8(in), fe = fz_u8(in), cmd = fz_u8(in);
	memcpy(m->src, who & 4 ? (who & 8 ? TGT : OTHER) : HOSTS[who & 3], ETH_ALEN);
	memcpy(m->dst, (who >> 4 & 3) == 2 ? BCAST : (who >> 4 & 3) == 3 ? OTHER : TGT, ETH_ALEN);
	m->shelf = shelves[addr & 3], m->slot = slots[addr >> 2 & 3];
	m->ver = addr & 0x10 ? addr >> 5 : AOE_VERSION;
	m->flags = fe & 0x0F, m->error = fe >> 4;
	m->cmd = cmd < 0xF0 ? cmd % 4 : cmd;
	m->tag = fz_u32(in);
	u8 x = fz_u8(in), y = fz_u8(in);
	struct aoe_ata *a = &m->b.ata;
	switch (m->cmd) {
	case AOE_CMD_ATA:
		a->cmd = x % 8 < 7 ? ATA_CMDS[x % 8] : fz_u8(in);
		bool ext = a->cmd == ATA_CMD_READ_EXT || a->cmd == ATA_CMD_WRITE_EXT;
		a->aflags = (u8)(((ext ? AOE_AF_EXT : 0) | (kind_of(a->cmd) == K_WRITE ? AOE_AF_WRITE : 0)) ^ y);
		a->count = fz_u8(in);
		aoe_ata_set_lba(a, x & 0x80 ? fz_u64(in) : fz_u16(in) % (SECTORS + 8u));
		a->data_len = (size_t)(fz_u8(in) % (AOE_TGT_MAX_SECTORS + 1)) * SS;
		pattern(tail, a->data_len, fz_u8(in));
		a->data = tail;
		break;
	case AOE_CMD_CFG:
		m->b.cfg.ccmd = x;
		m->b.cfg.len = (u16)(y < 0xF0 ? y % 64 : 1020 + (y & 7)); /* and past 1024 */
		fz_fill(in, tail, m->b.cfg.len);
		m->b.cfg.str = tail;
		break;
	case AOE_CMD_MASK:
		m->b.mask = (struct aoe_mask){ .mcmd = x, .ndir = y % 20, .dir = tail };
		for (unsigned i = 0; i < y % 20u; i++)
			tail[i * 8] = 0, tail[i * 8 + 1] = fz_u8(in), memcpy(tail + i * 8 + 2, mac6(fz_u8(in)), ETH_ALEN);
		break;
	case AOE_CMD_RESERVE:
		m->b.res = (struct aoe_reserve){ .rcmd = x, .nmacs = y % 20, .macs = tail };
		for (unsigned i = 0; i < y % 20u; i++)
			memcpy(tail + i * ETH_ALEN, mac6(fz_u8(in)), ETH_ALEN);
	}
}

/* A request of the batch: live, when the target need not drop it;
 * allowed, an ATA write the configuration lets through. */
struct treq { u8 src[ETH_ALEN]; u32 tag; bool live, answered, allowed; u8 kind, count, ext, lba[6]; };

static struct {
	struct aoe_target t;
	struct fake_disk disk;
	struct blk_dev dev; /* the disk behind the wrappers below */
	u8 before[SECTORS * SS], ident[SS];
	bool dirty, flush_fail; /* written since the last good flush; this batch's flushes fail */
	unsigned writes, nallow, nreq, ncand;
	u32 max_frame;
	u8 may; /* may_write: none, yes, no, no for odd MACs */
	bool read_only;
	struct treq req[BATCH];
	struct { u64 lba; u32 count; u8 data[DATA_MAX]; } cand[BATCH];
} T;

static bool rule(const u8 *mac) { return T.may == 1 || (T.may == 3 && !(mac[5] & 1)); }
static bool may_write(void *ctx, const u8 *mac) { return rule(mac); }
static int w_read(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n)
{
	return T.disk.dev.ops->read(&T.disk.dev, l, c, s, n);
}
static int w_write(struct blk_dev *d, u64 l, u32 c, const struct blk_seg *s, unsigned n)
{
	T.dirty = true, T.writes++;
	return T.disk.dev.ops->write(&T.disk.dev, l, c, s, n);
}
static int w_flush(struct blk_dev *d)
{
	int rc = T.flush_fail ? -E_IO : T.disk.dev.ops->flush(&T.disk.dev);
	return T.dirty = T.dirty && rc, rc;
}
static const struct blk_ops wrap_ops = { .read = w_read, .write = w_write, .flush = w_flush };

/* A successful ATA answer against the requests it may be for (sender, tag,
 * LBA, count, form), when they are of one kind: a read's data is the
 * disk's, IDENTIFY's aoe_identify_data's; a write is done only when
 * allowed, and answered only after a flush; so is a FLUSH. */
static void ata_answer(const struct aoe_msg *a)
{
	const struct aoe_ata *x = &a->b.ata;
	unsigned kinds = 0;
	bool allowed = false;
	for (unsigned i = 0; i < T.nreq; i++) {
		const struct treq *q = &T.req[i];
		if (q->live && q->tag == a->tag && !memcmp(q->src, a->dst, ETH_ALEN) && q->count == x->count &&
		    q->ext == (x->aflags & AOE_AF_EXT) && !memcmp(q->lba, x->lba, 6))
			kinds |= 1u << q->kind, allowed |= q->allowed;
	}
	fuzz_assert(kinds);
	u64 lba = aoe_ata_lba(x);
	if (kinds == 1u << K_READ) {
		fuzz_assert(x->count && lba + x->count <= SECTORS && x->data_len >= (size_t)x->count * SS);
		if (memcmp(x->data, T.disk.data + lba * SS, (size_t)x->count * SS))
			fuzz_fail("a read of %u sectors at %llu answered with other bytes than the disk's", x->count,
				  (unsigned long long)lba);
	} else if (kinds == 1u << K_IDENT) {
		fuzz_assert(x->data_len >= SS && !memcmp(x->data, T.ident, SS));
	} else if (kinds == 1u << K_WRITE || kinds == 1u << K_FLUSH) {
		if ((kinds == 1u << K_WRITE && !allowed) || T.dirty)
			fuzz_fail("a %s at %llu answered as done: allowed %d, flushed %d",
				  kinds == 1u << K_WRITE ? "write" : "flush", (unsigned long long)lba, allowed, !T.dirty);
	} else if (kinds == 1u << K_OTHER) {
		fuzz_fail("ATA command %#x answered as done", x->cmd);
	}
}

/* Every answer decodes, is a response from the target's MAC and address,
 * of 60 bytes to max_frame, to a request of the batch (its sender, its
 * tag) the target did not have to drop, one at most for each. */
static int tgt_send(void *ctx, const void *frame, size_t len)
{
	struct aoe_msg a;
	codec_check(frame, len);
	int v = aoe_decode(frame, len, &a);
	fuzz_assert(v == AOE_OK || (v == AOE_BAD_CMD && (a.flags & AOE_F_ERR)));
	fuzz_assert(len >= ETH_MIN_FRAME && len <= T.max_frame);
	fuzz_assert(!memcmp(a.src, TGT, ETH_ALEN) && (a.flags & AOE_F_RESP) && a.shelf == SHELF && a.slot == SLOT);
	struct treq *q = NULL;
	for (unsigned i = 0; i < T.nreq && !q; i++)
		if (T.req[i].live && !T.req[i].answered && T.req[i].tag == a.tag && !memcmp(T.req[i].src, a.dst, ETH_ALEN))
			q = &T.req[i];
	if (!q)
		fuzz_fail("an answer (tag %#x) to no request of the batch, or one answer too many", a.tag);
	q->answered = true;
	if (a.cmd == AOE_CMD_ATA && !(a.flags & AOE_F_ERR) && !(a.b.ata.cmd & ATA_ST_ERR))
		ata_answer(&a);
	return 0;
}

/* After a batch: a sector changed only to the data of a write allowed in
 * it; nothing is written at all to a read-only target or by may_write's
 * refusals. */
static void commit_batch(void)
{
	aoe_target_commit(&T.t);
	for (u64 s = 0; s < SECTORS; s++) {
		const u8 *now = T.disk.data + s * SS;
		bool ok = !memcmp(now, T.before + s * SS, SS);
		for (unsigned i = 0; i < T.ncand && !ok; i++)
			ok = s >= T.cand[i].lba && s < T.cand[i].lba + T.cand[i].count &&
			     !memcmp(now, T.cand[i].data + (s - T.cand[i].lba) * SS, SS);
		if (!ok)
			fuzz_fail("sector %llu changed, not to a write allowed in the batch", (unsigned long long)s);
	}
	fuzz_assert(!T.writes || (!T.read_only && T.may != 2));
	memcpy(T.before, T.disk.data, sizeof(T.before));
	T.nreq = T.ncand = 0;
}

/* What the target may do with a frame (a superset: the MAC mask list and
 * reservations are not modelled); then the frame, in a copy of its length. */
static void feed(const u8 *frame, size_t len)
{
	if (T.nreq == BATCH)
		commit_batch();
	codec_check(frame, len);
	struct aoe_msg m;
	int v = aoe_decode(frame, len, &m);
	struct treq *q = &T.req[T.nreq++];
	*q = (struct treq){ .tag = m.tag };
	memcpy(q->src, m.src, ETH_ALEN);
	bool allow = !T.nallow;
	for (unsigned i = 0; i < T.nallow; i++)
		allow |= !memcmp(m.src, HOSTS[i], ETH_ALEN);
	q->live = v != AOE_BAD_SHORT && v != AOE_BAD_TYPE && !(m.flags & AOE_F_RESP) && allow &&
		  (!memcmp(m.dst, TGT, ETH_ALEN) || !memcmp(m.dst, BCAST, ETH_ALEN)) &&
		  (m.shelf == SHELF || m.shelf == AOE_BCAST_SHELF) && (m.slot == SLOT || m.slot == AOE_BCAST_SLOT);
	if (v == AOE_OK && m.cmd == AOE_CMD_ATA) {
		const struct aoe_ata *a = &m.b.ata;
		u64 lba = aoe_ata_lba(a);
		q->kind = kind_of(a->cmd), q->count = a->count, q->ext = a->aflags & AOE_AF_EXT;
		memcpy(q->lba, a->lba, 6);
		q->allowed = q->live && m.shelf == SHELF && m.slot == SLOT && q->kind == K_WRITE && !T.read_only &&
			     (!T.may || rule(m.src)) && a->count && a->count <= T.t.scnt &&
			     a->data_len >= (size_t)a->count * SS && lba < SECTORS && a->count <= SECTORS - lba;
		if (q->allowed) {
			T.cand[T.ncand].lba = lba, T.cand[T.ncand].count = a->count;
			memcpy(T.cand[T.ncand++].data, a->data, (size_t)a->count * SS);
		}
	}
	u8 *copy = malloc(len ? len : 1);
	memcpy(copy, frame, len);
	aoe_target_frame(&T.t, copy, len);
	free(copy);
}

/* c: read_only (bit 0), an allow list of 0-3 MACs (1-2), may_write (3-4),
 * jumbo frames (5), disk calls of 3 sectors at most (6). */
static void target_setup(u8 c)
{
	if (!T.disk.data) {
		fake_disk_init(&T.disk, SECTORS, SS, 8);
		T.dev = T.disk.dev;
		T.dev.ops = &wrap_ops;
	}
	for (size_t i = 0; i < sizeof(T.before); i++)
		T.disk.data[i] = T.before[i] = fake_disk_byte(i);
	T.disk.dev.info.max_sectors = T.dev.info.max_sectors = c & 0x40 ? 3 : 8;
	T.read_only = c & 1, T.nallow = c >> 1 & 3, T.may = c >> 3 & 3;
	T.max_frame = c & 0x20 ? NIC_JUMBO_FRAME : NIC_MAX_FRAME;
	T.dirty = T.flush_fail = false, T.disk.fail = 0, T.writes = T.nreq = T.ncand = 0;
	struct aoe_target_cfg cfg = { .shelf = SHELF, .slot = SLOT, .max_frame = T.max_frame, .dev = &T.dev,
				      .read_only = T.read_only, .nallow = T.nallow, .may_write = T.may ? may_write : NULL };
	memcpy(cfg.mac, TGT, ETH_ALEN);
	memcpy(cfg.allow, HOSTS, sizeof(HOSTS));
	struct net_link link = { .send = tgt_send };
	fuzz_assert(aoe_target_init(&T.t, &cfg, &link) == 0);
	aoe_identify_data(&T.dev.info, T.t.scnt, T.ident);
	u8 sum = 0; /* ATA's integrity word */
	for (unsigned i = 0; i < SS; i++)
		sum = (u8)(sum + T.ident[i]);
	fuzz_assert(sum == 0 && T.ident[510] == 0xA5);
}

/* Ops: 0 ends a batch (bits 4, 5: the next one's flushes, or all its disk
 * calls, fail), 1 a raw frame, else a request (read_msg) and a cut. */
static void target_run(struct fuzz_in *in)
{
	static u8 frame[FRAME_CAP], tail[AOE_CFG_STR_MAX + DATA_MAX];
	target_setup(fz_u8(in));
	for (unsigned k = 0; k < FRAMES && in->n; k++) {
		u8 op = fz_u8(in), cut;
		size_t len;
		struct aoe_msg m;
		if (op % 8 == 0) {
			commit_batch();
			T.flush_fail = op & 0x10;
			T.disk.fail = op & 0x20 ? -E_IO : 0;
			continue;
		} else if (op % 8 == 1) {
			len = fz_u16(in) % (T.max_frame + 64);
			fz_fill(in, frame, len);
		} else {
			read_msg(in, &m, tail);
			len = aoe_encode(frame, sizeof(frame), &m);
			cut = fz_u8(in);
			len -= cut & 0x80 ? MIN(len, (size_t)(cut & 0x7F)) : 0;
		}
		feed(frame, len);
	}
	commit_batch();
}

/* ---- The client ------------------------------------------------------------------ */

#define CL_SENT 256
#define CL_RSP 96
#define CL_COUNT 48 /* sectors a request, at most */
#define GUARD 16
#define DEAD_US 1000000

static struct {
	struct aoe_client c;
	struct fuzz_in *in;
	u64 now, heard; /* heard: never before the client's last_heard */
	unsigned recvs, nsent, ring[8], nring, nrsp, nseg;
	bool rw, write, rsp_full; /* the call: a read or write of count sectors at lba */
	u64 lba;
	u32 count;
	struct aoe_msg sent[CL_SENT]; /* each tag's first frame (its pointers stale) */
	struct { u32 tag; bool ok; size_t len; u8 data[DATA_MAX]; } rsp[CL_RSP];
	struct blk_seg seg[4];
	u8 arena[CL_COUNT * SS + 5 * GUARD], shadow[CL_COUNT * SS + 5 * GUARD], src[CL_COUNT * SS];
} C;

static u64 cl_now(void *ctx) { return C.now; }

/* The client's frames are requests from its MAC; queries broadcast, for
 * its shelf.slot or all; ATA to the target it found; a read's or write's
 * for sectors of the call at a frame boundary, in its form, a write's
 * with the caller's data. */
static int cl_send(void *ctx, const void *frame, size_t len)
{
	struct aoe_msg m;
	codec_check(frame, len);
	fuzz_assert(len <= C.c.cfg.max_frame && aoe_decode(frame, len, &m) == AOE_OK);
	fuzz_assert(!(m.flags & (AOE_F_RESP | AOE_F_ERR)) && !memcmp(m.src, CMAC, ETH_ALEN));
	const struct aoe_ata *a = &m.b.ata;
	u64 l = aoe_ata_lba(a), end = C.lba + C.count;
	if (m.cmd == AOE_CMD_CFG)
		fuzz_assert(!memcmp(m.dst, BCAST, ETH_ALEN) && (C.c.cfg.want_target ? m.shelf == SHELF && m.slot == SLOT
							       : m.shelf == AOE_BCAST_SHELF && m.slot == AOE_BCAST_SLOT));
	else
		fuzz_assert(m.cmd == AOE_CMD_ATA && !memcmp(m.dst, C.c.target, ETH_ALEN) && m.shelf == C.c.shelf &&
			    m.slot == C.c.slot);
	if (m.cmd == AOE_CMD_ATA && C.rw) {
		fuzz_assert(kind_of(a->cmd) == (C.write ? K_WRITE : K_READ) && (a->cmd == ATA_CMD_READ_EXT ||
			    a->cmd == ATA_CMD_WRITE_EXT) == C.c.lba48 && !(a->aflags & AOE_AF_EXT) == !C.c.lba48);
		if (l < C.lba || l >= end || (l - C.lba) % C.c.scnt || a->count != MIN((u64)C.c.scnt, end - l))
			fuzz_fail("a frame for %u sectors at %llu in a request for %u at %llu", a->count,
				  (unsigned long long)l, C.count, (unsigned long long)C.lba);
		fuzz_assert(!C.write || ((a->aflags & AOE_AF_WRITE) && a->data_len >= (size_t)a->count * SS &&
					 !memcmp(a->data, C.src + (l - C.lba) * SS, (size_t)a->count * SS)));
	}
	unsigned i = 0;
	while (i < C.nsent && C.sent[i].tag != m.tag)
		i++;
	if (i == C.nsent)
		C.heard = C.now; /* a new frame: the client counts silence from no earlier */
	if (i == C.nsent && C.nsent < CL_SENT)
		C.sent[C.nsent++] = m;
	if (i < C.nsent)
		C.ring[C.nring++ % 8] = i;
	return 0;
}

/* IDENTIFY data for a disk of the input's size, some words patched. */
static void ident_script(struct fuzz_in *in, u8 *id)
{
	struct blk_info info = { .sector_size = SS, .model = "FUZZ AOE", .serial = "FZ-1" };
	u8 sz = fz_u8(in);
	info.sectors = sz < 0xC0 ? 8 + sz * 3u : (u64)fz_u32(in) << (sz & 31);
	aoe_identify_data(&info, AOE_TGT_MAX_SECTORS, id);
	for (unsigned k = fz_u8(in) % 4, w; k; k--)
		w = fz_u8(in), id[2 * w] = fz_u8(in), id[2 * w + 1] = fz_u8(in);
}

/* An answer to the k-th latest frame the client sent; mods: E flag (bit 0),
 * another source (1), tag (2), slot (3), ATA status (4), data cut (5),
 * delay (6), no R flag (7). */
static size_t answer(u8 k, u8 *buf, size_t cap)
{
	static u8 data[DATA_MAX];
	struct fuzz_in *in = C.in;
	const struct aoe_msg *s = &C.sent[C.ring[(C.nring - 1 - k % MIN(C.nring, 8u)) % 8]];
	u8 mods = fz_u8(in);
	struct aoe_msg m = { .ver = AOE_VERSION, .flags = AOE_F_RESP, .cmd = s->cmd, .tag = s->tag,
			     .shelf = s->shelf == AOE_BCAST_SHELF ? SHELF : s->shelf,
			     .slot = s->slot == AOE_BCAST_SLOT ? SLOT : s->slot };
	memcpy(m.dst, CMAC, ETH_ALEN);
	memcpy(m.src, mods & 2 ? OTHER : TGT, ETH_ALEN);
	m.error = mods & 1 ? fz_u8(in) : 0;
	m.flags |= mods & 1 ? AOE_F_ERR : 0;
	m.tag += mods & 4 ? 1u + fz_u8(in) : 0;
	m.slot ^= mods & 8 ? 1 : 0;
	C.now += mods & 0x40 ? fz_u8(in) * 1000u : 0;
	m.flags &= mods & 0x80 ? (u8)~AOE_F_RESP : 0xFF;
	if (m.cmd == AOE_CMD_CFG) {
		u8 bufcnt = fz_u8(in), scnt = fz_u8(in) % 24;
		m.b.cfg = (struct aoe_cfg){ .bufcnt = bufcnt, .fwver = 1, .scnt = scnt, .ver = 1 };
		return aoe_encode(buf, cap, &m);
	}
	struct aoe_ata *a = &m.b.ata;
	a->aflags = s->b.ata.aflags, a->count = s->b.ata.count;
	memcpy(a->lba, s->b.ata.lba, 6);
	a->cmd = mods & 0x10 ? fz_u8(in) : ATA_ST_DRDY;
	a->feature = mods & 0x10 ? fz_u8(in) : 0;
	if (s->b.ata.cmd == ATA_CMD_IDENTIFY)
		ident_script(in, data), a->data_len = SS;
	else if (kind_of(s->b.ata.cmd) == K_READ)
		a->data_len = MIN((size_t)a->count * SS, sizeof(data)), pattern(data, a->data_len, fz_u8(in) ^ s->tag);
	size_t cut = mods & 0x20 ? 1u + fz_u16(in) % 1024u : 0;
	a->data_len -= MIN(a->data_len, cut);
	a->data = data;
	return aoe_encode(buf, cap, &m);
}

/* Keeps what a delivered frame answers, for client_op's oracles. */
static void note(const u8 *f, size_t len)
{
	struct aoe_msg m;
	if (aoe_decode(f, len, &m) != AOE_OK)
		return;
	for (unsigned i = 0; i < C.nsent; i++)
		if ((m.flags & AOE_F_RESP) && C.sent[i].tag == m.tag)
			C.heard = C.now;
	C.rsp_full |= m.cmd == AOE_CMD_ATA && C.nrsp == CL_RSP;
	if (m.cmd != AOE_CMD_ATA || C.rsp_full)
		return;
	C.rsp[C.nrsp].tag = m.tag, C.rsp[C.nrsp].len = MIN(m.b.ata.data_len, (size_t)DATA_MAX);
	C.rsp[C.nrsp].ok = !memcmp(m.src, C.c.target, ETH_ALEN) && m.shelf == C.c.shelf && m.slot == C.c.slot &&
			   (m.flags & AOE_F_RESP) && !(m.flags & AOE_F_ERR) && !(m.b.ata.cmd & ATA_ST_FAIL);
	memcpy(C.rsp[C.nrsp].data, m.b.ata.data, C.rsp[C.nrsp].len);
	C.nrsp++;
}

/* Script: under 0x20 nothing for a while, under 0x40 a raw frame, else an
 * answer; out of input, silence.  Oracle: a request ends within its dead
 * time (and a last timeout) of the target's last answer. */
static int cl_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	if (++C.recvs > 20000)
		fuzz_fail("the client does not end");
	if (!C.in->n) {
		C.now += 200000;
		return -E_NOENT;
	}
	u8 b = fz_u8(C.in);
	size_t n = 0;
	C.now += b < 0x20 ? (b + 1u) * 1000u : 50;
	if (b >= 0x20 && b < 0x40)
		n = fz_u16(C.in) % (cap + 1), fz_fill(C.in, buf, n);
	else if (b >= 0x40 && C.nring)
		n = answer(b & 7, buf, cap);
	if (!n)
		return -E_NOENT;
	if (C.now - C.heard > DEAD_US + AOE_CL_RTO_MAX_US + 300000)
		fuzz_fail("the client waits on, %llu us after its target's last answer",
			  (unsigned long long)(C.now - C.heard));
	codec_check(buf, n);
	note(buf, n);
	*len = n;
	return 0;
}

/* Whether an answer to one of the call's frames for sector l brought sect
 * (a read) or acknowledged it (sect NULL: a write). */
static bool answered(u64 l, const u8 *sect)
{
	for (unsigned i = 0; i < C.nsent; i++) {
		const struct aoe_msg *s = &C.sent[i];
		u64 at = aoe_ata_lba(&s->b.ata);
		if (s->cmd != AOE_CMD_ATA || l < at || l >= at + s->b.ata.count)
			continue;
		for (unsigned j = 0; j < C.nrsp; j++)
			if (C.rsp[j].tag == s->tag && C.rsp[j].ok &&
			    (!sect || (C.rsp[j].len >= s->b.ata.count * SS && !memcmp(C.rsp[j].data + (l - at) * SS, sect, SS))))
				return true;
	}
	return false;
}

/* count sectors in nseg segments of the input's lengths, with guards. */
static void segs_setup(struct fuzz_in *in, u32 count)
{
	size_t total = (size_t)count * SS, off = 0, at = GUARD;
	memset(C.arena, 0xA5, sizeof(C.arena));
	pattern(C.src, total, fz_u8(in));
	for (unsigned i = 0; i < C.nseg; i++) {
		size_t room = (total - off) / 4 - (C.nseg - 1 - i);
		size_t n = i == C.nseg - 1 ? total - off : 4 * (1 + fz_u16(in) % room);
		C.seg[i] = (struct blk_seg){ (hpa_t)(uintptr_t)(C.arena + at), (u32)n };
		memcpy(C.arena + at, C.src + off, n);
		at += n + GUARD, off += n;
	}
	memcpy(C.shadow, C.arena, sizeof(C.arena));
}

/* Nothing outside the segments changed; unless read, not even they. */
static void arena_unchanged(bool read)
{
	size_t at = 0;
	for (unsigned i = 0; i < C.nseg; i++) {
		size_t s = (size_t)((const u8 *)(uintptr_t)C.seg[i].addr - C.arena);
		if (memcmp(C.arena + at, C.shadow + at, s - at))
			fuzz_fail("a byte before segment %u of %u changed", i, C.nseg);
		at = s + (read ? C.seg[i].len : 0);
	}
	if (memcmp(C.arena + at, C.shadow + at, sizeof(C.arena) - at))
		fuzz_fail("a byte after the segments changed");
}

/* op: read, write or flush (op % 3), segments (bits 2-3), LBA from the
 * start, the end or about it (6-7).  Oracles: aoe_client.h's codes, -E_RANGE
 * at once outside the disk; arena_unchanged; a read that returns 0 holds
 * only data of answers to its tags; a write that returns 0 had every
 * sector acknowledged. */
static void client_op(struct fuzz_in *in)
{
	u8 op = fz_u8(in);
	u32 count = 1 + fz_u8(in) % CL_COUNT;
	u16 r = fz_u16(in);
	u64 sectors = C.c.blk.info.sectors;
	u64 lba = op >> 6 < 2 ? r : op >> 6 == 2 ? sectors - 1 - r : sectors - count + (r & 3);
	C.nseg = 1 + (op >> 2) % 4;
	segs_setup(in, count);
	bool write = op % 3 == 1, in_range = lba < sectors && count <= sectors - lba;
	C.rw = op % 3 < 2, C.write = write, C.lba = lba, C.count = count;
	C.nsent = C.nring = C.nrsp = 0, C.rsp_full = false;
	int rc = op % 3 == 2 ? aoe_client_flush(&C.c)
		 : write     ? aoe_client_write(&C.c, lba, count, C.seg, C.nseg)
			     : aoe_client_read(&C.c, lba, count, C.seg, C.nseg);
	fuzz_assert(rc == 0 || rc == -E_IO || rc == -E_RANGE || rc == -E_TIMEDOUT);
	fuzz_assert(op % 3 == 2 || in_range || (rc == -E_RANGE && !C.nsent));
	arena_unchanged(op % 3 == 0);
	if (rc || op % 3 == 2 || C.rsp_full)
		return;
	for (u32 k = 0, s = 0, o = 0; k < count; k++) {
		u8 sect[SS];
		for (unsigned b = 0; b < SS; b++, o++) {
			if (o == C.seg[s].len)
				s++, o = 0;
			sect[b] = ((const u8 *)(uintptr_t)C.seg[s].addr)[o];
		}
		if (!answered(lba + k, write ? NULL : sect))
			fuzz_fail("sector %llu of a %s that succeeded: %s", (unsigned long long)(lba + k),
				  write ? "write" : "read", write ? "not acknowledged" : "bytes no answer to its tags brought");
	}
}

/* c: jumbo frames (bit 0), want shelf.slot (1); discovery, then requests. */
static void client_run(struct fuzz_in *in)
{
	u8 c = fz_u8(in);
	struct aoe_client_cfg cfg = { .max_frame = c & 1 ? NIC_JUMBO_FRAME : NIC_MAX_FRAME, .want_target = c & 2,
				      .shelf = SHELF, .slot = SLOT, .dead_time_us = DEAD_US };
	memcpy(cfg.mac, CMAC, ETH_ALEN);
	struct net_link link = { NULL, cl_send, cl_recv, cl_now };
	C.in = in, C.now = C.heard = 1000000, C.recvs = C.nsent = C.nring = C.nrsp = 0, C.rw = false;
	fuzz_assert(aoe_client_init(&C.c, &cfg, &link) == 0);
	int rc = aoe_client_discover(&C.c, 3000000);
	fuzz_assert(rc == 0 || rc == -E_TIMEDOUT || rc == -E_NOTSUP || rc == -E_IO); /* aoe_client.h's */
	if (rc)
		return;
	const struct blk_info *i = &C.c.blk.info;
	fuzz_assert(i->sectors && i->sector_size == SS && C.c.blk.ops && C.c.blk.name && strlen(i->model) < 41 &&
		    strlen(i->serial) < 21 && C.c.window >= 1 && C.c.window <= AOE_CL_WINDOW && C.c.scnt >= 1 &&
		    C.c.scnt <= aoe_sectors_per_frame(C.c.cfg.max_frame) &&
		    i->sectors <= (C.c.lba48 ? 1ull << 48 : ATA_LBA28_MAX)); /* every sector addressable */
	for (unsigned k = 0; k < 8 && in->n; k++)
		client_op(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data + 1, size ? size - 1 : 0 };
	u32 mf = (u32)(size * 37), s = aoe_sectors_per_frame(mf); /* the most sectors that fit */
	fuzz_assert(s <= 255 && (!s || AOE_ATA_HDR_LEN + s * SS <= mf) && (s == 255 || mf < AOE_ATA_HDR_LEN + (s + 1) * SS));
	if (size && data[0] % 3 == 0)
		codec_check(data + 1, size - 1);
	else if (size && data[0] % 3 == 1)
		target_run(&in);
	else if (size)
		client_run(&in);
	return 0;
}

/* ---- Seeds ------------------------------------------------------------------------ */

static void emit_msg(void (*emit)(const void *, size_t), const struct aoe_msg *m)
{
	static u8 buf[1 + FRAME_CAP]; /* mode 0 */
	size_t n = aoe_encode(buf + 1, FRAME_CAP, m);
	fuzz_assert(n);
	emit(buf, 1 + n);
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static u8 data[2 * SS], dirs[2 * AOE_DIR_LEN] = { 0, AOE_DCMD_ADD, 2, 0, 0, 0, 0xCC, 0x10 };
	pattern(data, sizeof(data), 5);
	struct aoe_msg m = { .ver = AOE_VERSION, .shelf = SHELF, .slot = SLOT, .cmd = AOE_CMD_ATA, .tag = 9 };
	memcpy(m.dst, TGT, ETH_ALEN), memcpy(m.src, HOSTS[0], ETH_ALEN);
	m.b.ata = (struct aoe_ata){ .aflags = AOE_AF_EXT | AOE_AF_WRITE, .count = 2, .cmd = ATA_CMD_WRITE_EXT,
				    .data = data, .data_len = sizeof(data) };
	aoe_ata_set_lba(&m.b.ata, 100);
	emit_msg(emit, &m); /* a write, LBA48 */
	m.b.ata = (struct aoe_ata){ .count = 1, .cmd = ATA_CMD_READ };
	aoe_ata_set_lba(&m.b.ata, 0x0ABCDEF);
	emit_msg(emit, &m); /* a read, LBA28 */
	m.flags = AOE_F_RESP | AOE_F_ERR, m.error = AOE_ERR_ARG;
	emit_msg(emit, &m); /* an error answer */
	m.flags = m.error = 0, m.cmd = AOE_CMD_CFG;
	m.b.cfg = (struct aoe_cfg){ .ccmd = AOE_CCMD_SET, .len = 6, .str = (const u8 *)"host-a" };
	emit_msg(emit, &m);
	m.cmd = AOE_CMD_MASK, m.b.mask = (struct aoe_mask){ .mcmd = AOE_MCMD_EDIT, .ndir = 1, .dir = dirs };
	emit_msg(emit, &m);
	m.cmd = AOE_CMD_RESERVE, m.b.res = (struct aoe_reserve){ .rcmd = AOE_RCMD_SET, .nmacs = 1, .macs = dirs + 2 };
	emit_msg(emit, &m);
	/* the target (read_msg's fields, see there): a query, IDENTIFY, writes
	 * LBA48 and LBA28 of one run; reads, FLUSH; a reservation and a write
	 * it refuses, a release; the mask list and a read it drops; a config
	 * string; a raw frame */
	static u8 tgt[] = { 1, 0,
		3, 0x20, 5, 0, 1, 1, 0, 0, 0, 0, 0, 0,
		3, 0, 0, 0, 0, 2, 0, 0, 0, 6, 0, 1, 0, 0, 0, 0, 0,
		3, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 2, 10, 0, 2, 0x33, 0,
		3, 0, 0, 0, 0, 4, 0, 0, 0, 2, 0, 2, 12, 0, 2, 0x44, 0, 0,
		3, 0, 0, 0, 0, 5, 0, 0, 0, 1, 0, 2, 10, 0, 0, 0, 0,
		3, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 2, 12, 0, 0, 0, 0,
		3, 0, 0, 0, 0, 7, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,
		3, 1, 0, 0, 3, 8, 0, 0, 0, 1, 1, 1, 0,
		3, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 1, 20, 0, 1, 0x55, 0,
		3, 0, 0, 0, 3, 10, 0, 0, 0, 2, 0, 0,
		3, 0, 0, 0, 2, 11, 0, 0, 0, 1, 1, 1, 0, 0,
		3, 2, 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
		3, 0, 0, 0, 1, 13, 0, 0, 0, 3, 4, 'f', 'z', '-', '1', 0,
		1, 36, 0, 2, 0, 0, 0, 0xAA, 1, 2, 0, 0, 0, 0xCC, 0x10, 0x88, 0xA2, 0x10, 0, 0, 1, 2, 0, 0, 0, 0, 14,
		0, 0, 1, 0xEC, 0, 0, 0, 0xE0, 0, 0, 0, 0 };
	static const u8 tcfg[] = { 0x00, 0x01, 0x1C, 0x20, 0x50, 0x62 };
	for (unsigned i = 0; i < sizeof(tcfg); i++) {
		tgt[1] = tcfg[i];
		emit(tgt, sizeof(tgt));
	}
	/* the client: discovery (a Query Config answer, IDENTIFY of 308
	 * sectors), a read of 4 sectors, a write of 8 in 2 segments, a flush,
	 * a read at the disk's end with a stale answer first; then errors */
	static u8 cl[] = { 2, 0, 0x40, 0, 64, 2, 0x40, 0, 100, 0,
		0, 3, 20, 0, 0x11, 0x40, 0, 0x21, 0x41, 0, 0x22,
		4, 7, 40, 0, 0x66, 100, 0, 0x40, 0, 0x41, 0, 0x42, 0, 0x43, 0,
		2, 0, 0, 0, 0, 0x40, 0,
		0x81, 0, 1, 0, 0x12, 0x40, 0x04, 5, 0x33, 0x40, 0, 0x34,
		0, 1, 30, 0, 0x13, 0x40, 0x10, 0x41, 0x10, 0x35,
		1, 0, 50, 0, 0x14, 0x40, 0x01, 2,
		0, 0, 60, 0, 0x15 };
	static const u8 ccfg[] = { 0, 1, 2, 3 };
	for (unsigned i = 0; i < sizeof(ccfg); i++) {
		cl[1] = ccfg[i];
		emit(cl, sizeof(cl));
	}
}
