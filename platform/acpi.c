/* Finding and reading ACPI tables (platform/acpi.h). */
#include "acpi.h"
#include "console.h"
#include "lib/string.h"

struct acpi_info acpi;

struct acpi_sdt_header {
	char sig[4];
	u32 length;
	u8 revision, checksum;
	char oem_id[6], oem_table_id[8];
	u32 oem_revision, creator_id, creator_revision;
} __packed;
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "ACPI 5.2.6");

struct acpi_mcfg_entry {
	u64 base;
	u16 segment;
	u8 start_bus, end_bus;
	u32 reserved;
} __packed;

/* FADT offsets used (ACPI 5.2.9, Table 5.9). */
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM1B_CNT_BLK 68
#define FADT_FLAGS 112
#define FADT_RESET_REG 116 /* 12-byte GAS */
#define FADT_RESET_VALUE 128
#define FADT_FLAG_RESET_REG_SUP BIT(10)
#define FADT_MIN_LEN 116   /* ACPI 1.0 */
#define FADT_RESET_LEN 129

/* Tables are only looked for below this: ferry's identity map covers the
 * physical width, but a table claiming gigabytes is broken. */
#define ACPI_MAX_TABLE (1u << 20)

static u8 sum(const u8 *p, u32 n)
{
	u8 s = 0;
	for (u32 i = 0; i < n; i++)
		s = (u8)(s + p[i]);
	return s;
}

const void *acpi_table_at(u64 pa, u32 min_len)
{
	if (!pa)
		return NULL;
	const struct acpi_sdt_header *h = (const void *)(uintptr_t)pa;
	if (h->length < sizeof(*h) || h->length < min_len || h->length > ACPI_MAX_TABLE ||
	    sum((const u8 *)h, h->length) != 0)
		return NULL;
	return h;
}

const void *acpi_find(const u8 *rsdp, u32 rsdp_len, const char sig[4])
{
	if (rsdp_len < 20 || memcmp(rsdp, "RSD PTR ", 8) || sum(rsdp, 20) != 0)
		return NULL;
	u32 rsdt;
	u64 xsdt = 0;
	memcpy(&rsdt, rsdp + 16, 4);
	if (rsdp_len >= 36 && rsdp[15] >= 2 && sum(rsdp, 36) == 0)
		memcpy(&xsdt, rsdp + 24, 8);
	/* The XSDT's 8-byte entries when there is one, else the RSDT's 4. */
	const struct acpi_sdt_header *root = acpi_table_at(xsdt ? xsdt : rsdt, sizeof(struct acpi_sdt_header));
	if (!root)
		return NULL;
	u32 esz = xsdt ? 8 : 4, n = (root->length - (u32)sizeof(*root)) / esz;
	const u8 *e = (const u8 *)(root + 1);
	for (u32 i = 0; i < n; i++) {
		u64 pa = 0;
		memcpy(&pa, e + i * esz, esz);
		const struct acpi_sdt_header *t = acpi_table_at(pa, sizeof(struct acpi_sdt_header));
		if (t && !memcmp(t->sig, sig, 4))
			return t;
	}
	return NULL;
}

static void read_mcfg(const struct acpi_sdt_header *t)
{
	/* 8 reserved bytes follow the header; then 16-byte entries. */
	u32 n = (t->length - 44) / sizeof(struct acpi_mcfg_entry);
	const struct acpi_mcfg_entry *e = (const void *)((const u8 *)t + 44);
	for (u32 i = 0; i < n; i++) {
		if (acpi.necam == ACPI_MAX_ECAM) {
			log_warn("acpi: more than %u ECAM windows; the rest are ignored", ACPI_MAX_ECAM);
			break;
		}
		acpi.ecam[acpi.necam++] = (struct acpi_ecam){ e[i].base, e[i].segment, e[i].start_bus, e[i].end_bus };
		log_info("acpi: PCIe ECAM segment %u buses %u-%u at %lx", e[i].segment, e[i].start_bus, e[i].end_bus,
			 e[i].base);
	}
}

