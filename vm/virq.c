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
	u32 vector = rte & IOAPIC_RTE_VECTOR;
	if ((rte & IOAPIC_RTE_MASKED) || mode > (1u << 8) || vector < 16) /* 0-15: illegal vectors */
		return -E_NOENT;
	int rc = lapic_send_self_ipi((u8)vector);
	if (rc < 0)
		log_guest_warn("irq %u: the local APIC did not take vector %u (%s)", irq, vector, err_name(rc));
	return rc;
}
