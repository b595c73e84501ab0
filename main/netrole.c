/* Wiring the ferry block protocol (net/) into the machine: the NIC and the
 * TSC clock as its link, the client as the logical device's back end, the
 * server driven by ferry's LAPIC timer through INTR exits, so it answers
 * while its guest computes (docs/protocol.md). */
#include "netrole.h"
#include "platform/config.h"
#include "platform/console.h"
#include "platform/mem.h"
#include "platform/time.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/io.h"
#include "platform/lapic.h"
#include "platform/trap.h"
#include "vm/ioapic_guard.h"
#include "net/client.h"
#include "net/server.h"
#include "aoe_role.h"
#include "platform/entropy.h"

static struct net_link link;
static struct net_client client;
static struct net_server server;
static const struct net_stats *stats;
/* The export table from ferry.cfg's export lines (or the implicit one)
 * and the disks main took for them, one each. */
static struct net_exports exports;

/* Different on every boot: the protocol's replay windows, handshake keys,
 * cookie secret and nonces all rest on it (docs/protocol.md). */
static u64 new_session(const u8 *mac)
{
	u8 r[32];
	u64 s;
	entropy_get(mac, ETH_ALEN, r);
	memcpy(&s, r, sizeof(s));
	mem_wipe(r, sizeof(r));
	s = s ? s : 1;
	log_info("this boot's session is %016lx", s); /* on the wire in every header anyway */
	return s;
}

static u64 bad_mac_frames(void)
{
	return stats ? stats->rx_drop[NET_DROP_MAC] : 0;
}

/* One line when frames of another protocol version arrive: the first few,
 * then every 1000 (anyone on the wire can send them). */
static void log_version(const char *role)
{
	static u64 reported;
	u64 n = stats ? stats->rx_drop[NET_DROP_VERSION] : 0;
	if (n == reported || (reported >= 8 && n - reported < 1000))
		return;
	reported = n;
	const u8 *m = stats->bad_version_from;
	log_warn("%s: dropped %lu frames of ferry protocol version %u (unauthenticated; last from %02x:%02x:%02x:%02x:%02x:%02x); "
		 "this ferry speaks version %u only: run the same ferry release on both ends",
		 role, n, stats->bad_version, m[0], m[1], m[2], m[3], m[4], m[5], NET_VERSION);
}

void netrole_log_stats(void)
{
	char line[768];
	aoe_log_stats();
	if (!stats)
		return;
	if (net_stats_format(stats, line, sizeof(line)) >= (int)sizeof(line))
		log_warn("net: the counters below are cut short");
	log_info("net: %s", line);
}

struct blk_dev *netrole_client_start(struct nic *nic)
{
	if (config.protocol == PROTO_AOE)
		return aoe_client_start(nic);
	struct net_client_cfg cfg = {
		.key = config.key,
		.key_len = config.key_len,
		.name = config.client_name,
		.session = new_session(nic->mac),
		.want_server = config.want_server,
		.dev = config.want_export ? config.export_index : NET_DEV_ANY,
		.dead_time_us = (u64)config.dead_time * 1000000,
		.max_frame = nic->max_frame,
		.burst = config.burst,
	};
	memcpy(cfg.mac, nic->mac, ETH_ALEN);
	memcpy(cfg.server_mac, config.server_mac, ETH_ALEN);
	net_link_nic(&link, nic);
	if (net_client_init(&client, &cfg, &link) < 0) {
		log_err("client: bad protocol configuration");
		return NULL;
	}
	stats = &client.stats;

