/* One AHCI port: its engines (10.3), COMRESET (10.4.2) and non-queued
 * error recovery (6.2.2.1), the synchronous commands, IDENTIFY DEVICE and
 * port bring-up, and the blk_ops over it.  A synchronous command runs in
 * slot 0 with its command table, once the queue (drivers/ahci_queue.c,
 * submit and poll) holds nothing: slot 0 and NCQ never mix.  Completion
 * is polled (PxIE = 0).  A request maps its segment list straight into
 * the PRDT: no bounce buffer, no allocation and no logging above debug
 * level on the normal path.
 *
 * References: AHCI 1.3.1 (sections given in ahci.h and below) and ACS-3 for
 * the ATA commands. */
#include "ahci_port.h"
#include "platform/config.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/io.h"

/* Timeouts, in microseconds. */
#define AHCI_STOP_US (500 * 1000)         /* PxCMD.CR / FR clear (10.1.2) */
#define AHCI_READY_US (10 * 1000 * 1000)  /* BSY/DRQ clear after a reset (spin-up) */

/* The PRDT bound of ahci.h: a request of at most AHCI_MAX_REQ_BYTES split
 * over BLK_MAX_SEGS segments needs fewer than AHCI_PRDT_ENTRIES PRDs. */
#define AHCI_MAX_REQ_BYTES ((u64)(AHCI_PRDT_ENTRIES - BLK_MAX_SEGS) * AHCI_PRD_MAX_BYTES)
_Static_assert(AHCI_PRDT_ENTRIES > BLK_MAX_SEGS, "PRDT must exceed the segment count");

static inline u32 ahci_port_rd(const struct ahci_port *p, u32 reg) { return mmio_rd32(p->regs, reg); }
static inline void ahci_port_wr(const struct ahci_port *p, u32 reg, u32 v) { mmio_wr32(p->regs, reg, v); }

void ahci_cmd_update(volatile u8 *regs, u32 set, u32 clear)
{
	u32 v = mmio_rd32(regs, AHCI_PxCMD) & ~(AHCI_PxCMD_ICC_MASK | AHCI_PxCMD_CLO);
	mmio_wr32(regs, AHCI_PxCMD, (v & ~clear) | set);
}
#define ahci_port_cmd(p, set, clear) ahci_cmd_update((p)->regs, set, clear)

bool ahci_wait(volatile u8 *base, u32 reg, u32 mask, u32 want, u64 timeout_us)
{
	u64 start = time_us();
	for (;;) {
		if ((mmio_rd32(base, reg) & mask) == want)
			return true;
		if (time_us() - start > timeout_us)
			return (mmio_rd32(base, reg) & mask) == want;
		udelay(10);
	}
}

static const char *ahci_sig_name(u32 sig)
{
	switch (sig) {
	case AHCI_SIG_ATA: return "ATA disk";
	case AHCI_SIG_ATAPI: return "ATAPI device";
	case AHCI_SIG_SEMB: return "enclosure bridge";
	case AHCI_SIG_PM: return "port multiplier";
	default: return "unknown device";
	}
}

/* ---- Port engines (10.3) and reset (10.4.2) ---------------------------- */

/* Clears PxCMD.ST and waits for the command list engine to stop. */
static int ahci_port_stop_cmd(const struct ahci_port *p)
{
	if (ahci_port_rd(p, AHCI_PxCMD) & AHCI_PxCMD_ST)
		ahci_port_cmd(p, 0, AHCI_PxCMD_ST);
	return ahci_wait(p->regs, AHCI_PxCMD, AHCI_PxCMD_CR, 0, AHCI_STOP_US) ? 0 : -E_TIMEDOUT;
}

/* Clears PxCMD.FRE and waits for the FIS receive engine to stop. */
static int ahci_port_stop_fis(const struct ahci_port *p)
{
	if (ahci_port_rd(p, AHCI_PxCMD) & AHCI_PxCMD_FRE)
		ahci_port_cmd(p, 0, AHCI_PxCMD_FRE);
	return ahci_wait(p->regs, AHCI_PxCMD, AHCI_PxCMD_FR, 0, AHCI_STOP_US) ? 0 : -E_TIMEDOUT;
}

