/* Bus-master IDE DMA (drivers/ata_dma.h): PRD tables from the request's
 * segments, one DMA command, and the bounce buffer for memory above
 * 4 GiB.  Completion is polled with nIEN set (see ata.c).
 *
 * References: BMIDE 1.0, "standard programming sequence"; ata.h. */
#include "ata_dma.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/time.h"

/* Fills the PRD table from segments below 4 GiB, splitting each at 64 KiB
 * boundaries.  Returns the number of PRDs or -E_INVAL. */
int ata_fill_prdt(struct ata_disk *d, const struct blk_seg *segs, unsigned nseg)
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
int ata_dma(struct ata_disk *d, u8 command, u64 lba, u32 count, bool write)
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

/* A request with memory above 4 GiB, by DMA through the bounce buffer, one
 * command per ATA_BOUNCE_BYTES. */
int ata_dma_bounce(struct ata_disk *d, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
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
