/* The screen console on the host: platform/screen.c's console sink with
 * the real pixel back end (platform/fbcon.c) drawing into a buffer below
 * 2 GiB, so that it takes the boot identity map path, and a recording
 * stand-in for VGA text mode.  Lines are given to the sink as the console
 * gives them (platform/console.h): level, text, length.  Checks wrapping,
 * scrolling, line colours by level, the lines kept before the screen is
 * up, and pixel formats with padded lines. */
#include <stdlib.h>
#include <sys/mman.h>
#include "check.h"
#include "platform/font.h"
#include "platform/screen.h"
#include "platform/vgacon.h"


/* ---- VGA text stand-in: a grid of what was drawn ---------------------- */
#define VGA_COLS 20
#define VGA_ROWS 5
static char vga_text[VGA_ROWS][VGA_COLS + 1];
static enum screen_colour vga_colour[VGA_ROWS][VGA_COLS];
static unsigned vga_draws;

int vgacon_init(const struct boot_fb *fb, unsigned *cols, unsigned *rows)
{
	(void)fb;
	memset(vga_text, '#', sizeof(vga_text)); /* the loader's leftovers */
	for (int y = 0; y < VGA_ROWS; y++)
		vga_text[y][VGA_COLS] = 0;
	*cols = VGA_COLS;
	*rows = VGA_ROWS;
	return 0;
}

void vgacon_draw(unsigned col, unsigned row, u8 c, enum screen_colour colour)
{
	vga_text[row][col] = c >= FONT_FIRST && c <= FONT_LAST ? (char)c : '?';
	vga_colour[row][col] = colour;
	vga_draws++;
}

static void init_vga(void)
{
	struct boot_info bi = { 0 };
	bi.fb = (struct boot_fb){ .addr = 0xB8000, .pitch = 2 * VGA_COLS, .width = VGA_COLS, .height = VGA_ROWS,
				  .bpp = 16, .type = BOOT_FB_EGA_TEXT };
	screen_init(&bi);
}

/* One console line, as the console hands it to the sink. */
static void line(enum log_level level, const char *s) { screen_sink.line(&screen_sink, level, s, strlen(s)); }
static void info(const char *s) { line(LOG_INFO, s); }

TEST(vga_lines_wrap_and_scroll)
{
	init_vga();
	for (int y = 0; y < VGA_ROWS; y++)
		CHECK_STR(vga_text[y], "                    "); /* cleared */
	info("ferry: one");
	line(LOG_GUEST, "guest line that is longer than twenty");
	CHECK_STR(vga_text[0], "ferry: one          ");
	CHECK_STR(vga_text[1], "guest line that is l");
	CHECK_STR(vga_text[2], "onger than twenty   ");
	CHECK_EQ(vga_colour[2][0], SCREEN_GUEST); /* the wrapped part keeps its colour */
	line(LOG_WARN, "ferry: warning: w"); /* rows 3 and 4: full, no scroll yet */
	line(LOG_ERR, "ferry: error: e");
	CHECK_STR(vga_text[0], "ferry: one          ");
	CHECK_STR(vga_text[4], "ferry: error: e     ");
	line(LOG_ERR, "ferry: PANIC: p"); /* text mode scrolls one line */
	CHECK_STR(vga_text[0], "guest line that is l");
	CHECK_STR(vga_text[2], "ferry: warning: w   ");
	CHECK_STR(vga_text[4], "ferry: PANIC: p     ");
	CHECK_EQ(vga_colour[2][0], SCREEN_WARN);
	CHECK_EQ(vga_colour[3][0], SCREEN_ERROR);
	CHECK_EQ(vga_colour[4][0], SCREEN_ERROR);
	CHECK_EQ(vga_colour[0][0], SCREEN_GUEST);
}

TEST(vga_tabs_and_non_ascii)
{
	init_vga();
	line(LOG_GUEST, "a\tb");
	CHECK_STR(vga_text[0], "a       b           ");
	line(LOG_GUEST, "x\xc3\xa9y\r\x01z"); /* é is one replacement; CR and ^A vanish */
	CHECK_STR(vga_text[1], "x?yz                ");
}