static bool ahci_port_wait_ready(const struct ahci_port *p)
{
	return ahci_wait(p->regs, AHCI_PxTFD, ATA_STS_BSY | ATA_STS_DRQ, 0, AHCI_READY_US);
}

/* COMRESET (10.4.2); PxCMD.ST must be clear.  Leaves FRE as it was, so
 * the device's first D2H register FIS lands and updates PxTFD/PxSIG. */
static int ahci_port_comreset(const struct ahci_port *p)
{
	u32 sctl = ahci_port_rd(p, AHCI_PxSCTL) & ~AHCI_PxSCTL_DET_MASK;

	ahci_port_wr(p, AHCI_PxSCTL, sctl | AHCI_PxSCTL_DET_RESET);
	udelay(1000); /* keep DET = 1 at least 1 ms so COMRESET goes out */
	ahci_port_wr(p, AHCI_PxSCTL, sctl | AHCI_PxSCTL_DET_NONE);
	if (!ahci_wait(p->regs, AHCI_PxSSTS, AHCI_PxSSTS_DET_MASK, AHCI_PxSSTS_DET_PRESENT, AHCI_LINK_US))
		return -E_TIMEDOUT;
	ahci_port_wr(p, AHCI_PxSERR, ~0u);
	if (!ahci_port_wait_ready(p))
		return -E_TIMEDOUT;
	ahci_port_wr(p, AHCI_PxIS, ~0u);
	return 0;
}

/* Sets PxCMD.ST (10.3.1): only with FRE set, CR clear, BSY and DRQ clear. */
static int ahci_port_start(struct ahci_port *p)
{
	u32 cmd = ahci_port_rd(p, AHCI_PxCMD);
	if (!(cmd & AHCI_PxCMD_FRE) || (cmd & AHCI_PxCMD_CR) ||
	    (ahci_port_rd(p, AHCI_PxTFD) & (ATA_STS_BSY | ATA_STS_DRQ)))
		return -E_IO;
	ahci_port_cmd(p, AHCI_PxCMD_ST, 0);
	if (!(ahci_port_rd(p, AHCI_PxCMD) & AHCI_PxCMD_ST))
		return -E_IO; /* the HBA refused (e.g. could not reach PxCLB) */
	p->ready = true;
	return 0;
}

/* Non-queued error recovery (6.2.2.1): stop the command engine, clear the
 * error state, COMRESET when the device is still busy (or on a timeout,
 * where the command may still be in flight) and start again. */
int ahci_port_recover(struct ahci_port *p, bool force_reset)
{
	p->ready = false;
	int rc = ahci_port_stop_cmd(p);
	ahci_port_wr(p, AHCI_PxSERR, ~0u);
	ahci_port_wr(p, AHCI_PxIS, ~0u);
	if (rc < 0 || force_reset || (ahci_port_rd(p, AHCI_PxTFD) & (ATA_STS_BSY | ATA_STS_DRQ))) {
		rc = ahci_port_comreset(p);
		if (rc == 0 && (ahci_port_rd(p, AHCI_PxCMD) & AHCI_PxCMD_CR))
			rc = -E_TIMEDOUT;
	}
	if (rc == 0)
		rc = ahci_port_start(p);
	if (rc < 0) {
		log_err("ahci: port %u: recovery failed (PxCMD=%08x PxTFD=%08x PxSSTS=%08x PxSERR=%08x)", p->num,
			ahci_port_rd(p, AHCI_PxCMD), ahci_port_rd(p, AHCI_PxTFD), ahci_port_rd(p, AHCI_PxSSTS),
			ahci_port_rd(p, AHCI_PxSERR));
		/* An engine still running may still move data into buffers its
		 * callers get back (failed) next: bus mastering off stops it,
		 * for the whole controller. */
		if ((ahci_port_rd(p, AHCI_PxCMD) & (AHCI_PxCMD_CR | AHCI_PxCMD_FR)) && p->pci)
			pci_quarantine(p->pci, "ahci: a port's engine would not stop after a failed command");
	} else
		log_info("ahci: port %u: recovered", p->num);
	return rc;
}

