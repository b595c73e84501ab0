/* ferry's virtio-blk device: the virtio 1.2 PCI transport (common
 * configuration, notify, ISR and device configuration in BAR0; MSI-X in
 * BAR2) and its one request queue (docs/virtio-blk.md).
 *
 * A write to the notify register is the doorbell: it exits (BAR0 is never
 * mapped in the nested page tables), and the device then takes every
 * available request and starts it on the back end (virtio_blk_req.c).
 * A synchronous back end finishes it there and then; one with submit
 * (platform/blk.h) keeps up to VBLK_INFLIGHT requests in flight, and
 * vblk_poll, after every exit, returns those that finished.  Finished
 * requests go back on the used ring in the order they finish, with one
 * MSI-X interrupt for all that one doorbell or poll returned.  A request
 * still in flight when the driver resets the device is not returned: its
 * completion only frees its slot.  A ring ferry cannot trust
 * (virtq.c's errors, or a chain with nowhere to put its status) sets
 * DEVICE_NEEDS_RESET: the queue is not looked at again until the driver
 * resets the device, and a configuration interrupt tells it so. */
#include "virtio_blk.h"
#include "lib/virtio.h"
#include "vpci.h"
#include "platform/console.h"
#include "platform/pci.h"
#include "lib/string.h"

static struct vblk {
	struct vm *vm;
	const struct gmem *ram;
	struct blk_dev *dev;
	struct vpci_dev pci;
	struct msix msix;
	u8 pci_cfg_cap;           /* offset of the PCI_CFG capability */
	u64 features;             /* offered */
	u64 driver_features;      /* what the driver wrote */
	u32 dfselect, gfselect;
	u8 status, isr, generation;
	u16 msix_config;
	u16 queue_select;
	struct virtq vq;          /* queue 0 */
	bool q_enabled;
	u16 q_msix;
	struct vblk_stats stats;
	struct blk_req_stats moved;
	struct virtq_chain chain; /* the request being started */
	struct vblk_slot slot[VBLK_INFLIGHT];
	unsigned inflight;        /* busy slots */
	unsigned parts_inflight;  /* back-end requests they hold */
	unsigned completed;       /* returned since the last interrupt */
	u32 gen;                  /* counts resets: a slot of an older one is orphaned */
	u8 status_draining;       /* device_status while a reset waits for its orphans (draining) */
	bool no_notify;           /* the used ring asks the driver for no notifications */
	bool rescan;              /* the ring may hold requests no doorbell will announce */
} vb;

const struct vblk_stats *vblk_get_stats(void)
{
	vb.stats.bytes_read = vb.moved.bytes_read;
	vb.stats.bytes_written = vb.moved.bytes_written;
	return &vb.stats;
}

static bool active(void) { return (vb.status & VIRTIO_STATUS_DRIVER_OK) && !(vb.status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)); }

static void interrupt(u16 vector)
{
	if (vector == VIRTIO_MSI_NO_VECTOR)
		return;
	vb.stats.interrupts++;
	msix_signal(&vb.msix, vector);
}

/* The device gave up on its queue (virtio 1.2, 2.1.2): NEEDS_RESET, and a
 * configuration change notification. */
static void needs_reset(const char *why)
{
	vb.status |= VIRTIO_STATUS_NEEDS_RESET;
	vb.isr |= VIRTIO_ISR_CONFIG;
	if (vb.stats.needs_reset++ < 16)
		log_warn("virtio-blk: %s: device needs reset", why);
	interrupt(vb.msix_config);
}

/* A reset completes only when the old driver's requests in flight have
 * finished: until then the back end may still read their write data
 * from, and put their read data into, the old driver's pages, which the
 * next driver may be using.  So device_status reads non-zero (the value
 * before the reset) until then, as the driver must wait for 0 (virtio
 * 1.2, 4.1.4.3.2), and any other status written meanwhile is ignored. */
static bool draining(void) { return vb.status == 0 && vb.inflight > 0; }

