/* Emulated devices' interrupts (vm/virq.h). */
#include "virq.h"
#include "platform/acpi.h"
#include "platform/console.h"
#include "platform/ioapic.h"
#include "platform/lapic.h"

int virq_raise_isa(unsigned irq)
{
	u32 rte;
	if (irq >= ACPI_ISA_IRQS || ioapic_read_rte(acpi.isa_gsi[irq], &rte) < 0)
		return -E_NOENT;
	u32 mode = rte & IOAPIC_RTE_DELIVERY;
	if ((rte & IOAPIC_RTE_MASKED) || mode > (1u << 8))
		return -E_NOENT;
	int rc = lapic_self_ipi((u8)(rte & IOAPIC_RTE_VECTOR));
	if (rc < 0)
		log_warn("irq %u: the local APIC did not take vector %u (%s)", irq, rte & IOAPIC_RTE_VECTOR, err_name(rc));
	return rc;
}
