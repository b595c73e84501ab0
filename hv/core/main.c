/* ferry's start: bring up the core, pick the virtualization back end, take
 * the devices ferry owns, build the guest and run it. */
#include "boot_info.h"
#include "console.h"
#include "exit.h"
#include "guest_io.h"
#include "guest_load.h"
#include "lbd.h"
#include "mem.h"
#include "mem_layout.h"
#include "pci.h"
#include "time.h"
#include "vm_create.h"
#include "../lib/string.h"
#include "../x86/cpu.h"
#include "../x86/io.h"
#include "../x86/trap.h"
#include "../../drivers/drivers.h"

#define FERRY_VERSION "0.1"
#define QEMU_DEBUG_EXIT 0xF4

static struct boot_info boot;
static struct vm the_vm;

/* Stops the machine.  Under QEMU with isa-debug-exit this ends the
 * emulator with status (code << 1) | 1; elsewhere the write is harmless
 * and the CPU halts. */
static __noreturn void machine_stop(int code)
{
	guest_io_flush();
	log_info("halted");
	outb(QEMU_DEBUG_EXIT, (u8)code);
	cpu_halt_forever();
	__builtin_unreachable();
}

/* "key=value" words of ferry's command line. */
static const char *cmdline_get(const char *key, char *buf, size_t n)
{
	size_t klen = strlen(key);
	for (const char *p = boot.cmdline; *p;) {
		while (*p == ' ')
			p++;
		const char *end = p;
		while (*end && *end != ' ')
			end++;
		if ((size_t)(end - p) > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t vlen = MIN((size_t)(end - p) - klen - 1, n - 1);
			memcpy(buf, p + klen + 1, vlen);
			buf[vlen] = 0;
			return buf;
		}
		p = end;
	}
	return NULL;
}

static void parse_cmdline(void)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	char v[16];
	if (!cmdline_get("loglevel", v, sizeof(v)))
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(levels); i++)
		if (!strcmp(v, levels[i])) {
			log_threshold = (enum log_level)i;
			return;
		}
	log_err("config: loglevel=%s is not one of error, warn, info, debug", v);
	machine_stop(2);
}

static void log_cpu(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char vendor[13];
	memcpy(vendor, &r.ebx, 4);
	memcpy(vendor + 4, &r.edx, 4);
	memcpy(vendor + 8, &r.ecx, 4);
	vendor[12] = 0;
	char brand[49] = "";
	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		for (u32 i = 0; i < 3; i++) {
			struct cpuid_regs b = cpuid(0x80000002 + i, 0);
			memcpy(brand + 16 * i, &b, 16);
		}
		brand[48] = 0;
	}
	struct cpuid_regs f1 = cpuid(1, 0), e1 = cpuid(0x80000001, 0);
	log_info("cpu: %s \"%s\" family %u model %u", vendor, brand,
		 ((f1.eax >> 8) & 0xF) + ((f1.eax >> 20) & 0xFF), ((f1.eax >> 4) & 0xF) | ((f1.eax >> 12) & 0xF0));
	log_info("cpu features: svm=%s vmx=%s nx=%s 1g-pages=%s pae=%s apic=%s x2apic=%s",
		 e1.ecx & BIT(2) ? "yes" : "no", f1.ecx & BIT(5) ? "yes" : "no", e1.edx & BIT(20) ? "yes" : "no",
		 e1.edx & BIT(26) ? "yes" : "no", f1.edx & BIT(6) ? "yes" : "no", f1.edx & BIT(9) ? "yes" : "no",
		 f1.ecx & BIT(21) ? "yes" : "no");
}

static struct blk_dev *probe_disk(void)
{
	for (unsigned i = 0; blk_drivers[i]; i++) {
		struct blk_dev *dev;
		int rc = blk_drivers[i]->probe(&dev);
		if (rc == 0)
			return dev;
		if (rc != -E_NOENT)
			log_err("disk: the %s driver failed: %s", blk_drivers[i]->name, err_name(rc));
	}
	return NULL;
}

static void log_summary(const struct vm *vm)
{
	const struct vcpu_stats *s = &vm->vcpu.stats;
	const struct lbd_stats *l = lbd_get_stats();
	log_info("guest stopped: %s (status %d)", vm->stop_reason, vm->exit_status);
	log_info("stats: %lu exits (npf %lu, io %lu, cpuid %lu, msr %lu, hlt %lu, hypercall %lu)", s->exits,
		 s->by_reason[EXIT_NPF], s->by_reason[EXIT_IO], s->by_reason[EXIT_CPUID],
		 s->by_reason[EXIT_RDMSR] + s->by_reason[EXIT_WRMSR], s->by_reason[EXIT_HLT], s->by_reason[EXIT_HYPERCALL]);
	log_info("stats: logical device: %lu commands, %lu errors, %lu KiB read, %lu KiB written", l->commands,
		 l->errors, l->bytes_read / KiB, l->bytes_written / KiB);
}

void ferry_main(u32 magic, u32 info);
void ferry_main(u32 magic, u32 info)
{
	char why[160];
	const struct hv_arch *arch = &svm_arch;

	console_init();
	trap_init();
	log_info("ferry %s: a thin hypervisor for remote block devices", FERRY_VERSION);
	if (boot_info_parse(magic, info, &boot) < 0) {
		log_err("boot: unknown loader (magic %x); boot ferry with GRUB (multiboot2) or a multiboot loader", magic);
		machine_stop(2);
	}
	parse_cmdline();
	log_info("boot: %s, command line \"%s\"", boot.loader, boot.cmdline);
	if (boot.truncated)
		log_warn("boot: the loader's information did not all fit (memory map or module list cut short)");
	log_cpu();

	if (arch->probe(why, sizeof(why)) < 0) {
		log_err("cannot run: %s", why);
		machine_stop(3);
	}
	arch->log_features();
	if (mem_init(&boot) < 0 || arch->cpu_init() < 0) {
		log_err("cannot run: out of memory while setting up %s", arch->name);
		machine_stop(3);
	}
	time_init();
	pci_init();
	struct blk_dev *disk = probe_disk();
	if (!disk)
		log_warn("disk: no disk found; the guest's logical device will report errors");

	struct vm *vm = &the_vm;
	gpa_t lbd_gpa;
	struct vcpu_boot_state bs;
	int rc = vm_create(vm, arch, &boot, &lbd_gpa);
	if (rc == 0)
		rc = lbd_attach(vm, lbd_gpa, disk);
	if (rc == 0)
		rc = guest_load(vm, &boot, &bs);
	if (rc == 0)
		rc = arch->vcpu_init(&vm->vcpu, &bs);
	if (rc < 0) {
		log_err("cannot start the guest: %s", err_name(rc));
		machine_stop(3);
	}
	log_info("logical device at guest-physical %lx; pool use %zu KiB; starting the guest (%s)", lbd_gpa,
		 mem_pool_used_pages() * 4, arch->name);

	struct vm_exit exit;
	while (!vm->stopped) {
		arch->run(&vm->vcpu, &exit);
		exit_handle(&vm->vcpu, &exit);
	}
	guest_io_flush();
	log_summary(vm);
	machine_stop(vm->exit_status ? 1 : 0);
}
