/* The command runner (guest/shell.c) on RAM disks formatted here: exact
 * output lines, errors, several disks, extra commands, heap use. */
#include "check.h"
#include "guest/shell.h"
#include "guest/alloc.h"
#include "lib/sha256.h"
#include <stdlib.h>
#include <unistd.h>

/* ---- RAM disks ---- */

struct ram {
	struct disk d;
	u8 *img;
	bool fail_flush, fail_write;
	unsigned reads, writes;
};

static int ram_read(struct disk *d, u64 lba, u32 count, void *buf)
{
	struct ram *r = (struct ram *)d;
	r->reads++;
	memcpy(buf, r->img + lba * d->sector_size, (size_t)count * d->sector_size);
	return 0;
}

static int ram_write(struct disk *d, u64 lba, u32 count, const void *buf)
{
	struct ram *r = (struct ram *)d;
	if (r->fail_write)
		return -E_IO;
	r->writes++;
	memcpy(r->img + lba * d->sector_size, buf, (size_t)count * d->sector_size);
	return 0;
}

static int ram_flush(struct disk *d)
{
	return ((struct ram *)d)->fail_flush ? -E_IO : 0;
}

static struct ram ram0, ram1;

static void ram_setup(struct ram *r, const char *name, u64 sectors)
{
	free(r->img);
	memset(r, 0, sizeof(*r));
	r->d.name = name;
	r->d.driver = "ram";
	r->d.sector_size = 512;
	r->d.sectors = sectors;
	r->d.read = ram_read;
	r->d.write = ram_write;
	r->d.flush = ram_flush;
	r->img = calloc(sectors, 512);
}

/* A FAT16 volume of `sectors` 512-byte sectors at byte offset `at`:
 * 4 sectors per cluster, 4 reserved, 2 FATs, 512 root entries -- the
 * layout fatgen103 describes, written by hand so no tool is needed. */
static void format_fat16(u8 *img, u32 sectors)
{
	u32 rsvd = 4, spc = 4, root_secs = 32;
	u32 fatsz = ((sectors / spc) * 2 + 511) / 512 + 1;
	u8 *b = img;
	memset(img, 0, (size_t)(rsvd + 2 * fatsz + root_secs) * 512);
	b[0] = 0xeb;
	b[1] = 0x3c;
	b[2] = 0x90;
	memcpy(b + 3, "MSWIN4.1", 8);
	put_le16(b + 11, 512);
	b[13] = (u8)spc;
	put_le16(b + 14, (u16)rsvd);
	b[16] = 2;
	put_le16(b + 17, 512);
	if (sectors < 65536)
		put_le16(b + 19, (u16)sectors);
	else
		put_le32(b + 32, sectors);
	b[21] = 0xf8;
	put_le16(b + 22, (u16)fatsz);
	put_le16(b + 24, 32);
	put_le16(b + 26, 64);
	b[36] = 0x80;
	b[38] = 0x29;
	put_le32(b + 39, 0x12345678);
	memcpy(b + 43, "NO NAME    ", 11);
	memcpy(b + 54, "FAT16   ", 8);
	b[510] = 0x55;
	b[511] = 0xaa;
	for (u32 i = 0; i < 2; i++) {
		u8 *fat = img + (size_t)(rsvd + i * fatsz) * 512;
		put_le16(fat, 0xfff8);
		put_le16(fat + 2, 0xffff);
	}
}

/* ---- output capture ---- */

static char *lines[4096];
static int nlines;

static void capture(const char *line)
{
	if (nlines < (int)ARRAY_SIZE(lines))
		lines[nlines++] = strdup(line);
}

static void clear_lines(void)
{
	while (nlines)
		free(lines[--nlines]);
}

static int run(const char *script, int ndisks)
{
	struct disk *disks[2] = { &ram0.d, &ram1.d };
	clear_lines();
	return shell_run(script, disks, (size_t)ndisks, capture, NULL, 0);
}

