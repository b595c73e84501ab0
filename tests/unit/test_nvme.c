/* The NVMe driver (drivers/nvme.c) against a fake controller
 * (fake_nvme.h): the round trip it must get right, and the failures the
 * issue names, each a clear message and an error, never a hang: a
 * controller that never becomes ready or goes fatal, one that will not
 * stop, a command that times out (then a reset), a reset that fails, a
 * namespace that disappears, and a controller gone from the bus.  Then the
 * queue (submit and poll), with the fake holding each command until the
 * test completes it: many in flight finished in any order, blk.h's
 * ordering, completions naming nothing in flight, an error status, a
 * timeout with several in flight, a reset that fails.  Time is the fake
 * clock, so "bounded" is checked exactly. */
#include <stdlib.h>
#include "check.h"
#include "fake_bus.h"
#include "fake_dev.h"
#include "fake_hv.h"
#include "fake_nvme.h"
#include "drivers/drivers.h"
#include "drivers/nvme.h"
#include "platform/pci.h"


static struct pci_dev *pd;
static struct blk_dev *dev;

/* A fresh controller with a 512-byte namespace 1 (1 MiB) and a 4096-byte
 * namespace 2 (1 MiB), its PCI function not taken. */
static void setup(void)
{
	fake_nvme_reset();
	fake_nvme_add_ns(1, 9, 2048);
	fake_nvme_add_ns(2, 12, 256);
	/* As after a reboot: the last test's probe took the function. */
	pd->owner = NULL;
	pd->quarantined = false;
	fake_pci[0].cfg[1] &= 0xFFFF0000u; /* command register: off */
	dev = NULL;
	fake_log_capture();
}


static void fill(u8 *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(seed + i * 7 + (i >> 9));
}

/* One segment of n bytes at p. */
static int rd(u64 lba, u32 count, u8 *p)
{
	struct blk_seg s = { (hpa_t)(uintptr_t)p, count * dev->info.sector_size };
	return dev->ops->read(dev, lba, count, &s, 1);
}

static int wr(u64 lba, u32 count, u8 *p)
{
	struct blk_seg s = { (hpa_t)(uintptr_t)p, count * dev->info.sector_size };
	return dev->ops->write(dev, lba, count, &s, 1);
}

TEST(serves_the_first_namespace_and_round_trips_through_prp_lists_and_bounces)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	CHECK_STR(dev->name, "nvme0n1");
	CHECK_EQ(dev->info.sectors, 2048);
	CHECK_EQ(dev->info.sector_size, 512);
	CHECK_STR(dev->info.model, "fake nvme");
	CHECK_STR(dev->info.serial, "FAKE0001");
	CHECK(pd->owner != NULL);

	/* 5 pages through a PRP list: an unaligned first segment ending on a
	 * page, two whole pages elsewhere, a short last one. */
	u8 *a = fake_pages(6), *b = fake_pages(2);
	struct blk_seg s[] = {
		{ (hpa_t)(uintptr_t)(a + 0xA00), NVME_PAGE - 0xA00 },
		{ (hpa_t)(uintptr_t)b, 2 * NVME_PAGE },
		{ (hpa_t)(uintptr_t)(a + 2 * NVME_PAGE), 0 },
	};
	u32 bytes = 40 * 512;
	s[2].len = bytes - s[0].len - s[1].len;
	fill(a + 0xA00, s[0].len, 1);
	fill(b, s[1].len, 2);
	fill(a + 2 * NVME_PAGE, s[2].len, 3);
	CHECK_EQ(dev->ops->write(dev, 100, 40, s, 3), 0);
	const u8 *disk = fake_nvme.ns[0].data + 100 * 512;
	CHECK(!memcmp(disk, a + 0xA00, s[0].len));
	CHECK(!memcmp(disk + s[0].len, b, s[1].len));
	CHECK(!memcmp(disk + s[0].len + s[1].len, a + 2 * NVME_PAGE, s[2].len));

	/* Back through segments PRP cannot describe (a middle one not on a
	 * page): the bounce buffer. */
	u8 *c = fake_pages(12);
	struct blk_seg t[] = {
		{ (hpa_t)(uintptr_t)c, 512 },
		{ (hpa_t)(uintptr_t)(c + NVME_PAGE + 4), bytes - 512 },
	};
	CHECK_EQ(dev->ops->read(dev, 100, 40, t, 2), 0);
	CHECK(!memcmp(c, disk, 512));
	CHECK(!memcmp(c + NVME_PAGE + 4, disk + 512, bytes - 512));

	CHECK_EQ(dev->ops->flush(dev), 0);
	CHECK_EQ(fake_nvme.flushes, 1);
	CHECK_EQ(fake_nvme.enables, 1);
	free(a), free(b), free(c);
}

