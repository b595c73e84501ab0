/* The AoE frame codec (net/aoe.h; AoE r11 sections 2-3). */
#include "aoe.h"
#include "lib/string.h"

static u16 get16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static void put16(u8 *p, u16 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}
static void put32(u8 *p, u32 v)
{
	put16(p, (u16)(v >> 16));
	put16(p + 2, (u16)v);
}

static int decode_ata(const u8 *f, size_t len, struct aoe_ata *a)
{
	if (len < AOE_ATA_HDR_LEN)
		return AOE_BAD_ARG;
	a->aflags = f[24];
	a->feature = f[25];
	a->count = f[26];
	a->cmd = f[27];
	memcpy(a->lba, f + 28, 6);
	a->data = f + AOE_ATA_HDR_LEN;
	a->data_len = len - AOE_ATA_HDR_LEN;
	return AOE_OK;
}

static int decode_cfg(const u8 *f, size_t len, struct aoe_cfg *c)
{
	if (len < AOE_CFG_HDR_LEN)
		return AOE_BAD_ARG;
	c->bufcnt = get16(f + 24);
	c->fwver = get16(f + 26);
	c->scnt = f[28];
	c->ver = f[29] >> 4;
	c->ccmd = f[29] & 0x0F;
	c->len = get16(f + 30);
	c->str = f + AOE_CFG_HDR_LEN;
	if (c->len > AOE_CFG_STR_MAX || c->len > len - AOE_CFG_HDR_LEN || c->ccmd > AOE_CCMD_FORCE)
		return AOE_BAD_ARG;
	return AOE_OK;
}

static int decode_mask(const u8 *f, size_t len, struct aoe_mask *mk)
{
	if (len < AOE_MASK_HDR_LEN)
		return AOE_BAD_ARG;
	mk->mcmd = f[25];
	mk->merror = f[26];
	mk->ndir = f[27];
	mk->dir = f + AOE_MASK_HDR_LEN;
	if ((size_t)mk->ndir * AOE_DIR_LEN > len - AOE_MASK_HDR_LEN || mk->mcmd > AOE_MCMD_EDIT)
		return AOE_BAD_ARG;
	return AOE_OK;
}

static int decode_res(const u8 *f, size_t len, struct aoe_reserve *r)
{
	if (len < AOE_RES_HDR_LEN)
		return AOE_BAD_ARG;
	r->rcmd = f[24];
	r->nmacs = f[25];
	r->macs = f + AOE_RES_HDR_LEN;
	if ((size_t)r->nmacs * ETH_ALEN > len - AOE_RES_HDR_LEN || r->rcmd > AOE_RCMD_FORCE)
		return AOE_BAD_ARG;
	return AOE_OK;
}

int aoe_decode(const u8 *f, size_t len, struct aoe_msg *m)
{
	memset(m, 0, sizeof(*m));
	if (len < AOE_HDR_LEN)
		return AOE_BAD_SHORT;
	if (get16(f + 12) != AOE_ETHERTYPE)
		return AOE_BAD_TYPE;
	memcpy(m->dst, f, ETH_ALEN);
	memcpy(m->src, f + ETH_ALEN, ETH_ALEN);
	m->ver = f[14] >> 4;
	m->flags = f[14] & 0x0F;
	m->error = f[15];
	m->shelf = get16(f + 16);
	m->slot = f[18];
	m->cmd = f[19];
	m->tag = get32(f + 20);
	if (m->ver != AOE_VERSION)
		return AOE_BAD_VERSION;
	switch (m->cmd) {
	case AOE_CMD_ATA:
		return decode_ata(f, len, &m->b.ata);
	case AOE_CMD_CFG:
		return decode_cfg(f, len, &m->b.cfg);
	case AOE_CMD_MASK:
		return decode_mask(f, len, &m->b.mask);
	case AOE_CMD_RESERVE:
		return decode_res(f, len, &m->b.res);
	default:
		return AOE_BAD_CMD;
	}
}

/* The body after the common header: its fixed block's length, and what
 * follows it (tail of tail_len bytes).  0 for a command without a body
 * (an error answer to an unknown command). */
