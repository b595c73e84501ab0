/* The guest OS: set up our own page tables and heap, find the block
 * devices through the driver table, run the command script from the
 * command line, power off with the result.
 *
 * The driver table models "the OS searches for the device driver of the
 * device holding a file" (claim 7 of the seed): each driver probes for its
 * devices; the shell then picks, for every path, the disk that holds it and
 * calls that disk's driver. */
#include "kernel.h"
#include "alloc.h"
#include "lbd_drv.h"
#include "vblk_drv.h"
#include "shell.h"
#include "lib/string.h"

extern u8 __guest_end[];

struct guest_driver {
	const char *name;
	int (*probe)(struct disk **out);
};

static const struct guest_driver drivers[] = {
	{ "ferry-lbd", lbd_probe },
	{ "virtio-blk", vblk_probe },
};

#define HEAP_SIZE (48 * MiB)
#define MAX_DISKS 4

void power_off(int status)
{
	/* ferry's power-off hypercall; on anything else, port 0xF4. */
	__asm__ volatile("vmmcall" ::"a"((u64)FERRY_HC_POWEROFF), "b"((u64)status));
	__asm__ volatile("outb %0, $0xf4" ::"a"((u8)status));
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_main(const struct ferry_boot_info *bi);
void guest_main(const struct ferry_boot_info *bi)
{
	if (bi->magic != FERRY_BOOT_MAGIC) {
		con_line("guest: not started by ferry (bad boot magic)");
		power_off(1);
	}
	trap_init();
	paging_init(bi);

	u64 heap = ALIGN_UP((u64)(uintptr_t)__guest_end, 2 * MiB);
	if (!ram_contains(heap, HEAP_SIZE)) {
		con_printf("guest: no %lu MiB of RAM after the kernel for the heap", HEAP_SIZE / MiB);
		power_off(1);
	}
	heap_init((void *)(uintptr_t)heap, HEAP_SIZE);

	struct disk *disks[MAX_DISKS];
	size_t ndisks = 0;
	for (size_t i = 0; i < ARRAY_SIZE(drivers) && ndisks < MAX_DISKS; i++) {
		struct disk *d;
		int rc = drivers[i].probe(&d);
		if (rc == 0)
			disks[ndisks++] = d;
		else if (rc != -E_NOENT)
			con_printf("guest: driver %s failed: %s", drivers[i].name, err_name(rc));
	}
	if (!ndisks)
		con_line("guest: no block device found");

	const char *script = (const char *)(uintptr_t)bi->cmdline_gpa;
	/* The device test commands of both drivers, and cryptobench. */
	size_t ncmds = lbd_shell_ncmds + vblk_shell_ncmds + crypto_shell_ncmds;
	struct shell_cmd *cmds = g_alloc(ncmds * sizeof(*cmds));
	if (!cmds)
		power_off(1);
	memcpy(cmds, lbd_shell_cmds, lbd_shell_ncmds * sizeof(*cmds));
	memcpy(cmds + lbd_shell_ncmds, vblk_shell_cmds, vblk_shell_ncmds * sizeof(*cmds));
	memcpy(cmds + lbd_shell_ncmds + vblk_shell_ncmds, crypto_shell_cmds, crypto_shell_ncmds * sizeof(*cmds));
	int failed = shell_run(script, disks, ndisks, con_line, cmds, ncmds);
	power_off(failed ? 1 : 0);
}