	char want[24] = "its first export";
	if (config.want_export)
		fmt_snprintf(want, sizeof(want), "export %u", config.export_index);
	log_info("client: \"%s\" looking for a server on %s (up to %u s), for %s", client.ident, nic->name,
		 config.discover_timeout, want);
	u64 waited = 0, total = (u64)config.discover_timeout * 1000000;
	u32 refused = 0; /* the last refusal of any slice: each discovery starts afresh */
	while (waited < total) {
		u64 slice = MIN(total - waited, 5000000);
		int rc = net_client_discover(&client, slice);
		if (client.refused)
			refused = client.refused;
		/* Denied by the one server we want: final.  Denied by some
		 * server while looking for any: another may yet serve us. */
		if (rc == -E_ACCES)
			refused = NET_ST_DENIED;
		if (rc == -E_ACCES && config.want_server)
			break;
		if (rc == 0) {
			struct blk_dev *d = net_client_blk(&client);
			log_info("client: importing \"%s\" from %s: %lu sectors of %u bytes (%lu MiB)%s, export %u",
				 d->info.model, d->name, d->info.sectors, d->info.sector_size,
				 d->info.sectors * d->info.sector_size / MiB, d->info.read_only ? ", read-only" : "",
				 client.cfg.dev);
			return d;
		}
		waited += slice;
		log_version("client");
		if (waited < total)
			log_info("client: no server yet after %lu s%s", waited / 1000000,
				 bad_mac_frames() ? "; some answers failed authentication" : "");
	}
	if (refused == NET_ST_DENIED)
		log_err("client: %s refuses \"%s\" %s: that export's clients= does not list this client; the guest "
			"gets no disk", config.want_server ? "the server" : "every server that answered", client.ident,
			want);
	else if (refused == NET_ST_TAKEN)
		log_err("client: %s is not shared and another client writes it: the server refused \"%s\" for %u s; "
			"the guest gets no disk (the server's log names the writer)", want, client.ident,
			config.discover_timeout);
	else if (refused == NET_ST_BUSY)
		log_err("client: no server took us in %u s: the server has no free client slot (all in use by "
			"active clients)", config.discover_timeout);
	else if (bad_mac_frames())
		log_err("client: no server answered in %u s; %lu frames failed authentication: is key= the key "
			"derived for client \"%s\" from that server's key?", config.discover_timeout, bad_mac_frames(),
			client.ident);
	else
		log_err("client: no server answered in %u s: is a server running on this network, and is key= the "
			"key derived for client \"%s\" from the server's key (tools/ferrykey.py derive)?%s",
			config.discover_timeout, client.ident,
			config.want_export ? " Does the server have that export (a server without it stays silent)?" : "");
	netrole_log_stats();
	return NULL;
}

/* One line about the last handshake (or write) the server refused; each
 * line costs the server its time on a slow console, so they are limited.
 * UNKNOWN and KEY refusals need no key at all (a forged HELLO, any name
 * the sender likes): they are limited as a whole, the first 8 lines and
 * then one every 10 s, whatever the names.  DENIED, TAKEN and BUSY come
 * only after a frame authenticated under a client's key: a line for
 * another client, export or reason than the last one's may come at once,
 * so one client retrying does not hide another's refusal, but at most 8
 * such extra lines in 10 s. */
#define REFUSAL_FREE_LINES 8
#define REFUSAL_PERIOD_US 10000000ull

static bool refusal_authenticated(u8 why)
{
	return why == NET_REFUSE_DENIED || why == NET_REFUSE_TAKEN || why == NET_REFUSE_BUSY;
}

static bool refusal_due(const struct net_refusal *r, const struct net_refusal *last, u64 now)
{
	static u64 lines, last_us, burst_us;
	static unsigned burst;
	if (lines < REFUSAL_FREE_LINES || now - last_us >= REFUSAL_PERIOD_US) {
		lines++;
		last_us = now;
		return true;
	}
	bool other = r->why != last->why || r->dev != last->dev || strcmp(r->name, last->name) != 0;
	if (!refusal_authenticated(r->why) || !other)
		return false;
	if (now - burst_us >= REFUSAL_PERIOD_US) {
		burst_us = now;
		burst = 0;
	}
	if (burst >= REFUSAL_FREE_LINES)
		return false;
	burst++;
	lines++;
	return true;
}

