/* VGA text mode back end of the screen console (platform/screen.c). */
#ifndef FERRY_VGACON_H
#define FERRY_VGACON_H

#include "boot/boot_info.h"
#include "screen.h"

/* Takes the text mode the loader described; 0 and the grid size, or
 * -E_NOENT when no VGA answers, -E_NOTSUP for an unusable mode. */
int vgacon_init(const struct boot_fb *fb, unsigned *cols, unsigned *rows);
/* Shows byte c (printable ASCII, else a replacement) at a cell. */
void vgacon_draw(unsigned col, unsigned row, u8 c, enum screen_colour colour);

#endif
