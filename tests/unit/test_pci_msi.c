/* MSI and MSI-X aimed at ferry's CPU (platform/pci_msi.c), on a fake
 * function whose configuration space holds an MSI capability (64-bit
 * addresses) at 0x40 and an MSI-X capability at 0x50, its table of four
 * entries at offset 0x100 of BAR 0, which here is a host buffer. */
#include "check.h"
#include "fake_bus.h"
#include "platform/lapic.h"
#include "platform/pci_msi.h"
#include "x86/io.h"

#define APIC_ID 3
#define VEC 0xE0
#define MSI_CAP 0x40
#define MSIX_CAP 0x50
#define TABLE_OFF 0x100
#define ENTRIES 4

u8 lapic_id(void) { return APIC_ID; }

static struct fake_pci_fn *fn;
static struct pci_dev dev;
static u32 bar0[(TABLE_OFF + ENTRIES * 16) / 4] __attribute__((aligned(16)));

static u32 cfg(u16 off) { return fake_pci_cfg32(fn, off); }
static u16 cfg16(u16 off) { return (u16)(cfg((u16)(off & ~3u)) >> ((off & 2) * 8)); }
static u32 *entry(unsigned i) { return &bar0[(TABLE_OFF + i * 16) / 4]; }

/* caps: BIT(0) MSI, BIT(1) MSI-X; table_size: the BAR's size. */
static void setup(unsigned caps, u64 table_size)
{
	fake_bus_reset();
	fn = fake_pci_add(0, 4, 0, 0x8086, 0x10D3, 0x02000000, 0);
	memset(bar0, 0xAB, sizeof(bar0));
	for (unsigned i = 0; i < ENTRIES; i++)
		entry(i)[3] = 1; /* masked, as after reset */
	u8 first = caps & 1 ? MSI_CAP : caps & 2 ? MSIX_CAP : 0;
	fn->cfg[PCI_COMMAND / 4] = (u32)PCI_STATUS_CAP_LIST << 16 | PCI_COMMAND_MEM;
	fn->cfg[PCI_CAP_PTR / 4] = first;
	if (caps & 1) /* 64-bit capable, 4 messages capable, disabled */
		fn->cfg[MSI_CAP / 4] = PCI_CAP_ID_MSI | (u32)(caps & 2 ? MSIX_CAP : 0) << 8 | (u32)(0x80 | 2 << 1) << 16;
	if (caps & 2) /* 4 entries, table in BAR 0 at TABLE_OFF */
		fn->cfg[MSIX_CAP / 4] = PCI_CAP_ID_MSIX | (u32)(ENTRIES - 1) << 16;
	fn->cfg[MSIX_CAP / 4 + 1] = TABLE_OFF;
	dev = (struct pci_dev){ .bus = 0, .dev = 4, .fn = 0, .vendor = 0x8086, .device = 0x10D3 };
	dev.bar[0] = (struct pci_bar){ .base = (u64)(uintptr_t)bar0, .size = table_size };
}

TEST(msi_preferred_and_aimed_at_this_cpu)
{
	setup(3, sizeof(bar0));
	fn->cfg[MSIX_CAP / 4] |= (u32)0x8000 << 16; /* MSI-X was on: it goes off */
	CHECK_EQ(pci_msi_route(&dev, VEC, BIT(PCI_MSI) | BIT(PCI_MSIX)), PCI_MSI);
	u16 ctrl = cfg16(MSI_CAP + 2);
	CHECK(ctrl & 1);                   /* enabled */
	CHECK_EQ((ctrl >> 4) & 7, 0);      /* one message */
	CHECK_EQ(cfg(MSI_CAP + 4), 0xFEE00000u | APIC_ID << 12);
	CHECK_EQ(cfg(MSI_CAP + 8), 0);     /* upper address */
	CHECK_EQ(cfg16(MSI_CAP + 12), VEC); /* data: fixed, edge */
	CHECK(!(cfg16(MSIX_CAP + 2) & 0x8000));
	CHECK(cfg16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
	CHECK_EQ(entry(0)[0], 0xABABABABu); /* the table untouched */
}

TEST(msix_entry_zero_alone)
{
	setup(3, sizeof(bar0));
	for (unsigned i = 1; i < ENTRIES; i++)
		entry(i)[3] = 0; /* left unmasked by an earlier owner */
	CHECK_EQ(pci_msi_route(&dev, VEC, BIT(PCI_MSIX)), PCI_MSIX);
	CHECK_EQ(entry(0)[0], 0xFEE00000u | APIC_ID << 12);
	CHECK_EQ(entry(0)[1], 0);
	CHECK_EQ(entry(0)[2], VEC);
	CHECK_EQ(entry(0)[3], 0); /* unmasked */
	for (unsigned i = 1; i < ENTRIES; i++)
		CHECK_EQ(entry(i)[3] & 1, 1);
	u16 ctrl = cfg16(MSIX_CAP + 2);
	CHECK(ctrl & 0x8000);     /* enabled */
	CHECK(!(ctrl & 0x4000));  /* not masked as a whole */
	CHECK(!(cfg16(MSI_CAP + 2) & 1));
	CHECK(cfg16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

TEST(msix_table_past_its_bar_refused)
{
	setup(2, TABLE_OFF + 16); /* room for one entry of four */
	CHECK_EQ(pci_msi_route(&dev, VEC, BIT(PCI_MSI) | BIT(PCI_MSIX)), -E_INVAL);
	CHECK(!(cfg16(MSIX_CAP + 2) & 0x8000));
	CHECK(!(cfg16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE));
	CHECK_EQ(entry(0)[0], 0xABABABABu);
}

TEST(none_wanted_or_none_there)
{
	setup(2, sizeof(bar0));
	CHECK_EQ(pci_msi_route(&dev, VEC, BIT(PCI_MSI)), -E_NOTSUP); /* MSI-X only, MSI asked */
	setup(0, sizeof(bar0));
	CHECK_EQ(pci_msi_route(&dev, VEC, BIT(PCI_MSI) | BIT(PCI_MSIX)), -E_NOTSUP);
	CHECK(!(cfg16(PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE));
	CHECK_EQ(fn->cfg_writes, 0);
}

/* A list that points back at itself ends, and finds nothing. */
TEST(looping_capability_list_ends)
{
	setup(0, sizeof(bar0));
	fn->cfg[PCI_CAP_PTR / 4] = 0x60;
	fn->cfg[0x60 / 4] = 0x09 | 0x60 << 8; /* vendor-specific, next: itself */
	CHECK_EQ(pci_find_cap(&dev, PCI_CAP_ID_MSI), 0);
	CHECK_EQ(pci_find_cap(&dev, 0x09), 0x60);
}

int main(void)
{
	RUN(msi_preferred_and_aimed_at_this_cpu);
	RUN(msix_entry_zero_alone);
	RUN(msix_table_past_its_bar_refused);
	RUN(none_wanted_or_none_there);
	RUN(looping_capability_list_ends);
	return CHECK_SUMMARY();
}