static void reset(void)
{
	if (vb.inflight && vb.status)
		vb.status_draining = vb.status;
	vb.gen++; /* requests in flight are the old driver's: never returned */
	vb.completed = 0;
	vb.status = 0;
	vb.isr = 0;
	vb.driver_features = 0;
	vb.dfselect = vb.gfselect = 0;
	vb.msix_config = VIRTIO_MSI_NO_VECTOR;
	vb.queue_select = 0;
	vb.vq = (struct virtq){ .size = VIRTQ_MAX_SIZE };
	vb.q_enabled = false;
	vb.no_notify = vb.rescan = false;
	vb.q_msix = VIRTIO_MSI_NO_VECTOR;
}

/* One interrupt for every request returned since the last one, unless
 * the driver asked for none. */
static void signal_completions(void)
{
	if (vb.completed && virtq_want_interrupt(vb.ram, &vb.vq)) {
		vb.isr |= VIRTIO_ISR_QUEUE;
		interrupt(vb.q_msix);
	}
	vb.completed = 0;
}

/* A request finished (its blk_areq's done): back on the used ring, unless
 * the device was reset meanwhile; its slot is free again either way. */
static void slot_done(struct blk_areq *a)
{
	struct vblk_slot *s = a->ctx;
	if (s->counted)
		vb.parts_inflight -= s->a.nparts;
	vb.inflight--;
	s->busy = false;
	if (s->gen != vb.gen) {
		vb.stats.orphaned++;
		return;
	}
	u8 st = vblk_slot_status(s);
	*(volatile u8 *)gmem_ptr(vb.ram, s->status_gpa, 1) = st;
	vb.stats.requests++;
	if (st != VIRTIO_BLK_S_OK)
		vb.stats.errors++;
	virtq_push(vb.ram, &vb.vq, s->head, vblk_slot_used_len(s));
	vb.completed++;
}

/* A free slot, when the back end also has room for a request of the
 * most parts one may take. */
static struct vblk_slot *free_slot(void)
{
	if (vb.dev && vb.dev->ops->submit && vb.parts_inflight + BLK_AREQ_PARTS > vb.dev->queue_depth)
		return NULL;
	for (unsigned i = 0; i < VBLK_INFLIGHT; i++)
		if (!vb.slot[i].busy)
			return &vb.slot[i];
	return NULL;
}

/* While requests are in flight every exit polls the ring (vblk_poll), so
 * a notification would only add an exit: the used ring asks for none
 * until the last one finishes (the driver may notify all the same).  The
 * guest runs only between ferry's exits; when ferry asks again without
 * having looked at the ring (looked false: the device could not take
 * requests then, bus mastering off or DRIVER_OK gone), what the driver
 * added meanwhile had no doorbell, so the ring is looked at as soon as
 * the device can take requests (rescan). */
static void notify_hint(bool looked)
{
	bool want = vb.inflight == 0 || !active() || !vb.q_enabled;
	if (want == !vb.no_notify)
		return;
	vb.no_notify = !want;
	if (want && !looked)
		vb.rescan = true;
	if (vb.q_enabled)
		virtq_set_notify(vb.ram, &vb.vq, want);
}

/* Starts every available request, in order, while there is room; the
 * rest wait in the ring for vblk_poll.  A ring ferry cannot trust stops it
 * (NEEDS_RESET). */
static void process_queue(void)
{
	struct vblk_slot *s;
	vb.rescan = false;
	while ((s = free_slot())) {
		int n = virtq_pending(vb.ram, &vb.vq);
		if (n <= 0) {
			if (n < 0)
				needs_reset(virtq_err_name(n));
			break;
		}
		u16 head;
		int rc = virtq_pop(vb.ram, &vb.vq, &head);
		if (rc == 0)
			rc = virtq_walk(vb.ram, &vb.vq, head, &vb.chain);
		if (rc < 0) {
			needs_reset(virtq_err_name(rc));
			break;
		}
		*s = (struct vblk_slot){ .busy = true, .gen = vb.gen };
		s->a.done = slot_done;
		s->a.ctx = s;
		s->a.stats = &vb.moved;
		vb.inflight++;
		vb.stats.inflight_max = MAX(vb.stats.inflight_max, (u64)vb.inflight);
		if (vblk_start(vb.ram, vb.dev, &vb.chain, s, &vb.stats) < 0) {
			s->busy = false;
			vb.inflight--;
			needs_reset("a request without a writable status byte in guest RAM");
			break;
		}
		if (s->busy) { /* still in flight: its parts hold back-end room */
			s->counted = true;
			vb.parts_inflight += s->a.nparts;
		}
	}
	signal_completions();
	notify_hint(true);
}

