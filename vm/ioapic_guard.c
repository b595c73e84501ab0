/* The guest's I/O APIC writes, checked (vm/ioapic_guard.h).  Registers:
 * Intel 82093AA datasheet, 3.0-3.2 (IOREGSEL at 00h, IOWIN at 10h; the
 * EOI register at 40h of later I/O APICs); the redirection entry's
 * delivery mode is bits 10:8 of its low dword. */
#include "ioapic_guard.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "x86/io.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define IOAPIC_VER 0x01 /* bits 23:16: the highest redirection entry */
#define IOAPIC_RTE_FIRST 0x10 /* redirection entry n: low dword 10h + 2n, high 11h + 2n */
#define RTE_DM_SHIFT 8
#define RTE_DM_MASK (7u << RTE_DM_SHIFT)
#define DM_FIXED 0u
#define DM_LOWEST 1u
#define DM_EXTINT 7u
#define RTE_MASKED BIT(16)

bool ioapic_guard_check(u32 sel, u32 val, bool ferry_irqs)
{
	sel &= 0xFF; /* IOREGSEL's register address is its low byte */
	if (sel < IOAPIC_RTE_FIRST || (sel - IOAPIC_RTE_FIRST) % 2)
		return true;
	u32 dm = (val & RTE_DM_MASK) >> RTE_DM_SHIFT;
	if (ferry_irqs && !(val & RTE_MASKED))
		return false;
	return dm == DM_FIXED || dm == DM_LOWEST || dm == DM_EXTINT;
}

static volatile u8 *ioapic;

static u64 guard_read(void *ctx, u64 off, unsigned size)
{
	(void)ctx;
	/* The page is readable: only an access the decoder could not map
	 * through (none today) would come here. */
	if (size != 4 || (off & 3))
		return ~0ULL;
	return mmio_rd32(ioapic, (u32)off);
}

static void guard_write(void *ctx, u64 off, unsigned size, u64 val)
{
	const struct vm *vm = ctx;
	if (size != 4 || (off & 0xF) || off > 0x40)
		return; /* the I/O APIC decodes aligned 32-bit registers only */
	if (off == IOWIN) {
		u32 sel = mmio_rd32(ioapic, IOREGSEL);
		if (!ioapic_guard_check(sel, (u32)val, vm->ferry_irqs)) {
			log_guest_warn("guest: I/O APIC redirection entry %u write %x refused (delivery mode %u: only "
				       "fixed, lowest priority and ExtINT%s)",
				       ((sel & 0xFF) - IOAPIC_RTE_FIRST) / 2, (u32)val,
				       ((u32)val & RTE_DM_MASK) >> RTE_DM_SHIFT,
				       vm->ferry_irqs ? "; on a server none unmasked: ferry takes this CPU's interrupts, the "
							"guest none" : "");
			return;
		}
	}
	mmio_wr32(ioapic, (u32)off, (u32)val);
}

unsigned ioapic_guard_mask_all(void)
{
	if (!ioapic)
		return 0;
	u32 sel = mmio_rd32(ioapic, IOREGSEL), masked = 0;
	mmio_wr32(ioapic, IOREGSEL, IOAPIC_VER);
	u32 max = (mmio_rd32(ioapic, IOWIN) >> 16) & 0xFF;
	for (u32 pin = 0; pin <= max; pin++) {
		mmio_wr32(ioapic, IOREGSEL, IOAPIC_RTE_FIRST + 2 * pin);
		u32 lo = mmio_rd32(ioapic, IOWIN);
		if (!(lo & RTE_MASKED)) {
			mmio_wr32(ioapic, IOWIN, lo | RTE_MASKED);
			masked++;
		}
	}
	mmio_wr32(ioapic, IOREGSEL, sel);
	return masked;
}

int ioapic_guard_attach(struct vm *vm, hpa_t base)
{
	ioapic = mmio_map(base, PAGE_SIZE);
	if (!ioapic)
		return -E_NOMEM;
	int rc = nested_map(vm, base, base, PAGE_SIZE, NESTED_R | NESTED_UC);
	if (rc < 0)
		return rc;
	const struct mmio_region r = { "I/O APIC", base, PAGE_SIZE, guard_read, guard_write, vm };
	return mmio_register(vm, &r);
}
