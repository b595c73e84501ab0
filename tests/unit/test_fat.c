/* The FAT file system (guest/fat.c) on images made by mkfs.fat and checked
 * afterwards with fsck.fat and mtools, plus images corrupted on purpose.
 * The tools are optional: tests that need them say SKIP when missing. */
#include "check.h"
#include "guest/fat.h"
#include "guest/part.h"
#include "guest/alloc.h"
#include "lib/sha256.h"
#include <stdlib.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

/* ---- RAM disk over an mmap'd image file ---- */

struct ram {
	struct disk d;
	u8 *img;
	size_t len;
	unsigned reads, writes, flushes;
	u64 read_bytes, write_bytes;
	bool bad_io; /* a request broke the interface rules */
};

static int ram_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	struct ram *r = (struct ram *)d;
	r->reads++;
	r->read_bytes += (u64)count * d->sector_size;
	if ((uintptr_t)buf % 4 || lba + count > d->sectors || !count)
		r->bad_io = true;
	memcpy(buf, r->img + lba * d->sector_size, (size_t)count * d->sector_size);
	return 0;
}

static int ram_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	struct ram *r = (struct ram *)d;
	r->writes++;
	r->write_bytes += (u64)count * d->sector_size;
	if ((uintptr_t)buf % 4 || lba + count > d->sectors || !count)
		r->bad_io = true;
	memcpy(r->img + lba * d->sector_size, buf, (size_t)count * d->sector_size);
	return 0;
}

static int ram_flush(struct disk *d)
{
	((struct ram *)d)->flushes++;
	return 0;
}

static char img_path[256];
static struct ram cur_ram;
static bool have_tools;

static void ram_close(void)
{
	if (cur_ram.img) {
		msync(cur_ram.img, cur_ram.len, MS_SYNC);
		munmap(cur_ram.img, cur_ram.len);
	}
	memset(&cur_ram, 0, sizeof(cur_ram));
}

