/* Which boot modules are the guest's kernel and initrd (vm/guest_mods.c):
 * by the names the configuration gives, as the USB stick's loaders name
 * every file of its ferry folder, or by order, as QEMU's -initrd and a
 * grub.cfg list them; and the clear error naming what the loader gave. */
#include "check.h"
#include "fake_hv.h"
#include "vm/guest_mods.h"

static struct boot_info bi;

/* Modules at 1 MiB, 2 MiB, ...; each KiB-sized by its position. */
static void mods(const char *const *strings, unsigned n)
{
	memset(&bi, 0, sizeof(bi));
	for (unsigned i = 0; i < n; i++) {
		bi.mods[i].start = (i + 1) * 0x100000ULL;
		bi.mods[i].end = bi.mods[i].start + (i + 1) * 1024;
		snprintf(bi.mods[i].cmdline, sizeof(bi.mods[i].cmdline), "%s", strings[i]);
	}
	bi.nmods = n;
	fake_hv_reset();
}

static const char *const stick[] = { "guest.elf", "initrd.gz", "vmlinuz", "notes.txt", "ferry.cfg" };

TEST(names)
{
	const char *name;
	CHECK_EQ(guest_mod_name("vmlinuz", &name), 7);
	CHECK(!strncmp(name, "vmlinuz", 7));
	CHECK_EQ(guest_mod_name("build/linux/vmlinux console=ttyS0 quiet", &name), 7);
	CHECK(!strncmp(name, "vmlinux", 7));
	CHECK_EQ(guest_mod_name("", &name), 0);
	CHECK_EQ(guest_mod_name("ls /; sha256 /A.TXT", &name), 2); /* a script's first word */
	CHECK_STR(guest_mod_args("vmlinuz"), "");
	CHECK_STR(guest_mod_args("build/vmlinux console=ttyS0 quiet"), "console=ttyS0 quiet");
}

TEST(by_name_on_a_stick)
{
	struct guest_mods g;
	mods(stick, 5);
	CHECK_EQ(guest_mods_pick(&bi, "vmlinuz", "initrd.gz", &g), 0);
	CHECK(g.kernel == &bi.mods[2]);
	CHECK(g.initrd == &bi.mods[1]);
	CHECK(g.by_name);
	CHECK(guest_mods_given(&g, &bi.mods[2]) && guest_mods_given(&g, &bi.mods[1]));
	CHECK(!guest_mods_given(&g, &bi.mods[0]) && !guest_mods_given(&g, &bi.mods[3]));
	CHECK(!guest_mods_given(&g, &bi.mods[4]));
	CHECK_EQ(fake_log_count, 0);
	/* A named kernel and no initrd key: no initrd, not the next file. */
	CHECK_EQ(guest_mods_pick(&bi, "vmlinuz", "", &g), 0);
	CHECK(g.kernel == &bi.mods[2] && !g.initrd);
	/* FAT's names: case does not count. */
	CHECK_EQ(guest_mods_pick(&bi, "VMLINUZ", "InitRD.GZ", &g), 0);
	CHECK(g.kernel == &bi.mods[2] && g.initrd == &bi.mods[1]);
}

TEST(default_is_the_first_module)
{
	struct guest_mods g;
	mods(stick, 5); /* the stick's loaders give guest.elf first */
	CHECK_EQ(guest_mods_pick(&bi, "", "", &g), 0);
	CHECK(g.kernel == &bi.mods[0] && g.initrd == &bi.mods[1] && !g.by_name);
	static const char *const qemu[] = { "ferry.cfg", "/b/linux/vmlinux console=ttyS0", "/b/initrd.gz" };
	mods(qemu, 3); /* ferry.cfg is never the kernel */
	CHECK_EQ(guest_mods_pick(&bi, "", "", &g), 0);
	CHECK(g.kernel == &bi.mods[1] && g.initrd == &bi.mods[2]);
	static const char *const cfg_between[] = { "/b/vmlinux", "/b/ferry.cfg", "/b/initrd.gz" };
	mods(cfg_between, 3);
	CHECK_EQ(guest_mods_pick(&bi, "", "", &g), 0);
	CHECK(g.kernel == &bi.mods[0] && g.initrd == &bi.mods[2]);
	/* The first module as kernel, the initrd by name. */
	mods(stick, 5);
	CHECK_EQ(guest_mods_pick(&bi, "", "notes.txt", &g), 0);
	CHECK(g.kernel == &bi.mods[0] && g.initrd == &bi.mods[3]);
	/* The configuration file is not a file to name. */
	CHECK_EQ(guest_mods_pick(&bi, "ferry.cfg", "", &g), -E_NOENT);
}