/* ---- Commands ---------------------------------------------------------- */

void ahci_set_fis(struct ahci_cmd_table *t, u8 command, u8 device, u64 lba, u32 count, bool ext)
{
	struct fis_reg_h2d *f = &t->cfis.h2d;

	memset(f, 0, sizeof(*f));
	f->fis_type = FIS_TYPE_REG_H2D;
	f->flags = FIS_H2D_C;
	f->command = command;
	f->device = device;
	f->lba0 = (u8)lba;
	f->lba1 = (u8)(lba >> 8);
	f->lba2 = (u8)(lba >> 16);
	f->count = (u8)count;
	if (ext) {
		f->lba3 = (u8)(lba >> 24);
		f->lba4 = (u8)(lba >> 32);
		f->lba5 = (u8)(lba >> 40);
		f->count_exp = (u8)(count >> 8);
	}
}

void ahci_set_rw_fis(const struct ahci_port *p, struct ahci_cmd_table *t, bool write, u64 lba, u32 count)
{
	u8 command = write ? p->cmd_write : p->cmd_read;
	if (p->lba48)
		ahci_set_fis(t, command, ATA_DEV_LBA, lba, count, true);
	else
		ahci_set_fis(t, command, ATA_DEV_LBA | ((lba >> 24) & 0xF), lba, count, false);
}

/* Splits at 4 MiB.  Checking first (t NULL) is what lets the queue take
 * a request it can always issue later. */
int ahci_fill_prdt(struct ahci_port *p, struct ahci_cmd_table *t, const struct blk_seg *segs, unsigned nseg,
		   u64 bytes)
{
	struct ahci_prd *prd = t ? t->prdt : NULL;
	unsigned n = 0;
	u64 total = 0;

	for (unsigned i = 0; i < nseg; i++) {
		hpa_t a = segs[i].addr;
		u32 len = segs[i].len;
		if (len == 0 || ((a | len) & 3) || a + len < a)
			return -E_INVAL;
		if (!p->s64a && a + len > 4 * GiB) {
			if (!p->warned_4g)
				log_warn("ahci: port %u: buffer %lx+%x above 4 GiB but the HBA lacks 64-bit DMA (CAP.S64A)",
					 p->num, a, len);
			p->warned_4g = true;
			return -E_INVAL;
		}
		total += len;
		while (len) {
			u32 chunk = (u32)MIN(len, AHCI_PRD_MAX_BYTES);
			if (n == AHCI_PRDT_ENTRIES)
				return -E_INVAL;
			if (prd) {
				prd[n].dba = (u32)a; /* bit 0 clear: a is a multiple of 4 */
				prd[n].dbau = (u32)(a >> 32);
				prd[n].rsvd = 0;
				prd[n].dbc = chunk - 1; /* chunk even, so bit 0 is set */
			}
			n++;
			a += chunk;
			len -= chunk;
		}
	}
	return total == bytes ? (int)n : -E_INVAL;
}

void ahci_log_fail(const struct ahci_port *p, const char *what, int rc, const char *then)
{
	u32 tfd = ahci_port_rd(p, AHCI_PxTFD);
	log_err("ahci: port %u: %s %s%s: PxIS=%08x PxTFD=%08x (STS=%02x ERR=%02x) PxSERR=%08x PxSACT=%08x PxCI=%08x "
		"PxCMD=%08x", p->num, what, rc == -E_TIMEDOUT ? "timed out" : "failed", then, ahci_port_rd(p, AHCI_PxIS),
		tfd, tfd & AHCI_PxTFD_STS_MASK, (tfd >> AHCI_PxTFD_ERR_SHIFT) & AHCI_PxTFD_ERR_MASK,
		ahci_port_rd(p, AHCI_PxSERR), ahci_port_rd(p, AHCI_PxSACT), ahci_port_rd(p, AHCI_PxCI),
		ahci_port_rd(p, AHCI_PxCMD));
}

