/* The guest's command runner (see shell.h for the language and output). */
#include "shell.h"
#include "alloc.h"
#include "lib/string.h"
#include "lib/fmt.h"
#include "lib/sha256.h"

struct shell_mount {
	struct fat_vol *vol; /* NULL until mounted */
	struct part_info part;
};

struct shell {
	struct disk **disks;
	size_t ndisks;
	struct shell_mount *mounts;
	void (*out)(const char *line);
	const struct shell_cmd *extra;
	size_t nextra;
	u8 *io;
	size_t io_len;
	unsigned n_ok, n_err;
	/* per command */
	const char *cmd_usage;
	size_t fields_len;
	char msg[256];
	char *argv[SHELL_MAX_ARGS + 1];
	char line[SHELL_LINE_MAX];   /* formatting of output lines */
	char echo[SHELL_LINE_MAX];   /* "<cmd> <args...>" as echoed */
	char fields[SHELL_LINE_MAX]; /* " <field>..." of the ok line */
	char text[SHELL_CAT_WRAP + 8]; /* cat: the data line being built */
};

/* ---- output helpers ----------------------------------------------------- */

void shell_printf(struct shell *sh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(sh->line, sizeof(sh->line), fmt, ap);
	va_end(ap);
	sh->out(sh->line);
}

void shell_result(struct shell *sh, const char *fmt, ...)
{
	va_list ap;
	size_t room = sizeof(sh->fields) - sh->fields_len;
	if (room < 2)
		return;
	sh->fields[sh->fields_len++] = ' ';
	room--;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(sh->fields + sh->fields_len, room, fmt, ap);
	va_end(ap);
	sh->fields_len += n < 0 ? 0 : MIN((size_t)n, room - 1);
}

void shell_message(struct shell *sh, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(sh->msg, sizeof(sh->msg), fmt, ap);
	va_end(ap);
}

int shell_usage(struct shell *sh)
{
	shell_message(sh, "usage: %s", sh->cmd_usage ? sh->cmd_usage : "?");
	return -E_INVAL;
}

size_t shell_disk_count(struct shell *sh)
{
	return sh->ndisks;
}

struct disk *shell_disk(struct shell *sh, size_t i)
{
	return i < sh->ndisks ? sh->disks[i] : NULL;
}

void *shell_iobuf(struct shell *sh, size_t *len)
{
	*len = sh->io_len;
	return sh->io;
}

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

/* ---- volumes ------------------------------------------------------------ */

int shell_resolve(struct shell *sh, const char *path, struct fat_vol **vol, const char **fs_path)
{
	const char *colon = strchr(path, ':'), *slash = strchr(path, '/');
	size_t i = 0;

	if (colon && (!slash || colon < slash)) {
		size_t n = (size_t)(colon - path);
		for (i = 0; i < sh->ndisks; i++)
			if (strlen(sh->disks[i]->name) == n && !strncmp(sh->disks[i]->name, path, n))
				break;
		if (i == sh->ndisks) {
			shell_message(sh, "no disk %.*s", (int)MIN(n, (size_t)64), path);
			return -E_NOENT;
		}
		*fs_path = colon + 1;
	} else {
		if (!sh->ndisks) {
			shell_message(sh, "no disks");
			return -E_NOENT;
		}
		*fs_path = path;
	}
	struct shell_mount *m = &sh->mounts[i];
	if (!m->vol) {
		struct disk *d = sh->disks[i];
		int rc = part_find_fat(d, &m->part);
		if (rc) {
			shell_message(sh, "%s: %s", d->name, m->part.why ? m->part.why : "partition");
			return rc;
		}
		rc = fat_mount(d, m->part.start_lba, m->part.sectors, &m->vol);
		if (rc) {
			shell_message(sh, "%s: cannot mount %s partition", d->name,
				      part_scheme_name(m->part.scheme));
			return rc;
		}
	}
	*vol = m->vol;
	return 0;
}

/* ---- built-in commands -------------------------------------------------- */

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

struct builtin {
	struct shell_cmd cmd;
	int min_args, max_args; /* not counting the command name */
};

