/* The AoE target (net/aoe_target.c) over a fake disk and a link that keeps
 * the last frame sent: discovery, IDENTIFY, reads and writes in both LBA
 * forms, the error answers initiators act on, MAC lists, reservations,
 * duplicates, and random frames that must change nothing. */
#include <stdlib.h>
#include "net/aoe_target.h"
#include "check.h"
#include "fake_disk.h"

#define SECTORS 1000
static const u8 TGT[6] = { 0x52, 0x54, 0, 0, 0, 0x01 };
static const u8 HOST[6] = { 0x52, 0x54, 0, 0, 0, 0x02 };
static const u8 OTHER[6] = { 0x52, 0x54, 0, 0, 0, 0x03 };

static struct aoe_target tgt;
static struct fake_disk disk;
static u8 sent[9100], req[9100];
static size_t sent_len;
static unsigned nsent;
static struct aoe_msg ans;

static int cap_send(void *ctx, const void *f, size_t len)
{
	(void)ctx;
	memcpy(sent, f, len);
	sent_len = len;
	nsent++;
	return 0;
}

static u64 no_clock(void *ctx)
{
	(void)ctx;
	return 0;
}

static struct aoe_target_cfg base_cfg(void)
{
	struct aoe_target_cfg c = { .shelf = 1, .slot = 2, .max_frame = NIC_MAX_FRAME, .dev = &disk.dev };
	memcpy(c.mac, TGT, 6);
	return c;
}

static int setup_cfg(const struct aoe_target_cfg *c)
{
	static const struct net_link link = { .send = cap_send, .now_us = no_clock };
	fake_disk_free(&disk);
	fake_disk_init(&disk, SECTORS, 512, 8);
	strcpy(disk.dev.info.model, "Fake Model");
	strcpy(disk.dev.info.serial, "SER123");
	nsent = 0;
	return aoe_target_init(&tgt, c, &link);
}

static void setup(void)
{
	struct aoe_target_cfg c = base_cfg();
	if (setup_cfg(&c))
		abort();
}

/* Sends a frame from src; true when an answer came, decoded into ans. */
static bool xfer(const u8 *src, const struct aoe_msg *m)
{
	struct aoe_msg q = *m;
	memcpy(q.src, src, 6);
	if (!q.dst[0] && !q.dst[5])
		memcpy(q.dst, TGT, 6);
	if (!q.ver)
		q.ver = AOE_VERSION;
	size_t n = aoe_encode(req, sizeof(req), &q);
	if (!n)
		abort();
	unsigned before = nsent;
	aoe_target_frame(&tgt, req, n);
	aoe_target_commit(&tgt);
	if (nsent == before)
		return false;
	int v = aoe_decode(sent, sent_len, &ans);
	if (v != AOE_OK && !(v == AOE_BAD_CMD && ans.cmd == q.cmd))
		abort();
	return true;
}

static struct aoe_msg ata(u8 cmd, bool ext, u64 lba, u8 count, const u8 *data)
{
	struct aoe_msg m = { .shelf = 1, .slot = 2, .cmd = AOE_CMD_ATA, .tag = 0x1234 };
	m.b.ata = (struct aoe_ata){ .aflags = (u8)((ext ? AOE_AF_EXT : 0) | (data ? AOE_AF_WRITE : 0)), .count = count,
				    .cmd = cmd, .data = data, .data_len = data ? (size_t)count * 512 : 0 };
	aoe_ata_set_lba(&m.b.ata, lba);
	return m;
}

static struct aoe_msg query(u16 shelf, u8 slot, u8 ccmd, const char *s)
{
	struct aoe_msg m = { .shelf = shelf, .slot = slot, .cmd = AOE_CMD_CFG, .tag = 7 };
	m.b.cfg = (struct aoe_cfg){ .ccmd = ccmd, .len = (u16)(s ? strlen(s) : 0), .str = (const u8 *)s };
	memset(m.dst, 0xff, 6);
	return m;
}

