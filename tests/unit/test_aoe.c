/* The AoE codec (net/aoe.c): byte layout against hand-built frames of AoE
 * r11, round trips of every command, 28- and 48-bit LBAs, padding, and
 * refusal of short or inconsistent frames. */
#include "net/aoe.h"
#include "check.h"

static const u8 HOST[6] = { 0x52, 0x54, 0, 0, 0, 0x02 };
static const u8 TGT[6] = { 0x52, 0x54, 0, 0, 0, 0x01 };

/* A request header as an initiator writes it. */
static void hdr(u8 *f, u8 cmd, u16 shelf, u8 slot, u32 tag)
{
	memset(f, 0, 64);
	memcpy(f, TGT, 6);
	memcpy(f + 6, HOST, 6);
	f[12] = 0x88, f[13] = 0xA2;
	f[14] = 0x10;
	f[16] = (u8)(shelf >> 8), f[17] = (u8)shelf;
	f[18] = slot;
	f[19] = cmd;
	f[20] = (u8)(tag >> 24), f[21] = (u8)(tag >> 16), f[22] = (u8)(tag >> 8), f[23] = (u8)tag;
}

TEST(header_fields)
{
	u8 f[64];
	struct aoe_msg m;
	hdr(f, AOE_CMD_ATA, 0x1234, 7, 0xdeadbeef);
	CHECK_EQ(aoe_decode(f, 36, &m), AOE_OK);
	CHECK(!memcmp(m.dst, TGT, 6) && !memcmp(m.src, HOST, 6));
	CHECK_EQ(m.ver, 1);
	CHECK_EQ(m.flags, 0);
	CHECK_EQ(m.shelf, 0x1234);
	CHECK_EQ(m.slot, 7);
	CHECK_EQ(m.tag, 0xdeadbeef);
	f[14] = 0x1C;
	f[15] = 3;
	CHECK_EQ(aoe_decode(f, 36, &m), AOE_OK);
	CHECK_EQ(m.flags, AOE_F_RESP | AOE_F_ERR);
	CHECK_EQ(m.error, 3);
}

TEST(refused_frames)
{
	u8 f[64];
	struct aoe_msg m;
	hdr(f, AOE_CMD_ATA, 0, 0, 1);
	CHECK_EQ(aoe_decode(f, 23, &m), AOE_BAD_SHORT);
	CHECK_EQ(aoe_decode(f, 35, &m), AOE_BAD_ARG); /* ATA block cut */
	CHECK_EQ(m.tag, 1);                           /* header still there to answer */
	f[13] = 0xB5;
	CHECK_EQ(aoe_decode(f, 36, &m), AOE_BAD_TYPE);
	hdr(f, AOE_CMD_ATA, 0, 0, 1);
	f[14] = 0x20;
	CHECK_EQ(aoe_decode(f, 36, &m), AOE_BAD_VERSION);
	hdr(f, 9, 0, 0, 1);
	CHECK_EQ(aoe_decode(f, 60, &m), AOE_BAD_CMD);
	CHECK_EQ(m.cmd, 9);
	/* Query Config: string longer than the frame or than 1024. */
	hdr(f, AOE_CMD_CFG, 0, 0, 1);
	CHECK_EQ(aoe_decode(f, 31, &m), AOE_BAD_ARG);
	f[31] = 5;
	CHECK_EQ(aoe_decode(f, 36, &m), AOE_BAD_ARG);
	CHECK_EQ(aoe_decode(f, 37, &m), AOE_OK);
	f[29] = 5; /* ccmd 5 does not exist */
	CHECK_EQ(aoe_decode(f, 37, &m), AOE_BAD_ARG);
	u8 big[AOE_CFG_HDR_LEN + 1100] = { 0 };
	hdr(big, AOE_CMD_CFG, 0, 0, 1);
	big[30] = 0x04, big[31] = 0x01; /* 1025 */
	CHECK_EQ(aoe_decode(big, sizeof(big), &m), AOE_BAD_ARG);
	big[31] = 0x00; /* 1024 */
	CHECK_EQ(aoe_decode(big, sizeof(big), &m), AOE_OK);
	CHECK_EQ(m.b.cfg.len, 1024);
	/* MAC mask list: more directives than bytes; unknown mcmd. */
	hdr(f, AOE_CMD_MASK, 0, 0, 1);
	f[25] = AOE_MCMD_EDIT;
	f[27] = 2;
	CHECK_EQ(aoe_decode(f, 28 + 15, &m), AOE_BAD_ARG);
	CHECK_EQ(aoe_decode(f, 28 + 16, &m), AOE_OK);
	f[25] = 2;
	CHECK_EQ(aoe_decode(f, 28 + 16, &m), AOE_BAD_ARG);
	/* Reserve: more MACs than bytes; unknown rcmd. */
	hdr(f, AOE_CMD_RESERVE, 0, 0, 1);
	f[24] = AOE_RCMD_SET;
	f[25] = 3;
	CHECK_EQ(aoe_decode(f, 26 + 17, &m), AOE_BAD_ARG);
	CHECK_EQ(aoe_decode(f, 26 + 18, &m), AOE_OK);
	f[24] = 3;
	CHECK_EQ(aoe_decode(f, 26 + 18, &m), AOE_BAD_ARG);
}

