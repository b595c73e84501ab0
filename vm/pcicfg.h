/* The guest's PCI configuration space, one view through two doors: the
 * CF8/CFC ports (vm/guest_io.c) and the PCIe ECAM windows of the MCFG
 * table (an MMIO region per window, pcicfg_map_ecam).  Both come here,
 * and the answer does not depend on the door:
 *
 *   - a virtual function (a device model's, pcicfg_add_vfn) answers from
 *     its model;
 *   - a function ferry owns reads as absent (all ones), writes dropped;
 *   - every other function is the real one, through ferry's own access
 *     (platform/pci.c: CF8/CFC, ECAM for offsets from 0x100).
 *
 * Accesses are 1, 2 or 4 bytes; one that crosses a dword boundary is done
 * byte by byte, an 8-byte ECAM access as two dwords. */
#ifndef FERRY_PCICFG_H
#define FERRY_PCICFG_H

#include "vm.h"
#include "platform/acpi.h"

/* Registers f (copied).  -E_EXIST when a real function or another virtual
 * one is at its address, -E_NOSPC when VM_MAX_VFN are registered. */
int pcicfg_add_vfn(struct vm *vm, const struct pci_vfn *f);
/* A device number on bus that no real function uses and no virtual one
 * either, searching from first upwards and wrapping; -E_NOSPC if none. */
int pcicfg_free_slot(const struct vm *vm, u8 bus, u8 first);

u32 pcicfg_read(struct vm *vm, u8 bus, u8 dev, u8 fn, u16 off, unsigned size);
void pcicfg_write(struct vm *vm, u8 bus, u8 dev, u8 fn, u16 off, unsigned size, u32 val);

/* Registers the ECAM windows of the MCFG table (acpi.ecam, segment 0) as
 * MMIO regions; vm_create leaves them unmapped. */
int pcicfg_map_ecam(struct vm *vm, const struct acpi_ecam *ecam, unsigned n);

#endif
