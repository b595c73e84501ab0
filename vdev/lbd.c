/* The logical block device model.
 *
 * One command costs one VM exit: the guest writes the guest-physical
 * address of a descriptor to the doorbell, ferry copies the descriptor and
 * its scatter list out of guest RAM, checks every address against the
 * guest's memory, runs the command on the back end synchronously and writes
 * the status into the descriptor and the register page, both of which the
 * guest reads without leaving the guest (vdev/lbd_cmd.c runs the
 * command). */
#include "lbd.h"
#include "platform/console.h"
#include "lib/guest_abi.h"
#include "platform/mem.h"
#include "lib/string.h"

static struct {
	volatile u8 *regs;      /* the register page (ferry's, mapped read-only) */
	struct blk_dev *dev;
	const struct gmem *ram;
	struct lbd_stats stats;
} lbd;

const struct lbd_stats *lbd_get_stats(void) { return &lbd.stats; }

static void reg_write32(u32 off, u32 v) { *(volatile u32 *)(lbd.regs + off) = v; }
static void reg_write64(u32 off, u64 v) { *(volatile u64 *)(lbd.regs + off) = v; }
static u64 reg_read64(u32 off) { return *(volatile u64 *)(lbd.regs + off); }

static u64 lbd_read(void *ctx, u64 off, unsigned size)
{
	(void)ctx;
	/* Reads do not normally trap (the page is mapped read-only); this
	 * serves a guest whose access was emulated anyway. */
	if (off + size > LBD_PAGE_SIZE)
		return ~0ULL;
	u64 v = 0;
	for (unsigned i = size; i--;) /* little-endian, as the guest reads it */
		v = v << 8 | lbd.regs[off + i];
	return v;
}

static void lbd_write(void *ctx, u64 off, unsigned size, u64 val)
{
	(void)ctx;
	if (off != LBD_REG_DOORBELL || (size != 8 && size != 4)) {
		u32 bad = *(volatile u32 *)(lbd.regs + LBD_REG_BAD_WRITES);
		reg_write32(LBD_REG_BAD_WRITES, bad + 1);
		log_debug("lbd: guest wrote %u bytes at register %lx: ignored", size, off);
		return;
	}
	reg_write64(LBD_REG_SUBMITTED, reg_read64(LBD_REG_SUBMITTED) + 1);
	u32 st = lbd_execute(lbd.ram, lbd.dev, size == 4 ? (u32)val : val, &lbd.stats);
	lbd.stats.commands++;
	if (st != LBD_ST_OK) {
		lbd.stats.errors++;
		log_debug("lbd: command at %lx failed with status %u", val, st);
	}
	reg_write32(LBD_REG_LAST_STATUS, st);
	reg_write64(LBD_REG_COMPLETED, reg_read64(LBD_REG_COMPLETED) + 1);
}

int lbd_attach(struct vm *vm, gpa_t gpa, struct blk_dev *backend)
{
	u8 *page = page_alloc(1);
	if (!page)
		return -E_NOMEM;
	lbd.regs = page;
	lbd.dev = backend;
	lbd.ram = &vm->ram;
	reg_write32(LBD_REG_MAGIC, LBD_MAGIC);
	reg_write32(LBD_REG_VERSION, LBD_VERSION);
	if (backend) {
		reg_write32(LBD_REG_STATE, LBD_STATE_READY | (backend->info.read_only ? LBD_STATE_READ_ONLY : 0));
		reg_write32(LBD_REG_SECTOR_SIZE, backend->info.sector_size);
		reg_write64(LBD_REG_CAPACITY, backend->info.sectors);
		reg_write32(LBD_REG_MAX_SECTORS, backend->info.max_sectors);
		reg_write32(LBD_REG_MAX_SEGS, BLK_MAX_SEGS);
	}
	struct mmio_region r = { .name = "logical block device", .start = gpa, .len = LBD_PAGE_SIZE,
				 .read = lbd_read, .write = lbd_write };
	int rc = mmio_register(vm, &r);
	if (rc == 0)
		/* Write-back like the rest of RAM: no aliasing of memory types. */
		rc = nested_map(vm, gpa, virt_to_phys(page), LBD_PAGE_SIZE, NESTED_R);
	if (rc == 0)
		vm->lbd_gpa = gpa;
	return rc;
}
