/* The files the UEFI loader reads (files.c): the volume holding ferry,
 * ferry.elf, and the ferry folder's other files as boot modules. */
#ifndef FERRY_EFI_FILES_H
#define FERRY_EFI_FILES_H

#include <efi.h>

#include "image.h"

/* ferry takes at most BOOT_MAX_MODS (boot/boot_info.h) modules: these and
 * ferry.cfg. */
#define LOADER_MAX_MODULES 15

struct loaded {
	EFI_PHYSICAL_ADDRESS addr;
	UINTN size;
};

/* A file of the ferry folder, given to ferry as a module of this name. */
struct module {
	struct loaded file;
	char name[FOLDER_NAME_MAX + 1];
};

struct stick_files {
	struct loaded ferry;                      /* \ferry\ferry.elf */
	struct module mods[LOADER_MAX_MODULES];   /* guest.elf first, if there is one */
	UINTN nmods;
	struct loaded cfg;                        /* \ferry\ferry.cfg */
	BOOLEAN have_cfg;
};

/* \ferry\ferry.elf, for messages. */
extern CHAR16 ferry_file[];

/* The volume holding ferry: the one this loader was started from, or,
 * when that has no \ferry\ferry.elf, the first other volume that has it.
 * NULL: none could be opened. */
EFI_FILE_HANDLE find_volume(EFI_LOADED_IMAGE *li);
/* Reads ferry.elf, guest.elf (when there is one: else a warning, and
 * ferry.cfg must name a kernel), every other file of the folder and
 * ferry.cfg (when there is one: else a warning, and ferry's defaults), all
 * into pages below 4 GiB.  Returns EFI_SUCCESS, or fail()'s status. */
EFI_STATUS read_files(EFI_FILE_HANDLE root, struct stick_files *f);
/* Gives back the pages of a file read. */
void free_file(const struct loaded *file);

#endif
