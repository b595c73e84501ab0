/* ferry's virtio-blk (vdev/virtio_blk.c, virtio_blk_req.c) driven the way
 * Linux 6.1's virtio_pci and virtio_blk drive it (vblk_driver.c), with a
 * fake disk behind it: the probe, feature negotiation, reset, requests of
 * every type, MSI-X, the PCI_CFG window and BAR moves.  The hostile
 * driver's cases are in test_virtio_blk_hostile.c. */
#include "check.h"
#include "vblk_driver.h"

TEST(pci_function_as_linux_probes_it)
{
	setup();
	CHECK_EQ(cfg(PCI_VENDOR_ID, 4), 0x10421AF4);
	CHECK_EQ(cfg(PCI_CLASS_REV, 4), 0x01000001);
	CHECK_EQ(cfg(PCI_SUBSYSTEM_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	CHECK_EQ(cfg(PCI_SUBSYSTEM_ID, 2), VIRTIO_ID_BLOCK);
	CHECK_EQ(cfg(PCI_BAR0, 4), (u32)BAR0 | VPCI_BAR_64);
	CHECK_EQ(cfg(PCI_BAR0 + 4, 4), BAR0 >> 32);
	static const struct { u8 type; u32 off, min_len; } want[] = {
		{ VIRTIO_PCI_CAP_COMMON_CFG, VBLK_BAR0_COMMON, 56 }, { VIRTIO_PCI_CAP_NOTIFY_CFG, VBLK_BAR0_NOTIFY, 2 },
		{ VIRTIO_PCI_CAP_ISR_CFG, VBLK_BAR0_ISR, 1 }, { VIRTIO_PCI_CAP_DEVICE_CFG, VBLK_BAR0_DEVICE, 0x18 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++) {
		u8 p = find_cap(want[i].type);
		CHECK(p != 0);
		CHECK_EQ(cfg((u16)(p + VIRTIO_CAP_BAR), 1), 0);
		CHECK_EQ(cfg((u16)(p + VIRTIO_CAP_OFFSET), 4), want[i].off);
		CHECK(cfg((u16)(p + VIRTIO_CAP_LENGTH), 4) >= want[i].min_len);
	}
	u8 n = find_cap(VIRTIO_PCI_CAP_NOTIFY_CFG);
	CHECK_EQ(cfg((u16)(n + 2), 1), VIRTIO_CAP_NOTIFY_LEN);
	CHECK_EQ(cfg((u16)(n + VIRTIO_CAP_NOTIFY_MULT), 4), VBLK_NOTIFY_MULT);
	CHECK(find_cap(VIRTIO_PCI_CAP_PCI_CFG) != 0);
	CHECK_EQ(cfg(VPCI_CAP_START, 1), PCI_CAP_ID_MSIX);
	CHECK_EQ(cfg(VPCI_CAP_START + MSIX_CAP_CONTROL, 2) & MSIX_CONTROL_SIZE_MASK, VBLK_MSIX_VECTORS - 1);
	/* Device configuration. */
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_CAPACITY, 8), 4096);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_CAPACITY + 4, 4), 0);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_SEG_MAX, 4), VBLK_SEG_MAX);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_BLK_SIZE, 4), 512);
	CHECK_EQ(common(VIRTIO_COMMON_NUMQ, 2), 1);
	CHECK_EQ(common(VIRTIO_COMMON_Q_SIZE, 2), QSIZE);
	common_wr(VIRTIO_COMMON_Q_SELECT, 2, 1);
	CHECK_EQ(common(VIRTIO_COMMON_Q_SIZE, 2), 0); /* no second queue */
}