unsigned vblk_poll(void)
{
	if (!vb.inflight && !vb.completed) {
		notify_hint(false); /* the last may have finished outside vblk_poll */
		if (!vb.rescan)
			return 0;
	}
	if (vb.inflight && vb.dev->ops->poll)
		vb.dev->ops->poll(vb.dev);
	unsigned n = vb.completed;
	if (active() && vb.q_enabled && vpci_bus_master(&vb.pci)) {
		process_queue();
	} else {
		signal_completions();
		notify_hint(false);
	}
	return n;
}

unsigned vblk_inflight(void)
{
	return vb.inflight;
}

static void notify(u64 val)
{
	vb.stats.notifies++;
	if (val != 0 || !active() || !vb.q_enabled || !vpci_bus_master(&vb.pci)) {
		vb.stats.ignored_notifies++;
		return;
	}
	process_queue();
}

/* ---- common configuration ------------------------------------------------- */

static u16 valid_vector(u64 v) { return v < vb.msix.n ? (u16)v : VIRTIO_MSI_NO_VECTOR; }

static u64 queue_read(u64 off, unsigned size)
{
	if (vb.queue_select != 0)
		return 0; /* no such queue: size 0 */
	switch (off) {
	case VIRTIO_COMMON_Q_SIZE: return vb.vq.size;
	case VIRTIO_COMMON_Q_MSIX: return vb.q_msix;
	case VIRTIO_COMMON_Q_ENABLE: return vb.q_enabled;
	case VIRTIO_COMMON_Q_NOFF: return 0;
	case VIRTIO_COMMON_Q_DESCLO: return size == 8 ? vb.vq.desc : (u32)vb.vq.desc;
	case VIRTIO_COMMON_Q_DESCHI: return vb.vq.desc >> 32;
	case VIRTIO_COMMON_Q_AVAILLO: return size == 8 ? vb.vq.avail : (u32)vb.vq.avail;
	case VIRTIO_COMMON_Q_AVAILHI: return vb.vq.avail >> 32;
	case VIRTIO_COMMON_Q_USEDLO: return size == 8 ? vb.vq.used : (u32)vb.vq.used;
	case VIRTIO_COMMON_Q_USEDHI: return vb.vq.used >> 32;
	default: return 0;
	}
}

static u64 common_read(u64 off, unsigned size)
{
	switch (off) {
	case VIRTIO_COMMON_DFSELECT: return vb.dfselect;
	case VIRTIO_COMMON_DF: return vb.dfselect < 2 ? (u32)(vb.features >> (32 * vb.dfselect)) : 0;
	case VIRTIO_COMMON_GFSELECT: return vb.gfselect;
	case VIRTIO_COMMON_GF: return vb.gfselect < 2 ? (u32)(vb.driver_features >> (32 * vb.gfselect)) : 0;
	case VIRTIO_COMMON_MSIX: return vb.msix_config;
	case VIRTIO_COMMON_NUMQ: return 1;
	case VIRTIO_COMMON_STATUS: return draining() ? (vb.status_draining ? vb.status_draining : VIRTIO_STATUS_FAILED) : vb.status;
	case VIRTIO_COMMON_CFGGEN: return vb.generation;
	case VIRTIO_COMMON_Q_SELECT: return vb.queue_select;
	default: return queue_read(off, size);
	}
}

/* A 64-bit queue address written whole or by halves. */
static void set_addr(gpa_t *a, u64 off, u64 base, unsigned size, u64 val)
{
	if (off == base && size == 8)
		*a = val;
	else if (off == base)
		*a = (*a & ~0xFFFFFFFFull) | (u32)val;
	else
		*a = (*a & 0xFFFFFFFFull) | (u64)(u32)val << 32;
}