/* Compares the captured lines with a NULL-terminated list. */
static int lines_match(const char *const *want)
{
	int i;
	for (i = 0; want[i]; i++) {
		if (i >= nlines) {
			printf("  missing line %d: %s\n", i, want[i]);
			return 0;
		}
		if (strcmp(lines[i], want[i])) {
			printf("  line %d: got \"%s\"\n           want \"%s\"\n", i, lines[i], want[i]);
			return 0;
		}
	}
	if (i != nlines) {
		printf("  extra line %d: %s\n", i, lines[i]);
		return 0;
	}
	return 1;
}

static void dump(void)
{
	for (int i = 0; i < nlines; i++)
		printf("    %s\n", lines[i]);
}

#define EXPECT(...)                                                    \
	do {                                                           \
		static const char *const want_[] = { __VA_ARGS__, NULL }; \
		if (!lines_match(want_)) {                             \
			dump();                                        \
			CHECK(!"output differs");                      \
		}                                                      \
	} while (0)

static void fresh_disk0(void)
{
	ram_setup(&ram0, "ld0", 32768);
	format_fat16(ram0.img, 32768);
}

/* ---- tests ---- */

TEST(shell_pattern_generator)
{
	/* splitmix64 from seed 0 starts with 0xe220a8397b1dcdaf. */
	u8 b[16];
	u64 s = 0;
	shell_pattern_fill(&s, b, 16);
	CHECK_EQ(le64_at(b), 0xe220a8397b1dcdafULL);
	/* Chained calls equal one call. */
	static u8 one[1000], two[1000];
	u64 s1 = 5, s2 = 5;
	shell_pattern_fill(&s1, one, 1000);
	shell_pattern_fill(&s2, two, 512);
	shell_pattern_fill(&s2, two + 512, 488);
	CHECK(memcmp(one, two, 1000) == 0);
}

TEST(shell_empty_script)
{
	fresh_disk0();
	CHECK_EQ(run("", 1), 0);
	EXPECT("done ok=0 err=0", "result: pass");
	CHECK_EQ(run(" ;\n;; \n", 1), 0);
	EXPECT("done ok=0 err=0", "result: pass");
}

TEST(shell_basic_script)
{
	fresh_disk0();
	CHECK_EQ(run("write /A.TXT 1000 1; ls /\nsha256 /a.txt;stat /A.TXT;"
		     "write /G.BIN 16 0; cat /G.BIN; write /E 0 42; cat /E; ls /;"
		     "mkdir /DIR; cp /A.TXT /DIR/B.TXT; ls /DIR; rm /A.TXT; ls /; sync", 1), 0);
	EXPECT("ok write /A.TXT 1000 1 c0b94bf9b8006ee0a267d24ebca4081cf341d64eb4513f3c7ea164f2818d2299",
	       "entry f 1000 A.TXT",
	       "ok ls / 1",
	       "ok sha256 /a.txt c0b94bf9b8006ee0a267d24ebca4081cf341d64eb4513f3c7ea164f2818d2299 1000",
	       "ok stat /A.TXT f 1000",
	       "ok write /G.BIN 16 0 f9308187d2713e9e067c78dda10609843639f994a663cda1c665e7d1946e8e69",
	       "| \\xaf\\xcd\\x1d{9\\xa8 \\xe2\\xf4e\\xb9\\xa1j\\x9exn",
	       "ok cat /G.BIN 16",
	       "ok write /E 0 42 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "ok cat /E 0",
	       "entry f 1000 A.TXT",
	       "entry f 16 G.BIN",
	       "entry f 0 E",
	       "ok ls / 3",
	       "ok mkdir /DIR",
	       "ok cp /A.TXT /DIR/B.TXT 1000",
	       "entry f 1000 B.TXT",
	       "ok ls /DIR 1",
	       "ok rm /A.TXT",
	       "entry f 16 G.BIN",
	       "entry f 0 E",
	       "entry d 0 DIR",
	       "ok ls / 3",
	       "ok sync",
	       "done ok=15 err=0",
	       "result: pass");
	/* The data survived: a second run on the same disk reads it back. */
	CHECK_EQ(run("sha256 ld0:/DIR/B.TXT", 1), 0);
	EXPECT("ok sha256 ld0:/DIR/B.TXT c0b94bf9b8006ee0a267d24ebca4081cf341d64eb4513f3c7ea164f2818d2299 1000",
	       "done ok=1 err=0", "result: pass");
}