static struct ram *ram_open(u32 ss)
{
	ram_close();
	int fd = open(img_path, O_RDWR);
	if (fd < 0)
		return NULL;
	struct stat st;
	fstat(fd, &st);
	struct ram *r = &cur_ram;
	r->len = (size_t)st.st_size;
	r->img = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (r->img == MAP_FAILED) {
		r->img = NULL;
		return NULL;
	}
	r->d.name = "ld0";
	r->d.driver = "ram";
	r->d.sector_size = ss;
	r->d.sectors = r->len / ss;
	r->d.read = ram_read;
	r->d.write = ram_write;
	r->d.flush = ram_flush;
	return r;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* mkfs.fat into img_path; opts are passed through. */
static struct ram *mkfs(const char *opts, unsigned kib, u32 dev_ss)
{
	ram_close();
	unlink(img_path);
	if (sh("mkfs.fat -C %s --invariant %s %s %u >/dev/null 2>&1", opts, "-i 12345678", img_path, kib))
		return NULL;
	return ram_open(dev_ss);
}

static int fsck_ok(void)
{
	msync(cur_ram.img, cur_ram.len, MS_SYNC);
	int rc = sh("fsck.fat -n %s > %s.fsck 2>&1", img_path, img_path);
	if (rc != 0)
		sh("cat %s.fsck", img_path);
	return rc == 0;
}

/* Reads ::path through mtools into a malloc'd buffer. */
static u8 *mtools_read(const char *path, size_t *len)
{
	char out[300];
	snprintf(out, sizeof(out), "%s.out", img_path);
	unlink(out);
	msync(cur_ram.img, cur_ram.len, MS_SYNC);
	if (sh("MTOOLS_SKIP_CHECK=1 mcopy -n -i %s '::%s' %s 2>/dev/null", img_path, path, out))
		return NULL;
	FILE *f = fopen(out, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	u8 *b = malloc(*len + 1);
	if (fread(b, 1, *len, f) != *len) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

/* Puts a host file with contents data at ::path with mtools. */
static int mtools_put(const char *path, const void *data, size_t len)
{
	char in[300];
	snprintf(in, sizeof(in), "%s.in", img_path);
	FILE *f = fopen(in, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	msync(cur_ram.img, cur_ram.len, MS_SYNC);
	return sh("MTOOLS_SKIP_CHECK=1 mcopy -o -i %s %s '::%s' 2>/dev/null", img_path, in, path);
}

static void pattern(u8 *b, size_t n, u32 seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		b[i] = (u8)(seed >> 24);
	}
}

/* Writes data to path in pieces of `piece` bytes. */
static int write_file(struct fat_vol *v, const char *path, const u8 *data, size_t len, size_t piece)
{
	struct fat_file f;
	int rc = fat_create(v, path, &f);
	for (size_t off = 0; !rc && off < len; off += piece)
		rc = fat_write(&f, data + off, (u32)MIN(piece, len - off));
	int rc2 = fat_close(&f);
	return rc ? rc : rc2;
}

/* Reads path fully into a malloc'd buffer (pieces of `piece` bytes). */
static int read_file(struct fat_vol *v, const char *path, u8 **out, size_t *len, size_t piece)
{
	struct fat_file f;
	int rc = fat_open(v, path, &f);
	if (rc)
		return rc;
	u8 *b = malloc(f.size + 1);
	size_t n = 0;
	for (;;) {
		rc = fat_read(&f, b + n, (u32)piece);
		if (rc <= 0)
			break;
		n += (size_t)rc;
	}
	if (rc < 0) {
		free(b);
		return rc;
	}
	*out = b;
	*len = n;
	return 0;
}

#define NEED_TOOLS()                                  \
	do {                                          \
		if (!have_tools) {                    \
			printf("  SKIP: no mkfs.fat/mtools\n"); \
			return;                       \
		}                                     \
	} while (0)

static struct fat_vol *vol; /* unmounted by main between tests */

static void vol_drop(void)
{
	if (vol)
		fat_unmount(vol);
	vol = NULL;
}

/* ---- helpers over the mounted volume ---- */

static int count_dir(struct fat_vol *v, const char *path, int *n)
{
	struct fat_dir d;
	struct fat_dirent e;
	int rc = fat_opendir(v, path, &d);
	*n = 0;
	if (rc)
		return rc;
	while ((rc = fat_readdir(&d, &e)) == 1)
		if (strcmp(e.name, ".") && strcmp(e.name, ".."))
			(*n)++;
	return rc;
}

static bool file_equals(struct fat_vol *v, const char *path, const u8 *want, size_t wlen, size_t piece)
{
	u8 *b;
	size_t n;
	if (read_file(v, path, &b, &n, piece))
		return false;
	bool ok = n == wlen && memcmp(b, want, n) == 0;
	free(b);
	return ok;
}

static bool mtools_equals(const char *path, const u8 *want, size_t wlen)
{
	size_t n;
	u8 *b = mtools_read(path, &n);
	if (!b)
		return false;
	bool ok = n == wlen && memcmp(b, want, n) == 0;
	free(b);
	return ok;
}

static const char long_name[] = "A long file name with spaces.txt";
static const char very_long_name[] =
	"This is a very long file name that needs many long name entries, more than ten of "
	"them in fact, because it is well over one hundred and thirty characters long.bin";

/* Files put on the image by mtools, read back through fat.c. */
static void check_read_mtools_files(const char *mkfs_opts, unsigned kib, int type)
{
	static u8 big[100000], mid[300], vl[777];
	struct fat_info info;
	pattern(big, sizeof(big), 1);
	pattern(mid, sizeof(mid), 2);
	pattern(vl, sizeof(vl), 3);
	CHECK(mkfs(mkfs_opts, kib, 512));
	CHECK_EQ(mtools_put("/HELLO.TXT", "hello\n", 6), 0);
	CHECK_EQ(mtools_put(long_name, mid, sizeof(mid)), 0);
	CHECK_EQ(mtools_put("/lower.txt", "lower", 5), 0);
	CHECK_EQ(mtools_put(very_long_name, vl, sizeof(vl)), 0);
	CHECK_EQ(sh("MTOOLS_SKIP_CHECK=1 mmd -i %s ::/SubDir", img_path), 0);
	CHECK_EQ(mtools_put("/SubDir/Mixed.Case", big, sizeof(big)), 0);
	CHECK_EQ(mtools_put("/SubDir/empty", "", 0), 0);
	CHECK(ram_open(512));

	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_get_info(vol, &info), 0);
	CHECK_EQ(info.type, type);

	struct fat_dir d;
	struct fat_dirent e;
	int seen = 0;
	CHECK_EQ(fat_opendir(vol, "/", &d), 0);
	while (fat_readdir(&d, &e) == 1) {
		if (!strcmp(e.name, "HELLO.TXT"))
			{
			seen |= 1;
			CHECK(e.size == 6 && !e.is_dir);
		}
		else if (!strcmp(e.name, long_name))
			{
			seen |= 2;
			CHECK(e.size == 300 && strlen(e.short_name) <= 12);
		}
		else if (!strcmp(e.name, "lower.txt"))
			{
			seen |= 4;
			CHECK(e.size == 5);
		}
		else if (!strcmp(e.name, very_long_name))
			{
			seen |= 8;
			CHECK(e.size == sizeof(vl));
		}
		else if (!strcmp(e.name, "SubDir"))
			{
			seen |= 16;
			CHECK(e.is_dir);
		}
		else
			CHECK(!"unexpected entry");
	}
	CHECK_EQ(seen, 31);
	int n;
	CHECK_EQ(count_dir(vol, "/SubDir", &n), 0);
	CHECK_EQ(n, 2);

	CHECK(file_equals(vol, "/hello.txt", (const u8 *)"hello\n", 6, 4096));
	CHECK(file_equals(vol, "/a LONG file name with SPACES.TXT", mid, sizeof(mid), 7));
	CHECK(file_equals(vol, very_long_name, vl, sizeof(vl), 100));
	CHECK(file_equals(vol, "SUBDIR//mixed.case", big, sizeof(big), 65536));
	CHECK(file_equals(vol, "/SubDir/./../SubDir/Mixed.Case", big, sizeof(big), 1000));
	CHECK(file_equals(vol, "/subdir/EMPTY", big, 0, 1000));
	/* The 8.3 alias works too. */
	CHECK_EQ(fat_stat(vol, "/HELLO.TXT", &e), 0);
	CHECK_EQ(fat_stat(vol, "/subdir/mixed.cas", &e), -E_NOENT);
	CHECK_EQ(fat_stat(vol, "/nothere", &e), -E_NOENT);
	CHECK_EQ(fat_stat(vol, "/HELLO.TXT/x", &e), -E_NOTDIR);
	struct fat_file f;
	CHECK_EQ(fat_open(vol, "/SubDir", &f), -E_ISDIR);
	CHECK_EQ(fat_opendir(vol, "/HELLO.TXT", &d), -E_NOTDIR);
	CHECK_EQ(fat_stat(vol, "/", &e), 0);
	CHECK(e.is_dir);
	vol_drop();
	CHECK(!cur_ram.bad_io);
	CHECK(fsck_ok());
}

TEST(fat16_read_mtools_files)
{
	NEED_TOOLS();
	check_read_mtools_files("-F 16", 16 * 1024, 16);
}

TEST(fat32_read_mtools_files)
{
	NEED_TOOLS();
	check_read_mtools_files("-F 32 -s 1", 40 * 1024, 32);
}

/* Creates, overwrites, deletes and makes directories, then lets fsck.fat
 * and mtools judge the result. */
static void check_mutations(const char *mkfs_opts, unsigned kib, u32 dev_ss)
{
	static u8 a[5000], b[(1 << 20) + 123], c[70000], s[3000], g[9000];
	pattern(a, sizeof(a), 10);
	pattern(b, sizeof(b), 11);
	pattern(c, sizeof(c), 12);
	pattern(s, sizeof(s), 13);
	pattern(g, sizeof(g), 14);
	CHECK(mkfs(mkfs_opts, kib, dev_ss));
	CHECK_EQ(mtools_put(long_name, g, sizeof(g)), 0);
	CHECK(ram_open(dev_ss));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	struct fat_info before, after;
	CHECK_EQ(fat_get_info(vol, &before), 0);

	CHECK_EQ(write_file(vol, "/NEW.TXT", a, sizeof(a), 1000), 0);
	CHECK_EQ(write_file(vol, "/big.bin", b, sizeof(b), 256 * 1024), 0);
	CHECK_EQ(write_file(vol, "/Long Name Created By Ferry.dat", c, sizeof(c), 3), 0);
	CHECK_EQ(fat_mkdir(vol, "/DIR1"), 0);
	CHECK_EQ(fat_mkdir(vol, "/dir1"), -E_EXIST);
	CHECK_EQ(fat_mkdir(vol, "/DIR1/Sub Dir Long"), 0);
	CHECK_EQ(write_file(vol, "/DIR1/Sub Dir Long/f.txt", s, sizeof(s), 512), 0);
	CHECK_EQ(write_file(vol, "/DIR1/empty.txt", s, 0, 512), 0);
	/* Overwrite with something smaller; overwrite the LFN file. */
	CHECK_EQ(write_file(vol, "/BIG.BIN", s, sizeof(s), 4096), 0);
	CHECK_EQ(write_file(vol, "/a long file name with spaces.txt", a, 100, 4096), 0);
	CHECK(file_equals(vol, "/NEW.TXT", a, sizeof(a), 333));
	CHECK(file_equals(vol, "/big.bin", s, sizeof(s), 333));
	CHECK(file_equals(vol, long_name, a, 100, 333));
	/* Error cases. */
	struct fat_file f;
	CHECK_EQ(fat_create(vol, "/DIR1", &f), -E_ISDIR);
	CHECK_EQ(fat_create(vol, "/NOPE/x", &f), -E_NOENT);
	CHECK_EQ(fat_create(vol, "/NEW.TXT/x", &f), -E_NOTDIR);
	CHECK_EQ(fat_create(vol, "/bad*name", &f), -E_INVAL);
	CHECK_EQ(fat_create(vol, "/", &f), -E_INVAL);
	CHECK_EQ(fat_remove(vol, "/DIR1"), -E_NOTEMPTY);
	CHECK_EQ(fat_remove(vol, "/nothere"), -E_NOENT);
	char toolong[300];
	memset(toolong, 'x', sizeof(toolong));
	toolong[0] = '/';
	toolong[299] = 0;
	CHECK_EQ(fat_create(vol, toolong, &f), -E_NAMETOOLONG);
	/* Delete a file and an empty directory. */
	CHECK_EQ(fat_mkdir(vol, "/gone"), 0);
	CHECK_EQ(fat_remove(vol, "/gone"), 0);
	CHECK_EQ(write_file(vol, "/DEL.ME", c, sizeof(c), 70000), 0);
	CHECK_EQ(fat_remove(vol, "/del.me"), 0);
	CHECK_EQ(fat_sync(vol), 0);
	CHECK(cur_ram.flushes > 0);
	CHECK_EQ(fat_get_info(vol, &after), 0);
	u32 cb = after.cluster_bytes;
	u32 used = (u32)((sizeof(a) + cb - 1) / cb + (sizeof(c) + cb - 1) / cb + (sizeof(s) + cb - 1) / cb * 2 +
			 (100 + cb - 1) / cb + 2 - (sizeof(g) + cb - 1) / cb);
	CHECK_EQ(before.free_clusters - after.free_clusters, used);
	vol_drop();
	CHECK(!cur_ram.bad_io);

	CHECK(fsck_ok());
	CHECK(mtools_equals("/NEW.TXT", a, sizeof(a)));
	CHECK(mtools_equals("/big.bin", s, sizeof(s)));
	CHECK(mtools_equals("/Long Name Created By Ferry.dat", c, sizeof(c)));
	CHECK(mtools_equals("/DIR1/Sub Dir Long/f.txt", s, sizeof(s)));
	CHECK(mtools_equals("/DIR1/empty.txt", s, 0));
	CHECK(mtools_equals(long_name, a, 100));
	size_t n;
	CHECK(mtools_read("/DEL.ME", &n) == NULL);
	CHECK(mtools_read("/gone", &n) == NULL);

	/* And back through fat.c after a fresh mount. */
	CHECK(ram_open(dev_ss));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK(file_equals(vol, "/long name created by ferry.DAT", c, sizeof(c), 65536));
	int cnt;
	CHECK_EQ(count_dir(vol, "/", &cnt), 0);
	CHECK_EQ(cnt, 5);
	CHECK_EQ(count_dir(vol, "/DIR1", &cnt), 0);
	CHECK_EQ(cnt, 2);
	CHECK_EQ(fat_remove(vol, "/DIR1/Sub Dir Long/f.txt"), 0);
	CHECK_EQ(fat_remove(vol, "/DIR1/Sub Dir Long"), 0);
	CHECK_EQ(fat_remove(vol, "/DIR1/empty.txt"), 0);
	CHECK_EQ(fat_remove(vol, "/DIR1"), 0);
	vol_drop();
	CHECK(fsck_ok());
}

TEST(fat16_mutations)
{
	NEED_TOOLS();
	check_mutations("-F 16", 16 * 1024, 512);
}

TEST(fat32_mutations)
{
	NEED_TOOLS();
	check_mutations("-F 32 -s 1", 40 * 1024, 512);
}

TEST(fat16_4k_sectors)
{
	NEED_TOOLS();
	check_mutations("-F 16 -S 4096 -s 1", 32 * 1024, 4096);
}

TEST(fat16_4k_volume_on_512_device)
{
	NEED_TOOLS();
	check_mutations("-F 16 -S 4096 -s 1", 32 * 1024, 512);
}

TEST(fat32_4k_sectors)
{
	NEED_TOOLS();
	check_mutations("-F 32 -S 4096 -s 1", 270 * 1024, 4096);
}

/* Short names generated for long names are unique and the directory
 * grows cluster by cluster. */
static void check_dir_growth(const char *opts, unsigned kib)
{
	char path[128];
	CHECK(mkfs(opts, kib, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_mkdir(vol, "/D"), 0);
	for (int i = 0; i < 150; i++) {
		snprintf(path, sizeof(path), "/D/long file name number %03d.txt", i);
		CHECK_EQ(write_file(vol, path, (const u8 *)path, strlen(path), 4096), 0);
		snprintf(path, sizeof(path), "/D/F%03d.TXT", i);
		CHECK_EQ(write_file(vol, path, (const u8 *)path, strlen(path), 4096), 0);
	}
	/* The root directory grows too on FAT32. */
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "/root file %d", i);
		CHECK_EQ(write_file(vol, path, (const u8 *)path, 0, 4096), 0);
	}
	int n;
	CHECK_EQ(count_dir(vol, "/D", &n), 0);
	CHECK_EQ(n, 300);
	CHECK_EQ(count_dir(vol, "/", &n), 0);
	CHECK_EQ(n, 41);
	snprintf(path, sizeof(path), "/D/long file name number %03d.txt", 123);
	CHECK(file_equals(vol, path, (const u8 *)path, strlen(path), 4096));
	/* Delete every other one, then add again: freed slots are reused. */
	for (int i = 0; i < 150; i += 2) {
		snprintf(path, sizeof(path), "/D/long file name number %03d.txt", i);
		CHECK_EQ(fat_remove(vol, path), 0);
	}
	struct fat_dirent e;
	CHECK_EQ(fat_stat(vol, "/D/long file name number 149.txt", &e), 0);
	u32 last_index = e.index;
	CHECK_EQ(write_file(vol, "/D/another fairly long name.txt", (const u8 *)"x", 1, 4096), 0);
	CHECK_EQ(fat_stat(vol, "/D/another fairly long name.txt", &e), 0);
	CHECK(e.index < last_index);
	vol_drop();
	CHECK(!cur_ram.bad_io);
	CHECK(fsck_ok());
	CHECK(mtools_equals("/D/long file name number 149.txt",
			    (const u8 *)"/D/long file name number 149.txt", 32));
	CHECK(mtools_equals("/D/F077.TXT", (const u8 *)"/D/F077.TXT", 11));
	CHECK(sh("MTOOLS_SKIP_CHECK=1 mdir -i %s ::/D | grep -q 'LONGFI~1 TXT'", img_path) == 0 ||
	      sh("MTOOLS_SKIP_CHECK=1 mdir -i %s ::/D | grep -q 'LONGF~'", img_path) == 0);
}

TEST(fat16_dir_growth)
{
	NEED_TOOLS();
	check_dir_growth("-F 16 -s 1", 8 * 1024);
}

TEST(fat32_dir_growth)
{
	NEED_TOOLS();
	check_dir_growth("-F 32 -s 1", 40 * 1024);
}

TEST(fat16_root_full)
{
	NEED_TOOLS();
	char path[64];
	CHECK(mkfs("-F 16 -s 1 -r 64", 8 * 1024, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	int i, rc = 0;
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/R%d", i);
		struct fat_file f;
		rc = fat_create(vol, path, &f);
		if (rc)
			break;
	}
	CHECK_EQ(rc, -E_NOSPC);
	CHECK_EQ(i, 64);
	/* A long name needs several slots: none left either. */
	CHECK_EQ(fat_mkdir(vol, "/a directory"), -E_NOSPC);
	CHECK_EQ(fat_remove(vol, "/R7"), 0);
	CHECK_EQ(fat_mkdir(vol, "/SUB"), 0);
	CHECK_EQ(write_file(vol, "/SUB/inside", (const u8 *)"ok", 2, 2), 0);
	vol_drop();
	CHECK(fsck_ok());
	CHECK(mtools_equals("/SUB/inside", (const u8 *)"ok", 2));
}

/* Fills the volume: -E_NOSPC, a size that matches what was stored, and a
 * correct free count (fsck.fat checks the FAT32 FSInfo count). */
static void check_disk_full(const char *opts, unsigned kib)
{
	size_t cap = (size_t)kib * 1024;
	static u8 buf[256 * 1024];
	pattern(buf, 256 * 1024, 99);
	CHECK(mkfs(opts, kib, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(write_file(vol, "/SMALL", buf, 1000, 1000), 0);
	struct fat_info info;
	CHECK_EQ(fat_get_info(vol, &info), 0);
	u64 expect = (u64)info.free_clusters * info.cluster_bytes;
	struct fat_file f;
	int rc = fat_create(vol, "/FULL.BIN", &f);
	for (size_t off = 0; !rc && off < cap; off += 256 * 1024 - 5)
		rc = fat_write(&f, buf, 256 * 1024 - 5);
	CHECK_EQ(rc, -E_NOSPC);
	CHECK_EQ(f.size, expect);
	CHECK_EQ(fat_close(&f), 0);
	CHECK_EQ(fat_get_info(vol, &info), 0);
	CHECK_EQ(info.free_clusters, 0);
	CHECK_EQ(fat_mkdir(vol, "/NODIR"), -E_NOSPC);
	CHECK_EQ(write_file(vol, "/EMPTY", buf, 0, 1), 0); /* needs no cluster */
	CHECK_EQ(write_file(vol, "/ONEBYTE", buf, 1, 1), -E_NOSPC);
	vol_drop();
	CHECK(fsck_ok());
	struct fat_dirent e;
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_stat(vol, "/FULL.BIN", &e), 0);
	CHECK_EQ(e.size, expect);
	CHECK_EQ(fat_stat(vol, "/ONEBYTE", &e), 0);
	CHECK_EQ(e.size, 0);
	CHECK_EQ(fat_remove(vol, "/FULL.BIN"), 0);
	CHECK_EQ(fat_get_info(vol, &info), 0);
	CHECK_EQ((u64)info.free_clusters * info.cluster_bytes, expect);
	vol_drop();
	CHECK(fsck_ok());
}

TEST(fat16_disk_full)
{
	NEED_TOOLS();
	check_disk_full("-F 16 -s 1", 4 * 1024);
}

TEST(fat32_disk_full)
{
	NEED_TOOLS();
	check_disk_full("-F 32 -s 1", 40 * 1024);
}

/* ---- corrupt images ---- */

static u32 img_bps(void) { return le16_at(cur_ram.img + 11); }

/* Byte offset of cluster c's entry in FAT copy i (FAT16 or FAT32). */
static size_t fat_entry_off(int type, u32 c, u32 copy)
{
	u32 bps = img_bps(), rsvd = le16_at(cur_ram.img + 14);
	u32 fatsz = le16_at(cur_ram.img + 22) ? le16_at(cur_ram.img + 22) : le32_at(cur_ram.img + 36);
	return (size_t)(rsvd + copy * fatsz) * bps + (size_t)c * (type == 32 ? 4 : 2);
}

static void poke_fat(int type, u32 c, u32 val)
{
	for (u32 i = 0; i < 2; i++) {
		if (type == 32)
			put_le32(cur_ram.img + fat_entry_off(32, c, i), val);
		else
			put_le16(cur_ram.img + fat_entry_off(16, c, i), (u16)val);
	}
}

static u32 peek_fat(int type, u32 c)
{
	size_t o = fat_entry_off(type, c, 0);
	return type == 32 ? le32_at(cur_ram.img + o) & 0x0fffffff : le16_at(cur_ram.img + o);
}

static void check_corrupt_chains(const char *opts, unsigned kib, int type)
{
	static u8 data[8 * 512];
	struct fat_dirent e;
	u8 *b;
	size_t n;
	pattern(data, sizeof(data), 5);
	CHECK(mkfs(opts, kib, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(write_file(vol, "/F", data, sizeof(data), sizeof(data)), 0);
	CHECK_EQ(fat_mkdir(vol, "/D"), 0);
	for (int i = 0; i < 46; i++) { /* exactly three full 512-byte clusters */
		char p[32];
		snprintf(p, sizeof(p), "/D/F%d", i);
		CHECK_EQ(write_file(vol, p, data, 0, 1), 0);
	}
	CHECK_EQ(fat_stat(vol, "/F", &e), 0);
	u32 c0 = e.cluster;
	CHECK_EQ(fat_stat(vol, "/D", &e), 0);
	u32 d0 = e.cluster;
	vol_drop();
	u32 c1 = peek_fat(type, c0), c2 = peek_fat(type, c1);
	CHECK(c1 == c0 + 1 && c2 == c0 + 2);
	u32 eoc = type == 32 ? 0x0fffffff : 0xffff;
	u32 bad = type == 32 ? 0x0ffffff7 : 0xfff7;

	struct {
		u32 clus, val;
	} cases[] = {
		{ c1, 0 },          /* link into a free cluster */
		{ c1, 1 },          /* reserved value */
		{ c1, bad },        /* bad cluster marker */
		{ c1, 0x0ffffff0 & (type == 32 ? 0x0fffffff : 0xfff0) }, /* beyond the volume */
		{ c0, eoc },        /* chain shorter than the size */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		u32 saved = peek_fat(type, cases[i].clus);
		poke_fat(type, cases[i].clus, cases[i].val);
		CHECK(ram_open(512));
		CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
		CHECK_EQ(read_file(vol, "/F", &b, &n, 4096), -E_CORRUPT);
		CHECK_EQ(read_file(vol, "/F", &b, &n, 100), -E_CORRUPT);
		vol_drop();
		poke_fat(type, cases[i].clus, saved);
	}
	/* A loop inside the file: freeing it must stop, not spin. */
	poke_fat(type, c2, c0);
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_remove(vol, "/F"), -E_CORRUPT);
	vol_drop();

	/* A directory whose chain loops back to its start. */
	u32 dl = d0;
	while (peek_fat(type, dl) < (type == 32 ? 0x0ffffff8u : 0xfff8u))
		dl = peek_fat(type, dl);
	CHECK(dl != d0);
	poke_fat(type, dl, d0);
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	int cnt;
	CHECK_EQ(count_dir(vol, "/D", &cnt), -E_CORRUPT);
	CHECK_EQ(fat_stat(vol, "/D/NOPE", &e), -E_CORRUPT);
	struct fat_file f;
	CHECK_EQ(fat_create(vol, "/D/NEW", &f), -E_CORRUPT);
	vol_drop();
	CHECK(!cur_ram.bad_io);
}

TEST(fat16_corrupt_chains)
{
	NEED_TOOLS();
	check_corrupt_chains("-F 16 -s 1", 8 * 1024, 16);
}

TEST(fat32_corrupt_chains)
{
	NEED_TOOLS();
	check_corrupt_chains("-F 32 -s 1", 40 * 1024, 32);
}

TEST(fat_corrupt_entries_and_bpb)
{
	NEED_TOOLS();
	static u8 data[3000];
	struct fat_dirent e;
	struct fat_file f;
	u8 *b;
	size_t n;
	CHECK(mkfs("-F 16 -s 1", 8 * 1024, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(write_file(vol, "/F", data, sizeof(data), sizeof(data)), 0);
	CHECK_EQ(fat_stat(vol, "/F", &e), 0);
	vol_drop();
	u8 *ent = cur_ram.img + (size_t)e.sector * 512 + e.offset;
	/* Size larger than the whole volume. */
	put_le32(ent + 28, 0xfffffff0);
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_open(vol, "/F", &f), -E_CORRUPT);
	vol_drop();
	/* First cluster out of range. */
	put_le32(ent + 28, sizeof(data));
	put_le16(ent + 26, 0xfff0);
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_open(vol, "/F", &f), -E_CORRUPT);
	CHECK_EQ(fat_remove(vol, "/F"), -E_CORRUPT);
	vol_drop();
	/* A size but no cluster. */
	put_le16(ent + 26, 0);
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(read_file(vol, "/F", &b, &n, 512), -E_CORRUPT);
	vol_drop();

	/* Boot sector damage. */
	static const struct {
		size_t off;
		u32 val, width;
		int want;
	} bpb[] = {
		{ 11, 100, 2, -E_CORRUPT },   /* bytes per sector */
		{ 13, 3, 1, -E_CORRUPT },     /* sectors per cluster */
		{ 16, 0, 1, -E_CORRUPT },     /* no FATs */
		{ 22, 1, 2, -E_CORRUPT },     /* FAT too small for the clusters */
		{ 19, 0xffff, 2, -E_CORRUPT },/* more sectors than... (see below) */
		{ 510, 0, 1, -E_CORRUPT },    /* signature */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bpb); i++) {
		CHECK(mkfs("-F 16 -s 1", 8 * 1024, 512));
		if (bpb[i].width == 2)
			put_le16(cur_ram.img + bpb[i].off, (u16)bpb[i].val);
		else
			cur_ram.img[bpb[i].off] = (u8)bpb[i].val;
		if (bpb[i].off == 19) /* and shrink the device below it */
			cur_ram.d.sectors = 0xfff0;
		CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), bpb[i].want);
		CHECK(vol == NULL);
	}
	/* A volume whose sectors are smaller than the device's. */
	CHECK(mkfs("-F 16 -s 1", 8 * 1024, 4096));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), -E_NOTSUP);
	/* FAT12 is refused politely. */
	CHECK(mkfs("-F 12", 1024, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), -E_NOTSUP);
}


