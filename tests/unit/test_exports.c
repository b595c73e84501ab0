/* The export table's decisions (net/exports.c): who may import an export,
 * and the one-writer rule across ferry clients and AoE initiators. */
#include "check.h"
#include "net/exports.h"
#include "lib/string.h"

static struct blk_dev disk_rw = { .name = "rw", .info = { .sectors = 8, .sector_size = 512 } };
static struct blk_dev disk_ro = { .name = "ro", .info = { .sectors = 8, .sector_size = 512, .read_only = true } };

static struct net_exports table(void)
{
	struct net_exports x = { .n = 4, .aoe_lease_us = 1000 };
	x.e[0] = (struct net_export){ .name = "excl", .dev = &disk_rw, .clients = "alice,bob" };
	x.e[1] = (struct net_export){ .name = "shared", .dev = &disk_rw, .shared = true, .clients = "bob" };
	x.e[2] = (struct net_export){ .name = "ro", .dev = &disk_rw, .read_only = true };
	x.e[3] = (struct net_export){ .name = "rodisk", .dev = &disk_ro };
	return x;
}

static struct net_writer aoe(u8 last)
{
	struct net_writer w = { .kind = NET_WRITER_AOE };
	memcpy(w.mac, (u8[]){ 0x52, 0x54, 0, 0xc1, 0, last }, ETH_ALEN);
	return w;
}

static struct net_writer ferry(const char *name)
{
	struct net_writer w = { .kind = NET_WRITER_FERRY };
	memcpy(w.name, name, strlen(name));
	return w;
}

TEST(names_and_defaults)
{
	struct net_exports x = table();
	CHECK(net_name_listed(NULL, "x", 1));
	CHECK(net_name_listed("", "x", 1));
	CHECK(net_name_listed("alice,bob", "bob", 3));
	CHECK(!net_name_listed("alice,bob", "bo", 2));
	CHECK(!net_name_listed("alice,bob", "alice,", 6));
	CHECK(net_export_admits(&x, 0, "alice", 5));
	CHECK(!net_export_admits(&x, 1, "alice", 5));
	CHECK(net_export_admits(&x, 2, "carol", 5));
	CHECK(!net_export_admits(&x, 4, "alice", 5)); /* no such export */
	CHECK_EQ(net_export_default(&x, "bob", 3), 0);
	CHECK_EQ(net_export_default(&x, "carol", 5), 2);
	x.n = 2;
	CHECK_EQ(net_export_default(&x, "carol", 5), 0); /* none admits: 0, refused at BIND */
}

TEST(only_unshared_writable_exports_have_one_writer)
{
	struct net_exports x = table();
	CHECK(net_export_exclusive(&x, 0));
	CHECK(!net_export_exclusive(&x, 1));
	CHECK(!net_export_exclusive(&x, 2));
	CHECK(!net_export_exclusive(&x, 3));
	CHECK(!net_export_exclusive(&x, 9));
	for (unsigned i = 1; i < 4; i++) {
		struct net_writer a = aoe(1), b = aoe(2);
		CHECK_EQ(net_export_claim(&x, i, &a, 10, NULL), 0);
		CHECK_EQ(net_export_claim(&x, i, &b, 11, NULL), 0);
		CHECK_EQ(x.e[i].writer.kind, NET_WRITER_NONE);
	}
	CHECK_EQ(x.refused, 0);
}

TEST(aoe_writer_holds_for_its_lease)
{
	struct net_exports x = table();
	struct net_writer a = aoe(1), b = aoe(2), h;
	CHECK_EQ(net_export_claim(&x, 0, &a, 100, NULL), 0);
	CHECK_EQ(net_export_claim(&x, 0, &b, 200, &h), -E_EXIST);
	CHECK_EQ(h.kind, NET_WRITER_AOE);
	CHECK_EQ(h.mac[5], 1);
	CHECK_EQ(x.refused, 1);
	/* a writes again: its lease runs from then */
	CHECK_EQ(net_export_claim(&x, 0, &a, 900, NULL), 0);
	CHECK_EQ(net_export_claim(&x, 0, &b, 1800, NULL), -E_EXIST);
	/* silent past the lease: b takes it, and a is the one refused */
	CHECK_EQ(net_export_claim(&x, 0, &b, 1901, NULL), 0);
	CHECK_EQ(net_export_claim(&x, 0, &a, 1902, NULL), -E_EXIST);
	CHECK_EQ(x.e[0].writer.mac[5], 2);
	CHECK_EQ(x.refused, 3);
}