TEST(shell_errors)
{
	fresh_disk0();
	CHECK_EQ(run("frob; frob a \"b c\"; ls; cat /A /B; write /X 10; write /X ten 1; write /X 0x100000000 1;"
		     "cat /NOPE; mkdir /D; cat /D; rm /D/../NOPE; ls ld7:/; rm /D; rm /D;"
		     "write \"/bad?name\" 1 1; cat \"/unterminated", 1), 14);
	EXPECT("err frob: inval unknown command",
	       "err frob a \"b c\": inval unknown command",
	       "err ls: inval usage: ls PATH",
	       "err cat /A /B: inval usage: cat PATH",
	       "err write /X 10: inval usage: write PATH BYTES SEED",
	       "err write /X ten 1: inval bad number ten",
	       "err write /X 0x100000000 1: range FAT files are at most 4 GiB - 1",
	       "err cat /NOPE: noent",
	       "ok mkdir /D",
	       "err cat /D: isdir",
	       "err rm /D/../NOPE: noent",
	       "err ls ld7:/: noent no disk ld7",
	       "ok rm /D",
	       "err rm /D: noent",
	       "err write /bad?name 1 1: inval",
	       "err cat /unterminated: inval unterminated quote",
	       "done ok=2 err=14",
	       "result: fail");
}

TEST(shell_quotes_and_long_names)
{
	fresh_disk0();
	CHECK_EQ(run("write \"/with space.txt\" 10 0x1234; write \"/x;y\" 3 0x1234; ls \"/\";"
		     "mkdir \"/A Long Directory Name\"; cp \"/with space.txt\" \"/A Long Directory Name/Copy Of It.dat\";"
		     "ls \"/a long directory name\"; cp /x;y /z; cp \"/x;y\" \"/x;y\"", 1), 3);
	EXPECT("ok write \"/with space.txt\" 10 0x1234 "
	       "694c819a78cfdba551c688c129471dcac8da099905a36d425b771143913ba3f3",
	       "ok write /x;y 3 0x1234 d5cabe133b2b455a7d4074981882e33ed989f2d3fca449aceefcfb58919c2345",
	       "entry f 10 with space.txt",
	       "entry f 3 x;y",
	       "ok ls / 2",
	       "ok mkdir \"/A Long Directory Name\"",
	       "ok cp \"/with space.txt\" \"/A Long Directory Name/Copy Of It.dat\" 10",
	       "entry f 10 Copy Of It.dat",
	       "ok ls \"/a long directory name\" 1",
	       "err cp /x: inval usage: cp SRC DST",
	       "err y /z: inval unknown command",
	       "err cp /x;y /x;y: inval same file",
	       "done ok=6 err=3",
	       "result: fail");
}