TEST(missing_names_are_reported_with_what_there_is)
{
	struct guest_mods g;
	mods(stick, 5);
	CHECK_EQ(guest_mods_pick(&bi, "bzImage", "initrd.gz", &g), -E_NOENT);
	CHECK_EQ(fake_log_count, 1);
	CHECK_STR(fake_log_last, "guest: kernel = bzImage: no boot module of that name; the loader gave: guest.elf "
				 "(1 KiB), initrd.gz (2 KiB), vmlinuz (3 KiB), notes.txt (4 KiB), ferry.cfg (5 KiB). "
				 "On the USB stick, put bzImage in the ferry folder");
	mods(stick, 5);
	CHECK_EQ(guest_mods_pick(&bi, "vmlinuz", "initrd.img", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "guest: initrd = initrd.img: no boot module of that name"));
	mods(stick, 5);
	CHECK_EQ(guest_mods_pick(&bi, "", "vmlinuz-no", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "initrd = vmlinuz-no"));
	mods(stick, 5);
	CHECK_EQ(guest_mods_pick(&bi, "", "guest.elf", &g), -E_INVAL); /* the kernel's own module */
	CHECK(strstr(fake_log_last, "names the kernel's own module"));
}

TEST(no_kernel_at_all)
{
	struct guest_mods g;
	static const char *const only_cfg[] = { "ferry.cfg" };
	mods(only_cfg, 1);
	CHECK_EQ(guest_mods_pick(&bi, "", "", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "guest: no guest kernel was loaded"));
	CHECK(strstr(fake_log_last, "the loader gave: ferry.cfg (1 KiB)"));
	mods(NULL, 0);
	CHECK_EQ(guest_mods_pick(&bi, "", "", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "the loader gave: no module"));
	static const char *const unnamed[] = { "", "" };
	mods(unnamed, 2);
	CHECK_EQ(guest_mods_pick(&bi, "vmlinuz", "", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "(no name) (1 KiB), (no name) (2 KiB)"));
}

TEST(long_lists_stay_in_bounds)
{
	static char names[BOOT_MAX_MODS][80];
	const char *list[BOOT_MAX_MODS];
	for (unsigned i = 0; i < BOOT_MAX_MODS; i++) {
		snprintf(names[i], sizeof(names[i]), "a-rather-long-file-name-for-a-module-number-%02u.bin", i);
		list[i] = names[i];
	}
	mods(list, BOOT_MAX_MODS);
	bi.truncated = true;
	struct guest_mods g;
	CHECK_EQ(guest_mods_pick(&bi, "vmlinuz", "", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "a-rather-long-file-name-for-a-module-number-00.bin (1 KiB)"));
	CHECK(strstr(fake_log_last, "...."));
	CHECK(strstr(fake_log_last, "On the USB stick, put vmlinuz in the ferry folder"));
	CHECK_EQ(guest_mods_pick(&bi, "a-rather-long-file-name-for-a-module-number-15.bin", "", &g), 0);
	CHECK(g.kernel == &bi.mods[15]);
	mods(list, 2);
	bi.truncated = true;
	CHECK_EQ(guest_mods_pick(&bi, "vmlinuz", "", &g), -E_NOENT);
	CHECK(strstr(fake_log_last, "number-01.bin (2 KiB) and more (only 16 are kept). On the USB"));
}

int main(void)
{
	RUN(names);
	RUN(by_name_on_a_stick);
	RUN(default_is_the_first_module);
	RUN(missing_names_are_reported_with_what_there_is);
	RUN(no_kernel_at_all);
	RUN(long_lists_stay_in_bounds);
	return CHECK_SUMMARY();
}