static void queue_enable(void)
{
	if (vb.q_enabled)
		return;
	vb.q_enabled = true;
	vb.vq.last_avail = vb.vq.used_idx = 0;
	vb.no_notify = vb.rescan = false;
	if (virtq_check(vb.ram, &vb.vq) < 0)
		needs_reset("queue 0's rings are not in guest RAM or misaligned");
	else
		virtq_set_notify(vb.ram, &vb.vq, true); /* the used ring's flags are the device's */
}

static void queue_write(u64 off, unsigned size, u64 val)
{
	if (vb.queue_select != 0)
		return;
	if (off == VIRTIO_COMMON_Q_MSIX) {
		vb.q_msix = valid_vector(val);
		return;
	}
	if (vb.q_enabled)
		return; /* a live queue's layout is fixed until reset */
	switch (off) {
	case VIRTIO_COMMON_Q_SIZE:
		if (val && val <= VIRTQ_MAX_SIZE && !(val & (val - 1)))
			vb.vq.size = (u16)val;
		break;
	case VIRTIO_COMMON_Q_ENABLE:
		if (val == 1)
			queue_enable();
		break;
	case VIRTIO_COMMON_Q_DESCLO: case VIRTIO_COMMON_Q_DESCHI:
		set_addr(&vb.vq.desc, off, VIRTIO_COMMON_Q_DESCLO, size, val);
		break;
	case VIRTIO_COMMON_Q_AVAILLO: case VIRTIO_COMMON_Q_AVAILHI:
		set_addr(&vb.vq.avail, off, VIRTIO_COMMON_Q_AVAILLO, size, val);
		break;
	case VIRTIO_COMMON_Q_USEDLO: case VIRTIO_COMMON_Q_USEDHI:
		set_addr(&vb.vq.used, off, VIRTIO_COMMON_Q_USEDLO, size, val);
		break;
	}
}

/* Device status (virtio 1.2, 3.1.1): 0 resets; FEATURES_OK sticks only
 * for an acceptable feature set; NEEDS_RESET is the device's, until reset. */
static void status_write(u8 v)
{
	if (v == 0) {
		reset();
		return;
	}
	if (draining())
		return; /* the reset has not completed: the driver must wait for 0 */
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(vb.status & VIRTIO_STATUS_FEATURES_OK)) {
		bool ok = !(vb.driver_features & ~vb.features) && (vb.driver_features & BIT(VIRTIO_F_VERSION_1));
		if (!ok) {
			v &= (u8)~VIRTIO_STATUS_FEATURES_OK;
			log_info("virtio-blk: driver features %lx refused (offered %lx)", vb.driver_features, vb.features);
		}
		vb.vq.indirect = ok && (vb.driver_features & BIT(VIRTIO_F_INDIRECT_DESC));
	}
	vb.status = (u8)((v & ~VIRTIO_STATUS_NEEDS_RESET) | (vb.status & VIRTIO_STATUS_NEEDS_RESET));
}

