/* AHCI disk driver.
 *
 * ferry takes the machine's first AHCI controller for itself and executes
 * its guest's block commands on the first ATA disk behind it.  One command
 * slot (0) and one command table serve every request; completion is
 * polled, interrupts stay off (GHC.IE = 0, PxIE = 0).  A request maps its
 * segment list straight into the PRDT: no bounce buffer, no allocation and
 * no logging above debug level on the normal path.
 *
 * References: AHCI 1.3.1 (sections given in ahci.h and below) and ACS-3 for
 * the ATA commands. */
#include "ahci.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/io.h"

/* Timeouts, in microseconds. */
#define AHCI_HR_US (1000 * 1000)          /* GHC.HR must clear within 1 s (3.1.2) */
#define AHCI_BOS_US (25 * 1000)           /* BIOS releases BOHC.BOS (10.6) */
#define AHCI_BB_US (2000 * 1000)          /* ... or within 2 s if it set BB */
#define AHCI_STOP_US (500 * 1000)         /* PxCMD.CR / FR clear (10.1.2) */
#define AHCI_LINK_US (1000 * 1000)        /* PxSSTS.DET reaches 3 */
#define AHCI_NO_LINK_US (50 * 1000)       /* DET still 0 this long: nothing attached */
#define AHCI_READY_US (10 * 1000 * 1000)  /* BSY/DRQ clear after a reset (spin-up) */
#define AHCI_CMD_US (10 * 1000 * 1000)    /* one read, write or IDENTIFY */
#define AHCI_FLUSH_US (30 * 1000 * 1000)  /* FLUSH CACHE [EXT] */

/* The PRDT bound of ahci.h: a request of at most AHCI_MAX_REQ_BYTES split
 * over BLK_MAX_SEGS segments needs fewer than AHCI_PRDT_ENTRIES PRDs. */
#define AHCI_MAX_REQ_BYTES ((u64)(AHCI_PRDT_ENTRIES - BLK_MAX_SEGS) * AHCI_PRD_MAX_BYTES)
_Static_assert(AHCI_PRDT_ENTRIES > BLK_MAX_SEGS, "PRDT must exceed the segment count");

/* Everything the HBA reaches by DMA for the port, in one allocation. */
struct ahci_dma {
	struct ahci_cmd_header cmd_list[AHCI_CMD_LIST_SLOTS]; /* 1 KiB aligned */
	struct ahci_rx_fis rx_fis;                            /* 256-byte aligned */
	u16 ident[ATA_ID_WORDS];                              /* IDENTIFY data */
	u8 pad[0x100];
	struct ahci_cmd_table cmd_table;                      /* 128-byte aligned */
};
_Static_assert(offsetof(struct ahci_dma, rx_fis) == 0x400, "received FIS placement");
_Static_assert(offsetof(struct ahci_dma, ident) == 0x500, "IDENTIFY buffer placement");
_Static_assert(offsetof(struct ahci_dma, cmd_table) == 0x800, "command table placement");
#define AHCI_DMA_PAGES ((sizeof(struct ahci_dma) + PAGE_SIZE - 1) / PAGE_SIZE)

struct ahci_hba {
	struct pci_dev *pci;
	volatile u8 *abar;
	u32 cap, cap2, pi, vs;
};

struct ahci_port {
	volatile u8 *regs; /* this port's register block */
	unsigned num;
	struct ahci_dma *dma;
	bool s64a;       /* CAP.S64A: PRDs may point above 4 GiB */
	bool lba48;
	bool ready;      /* PxCMD.ST set and the last command left the port sane */
	bool dead;       /* recovery failed twice: refuse everything */
	bool warned_4g;
	u8 cmd_read, cmd_write, cmd_flush;
	u64 sectors;
	u32 sector_size;
	u32 max_sectors;
};

static struct ahci_hba ahci_hba;
static struct ahci_port ahci_port;
static struct blk_dev ahci_blk;
static char ahci_name[24];

