/* The files the UEFI loader reads (files.h): the volume, ferry.elf, and
 * the ferry folder's files as modules named by their file names, the set
 * GRUB's grub.cfg on the stick loads too (tools/mkusb.sh).  References:
 * UEFI Specification 2.9, the LoadedImage, SimpleFileSystem and File
 * protocols (a directory's Read gives one EFI_FILE_INFO per call, size 0
 * at the end). */
#include <efi.h>
#include <efilib.h>

#include "files.h"
#include "output.h"

#define DIR L"\\ferry\\"
#define BELOW_4G 0xFFFFFFFFULL
#define PAGES(bytes) ((bytes) ? ((bytes) + 4095) / 4096 : 1)
/* The folder and the files, as the writable strings the File protocol's
 * Open takes. */
static CHAR16 folder_path[] = L"\\ferry";
CHAR16 ferry_file[] = DIR L"ferry.elf";
static CHAR16 guest_file[] = DIR L"guest.elf";
static CHAR16 config_file[] = DIR L"ferry.cfg";
#define GUEST_MODULE_NAME "guest.elf"

static EFI_FILE_HANDLE open_volume(EFI_HANDLE device)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_FILE_HANDLE root;
	if (BS->HandleProtocol(device, &gEfiSimpleFileSystemProtocolGuid, (void **)&fs) != EFI_SUCCESS)
		return NULL;
	if (fs->OpenVolume(fs, &root) != EFI_SUCCESS)
		return NULL;
	return root;
}

static BOOLEAN has_file(EFI_FILE_HANDLE root, CHAR16 *path)
{
	EFI_FILE_HANDLE f;
	if (root->Open(root, &f, path, EFI_FILE_MODE_READ, 0) != EFI_SUCCESS)
		return FALSE;
	f->Close(f);
	return TRUE;
}

/* Firmware connects only the devices it needed to start this loader; a
 * file system on another disk appears once its controller is connected. */
static void connect_all(void)
{
	UINTN n = 0;
	EFI_HANDLE *handles = NULL;
	if (LibLocateHandle(AllHandles, NULL, NULL, &n, &handles) != EFI_SUCCESS)
		return;
	for (UINTN i = 0; i < n; i++)
		BS->ConnectController(handles[i], NULL, NULL, TRUE);
	FreePool(handles);
}

/* The volume holding ferry: the one this loader was started from, or, when
 * that has no \ferry\ferry.elf (e.g. OVMF started the loader from QEMU's
 * -kernel), the first other volume that has it. */
EFI_FILE_HANDLE find_volume(EFI_LOADED_IMAGE *li)
{
	EFI_FILE_HANDLE root = open_volume(li->DeviceHandle);
	if (root && has_file(root, ferry_file))
		return root;
	connect_all();
	UINTN n = 0;
	EFI_HANDLE *handles = NULL;
	if (LibLocateHandle(ByProtocol, &gEfiSimpleFileSystemProtocolGuid, NULL, &n, &handles) != EFI_SUCCESS)
		return root;
	for (UINTN i = 0; i < n; i++) {
		if (handles[i] == li->DeviceHandle)
			continue;
		EFI_FILE_HANDLE r = open_volume(handles[i]);
		if (r && has_file(r, ferry_file)) {
			warn(L"%s is not on the volume this loader was started from; using another volume that has it",
			     ferry_file);
			root = r;
			break;
		}
	}
	FreePool(handles);
	return root;
}

/* Reads a whole file into pages of `type` below 4 GiB (ferry's boot code
 * reads module and information addresses as 32-bit values). */
static EFI_STATUS read_file(EFI_FILE_HANDLE root, CHAR16 *path, EFI_MEMORY_TYPE type, struct loaded *out)
{
	EFI_FILE_HANDLE f;
	EFI_STATUS st = root->Open(root, &f, path, EFI_FILE_MODE_READ, 0);
	if (st != EFI_SUCCESS)
		return st;
	EFI_FILE_INFO *fi = LibFileInfo(f);
	if (!fi) {
		f->Close(f);
		return EFI_DEVICE_ERROR;
	}
	UINTN size = fi->FileSize;
	FreePool(fi);
	EFI_PHYSICAL_ADDRESS addr = BELOW_4G;
	st = BS->AllocatePages(AllocateMaxAddress, type, PAGES(size), &addr);
	if (st == EFI_SUCCESS) {
		UINTN got = size;
		st = f->Read(f, &got, (void *)(UINTN)addr);
		if (st == EFI_SUCCESS && got != size)
			st = EFI_END_OF_FILE;
		if (st != EFI_SUCCESS)
			BS->FreePages(addr, PAGES(size));
	}
	f->Close(f);
	out->addr = addr;
	out->size = size;
	return st;
}

