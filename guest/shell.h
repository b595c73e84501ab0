/* The guest's command runner: executes a script of file commands on the
 * disks the guest's drivers found and prints one parseable line per
 * result.
 *
 * Script syntax: commands are separated by ';' or newlines, arguments by
 * blanks (space, tab, CR); double quotes group an argument containing
 * blanks or ';' (there are no escapes; a quote cannot be quoted).
 *
 * Paths: "/A.TXT" is on the first disk; "ld1:/X" names the disk.  For each
 * path the shell finds the disk holding it, its partition (part_find_fat)
 * and FAT volume (fat_mount), mounting lazily and keeping the mount per
 * disk until the script ends -- "the OS searches for the driver of the
 * device holding the file".
 *
 * Output, one line per out() call, no '\n':
 *   data lines, then exactly one result line per command:
 *     ok <cmd> <args...>[ <result fields...>]
 *     err <cmd> <args...>: <errname>[ <message>]
 *   where args are echoed as given, in double quotes if they contain a
 *   blank or are empty, and errname is err_name().
 *
 *   ls PATH            entry <d|f> <size> <name>   (per entry, not . and ..;
 *                      long name if any; the name is last and may contain
 *                      spaces)                  -> ok ls PATH <count>
 *   cat PATH           "| <text>" per line of the file; bytes outside
 *                      0x20-0x7e (but '\n') as \xNN (lower-case hex), '\' as
 *                      "\\".  A line longer than SHELL_CAT_WRAP output
 *                      characters is split, each part but the last printed
 *                      as "|+ <text>" (no newline in the file there).  To
 *                      rebuild the file: join the texts, putting '\n' after
 *                      each "| " line, then cut to <size> (a file that does
 *                      not end in '\n' gets one too many).  An empty file
 *                      prints no data lines.       -> ok cat PATH <size>
 *   sha256 PATH                                  -> ok sha256 PATH <hex> <size>
 *   stat PATH                                    -> ok stat PATH <d|f> <size>
 *   cp SRC DST         creates or overwrites DST -> ok cp SRC DST <bytes>
 *   write PATH BYTES SEED  BYTES bytes of shell_pattern_fill(SEED)
 *                                                -> ok write PATH BYTES SEED <hex>
 *   rm PATH            file or empty directory   -> ok rm PATH
 *   mkdir PATH                                   -> ok mkdir PATH
 *   sync               fat_sync every mounted volume -> ok sync
 *   unknown command    -> err <cmd> <args...>: inval unknown command
 *   wrong arg count    -> err <cmd> <args...>: inval usage: <usage>
 * After the last command every mounted volume is synced and unmounted (a
 * failure prints "err sync: <errname>" and counts as a failed command),
 * then "done ok=<N> err=<M>" and "result: pass" (M == 0) or "result: fail".
 */
#ifndef GUEST_SHELL_H
#define GUEST_SHELL_H

#include "part.h"
#include "fat.h"

#define SHELL_LINE_MAX 4096   /* longest output line */
#define SHELL_CAT_WRAP 1024   /* cat: output characters per data line */
#define SHELL_MAX_ARGS 32
#define SHELL_IO_BYTES (256 * 1024) /* streaming buffer for cat/cp/write/sha256 */

struct shell;

struct shell_cmd {
	const char *name;
	/* argv[0] is the command name.  Return 0 (ok line) or a negative
	 * E_* code (err line); see shell_result() and shell_usage(). */
	int (*fn)(struct shell *sh, int argc, char **argv);
	const char *usage; /* e.g. "cat PATH" */
};

/* Runs the whole script.  extra[] commands are looked up after the
 * built-in ones.  Returns the number of failed commands. */
int shell_run(const char *script, struct disk **disks, size_t ndisks, void (*out)(const char *line),
	      const struct shell_cmd *extra, size_t nextra);

/* For command implementations: */
/* Prints one data line. */
void shell_printf(struct shell *sh, const char *fmt, ...) __printf(2, 3);
/* Appends " <text>" to the fields of this command's ok line. */
void shell_result(struct shell *sh, const char *fmt, ...) __printf(2, 3);
/* Sets the message printed after the error name of an err line. */
void shell_message(struct shell *sh, const char *fmt, ...) __printf(2, 3);
/* Sets the message to "usage: <usage>" and returns -E_INVAL. */
int shell_usage(struct shell *sh);
size_t shell_disk_count(struct shell *sh);
struct disk *shell_disk(struct shell *sh, size_t i);
/* The volume and in-volume path for a shell path ("ld1:/X" or "/X"),
 * mounting on first use.  On failure the message is set. */
int shell_resolve(struct shell *sh, const char *path, struct fat_vol **vol, const char **fs_path);
/* The streaming buffer (4-byte aligned; *len is at least 4 KiB). */
void *shell_iobuf(struct shell *sh, size_t *len);

/* The generator of "write", splitmix64:
 *     state = SEED
 *     for each 8-byte block:
 *         state += 0x9E3779B97F4A7C15
 *         z = state
 *         z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
 *         z = (z ^ (z >> 27)) * 0x94D049BB133111EB
 *         z ^= z >> 31
 *         emit z as 8 little-endian bytes
 * the last block cut to the requested length.  Fills len bytes, advancing
 * *state; calls may be chained when every len but the last is a multiple
 * of 8. */
void shell_pattern_fill(u64 *state, void *buf, size_t len);

/* guest/cryptobench.c: the frame protection's cost per byte. */
extern const struct shell_cmd crypto_shell_cmds[];
extern const size_t crypto_shell_ncmds;

#endif