static u16 word(const u8 *id, unsigned w) { return (u16)(id[2 * w] | id[2 * w + 1] << 8); }

TEST(discovery_by_broadcast)
{
	setup();
	struct aoe_msg q = query(0xffff, 0xff, AOE_CCMD_READ, NULL);
	CHECK(xfer(HOST, &q));
	CHECK(!memcmp(ans.dst, HOST, 6) && !memcmp(ans.src, TGT, 6));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.shelf, 1);
	CHECK_EQ(ans.slot, 2);
	CHECK_EQ(ans.tag, 7);
	CHECK(ans.b.cfg.bufcnt >= 16);
	CHECK_EQ(ans.b.cfg.scnt, 2);
	CHECK_EQ(ans.b.cfg.ver, 1);
	q = query(1, 0xff, AOE_CCMD_READ, NULL);
	CHECK(xfer(HOST, &q));
	q = query(3, 0xff, AOE_CCMD_READ, NULL); /* another shelf */
	CHECK(!xfer(HOST, &q));
	q = query(0xffff, 5, AOE_CCMD_READ, NULL);
	CHECK(!xfer(HOST, &q));
	q = query(0xffff, 0xff, AOE_CCMD_READ, NULL);
	memcpy(q.dst, OTHER, 6); /* unicast to someone else */
	CHECK(!xfer(HOST, &q));
	q = query(0xffff, 0xff, AOE_CCMD_READ, NULL);
	q.flags = AOE_F_RESP; /* another target's answer */
	CHECK(!xfer(HOST, &q));
	/* Jumbo frames: 17 sectors. */
	struct aoe_target_cfg c = base_cfg();
	c.max_frame = NIC_JUMBO_FRAME;
	CHECK_EQ(setup_cfg(&c), 0);
	q = query(0xffff, 0xff, AOE_CCMD_READ, NULL);
	CHECK(xfer(HOST, &q));
	CHECK_EQ(ans.b.cfg.scnt, 17);
}

TEST(config_string)
{
	setup();
	struct aoe_msg q = query(1, 2, AOE_CCMD_SET, "host-a");
	CHECK(xfer(HOST, &q));
	CHECK_EQ(ans.b.cfg.len, 6);
	CHECK(!memcmp(ans.b.cfg.str, "host-a", 6));
	q = query(1, 2, AOE_CCMD_SET, "host-a"); /* a retransmission: same string */
	CHECK(xfer(HOST, &q));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	q = query(1, 2, AOE_CCMD_SET, "host-b");
	CHECK(xfer(OTHER, &q));
	CHECK_EQ(ans.flags, AOE_F_RESP | AOE_F_ERR);
	CHECK_EQ(ans.error, AOE_ERR_CFG);
	q = query(1, 2, AOE_CCMD_TEST, "host-b");
	CHECK(!xfer(OTHER, &q));
	q = query(1, 2, AOE_CCMD_TEST, "host-a");
	CHECK(xfer(OTHER, &q));
	q = query(1, 2, AOE_CCMD_PREFIX, "host");
	CHECK(xfer(OTHER, &q));
	q = query(1, 2, AOE_CCMD_PREFIX, "host-ab");
	CHECK(!xfer(OTHER, &q));
	q = query(1, 2, AOE_CCMD_FORCE, "host-b");
	CHECK(xfer(OTHER, &q));
	CHECK(!memcmp(ans.b.cfg.str, "host-b", 6));
}

