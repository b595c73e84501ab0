/* The screen console: a grid of text cells kept in RAM and drawn through
 * one of two back ends.  Every change goes to the display as a cell write,
 * and the display is never read.
 *
 * Scrolling redraws only the cells whose text changes.  On a framebuffer
 * that is still most of the screen, so there the text jumps by a quarter
 * of the screen at a time: every line scrolls at the cost of redrawing
 * the screen once per few lines, not once per line (under QEMU's software
 * emulation a full redraw of 1024x768 takes tens of milliseconds). */
#include "screen.h"
#include "fbcon.h"
#include "vgacon.h"
#include "lib/string.h"

enum screen_state {
	SCREEN_EARLY, /* before screen_init(): lines are kept */
	SCREEN_NONE,  /* no display to draw on, or screen_init() is drawing */
	SCREEN_UP,
};

static struct {
	enum screen_state state;
	bool vga;                    /* the back end: vgacon, else fbcon */
	unsigned cols, rows, jump;   /* jump: lines scrolled at a time */
	unsigned cx, cy;             /* cy == rows: scroll before the next character */
	enum screen_colour colour;   /* of the current line */
	u8 text[SCREEN_MAX_ROWS][SCREEN_MAX_COLS];
	u8 colours[SCREEN_MAX_ROWS][SCREEN_MAX_COLS];
} scr;

/* Lines written before the screen is up: the newest whole lines that fit
 * in 4 KiB, each kept as a level byte, a two-byte length and the text. */
#define EARLY_HEAD 3
static struct {
	u8 buf[4096];
	size_t len;
} early;

static void draw(unsigned x, unsigned y)
{
	if (scr.vga)
		vgacon_draw(x, y, scr.text[y][x], scr.colours[y][x]);
	else
		fbcon_draw(x, y, scr.text[y][x], scr.colours[y][x]);
}

static void set_cell(unsigned x, unsigned y, u8 c, enum screen_colour colour)
{
	/* A blank looks the same in every colour. */
	if (scr.text[y][x] == c && (c == ' ' || scr.colours[y][x] == colour))
		return;
	scr.text[y][x] = c;
	scr.colours[y][x] = (u8)colour;
	draw(x, y);
}

static void scroll(void)
{
	unsigned n = MIN(scr.jump, scr.cy);
	for (unsigned y = 0; y < scr.rows; y++)
		for (unsigned x = 0; x < scr.cols; x++) {
			if (y + n < scr.rows)
				set_cell(x, y, scr.text[y + n][x], scr.colours[y + n][x]);
			else
				set_cell(x, y, ' ', SCREEN_INFO);
		}
	scr.cy -= n;
}

/* The level, not the text, decides: a guest line that starts with
 * "ferry: error: " still looks like the guest's. */
static enum screen_colour colour_of(enum log_level level)
{
	switch (level) {
	case LOG_ERR: return SCREEN_ERROR;
	case LOG_WARN: return SCREEN_WARN;
	case LOG_GUEST: return SCREEN_GUEST;
	default: return SCREEN_INFO;
	}
}

static void newline(void)
{
	if (scr.cy == scr.rows)
		scroll(); /* an empty line below the last row: make its row */
	scr.cx = 0;
	scr.cy++;
}

static void put_char(u8 c)
{
	if (scr.cx == scr.cols)
		newline(); /* a long line wraps, in the same colour */
	if (scr.cy == scr.rows)
		scroll();
	set_cell(scr.cx++, scr.cy, c, scr.colour);
}

/* One console line.  Its text is ASCII; anything else is shown as one
 * replacement glyph per UTF-8 character.  A '\n' inside the line starts
 * a new row in the same colour. */
static void show(enum log_level level, const char *s, size_t n)
{
	scr.colour = colour_of(level);
	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)s[i];
		if (c == '\n') {
			newline();
		} else if (c == '\t') {
			do
				put_char(' ');
			while (scr.cx % 8 && scr.cx < scr.cols);
		} else if (c >= 0x20 && c < 0x7F) {
			put_char(c);
		} else if (c >= 0xC0 || c == 0x7F) {
			put_char(0xFF); /* not printable ASCII: the replacement */
		}
		/* Other control characters and UTF-8 continuation bytes: nothing. */
	}
	newline();
}

