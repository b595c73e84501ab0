/* The screen console, a console sink: every console line (ferry's and the
 * guest's) is also shown on the display the loader left, for machines without a serial
 * port.  Two back ends draw the text: platform/fbcon.c on a pixel
 * framebuffer (UEFI GOP, a VBE mode set by GRUB) and platform/vgacon.c in
 * VGA text mode (BIOS boots).
 *
 * The display is usually a PCI BAR that the guest sees as well: once the
 * guest runs it may draw over ferry's text, and ferry's later lines over
 * the guest's picture.  That is accepted; the serial port stays the
 * complete log. */
#ifndef FERRY_SCREEN_H
#define FERRY_SCREEN_H

#include "boot/boot_info.h"
#include "console.h"

/* The largest text grid kept; a bigger display gets larger glyphs. */
#define SCREEN_MAX_COLS 240
#define SCREEN_MAX_ROWS 100

/* Line colours, chosen from the line's level. */
enum screen_colour {
	SCREEN_INFO,  /* LOG_INFO, LOG_DEBUG */
	SCREEN_WARN,  /* LOG_WARN */
	SCREEN_ERROR, /* LOG_ERR, panics included */
	SCREEN_GUEST, /* LOG_GUEST: lines the guest printed */
	SCREEN_NCOLOURS,
};

/* Takes the display the loader described (if any) and shows the lines
 * written so far.  Needs no memory allocation, so it may run before
 * mem_init(). */
void screen_init(const struct boot_info *bi);

/* The screen's console sink.  Register it before the first line: until
 * screen_init() it keeps the newest lines (a few KiB) with their levels
 * and shows them once the screen is up. */
extern struct console_sink screen_sink;

#endif
