/* The shell's built-in file commands (shell.h gives their syntax and
 * output); the runner that parses and dispatches them is shell.c. */
#include "shell_int.h"
#include "lib/string.h"
#include "lib/sha256.h"

/* The data "write" writes (shell.h gives the generator). */
void shell_pattern_fill(u64 *state, void *buf, size_t len)
{
	u8 *p = buf;
	u64 s = *state;
	while (len) {
		s += 0x9e3779b97f4a7c15ULL;
		u64 z = s;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		size_t n = MIN(len, (size_t)8);
		for (size_t i = 0; i < n; i++)
			p[i] = (u8)(z >> (8 * i));
		p += n;
		len -= n;
	}
	*state = s;
}

/* Ends a hash and appends its hex digest to the result fields. */
static void result_sha256(struct shell *sh, struct sha256_ctx *c)
{
	u8 d[SHA256_DIGEST_SIZE];
	char hex[2 * SHA256_DIGEST_SIZE + 1];
	sha256_final(c, d);
	sha256_hex(d, hex);
	shell_result(sh, "%s", hex);
}

static int cmd_ls(struct shell *sh, int argc, char **argv)
{
	struct fat_vol *v;
	const char *p;
	struct fat_dir d;
	struct fat_dirent e;
	u32 count = 0;
	int rc;
	(void)argc;

	if ((rc = shell_resolve(sh, argv[1], &v, &p)) || (rc = fat_opendir(v, p, &d)))
		return rc;
	while ((rc = fat_readdir(&d, &e)) == 1) {
		if (!strcmp(e.short_name, ".") || !strcmp(e.short_name, ".."))
			continue;
		shell_printf(sh, "entry %c %u %s", e.is_dir ? 'd' : 'f', e.size, e.name);
		count++;
	}
	if (rc)
		return rc;
	shell_result(sh, "%u", count);
	return 0;
}

static int cmd_stat(struct shell *sh, int argc, char **argv)
{
	struct fat_vol *v;
	const char *p;
	struct fat_dirent e;
	int rc;
	(void)argc;

	if ((rc = shell_resolve(sh, argv[1], &v, &p)) || (rc = fat_stat(v, p, &e)))
		return rc;
	shell_result(sh, "%c %u", e.is_dir ? 'd' : 'f', e.size);
	return 0;
}

/* Emits the cat line being built: "| " ends a file line, "|+ " does not. */
static void cat_emit(struct shell *sh, size_t *len, bool cont)
{
	sh->text[*len] = '\0';
	shell_printf(sh, cont ? "|+ %s" : "| %s", sh->text);
	*len = 0;
}

static int cmd_cat(struct shell *sh, int argc, char **argv)
{
	static const char hex[] = "0123456789abcdef";
	struct fat_vol *v;
	const char *p;
	struct fat_file f;
	size_t len = 0;
	int rc;
	(void)argc;

	if ((rc = shell_resolve(sh, argv[1], &v, &p)) || (rc = fat_open(v, p, &f)))
		return rc;
	while ((rc = fat_read(&f, sh->io, (u32)sh->io_len)) > 0) {
		for (int i = 0; i < rc; i++) {
			u8 c = sh->io[i];
			char piece[4];
			size_t n = 0;
			if (c == '\n') {
				cat_emit(sh, &len, false);
				continue;
			}
			if (c == '\\') {
				piece[n++] = '\\';
				piece[n++] = '\\';
			} else if (c >= 0x20 && c <= 0x7e) {
				piece[n++] = (char)c;
			} else {
				piece[n++] = '\\';
				piece[n++] = 'x';
				piece[n++] = hex[c >> 4];
				piece[n++] = hex[c & 15];
			}
			if (len + n > SHELL_CAT_WRAP)
				cat_emit(sh, &len, true);
			memcpy(sh->text + len, piece, n);
			len += n;
		}
	}
	if (rc < 0)
		return rc;
	if (len)
		cat_emit(sh, &len, false);
	shell_result(sh, "%u", f.size);
	return 0;
}

static int cmd_sha256(struct shell *sh, int argc, char **argv)
{
	struct fat_vol *v;
	const char *p;
	struct fat_file f;
	struct sha256_ctx c;
	int rc;
	(void)argc;

	if ((rc = shell_resolve(sh, argv[1], &v, &p)) || (rc = fat_open(v, p, &f)))
		return rc;
	sha256_init(&c);
	while ((rc = fat_read(&f, sh->io, (u32)sh->io_len)) > 0)
		sha256_update(&c, sh->io, (size_t)rc);
	if (rc < 0)
		return rc;
	result_sha256(sh, &c);
	shell_result(sh, "%u", f.size);
	return 0;
}

