/* MSI-X for a virtual PCI function (PCI Local Bus 3.0, 6.8.2): the vector
 * table and pending-bit array a BAR exposes, the function mask and enable
 * bits of the capability, and the rule that a masked vector's interrupt
 * is latched in the PBA and sent when it is unmasked.  Pure logic,
 * host-tested (tests/unit/test_msix.c); messages leave through send,
 * which ferry points at the local APIC (lapic_deliver_msi). */
#ifndef FERRY_MSIX_H
#define FERRY_MSIX_H

#include "lib/types.h"

#define MSIX_MAX_VECTORS 8
#define MSIX_ENTRY_SIZE 16
#define MSIX_ENTRY_ADDR_LO 0x0
#define MSIX_ENTRY_ADDR_HI 0x4
#define MSIX_ENTRY_DATA 0x8
#define MSIX_ENTRY_CTRL 0xC
#define MSIX_CTRL_MASKED BIT(0)

/* The capability (ID 0x11): message control, table and PBA offset/BIR. */
#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CAP_CONTROL 2          /* u16 */
#define MSIX_CAP_TABLE 4            /* u32: offset | BIR */
#define MSIX_CAP_PBA 8              /* u32: offset | BIR */
#define MSIX_CAP_LEN 12
#define MSIX_CONTROL_ENABLE BIT(15)
#define MSIX_CONTROL_MASK_ALL BIT(14)
#define MSIX_CONTROL_SIZE_MASK 0x7FF /* table size - 1 */

struct msix_entry {
	u32 addr_lo, addr_hi, data, ctrl;
};

struct msix {
	unsigned n;          /* vectors, 1..MSIX_MAX_VECTORS */
	struct msix_entry e[MSIX_MAX_VECTORS];
	u32 pending;         /* the PBA */
	bool enabled, mask_all;
	int (*send)(u64 addr, u32 data); /* 0, or why the message was refused */
	u64 sent, latched, dropped, refused;
	int last_refusal;    /* send's last error */
};

/* n vectors, all masked, MSI-X off (the state after a PCI reset). */
void msix_init(struct msix *m, unsigned n, int (*send)(u64 addr, u32 data));

/* The table (n entries of 16 bytes) and the PBA, each at offset 0 of its
 * own window: 4-byte accesses, or 8-byte ones at 8-byte offsets; anything
 * else reads 0 and is not written. */
u64 msix_table_read(const struct msix *m, u64 off, unsigned size);
void msix_table_write(struct msix *m, u64 off, unsigned size, u64 val);
u64 msix_pba_read(const struct msix *m, u64 off, unsigned size);

/* The capability's message control written: enable and function mask. */
void msix_control(struct msix *m, bool enable, bool mask_all);
/* The device raises vector: sent now, latched while masked, dropped when
 * MSI-X is off or the vector does not exist. */
void msix_signal(struct msix *m, unsigned vector);

#endif
