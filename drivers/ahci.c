/* AHCI disk driver: the controller.
 *
 * ferry takes the machine's first AHCI controller for itself and executes
 * its guest's block commands on the first ATA disk behind it (or the one
 * disk= names; a server with several exports takes a port for each, the
 * controller set up by the first probe).  This file takes the controller
 * (BIOS/OS handoff, HBA reset, spin-up and link bring-up) and scans its
 * ports; drivers/ahci_port.c runs each port that has a disk and is its
 * block back end, with drivers/ahci_queue.c keeping several commands in
 * flight.  Interrupts stay off (GHC.IE = 0, PxIE = 0): completion is
 * polled.
 *
 * References: AHCI 1.3.1 (sections given in ahci.h and below). */
#include "ahci_port.h"
#include "drivers.h"
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
#define AHCI_NO_LINK_US (50 * 1000)       /* DET still 0 this long: nothing attached */

struct ahci_hba {
	struct pci_dev *pci;
	volatile u8 *abar;
	u32 cap, cap2, pi, vs;
};

/* One controller; up to AHCI_DISKS of its ports, each a disk of its own
 * (a server may export several: one probe each). */
#define AHCI_DISKS 8
static struct ahci_hba ahci_hba;
static struct ahci_port ahci_port[AHCI_DISKS];
static struct blk_dev ahci_blk[AHCI_DISKS];
static char ahci_name[AHCI_DISKS][24];
static unsigned ahci_taken;      /* disks handed out */
static u32 ahci_ports_impl;      /* the controller's ports (the first probe's scan) */
static u32 ahci_ports_used;      /* ports serving one of them */

static inline u32 ahci_rd(const struct ahci_hba *hba, u32 reg) { return mmio_rd32(hba->abar, reg); }
static inline void ahci_wr(const struct ahci_hba *hba, u32 reg, u32 v) { mmio_wr32(hba->abar, reg, v); }

static inline volatile u8 *ahci_port_regs(const struct ahci_hba *hba, unsigned n)
{
	return hba->abar + AHCI_PORT_BASE + n * AHCI_PORT_STRIDE;
}

/* ---- Controller bring-up ------------------------------------------------ */

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

/* GHC.AE, then the capabilities and version, then the BIOS/OS handoff
 * where the HBA offers it.  Nothing of ferry's reaches the controller. */
static int ahci_hba_open(struct ahci_hba *hba)
{
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
	return 0;
}

/* The ports to look at: PI (3.1.4), or CAP.NP when the firmware left PI
 * 0, and only those whose registers lie inside the ABAR. */