TEST(ata_lba28)
{
	u8 f[64];
	struct aoe_msg m;
	hdr(f, AOE_CMD_ATA, 0, 0, 1);
	f[24] = AOE_AF_WRITE;
	f[26] = 2;
	f[27] = ATA_CMD_WRITE;
	f[28] = 0x78, f[29] = 0x56, f[30] = 0x34, f[31] = 0xE1; /* device 0xE0, bits 24-27 = 1 */
	f[32] = 0xFF, f[33] = 0xFF;                             /* ignored in 28-bit mode */
	CHECK_EQ(aoe_decode(f, 60, &m), AOE_OK);
	CHECK_EQ(m.b.ata.aflags, AOE_AF_WRITE);
	CHECK_EQ(m.b.ata.count, 2);
	CHECK_EQ(m.b.ata.cmd, ATA_CMD_WRITE);
	CHECK_EQ(aoe_ata_lba(&m.b.ata), 0x1345678);
	CHECK_EQ(m.b.ata.data_len, 24);
	CHECK(m.b.ata.data == f + 36);
	struct aoe_ata a = { .aflags = 0 };
	aoe_ata_set_lba(&a, 0x0ABCDEF1);
	CHECK_EQ(a.lba[0], 0xF1);
	CHECK_EQ(a.lba[3], 0xEA);
	CHECK_EQ(a.lba[4], 0);
	CHECK_EQ(aoe_ata_lba(&a), 0x0ABCDEF1);
}

TEST(ata_lba48)
{
	u8 f[64];
	struct aoe_msg m;
	hdr(f, AOE_CMD_ATA, 0, 0, 1);
	f[24] = AOE_AF_EXT;
	f[26] = 1;
	f[27] = ATA_CMD_READ_EXT;
	for (int i = 0; i < 6; i++)
		f[28 + i] = (u8)(0x11 * (i + 1));
	CHECK_EQ(aoe_decode(f, 36, &m), AOE_OK);
	CHECK_EQ(aoe_ata_lba(&m.b.ata), 0x665544332211ull);
	struct aoe_ata a = { .aflags = AOE_AF_EXT };
	aoe_ata_set_lba(&a, 0xFEDCBA987654ull);
	CHECK_EQ(aoe_ata_lba(&a), 0xFEDCBA987654ull);
	CHECK_EQ(a.lba[5], 0xFE);
}

TEST(ata_round_trip_with_data)
{
	u8 data[1024], f[1514];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (u8)(i * 13);
	struct aoe_msg m = { .ver = 1, .flags = AOE_F_RESP, .shelf = 3, .slot = 4, .cmd = AOE_CMD_ATA, .tag = 99 };
	memcpy(m.dst, HOST, 6);
	memcpy(m.src, TGT, 6);
	m.b.ata = (struct aoe_ata){ .aflags = AOE_AF_EXT, .count = 2, .cmd = ATA_ST_DRDY, .data = data,
				    .data_len = sizeof(data) };
	aoe_ata_set_lba(&m.b.ata, 1ull << 40);
	size_t n = aoe_encode(f, sizeof(f), &m);
	CHECK_EQ(n, 36 + 1024);
	CHECK_EQ(f[12], 0x88);
	CHECK_EQ(f[13], 0xA2);
	CHECK_EQ(f[14], 0x18);
	CHECK_EQ(f[17], 3);
	CHECK_EQ(f[27], ATA_ST_DRDY);
	CHECK_EQ(f[33], 1);
	CHECK_EQ(aoe_encode(f, 36 + 1023, &m), 0); /* does not fit */
	struct aoe_msg r;
	CHECK_EQ(aoe_decode(f, n, &r), AOE_OK);
	CHECK_EQ(r.flags, AOE_F_RESP);
	CHECK_EQ(aoe_ata_lba(&r.b.ata), 1ull << 40);
	CHECK_EQ(r.b.ata.data_len, 1024);
	CHECK(!memcmp(r.b.ata.data, data, 1024));
}

