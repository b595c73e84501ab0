/* Guest commands that attack ferry from inside the guest, for the
 * emulator tests of docs/threat-model: each succeeds ("ok") only when
 * ferry refused the attack.
 *
 *   smp-escape APIC_ID   send INIT and two startup IPIs to another CPU,
 *                        pointing it at a real-mode trampoline that writes
 *                        a marker; fails when the marker appears (that CPU
 *                        would run guest code outside virtualization)
 *   pcir B D F OFF       a PCI configuration dword (CF8/CFC), printed
 *   pciw B D F OFF SIZE VAL
 *                        a PCI configuration write of SIZE bytes: the
 *                        tests renumber bridges and clear enables with it
 *   out PORT SIZE VAL    an I/O port write (the tests reset and power off
 *                        the machine through the ports ferry must catch)
 *   memscan REVERSED     look through all of the guest's RAM for a secret,
 *                        given reversed (hex digits) so that the command
 *                        line does not hold it: its text and its bytes
 *                        (the hex decoded); fails on any copy but this
 *                        command's own two buffers
 *   ioapic-irq MODE [VEC] an I/O APIC entry with delivery mode MODE (and
 *                        vector VEC, 0x30) on the PIT's pin, the PIT
 *                        ticking: fails when the entry took (see below)
 *   nmi-wait COUNT SECS  count NMIs (sent from outside) while exiting
 *                        as fast as it can (see below)
 *   hpet-fsb             an HPET timer set to deliver by FSB, its FSB
 *                        address one of the guest's words: fails when the
 *                        HPET wrote to it (a write to anywhere, ferry's
 *                        memory too) or kept FSB delivery on (see below)
 *   tpr VALUE            MOV VALUE to CR8, the task priority: on a server
 *                        (VMX lets it through) it would hold back ferry's
 *                        timer and NIC interrupts
 *   insn NAME            runs invd, monitor or mwait whatever CPUID says;
 *                        prints whether it raised #UD and how many exits
 *                        ferry took for it; or raises a #DB (icebp, a
 *                        single step) and prints where it struck and
 *                        what DR6 said (see below)
 */
#include "kernel.h"
#include "alloc.h"
#include "lbd_drv.h"
#include "lib/string.h"
#include "x86/io.h"

#define APIC_PAGE 0xFEE00000u
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_INIT_ASSERT 0x00004500u /* INIT, level, assert */
#define ICR_STARTUP 0x00004600u     /* startup IPI: vector = page number of the code */

#define TRAMPOLINE 0x70000u          /* below 1 MiB, page-aligned, free in this guest */
#define MARKER (TRAMPOLINE + 0x800)

static void icr(u32 hi, u32 lo)
{
	volatile u32 *apic = (volatile u32 *)(uintptr_t)APIC_PAGE;
	apic[APIC_ICR_HI / 4] = hi;
	apic[APIC_ICR_LO / 4] = lo;
}

static void wait_ms(u32 khz, u64 ms)
{
	u64 end = rdtsc() + ms * khz;
	while (rdtsc() < end)
		cpu_relax();
}

