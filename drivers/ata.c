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
 * This file is the block back end and the probe; drivers/ata_chan.c
 * drives a channel (task file, PIO, IDENTIFY, recovery) and
 * drivers/ata_dma.c the bus master (ata_chan.h, ata_dma.h).
 *
 * References: ata.h and ata_id.h. */
#include "ata_dma.h"
#include "drivers.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/pci.h"
#include "lib/fmt.h"
#include "lib/string.h"

/* One disk's state: the driver serves one ATA disk, however many IDE
 * controllers the machine has (a second probe, for another export, is
 * refused: ata_probe). */
static struct ata_disk ata_disk;
static struct blk_dev ata_blk;
static char ata_name[32];
static bool ata_taken; /* ata_blk handed out */

static const char *const ata_chan_names[2] = { "primary", "secondary" };
static const char *const ata_unit_names[2] = { "master", "slave" };

/* ---- The block back end ------------------------------------------------- */

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

/* Resets d's channel and looks at both positions.  Returns 0 with d->unit
 * set, the IDENTIFY DEVICE data in id and parsed in *ai for the first ATA
 * disk ferry can address, -E_NOENT when there is none. */
static int ata_scan_chan(struct ata_disk *d, const char *want, u16 *id, struct ata_ident *ai)
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
			fmt_snprintf(ata_name, sizeof(ata_name), "ata0:%s-%s", chname, ata_unit_names[unit]);
			if (ata_id_parse(id, who, ai) == 0 && blk_take(want, ata_name))
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
 * id (in the bounce buffer) is overwritten.  Fails (-E_IO) only when that
 * read failed and the disk then stayed busy through a channel reset. */
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

/* One controller while it is probed. */
struct ata_ctrl {
	struct pci_dev *pd;
	struct ata_chan chans[2];
	bool usable[2]; /* the channel's ports are known (ata_chan_setup) */
	u16 cmd;        /* the command register as the firmware left it */
	void *mem;      /* the PRD table page, then the bounce buffer */
};
#define ATA_MEM_PAGES (1 + ATA_BOUNCE_PAGES)

/* Undoes the probe of a controller ferry will not use, claimed or not yet.
 *
 * Quiet (the probe reset channels and read IDENTIFY data by PIO, and any
 * DMA command it ran ended): every channel gets its interrupt back (nIEN
 * clear, as after power-up), the command register is the firmware's again
 * (pci_release restores it), the PRD table and bounce buffer go back to
 * the pool, and the guest gets the controller with whatever CD-ROM is on
 * it.
 *
 * Not quiet (the disk stayed busy through a channel reset after the probe's
 * DMA read): nobody can drive the disk, and the bus master may not have let
 * go of the PRD table and bounce buffer, so the controller stays claimed
 * and hidden with bus mastering off (pci_quarantine) and keeps the pages. */
static void ata_abandon(const struct ata_ctrl *c, bool quiet)
{
	if (!quiet) {
		pci_quarantine(c->pd, "ata: the disk stays busy after a channel reset");
		return;
	}
	for (unsigned ch = 0; ch < 2; ch++)
		if (c->usable[ch])
			ata_devctl(&c->chans[ch], 0);
	if (c->pd->owner)
		pci_release(c->pd);
	else
		pci_write16(c->pd, PCI_COMMAND, c->cmd);
	page_free(c->mem, ATA_MEM_PAGES);
}

/* The ports of both channels, logged; false when neither is usable. */
static bool ata_ctrl_setup(struct ata_ctrl *c)
{
	const struct pci_dev *pd = c->pd;
	const struct ata_chan *ch = c->chans;

	for (unsigned i = 0; i < 2; i++)
		c->usable[i] = ata_chan_setup(pd, i, &c->chans[i]);
	char bm[16] = "none";
	if (ch[0].bm || ch[1].bm)
		fmt_snprintf(bm, sizeof(bm), "%x", (unsigned)pd->bar[ATA_BAR_BMIDE].base);
	log_info("ata: %02x:%02x.%x %04x:%04x IDE (progif %02x): primary %s %x/%x, secondary %s %x/%x, bus master %s",
		 pd->bus, pd->dev, pd->fn, pd->vendor, pd->device, pd->progif, ch[0].legacy ? "legacy" : "native",
		 ch[0].cmd, ch[0].ctl, ch[1].legacy ? "legacy" : "native", ch[1].cmd, ch[1].ctl, bm);
	return c->usable[0] || c->usable[1];
}

