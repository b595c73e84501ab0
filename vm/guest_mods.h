/* Which boot modules are the guest's: its kernel and, for Linux, the
 * initrd.  The configuration may name them (kernel, initrd: files in the
 * USB stick's ferry folder, whose loaders give every file there as a
 * module named by its file name); otherwise they go by order, as a
 * multiboot loader lists them.  Pure: host-tested in
 * tests/unit/test_guest_mods.c. */
#ifndef FERRY_GUEST_MODS_H
#define FERRY_GUEST_MODS_H

#include "boot/boot_info.h"

struct guest_mods {
	const struct boot_module *kernel;
	const struct boot_module *initrd; /* NULL: none */
	bool by_name;                     /* the kernel was picked by its name */
};

/* A module's name: the base name of its string's first word ("vmlinuz"
 * for "vmlinuz", "vmlinux" for "build/linux/vmlinux console=ttyS0").
 * Returns its length; *name points into s. */
size_t guest_mod_name(const char *s, const char **name);
/* What follows the first word of a module's string: the kernel's own
 * command line when the kernel was picked by its name. */
const char *guest_mod_args(const char *s);

/* Picks the kernel and the initrd among bi's modules; ferry.cfg is never
 * one.  Names match ignoring ASCII case, as FAT's do.
 *  - kernel: the module named kernel, if given; else the first module;
 *  - initrd: the module named initrd, if given; else, when kernel is not
 *    given either, the module after the kernel; else none.
 * kernel and initrd are "" when not given.  Returns 0, or -E_NOENT after
 * logging the name that is missing and every module the loader gave
 * (-E_INVAL: initrd names the kernel's module). */
int guest_mods_pick(const struct boot_info *bi, const char *kernel, const char *initrd, struct guest_mods *out);

/* Is m given to the guest (its kernel or initrd)?  Every other module is
 * guest RAM like the rest, zeroed before the guest starts. */
bool guest_mods_given(const struct guest_mods *g, const struct boot_module *m);

#endif
