/* Parallel ATA disk driver for PCI IDE controllers.
 *
 * ferry takes the first PCI IDE controller (class 01h, subclass 01h) with
 * an ATA disk on it and executes its guest's block commands on the first
 * such disk, looking at the primary master, primary slave, secondary
 * master and secondary slave in that order.  ATAPI devices (CD/DVD) are
 * skipped.  A controller without an ATA disk is left to the guest
 * untouched apart from the resets of the probe.
 *
 * The controller is one PCI function, so ferry owns both of its channels:
 * a CD-ROM on the other channel (or the other position) of the same
 * controller is lost to the guest as well.  A channel in compatibility
 * mode decodes the fixed ISA ports (1F0h-1F7h and 3F6h, or 170h-177h and
 * 376h), which are no BARs: ferry marks them owned (pci_own_io), so the
 * guest reads all ones there like at an owned I/O BAR.
 *
 * Transfers use bus-master DMA (READ/WRITE DMA EXT, or READ/WRITE DMA on
 * disks without 48-bit addressing) through a PRD table in ferry's pool,
 * built straight from the request's segments.  Bus-master IDE addresses
 * 32 bits only: a request with a segment above 4 GiB goes through a
 * 64 KiB bounce buffer in the pool (below 4 GiB), one piece at a time:
 * slower, but a guest with RAM above 4 GiB works.  When the controller has
 * no bus-master registers, the disk says it cannot do DMA, or a DMA read
 * fails at probe time, PIO (READ/WRITE SECTORS [EXT]) moves the data.
 *
 * Completion is polled with the device's interrupt disabled (nIEN).  With
 * nIEN set the bus master's interrupt bit need not ever set (QEMU sets it
 * only when it raises the IRQ), so a DMA command is complete when the bus
 * master is no longer active (or has its interrupt bit) and the device is
 * neither busy nor asking for data.
 *
 * ferry keeps the transfer timings the firmware programmed into the
 * controller and the drive and sets no transfer mode itself; the DMA read
 * at probe time is the check that they work.
 *
 * References: ata.h and ata_id.h. */
#include "ata.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/io.h"

/* Timeouts and delays, in microseconds. */
#define ATA_RESET_US (10 * 1000 * 1000) /* BSY clears after SRST (ATA allows 31 s for a spin-up) */
#define ATA_CMD_US (10 * 1000 * 1000)   /* one DMA command, DRQ block, IDENTIFY or selection */
#define ATA_FLUSH_US (30 * 1000 * 1000) /* FLUSH CACHE [EXT] */
#define ATA_SRST_HOLD_US 10             /* SRST stays set at least 5 us */
#define ATA_SRST_WAIT_US 2000           /* and status is read no sooner than 2 ms after */

/* Request size.  A segment of L bytes split at 64 KiB boundaries needs at
 * most floor(L / 64 KiB) + 2 PRDs, so a request of B bytes in at most
 * BLK_MAX_SEGS segments needs at most B / 64 KiB + 2 * BLK_MAX_SEGS: with
 * the table's 512 entries, B may reach (512 - 128) * 64 KiB = 24 MiB. */
#define ATA_MAX_REQ_BYTES ((u64)(ATA_PRDT_ENTRIES - 2 * BLK_MAX_SEGS) * ATA_PRD_MAX_BYTES)
_Static_assert(ATA_PRDT_ENTRIES > 2 * BLK_MAX_SEGS, "the PRD table must outgrow the segment count");

/* The bounce buffer for requests with memory above 4 GiB; it also holds
 * the IDENTIFY data at probe time. */
#define ATA_BOUNCE_BYTES (64 * KiB)
#define ATA_BOUNCE_PAGES (ATA_BOUNCE_BYTES / PAGE_SIZE)
_Static_assert(ATA_BOUNCE_BYTES % 4096 == 0, "whole sectors of either size");

/* One channel's ports. */
struct ata_chan {
	u16 cmd;     /* command block */
	u16 ctl;     /* device control (write) / alternate status (read) */
	u16 bm;      /* bus-master block; 0: none (PIO only) */
	bool legacy; /* compatibility mode: cmd and ctl are the fixed ISA ports */
};

struct ata_disk {
	struct ata_chan ch;
	unsigned chan, unit; /* 0 primary / 1 secondary; 0 master / 1 slave */
	char where[24];      /* "primary master" */
	bool dma;            /* bus-master DMA; else PIO */
	bool lba48;
	bool ready;          /* false after a failed reset: the next request resets first */
	bool dead;           /* that reset failed too */
	bool told_bounce;    /* the bounce buffer's first use was logged */
	u64 sectors;
	u32 sector_size, max_sectors;
	u8 cmd_read, cmd_write, cmd_flush;
	struct ata_prd *prdt; /* one page */
	u8 *bounce;           /* ATA_BOUNCE_BYTES */
};

static struct ata_disk ata_disk;
static struct blk_dev ata_blk;
static char ata_name[32];

static const char *const ata_chan_names[2] = { "primary", "secondary" };
static const char *const ata_unit_names[2] = { "master", "slave" };

/* ---- Register access ---------------------------------------------------- */