TEST(shell_cat_escapes_and_wrap)
{
	fresh_disk0();
	struct fat_vol *v;
	struct fat_file f;
	static u8 big[3000];
	CHECK_EQ(fat_mount(&ram0.d, 0, ram0.d.sectors, &v), 0);
	CHECK_EQ(fat_create(v, "/T.TXT", &f), 0);
	const char t[] = "hi\tthere\\\n\x01" "end\n\nlast";
	CHECK_EQ(fat_write(&f, t, sizeof(t) - 1), 0);
	CHECK_EQ(fat_create(v, "/W.TXT", &f), 0);
	memset(big, 'a', sizeof(big));
	big[1500] = '\n';
	big[2999] = '\n';
	CHECK_EQ(fat_write(&f, big, sizeof(big)), 0);
	CHECK_EQ(fat_unmount(v), 0);
	CHECK_EQ(run("cat /T.TXT; cat /W.TXT", 1), 0);
	CHECK_EQ(nlines, 12);
	CHECK_STR(lines[0], "| hi\\x09there\\\\");
	CHECK_STR(lines[1], "| \\x01end");
	CHECK_STR(lines[2], "| ");
	CHECK_STR(lines[3], "| last");
	CHECK_STR(lines[4], "ok cat /T.TXT 20");
	/* 1500 a's: 1024 + 476; then 1498 a's: 1024 + 474. */
	CHECK_EQ(strlen(lines[5]), 3 + 1024);
	CHECK(!strncmp(lines[5], "|+ aaa", 6));
	CHECK_EQ(strlen(lines[6]), 2 + 476);
	CHECK(!strncmp(lines[6], "| aaa", 5));
	CHECK_EQ(strlen(lines[7]), 3 + 1024);
	CHECK_EQ(strlen(lines[8]), 2 + 474);
	CHECK_STR(lines[9], "ok cat /W.TXT 3000");
}

/* Two disks: ld0 a superfloppy, ld1 a GPT disk with the FAT volume in a
 * basic-data partition; cp across them. */
TEST(shell_two_disks)
{
	fresh_disk0();
	ram_setup(&ram1, "ld1", 40000);
	u8 *img = ram1.img;
	/* protective MBR + primary GPT (header LBA 1, entries LBA 2..33) */
	u8 *e = img + 446;
	e[4] = 0xee;
	put_le32(e + 8, 1);
	put_le32(e + 12, 39999);
	img[510] = 0x55;
	img[511] = 0xaa;
	static const u8 basic[16] = { 0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
				      0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7 };
	u8 *ent = img + 2 * 512;
	memcpy(ent, basic, 16);
	ent[16] = 1;
	put_le64(ent + 32, 2048);
	put_le64(ent + 40, 2048 + 32768 - 1);
	u8 *h = img + 512;
	memcpy(h, "EFI PART", 8);
	put_le32(h + 8, 0x10000);
	put_le32(h + 12, 92);
	put_le64(h + 24, 1);
	put_le64(h + 32, 39999);
	put_le64(h + 40, 34);
	put_le64(h + 48, 39999 - 33);
	put_le64(h + 72, 2);
	put_le32(h + 80, 128);
	put_le32(h + 84, 128);
	put_le32(h + 88, part_crc32(0, ent, 128 * 128));
	put_le32(h + 16, part_crc32(0, h, 92));
	format_fat16(img + 2048 * 512, 32768);

	CHECK_EQ(run("write /BIG.BIN 300000 7; cp /BIG.BIN ld1:/COPY.BIN; sha256 ld1:/copy.bin;"
		      "cp ld1:/COPY.BIN ld1:/SECOND.BIN; ls ld1:/", 2), 0);
	EXPECT("ok write /BIG.BIN 300000 7 29b617e1acd19171662d7e28f7a5fb8f72ec26d9b3e887665292c3409efc40dd",
	       "ok cp /BIG.BIN ld1:/COPY.BIN 300000",
	       "ok sha256 ld1:/copy.bin 29b617e1acd19171662d7e28f7a5fb8f72ec26d9b3e887665292c3409efc40dd 300000",
	       "ok cp ld1:/COPY.BIN ld1:/SECOND.BIN 300000",
	       "entry f 300000 COPY.BIN",
	       "entry f 300000 SECOND.BIN",
	       "ok ls ld1:/ 2",
	       "done ok=5 err=0",
	       "result: pass");
	/* A GPT with a bad CRC is reported as such. */
	h[16] ^= 1;
	img[39999 * 512] = 0; /* and no backup header */
	CHECK_EQ(run("ls ld1:/", 2), 1);
	EXPECT("err ls ld1:/: corrupt ld1: gpt header crc", "done ok=0 err=1", "result: fail");
}

