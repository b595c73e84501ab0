/* ferry's start: bring up the core, pick the virtualization back end, take
 * the devices ferry owns, build the guest and run it. */
#include "boot/boot_info.h"
#include "platform/acpi.h"
#include "platform/config.h"
#include "platform/console.h"
#include "vm/exit.h"
#include "vm/guest_io.h"
#include "vm/guest_load.h"
#include "vm/pcicfg.h"
#include "vdev/lbd.h"
#include "vdev/uart16550.h"
#include "vm/guest_power.h"
#include "platform/power.h"
#include "vdev/virtio_blk.h"
#include "platform/lapic.h"
#include "platform/mem.h"
#include "platform/mem_layout.h"
#include "netrole.h"
#include "platform/pci.h"
#include "platform/screen.h"
#include "platform/serial.h"
#include "platform/time.h"
#include "vm/vm_create.h"
#include "lib/fmt.h"
#include "lib/string.h"
#include "x86/cpu.h"
#include "x86/io.h"
#include "platform/trap.h"
#include "drivers/drivers.h"
#include "pump.h"

#define FERRY_VERSION "0.1"
#define QEMU_DEBUG_EXIT 0xF4

static struct boot_info boot;
static struct vm the_vm;
static struct uart16550 guest_uart; /* the guest's COM1 (ferry's console) */

/* Stops the machine.  Under QEMU with isa-debug-exit this ends the
 * emulator with status (code << 1) | 1; elsewhere the write is harmless
 * and the CPU halts. */
static __noreturn void machine_stop(int code)
{
	uart16550_flush(&guest_uart);
	log_info("halted");
	outb(QEMU_DEBUG_EXIT, (u8)code);
	cpu_halt_forever();
	__builtin_unreachable();
}

static void log_cpu(void)
{
	char vendor[13];
	cpu_vendor(vendor);
	char brand[49] = "";
	if (cpuid(CPUID_LEAF_EXT_MAX, 0).eax >= CPUID_LEAF_BRAND + CPUID_LEAF_BRAND_COUNT - 1) {
		for (u32 i = 0; i < CPUID_LEAF_BRAND_COUNT; i++) {
			struct cpuid_regs b = cpuid(CPUID_LEAF_BRAND + i, 0);
			memcpy(brand + 16 * i, &b, 16);
		}
		brand[48] = 0;
	}
	struct cpuid_regs f1 = cpuid(CPUID_LEAF_FEATURES, 0), e1 = cpuid(CPUID_LEAF_EXT_FEATURES, 0);
	log_info("cpu: %s \"%s\" family %u model %u", vendor, brand, CPUID_1_EAX_FAMILY(f1.eax),
		 CPUID_1_EAX_MODEL(f1.eax));
	log_info("cpu features: svm=%s vmx=%s nx=%s 1g-pages=%s pae=%s apic=%s x2apic=%s",
		 e1.ecx & CPUID_EXT1_ECX_SVM ? "yes" : "no", f1.ecx & CPUID_1_ECX_VMX ? "yes" : "no",
		 e1.edx & CPUID_EXT1_EDX_NX ? "yes" : "no", e1.edx & CPUID_EXT1_EDX_PAGE1G ? "yes" : "no",
		 f1.edx & CPUID_1_EDX_PAE ? "yes" : "no", f1.edx & CPUID_1_EDX_APIC ? "yes" : "no",
		 f1.ecx & CPUID_1_ECX_X2APIC ? "yes" : "no");
}

/* The configuration file (a boot module named ferry.cfg), then the command
 * line, which overrides it. */
static int parse_config(void)
{
	for (unsigned i = 0; i < boot.nmods; i++) {
		const struct boot_module *m = &boot.mods[i];
		if (!config_is_file_module(m->cmdline))
			continue;
		log_info("config: reading %s (%lu bytes)", CONFIG_FILE_NAME, m->end - m->start);
		if (config_parse_file(CONFIG_FILE_NAME, phys_to_virt(m->start), m->end - m->start) < 0)
			return -E_INVAL;
	}
	if (config_parse_cmdline(boot.cmdline) < 0)
		return -E_INVAL;
	return config_check();
}

/* The key (and all else) from ferry.cfg and the loader's command line,
 * gone from what becomes guest RAM: ferry keeps only its parsed copy. */