TEST(identify)
{
	setup();
	struct aoe_msg m = ata(ATA_CMD_IDENTIFY, false, 0, 1, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK(ans.b.ata.data_len >= 512);
	const u8 *id = ans.b.ata.data;
	CHECK(word(id, 83) & (1 << 10));
	CHECK(word(id, 86) & (1 << 10));
	CHECK_EQ(word(id, 83) >> 14, 1);
	CHECK_EQ(word(id, 100) | (u32)word(id, 101) << 16, SECTORS);
	CHECK_EQ(word(id, 60), SECTORS);
	CHECK_EQ(word(id, 27), 'F' << 8 | 'a');
	CHECK_EQ(word(id, 10), 'S' << 8 | 'E');
	CHECK_EQ(id[2 * 46 + 1], ' ');
	u8 sum = 0;
	for (int i = 0; i < 512; i++)
		sum = (u8)(sum + id[i]);
	CHECK_EQ(sum, 0);
	CHECK_EQ(id[510], 0xA5);
	/* A big disk: 28-bit words clamp, 48-bit words carry it all. */
	struct blk_info big = { .sectors = 0x123456789Aull, .sector_size = 512 };
	u8 id2[512];
	aoe_identify_data(&big, 2, id2);
	CHECK_EQ(word(id2, 60) | (u32)word(id2, 61) << 16, 0x0FFFFFFF);
	CHECK_EQ(word(id2, 100) | (u64)word(id2, 101) << 16 | (u64)word(id2, 102) << 32, 0x123456789Aull);
}

static void pattern(u8 *p, size_t n, u8 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed + i * 3 + (i >> 8));
}

TEST(write_then_read_lba48)
{
	setup();
	u8 data[1024], zero[1];
	pattern(data, sizeof(data), 9);
	struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 998, 2, data);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK_EQ(ans.tag, 0x1234);
	CHECK(!memcmp(disk.data + 998 * 512, data, 1024));
	/* On the disk before the answer: a write, then a flush. */
	CHECK_EQ(disk.ncalls, 2);
	CHECK_EQ(disk.call[0].op, 'w');
	CHECK_EQ(disk.call[0].lba, 998);
	CHECK_EQ(disk.call[1].op, 'f');
	m = ata(ATA_CMD_READ_EXT, true, 998, 2, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK(ans.b.ata.data_len >= 1024);
	CHECK(!memcmp(ans.b.ata.data, data, 1024));
	CHECK_EQ(aoe_ata_lba(&ans.b.ata), 998);
	(void)zero;
}

/* An answer's flags are its own: a request's E flag or reserved bits are
 * not echoed (an echoed E would call a read carried out an error). */
TEST(an_answer_does_not_echo_the_requests_flags)
{
	setup();
	u8 data[512];
	pattern(data, sizeof(data), 4);
	memcpy(disk.data + 7 * 512, data, 512);
	struct aoe_msg m = ata(ATA_CMD_READ_EXT, true, 7, 1, NULL);
	m.flags = AOE_F_ERR | 0x03;
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK(ans.b.ata.data_len >= 512 && !memcmp(ans.b.ata.data, data, 512));
}

TEST(write_then_read_lba28)
{
	setup();
	u8 data[512];
	pattern(data, sizeof(data), 77);
	struct aoe_msg m = ata(ATA_CMD_WRITE, false, 300, 1, data);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK(!memcmp(disk.data + 300 * 512, data, 512));
	m = ata(ATA_CMD_READ, false, 300, 1, NULL);
	CHECK(xfer(HOST, &m));
	CHECK(!memcmp(ans.b.ata.data, data, 512));
	/* 28-bit command with the LBA48 flag: a contradiction. */
	m = ata(ATA_CMD_READ, true, 300, 1, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP | AOE_F_ERR);
	CHECK_EQ(ans.error, AOE_ERR_ARG);
	/* CHS addressing (device register without the LBA bit). */
	m = ata(ATA_CMD_READ, false, 300, 1, NULL);
	m.b.ata.lba[3] = 0xA0;
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY | ATA_ST_ERR);
	CHECK_EQ(ans.b.ata.feature, ATA_ER_ABRT);
}

/* Frames of one batch: writes are done at once, answered after one flush. */
static void frame_only(const struct aoe_msg *m)
{
	struct aoe_msg q = *m;
	memcpy(q.src, HOST, 6);
	memcpy(q.dst, TGT, 6);
	q.ver = AOE_VERSION;
	size_t n = aoe_encode(req, sizeof(req), &q);
	aoe_target_frame(&tgt, req, n);
}

