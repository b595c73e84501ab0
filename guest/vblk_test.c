/* Guest commands for virtio-blk (vblk_drv.h): a normal round trip, and a
 * driver that breaks the rules on purpose.
 *
 *   vblk-info                   features, capacity, status, where it is
 *   vblk-read SECTOR COUNT      COUNT 512-byte sectors     -> ok ... <sha256>
 *   vblk-write SECTOR COUNT SEED  shell_pattern_fill(SEED) -> ok ... <sha256>
 *   vblk-id                     the device ID (GET_ID)     -> ok vblk-id <id>
 *   vblk-flush
 *   vblk-irq                    MSI-X interrupts end to end (guest/vblk_irq.c)
 *   vblk-qd SEED N SPAN QD      QD requests in flight (guest/vblk_qd.c)
 *   vblk-evil CASE [ADDR]       one hostile request; ok when ferry answered
 *                               as it must (see cases[]): a request error
 *                               (IOERR, UNSUPP) with the device still live,
 *                               or DEVICE_NEEDS_RESET for a broken ring; then
 *                               the device is reset and a read must work.
 *                               ADDR (default: the first address above 1 MiB
 *                               that is not our RAM, i.e. ferry's) is where
 *                               the cases that aim outside our RAM aim. */
#include "vblk_drv.h"
#include "kernel.h"
#include "lib/fmt.h"
#include "lib/sha256.h"
#include "lib/string.h"
#include "alloc.h"

static struct virtio_blk_req_hdr hdr __aligned(16);
static u8 status_byte[16] __aligned(16);
static u8 data[64 * 1024] __aligned(4096);
static struct virtq_desc itab[VBLK_QSIZE] __aligned(4096);

static int need(struct shell *sh, struct vblk **v)
{
	*v = vblk_get();
	if (!*v) {
		shell_message(sh, "no virtio-blk device");
		return -E_NOENT;
	}
	return 0;
}

static int parse(const char *s, u64 *v) { return str_to_u64(s, strlen(s), v); }

static int cmd_info(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct vblk *v;
	int rc = need(sh, &v);
	if (rc)
		return rc;
	shell_printf(sh, "vblk slot=%02x bar0=%lx bar2=%lx features=%lx capacity=%lu blk_size=%u seg_max=%u status=%02x",
		     v->slot, v->bar[0], v->bar[2], v->features, v->capacity, v->blk_size, v->seg_max, vblk_status());
	return 0;
}

static void result_hash(struct shell *sh, const void *p, size_t n)
{
	struct sha256_ctx c;
	u8 d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_init(&c);
	sha256_update(&c, p, n);
	sha256_final(&c, d);
	sha256_hex(d, hex);
	shell_result(sh, "%s", hex);
}

/* vblk-read / vblk-write: through the disk interface, in pieces. */
static int cmd_rw(struct shell *sh, int argc, char **argv)
{
	struct vblk *v;
	u64 sector, count, seed = 0;
	bool write = !strcmp(argv[0], "vblk-write");
	int rc = need(sh, &v);
	if (rc)
		return rc;
	if (argc != (write ? 4 : 3) || parse(argv[1], &sector) || parse(argv[2], &count) || !count ||
	    count > 64 * 1024 || (write && parse(argv[3], &seed)))
		return shell_usage(sh);
	size_t n = count * VIRTIO_BLK_SECTOR;
	u8 *buf = g_alloc(n);
	if (!buf)
		return -E_NOMEM;
	if (write)
		shell_pattern_fill(&seed, buf, n);
	for (size_t off = 0; off < n && !rc; off += VBLK_MAX_REQ_BYTES) {
		u32 len = (u32)MIN(n - off, (size_t)VBLK_MAX_REQ_BYTES);
		int st = vblk_request(write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector + off / VIRTIO_BLK_SECTOR,
				      (u64)(uintptr_t)(buf + off), len);
		if (st != VIRTIO_BLK_S_OK) {
			shell_message(sh, "status %d, device status %02x", st, vblk_status());
			rc = -E_IO;
		}
	}
	if (!rc)
		result_hash(sh, buf, n);
	g_free(buf);
	return rc;
}

