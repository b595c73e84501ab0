#include "disk_rw.h"

int net_disk_rw(struct blk_dev *dev, bool write, u64 lba, u32 count, u8 *data)
{
	u32 ss = dev->info.sector_size;
	u32 step = dev->info.max_sectors ? dev->info.max_sectors : count;

	for (u32 done = 0; done < count;) {
		u32 n = MIN(step, count - done);
		struct blk_seg seg = { (hpa_t)(uintptr_t)(data + (size_t)done * ss), n * ss };
		int rc = write ? dev->ops->write(dev, lba + done, n, &seg, 1) : dev->ops->read(dev, lba + done, n, &seg, 1);
		if (rc < 0)
			return rc;
		done += n;
	}
	return 0;
}
