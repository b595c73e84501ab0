/* VGA text mode (BIOS boots): cells of character + attribute, usually 80x25
 * at 0xB8000.  ferry loads its own font into the card's character
 * generator so the text looks as it does on a framebuffer.
 *
 * Registers: IBM VGA Technical Reference (sequencer 3C4/3C5, graphics
 * controller 3CE/3CF, CRT controller 3D4/3D5 or 3B4/3B5, miscellaneous
 * output read at 3CC).  In text mode plane 0 holds the characters, plane 1
 * the attributes and plane 2 the font: 32 bytes per character, one byte
 * per scan line. */
#include "vgacon.h"
#include "font.h"
#include "x86/io.h"

#define VGA_MISC_READ 0x3CC
#define VGA_MISC_IO_COLOR 0x01 /* CRTC at 3D4 (colour) rather than 3B4 */
#define VGA_SEQ_INDEX 0x3C4
#define VGA_SEQ_RESET 0x00     /* 01: synchronous reset, 03: run */
#define VGA_SEQ_MAP_MASK 0x02  /* planes written by the CPU */
#define VGA_SEQ_MEM_MODE 0x04  /* bit 2: odd/even addressing off */
#define VGA_GC_INDEX 0x3CE
#define VGA_GC_READ_MAP 0x04
#define VGA_GC_MODE 0x05       /* bit 4: host odd/even */
#define VGA_GC_MISC 0x06       /* bits 3:2 memory map, bit 1: chain odd/even */
#define VGA_CRTC_MAX_SCAN 0x09 /* bits 4:0: character height - 1 */
#define VGA_CRTC_CURSOR_START 0x0A
#define VGA_CURSOR_OFF 0x20
#define VGA_FONT_WINDOW 0xA0000 /* plane 2 with GC_MISC memory map 01 */
#define VGA_FONT_STRIDE 32
#define VGA_REPLACEMENT 0x7F    /* the slot given ferry's replacement glyph */

/* Attribute bytes: background black, foreground from the 16-colour palette. */
static const u8 attr[SCREEN_NCOLOURS] = {
	[SCREEN_INFO] = 0x07,  /* light grey */
	[SCREEN_WARN] = 0x0E,  /* yellow */
	[SCREEN_ERROR] = 0x0C, /* light red */
	[SCREEN_GUEST] = 0x0B, /* light cyan */
};

static struct {
	volatile u16 *cells;
	unsigned cols, rows, stride; /* stride: cells from one row to the next */
	u16 crtc;
	u8 replacement; /* VGA_REPLACEMENT once ferry's font is loaded, else '?' */
} vga;

static u8 reg_read(u16 index_port, u8 index)
{
	outb(index_port, index);
	return inb(index_port + 1);
}

static void reg_write(u16 index_port, u8 index, u8 v)
{
	outb(index_port, index);
	outb(index_port + 1, v);
}

/* Writes the glyphs into plane 2: switch the memory interface from text
 * (odd/even, planes 0-1 at B8000) to planar access of plane 2 at A0000,
 * write, and put every register back. */
static void load_font(void)
{
	const struct font *f = &font_console;
	u8 map_mask = reg_read(VGA_SEQ_INDEX, VGA_SEQ_MAP_MASK), mem_mode = reg_read(VGA_SEQ_INDEX, VGA_SEQ_MEM_MODE);
	u8 read_map = reg_read(VGA_GC_INDEX, VGA_GC_READ_MAP), gc_mode = reg_read(VGA_GC_INDEX, VGA_GC_MODE);
	u8 gc_misc = reg_read(VGA_GC_INDEX, VGA_GC_MISC);

	reg_write(VGA_SEQ_INDEX, VGA_SEQ_RESET, 0x01);
	reg_write(VGA_SEQ_INDEX, VGA_SEQ_MAP_MASK, 0x04);
	reg_write(VGA_SEQ_INDEX, VGA_SEQ_MEM_MODE, (u8)((mem_mode | 0x04) & ~0x08));
	reg_write(VGA_SEQ_INDEX, VGA_SEQ_RESET, 0x03);
	reg_write(VGA_GC_INDEX, VGA_GC_READ_MAP, 0x02);
	reg_write(VGA_GC_INDEX, VGA_GC_MODE, gc_mode & (u8)~0x10);
	reg_write(VGA_GC_INDEX, VGA_GC_MISC, 0x04); /* A0000-AFFFF, no chaining, text */

	volatile u8 *plane2 = (volatile u8 *)(uintptr_t)VGA_FONT_WINDOW;
	for (unsigned c = FONT_FIRST; c <= VGA_REPLACEMENT; c++) {
		unsigned i = c == VGA_REPLACEMENT ? FONT_REPLACEMENT : font_index((u8)c);
		const u8 *g = font_glyphs + i * f->glyph_bytes;
		for (unsigned y = 0; y < VGA_FONT_STRIDE; y++)
			plane2[c * VGA_FONT_STRIDE + y] = y < f->height ? g[y * f->row_bytes] : 0;
	}

	reg_write(VGA_SEQ_INDEX, VGA_SEQ_RESET, 0x01);
	reg_write(VGA_SEQ_INDEX, VGA_SEQ_MAP_MASK, map_mask);
	reg_write(VGA_SEQ_INDEX, VGA_SEQ_MEM_MODE, mem_mode);
	reg_write(VGA_SEQ_INDEX, VGA_SEQ_RESET, 0x03);
	reg_write(VGA_GC_INDEX, VGA_GC_READ_MAP, read_map);
	reg_write(VGA_GC_INDEX, VGA_GC_MODE, gc_mode);
	reg_write(VGA_GC_INDEX, VGA_GC_MISC, gc_misc);
}

int vgacon_init(const struct boot_fb *fb, unsigned *cols, unsigned *rows)
{
	/* Without a VGA the miscellaneous output register reads as all ones
	 * (QEMU with -nodefaults, where B8000 is plain RAM). */
	u8 misc = inb(VGA_MISC_READ);
	if (misc == 0xFF)
		return -E_NOENT;
	if (fb->width == 0 || fb->height == 0 || fb->width > SCREEN_MAX_COLS || fb->height > SCREEN_MAX_ROWS ||
	    fb->pitch < 2 * fb->width || fb->addr + (u64)fb->pitch * fb->height > 4 * GiB)
		return -E_NOTSUP;
	vga.cells = (volatile u16 *)(uintptr_t)fb->addr;
	vga.cols = fb->width;
	vga.rows = fb->height;
	vga.stride = fb->pitch / 2;
	vga.crtc = misc & VGA_MISC_IO_COLOR ? 0x3D4 : 0x3B4;
	vga.replacement = '?';
	/* Glyphs are replaced only when the mode's characters have the font's
	 * height (16 lines in mode 3), the only case in which they fit. */
	if (font_console.width <= 8 &&
	    (reg_read(vga.crtc, VGA_CRTC_MAX_SCAN) & 0x1F) + 1u == font_console.height) {
		load_font();
		vga.replacement = VGA_REPLACEMENT;
	}
	reg_write(vga.crtc, VGA_CRTC_CURSOR_START, reg_read(vga.crtc, VGA_CRTC_CURSOR_START) | VGA_CURSOR_OFF);
	*cols = vga.cols;
	*rows = vga.rows;
	return 0;
}

void vgacon_draw(unsigned col, unsigned row, u8 c, enum screen_colour colour)
{
	if (c < FONT_FIRST || c > FONT_LAST)
		c = vga.replacement;
	vga.cells[row * vga.stride + col] = (u16)(attr[colour] << 8 | c);
}
