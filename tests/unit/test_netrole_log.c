/* The server's refusal log lines (main/netrole.c log_refusal): a keyless
 * host must not get a line per forged HELLO by varying the claimed name
 * (each line stalls the server on a slow console); refusals after
 * authentication may come at once for another client, but capped. */
#include "check.h"
#include "../../main/netrole.c"

static unsigned lines;
static void sink(struct console_sink *k, enum log_level l, const char *t, size_t n)
{
	(void)k;
	(void)l;
	(void)t;
	(void)n;
	lines++;
}
static struct console_sink counter = { .line = sink };

/* What netrole.c calls and this test does not exercise. */
int lapic_init(void) { return 0; }
int lapic_timer_start(u32 hz, void (*fn)(void)) { (void)hz; (void)fn; return 0; }
void lapic_eoi(void) {}
void irq_set_handler(u8 v, irq_handler_fn fn) { (void)v; (void)fn; }
void net_link_nic(struct net_link *l, struct nic *n) { (void)l; (void)n; }
struct blk_dev *aoe_client_start(struct nic *n) { (void)n; return NULL; }
void aoe_log_stats(void) {}
void aoe_log_refusals(void) {}
int aoe_serve_start(struct net_link *l, struct nic *n, struct net_exports *x) { (void)l; (void)n; (void)x; return 0; }
void *page_alloc(size_t n) { (void)n; return NULL; }
static u64 fake_time;
u64 time_us(void) { return fake_time; }
void entropy_get(const void *a, size_t b, u8 r[32]) { (void)a; (void)b; memset(r, 1, 32); }

/* n refusals for why, 1 ms apart, the name varied when vary; lines logged. */
static unsigned refusals(unsigned n, u8 why, bool vary)
{
	unsigned before = lines;
	for (unsigned i = 0; i < n; i++) {
		server.refused.count++;
		server.refused.why = why;
		fmt_snprintf(server.refused.name, sizeof(server.refused.name), vary ? "x%u" : "same", i);
		log_refusal();
		fake_time += 1000;
	}
	return lines - before;
}

TEST(keyless_refusals_are_limited_whatever_the_names)
{
	fake_time = 100000000;
	CHECK_EQ(refusals(1000, NET_REFUSE_KEY, true), 8); /* the first 8, then one per 10 s */
	CHECK_EQ(refusals(1000, NET_REFUSE_UNKNOWN, true), 0);
	fake_time += 10000000;
	CHECK_EQ(refusals(1000, NET_REFUSE_UNKNOWN, true), 1);
	CHECK_EQ(refusals(1000, NET_REFUSE_KEY, false), 0);
}

TEST(authenticated_refusals_of_another_client_come_at_once_but_capped)
{
	fake_time += 20000000;
	CHECK_EQ(refusals(1, NET_REFUSE_KEY, false), 1); /* the periodic line */
	/* One client retrying: no more lines. */
	CHECK_EQ(refusals(100, NET_REFUSE_TAKEN, false), 1);
	/* Many clients: a line each at once, 8 extra lines in 10 s at most. */
	CHECK_EQ(refusals(1000, NET_REFUSE_DENIED, true), 7); /* with the TAKEN line: 8 */
	CHECK_EQ(refusals(1000, NET_REFUSE_BUSY, true), 0);
	fake_time += 10000000;
	unsigned n = refusals(1000, NET_REFUSE_TAKEN, true);
	CHECK(n >= 8 && n <= 9);
}

int main(void)
{
	console_register(&counter);
	RUN(keyless_refusals_are_limited_whatever_the_names);
	RUN(authenticated_refusals_of_another_client_come_at_once_but_capped);
	return CHECK_SUMMARY();
}
