/* The frame pump (main/pump.h).  Payload: u32 magic, u32 sequence number,
 * then bytes derived from the sequence number, so a corrupted, truncated or
 * misdelivered echo is caught. */
#include "pump.h"
#include "platform/console.h"
#include "platform/time.h"
#include "lib/string.h"

#define PUMP_MAGIC 0x504d5550 /* "PUMP" */
#define PUMP_TIMEOUT_US 2000000

struct pump_hdr {
	u8 dst[ETH_ALEN], src[ETH_ALEN];
	u8 type_be[2];
	u32 magic;
	u32 seq;
} __packed;

static u8 txbuf[NIC_JUMBO_FRAME], rxbuf[NIC_JUMBO_FRAME];

static bool is_pump(const u8 *f, size_t len)
{
	const struct pump_hdr *h = (const void *)f;
	return len >= sizeof(*h) && h->type_be[0] == (PUMP_ETHERTYPE >> 8) && h->type_be[1] == (PUMP_ETHERTYPE & 0xFF) &&
	       h->magic == PUMP_MAGIC;
}

static void fill(u8 *f, size_t len, u32 seq)
{
	for (size_t i = sizeof(struct pump_hdr); i < len; i++)
		f[i] = (u8)(seq * 31 + i);
}

static int send_retry(struct nic *nic, const void *f, size_t len)
{
	u64 until = time_us() + 100000;
	int rc;
	while ((rc = nic->ops->send(nic, f, len)) == -E_NOSPC && time_us() < until)
		;
	return rc;
}

void pump_echo(struct nic *nic)
{
	log_info("pump: echoing frames on %s", nic->name);
	for (;;) {
		size_t len;
		if (nic->ops->recv(nic, rxbuf, sizeof(rxbuf), &len) < 0 || !is_pump(rxbuf, len))
			continue;
		struct pump_hdr *h = (void *)rxbuf;
		memcpy(h->dst, h->src, ETH_ALEN);
		memcpy(h->src, nic->mac, ETH_ALEN);
		if (send_retry(nic, rxbuf, len) < 0)
			log_warn("pump: echo of frame %u not sent", h->seq);
	}
}

int pump_send(struct nic *nic, u32 count, u32 frame_len, u32 window)
{
	static const u8 bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct pump_hdr *h = (void *)txbuf;
	u32 sent = 0, got = 0, bad = 0;

	if (frame_len < sizeof(*h) || frame_len > nic->max_frame) {
		log_err("pump: %u-byte frames asked for; %s carries %zu to %u bytes", frame_len, nic->name, sizeof(*h),
			nic->max_frame);
		return -E_INVAL;
	}
	memcpy(h->dst, bcast, ETH_ALEN);
	memcpy(h->src, nic->mac, ETH_ALEN);
	h->type_be[0] = PUMP_ETHERTYPE >> 8;
	h->type_be[1] = PUMP_ETHERTYPE & 0xFF;
	h->magic = PUMP_MAGIC;

	/* Wait for the echo side: resend frame 0 until it comes back. */
	u64 deadline = time_us() + 30000000;
	for (bool up = false; !up;) {
		if (time_us() > deadline) {
			log_err("pump: no echo from the peer within 30 s");
			return -E_TIMEDOUT;
		}
		h->seq = ~0u;
		fill(txbuf, frame_len, h->seq);
		send_retry(nic, txbuf, frame_len);
		u64 t = time_us() + 100000;
		while (time_us() < t && !up) {
			size_t len;
			up = nic->ops->recv(nic, rxbuf, sizeof(rxbuf), &len) == 0 && is_pump(rxbuf, len) &&
			     ((struct pump_hdr *)rxbuf)->seq == ~0u;
		}
	}

	u64 start = time_us(), last = start;
	while (got + bad < count) {
		while (sent < count && sent - got - bad < window) {
			h->seq = sent;
			fill(txbuf, frame_len, sent);
			if (send_retry(nic, txbuf, frame_len) < 0)
				break;
			sent++;
		}
		size_t len;
		if (nic->ops->recv(nic, rxbuf, sizeof(rxbuf), &len) == 0 && is_pump(rxbuf, len)) {
			const struct pump_hdr *r = (const void *)rxbuf;
			if (r->seq == ~0u)
				continue; /* a late echo of the handshake */
			fill(txbuf, frame_len, r->seq);
			if (len != frame_len || memcmp(rxbuf + sizeof(*h), txbuf + sizeof(*h), frame_len - sizeof(*h)))
				bad++;
			else
				got++;
			last = time_us();
		} else if (time_us() - last > PUMP_TIMEOUT_US) {
			break;
		}
	}
	u64 us = MAX(last - start, 1);
	log_info("pump: %u frames of %u bytes: %u echoed intact, %u corrupted, %u lost, in %lu us", count, frame_len,
		 got, bad, count - got - bad, us);
	log_info("pump: rate %lu frames/s, %lu KiB/s each way", (u64)got * 1000000 / us,
		 (u64)got * frame_len * 1000000 / us / 1024);
	return got == count ? 0 : -E_IO;
}
