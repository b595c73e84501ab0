/* Guest commands for looking at the machine from inside and for testing
 * the logical device with hostile input.  Each prints data lines; the
 * shell prints the ok/err result line.
 *
 *   lbd-info              identify data and device registers
 *   peek ADDR             the 32-bit value at guest-physical ADDR (< 4 GiB)
 *   in PORT [1|2|4]       an I/O port read of that many bytes (default 1)
 *   lspci                 the PCI functions the guest can see
 *   stats                 TSC, ferry's exit counters, commands completed
 *   devtest CASE [ADDR]   one bad-input case; ok when ferry answered with
 *                         the expected error status (see below)
 *   spin SECONDS          a CPU-bound loop printing its progress (0: forever)
 *   devbench read|write MIB [KIB_PER_REQUEST]
 *                         raw sequential I/O from sector 0 (destroys the
 *                         disk's contents when writing), bracketed by
 *                         stats lines for the host to compute rates
 */
#include "kernel.h"
#include "alloc.h"
#include "lbd_drv.h"
#include "lib/string.h"
#include "x86/io.h"

static u32 reg32(u32 off) { return *(volatile u32 *)(lbd_regs() + off); }
static u64 reg64(u32 off) { return *(volatile u64 *)(lbd_regs() + off); }

static int need_device(struct shell *sh)
{
	if (!lbd_regs()) {
		shell_message(sh, "no logical block device");
		return -E_NOENT;
	}
	return 0;
}

static int parse_addr(const char *s, u64 *v)
{
	return str_to_u64(s, strlen(s), v);
}

static int cmd_lbd_info(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	int rc = need_device(sh);
	if (rc)
		return rc;
	shell_printf(sh, "lbd magic=%08x version=%u state=%x sector_size=%u capacity=%lu max_sectors=%u max_segs=%u",
		   reg32(LBD_REG_MAGIC), reg32(LBD_REG_VERSION), reg32(LBD_REG_STATE), reg32(LBD_REG_SECTOR_SIZE),
		   reg64(LBD_REG_CAPACITY), reg32(LBD_REG_MAX_SECTORS), reg32(LBD_REG_MAX_SEGS));
	shell_printf(sh, "lbd submitted=%lu completed=%lu last_status=%u bad_writes=%u", reg64(LBD_REG_SUBMITTED),
		   reg64(LBD_REG_COMPLETED), reg32(LBD_REG_LAST_STATUS), reg32(LBD_REG_BAD_WRITES));
	return 0;
}

static int cmd_peek(struct shell *sh, int argc, char **argv)
{
	u64 a;
	if (argc != 2 || parse_addr(argv[1], &a) < 0 || a >= 4 * GiB - 4 || (a & 3))
		return shell_usage(sh);
	shell_printf(sh, "peek %08lx = %08x", a, *(volatile u32 *)(uintptr_t)a);
	return 0;
}

static int cmd_lspci(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	for (u32 bus = 0; bus < 256; bus++)
		for (u32 dev = 0; dev < 32; dev++)
			for (u32 fn = 0; fn < 8; fn++) {
				u32 addr = BIT(31) | bus << 16 | dev << 11 | fn << 8;
				outl(0xCF8, addr);
				u32 id = inl(0xCFC);
				if ((id & 0xFFFF) == 0xFFFF) {
					if (fn == 0)
						break;
					continue;
				}
				outl(0xCF8, addr | 8);
				u32 cls = inl(0xCFC);
				shell_printf(sh, "pci %02x:%02x.%x %04x:%04x class %06x", bus, dev, fn, id & 0xFFFF, id >> 16,
					   cls >> 8);
			}
	return 0;
}

static int cmd_stats(struct shell *sh, int argc, char **argv)
{
	(void)argc, (void)argv;
	u32 a, b, c, d, khz, x;
	u64 tsc = rdtsc();
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	cpuid4(FERRY_CPUID_STATS, &a, &b, &c, &d);
	shell_printf(sh, "stats tsc=%lu tsc_khz=%u exits=%lu npf_exits=%u io_exits=%u completed=%lu", tsc, khz,
		   ((u64)b << 32) | a, c, d, lbd_regs() ? reg64(LBD_REG_COMPLETED) : 0);
	return 0;
}

