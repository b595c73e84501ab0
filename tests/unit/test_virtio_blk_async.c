/* ferry's virtio-blk over a back end that keeps requests in flight
 * (platform/blk.h's submit and poll, here the fake disk's asynchronous
 * mode): requests finish in any order and go back on the used ring as they
 * do, with one interrupt per poll; the device never starts more than the
 * back end takes; a reset orphans what is in flight; a request cut into
 * parts finishes with its last part and fails with any of them; while
 * requests are in flight the driver is asked for no notifications. */
#include "check.h"
#include "vblk_driver.h"

static void in_request(unsigned n, u64 sector, u32 bytes)
{
	gpa_t d = at(DATA_OFF + n * 0x2000);
	request(n, VIRTIO_BLK_T_IN, sector, &d, &bytes, 1, true);
}

TEST(requests_finish_in_any_order)
{
	setup();
	fake_disk_async(&disk, 64);
	driver_init(linux_features);
	for (unsigned i = 0; i < 8; i++)
		in_request(i, 16 * i, 4096);
	kick();
	CHECK_EQ(disk.nqueued, 8);  /* all in flight at once */
	CHECK_EQ(used_idx(), 0);    /* none back yet: the guest ran on */
	CHECK_EQ(nmsi, 0);
	for (unsigned i = 8; i-- > 0;)
		CHECK(fake_disk_complete(&disk, i)); /* the newest first */
	vblk_poll();
	CHECK_EQ(used_idx(), 8);
	CHECK_EQ(nmsi, 1); /* one interrupt for the eight */
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(req_status(i), VIRTIO_BLK_S_OK);
		CHECK(memcmp(ram + DATA_OFF + i * 0x2000, disk.data + 16 * i * 512, 4096) == 0);
		CHECK_EQ(used(i)->len, 4097);
	}
	/* in the order they finished: the last request's head first */
	CHECK(used(0)->id != used(7)->id);
	CHECK_EQ(vblk_get_stats()->inflight_max, 8);
	CHECK_EQ(vblk_get_stats()->requests, 8);
	CHECK_EQ(vblk_get_stats()->bytes_read, 8 * 4096);
	/* Nothing in flight: a poll is a no-op. */
	vblk_poll();
	CHECK_EQ(nmsi, 1);
}

TEST(a_write_and_a_flush_in_flight)
{
	setup();
	fake_disk_async(&disk, 64);
	driver_init(linux_features);
	memset(ram + DATA_OFF, 0x5A, 1024);
	gpa_t d = at(DATA_OFF);
	u32 l = 1024;
	request(0, VIRTIO_BLK_T_OUT, 40, &d, &l, 1, false);
	request(1, VIRTIO_BLK_T_FLUSH, 0, NULL, NULL, 0, false);
	kick();
	CHECK_EQ(disk.nqueued, 2);
	CHECK(disk.data[40 * 512] != 0x5A); /* not on the disk before it runs */
	disk.complete_on_poll = true;
	vblk_poll();
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_OK);
	CHECK_EQ(disk.data[40 * 512], 0x5A);
	CHECK_EQ(disk.call[disk.ncalls - 1].op, 'f');
}

TEST(the_device_starts_no_more_than_the_back_end_takes)
{
	setup();
	fake_disk_async(&disk, 16); /* room for 16 parts; a request may take up to 8 */
	driver_init(linux_features);
	for (unsigned i = 0; i < 20; i++)
		in_request(i, i, 512);
	kick();
	CHECK(disk.nqueued <= 9); /* 8 + the 8 parts the next one might need would pass 16 */
	CHECK(disk.nqueued >= 1);
	disk.complete_on_poll = true;
	for (unsigned polls = 0; polls < 40 && used_idx() < 20; polls++)
		vblk_poll();
	CHECK_EQ(used_idx(), 20);
	for (unsigned i = 0; i < 20; i++)
		CHECK_EQ(req_status(i), VIRTIO_BLK_S_OK);
	CHECK(vblk_get_stats()->inflight_max <= 9);
}