TEST(a_4096_byte_namespace_is_picked_by_name_and_keeps_its_sector_size)
{
	setup();
	CHECK_EQ(nvme_driver.probe("nvme0n2", &dev), 0);
	CHECK_STR(dev->name, "nvme0n2");
	CHECK_EQ(dev->info.sector_size, 4096);
	CHECK_EQ(dev->info.sectors, 256);
	u8 *p = fake_pages(2);
	fill(p, 2 * NVME_PAGE, 9);
	CHECK_EQ(wr(255, 1, p), 0);
	CHECK(!memcmp(fake_nvme.ns[1].data + 255 * 4096, p, 4096));
	CHECK_EQ(wr(255, 2, p), -E_INVAL); /* past the end: refused before the controller */
	CHECK_EQ(fake_nvme.writes, 1);
	free(p);
}

/* A second probe (a second export) must not take over the state of the
 * disk handed out: two exports would silently be one device. */
TEST(a_second_probe_leaves_the_disk_handed_out_alone)
{
	setup();
	CHECK_EQ(nvme_driver.probe("nvme0n1", &dev), 0);
	struct blk_dev *first = dev, *second = NULL;
	CHECK_EQ(nvme_driver.probe("nvme0n2", &second), -E_EXIST);
	CHECK(fake_logged("nvme0n1 is served already"));
	CHECK(second == NULL);
	CHECK_EQ(nvme_driver.probe("virtio1", &second), -E_NOENT); /* another driver's disk: not ours to judge */
	CHECK_STR(first->name, "nvme0n1");
	CHECK_EQ(first->info.sector_size, 512);
	u8 *p = fake_pages(1);
	fill(p, 512, 12);
	CHECK_EQ(wr(7, 1, p), 0);
	CHECK(!memcmp(fake_nvme.ns[0].data + 7 * 512, p, 512));
	free(p);
}

TEST(a_name_that_is_no_namespace_is_not_found_and_the_controller_goes_back)
{
	setup();
	CHECK_EQ(nvme_driver.probe("nvme0n3", &dev), -E_NOENT);
	CHECK(fake_logged("no namespace ferry can serve"));
	CHECK(pd->owner == NULL); /* stopped and released to the guest */
	CHECK_EQ(fake_pci_cfg32(&fake_pci[0], 0x04) & 0xFFFF, 0); /* its command register as it was */
}

TEST(a_controller_that_never_becomes_ready_fails_the_probe_after_cap_to)
{
	setup();
	fake_nvme.never_ready = true;
	u64 t0 = fake_now_us;
	CHECK_EQ(nvme_driver.probe(NULL, &dev), -E_TIMEDOUT);
	u64 took = fake_now_us - t0;
	CHECK(took >= 1000 * 1000 && took < 1200 * 1000); /* CAP.TO is 2 x 500 ms */
	CHECK(fake_logged("did not become ready within 1000 ms"));
	CHECK(pd->owner == NULL); /* never ready, so quiet: given back */
}

TEST(a_controller_fatal_at_enable_fails_at_once)
{
	setup();
	fake_nvme.fatal_on_enable = true;
	u64 t0 = fake_now_us;
	CHECK_EQ(nvme_driver.probe(NULL, &dev), -E_IO);
	CHECK(fake_now_us - t0 < 10 * 1000);
	CHECK(fake_logged("did not become ready: it reports a fatal status"));
}

