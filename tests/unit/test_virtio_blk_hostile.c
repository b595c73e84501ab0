/* ferry's virtio-blk against a hostile driver: each way to break a request
 * (it fails with IOERR, nothing outside guest RAM is touched, the device
 * goes on) or the ring (DEVICE_NEEDS_RESET, a configuration interrupt,
 * the queue left alone until the driver resets, then all works again). */
#include "check.h"
#include "vblk_driver.h"

/* ---- a hostile driver: requests that fail ---------------------------------------- */

TEST(malformed_requests_get_ioerr_and_touch_nothing)
{
	setup();
	driver_init(linux_features);
	u8 before = disk.data[0];
	memset(ferry_memory, 0x5A, sizeof(ferry_memory));
	gpa_t d = at(DATA_OFF), ferry = fake_gpa(ferry_memory);
	u32 l = 512, l500 = 500;
	unsigned n = 0;
	request(n++, VIRTIO_BLK_T_IN, 0, &ferry, &l, 1, true);   /* read into ferry's memory */
	request(n++, VIRTIO_BLK_T_OUT, 0, &ferry, &l, 1, false); /* ferry's memory onto the disk */
	request(n++, VIRTIO_BLK_T_OUT, 0, &d, &l, 1, true);      /* OUT data device-writable */
	request(n++, VIRTIO_BLK_T_IN, 0, &d, &l, 1, false);      /* IN data device-readable */
	request(n++, VIRTIO_BLK_T_IN, 0, &d, &l500, 1, true);    /* not whole sectors */
	request(n++, VIRTIO_BLK_T_IN, 4096, &d, &l, 1, true);    /* past the end */
	request(n++, VIRTIO_BLK_T_IN, ~0ULL / 2, &d, &l, 1, true);
	request(n++, VIRTIO_BLK_T_IN, 0, NULL, NULL, 0, true);   /* no data */
	request(n++, VIRTIO_BLK_T_FLUSH, 0, &d, &l, 1, false);   /* flush with data */
	gpa_t odd = at(DATA_OFF + 2);
	request(n++, VIRTIO_BLK_T_IN, 0, &odd, &l, 1, true);     /* misaligned for the back end */
	gpa_t wrap = ~0ULL - 255;
	request(n++, VIRTIO_BLK_T_IN, 0, &wrap, &l, 1, true);    /* wraps around */
	gpa_t past = at(RAM_SIZE - 256);
	request(n++, VIRTIO_BLK_T_IN, 0, &past, &l, 1, true);    /* crosses the end of RAM */
	kick();
	CHECK_EQ(used_idx(), n);
	for (unsigned i = 0; i < n; i++)
		if (req_status(i) != VIRTIO_BLK_S_IOERR) {
			printf("  request %u: status %u\n", i, req_status(i));
			CHECK(0);
		}
	CHECK_EQ(ferry_memory[0], 0x5A);
	CHECK_EQ(ferry_memory[511], 0x5A);
	CHECK_EQ(disk.data[0], before);
	CHECK_EQ(disk.ncalls, 0);
	CHECK_EQ(status(), 0x0F); /* the device goes on */
	request(n, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(req_status(n), VIRTIO_BLK_S_OK);
}

TEST(header_problems_get_ioerr)
{
	setup();
	driver_init(linux_features);
	/* The header device-writable: no readable header at all. */
	u16 h = add_desc(at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	add_desc(at(STATUS_OFF), 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	/* A header of 8 bytes. */
	h = add_desc(at(HDR_OFF), 8, VIRTQ_DESC_F_NEXT);
	add_desc(at(STATUS_OFF + 1), 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	/* The header in ferry's memory. */
	h = add_desc(fake_gpa(ferry_memory), 16, VIRTQ_DESC_F_NEXT);
	add_desc(at(STATUS_OFF + 2), 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	/* Readable after writable. */
	*(struct virtio_blk_req_hdr *)(ram + HDR_OFF + 48) = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_OUT, 0, 0 };
	h = add_desc(at(HDR_OFF + 48), 16, VIRTQ_DESC_F_NEXT);
	add_desc(at(DATA_OFF), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	add_desc(at(DATA_OFF), 512, VIRTQ_DESC_F_NEXT);
	add_desc(at(STATUS_OFF + 3), 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	kick();
	CHECK_EQ(used_idx(), 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(req_status(i), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk.ncalls, 0);
}

TEST(too_many_segments)
{
	setup();
	driver_init(linux_features);
	gpa_t d[VBLK_SEG_MAX + 1];
	u32 l[VBLK_SEG_MAX + 1];
	for (unsigned i = 0; i <= VBLK_SEG_MAX; i++) {
		d[i] = at(DATA_OFF + 512 * i);
		l[i] = 512;
	}
	request(0, VIRTIO_BLK_T_IN, 0, d, l, VBLK_SEG_MAX, true);
	request(1, VIRTIO_BLK_T_IN, 0, d, l, VBLK_SEG_MAX + 1, true);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_IOERR);
}

TEST(read_only_back_end)
{
	setup_with(4096, 512, 64, true);
	CHECK_EQ(driver_init(linux_features | BIT(VIRTIO_BLK_F_RO)), 0x0F);
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	u8 before = disk.data[0];
	memset(ram + DATA_OFF, 1, 512);
	request(0, VIRTIO_BLK_T_OUT, 0, &d, &l, 1, false);
	request(1, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_OK);
	CHECK_EQ(disk.data[0], before);
}

/* ---- a hostile driver: a ring the device cannot trust ------------------------------ */

/* NEEDS_RESET is set, a configuration interrupt sent, the queue left
 * alone (notifies ignored) until the driver resets; then all works. */
static void check_needs_reset_then_recovers(void)
{
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(nmsi >= 1);
	CHECK_EQ(msi_data[nmsi - 1], 0x27); /* the configuration vector */
	CHECK(bar_rd(BAR0, VBLK_BAR0_ISR, 1) & VIRTIO_ISR_CONFIG);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_ISR, 1), 0); /* read cleared it */
	/* Writing status without clearing it: still there. */
	common_wr(VIRTIO_COMMON_STATUS, 1, 0x0F);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);
	u16 before = used_idx();
	unsigned calls = disk.ncalls;
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	request(60, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(used_idx(), before);
	CHECK_EQ(disk.ncalls, calls);
	/* Reset, rebuild the ring, go on. */
	memset(ram, 0, 0x3000);
	CHECK_EQ(driver_init(linux_features), 0x0F);
	request(61, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(req_status(61), VIRTIO_BLK_S_OK);
	CHECK_EQ(used_idx(), 1);
}

TEST(looping_chain)
{
	setup();
	driver_init(linux_features);
	*(struct virtio_blk_req_hdr *)(ram + HDR_OFF) = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
	*desc(0) = (struct virtq_desc){ at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ at(DATA_OFF), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0 };
	offer(0);
	kick();
	CHECK_EQ(used_idx(), 0);
	CHECK_EQ(disk.ncalls, 0);
	check_needs_reset_then_recovers();
}

TEST(chain_longer_than_the_queue_via_indirect)
{
	setup();
	driver_init(linux_features);
	struct virtq_desc *t = (void *)(ram + ITAB_OFF);
	for (unsigned i = 0; i < 256; i++)
		t[i] = (struct virtq_desc){ at(DATA_OFF), 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, (u16)(i + 1) };
	t[255].flags = VIRTQ_DESC_F_WRITE;
	*desc(0) = (struct virtq_desc){ at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT, 1 };
	*desc(1) = (struct virtq_desc){ at(ITAB_OFF), 256 * 16, VIRTQ_DESC_F_INDIRECT, 0 };
	offer(0);
	kick();
	check_needs_reset_then_recovers();
}

TEST(avail_index_jump)
{
	setup();
	driver_init(linux_features);
	*avail(1) = QSIZE + 1;
	kick();
	CHECK_EQ(disk.ncalls, 0);
	check_needs_reset_then_recovers();
}

TEST(head_and_next_out_of_range)
{
	setup();
	driver_init(linux_features);
	/* queue size 256: an entry naming descriptor 300 */
	*avail(2) = 300;
	*avail(1) = 1;
	kick();
	check_needs_reset_then_recovers();
	*desc(0) = (struct virtq_desc){ at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT, 999 };
	offer(0);
	kick();
	check_needs_reset_then_recovers();
}

TEST(status_byte_nowhere)
{
	setup();
	driver_init(linux_features);
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	/* The status descriptor in ferry's memory. */
	*(struct virtio_blk_req_hdr *)(ram + HDR_OFF) = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 0 };
	u16 h = add_desc(at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT);
	add_desc(d, l, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	memset(ferry_memory, 0x5A, 16);
	add_desc(fake_gpa(ferry_memory), 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	kick();
	CHECK_EQ(ferry_memory[0], 0x5A);
	CHECK_EQ(disk.ncalls, 0);
	check_needs_reset_then_recovers();
	/* The last descriptor device-readable: nowhere to write. */
	h = add_desc(at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT);
	add_desc(at(STATUS_OFF), 1, 0);
	offer(h);
	kick();
	check_needs_reset_then_recovers();
}

TEST(rings_outside_ram)
{
	setup();
	driver_init(linux_features);
	common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	common_wr(VIRTIO_COMMON_Q_USEDLO, 8, fake_gpa(ferry_memory));
	common_wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);
	kick();
	CHECK_EQ(((u16 *)ferry_memory)[1], 0x5A5A);
}

TEST(notify_ignored_before_driver_ok_or_without_bus_master)
{
	setup();
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	driver_init(linux_features);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEM);
	request(0, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(used_idx(), 0);
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEM | PCI_COMMAND_MASTER);
	kick();
	CHECK_EQ(used_idx(), 1);
	common_wr(VIRTIO_COMMON_STATUS, 1, 0x0B); /* DRIVER_OK cleared */
	request(1, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(used_idx(), 1);
	CHECK(vblk_get_stats()->ignored_notifies >= 2);
	bar_wr(BAR0, VBLK_BAR0_NOTIFY, 2, 1); /* a queue that does not exist */
	CHECK_EQ(used_idx(), 1);
}

int main(void)
{
	RUN(malformed_requests_get_ioerr_and_touch_nothing);
	RUN(header_problems_get_ioerr);
	RUN(too_many_segments);
	RUN(read_only_back_end);
	RUN(looping_chain);
	RUN(chain_longer_than_the_queue_via_indirect);
	RUN(avail_index_jump);
	RUN(head_and_next_out_of_range);
	RUN(status_byte_nowhere);
	RUN(rings_outside_ram);
	RUN(notify_ignored_before_driver_ok_or_without_bus_master);
	fake_ram_free(ram);
	fake_disk_free(&disk);
	return CHECK_SUMMARY();
}
