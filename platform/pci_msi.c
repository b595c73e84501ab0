/* MSI and MSI-X for ferry's own devices (platform/pci_msi.h).  Layouts:
 * PCI Local Bus Spec 3.0, 6.8.1 (MSI: message control at +2, address at
 * +4, then the upper address when 64-bit capable, then the data) and
 * 6.8.2 (MSI-X: control at +2, table BIR and offset at +4; 16-byte
 * entries of address, upper address, data, vector control).  The message
 * itself: SDM Vol. 3A, 10.11 (address FEEx_xxxx, destination in 19:12;
 * data: the vector, delivery mode 0 fixed, trigger 0 edge). */
#include "pci_msi.h"
#include "lapic.h"
#include "mem.h"
#include "x86/io.h"

#define MSI_CTRL 2
#define MSI_CTRL_ENABLE BIT(0)
#define MSI_CTRL_MME (7u << 4) /* multiple messages enabled: 0 = one */
#define MSI_CTRL_64BIT BIT(7)
#define MSI_ADDR_LO 4
#define MSI_ADDR_HI 8
#define MSI_DATA_32 8  /* without 64-bit addresses */
#define MSI_DATA_64 12

#define MSIX_CTRL 2
#define MSIX_CTRL_SIZE(c) (((c) & 0x7FFu) + 1)
#define MSIX_CTRL_FMASK BIT(14)
#define MSIX_CTRL_ENABLE BIT(15)
#define MSIX_TABLE 4 /* BIR in 2:0, offset (8-byte aligned) above */
#define MSIX_ENTRY 16
#define MSIX_E_ADDR_LO 0
#define MSIX_E_ADDR_HI 4
#define MSIX_E_DATA 8
#define MSIX_E_CTRL 12
#define MSIX_E_MASKED BIT(0)
#define PCI_MSIX_MAX_ENTRIES 2048

#define PCI_CAPS_MAX 48 /* a looping list ends here */

u8 pci_find_cap(const struct pci_dev *d, u8 id)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	u8 ptr = pci_read8(d, PCI_CAP_PTR) & 0xFC;
	for (unsigned n = 0; ptr >= 0x40 && n < PCI_CAPS_MAX; n++) {
		if (pci_read8(d, ptr) == id)
			return ptr;
		ptr = pci_read8(d, ptr + 1) & 0xFC;
	}
	return 0;
}

static void intx_off(struct pci_dev *d)
{
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) | PCI_COMMAND_INTX_DISABLE);
}

static void msi_set(struct pci_dev *d, u8 cap, u32 addr, u16 data)
{
	u16 ctrl = pci_read16(d, cap + MSI_CTRL);
	pci_write16(d, cap + MSI_CTRL, (u16)(ctrl & ~(MSI_CTRL_ENABLE | MSI_CTRL_MME)));
	pci_write32(d, cap + MSI_ADDR_LO, addr);
	if (ctrl & MSI_CTRL_64BIT) {
		pci_write32(d, cap + MSI_ADDR_HI, 0);
		pci_write16(d, cap + MSI_DATA_64, data);
	} else {
		pci_write16(d, cap + MSI_DATA_32, data);
	}
	pci_write16(d, cap + MSI_CTRL, (u16)((ctrl & ~MSI_CTRL_MME) | MSI_CTRL_ENABLE));
}

static int msix_set(struct pci_dev *d, u8 cap, u32 addr, u16 data)
{
	u16 ctrl = pci_read16(d, cap + MSIX_CTRL);
	u32 tbl = pci_read32(d, cap + MSIX_TABLE);
	unsigned bir = tbl & 7, n = MSIX_CTRL_SIZE(ctrl);
	u64 off = tbl & ~7u, len = (u64)n * MSIX_ENTRY;
	const struct pci_bar *b = bir < 6 ? &d->bar[bir] : NULL;
	if (!b || b->is_io || !b->size || off + len > b->size || n > PCI_MSIX_MAX_ENTRIES)
		return -E_INVAL;
	volatile u8 *t = mmio_map(b->base + off, len);
	if (!t)
		return -E_NOMEM;
	/* Masked as a whole while the entries change (6.8.2.3). */
	pci_write16(d, cap + MSIX_CTRL, (u16)(ctrl | MSIX_CTRL_FMASK | MSIX_CTRL_ENABLE));
	for (unsigned i = 1; i < n; i++)
		mmio_wr32(t, i * MSIX_ENTRY + MSIX_E_CTRL, MSIX_E_MASKED);
	mmio_wr32(t, MSIX_E_CTRL, MSIX_E_MASKED);
	mmio_wr32(t, MSIX_E_ADDR_LO, addr);
	mmio_wr32(t, MSIX_E_ADDR_HI, 0);
	mmio_wr32(t, MSIX_E_DATA, data);
	mmio_wr32(t, MSIX_E_CTRL, 0);
	pci_write16(d, cap + MSIX_CTRL, (u16)((ctrl & ~MSIX_CTRL_FMASK) | MSIX_CTRL_ENABLE));
	return 0;
}

int pci_msi_route(struct pci_dev *d, u8 vector, unsigned want)
{
	u8 msi = want & BIT(PCI_MSI) ? pci_find_cap(d, PCI_CAP_ID_MSI) : 0;
	u8 msix = want & BIT(PCI_MSIX) ? pci_find_cap(d, PCI_CAP_ID_MSIX) : 0;
	u32 addr = LAPIC_MSI_ADDR_BASE | (u32)lapic_id() << 12;
	if (msi) {
		if (msix) /* one of the two at a time (6.8.2) */
			pci_write16(d, msix + MSIX_CTRL, pci_read16(d, msix + MSIX_CTRL) & (u16)~MSIX_CTRL_ENABLE);
		msi_set(d, msi, addr, vector);
		intx_off(d);
		return PCI_MSI;
	}
	if (!msix)
		return -E_NOTSUP;
	int rc = msix_set(d, msix, addr, vector);
	if (rc < 0)
		return rc;
	intx_off(d);
	return PCI_MSIX;
}