static int cmd_id(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct vblk *v;
	char id[VIRTIO_BLK_ID_BYTES + 1];
	int rc = need(sh, &v);
	if (rc)
		return rc;
	memset(id, 0, sizeof(id));
	int st = vblk_request(VIRTIO_BLK_T_GET_ID, 0, (u64)(uintptr_t)id, VIRTIO_BLK_ID_BYTES);
	if (st != VIRTIO_BLK_S_OK)
		return -E_IO;
	shell_result(sh, "%s", id[0] ? id : "-");
	return 0;
}

static int cmd_flush(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	struct vblk *v;
	int rc = need(sh, &v);
	if (rc)
		return rc;
	return vblk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) == VIRTIO_BLK_S_OK ? 0 : -E_IO;
}

/* ---- the hostile driver -------------------------------------------------------- */

enum outcome { GOT_OK, GOT_IOERR, GOT_UNSUPP, GOT_NEEDS_RESET, GOT_NOTHING };
static const char *const outcome_names[] = { "ok", "ioerr", "unsupp", "needs-reset", "nothing" };

struct buf {
	u64 addr;
	u32 len;
	u16 flags; /* VIRTQ_DESC_F_WRITE / INDIRECT; NEXT is added between buffers */
};

/* Puts bufs[] in consecutive descriptors chained in order; returns the head. */
static u16 chain(const struct buf *b, unsigned n)
{
	u16 head = 0, prev = 0;
	for (unsigned i = 0; i < n; i++) {
		u16 d = vblk_next_desc();
		if (i == 0)
			head = d;
		else
			vblk_get()->desc[prev].next = d;
		vblk_get()->desc[d] = (struct virtq_desc){ b[i].addr, b[i].len, (u16)(b[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)), 0 };
		prev = d;
	}
	return head;
}

static u64 A(const volatile void *p) { return (u64)(uintptr_t)p; }
#define HDR(type, sector) (hdr = (struct virtio_blk_req_hdr){ (type), 0, (sector) }, (struct buf){ A(&hdr), 16, 0 })
#define DATA(len, fl) ((struct buf){ A(data), (len), (fl) })
#define STATUS ((struct buf){ A(status_byte), 1, VIRTQ_DESC_F_WRITE })
#define W VIRTQ_DESC_F_WRITE

/* Offers head and rings. */
static void submit(u16 head)
{
	status_byte[0] = 0xEE;
	vblk_offer(head);
	vblk_kick();
}

/* What came of it. */
static enum outcome outcome(void)
{
	u32 id, len;
	if (vblk_status() & VIRTIO_STATUS_NEEDS_RESET)
		return GOT_NEEDS_RESET;
	if (!vblk_used(&id, &len))
		return GOT_NOTHING;
	return status_byte[0] == VIRTIO_BLK_S_OK ? GOT_OK : status_byte[0] == VIRTIO_BLK_S_IOERR ? GOT_IOERR
	       : status_byte[0] == VIRTIO_BLK_S_UNSUPP ? GOT_UNSUPP : GOT_NOTHING;
}