static const struct builtin builtins[] = {
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

/* ---- parsing and dispatch ----------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Splits cmd[0..len) into sh->argv, writing the words into buf (len + 1
 * bytes suffice: words only shrink).  Returns argc, or -E_INVAL for an
 * unterminated quote / too many words (argv then holds what was read). */
static int tokenize(struct shell *sh, const char *cmd, size_t len, char *buf, const char **why)
{
	int argc = 0;
	size_t i = 0, o = 0;
	*why = NULL;
	for (;;) {
		while (i < len && is_blank(cmd[i]))
			i++;
		if (i == len)
			break;
		if (argc == SHELL_MAX_ARGS) {
			*why = "too many arguments";
			break;
		}
		sh->argv[argc++] = buf + o;
		bool quoted = false;
		while (i < len && (quoted || !is_blank(cmd[i]))) {
			if (cmd[i] == '"')
				quoted = !quoted;
			else
				buf[o++] = cmd[i];
			i++;
		}
		buf[o++] = '\0';
		if (quoted) {
			*why = "unterminated quote";
			break;
		}
	}
	sh->argv[argc] = NULL;
	return argc;
}

static void build_echo(struct shell *sh, int argc)
{
	size_t n = 0, cap = sizeof(sh->echo);
	sh->echo[0] = '\0';
	for (int i = 0; i < argc && n + 1 < cap; i++) {
		const char *a = sh->argv[i];
		bool q = !*a;
		for (const char *c = a; *c && !q; c++)
			q = is_blank(*c);
		int w = fmt_snprintf(sh->echo + n, cap - n, q ? "%s\"%s\"" : "%s%s", i ? " " : "", a);
		n += w < 0 ? 0 : MIN((size_t)w, cap - n - 1);
	}
}

static void finish(struct shell *sh, int rc)
{
	if (rc == 0) {
		sh->fields[sh->fields_len] = '\0';
		shell_printf(sh, "ok %s%s", sh->echo, sh->fields);
		sh->n_ok++;
	} else {
		shell_printf(sh, "err %s: %s%s%s", sh->echo, err_name(rc), sh->msg[0] ? " " : "", sh->msg);
		sh->n_err++;
	}
}

/* Looks sh->argv[0] up (built-ins first, then the extra commands) and runs
 * it: 0 or -E_*, with sh->msg saying why where there is more to say. */
static int dispatch(struct shell *sh, int argc)
{
	const struct shell_cmd *c = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(builtins) && !c; i++) {
		if (strcmp(builtins[i].cmd.name, sh->argv[0]))
			continue;
		c = &builtins[i].cmd;
		sh->cmd_usage = c->usage;
		if (argc - 1 < builtins[i].min_args || argc - 1 > builtins[i].max_args)
			return shell_usage(sh);
	}
	for (size_t i = 0; i < sh->nextra && !c; i++)
		if (sh->extra[i].name && !strcmp(sh->extra[i].name, sh->argv[0]))
			c = &sh->extra[i];
	if (!c) {
		shell_message(sh, "unknown command");
		return -E_INVAL;
	}
	sh->cmd_usage = c->usage;
	int rc = c->fn(sh, argc, sh->argv);
	return rc > 0 ? -E_INVAL : rc; /* commands return 0 or -E_* */
}

static void run_one(struct shell *sh, const char *cmd, size_t len)
{
	char *buf = g_alloc(len + 1);
	const char *why;
	if (!buf) {
		shell_printf(sh, "err ?: %s out of memory for the command line", err_name(-E_NOMEM));
		sh->n_err++;
		return;
	}
	int argc = tokenize(sh, cmd, len, buf, &why);
	if (argc == 0 && !why) {
		g_free(buf);
		return; /* empty command */
	}
	sh->fields_len = 0;
	sh->msg[0] = '\0';
	sh->cmd_usage = NULL;
	build_echo(sh, argc);
	if (why) {
		shell_message(sh, "%s", why);
		finish(sh, -E_INVAL);
	} else {
		finish(sh, dispatch(sh, argc));
	}
	g_free(buf);
}

/* No memory to run the script: the lines a run ends with, for one error. */
static void report_nomem(void (*out)(const char *line))
{
	out("err shell: nomem");
	out("done ok=0 err=1");
	out("result: fail");
}

static void shell_free(struct shell *sh)
{
	g_free(sh->io);
	g_free(sh->mounts);
	g_free(sh);
}

int shell_run(const char *script, struct disk **disks, size_t ndisks, void (*out)(const char *line),
	      const struct shell_cmd *extra, size_t nextra)
{
	struct shell *sh = g_zalloc(sizeof(*sh));
	if (!sh) {
		report_nomem(out);
		return 1;
	}
	sh->disks = disks;
	sh->ndisks = ndisks;
	sh->out = out;
	sh->extra = extra;
	sh->nextra = nextra;
	sh->mounts = g_zalloc(sizeof(*sh->mounts) * (ndisks ? ndisks : 1));
	/* Streaming buffer: as large as the heap allows, a power of two
	 * (so a multiple of 8 and of every sector size) from 4 KiB up. */
	for (size_t n = SHELL_IO_BYTES; n >= 4096 && !sh->io; n /= 2) {
		sh->io = g_alloc(n);
		sh->io_len = n;
	}
	if (!sh->mounts || !sh->io) {
		report_nomem(out);
		shell_free(sh);
		return 1;
	}

	const char *p = script;
	while (*p) {
		const char *start = p;
		bool quoted = false;
		while (*p && (quoted || (*p != ';' && *p != '\n'))) {
			if (*p == '"')
				quoted = !quoted;
			p++;
		}
		run_one(sh, start, (size_t)(p - start));
		if (*p)
			p++;
	}

	int sync_err = 0;
	for (size_t i = 0; i < ndisks; i++) {
		if (!sh->mounts[i].vol)
			continue;
		int rc = fat_unmount(sh->mounts[i].vol);
		sh->mounts[i].vol = NULL;
		if (rc && !sync_err)
			sync_err = rc;
	}
	if (sync_err) {
		shell_printf(sh, "err sync: %s", err_name(sync_err));
		sh->n_err++;
	}
	shell_printf(sh, "done ok=%u err=%u", sh->n_ok, sh->n_err);
	shell_printf(sh, "result: %s", sh->n_err ? "fail" : "pass");
	int failed = (int)sh->n_err;
	shell_free(sh);
	return failed;
}
