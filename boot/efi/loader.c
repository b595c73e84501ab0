/* ferry's UEFI loader (BOOTX64.EFI): loads ferry, its guest and ferry.cfg
 * from the volume it was started from, describes the machine in a
 * multiboot2 information structure, leaves the firmware and enters ferry
 * at its 64-bit entry (boot/entry64.h).  ferry then parses the structure
 * with the same code as GRUB's: two loaders, one entry.
 *
 * Every message goes to the UEFI console and, when the console does not
 * already reach it, to the first serial port.  References: UEFI
 * Specification 2.9 (7.2 memory allocation and ExitBootServices, 9.1
 * LoadedImage, 13.4-13.5 SimpleFileSystem and File, 12.9 GOP, 4.6
 * configuration tables). */
#include <efi.h>
#include <efilib.h>

#include "image.h"
#include "mb2.h"

#define DIR L"\\ferry\\"
/* The files, as the writable strings the File protocol's Open takes. */
static CHAR16 ferry_path[] = DIR L"ferry.elf";
static CHAR16 guest_path[] = DIR L"guest.elf";
static CHAR16 config_path[] = DIR L"ferry.cfg";
#define FERRY_FILE ferry_path
#define GUEST_FILE guest_path
#define CONFIG_FILE config_path
#define CONFIG_MODULE_NAME "ferry.cfg" /* ferry's platform/config.h */
#define BELOW_4G 0xFFFFFFFFULL
#define PAGES(bytes) (((bytes) + 4095) / 4096)
#define ERROR_WAIT_SECONDS 30

struct loaded {
	EFI_PHYSICAL_ADDRESS addr;
	UINTN size;
};

/* The first serial port, when the UEFI console does not already reach it
 * (OVMF mirrors the console to it; most PCs' consoles are screen only). */
static SERIAL_IO_INTERFACE *serial;

static void serial_put(const CHAR16 *s)
{
	char buf[128];
	UINTN n = 0;
	for (;; s++) {
		if (!*s || n + 2 >= sizeof(buf)) {
			UINTN len = n;
			if (len)
				serial->Write(serial, &len, buf);
			n = 0;
			if (!*s)
				return;
		}
		if (*s == '\n')
			buf[n++] = '\r';
		buf[n++] = *s < 0x80 ? (char)*s : '?';
	}
}

/* Prints one line ("ferry: " and the text) on the console and the
 * serial port. */
static void say(const CHAR16 *prefix, const CHAR16 *fmt, va_list ap)
{
	CHAR16 line[512];
	UINTN n = SPrint(line, sizeof(line), L"ferry: %s", prefix);
	n += VSPrint(line + n, sizeof(line) - n * sizeof(CHAR16), fmt, ap);
	if (n + 3 > sizeof(line) / sizeof(CHAR16))
		n = sizeof(line) / sizeof(CHAR16) - 3;
	line[n] = '\r', line[n + 1] = '\n', line[n + 2] = 0;
	ST->ConOut->OutputString(ST->ConOut, line);
	if (serial) {
		line[n] = '\n', line[n + 1] = 0;
		serial_put(line);
	}
}

static void info(const CHAR16 *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(L"uefi: ", fmt, ap);
	va_end(ap);
}

static void warn(const CHAR16 *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(L"warning: uefi: ", fmt, ap);
	va_end(ap);
}

/* Reports why ferry cannot start, leaves the message on the screen for a
 * while (or until a key), and gives the status back to the firmware,
 * which goes on to its next boot option. */
static EFI_STATUS fail(EFI_STATUS st, const CHAR16 *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	say(L"error: uefi: ", fmt, ap);
	va_end(ap);
	CHAR16 wait[] = L"ferry: uefi: ferry was not started; back to the firmware in 30 s or at a key press\r\n";
	ST->ConOut->OutputString(ST->ConOut, wait);
	if (serial)
		serial_put(L"ferry: uefi: ferry was not started; back to the firmware in 30 s or at a key press\n");
	EFI_EVENT ev[2];
	UINTN n = 0, which;
	if (BS->CreateEvent(EVT_TIMER, 0, NULL, NULL, &ev[n]) == EFI_SUCCESS &&
	    BS->SetTimer(ev[n], TimerRelative, ERROR_WAIT_SECONDS * 10000000ULL) == EFI_SUCCESS)
		n++;
	if (ST->ConIn)
		ev[n++] = ST->ConIn->WaitForKey;
	if (n)
		BS->WaitForEvent(n, ev, &which);
	return EFI_ERROR(st) ? st : EFI_LOAD_ERROR;
}

/* Does the console's device path (the ConOut variable) include a UART,
 * i.e. does the firmware already copy the console to a serial port? */
static BOOLEAN console_has_uart(void)
{
	static CHAR16 name[] = L"ConOut";
	UINTN size = 0;
	UINT8 *dp = LibGetVariableAndSize(name, &gEfiGlobalVariableGuid, &size);
	BOOLEAN uart = FALSE;
	for (UINTN off = 0; dp && off + 4 <= size;) {
		UINT8 type = dp[off], sub = dp[off + 1];
		UINT16 len = (UINT16)(dp[off + 2] | dp[off + 3] << 8);
		if (type == MESSAGING_DEVICE_PATH && sub == MSG_UART_DP)
			uart = TRUE;
		if (len < 4)
			break;
		off += len;
	}
	if (dp)
		FreePool(dp);
	return uart;
}