TEST(shell_no_fs_and_no_disks)
{
	ram_setup(&ram0, "ld0", 1000);
	CHECK_EQ(run("ls /; ls ld0:/", 1), 2);
	EXPECT("err ls /: noent ld0: no partition table or FAT",
	       "err ls ld0:/: noent ld0: no partition table or FAT",
	       "done ok=0 err=2", "result: fail");
	CHECK_EQ(run("ls /", 0), 1);
	EXPECT("err ls /: noent no disks", "done ok=0 err=1", "result: fail");
}

TEST(shell_final_sync_failure)
{
	fresh_disk0();
	ram0.fail_flush = true;
	CHECK_EQ(run("write /F 100 1", 1), 1);
	EXPECT("ok write /F 100 1 18967e95993e7a62121ef00af7aed1a89860359796d33209e266aaae6920a7b7",
	       "err sync: io", "done ok=1 err=1", "result: fail");
}

TEST(shell_write_error)
{
	fresh_disk0();
	CHECK_EQ(run("ls /", 1), 0);
	ram0.fail_write = true;
	CHECK_EQ(run("write /F 100000 1", 1), 2);
	CHECK_EQ(nlines, 4);
	CHECK_STR(lines[0], "err write /F 100000 1: io");
	CHECK_STR(lines[1], "err sync: io");
	CHECK_STR(lines[3], "result: fail");
}

static int xcmd_hello(struct shell *sh, int argc, char **argv)
{
	if (argc != 2)
		return shell_usage(sh);
	shell_printf(sh, "hello %s, %zu disk(s), first %s", argv[1], shell_disk_count(sh),
		     shell_disk(sh, 0)->name);
	shell_result(sh, "greeted");
	shell_result(sh, "%d", 42);
	return 0;
}

static int xcmd_fail(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shell_message(sh, "device said no");
	return -E_TIMEDOUT;
}

static int xcmd_ls(struct shell *sh, int argc, char **argv)
{
	(void)sh;
	(void)argc;
	(void)argv;
	return -E_IO; /* shadowed by the built-in */
}

TEST(shell_extra_commands)
{
	static const struct shell_cmd extra[] = {
		{ "hello", xcmd_hello, "hello NAME" },
		{ "fail", xcmd_fail, "fail" },
		{ "ls", xcmd_ls, "ls" },
	};
	struct disk *disks[1] = { &ram0.d };
	fresh_disk0();
	clear_lines();
	CHECK_EQ(shell_run("hello world; hello; fail x; ls /", disks, 1, capture, extra, 3), 2);
	EXPECT("hello world, 1 disk(s), first ld0",
	       "ok hello world greeted 42",
	       "err hello: inval usage: hello NAME",
	       "err fail x: timedout device said no",
	       "ok ls / 0",
	       "done ok=2 err=2",
	       "result: fail");
}


/* Random scripts: every command gets exactly one result line and the
 * summary adds up. */
TEST(shell_random_scripts)
{
	static const char *const words[] = {
		"ls", "cat", "write", "cp", "rm", "mkdir", "sync", "sha256", "stat", "bogus",
		"/", "/A", "/D", "/D/B c", "ld0:/E", "ld1:/", "ld0:", "\"", ";", "\n", " ", "\t",
		"100", "0x10", "70000", "1", "x", "/D/", "//", "/.", "/..", "\"\"", "/long name here",
	};
	u32 rng = 4242;
	char script[512];
	fresh_disk0();
	for (int round = 0; round < 400; round++) {
		size_t n = 0;
		int nw = 1 + (int)(rng % 40);
		script[0] = 0;
		for (int w = 0; w < nw; w++) {
			rng = rng * 1103515245u + 12345u;
			const char *word = words[(rng >> 8) % ARRAY_SIZE(words)];
			n += (size_t)snprintf(script + n, sizeof(script) - n, "%s%s", word,
					      (rng & 0x10000) ? " " : "");
			if (n >= sizeof(script) - 32)
				break;
		}
		int failed = run(script, 1);
		CHECK(nlines >= 2);
		CHECK(!strncmp(lines[nlines - 1], "result: ", 8));
		int ok = -1, err = -1;
		CHECK_EQ(sscanf(lines[nlines - 2], "done ok=%d err=%d", &ok, &err), 2);
		CHECK_EQ(err, failed);
		int results = 0;
		for (int i = 0; i < nlines - 2; i++)
			results += !strncmp(lines[i], "ok ", 3) || !strncmp(lines[i], "err ", 4);
		CHECK_EQ(results, ok + err);
	}
}

