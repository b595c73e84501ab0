/* The virtio-blk disk driver's queue (drivers/vioblk_queue.c) against the
 * fake device (fake_vioblk.h), held, then serving newest first: many
 * requests in flight, platform/blk.h's ordering whatever order the device
 * finishes in (overlapping requests, FLUSH, with and without the
 * feature), a chain too long for a slot alone, and a device that lies
 * about what it returns or never returns anything, given up after a
 * reset with every request finished exactly once.  Its own binary: each
 * test probes anew, and the driver takes at most 8 disks: 8 tests at most. */
#include <stdlib.h>
#include "check.h"
#include "fake_bus.h"
#include "fake_dev.h"
#include "fake_hv.h"
#include "fake_vioblk.h"
#include "drivers/drivers.h"
#include "drivers/vioblk.h"
#include "drivers/virtio_pci.h"
#include "lib/virtio_blk.h"
#include "platform/pci.h"

static struct pci_dev *pd;
static struct blk_dev *dev;

/* A fresh 1 MiB device, its PCI function not taken. */
static void setup(void)
{
	fake_vioblk_reset(2048);
	pd->owner = NULL;
	pd->quarantined = false;
	fake_pci[0].cfg[1] &= 0xFFFF0000u;
	dev = NULL;
	fake_log_capture();
}

static int rw(bool write, u64 lba, u32 count, u8 *p)
{
	struct blk_seg s = { (hpa_t)(uintptr_t)p, count * dev->info.sector_size };
	return write ? dev->ops->write(dev, lba, count, &s, 1) : dev->ops->read(dev, lba, count, &s, 1);
}

#define NQ 80
static struct qio {
	struct blk_io io;
	struct blk_seg seg[32];
	u8 *buf;
	unsigned done, order;
	int rc;
} qio[NQ];
static unsigned qdone;

static void q_done(struct blk_io *io, int rc)
{
	struct qio *q = io->ctx;
	q->done++;
	q->rc = rc;
	q->order = qdone++;
}

static void q_reset(void)
{
	for (unsigned i = 0; i < NQ; i++) {
		free(qio[i].buf);
		qio[i] = (struct qio){ 0 };
	}
	qdone = 0;
}

/* Request i: op on count sectors at lba, its buffer cut into nseg equal
 * segments (a write's data: byte k of sector n is n ^ k ^ seed). */
static int q_submit(unsigned i, enum blk_op op, u64 lba, u32 count, unsigned nseg, u8 seed)
{
	struct qio *q = &qio[i];
	free(q->buf);
	q->buf = fake_pages(count ? (count * 512 + 4095) / 4096 : 1);
	u32 piece = nseg ? count * 512 / nseg : 0;
	for (unsigned k = 0; k < nseg; k++)
		q->seg[k] = (struct blk_seg){ (hpa_t)(uintptr_t)(q->buf + k * piece), piece };
	for (u32 b = 0; op == BLK_OP_WRITE && b < count * 512; b++)
		q->buf[b] = (u8)((lba + b / 512) ^ b ^ seed);
	q->io = (struct blk_io){ .op = op, .lba = lba, .count = count, .segs = nseg ? q->seg : NULL, .nseg = nseg,
				 .done = q_done, .ctx = q };
	return dev->ops->submit(dev, &q->io);
}

static void q_poll_until(unsigned n)
{
	for (unsigned k = 0; k < 2000000 && qdone < n; k++)
		dev->ops->poll(dev);
}

static bool q_shows(unsigned i, u8 seed)
{
	const struct qio *q = &qio[i];
	for (u32 b = 0; b < q->io.count * 512; b++)
		if (fake_vioblk.data[q->io.lba * 512 + b] != (u8)((q->io.lba + b / 512) ^ b ^ seed))
			return false;
	return true;
}

/* The index in the device's log of the request at sector `sector` of type t. */
static int served_at(u32 t, u64 sector)
{
	for (unsigned i = 0; i < fake_vioblk.nlog; i++)
		if (fake_vioblk.log[i].type == t && fake_vioblk.log[i].sector == sector)
			return (int)i;
	return -1;
}