static void scrub_boot_secrets(void)
{
	for (unsigned i = 0; i < boot.nmods; i++)
		if (config_is_file_module(boot.mods[i].cmdline))
			memset((void *)(uintptr_t)boot.mods[i].start, 0, boot.mods[i].end - boot.mods[i].start);
	boot_info_scrub(&boot);
}

/* The drivers in their order (drivers/drivers.c): the first disk found,
 * or the one want names (who: the key that named it).  A name that
 * matches no disk stops ferry, saying what there is: serving another disk
 * could hand out the wrong data. */
static struct blk_dev *probe_disk(const char *want, const char *who)
{
	for (unsigned i = 0; blk_drivers[i]; i++) {
		struct blk_dev *dev;
		int rc = blk_drivers[i]->probe(want, &dev);
		if (rc == 0) {
			log_info("disk: %s (%s driver)%s%s", dev->name, blk_drivers[i]->name, want ? ", chosen by " : "",
				 want ? who : "");
			return dev;
		}
		if (rc != -E_NOENT)
			log_err("disk: the %s driver failed: %s", blk_drivers[i]->name, err_name(rc));
	}
	if (want) {
		log_err("cannot run: %s%s names no disk ferry can serve; found: %s", who, want, blk_found_names());
		machine_stop(3);
	}
	return NULL;
}

/* Frames follow the configured MTU, as far as the NIC (and, for
 * virtio-net, the host's link) carries them: a larger mtu falls back to
 * what the NIC takes, saying so. */
static void apply_mtu(struct nic *nic)
{
	u32 want = ETH_HLEN + config.mtu;
	if (want > nic->max_frame)
		log_warn("nic: mtu %u asked for; %s carries an MTU of %u at most here; using %u", config.mtu, nic->name,
			 nic->max_frame - ETH_HLEN, nic->max_frame - ETH_HLEN);
	nic->max_frame = MIN(nic->max_frame, want);
}

static struct nic *probe_nic(void)
{
	static const char *const want[] = { [NIC_ANY] = NULL, [NIC_E1000] = "e1000", [NIC_VIRTIO] = "virtio-net" };
	for (unsigned i = 0; nic_drivers[i]; i++) {
		if (want[config.nic] && strcmp(want[config.nic], nic_drivers[i]->name))
			continue;
		struct nic *nic;
		int rc = nic_drivers[i]->probe(0, &nic);
		if (rc == 0) {
			apply_mtu(nic);
			log_info("nic: %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s, MTU %u", nic->name, nic->mac[0],
				 nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5],
				 nic->ops->link_up(nic) ? "up" : "down", nic->max_frame - ETH_HLEN);
			return nic;
		}
		if (rc != -E_NOENT)
			log_err("nic: the %s driver failed: %s", nic_drivers[i]->name, err_name(rc));
	}
	log_err("cannot run: no supported network card (%s) found", want[config.nic] ? want[config.nic] : "e1000 or virtio-net");
	return NULL;
}

/* The frame pump: two ferries and a link, nothing else. */
static __noreturn void run_pump(void)
{
	struct nic *nic = probe_nic();
	if (!nic)
		machine_stop(3);
	if (config.role == ROLE_PUMP_ECHO)
		pump_echo(nic);
	int rc = pump_send(nic, config.pump_frames, config.pump_size, config.pump_window);
	log_info("nic stats: tx %lu frames, rx %lu frames, rx dropped %lu, tx ring full %lu", nic->stats.tx_frames,
		 nic->stats.rx_frames, nic->stats.rx_dropped, nic->stats.tx_full);
	machine_stop(rc ? 1 : 0);
}