static u32 ahci_ports(const struct ahci_hba *hba, const struct pci_bar *bar)
{
	const struct pci_dev *pd = hba->pci;
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
	return ports;
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

/* Powers and spins up every port (with staggered spin-up, ports stay
 * silent until PxCMD.SUD is set, 3.3.7) and waits for the links. */
static void ahci_spin_up(const struct ahci_hba *hba, u32 ports)
{
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
}

/* ---- Port scan ----------------------------------------------------------- */

/* What the scan leaves: the DMA block of the port tried last (NULL when
 * none could be had), and whether some port would not stop, keeping an
 * earlier block for good. */
struct ahci_scan {
	struct ahci_dma *dma;
	bool stuck;
};

/* A DMA block the HBA can reach: below 4 GiB without CAP.S64A. */
static struct ahci_dma *ahci_dma_alloc(const struct ahci_hba *hba)
{
	struct ahci_dma *dma = page_alloc(AHCI_DMA_PAGES);
	if (dma && !(hba->cap & AHCI_CAP_S64A) && virt_to_phys(dma + 1) > 4 * GiB) {
		log_err("ahci: DMA memory at %lx is above 4 GiB but the HBA lacks 64-bit DMA (CAP.S64A)", virt_to_phys(dma));
		page_free(dma, AHCI_DMA_PAGES);
		return NULL;
	}
	return dma;
}

/* A port disk= does not want is never started, so its signature (which
 * arrives only with FIS receive on) stays unknown: it is named to blk_take
 * when a device is attached at all. */
static void ahci_note_port(const struct ahci_hba *hba, unsigned n, const char *want, const char *name)
{
	if ((mmio_rd32(ahci_port_regs(hba, n), AHCI_PxSSTS) & AHCI_PxSSTS_DET_MASK) == AHCI_PxSSTS_DET_PRESENT)
		blk_take(want, name);
}

/* Tries the ports in order (only the one named want, when want is not
 * NULL) until one serves an ATA disk: 0 with ahci_port[ahci_taken]
 * running it, else the last error other than -E_NOENT (-E_NOENT when
 * every port was empty or held something else). */
static int ahci_scan_ports(const struct ahci_hba *hba, u32 ports, const char *want, struct ahci_scan *s)
{
	struct ahci_port *p = &ahci_port[ahci_taken];
	char *name = ahci_name[ahci_taken];
	int rc = -E_NOENT;

	*s = (struct ahci_scan){ .dma = ahci_dma_alloc(hba) };
	if (!s->dma)
		return -E_NOMEM;
	for (unsigned n = 0; n < AHCI_MAX_PORTS; n++) {
		if (!(ports & BIT(n)))
			continue;
		fmt_snprintf(name, sizeof(ahci_name[0]), "ahci0:port%u", n);
		if (want && strcmp(want, name)) {
			ahci_note_port(hba, n, want, name);
			continue;
		}
		*p = (struct ahci_port){
			.regs = ahci_port_regs(hba, n),
			.pci = hba->pci,
			.num = n,
			.dma = s->dma,
			.s64a = hba->cap & AHCI_CAP_S64A,
			.sncq = hba->cap & AHCI_CAP_SNCQ,
			.slots = (u8)(((hba->cap >> AHCI_CAP_NCS_SHIFT) & AHCI_CAP_NCS_MASK) + 1),
		};
		bool quiet;
		int r = ahci_port_attach(p, &ahci_blk[ahci_taken].info, &quiet);
		if (r == 0 && blk_take(want, name))
			return 0;
		if (!quiet) {
			/* The HBA may still write there: never hand it out again. */
			log_err("ahci: leaving %zu DMA pages to port %u", (size_t)AHCI_DMA_PAGES, n);
			s->stuck = true;
			s->dma = ahci_dma_alloc(hba);
			if (!s->dma)
				return r;
		}
		if (r != -E_NOENT)
			rc = r;
	}
	return rc;
}

/* ---- Probe --------------------------------------------------------------- */

/* Undoes a probe that failed after pci_claim.
 *
 * Quiet (the HBA was never reset, or was reset and every port ferry
 * started has stopped again): no port keeps a pointer to ferry's DMA
 * block, the block goes back to the pool and the controller to the guest,
 * which may have its CD-ROM on it.  Before the reset the controller is as
 * the firmware left it, which is what the guest would see without ferry.
 *
 * Not quiet (GHC.HR never cleared, or a port's engine would not stop): the
 * HBA may still be fetching commands or writing FISes, possibly into
 * ferry's pool, so it stays claimed and hidden with bus mastering off
 * (pci_quarantine), and its DMA blocks stay allocated. */
static void ahci_abandon(const struct ahci_hba *hba, u32 ports, struct ahci_dma *dma, bool quiet)
{
	const u32 running = AHCI_PxCMD_ST | AHCI_PxCMD_FRE | AHCI_PxCMD_CR | AHCI_PxCMD_FR;

	if (!quiet || hba->pci->quarantined) { /* a port's recovery may have quarantined it */
		pci_quarantine(hba->pci, "ahci: the controller may still be moving data");
		return;
	}
	for (unsigned n = 0; n < AHCI_MAX_PORTS; n++) {
		if (!(ports & BIT(n)))
			continue;
		volatile u8 *regs = ahci_port_regs(hba, n);
		if (mmio_rd32(regs, AHCI_PxCMD) & running)
			continue; /* cannot happen when quiet; never rewrite a live port's pointers */
		mmio_wr32(regs, AHCI_PxCLB, 0);
		mmio_wr32(regs, AHCI_PxCLBU, 0);
		mmio_wr32(regs, AHCI_PxFB, 0);
		mmio_wr32(regs, AHCI_PxFBU, 0);
	}
	if (dma)
		page_free(dma, AHCI_DMA_PAGES);
	pci_release(hba->pci);
}

/* The port ahci_scan_ports started, as the next disk handed out. */
static void ahci_hand_out(struct blk_dev **out)
{
	unsigned i = ahci_taken++;
	ahci_ports_used |= BIT(ahci_port[i].num);
	ahci_blk[i].name = ahci_name[i];
	ahci_blk[i].ops = &ahci_ops;
	ahci_blk[i].queue_depth = AHCI_QUEUE_HOLD;
	ahci_blk[i].priv = &ahci_port[i];
	*out = &ahci_blk[i];
}

/* Another disk of the controller ferry already runs: a port not serving
 * yet.  A failure leaves the controller and the ports it serves alone. */
static int ahci_probe_more(const char *want, struct blk_dev **out)
{
	struct ahci_scan scan;
	if (ahci_taken == AHCI_DISKS)
		return -E_NOENT;
	int rc = ahci_scan_ports(&ahci_hba, ahci_ports_impl & ~ahci_ports_used, want, &scan);
	if (rc < 0) {
		if (scan.dma)
			page_free(scan.dma, AHCI_DMA_PAGES); /* no port points at it (a stuck one's was left) */
		return rc;
	}
	ahci_hand_out(out);
	return 0;
}

static int ahci_probe(const char *want, struct blk_dev **out)
{
	struct pci_dev *pd = pci_find_class(AHCI_PCI_CLASS, AHCI_PCI_SUBCLASS, AHCI_PCI_PROGIF, 0);
	struct ahci_hba *hba = &ahci_hba;
	struct ahci_scan scan = { 0 };
	bool quiet = true;
	u32 ports = 0;
	int rc;

	if (!pd) {
		log_debug("ahci: no AHCI controller");
		return -E_NOENT;
	}
	if (pd->owner && ahci_taken && ahci_hba.pci == pd)
		return ahci_probe_more(want, out);
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
	if (!hba->abar) {
		rc = -E_NOMEM;
		goto fail;
	}
	rc = ahci_hba_open(hba);
	if (rc < 0)
		goto fail;
	rc = ahci_hba_reset(hba);
	if (rc == -E_TIMEDOUT)
		goto fail_stuck; /* GHC.HR never cleared */
	if (rc < 0)
		goto fail;
	ahci_wr(hba, AHCI_IS, ~0u);
	ports = ahci_ports(hba, bar);
	ahci_spin_up(hba, ports);

	rc = ahci_scan_ports(hba, ports, want, &scan);
	if (rc < 0 && scan.stuck)
		goto fail_stuck;
	if (rc < 0)
		goto fail;
	ahci_ports_impl = ports;
	ahci_hand_out(out);
	return 0;

fail_stuck:
	quiet = false;
fail:
	if (rc == -E_NOENT)
		log_info("ahci: no ATA disk on %02x:%02x.%x", pd->bus, pd->dev, pd->fn);
	ahci_abandon(hba, ports, scan.dma, quiet);
	return rc;
}

const struct blk_driver ahci_driver = {
	.name = "ahci",
	.probe = ahci_probe,
};
