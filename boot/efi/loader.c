/* ferry's UEFI loader (BOOTX64.EFI): loads ferry, the files of its folder
 * and ferry.cfg from the volume it was started from (files.c), describes
 * the machine in a multiboot2 information structure, leaves the firmware
 * and enters ferry at its 64-bit entry (boot/entry64.h).  ferry then
 * parses the structure with the same code as GRUB's: two loaders, one
 * entry.
 *
 * Every message goes to the UEFI console and, when the console does not
 * already reach it, to the first serial port (output.c).  References:
 * UEFI Specification 2.9 (7.2 memory allocation and ExitBootServices, 9.1
 * LoadedImage, 12.9 GOP, 4.6 configuration tables). */
#include <efi.h>
#include <efilib.h>

#include "files.h"
#include "image.h"
#include "mb2.h"
#include "output.h"

#define CONFIG_MODULE_NAME "ferry.cfg" /* ferry's platform/config.h */
#define BELOW_4G 0xFFFFFFFFULL
#define PAGES(bytes) (((bytes) + 4095) / 4096)

/* ---- ferry's image --------------------------------------------------------- */

/* Places ferry's segments at their physical addresses; returns the 64-bit
 * entry, or 0 after reporting why not. */
static UINT64 place_ferry(const struct loaded *file, EFI_STATUS *st)
{
	UINT64 lo, hi;
	const char *why;
	if (elf_span((void *)(UINTN)file->addr, file->size, &lo, &hi, &why) < 0) {
		*st = fail(EFI_LOAD_ERROR, L"%s: %a", ferry_file, why);
		return 0;
	}
	EFI_PHYSICAL_ADDRESS at = lo;
	*st = BS->AllocatePages(AllocateAddress, EfiLoaderCode, PAGES(hi - lo), &at);
	if (*st != EFI_SUCCESS) {
		*st = fail(*st, L"ferry must be loaded at %lx-%lx, but the firmware will not give that memory (%r)",
			   lo, hi, *st);
		return 0;
	}
	elf_place((void *)(UINTN)file->addr, (UINT8 *)(UINTN)lo, lo, hi);
	UINT64 entry = entry64_find((UINT8 *)(UINTN)lo, hi - lo);
	if (!entry || entry < lo || entry >= hi) {
		*st = fail(EFI_LOAD_ERROR, L"%s has no 64-bit entry record (boot/entry64.h): a ferry from before the UEFI loader?",
			   ferry_file);
		return 0;
	}
	info(L"ferry placed at %lx-%lx, 64-bit entry %lx", lo, hi, entry);
	return entry;
}

/* ---- what the firmware knows ------------------------------------------------ */

static BOOLEAN guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	return !CompareMem(a, b, sizeof(*a));
}

/* The ACPI RSDP from the configuration table, ACPI 2.0 preferred; *len is
 * 36 for a 2.0+ RSDP, 20 for 1.0, 0 for none. */
static const void *find_rsdp(UINTN *len)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	const UINT8 *v1 = NULL;
	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		const UINT8 *p = t->VendorTable;
		BOOLEAN v2 = guid_eq(&t->VendorGuid, &acpi20);
		if ((!v2 && !guid_eq(&t->VendorGuid, &acpi10)) || !p || CompareMem(p, "RSD PTR ", 8))
			continue;
		if (v2 && p[15] >= 2) { /* revision: 2 and up have the 36-byte form */
			*len = ACPI_RSDP_V2_LEN;
			return p;
		}
		v1 = p;
	}
	*len = v1 ? ACPI_RSDP_V1_LEN : 0;
	return v1;
}