TEST(vga_colour_is_the_level_not_the_text)
{
	init_vga();
	line(LOG_GUEST, "ferry: error: not ferry's"); /* a guest cannot pass for ferry */
	line(LOG_DEBUG, "ferry: debug: d");
	line(LOG_ERR, "two\nrows");                   /* a '\n' inside: same colour */
	CHECK_STR(vga_text[0], "ferry: error: not fe");
	CHECK_STR(vga_text[1], "rry's               ");
	CHECK_EQ(vga_colour[0][0], SCREEN_GUEST);
	CHECK_EQ(vga_colour[1][0], SCREEN_GUEST);
	CHECK_EQ(vga_colour[2][0], SCREEN_INFO);
	CHECK_STR(vga_text[3], "two                 ");
	CHECK_EQ(vga_colour[3][0], SCREEN_ERROR);
	CHECK_STR(vga_text[4], "rows                ");
	CHECK_EQ(vga_colour[4][0], SCREEN_ERROR);
	line(LOG_INFO, ""); /* empty lines below the last row: blank rows */
	line(LOG_INFO, "");
	CHECK_STR(vga_text[0], "ferry: debug: d     ");
	CHECK_STR(vga_text[2], "rows                ");
	CHECK_STR(vga_text[3], "                    ");
	CHECK_STR(vga_text[4], "                    ");
	line(LOG_WARN, "w");
	CHECK_STR(vga_text[0], "two                 ");
	CHECK_STR(vga_text[3], "                    ");
	CHECK_STR(vga_text[4], "w                   ");
	CHECK_EQ(vga_colour[4][0], SCREEN_WARN);
}

TEST(vga_only_changed_cells_redrawn)
{
	init_vga();
	unsigned before = vga_draws;
	info("ferry: x");
	CHECK_EQ(vga_draws - before, 7); /* the blank needs no drawing */
	for (int i = 0; i < 4; i++)
		info("ferry: x");
	before = vga_draws;
	info("ferry: x"); /* scrolls: the rows above keep "ferry: x" */
	CHECK_EQ(vga_draws - before, 2 * 7); /* only the bottom row, blanked and rewritten */
	CHECK_STR(vga_text[4], "ferry: x            ");
}

/* ---- the pixel back end --------------------------------------------------- */
struct picture {
	u8 *mem;
	u32 width, height, pitch, bytes_pp;
};

static struct picture fb_init(u32 width, u32 height, u32 bpp, u32 pad, u8 rp, u8 rs, u8 gp, u8 gs, u8 bp, u8 bs)
{
	struct picture p = { 0, width, height, width * (bpp / 8) + pad, bpp / 8 };
	/* Below 2 GiB, so that fbcon uses the address as boot's identity map
	 * would, without mapping anything. */
	p.mem = mmap(NULL, (size_t)p.pitch * height, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		     0);
	memset(p.mem, 0x5A, (size_t)p.pitch * height); /* the loader's picture, and padding */
	struct boot_info bi = { 0 };
	bi.fb = (struct boot_fb){ (hpa_t)(uintptr_t)p.mem, p.pitch, width, height, (u8)bpp, BOOT_FB_RGB,
				  rp, rs, gp, gs, bp, bs };
	screen_init(&bi);
	return p;
}

static u32 get(const struct picture *p, u32 x, u32 y)
{
	const u8 *q = p->mem + (size_t)y * p->pitch + x * p->bytes_pp;
	u32 v = 0;
	for (u32 i = 0; i < p->bytes_pp; i++)
		v |= (u32)q[i] << (8 * i);
	return v;
}

/* True when cell (cx, cy) shows character c: glyph pixels fg, others 0. */
static bool cell_is(const struct picture *p, unsigned cx, unsigned cy, char c, u32 fg)
{
	const struct font *f = &font_console;
	const u8 *g = font_glyphs + font_index((u8)c) * f->glyph_bytes;
	for (unsigned y = 0; y < f->height; y++)
		for (unsigned x = 0; x < f->width; x++) {
			bool on = g[y * f->row_bytes + x / 8] & (0x80 >> (x % 8));
			if (get(p, cx * f->width + x, cy * f->height + y) != (on ? fg : 0))
				return false;
		}
	return true;
}

static bool row_is(const struct picture *p, unsigned cy, const char *text, u32 fg)
{
	for (unsigned i = 0; text[i]; i++)
		if (!cell_is(p, i, cy, text[i], fg))
			return false;
	return true;
}

TEST(fb_32bpp_colours_and_padding)
{
	/* 10 x 8 cells, 4 bytes of padding after each line. */
	struct picture p = fb_init(80, 128, 32, 4, 16, 8, 8, 8, 0, 8);
	info("ferry: ok");
	line(LOG_ERR, "ferry: error: bad");
	line(LOG_GUEST, "guest");
	CHECK(row_is(&p, 0, "ferry: ok ", 0xAAAAAA));
	CHECK(row_is(&p, 1, "ferry: err", 0xFF5555));
	CHECK(row_is(&p, 2, "or: bad   ", 0xFF5555));
	CHECK(row_is(&p, 3, "guest     ", 0x55FFFF));
	CHECK(row_is(&p, 7, "          ", 0));
	for (u32 y = 0; y < p.height; y++)
		for (u32 i = 0; i < 4; i++)
			CHECK_EQ(p.mem[(size_t)y * p.pitch + 80 * 4 + i], 0x5A); /* padding untouched */
}

