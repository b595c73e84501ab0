/* printf-style formatting into a buffer (lib/fmt.c).
 * Supports %d %i %u %x %X %p %s %c %% with flags '-', '0', width,
 * precision for %s, and length modifiers l, ll, z.  No floating point. */
#ifndef FERRY_FMT_H
#define FERRY_FMT_H

#include "types.h"

/* Like vsnprintf: always terminates when size > 0, returns the length the
 * full output would have had. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __printf(3, 0);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