static void log_summary(const struct vm *vm)
{
	const struct vcpu_stats *s = &vm->vcpu.stats;
	const struct lbd_stats *l = lbd_get_stats();
	log_info("guest stopped: %s (status %d)", vm_stop_text(vm->stop), vm->exit_status);
	log_info("stats: %lu exits (npf %lu, io %lu, cpuid %lu, msr %lu, hlt %lu, hypercall %lu, intr %lu)", s->exits,
		 s->by_reason[EXIT_NPF], s->by_reason[EXIT_IO], s->by_reason[EXIT_CPUID],
		 s->by_reason[EXIT_RDMSR] + s->by_reason[EXIT_WRMSR], s->by_reason[EXIT_HLT], s->by_reason[EXIT_HYPERCALL],
		 s->by_reason[EXIT_INTR]);
	u64 all = s->guest_tsc + s->handler_tsc, khz = time_tsc_khz();
	if (all && khz)
		/* The server's cost to its guest: the share its clients take. */
		log_info("stats: ferry's exit handlers took %lu.%lu%% of the %lu ms the guest ran (%lu ms)",
			 s->handler_tsc * 100 / all, s->handler_tsc * 1000 / all % 10, all / khz, s->handler_tsc / khz);
	log_info("stats: logical device: %lu commands, %lu errors, %lu KiB read, %lu KiB written", l->commands,
		 l->errors, l->bytes_read / KiB, l->bytes_written / KiB);
	if (trap_nmi_count())
		log_info("stats: %lu NMIs struck ferry and went on to the guest", trap_nmi_count());
	const struct vblk_stats *v = vblk_get_stats();
	if (v->notifies)
		log_info("stats: virtio-blk: %lu requests (%lu reads, %lu writes, %lu flushes), %lu errors, %lu KiB read, "
			 "%lu KiB written, %lu notifies (%lu ignored), %lu interrupts, %lu resets needed", v->requests,
			 v->reads, v->writes, v->flushes, v->errors, v->bytes_read / KiB, v->bytes_written / KiB, v->notifies,
			 v->ignored_notifies, v->interrupts, v->needs_reset);
}

/* machine_stop's code once the guest's run ended, by how it ended.  Only a
 * power-off carries a status of the guest's (0: success); every other stop
 * ends with 0 as well, and the log line above says which stop it was. */
static int run_end_code(const struct vm *vm)
{
	switch (vm->stop) {
	case VM_STOP_POWER_OFF:
		return vm->exit_status ? 1 : 0;
	default:
		return 0;
	}
}

/* The back end for this CPU's vendor: VMX on Intel, SVM on AMD (and on
 * Hygon, whose CPUs are AMD's design).  Nothing else in the core asks. */