/* Scans the usable channels for the first ATA disk: 0 with d set up to
 * reach it and its IDENTIFY data in id and *ai, else -E_NOENT. */
static int ata_find_disk(const struct ata_ctrl *c, const char *want, struct ata_disk *d, u16 *id,
			 struct ata_ident *ai)
{
	for (unsigned ch = 0; ch < 2; ch++) {
		if (!c->usable[ch])
			continue;
		d->ch = c->chans[ch];
		d->chan = ch;
		if (ata_scan_chan(d, want, id, ai) == 0)
			return 0;
	}
	return -E_NOENT;
}

/* Looks for an ATA disk on one controller.  0 with *out set, -E_NOENT
 * when there is none (the controller stays the guest's), else an error. */
static int ata_try_controller(struct pci_dev *pd, const char *want, struct blk_dev **out)
{
	struct ata_ctrl c = { .pd = pd, .cmd = pci_read16(pd, PCI_COMMAND) };
	struct ata_disk *d = &ata_disk;
	struct ata_ident ai;
	bool quiet = true;
	int rc;

	if (!ata_ctrl_setup(&c))
		return -E_IO;
	c.mem = page_alloc(ATA_MEM_PAGES);
	if (!c.mem)
		return -E_NOMEM;
	if (virt_to_phys(c.mem) + ATA_MEM_PAGES * PAGE_SIZE > 4 * GiB) {
		log_err("ata: ferry's pool is above 4 GiB (%lx); bus-master IDE cannot reach it", virt_to_phys(c.mem));
		page_free(c.mem, ATA_MEM_PAGES);
		return -E_NOMEM;
	}
	/* The probe talks to the ports before the function is claimed. */
	if (!(c.cmd & PCI_COMMAND_IO))
		pci_write16(pd, PCI_COMMAND, c.cmd | PCI_COMMAND_IO);

	*d = (struct ata_disk){ .prdt = c.mem, .bounce = (u8 *)c.mem + PAGE_SIZE };
	u16 *id = (u16 *)d->bounce;
	rc = ata_find_disk(&c, want, d, id, &ai);
	if (rc < 0) {
		log_info("ata: no ATA disk on %02x:%02x.%x; the guest keeps it", pd->bus, pd->dev, pd->fn);
		goto fail;
	}
	pci_write16(pd, PCI_COMMAND, c.cmd); /* what pci_claim saves for a release */
	pci_claim(pd, "ata");
	rc = ata_own_legacy(pd);
	if (rc < 0) {
		log_err("ata: cannot hide the legacy ports from the guest (%s); leaving the controller", err_name(rc));
		goto fail;
	}
	rc = ata_disk_init(d, &ai, id);
	if (rc < 0) {
		log_err("ata: %s: the disk is not usable; the controller stays hidden", d->where);
		goto fail_stuck;
	}
	ata_blk.name = ata_name;
	ata_blk.ops = &ata_ops;
	ata_blk.priv = d;
	*out = &ata_blk;
	return 0;

fail_stuck:
	quiet = false;
fail:
	ata_abandon(&c, quiet);
	return rc;
}

static int ata_probe(const char *want, struct blk_dev **out)
{
	int rc = -E_NOENT;
	struct pci_dev *pd;

	if (ata_taken) {
		/* Probing again would overwrite the disk handed out, turning two
		 * exports into one device. */
		if (want && !strncmp(want, "ata", 3)) {
			log_err("ata: %s is served already; the IDE driver serves one ATA disk, so %s cannot be a "
				"second (use AHCI ports, virtio-blk or another driver for the other export)", ata_name, want);
			return -E_EXIST;
		}
		return -E_NOENT;
	}

	for (unsigned idx = 0; (pd = pci_find_class(ATA_PCI_CLASS, ATA_PCI_SUBCLASS, -1, idx)) != NULL; idx++) {
		if (pd->owner) {
			log_warn("ata: %02x:%02x.%x is already taken by %s", pd->bus, pd->dev, pd->fn, pd->owner);
			continue;
		}
		int r = ata_try_controller(pd, want, out);
		if (r == 0) {
			ata_taken = true;
			return 0;
		}
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