static void output_init(void)
{
	if (console_has_uart())
		return;
	SERIAL_IO_INTERFACE *s;
	if (LibLocateProtocol(&gEfiSerialIoProtocolGuid, (void **)&s) != EFI_SUCCESS)
		return;
	/* ferry's own console uses 115200 8N1 (platform/console.c). */
	s->SetAttributes(s, 115200, 0, 0, NoParity, 8, OneStopBit);
	serial = s;
}

/* ---- files ---------------------------------------------------------------- */

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
static EFI_FILE_HANDLE find_volume(EFI_LOADED_IMAGE *li)
{
	EFI_FILE_HANDLE root = open_volume(li->DeviceHandle);
	if (root && has_file(root, FERRY_FILE))
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
		if (r && has_file(r, FERRY_FILE)) {
			warn(L"%s is not on the volume this loader was started from; using another volume that has it",
			     FERRY_FILE);
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
	st = BS->AllocatePages(AllocateMaxAddress, type, PAGES(size) ? PAGES(size) : 1, &addr);
	if (st == EFI_SUCCESS) {
		UINTN got = size;
		st = f->Read(f, &got, (void *)(UINTN)addr);
		if (st == EFI_SUCCESS && got != size)
			st = EFI_END_OF_FILE;
		if (st != EFI_SUCCESS)
			BS->FreePages(addr, PAGES(size) ? PAGES(size) : 1);
	}
	f->Close(f);
	out->addr = addr;
	out->size = size;
	return st;
}

/* ---- ferry's image --------------------------------------------------------- */

/* Places ferry's segments at their physical addresses; returns the 64-bit
 * entry, or 0 after reporting why not. */
static UINT64 place_ferry(const struct loaded *file, EFI_STATUS *st)
{
	UINT64 lo, hi;
	const char *why;
	if (elf_span((void *)(UINTN)file->addr, file->size, &lo, &hi, &why) < 0) {
		*st = fail(EFI_LOAD_ERROR, L"%s: %a", FERRY_FILE, why);
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
			   FERRY_FILE);
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

/* Reads ferry, its guest and its configuration (which may be missing:
 * *have_cfg). */
static EFI_STATUS read_files(EFI_FILE_HANDLE root, struct loaded *ferry, struct loaded *guest, struct loaded *cfg,
			     BOOLEAN *have_cfg)
{
	EFI_STATUS st = read_file(root, FERRY_FILE, EfiLoaderData, ferry);
	if (st == EFI_NOT_FOUND)
		return fail(st, L"%s is missing: copy ferry.elf to the ferry folder of this USB stick", FERRY_FILE);
	if (st != EFI_SUCCESS)
		return fail(st, L"cannot read %s (%r)", FERRY_FILE, st);
	info(L"read %s (%ld bytes)", FERRY_FILE, (UINT64)ferry->size);
	st = read_file(root, GUEST_FILE, EfiLoaderData, guest);
	if (st == EFI_NOT_FOUND)
		return fail(st, L"%s is missing: copy guest.elf (ferry's guest OS) to the ferry folder of this USB stick",
			    GUEST_FILE);
	if (st != EFI_SUCCESS)
		return fail(st, L"cannot read %s (%r)", GUEST_FILE, st);
	info(L"read %s (%ld bytes)", GUEST_FILE, (UINT64)guest->size);
	st = read_file(root, CONFIG_FILE, EfiLoaderData, cfg);
	if (st == EFI_NOT_FOUND)
		warn(L"%s is missing: ferry starts with its defaults (role=local)", CONFIG_FILE);
	else if (st != EFI_SUCCESS)
		return fail(st, L"cannot read %s (%r)", CONFIG_FILE, st);
	else
		info(L"read %s (%ld bytes)", CONFIG_FILE, (UINT64)cfg->size);
	*have_cfg = st == EFI_SUCCESS;
	return EFI_SUCCESS;
}

/* Room for the memory map, with slack for the descriptors that the
 * allocations below and ExitBootServices' retries may add, and for the
 * boot information below 4 GiB: each tag at its largest. */
static EFI_STATUS alloc_boot_tables(UINTN cmdline_cap, EFI_PHYSICAL_ADDRESS *map_addr, UINTN *map_cap,
				    EFI_PHYSICAL_ADDRESS *info_addr, UINTN *info_cap)
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
	*info_cap = 8 + (8 + cmdline_cap) + 2 * (16 + 16) + 2 * (8 + ACPI_RSDP_V2_LEN) + 40 +
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

	struct loaded ferry_file, guest, cfg = { 0, 0 };
	BOOLEAN have_cfg = FALSE;
	if ((st = read_files(root, &ferry_file, &guest, &cfg, &have_cfg)) != EFI_SUCCESS)
		return st;
	UINT64 entry = place_ferry(&ferry_file, &st);
	if (!entry)
		return st;
	BS->FreePages(ferry_file.addr, PAGES(ferry_file.size) ? PAGES(ferry_file.size) : 1);

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
	if ((st = alloc_boot_tables(sizeof(cmdline), &map_addr, &map_cap, &info_addr, &info_cap)) != EFI_SUCCESS)
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
	/* The guest's command script comes from ferry.cfg (guest_cmds). */
	mb2_add_module(&b, (UINT32)guest.addr, (UINT32)(guest.addr + guest.size), "");
	if (have_cfg)
		mb2_add_module(&b, (UINT32)cfg.addr, (UINT32)(cfg.addr + cfg.size), CONFIG_MODULE_NAME);
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
