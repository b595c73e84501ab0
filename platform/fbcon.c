/* Text on a pixel framebuffer: the GOP mode UEFI left, or the VBE mode
 * GRUB set on a BIOS machine.  Each cell is drawn whole (glyph pixels in
 * the line's colour, the rest background) and nothing is ever read back:
 * reads from a write-combining or uncached framebuffer are very slow, so
 * scrolling is done by platform/screen.c redrawing the cells that change
 * from its own copy of the text. */
#include "fbcon.h"
#include "font.h"
#include "mem.h"
#include "x86/cpu.h"

static struct {
	u8 *base;
	u32 pitch, width, height;
	unsigned bytes_pp, scale;
	u32 bg, fg[SCREEN_NCOLOURS]; /* in the framebuffer's pixel format */
} fb;

/* ---- pixels ----------------------------------------------------------------- */
static u32 channel(u8 v, u8 pos, u8 size)
{
	if (size == 0)
		return 0;
	u32 c = size <= 8 ? (u32)v >> (8 - size) : (u32)v << (size - 8);
	return c << pos;
}

static u32 pixel(const struct boot_fb *f, u32 rgb)
{
	return channel((u8)(rgb >> 16), f->red_pos, f->red_size) | channel((u8)(rgb >> 8), f->green_pos, f->green_size) |
	       channel((u8)rgb, f->blue_pos, f->blue_size);
}

static inline void put(u8 *p, u32 v)
{
	switch (fb.bytes_pp) {
	case 4:
		*(volatile u32 *)p = v;
		break;
	case 3:
		((volatile u8 *)p)[0] = (u8)v;
		((volatile u8 *)p)[1] = (u8)(v >> 8);
		((volatile u8 *)p)[2] = (u8)(v >> 16);
		break;
	default:
		*(volatile u16 *)p = (u16)v;
		break;
	}
}

/* The VGA palette's colours, so both back ends look alike. */
static const u32 colours[SCREEN_NCOLOURS] = {
	[SCREEN_INFO] = 0xAAAAAA,  /* light grey */
	[SCREEN_WARN] = 0xFFFF55,  /* yellow */
	[SCREEN_ERROR] = 0xFF5555, /* light red */
	[SCREEN_GUEST] = 0x55FFFF, /* light cyan */
};

int fbcon_init(const struct boot_fb *f, unsigned *cols, unsigned *rows)
{
	unsigned bpp = f->bpp == 15 ? 16 : f->bpp;
	if ((bpp != 16 && bpp != 24 && bpp != 32) || f->width == 0 || f->height == 0 ||
	    f->pitch < f->width * (bpp / 8) || f->width < font_console.width || f->height < font_console.height)
		return -E_NOTSUP;
	u64 len = (u64)f->pitch * f->height;
	/* Uncached-minus (write-combining under the firmware's MTRR); above
	 * 4 GiB this maps it at all, and works before mem_init() so that early
	 * errors reach the screen. */
	if (!mmio_map_framebuffer(f->addr, len))
		return -E_NOTSUP;
	fb.base = phys_to_virt(f->addr);
	fb.pitch = f->pitch;
	fb.width = f->width;
	fb.height = f->height;
	fb.bytes_pp = bpp / 8;
	fb.bg = pixel(f, 0x000000);
	for (unsigned i = 0; i < SCREEN_NCOLOURS; i++)
		fb.fg[i] = pixel(f, colours[i]);
	fb.scale = 1;
	while (fb.width / (font_console.width * fb.scale) > SCREEN_MAX_COLS ||
	       fb.height / (font_console.height * fb.scale) > SCREEN_MAX_ROWS)
		fb.scale++;
	*cols = fb.width / (font_console.width * fb.scale);
	*rows = fb.height / (font_console.height * fb.scale);

	for (u32 y = 0; y < fb.height; y++) {
		u8 *line = fb.base + (u64)y * fb.pitch;
		for (u32 x = 0; x < fb.width; x++)
			put(line + x * fb.bytes_pp, fb.bg);
	}
	return 0;
}

unsigned fbcon_scale(void) { return fb.scale; }

void fbcon_draw(unsigned col, unsigned row, u8 c, enum screen_colour colour)
{
	const struct font *f = &font_console;
	const u8 *glyph = font_glyphs + font_index(c) * f->glyph_bytes;
	unsigned cw = f->width * fb.scale, ch = f->height * fb.scale;
	u8 *p = fb.base + (u64)row * ch * fb.pitch + (u64)col * cw * fb.bytes_pp;
	u32 fg = fb.fg[colour], bg = fb.bg;

	for (unsigned y = 0; y < ch; y++, p += fb.pitch) {
		const u8 *bits = glyph + (y / fb.scale) * f->row_bytes;
		if (fb.bytes_pp == 4 && fb.scale == 1 && f->width == 8) {
			/* The common case, kept simple for the compiler. */
			volatile u32 *px = (volatile u32 *)p;
			u8 b = bits[0];
			for (unsigned x = 0; x < 8; x++)
				px[x] = b & (0x80 >> x) ? fg : bg;
			continue;
		}
		for (unsigned x = 0; x < cw; x++) {
			unsigned gx = x / fb.scale;
			put(p + x * fb.bytes_pp, bits[gx / 8] & (0x80 >> (gx % 8)) ? fg : bg);
		}
	}
}