int cmd_smp_escape(struct shell *sh, int argc, char **argv)
{
	u64 id;
	u32 khz, x;
	if (argc != 2 || str_to_u64(argv[1], strlen(argv[1]), &id) < 0 || id > 0xFE)
		return shell_usage(sh);
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	/* -E_INVAL: the page lies in the identity map of the first 4 GiB. */
	int rc = paging_map_device(APIC_PAGE, PAGE_SIZE);
	if (!khz || (rc < 0 && rc != -E_INVAL))
		return -E_NOTSUP;
	/* mov ax, 0x7000; mov ds, ax; mov byte [0x800], 0x5a; hlt; jmp $-1 */
	static const u8 code[] = { 0xB8, 0x00, 0x70, 0x8E, 0xD8, 0xC6, 0x06, 0x00, 0x08, 0x5A, 0xF4, 0xEB, 0xFD };
	volatile u8 *t = (volatile u8 *)(uintptr_t)TRAMPOLINE;
	for (size_t i = 0; i < sizeof(code); i++)
		t[i] = code[i];
	*(volatile u8 *)(uintptr_t)MARKER = 0;
	icr((u32)id << 24, ICR_INIT_ASSERT);
	wait_ms(khz, 10);
	for (int i = 0; i < 2; i++) {
		icr((u32)id << 24, ICR_STARTUP | (TRAMPOLINE >> 12));
		wait_ms(khz, 1);
	}
	wait_ms(khz, 200);
	u8 m = *(volatile u8 *)(uintptr_t)MARKER;
	shell_printf(sh, "smp-escape apic=%lu marker=%02x", id, m);
	if (m == 0x5A) {
		shell_message(sh, "another CPU ran guest code outside virtualization");
		return -E_ACCES;
	}
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Copies of pat[0..n) in RAM other than at skip. */
static unsigned scan_for(struct shell *sh, const u8 *pat, size_t n, const u8 *skip, const char *what)
{
	const struct ferry_boot_info *bi = boot_info();
	unsigned found = 0;
	for (u32 r = 0; r < bi->nmem; r++) {
		const u8 *p = (const u8 *)(uintptr_t)bi->mem[r].base, *end = p + bi->mem[r].len;
		for (; p + n <= end; p++)
			if (*p == pat[0] && p != skip && !memcmp(p, pat, n)) {
				if (found++ < 16)
					shell_printf(sh, "memscan found %lx %s", (u64)(uintptr_t)p, what);
			}
	}
	return found;
}

int cmd_memscan(struct shell *sh, int argc, char **argv)
{
	size_t n = argc == 2 ? strlen(argv[1]) : 0;
	if (n < 8 || n % 2)
		return shell_usage(sh);
	char *text = g_alloc(n);
	u8 *bytes = g_alloc(n / 2);
	if (!text || !bytes)
		return -E_NOMEM;
	for (size_t i = 0; i < n; i++)
		text[i] = argv[1][n - 1 - i];
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return shell_usage(sh);
		bytes[i] = (u8)(hi << 4 | lo);
	}
	unsigned found = scan_for(sh, (const u8 *)text, n, (const u8 *)text, "text");
	found += scan_for(sh, bytes, n / 2, bytes, "bytes");
	memset(text, 0, n);
	memset(bytes, 0, n / 2);
	g_free(text);
	g_free(bytes);
	shell_printf(sh, "memscan copies=%u", found);
	return found ? -E_EXIST : 0;
}

static int cfg_args(struct shell *sh, int argc, char **argv, int want, u64 *v)
{
	if (argc != want + 1)
		return shell_usage(sh);
	for (int i = 0; i < want; i++)
		if (str_to_u64(argv[i + 1], strlen(argv[i + 1]), &v[i]) < 0)
			return shell_usage(sh);
	if (v[0] > 255 || v[1] > 31 || v[2] > 7 || v[3] > 0xFF)
		return shell_usage(sh);
	return 0;
}

static u32 cfg_addr(const u64 *v) { return BIT(31) | (u32)v[0] << 16 | (u32)v[1] << 11 | (u32)v[2] << 8 | ((u32)v[3] & 0xFC); }

int cmd_pcir(struct shell *sh, int argc, char **argv)
{
	u64 v[4];
	int rc = cfg_args(sh, argc, argv, 4, v);
	if (rc)
		return rc;
	outl(0xCF8, cfg_addr(v));
	shell_printf(sh, "pcir %02lx:%02lx.%lx %02lx = %08x", v[0], v[1], v[2], v[3] & 0xFC, inl(0xCFC));
	return 0;
}

int cmd_pciw(struct shell *sh, int argc, char **argv)
{
	u64 v[6];
	int rc = cfg_args(sh, argc, argv, 6, v);
	if (rc)
		return rc;
	if ((v[4] != 1 && v[4] != 2 && v[4] != 4) || v[3] % v[4])
		return shell_usage(sh);
	outl(0xCF8, cfg_addr(v));
	u16 port = (u16)(0xCFC + (v[3] & 3));
	if (v[4] == 4)
		outl(port, (u32)v[5]);
	else if (v[4] == 2)
		outw(port, (u16)v[5]);
	else
		outb(port, (u8)v[5]);
	return 0;
}