TEST(a_controller_that_will_not_stop_stays_hidden_without_bus_mastering)
{
	setup();
	fake_nvme.never_ready = true;
	fake_nvme.wont_stop = true;
	/* It claims to be ready from before: CC.EN = 0 is never followed. */
	*(volatile u32 *)(FAKE_NVME_REGS_PA + NVME_CSTS) = NVME_CSTS_RDY;
	CHECK(nvme_driver.probe(NULL, &dev) < 0);
	CHECK(fake_logged("did not stop within 1000 ms"));
	CHECK(fake_logged("stays hidden from the guest with bus mastering off"));
	CHECK(pd->owner != NULL);
	CHECK_EQ(fake_pci_cfg32(&fake_pci[0], 0x04) & 0x4, 0);
}

TEST(a_command_that_times_out_is_an_error_then_the_controller_is_reset)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_nvme.io_silent = true;
	u64 t0 = fake_now_us;
	CHECK_EQ(rd(0, 8, p), -E_TIMEDOUT);
	u64 took = fake_now_us - t0;
	CHECK(took >= 10 * 1000 * 1000 && took < 11 * 1000 * 1000);
	CHECK(fake_logged("READ (nsid 1) timed out; resetting the controller"));
	/* The next request resets it first, then runs. */
	fake_nvme.io_silent = false;
	fill(fake_nvme.ns[0].data, 4096, 5);
	CHECK_EQ(rd(0, 8, p), 0);
	CHECK(!memcmp(p, fake_nvme.ns[0].data, 4096));
	CHECK_EQ(fake_nvme.enables, 2);
	CHECK(fake_logged("resetting the controller\n"));
	free(p);
}

/* The caller reuses its buffer once the call returns: the command that
 * timed out must not be able to move data into it (or out of it, to the
 * disk) any more.  The fake's CC.EN = 0 aborts what it holds. */
TEST(a_command_that_times_out_is_stopped_before_its_buffer_goes_back)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_nvme.io_hold = true;
	CHECK_EQ(rd(0, 8, p), -E_TIMEDOUT);
	CHECK_EQ(fake_nvme.held, 0);
	fake_nvme.io_hold = false;
	CHECK_EQ(wr(0, 8, p), 0); /* reset, then served */
	CHECK_EQ(fake_nvme.enables, 2);
	free(p);
}

/* One that will not stop loses its bus mastering before the call returns,
 * and no later request waits for it. */
TEST(a_command_that_times_out_on_a_controller_that_will_not_stop_quarantines_it)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_nvme.io_hold = true;
	fake_nvme.wont_stop = true;
	CHECK_EQ(rd(0, 8, p), -E_TIMEDOUT);
	CHECK_EQ(fake_pci_cfg32(&fake_pci[0], 0x04) & 0x4, 0);
	CHECK(fake_logged("did not stop; every request to nvme0n1 now fails"));
	u64 t0 = fake_now_us;
	CHECK_EQ(wr(0, 8, p), -E_IO);
	CHECK(fake_now_us - t0 < 1000);
	CHECK_EQ(fake_nvme.writes, 0);
	free(p);
}

/* During the probe: one CAP.TO wait for the stop, one quarantine, and the
 * function is neither released to the guest nor its pages freed. */
TEST(an_admin_command_that_times_out_on_a_controller_that_will_not_stop_quarantines_it_once)
{
	setup();
	fake_nvme.admin_silent = true;
	fake_nvme.wont_stop = true;
	u64 t0 = fake_now_us;
	CHECK(nvme_driver.probe(NULL, &dev) < 0);
	CHECK(fake_now_us - t0 < 7 * 1000 * 1000); /* the admin timeout and one CAP.TO (1 s) */
	CHECK_EQ(fake_logged_times("stays hidden from the guest with bus mastering off"), 1);
	CHECK(!fake_logged("given back to the guest"));
	CHECK(pd->owner != NULL);
	CHECK_EQ(fake_pci_cfg32(&fake_pci[0], 0x04) & 0x4, 0);
}

