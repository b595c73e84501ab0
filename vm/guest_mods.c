#include "guest_mods.h"
#include "platform/config.h"
#include "platform/console.h"
#include "lib/fmt.h"
#include "lib/string.h"

size_t guest_mod_name(const char *s, const char **name)
{
	size_t end = 0, base = 0;
	while (s[end] && s[end] != ' ') {
		if (s[end] == '/')
			base = end + 1;
		end++;
	}
	*name = s + base;
	return end - base;
}

const char *guest_mod_args(const char *s)
{
	const char *sp = strchr(s, ' ');
	return sp ? sp + 1 : "";
}

static bool named(const struct boot_module *m, const char *want)
{
	const char *name;
	size_t n = guest_mod_name(m->cmdline, &name);
	if (n != strlen(want))
		return false;
	for (size_t i = 0; i < n; i++)
		if (to_lower(name[i]) != to_lower(want[i]))
			return false;
	return true;
}

static const struct boot_module *find(const struct boot_info *bi, const char *want)
{
	for (unsigned i = 0; i < bi->nmods; i++)
		if (!config_is_file_module(bi->mods[i].cmdline) && named(&bi->mods[i], want))
			return &bi->mods[i];
	return NULL;
}

/* "guest.elf (292 KiB), ferry.cfg (1 KiB)": what the loader gave, for an
 * error message. */
static void list_modules(const struct boot_info *bi, char *out, size_t size)
{
	size_t n = 0;
	out[0] = 0;
	for (unsigned i = 0; i < bi->nmods && n < size; i++) {
		const struct boot_module *m = &bi->mods[i];
		const char *name;
		size_t len = guest_mod_name(m->cmdline, &name);
		if (!len) {
			name = "(no name)";
			len = 9;
		}
		n += (size_t)fmt_snprintf(out + n, size - n, "%s%.*s (%lu KiB)", i ? ", " : "", (int)len,
					  name, (m->end - m->start + KiB - 1) / KiB);
	}
	if (n >= size) /* cut short: say so */
		memcpy(out + size - 4, "...", 4);
	else if (!bi->nmods)
		str_copy(out, "no module", size);
	else if (bi->truncated)
		fmt_snprintf(out + n, size - n, " and more (only %u are kept)", BOOT_MAX_MODS);
}

static int missing(const struct boot_info *bi, const char *key, const char *name)
{
	char list[320];
	list_modules(bi, list, sizeof(list));
	if (!name)
		log_err("guest: no guest kernel was loaded: give it to the loader as a module (on the USB stick: "
			"guest.elf, or kernel = FILE in ferry.cfg); the loader gave: %s", list);
	else
		log_err("guest: %s = %s: no boot module of that name; the loader gave: %s. On the USB stick, put %s "
			"in the ferry folder", key, name, list, name);
	return -E_NOENT;
}

int guest_mods_pick(const struct boot_info *bi, const char *kernel, const char *initrd, struct guest_mods *out)
{
	*out = (struct guest_mods){ NULL, NULL, kernel[0] != 0 };
	if (kernel[0]) {
		if (!(out->kernel = find(bi, kernel)))
			return missing(bi, "kernel", kernel);
	} else {
		for (unsigned i = 0; i < bi->nmods && !out->kernel; i++)
			if (!config_is_file_module(bi->mods[i].cmdline))
				out->kernel = &bi->mods[i];
		if (!out->kernel)
			return missing(bi, "kernel", NULL);
	}
	if (initrd[0]) {
		if (!(out->initrd = find(bi, initrd)))
			return missing(bi, "initrd", initrd);
		if (out->initrd == out->kernel) {
			log_err("guest: initrd = %s names the kernel's own module", initrd);
			return -E_INVAL;
		}
	} else if (!kernel[0]) {
		for (const struct boot_module *m = out->kernel + 1; m < bi->mods + bi->nmods && !out->initrd; m++)
			if (!config_is_file_module(m->cmdline))
				out->initrd = m;
	}
	return 0;
}

bool guest_mods_given(const struct guest_mods *g, const struct boot_module *m)
{
	return m == g->kernel || m == g->initrd;
}
