/* ATA over Ethernet in the machine (docs/aoe.md).  Server: the target
 * (net/aoe_target.h) beside ferry's own protocol, one link in front of the
 * NIC handing every frame of EtherType 0x88A2 to the target and the rest
 * to the ferry server, so both are served from the same timer poll.
 * Client: the initiator (net/aoe_client.h) as the guest's back end. */
#include "aoe_role.h"
#include "platform/config.h"
#include "platform/console.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "net/aoe_target.h"
#include "net/aoe_client.h"
#include "platform/mem.h"

#define AOE_POLL_BUDGET (2 * AOE_TGT_BUFCNT) /* frames taken per recv call */

/* One target per export with an AoE address, from the pool (each holds
 * a run buffer of 64 KiB the disk reads and writes directly). */
static struct aoe_target *targets[NET_EXPORTS_MAX];
static struct aoe_export {
	struct net_exports *x;
	unsigned idx;
} target_export[NET_EXPORTS_MAX];
static unsigned ntargets;
static struct aoe_client client;
static bool client_running;
static struct net_link nic_link;
static u8 rx[NIC_JUMBO_FRAME] __aligned(4);
static bool running;
/* How the timer's polls meet the AoE traffic (docs/aoe.md, "Measured"):
 * recv calls, those that found AoE frames (a batch), the largest batch. */
static u64 polls, batches, batch_max;

static bool is_aoe(const u8 *f, size_t len)
{
	return len >= ETH_HLEN && f[12] == (AOE_ETHERTYPE >> 8) && f[13] == (AOE_ETHERTYPE & 0xFF);
}

static void commit_all(void)
{
	for (unsigned i = 0; i < ntargets; i++)
		aoe_target_commit(targets[i]);
}

/* recv for the ferry server: AoE frames are answered on the way; the
 * first other frame is handed up.  -E_NOENT after AOE_POLL_BUDGET AoE
 * frames too, so a flood of them cannot hold the poll forever. */
static int demux_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	(void)ctx;
	unsigned n = 0, i;
	int rc = -E_NOENT;
	polls++;
	for (i = 0; i < AOE_POLL_BUDGET; i++) {
		size_t got;
		rc = nic_link.recv(nic_link.ctx, rx, sizeof(rx), &got);
		if (rc < 0)
			break;
		if (is_aoe(rx, got)) {
			for (unsigned t = 0; t < ntargets; t++) /* each takes what is addressed to it */
				aoe_target_frame(targets[t], rx, got);
			n++;
			continue;
		}
		if (got > cap)
			continue; /* longer than the ferry protocol's frames: not one */
		memcpy(buf, rx, got);
		*len = got;
		break;
	}
	if (n) {
		batches++;
		batch_max = MAX(batch_max, (u64)n);
	}
	commit_all(); /* the batch is over: flush, answer the writes */
	return i == AOE_POLL_BUDGET ? -E_NOENT : rc;
}

static int demux_send(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	return nic_link.send(nic_link.ctx, frame, len);
}

static u64 demux_now(void *ctx)
{
	(void)ctx;
	return nic_link.now_us(nic_link.ctx);
}

/* The writer rule for an AoE initiator (net/exports.h): its write may go
 * ahead when the export has no other live writer. */
static bool aoe_may_write(void *ctx, const u8 *mac)
{
	const struct aoe_export *ae = ctx;
	struct net_writer w = { .kind = NET_WRITER_AOE };
	memcpy(w.mac, mac, ETH_ALEN);
	return net_export_claim(ae->x, ae->idx, &w, nic_link.now_us(nic_link.ctx), NULL) == 0;
}

static int serve_export(struct nic *nic, struct net_exports *x, unsigned i)
{
	const struct net_export *e = &x->e[i];
	struct aoe_target_cfg cfg = {
		.shelf = e->shelf,
		.slot = e->slot,
		.max_frame = nic->max_frame,
		.dev = e->dev,
		.read_only = e->read_only,
		.nallow = e->nallow,
		.may_write = aoe_may_write,
		.may_write_ctx = &target_export[ntargets],
	};
	memcpy(cfg.mac, nic->mac, ETH_ALEN);
	memcpy(cfg.allow, e->allow, sizeof(cfg.allow[0]) * e->nallow);
	target_export[ntargets] = (struct aoe_export){ x, i };
	size_t pages = (sizeof(struct aoe_target) + PAGE_SIZE - 1) / PAGE_SIZE;
	struct aoe_target *t = page_alloc(pages);
	int rc = t ? aoe_target_init(t, &cfg, &nic_link) : -E_NOMEM;
	if (rc < 0) {
		log_err("aoe: cannot export %s (%s) as e%u.%u: %s%s", e->name, e->dev->name, cfg.shelf, cfg.slot,
			err_name(rc), rc == -E_NOTSUP ? " (AoE carries 512-byte sectors only)" : "");
		if (t)
			page_free(t, pages);
		return rc;
	}
	targets[ntargets++] = t;
	log_warn("aoe: serving %s (export %s) as e%u.%u (%u sectors per frame%s%s); AoE has no authentication: %s "
		 "can read%s it", e->dev->name, e->name, cfg.shelf, cfg.slot, t->scnt, cfg.read_only ? ", read-only" : "",
		 net_export_exclusive(x, i) ? ", one writer at a time" : "",
		 cfg.nallow ? "every machine with an address in aoe_allow" : "every machine on this network",
		 cfg.read_only ? "" : " and write");
	return 0;
}

