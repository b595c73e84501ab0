/* Exports and the decisions about them (net/exports.h).  Pure: the clock
 * is the caller's, and nothing here touches a disk or the wire. */
#include "exports.h"
#include "lib/string.h"

bool net_name_listed(const char *list, const char *name, size_t len)
{
	return !list || !*list || str_list_has(list, name, len);
}

bool net_export_admits(const struct net_exports *x, unsigned i, const char *name, size_t len)
{
	return i < x->n && net_name_listed(x->e[i].clients, name, len);
}

unsigned net_export_default(const struct net_exports *x, const char *name, size_t len)
{
	for (unsigned i = 0; i < x->n; i++)
		if (net_export_admits(x, i, name, len))
			return i;
	return 0;
}

u32 net_export_id(const char *name)
{
	u32 h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (u8)*p) * 16777619u;
	return h ? h : 1;
}

bool net_export_exclusive(const struct net_exports *x, unsigned i)
{
	if (i >= x->n)
		return false;
	const struct net_export *e = &x->e[i];
	return !e->shared && !e->read_only && !(e->dev && e->dev->info.read_only);
}

static bool same_writer(const struct net_writer *a, const struct net_writer *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == NET_WRITER_FERRY)
		return !memcmp(a->name, b->name, NET_NAME_MAX);
	return !memcmp(a->mac, b->mac, ETH_ALEN);
}

/* Does the recorded writer still hold its export? */
static bool holds(const struct net_exports *x, unsigned i, const struct net_writer *h, u64 now)
{
	switch (h->kind) {
	case NET_WRITER_FERRY:
		return !x->ferry_holds || x->ferry_holds(x->ferry_ctx, i, h->name, now);
	case NET_WRITER_AOE: {
		u64 lease = x->aoe_lease_us ? x->aoe_lease_us : NET_AOE_LEASE_US;
		return now >= h->seen_us && now - h->seen_us <= lease;
	}
	default:
		return false;
	}
}

/* The claim of w on export i; over_aoe: an AoE holder yields to w. */
static int claim(struct net_exports *x, unsigned i, const struct net_writer *w, u64 now, struct net_writer *holder,
		 bool over_aoe)
{
	if (!net_export_exclusive(x, i))
		return 0;
	struct net_writer *h = &x->e[i].writer;
	int rc = 0;
	if (h->kind != NET_WRITER_NONE && !same_writer(h, w) && holds(x, i, h, now)) {
		if (holder)
			*holder = *h;
		if (!over_aoe || h->kind != NET_WRITER_AOE) {
			x->refused++;
			return -E_EXIST;
		}
		rc = NET_EXPORT_TOOK_OVER;
	}
	*h = *w;
	h->seen_us = now;
	return rc;
}

int net_export_claim(struct net_exports *x, unsigned i, const struct net_writer *w, u64 now,
		     struct net_writer *holder)
{
	return claim(x, i, w, now, holder, false);
}

int net_export_take(struct net_exports *x, unsigned i, const struct net_writer *w, u64 now,
		    struct net_writer *holder)
{
	return claim(x, i, w, now, holder, w->kind == NET_WRITER_FERRY);
}