int cmd_out(struct shell *sh, int argc, char **argv)
{
	u64 port, size, val;
	if (argc != 4 || str_to_u64(argv[1], strlen(argv[1]), &port) < 0 || port > 0xFFFF ||
	    str_to_u64(argv[2], strlen(argv[2]), &size) < 0 || (size != 1 && size != 2 && size != 4) ||
	    str_to_u64(argv[3], strlen(argv[3]), &val) < 0)
		return shell_usage(sh);
	if (size == 4)
		outl((u16)port, (u32)val);
	else if (size == 2)
		outw((u16)port, (u16)val);
	else
		outb((u16)port, (u8)val);
	return 0;
}

/* ---- ioapic-irq MODE: an I/O APIC entry whose delivery mode ferry must
 * refuse (5 INIT, 4 NMI, 2 SMI), on the pin QEMU's PIT drives (GSI 2), then
 * the PIT made to tick for 100 ms.  Had the entry taken, every tick would
 * be an INIT to this CPU (a reset behind ferry's back) or an NMI or SMI.
 * Prints the entry as read back before and after; "ok" only when it did
 * not change and a fixed, masked entry written next does read back. */
#define IOAPIC_PAGE 0xFEC00000u
#define IOAPIC_PIT_PIN 2
#define PIT_CH0 0x40
#define PIT_CMD 0x43

static u32 ioapic_rd(u32 reg)
{
	volatile u32 *io = (volatile u32 *)(uintptr_t)IOAPIC_PAGE;
	io[0] = reg;
	return io[4];
}

static void ioapic_wr(u32 reg, u32 val)
{
	volatile u32 *io = (volatile u32 *)(uintptr_t)IOAPIC_PAGE;
	io[0] = reg;
	io[4] = val;
}

static void pit_periodic(u16 count)
{
	outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
	outb(PIT_CH0, (u8)count);
	outb(PIT_CH0, (u8)(count >> 8));
}

int cmd_ioapic_irq(struct shell *sh, int argc, char **argv)
{
	u64 mode, vec = 0x30;
	u32 khz, x;
	if ((argc != 2 && argc != 3) || str_to_u64(argv[1], strlen(argv[1]), &mode) < 0 || mode > 7 ||
	    (argc == 3 && (str_to_u64(argv[2], strlen(argv[2]), &vec) < 0 || vec > 0xFF)))
		return shell_usage(sh);
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	int rc = paging_map_device(IOAPIC_PAGE, PAGE_SIZE);
	if (!khz || (rc < 0 && rc != -E_INVAL))
		return -E_NOTSUP;
	u32 lo_reg = 0x10 + 2 * IOAPIC_PIT_PIN, hi_reg = lo_reg + 1;
	u32 old_lo = ioapic_rd(lo_reg), old_hi = ioapic_rd(hi_reg);
	ioapic_wr(hi_reg, 0);                         /* physical destination: APIC ID 0 */
	ioapic_wr(lo_reg, (u32)vec | (u32)mode << 8); /* edge, unmasked */
	u32 now_lo = ioapic_rd(lo_reg);
	pit_periodic(1193);                           /* about 1 kHz */
	wait_ms(khz, 100);
	outb(PIT_CMD, 0x30);                          /* channel 0 back to one-shot, not started */
	ioapic_wr(lo_reg, 0x31u | BIT(16));           /* fixed, masked: must be taken */
	u32 fixed_lo = ioapic_rd(lo_reg);
	ioapic_wr(lo_reg, old_lo);
	ioapic_wr(hi_reg, old_hi);
	if (argc == 3)
		shell_printf(sh, "ioapic-irq mode=%lu vector=%lx rte before=%08x after=%08x fixed=%08x", mode, vec, old_lo,
			     now_lo, fixed_lo);
	else
		shell_printf(sh, "ioapic-irq mode=%lu rte before=%08x after=%08x fixed=%08x", mode, old_lo, now_lo,
			     fixed_lo);
	return now_lo == old_lo && fixed_lo == (0x31u | BIT(16)) ? 0 : -E_IO;
}

/* ---- nmi-wait COUNT SECS: exits as fast as it can (CPUID) until COUNT NMIs
 * have arrived or SECS seconds passed, then prints how many came.  The
 * test sends NMIs from outside (QEMU's monitor) meanwhile: most strike
 * while ferry handles an exit, so they reach the guest only if ferry
 * takes them and passes them on. */
