/* The AoE target beside ferry's own protocol on the server's NIC
 * (net/aoe_target.h, docs/aoe.md): one link in front of the NIC hands every
 * frame of EtherType 0x88A2 to the target and passes the rest on to the
 * ferry server, so both are served from the same timer poll. */
#include "aoe_serve.h"
#include "platform/config.h"
#include "platform/console.h"
#include "lib/string.h"
#include "net/aoe_target.h"

#define AOE_POLL_BUDGET 64 /* AoE frames taken per recv call */

static struct aoe_target target;
static struct net_link nic_link;
static u8 rx[NIC_JUMBO_FRAME] __aligned(4);
static bool running;

static bool is_aoe(const u8 *f, size_t len)
{
	return len >= ETH_HLEN && f[12] == (AOE_ETHERTYPE >> 8) && f[13] == (AOE_ETHERTYPE & 0xFF);
}

/* recv for the ferry server: AoE frames are answered on the way; the
 * first other frame is handed up.  -E_NOENT after AOE_POLL_BUDGET AoE
 * frames too, so a flood of them cannot hold the poll forever. */
static int demux_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	(void)ctx;
	for (unsigned n = 0; n < AOE_POLL_BUDGET; n++) {
		size_t got;
		int rc = nic_link.recv(nic_link.ctx, rx, sizeof(rx), &got);
		if (rc < 0) {
			aoe_target_commit(&target); /* the batch is over: flush, answer the writes */
			return rc;
		}
		if (is_aoe(rx, got)) {
			aoe_target_frame(&target, rx, got);
			continue;
		}
		if (got > cap)
			continue; /* longer than the ferry protocol's frames: not one */
		aoe_target_commit(&target);
		memcpy(buf, rx, got);
		*len = got;
		return 0;
	}
	aoe_target_commit(&target);
	return -E_NOENT;
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

int aoe_serve_start(struct net_link *link, struct nic *nic, struct blk_dev *disk)
{
	struct aoe_target_cfg cfg = {
		.shelf = config.aoe_shelf,
		.slot = config.aoe_slot,
		.max_frame = nic->max_frame,
		.dev = disk,
		.read_only = config.read_only,
		.nallow = config.aoe_nallow,
	};
	memcpy(cfg.mac, nic->mac, ETH_ALEN);
	memcpy(cfg.allow, config.aoe_allow, sizeof(cfg.allow[0]) * config.aoe_nallow);
	nic_link = *link;
	int rc = aoe_target_init(&target, &cfg, &nic_link);
	if (rc < 0) {
		log_err("aoe: cannot export %s as e%u.%u: %s%s", disk->name, cfg.shelf, cfg.slot, err_name(rc),
			rc == -E_NOTSUP ? " (AoE carries 512-byte sectors only)" : "");
		return rc;
	}
	link->send = demux_send;
	link->recv = demux_recv;
	link->now_us = demux_now;
	link->ctx = NULL;
	running = true;
	log_warn("aoe: serving %s as e%u.%u (%u sectors per frame%s); AoE has no authentication: %s can read%s it",
		 disk->name, cfg.shelf, cfg.slot, target.scnt, cfg.read_only ? ", read-only" : "",
		 cfg.nallow ? "every machine with an address in aoe_allow" : "every machine on this network",
		 cfg.read_only ? "" : " and write");
	return 0;
}

void aoe_serve_log_stats(void)
{
	if (!running)
		return;
	const struct aoe_target_stats *s = &target.stats;
	log_info("aoe: rx %lu tx %lu (tx errors %lu) dropped %lu; configs %lu identifies %lu reads %lu writes %lu "
		 "flushes %lu (batch flushes %lu); E answers %lu, ATA errors %lu",
		 s->rx, s->tx, s->tx_errors, s->dropped, s->configs, s->identifies, s->reads, s->writes, s->flushes,
		 s->commits, s->errors, s->ata_failed);
}
