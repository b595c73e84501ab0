/* The screen console: every console line (ferry's and the guest's) is also
 * shown on the display the loader left, for machines without a serial
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

/* The largest text grid kept; a bigger display gets larger glyphs. */
#define SCREEN_MAX_COLS 240
#define SCREEN_MAX_ROWS 100

/* Line colours, chosen from the line's prefix. */
enum screen_colour {
	SCREEN_INFO,  /* "ferry: ..." */
	SCREEN_WARN,  /* "ferry: warning: ..." */
	SCREEN_ERROR, /* "ferry: error: ...", "ferry: PANIC: ..." */
	SCREEN_GUEST, /* lines the guest printed */
	SCREEN_NCOLOURS,
};

/* Takes the display the loader described (if any) and shows the lines
 * written so far.  Needs no memory allocation, so it may run before
 * mem_init(). */
void screen_init(const struct boot_info *bi);

/* Console text: whole lines or pieces of them.  Before screen_init() the
 * text is kept (the last few KiB) and shown once the screen is up. */
void screen_write(const char *s, size_t n);

#endif