/* One hostile descriptor with a single segment. */
static struct {
	struct lbd_desc d;
	struct lbd_seg seg[1];
} __aligned(64) raw;

static u32 raw_cmd(struct shell *sh, u8 op, u64 lba, u32 count, u64 buf, u32 len)
{
	raw.d = (struct lbd_desc){ .opcode = op, .nseg = 1, .status = LBD_ST_PENDING, .lba = lba, .count = count };
	raw.seg[0] = (struct lbd_seg){ .gpa = buf, .len = len };
	u32 st = lbd_submit_raw((u64)(uintptr_t)&raw);
	if (st != raw.d.status)
		shell_printf(sh, "devtest: register says %u, descriptor says %u", st, raw.d.status);
	return st;
}

static u8 buf[4096] __aligned(4096);

/* What guest_try() hands the two probes below: where on the register
 * page they store. */
struct probe_target {
	volatile u8 *reg;
};

/* An instruction ferry does not emulate, on the register page: ferry
 * must inject #UD (an ADD to memory cannot be a plain store). */
static int bad_insn(void *arg)
{
	const struct probe_target *t = arg;
	__asm__ volatile("addl $1, (%0)" ::"r"(t->reg) : "memory");
	return 0;
}

/* Every store form the decoder knows, to a read-only register (ignored and
 * counted by ferry): 8/16/32/64-bit register and immediate stores, a
 * high-8 register, a REX register, SIB with displacement.  Returns how
  * many stores it made (10). */
static int store_forms(void *arg)
{
	const struct probe_target *t = arg;
	u64 v = 0x1122334455667788ULL;
	__asm__ volatile(
		"movb %%al, (%0)\n\t"
		"movb %%ah, 1(%0)\n\t"
		"movw %%ax, 2(%0)\n\t"
		"movl %%eax, 4(%0)\n\t"
		"movq %%rax, 8(%0)\n\t"
		"movb $0x5a, 16(%0)\n\t"
		"movw $0x5a5a, 18(%0)\n\t"
		"movl $0x5a5a5a5a, 20(%0)\n\t"
		"movq $-1, 24(%0)\n\t"
		"mov %%rax, %%r9\n\t"
		"movq %%r9, 8(%0,%%rcx,8)\n\t"
		:
		: "r"(t->reg), "a"(v), "c"(1ULL)
		: "r9", "memory");
	return 10;
}