static bool alice_bound;
static void *holds_ctx;
static bool holds(void *ctx, unsigned i, const char *name, u64 now)
{
	(void)now;
	holds_ctx = ctx;
	return i == 0 && alice_bound && !memcmp(name, "alice", 6);
}

TEST(ferry_writer_holds_while_bound)
{
	struct net_exports x = table();
	x.ferry_holds = holds;
	x.ferry_ctx = (void *)(uintptr_t)7;
	struct net_writer a = ferry("alice"), b = ferry("bob"), i = aoe(3), h;
	alice_bound = true;
	CHECK_EQ(net_export_claim(&x, 0, &a, 1, NULL), 0);
	CHECK_EQ(net_export_claim(&x, 0, &b, 1000000, &h), -E_EXIST);
	CHECK(holds_ctx == x.ferry_ctx);
	CHECK_EQ(h.kind, NET_WRITER_FERRY);
	CHECK(!memcmp(h.name, "alice", 6));
	/* an AoE initiator is a writer too, whatever the time */
	CHECK_EQ(net_export_claim(&x, 0, &i, 5000000, NULL), -E_EXIST);
	CHECK_EQ(net_export_claim(&x, 0, &a, 5000001, NULL), 0); /* alice rebinding */
	alice_bound = false; /* slot evicted or bound elsewhere */
	CHECK_EQ(net_export_claim(&x, 0, &i, 5000002, NULL), 0);
	CHECK_EQ(net_export_claim(&x, 0, &a, 5000003, NULL), -E_EXIST); /* now the initiator's */
}

/* AoE is unauthenticated: a forged AoE write every 179 s for a day must
 * not keep an authenticated ferry client out (net_export_take), and it
 * says whom it took the export from.  A write's claim does not take over. */
TEST(a_ferry_bind_takes_the_export_from_an_aoe_writer)
{
	struct net_exports x = table();
	x.aoe_lease_us = 0; /* the real 180 s */
	struct net_writer spoof = aoe(0x66), alice = ferry("alice"), h;
	u64 t = 0;
	unsigned taken = 0;
	for (unsigned n = 0; n < 480; n++, t += 179000000ull) {
		x.e[0].writer = (struct net_writer){ 0 }; /* alice gone again: the forger writes first */
		CHECK_EQ(net_export_claim(&x, 0, &spoof, t, NULL), 0);
		CHECK_EQ(net_export_claim(&x, 0, &alice, t + 1000000, NULL), -E_EXIST);
		int rc = net_export_take(&x, 0, &alice, t + 1000000, &h);
		taken += rc == NET_EXPORT_TOOK_OVER && h.kind == NET_WRITER_AOE && !memcmp(h.mac, spoof.mac, ETH_ALEN);
		CHECK_EQ(x.e[0].writer.kind, NET_WRITER_FERRY);
		CHECK_EQ(net_export_claim(&x, 0, &spoof, t + 2000000, NULL), -E_EXIST);
	}
	CHECK_EQ(taken, 480);
	/* Over another ferry client it is no more than a claim. */
	struct net_writer bob = ferry("bob");
	CHECK_EQ(net_export_take(&x, 0, &bob, t, &h), -E_EXIST);
	CHECK(!memcmp(h.name, "alice", 6));
	CHECK_EQ(net_export_take(&x, 0, &alice, t, NULL), 0);
}

TEST(export_ids_are_the_names)
{
	CHECK_EQ(net_export_id(""), 2166136261u);
	CHECK_EQ(net_export_id("a"), 0xe40c292cu); /* FNV-1a's published value for "a" */
	CHECK(net_export_id("home") != net_export_id("vault"));
	CHECK(net_export_id("home") != 0);
}

int main(void)
{
	RUN(names_and_defaults);
	RUN(only_unshared_writable_exports_have_one_writer);
	RUN(aoe_writer_holds_for_its_lease);
	RUN(ferry_writer_holds_while_bound);
	RUN(a_ferry_bind_takes_the_export_from_an_aoe_writer);
	RUN(export_ids_are_the_names);
	return CHECK_SUMMARY();
}