TEST(writes_answered_after_one_flush)
{
	setup();
	u8 a[1024], b[1024];
	pattern(a, sizeof(a), 1);
	pattern(b, sizeof(b), 2);
	struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 100, 2, a);
	m.tag = 1;
	frame_only(&m);
	m = ata(ATA_CMD_WRITE_EXT, true, 200, 2, b);
	m.tag = 2;
	frame_only(&m);
	CHECK_EQ(nsent, 0); /* not durable yet: no answer */
	/* A read in the same batch gets the new data. */
	m = ata(ATA_CMD_READ_EXT, true, 100, 2, NULL);
	m.tag = 3;
	frame_only(&m);
	CHECK_EQ(nsent, 0);
	aoe_target_commit(&tgt);
	CHECK(!memcmp(disk.data + 100 * 512, a, 1024));
	CHECK(!memcmp(disk.data + 200 * 512, b, 1024));
	CHECK_EQ(disk.ncalls, 4); /* write, write, read, one flush */
	CHECK_EQ(disk.call[2].op, 'r');
	CHECK_EQ(disk.call[3].op, 'f');
	CHECK_EQ(nsent, 3);
	CHECK_EQ(aoe_decode(sent, sent_len, &ans), AOE_OK);
	CHECK(ans.tag == 1 || ans.tag == 2); /* the write answers come after the flush */
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	aoe_target_commit(&tgt); /* nothing held: no flush */
	CHECK_EQ(disk.ncalls, 4);
	/* The flush fails: every held write is answered with an ATA error. */
	m = ata(ATA_CMD_WRITE_EXT, true, 100, 2, b);
	frame_only(&m);
	disk.fail = -E_IO;
	aoe_target_commit(&tgt);
	CHECK_EQ(aoe_decode(sent, sent_len, &ans), AOE_OK);
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK(ans.b.ata.cmd & ATA_ST_FAIL);
	disk.fail = 0;
	/* A full batch flushes by itself (rewriting the same sectors: each
	 * write ends the run before it). */
	unsigned before = nsent;
	for (unsigned i = 0; i < AOE_TGT_PENDING + 1; i++)
		frame_only(&m);
	CHECK_EQ(nsent, before + AOE_TGT_PENDING);
	CHECK_EQ(tgt.npending, 0);
	CHECK_EQ(tgt.nrun, 1);
}

/* Consecutive requests of one batch become one disk command each way. */
TEST(runs_coalesce)
{
	setup();
	static u8 w[16 * 512];
	pattern(w, sizeof(w), 4);
	for (unsigned i = 0; i < 8; i++) {
		struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 40 + 2 * i, 2, w + i * 1024);
		m.tag = 100 + i;
		frame_only(&m);
	}
	CHECK_EQ(nsent, 0);
	aoe_target_commit(&tgt);
	CHECK_EQ(nsent, 8);
	CHECK(!memcmp(disk.data + 40 * 512, w, sizeof(w)));
	CHECK_EQ(disk.ncalls, 3); /* 16 sectors as the fake disk's 8 + 8, one flush */
	CHECK_EQ(disk.call[0].lba, 40);
	CHECK_EQ(disk.call[0].count, 8);
	CHECK_EQ(disk.call[2].op, 'f');
	disk.ncalls = 0;
	nsent = 0;
	for (unsigned i = 0; i < 8; i++) {
		struct aoe_msg m = ata(ATA_CMD_READ_EXT, true, 40 + 2 * i, 2, NULL);
		m.tag = 200 + i;
		frame_only(&m);
	}
	aoe_target_commit(&tgt);
	CHECK_EQ(disk.ncalls, 2);
	CHECK_EQ(nsent, 8);
	/* Each answer of a run carries its own sectors: the last sent. */
	CHECK_EQ(aoe_decode(sent, sent_len, &ans), AOE_OK);
	CHECK_EQ(ans.tag, 207);
	CHECK_EQ(aoe_ata_lba(&ans.b.ata), 54);
	CHECK(!memcmp(ans.b.ata.data, w + 14 * 512, 1024));
	/* A request that does not continue the run ends it first. */
	struct aoe_msg r = ata(ATA_CMD_READ_EXT, true, 0, 2, NULL);
	frame_only(&r);
	struct aoe_msg id = ata(ATA_CMD_IDENTIFY, false, 0, 1, NULL);
	frame_only(&id);
	CHECK_EQ(disk.ncalls, 3);
	CHECK_EQ(nsent, 10);
	/* A failing disk fails every request of the run. */
	disk.fail = -E_IO;
	nsent = 0;
	for (unsigned i = 0; i < 3; i++) {
		struct aoe_msg m = ata(ATA_CMD_READ_EXT, true, 2 * i, 2, NULL);
		frame_only(&m);
	}
	aoe_target_commit(&tgt);
	CHECK_EQ(nsent, 3);
	CHECK_EQ(aoe_decode(sent, sent_len, &ans), AOE_OK);
	CHECK(ans.b.ata.cmd & ATA_ST_FAIL);
	disk.fail = 0;
}