static void log_refusal(void)
{
	static u64 reported;
	static struct net_refusal last;
	const struct net_refusal *r = &server.refused;
	if (r->count == reported || !refusal_due(r, &last, time_us()))
		return;
	reported = r->count;
	last = *r;
	static const char *const why[] = {
		[NET_REFUSE_UNKNOWN] = "the name is not in clients=",
		[NET_REFUSE_KEY] = "its frame does not authenticate under the key derived for that name (another "
				   "client's name, or a key not made for this name from this server's key)",
		[NET_REFUSE_BUSY] = "every client slot is in use by an active client",
		[NET_REFUSE_DENIED] = "the export's clients= does not list it",
		[NET_REFUSE_TAKEN] = "the export is not shared and has another writer",
	};
	char what[96] = "";
	if ((r->why == NET_REFUSE_DENIED || r->why == NET_REFUSE_TAKEN) && r->dev < exports.n)
		fmt_snprintf(what, sizeof(what), " to export %u \"%s\"", r->dev, exports.e[r->dev].name);
	char holder[64] = "";
	const struct net_writer *h = &r->holder;
	if (r->why == NET_REFUSE_TAKEN && h->kind == NET_WRITER_FERRY)
		fmt_snprintf(holder, sizeof(holder), " (client \"%.32s\")", h->name);
	else if (r->why == NET_REFUSE_TAKEN && h->kind == NET_WRITER_AOE)
		fmt_snprintf(holder, sizeof(holder), " (AoE initiator %02x:%02x:%02x:%02x:%02x:%02x)", h->mac[0],
			     h->mac[1], h->mac[2], h->mac[3], h->mac[4], h->mac[5]);
	const u8 *m = r->mac;
	log_warn("server: refused client \"%s\" at %02x:%02x:%02x:%02x:%02x:%02x%s: %s%s (%lu refusals so far)", r->name,
		 m[0], m[1], m[2], m[3], m[4], m[5], what, r->why < ARRAY_SIZE(why) && why[r->why] ? why[r->why] : "?",
		 holder, r->count);
}

/* One line when an authenticated ferry BIND took an export from an AoE
 * initiator (net/exports.h net_export_take): the initiator's writes fail
 * from then on, and the operator should know why.  Only enrolled clients
 * cause it; limited all the same (the first 8, then one every 10 s). */
static void log_takeover(void)
{
	static u64 reported, last_us;
	const struct net_takeover *t = &server.took_over;
	u64 now = time_us();
	if (t->count == reported || (reported >= REFUSAL_FREE_LINES && now - last_us < REFUSAL_PERIOD_US))
		return;
	reported = t->count;
	last_us = now;
	const u8 *m = t->from.mac;
	log_warn("server: client \"%s\" took export %u \"%s\" from AoE initiator %02x:%02x:%02x:%02x:%02x:%02x, "
		 "whose writes are refused from now on (an authenticated BIND wins over AoE, which has none) (%lu so "
		 "far)", t->name, t->dev, t->dev < exports.n ? exports.e[t->dev].name : "?", m[0], m[1], m[2], m[3],
		 m[4], m[5], t->count);
}

/* Frames wake the server as they arrive when its NIC can send its receive
 * interrupt as a message (nic_ops.irq_msi): the handler masks it, the
 * serving at the exit it causes takes what came, and unmasks it on the
 * way out, looking once more for a frame that landed in between.  So a
 * request waits for no tick, and a server whose guest idles sleeps until
 * a frame comes.  Without one, frames wait for the next tick (poll_hz). */
static struct {
	struct nic *nic;
	bool on, masked;
	u64 window_start, window_busy; /* ferry's serving time in this tick's window */
} wake;

static void on_nic_irq(u8 vector)
{
	(void)vector;
	wake.nic->stats.rx_irqs++;
	wake.nic->ops->irq_enable(wake.nic, false);
	wake.nic->ops->irq_ack(wake.nic);
	wake.masked = true;
	lapic_eoi();
}