TEST(features_and_negotiation)
{
	setup();
	u64 f = device_features();
	CHECK_EQ(f, linux_features);
	CHECK(!(f & BIT(VIRTIO_BLK_F_RO)));
	CHECK(!(f & BIT(40))); /* no RING_RESET */
	/* Without VERSION_1, FEATURES_OK does not stick. */
	CHECK(!(driver_init(linux_features & ~BIT(VIRTIO_F_VERSION_1)) & VIRTIO_STATUS_FEATURES_OK));
	/* Nor with a bit the device did not offer. */
	CHECK(!(driver_init(linux_features | BIT(VIRTIO_F_EVENT_IDX)) & VIRTIO_STATUS_FEATURES_OK));
	CHECK_EQ(driver_init(linux_features), 0x0F);
	/* After FEATURES_OK the driver features are fixed. */
	common_wr(VIRTIO_COMMON_GFSELECT, 4, 0);
	common_wr(VIRTIO_COMMON_GF, 4, 0);
	CHECK_EQ(common(VIRTIO_COMMON_GF, 4), (u32)linux_features);
	setup_with(4096, 512, 64, true);
	CHECK(device_features() & BIT(VIRTIO_BLK_F_RO));
}

TEST(reset_by_writing_zero)
{
	setup();
	CHECK_EQ(driver_init(linux_features), 0x0F);
	CHECK_EQ(common(VIRTIO_COMMON_Q_ENABLE, 2), 1);
	CHECK_EQ(common(VIRTIO_COMMON_Q_DESCLO, 8), at(DESC_OFF));
	common_wr(VIRTIO_COMMON_STATUS, 1, 0);
	CHECK_EQ(status(), 0);
	CHECK_EQ(common(VIRTIO_COMMON_Q_ENABLE, 2), 0);
	CHECK_EQ(common(VIRTIO_COMMON_Q_DESCLO, 4), 0);
	CHECK_EQ(common(VIRTIO_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(common(VIRTIO_COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	CHECK_EQ(common(VIRTIO_COMMON_GF, 4), 0);
}

TEST(vectors_and_queue_fields)
{
	setup();
	common_wr(VIRTIO_COMMON_MSIX, 2, 5); /* only 2 vectors: refused */
	CHECK_EQ(common(VIRTIO_COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
	common_wr(VIRTIO_COMMON_Q_MSIX, 2, 1);
	CHECK_EQ(common(VIRTIO_COMMON_Q_MSIX, 2), 1);
	common_wr(VIRTIO_COMMON_Q_SIZE, 2, 100); /* not a power of two */
	CHECK_EQ(common(VIRTIO_COMMON_Q_SIZE, 2), QSIZE);
	common_wr(VIRTIO_COMMON_Q_SIZE, 2, 512);
	CHECK_EQ(common(VIRTIO_COMMON_Q_SIZE, 2), QSIZE);
	common_wr(VIRTIO_COMMON_Q_SIZE, 2, 64);
	CHECK_EQ(common(VIRTIO_COMMON_Q_SIZE, 2), 64);
	CHECK_EQ(common(VIRTIO_COMMON_Q_NOFF, 2), 0);
	common_wr(VIRTIO_COMMON_Q_DESCHI, 4, 0x12);
	CHECK_EQ(common(VIRTIO_COMMON_Q_DESCHI, 4), 0x12);
	CHECK_EQ(common(VIRTIO_COMMON_Q_DESCLO, 8), 0x1200000000ULL);
	CHECK_EQ(common(VIRTIO_COMMON_STATUS, 2), 0); /* not its width: 0 */
	CHECK_EQ(common(0x3C, 4), 0);
}

/* ---- requests ------------------------------------------------------------------- */

TEST(read_and_write_with_interrupt)
{
	setup();
	CHECK_EQ(driver_init(linux_features), 0x0F);
	gpa_t d[2] = { at(DATA_OFF), at(DATA_OFF + 0x3000) };
	u32 l[2] = { 1024, 512 };
	u16 h = request(0, VIRTIO_BLK_T_IN, 8, d, l, 2, true);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(used(0)->id, h);
	CHECK_EQ(used(0)->len, 1537);
	CHECK(memcmp(ram + DATA_OFF, disk.data + 8 * 512, 1024) == 0);
	CHECK(memcmp(ram + DATA_OFF + 0x3000, disk.data + 10 * 512, 512) == 0);
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(msi_data[0], 0x26); /* queue 0's vector 1 */
	CHECK_EQ(*(u16 *)(ram + USED_OFF), 0); /* finished at once: notifications still wanted */
	/* A write, then read it back. */
	memset(ram + DATA_OFF + 0x8000, 0x3C, 2048);
	d[0] = at(DATA_OFF + 0x8000);
	l[0] = 2048;
	request(1, VIRTIO_BLK_T_OUT, 100, d, l, 1, false);
	kick();
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_OK);
	CHECK_EQ(used(1)->len, 1);
	CHECK_EQ(disk.data[100 * 512], 0x3C);
	CHECK_EQ(disk.data[104 * 512 - 1], 0x3C);
	CHECK_EQ(vblk_get_stats()->bytes_written, 2048);
	CHECK_EQ(nmsi, 2);
}

TEST(several_requests_one_notify_one_interrupt)
{
	setup();
	driver_init(linux_features);
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	for (unsigned i = 0; i < 5; i++)
		request(i, VIRTIO_BLK_T_IN, i, &d, &l, 1, true);
	kick();
	CHECK_EQ(used_idx(), 5);
	for (unsigned i = 0; i < 5; i++)
		CHECK_EQ(req_status(i), VIRTIO_BLK_S_OK);
	CHECK_EQ(nmsi, 1);
	/* With interrupts suppressed by the driver: none. */
	*avail(0) = VIRTQ_AVAIL_F_NO_INTERRUPT;
	request(5, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(used_idx(), 6);
	CHECK_EQ(nmsi, 1);
}

TEST(indirect_request)
{
	setup();
	driver_init(linux_features);
	struct virtq_desc *t = (void *)(ram + ITAB_OFF);
	*(struct virtio_blk_req_hdr *)(ram + HDR_OFF) = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 3 };
	t[0] = (struct virtq_desc){ at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ at(DATA_OFF), 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	t[2] = (struct virtq_desc){ at(STATUS_OFF), 1, VIRTQ_DESC_F_WRITE, 0 };
	*desc(9) = (struct virtq_desc){ at(ITAB_OFF), 3 * 16, VIRTQ_DESC_F_INDIRECT, 0 };
	offer(9);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA_OFF, disk.data + 3 * 512, 4096) == 0);
	CHECK_EQ(used(0)->id, 9);
	/* Not negotiated: the ring is broken. */
	driver_init(linux_features & ~BIT(VIRTIO_F_INDIRECT_DESC));
	offer(9);
	kick();
	CHECK(status() & VIRTIO_STATUS_NEEDS_RESET);
}

/* The header, the data and the status each in any descriptor (virtio
 * 1.x devices must not assume a layout). */
TEST(any_layout)
{
	setup();
	driver_init(linux_features);
	u8 *buf = ram + DATA_OFF;
	*(struct virtio_blk_req_hdr *)buf = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_OUT, 0, 50 };
	memset(buf + 16, 0x77, 1024);
	u16 h = add_desc(at(DATA_OFF), 16 + 512, VIRTQ_DESC_F_NEXT); /* header and half the data */
	add_desc(at(DATA_OFF + 16 + 512), 512, VIRTQ_DESC_F_NEXT);
	add_desc(at(STATUS_OFF), 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(disk.data[50 * 512], 0x77);
	CHECK_EQ(disk.data[52 * 512 - 1], 0x77);
	/* An IN whose last data byte and status share a descriptor. */
	*(struct virtio_blk_req_hdr *)(ram + HDR_OFF) = (struct virtio_blk_req_hdr){ VIRTIO_BLK_T_IN, 0, 1 };
	h = add_desc(at(HDR_OFF), 16, VIRTQ_DESC_F_NEXT);
	add_desc(at(DATA_OFF + 0x4000), 512 + 1, VIRTQ_DESC_F_WRITE);
	offer(h);
	kick();
	CHECK_EQ(ram[DATA_OFF + 0x4000 + 512], VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA_OFF + 0x4000, disk.data + 512, 512) == 0);
}

TEST(flush_get_id_and_unsupported)
{
	setup();
	driver_init(linux_features);
	request(0, VIRTIO_BLK_T_FLUSH, 0, NULL, NULL, 0, false);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(disk.call[disk.ncalls - 1].op, 'f');
	gpa_t d = at(DATA_OFF);
	u32 l = VIRTIO_BLK_ID_BYTES;
	memset(ram + DATA_OFF, 0xFF, 32);
	request(1, VIRTIO_BLK_T_GET_ID, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_OK);
	CHECK(memcmp(ram + DATA_OFF, "FAKE-SERIAL-0001\0\0\0\0", 20) == 0);
	CHECK_EQ(ram[DATA_OFF + 20], 0xFF);
	CHECK_EQ(used(1)->len, 21);
	static const u32 others[] = { 10 /* GET_LIFETIME */, 11 /* DISCARD */, 13 /* WRITE_ZEROES */, 0x12345678 };
	for (unsigned i = 0; i < ARRAY_SIZE(others); i++) {
		request(2 + i, others[i], 0, &d, &l, 1, false);
		kick();
		CHECK_EQ(req_status(2 + i), VIRTIO_BLK_S_UNSUPP);
	}
	CHECK_EQ(status(), 0x0F);
	disk.fail = -E_IO;
	request(9, VIRTIO_BLK_T_FLUSH, 0, NULL, NULL, 0, false);
	kick();
	CHECK_EQ(req_status(9), VIRTIO_BLK_S_IOERR);
}

TEST(large_request_split_for_the_back_end)
{
	setup_with(4096, 512, 16, false); /* 16 sectors per back-end call */
	driver_init(linux_features);
	gpa_t d[3] = { at(DATA_OFF), at(DATA_OFF + 0x20000), at(DATA_OFF + 0x40000) };
	u32 l[3] = { 20 * 512, 4 * 512, 30 * 512 };
	request(0, VIRTIO_BLK_T_IN, 1000, d, l, 3, true);
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(disk.ncalls, 4); /* 54 sectors: 16 + 16 + 16 + 6 */
	CHECK(memcmp(ram + DATA_OFF + 0x40000, disk.data + 1024 * 512, 30 * 512) == 0);
}

TEST(four_kib_sectors)
{
	setup_with(512, 4096, 64, false);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_CAPACITY, 8), 512 * 8);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_BLK_SIZE, 4), 4096);
	driver_init(linux_features);
	gpa_t d = at(DATA_OFF);
	u32 l = 8192;
	request(0, VIRTIO_BLK_T_IN, 16, &d, &l, 1, true); /* 512-byte sector 16 = block 2 */
	request(1, VIRTIO_BLK_T_IN, 17, &d, &l, 1, true); /* not on a block */
	l = 4096 + 512;
	request(2, VIRTIO_BLK_T_IN, 16, &d, &l, 1, true); /* not whole blocks */
	kick();
	CHECK_EQ(req_status(0), VIRTIO_BLK_S_OK);
	CHECK_EQ(disk.call[0].lba, 2);
	CHECK_EQ(req_status(1), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(req_status(2), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(disk.ncalls, 1);
}

/* ---- the transport's other doors ---------------------------------------------------- */

TEST(masked_queue_vector_latches)
{
	setup();
	driver_init(linux_features);
	bar_wr(BAR2, 16 + MSIX_ENTRY_CTRL, 4, MSIX_CTRL_MASKED);
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	request(0, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(nmsi, 0);
	CHECK_EQ(bar_rd(BAR2, VBLK_MSIX_PBA, 4), 2);
	bar_wr(BAR2, 16 + MSIX_ENTRY_CTRL, 4, 0);
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(msi_data[0], 0x26);
	/* MSI-X off: nothing sent, the ISR still says why. */
	cfg_wr(VPCI_CAP_START + MSIX_CAP_CONTROL, 2, 0);
	request(1, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	kick();
	CHECK_EQ(nmsi, 1);
	CHECK_EQ(bar_rd(BAR0, VBLK_BAR0_ISR, 1), VIRTIO_ISR_QUEUE);
}

TEST(pci_cfg_window)
{
	setup();
	driver_init(linux_features);
	u8 p = find_cap(VIRTIO_PCI_CAP_PCI_CFG);
	cfg_wr((u16)(p + VIRTIO_CAP_BAR), 1, 0);
	cfg_wr((u16)(p + VIRTIO_CAP_OFFSET), 4, VIRTIO_COMMON_STATUS);
	cfg_wr((u16)(p + VIRTIO_CAP_LENGTH), 4, 1);
	CHECK_EQ(cfg((u16)(p + VIRTIO_CAP_PCI_CFG_DATA), 1), 0x0F);
	cfg_wr((u16)(p + VIRTIO_CAP_OFFSET), 4, VBLK_BAR0_DEVICE + VIRTIO_BLK_CFG_CAPACITY);
	cfg_wr((u16)(p + VIRTIO_CAP_LENGTH), 4, 4);
	CHECK_EQ(cfg((u16)(p + VIRTIO_CAP_PCI_CFG_DATA), 4), 4096);
	/* A write through the window: the doorbell. */
	gpa_t d = at(DATA_OFF);
	u32 l = 512;
	request(0, VIRTIO_BLK_T_IN, 0, &d, &l, 1, true);
	cfg_wr((u16)(p + VIRTIO_CAP_OFFSET), 4, VBLK_BAR0_NOTIFY);
	cfg_wr((u16)(p + VIRTIO_CAP_LENGTH), 4, 2);
	cfg_wr((u16)(p + VIRTIO_CAP_PCI_CFG_DATA), 2, 0);
	CHECK_EQ(used_idx(), 1);
	/* A bad window reads 0. */
	cfg_wr((u16)(p + VIRTIO_CAP_LENGTH), 4, 3);
	CHECK_EQ(cfg((u16)(p + VIRTIO_CAP_PCI_CFG_DATA), 4), 0);
}

TEST(bar_moved_by_the_guest)
{
	setup();
	cfg_wr(PCI_COMMAND, 2, 0);
	cfg_wr(PCI_BAR0, 4, 0);
	cfg_wr(PCI_BAR0 + 4, 4, 1); /* 0x100000000 */
	cfg_wr(PCI_COMMAND, 2, PCI_COMMAND_MEM);
	CHECK(mmio_find(&vm, BAR0) == NULL);
	struct mmio_region *r = mmio_find(&vm, 0x100000000ULL + VBLK_BAR0_COMMON + VIRTIO_COMMON_NUMQ);
	CHECK(r != NULL);
	CHECK_EQ(r->read(r->ctx, VIRTIO_COMMON_NUMQ, 2), 1);
}

int main(void)
{
	RUN(pci_function_as_linux_probes_it);
	RUN(features_and_negotiation);
	RUN(reset_by_writing_zero);
	RUN(vectors_and_queue_fields);
	RUN(read_and_write_with_interrupt);
	RUN(several_requests_one_notify_one_interrupt);
	RUN(indirect_request);
	RUN(any_layout);
	RUN(flush_get_id_and_unsupported);
	RUN(large_request_split_for_the_back_end);
	RUN(four_kib_sectors);
	RUN(masked_queue_vector_latches);
	RUN(pci_cfg_window);
	RUN(bar_moved_by_the_guest);
	fake_ram_free(ram);
	fake_disk_free(&disk);
	return CHECK_SUMMARY();
}