int cmd_nmi_wait(struct shell *sh, int argc, char **argv)
{
	u64 want, secs;
	u32 khz, x;
	if (argc != 3 || str_to_u64(argv[1], strlen(argv[1]), &want) < 0 ||
	    str_to_u64(argv[2], strlen(argv[2]), &secs) < 0)
		return shell_usage(sh);
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	if (!khz)
		return -E_NOTSUP;
	volatile u32 *count = &guest_irq_count[2]; /* the NMI handler's */
	u32 start = *count;
	u64 end = rdtsc() + secs * 1000 * khz, exits = 0;
	shell_printf(sh, "nmi-wait ready");
	while (*count - start < want && rdtsc() < end) {
		cpuid4(0, &x, &x, &x, &x);
		exits++;
	}
	u32 got = *count - start;
	shell_printf(sh, "nmi-wait nmis=%u exits=%lu", got, exits);
	return got >= want ? 0 : -E_TIMEDOUT;
}

/* One instruction a guest may run although its CPUID does not offer it
 * (monitor, mwait) or that would reach beyond the guest (invd drops every
 * dirty cache line unwritten, ferry's among them).  ferry must see each
 * (one exit), skip invd and answer monitor and mwait with #UD. */
static u8 monitored[64] __aligned(64);

static int try_insn(void *arg)
{
	const char *name = arg;
	if (!strcmp(name, "invd"))
		__asm__ volatile("invd" ::: "memory");
	else if (!strcmp(name, "monitor"))
		__asm__ volatile("monitor" ::"a"(monitored), "c"(0), "d"(0));
	else if (!strcmp(name, "mwait"))
		__asm__ volatile("mwait" ::"a"(0), "c"(0));
	else if (!strcmp(name, "icebp")) /* INT1: a #DB trap, after the instruction */
		__asm__ volatile(".globl icebp_insn\nicebp_insn: .byte 0xf1" ::: "memory");
	else if (!strcmp(name, "singlestep")) /* TF: a #DB trap after the nop */
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; .globl step_insn\nstep_insn: nop" ::: "memory", "cc");
	else if (!strcmp(name, "stepcpuid")) /* TF: a #DB trap after the CPUID, which ferry runs */
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; .globl stepcpuid_insn\nstepcpuid_insn: cpuid; nop"
				 ::"a"(0), "c"(0) : "rbx", "rdx", "memory", "cc");
	else
		return -E_INVAL;
	return 0;
}

extern const u8 icebp_insn[], step_insn[], stepcpuid_insn[];

/* With interrupts off, so that the exits counted between the two reads
 * of ferry's counter (CPUID 0x40000003, the second read one of them) are
 * the instruction's.  An mwait that ferry let run would halt the machine
 * here, with nothing to wake it. */
int cmd_insn(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh);
	u32 before, after, x;
	u64 flags, dr6;
	__asm__ volatile("pushfq; pop %0; cli" : "=r"(flags)::"memory");
	__asm__ volatile("mov %0, %%dr6" ::"r"(0xFFFF0FF0ull)); /* DR6's value at reset: no status */
	cpuid4(FERRY_CPUID_STATS, &before, &x, &x, &x);
	int rc = guest_try(try_insn, argv[1]);
	cpuid4(FERRY_CPUID_STATS, &after, &x, &x, &x);
	__asm__ volatile("push %0; popfq" ::"r"(flags) : "memory", "cc");
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	if (rc == -E_INVAL)
		return shell_usage(sh);
	if (!strcmp(argv[1], "icebp") || !strcmp(argv[1], "singlestep") || !strcmp(argv[1], "stepcpuid")) {
		/* All traps: they strike after their instruction (the icebp's
		 * byte, the nop's, the CPUID's two); a single step sets DR6.BS. */
		const u8 *at = argv[1][0] == 'i' ? icebp_insn : argv[1][4] == 'c' ? stepcpuid_insn : step_insn;
		/* exits: those between the first count and the handler's,
		 * less the handler's CPUID: the #DB's own, when ferry took it. */
		shell_printf(sh, "insn %s db=%d after=%ld bs=%d exits=%u", argv[1], rc == -(1000 + 1),
			     rc == -(1000 + 1) ? (long)(guest_trap_rip - (u64)(uintptr_t)at) : -1L, (int)(dr6 >> 14 & 1),
			     guest_trap_exits - before - 1);
		__asm__ volatile("mov %0, %%dr6" ::"r"(0xFFFF0FF0ull)); /* cleared, as a handler should */
		return rc == -(1000 + 1) ? 0 : -E_IO;
	}
	shell_printf(sh, "insn %s ud=%d exits=%u", argv[1], rc == -(1000 + 6), after - before - 1);
	return rc == 0 || rc == -(1000 + 6) ? 0 : -E_IO;
}