static void wake_start(struct nic *nic)
{
	int rc = nic->ops->irq_msi ? nic->ops->irq_msi(nic, LAPIC_NIC_VECTOR) : -E_NOTSUP;
	if (rc < 0) {
		log_info("server: %s sends no interrupt messages (%s): frames are served at the %u Hz ticks", nic->name,
			 err_name(rc), config.poll_hz);
		return;
	}
	wake.nic = nic;
	wake.on = true;
	irq_set_handler(LAPIC_NIC_VECTOR, on_nic_irq);
	nic->ops->irq_enable(nic, true);
	log_info("server: frames wake ferry as they arrive (%s receive interrupt, vector %x)", nic->name,
		 LAPIC_NIC_VECTOR);
}

/* Runs at every INTR exit: serve whatever arrived, and while requests
 * are on the disk, what it finishes (their answers, the requests their
 * client then sends) for up to DISK_WAIT_US.  Bounded, so the server's
 * guest keeps its share of the CPU even under a flood: while the guest
 * runs, frames wake ferry again only until it has served half of a
 * tick's time (then the tick does). */
#define DISK_WAIT_US 500
static void serve(bool guest_idle);
static void server_poll(struct vm *vm)
{
	(void)vm;
	serve(false);
}

static void wake_rearm(bool guest_idle, u64 start)
{
	static u64 said; /* 1, 4, 16, ...: a few lines over a server's life */
	if (wake.on && wake.nic->stats.rx_irqs >= (said ? said * 4 : 1)) {
		said = said ? said * 4 : 1;
		log_info("server: %lu receive interrupts so far: frames wake ferry", said);
	}
	u64 now = time_us(), tick = 1000000 / config.poll_hz;
	if (now - wake.window_start >= tick) {
		wake.window_start = start;
		wake.window_busy = 0;
	}
	wake.window_busy += now - start;
	if (!wake.on || !wake.masked || (!guest_idle && wake.window_busy >= tick / 2))
		return;
	wake.masked = false;
	wake.nic->ops->irq_enable(wake.nic, true);
	net_server_poll(&server); /* a frame that came before the unmask raised nothing */
}

static void serve(bool guest_idle)
{
	static u64 reported_bad;
	u64 start = time_us();
	for (unsigned round = 0; round < 16;) {
		if (net_server_poll(&server)) {
			round++;
			log_refusal();
			log_takeover();
		} else if (!net_server_disk_busy(&server) || time_us() - start >= DISK_WAIT_US) {
			break;
		} else {
			cpu_relax();
		}
	}
	u64 bad = bad_mac_frames();
	if (bad != reported_bad && (reported_bad < 8 || bad - reported_bad >= 1000)) {
		log_warn("server: %lu frames failed authentication so far (a client with another key?)", bad);
		reported_bad = bad;
	}
	log_version("server");
	log_refusal();
	aoe_log_refusals();
	wake_rearm(guest_idle, start);
}

static void on_tick(void) {}

/* The server's guest halted.  It takes no interrupts here (ferry takes
 * them all: intr_exiting), so nothing it could wait for comes before
 * ferry resumes it: rather than resume it into its next HLT at once (a
 * core spent going round), ferry sleeps until its own next interrupt
 * (a frame's, see wake; the tick at the latest, poll_hz) and serves,
 * with no bound on its share then; with requests on the
 * disk it serves at once.  sti's one-instruction shadow keeps the
 * interrupt from slipping in before the hlt. */