static void q_setup(void)
{
	setup();
	q_reset();
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	fake_vioblk.nlog = fake_vioblk.most_pending = 0; /* GET_ID's */
	for (unsigned i = 0; i < 2048 * 512; i++)
		fake_vioblk.data[i] = (u8)(i * 7 + 3);
}

TEST(many_requests_in_flight_finish_in_any_order)
{
	q_setup();
	CHECK(dev->ops->submit && dev->ops->poll);
	CHECK_EQ(dev->queue_depth, 64);
	fake_vioblk.hold = true;
	for (unsigned i = 0; i < 20; i++)
		CHECK_EQ(q_submit(i, BLK_OP_READ, 16 * i, 8, 1, 0), 0);
	dev->ops->poll(dev);
	CHECK_EQ(fake_vioblk.pending, 16); /* the fake's 128 entries: 16 slots of 8; 4 wait in the driver */
	CHECK_EQ(qdone, 0);
	fake_vioblk.hold = false;
	fake_vioblk.lifo = true;
	q_poll_until(20);
	for (unsigned i = 0; i < 20; i++) {
		CHECK_EQ(qio[i].done, 1);
		CHECK_EQ(qio[i].rc, 0);
		CHECK(!memcmp(qio[i].buf, fake_vioblk.data + 16 * i * 512, 8 * 512));
	}
	CHECK(qio[15].order < qio[0].order); /* finished newest first */
	CHECK_EQ(fake_vioblk.most_pending, 16);
	CHECK(fake_logged("virtio0: 16 requests in flight at once"));
	for (unsigned i = 20; i < 85; i++)
		if (q_submit(i % NQ, BLK_OP_READ, 0, 8, 1, 0) < 0) {
			CHECK_EQ(i, 20 + 64); /* 64 held, then no room */
			CHECK_EQ(q_submit(i % NQ, BLK_OP_READ, 0, 8, 1, 0), -E_NOSPC);
			break;
		}
	fake_vioblk.lifo = false;
	q_poll_until(84);
	CHECK_EQ(qdone, 84);
}

TEST(overlapping_requests_keep_their_order_and_others_pass_them)
{
	q_setup();
	fake_vioblk.hold = true;
	CHECK_EQ(q_submit(0, BLK_OP_WRITE, 0, 8, 1, 0xA1), 0);
	CHECK_EQ(q_submit(1, BLK_OP_READ, 4, 8, 1, 0), 0);
	CHECK_EQ(q_submit(2, BLK_OP_WRITE, 0, 8, 2, 0xB2), 0);
	CHECK_EQ(q_submit(3, BLK_OP_READ, 100, 8, 1, 0), 0);
	dev->ops->poll(dev);
	CHECK_EQ(fake_vioblk.pending, 2); /* the first write and the read it does not touch */
	fake_vioblk.hold = false;
	fake_vioblk.lifo = true;
	q_poll_until(4);
	CHECK_EQ(qdone, 4);
	int w1 = served_at(VIRTIO_BLK_T_OUT, 0), r = served_at(VIRTIO_BLK_T_IN, 4), r100 = served_at(VIRTIO_BLK_T_IN, 100);
	CHECK(w1 >= 0 && r > w1 && r100 >= 0 && r100 < r);
	CHECK_EQ(fake_vioblk.nlog, 4);
	CHECK(fake_vioblk.log[3].type == VIRTIO_BLK_T_OUT && fake_vioblk.log[3].sector == 0); /* the second write last */
	/* The read saw the first write and not the second; the disk has the second. */
	for (u32 b = 0; b < 4 * 512; b++)
		CHECK_EQ(qio[1].buf[b], (u8)((4 + b / 512) ^ (b + 4 * 512) ^ 0xA1));
	CHECK(q_shows(2, 0xB2));
	for (unsigned i = 0; i < 4; i++)
		CHECK(qio[i].done == 1 && qio[i].rc == 0);
}

