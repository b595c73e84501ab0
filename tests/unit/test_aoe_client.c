/* The AoE initiator (net/aoe_client.c) against ferry's own target
 * (net/aoe_target.c) over a simulated wire with a fake clock: discovery,
 * IDENTIFY, reads and writes of many frames in flight, loss and
 * retransmission, ATA errors as I/O errors, a silent target. */
#include <stdlib.h>
#include "net/aoe_client.h"
#include "net/aoe_target.h"
#include "check.h"
#include "fake_disk.h"

#define SECTORS 4096
static const u8 TGT[6] = { 0x52, 0x54, 0, 0, 0, 0x01 };
static const u8 HOST[6] = { 0x52, 0x54, 0, 0, 0, 0x02 };

static struct aoe_target tgt;
static struct aoe_client cl;
static struct fake_disk disk;
static u64 clock_us;
static unsigned drop_every, sent_count; /* the wire drops every n-th frame the target sends */
static bool target_dead;
static unsigned max_outstanding, outstanding;

/* Frames from the target to the client. */
#define QLEN 256
static u8 q[QLEN][NIC_JUMBO_FRAME];
static size_t qlen[QLEN];
static unsigned qhead, qtail;

static u64 now(void *ctx)
{
	(void)ctx;
	return clock_us += 5;
}

static int tgt_send(void *ctx, const void *f, size_t len)
{
	(void)ctx;
	if (drop_every && ++sent_count % drop_every == 0)
		return 0;
	if (qtail - qhead == QLEN)
		return -E_NOSPC;
	memcpy(q[qtail % QLEN], f, len);
	qlen[qtail % QLEN] = len;
	qtail++;
	return 0;
}

static int cl_send(void *ctx, const void *f, size_t len)
{
	(void)ctx;
	if (target_dead)
		return 0;
	outstanding++;
	if (outstanding > max_outstanding)
		max_outstanding = outstanding;
	aoe_target_frame(&tgt, f, len);
	return 0;
}

/* The target runs "between" the client's sends and receives: its held
 * write answers go out when the client looks for frames. */
static int cl_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	(void)ctx;
	aoe_target_commit(&tgt);
	outstanding = 0;
	if (qhead == qtail)
		return -E_NOENT;
	size_t n = qlen[qhead % QLEN];
	if (n > cap)
		abort();
	memcpy(buf, q[qhead % QLEN], n);
	*len = n;
	qhead++;
	return 0;
}

static void setup(u32 max_frame, bool read_only)
{
	static const struct net_link tl = { .send = tgt_send, .now_us = now };
	static const struct net_link cll = { .send = cl_send, .recv = cl_recv, .now_us = now };
	fake_disk_free(&disk);
	fake_disk_init(&disk, SECTORS, 512, 64);
	strcpy(disk.dev.info.model, "Fake Model");
	strcpy(disk.dev.info.serial, "S-42");
	struct aoe_target_cfg tc = { .shelf = 3, .slot = 1, .max_frame = max_frame, .dev = &disk.dev,
				     .read_only = read_only };
	memcpy(tc.mac, TGT, 6);
	if (aoe_target_init(&tgt, &tc, &tl))
		abort();
	struct aoe_client_cfg cc = { .max_frame = max_frame, .dead_time_us = 5000000 };
	memcpy(cc.mac, HOST, 6);
	if (aoe_client_init(&cl, &cc, &cll))
		abort();
	qhead = qtail = 0;
	drop_every = sent_count = 0;
	target_dead = false;
	max_outstanding = 0;
}

static void fill(u8 *p, size_t n, u8 seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed ^ (i * 29) ^ (i >> 9));
}

TEST(discover_and_identify)
{
	setup(NIC_MAX_FRAME, false);
	CHECK_EQ(aoe_client_discover(&cl, 1000000), 0);
	CHECK(!memcmp(cl.target, TGT, 6));
	CHECK_EQ(cl.shelf, 3);
	CHECK_EQ(cl.slot, 1);
	CHECK_EQ(cl.scnt, 2);
	CHECK_EQ(cl.window, AOE_TGT_BUFCNT);
	CHECK(cl.lba48);
	CHECK(cl.can_flush);
	CHECK_EQ(cl.blk.info.sectors, SECTORS);
	CHECK_EQ(cl.blk.info.sector_size, 512);
	CHECK_STR(cl.blk.info.model, "Fake Model");
	CHECK_STR(cl.blk.info.serial, "S-42");
	CHECK_STR(cl.blk.name, "aoe:e3.1");
	/* Asking for the exact target, or another one (nobody answers). */
	setup(NIC_JUMBO_FRAME, false);
	cl.cfg.want_target = true, cl.cfg.shelf = 3, cl.cfg.slot = 1;
	CHECK_EQ(aoe_client_discover(&cl, 1000000), 0);
	CHECK_EQ(cl.scnt, 17);
	setup(NIC_MAX_FRAME, false);
	cl.cfg.want_target = true, cl.cfg.shelf = 3, cl.cfg.slot = 2;
	CHECK_EQ(aoe_client_discover(&cl, 3000000), -E_TIMEDOUT);
}

