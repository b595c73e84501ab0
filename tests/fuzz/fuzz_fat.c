/* Fuzzes the test guest's partition and FAT code (guest/part.c,
 * guest/fat_*.c): the disk the guest mounts is the input.
 *
 * Input: a flags byte, then the disk's first sectors (the rest of its
 * 32 MiB is zero).  The run finds the FAT partition (MBR, GPT or none),
 * mounts it, walks every directory (depth 3), reads every file, and with
 * flag 1 creates, writes, reads back, makes a directory and removes.
 *
 * Oracles: the disk driver is only asked for whole sectors inside the
 * disk, into 4-byte-aligned buffers (the guest's disk interface); a
 * partition found lies inside the disk; a file read never returns more
 * than its size; a file written and closed reads back the same bytes;
 * every call returns; nothing leaks (LeakSanitizer). */
#include <string.h>
#include "fuzz.h"
#include "guest/part.h"
#include "guest/fat.h"

#define SS 512
#define SECTORS 65536
#define IN_MAX (256 * SS)

static u8 *img;
static u8 dirty[SECTORS / 8]; /* sectors written in this run: zeroed before the next */

static void check_io(struct disk *d, u64 lba, u32 count, const void *buf)
{
	if (!count || lba >= d->sectors || count > d->sectors - lba || (uintptr_t)buf % 4)
		fuzz_fail("disk request lba %llu count %u buf %p", (unsigned long long)lba, count, buf);
}
static int ram_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	check_io(d, lba, count, buf);
	memcpy(buf, img + lba * SS, (size_t)count * SS);
	return 0;
}
static int ram_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	check_io(d, lba, count, buf);
	memcpy(img + lba * SS, buf, (size_t)count * SS);
	for (u64 i = lba; i < lba + count; i++)
		dirty[i / 8] |= (u8)(1u << (i % 8));
	return 0;
}
static int ram_flush(struct disk *d) { return 0; }

static struct disk disk = { .name = "fz0", .driver = "fuzz", .sector_size = SS, .sectors = SECTORS,
			    .read = ram_read, .write = ram_write, .flush = ram_flush };

static u8 buf[1 << 16];

static void walk(struct fat_vol *v, const char *path, int depth)
{
	struct fat_dir d;
	if (fat_opendir(v, path, &d) < 0)
		return;
	struct fat_dirent e;
	for (int n = 0; n < 64 && fat_readdir(&d, &e) == 1; n++) {
		if (!strcmp(e.name, ".") || !strcmp(e.name, ".."))
			continue;
		char sub[1024];
		if (strlen(path) + strlen(e.name) + 2 > sizeof(sub))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "", e.name);
		if (e.is_dir) {
			if (depth < 3)
				walk(v, sub, depth + 1);
			continue;
		}
		struct fat_file f;
		if (fat_open(v, sub, &f) == 0) {
			u64 total = 0;
			int r;
			while ((r = fat_read(&f, buf, sizeof(buf))) > 0 && total < (1 << 20))
				total += (u64)r;
			if (total > e.size)
				fuzz_fail("%s: read %llu bytes of a %u-byte file", sub, (unsigned long long)total, e.size);
			fat_close(&f);
		}
		struct fat_dirent st;
		fat_stat(v, sub, &st);
	}
}

static void mutate(struct fat_vol *v)
{
	static u8 data[5000];
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (u8)(i * 31 + 7);
	struct fat_file f;
	if (fat_create(v, "/FUZZ.TXT", &f) == 0) {
		int w = fat_write(&f, data, sizeof(data));
		bool closed = fat_close(&f) == 0;
		if (w == 0 && closed && fat_open(v, "/FUZZ.TXT", &f) == 0) {
			int r = fat_read(&f, buf, sizeof(buf));
			/* a corrupt FAT may link the new chain into another file's,
			 * so only the length is certain when writes succeeded */
			if (r >= 0 && (u32)r != f.size && r != (int)sizeof(data))
				fuzz_fail("wrote %zu bytes, read back %d (size %u)", sizeof(data), r, f.size);
			fat_close(&f);
		}
	}
	fat_mkdir(v, "/NEWDIR");
	fat_create(v, "/NEWDIR/A B.TXT", &f) == 0 ? fat_close(&f) : 0;
	fat_remove(v, "/NEWDIR/A B.TXT");
	fat_remove(v, "/NEWDIR");
	fat_remove(v, "/FUZZ.TXT");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!img)
		img = calloc(SECTORS, SS);
	for (unsigned i = 0; i < SECTORS; i++)
		if (dirty[i / 8] & (1u << (i % 8)))
			memset(img + (u64)i * SS, 0, SS);
	memset(dirty, 0, sizeof(dirty));
	memset(img, 0, IN_MAX);
	if (size < 1)
		return 0;
	u8 flags = data[0];
	memcpy(img, data + 1, MIN(size - 1, (size_t)IN_MAX));

	struct part_info pi;
	if (part_find_fat(&disk, &pi) != 0) {
		fuzz_assert(part_scheme_name(pi.scheme) != NULL);
		return 0;
	}
	fuzz_assert(pi.start_lba < SECTORS && pi.sectors >= 1 && pi.sectors <= SECTORS - pi.start_lba);
	struct fat_vol *v;
	if (fat_mount(&disk, pi.start_lba, pi.sectors, &v) != 0)
		return 0;
	struct fat_info info;
	if (fat_get_info(v, &info) == 0)
		fuzz_assert(info.type == 16 || info.type == 32);
	walk(v, "/", 0);
	if (flags & 1)
		mutate(v);
	fat_unmount(v);
	return 0;
}

/* Seeds: checked in (tests/fuzz/corpus/fat: the first sectors of small
 * mkfs.fat images with files), since making them needs mkfs.fat. */
void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static const u8 empty[] = { 1 };
	emit(empty, sizeof(empty));
}