TEST(duplicate_write_is_harmless)
{
	setup();
	u8 data[1024];
	pattern(data, sizeof(data), 5);
	struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 10, 2, data);
	CHECK(xfer(HOST, &m));
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK(!memcmp(disk.data + 10 * 512, data, 1024));
	CHECK_EQ(disk.data[12 * 512], fake_disk_byte(12 * 512));
	CHECK_EQ(disk.data[10 * 512 - 1], fake_disk_byte(10 * 512 - 1));
}

TEST(ata_errors_by_status)
{
	setup();
	u8 data[1024] = { 1 };
	/* Past the end: IDNF, no E flag, disk untouched. */
	struct aoe_msg m = ata(ATA_CMD_READ_EXT, true, SECTORS - 1, 2, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY | ATA_ST_ERR);
	CHECK_EQ(ans.b.ata.feature, ATA_ER_IDNF);
	m = ata(ATA_CMD_WRITE_EXT, true, SECTORS, 1, data);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.feature, ATA_ER_IDNF);
	CHECK_EQ(disk.ncalls, 0);
	/* The disk fails: ATA error status (Linux returns EIO at once). */
	disk.fail = -E_IO;
	m = ata(ATA_CMD_READ_EXT, true, 0, 2, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK(ans.b.ata.cmd & ATA_ST_FAIL);
	CHECK_EQ(ans.b.ata.feature, ATA_ER_UNC);
	CHECK_EQ(ans.b.ata.data_len, ETH_MIN_FRAME - AOE_ATA_HDR_LEN); /* padding, no data */
	m = ata(ATA_CMD_WRITE_EXT, true, 0, 2, data);
	CHECK(xfer(HOST, &m));
	CHECK(ans.b.ata.cmd & ATA_ST_FAIL);
	m = ata(ATA_CMD_FLUSH_EXT, true, 0, 0, NULL);
	CHECK(xfer(HOST, &m));
	CHECK(ans.b.ata.cmd & ATA_ST_FAIL);
	disk.fail = 0;
	m = ata(ATA_CMD_FLUSH, false, 0, 0, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK_EQ(disk.call[disk.ncalls - 1].op, 'f');
	/* An ATA command the target does not know: aborted. */
	m = ata(0xF8, true, 0, 0, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY | ATA_ST_ERR);
	CHECK_EQ(ans.b.ata.feature, ATA_ER_ABRT);
}

TEST(bad_requests_get_e_flag)
{
	setup();
	u8 data[1536] = { 0 };
	struct aoe_msg m = ata(ATA_CMD_READ_EXT, true, 0, 3, NULL); /* more than scnt */
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP | AOE_F_ERR);
	CHECK_EQ(ans.error, AOE_ERR_ARG);
	m = ata(ATA_CMD_READ_EXT, true, 0, 0, NULL);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.error, AOE_ERR_ARG);
	m = ata(ATA_CMD_WRITE_EXT, true, 0, 2, data);
	m.b.ata.data_len = 1023; /* short data */
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.error, AOE_ERR_ARG);
	m = ata(ATA_CMD_WRITE_EXT, true, 0, 1, data);
	m.b.ata.aflags &= (u8)~AOE_AF_WRITE;
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.error, AOE_ERR_ARG);
	CHECK_EQ(disk.ncalls, 0);
	/* Unknown AoE command and version. */
	m = (struct aoe_msg){ .shelf = 1, .slot = 2, .cmd = 9, .tag = 3 };
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.error, AOE_ERR_CMD);
	CHECK_EQ(ans.cmd, 9);
	m = ata(ATA_CMD_READ_EXT, true, 0, 1, NULL);
	m.ver = 2;
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.error, AOE_ERR_VER);
	CHECK_EQ(ans.ver, 1);
	/* ATA to a broadcast address: no answer, nothing done. */
	m = ata(ATA_CMD_WRITE_EXT, true, 0, 1, data);
	m.slot = 0xff;
	CHECK(!xfer(HOST, &m));
	CHECK_EQ(disk.ncalls, 0);
	/* A runt and another EtherType. */
	unsigned before = nsent;
	aoe_target_frame(&tgt, req, 20);
	req[13] = 0xB5;
	aoe_target_frame(&tgt, req, 60);
	CHECK_EQ(nsent, before);
}

