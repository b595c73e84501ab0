/* The console registry (platform/console.c) on the host: fake sinks
 * record what they are given.  Checks that every sink gets every line,
 * whole and in order, with its level; that log_threshold filters ferry's
 * lines but never the guest's; that an over-long line is cut visibly; and
 * that a sink is not entered again from inside itself. */
#include "check.h"
#include "platform/console.h"

#define FAKE_LINES 8

struct fake_sink {
	struct console_sink sink; /* first: the console's pointer is ours */
	unsigned n;
	enum log_level level[FAKE_LINES];
	char text[FAKE_LINES][CONSOLE_LINE_MAX + 1];
	size_t len[FAKE_LINES];
	bool logs_inside; /* writes a line of its own from inside line() */
};

static void fake_line(struct console_sink *sink, enum log_level level, const char *text, size_t len)
{
	struct fake_sink *f = (struct fake_sink *)sink;
	if (f->n < FAKE_LINES) {
		f->level[f->n] = level;
		f->len[f->n] = len;
		memcpy(f->text[f->n], text, len < CONSOLE_LINE_MAX ? len : CONSOLE_LINE_MAX);
		f->text[f->n][len < CONSOLE_LINE_MAX ? len : CONSOLE_LINE_MAX] = 0;
	}
	f->n++;
	if (f->logs_inside)
		log_err("from inside");
}

static struct fake_sink first = { .sink.line = fake_line }, second = { .sink.line = fake_line };

static void reset(void)
{
	first.n = second.n = 0;
	first.logs_inside = second.logs_inside = false;
	log_threshold = LOG_INFO;
}

TEST(every_sink_gets_every_line)
{
	reset();
	log_info("boot: %s", "ok");
	static const char guest[] = "guest: hello";
	console_line(LOG_GUEST, guest, sizeof(guest) - 1);
	log_warn("w %d", 2);
	log_err("bad");
	struct fake_sink *sinks[] = { &first, &second };
	for (int i = 0; i < 2; i++) {
		struct fake_sink *f = sinks[i];
		CHECK_EQ(f->n, 4);
		CHECK_STR(f->text[0], "ferry: boot: ok");
		CHECK_EQ(f->len[0], strlen("ferry: boot: ok")); /* no line end: the sink adds its own */
		CHECK_EQ(f->level[0], LOG_INFO);
		CHECK_STR(f->text[1], "guest: hello");
		CHECK_EQ(f->level[1], LOG_GUEST);
		CHECK_STR(f->text[2], "ferry: warning: w 2");
		CHECK_EQ(f->level[2], LOG_WARN);
		CHECK_STR(f->text[3], "ferry: error: bad");
		CHECK_EQ(f->level[3], LOG_ERR);
	}
}

TEST(registering_twice_changes_nothing)
{
	reset();
	console_register(&first.sink);
	console_register(&second.sink);
	log_info("once");
	CHECK_EQ(first.n, 1);
	CHECK_EQ(second.n, 1);
}

TEST(threshold_filters_ferry_lines_not_the_guests)
{
	reset();
	log_threshold = LOG_WARN;
	log_info("hidden");
	log_debug("hidden");
	log_warn("shown");
	console_line(LOG_GUEST, "g", 1);
	CHECK_EQ(first.n, 2);
	CHECK_STR(first.text[0], "ferry: warning: shown");
	CHECK_EQ(first.level[1], LOG_GUEST);
	log_threshold = LOG_ERR;
	log_warn("hidden");
	log_err("e");
	CHECK_EQ(first.n, 3);
	log_threshold = LOG_DEBUG;
	log_debug("d");
	CHECK_EQ(first.n, 4);
	CHECK_STR(first.text[3], "ferry: debug: d");
	CHECK_EQ(first.level[3], LOG_DEBUG);
	CHECK_EQ(second.n, 4);
}

TEST(long_line_cut_visibly)
{
	reset();
	static char msg[2 * CONSOLE_LINE_MAX];
	memset(msg, 'a', sizeof(msg) - 1);
	log_info("%s", msg);
	CHECK_EQ(first.n, 1);
	CHECK_EQ(first.len[0], CONSOLE_LINE_MAX);
	const char *t = first.text[0];
	CHECK(!strncmp(t, "ferry: aaaa", 11));
	CHECK_STR(t + CONSOLE_LINE_MAX - strlen(CONSOLE_CUT), CONSOLE_CUT);
	CHECK_EQ(t[CONSOLE_LINE_MAX - strlen(CONSOLE_CUT) - 1], 'a');
	/* Exactly the longest line: whole, not marked. */
	msg[CONSOLE_LINE_MAX - strlen("ferry: ")] = 0;
	log_info("%s", msg);
	CHECK_EQ(first.len[1], CONSOLE_LINE_MAX);
	CHECK_EQ(first.text[1][CONSOLE_LINE_MAX - 1], 'a');
	/* One byte more: cut. */
	msg[CONSOLE_LINE_MAX - strlen("ferry: ")] = 'a';
	msg[CONSOLE_LINE_MAX - strlen("ferry: ") + 1] = 0;
	log_info("%s", msg);
	CHECK_EQ(first.len[2], CONSOLE_LINE_MAX);
	CHECK_STR(first.text[2] + CONSOLE_LINE_MAX - strlen(CONSOLE_CUT), CONSOLE_CUT);
}

TEST(guest_lines_passed_on_as_they_are)
{
	reset();
	/* Not formatted: a '%' stays, and the length is the caller's. */
	console_line(LOG_GUEST, "100% done\nx", 9);
	CHECK_EQ(first.n, 1);
	CHECK_STR(first.text[0], "100% done");
	console_line(LOG_GUEST, "", 0); /* an empty line is a line */
	CHECK_EQ(second.n, 2);
	CHECK_EQ(second.len[1], 0);
}

TEST(sink_not_entered_from_inside_itself)
{
	reset();
	first.logs_inside = true;
	log_info("outer");
	/* first: the outer line only (its own report skipped it); second:
	 * the report, written while first was busy, then the outer line. */
	CHECK_EQ(first.n, 1);
	CHECK_STR(first.text[0], "ferry: outer");
	CHECK_EQ(second.n, 2);
	CHECK_STR(second.text[0], "ferry: error: from inside");
	CHECK_STR(second.text[1], "ferry: outer");
	first.logs_inside = false;
	log_info("after");
	CHECK_EQ(first.n, 2); /* busy is cleared again */
}

int main(void)
{
	log_info("before any sink: lost, harmlessly");
	console_register(&first.sink);
	console_register(&second.sink);
	RUN(every_sink_gets_every_line);
	RUN(registering_twice_changes_nothing);
	RUN(threshold_filters_ferry_lines_not_the_guests);
	RUN(long_line_cut_visibly);
	RUN(guest_lines_passed_on_as_they_are);
	RUN(sink_not_entered_from_inside_itself);
	return CHECK_SUMMARY();
}
