/* vblk-irq: virtio-blk's MSI-X interrupts end to end.  ferry raises them as
 * self-IPIs on the local APIC this guest owns; here they arrive through the
 * guest's own IDT, as Linux's would:
 *
 *   - the MSI-X table programmed like Linux 6.1 does it (enable with the
 *     function masked, entries, unmask), vector 0x27 for configuration
 *     changes, 0x26 for queue 0, destination this CPU's APIC ID;
 *   - a read: one queue interrupt;
 *   - the queue's entry masked: a read, no interrupt, its PBA bit set;
 *     unmasking it delivers the latched interrupt;
 *   - a broken ring: a configuration interrupt (DEVICE_NEEDS_RESET).
 * Then the device goes back to being polled, interrupts off. */
#include "vblk_drv.h"
#include "kernel.h"
#include "lib/string.h"
#include "x86/io.h"

#define Q_VEC 0x26
#define CFG_VEC 0x27
#define LAPIC_ID 0x20
#define LAPIC_SVR 0xF0

static u8 buf[4096] __aligned(4096);

static volatile u32 *lapic(u32 reg) { return (volatile u32 *)(uintptr_t)(GUEST_LAPIC_BASE + reg); }
static volatile u32 *msix(struct vblk *v, u32 off) { return (volatile u32 *)(uintptr_t)(v->bar[2] + off); }

/* Lets a pending interrupt in (it arrives as the guest resumes anyway). */
static void settle(void)
{
	for (unsigned i = 0; i < 10000; i++)
		__asm__ volatile("pause");
}

static void msix_control(struct vblk *v, u16 ctl) { vblk_cfg_write((u16)(v->msix_cap + 2), 2, ctl); }

static int program_msix(struct vblk *v)
{
	if (!v->msix_cap || !v->bar[2] || paging_map_device(v->bar[2], 4096) < 0)
		return -E_NOENT;
	u32 dest = *lapic(LAPIC_ID) >> 24;
	msix_control(v, 0xC000); /* enable, function masked */
	static const u32 data[2] = { CFG_VEC, Q_VEC };
	for (u32 e = 0; e < 2; e++) {
		*msix(v, 16 * e) = GUEST_LAPIC_BASE | dest << 12; /* physical destination */
		*msix(v, 16 * e + 4) = 0;
		*msix(v, 16 * e + 8) = data[e]; /* fixed, edge */
		*msix(v, 16 * e + 12) = 0;
	}
	msix_control(v, 0x8000);
	return 0;
}

int vblk_cmd_irq(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct vblk *v = vblk_get();
	if (!v)
		return -E_NOENT;
	outb(0x21, 0xFF); /* the 8259s stay quiet: only the APIC's vectors */
	outb(0xA1, 0xFF);
	*lapic(LAPIC_SVR) = 0x1FF; /* APIC on, spurious vector 0xFF */
	if (guest_irq_install(Q_VEC) < 0 || guest_irq_install(CFG_VEC) < 0 || program_msix(v) < 0)
		return -E_NOENT;
	u8 st = vblk_setup_vectors(v->features, 0, 1);
	u32 q0 = guest_irq_count[Q_VEC], c0 = guest_irq_count[CFG_VEC];
	__asm__ volatile("sti");
	int r1 = vblk_request(VIRTIO_BLK_T_IN, 0, (u64)(uintptr_t)buf, sizeof(buf));
	settle();
	u32 after_read = guest_irq_count[Q_VEC] - q0;
	*msix(v, 16 + 12) = 1; /* mask the queue's vector */
	int r2 = vblk_request(VIRTIO_BLK_T_IN, 8, (u64)(uintptr_t)buf, sizeof(buf));
	settle();
	u32 while_masked = guest_irq_count[Q_VEC] - q0, pba = *msix(v, 0x800);
	*msix(v, 16 + 12) = 0;
	settle();
	u32 after_unmask = guest_irq_count[Q_VEC] - q0;
	vblk_offer(300); /* no such descriptor: NEEDS_RESET, configuration interrupt */
	vblk_kick();
	settle();
	u32 config = guest_irq_count[CFG_VEC] - c0;
	__asm__ volatile("cli");
	msix_control(v, 0);
	u8 st2 = vblk_setup(v->features);
	shell_printf(sh, "vblk-irq status=%02x read=%d/%u masked=%d/%u pba=%x unmasked=%u config=%u status=%02x", st, r1,
		     after_read, r2, while_masked, pba, after_unmask, config, st2);
	bool ok = r1 == VIRTIO_BLK_S_OK && after_read == 1 && r2 == VIRTIO_BLK_S_OK && while_masked == 1 && pba == 2 &&
		  after_unmask == 2 && config == 1 && (st2 & VIRTIO_STATUS_DRIVER_OK);
	return ok ? 0 : -E_IO;
}