/* ---- random damage ---- */

static u32 fuzz_rng;

static u32 fuzz_next(void)
{
	fuzz_rng ^= fuzz_rng << 13;
	fuzz_rng ^= fuzz_rng >> 17;
	fuzz_rng ^= fuzz_rng << 5;
	return fuzz_rng;
}

/* Reads every file and lists every directory below path (bounded). */
static void fuzz_walk(struct fat_vol *v, const char *path, int depth, int *budget)
{
	static u8 buf[65536];
	struct fat_dir d;
	struct fat_dirent e;
	if (depth > 4 || fat_opendir(v, path, &d))
		return;
	while (--*budget > 0 && fat_readdir(&d, &e) == 1) {
		char sub[1200];
		if (!strcmp(e.name, ".") || !strcmp(e.name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e.name);
		if (e.is_dir) {
			fuzz_walk(v, sub, depth + 1, budget);
		} else {
			struct fat_file f;
			if (fat_open(v, sub, &f) == 0)
				while (fat_read(&f, buf + (fuzz_next() & 3), 60000) > 0)
					;
		}
	}
}

static void fuzz_image(const char *opts, unsigned kib, int rounds)
{
	static u8 data[70000];
	pattern(data, sizeof(data), 21);
	CHECK(mkfs(opts, kib, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	CHECK_EQ(fat_mkdir(vol, "/D"), 0);
	CHECK_EQ(fat_mkdir(vol, "/D/Second level"), 0);
	CHECK_EQ(write_file(vol, "/A.TXT", data, 100, 100), 0);
	CHECK_EQ(write_file(vol, "/a file with a long name.bin", data, 70000, 4096), 0);
	CHECK_EQ(write_file(vol, "/D/Second level/deep.txt", data, 5000, 4096), 0);
	CHECK_EQ(write_file(vol, "/D/EMPTY", data, 0, 1), 0);
	for (int i = 0; i < 20; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/D/entry number %d", i);
		CHECK_EQ(write_file(vol, p, data, (size_t)i * 37, 4096), 0);
	}
	vol_drop();
	u32 bps = img_bps();
	u32 rsvd = le16_at(cur_ram.img + 14);
	u32 fatsz = le16_at(cur_ram.img + 22) ? le16_at(cur_ram.img + 22) : le32_at(cur_ram.img + 36);
	size_t meta = (size_t)(rsvd + 2 * fatsz) * bps + 32 * 512 + 64 * 1024;
	u8 *base = malloc(cur_ram.len);
	memcpy(base, cur_ram.img, cur_ram.len);
	fuzz_rng = 0x12345678;
	if (getenv("FERRY_FUZZ_ROUNDS"))
		rounds = atoi(getenv("FERRY_FUZZ_ROUNDS"));
	if (getenv("FERRY_FUZZ_SEED"))
		fuzz_rng = (u32)strtoul(getenv("FERRY_FUZZ_SEED"), NULL, 0);
	int mounted = 0;
	for (int round = 0; round < rounds; round++) {
		memcpy(cur_ram.img, base, cur_ram.len);
		int n = 1 + (int)(fuzz_next() % 8);
		for (int k = 0; k < n; k++) {
			/* Aim mostly at the parts in use: the start of the FAT,
			 * the root directory and the first data clusters. */
			size_t at, fat0 = (size_t)rsvd * bps, root = (size_t)(rsvd + 2 * fatsz) * bps;
			switch (fuzz_next() % 4) {
			case 0: at = fuzz_next() % meta; break;
			case 1: at = fat0 + fuzz_next() % 1024; break;
			case 2: at = root + fuzz_next() % 4096; break;
			default: at = root + fuzz_next() % (meta - root); break;
			}
			if (at < 512 && fuzz_next() % 4)
				at += 512; /* spare the boot sector most of the time */
			if (fuzz_next() & 1)
				cur_ram.img[at] ^= (u8)(1u << (fuzz_next() % 8));
			else
				cur_ram.img[at] = (u8)fuzz_next();
		}
		if (fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol))
			continue;
		mounted++;
		int budget = 2000;
		fuzz_walk(vol, "", 0, &budget);
		struct fat_dirent e;
		(void)fat_stat(vol, "/D/Second level/deep.txt", &e);
		(void)write_file(vol, "/NEWFILE.TXT", data, 20000, 4096);
		(void)fat_mkdir(vol, "/New Directory");
		(void)write_file(vol, "/D/new long name.txt", data, 3000, 1000);
		(void)write_file(vol, "/A.TXT", data, 9000, 9000);
		(void)fat_remove(vol, "/D/Second level/deep.txt");
		(void)fat_remove(vol, "/D/Second level");
		(void)fat_remove(vol, "/a file with a long name.bin");
		(void)fat_remove(vol, "/D/entry number 7");
		budget = 2000;
		fuzz_walk(vol, "", 0, &budget);
		vol_drop();
		if (cur_ram.bad_io)
			break;
	}
	memcpy(cur_ram.img, base, cur_ram.len);
	free(base);
	printf("  %d damaged images, %d mounted\n", rounds, mounted);
	CHECK(!cur_ram.bad_io);
}

TEST(fat16_fuzz)
{
	NEED_TOOLS();
	fuzz_image("-F 16 -s 1", 4 * 1024, 400);
}

TEST(fat32_fuzz)
{
	NEED_TOOLS();
	fuzz_image("-F 32 -s 1", 34 * 1024, 60);
}

/* The number of block requests for bulk file I/O (each one is a VM exit). */
TEST(fat_request_counts)
{
	NEED_TOOLS();
	static u8 data[2 << 20];
	u8 *buf = NULL;
	pattern(data, sizeof(data), 77);
	CHECK(mkfs("-F 16 -s 8", 64 * 1024, 512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	unsigned r0 = cur_ram.reads;
	CHECK_EQ(write_file(vol, "/BIG", data, sizeof(data), 256 * 1024), 0);
	CHECK_EQ(fat_sync(vol), 0);
	/* 8 data runs; FAT lines (2 copies), a directory line, a few reads. */
	printf("  write 2 MiB: %u writes, %u reads\n", cur_ram.writes, cur_ram.reads - r0);
	CHECK(cur_ram.writes <= 8 + 4);
	CHECK(cur_ram.reads - r0 <= 4);
	vol_drop();
	CHECK(ram_open(512));
	CHECK_EQ(fat_mount(&cur_ram.d, 0, cur_ram.d.sectors, &vol), 0);
	struct fat_file f;
	CHECK_EQ(fat_open(vol, "/BIG", &f), 0);
	buf = malloc(256 * 1024);
	int rc = 0;
	size_t total = 0;
	while ((rc = fat_read(&f, buf, 256 * 1024)) > 0) {
		if (memcmp(buf, data + total, (size_t)rc))
			break;
		total += (size_t)rc;
	}
	free(buf);
	CHECK_EQ(rc, 0);
	CHECK_EQ(total, sizeof(data));
	printf("  read 2 MiB: %u reads (mount included)\n", cur_ram.reads);
	CHECK(cur_ram.reads <= 8 + 4);
	CHECK_EQ(cur_ram.writes, 0);
	vol_drop();
	CHECK(!cur_ram.bad_io);
}

/* A volume inside an MBR partition, found by part_find_fat(). */
TEST(fat_in_mbr_partition)
{
	NEED_TOOLS();
	static u8 data[50000];
	pattern(data, sizeof(data), 8);
	ram_close();
	unlink(img_path);
	CHECK_EQ(sh("truncate -s 20M %s && mkfs.fat --invariant -i 1 -F 16 --offset 2048 %s 18432 >/dev/null 2>&1",
		    img_path, img_path), 0);
	CHECK(ram_open(512));
	u8 *e = cur_ram.img + 446;
	e[4] = 0x0e;
	put_le32(e + 8, 2048);
	put_le32(e + 12, 18432 * 2);
	cur_ram.img[510] = 0x55;
	cur_ram.img[511] = 0xaa;
	struct part_info pi;
	CHECK_EQ(part_find_fat(&cur_ram.d, &pi), 0);
	CHECK_EQ(pi.scheme, PART_SCHEME_MBR);
	CHECK_EQ(pi.start_lba, 2048);
	CHECK_EQ(fat_mount(&cur_ram.d, pi.start_lba, pi.sectors, &vol), 0);
	CHECK_EQ(write_file(vol, "/In Partition.bin", data, sizeof(data), 4096), 0);
	vol_drop();
	CHECK(!cur_ram.bad_io);
	msync(cur_ram.img, cur_ram.len, MS_SYNC);
	CHECK_EQ(sh("dd if=%s of=%s.part bs=512 skip=2048 status=none && fsck.fat -n %s.part >/dev/null",
		    img_path, img_path, img_path), 0);
	char out[300];
	snprintf(out, sizeof(out), "%s.out", img_path);
	unlink(out);
	CHECK_EQ(sh("MTOOLS_SKIP_CHECK=1 mcopy -n -i %s@@1M '::/In Partition.bin' %s", img_path, out), 0);
	FILE *fp = fopen(out, "rb");
	CHECK(fp);
	static u8 back[60000];
	size_t n = fread(back, 1, sizeof(back), fp);
	fclose(fp);
	CHECK_EQ(n, sizeof(data));
	CHECK(memcmp(back, data, n) == 0);
}

/* Tests that need no tools: a volume laid out by hand is too much effort,
 * so only the argument checks run here. */
TEST(fat_mount_args)
{
	struct disk d = { .name = "x", .sector_size = 520, .sectors = 100 };
	struct fat_vol *v;
	CHECK_EQ(fat_mount(&d, 0, 100, &v), -E_NOTSUP);
	d.sector_size = 512;
	CHECK_EQ(fat_mount(&d, 50, 51, &v), -E_RANGE);
	CHECK_EQ(fat_mount(&d, 100, 1, &v), -E_RANGE);
}

int main(void)
{
	snprintf(img_path, sizeof(img_path), "/tmp/ferry_test_fat_%d.img", (int)getpid());
	/* dosfstools lives in sbin, which a normal user's PATH may lack. */
	char path[4096];
	snprintf(path, sizeof(path), "%s:/usr/sbin:/sbin", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	have_tools = sh("command -v mkfs.fat >/dev/null && command -v fsck.fat >/dev/null && "
			"command -v mcopy >/dev/null && command -v mmd >/dev/null") == 0;
#define R(t) do { RUN(t); vol_drop(); } while (0)
	R(fat_mount_args);
	R(fat16_read_mtools_files);
	R(fat32_read_mtools_files);
	R(fat16_mutations);
	R(fat32_mutations);
	R(fat16_4k_sectors);
	R(fat16_4k_volume_on_512_device);
	R(fat32_4k_sectors);
	R(fat16_dir_growth);
	R(fat32_dir_growth);
	R(fat16_root_full);
	R(fat16_disk_full);
	R(fat32_disk_full);
	R(fat16_corrupt_chains);
	R(fat32_corrupt_chains);
	R(fat_corrupt_entries_and_bpb);
	R(fat16_fuzz);
	R(fat32_fuzz);
	R(fat_request_counts);
	R(fat_in_mbr_partition);
	ram_close();
	sh("rm -f %s %s.fsck %s.out %s.in %s.part", img_path, img_path, img_path, img_path, img_path);
	return CHECK_SUMMARY();
}