TEST(read_only)
{
	struct aoe_target_cfg c = base_cfg();
	c.read_only = true;
	CHECK_EQ(setup_cfg(&c), 0);
	u8 data[512] = { 0xAB };
	struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 5, 1, data);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY | ATA_ST_ERR);
	CHECK_EQ(ans.b.ata.feature, ATA_ER_ABRT);
	CHECK_EQ(disk.ncalls, 0);
	CHECK_EQ(disk.data[5 * 512], fake_disk_byte(5 * 512));
}

/* The writer rule's hook (net/exports.h): a write it refuses fails with
 * ABRT and changes nothing; reads go on; the refusal is counted. */
static const u8 *writer_mac;
static bool only_writer(void *ctx, const u8 *mac)
{
	return ctx == &writer_mac && !memcmp(mac, writer_mac, 6);
}

TEST(second_writer_refused)
{
	struct aoe_target_cfg c = base_cfg();
	c.may_write = only_writer;
	c.may_write_ctx = &writer_mac;
	writer_mac = HOST;
	CHECK_EQ(setup_cfg(&c), 0);
	u8 data[512];
	memset(data, 0xAB, sizeof(data));
	struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 5, 1, data);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK_EQ(disk.data[5 * 512], 0xAB);
	memset(data, 0xCD, sizeof(data));
	m = ata(ATA_CMD_WRITE_EXT, true, 6, 1, data);
	CHECK(xfer(OTHER, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY | ATA_ST_ERR);
	CHECK_EQ(ans.b.ata.feature, ATA_ER_ABRT);
	CHECK_EQ(disk.data[6 * 512], fake_disk_byte(6 * 512));
	CHECK_EQ(tgt.stats.writes_refused, 1);
	CHECK(!memcmp(tgt.stats.refused_mac, OTHER, 6));
	m = ata(ATA_CMD_READ_EXT, true, 5, 1, NULL);
	CHECK(xfer(OTHER, &m));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	CHECK_EQ(ans.b.ata.data[0], 0xAB);
}