TEST(a_reset_completes_only_after_what_is_in_flight_finished_and_orphans_it)
{
	setup();
	fake_disk_async(&disk, 64);
	driver_init(linux_features);
	for (unsigned i = 0; i < 3; i++)
		in_request(i, i, 512); /* status bytes 0xEE until written */
	kick();
	CHECK_EQ(disk.nqueued, 3);
	/* The driver resets.  The reset is not complete while the old
	 * requests may still touch its pages: status reads non-zero, and the
	 * driver may not start over (a status it writes is ignored). */
	common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	CHECK(status() != 0);
	common_wr(VIRTIO_COMMON_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK(status() != 0 && status() != VIRTIO_STATUS_ACKNOWLEDGE);
	disk.complete_on_poll = true;
	vblk_poll();
	CHECK_EQ(disk.nqueued, 0);
	CHECK_EQ(status(), 0); /* now it is done: the driver starts over on fresh rings */
	memset(ram + AVAIL_OFF, 0, 0x1000);
	memset(ram + USED_OFF, 0, 0x1000);
	driver_init(linux_features);
	vblk_poll();
	CHECK_EQ(used_idx(), 0); /* the new driver's ring is untouched */
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(ram[STATUS_OFF + i], 0xEE);
	CHECK_EQ(vblk_get_stats()->orphaned, 3);
	CHECK_EQ(nmsi, 0);
	/* The slots are free again: a new request runs. */
	in_request(5, 7, 512);
	kick();
	vblk_poll();
	CHECK_EQ(req_status(5), VIRTIO_BLK_S_OK);
}

static u16 used_flags(void) { return *(u16 *)(ram + USED_OFF); }

TEST(no_notifications_asked_for_while_requests_are_in_flight)
{
	setup();
	fake_disk_async(&disk, 64);
	*(u16 *)(ram + USED_OFF) = VIRTQ_USED_F_NO_NOTIFY; /* whatever the ring held */
	driver_init(linux_features);
	CHECK_EQ(used_flags(), 0); /* the device's field: notify me */
	in_request(0, 0, 512);
	kick();
	CHECK_EQ(disk.nqueued, 1);
	CHECK_EQ(used_flags(), VIRTQ_USED_F_NO_NOTIFY);
	/* The driver, told so, does not notify: the next exit's poll starts
	 * the request all the same. */
	in_request(1, 8, 512);
	vblk_poll();
	CHECK_EQ(disk.nqueued, 2);
	/* The last one finishes: notifications wanted again, before the guest
	 * runs and could add one that no poll would see. */
	disk.complete_on_poll = true;
	vblk_poll();
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_OK);
	CHECK_EQ(used_flags(), 0);
}

/* A request the driver added without a doorbell (as asked) while the
 * device could not take it is started once the device can again, though
 * what was in flight finished meanwhile. */
static void stranded_request_starts(void (*off)(void), void (*on)(void))
{
	setup();
	fake_disk_async(&disk, 64);
	driver_init(linux_features);
	in_request(0, 0, 512);
	kick();
	CHECK_EQ(used_flags(), VIRTQ_USED_F_NO_NOTIFY);
	in_request(1, 8, 512); /* no doorbell: told so */
	off();
	vblk_poll(); /* that write's exit */
	CHECK_EQ(disk.nqueued, 1);
	disk.complete_on_poll = true;
	vblk_poll(); /* a later exit: the first finishes */
	CHECK_EQ(used_flags(), 0);
	on();
	vblk_poll();
	vblk_poll();
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_OK);
}

static void master_off(void) { cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEM); }
static void master_on(void) { cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEM | PCI_COMMAND_MASTER); }
#define ST_READY (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)
static void driver_ok_off(void) { common_wr(VIRTIO_COMMON_STATUS, 1, ST_READY); }
static void driver_ok_on(void) { common_wr(VIRTIO_COMMON_STATUS, 1, ST_READY | VIRTIO_STATUS_DRIVER_OK); }

TEST(a_request_added_while_bus_mastering_was_off_starts)
{
	stranded_request_starts(master_off, master_on);
}

TEST(a_request_added_while_driver_ok_was_dropped_starts)
{
	stranded_request_starts(driver_ok_off, driver_ok_on);
}

TEST(parts_finish_out_of_order_and_any_failure_fails_the_request)
{
	setup_with(4096, 512, 8, false); /* 8 sectors per back-end request */
	fake_disk_async(&disk, 64);
	driver_init(linux_features);
	gpa_t d = at(DATA_OFF);
	u32 l = 64 * 512; /* 8 parts */
	request(0, VIRTIO_BLK_T_IN, 100, &d, &l, 1, true);
	kick();
	CHECK_EQ(disk.nqueued, 8);
	for (unsigned k = 0; k < 7; k++)
		CHECK(fake_disk_complete(&disk, (unsigned)(k * 3) % disk.nqueued));
	vblk_poll();
	CHECK_EQ(used_idx(), 0); /* one part still out */
	CHECK(fake_disk_complete(&disk, 0));
	vblk_poll();
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA_OFF, disk.data + 100 * 512, 64 * 512) == 0);
	/* One failed part: IOERR, after every part is back. */
	request(1, VIRTIO_BLK_T_IN, 300, &d, &l, 1, true);
	kick();
	disk.fail_next = -E_IO;
	CHECK(fake_disk_complete(&disk, 4));
	vblk_poll();
	CHECK_EQ(used_idx(), 1);
	disk.complete_on_poll = true;
	vblk_poll();
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(used(1)->len, 1);
	/* More parts than a request may keep in flight: run synchronously. */
	l = 80 * 512;
	request(2, VIRTIO_BLK_T_IN, 500, &d, &l, 1, true);
	kick();
	CHECK_EQ(used_idx(), 3);
	CHECK_EQ(req_status(2), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA_OFF, disk.data + 500 * 512, 80 * 512) == 0);
}

int main(void)
{
	RUN(requests_finish_in_any_order);
	RUN(a_write_and_a_flush_in_flight);
	RUN(the_device_starts_no_more_than_the_back_end_takes);
	RUN(a_reset_completes_only_after_what_is_in_flight_finished_and_orphans_it);
	RUN(no_notifications_asked_for_while_requests_are_in_flight);
	RUN(a_request_added_while_bus_mastering_was_off_starts);
	RUN(a_request_added_while_driver_ok_was_dropped_starts);
	RUN(parts_finish_out_of_order_and_any_failure_fails_the_request);
	return CHECK_SUMMARY();
}
