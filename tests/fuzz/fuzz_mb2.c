/* Fuzzes ferry's multiboot2 information parser (boot/multiboot.c): what
 * GRUB or ferry's UEFI loader hands ferry at boot, tags of every kind.
 *
 * Input: the information structure; its total_size is set to the input's
 * length, so any read past it is a read past the structure (ASan sees it:
 * the buffer is exactly that long).  Oracles: counts within their arrays,
 * strings terminated, RSDP length 0, 20 or 36, every scrub range inside
 * the structure; after boot_info_scrub the structure holds no byte of the
 * command line or of a module string (the key is in them), and ferry's
 * own copies are intact. */
#include <string.h>
#include "fuzz.h"
#include "boot/boot_info.h"
#include "boot/multiboot2.h"
#include "boot/efi/mb2.h"

static bool terminated(const char *s, size_t cap) { return memchr(s, 0, cap) != NULL; }

/* s (at least 8 bytes of it) is not in [p, p + n). */
static void absent(const u8 *p, size_t n, const char *s, const char *what)
{
	size_t l = strlen(s);
	if (l < 8)
		return;
	for (size_t i = 0; i + 8 <= n; i++)
		if (!memcmp(p + i, s, 8))
			fuzz_fail("%s still in the structure after scrubbing: %.40s", what, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8 || size > (1 << 16))
		return 0;
	size_t n = (size + 7) & ~(size_t)7;
	u8 *info = aligned_alloc(8, n);
	memset(info, 0, n);
	memcpy(info, data, size);
	u32 total = (u32)size;
	memcpy(info, &total, 4);

	static struct boot_info bi;
	memset(&bi, 0, sizeof(bi));
	int rc = boot_info_parse(MB2_LOADER_MAGIC, (hpa_t)(uintptr_t)info, &bi);
	if (rc == 0) {
		fuzz_assert(bi.nmem <= BOOT_MAX_MEM && bi.nmods <= BOOT_MAX_MODS);
		fuzz_assert(terminated(bi.cmdline, sizeof(bi.cmdline)));
		for (unsigned i = 0; i < bi.nmods; i++)
			fuzz_assert(terminated(bi.mods[i].cmdline, sizeof(bi.mods[i].cmdline)));
		fuzz_assert(bi.rsdp_len == 0 || bi.rsdp_len == 20 || bi.rsdp_len == 36);
		fuzz_assert(bi.nscrub <= BOOT_MAX_MODS + 2);
		u64 lo = (u64)(uintptr_t)info, hi = lo + size;
		for (unsigned i = 0; i < bi.nscrub; i++)
			if (bi.scrub[i].start < lo || bi.scrub[i].end > hi || bi.scrub[i].start > bi.scrub[i].end)
				fuzz_fail("scrub range %u outside the structure", i);
		static char cmd[BOOT_CMDLINE_MAX];
		memcpy(cmd, bi.cmdline, sizeof(cmd));
		boot_info_scrub(&bi);
		fuzz_assert(!strcmp(cmd, bi.cmdline));
		absent(info, size, bi.cmdline, "the command line");
		for (unsigned i = 0; i < bi.nmods; i++)
			absent(info, size, bi.mods[i].cmdline, "a module string");
	}
	free(info);
	return 0;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static u8 buf[4096] __attribute__((aligned(8)));
	struct mb2_builder b;
	mb2_begin(&b, buf, sizeof(buf));
	mb2_add_cmdline(&b, "loglevel=debug role=server key=00112233445566778899aabbccddeeff");
	mb2_add_module(&b, 0x3000000, 0x3041A3C, "guest.elf");
	mb2_add_module(&b, 0x3100000, 0x3100100, "/boot/ferry/ferry.cfg");
	static const u8 rsdp[36] = { 'R', 'S', 'D', ' ', 'P', 'T', 'R', ' ' };
	mb2_add_rsdp(&b, rsdp, sizeof(rsdp));
	struct mb2_fb fb = { .addr = 0xFD000000, .pitch = 4096, .width = 1024, .height = 768, .bpp = 32 };
	if (mb2_fb_from_masks(&fb, 0xff0000, 0x00ff00, 0x0000ff, 0xff000000))
		mb2_add_framebuffer(&b, &fb);
	size_t n = mb2_end(&b);
	if (n)
		emit(buf, n);
}