TEST(allow_list)
{
	struct aoe_target_cfg c = base_cfg();
	memcpy(c.allow[0], HOST, 6);
	c.nallow = 1;
	CHECK_EQ(setup_cfg(&c), 0);
	struct aoe_msg q = query(0xffff, 0xff, AOE_CCMD_READ, NULL);
	CHECK(xfer(HOST, &q));
	CHECK(!xfer(OTHER, &q));
	u8 data[512] = { 0 };
	struct aoe_msg m = ata(ATA_CMD_WRITE_EXT, true, 5, 1, data);
	CHECK(!xfer(OTHER, &m));
	CHECK_EQ(disk.ncalls, 0);
	c.nallow = AOE_TGT_ALLOW_MAX + 1;
	CHECK_EQ(setup_cfg(&c), -E_INVAL);
}

static struct aoe_msg mask_edit(u8 dcmd, const u8 *mac)
{
	static u8 dir[AOE_DIR_LEN];
	memset(dir, 0, sizeof(dir));
	dir[1] = dcmd;
	memcpy(dir + 2, mac, 6);
	struct aoe_msg m = { .shelf = 1, .slot = 2, .cmd = AOE_CMD_MASK, .tag = 11 };
	m.b.mask = (struct aoe_mask){ .mcmd = AOE_MCMD_EDIT, .ndir = 1, .dir = dir };
	return m;
}

TEST(mac_mask_list)
{
	setup();
	struct aoe_msg m = mask_edit(AOE_DCMD_ADD, HOST);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.mask.merror, 0);
	CHECK_EQ(ans.b.mask.ndir, 1);
	CHECK_EQ(aoe_dir_cmd(&ans.b.mask, 0), AOE_DCMD_ADD);
	CHECK(!memcmp(aoe_dir_mac(&ans.b.mask, 0), HOST, 6));
	CHECK(xfer(HOST, &m)); /* added twice: still one entry */
	CHECK_EQ(ans.b.mask.ndir, 1);
	struct aoe_msg r = ata(ATA_CMD_READ_EXT, true, 0, 1, NULL);
	CHECK(xfer(HOST, &r));
	CHECK(!xfer(OTHER, &r)); /* not in the list */
	m = mask_edit(7, HOST);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.mask.merror, AOE_MERR_BADDIR);
	/* Fill the list. */
	u8 mac[6] = { 2, 0, 0, 0, 0, 0 };
	for (unsigned i = 1; i < AOE_TGT_MASK_MAX; i++) {
		mac[5] = (u8)i;
		m = mask_edit(AOE_DCMD_ADD, mac);
		CHECK(xfer(HOST, &m));
		CHECK_EQ(ans.b.mask.merror, 0);
	}
	mac[5] = 0xEE;
	m = mask_edit(AOE_DCMD_ADD, mac);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.mask.merror, AOE_MERR_FULL);
	CHECK_EQ(ans.b.mask.ndir, AOE_TGT_MASK_MAX);
	m = mask_edit(AOE_DCMD_DEL, HOST);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.b.mask.ndir, AOE_TGT_MASK_MAX - 1);
	CHECK(!xfer(HOST, &r)); /* removed itself */
}

static struct aoe_msg reserve(u8 rcmd, const u8 *mac)
{
	struct aoe_msg m = { .shelf = 1, .slot = 2, .cmd = AOE_CMD_RESERVE, .tag = 12 };
	m.b.res = (struct aoe_reserve){ .rcmd = rcmd, .nmacs = mac ? 1 : 0, .macs = mac };
	return m;
}