TEST(a_flush_waits_for_the_writes_before_it_and_holds_back_what_follows)
{
	q_setup();
	fake_vioblk.hold = true;
	CHECK_EQ(q_submit(0, BLK_OP_WRITE, 0, 8, 1, 1), 0);
	CHECK_EQ(q_submit(1, BLK_OP_WRITE, 50, 8, 1, 2), 0);
	CHECK_EQ(q_submit(2, BLK_OP_FLUSH, 0, 0, 0, 0), 0);
	CHECK_EQ(q_submit(3, BLK_OP_READ, 200, 8, 1, 0), 0);
	dev->ops->poll(dev);
	CHECK_EQ(fake_vioblk.pending, 2);
	fake_vioblk.hold = false;
	fake_vioblk.lifo = true;
	q_poll_until(4);
	CHECK_EQ(fake_vioblk.nlog, 4);
	CHECK_EQ(fake_vioblk.log[2].type, VIRTIO_BLK_T_FLUSH);
	CHECK_EQ(fake_vioblk.log[3].type, VIRTIO_BLK_T_IN);
	CHECK(qio[2].order > qio[0].order && qio[2].order > qio[1].order && qio[3].order > qio[2].order);
	CHECK(q_shows(0, 1) && q_shows(1, 2));
	CHECK_EQ(fake_vioblk.flushes, 1);
}

TEST(a_flush_without_the_feature_still_waits_for_the_writes_before_it)
{
	setup();
	q_reset();
	fake_vioblk.features &= ~BIT(VIRTIO_BLK_F_FLUSH);
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	fake_vioblk.hold = true;
	CHECK_EQ(q_submit(0, BLK_OP_WRITE, 0, 8, 1, 1), 0);
	CHECK_EQ(q_submit(1, BLK_OP_FLUSH, 0, 0, 0, 0), 0);
	for (unsigned k = 0; k < 100; k++)
		dev->ops->poll(dev);
	CHECK_EQ(qio[1].done, 0); /* the write is still on the device */
	fake_vioblk.hold = false;
	q_poll_until(2);
	CHECK(qio[1].done == 1 && qio[1].rc == 0 && qio[1].order > qio[0].order);
	CHECK_EQ(fake_vioblk.flushes, 0); /* never sent: the device has no cache to flush */
}

TEST(a_chain_that_fits_no_slot_goes_alone_and_nothing_passes_it)
{
	q_setup();
	CHECK_EQ(q_submit(0, BLK_OP_READ, 0, 8, 1, 0), 0);
	CHECK_EQ(q_submit(1, BLK_OP_READ, 100, 32, 16, 0), 0); /* 16 data descriptors: more than a slot's 6 */
	CHECK_EQ(q_submit(2, BLK_OP_READ, 300, 8, 1, 0), 0);
	CHECK_EQ(q_submit(3, BLK_OP_WRITE, 400, 40, 20, 9), 0); /* 20 segments, seg_max 16: bounced */
	CHECK_EQ(q_submit(4, BLK_OP_READ, 400, 40, 20, 0), 0);
	q_poll_until(5);
	CHECK_EQ(fake_vioblk.most_pending, 1);
	CHECK_EQ(fake_vioblk.nlog, 5);
	CHECK(fake_vioblk.log[0].sector == 0 && fake_vioblk.log[1].sector == 100 && fake_vioblk.log[2].sector == 300);
	for (unsigned i = 0; i < 5; i++)
		CHECK(qio[i].done == 1 && qio[i].rc == 0);
	CHECK(!memcmp(qio[1].buf, fake_vioblk.data + 100 * 512, 32 * 512));
	CHECK(q_shows(3, 9));
	CHECK(!memcmp(qio[4].buf, qio[3].buf, 40 * 512));
}

TEST(a_device_that_returns_a_chain_it_was_not_given_is_given_up)
{
	q_setup();
	unsigned resets = fake_vioblk.resets;
	fake_vioblk.hold = true;
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(q_submit(i, BLK_OP_READ, 8 * i, 8, 1, 0), 0);
	dev->ops->poll(dev);
	fake_vioblk.bad_id = 3; /* the first one back names descriptor 3: no slot's head */
	fake_vioblk.hold = false;
	q_poll_until(3);
	for (unsigned i = 0; i < 3; i++)
		CHECK(qio[i].done == 1 && qio[i].rc == -E_IO);
	CHECK(fake_logged("returned descriptor 3, which heads no request in flight"));
	CHECK(fake_vioblk.resets > resets); /* reset before the buffers went back */
	CHECK_EQ(q_submit(3, BLK_OP_READ, 0, 8, 1, 0), -E_IO);
}

