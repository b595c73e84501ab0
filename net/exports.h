/* The disks a server exports and who may use them (docs/configuration.md,
 * "Several exports"; docs/protocol.md and docs/aoe.md for each protocol).
 *
 * One table serves both protocols: export i is device i in ferry's
 * protocol and, when it has an AoE address, one AoE target.  Here are the
 * decisions both take: may this ferry client import it, and may this
 * client or initiator write it now?
 *
 * The writer rule: a writable export that is not shared has at most one
 * writer at a time, whatever the protocol.
 *  - ferry: a client is its export's writer from the BIND the server
 *    takes for a writable export, as long as its slot stays bound to that
 *    export and it was heard from within the slot eviction bound (the
 *    server's holds callback decides: net/server_bind.c).  Each write
 *    claims again, so a client whose record lapsed and went to another
 *    gets its writes refused (STATUS TAKEN), not applied.  Its BIND wins
 *    over an AoE initiator's record (net_export_take).
 *  - AoE has no sessions: an initiator becomes the writer with its first
 *    write and stays it while it writes again within aoe_lease_us of its
 *    last write.  Another's write in that time fails (ATA ABRT); reads are
 *    never refused. */
#ifndef FERRY_NET_EXPORTS_H
#define FERRY_NET_EXPORTS_H

#include "proto.h"
#include "platform/blk.h"

#define NET_EXPORTS_MAX 8
#define NET_EXPORT_NAME_MAX 15
#define NET_EXPORT_ALLOW_MAX 16 /* AoE source MACs per export (net/aoe_target.h AOE_TGT_ALLOW_MAX) */
#define NET_AOE_LEASE_US (180ull * 1000000) /* Linux's aoe_deadsecs: it retries a write that long */

enum net_writer_kind { NET_WRITER_NONE, NET_WRITER_FERRY, NET_WRITER_AOE };

/* Who writes an export: a ferry client by name, an AoE initiator by MAC. */
struct net_writer {
	u8 kind;                 /* enum net_writer_kind */
	char name[NET_NAME_MAX]; /* ferry: as on the wire, NUL-padded */
	u8 mac[ETH_ALEN];        /* the source address of its frames */
	u64 seen_us;             /* AoE: its last write */
};

struct net_export {
	char name[NET_EXPORT_NAME_MAX + 1];
	struct blk_dev *dev;
	bool read_only;        /* export read-only (also when the disk is) */
	bool shared;           /* any number of writers */
	const char *clients;   /* ferry names that may import it, "a,b" (no blanks); NULL or "": all */
	bool aoe;              /* also an AoE target at shelf.slot */
	u16 shelf;
	u8 slot;
	u8 allow[NET_EXPORT_ALLOW_MAX][ETH_ALEN]; /* AoE: the only source MACs answered; nallow 0: all */
	unsigned nallow;
	struct net_writer writer; /* unshared and writable: the one writer, or kind NONE */
};

struct net_exports {
	struct net_export e[NET_EXPORTS_MAX];
	unsigned n;
	u64 aoe_lease_us;      /* 0: NET_AOE_LEASE_US */
	/* Is the ferry client named name (NET_NAME_MAX bytes) still bound to
	 * export i and alive?  The ferry server sets it (net_server_init);
	 * without it a ferry writer holds its export for good. */
	bool (*ferry_holds)(void *ctx, unsigned i, const char *name, u64 now);
	void *ferry_ctx;
	u64 refused;           /* writers refused, both protocols */
};

/* Is name[0 .. len) in the comma-separated list?  NULL or "" lists every
 * name. */
bool net_name_listed(const char *list, const char *name, size_t len);

/* May the ferry client of this name import export i at all? */
bool net_export_admits(const struct net_exports *x, unsigned i, const char *name, size_t len);

/* The export a client that asked for none gets: the first that admits it,
 * else 0 (whose BIND is then refused, so the client hears why). */
unsigned net_export_default(const struct net_exports *x, const char *name, size_t len);

/* The export's ID in DEVINFO (docs/protocol.md): FNV-1a of its name,
 * never 0.  Its name, not its place, so a client rebinding after the
 * server's export lines were reordered finds out (twin disks look alike). */
u32 net_export_id(const char *name);

/* Is export i written through this binding at all (writable and not
 * shared)?  Only then does the writer rule apply. */
bool net_export_exclusive(const struct net_exports *x, unsigned i);

/* Takes export i for writer w at time now, or refreshes the holder's
 * record when w is it: 0.  -E_EXIST when another writer holds it (counted
 * in refused); *holder then says who.  0 without a record for a shared or
 * read-only export. */
int net_export_claim(struct net_exports *x, unsigned i, const struct net_writer *w, u64 now,
		     struct net_writer *holder);

/* A ferry client's BIND: as net_export_claim, except that an AoE
 * initiator's record yields to it (AoE is unauthenticated: a forged write
 * per lease would otherwise keep every ferry client out for good).  Then
 * NET_EXPORT_TOOK_OVER, *holder the initiator whose writes are refused
 * from now on. */
#define NET_EXPORT_TOOK_OVER 1
int net_export_take(struct net_exports *x, unsigned i, const struct net_writer *w, u64 now,
		    struct net_writer *holder);

#endif
