/* Message-signalled interrupts of a function ferry owns, aimed at ferry's
 * own CPU (PCI Local Bus Spec 3.0, 6.8: MSI and MSI-X).  Only ferry's
 * devices: their configuration space and BARs, the MSI-X table among
 * them, are out of the guest's reach (platform/pci.h, "owned"). */
#ifndef FERRY_PCI_MSI_H
#define FERRY_PCI_MSI_H

#include "pci.h"

#define PCI_CAP_ID_MSI 0x05
#define PCI_CAP_ID_MSIX 0x11

enum pci_msi_kind { PCI_MSI = 0, PCI_MSIX = 1 };

/* Points one message of d at vector on this CPU (fixed delivery, edge,
 * physical destination): through its MSI capability when it has one and
 * want allows, else entry 0 of its MSI-X table (every other entry
 * masked).  INTx is disabled.  want: BIT(PCI_MSI), BIT(PCI_MSIX) or
 * both.  Returns the kind used, -E_NOTSUP when d has neither wanted
 * capability (nothing changed), -E_NOMEM when the table cannot be
 * mapped, -E_INVAL for a table outside its BAR. */
int pci_msi_route(struct pci_dev *d, u8 vector, unsigned want);

/* The offset of d's first capability with this ID, 0 when it has none. */
u8 pci_find_cap(const struct pci_dev *d, u8 id);

#endif