TEST(requests_in_flight_that_time_out_fail_once_each_after_a_reset)
{
	q_setup();
	unsigned resets = fake_vioblk.resets;
	fake_vioblk.io_silent = true;
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(q_submit(i, BLK_OP_READ, 8 * i, 8, 1, 0), 0);
	u64 t0 = fake_now_us;
	q_poll_until(3);
	CHECK(fake_now_us - t0 >= 10 * 1000 * 1000 && fake_now_us - t0 < 11 * 1000 * 1000);
	CHECK(qio[0].done == 1 && qio[0].rc == -E_TIMEDOUT);
	CHECK(qio[1].done == 1 && qio[1].rc == -E_IO && qio[2].done == 1 && qio[2].rc == -E_IO);
	CHECK(fake_logged("IN at sector 0 timed out"));
	CHECK(fake_vioblk.resets > resets);
	fake_vioblk.io_silent = false;
	CHECK_EQ(q_submit(3, BLK_OP_READ, 0, 8, 1, 0), -E_IO);
	CHECK_EQ(rw(false, 0, 8, qio[0].buf), -E_IO);
}

TEST(a_device_without_flush_and_with_a_small_seg_max)
{
	/* Two findings of a review, on one device (the driver takes 8 disks:
	 * a probe each).  FLUSHes a device without VIRTIO_BLK_F_FLUSH never
	 * sees all finish in one poll: the list of what a poll finished once
	 * had room for 33.  And a slot took 6 data descriptors whatever
	 * seg_max said: with seg_max 2, four segments go alone, bounced. */
	setup();
	q_reset();
	fake_vioblk.features &= ~BIT(VIRTIO_BLK_F_FLUSH);
	fake_vioblk_seg_max(2);
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	for (unsigned i = 0; i < 64; i++)
		CHECK_EQ(q_submit(i, BLK_OP_FLUSH, 0, 0, 0, 0), 0);
	dev->ops->poll(dev);
	CHECK_EQ(qdone, 64);
	for (unsigned i = 0; i < 64; i++)
		CHECK(qio[i].done == 1 && qio[i].rc == 0);
	q_reset();
	for (unsigned i = 0; i < 2048 * 512; i++)
		fake_vioblk.data[i] = (u8)(i * 5 + 1);
	CHECK_EQ(q_submit(0, BLK_OP_READ, 8, 8, 4, 0), 0);
	CHECK_EQ(q_submit(1, BLK_OP_READ, 64, 8, 2, 0), 0);
	q_poll_until(2);
	CHECK(qio[0].rc == 0 && qio[1].rc == 0);
	CHECK(!memcmp(qio[0].buf, fake_vioblk.data + 8 * 512, 8 * 512));
	CHECK(!memcmp(qio[1].buf, fake_vioblk.data + 64 * 512, 8 * 512));
	CHECK(fake_vioblk.most_data <= 2);
}

int main(void)
{
	fake_bus_reset();
	fake_vioblk_reset(2048);
	pci_init();
	pd = pci_find_bdf(0, 6, 0);
	if (!pd) {
		printf("FAIL setup: the fake device is not on the bus\n");
		return 1;
	}
	RUN(many_requests_in_flight_finish_in_any_order);
	RUN(overlapping_requests_keep_their_order_and_others_pass_them);
	RUN(a_flush_waits_for_the_writes_before_it_and_holds_back_what_follows);
	RUN(a_flush_without_the_feature_still_waits_for_the_writes_before_it);
	RUN(a_chain_that_fits_no_slot_goes_alone_and_nothing_passes_it);
	RUN(a_device_that_returns_a_chain_it_was_not_given_is_given_up);
	RUN(requests_in_flight_that_time_out_fail_once_each_after_a_reset);
	RUN(a_device_without_flush_and_with_a_small_seg_max);
	q_reset();
	return CHECK_SUMMARY();
}