/* Issues the command table of slot 0 and polls for completion. */
static int ahci_issue(struct ahci_port *p, bool write, unsigned nprd, u64 timeout_us)
{
	struct ahci_cmd_header *h = &p->dma->cmd_list[0];
	u8 command = p->dma->cmd_table[0].cfis.h2d.command;
	int rc;

	h->info = ahci_cmdh_info(write, nprd);
	h->prdbc = 0;
	ahci_port_wr(p, AHCI_PxIS, ~0u);
	wmb(); /* header, FIS and PRDT are in memory before the HBA fetches them */
	ahci_port_wr(p, AHCI_PxCI, 1);

	u64 start = time_us();
	while (ahci_port_rd(p, AHCI_PxCI) & 1) {
		if (ahci_port_rd(p, AHCI_PxIS) & AHCI_PxIS_ERRORS) {
			rc = -E_IO;
			goto fail;
		}
		if (time_us() - start > timeout_us && (ahci_port_rd(p, AHCI_PxCI) & 1)) {
			rc = -E_TIMEDOUT;
			goto fail;
		}
		cpu_relax();
	}
	rmb(); /* the data and received FIS are read only after completion */
	if (!(ahci_port_rd(p, AHCI_PxTFD) & (ATA_STS_ERR | ATA_STS_BSY | ATA_STS_DRQ)))
		return 0;
	rc = -E_IO;
fail:
	ahci_log_fail(p, ata_cmd_name(command), rc, "");
	ahci_port_recover(p, rc == -E_TIMEDOUT);
	return rc;
}

/* A port that failed recovery gets one more try at the next request. */
int ahci_port_usable(struct ahci_port *p)
{
	if (p->ready)
		return 0;
	if (p->dead)
		return -E_IO;
	if (ahci_port_recover(p, true) == 0)
		return 0;
	p->dead = true;
	log_err("ahci: port %u: giving up on the disk; every request now fails", p->num);
	return -E_IO;
}

/* blk.h promises all of this; the driver still never trusts it with the
 * disk's contents. */
static bool ahci_rw_args_ok(const struct ahci_port *p, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return segs && nseg && nseg <= BLK_MAX_SEGS && count && count <= p->max_sectors && lba < p->sectors &&
	       count <= p->sectors - lba;
}

int ahci_check_rw(struct ahci_port *p, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	if (!ahci_rw_args_ok(p, lba, count, segs, nseg))
		return -E_INVAL;
	int nprd = ahci_fill_prdt(p, NULL, segs, nseg, (u64)count * p->sector_size);
	return nprd < 0 ? nprd : 0;
}

static int ahci_rw_alone(struct ahci_port *p, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg,
			 bool write)
{
	struct ahci_cmd_table *t = &p->dma->cmd_table[0];
	if (!ahci_rw_args_ok(p, lba, count, segs, nseg))
		return -E_INVAL;
	int rc = ahci_port_usable(p);
	if (rc < 0)
		return rc;
	int nprd = ahci_fill_prdt(p, t, segs, nseg, (u64)count * p->sector_size);
	if (nprd < 0)
		return nprd;
	ahci_set_rw_fis(p, t, write, lba, count);
	return ahci_issue(p, write, (unsigned)nprd, AHCI_CMD_US);
}

static int ahci_flush_alone(struct ahci_port *p)
{
	int rc = ahci_port_usable(p);
	if (rc < 0)
		return rc;
	ahci_set_fis(&p->dma->cmd_table[0], p->cmd_flush, 0, 0, 0, false);
	return ahci_issue(p, false, 0, AHCI_FLUSH_US);
}

/* The synchronous calls wait for whatever submit took first. */
static int ahci_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	struct ahci_port *p = dev ? dev->priv : NULL;
	if (!p)
		return -E_INVAL;
	ahci_queue_drain(p);
	return ahci_rw_alone(p, lba, count, segs, nseg, false);
}

static int ahci_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	struct ahci_port *p = dev ? dev->priv : NULL;
	if (!p)
		return -E_INVAL;
	ahci_queue_drain(p);
	return ahci_rw_alone(p, lba, count, segs, nseg, true);
}