TEST(short_frames_padded)
{
	u8 f[128];
	memset(f, 0xEE, sizeof(f));
	struct aoe_msg m = { .ver = 1, .cmd = AOE_CMD_RESERVE, .tag = 5 };
	size_t n = aoe_encode(f, sizeof(f), &m);
	CHECK_EQ(n, ETH_MIN_FRAME);
	for (size_t i = AOE_RES_HDR_LEN; i < n; i++)
		CHECK_EQ(f[i], 0);
	/* An error answer keeps the fixed block, drops what follows. */
	u8 s[8] = "abcdefgh";
	m = (struct aoe_msg){ .ver = 1, .flags = AOE_F_RESP | AOE_F_ERR, .error = AOE_ERR_CFG, .cmd = AOE_CMD_CFG };
	m.b.cfg = (struct aoe_cfg){ .len = 8, .str = s };
	CHECK_EQ(aoe_encode(f, 32, &m), 32);
	CHECK_EQ(f[14], 0x1C);
	CHECK_EQ(f[15], AOE_ERR_CFG);
}

TEST(cfg_round_trip)
{
	u8 f[1514];
	const char *s = "ferry disk";
	struct aoe_msg m = { .ver = 1, .flags = AOE_F_RESP, .shelf = 0, .slot = 0, .cmd = AOE_CMD_CFG, .tag = 0 };
	m.b.cfg = (struct aoe_cfg){ .bufcnt = 16, .fwver = 0x4001, .scnt = 2, .ver = 1, .ccmd = AOE_CCMD_READ,
				    .len = (u16)strlen(s), .str = (const u8 *)s };
	size_t n = aoe_encode(f, sizeof(f), &m);
	CHECK_EQ(n, ETH_MIN_FRAME);
	CHECK_EQ(f[24], 0);
	CHECK_EQ(f[25], 16);
	CHECK_EQ(f[28], 2);
	CHECK_EQ(f[29], 0x10);
	CHECK_EQ(f[31], 10);
	CHECK(!memcmp(f + 32, s, 10));
	struct aoe_msg r;
	CHECK_EQ(aoe_decode(f, n, &r), AOE_OK);
	CHECK_EQ(r.b.cfg.bufcnt, 16);
	CHECK_EQ(r.b.cfg.fwver, 0x4001);
	CHECK_EQ(r.b.cfg.ver, 1);
	CHECK_EQ(r.b.cfg.len, 10);
	CHECK(!memcmp(r.b.cfg.str, s, 10));
	m.b.cfg.len = AOE_CFG_STR_MAX + 1;
	CHECK_EQ(aoe_encode(f, sizeof(f), &m), 0);
}

TEST(mask_and_reserve_round_trip)
{
	u8 f[256], dirs[2 * AOE_DIR_LEN] = { 0, AOE_DCMD_ADD, 1, 2, 3, 4, 5, 6, 0, AOE_DCMD_DEL, 7, 8, 9, 10, 11, 12 };
	struct aoe_msg m = { .ver = 1, .cmd = AOE_CMD_MASK, .tag = 1 };
	m.b.mask = (struct aoe_mask){ .mcmd = AOE_MCMD_EDIT, .ndir = 2, .dir = dirs };
	size_t n = aoe_encode(f, sizeof(f), &m);
	CHECK_EQ(n, ETH_MIN_FRAME);
	struct aoe_msg r;
	CHECK_EQ(aoe_decode(f, n, &r), AOE_OK);
	CHECK_EQ(r.b.mask.ndir, 2);
	CHECK_EQ(aoe_dir_cmd(&r.b.mask, 1), AOE_DCMD_DEL);
	CHECK(!memcmp(aoe_dir_mac(&r.b.mask, 1), dirs + 10, 6));
	u8 macs[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	m = (struct aoe_msg){ .ver = 1, .cmd = AOE_CMD_RESERVE, .tag = 2 };
	m.b.res = (struct aoe_reserve){ .rcmd = AOE_RCMD_FORCE, .nmacs = 2, .macs = macs };
	n = aoe_encode(f, sizeof(f), &m);
	CHECK_EQ(aoe_decode(f, n, &r), AOE_OK);
	CHECK_EQ(r.b.res.rcmd, AOE_RCMD_FORCE);
	CHECK_EQ(r.b.res.nmacs, 2);
	CHECK(!memcmp(r.b.res.macs, macs, 12));
}

TEST(sectors_per_frame)
{
	CHECK_EQ(aoe_sectors_per_frame(NIC_MAX_FRAME), 2);
	CHECK_EQ(aoe_sectors_per_frame(NIC_JUMBO_FRAME), 17);
	CHECK_EQ(aoe_sectors_per_frame(36 + 511), 0);
	CHECK_EQ(aoe_sectors_per_frame(20), 0);
	CHECK_EQ(aoe_sectors_per_frame(200000), 255);
}

int main(void)
{
	RUN(header_fields);
	RUN(refused_frames);
	RUN(ata_lba28);
	RUN(ata_lba48);
	RUN(ata_round_trip_with_data);
	RUN(short_frames_padded);
	RUN(cfg_round_trip);
	RUN(mask_and_reserve_round_trip);
	RUN(sectors_per_frame);
	return CHECK_SUMMARY();
}