/* The request-level cases: a chain with a good status byte, a bad request. */
static enum outcome request_case(const char *c, u64 addr, u64 cap, u64 ram_end, bool *known)
{
	struct buf b[VBLK_QSIZE];
	unsigned n = 0;
	*known = true;
	if (!strcmp(c, "read-into")) { /* data into ADDR */
		b[n++] = HDR(VIRTIO_BLK_T_IN, 0), b[n++] = (struct buf){ addr, 512, W };
	} else if (!strcmp(c, "write-from")) { /* ADDR's bytes onto sector 0 */
		b[n++] = HDR(VIRTIO_BLK_T_OUT, 0), b[n++] = (struct buf){ addr, 512, 0 };
	} else if (!strcmp(c, "write-flag")) { /* OUT data marked device-writable */
		b[n++] = HDR(VIRTIO_BLK_T_OUT, 0), b[n++] = DATA(512, W);
	} else if (!strcmp(c, "read-flag")) { /* IN data marked device-readable */
		b[n++] = HDR(VIRTIO_BLK_T_IN, 0), b[n++] = DATA(512, 0);
	} else if (!strcmp(c, "header-writable")) {
		b[n++] = (struct buf){ A(&hdr), 16, W }, b[n++] = DATA(512, W);
	} else if (!strcmp(c, "partial")) { /* not whole sectors */
		b[n++] = HDR(VIRTIO_BLK_T_IN, 0), b[n++] = DATA(500, W);
	} else if (!strcmp(c, "past-end")) {
		b[n++] = HDR(VIRTIO_BLK_T_IN, cap), b[n++] = DATA(512, W);
	} else if (!strcmp(c, "past-ram")) { /* a buffer crossing the end of our RAM */
		b[n++] = HDR(VIRTIO_BLK_T_IN, 0), b[n++] = (struct buf){ ram_end - 256, 512, W };
	} else if (!strcmp(c, "too-many-segs")) {
		b[n++] = HDR(VIRTIO_BLK_T_IN, 0);
		for (unsigned i = 0; i <= vblk_get()->seg_max; i++)
			b[n++] = (struct buf){ A(data) + 512 * i, 512, W };
	} else if (!strcmp(c, "misordered")) { /* device-readable after device-writable */
		b[n++] = HDR(VIRTIO_BLK_T_OUT, 0), b[n++] = DATA(512, W), b[n++] = DATA(512, 0);
	} else if (!strcmp(c, "unsupported")) {
		b[n++] = HDR(VIRTIO_BLK_T_DISCARD, 0), b[n++] = DATA(16, 0);
		b[n++] = STATUS;
		submit(chain(b, n));
		return outcome();
	} else {
		*known = false;
		return GOT_NOTHING;
	}
	b[n++] = STATUS;
	submit(chain(b, n));
	return outcome();
}

/* The ring-level cases: ferry must give up on the queue. */
static enum outcome ring_case(const char *c, u64 addr, bool *known)
{
	struct buf b[3] = { HDR(VIRTIO_BLK_T_IN, 0), DATA(512, W), STATUS };
	struct vblk *v = vblk_get();
	*known = true;
	if (!strcmp(c, "loop")) { /* the data descriptor leads back to the header */
		u16 h = chain(b, 2);
		v->desc[(h + 1) % VBLK_QSIZE].flags |= VIRTQ_DESC_F_NEXT;
		v->desc[(h + 1) % VBLK_QSIZE].next = h;
		submit(h);
	} else if (!strcmp(c, "long-chain")) { /* a header and 256 more in a table */
		for (unsigned i = 0; i < VBLK_QSIZE; i++)
			itab[i] = (struct virtq_desc){ A(data), 16, (u16)(W | (i + 1 < VBLK_QSIZE ? VIRTQ_DESC_F_NEXT : 0)), (u16)(i + 1) };
		struct buf l[2] = { b[0], { A(itab), sizeof(itab), VIRTQ_DESC_F_INDIRECT } };
		submit(chain(l, 2));
	} else if (!strcmp(c, "indirect-at")) { /* an indirect table at ADDR */
		struct buf l[1] = { { addr, 4 * 16, VIRTQ_DESC_F_INDIRECT } };
		submit(chain(l, 1));
	} else if (!strcmp(c, "avail-jump")) { /* the index moves past the queue size */
		status_byte[0] = 0xEE;
		vblk_offer_raw(VBLK_QSIZE + 1, chain(b, 3));
		vblk_kick();
	} else if (!strcmp(c, "bad-head")) {
		chain(b, 3);
		submit(300);
	} else if (!strcmp(c, "bad-next")) {
		u16 h = chain(b, 3);
		v->desc[h].next = 999;
		submit(h);
	} else if (!strcmp(c, "status-at")) { /* the status byte at ADDR */
		b[2].addr = addr;
		submit(chain(b, 3));
	} else if (!strcmp(c, "ring-at")) { /* the rings as before, but the used ring at ADDR */
		volatile u8 *cc = v->common;
		*(volatile u8 *)(cc + VIRTIO_COMMON_STATUS) = 0;
		*(volatile u32 *)(cc + VIRTIO_COMMON_Q_DESCLO) = (u32)A(v->desc);
		*(volatile u32 *)(cc + VIRTIO_COMMON_Q_DESCHI) = (u32)(A(v->desc) >> 32);
		*(volatile u32 *)(cc + VIRTIO_COMMON_Q_AVAILLO) = (u32)A(v->avail);
		*(volatile u32 *)(cc + VIRTIO_COMMON_Q_AVAILHI) = (u32)(A(v->avail) >> 32);
		*(volatile u32 *)(v->common + VIRTIO_COMMON_Q_USEDLO) = (u32)addr;
		*(volatile u32 *)(v->common + VIRTIO_COMMON_Q_USEDHI) = (u32)(addr >> 32);
		*(volatile u16 *)(v->common + VIRTIO_COMMON_Q_ENABLE) = 1;
	} else {
		*known = false;
		return GOT_NOTHING;
	}
	return outcome();
}