static int ahci_flush(struct blk_dev *dev)
{
	struct ahci_port *p = dev ? dev->priv : NULL;
	if (!p)
		return -E_INVAL;
	ahci_queue_drain(p);
	return ahci_flush_alone(p);
}

const struct blk_ops ahci_ops = {
	.read = ahci_read,
	.write = ahci_write,
	.flush = ahci_flush,
	.submit = ahci_submit,
	.poll = ahci_poll,
};

/* ---- IDENTIFY DEVICE --------------------------------------------------- */

static int ahci_identify(struct ahci_port *p, struct blk_info *info)
{
	const u16 *id = p->dma->ident;
	struct blk_seg seg = { virt_to_phys(p->dma->ident), sizeof(p->dma->ident) };

	memset(p->dma->ident, 0, sizeof(p->dma->ident));
	int nprd = ahci_fill_prdt(p, &p->dma->cmd_table[0], &seg, 1, sizeof(p->dma->ident));
	if (nprd < 0)
		return nprd;
	ahci_set_fis(&p->dma->cmd_table[0], ATA_CMD_IDENTIFY_DEVICE, 0, 0, 0, false);
	int rc = ahci_issue(p, false, (unsigned)nprd, AHCI_CMD_US);
	if (rc < 0)
		return rc;

	char who[24];
	struct ata_ident ai;
	fmt_snprintf(who, sizeof(who), "ahci: port %u", p->num);
	rc = ata_id_parse(id, who, &ai);
	if (rc < 0)
		return rc;
	u64 sectors = ai.sectors;
	u32 ss = ai.sector_size;
	p->lba48 = ai.lba48;
	p->sectors = sectors;
	p->sector_size = ss;
	p->cmd_read = p->lba48 ? ATA_CMD_READ_DMA_EXT : ATA_CMD_READ_DMA;
	p->cmd_write = p->lba48 ? ATA_CMD_WRITE_DMA_EXT : ATA_CMD_WRITE_DMA;
	p->cmd_flush = p->lba48 ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
	/* One command moves 65535 sectors (not 65536, whose count field
	 * reads 0) or 256 without LBA48; the PRDT bound caps the bytes; and
	 * the result is rounded to whole 4 KiB so split requests stay
	 * page-aligned. */
	u64 max = MIN((u64)(p->lba48 ? ATA_LBA48_MAX_COUNT - 1 : ATA_LBA28_MAX_COUNT), AHCI_MAX_REQ_BYTES / ss);
	if (ss < 4096)
		max = ALIGN_DOWN(max, 4096 / ss);
	p->max_sectors = (u32)max;

	*info = (struct blk_info){
		.sectors = sectors,
		.sector_size = ss,
		.max_sectors = p->max_sectors,
		.read_only = false,
	};
	str_copy(info->model, ai.model, sizeof(info->model));
	str_copy(info->serial, ai.serial, sizeof(info->serial));
	ahci_queue_setup(p, id);
	char mode[48] = "no NCQ: one command at a time";
	if (!config.ncq)
		str_copy(mode, "NCQ off (ncq=off): one command at a time", sizeof(mode));
	if (p->ncq)
		fmt_snprintf(mode, sizeof(mode), "NCQ: %u commands in flight", p->depth);
	log_info("ahci: port %u: \"%s\" serial \"%s\": %lu sectors (%lu MiB) of %u bytes, %s, %u sectors per request, %s",
		 p->num, info->model, info->serial, sectors, (sectors * ss) >> 20, ss,
		 p->lba48 ? "LBA48" : "LBA28", p->max_sectors, mode);
	return 0;
}

/* ---- Port bring-up (10.1.2, 10.3) ------------------------------------- */