TEST(a_reset_that_fails_makes_every_later_request_fail_at_once)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_nvme.io_silent = true;
	CHECK_EQ(rd(0, 1, p), -E_TIMEDOUT);
	fake_nvme.never_ready = true;
	CHECK_EQ(wr(0, 1, p), -E_IO);
	CHECK(fake_logged("did not come back; every request to nvme0n1 now fails"));
	u64 t0 = fake_now_us;
	CHECK_EQ(rd(0, 1, p), -E_IO);
	CHECK_EQ(dev->ops->flush(dev), -E_IO);
	CHECK(fake_now_us - t0 < 1000); /* no second wait for a dead controller */
	CHECK_EQ(fake_nvme.writes, 0);
	free(p);
}

TEST(a_namespace_that_disappears_fails_its_requests_with_its_name)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fill(p, 4096, 3);
	fake_nvme.ns[0].present = false; /* detached behind ferry's back */
	u64 t0 = fake_now_us;
	CHECK_EQ(wr(8, 8, p), -E_IO);
	CHECK_EQ(rd(8, 8, p), -E_IO);
	CHECK_EQ(dev->ops->flush(dev), -E_IO);
	CHECK(fake_now_us - t0 < 10 * 1000);
	CHECK(fake_logged("WRITE: namespace 1 is gone or not ready"));
	CHECK_EQ(fake_nvme.writes, 0);
	/* Attached again: requests work again, with no reset in between. */
	fake_nvme.ns[0].present = true;
	CHECK_EQ(wr(8, 8, p), 0);
	CHECK(!memcmp(fake_nvme.ns[0].data + 8 * 512, p, 4096));
	CHECK_EQ(fake_nvme.enables, 1);
	free(p);
}

TEST(a_controller_gone_from_the_bus_fails_requests_without_a_hang)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_nvme.gone = true;
	u64 t0 = fake_now_us;
	CHECK(rd(0, 1, p) < 0);
	CHECK(fake_logged("gone from the bus"));
	CHECK(wr(0, 1, p) < 0);
	CHECK(dev->ops->flush(dev) < 0);
	CHECK(fake_now_us - t0 < 2 * 1000 * 1000); /* at most one failed reset's wait */
	free(p);
}

/* ---- The queue (drivers/nvme_queue.c): submit and poll ---------------------- */

struct tio {
	struct blk_io io; /* first: the callback's io is the tio */
	struct blk_seg seg;
	int rc;
	unsigned done;
};

static void tio_done(struct blk_io *io, int rc)
{
	struct tio *t = (struct tio *)io;
	t->rc = rc;
	t->done++;
}

static int submit(struct tio *t, enum blk_op op, u64 lba, u32 count, u8 *p)
{
	*t = (struct tio){ .io = { .op = op, .lba = lba, .count = count, .done = tio_done } };
	if (op != BLK_OP_FLUSH) {
		t->seg = (struct blk_seg){ (hpa_t)(uintptr_t)p, count * 512 };
		t->io.segs = &t->seg;
		t->io.nseg = 1;
	}
	return dev->ops->submit(dev, &t->io);
}

static void polls(unsigned n)
{
	while (n--)
		dev->ops->poll(dev);
}

/* The held command i is the one at lba. */
static bool held_at(unsigned i, u64 lba)
{
	return i < fake_nvme.held && fake_nvme.hold[i].cdw10 == (u32)lba;
}

TEST(many_commands_in_flight_finish_in_any_order_each_once)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	CHECK_EQ(dev->queue_depth, 64);
	CHECK(fake_logged("up to 32 commands in flight"));
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(8);
	struct tio t[8];
	for (unsigned i = 0; i < 8; i++) {
		fill(p + i * 4096, 4096, i + 20);
		CHECK_EQ(submit(&t[i], BLK_OP_WRITE, i * 16, 8, p + i * 4096), 0);
	}
	polls(2);
	CHECK_EQ(fake_nvme.held, 8);
	CHECK(fake_logged("nvme0n1: 8 commands in flight at once (the most so far)"));
	for (unsigned k = 8; k-- > 0;) { /* newest first */
		fake_nvme_complete(k, 0);
		polls(2);
		for (unsigned i = 0; i < 8; i++)
			CHECK_EQ(t[i].done, i >= k ? 1u : 0u);
	}
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(t[i].rc, 0);
		CHECK(!memcmp(fake_nvme.ns[0].data + i * 16 * 512, p + i * 4096, 4096));
	}
	CHECK_EQ(dev->ops->poll(dev), 0);
	free(p);
}

