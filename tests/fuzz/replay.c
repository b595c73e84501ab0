/* The main of build/unit/fuzz_NAME: runs a fuzz harness, without libFuzzer,
 * over its generated seeds and over files, so its corpus and regression
 * inputs replay under ASan + UBSan with any compiler (tests/run.py --unit).
 *
 *   fuzz_NAME                 the seeds, then tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME
 *   fuzz_NAME FILE|DIR...     those files (every file of a directory)
 *   fuzz_NAME --seeds DIR     writes the seeds to DIR (make fuzz's corpus start)
 *
 * Prints one PASS line per source; an oracle failure aborts. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

static unsigned ran;
static const char *seed_dir;

static void run(const void *buf, size_t len)
{
	/* a copy of exactly len bytes, so ASan sees reads past the input */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	ran++;
}

static void write_seed(const void *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/seed-%04u", seed_dir, ran++);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	run(buf, n);
}

/* Every regular file of dir (none: not an error, when optional). */
static void run_path(const char *path, bool optional)
{
	struct stat st;
	if (stat(path, &st)) {
		if (optional)
			return;
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[4096];
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (!stat(p, &st) && S_ISREG(st.st_mode))
			run_file(p);
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (!strncmp(name, "fuzz_", 5))
		name += 5;
	if (argc == 3 && !strcmp(argv[1], "--seeds")) {
		seed_dir = argv[2];
		mkdir(seed_dir, 0777);
		fuzz_seeds(write_seed);
		printf("%u seeds in %s\n", ran, seed_dir);
		return 0;
	}
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_path(argv[i], false);
		printf("PASS %u inputs\n", ran);
		return 0;
	}
	/* FERRY_ROOT: the repository (tests/run.py sets it); else the cwd. */
	const char *root = getenv("FERRY_ROOT") ? getenv("FERRY_ROOT") : ".";
	fuzz_seeds(run);
	printf("PASS seeds (%u)\n", ran);
	static const char *const kinds[] = { "corpus", "regress" };
	for (unsigned k = 0; k < 2; k++) {
		char p[4096];
		snprintf(p, sizeof(p), "%s/tests/fuzz/%s/%s", root, kinds[k], name);
		unsigned before = ran;
		run_path(p, true);
		printf("PASS %s (%u)\n", kinds[k], ran - before);
	}
	return 0;
}
