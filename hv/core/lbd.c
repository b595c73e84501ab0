/* The logical block device model.
 *
 * One command costs one VM exit: the guest writes the guest-physical
 * address of a descriptor to the doorbell, ferry copies the descriptor and
 * its scatter list out of guest RAM, checks every address against the
 * guest's memory, runs the command on the back end synchronously and writes
 * the status into the descriptor and the register page, both of which the
 * guest reads without leaving the guest.
 *
 * Everything the guest hands us is copied before it is checked, so the
 * guest cannot change it between check and use. */
#include "lbd.h"
#include "console.h"
#include "guest_abi.h"
#include "mem.h"
#include "../lib/string.h"

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

static u32 status_of(int err)
{
	switch (-err) {
	case E_OK: return LBD_ST_OK;
	case E_TIMEDOUT: return LBD_ST_TIMEOUT;
	case E_ROFS: return LBD_ST_READ_ONLY;
	case E_RANGE: return LBD_ST_LBA_RANGE;
	case E_INVAL: return LBD_ST_BAD_DESC;
	default: return LBD_ST_IO_ERROR;
	}
}

static void fill_identify(struct lbd_identify *id, const struct blk_dev *dev)
{
	memset(id, 0, sizeof(*id));
	id->magic = LBD_IDENTIFY_MAGIC;
	id->version = LBD_VERSION;
	id->sectors = dev->info.sectors;
	id->sector_size = dev->info.sector_size;
	id->max_sectors = dev->info.max_sectors;
	id->max_segs = BLK_MAX_SEGS;
	id->flags = dev->info.read_only ? LBD_ID_READ_ONLY : 0;
	str_copy(id->model, dev->info.model, sizeof(id->model));
	str_copy(id->serial, dev->info.serial, sizeof(id->serial));
	str_copy(id->backend, dev->name, sizeof(id->backend));
}

/* Checks the scatter list and turns it into host-physical segments.
 * Returns LBD_ST_OK and the total length, or an error status. */
static u32 check_segments(const struct gmem *ram, const struct lbd_seg *in, unsigned n, struct blk_seg *out, u64 *total)
{
	*total = 0;
	for (unsigned i = 0; i < n; i++) {
		if (in[i].reserved)
			return LBD_ST_BAD_DESC;
		if (in[i].len == 0 || (in[i].len | in[i].gpa) & 3)
			return in[i].len ? LBD_ST_ALIGN : LBD_ST_BAD_DESC;
		if (gmem_check(ram, in[i].gpa, in[i].len) < 0)
			return LBD_ST_DMA_RANGE;
		out[i] = (struct blk_seg){ gmem_gpa_to_hpa(in[i].gpa), in[i].len };
		*total += in[i].len;
	}
	return LBD_ST_OK;
}

static u32 run_command(const struct gmem *ram, struct blk_dev *dev, const struct lbd_desc *d, const struct lbd_seg *segs)
{
	struct blk_seg bs[BLK_MAX_SEGS];
	u64 total;
	u32 st;

	if (d->flags || d->reserved)
		return LBD_ST_BAD_DESC;
	if (d->opcode != LBD_OP_IDENTIFY && d->opcode != LBD_OP_READ && d->opcode != LBD_OP_WRITE &&
	    d->opcode != LBD_OP_FLUSH)
		return LBD_ST_BAD_OPCODE;
	if (!dev)
		return LBD_ST_NO_DEVICE;
	if (d->opcode == LBD_OP_FLUSH)
		return d->nseg || d->count ? LBD_ST_BAD_DESC : status_of(dev->ops->flush(dev));
	if (d->nseg == 0 || d->nseg > BLK_MAX_SEGS)
		return LBD_ST_BAD_DESC;
	st = check_segments(ram, segs, d->nseg, bs, &total);
	if (st != LBD_ST_OK)
		return st;

	if (d->opcode == LBD_OP_IDENTIFY) {
		if (d->count || d->lba || d->nseg != 1 || total != sizeof(struct lbd_identify))
			return LBD_ST_BAD_DESC;
		fill_identify(phys_to_virt(bs[0].addr), dev);
		return LBD_ST_OK;
	}

	const struct blk_info *info = &dev->info;
	if (d->count == 0 || d->count > info->max_sectors || d->lba >= info->sectors ||
	    d->count > info->sectors - d->lba)
		return LBD_ST_LBA_RANGE;
	if (total != (u64)d->count * info->sector_size)
		return LBD_ST_BAD_DESC;
	if (d->opcode == LBD_OP_WRITE) {
		if (info->read_only)
			return LBD_ST_READ_ONLY;
		st = status_of(dev->ops->write(dev, d->lba, d->count, bs, d->nseg));
		if (st == LBD_ST_OK)
			lbd.stats.bytes_written += total;
	} else {
		st = status_of(dev->ops->read(dev, d->lba, d->count, bs, d->nseg));
		if (st == LBD_ST_OK)
			lbd.stats.bytes_read += total;
	}
	return st;
}

u32 lbd_execute(const struct gmem *ram, struct blk_dev *dev, gpa_t desc_gpa)
{
	struct lbd_desc d;
	struct lbd_seg segs[BLK_MAX_SEGS];
	u32 st;

	const void *p = gmem_ptr(ram, desc_gpa, sizeof(d));
	if (!p || desc_gpa & 7)
		return p ? LBD_ST_ALIGN : LBD_ST_DMA_RANGE; /* nowhere to write a status */
	memcpy(&d, p, sizeof(d));
	if (d.nseg > BLK_MAX_SEGS) {
		st = LBD_ST_BAD_DESC;
	} else {
		const void *sp = gmem_ptr(ram, desc_gpa + sizeof(d), (u64)d.nseg * sizeof(struct lbd_seg));
		if (!sp) {
			st = LBD_ST_DMA_RANGE;
		} else {
			memcpy(segs, sp, (u64)d.nseg * sizeof(struct lbd_seg));
			st = run_command(ram, dev, &d, segs);
		}
	}
	/* The descriptor was checked to be guest RAM above. */
	((volatile struct lbd_desc *)(uintptr_t)desc_gpa)->status = st;
	return st;
}

static u64 lbd_read(void *ctx, u64 off, unsigned size)
{
	(void)ctx;
	/* Reads do not normally trap (the page is mapped read-only); this
	 * serves a guest whose access was emulated anyway. */
	if (off + size > LBD_PAGE_SIZE)
		return ~0ULL;
	u64 v = 0;
	memcpy(&v, (const u8 *)lbd.regs + off, size);
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
	u32 st = lbd_execute(lbd.ram, lbd.dev, size == 4 ? (u32)val : val);
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
		rc = nested_map(vm, gpa, virt_to_phys(page), LBD_PAGE_SIZE, NPT_R);
	if (rc == 0)
		vm->lbd_gpa = gpa;
	return rc;
}
