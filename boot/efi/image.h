/* What the UEFI loader works out from the files it read, without touching
 * the firmware: where ferry's ELF image goes, its 64-bit entry, and the
 * command line from the loader's load options.  Host-tested in
 * tests/unit/test_efi_boot.c. */
#ifndef FERRY_EFI_IMAGE_H
#define FERRY_EFI_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Checks an ELF64 x86-64 executable whose PT_LOAD segments all lie in the
 * file and below 4 GiB.  On success, [*lo, *hi) spans every segment's
 * physical range, page-aligned, and 0 is returned; otherwise *why says
 * what is wrong and -1 is returned. */
int elf_span(const void *file, size_t size, uint64_t *lo, uint64_t *hi, const char **why);

/* Copies the PT_LOAD segments of a file elf_span accepted into `dst`,
 * which holds the span [lo, hi): the file's bytes where they belong, zero
 * everywhere else (.bss, gaps). */
void elf_place(const void *file, uint8_t *dst, uint64_t lo, uint64_t hi);

/* The entry address in ferry's 64-bit entry record (boot/entry64.h)
 * within the first FERRY_ENTRY64_SEARCH bytes of the placed image, or 0. */
uint64_t entry64_find(const uint8_t *image, size_t len);

/* The command line from UEFI load options (UCS-2, `bytes` long, maybe not
 * terminated): ASCII, with a first word ending in ".efi" dropped (the UEFI
 * shell and some boot managers pass the image's path first) and outer
 * spaces trimmed.  Returns the length written to out (always terminated),
 * or -1 with out empty when the options are not text: firmware passes a
 * boot entry's binary optional data the same way. */
int load_options_cmdline(const uint16_t *opts, size_t bytes, char *out, size_t cap);

/* The files of the ferry folder.  ferry.elf, guest.elf and ferry.cfg are
 * read by their own paths (guest.elf as the first module, ferry.cfg as
 * the last); every other file becomes a boot module named by its file
 * name, for ferry.cfg's kernel and initrd to name (vm/guest_mods.h), as
 * GRUB's grub.cfg on the stick does (tools/mkusb.sh). */
enum folder_file {
	FOLDER_MODULE,   /* a module: its name is in out */
	FOLDER_OWN,      /* ferry.elf, guest.elf or ferry.cfg, any case */
	FOLDER_BAD_NAME, /* no name ferry.cfg can give: skipped */
};
#define FOLDER_NAME_MAX 63 /* platform/config.h's CONFIG_NAME_MAX */
/* What the loader does with the file `name` (UCS-2, terminated) of the
 * ferry folder.  A module's name is printable ASCII without blanks, '/'
 * or '\', 1 to FOLDER_NAME_MAX characters; out (cap > FOLDER_NAME_MAX)
 * gets it, terminated. */
enum folder_file folder_file(const uint16_t *name, char *out, size_t cap);

/* The command line for showing: the value of every key= word replaced by
 * <hidden>, as ferry's own log does (platform/config.c). */
void cmdline_mask_key(const char *in, char *out, size_t cap);

#endif