/* platform/blk.h's order whatever the controller completes first: a read
 * waits for the write it overlaps, not for one it does not; a FLUSH
 * waits for everything before it and goes alone; what comes after it
 * waits for it. */
TEST(overlapping_requests_wait_and_a_flush_goes_alone)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(4);
	struct tio w0, r1, r2, f3, w4;
	fill(p, 4096, 7);
	CHECK_EQ(submit(&w0, BLK_OP_WRITE, 0, 8, p), 0);
	CHECK_EQ(submit(&r1, BLK_OP_READ, 4, 8, p + 4096), 0);
	CHECK_EQ(submit(&r2, BLK_OP_READ, 100, 8, p + 2 * 4096), 0);
	CHECK_EQ(submit(&f3, BLK_OP_FLUSH, 0, 0, NULL), 0);
	CHECK_EQ(submit(&w4, BLK_OP_WRITE, 200, 8, p + 3 * 4096), 0);
	polls(2);
	CHECK_EQ(fake_nvme.held, 2); /* w0 and r2: r1 overlaps w0 */
	CHECK(held_at(0, 0) && held_at(1, 100));
	fake_nvme_complete(1, 0);
	polls(2);
	CHECK(r2.done == 1 && r1.done == 0 && fake_nvme.held == 1);
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(w0.done == 1 && fake_nvme.held == 1 && held_at(0, 4)); /* r1, after w0 */
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(!memcmp(p + 4096, p + 4 * 512, 4 * 512)); /* r1 read w0's sectors 4-7 */
	CHECK_EQ(fake_nvme.held, 1);
	CHECK_EQ((u8)fake_nvme.hold[0].cdw0, NVME_CMD_FLUSH); /* alone */
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(f3.done == 1 && f3.rc == 0 && held_at(0, 200));
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(w0.done + r1.done + r2.done + f3.done + w4.done == 5);
	free(p);
}

/* A completion is believed only when it names the I/O queue and a slot in
 * flight: a CID no command has, one past the depth, another queue's, and
 * a second completion of one already finished finish nothing. */
TEST(completions_that_name_no_command_in_flight_are_ignored)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(2);
	struct tio a, b;
	CHECK_EQ(submit(&a, BLK_OP_READ, 0, 8, p), 0);
	CHECK_EQ(submit(&b, BLK_OP_READ, 8, 8, p + 4096), 0);
	polls(2);
	CHECK_EQ(fake_nvme.held, 2);
	fake_nvme_post(1, 5, 0);
	fake_nvme_post(1, 40, 0);
	fake_nvme_post(1, 0xFFFF, 0);
	fake_nvme_post(2, 0, 0);
	polls(2);
	CHECK(a.done == 0 && b.done == 0);
	CHECK(fake_logged("a completion names no command in flight (SQ 1, CID 5); ignored (1 so far)"));
	CHECK(fake_logged("(SQ 2, CID 0); ignored (4 so far)"));
	fill(fake_nvme.ns[0].data, 8192, 4);
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(a.done == 1 && a.rc == 0 && !memcmp(p, fake_nvme.ns[0].data, 4096));
	fake_nvme_post(1, 0, 0); /* a's slot again, now free */
	polls(2);
	CHECK(a.done == 1 && b.done == 0);
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(b.done == 1 && b.rc == 0 && !memcmp(p + 4096, fake_nvme.ns[0].data + 4096, 4096));
	free(p);
}

