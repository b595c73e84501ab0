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
#include "console.h"
#include "fbcon.h"
#include "vgacon.h"
#include "lib/string.h"

enum screen_kind {
	SCREEN_EARLY, /* before screen_init(): text is kept */
	SCREEN_NONE,  /* no display, or it stopped working */
	SCREEN_FB,
	SCREEN_VGA,
};

static struct {
	enum screen_kind kind;
	unsigned cols, rows, jump;   /* jump: lines scrolled at a time */
	unsigned cx, cy;             /* cy == rows: scroll before the next character */
	bool line_start;
	bool busy;                   /* a fault while drawing must not recurse */
	enum screen_colour colour;   /* of the current line */
	u8 text[SCREEN_MAX_ROWS][SCREEN_MAX_COLS];
	u8 colours[SCREEN_MAX_ROWS][SCREEN_MAX_COLS];
} scr = { .line_start = true };

/* Text written before the screen is up: the newest 4 KiB. */
static struct {
	char buf[4096];
	size_t len;
	bool dropped;
} early;

static void draw(unsigned x, unsigned y)
{
	if (scr.kind == SCREEN_FB)
		fbcon_draw(x, y, scr.text[y][x], scr.colours[y][x]);
	else
		vgacon_draw(x, y, scr.text[y][x], scr.colours[y][x]);
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

static enum screen_colour classify(const char *s, size_t n)
{
	static const struct {
		const char *prefix;
		enum screen_colour colour;
	} kinds[] = {
		{ "ferry: error: ", SCREEN_ERROR },
		{ "ferry: PANIC: ", SCREEN_ERROR },
		{ "ferry: warning: ", SCREEN_WARN },
		{ "ferry: ", SCREEN_INFO },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t len = strlen(kinds[i].prefix);
		if (n >= len && !memcmp(s, kinds[i].prefix, len))
			return kinds[i].colour;
	}
	return SCREEN_GUEST;
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

/* Console text is ASCII; anything else is shown as one replacement glyph
 * per UTF-8 character. */
static void show(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		u8 c = (u8)s[i];
		if (scr.line_start && c != '\n') {
			scr.colour = classify(s + i, n - i);
			scr.line_start = false;
		}
		if (c == '\n') {
			newline();
			scr.line_start = true;
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
}

void screen_write(const char *s, size_t n)
{
	if (scr.kind == SCREEN_NONE)
		return;
	if (scr.kind == SCREEN_EARLY) {
		if (n >= sizeof(early.buf)) {
			s += n - sizeof(early.buf);
			n = sizeof(early.buf);
			early.len = 0;
			early.dropped = true;
		} else if (early.len + n > sizeof(early.buf)) {
			size_t drop = early.len + n - sizeof(early.buf);
			memmove(early.buf, early.buf + drop, early.len - drop);
			early.len -= drop;
			early.dropped = true;
		}
		memcpy(early.buf + early.len, s, n);
		early.len += n;
		return;
	}
	if (scr.busy) {
		/* Drawing faulted and the fault is being reported: stop using
		 * the screen; the serial port still has the message. */
		scr.kind = SCREEN_NONE;
		return;
	}
	scr.busy = true;
	show(s, n);
	scr.busy = false;
}

void screen_init(const struct boot_info *bi)
{
	const struct boot_fb *fb = &bi->fb;
	unsigned cols = 0, rows = 0;
	int rc = -E_NOENT;

	scr.kind = SCREEN_NONE;

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
	scr.line_start = true;
	scr.cols = MIN(cols, SCREEN_MAX_COLS);
	scr.rows = MIN(rows, SCREEN_MAX_ROWS);
	scr.jump = fb->type == BOOT_FB_RGB ? MAX(scr.rows / 4, 1u) : 1;
	/* The grid starts blank, and so does the display: fbcon_init() has
	 * cleared the framebuffer, text mode is cleared here. */
	memset(scr.text, ' ', sizeof(scr.text));
	scr.kind = fb->type == BOOT_FB_RGB ? SCREEN_FB : SCREEN_VGA;
	if (scr.kind == SCREEN_VGA)
		for (unsigned y = 0; y < scr.rows; y++)
			for (unsigned x = 0; x < scr.cols; x++)
				draw(x, y);

	const char *p = early.buf, *end = early.buf + early.len;
	if (early.dropped)
		while (p < end && *p++ != '\n')
			;
	screen_write(p, (size_t)(end - p));
	early.len = 0;

	if (scr.kind == SCREEN_FB)
		log_info("screen: %ux%u framebuffer, %u bpp, at %lx; %ux%u text%s", fb->width, fb->height, fb->bpp,
			 fb->addr, scr.cols, scr.rows, fbcon_scale() > 1 ? " (glyphs scaled)" : "");
	else
		log_info("screen: VGA text mode %ux%u", scr.cols, scr.rows);
}
