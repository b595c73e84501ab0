/* A synthesized bzImage header, for tests/unit/test_linux_boot.c and the
 * seeds of tests/fuzz/fuzz_image.c. */
#ifndef FERRY_FAKE_BZIMAGE_H
#define FERRY_FAKE_BZIMAGE_H

#include "lib/string.h"

/* Fills the header of a zeroed buffer f (at least 0x270 bytes): 39 setup
 * sectors, the given protocol version and xloadflags, relocatable with 2
 * MiB alignment, init_size 64 MiB. */
static inline void fake_bzimage_header(unsigned char *f, u16 version, u16 xlf)
{
	f[0x1F1] = 39;
	f[0x1FE] = 0x55, f[0x1FF] = 0xAA;
	f[0x200] = 0xEB, f[0x201] = 0x6A; /* header ends at 0x26C */
	memcpy(f + 0x202, "HdrS", 4);
	memcpy(f + 0x206, &version, 2);
	u32 align = 2 << 20, init_size = 64 << 20, cmdline_size = 2047, addr_max = 0x7FFFFFFF;
	u64 pref = 0x1000000;
	memcpy(f + 0x230, &align, 4);
	f[0x234] = 1;
	memcpy(f + 0x236, &xlf, 2);
	memcpy(f + 0x238, &cmdline_size, 4);
	memcpy(f + 0x22C, &addr_max, 4);
	memcpy(f + 0x258, &pref, 8);
	memcpy(f + 0x260, &init_size, 4);
}

#endif