/* Heap use of a typical run with the real allocator, for sizing the
 * guest kernel's arena; everything must be freed afterwards. */
TEST(shell_heap_use)
{
	static u8 arena[2 << 20] __attribute__((aligned(16)));
	struct heap_stats st;
	fresh_disk0();
	ram_setup(&ram1, "ld1", 32768);
	format_fat16(ram1.img, 32768);
	heap_init(arena, sizeof(arena));
	int failed = run("write /A.BIN 1000000 3; mkdir /D; cp /A.BIN ld1:/B.BIN; sha256 ld1:/B.BIN;"
			 "cat /D; ls /; rm /A.BIN; sync", 2);
	heap_get_stats(&st);
	heap_init(NULL, 0);
	printf("  heap peak %zu bytes (two disks mounted)\n", st.peak);
	CHECK_EQ(failed, 1); /* cat of a directory */
	CHECK_EQ(st.used, 0);
	CHECK_EQ(st.blocks, 0);
	CHECK(st.peak < 1024 * 1024);
	/* And with too small a heap the shell fails cleanly. */
	static u8 tiny[64 * 1024] __attribute__((aligned(16)));
	heap_init(tiny, sizeof(tiny));
	failed = run("ls /", 1);
	heap_get_stats(&st);
	heap_init(NULL, 0);
	CHECK_EQ(failed, 1);
	CHECK_EQ(st.used, 0);
	CHECK_STR(lines[nlines - 1], "result: fail");
}

/* When dosfstools is installed, fsck.fat checks what the shell left. */
TEST(shell_fsck_after_script)
{
	char path[64];
	char p2[4096];
	snprintf(p2, sizeof(p2), "%s:/usr/sbin:/sbin", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", p2, 1);
	if (system("command -v fsck.fat >/dev/null 2>&1") != 0) {
		printf("  SKIP: no fsck.fat\n");
		return;
	}
	fresh_disk0();
	CHECK_EQ(run("mkdir /D; write \"/D/a long name.bin\" 123456 1; write /D/SMALL 5 2; cp /D/SMALL /C;"
		     "rm /D/SMALL; mkdir /D/E; write /D/E/F 70000 3; write /D/E/F 100 4", 1), 0);
	snprintf(path, sizeof(path), "/tmp/ferry_test_shell_%d.img", (int)getpid());
	FILE *f = fopen(path, "wb");
	CHECK(f);
	fwrite(ram0.img, 512, ram0.d.sectors, f);
	fclose(f);
	snprintf(p2, sizeof(p2), "fsck.fat -n %s >/dev/null 2>&1", path);
	int rc = system(p2);
	unlink(path);
	CHECK_EQ(rc, 0);
}

int main(void)
{
	RUN(shell_pattern_generator);
	RUN(shell_empty_script);
	RUN(shell_basic_script);
	RUN(shell_errors);
	RUN(shell_quotes_and_long_names);
	RUN(shell_cat_escapes_and_wrap);
	RUN(shell_two_disks);
	RUN(shell_no_fs_and_no_disks);
	RUN(shell_final_sync_failure);
	RUN(shell_write_error);
	RUN(shell_extra_commands);
	RUN(shell_random_scripts);
	RUN(shell_heap_use);
	RUN(shell_fsck_after_script);
	clear_lines();
	free(ram0.img);
	free(ram1.img);
	return CHECK_SUMMARY();
}
