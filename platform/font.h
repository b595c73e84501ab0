/* The screen console's font: a Linux console font (PSF) from Debian's
 * console-setup-linux, converted at build time by tools/psf2c.py into
 * build/font.c.  It holds the printable ASCII characters and a replacement
 * glyph for everything else. */
#ifndef FERRY_FONT_H
#define FERRY_FONT_H

#include "lib/types.h"

#define FONT_FIRST 32
#define FONT_LAST 126
#define FONT_REPLACEMENT (FONT_LAST - FONT_FIRST + 1) /* index of the replacement glyph */
#define FONT_GLYPHS (FONT_LAST - FONT_FIRST + 2)

struct font {
	u8 width, height;  /* pixels */
	u8 row_bytes;      /* (width + 7) / 8; the leftmost pixel is the top bit */
	u8 glyph_bytes;    /* height * row_bytes: the stride of font_glyphs */
};

extern const struct font font_console;
/* FONT_GLYPHS glyphs of glyph_bytes each: glyph i is code point
 * FONT_FIRST + i, the last one is the replacement. */
extern const u8 font_glyphs[];

/* The glyph index for a byte of console text. */
static inline unsigned font_index(u8 c)
{
	return c >= FONT_FIRST && c <= FONT_LAST ? c - FONT_FIRST : FONT_REPLACEMENT;
}

#endif