int ahci_port_attach(struct ahci_port *p, struct blk_info *info, bool *quiet)
{
	u32 ssts = ahci_port_rd(p, AHCI_PxSSTS);
	u32 det = ssts & AHCI_PxSSTS_DET_MASK;
	u32 ipm = (ssts >> AHCI_PxSSTS_IPM_SHIFT) & AHCI_PxSSTS_IPM_MASK;
	int rc;

	*quiet = true;
	if (det != AHCI_PxSSTS_DET_PRESENT || ipm != AHCI_PxSSTS_IPM_ACTIVE) {
		if (det != AHCI_PxSSTS_DET_NONE)
			log_info("ahci: port %u: link not usable (PxSSTS=%08x), skipped", p->num, ssts);
		return -E_NOENT;
	}

	/* Idle first: a port left running by the firmware keeps fetching. */
	if (ahci_port_stop_cmd(p) < 0 || ahci_port_stop_fis(p) < 0) {
		log_err("ahci: port %u: will not go idle (PxCMD=%08x), skipped", p->num, ahci_port_rd(p, AHCI_PxCMD));
		*quiet = false;
		return -E_TIMEDOUT;
	}

	hpa_t clb = virt_to_phys(p->dma->cmd_list), fb = virt_to_phys(&p->dma->rx_fis);
	memset(p->dma, 0, sizeof(*p->dma));
	for (unsigned s = 0; s < AHCI_CMD_LIST_SLOTS; s++) {
		hpa_t ctba = virt_to_phys(&p->dma->cmd_table[s]);
		p->dma->cmd_list[s].ctba = (u32)ctba;
		p->dma->cmd_list[s].ctbau = (u32)(ctba >> 32);
	}
	ahci_port_wr(p, AHCI_PxCLB, (u32)clb);
	ahci_port_wr(p, AHCI_PxCLBU, (u32)(clb >> 32));
	ahci_port_wr(p, AHCI_PxFB, (u32)fb);
	ahci_port_wr(p, AHCI_PxFBU, (u32)(fb >> 32));
	ahci_port_wr(p, AHCI_PxIE, 0);
	ahci_port_wr(p, AHCI_PxSERR, ~0u);
	ahci_port_wr(p, AHCI_PxIS, ~0u);
	/* Keep the link out of Partial/Slumber: PxSSTS.IPM stays "active". */
	u32 sctl = ahci_port_rd(p, AHCI_PxSCTL);
	u32 ipm_field = AHCI_PxSCTL_IPM_MASK << AHCI_PxSCTL_IPM_SHIFT;
	if ((sctl & ipm_field) != (AHCI_PxSCTL_IPM_NONE << AHCI_PxSCTL_IPM_SHIFT))
		ahci_port_wr(p, AHCI_PxSCTL, (sctl & ~ipm_field) | (AHCI_PxSCTL_IPM_NONE << AHCI_PxSCTL_IPM_SHIFT));
	wmb();
	ahci_port_cmd(p, AHCI_PxCMD_FRE, 0);

	/* The device's first D2H register FIS sets PxTFD and PxSIG; without
	 * it (BSY or DRQ still up, as in the reset value 7Fh) reset the link
	 * once and look again. */
	if (!ahci_port_wait_ready(p) && ahci_port_comreset(p) < 0) {
		log_err("ahci: port %u: device stays busy (PxTFD=%08x PxSSTS=%08x), skipped", p->num,
			ahci_port_rd(p, AHCI_PxTFD), ahci_port_rd(p, AHCI_PxSSTS));
		rc = -E_TIMEDOUT;
		goto stop;
	}
	ahci_port_wr(p, AHCI_PxSERR, ~0u);
	ahci_port_wr(p, AHCI_PxIS, ~0u);

	u32 sig = ahci_port_rd(p, AHCI_PxSIG);
	if (sig != AHCI_SIG_ATA) {
		log_info("ahci: port %u: %s (PxSIG=%08x) skipped", p->num, ahci_sig_name(sig), sig);
		rc = -E_NOENT;
		goto stop;
	}
	rc = ahci_port_start(p);
	if (rc < 0) {
		log_err("ahci: port %u: PxCMD.ST will not set (PxCMD=%08x PxTFD=%08x)", p->num,
			ahci_port_rd(p, AHCI_PxCMD), ahci_port_rd(p, AHCI_PxTFD));
		goto stop;
	}
	rc = ahci_identify(p, info);
	if (rc == 0)
		return 0;
stop:
	p->ready = false;
	if (ahci_port_stop_cmd(p) < 0 || ahci_port_stop_fis(p) < 0)
		*quiet = false;
	return rc;
}
