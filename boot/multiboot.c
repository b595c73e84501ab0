/* Multiboot 1 (QEMU -kernel) and multiboot2 (GRUB) boot information.
 * Formats: Multiboot Specification 0.6.96 section 3.3, and Multiboot2
 * Specification 2.0 section 3.6. */
#include "boot_info.h"
#include "multiboot2.h"
#include "lib/string.h"

#define MB1_LOADER_MAGIC 0x2BADB002

/* Multiboot 1 info flags. */
#define MB1_INFO_CMDLINE BIT(2)
#define MB1_INFO_MODS BIT(3)
#define MB1_INFO_MMAP BIT(6)
#define MB1_INFO_FRAMEBUFFER BIT(12)

struct mb1_info {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	/* Each valid only with its flag; ferry reads the framebuffer fields. */
	u32 drives_length, drives_addr, config_table, boot_loader_name, apm_table;
	u32 vbe_control_info, vbe_mode_info;
	u16 vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
	u64 framebuffer_addr; /* offset 88 */
	u32 framebuffer_pitch, framebuffer_width, framebuffer_height;
	u8 framebuffer_bpp, framebuffer_type;
	u8 color_info[6]; /* RGB: red position, size, green ..., blue ... */
} __packed;
_Static_assert(offsetof(struct mb1_info, framebuffer_addr) == 88, "multiboot 1 framebuffer_addr");
_Static_assert(offsetof(struct mb1_info, color_info) == 110, "multiboot 1 color_info");

struct mb1_module {
	u32 mod_start, mod_end, string, reserved;
} __packed;

/* Each mmap entry is preceded by its size, which does not count itself. */
struct mb1_mmap {
	u32 size;
	u64 base, len;
	u32 type;
} __packed;

static void add_mem(struct boot_info *bi, u64 base, u64 len, u32 type)
{
	if (bi->nmem == BOOT_MAX_MEM) {
		bi->truncated = true;
		return;
	}
	if (type < MEM_USABLE || type > MEM_BAD)
		type = MEM_RESERVED;
	bi->mem[bi->nmem++] = (struct mem_range){ base, len, type };
}

static void add_module(struct boot_info *bi, u32 start, u32 end, const char *cmdline)
{
	if (bi->nmods == BOOT_MAX_MODS) {
		bi->truncated = true;
		return;
	}
	struct boot_module *m = &bi->mods[bi->nmods++];
	m->start = start;
	m->end = end;
	if (str_copy(m->cmdline, cmdline ? cmdline : "", sizeof(m->cmdline)) >= sizeof(m->cmdline))
		bi->truncated = true;
}

static void set_cmdline(struct boot_info *bi, const char *s)
{
	if (str_copy(bi->cmdline, s, sizeof(bi->cmdline)) >= sizeof(bi->cmdline))
		bi->truncated = true;
}

/* Framebuffer types, the same in both specifications. */
#define MB_FB_INDEXED 0
#define MB_FB_RGB 1
#define MB_FB_EGA_TEXT 2

static void set_fb(struct boot_info *bi, u64 addr, u32 pitch, u32 width, u32 height, u8 bpp, u8 type,
		   const u8 *color)
{
	static const u8 kinds[] = { [MB_FB_INDEXED] = BOOT_FB_INDEXED, [MB_FB_RGB] = BOOT_FB_RGB,
				    [MB_FB_EGA_TEXT] = BOOT_FB_EGA_TEXT };
	if (type >= ARRAY_SIZE(kinds) || addr == 0 || width == 0 || height == 0)
		return;
	bi->fb = (struct boot_fb){ addr, pitch, width, height, bpp, kinds[type], 0, 0, 0, 0, 0, 0 };
	if (type == MB_FB_RGB) {
		bi->fb.red_pos = color[0];
		bi->fb.red_size = color[1];
		bi->fb.green_pos = color[2];
		bi->fb.green_size = color[3];
		bi->fb.blue_pos = color[4];
		bi->fb.blue_size = color[5];
	}
}

/* A copy of the ACPI RSDP: 20 bytes (ACPI 1.0, tag 14) or 36 (2.0+, tag
 * 15); a loader may give both, and the 2.0 one wins. */
static void set_rsdp(struct boot_info *bi, const u8 *rsdp, u32 len, bool v2)
{
	u32 want = v2 ? sizeof(bi->rsdp) : 20;
	if (len < want || (!v2 && bi->rsdp_len == sizeof(bi->rsdp)))
		return;
	memcpy(bi->rsdp, rsdp, want);
	bi->rsdp_len = want;
}

/* Does the string at byte `at` of tag t end (NUL) within the tag? */
static bool tag_str_ok(const struct mb2_tag *t, u32 at)
{
	const char *s = (const char *)t;
	for (u32 i = at; i < t->size; i++)
		if (!s[i])
			return true;
	return false;
}

static void note_scrub(struct boot_info *bi, const void *p, size_t len)
{
	if (bi->nscrub < ARRAY_SIZE(bi->scrub) && p)
		bi->scrub[bi->nscrub++].start = (hpa_t)(uintptr_t)p, bi->scrub[bi->nscrub - 1].end = (hpa_t)(uintptr_t)p + len;
}