static size_t early_size(size_t at)
{
	return EARLY_HEAD + (early.buf[at + 1] | (size_t)early.buf[at + 2] << 8);
}

static void early_keep(enum log_level level, const char *s, size_t n)
{
	n = MIN(n, sizeof(early.buf) - EARLY_HEAD); /* a line of 4 KiB: its start */
	size_t drop = 0;
	while (early.len - drop + EARLY_HEAD + n > sizeof(early.buf))
		drop += early_size(drop); /* the oldest lines, whole */
	memmove(early.buf, early.buf + drop, early.len - drop);
	early.len -= drop;
	u8 *r = early.buf + early.len;
	r[0] = (u8)level;
	r[1] = (u8)n;
	r[2] = (u8)(n >> 8);
	memcpy(r + EARLY_HEAD, s, n);
	early.len += EARLY_HEAD + n;
}

/* A fault while drawing is reported on the other sinks: the console does
 * not enter a sink that is busy (platform/console.c). */
static void screen_line(struct console_sink *sink, enum log_level level, const char *s, size_t n)
{
	(void)sink;
	if (scr.state == SCREEN_EARLY)
		early_keep(level, s, n);
	else if (scr.state == SCREEN_UP)
		show(level, s, n);
}

struct console_sink screen_sink = { .line = screen_line };

void screen_init(const struct boot_info *bi)
{
	const struct boot_fb *fb = &bi->fb;
	unsigned cols = 0, rows = 0;
	int rc = -E_NOENT;

	/* Until the display is cleared and the early lines are on it, a line
	 * (a fault there being reported) goes to the other sinks only. */
	scr.state = SCREEN_NONE;

	if (fb->type == BOOT_FB_RGB)
		rc = fbcon_init(fb, &cols, &rows);
	else if (fb->type == BOOT_FB_EGA_TEXT)
		rc = vgacon_init(fb, &cols, &rows);
	else if (fb->type == BOOT_FB_INDEXED)
		rc = -E_NOTSUP;
	if (rc < 0) {
		if (rc != -E_NOENT)
			log_info("screen: the loader's display (%ux%u, %u bpp, %s) is not supported; "
				 "the console is on the serial port only", fb->width, fb->height, fb->bpp,
				 fb->type == BOOT_FB_INDEXED ? "palette colours" : fb->type == BOOT_FB_RGB ? "direct colour" : "text");
		return;
	}
	scr.cx = scr.cy = 0;
	scr.cols = MIN(cols, SCREEN_MAX_COLS);
	scr.rows = MIN(rows, SCREEN_MAX_ROWS);
	scr.jump = fb->type == BOOT_FB_RGB ? MAX(scr.rows / 4, 1u) : 1;
	/* The grid starts blank, and so does the display: fbcon_init() has
	 * cleared the framebuffer, text mode is cleared here. */
	memset(scr.text, ' ', sizeof(scr.text));
	scr.vga = fb->type != BOOT_FB_RGB;
	if (scr.vga)
		for (unsigned y = 0; y < scr.rows; y++)
			for (unsigned x = 0; x < scr.cols; x++)
				draw(x, y);

	for (size_t at = 0; at < early.len; at += early_size(at))
		show((enum log_level)early.buf[at], (const char *)early.buf + at + EARLY_HEAD, early_size(at) - EARLY_HEAD);
	early.len = 0;
	scr.state = SCREEN_UP;

	if (!scr.vga)
		log_info("screen: %ux%u framebuffer, %u bpp, at %lx; %ux%u text%s", fb->width, fb->height, fb->bpp,
			 fb->addr, scr.cols, scr.rows, fbcon_scale() > 1 ? " (glyphs scaled)" : "");
	else
		log_info("screen: VGA text mode %ux%u", scr.cols, scr.rows);
}
