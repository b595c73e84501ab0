/* The virtio-blk disk driver (drivers/vioblk.c) and the virtio-PCI
 * transport under it (drivers/virtio_pci.c) against a fake device
 * (fake_vioblk.h): a round trip, read-only, and the failures a device can
 * show, each a clear message and an error, never a hang: a reset that
 * never completes, features refused, DRIVER_OK refused, a request never
 * completed, a device that needs a reset, an I/O error.  Time is the fake
 * clock, so "bounded" is checked exactly. */
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
	pd->owner = NULL; /* as after a reboot: the last test's probe took it */
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

static bool bus_master(void) { return fake_pci_cfg32(&fake_pci[0], PCI_COMMAND) & PCI_COMMAND_MASTER; }

TEST(serves_the_device_and_round_trips_split_at_size_max)
{
	setup();
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	CHECK_STR(dev->name, "virtio0");
	CHECK_EQ(dev->info.sectors, 2048);
	CHECK_EQ(dev->info.sector_size, 512);
	CHECK_STR(dev->info.serial, "FAKEVBLK7");
	CHECK(!dev->info.read_only);
	CHECK(fake_vioblk.accepted & BIT(VIRTIO_F_VERSION_1));
	CHECK(fake_vioblk.accepted & BIT(VIRTIO_BLK_F_FLUSH));
	/* 200 KiB in one segment: four descriptors of size_max (64 KiB). */
	u8 *p = fake_pages(50), *q = fake_pages(50);
	for (unsigned i = 0; i < 50 * 4096; i++)
		p[i] = (u8)(i * 13 + 1);
	CHECK_EQ(rw(true, 1000, 400, p), 0);
	CHECK(!memcmp(fake_vioblk.data + 1000 * 512, p, 400 * 512));
	CHECK_EQ(rw(false, 1000, 400, q), 0);
	CHECK(!memcmp(p, q, 400 * 512));
	CHECK_EQ(dev->ops->flush(dev), 0);
	CHECK_EQ(fake_vioblk.flushes, 1);
	CHECK_EQ(rw(true, 2047, 2, p), -E_INVAL); /* past the end: refused before the device */
	CHECK_EQ(fake_vioblk.writes, 1);
	free(p), free(q);
}

TEST(a_read_only_device_is_a_read_only_disk)
{
	setup();
	fake_vioblk.features |= BIT(VIRTIO_BLK_F_RO);
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	CHECK(dev->info.read_only);
	u8 *p = fake_pages(1);
	CHECK_EQ(rw(true, 0, 1, p), -E_ROFS);
	CHECK_EQ(fake_vioblk.writes, 0);
	CHECK_EQ(rw(false, 0, 1, p), 0);
	free(p);
}

TEST(a_device_whose_reset_never_completes_stays_hidden_without_bus_mastering)
{
	setup();
	fake_vioblk.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK;
	fake_vioblk.reset_stuck = true; /* left live by the firmware's driver, and stuck */
	u64 t0 = fake_now_us;
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), -E_TIMEDOUT);
	u64 took = fake_now_us - t0;
	CHECK(took >= 1000 * 1000 && took < 1100 * 1000);
	CHECK(fake_logged("device reset did not complete"));
	CHECK(fake_logged("stays hidden from the guest with bus mastering off"));
	CHECK(pd->owner != NULL);
	CHECK(!bus_master());
}

TEST(refused_features_fail_the_probe_and_give_the_device_back)
{
	setup();
	fake_vioblk.refuse_features = true;
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), -E_NOTSUP);
	CHECK(fake_logged("refused features"));
	CHECK(pd->owner == NULL);
	CHECK_EQ(fake_vioblk.status, 0); /* reset again */
}

TEST(a_device_without_version_1_is_not_driven)
{
	setup();
	fake_vioblk.features &= ~BIT(VIRTIO_F_VERSION_1);
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), -E_NOTSUP);
	CHECK(fake_logged("lacks required features"));
	CHECK(pd->owner == NULL);
}

TEST(a_device_that_refuses_driver_ok_fails_the_probe)
{
	setup();
	fake_vioblk.reject_driver_ok = true;
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), -E_IO);
	CHECK(fake_logged("did not accept DRIVER_OK"));
	CHECK(pd->owner == NULL);
	CHECK_EQ(fake_vioblk.reads + fake_vioblk.writes, 0);
}

TEST(a_request_never_completed_times_out_and_later_ones_fail_at_once)
{
	setup();
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_vioblk.io_silent = true;
	u64 t0 = fake_now_us;
	CHECK_EQ(rw(false, 8, 8, p), -E_TIMEDOUT);
	u64 took = fake_now_us - t0;
	CHECK(took >= 10 * 1000 * 1000 && took < 11 * 1000 * 1000);
	CHECK(fake_logged("IN at sector 8 timed out"));
	CHECK(fake_logged("every request to virtio0 now fails"));
	fake_vioblk.io_silent = false;
	t0 = fake_now_us;
	CHECK_EQ(rw(true, 8, 8, p), -E_IO);
	CHECK_EQ(dev->ops->flush(dev), -E_IO);
	CHECK(fake_now_us - t0 < 1000); /* no second wait on a device given up on */
	CHECK_EQ(fake_vioblk.writes, 0);
	free(p);
}

TEST(a_device_that_needs_a_reset_fails_the_request_at_once)
{
	setup();
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_vioblk.io_needs_reset = true;
	u64 t0 = fake_now_us;
	CHECK(rw(true, 0, 8, p) < 0);
	CHECK(fake_now_us - t0 < 10 * 1000);
	CHECK(fake_logged("OUT at sector 0 made the device need a reset"));
	CHECK(rw(false, 0, 8, p) < 0);
	free(p);
}

TEST(an_io_error_fails_that_request_only)
{
	setup();
	CHECK_EQ(vioblk_driver.probe(NULL, &dev), 0);
	u8 *p = fake_pages(1);
	fake_vioblk.io_error = true;
	CHECK_EQ(rw(false, 0, 8, p), -E_IO);
	CHECK(fake_logged("IN at sector 0 failed: status 1"));
	fake_vioblk.io_error = false;
	memset(fake_vioblk.data, 0x5A, 4096);
	CHECK_EQ(rw(false, 0, 8, p), 0);
	CHECK_EQ(p[4095], 0x5A);
	free(p);
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
	RUN(serves_the_device_and_round_trips_split_at_size_max);
	RUN(a_read_only_device_is_a_read_only_disk);
	RUN(a_device_whose_reset_never_completes_stays_hidden_without_bus_mastering);
	RUN(refused_features_fail_the_probe_and_give_the_device_back);
	RUN(a_device_without_version_1_is_not_driven);
	RUN(a_device_that_refuses_driver_ok_fails_the_probe);
	RUN(a_request_never_completed_times_out_and_later_ones_fail_at_once);
	RUN(a_device_that_needs_a_reset_fails_the_request_at_once);
	RUN(an_io_error_fails_that_request_only);
	return CHECK_SUMMARY();
}
