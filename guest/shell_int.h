/* The shell's state, shared by the runner (shell.c) and its built-in
 * commands (shell_cmds.c); nothing outside the shell sees it. */
#ifndef GUEST_SHELL_INT_H
#define GUEST_SHELL_INT_H

#include "shell.h"

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

/* A built-in command and how many arguments it takes. */
struct builtin {
	struct shell_cmd cmd;
	int min_args, max_args; /* not counting the command name */
};

extern const struct builtin shell_builtins[];
extern const size_t shell_nbuiltins;

#endif