static inline u32 ahci_rd(const struct ahci_hba *hba, u32 reg) { return mmio_rd32(hba->abar, reg); }
static inline void ahci_wr(const struct ahci_hba *hba, u32 reg, u32 v) { mmio_wr32(hba->abar, reg, v); }
static inline u32 ahci_port_rd(const struct ahci_port *p, u32 reg) { return mmio_rd32(p->regs, reg); }
static inline void ahci_port_wr(const struct ahci_port *p, u32 reg, u32 v) { mmio_wr32(p->regs, reg, v); }

static inline volatile u8 *ahci_port_regs(const struct ahci_hba *hba, unsigned n)
{
	return hba->abar + AHCI_PORT_BASE + n * AHCI_PORT_STRIDE;
}

/* Read-modify-write of PxCMD that never writes ICC or CLO back. */
static void ahci_cmd_update(volatile u8 *regs, u32 set, u32 clear)
{
	u32 v = mmio_rd32(regs, AHCI_PxCMD) & ~(AHCI_PxCMD_ICC_MASK | AHCI_PxCMD_CLO);
	mmio_wr32(regs, AHCI_PxCMD, (v & ~clear) | set);
}
#define ahci_port_cmd(p, set, clear) ahci_cmd_update((p)->regs, set, clear)

/* Polls until (reg & mask) == want; false on timeout. */
static bool ahci_wait(volatile u8 *base, u32 reg, u32 mask, u32 want, u64 timeout_us)
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
static int ahci_port_recover(struct ahci_port *p, bool force_reset)
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
	if (rc < 0)
		log_err("ahci: port %u: recovery failed (PxCMD=%08x PxTFD=%08x PxSSTS=%08x PxSERR=%08x)", p->num,
			ahci_port_rd(p, AHCI_PxCMD), ahci_port_rd(p, AHCI_PxTFD), ahci_port_rd(p, AHCI_PxSSTS),
			ahci_port_rd(p, AHCI_PxSERR));
	else
		log_info("ahci: port %u: recovered", p->num);
	return rc;
}

/* ---- Commands ---------------------------------------------------------- */

static void ahci_set_fis(struct ahci_port *p, u8 command, u8 device, u64 lba, u32 count, bool ext)
{
	struct fis_reg_h2d *f = &p->dma->cmd_table.cfis.h2d;

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

/* Fills the PRDT from the segment list, splitting at 4 MiB.  Returns the
 * number of PRDs or -E_INVAL when the list breaks blk.h's rules. */
static int ahci_fill_prdt(struct ahci_port *p, const struct blk_seg *segs, unsigned nseg, u64 bytes)
{
	struct ahci_prd *prd = p->dma->cmd_table.prdt;
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
			prd[n].dba = (u32)a; /* bit 0 clear: a is a multiple of 4 */
			prd[n].dbau = (u32)(a >> 32);
			prd[n].rsvd = 0;
			prd[n].dbc = chunk - 1; /* chunk even, so bit 0 is set */
			n++;
			a += chunk;
			len -= chunk;
		}
	}
	return total == bytes ? (int)n : -E_INVAL;
}

