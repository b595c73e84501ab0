/* What tests/unit/fake_hv.c records of the console and the log, for tests
 * that check what ferry said or what the guest printed. */
#ifndef FERRY_FAKE_HV_H
#define FERRY_FAKE_HV_H

#include "platform/console.h"

extern int fake_log_count;               /* every log_printf call */
extern int fake_log_by_level[LOG_DEBUG + 1];
extern char fake_log_last[512];          /* the last message, formatted */
/* When set, gets every log line (formatted) instead of stdout (the fuzz
 * harnesses' oracles, tests/fuzz/). */
extern void (*fake_log_hook)(const char *line);

/* console_line: every line, each followed by a newline, in order; how many
 * lines; the last line's level. */
extern char fake_console[16384];
extern size_t fake_console_len;
extern int fake_console_writes;
extern enum log_level fake_console_last_level;

/* Forgets the log counts, the last message and the console output. */
void fake_hv_reset(void);

#endif
