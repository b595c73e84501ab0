/* Fuzzes the configuration parser (platform/config.c): ferry.cfg and the
 * boot command line come from a USB stick or a boot loader anyone may have
 * edited.
 *
 * Input: a byte choosing file, command line or both (split at the first
 * 0xFF byte), then the text.  Oracles: the parser terminates with 0 or
 * -E_INVAL; config_check likewise; the key (config.key, once given) never
 * appears in any log line, in hex either case, nor in the masked command
 * line; the fields keep their documented bounds (NUL-terminated strings,
 * key_len 0 or 16-64). */
#define _GNU_SOURCE /* strcasestr */
#include <string.h>
#include "fuzz.h"
#include "platform/config.h"
#include "tests/unit/fake_hv.h"

static struct ferry_config defaults;
static char logged[65536];
static size_t logged_len;

static void on_log(const char *line)
{
	size_t n = strlen(line);
	if (logged_len + n + 1 < sizeof(logged)) {
		memcpy(logged + logged_len, line, n);
		logged_len += n;
		logged[logged_len++] = '\n';
		logged[logged_len] = 0;
	}
}

static void hex(const u8 *k, size_t n, bool upper, char *out)
{
	const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[k[i] >> 4];
		out[2 * i + 1] = d[k[i] & 15];
	}
	out[2 * n] = 0;
}

/* The input with every key value blanked: text the key may be in
 * without having leaked (the input may spell the key's digits elsewhere,
 * e.g. in guest_cmds, and the log may rightly quote that). */
static char public_text[8192 + 1];

static void make_public(const char *text, size_t n, size_t file_len)
{
	memcpy(public_text, text, n);
	public_text[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!public_text[i])
			public_text[i] = ' ';
	for (size_t i = 0; i + 3 <= n; i++) {
		/* "key" starting a word, then '=': on the command line right
		 * after it, in the file (text before file_len) with blanks
		 * around it allowed */
		bool file = i < file_len;
		if (memcmp(public_text + i, "key", 3) || (i && !strchr(" \t\r\n", public_text[i - 1])))
			continue;
		size_t j = i + 3;
		while (file && j < n && (public_text[j] == ' ' || public_text[j] == '\t'))
			j++;
		if (j == n || public_text[j] != '=')
			continue;
		j++;
		while (file && j < n && (public_text[j] == ' ' || public_text[j] == '\t'))
			j++;
		while (j < (file ? file_len : n) && public_text[j] && !strchr(file ? "\r\n" : " \t\r\n", public_text[j]))
			public_text[j++] = '#';
	}
}

/* No 8 bytes of the key, as hex in either case, are in s unless the
 * input has them outside a key value. */
static void key_absent(const char *s, const char *what)
{
	if (config.key_len < 16)
		return;
	char h[17];
	for (u32 off = 0; off + 8 <= config.key_len; off++) {
		hex(config.key + off, 8, false, h);
		if (strcasestr(s, h) && !strcasestr(public_text, h))
			fuzz_fail("key bytes %u.. in %s: %s", off, what, s);
	}
}

static bool terminated(const char *s, size_t cap) { return memchr(s, 0, cap) != NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		defaults = config;
		fake_log_hook = on_log;
		init = true;
	}
	if (size < 1 || size > 8192)
		return 0;
	config = defaults;
	logged_len = 0;
	logged[0] = 0;

	u8 how = data[0] % 3;
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	const u8 *split = memchr(text, 0xFF, n);
	size_t flen = how == 2 && split ? (size_t)(split - (const u8 *)text) : n;
	make_public(text, n, how == 1 ? 0 : flen);

	if (how != 1) {
		char *f = malloc(flen ? flen : 1); /* exactly flen bytes: ASan sees overreads */
		memcpy(f, text, flen);
		int rc = config_parse_file("ferry.cfg", f, flen);
		fuzz_assert(rc == 0 || rc == -E_INVAL);
		free(f);
	}
	if (how != 0) {
		const char *c = how == 1 ? text : text + flen + (split ? 1 : 0);
		size_t clen = n - (size_t)(c - text);
		char *line = malloc(clen + 1);
		memcpy(line, c, clen);
		line[clen] = 0;
		int rc = config_parse_cmdline(line);
		fuzz_assert(rc == 0 || rc == -E_INVAL);
		char masked[8192];
		config_mask_secrets(line, masked, sizeof(masked));
		fuzz_assert(terminated(masked, sizeof(masked)));
		key_absent(masked, "the masked command line");
		free(line);
	}
	int rc = config_check();
	fuzz_assert(rc == 0 || rc == -E_INVAL);
	fuzz_assert(config.key_len == 0 || (config.key_len >= 16 && config.key_len <= CONFIG_KEY_MAX));
	fuzz_assert(terminated(config.client_name, sizeof(config.client_name)));
	fuzz_assert(terminated(config.clients, sizeof(config.clients)));
	fuzz_assert(terminated(config.kernel, sizeof(config.kernel)));
	fuzz_assert(terminated(config.initrd, sizeof(config.initrd)));
	fuzz_assert(!config.have_guest_cmds || terminated(config.guest_cmds, sizeof(config.guest_cmds)));
	fuzz_assert(config_role_name(config.role) != NULL);
	fuzz_assert(config.export_lines <= CONFIG_EXPORTS_MAX && config.nexports <= CONFIG_EXPORTS_MAX);
	fuzz_assert(rc < 0 || config.role != ROLE_SERVER || config.nexports >= 1);
	for (unsigned i = 0; i < CONFIG_EXPORTS_MAX; i++) {
		const struct config_export *e = &config.exports[i];
		fuzz_assert(terminated(e->name, sizeof(e->name)) && terminated(e->disk, sizeof(e->disk)) &&
			    terminated(e->clients, sizeof(e->clients)) && e->aoe_nallow <= CONFIG_AOE_ALLOW_MAX);
	}
	key_absent(logged, "a log line");
	return 0;
}

void fuzz_seeds(void (*emit)(const void *buf, size_t len))
{
	static const char *const seeds[] = {
		("\0# ferry configuration\n\n  role = client \r\n\tnic=virtio\n"
		 "key = 00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n"
		 "server = 52:54:00:5e:00:01\nguest_cmds = ls /; sha256 \"/A B.TXT\"\n"),
		"\1role=server key=000102030405060708090a0b0c0d0e0f clients=alpha,beta read_only=1 loglevel=debug",
		"\1role=client client=alpha key=00112233445566778899aabbccddeeff00112233445566778899aabbccddeefX",
		("\2role=server\nkernel=vmlinuz\ninitrd=initrd.img\npoll_hz=2000\n\xffrole=client dead_time=5 "
		 "discover_timeout=3 virtio_blk=1 key=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"),
		"\0role=pump-send\npump_frames=100\npump_size=1514\npump_window=8\nnic=e1000\n",
		("\0role=server\nkey=000102030405060708090a0b0c0d0e0f\naoe=on\n"
		 "export = home disk=virtio0 aoe=e1.0 clients=alice,bob aoe_allow=52:54:00:c1:00:01 shared=no\n"
		 "export = lib disk=ahci0:port1 read_only=yes aoe=e1.1\nexport = x disk=virtio0\n"),
		"\1role=client key=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff export=3",
	};
	for (unsigned i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		emit(seeds[i], 1 + strlen(seeds[i] + 1));
}