TEST(an_error_status_fails_only_its_own_request)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(3);
	struct tio t[3];
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(submit(&t[i], BLK_OP_WRITE, i * 8, 8, p + i * 4096), 0);
	polls(2);
	fake_nvme_complete(1, 0x81);
	fake_nvme_complete(0, 0);
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(t[0].rc == 0 && t[1].rc == -E_IO && t[2].rc == 0);
	CHECK(t[0].done == 1 && t[1].done == 1 && t[2].done == 1);
	CHECK(fake_logged("WRITE (nsid 1) failed: SCT 0 SC 81"));
	CHECK_EQ(fake_nvme.enables, 1); /* no reset for a command's own error */
	free(p);
}

/* Segments no PRP list can describe share the one bounce buffer: such a
 * request goes alone, so a second never overwrites the first's data. */
TEST(requests_through_the_bounce_buffer_go_alone)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(8);
	struct tio t[3];
	struct blk_seg s[2][2];
	for (unsigned i = 0; i < 2; i++) {
		u8 *b = p + i * 4 * 4096;
		fill(b, 512, 30 + i);
		fill(b + 4096 + 4, 3584, 40 + i);
		s[i][0] = (struct blk_seg){ (hpa_t)(uintptr_t)b, 512 };
		s[i][1] = (struct blk_seg){ (hpa_t)(uintptr_t)(b + 4096 + 4), 3584 }; /* not on a page: bounced */
		t[i] = (struct tio){ .io = { .op = BLK_OP_WRITE, .lba = i * 64, .count = 8, .segs = s[i], .nseg = 2,
					     .done = tio_done } };
		CHECK_EQ(dev->ops->submit(dev, &t[i].io), 0);
	}
	CHECK_EQ(submit(&t[2], BLK_OP_READ, 200, 8, p + 3 * 4096), 0); /* after them: waits too */
	for (unsigned i = 0; i < 3; i++) {
		polls(2);
		CHECK_EQ(fake_nvme.held, 1);
		fake_nvme_complete(0, 0);
		polls(2);
		CHECK_EQ(t[i].done, 1);
	}
	for (unsigned i = 0; i < 2; i++) {
		const u8 *disk = fake_nvme.ns[0].data + i * 64 * 512, *b = p + i * 4 * 4096;
		CHECK(!memcmp(disk, b, 512) && !memcmp(disk + 512, b + 4096 + 4, 3584));
	}
	free(p);
}

/* Polls until t is done, at most n times. */
static void poll_until(const struct tio *t, unsigned long n)
{
	while (!t->done && n--)
		dev->ops->poll(dev);
}

/* After a timeout with three in flight the reset aborts them all; each
 * runs again alone, one from each later poll, and gets its own result
 * (the second times out again, alone: its own error); one submitted
 * after the reset waits behind them. */
TEST(after_a_timeout_each_command_in_flight_runs_again_alone)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(4);
	struct tio t[4];
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(submit(&t[i], BLK_OP_WRITE, i * 8, 8, p + i * 4096), 0);
	polls(2);
	CHECK_EQ(fake_nvme.held, 3);
	u64 t0 = fake_now_us;
	while (fake_nvme.enables == 1 && fake_now_us - t0 < 20 * 1000 * 1000)
		dev->ops->poll(dev);
	CHECK(fake_now_us - t0 >= 10 * 1000 * 1000 && fake_now_us - t0 < 11 * 1000 * 1000);
	CHECK(fake_logged("READ/WRITE timed out (3 in flight, each to run alone); resetting the controller"));
	CHECK(t[0].done + t[1].done + t[2].done == 0);
	CHECK_EQ(submit(&t[3], BLK_OP_WRITE, 100, 8, p + 3 * 4096), 0);
	polls(2);
	CHECK(fake_nvme.held == 1 && held_at(0, 0));
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(t[0].done == 1 && t[0].rc == 0 && fake_nvme.held == 1 && held_at(0, 8));
	poll_until(&t[1], 3000000);
	CHECK(t[1].done == 1 && t[1].rc == -E_TIMEDOUT);
	CHECK(fake_logged("WRITE (nsid 1) timed out; resetting the controller"));
	CHECK_EQ(fake_nvme.enables, 3);
	polls(2);
	CHECK(fake_nvme.held == 1 && held_at(0, 16));
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(t[2].done == 1 && t[2].rc == 0 && fake_nvme.held == 1 && held_at(0, 100));
	fake_nvme_complete(0, 0);
	polls(2);
	CHECK(t[0].done + t[1].done + t[2].done + t[3].done == 4 && t[3].rc == 0);
	free(p);
}