static int cmd_devtest(struct shell *sh, int argc, char **argv)
{
	int rc = need_device(sh);
	if (rc)
		return rc;
	if (argc < 2)
		return shell_usage(sh);
	const char *c = argv[1];
	u64 addr = 0, cap = reg64(LBD_REG_CAPACITY);
	u32 ss = reg32(LBD_REG_SECTOR_SIZE), got, want;
	if (argc > 2 && parse_addr(argv[2], &addr) < 0)
		return shell_usage(sh);
	const struct ferry_boot_info *bi = boot_info();
	u64 ram_end = bi->mem[bi->nmem - 1].base + bi->mem[bi->nmem - 1].len;

	if (!strcmp(c, "lba-range")) {          /* read just past the end */
		want = LBD_ST_LBA_RANGE;
		got = raw_cmd(sh, LBD_OP_READ, cap, 1, (u64)(uintptr_t)buf, ss);
	} else if (!strcmp(c, "lba-wrap")) {    /* lba + count overflows */
		want = LBD_ST_LBA_RANGE;
		got = raw_cmd(sh, LBD_OP_READ, ~0ULL, 2, (u64)(uintptr_t)buf, 2 * ss);
	} else if (!strcmp(c, "bad-opcode")) {
		want = LBD_ST_BAD_OPCODE;
		got = raw_cmd(sh, 0x77, 0, 1, (u64)(uintptr_t)buf, ss);
	} else if (!strcmp(c, "bad-length")) {  /* buffer shorter than count sectors */
		want = LBD_ST_BAD_DESC;
		got = raw_cmd(sh, LBD_OP_READ, 0, 2, (u64)(uintptr_t)buf, ss);
	} else if (!strcmp(c, "unaligned")) {
		want = LBD_ST_ALIGN;
		got = raw_cmd(sh, LBD_OP_READ, 0, 1, (u64)(uintptr_t)buf + 2, ss);
	} else if (!strcmp(c, "read-into") && argc == 3) {  /* DMA into ADDR (ferry's memory) */
		want = LBD_ST_DMA_RANGE;
		got = raw_cmd(sh, LBD_OP_READ, 0, 1, addr, ss);
	} else if (!strcmp(c, "write-from") && argc == 3) { /* ADDR's bytes onto sector 0 */
		want = LBD_ST_DMA_RANGE;
		got = raw_cmd(sh, LBD_OP_WRITE, 0, 1, addr, ss);
	} else if (!strcmp(c, "past-ram")) {    /* a buffer crossing the end of RAM */
		want = LBD_ST_DMA_RANGE;
		got = raw_cmd(sh, LBD_OP_READ, 0, 2, ram_end - ss, 2 * ss);
	} else if (!strcmp(c, "desc-at") && argc == 3) {    /* descriptor outside our RAM */
		want = LBD_ST_DMA_RANGE;
		got = lbd_submit_raw(addr);
	} else if (!strcmp(c, "bad-insn")) {     /* #UD injected, guest goes on */
		want = (u32)-(1000 + 6);
		struct probe_target t = { lbd_regs() + 0x40 };
		got = (u32)guest_try(bad_insn, &t);
	} else if (!strcmp(c, "store-forms")) { /* each decoded, emulated, ignored */
		u32 bad = reg32(LBD_REG_BAD_WRITES);
		struct probe_target t = { lbd_regs() + 0x40 };
		int n = guest_try(store_forms, &t);
		want = bad + 10;
		got = n == 10 ? reg32(LBD_REG_BAD_WRITES) : (u32)n;
		if (reg64(LBD_REG_CAPACITY) != cap || reg32(LBD_REG_MAGIC) != LBD_MAGIC)
			got = 0;
	} else if (!strcmp(c, "reg-write")) {   /* a read-only register: ignored, counted */
		u32 bad = reg32(LBD_REG_BAD_WRITES);
		*(volatile u32 *)(lbd_regs() + LBD_REG_CAPACITY) = 1;
		want = bad + 1;
		got = reg32(LBD_REG_BAD_WRITES);
		if (reg64(LBD_REG_CAPACITY) != cap)
			got = 0;
	} else {
		return shell_usage(sh);
	}
	shell_printf(sh, "devtest %s status=%u expected=%u", c, got, want);
	return got == want ? 0 : -E_IO;
}

static int cmd_devbench(struct shell *sh, int argc, char **argv)
{
	u64 mib, kib = 1024;
	struct disk *d = lbd_disk();
	if (!d)
		return -E_NOENT;
	if (argc < 3 || argc > 4 || (strcmp(argv[1], "read") && strcmp(argv[1], "write")) ||
	    parse_addr(argv[2], &mib) < 0 || (argc == 4 && parse_addr(argv[3], &kib) < 0) || !kib ||
	    kib * KiB % d->sector_size || mib * MiB % (kib * KiB))
		return shell_usage(sh);
	bool write = !strcmp(argv[1], "write");
	u64 chunk = kib * KiB, total = mib * MiB;
	if (total / d->sector_size > d->sectors)
		return -E_RANGE;
	u8 *p = g_alloc(chunk);
	if (!p)
		return -E_NOMEM;
	for (u64 i = 0; i < chunk; i++)
		p[i] = (u8)(i * 13);
	cmd_stats(sh, 0, NULL);
	int rc = 0;
	for (u64 off = 0; off < total && !rc; off += chunk) {
		u32 n = (u32)(chunk / d->sector_size);
		rc = write ? d->write(d, off / d->sector_size, n, p) : d->read(d, off / d->sector_size, n, p);
	}
	cmd_stats(sh, 0, NULL);
	g_free(p);
	return rc;
}

/* The loop of spin and idle: counts turns, each one a HLT (interrupts
 * on) when halt, and prints "NAME n MS ms WHAT=turns" every step_ms for
 * secs seconds, forever when 0. */