/* The first address from 1 MiB up that is not our RAM (ferry's image). */
static u64 not_our_ram(void)
{
	const struct ferry_boot_info *bi = boot_info();
	u64 a = 1 * MiB;
	for (bool moved = true; moved;) {
		moved = false;
		for (u32 i = 0; i < bi->nmem; i++)
			if (a >= bi->mem[i].base && a < bi->mem[i].base + bi->mem[i].len) {
				a = bi->mem[i].base + bi->mem[i].len;
				moved = true;
			}
	}
	return a;
}

static int cmd_evil(struct shell *sh, int argc, char **argv)
{
	struct vblk *v;
	u64 addr = not_our_ram();
	int rc = need(sh, &v);
	if (rc)
		return rc;
	if (argc < 2 || argc > 3 || (argc == 3 && parse(argv[2], &addr)))
		return shell_usage(sh);
	const struct ferry_boot_info *bi = boot_info();
	u64 ram_end = bi->mem[bi->nmem - 1].base + bi->mem[bi->nmem - 1].len;
	bool known;
	enum outcome want = !strcmp(argv[1], "unsupported") ? GOT_UNSUPP : GOT_IOERR;
	enum outcome got = request_case(argv[1], addr, v->capacity, ram_end, &known);
	if (!known) {
		want = GOT_NEEDS_RESET;
		got = ring_case(argv[1], addr, &known);
	}
	if (!known)
		return shell_usage(sh);
	/* Start over, as a driver would after NEEDS_RESET, and read. */
	u8 st = vblk_setup(v->features);
	int again = vblk_request(VIRTIO_BLK_T_IN, 0, (u64)(uintptr_t)data, 4096);
	shell_printf(sh, "vblk-evil %s addr=%lx got=%s expected=%s recovered=%s", argv[1], addr, outcome_names[got],
		     outcome_names[want], again == VIRTIO_BLK_S_OK && (st & VIRTIO_STATUS_DRIVER_OK) ? "yes" : "no");
	shell_result(sh, "%s", outcome_names[got]);
	return got == want && again == VIRTIO_BLK_S_OK ? 0 : -E_IO;
}

const struct shell_cmd vblk_shell_cmds[] = {
	{ "vblk-info", cmd_info, "vblk-info" },
	{ "vblk-read", cmd_rw, "vblk-read SECTOR COUNT" },
	{ "vblk-write", cmd_rw, "vblk-write SECTOR COUNT SEED" },
	{ "vblk-id", cmd_id, "vblk-id" },
	{ "vblk-flush", cmd_flush, "vblk-flush" },
	{ "vblk-evil", cmd_evil, "vblk-evil CASE [ADDR]" },
	{ "vblk-irq", vblk_cmd_irq, "vblk-irq" },
	{ "vblk-qd", vblk_cmd_qd, "vblk-qd SEED N SPAN QD" },
};
const size_t vblk_shell_ncmds = ARRAY_SIZE(vblk_shell_cmds);