/* The GOP framebuffer; FALSE when there is none ferry can draw on. */
static BOOLEAN find_framebuffer(struct mb2_fb *fb)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	if (LibLocateProtocol(&gEfiGraphicsOutputProtocolGuid, (void **)&gop) != EFI_SUCCESS || !gop->Mode) {
		warn(L"no graphics output (GOP): ferry will print to the serial port only");
		return FALSE;
	}
	/* A mode that was never set reads as one past the last (or has no
	 * information): set the first. */
	if (gop->Mode->Mode >= gop->Mode->MaxMode || !gop->Mode->Info || !gop->Mode->FrameBufferBase) {
		EFI_STATUS st = gop->SetMode(gop, 0);
		if (st != EFI_SUCCESS) {
			warn(L"cannot set a graphics mode (%r): ferry will print to the serial port only", st);
			return FALSE;
		}
	}
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *mi = gop->Mode->Info;
	BOOLEAN ok;
	switch (mi->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		ok = mb2_fb_from_masks(fb, 0x0000ff, 0x00ff00, 0xff0000, 0xff000000);
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		ok = mb2_fb_from_masks(fb, 0xff0000, 0x00ff00, 0x0000ff, 0xff000000);
		break;
	case PixelBitMask:
		ok = mb2_fb_from_masks(fb, mi->PixelInformation.RedMask, mi->PixelInformation.GreenMask,
				       mi->PixelInformation.BlueMask, mi->PixelInformation.ReservedMask);
		break;
	default: /* PixelBltOnly: no linear framebuffer */
		ok = FALSE;
	}
	if (!ok) {
		warn(L"the screen has no linear framebuffer (GOP pixel format %d): ferry will print to the serial port only",
		     mi->PixelFormat);
		return FALSE;
	}
	fb->addr = gop->Mode->FrameBufferBase;
	fb->width = mi->HorizontalResolution;
	fb->height = mi->VerticalResolution;
	fb->pitch = mi->PixelsPerScanLine * (fb->bpp / 8);
	info(L"screen %dx%d, %d bits per pixel, framebuffer %lx (%ld KiB), pitch %d bytes", fb->width, fb->height,
	     fb->bpp, fb->addr, (UINT64)gop->Mode->FrameBufferSize / 1024, fb->pitch);
	return TRUE;
}

/* ---- leaving the firmware --------------------------------------------------- */

typedef void (*ferry_entry64)(UINT32 magic, UINT32 info) __attribute__((sysv_abi, noreturn));