static int rw(bool write, u64 lba, u32 count, u8 *buf, unsigned nseg)
{
	struct blk_seg segs[8];
	size_t bytes = (size_t)count * 512, per = bytes / nseg;
	for (unsigned i = 0; i < nseg; i++)
		segs[i] = (struct blk_seg){ (hpa_t)(uintptr_t)(buf + i * per), (u32)(i == nseg - 1 ? bytes - i * per : per) };
	return write ? cl.blk.ops->write(&cl.blk, lba, count, segs, nseg) : cl.blk.ops->read(&cl.blk, lba, count, segs, nseg);
}

TEST(read_write_many_frames)
{
	setup(NIC_MAX_FRAME, false);
	CHECK_EQ(aoe_client_discover(&cl, 1000000), 0);
	static u8 w[256 * 512], r[256 * 512];
	fill(w, sizeof(w), 3);
	/* 255 sectors in 3 segments whose edges fall inside frames. */
	CHECK_EQ(rw(true, 1000, 255, w, 3), 0);
	CHECK(!memcmp(disk.data + 1000 * 512, w, 255 * 512));
	CHECK_EQ(disk.data[1255 * 512], fake_disk_byte(1255 * 512));
	CHECK(max_outstanding > 1); /* several frames in flight */
	CHECK(max_outstanding <= AOE_TGT_BUFCNT);
	memset(r, 0, sizeof(r));
	CHECK_EQ(rw(false, 1000, 255, r, 5), 0);
	CHECK(!memcmp(r, w, 255 * 512));
	disk.ncalls = 0;
	CHECK_EQ(cl.blk.ops->flush(&cl.blk), 0);
	CHECK_EQ(disk.ncalls, 1);
	CHECK_EQ(disk.call[0].op, 'f');
	CHECK(cl.srtt > 0);
	/* The last sectors of the disk, and one past. */
	CHECK_EQ(rw(false, SECTORS - 3, 3, r, 1), 0);
	CHECK_EQ(r[0], fake_disk_byte((SECTORS - 3) * 512ull));
	CHECK_EQ(rw(false, SECTORS - 3, 4, r, 1), -E_RANGE);
}

TEST(loss_and_retransmission)
{
	setup(NIC_MAX_FRAME, false);
	CHECK_EQ(aoe_client_discover(&cl, 1000000), 0);
	drop_every = 7;
	static u8 w[200 * 512], r[200 * 512];
	fill(w, sizeof(w), 9);
	CHECK_EQ(rw(true, 64, 200, w, 1), 0);
	CHECK(!memcmp(disk.data + 64 * 512, w, sizeof(w)));
	CHECK_EQ(rw(false, 64, 200, r, 2), 0);
	CHECK(!memcmp(r, w, sizeof(w)));
	CHECK(cl.stats.retransmits > 0);
}

TEST(errors)
{
	setup(NIC_MAX_FRAME, true); /* a read-only target */
	CHECK_EQ(aoe_client_discover(&cl, 1000000), 0);
	static u8 w[8 * 512];
	fill(w, sizeof(w), 1);
	CHECK_EQ(rw(true, 0, 8, w, 1), -E_IO);
	CHECK_EQ(disk.data[0], fake_disk_byte(0));
	CHECK(cl.stats.ata_errors > 0);
	disk.fail = -E_IO;
	CHECK_EQ(rw(false, 0, 8, w, 1), -E_IO);
	disk.fail = 0;
	CHECK_EQ(rw(false, 0, 8, w, 1), 0); /* later requests unaffected */
	CHECK_EQ(w[5], fake_disk_byte(5));
	/* The target goes silent: the request fails after the dead time. */
	target_dead = true;
	u64 t0 = clock_us;
	CHECK_EQ(rw(false, 0, 8, w, 1), -E_TIMEDOUT);
	CHECK(clock_us - t0 >= 5000000);
}

TEST(init_refuses)
{
	struct net_link none = { 0 };
	struct aoe_client_cfg cc = { .max_frame = NIC_MAX_FRAME };
	CHECK_EQ(aoe_client_init(&cl, &cc, &none), -E_INVAL);
	setup(NIC_MAX_FRAME, false);
	struct net_link l = cl.link;
	cc.max_frame = 100;
	CHECK_EQ(aoe_client_init(&cl, &cc, &l), -E_INVAL);
	cc.max_frame = NIC_MAX_FRAME;
	cc.want_target = true;
	cc.shelf = 0xffff;
	CHECK_EQ(aoe_client_init(&cl, &cc, &l), -E_INVAL);
}

int main(void)
{
	RUN(discover_and_identify);
	RUN(read_write_many_frames);
	RUN(loss_and_retransmission);
	RUN(errors);
	RUN(init_refuses);
	fake_disk_free(&disk);
	return CHECK_SUMMARY();
}
