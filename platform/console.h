/* ferry's console: a log of whole lines, shown by every output (sink)
 * registered with it.  Lines from ferry start with "ferry: " and carry
 * their severity; lines the guest prints are forwarded verbatim as
 * LOG_GUEST (see vm/guest_io.c), each line whole, never interleaved with
 * another.
 *
 * The console knows no device: main/main.c registers the serial port
 * (platform/serial.c) and the screen (platform/screen.c), so an output
 * can be added without the others, or the console, knowing of it. */
#ifndef FERRY_CONSOLE_H
#define FERRY_CONSOLE_H

#include "lib/types.h"

enum log_level {
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	/* Not a severity: a line the guest printed, passed on as it came.
	 * log_threshold does not apply to it. */
	LOG_GUEST = 4,
};

extern enum log_level log_threshold; /* set from the command line "loglevel=" */

/* The longest line ferry formats.  A longer message is cut, and the cut
 * line ends in CONSOLE_CUT so that it does not read as whole. */
#define CONSOLE_LINE_MAX 512
#define CONSOLE_CUT " [cut]"

/* An output.  line() shows one line: len bytes of text, without a line
 * end, not NUL-terminated; level says whose line it is and how bad.  It
 * must finish in bounded time: every line of ferry waits for it. */
struct console_sink {
	void (*line)(struct console_sink *sink, enum log_level level, const char *text, size_t len);
	struct console_sink *next; /* the console's */
	bool busy;                 /* the console's: inside line() */
};

/* Adds a sink after those registered before it (again: no change).  A
 * line written before any sink is registered is lost. */
void console_register(struct console_sink *sink);

/* Gives one line to every sink, in registration order.  The text is
 * passed on as it is: no formatting, no copy. */
void console_line(enum log_level level, const char *text, size_t len);

void log_printf(enum log_level lvl, const char *fmt, ...) __printf(2, 3);
__noreturn void panic(const char *fmt, ...) __printf(1, 2);

/* One log line each; the message should not end in '\n' (each sink ends
 * the line its own way). */
#define log_err(...) log_printf(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
/* A warning the guest can cause at will: the first 8 from one place in
 * the code are logged, then one line saying the rest are not.  Each line
 * costs serial time, so a guest must not be able to fill it. */
#define GUEST_WARN_MAX 8
#define log_guest_warn(...)                                                                  \
	do {                                                                                 \
		static unsigned guest_warned_;                                               \
		if (guest_warned_ < GUEST_WARN_MAX)                                          \
			log_warn(__VA_ARGS__);                                               \
		else if (guest_warned_ == GUEST_WARN_MAX)                                    \
			log_warn("(more warnings like the last one are not shown)");        \
		if (guest_warned_ <= GUEST_WARN_MAX)                                         \
			guest_warned_++;                                                     \
	} while (0)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

#endif
