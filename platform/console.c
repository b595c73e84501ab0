/* The console: formats ferry's log lines and hands every line to the
 * registered sinks.  Output only; ferry never reads the console. */
#include "console.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/cpu.h"

enum log_level log_threshold = LOG_INFO;
static struct console_sink *sinks;

void console_register(struct console_sink *sink)
{
	struct console_sink **p = &sinks;
	while (*p && *p != sink)
		p = &(*p)->next;
	if (*p)
		return; /* linking it twice would loop */
	sink->next = NULL;
	sink->busy = false;
	*p = sink;
}

void console_line(enum log_level level, const char *text, size_t len)
{
	for (struct console_sink *s = sinks; s; s = s->next) {
		/* A line written while this sink is busy with another one (a
		 * fault inside it being reported) skips it: a sink is never
		 * entered twice, and the other sinks still get the report. */
		if (s->busy)
			continue;
		s->busy = true;
		s->line(s, level, text, len);
		s->busy = false;
	}
}

static void vlog(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
	char line[CONSOLE_LINE_MAX + 1]; /* + fmt_vsnprintf's terminating NUL */
	size_t p = str_copy(line, prefix, sizeof(line)); /* prefixes are short */
	size_t len = p + (size_t)fmt_vsnprintf(line + p, sizeof(line) - p, fmt, ap);
	if (len > CONSOLE_LINE_MAX) {
		len = CONSOLE_LINE_MAX;
		memcpy(line + len - (sizeof(CONSOLE_CUT) - 1), CONSOLE_CUT, sizeof(CONSOLE_CUT) - 1);
	}
	console_line(level, line, len);
}

void log_printf(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix[] = {
		"ferry: error: ", "ferry: warning: ", "ferry: ", "ferry: debug: ",
	};
	/* Filtered before formatting: a debug line costs nothing when off. */
	if (lvl > log_threshold || lvl > LOG_DEBUG)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(lvl, prefix[lvl], fmt, ap);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_ERR, "ferry: PANIC: ", fmt, ap);
	va_end(ap);
	static const char halted[] = "ferry: halted";
	console_line(LOG_INFO, halted, sizeof(halted) - 1);
	cpu_halt_forever();
	__builtin_unreachable();
}