static const struct hv_arch *pick_arch(char *why, size_t n)
{
	char vendor[13];
	cpu_vendor(vendor);
	if (!strcmp(vendor, "GenuineIntel"))
		return &vmx_arch;
	if (!strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine"))
		return &svm_arch;
	fmt_snprintf(why, n, "CPU vendor \"%s\": ferry needs Intel VT-x with EPT or AMD-V with NPT", vendor);
	return NULL;
}

/* Console, boot information, configuration, the back end for this CPU,
 * memory, time and the PCI bus: everything before any device is taken.
 * Stops the machine when ferry cannot run here. */
static const struct hv_arch *start_core(u32 magic, u32 info)
{
	char why[160];
	const struct hv_arch *arch;

	/* The console's outputs, in the order each line reaches them: the
	 * serial port, the complete log; then the screen, which keeps the
	 * lines until screen_init() has found the display. */
	if (serial_init())
		console_register(&serial_sink);
	console_register(&screen_sink);
	trap_init();
	log_info("ferry %s: a thin hypervisor for remote block devices", FERRY_VERSION);
	if (boot_info_parse(magic, info, &boot) < 0) {
		log_err("boot: unknown loader (magic %x); boot ferry with GRUB (multiboot2) or a multiboot loader", magic);
		machine_stop(2);
	}
	static char shown[BOOT_CMDLINE_MAX];
	config_mask_secrets(boot.cmdline, shown, sizeof(shown));
	log_info("boot: %s, command line \"%s\"", boot.loader, shown);
	screen_init(&boot);
	if (parse_config() < 0)
		machine_stop(2);
	scrub_boot_secrets();
	log_threshold = (enum log_level)config.loglevel;
	log_info("role: %s", config_role_name(config.role));
	if (boot.truncated)
		log_warn("boot: the loader's information did not all fit (memory map or module list cut short)");
	log_cpu();

	if (!(arch = pick_arch(why, sizeof(why))) || arch->probe(why, sizeof(why)) < 0) {
		log_err("cannot run: %s", why);
		machine_stop(3);
	}
	log_info("back end: %s", arch->name);
	arch->log_features();
	if (mem_init(&boot, config.role == ROLE_SERVER ? (size_t)config.net_buffers * MiB : 0) < 0 || arch->cpu_init() < 0) {
		log_err("cannot run: out of memory while setting up %s", arch->name);
		machine_stop(3);
	}
	time_init();
	pci_init();
	acpi_init(&boot);
	for (unsigned i = 0; i < acpi.necam; i++)
		if (acpi.ecam[i].segment == 0 && pci_ecam_add(acpi.ecam[i].base, acpi.ecam[i].start_bus, acpi.ecam[i].end_bus) < 0)
			log_warn("pci: ECAM window %lx not usable for extended configuration space", acpi.ecam[i].base);
	return arch;
}

/* Takes the devices the role needs, before the guest's address space is
 * built, so their BARs and ports stay out of it; then no more claims
 * (pci_seal).  Stops the machine when a role cannot do without one. */
static struct blk_dev *export_disks[CONFIG_EXPORTS_MAX];

/* A server's disks, one per export (config.exports): the first is *disk. */
static void take_export_disks(struct blk_dev **disk)
{
	char who[CONFIG_EXPORT_NAME_MAX + 16];
	for (unsigned i = 1; i < config.nexports; i++) {
		fmt_snprintf(who, sizeof(who), "export %s: disk=", config.exports[i].name);
		export_disks[i] = probe_disk(config.exports[i].disk, who);
	}
	*disk = export_disks[0];
}

static void take_devices(struct blk_dev **disk, struct nic **nic)
{
	*disk = NULL;
	*nic = NULL;
	if (config.role == ROLE_LOCAL || config.role == ROLE_SERVER) {
		char who[CONFIG_EXPORT_NAME_MAX + 16] = "disk=";
		if (config.role == ROLE_SERVER && config.export_lines)
			fmt_snprintf(who, sizeof(who), "export %s: disk=", config.exports[0].name);
		*disk = export_disks[0] = probe_disk(config.disk[0] ? config.disk : config.exports[0].disk[0] ?
							     config.exports[0].disk : NULL, who);
		if (config.role == ROLE_SERVER && *disk)
			take_export_disks(disk);
		if (!*disk && config.role == ROLE_SERVER) {
			log_err("cannot run: the server has no disk to export (no supported disk controller or disk)");
			machine_stop(3);
		}
		if (!*disk)
			log_warn("disk: no disk found; the guest's logical device will report errors");
	}
	if (config.role == ROLE_CLIENT || config.role == ROLE_SERVER) {
		*nic = probe_nic();
		if (!*nic)
			machine_stop(3);
	}
	pci_seal(); /* vm_create hides what is owned now, once */
}

/* Requests in flight finish between exits.  While some are, the guest is
 * made to exit soon even if it spins (poll_exits), so a guest that waits
 * for them without an exit of its own still sees them finish. */
static void vblk_after_exit(struct vm *vm)
{
	vblk_poll();
	bool busy = vblk_inflight() != 0;
	if (vm->arch->poll_exits && busy != vm->poll_exits_on) {
		vm->poll_exits_on = busy;
		vm->arch->poll_exits(&vm->vcpu, busy);
	}
}

/* The guest halted (it waits for an interrupt) with requests in flight:
 * poll them here until one finishes (its interrupt is then raised), an
 * interrupt of the guest's own waits in the local APIC (or an NMI in
 * ferry) or, a bound should neither ever come, VBLK_HALT_POLL_US passed,
 * instead of an exit for every HLT.  The guest's interrupts are its
 * own on a client: the APIC holds them while ferry runs, so looking is
 * what keeps them on time. */
#define VBLK_HALT_POLL_US 20000
#define VBLK_HALT_APIC_US 20 /* between looks at the APIC: each is several MMIO reads */
static void vblk_on_halt(struct vm *vm)
{
	(void)vm;
	u64 now = time_us(), end = now + VBLK_HALT_POLL_US, look = now;
	while (vblk_inflight() && !vblk_poll() && !trap_nmi_waiting() && now < end) {
		if (now >= look) {
			if (lapic_irq_deliverable())
				break;
			look = now + VBLK_HALT_APIC_US;
		}
		cpu_relax();
		now = time_us();
	}
}

/* The guest's virtio-blk PCI function on the logical device's back end:
 * on the first free device number of bus 0 from 0x10, its BARs in the
 * logical device's window (clear of RAM, the memory map and every BAR),
 * its MSI-X messages raised on the local APIC the guest owns. */
static void attach_virtio_blk(struct vm *vm, struct blk_dev *backend, gpa_t lbd_gpa)
{
	if (!config.virtio_blk || !backend)
		return;
	int slot = pcicfg_free_slot(vm, 0, 0x10);
	struct vblk_cfg c = { .slot = (u8)slot, .bar0 = lbd_gpa + LBD_GPA_SPAN / 2,
			      .bar2 = lbd_gpa + LBD_GPA_SPAN / 2 + VBLK_BAR0_SIZE, .send_msi = lapic_deliver_msi };
	int rc = slot < 0 ? slot : vblk_attach(vm, backend, &c);
	if (rc < 0) {
		log_warn("virtio-blk: not attached: %s", err_name(rc));
		return;
	}
	vm->on_exit = vblk_after_exit; /* requests in flight finish between exits */
	vm->on_halt = vblk_on_halt;
	log_info("virtio-blk: pci 00:%02x.0 (1af4:1042), BAR0 %lx, BAR2 %lx, on %s", slot, c.bar0, c.bar2,
		 backend->name);
}

/* Builds the guest's VM, attaches the logical device to its back end (the
 * local disk, the remote one through the client, or none on a server,
 * whose disk belongs to its clients), loads the guest and, on a server,
 * starts serving.  Stops the machine on failure. */
static void build_guest(struct vm *vm, const struct hv_arch *arch, struct blk_dev *disk, struct nic *nic)
{
	struct blk_dev *backend = NULL;
	struct vcpu_boot_state bs;
	gpa_t lbd_gpa;

	int rc = vm_create(vm, arch, &boot, &lbd_gpa);
	if (rc == 0)
		rc = pcicfg_map_ecam(vm, acpi.ecam, acpi.necam);
	if (rc == 0 && config.role == ROLE_CLIENT)
		backend = netrole_client_start(nic); /* NULL: the guest's device reports errors */
	else if (config.role == ROLE_LOCAL)
		backend = disk;
	if (rc == 0)
		rc = lbd_attach(vm, lbd_gpa, backend);
	if (rc == 0)
		rc = uart16550_attach(&guest_uart, vm, 0x3F8, 4);
	if (rc == 0)
		rc = guest_power_attach(vm);
	if (rc == 0)
		attach_virtio_blk(vm, backend, lbd_gpa);
	if (rc == 0)
		rc = guest_load(vm, &boot, &bs);
	if (rc == 0)
		rc = arch->vcpu_init(&vm->vcpu, &bs);
	if (rc == 0 && config.role == ROLE_SERVER)
		rc = netrole_server_start(vm, nic, export_disks, config.nexports);
	if (rc < 0) {
		log_err("cannot start the guest: %s", err_name(rc));
		machine_stop(3);
	}
	log_info("logical device at guest-physical %lx; pool use %zu KiB; starting the guest (%s)", lbd_gpa,
		 mem_pool_used_pages() * 4, arch->name);
}

/* Runs the guest until it stops, then reports and stops the machine. */
static __noreturn void run_guest(struct vm *vm, const struct hv_arch *arch)
{
	struct vm_exit exit;
	struct vcpu_stats *s = &vm->vcpu.stats;
	u64 t0 = rdtsc();
	while (!vm_stopped(vm)) {
		arch->run(&vm->vcpu, &exit);
		u64 t1 = rdtsc();
		exit_handle(&vm->vcpu, &exit);
		u64 t2 = rdtsc();
		s->guest_tsc += t1 - t0;
		s->handler_tsc += t2 - t1;
		t0 = t2;
	}
	uart16550_flush(&guest_uart);
	log_summary(vm);
	netrole_log_stats();
	/* What the guest asked of the machine, ferry now does itself. */
	if (vm->stop == VM_STOP_POWER_OFF && vm->acpi_sleep) {
		log_info("powering the machine off");
		machine_acpi_sleep(vm->sleep_pm1a, vm->sleep_pm1b);
	} else if (vm->stop == VM_STOP_RESET) {
		log_info("resetting the machine");
		machine_reset();
	}
	machine_stop(run_end_code(vm));
}

void ferry_main(u32 magic, u32 info);
void ferry_main(u32 magic, u32 info)
{
	const struct hv_arch *arch = start_core(magic, info);
	if (config.role == ROLE_PUMP_ECHO || config.role == ROLE_PUMP_SEND)
		run_pump();

	struct blk_dev *disk;
	struct nic *nic;
	take_devices(&disk, &nic);
	build_guest(&the_vm, arch, disk, nic);
	run_guest(&the_vm, arch);
}
