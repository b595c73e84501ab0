/* net_link over a struct nic and ferry's clock (net/link.h). */
#include "net/link.h"
#include "platform/nic.h"
#include "platform/time.h"

#define NET_TX_WAIT_US 2000

static int nic_send(void *ctx, const void *frame, size_t len)
{
	struct nic *nic = ctx;
	int rc = nic->ops->send(nic, frame, len);
	if (rc != -E_NOSPC)
		return rc;
	u64 until = time_us() + NET_TX_WAIT_US;
	while ((rc = nic->ops->send(nic, frame, len)) == -E_NOSPC && time_us() < until)
		;
	return rc;
}

static int nic_recv(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct nic *nic = ctx;
	return nic->ops->recv(nic, buf, cap, len);
}

static u64 nic_now(void *ctx)
{
	(void)ctx;
	return time_us();
}

void net_link_nic(struct net_link *link, struct nic *nic)
{
	link->ctx = nic;
	link->send = nic_send;
	link->recv = nic_recv;
	link->now_us = nic_now;
}
