/* The UEFI loader's messages (output.c): on the UEFI console and, when
 * the console does not already reach one, on the first serial port.
 * Info lines start "ferry: uefi:", warnings "ferry: warning: uefi:",
 * errors "ferry: error: uefi:". */
#ifndef FERRY_EFI_OUTPUT_H
#define FERRY_EFI_OUTPUT_H

#include <efi.h>

/* Finds the serial port to copy the console to, if it needs one. */
void output_init(void);
void info(const CHAR16 *fmt, ...);
void warn(const CHAR16 *fmt, ...);
/* Reports why ferry cannot start, leaves the message on the screen for a
 * while (or until a key), and returns an error status for efi_main to
 * give back to the firmware, which goes on to its next boot option. */
EFI_STATUS fail(EFI_STATUS st, const CHAR16 *fmt, ...);

#endif