void free_file(const struct loaded *file)
{
	BS->FreePages(file->addr, PAGES(file->size));
}

/* One file of the folder, unless it is one of ferry's own (read by their
 * paths), has a name ferry.cfg cannot give, or is one too many. */
static EFI_STATUS read_folder_file(EFI_FILE_HANDLE root, const EFI_FILE_INFO *fi, struct stick_files *f)
{
	char name[FOLDER_NAME_MAX + 1];
	if (fi->Attribute & EFI_FILE_DIRECTORY)
		return EFI_SUCCESS;
	switch (folder_file(fi->FileName, name, sizeof(name))) {
	case FOLDER_OWN:
		return EFI_SUCCESS;
	case FOLDER_BAD_NAME:
		warn(L"skipping %s%s: ferry.cfg can name only files of 1 to %d ASCII characters without blanks", DIR,
		     fi->FileName, FOLDER_NAME_MAX);
		return EFI_SUCCESS;
	case FOLDER_MODULE:
		break;
	}
	if (f->nmods == LOADER_MAX_MODULES) {
		warn(L"skipping %s%s: ferry takes at most %d files of the folder", DIR, fi->FileName, LOADER_MAX_MODULES);
		return EFI_SUCCESS;
	}
	static CHAR16 path[sizeof(DIR) / sizeof(CHAR16) + FOLDER_NAME_MAX + 1];
	SPrint(path, sizeof(path), L"%s%s", DIR, fi->FileName);
	struct module *m = &f->mods[f->nmods];
	EFI_STATUS st = read_file(root, path, EfiLoaderData, &m->file);
	if (st != EFI_SUCCESS)
		return fail(st, L"cannot read %s (%r)", path, st);
	CopyMem(m->name, name, sizeof(name));
	f->nmods++;
	info(L"read %s (%ld bytes)", path, (UINT64)m->file.size);
	return EFI_SUCCESS;
}

/* Every file of the folder but ferry's own, in the folder's order. */
static EFI_STATUS read_folder(EFI_FILE_HANDLE root, struct stick_files *f)
{
	EFI_FILE_HANDLE dir;
	EFI_STATUS st = root->Open(root, &dir, folder_path, EFI_FILE_MODE_READ, 0);
	if (st != EFI_SUCCESS)
		return fail(st, L"cannot open the folder %s (%r)", folder_path, st);
	/* One entry: EFI_FILE_INFO (80 bytes) and a name of at most 255
	 * characters on FAT. */
	static UINT64 buf[1024 / sizeof(UINT64)];
	for (;;) {
		UINTN size = sizeof(buf);
		if ((st = dir->Read(dir, &size, buf)) != EFI_SUCCESS) {
			st = fail(st, L"cannot list the folder %s (%r)", folder_path, st);
			break;
		}
		if (!size)
			break;
		if ((st = read_folder_file(root, (const EFI_FILE_INFO *)buf, f)) != EFI_SUCCESS)
			break;
	}
	dir->Close(dir);
	return st;
}

EFI_STATUS read_files(EFI_FILE_HANDLE root, struct stick_files *f)
{
	EFI_STATUS st = read_file(root, ferry_file, EfiLoaderData, &f->ferry);
	if (st == EFI_NOT_FOUND)
		return fail(st, L"%s is missing: copy ferry.elf to the ferry folder of this USB stick", ferry_file);
	if (st != EFI_SUCCESS)
		return fail(st, L"cannot read %s (%r)", ferry_file, st);
	info(L"read %s (%ld bytes)", ferry_file, (UINT64)f->ferry.size);
	f->nmods = 0;
	st = read_file(root, guest_file, EfiLoaderData, &f->mods[0].file);
	if (st == EFI_SUCCESS) {
		CopyMem(f->mods[0].name, GUEST_MODULE_NAME, sizeof(GUEST_MODULE_NAME));
		f->nmods = 1;
		info(L"read %s (%ld bytes)", guest_file, (UINT64)f->mods[0].file.size);
	} else if (st == EFI_NOT_FOUND)
		warn(L"%s is missing: ferry.cfg must name a kernel (kernel = FILE)", guest_file);
	else
		return fail(st, L"cannot read %s (%r)", guest_file, st);
	if ((st = read_folder(root, f)) != EFI_SUCCESS)
		return st;
	st = read_file(root, config_file, EfiLoaderData, &f->cfg);
	if (st == EFI_NOT_FOUND)
		warn(L"%s is missing: ferry starts with its defaults (role=local)", config_file);
	else if (st != EFI_SUCCESS)
		return fail(st, L"cannot read %s (%r)", config_file, st);
	else
		info(L"read %s (%ld bytes)", config_file, (UINT64)f->cfg.size);
	f->have_cfg = st == EFI_SUCCESS;
	return EFI_SUCCESS;
}
