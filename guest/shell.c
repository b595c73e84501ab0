/* The guest's command runner (see shell.h for the language and output):
 * output, volumes, parsing and dispatch; the built-in commands are in
 * shell_cmds.c. */
#include "shell_int.h"
#include "alloc.h"
#include "lib/string.h"
#include "lib/fmt.h"

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
	for (size_t i = 0; i < shell_nbuiltins && !c; i++) {
		if (strcmp(shell_builtins[i].cmd.name, sh->argv[0]))
			continue;
		c = &shell_builtins[i].cmd;
		sh->cmd_usage = c->usage;
		if (argc - 1 < shell_builtins[i].min_args || argc - 1 > shell_builtins[i].max_args)
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