TEST(fb_scrolls_a_quarter_at_a_time)
{
	struct picture p = fb_init(80, 128, 32, 0, 16, 8, 8, 8, 0, 8); /* 8 rows: jump 2 */
	char text[32];
	for (int i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "ferry: %d", i);
		info(text);
	}
	CHECK(row_is(&p, 0, "ferry: 0", 0xAAAAAA));
	CHECK(row_is(&p, 7, "ferry: 7", 0xAAAAAA));
	info("ferry: 8");
	CHECK(row_is(&p, 0, "ferry: 2", 0xAAAAAA));
	CHECK(row_is(&p, 6, "ferry: 8", 0xAAAAAA));
	CHECK(row_is(&p, 7, "          ", 0));
	for (int i = 9; i < 30; i++) {
		snprintf(text, sizeof(text), "ferry: %d", i);
		info(text);
	}
	/* 30 lines in an 8-row screen jumping by 2: the last 7 or 8 visible, in order. */
	unsigned bottom = row_is(&p, 7, "ferry: 29", 0xAAAAAA) ? 7 : 6;
	CHECK(row_is(&p, bottom, "ferry: 29", 0xAAAAAA));
	CHECK(row_is(&p, bottom - 1, "ferry: 28", 0xAAAAAA));
	CHECK(row_is(&p, 0, bottom == 7 ? "ferry: 22" : "ferry: 23", 0xAAAAAA));
}

TEST(fb_24bpp_and_16bpp)
{
	struct picture p = fb_init(40, 48, 24, 2, 16, 8, 8, 8, 0, 8); /* 5 x 3 cells */
	line(LOG_ERR, "ferry: error: x");
	CHECK(row_is(&p, 0, "ferry", 0xFF5555));
	CHECK(row_is(&p, 1, ": err", 0xFF5555));
	CHECK(row_is(&p, 2, "or: x", 0xFF5555));
	/* 5:6:5: red 0xFF -> 31, green 0x55 -> 21, blue 0x55 -> 10. */
	p = fb_init(40, 64, 16, 0, 11, 5, 5, 6, 0, 5);
	line(LOG_GUEST, "guest");
	line(LOG_ERR, "ferry: error: x");
	CHECK(row_is(&p, 0, "guest", (0x55 >> 3) << 11 | (0xFF >> 2) << 5 | (0xFF >> 3)));
	CHECK(row_is(&p, 1, "ferry", 31u << 11 | 21u << 5 | 10u));
}

TEST(early_lines_shown_at_init)
{
	/* Runs first: nothing has called screen_init() yet.  A line nearly
	 * as big as the 4 KiB kept, then three more: the big one is dropped
	 * whole (not its tail shown), the others keep their levels. */
	static char big[4070];
	memset(big, 'b', sizeof(big) - 1);
	info(big);
	info("ferry: one");
	line(LOG_WARN, "ferry: warning: two");
	line(LOG_GUEST, "three");
	struct picture p = fb_init(160, 64, 32, 0, 16, 8, 8, 8, 0, 8); /* 20 x 4 cells */
	CHECK(row_is(&p, 0, "ferry: one", 0xAAAAAA));
	CHECK(row_is(&p, 1, "ferry: warning: two", 0xFFFF55));
	CHECK(row_is(&p, 2, "three", 0x55FFFF));
	CHECK(row_is(&p, 3, "                    ", 0));
}

TEST(unsupported_display_stays_dark)
{
	struct boot_info bi = { 0 };
	bi.fb = (struct boot_fb){ 0x1000, 640, 640, 480, 8, BOOT_FB_INDEXED, 0, 0, 0, 0, 0, 0 };
	screen_init(&bi);
	unsigned before = vga_draws;
	info("ferry: nothing to draw on");
	CHECK_EQ(vga_draws, before);
}

int main(void)
{
	RUN(early_lines_shown_at_init);
	RUN(vga_lines_wrap_and_scroll);
	RUN(vga_tabs_and_non_ascii);
	RUN(vga_colour_is_the_level_not_the_text);
	RUN(vga_only_changed_cells_redrawn);
	RUN(fb_32bpp_colours_and_padding);
	RUN(fb_scrolls_a_quarter_at_a_time);
	RUN(fb_24bpp_and_16bpp);
	RUN(unsupported_display_stays_dark);
	return CHECK_SUMMARY();
}