int cmd_tpr(struct shell *sh, int argc, char **argv)
{
	u64 v;
	if (argc != 2 || str_to_u64(argv[1], strlen(argv[1]), &v) < 0 || v > 15)
		return shell_usage(sh);
	__asm__ volatile("mov %0, %%cr8" ::"r"(v) : "memory");
	u64 back;
	__asm__ volatile("mov %%cr8, %0" : "=r"(back));
	shell_printf(sh, "tpr %lu (reads %lu)", v, back);
	return 0;
}

/* ---- hpet-fsb: the first timer that can deliver by FSB (QEMU's HPET
 * with hpet.msi=on) is set to, its FSB route a write of HPET_FSB_VALUE
 * to a word of ours, and fired about 1 ms on; after 50 ms the word and
 * the timer's FSB_EN_CNF say whether ferry let it. */
#define HPET_PAGE 0xFED00000u
#define HPET_TN(t, r) ((0x100u + 0x20u * (t) + (r)) / 4)
#define HPET_FSB_VALUE 0x5AFE5AFEu
static volatile u32 hpet_target __aligned(64);

int cmd_hpet_fsb(struct shell *sh, int argc, char **argv)
{
	(void)argv;
	u32 khz, x;
	cpuid4(FERRY_CPUID_TSC, &khz, &x, &x, &x);
	int rc = paging_map_device(HPET_PAGE, PAGE_SIZE);
	if (argc != 1 || !khz || (rc < 0 && rc != -E_INVAL))
		return argc != 1 ? shell_usage(sh) : -E_NOTSUP;
	volatile u32 *h = (volatile u32 *)(uintptr_t)HPET_PAGE;
	unsigned n = ((h[0] >> 8) & 0x1F) + 1, t = 0;
	while (t < n && !(h[HPET_TN(t, 0)] & BIT(15))) /* FSB_INT_DEL_CAP */
		t++;
	if (t == n) {
		shell_printf(sh, "hpet-fsb: no timer can deliver by FSB");
		return -E_NOTSUP;
	}
	u32 conf = h[HPET_TN(t, 0)], gen = h[0x10 / 4];
	hpet_target = 0;
	h[HPET_TN(t, 0x10)] = HPET_FSB_VALUE;                      /* FSB value */
	h[HPET_TN(t, 0x14)] = (u32)(uintptr_t)&hpet_target;        /* FSB address */
	h[HPET_TN(t, 0)] = (conf & ~(u32)(BIT(1) | BIT(3))) | BIT(2) | BIT(14); /* edge, one shot, on, FSB */
	u32 fsb_en = (h[HPET_TN(t, 0)] >> 14) & 1;
	u32 ticks = (u32)(1000000000000ull / (h[1] ? h[1] : 10000000u)); /* 1 ms at the period in fs */
	h[0x10 / 4] = gen | 1;                                     /* the main counter runs */
	u32 now = h[0xF0 / 4];
	h[HPET_TN(t, 8)] = now + ticks;
	h[HPET_TN(t, 0xC)] = h[0xF4 / 4];
	wait_ms(khz, 50);
	h[HPET_TN(t, 0)] = conf;
	h[0x10 / 4] = gen;
	shell_printf(sh, "hpet-fsb timer=%u fsb_en=%u written=%x", t, fsb_en, hpet_target);
	return fsb_en == 0 && hpet_target == 0 ? 0 : -E_IO;
}