static inline u8 ata_rd(const struct ata_chan *c, unsigned reg) { return inb((u16)(c->cmd + reg)); }
static inline void ata_wr(const struct ata_chan *c, unsigned reg, u8 v) { outb((u16)(c->cmd + reg), v); }
static inline u8 ata_altstatus(const struct ata_chan *c) { return inb(c->ctl); }
static inline void ata_devctl(const struct ata_chan *c, u8 v) { outb(c->ctl, v); }
static inline u8 bm_rd(const struct ata_chan *c, unsigned reg) { return inb((u16)(c->bm + reg)); }
static inline void bm_wr(const struct ata_chan *c, unsigned reg, u8 v) { outb((u16)(c->bm + reg), v); }

/* Clears the bus master's error and interrupt bits (write 1 to clear),
 * keeping the firmware's drive-DMA-capable bits. */
static void bm_clear(const struct ata_chan *c)
{
	u8 keep = bm_rd(c, ATA_BM_STATUS) & (ATA_BM_STS_DRV0_DMA | ATA_BM_STS_DRV1_DMA);
	bm_wr(c, ATA_BM_STATUS, keep | ATA_BM_STS_ERROR | ATA_BM_STS_INTR);
}

/* The data register, a block of 16-bit words at a time. */
static inline void ata_insw(u16 port, void *buf, size_t words)
{
	__asm__ volatile("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}

static inline void ata_outsw(u16 port, const void *buf, size_t words)
{
	__asm__ volatile("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* Status is valid 400 ns after a command is written or a device selected
 * (ATA/ATAPI-6): read the alternate status once (it does not acknowledge
 * anything), then wait a little longer than that. */
static void ata_pause(const struct ata_chan *c)
{
	(void)ata_altstatus(c);
	udelay(1);
}

/* Polls the alternate status until (status & mask) == want.  Returns true
 * on success; *st gets the last status either way. */
static bool ata_wait(const struct ata_chan *c, u8 mask, u8 want, u64 timeout_us, u8 *st)
{
	u64 start = time_us();
	for (;;) {
		*st = ata_altstatus(c);
		if ((*st & mask) == want)
			return true;
		if (time_us() - start > timeout_us) {
			*st = ata_altstatus(c);
			return (*st & mask) == want;
		}
		cpu_relax();
	}
}

/* "51 (DRDY ERR)": a register value with the names of the bits set. */
static const char *ata_bits(char *buf, size_t size, u8 v, const char *const names[8])
{
	size_t n = (size_t)fmt_snprintf(buf, size, "%02x", v);
	for (int b = 7; b >= 0; b--)
		if ((v & BIT(b)) && names[b] && n < size)
			n += (size_t)fmt_snprintf(buf + n, size - n, "%s%s", n == 2 ? " (" : " ", names[b]);
	if (n > 2 && n < size)
		fmt_snprintf(buf + n, size - n, ")");
	return buf;
}

static const char *const ata_sts_names[8] = { "ERR", NULL, NULL, "DRQ", NULL, "DF", "DRDY", "BSY" };
static const char *const ata_err_names[8] = { NULL, NULL, "ABRT", NULL, "IDNF", NULL, "UNC", "ICRC" };
static const char *const ata_bm_names[8] = { "ACTIVE", "ERROR", "INTR", NULL, NULL, "DRV0DMA", "DRV1DMA", "SIMPLEX" };

/* ---- Channel reset and device selection -------------------------------- */

/* Software reset of both devices on the channel (ATA/ATAPI-6, SRST
 * protocol): SRST with nIEN, then SRST cleared and nIEN kept, then wait
 * for device 0 to clear BSY (it waits for device 1).  The bus master is
 * stopped first. */
static int ata_chan_reset(const struct ata_chan *c, u8 *st)
{
	if (c->bm) {
		bm_wr(c, ATA_BM_CMD, 0);
		bm_clear(c);
	}
	ata_devctl(c, ATA_CTL_NIEN | ATA_CTL_SRST);
	udelay(ATA_SRST_HOLD_US);
	ata_devctl(c, ATA_CTL_NIEN);
	udelay(ATA_SRST_WAIT_US);
	return ata_wait(c, ATA_STS_BSY, 0, ATA_RESET_US, st) ? 0 : -E_TIMEDOUT;
}

/* The device register for a command to d: 28-bit commands carry LBA
 * 27:24 in it. */
static u8 ata_devreg(const struct ata_disk *d, u64 lba, bool lba28)
{
	return (u8)(ATA_DEV_OBS | ATA_DEV_LBA | (d->unit ? ATA_DEV_DEV : 0) | (lba28 ? (lba >> 24) & 0xF : 0));
}

/* Selects d's device (ATA/ATAPI-6 device selection protocol): the channel
 * must be idle before, and the device after. */
static int ata_select(const struct ata_disk *d, u8 devreg, u8 *st)
{
	const struct ata_chan *c = &d->ch;
	if (!ata_wait(c, ATA_STS_BSY | ATA_STS_DRQ, 0, ATA_CMD_US, st))
		return -E_TIMEDOUT;
	ata_wr(c, ATA_REG_DEVICE, devreg);
	ata_pause(c);
	return ata_wait(c, ATA_STS_BSY | ATA_STS_DRQ, 0, ATA_CMD_US, st) ? 0 : -E_TIMEDOUT;
}

/* Selects d, writes the task file (48-bit: the high bytes first, as each
 * register is a two-byte FIFO) and the command. */
static int ata_issue(const struct ata_disk *d, u8 command, u64 lba, u32 count, bool ext, u8 *st)
{
	const struct ata_chan *c = &d->ch;
	int rc = ata_select(d, ata_devreg(d, lba, !ext), st);
	if (rc < 0)
		return rc;
	ata_wr(c, ATA_REG_FEATURES, 0);
	if (ext) {
		ata_wr(c, ATA_REG_FEATURES, 0);
		ata_wr(c, ATA_REG_COUNT, (u8)(count >> 8));
		ata_wr(c, ATA_REG_LBA_LOW, (u8)(lba >> 24));
		ata_wr(c, ATA_REG_LBA_MID, (u8)(lba >> 32));
		ata_wr(c, ATA_REG_LBA_HIGH, (u8)(lba >> 40));
	}
	ata_wr(c, ATA_REG_COUNT, (u8)count); /* 256 / 65536 are written as 0 */
	ata_wr(c, ATA_REG_LBA_LOW, (u8)lba);
	ata_wr(c, ATA_REG_LBA_MID, (u8)(lba >> 8));
	ata_wr(c, ATA_REG_LBA_HIGH, (u8)(lba >> 16));
	ata_wr(c, ATA_REG_COMMAND, command);
	ata_pause(c);
	return 0;
}

/* After a failed or timed-out command: reset the channel so later
 * commands find the disk idle.  The bus master is stopped by the reset. */
static int ata_recover(struct ata_disk *d)
{
	u8 st;
	d->ready = false;
	int rc = ata_chan_reset(&d->ch, &st);
	if (rc == 0)
		rc = ata_select(d, ata_devreg(d, 0, false), &st);
	if (rc < 0) {
		char sb[48];
		log_err("ata: %s: the disk stays busy after a channel reset (status=%s)", d->where,
			ata_bits(sb, sizeof(sb), st, ata_sts_names));
		return rc;
	}
	d->ready = true;
	log_info("ata: %s: channel reset", d->where);
	return 0;
}

/* A disk whose recovery failed gets one more reset at the next request. */
static int ata_usable(struct ata_disk *d)
{
	if (d->ready)
		return 0;
	if (d->dead)
		return -E_IO;
	if (ata_recover(d) == 0)
		return 0;
	d->dead = true;
	log_err("ata: %s: giving up on the disk; every request now fails", d->where);
	return -E_IO;
}

/* Logs a failed command with the registers, resets the channel. */
static int ata_fail(struct ata_disk *d, int rc, u8 command, u64 lba, u32 count, u8 st)
{
	const struct ata_chan *c = &d->ch;
	char sb[48], eb[48], bb[64] = "none";
	u8 err = ata_rd(c, ATA_REG_ERROR);
	if (c->bm)
		ata_bits(bb, sizeof(bb), bm_rd(c, ATA_BM_STATUS), ata_bm_names);
	log_err("ata: %s: %s lba %lu count %u %s: status=%s error=%s bm_status=%s", d->where, ata_cmd_name(command), lba,
		count, rc == -E_TIMEDOUT ? "timed out" : "failed", ata_bits(sb, sizeof(sb), st, ata_sts_names),
		ata_bits(eb, sizeof(eb), err, ata_err_names), bb);
	ata_recover(d);
	return rc;
}

/* ---- Segments ---------------------------------------------------------- */

/* Checks a segment list against blk.h's rules and the request's length;
 * *high is set when some segment reaches above 4 GiB. */
static int ata_check_segs(const struct blk_seg *segs, unsigned nseg, u64 bytes, bool *high)
{
	u64 total = 0;
	*high = false;
	for (unsigned i = 0; i < nseg; i++) {
		hpa_t a = segs[i].addr;
		u32 len = segs[i].len;
		if (len == 0 || ((a | len) & 3) || a + len < a)
			return -E_INVAL;
		if (a + len > 4 * GiB)
			*high = true;
		total += len;
	}
	return total == bytes ? 0 : -E_INVAL;
}

/* A cursor over a segment list. */
struct ata_sg {
	const struct blk_seg *segs;
	unsigned nseg, i;
	u32 off; /* into segs[i] */
};

/* The next piece of the list, at most max bytes: its length (0 at the
 * end) and, in *p, where it is in ferry's identity map. */
static u32 ata_sg_take(struct ata_sg *sg, u32 max, void **p)
{
	if (sg->i == sg->nseg)
		return 0;
	const struct blk_seg *s = &sg->segs[sg->i];
	u32 n = MIN(max, s->len - sg->off);
	*p = phys_to_virt(s->addr + sg->off);
	sg->off += n;
	if (sg->off == s->len) {
		sg->i++;
		sg->off = 0;
	}
	return n;
}

/* Copies len bytes between the cursor's memory and buf. */
static void ata_sg_copy(struct ata_sg *sg, u8 *buf, u32 len, bool to_sg)
{
	void *p;
	for (u32 n; len && (n = ata_sg_take(sg, len, &p)) != 0; buf += n, len -= n) {
		if (to_sg)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
	}
}

/* Fills the PRD table from segments below 4 GiB, splitting each at 64 KiB
 * boundaries.  Returns the number of PRDs or -E_INVAL. */
static int ata_fill_prdt(struct ata_disk *d, const struct blk_seg *segs, unsigned nseg)
{
	struct ata_prd *prd = d->prdt;
	unsigned n = 0;

	for (unsigned i = 0; i < nseg; i++) {
		hpa_t a = segs[i].addr;
		u64 len = segs[i].len;
		if (a + len > 4 * GiB)
			return -E_INVAL;
		while (len) {
			u64 room = ATA_PRD_MAX_BYTES - (a & (ATA_PRD_MAX_BYTES - 1));
			u32 chunk = (u32)MIN(len, room);
			if (n == ATA_PRDT_ENTRIES)
				return -E_INVAL;
			prd[n].addr = (u32)a;       /* even: a is a multiple of 4 */
			prd[n].count = (u16)chunk;  /* 64 KiB is written as 0 */
			prd[n].flags = 0;
			n++;
			a += chunk;
			len -= chunk;
		}
	}
	if (n == 0)
		return -E_INVAL;
	prd[n - 1].flags = ATA_PRD_EOT;
	return (int)n;
}

/* ---- Commands ---------------------------------------------------------- */

/* One bus-master DMA command over the PRD table ata_fill_prdt built
 * (BMIDE 1.0, "standard programming sequence"). */
static int ata_dma(struct ata_disk *d, u8 command, u64 lba, u32 count, bool write)
{
	const struct ata_chan *c = &d->ch;
	u8 dir = write ? 0 : ATA_BM_CMD_READ;
	u8 st, bms;
	int rc;

	/* Direction and table address are set while the engine is stopped. */
	bm_wr(c, ATA_BM_CMD, dir);
	outl((u16)(c->bm + ATA_BM_PRDT), (u32)virt_to_phys(d->prdt));
	bm_clear(c);
	wmb(); /* the PRDs are in memory before the bus master fetches them */
	rc = ata_issue(d, command, lba, count, d->lba48, &st);
	if (rc < 0)
		return ata_fail(d, rc, command, lba, count, st);
	bm_wr(c, ATA_BM_CMD, dir | ATA_BM_CMD_START);

	u64 start = time_us();
	for (;;) {
		bms = bm_rd(c, ATA_BM_STATUS);
		st = ata_altstatus(c);
		if (bms & ATA_BM_STS_ERROR) {
			rc = -E_IO;
			break;
		}
		if (!(st & ATA_STS_BSY)) {
			if (st & (ATA_STS_ERR | ATA_STS_DF)) {
				rc = -E_IO;
				break;
			}
			if (!(st & ATA_STS_DRQ) && (!(bms & ATA_BM_STS_ACTIVE) || (bms & ATA_BM_STS_INTR)))
				break;
		}
		if (time_us() - start > ATA_CMD_US) {
			rc = -E_TIMEDOUT;
			break;
		}
		cpu_relax();
	}
	bm_wr(c, ATA_BM_CMD, dir); /* stop: required even after a normal end */
	rmb();                     /* the data is read only after completion */
	if (rc == 0) {
		st = ata_rd(c, ATA_REG_STATUS); /* also acknowledges INTRQ */
		if (!(st & (ATA_STS_BSY | ATA_STS_DRQ | ATA_STS_ERR | ATA_STS_DF))) {
			bm_clear(c);
			return 0;
		}
		rc = -E_IO;
	}
	return ata_fail(d, rc, command, lba, count, st);
}

/* One PIO data-in or data-out command (ATA/ATAPI-6 PIO protocols): one
 * DRQ block per sector, moved between the data register and the
 * segments. */
static int ata_pio(struct ata_disk *d, u8 command, u64 lba, u32 count, const struct blk_seg *segs,
		   unsigned nseg, bool write)
{
	const struct ata_chan *c = &d->ch;
	struct ata_sg sg = { .segs = segs, .nseg = nseg };
	u16 data = (u16)(c->cmd + ATA_REG_DATA);
	u8 st;

	int rc = ata_issue(d, command, lba, count, d->lba48, &st);
	if (rc < 0)
		return ata_fail(d, rc, command, lba, count, st);
	for (u32 i = 0; i < count; i++) {
		if (!ata_wait(c, ATA_STS_BSY, 0, ATA_CMD_US, &st))
			return ata_fail(d, -E_TIMEDOUT, command, lba, count, st);
		if ((st & (ATA_STS_ERR | ATA_STS_DF)) || !(st & ATA_STS_DRQ))
			return ata_fail(d, -E_IO, command, lba, count, st);
		for (u32 left = d->sector_size, n; left; left -= n) {
			void *p;
			n = ata_sg_take(&sg, left, &p);
			if (n == 0)
				return ata_fail(d, -E_INVAL, command, lba, count, st); /* cannot happen: lengths were checked */
			if (write)
				ata_outsw(data, p, n / 2);
			else
				ata_insw(data, p, n / 2);
		}
		ata_pause(c);
	}
	/* After the last block the device finishes (writes: commits) it. */
	if (!ata_wait(c, ATA_STS_BSY, 0, ATA_CMD_US, &st))
		return ata_fail(d, -E_TIMEDOUT, command, lba, count, st);
	st = ata_rd(c, ATA_REG_STATUS);
	if (st & (ATA_STS_ERR | ATA_STS_DF | ATA_STS_DRQ))
		return ata_fail(d, -E_IO, command, lba, count, st);
	return 0;
}

/* A request with memory above 4 GiB, by DMA through the bounce buffer, one
 * command per ATA_BOUNCE_BYTES. */
static int ata_dma_bounce(struct ata_disk *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg,
			  bool write)
{
	struct ata_sg sg = { .segs = segs, .nseg = nseg };
	u32 per = ATA_BOUNCE_BYTES / d->sector_size;

	if (!d->told_bounce)
		log_info("ata: %s: guest buffers above 4 GiB go through a bounce buffer (bus-master IDE is 32-bit)",
			 d->where);
	d->told_bounce = true;
	while (count) {
		u32 n = MIN(count, per), bytes = n * d->sector_size;
		struct blk_seg b = { virt_to_phys(d->bounce), bytes };
		if (write)
			ata_sg_copy(&sg, d->bounce, bytes, false);
		if (ata_fill_prdt(d, &b, 1) < 0)
			return -E_INVAL;
		int rc = ata_dma(d, write ? d->cmd_write : d->cmd_read, lba, n, write);
		if (rc < 0)
			return rc;
		if (!write)
			ata_sg_copy(&sg, d->bounce, bytes, true);
		lba += n;
		count -= n;
	}
	return 0;
}

static int ata_rw(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
{
	struct ata_disk *d = dev ? dev->priv : NULL;
	bool high;

	/* blk.h promises all of this; the driver still never trusts it with
	 * the disk's contents. */
	if (!d || !segs || nseg == 0 || nseg > BLK_MAX_SEGS || count == 0 || count > d->max_sectors ||
	    lba >= d->sectors || count > d->sectors - lba || (!d->lba48 && lba + count > ATA_LBA28_LIMIT))
		return -E_INVAL;
	int rc = ata_check_segs(segs, nseg, (u64)count * d->sector_size, &high);
	if (rc < 0)
		return rc;
	rc = ata_usable(d);
	if (rc < 0)
		return rc;
	if (!d->dma)
		return ata_pio(d, write ? d->cmd_write : d->cmd_read, lba, count, segs, nseg, write);
	if (high)
		return ata_dma_bounce(d, lba, count, segs, nseg, write);
	if (ata_fill_prdt(d, segs, nseg) < 0)
		return -E_INVAL;
	return ata_dma(d, write ? d->cmd_write : d->cmd_read, lba, count, write);
}

static int ata_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return ata_rw(dev, lba, count, segs, nseg, false);
}

static int ata_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return ata_rw(dev, lba, count, segs, nseg, true);
}

static int ata_flush(struct blk_dev *dev)
{
	struct ata_disk *d = dev ? dev->priv : NULL;
	u8 st;

	if (!d)
		return -E_INVAL;
	int rc = ata_usable(d);
	if (rc < 0)
		return rc;
	rc = ata_issue(d, d->cmd_flush, 0, 0, false, &st);
	if (rc == 0 && !ata_wait(&d->ch, ATA_STS_BSY, 0, ATA_FLUSH_US, &st))
		rc = -E_TIMEDOUT;
	if (rc == 0) {
		st = ata_rd(&d->ch, ATA_REG_STATUS);
		if (!(st & (ATA_STS_ERR | ATA_STS_DF | ATA_STS_DRQ)))
			return 0;
		rc = -E_IO;
	}
	return ata_fail(d, rc, d->cmd_flush, 0, 0, st);
}

static const struct blk_ops ata_ops = {
	.read = ata_read,
	.write = ata_write,
	.flush = ata_flush,
};

/* ---- Probe ------------------------------------------------------------- */

/* The read, write and flush commands for the transfer mode. */
static void ata_set_mode(struct ata_disk *d, bool dma)
{
	d->dma = dma;
	if (dma) {
		d->cmd_read = d->lba48 ? ATA_CMD_READ_DMA_EXT : ATA_CMD_READ_DMA;
		d->cmd_write = d->lba48 ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_WRITE_DMA;
	} else {
		d->cmd_read = d->lba48 ? ATA_CMD_READ_SECTORS_EXT : ATA_CMD_READ_SECTORS;
		d->cmd_write = d->lba48 ? ATA_CMD_WRITE_SECTORS_EXT : ATA_CMD_WRITE_SECTORS;
	}
	d->cmd_flush = d->lba48 ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
}

/* IDENTIFY DEVICE or IDENTIFY PACKET DEVICE by PIO into id (512 bytes).
 * -E_NOENT when no device answers, -E_IO when it aborts the command. */
static int ata_identify(struct ata_disk *d, u8 command, u16 *id)
{
	const struct ata_chan *c = &d->ch;
	u8 st;

	ata_wr(c, ATA_REG_DEVICE, (u8)(ATA_DEV_OBS | (d->unit ? ATA_DEV_DEV : 0)));
	ata_pause(c);
	if (!ata_wait(c, ATA_STS_BSY | ATA_STS_DRQ, 0, ATA_CMD_US, &st))
		return -E_TIMEDOUT;
	ata_wr(c, ATA_REG_FEATURES, 0);
	ata_wr(c, ATA_REG_COUNT, 0);
	ata_wr(c, ATA_REG_LBA_LOW, 0);
	ata_wr(c, ATA_REG_LBA_MID, 0);
	ata_wr(c, ATA_REG_LBA_HIGH, 0);
	ata_wr(c, ATA_REG_COMMAND, command);
	ata_pause(c);
	st = ata_altstatus(c);
	if (st == 0 || st == 0xFF)
		return -E_NOENT; /* nobody there: ATA/ATAPI-6 has device 0 answer 00h for an absent device 1 */
	if (!ata_wait(c, ATA_STS_BSY, 0, ATA_CMD_US, &st))
		return -E_TIMEDOUT;
	if (st & (ATA_STS_ERR | ATA_STS_DF)) {
		(void)ata_rd(c, ATA_REG_STATUS);
		return -E_IO;
	}
	if (!ata_wait(c, ATA_STS_DRQ, ATA_STS_DRQ, ATA_CMD_US, &st))
		return -E_TIMEDOUT;
	ata_insw((u16)(c->cmd + ATA_REG_DATA), id, ATA_ID_WORDS);
	(void)ata_rd(c, ATA_REG_STATUS);
	return 0;
}

static u16 ata_signature(const struct ata_chan *c)
{
	return (u16)(ata_rd(c, ATA_REG_LBA_HIGH) << 8 | ata_rd(c, ATA_REG_LBA_MID));
}

/* Is a device attached?  An empty channel floats (status FFh) or, on
 * QEMU, reads 00h in every register; a present device's sector count and
 * LBA low registers hold what was written to them. */
static bool ata_chan_present(const struct ata_chan *c)
{
	if (ata_rd(c, ATA_REG_STATUS) == 0xFF && ata_altstatus(c) == 0xFF)
		return false;
	ata_wr(c, ATA_REG_DEVICE, ATA_DEV_OBS);
	ata_pause(c);
	ata_wr(c, ATA_REG_COUNT, 0x55);
	ata_wr(c, ATA_REG_LBA_LOW, 0xAA);
	ata_wr(c, ATA_REG_COUNT, 0xAA);
	ata_wr(c, ATA_REG_LBA_LOW, 0x55);
	return ata_rd(c, ATA_REG_COUNT) == 0xAA && ata_rd(c, ATA_REG_LBA_LOW) == 0x55;
}

/* Resets d's channel and looks at both positions.  Returns 0 with d->unit
 * set, the IDENTIFY DEVICE data in id and parsed in *ai for the first ATA
 * disk ferry can address, -E_NOENT when there is none. */
static int ata_scan_chan(struct ata_disk *d, u16 *id, struct ata_ident *ai)
{
	const struct ata_chan *c = &d->ch;
	const char *chname = ata_chan_names[d->chan];
	char sb[48];
	u8 st;

	if (!ata_chan_present(c)) {
		log_debug("ata: %s channel: nothing attached", chname);
		return -E_NOENT;
	}
	if (ata_chan_reset(c, &st) < 0) {
		log_warn("ata: %s channel: still busy %u s after a reset (status=%s), skipped", chname,
			 ATA_RESET_US / 1000000, ata_bits(sb, sizeof(sb), st, ata_sts_names));
		return -E_NOENT;
	}
	for (unsigned unit = 0; unit < 2; unit++) {
		d->unit = unit;
		fmt_snprintf(d->where, sizeof(d->where), "%s %s", chname, ata_unit_names[unit]);
		ata_wr(c, ATA_REG_DEVICE, (u8)(ATA_DEV_OBS | (unit ? ATA_DEV_DEV : 0)));
		ata_pause(c);
		st = ata_altstatus(c);
		if (st == 0xFF || !ata_wait(c, ATA_STS_BSY, 0, ATA_RESET_US, &st)) {
			log_debug("ata: %s: no device (status=%02x)", d->where, st);
			continue;
		}
		u16 sig = ata_signature(c);
		if (sig == ATA_SIG_ATAPI || sig == ATA_SIG_SATA_ATAPI) {
			char model[ATA_ID_MODEL_LEN + 1] = "?";
			if (ata_identify(d, ATA_CMD_IDENTIFY_PACKET, id) == 0)
				ata_id_model(id, model);
			log_info("ata: %s: ATAPI device \"%s\" skipped (ferry serves ATA disks only)", d->where, model);
			continue;
		}
		if (sig != ATA_SIG_ATA && sig != ATA_SIG_SATA_ATA) {
			log_debug("ata: %s: no device (signature %04x, status=%02x)", d->where, sig, st);
			continue;
		}
		int rc = ata_identify(d, ATA_CMD_IDENTIFY_DEVICE, id);
		if (rc == 0) {
			char who[40];
			fmt_snprintf(who, sizeof(who), "ata: %s", d->where);
			if (ata_id_parse(id, who, ai) == 0)
				return 0;
			continue; /* logged; maybe the other position has a usable disk */
		}
		if (rc == -E_NOENT) {
			log_debug("ata: %s: no device answers IDENTIFY", d->where);
			continue;
		}
		log_warn("ata: %s: IDENTIFY DEVICE %s (signature %04x, status=%s), skipped", d->where,
			 rc == -E_TIMEDOUT ? "timed out" : "aborted", ata_signature(c),
			 ata_bits(sb, sizeof(sb), ata_altstatus(c), ata_sts_names));
		ata_chan_reset(c, &st); /* leave the channel idle for the next position */
	}
	return -E_NOENT;
}

/* The ports of channel ch.  False when a native-mode channel's BARs are
 * missing. */
static bool ata_chan_setup(const struct pci_dev *pd, unsigned ch, struct ata_chan *c)
{
	const struct pci_bar *cb = &pd->bar[ATA_BAR_CMD(ch)], *kb = &pd->bar[ATA_BAR_CTL(ch)];
	const struct pci_bar *bm = &pd->bar[ATA_BAR_BMIDE];

	*c = (struct ata_chan){ 0 };
	if (pd->progif & (ch ? ATA_PROGIF_SEC_NATIVE : ATA_PROGIF_PRI_NATIVE)) {
		if (!cb->is_io || !cb->base || cb->size < ATA_CMD_BLOCK_LEN || cb->base + cb->size > 0x10000 ||
		    !kb->is_io || !kb->base || kb->size < ATA_NATIVE_CTL_OFF + 1 || kb->base + kb->size > 0x10000) {
			log_warn("ata: %02x:%02x.%x: %s channel is in native mode but BAR%u/BAR%u are not I/O ports; skipped",
				 pd->bus, pd->dev, pd->fn, ata_chan_names[ch], ATA_BAR_CMD(ch), ATA_BAR_CTL(ch));
			return false;
		}
		c->cmd = (u16)cb->base;
		c->ctl = (u16)(kb->base + ATA_NATIVE_CTL_OFF);
	} else {
		c->legacy = true;
		c->cmd = ch ? ATA_LEGACY_SEC_CMD : ATA_LEGACY_PRI_CMD;
		c->ctl = ch ? ATA_LEGACY_SEC_CTL : ATA_LEGACY_PRI_CTL;
	}
	if ((pd->progif & ATA_PROGIF_BUS_MASTER) && bm->is_io && bm->base && bm->size >= 2 * ATA_BM_CHANNEL_STRIDE &&
	    bm->base + bm->size <= 0x10000)
		c->bm = (u16)(bm->base + ch * ATA_BM_CHANNEL_STRIDE);
	return true;
}

/* Owns the compatibility-mode ports of both channels with the claimed
 * function: the guest loses the whole controller. */
static int ata_own_legacy(struct pci_dev *pd)
{
	for (unsigned ch = 0; ch < 2; ch++) {
		if (!(pd->progif & (ch ? ATA_PROGIF_SEC_NATIVE : ATA_PROGIF_PRI_NATIVE))) {
			int rc = pci_own_io(pd, ch ? ATA_LEGACY_SEC_CMD : ATA_LEGACY_PRI_CMD, ATA_CMD_BLOCK_LEN);
			if (rc == 0)
				rc = pci_own_io(pd, ch ? ATA_LEGACY_SEC_CTL : ATA_LEGACY_PRI_CTL, ATA_CTL_BLOCK_LEN);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* Sets up the found disk: picks DMA or PIO and checks DMA with one read.
 * id (in the bounce buffer) is overwritten. */
static int ata_disk_init(struct ata_disk *d, const struct ata_ident *ai, const u16 *id)
{
	d->sectors = ai->sectors;
	d->sector_size = ai->sector_size;
	d->lba48 = ai->lba48;
	d->ready = true;
	/* One command moves 65535 sectors (65536 would be written as 0, which
	 * some disks mishandle) or 256 without LBA48; the PRD table bounds the
	 * bytes (24 MiB); and the result is rounded to whole 4 KiB so split
	 * requests stay page-aligned.  512-byte sectors: 49152 with LBA48. */
	u64 max = MIN((u64)(d->lba48 ? ATA_LBA48_MAX_COUNT - 1 : ATA_LBA28_MAX_COUNT), ATA_MAX_REQ_BYTES / ai->sector_size);
	if (ai->sector_size < 4096)
		max = ALIGN_DOWN(max, 4096 / ai->sector_size);
	d->max_sectors = (u32)max;
	log_debug("ata: %s: multiword DMA %04x, Ultra DMA %04x (supported 7:0, selected 15:8)", d->where,
		  id[ATA_ID_MWDMA], id[ATA_ID_UDMA]);

	const char *mode = "bus-master DMA";
	ata_set_mode(d, d->ch.bm && ai->dma);
	if (!d->ch.bm) {
		mode = "PIO (the controller has no bus-master registers)";
	} else if (!ai->dma) {
		mode = "PIO (the disk does not do DMA)";
	} else {
		/* A drive or controller the firmware left without a DMA mode
		 * fails here (ata_dma has reset the channel then).  The last
		 * sector also proves the whole LBA width reaches the disk. */
		struct blk_seg seg = { virt_to_phys(d->bounce), d->sector_size };
		if (ata_fill_prdt(d, &seg, 1) < 0 || ata_dma(d, d->cmd_read, d->sectors - 1, 1, false) < 0) {
			if (!d->ready)
				return -E_IO;
			log_warn("ata: %s: a DMA read failed; using PIO", d->where);
			ata_set_mode(d, false);
			mode = "PIO (a DMA read failed)";
		}
	}

	ata_blk.info = (struct blk_info){
		.sectors = d->sectors,
		.sector_size = d->sector_size,
		.max_sectors = d->max_sectors,
		.read_only = false,
	};
	str_copy(ata_blk.info.model, ai->model, sizeof(ata_blk.info.model));
	str_copy(ata_blk.info.serial, ai->serial, sizeof(ata_blk.info.serial));
	log_info("ata: %s: \"%s\" serial \"%s\": %lu sectors (%lu MiB) of %u bytes, %s, %s, %u sectors per request",
		 d->where, ai->model, ai->serial, d->sectors, (d->sectors * d->sector_size) >> 20, d->sector_size,
		 d->lba48 ? "LBA48" : "LBA28", mode, d->max_sectors);
	return 0;
}

/* Looks for an ATA disk on one controller.  0 with *out set, -E_NOENT
 * when there is none (the controller stays the guest's), else an error. */
static int ata_try_controller(struct pci_dev *pd, struct blk_dev **out)
{
	struct ata_disk *d = &ata_disk;
	struct ata_chan chans[2];
	bool usable[2];
	u16 cmd = pci_read16(pd, PCI_COMMAND);

	for (unsigned ch = 0; ch < 2; ch++)
		usable[ch] = ata_chan_setup(pd, ch, &chans[ch]);
	char bm[16] = "none";
	if (chans[0].bm || chans[1].bm)
		fmt_snprintf(bm, sizeof(bm), "%x", (unsigned)pd->bar[ATA_BAR_BMIDE].base);
	log_info("ata: %02x:%02x.%x %04x:%04x IDE (progif %02x): primary %s %x/%x, secondary %s %x/%x, bus master %s",
		 pd->bus, pd->dev, pd->fn, pd->vendor, pd->device, pd->progif, chans[0].legacy ? "legacy" : "native",
		 chans[0].cmd, chans[0].ctl, chans[1].legacy ? "legacy" : "native", chans[1].cmd, chans[1].ctl, bm);
	if (!usable[0] && !usable[1])
		return -E_IO;

	void *mem = page_alloc(1 + ATA_BOUNCE_PAGES);
	if (!mem)
		return -E_NOMEM;
	if (virt_to_phys(mem) + (1 + ATA_BOUNCE_PAGES) * PAGE_SIZE > 4 * GiB) {
		log_err("ata: ferry's pool is above 4 GiB (%lx); bus-master IDE cannot reach it", virt_to_phys(mem));
		page_free(mem, 1 + ATA_BOUNCE_PAGES);
		return -E_NOMEM;
	}
	/* The probe talks to the ports before the function is claimed. */
	if (!(cmd & PCI_COMMAND_IO))
		pci_write16(pd, PCI_COMMAND, cmd | PCI_COMMAND_IO);

	*d = (struct ata_disk){ .prdt = mem, .bounce = (u8 *)mem + PAGE_SIZE };
	u16 *id = (u16 *)d->bounce;
	struct ata_ident ai;
	unsigned ch;
	for (ch = 0; ch < 2; ch++) {
		if (!usable[ch])
			continue;
		d->ch = chans[ch];
		d->chan = ch;
		if (ata_scan_chan(d, id, &ai) == 0)
			break;
	}
	if (ch == 2) {
		log_info("ata: no ATA disk on %02x:%02x.%x; the guest keeps it", pd->bus, pd->dev, pd->fn);
		for (ch = 0; ch < 2; ch++)
			if (usable[ch])
				ata_devctl(&chans[ch], 0); /* interrupts back on, as after power-up */
		pci_write16(pd, PCI_COMMAND, cmd);
		page_free(mem, 1 + ATA_BOUNCE_PAGES);
		return -E_NOENT;
	}

	pci_write16(pd, PCI_COMMAND, cmd); /* what pci_claim saves for a release */
	pci_claim(pd, "ata");
	int rc = ata_own_legacy(pd);
	if (rc < 0) {
		log_err("ata: cannot hide the legacy ports from the guest (%s); leaving the controller", err_name(rc));
		pci_release(pd);
		page_free(mem, 1 + ATA_BOUNCE_PAGES);
		return rc;
	}
	rc = ata_disk_init(d, &ai, id);
	if (rc < 0) {
		/* The disk hangs even after a reset: keep the controller hidden
		 * (and the pages, which it may still write) rather than hand the
		 * guest a device in an unknown state. */
		log_err("ata: %s: the disk is not usable; the controller stays hidden", d->where);
		return rc;
	}
	fmt_snprintf(ata_name, sizeof(ata_name), "ata0:%s-%s", ata_chan_names[d->chan], ata_unit_names[d->unit]);
	ata_blk.name = ata_name;
	ata_blk.ops = &ata_ops;
	ata_blk.priv = d;
	*out = &ata_blk;
	return 0;
}

static int ata_probe(struct blk_dev **out)
{
	int rc = -E_NOENT;
	struct pci_dev *pd;

	for (unsigned idx = 0; (pd = pci_find_class(ATA_PCI_CLASS, ATA_PCI_SUBCLASS, -1, idx)) != NULL; idx++) {
		if (pd->owner) {
			log_warn("ata: %02x:%02x.%x is already taken by %s", pd->bus, pd->dev, pd->fn, pd->owner);
			continue;
		}
		int r = ata_try_controller(pd, out);
		if (r == 0)
			return 0;
		if (r != -E_NOENT)
			rc = r;
	}
	if (rc == -E_NOENT)
		log_debug("ata: no IDE controller with an ATA disk");
	return rc;
}

const struct blk_driver ata_driver = {
	.name = "ata",
	.probe = ata_probe,
};