/* Issues the command table in slot 0 and polls for completion. */
static int ahci_issue(struct ahci_port *p, bool write, unsigned nprd, u64 timeout_us)
{
	struct ahci_cmd_header *h = &p->dma->cmd_list[0];
	u8 command = p->dma->cmd_table.cfis.h2d.command;
	u32 is, tfd;
	int rc;

	h->info = (sizeof(struct fis_reg_h2d) / 4) | (write ? AHCI_CMDH_W : 0) | ((u32)nprd << AHCI_CMDH_PRDTL_SHIFT);
	h->prdbc = 0;
	ahci_port_wr(p, AHCI_PxIS, ~0u);
	wmb(); /* header, FIS and PRDT are in memory before the HBA fetches them */
	ahci_port_wr(p, AHCI_PxCI, 1);

	u64 start = time_us();
	while (ahci_port_rd(p, AHCI_PxCI) & 1) {
		is = ahci_port_rd(p, AHCI_PxIS);
		if (is & AHCI_PxIS_ERRORS) {
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
	tfd = ahci_port_rd(p, AHCI_PxTFD);
	if (!(tfd & (ATA_STS_ERR | ATA_STS_BSY | ATA_STS_DRQ)))
		return 0;
	rc = -E_IO;
fail:
	is = ahci_port_rd(p, AHCI_PxIS);
	tfd = ahci_port_rd(p, AHCI_PxTFD);
	log_err("ahci: port %u: %s %s: PxIS=%08x PxTFD=%08x (STS=%02x ERR=%02x) PxSERR=%08x PxCI=%08x PxCMD=%08x",
		p->num, ata_cmd_name(command), rc == -E_TIMEDOUT ? "timed out" : "failed", is, tfd,
		tfd & AHCI_PxTFD_STS_MASK, (tfd >> AHCI_PxTFD_ERR_SHIFT) & AHCI_PxTFD_ERR_MASK,
		ahci_port_rd(p, AHCI_PxSERR), ahci_port_rd(p, AHCI_PxCI), ahci_port_rd(p, AHCI_PxCMD));
	ahci_port_recover(p, rc == -E_TIMEDOUT);
	return rc;
}

/* A port that failed recovery gets one more try at the next request. */
static int ahci_port_usable(struct ahci_port *p)
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

static int ahci_rw(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg, bool write)
{
	struct ahci_port *p = dev ? dev->priv : NULL;

	/* blk.h promises all of this; the driver still never trusts it with
	 * the disk's contents. */
	if (!p || !segs || nseg == 0 || nseg > BLK_MAX_SEGS || count == 0 || count > p->max_sectors ||
	    lba >= p->sectors || count > p->sectors - lba)
		return -E_INVAL;
	int rc = ahci_port_usable(p);
	if (rc < 0)
		return rc;
	int nprd = ahci_fill_prdt(p, segs, nseg, (u64)count * p->sector_size);
	if (nprd < 0)
		return nprd;
	if (p->lba48)
		ahci_set_fis(p, write ? p->cmd_write : p->cmd_read, ATA_DEV_LBA, lba, count, true);
	else
		ahci_set_fis(p, write ? p->cmd_write : p->cmd_read, ATA_DEV_LBA | ((lba >> 24) & 0xF), lba, count,
			     false);
	return ahci_issue(p, write, (unsigned)nprd, AHCI_CMD_US);
}

static int ahci_read(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return ahci_rw(dev, lba, count, segs, nseg, false);
}

static int ahci_write(struct blk_dev *dev, u64 lba, u32 count, const struct blk_seg *segs, unsigned nseg)
{
	return ahci_rw(dev, lba, count, segs, nseg, true);
}

static int ahci_flush(struct blk_dev *dev)
{
	struct ahci_port *p = dev ? dev->priv : NULL;
	if (!p)
		return -E_INVAL;
	int rc = ahci_port_usable(p);
	if (rc < 0)
		return rc;
	ahci_set_fis(p, p->cmd_flush, 0, 0, 0, false);
	return ahci_issue(p, false, 0, AHCI_FLUSH_US);
}

static const struct blk_ops ahci_ops = {
	.read = ahci_read,
	.write = ahci_write,
	.flush = ahci_flush,
};

/* ---- IDENTIFY DEVICE --------------------------------------------------- */

static int ahci_identify(struct ahci_port *p, struct blk_info *info)
{
	const u16 *id = p->dma->ident;
	struct blk_seg seg = { virt_to_phys(p->dma->ident), sizeof(p->dma->ident) };

	memset(p->dma->ident, 0, sizeof(p->dma->ident));
	int nprd = ahci_fill_prdt(p, &seg, 1, sizeof(p->dma->ident));
	if (nprd < 0)
		return nprd;
	ahci_set_fis(p, ATA_CMD_IDENTIFY_DEVICE, 0, 0, 0, false);
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
	log_info("ahci: port %u: \"%s\" serial \"%s\": %lu sectors (%lu MiB) of %u bytes, %s, %u sectors per request",
		 p->num, info->model, info->serial, sectors, (sectors * ss) >> 20, ss,
		 p->lba48 ? "LBA48" : "LBA28", p->max_sectors);
	return 0;
}

/* ---- Controller and port bring-up -------------------------------------- */

/* Sets GHC.AE (3.1.2), retrying: some HBAs need it written more than once.
 * Also keeps GHC.IE clear. */
static int ahci_enable(const struct ahci_hba *hba)
{
	for (unsigned i = 0; i < 5; i++) {
		u32 ghc = ahci_rd(hba, AHCI_GHC);
		if ((ghc & AHCI_GHC_AE) && !(ghc & AHCI_GHC_IE))
			return 0;
		ahci_wr(hba, AHCI_GHC, (ghc & ~(AHCI_GHC_HR | AHCI_GHC_IE)) | AHCI_GHC_AE);
		udelay(10 * 1000);
	}
	return (ahci_rd(hba, AHCI_GHC) & AHCI_GHC_AE) ? 0 : -E_IO;
}

/* BIOS/OS handoff (10.6): ask for ownership, give the BIOS 25 ms to let go
 * and 2 s more if it says it is busy.  A BIOS that never answers does not
 * stop ferry. */
static void ahci_bios_handoff(const struct ahci_hba *hba)
{
	u32 bohc = ahci_rd(hba, AHCI_BOHC);
	ahci_wr(hba, AHCI_BOHC, (bohc & ~AHCI_BOHC_OOC) | AHCI_BOHC_OOS);
	if (!ahci_wait(hba->abar, AHCI_BOHC, AHCI_BOHC_BOS, 0, AHCI_BOS_US) &&
	    (ahci_rd(hba, AHCI_BOHC) & AHCI_BOHC_BB))
		ahci_wait(hba->abar, AHCI_BOHC, AHCI_BOHC_BOS | AHCI_BOHC_BB, 0, AHCI_BB_US);
	bohc = ahci_rd(hba, AHCI_BOHC);
	if (bohc & AHCI_BOHC_BOS)
		log_warn("ahci: the BIOS did not release the controller (BOHC=%08x); taking it anyway", bohc);
	else
		log_debug("ahci: BIOS/OS handoff done (BOHC=%08x)", bohc);
}

/* HBA reset (10.4.3).  HR also resets the write-once CAP/PI fields the
 * firmware set, so they are written back afterwards. */
static int ahci_hba_reset(struct ahci_hba *hba)
{
	ahci_wr(hba, AHCI_GHC, (ahci_rd(hba, AHCI_GHC) & ~AHCI_GHC_IE) | AHCI_GHC_AE | AHCI_GHC_HR);
	if (!ahci_wait(hba->abar, AHCI_GHC, AHCI_GHC_HR, 0, AHCI_HR_US)) {
		log_err("ahci: HBA reset did not complete (GHC=%08x)", ahci_rd(hba, AHCI_GHC));
		return -E_TIMEDOUT;
	}
	if (ahci_enable(hba) < 0) {
		log_err("ahci: GHC.AE does not stick after reset (GHC=%08x)", ahci_rd(hba, AHCI_GHC));
		return -E_IO;
	}
	ahci_wr(hba, AHCI_CAP, hba->cap);
	ahci_wr(hba, AHCI_PI, hba->pi);
	if (hba->cap2)
		ahci_wr(hba, AHCI_CAP2, hba->cap2);
	return 0;
}

/* After the reset every port with a device redoes link setup: wait until
 * each reports DET = 3, or DET = 0 for long enough to mean "empty". */
static void ahci_wait_links(const struct ahci_hba *hba, u32 ports)
{
	u64 start = time_us();
	for (;;) {
		u64 waited = time_us() - start;
		u32 pending = 0;
		for (unsigned n = 0; n < AHCI_MAX_PORTS; n++) {
			if (!(ports & BIT(n)))
				continue;
			u32 det = mmio_rd32(ahci_port_regs(hba, n), AHCI_PxSSTS) & AHCI_PxSSTS_DET_MASK;
			if (det == AHCI_PxSSTS_DET_PRESENT || det == AHCI_PxSSTS_DET_OFFLINE ||
			    (det == AHCI_PxSSTS_DET_NONE && waited >= AHCI_NO_LINK_US))
				continue;
			pending |= (u32)BIT(n);
		}
		if (!pending || waited >= AHCI_LINK_US)
			return;
		udelay(1000);
	}
}

/* Port bring-up (10.1.2, 10.3).  Returns 0 with the port running and the
 * disk identified, -E_NOENT when there is nothing to serve, or an error
 * with both engines stopped.  *quiet is false when an engine would not
 * stop, so the DMA memory must not be reused or freed. */
static int ahci_port_try(struct ahci_port *p, bool *quiet)
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
	hpa_t ctba = virt_to_phys(&p->dma->cmd_table);
	memset(p->dma, 0, sizeof(*p->dma));
	p->dma->cmd_list[0].ctba = (u32)ctba;
	p->dma->cmd_list[0].ctbau = (u32)(ctba >> 32);
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
	rc = ahci_identify(p, &ahci_blk.info);
	if (rc == 0)
		return 0;
stop:
	p->ready = false;
	if (ahci_port_stop_cmd(p) < 0 || ahci_port_stop_fis(p) < 0)
		*quiet = false;
	return rc;
}

static int ahci_probe(struct blk_dev **out)
{
	struct pci_dev *pd = pci_find_class(AHCI_PCI_CLASS, AHCI_PCI_SUBCLASS, AHCI_PCI_PROGIF, 0);
	struct ahci_hba *hba = &ahci_hba;
	struct ahci_port *p = &ahci_port;
	int rc;

	if (!pd) {
		log_debug("ahci: no AHCI controller");
		return -E_NOENT;
	}
	if (pd->owner) {
		log_warn("ahci: %02x:%02x.%x is already taken by %s", pd->bus, pd->dev, pd->fn, pd->owner);
		return -E_EXIST;
	}
	const struct pci_bar *bar = &pd->bar[AHCI_PCI_ABAR];
	if (bar->is_io || bar->base == 0 || bar->size < AHCI_PORT_BASE + AHCI_PORT_STRIDE) {
		log_err("ahci: %02x:%02x.%x: ABAR (BAR5) is missing or not memory", pd->bus, pd->dev, pd->fn);
		return -E_IO;
	}
	pci_claim(pd, "ahci");
	*hba = (struct ahci_hba){ .pci = pd, .abar = mmio_map(bar->base, bar->size) };
	if (!hba->abar)
		return -E_NOMEM;

	if (ahci_enable(hba) < 0) {
		log_err("ahci: GHC.AE does not stick (GHC=%08x)", ahci_rd(hba, AHCI_GHC));
		return -E_IO;
	}
	hba->cap = ahci_rd(hba, AHCI_CAP);
	hba->pi = ahci_rd(hba, AHCI_PI);
	hba->vs = ahci_rd(hba, AHCI_VS);
	hba->cap2 = hba->vs >= 0x00010200 ? ahci_rd(hba, AHCI_CAP2) : 0; /* CAP2 is new in 1.2 */
	if (hba->cap2 & AHCI_CAP2_BOH)
		ahci_bios_handoff(hba);
	rc = ahci_hba_reset(hba);
	if (rc < 0)
		return rc;
	ahci_wr(hba, AHCI_IS, ~0u);

	u32 ports = hba->pi;
	if (!ports) {
		ports = (u32)(BIT((hba->cap & AHCI_CAP_NP_MASK) + 1) - 1);
		log_warn("ahci: PI is 0; assuming ports from CAP.NP (%08x)", ports);
	}
	u64 nregs = (bar->size - AHCI_PORT_BASE) / AHCI_PORT_STRIDE;
	if (nregs < AHCI_MAX_PORTS)
		ports &= (u32)(BIT(nregs) - 1);
	log_info("ahci: %02x:%02x.%x %04x:%04x AHCI %u.%u, ports %08x, %u slots, %s-bit DMA", pd->bus, pd->dev,
		 pd->fn, pd->vendor, pd->device, hba->vs >> 16, (hba->vs >> 8) & 0xFF, ports,
		 ((hba->cap >> AHCI_CAP_NCS_SHIFT) & AHCI_CAP_NCS_MASK) + 1, (hba->cap & AHCI_CAP_S64A) ? "64" : "32");

	/* With staggered spin-up, ports stay silent until PxCMD.SUD is set. */
	for (unsigned n = 0; n < AHCI_MAX_PORTS; n++) {
		if (!(ports & BIT(n)))
			continue;
		volatile u8 *regs = ahci_port_regs(hba, n);
		u32 cmd = mmio_rd32(regs, AHCI_PxCMD);
		u32 want = ((hba->cap & AHCI_CAP_SSS) ? AHCI_PxCMD_SUD : 0) | ((cmd & AHCI_PxCMD_CPD) ? AHCI_PxCMD_POD : 0);
		if ((cmd & want) != want)
			ahci_cmd_update(regs, want, 0);
	}
	ahci_wait_links(hba, ports);

	struct ahci_dma *dma = page_alloc(AHCI_DMA_PAGES);
	if (!dma)
		return -E_NOMEM;
	if (!(hba->cap & AHCI_CAP_S64A) && virt_to_phys(dma + 1) > 4 * GiB) {
		log_err("ahci: DMA memory at %lx is above 4 GiB but the HBA lacks 64-bit DMA (CAP.S64A)", virt_to_phys(dma));
		page_free(dma, AHCI_DMA_PAGES);
		return -E_NOMEM;
	}
	rc = -E_NOENT;
	for (unsigned n = 0; n < AHCI_MAX_PORTS; n++) {
		if (!(ports & BIT(n)))
			continue;
		*p = (struct ahci_port){
			.regs = ahci_port_regs(hba, n),
			.num = n,
			.dma = dma,
			.s64a = hba->cap & AHCI_CAP_S64A,
		};
		bool quiet;
		int r = ahci_port_try(p, &quiet);
		if (r == 0) {
			fmt_snprintf(ahci_name, sizeof(ahci_name), "ahci0:port%u", n);
			ahci_blk.name = ahci_name;
			ahci_blk.ops = &ahci_ops;
			ahci_blk.priv = p;
			*out = &ahci_blk;
			return 0;
		}
		if (!quiet) {
			/* The HBA may still write there: never hand it out again. */
			log_err("ahci: leaving %zu DMA pages to port %u", (size_t)AHCI_DMA_PAGES, n);
			dma = page_alloc(AHCI_DMA_PAGES);
			if (!dma)
				return r;
		}
		if (r != -E_NOENT)
			rc = r;
	}
	page_free(dma, AHCI_DMA_PAGES);
	if (rc == -E_NOENT) {
		/* Nothing to serve: the guest may have the controller (its CD). */
		log_info("ahci: no ATA disk on %02x:%02x.%x", pd->bus, pd->dev, pd->fn);
		pci_release(pd);
	}
	return rc;
}

const struct blk_driver ahci_driver = {
	.name = "ahci",
	.probe = ahci_probe,
};