static void common_write(u64 off, unsigned size, u64 val)
{
	switch (off) {
	case VIRTIO_COMMON_DFSELECT: vb.dfselect = (u32)val; break;
	case VIRTIO_COMMON_GFSELECT: vb.gfselect = (u32)val; break;
	case VIRTIO_COMMON_GF:
		if (vb.gfselect < 2 && !(vb.status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned shift = 32 * vb.gfselect;
			vb.driver_features = (vb.driver_features & ~(0xFFFFFFFFull << shift)) | (u64)(u32)val << shift;
		}
		break;
	case VIRTIO_COMMON_MSIX: vb.msix_config = valid_vector(val); break;
	case VIRTIO_COMMON_STATUS: status_write((u8)val); break;
	case VIRTIO_COMMON_Q_SELECT: vb.queue_select = (u16)val; break;
	default: queue_write(off, size, val); break;
	}
}

/* ---- device configuration (struct virtio_blk_config) ------------------------ */

static u64 devcfg_read(u64 off, unsigned size)
{
	u8 cfg[VBLK_DEVCFG_LEN];
	memset(cfg, 0, sizeof(cfg));
	const struct blk_info *in = &vb.dev->info;
	u64 cap = in->sectors * (in->sector_size / VIRTIO_BLK_SECTOR);
	u32 seg_max = VBLK_SEG_MAX, blk_size = in->sector_size;
	memcpy(cfg + VIRTIO_BLK_CFG_CAPACITY, &cap, 8);
	memcpy(cfg + VIRTIO_BLK_CFG_SEG_MAX, &seg_max, 4);
	memcpy(cfg + VIRTIO_BLK_CFG_BLK_SIZE, &blk_size, 4);
	u64 v = 0;
	if (off + size <= sizeof(cfg))
		memcpy(&v, cfg + off, size);
	return v;
}

/* ---- BAR0 -------------------------------------------------------------------- */

/* The driver uses each field's own width; anything else reads 0 and
 * writes nothing (8 bytes only for the queue addresses). */
static bool natural(u64 off, unsigned size)
{
	if (size == 8)
		return off == VIRTIO_COMMON_Q_DESCLO || off == VIRTIO_COMMON_Q_AVAILLO || off == VIRTIO_COMMON_Q_USEDLO;
	return off % size == 0 && off + size <= VIRTIO_COMMON_LEN;
}

static u64 bar0_read(void *ctx, u64 off, unsigned size)
{
	(void)ctx;
	u64 page = off & ~0xFFFull, in = off & 0xFFF;
	if (page == VBLK_BAR0_COMMON)
		return natural(in, size) ? common_read(in, size) : 0;
	if (page == VBLK_BAR0_ISR && in == 0) {
		u8 v = vb.isr; /* reading clears it */
		vb.isr = 0;
		return v;
	}
	if (page == VBLK_BAR0_DEVICE)
		return devcfg_read(in, size);
	return 0;
}

static void bar0_write(void *ctx, u64 off, unsigned size, u64 val)
{
	(void)ctx;
	u64 page = off & ~0xFFFull, in = off & 0xFFF;
	if (page == VBLK_BAR0_COMMON && natural(in, size))
		common_write(in, size, val);
	else if (page == VBLK_BAR0_NOTIFY && in == 0 && (size == 2 || size == 4))
		notify(val);
	/* The ISR and the device configuration are read-only. */
}

/* ---- the PCI function ----------------------------------------------------------- */

/* virtio's PCI_CFG capability: pci_cfg_data is a window of cap.length
 * (1, 2 or 4) bytes at cap.offset of BAR cap.bar. */
static bool pci_cfg_window(u8 *bar, u32 *off, u32 *len)
{
	const u8 *c = vb.pci.cfg + vb.pci_cfg_cap;
	*bar = c[VIRTIO_CAP_BAR];
	memcpy(off, c + VIRTIO_CAP_OFFSET, 4);
	memcpy(len, c + VIRTIO_CAP_LENGTH, 4);
	return *bar < 6 && (*len == 1 || *len == 2 || *len == 4) && *off % *len == 0;
}

static u32 cfgwin_read(void *ctx, u16 off, unsigned size)
{
	(void)ctx;
	u8 bar;
	u32 boff, len;
	if (!pci_cfg_window(&bar, &boff, &len))
		return 0;
	u32 v = (u32)vpci_bar_read(&vb.pci, bar, boff, len);
	v >>= 8 * (off - vb.pci_cfg_cap - VIRTIO_CAP_PCI_CFG_DATA);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void cfgwin_write(void *ctx, u16 off, unsigned size, u32 val)
{
	(void)ctx, (void)size;
	u8 bar;
	u32 boff, len;
	if (off == vb.pci_cfg_cap + VIRTIO_CAP_PCI_CFG_DATA && pci_cfg_window(&bar, &boff, &len))
		vpci_bar_write(&vb.pci, bar, boff, len, len == 4 ? val : val & ((1u << (8 * len)) - 1));
}

static u8 add_virtio_cap(u8 type, u8 bar, u32 offset, u32 length, u8 caplen, u32 extra)
{
	u8 cap[VIRTIO_CAP_PCI_CFG_LEN] = { PCI_CAP_ID_VNDR, 0, caplen, type, bar };
	memcpy(cap + VIRTIO_CAP_OFFSET, &offset, 4);
	memcpy(cap + VIRTIO_CAP_LENGTH, &length, 4);
	memcpy(cap + VIRTIO_CAP_NOTIFY_MULT, &extra, 4);
	return vpci_add_cap(&vb.pci, cap, caplen);
}

static int build_function(void)
{
	static const struct vpci_id id = { VIRTIO_PCI_VENDOR, VIRTIO_PCI_DEVICE_BLK, VIRTIO_PCI_MODERN_REVISION, 0x010000,
					   VIRTIO_PCI_VENDOR, VIRTIO_ID_BLOCK };
	struct vpci_dev *d = &vb.pci;
	vpci_init(d, vb.vm, &id);
	int rc = vpci_add_bar64(d, 0, VBLK_BAR0_SIZE, "virtio-blk registers", bar0_read, bar0_write, NULL);
	if (rc == 0)
		rc = vpci_add_bar64(d, 2, VBLK_BAR2_SIZE, "virtio-blk MSI-X", NULL, NULL, NULL);
	if (rc < 0 || !vpci_add_msix(d, &vb.msix, 2, VBLK_MSIX_TABLE, VBLK_MSIX_PBA))
		return -E_NOSPC;
	bool ok = add_virtio_cap(VIRTIO_PCI_CAP_COMMON_CFG, 0, VBLK_BAR0_COMMON, VIRTIO_COMMON_LEN, VIRTIO_CAP_LEN, 0) &&
		  add_virtio_cap(VIRTIO_PCI_CAP_NOTIFY_CFG, 0, VBLK_BAR0_NOTIFY, VBLK_NOTIFY_MULT, VIRTIO_CAP_NOTIFY_LEN,
				 VBLK_NOTIFY_MULT) &&
		  add_virtio_cap(VIRTIO_PCI_CAP_ISR_CFG, 0, VBLK_BAR0_ISR, 1, VIRTIO_CAP_LEN, 0) &&
		  add_virtio_cap(VIRTIO_PCI_CAP_DEVICE_CFG, 0, VBLK_BAR0_DEVICE, VBLK_DEVCFG_LEN, VIRTIO_CAP_LEN, 0);
	u8 pc = ok ? add_virtio_cap(VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, VIRTIO_CAP_PCI_CFG_LEN, 0) : 0;
	if (!pc)
		return -E_NOSPC;
	/* The driver picks the BAR, offset and length; the data window is ours. */
	vb.pci_cfg_cap = pc;
	vpci_writable(d, (u8)(pc + VIRTIO_CAP_BAR), 1);
	vpci_writable(d, (u8)(pc + VIRTIO_CAP_OFFSET), 8);
	d->hook_off = (u8)(pc + VIRTIO_CAP_PCI_CFG_DATA);
	d->hook_len = 4;
	d->hook_read = cfgwin_read;
	d->hook_write = cfgwin_write;
	return 0;
}

int vblk_attach(struct vm *vm, struct blk_dev *dev, const struct vblk_cfg *cfg)
{
	memset(&vb, 0, sizeof(vb));
	vb.vm = vm;
	vb.ram = &vm->ram;
	vb.dev = dev;
	vb.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_INDIRECT_DESC) | BIT(VIRTIO_BLK_F_SEG_MAX) |
		      BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) |
		      (dev->info.read_only ? BIT(VIRTIO_BLK_F_RO) : 0);
	msix_init(&vb.msix, VBLK_MSIX_VECTORS, cfg->send_msi);
	reset();
	int rc = build_function();
	if (rc < 0)
		return rc;
	vpci_place_bar(&vb.pci, 0, cfg->bar0);
	vpci_place_bar(&vb.pci, 2, cfg->bar2);
	vpci_set_command(&vb.pci, PCI_COMMAND_MEM);
	if (!vb.pci.bar[0].mapped || !vb.pci.bar[2].mapped)
		return -E_EXIST;
	return vpci_attach(&vb.pci, 0, cfg->slot, 0);
}