TEST(reserve_release)
{
	setup();
	struct aoe_msg m = reserve(AOE_RCMD_SET, HOST);
	CHECK(xfer(HOST, &m));
	CHECK_EQ(ans.flags, AOE_F_RESP);
	CHECK_EQ(ans.b.res.nmacs, 1);
	u8 data[512] = { 0 };
	struct aoe_msg w = ata(ATA_CMD_WRITE_EXT, true, 5, 1, data);
	CHECK(xfer(OTHER, &w));
	CHECK_EQ(ans.flags, AOE_F_RESP | AOE_F_ERR);
	CHECK_EQ(ans.error, AOE_ERR_RESERVED);
	CHECK_EQ(disk.ncalls, 0);
	CHECK(xfer(HOST, &w));
	CHECK_EQ(ans.b.ata.cmd, ATA_ST_DRDY);
	m = reserve(AOE_RCMD_SET, OTHER);
	CHECK(xfer(OTHER, &m));
	CHECK_EQ(ans.error, AOE_ERR_RESERVED);
	m = reserve(AOE_RCMD_READ, NULL);
	CHECK(xfer(OTHER, &m));
	CHECK_EQ(ans.b.res.nmacs, 1);
	CHECK(!memcmp(ans.b.res.macs, HOST, 6));
	m = reserve(AOE_RCMD_FORCE, OTHER);
	CHECK(xfer(OTHER, &m));
	CHECK(!memcmp(ans.b.res.macs, OTHER, 6));
	m = reserve(AOE_RCMD_SET, NULL); /* release */
	CHECK(xfer(OTHER, &m));
	CHECK_EQ(ans.b.res.nmacs, 0);
	CHECK(xfer(HOST, &w));
	CHECK_EQ(ans.flags, AOE_F_RESP);
}

TEST(init_refuses)
{
	struct aoe_target_cfg c = base_cfg();
	c.shelf = 0xffff;
	CHECK_EQ(setup_cfg(&c), -E_INVAL);
	c = base_cfg();
	c.slot = 0xff;
	CHECK_EQ(setup_cfg(&c), -E_INVAL);
	c = base_cfg();
	c.max_frame = 100;
	CHECK_EQ(setup_cfg(&c), -E_NOTSUP);
	c = base_cfg();
	CHECK_EQ(setup_cfg(&c), 0);
	struct net_link link = tgt.link;
	disk.dev.info.sector_size = 4096;
	CHECK_EQ(aoe_target_init(&tgt, &c, &link), -E_NOTSUP);
}

/* Random frames (AoE EtherType, our address, random rest): whatever they
 * say, no write that was not a well-formed WRITE reaches the disk and
 * nothing reads or writes out of bounds (ASan). */
TEST(random_frames)
{
	setup();
	srand(1);
	for (int i = 0; i < 100000; i++) {
		size_t len = (size_t)(rand() % 1600);
		for (size_t j = 0; j < len; j++)
			req[j] = (u8)rand();
		if (len >= 20) {
			memcpy(req, TGT, 6);
			req[12] = 0x88, req[13] = 0xA2;
			req[14] = (u8)((rand() % 4 ? 0x10 : req[14]) & ~(rand() % 2 ? AOE_F_RESP : 0));
			req[16] = 0, req[17] = 1, req[18] = 2;
			req[19] &= 3;
		}
		unsigned calls = disk.ncalls;
		aoe_target_frame(&tgt, req, len);
		aoe_target_commit(&tgt);
		if (disk.ncalls > calls && disk.call[calls].op == 'w') {
			CHECK(len >= AOE_ATA_HDR_LEN && (req[27] == ATA_CMD_WRITE || req[27] == ATA_CMD_WRITE_EXT));
			CHECK(req[24] & AOE_AF_WRITE);
			CHECK(len - AOE_ATA_HDR_LEN >= (size_t)req[26] * 512);
		}
	}
	CHECK(tgt.stats.tx > 0);
}

int main(void)
{
	RUN(discovery_by_broadcast);
	RUN(config_string);
	RUN(identify);
	RUN(write_then_read_lba48);
	RUN(an_answer_does_not_echo_the_requests_flags);
	RUN(write_then_read_lba28);
	RUN(writes_answered_after_one_flush);
	RUN(runs_coalesce);
	RUN(duplicate_write_is_harmless);
	RUN(ata_errors_by_status);
	RUN(bad_requests_get_e_flag);
	RUN(read_only);
	RUN(allow_list);
	RUN(mac_mask_list);
	RUN(reserve_release);
	RUN(second_writer_refused);
	RUN(init_refuses);
	RUN(random_frames);
	fake_disk_free(&disk);
	return CHECK_SUMMARY();
}