int aoe_serve_start(struct net_link *link, struct nic *nic, struct net_exports *x)
{
	nic_link = *link;
	for (unsigned i = 0; i < x->n; i++) {
		int rc = x->e[i].aoe ? serve_export(nic, x, i) : 0;
		if (rc < 0)
			return rc;
	}
	link->send = demux_send;
	link->recv = demux_recv;
	link->now_us = demux_now;
	link->ctx = NULL;
	running = true;
	return 0;
}

/* One line per AoE initiator refused since the last call: frames from a
 * MAC no list allows (answered with silence), writes refused by the
 * writer rule.  Rate-limited: the first few, then every 1000. */
void aoe_log_refusals(void)
{
	static u64 told_src[NET_EXPORTS_MAX], told_wr[NET_EXPORTS_MAX];
	for (unsigned i = 0; i < ntargets; i++) {
		const struct aoe_target_stats *st = &targets[i]->stats;
		const struct net_export *e = &target_export[i].x->e[target_export[i].idx];
		const u8 *m = st->not_allowed_mac;
		if (st->not_allowed != told_src[i] && (told_src[i] < 8 || st->not_allowed - told_src[i] >= 1000)) {
			told_src[i] = st->not_allowed;
			log_warn("aoe: e%u.%u (export %s): ignored frames from %02x:%02x:%02x:%02x:%02x:%02x: not in its "
				 "aoe_allow (or the initiators' MAC mask list) (%lu so far)", e->shelf, e->slot, e->name, m[0],
				 m[1], m[2], m[3], m[4], m[5], st->not_allowed);
		}
		m = st->refused_mac;
		if (st->writes_refused != told_wr[i] && (told_wr[i] < 8 || st->writes_refused - told_wr[i] >= 1000)) {
			told_wr[i] = st->writes_refused;
			log_warn("aoe: e%u.%u (export %s): refused a write from %02x:%02x:%02x:%02x:%02x:%02x: the export "
				 "has another writer and is not shared (%lu so far)", e->shelf, e->slot, e->name, m[0], m[1],
				 m[2], m[3], m[4], m[5], st->writes_refused);
		}
	}
}

struct blk_dev *aoe_client_start(struct nic *nic)
{
	struct aoe_client_cfg cfg = {
		.max_frame = nic->max_frame,
		.want_target = config.aoe_want_target,
		.shelf = config.aoe_target_shelf,
		.slot = config.aoe_target_slot,
		.dead_time_us = (u64)config.dead_time * 1000000,
	};
	memcpy(cfg.mac, nic->mac, ETH_ALEN);
	net_link_nic(&nic_link, nic);
	if (aoe_client_init(&client, &cfg, &nic_link) < 0) {
		log_err("client: bad AoE configuration");
		return NULL;
	}
	char want[24] = "any target";
	if (cfg.want_target)
		fmt_snprintf(want, sizeof(want), "e%u.%u", cfg.shelf, cfg.slot);
	log_warn("client: looking for AoE %s on %s (up to %u s); AoE has no authentication: any machine on this "
		 "network could answer as the target", want, nic->name, config.discover_timeout);
	int rc = aoe_client_discover(&client, (u64)config.discover_timeout * 1000000);
	if (rc < 0) {
		log_err("client: %s: %s", want,
			rc == -E_TIMEDOUT ? "no AoE target answered (is vblade running on this network, with that "
					    "shelf and slot?)"
					  : err_name(rc));
		return NULL;
	}
	client_running = true;
	struct blk_dev *d = &client.blk;
	const u8 *m = client.target;
	log_info("client: importing \"%s\" (serial \"%s\") from %s at %02x:%02x:%02x:%02x:%02x:%02x: %lu sectors "
		 "of 512 bytes (%lu MiB), %s, %u sectors per frame, %u frames in flight%s",
		 d->info.model, d->info.serial, d->name, m[0], m[1], m[2], m[3], m[4], m[5], d->info.sectors,
		 d->info.sectors / 2048, client.lba48 ? "LBA48" : "LBA28", client.scnt, client.window,
		 client.can_flush ? "" : ", no write cache to flush");
	return d;
}

void aoe_log_stats(void)
{
	if (client_running) {
		const struct aoe_client_stats *c = &client.stats;
		log_info("aoe: tx %lu rx %lu retransmits %lu stale %lu; ATA errors %lu, E answers %lu; rtt %lu us, "
			 "rto %lu us",
			 c->tx, c->rx, c->retransmits, c->stale, c->ata_errors, c->e_answers, client.srtt, client.rto);
	}
	for (unsigned i = 0; running && i < ntargets; i++) {
		const struct aoe_target_stats *s = &targets[i]->stats;
		log_info("aoe: e%u.%u: rx %lu tx %lu (tx errors %lu) dropped %lu; configs %lu identifies %lu reads %lu "
			 "writes %lu flushes %lu (batch flushes %lu); E answers %lu, ATA errors %lu; refused: %lu frames "
			 "not allowed, %lu writes", targets[i]->cfg.shelf, targets[i]->cfg.slot, s->rx, s->tx, s->tx_errors,
			 s->dropped, s->configs, s->identifies, s->reads, s->writes, s->flushes, s->commits, s->errors,
			 s->ata_failed, s->not_allowed, s->writes_refused);
	}
	if (running)
		log_info("aoe: %lu polls, %lu with AoE frames (%lu frames in the largest)", polls, batches, batch_max);
}