static void parse_mb1(const struct mb1_info *mi, struct boot_info *bi)
{
	bi->loader = "multiboot";
	bi->info_start = (hpa_t)(uintptr_t)mi;
	bi->info_end = bi->info_start + sizeof(*mi);
	if (mi->flags & MB1_INFO_CMDLINE) {
		const char *c = (const char *)(uintptr_t)mi->cmdline;
		set_cmdline(bi, c);
		note_scrub(bi, c, strlen(c));
	}
	if (mi->flags & MB1_INFO_MODS) {
		const struct mb1_module *m = (const void *)(uintptr_t)mi->mods_addr;
		for (u32 i = 0; i < mi->mods_count; i++) {
			const char *c = (const char *)(uintptr_t)m[i].string;
			add_module(bi, m[i].mod_start, m[i].mod_end, c);
			if (c)
				note_scrub(bi, c, strlen(c));
		}
	}
	if (mi->flags & MB1_INFO_MMAP) {
		u64 p = mi->mmap_addr, end = p + mi->mmap_length;
		while (p + sizeof(struct mb1_mmap) <= end) {
			const struct mb1_mmap *e = (const void *)(uintptr_t)p;
			add_mem(bi, e->base, e->len, e->type);
			p += e->size + sizeof(e->size);
		}
	}
	/* A multiboot 1 loader that says nothing about the display (QEMU's
	 * -kernel) leaves it as the BIOS set it: VGA text mode 3. */
	if (mi->flags & MB1_INFO_FRAMEBUFFER)
		set_fb(bi, mi->framebuffer_addr, mi->framebuffer_pitch, mi->framebuffer_width, mi->framebuffer_height,
		       mi->framebuffer_bpp, mi->framebuffer_type, mi->color_info);
	else
		set_fb(bi, 0xB8000, 160, 80, 25, 16, MB_FB_EGA_TEXT, NULL);
}

static void parse_mb2(const u8 *info, struct boot_info *bi)
{
	u32 total = *(const u32 *)info;
	bi->loader = "multiboot2";
	bi->info_start = (hpa_t)(uintptr_t)info;
	bi->info_end = bi->info_start + total;
	note_scrub(bi, info, total);

	/* Tags start at offset 8 and are 8-byte aligned (spec 3.6.1).  A tag
	 * running past total_size ends the list: nothing outside the
	 * structure is read. */
	for (u64 off = 8; off + sizeof(struct mb2_tag) <= total;) {
		const struct mb2_tag *t = (const void *)(info + off);
		if (t->type == MB2_TAG_END || t->size < sizeof(*t) || t->size > total - off)
			break;
		switch (t->type) {
		case MB2_TAG_CMDLINE:
			if (tag_str_ok(t, sizeof(*t)))
				set_cmdline(bi, (const char *)(t + 1));
			break;
		case MB2_TAG_MODULE: {
			const struct mb2_module_tag *m = (const void *)t;
			if (t->size >= sizeof(*m) && tag_str_ok(t, sizeof(*m)))
				add_module(bi, m->mod_start, m->mod_end, m->cmdline);
			break;
		}
		case MB2_TAG_MMAP: {
			const struct mb2_mmap_tag *mt = (const void *)t;
			if (t->size < sizeof(*mt) || mt->entry_size < sizeof(struct mb2_mmap_entry))
				break;
			/* u64: in u32, e + a huge entry_size wraps below the tag's size */
			for (u64 e = sizeof(*mt); e + mt->entry_size <= t->size; e += mt->entry_size) {
				const struct mb2_mmap_entry *me = (const void *)((const u8 *)t + e);
				add_mem(bi, me->base, me->len, me->type);
			}
			break;
		}
		case MB2_TAG_FRAMEBUFFER: {
			const struct mb2_fb_tag *f = (const void *)t;
			if (t->size >= sizeof(*f) || (t->size >= offsetof(struct mb2_fb_tag, color_info) && f->fb_type != MB_FB_RGB))
				set_fb(bi, f->addr, f->pitch, f->width, f->height, f->bpp, f->fb_type, f->color_info);
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			set_rsdp(bi, (const u8 *)(t + 1), t->size - (u32)sizeof(*t), t->type == MB2_TAG_ACPI_NEW);
			break;
		}
		off += ALIGN_UP((u64)t->size, 8); /* in u32, a size near 4 GiB rounds to 0: a loop */
	}
}

void boot_info_scrub(struct boot_info *bi)
{
	for (unsigned i = 0; i < bi->nscrub; i++)
		memset((void *)(uintptr_t)bi->scrub[i].start, 0, bi->scrub[i].end - bi->scrub[i].start);
	bi->nscrub = 0;
}

int boot_info_parse(u32 magic, hpa_t info, struct boot_info *bi)
{
	memset(bi, 0, sizeof(*bi));
	if (magic == MB1_LOADER_MAGIC)
		parse_mb1((const struct mb1_info *)(uintptr_t)info, bi);
	else if (magic == MB2_LOADER_MAGIC)
		parse_mb2((const u8 *)(uintptr_t)info, bi);
	else
		return -E_INVAL;
	return 0;
}