static size_t encode_body(u8 *f, const struct aoe_msg *m, const u8 **tail, size_t *tail_len)
{
	*tail = NULL;
	*tail_len = 0;
	switch (m->cmd) {
	case AOE_CMD_ATA: {
		const struct aoe_ata *a = &m->b.ata;
		f[24] = a->aflags;
		f[25] = a->feature;
		f[26] = a->count;
		f[27] = a->cmd;
		memcpy(f + 28, a->lba, 6);
		f[34] = f[35] = 0;
		*tail = a->data;
		*tail_len = a->data_len;
		return AOE_ATA_HDR_LEN;
	}
	case AOE_CMD_CFG: {
		const struct aoe_cfg *c = &m->b.cfg;
		if (c->len > AOE_CFG_STR_MAX || c->ccmd > 0x0F || c->ver > 0x0F)
			return 0;
		put16(f + 24, c->bufcnt);
		put16(f + 26, c->fwver);
		f[28] = c->scnt;
		f[29] = (u8)(c->ver << 4 | c->ccmd);
		put16(f + 30, c->len);
		*tail = c->str;
		*tail_len = c->len;
		return AOE_CFG_HDR_LEN;
	}
	case AOE_CMD_MASK: {
		const struct aoe_mask *mk = &m->b.mask;
		f[24] = 0;
		f[25] = mk->mcmd;
		f[26] = mk->merror;
		f[27] = mk->ndir;
		*tail = mk->dir;
		*tail_len = (size_t)mk->ndir * AOE_DIR_LEN;
		return AOE_MASK_HDR_LEN;
	}
	case AOE_CMD_RESERVE: {
		const struct aoe_reserve *r = &m->b.res;
		f[24] = r->rcmd;
		f[25] = r->nmacs;
		*tail = r->macs;
		*tail_len = (size_t)r->nmacs * ETH_ALEN;
		return AOE_RES_HDR_LEN;
	}
	default:
		return AOE_HDR_LEN;
	}
}

size_t aoe_encode(u8 *f, size_t cap, const struct aoe_msg *m)
{
	u8 hdr[AOE_ATA_HDR_LEN]; /* the longest fixed part */
	if (m->ver > 0x0F || m->flags > 0x0F)
		return 0;
	memcpy(hdr, m->dst, ETH_ALEN);
	memcpy(hdr + ETH_ALEN, m->src, ETH_ALEN);
	put16(hdr + 12, AOE_ETHERTYPE);
	hdr[14] = (u8)(m->ver << 4 | m->flags);
	hdr[15] = m->error;
	put16(hdr + 16, m->shelf);
	hdr[18] = m->slot;
	hdr[19] = m->cmd;
	put32(hdr + 20, m->tag);
	const u8 *tail;
	size_t tail_len;
	size_t n = encode_body(hdr, m, &tail, &tail_len);
	/* An error answer echoes the request's fixed block, nothing after it. */
	if (m->flags & AOE_F_ERR)
		tail_len = 0;
	if (!n || n + tail_len > cap || (tail_len && !tail))
		return 0;
	/* tail may point into f (a reply built in place): move it first. */
	if (tail_len)
		memmove(f + n, tail, tail_len);
	memcpy(f, hdr, n);
	n += tail_len;
	/* Pad to Ethernet's minimum (60 bytes before the FCS) when there is room:
	 * a NIC need not, and a short frame is a runt on a real wire. */
	for (; n < ETH_MIN_FRAME && n < cap; n++)
		f[n] = 0;
	return n;
}

u64 aoe_ata_lba(const struct aoe_ata *a)
{
	u64 lba = 0;
	unsigned n = (a->aflags & AOE_AF_EXT) ? 6 : 4;
	for (unsigned i = 0; i < n; i++)
		lba |= (u64)a->lba[i] << (8 * i);
	return (a->aflags & AOE_AF_EXT) ? lba : lba & ATA_LBA28_MAX;
}

void aoe_ata_set_lba(struct aoe_ata *a, u64 lba)
{
	for (unsigned i = 0; i < 6; i++)
		a->lba[i] = (u8)(lba >> (8 * i));
	if (!(a->aflags & AOE_AF_EXT)) {
		a->lba[3] = (u8)(0xA0 | ATA_DEV_LBA | ((lba >> 24) & 0x0F));
		a->lba[4] = a->lba[5] = 0;
	}
}

u32 aoe_sectors_per_frame(u32 max_frame)
{
	if (max_frame <= AOE_ATA_HDR_LEN)
		return 0;
	return MIN((max_frame - AOE_ATA_HDR_LEN) / AOE_SECTOR, 255u);
}
