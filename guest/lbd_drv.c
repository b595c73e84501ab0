/* Driver for ferry's logical block device (docs/logical-device.md).
 *
 * A command is a descriptor in our memory; writing its address to the
 * doorbell is the one access that leaves the guest.  When the write
 * returns, ferry has finished the command and stored its status in the
 * descriptor; nothing else needs a VM exit. */
#include "lbd_drv.h"
#include "kernel.h"
#include "lib/string.h"

#define MAX_SEGS_USED 1

static struct {
	volatile u8 *regs;
	struct lbd_identify id;
	struct disk disk;
	/* One command at a time: the descriptor and its segment list. */
	struct {
		struct lbd_desc d;
		struct lbd_seg seg[MAX_SEGS_USED];
	} __aligned(64) cmd;
} lbd;

volatile u8 *lbd_regs(void) { return lbd.regs; }
struct disk *lbd_disk(void) { return lbd.regs ? &lbd.disk : NULL; }

static u32 reg32(u32 off) { return *(volatile u32 *)(lbd.regs + off); }

u32 lbd_submit_raw(u64 desc_gpa)
{
	/* ferry reads the descriptor and moves data like a DMA engine: the
	 * compiler must neither sink our stores below the doorbell nor keep
	 * values it read before it. */
	__asm__ volatile("" ::: "memory");
	*(volatile u64 *)(lbd.regs + LBD_REG_DOORBELL) = desc_gpa;
	__asm__ volatile("" ::: "memory");
	return reg32(LBD_REG_LAST_STATUS);
}

static int status_to_err(u32 st)
{
	switch (st) {
	case LBD_ST_OK: return 0;
	case LBD_ST_LBA_RANGE: return -E_RANGE;
	case LBD_ST_DMA_RANGE: return -E_ACCES;
	case LBD_ST_READ_ONLY: return -E_ROFS;
	case LBD_ST_TIMEOUT: return -E_TIMEDOUT;
	case LBD_ST_BAD_OPCODE: case LBD_ST_BAD_DESC: case LBD_ST_ALIGN: return -E_INVAL;
	case LBD_ST_NO_DEVICE: return -E_NOENT;
	default: return -E_IO;
	}
}

/* ferry sees our buffers by their guest-physical address: the guest's
 * page tables map its RAM one to one. */
static u64 gpa_of(const void *p) { return (u64)(uintptr_t)p; }

static int command(u8 op, u64 lba, u32 count, u64 buf_gpa, u32 len)
{
	lbd.cmd.d = (struct lbd_desc){ .opcode = op, .nseg = len ? 1 : 0, .status = LBD_ST_PENDING, .lba = lba,
				       .count = count };
	lbd.cmd.seg[0] = (struct lbd_seg){ .gpa = buf_gpa, .len = len };
	lbd_submit_raw(gpa_of(&lbd.cmd));
	return status_to_err(lbd.cmd.d.status);
}

/* Splits a transfer into commands of at most max_sectors. */
static int transfer(struct disk *d, u8 op, u64 lba, u32 count, u64 buf_gpa)
{
	u32 max = lbd.id.max_sectors ? lbd.id.max_sectors : 1;
	while (count) {
		u32 n = MIN(count, max);
		int rc = command(op, lba, n, buf_gpa, n * d->sector_size);
		if (rc < 0)
			return rc;
		lba += n;
		count -= n;
		buf_gpa += (u64)n * d->sector_size;
	}
	return 0;
}

static int lbd_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	return transfer(d, LBD_OP_READ, lba, count, gpa_of(buf));
}
static int lbd_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	return transfer(d, LBD_OP_WRITE, lba, count, gpa_of(buf));
}
static int lbd_flush(struct disk *d) { (void)d; return command(LBD_OP_FLUSH, 0, 0, 0, 0); }

int lbd_probe(struct disk **out)
{
	u32 a, b, c, d;
	cpuid4(FERRY_CPUID_BASE, &a, &b, &c, &d);
	if (b != FERRY_SIG_EBX || c != FERRY_SIG_ECX || a < FERRY_CPUID_LBD)
		return -E_NOENT; /* not running on ferry */
	cpuid4(FERRY_CPUID_LBD, &a, &b, &c, &d);
	u64 gpa = ((u64)b << 32) | a;
	if (!gpa)
		return -E_NOENT;
	if (paging_map_device(gpa, LBD_PAGE_SIZE) < 0)
		return -E_NOMEM;
	lbd.regs = (volatile u8 *)(uintptr_t)gpa;
	if (reg32(LBD_REG_MAGIC) != LBD_MAGIC || !(reg32(LBD_REG_STATE) & LBD_STATE_READY))
		return -E_NOENT;
	int rc = command(LBD_OP_IDENTIFY, 0, 0, gpa_of(&lbd.id), sizeof(lbd.id));
	if (rc < 0)
		return rc;
	if (lbd.id.magic != LBD_IDENTIFY_MAGIC)
		return -E_IO;
	lbd.disk = (struct disk){
		.name = "ld0",
		.driver = "ferry-lbd",
		.sector_size = lbd.id.sector_size,
		.sectors = lbd.id.sectors,
		.read = lbd_read,
		.write = lbd_write,
		.flush = lbd_flush,
	};
	*out = &lbd.disk;
	con_printf("guest: ld0: %s, %lu sectors of %u bytes (%lu MiB), served by %s", lbd.id.model, lbd.id.sectors,
		   lbd.id.sector_size, lbd.id.sectors * lbd.id.sector_size / MiB, lbd.id.backend);
	return 0;
}
