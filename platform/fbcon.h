/* Pixel framebuffer back end of the screen console (platform/screen.c). */
#ifndef FERRY_FBCON_H
#define FERRY_FBCON_H

#include "boot/boot_info.h"
#include "screen.h"

/* Takes a direct-colour framebuffer (15/16, 24 or 32 bits per pixel, any
 * pitch) and clears it; 0 and the text grid size, or -E_NOTSUP. */
int fbcon_init(const struct boot_fb *fb, unsigned *cols, unsigned *rows);
/* Draws byte c (printable ASCII, else the replacement glyph) at a cell. */
void fbcon_draw(unsigned col, unsigned row, u8 c, enum screen_colour colour);
/* Describes the mode for the boot log. */
unsigned fbcon_scale(void);

#endif
