/* The multiboot2 information structure, built from UEFI's reports
 * (see mb2.h). */
#include "mb2.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static void copy(uint8_t *dst, const void *src, size_t n)
{
	const uint8_t *s = src;
	for (size_t i = 0; i < n; i++)
		dst[i] = s[i];
}

uint32_t mb2_mem_type(uint32_t efi_type)
{
	switch (efi_type) {
	case EFI_MT_CONVENTIONAL:
	case EFI_MT_BOOT_SERVICES_CODE:
	case EFI_MT_BOOT_SERVICES_DATA:
	case EFI_MT_LOADER_CODE:
	case EFI_MT_LOADER_DATA:
		return MB2_MEM_AVAILABLE;
	case EFI_MT_ACPI_RECLAIM:
		return MB2_MEM_ACPI_RECLAIM;
	case EFI_MT_ACPI_NVS:
		return MB2_MEM_ACPI_NVS;
	case EFI_MT_UNUSABLE:
		return MB2_MEM_BAD;
	default:
		return MB2_MEM_RESERVED;
	}
}

/* One run of set bits: its position and length. */
static bool mask_field(uint32_t mask, uint8_t *pos, uint8_t *size)
{
	if (!mask)
		return false;
	uint8_t p = 0;
	while (!(mask & 1)) {
		mask >>= 1;
		p++;
	}
	uint8_t n = 0;
	while (mask & 1) {
		mask >>= 1;
		n++;
	}
	if (mask)
		return false;
	*pos = p;
	*size = n;
	return true;
}

bool mb2_fb_from_masks(struct mb2_fb *fb, uint32_t red, uint32_t green, uint32_t blue, uint32_t reserved)
{
	if (!mask_field(red, &fb->red_pos, &fb->red_size) || !mask_field(green, &fb->green_pos, &fb->green_size) ||
	    !mask_field(blue, &fb->blue_pos, &fb->blue_size))
		return false;
	uint32_t all = red | green | blue | reserved;
	uint8_t top = 0;
	while (all) {
		all >>= 1;
		top++;
	}
	fb->bpp = (uint8_t)((top + 7) & ~7); /* whole bytes per pixel */
	return true;
}

void mb2_begin(struct mb2_builder *b, void *buf, size_t cap)
{
	b->buf = buf;
	b->cap = cap;
	b->len = 8; /* total_size, reserved */
	b->overflow = cap < 8;
}

/* Room for a tag of `size` bytes at the current position (8-byte aligned),
 * its type and size written; NULL if it does not fit. */
static uint8_t *tag(struct mb2_builder *b, uint32_t type, size_t size)
{
	if (b->overflow || size > b->cap || b->len > b->cap - ALIGN8(size)) {
		b->overflow = true;
		return NULL;
	}
	uint8_t *t = b->buf + b->len;
	for (size_t i = 0; i < ALIGN8(size); i++)
		t[i] = 0;
	put32(t, type);
	put32(t + 4, (uint32_t)size);
	b->len += ALIGN8(size);
	return t;
}

void mb2_add_cmdline(struct mb2_builder *b, const char *s)
{
	size_t n = str_len(s);
	uint8_t *t = tag(b, MB2_TAG_CMDLINE, 8 + n + 1);
	if (t)
		copy(t + 8, s, n + 1);
}

void mb2_add_module(struct mb2_builder *b, uint32_t start, uint32_t end, const char *string)
{
	size_t n = str_len(string);
	uint8_t *t = tag(b, MB2_TAG_MODULE, 16 + n + 1);
	if (!t)
		return;
	put32(t + 8, start);
	put32(t + 12, end);
	copy(t + 16, string, n + 1);
}

void mb2_add_rsdp(struct mb2_builder *b, const void *rsdp, size_t len)
{
	uint8_t *t = tag(b, len >= ACPI_RSDP_V2_LEN ? MB2_TAG_ACPI_NEW : MB2_TAG_ACPI_OLD, 8 + len);
	if (t)
		copy(t + 8, rsdp, len);
}

void mb2_add_framebuffer(struct mb2_builder *b, const struct mb2_fb *fb)
{
	uint8_t *t = tag(b, MB2_TAG_FRAMEBUFFER, 32 + 6);
	if (!t)
		return;
	put64(t + 8, fb->addr);
	put32(t + 16, fb->pitch);
	put32(t + 20, fb->width);
	put32(t + 24, fb->height);
	t[28] = fb->bpp;
	t[29] = 1; /* framebuffer_type: direct RGB */
	put16(t + 30, 0);
	t[32] = fb->red_pos;
	t[33] = fb->red_size;
	t[34] = fb->green_pos;
	t[35] = fb->green_size;
	t[36] = fb->blue_pos;
	t[37] = fb->blue_size;
}

size_t mb2_mmap_tag_max(size_t n)
{
	return 16 + n * MB2_MMAP_ENTRY_SIZE;
}

/* The entries as they are built, in native layout (the tag's own). */
struct mmap_entry {
	uint64_t base, len;
	uint32_t type, reserved;
};
_Static_assert(sizeof(struct mmap_entry) == MB2_MMAP_ENTRY_SIZE, "multiboot2 mmap entry layout");

size_t mb2_add_efi_mmap(struct mb2_builder *b, const void *map, size_t map_size, size_t desc_size)
{
	size_t n_desc = desc_size >= sizeof(struct efi_mem_desc) ? map_size / desc_size : 0;
	uint8_t *t = tag(b, MB2_TAG_MMAP, mb2_mmap_tag_max(n_desc));
	if (!t)
		return 0;
	struct mmap_entry *e = (struct mmap_entry *)(t + 16);
	size_t n = 0;
	for (size_t i = 0; i < n_desc; i++) {
		const struct efi_mem_desc *d = (const void *)((const uint8_t *)map + i * desc_size);
		if (!d->npages)
			continue;
		struct mmap_entry x = { d->phys_start, d->npages * 4096, mb2_mem_type(d->type), 0 };
		/* Insertion sort by base: maps are short and mostly sorted. */
		size_t j = n++;
		while (j > 0 && e[j - 1].base > x.base) {
			e[j] = e[j - 1];
			j--;
		}
		e[j] = x;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && e[m - 1].type == e[i].type && e[m - 1].base + e[m - 1].len == e[i].base)
			e[m - 1].len += e[i].len;
		else
			e[m++] = e[i];
	}
	/* Shrink the tag to the merged entries and give back the rest. */
	size_t size = mb2_mmap_tag_max(m);
	put32(t + 4, (uint32_t)size);
	put32(t + 8, MB2_MMAP_ENTRY_SIZE);
	put32(t + 12, 0); /* entry_version */
	b->len = (size_t)(t - b->buf) + ALIGN8(size);
	return m;
}

size_t mb2_end(struct mb2_builder *b)
{
	if (!tag(b, MB2_TAG_END, 8))
		return 0;
	put32(b->buf, (uint32_t)b->len);
	put32(b->buf + 4, 0);
	return b->len;
}