static int cmd_cp(struct shell *sh, int argc, char **argv)
{
	struct fat_vol *vs, *vd;
	const char *ps, *pd;
	struct fat_file in, out;
	struct fat_dirent e;
	u32 total = 0;
	int rc;
	(void)argc;

	if ((rc = shell_resolve(sh, argv[1], &vs, &ps)) || (rc = shell_resolve(sh, argv[2], &vd, &pd)))
		return rc;
	if ((rc = fat_open(vs, ps, &in)))
		return rc;
	/* Copying a file onto itself would truncate the source first. */
	if (vs == vd && fat_stat(vd, pd, &e) == 0 && e.sector == in.ent_sector &&
	    e.offset == in.ent_offset) {
		shell_message(sh, "same file");
		return -E_INVAL;
	}
	if ((rc = fat_create(vd, pd, &out)))
		return rc;
	while ((rc = fat_read(&in, sh->io, (u32)sh->io_len)) > 0) {
		int n = rc;
		if ((rc = fat_write(&out, sh->io, (u32)n)))
			break;
		total += (u32)n;
	}
	int rc2 = fat_close(&out);
	fat_close(&in);
	if (rc < 0 || rc2)
		return rc < 0 ? rc : rc2;
	shell_result(sh, "%u", total);
	return 0;
}

static int parse_u64(struct shell *sh, const char *s, u64 *v)
{
	int rc = str_to_u64(s, strlen(s), v);
	if (rc)
		shell_message(sh, "bad number %.32s", s);
	return rc;
}

static int cmd_write(struct shell *sh, int argc, char **argv)
{
	struct fat_vol *v;
	const char *p;
	struct fat_file f;
	struct sha256_ctx c;
	u64 bytes, state;
	int rc;
	(void)argc;

	if ((rc = parse_u64(sh, argv[2], &bytes)) || (rc = parse_u64(sh, argv[3], &state)))
		return rc;
	if (bytes > 0xffffffffULL) {
		shell_message(sh, "FAT files are at most 4 GiB - 1");
		return -E_RANGE;
	}
	if ((rc = shell_resolve(sh, argv[1], &v, &p)) || (rc = fat_create(v, p, &f)))
		return rc;
	sha256_init(&c);
	/* io_len is a multiple of 8, so the generator's blocks line up
	 * across chunks. */
	while (bytes && !rc) {
		size_t n = (size_t)MIN(bytes, (u64)sh->io_len);
		shell_pattern_fill(&state, sh->io, n);
		sha256_update(&c, sh->io, n);
		rc = fat_write(&f, sh->io, (u32)n);
		bytes -= n;
	}
	int rc2 = fat_close(&f);
	if (rc || rc2)
		return rc ? rc : rc2;
	result_sha256(sh, &c);
	return 0;
}

/* Commands that are one FAT operation on one path and print nothing. */
static int path_op(struct shell *sh, const char *path, int (*op)(struct fat_vol *v, const char *path))
{
	struct fat_vol *v;
	const char *p;
	int rc = shell_resolve(sh, path, &v, &p);
	return rc ? rc : op(v, p);
}

static int cmd_rm(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	return path_op(sh, argv[1], fat_remove);
}

static int cmd_mkdir(struct shell *sh, int argc, char **argv)
{
	(void)argc;
	return path_op(sh, argv[1], fat_mkdir);
}

static int cmd_sync(struct shell *sh, int argc, char **argv)
{
	int first = 0;
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sh->ndisks; i++) {
		if (!sh->mounts[i].vol)
			continue;
		int rc = fat_sync(sh->mounts[i].vol);
		if (rc && !first) {
			first = rc;
			shell_message(sh, "%s", sh->disks[i]->name);
		}
	}
	return first;
}

/* Looked up before the extra commands shell_run is given. */
const struct builtin shell_builtins[] = {
	{ { "ls", cmd_ls, "ls PATH" }, 1, 1 },
	{ { "cat", cmd_cat, "cat PATH" }, 1, 1 },
	{ { "sha256", cmd_sha256, "sha256 PATH" }, 1, 1 },
	{ { "stat", cmd_stat, "stat PATH" }, 1, 1 },
	{ { "cp", cmd_cp, "cp SRC DST" }, 2, 2 },
	{ { "write", cmd_write, "write PATH BYTES SEED" }, 3, 3 },
	{ { "rm", cmd_rm, "rm PATH" }, 1, 1 },
	{ { "mkdir", cmd_mkdir, "mkdir PATH" }, 1, 1 },
	{ { "sync", cmd_sync, "sync" }, 0, 0 },
};
const size_t shell_nbuiltins = ARRAY_SIZE(shell_builtins);