static void __attribute__((noreturn)) stop(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Room for the memory map, with slack for the descriptors that the
 * allocations below and ExitBootServices' retries may add, and for the
 * boot information below 4 GiB: each tag at its largest. */
static EFI_STATUS alloc_boot_tables(UINTN cmdline_cap, UINTN nmods, EFI_PHYSICAL_ADDRESS *map_addr,
				    UINTN *map_cap, EFI_PHYSICAL_ADDRESS *info_addr, UINTN *info_cap)
{
	UINTN map_size = 0, key, desc_size = 0;
	UINT32 desc_ver;
	EFI_STATUS st = BS->GetMemoryMap(&map_size, NULL, &key, &desc_size, &desc_ver);
	if (st != EFI_BUFFER_TOO_SMALL || !desc_size)
		return fail(st, L"cannot read the memory map (%r)", st);
	*map_cap = map_size + 32 * desc_size;
	st = BS->AllocatePages(AllocateAnyPages, EfiLoaderData, PAGES(*map_cap), map_addr);
	if (st != EFI_SUCCESS)
		return fail(st, L"no memory for the memory map (%r)", st);
	/* A module tag: 16 bytes, the name and its NUL, padded to 8. */
	*info_cap = 8 + (8 + cmdline_cap) + nmods * (16 + FOLDER_NAME_MAX + 8) + 2 * (8 + ACPI_RSDP_V2_LEN) + 40 +
		    mb2_mmap_tag_max(*map_cap / desc_size) + 8 + 64;
	*info_addr = BELOW_4G;
	st = BS->AllocatePages(AllocateMaxAddress, EfiLoaderData, PAGES(*info_cap), info_addr);
	if (st != EFI_SUCCESS)
		return fail(st, L"no memory below 4 GiB for the boot information (%r)", st);
	return EFI_SUCCESS;
}

/* Reads the final memory map into map_addr and leaves the firmware.  From
 * the first ExitBootServices on, only GetMemoryMap and ExitBootServices
 * may be called, and nothing can be printed: a failure then stops the
 * machine. */
static EFI_STATUS exit_firmware(EFI_HANDLE image, EFI_PHYSICAL_ADDRESS map_addr, UINTN map_cap, UINTN *map_size,
				UINTN *desc_size)
{
	UINTN key;
	UINT32 desc_ver;
	for (int tries = 0;; tries++) {
		*map_size = map_cap;
		EFI_STATUS st = BS->GetMemoryMap(map_size, (EFI_MEMORY_DESCRIPTOR *)(UINTN)map_addr, &key, desc_size,
						 &desc_ver);
		if (st != EFI_SUCCESS) {
			if (tries == 0)
				return fail(st, L"cannot read the memory map (%r)", st);
			stop();
		}
		st = BS->ExitBootServices(image, key);
		if (st == EFI_SUCCESS)
			return EFI_SUCCESS;
		if (st != EFI_INVALID_PARAMETER || tries == 8) {
			if (tries == 0)
				return fail(st, L"the firmware refused to hand over the machine (ExitBootServices: %r)", st);
			stop();
		}
	}
}

/* The folder's files, each named by its file name, and ferry.cfg: ferry
 * boots the ones ferry.cfg names (kernel, initrd), or guest.elf.  The
 * guest's command line comes from ferry.cfg (guest_cmds). */
static void add_modules(struct mb2_builder *b, const struct stick_files *f)
{
	for (UINTN i = 0; i < f->nmods; i++) {
		const struct loaded *m = &f->mods[i].file;
		mb2_add_module(b, (UINT32)m->addr, (UINT32)(m->addr + m->size), f->mods[i].name);
	}
	if (f->have_cfg)
		mb2_add_module(b, (UINT32)f->cfg.addr, (UINT32)(f->cfg.addr + f->cfg.size), CONFIG_MODULE_NAME);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_STATUS st;
	EFI_LOADED_IMAGE *li;

	InitializeLib(image, systab);
	output_init();
	info(L"ferry's UEFI loader");

	st = BS->HandleProtocol(image, &gEfiLoadedImageProtocolGuid, (void **)&li);
	if (st != EFI_SUCCESS)
		return fail(st, L"no LoadedImage protocol for this loader (%r)", st);
	EFI_FILE_HANDLE root = find_volume(li);
	if (!root)
		return fail(EFI_NOT_FOUND, L"cannot open the volume this loader was started from");

	static struct stick_files files;
	if ((st = read_files(root, &files)) != EFI_SUCCESS)
		return st;
	UINT64 entry = place_ferry(&files.ferry, &st);
	if (!entry)
		return st;
	free_file(&files.ferry);

	/* The command line: this loader's load options (QEMU's -append, the
	 * UEFI shell's arguments, a boot entry's optional data).  As with
	 * GRUB's, it overrides ferry.cfg. */
	static char cmdline[4096];
	if (load_options_cmdline(li->LoadOptions, li->LoadOptionsSize, cmdline, sizeof(cmdline)) < 0)
		warn(L"ignoring this boot entry's load options (%d bytes): they are not text", li->LoadOptionsSize);
	else if (cmdline[0]) {
		static char shown[sizeof(cmdline)];
		cmdline_mask_key(cmdline, shown, sizeof(shown));
		info(L"command line \"%a\"", shown);
	}

	UINTN rsdp_len;
	const void *rsdp = find_rsdp(&rsdp_len);
	if (rsdp)
		info(L"ACPI %a RSDP at %lx", rsdp_len == ACPI_RSDP_V2_LEN ? "2.0" : "1.0", (UINT64)(UINTN)rsdp);
	else
		warn(L"the firmware gives no ACPI tables");
	struct mb2_fb fb;
	BOOLEAN have_fb = find_framebuffer(&fb);

	EFI_PHYSICAL_ADDRESS map_addr = 0, info_addr = 0;
	UINTN map_cap = 0, info_cap = 0, map_size = 0, desc_size = 0;
	if ((st = alloc_boot_tables(sizeof(cmdline), files.nmods + 1, &map_addr, &map_cap, &info_addr, &info_cap)) !=
	    EFI_SUCCESS)
		return st;

	/* Everything but the memory map, which must be the final one. */
	struct mb2_builder b;
	mb2_begin(&b, (void *)(UINTN)info_addr, info_cap);
	mb2_add_cmdline(&b, cmdline);
	/* The key must not outlive this in memory the guest gets: ferry
	 * zeroes the information structure and ferry.cfg once it parsed them;
	 * these two copies are the loader's own. */
	SetMem(cmdline, sizeof(cmdline), 0);
	if (li->LoadOptions && li->LoadOptionsSize)
		SetMem(li->LoadOptions, li->LoadOptionsSize, 0);
	add_modules(&b, &files);
	if (rsdp && rsdp_len == ACPI_RSDP_V2_LEN)
		mb2_add_rsdp(&b, rsdp, ACPI_RSDP_V1_LEN);
	if (rsdp)
		mb2_add_rsdp(&b, rsdp, rsdp_len);
	if (have_fb)
		mb2_add_framebuffer(&b, &fb);

	info(L"starting ferry (multiboot2 information at %lx)", info_addr);
	if ((st = exit_firmware(image, map_addr, map_cap, &map_size, &desc_size)) != EFI_SUCCESS)
		return st;
	mb2_add_efi_mmap(&b, (void *)(UINTN)map_addr, map_size, desc_size);
	if (!mb2_end(&b))
		stop(); /* cannot happen: info_cap holds every tag at its largest */
	((ferry_entry64)(UINTN)entry)(MB2_LOADER_MAGIC, (UINT32)info_addr);
}