TEST(a_controller_that_does_not_come_back_fails_every_request_held_once)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	fake_nvme.io_hold = true;
	u8 *p = fake_pages(3);
	struct tio t[3];
	CHECK_EQ(submit(&t[0], BLK_OP_WRITE, 0, 8, p), 0);
	CHECK_EQ(submit(&t[1], BLK_OP_READ, 4, 8, p + 4096), 0); /* waits for t[0] */
	CHECK_EQ(submit(&t[2], BLK_OP_READ, 64, 8, p + 2 * 4096), 0);
	polls(2);
	fake_nvme.never_ready = true;
	poll_until(&t[0], 3000000);
	polls(2);
	CHECK(t[0].done == 1 && t[1].done == 1 && t[2].done == 1);
	CHECK(t[0].rc == -E_IO && t[1].rc == -E_IO && t[2].rc == -E_IO);
	CHECK(fake_logged("did not come back; every request to nvme0n1 now fails"));
	CHECK_EQ(submit(&t[0], BLK_OP_READ, 0, 8, p), -E_IO);
	CHECK_EQ(dev->ops->poll(dev), 0);
	free(p);
}

TEST(the_synchronous_calls_finish_what_submit_holds_first)
{
	setup();
	CHECK_EQ(nvme_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(2);
	struct tio w;
	fill(p, 4096, 11);
	CHECK_EQ(submit(&w, BLK_OP_WRITE, 40, 8, p), 0);
	CHECK_EQ(rd(40, 8, p + 4096), 0);
	CHECK(w.done == 1 && w.rc == 0);
	CHECK(!memcmp(p, p + 4096, 4096));
	free(p);
}

int main(void)
{
	fake_bus_reset();
	fake_nvme_reset();
	pci_init();
	pd = pci_find_class(NVME_PCI_CLASS, NVME_PCI_SUBCLASS, NVME_PCI_PROGIF, 0);
	if (!pd) {
		printf("FAIL setup: the fake controller is not on the bus\n");
		return 1;
	}
	RUN(serves_the_first_namespace_and_round_trips_through_prp_lists_and_bounces);
	RUN(a_4096_byte_namespace_is_picked_by_name_and_keeps_its_sector_size);
	RUN(a_second_probe_leaves_the_disk_handed_out_alone);
	RUN(a_name_that_is_no_namespace_is_not_found_and_the_controller_goes_back);
	RUN(a_controller_that_never_becomes_ready_fails_the_probe_after_cap_to);
	RUN(a_controller_fatal_at_enable_fails_at_once);
	RUN(a_controller_that_will_not_stop_stays_hidden_without_bus_mastering);
	RUN(a_command_that_times_out_is_an_error_then_the_controller_is_reset);
	RUN(a_command_that_times_out_is_stopped_before_its_buffer_goes_back);
	RUN(a_command_that_times_out_on_a_controller_that_will_not_stop_quarantines_it);
	RUN(an_admin_command_that_times_out_on_a_controller_that_will_not_stop_quarantines_it_once);
	RUN(a_reset_that_fails_makes_every_later_request_fail_at_once);
	RUN(a_namespace_that_disappears_fails_its_requests_with_its_name);
	RUN(a_controller_gone_from_the_bus_fails_requests_without_a_hang);
	RUN(many_commands_in_flight_finish_in_any_order_each_once);
	RUN(overlapping_requests_wait_and_a_flush_goes_alone);
	RUN(completions_that_name_no_command_in_flight_are_ignored);
	RUN(an_error_status_fails_only_its_own_request);
	RUN(requests_through_the_bounce_buffer_go_alone);
	RUN(after_a_timeout_each_command_in_flight_runs_again_alone);
	RUN(a_controller_that_does_not_come_back_fails_every_request_held_once);
	RUN(the_synchronous_calls_finish_what_submit_holds_first);
	return CHECK_SUMMARY();
}