static void server_halt(struct vm *vm)
{
	(void)vm;
	if (!net_server_disk_busy(&server)) {
		write_cr8(0); /* a TPR the guest raised would keep every wake-up out (vm/exit.c) */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	serve(true);
}

static void build_exports(struct blk_dev **disks, unsigned n)
{
	exports.n = n;
	for (unsigned i = 0; i < n; i++) {
		const struct config_export *c = &config.exports[i];
		struct net_export *e = &exports.e[i];
		str_copy(e->name, c->name, sizeof(e->name));
		e->dev = disks[i];
		e->read_only = c->read_only;
		e->shared = c->shared;
		e->clients = c->clients;
		e->aoe = c->aoe;
		e->shelf = c->aoe_shelf;
		e->slot = c->aoe_slot;
		e->nallow = c->aoe_nallow;
		memcpy(e->allow, c->aoe_allow, sizeof(e->allow[0]) * c->aoe_nallow);
	}
}

static void log_export(unsigned i)
{
	const struct net_export *e = &exports.e[i];
	const struct blk_dev *d = e->dev;
	char aoe[24] = "";
	if (e->aoe)
		fmt_snprintf(aoe, sizeof(aoe), ", AoE e%u.%u", e->shelf, e->slot);
	log_info("server: export %u \"%s\": %s (\"%s\", %lu sectors of %u bytes)%s%s%s; clients: %s", i, e->name,
		 d->name, d->info.model, d->info.sectors, d->info.sector_size, aoe,
		 e->read_only || d->info.read_only ? ", read-only" : "",
		 net_export_exclusive(&exports, i) ? ", one writer at a time" : e->read_only ? "" : ", shared",
		 e->clients && e->clients[0] ? e->clients : "any");
}

int netrole_server_start(struct vm *vm, struct nic *nic, struct blk_dev **disks, unsigned n)
{
	/* One request buffer per request in flight, across the clients (each
	 * keeps up to NET_DEPTH): net_buffers MiB of them, taken from the pool
	 * that mem_init enlarged by as much. */
	size_t bufsz = (size_t)config.net_buffers * MiB;
	void *buf = page_alloc(bufsz / PAGE_SIZE);
	if (!buf) {
		log_err("server: no memory for net_buffers=%u MiB of request buffers: lower net_buffers", config.net_buffers);
		return -E_NOMEM;
	}
	build_exports(disks, n);
	struct net_server_cfg cfg = {
		.key = config.key,
		.key_len = config.key_len,
		.clients = config.clients,
		.session = new_session(nic->mac),
		.exports = &exports,
		.buf = buf,
		.buf_size = bufsz,
		.max_frame = nic->max_frame,
	};
	memcpy(cfg.mac, nic->mac, ETH_ALEN);
	net_link_nic(&link, nic);
	int rc;
	if (config.aoe && (rc = aoe_serve_start(&link, nic, &exports)) < 0)
		return rc;
	rc = net_server_init(&server, &cfg, &link);
	if (rc < 0) {
		log_err("server: cannot export %s: %s", disks[0]->name, err_name(rc));
		return rc;
	}
	stats = &server.stats;
	if ((rc = lapic_init()) < 0 || (rc = lapic_timer_start(config.poll_hz, on_tick)) < 0) {
		log_err("server: no local APIC timer to serve the network with: %s", err_name(rc));
		return rc;
	}
	vm->on_interrupt = server_poll;
	vm->on_halt = server_halt;
	vm->arch->intr_exiting(&vm->vcpu, true);
	vm->ferry_irqs = true;
	unsigned masked = ioapic_guard_mask_all();
	if (masked)
		log_info("server: masked %u I/O APIC entries the firmware left open: the guest takes no interrupts here",
			 masked);
	wake_start(nic);
	if (config.clients[0])
		log_info("server: clients enrolled: %s", config.clients);
	else
		log_info("server: no clients= list: any client whose key derives from this server's key is accepted");
	for (unsigned i = 0; n > 1 && i < n; i++)
		log_export(i);
	log_info("server: exporting %s (\"%s\", %lu sectors of %u bytes%s)%s on %s, polling at %u Hz, %u request buffers",
		 disks[0]->name, disks[0]->info.model, disks[0]->info.sectors, disks[0]->info.sector_size,
		 exports.e[0].read_only ? ", read-only" : "", n > 1 ? " and the exports above" : "", nic->name,
		 config.poll_hz, server.nbufs);
	return 0;
}
