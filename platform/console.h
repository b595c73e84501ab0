/* ferry's console: every line goes to the serial port (COM1, 115200 8N1).
 * Lines from ferry start with "ferry: "; lines the guest prints are
 * forwarded verbatim (see vm/guest_io.c), never interleaved mid-line. */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include "lib/types.h"

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern enum log_level log_threshold; /* set from the command line "loglevel=" */

void console_init(void);
void console_write(const char *s, size_t n);
void log_printf(enum log_level lvl, const char *fmt, ...) __printf(2, 3);
__noreturn void panic(const char *fmt, ...) __printf(1, 2);

/* One log line each; the message should not end in '\n' (it is added). */
#define log_err(...) log_printf(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

#endif