static void read_fadt(const struct acpi_sdt_header *t)
{
	const u8 *f = (const u8 *)t;
	u32 v;
	memcpy(&v, f + FADT_PM1A_EVT_BLK, 4);
	acpi.pm1a_evt = (u16)v;
	memcpy(&v, f + FADT_PM1A_CNT_BLK, 4);
	acpi.pm1a_cnt = (u16)v;
	memcpy(&v, f + FADT_PM1B_CNT_BLK, 4);
	acpi.pm1b_cnt = (u16)v;
	u32 flags = 0;
	memcpy(&flags, f + FADT_FLAGS, 4);
	if (t->length >= FADT_RESET_LEN && (flags & FADT_FLAG_RESET_REG_SUP)) {
		acpi.reset.space = f[FADT_RESET_REG];
		acpi.reset.width = f[FADT_RESET_REG + 1];
		memcpy(&acpi.reset.addr, f + FADT_RESET_REG + 4, 8);
		acpi.reset_value = f[FADT_RESET_VALUE];
	}
	log_info("acpi: PM1a control port %x, PM1b %x, reset register %s %lx", acpi.pm1a_cnt, acpi.pm1b_cnt,
		 acpi.reset.addr ? (acpi.reset.space == ACPI_SPACE_IO ? "port" : "address") : "none", acpi.reset.addr);
}

static bool rsdp_valid(const u8 *p) { return !memcmp(p, "RSD PTR ", 8) && sum(p, 20) == 0; }

/* The BIOS areas the spec names: the EBDA's first KiB, then the ROM area. */
static const u8 *rsdp_scan(void)
{
	u16 ebda_seg;
	memcpy(&ebda_seg, (const void *)(uintptr_t)0x40E, 2);
	u64 ebda = (u64)ebda_seg << 4;
	if (ebda >= 0x80000 && ebda < 0xA0000)
		for (u64 pa = ebda; pa < ebda + 1024; pa += 16)
			if (rsdp_valid((const u8 *)(uintptr_t)pa))
				return (const u8 *)(uintptr_t)pa;
	for (u64 pa = 0xE0000; pa < 0x100000; pa += 16)
		if (rsdp_valid((const u8 *)(uintptr_t)pa))
			return (const u8 *)(uintptr_t)pa;
	return NULL;
}

/* MADT (ACPI 5.2.12): the local APIC address and flags follow the header,
 * then variable-length entries. */
#define MADT_IOAPIC 1
#define MADT_ISO 2

static void read_madt(const struct acpi_sdt_header *t)
{
	const u8 *p = (const u8 *)t + 44, *end = (const u8 *)t + t->length;
	while (end - p >= 2 && p[1] >= 2 && p[1] <= end - p) {
		if (p[0] == MADT_IOAPIC && p[1] >= 12 && !acpi.ioapic_base) {
			u32 addr;
			memcpy(&addr, p + 4, 4);
			memcpy(&acpi.ioapic_gsi_base, p + 8, 4);
			acpi.ioapic_base = addr;
		} else if (p[0] == MADT_ISO && p[1] >= 10 && p[2] == 0 && p[3] < ACPI_ISA_IRQS) {
			memcpy(&acpi.isa_gsi[p[3]], p + 4, 4);
			memcpy(&acpi.isa_flags[p[3]], p + 8, 2);
		}
		p += p[1];
	}
}

void acpi_init(const struct boot_info *bi)
{
	memset(&acpi, 0, sizeof(acpi));
	for (u32 i = 0; i < ACPI_ISA_IRQS; i++)
		acpi.isa_gsi[i] = i;
	if (bi->rsdp_len) {
		memcpy(acpi.rsdp, bi->rsdp, bi->rsdp_len);
		acpi.rsdp_len = bi->rsdp_len;
	} else {
		const u8 *p = rsdp_scan();
		if (!p) {
			log_info("acpi: no RSDP (the loader gave none, the BIOS area holds none)");
			return;
		}
		acpi.rsdp_len = p[15] >= 2 ? 36 : 20;
		memcpy(acpi.rsdp, p, acpi.rsdp_len);
	}
	const struct acpi_sdt_header *t = acpi_find(acpi.rsdp, acpi.rsdp_len, "MCFG");
	if (t && t->length >= 44)
		read_mcfg(t);
	const struct acpi_sdt_header *fadt = acpi_find(acpi.rsdp, acpi.rsdp_len, "FACP");
	if (fadt && fadt->length >= FADT_MIN_LEN)
		read_fadt(fadt);
	t = acpi_find(acpi.rsdp, acpi.rsdp_len, "APIC");
	if (t && t->length >= 44)
		read_madt(t);
	acpi.present = fadt || acpi.necam;
	if (!acpi.present)
		log_warn("acpi: the RSDP leads to no FADT or MCFG");
}