static int turns_loop(struct shell *sh, const char *name, const char *what, u64 secs, u64 step_ms, bool halt)
{
	u32 khz, x;
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	if (!khz)
		return -E_NOTSUP;
	u64 start = rdtsc(), step = (u64)khz * step_ms, next = start + step, turns = 0;
	for (u64 n = 1;; turns++) {
		if (halt)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		u64 now = rdtsc();
		if (now >= next) {
			shell_printf(sh, "%s %lu %lu ms %s=%lu", name, n++, (now - start) / khz, what, turns);
			next += step;
			if (secs && now - start >= secs * khz * 1000)
				break;
		}
	}
	return 0;
}

/* A CPU-bound loop (the server's guest in tests): prints its progress
 * every STEP_MS (default 500) for SECONDS seconds, forever when 0. */
static int cmd_spin(struct shell *sh, int argc, char **argv)
{
	u64 secs, step_ms = 500;
	if ((argc != 2 && argc != 3) || parse_addr(argv[1], &secs) < 0 ||
	    (argc == 3 && (parse_addr(argv[2], &step_ms) < 0 || step_ms < 10 || step_ms > 10000)))
		return shell_usage(sh);
	return turns_loop(sh, "spin", "work", secs, step_ms, false);
}

/* An idle guest (a server's, in tests): halts, interrupts on, for SECONDS
 * seconds (forever when 0), printing every half second how many HLTs
 * returned.  On a server the guest takes no interrupts (ferry takes them
 * all), so each HLT returns when ferry resumes it. */
static int cmd_idle(struct shell *sh, int argc, char **argv)
{
	u64 secs;
	if (argc != 2 || parse_addr(argv[1], &secs) < 0)
		return shell_usage(sh);
	return turns_loop(sh, "idle", "halts", secs, 500, true);
}

/* Reads an I/O port: the guest's view of ports ferry owns (all ones). */
static int cmd_in(struct shell *sh, int argc, char **argv)
{
	u64 port, size = 1;
	if (argc < 2 || argc > 3 || parse_addr(argv[1], &port) < 0 || port > 0xFFFF ||
	    (argc == 3 && (parse_addr(argv[2], &size) < 0 || (size != 1 && size != 2 && size != 4))))
		return shell_usage(sh);
	u32 v = size == 4 ? inl((u16)port) : size == 2 ? inw((u16)port) : inb((u16)port);
	shell_printf(sh, "in %04lx = %0*x", port, (int)size * 2, v);
	return 0;
}

const struct shell_cmd lbd_shell_cmds[] = {
	{ "spin", cmd_spin, "spin SECONDS [STEP_MS] (0: forever; a line every STEP_MS, 500)" },
	{ "idle", cmd_idle, "idle SECONDS (0: forever; halts with interrupts on)" },
	{ "devbench", cmd_devbench, "devbench read|write MIB [KIB_PER_REQUEST]" },
	{ "lbd-info", cmd_lbd_info, "lbd-info" },
	{ "peek", cmd_peek, "peek ADDR" },
	{ "lspci", cmd_lspci, "lspci" },
	{ "stats", cmd_stats, "stats" },
	{ "devtest", cmd_devtest, "devtest CASE [ADDR]" },
	{ "in", cmd_in, "in PORT [1|2|4]" },
	{ "smp-escape", cmd_smp_escape, "smp-escape APIC_ID" },
	{ "memscan", cmd_memscan, "memscan REVERSED_HEX" },
	{ "ioapic-irq", cmd_ioapic_irq, "ioapic-irq DELIVERY_MODE [VECTOR]" },
	{ "nmi-wait", cmd_nmi_wait, "nmi-wait COUNT SECONDS" },
	{ "insn", cmd_insn, "insn invd|monitor|mwait|icebp|singlestep|stepcpuid" },
	{ "tpr", cmd_tpr, "tpr 0-15" },
	{ "hpet-fsb", cmd_hpet_fsb, "hpet-fsb" },
	{ "pcir", cmd_pcir, "pcir BUS DEV FN OFF" },
	{ "out", cmd_out, "out PORT 1|2|4 VALUE" },
	{ "pciw", cmd_pciw, "pciw BUS DEV FN OFF SIZE VAL" },
};
const size_t lbd_shell_ncmds = ARRAY_SIZE(lbd_shell_cmds);
