#include "config.h"
#include "config_int.h"
#include "console.h"
#include "nic.h"
#include "lib/fmt.h"
#include "lib/string.h"

struct ferry_config config = {
	.loglevel = LOG_INFO,
	.role = ROLE_LOCAL,
	.nic = NIC_ANY,
	.discover_timeout = 60,
	.dead_time = 180,
	.poll_hz = 1000,
	.net_buffers = 16,
	.mtu = ETH_MTU,
	.pump_frames = 10000,
	.pump_size = 1514,
	.pump_window = 32,
	.virtio_blk = true,
	.ncq = true,
};

/* Where the value being parsed came from, for error messages:
 * "" (the command line) or "ferry.cfg line 12: ". */
char config_where[48];
#define where config_where

/* A value quoted in an error: up to its first blank or control character,
 * at most CFG_ECHO_MAX characters.  A line or word that went wrong may
 * hold the key (a misplaced line break, "nic=virtio key=..." on one line
 * of the file), and the log goes to the serial port and the screen: a
 * quote shows too little of it to matter (6 bytes at most). */
#define CFG_ECHO_MAX 12
int config_echo_len(const char *v, size_t vlen)
{
	size_t n = 0;
	while (n < vlen && n < CFG_ECHO_MAX && (u8)v[n] > ' ' && (u8)v[n] < 0x7f)
		n++;
	return (int)n;
}

static const struct choice loglevels[] = {
	{ "error", LOG_ERR }, { "warn", LOG_WARN }, { "info", LOG_INFO }, { "debug", LOG_DEBUG }, { NULL, 0 },
};
static const struct choice roles[] = {
	{ "local", ROLE_LOCAL }, { "client", ROLE_CLIENT }, { "server", ROLE_SERVER },
	{ "pump-echo", ROLE_PUMP_ECHO }, { "pump-send", ROLE_PUMP_SEND }, { NULL, 0 },
};
const struct choice config_yesno[] = {
	{ "no", 0 }, { "yes", 1 }, { NULL, 0 },
};
static const struct choice onoff[] = {
	{ "off", 0 }, { "on", 1 }, { NULL, 0 },
};
static const struct choice protocols[] = {
	{ "ferry", PROTO_FERRY }, { "aoe", PROTO_AOE }, { NULL, 0 },
};
static const struct choice nics[] = {
	{ "any", NIC_ANY }, { "e1000", NIC_E1000 }, { "virtio", NIC_VIRTIO }, { NULL, 0 },
};

const char *config_role_name(enum ferry_role r)
{
	for (const struct choice *c = roles; c->name; c++)
		if (c->value == (int)r)
			return c->name;
	return "?";
}

int config_choice(const char *key, const char *v, size_t vlen, const struct choice *list, int *out)
{
	for (const struct choice *c = list; c->name; c++)
		if (strlen(c->name) == vlen && !strncmp(c->name, v, vlen)) {
			*out = c->value;
			return 0;
		}
	char allowed[128] = "";
	size_t n = 0;
	for (const struct choice *c = list; c->name && n < sizeof(allowed); c++)
		n += (size_t)fmt_snprintf(allowed + n, sizeof(allowed) - n, "%s%s", c->name, c[1].name ? ", " : "");
	cfg_err("%s=%.*s is not one of: %s", key, config_echo_len(v, vlen), v, allowed);
	return -E_INVAL;
}

static int set_u32(const char *key, const char *v, size_t vlen, u32 min, u32 max, u32 *out)
{
	u64 x;
	if (str_to_u64(v, vlen, &x) < 0 || x < min || x > max) {
		cfg_err("%s=%.*s must be a number from %u to %u", key, config_echo_len(v, vlen), v, min, max);
		return -E_INVAL;
	}
	*out = (u32)x;
	return 0;
}

static int hex_digit(char c)
{
	c = to_lower(c);
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The key: hex, 32 to 128 digits (16 to 64 bytes). */
static int set_psk(const char *v, size_t vlen)
{
	if (vlen < 32 || vlen > 2 * CONFIG_KEY_MAX || vlen % 2) {
		cfg_err("key must be 32 to %u hex digits (16 to %u bytes), an even number; got %zu characters",
			2 * CONFIG_KEY_MAX, CONFIG_KEY_MAX, vlen);
		return -E_INVAL;
	}
	for (size_t i = 0; i < vlen; i += 2) {
		int hi = hex_digit(v[i]), lo = hex_digit(v[i + 1]);
		if (hi < 0 || lo < 0) {
			cfg_err("key has a character that is not a hex digit at position %zu", i + (hi < 0 ? 0 : 1));
			return -E_INVAL;
		}
		config.key[i / 2] = (u8)(hi << 4 | lo);
	}
	config.key_len = (u32)(vlen / 2);
	return 0;
}

/* A client name: 1 to 32 bytes of printable ASCII without blanks or ','
 * (the rule of net/proto.h net_name_len). */
static bool name_ok(const char *v, size_t vlen)
{
	if (!vlen || vlen > CONFIG_CLIENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < vlen; i++)
		if ((u8)v[i] <= ' ' || (u8)v[i] > 0x7E || v[i] == ',')
			return false;
	return true;
}

static int set_client_name(const char *v, size_t vlen)
{
	if (!name_ok(v, vlen)) {
		cfg_err("client=%.*s: a client name is 1 to %u characters of printable ASCII without blanks or ','",
			config_echo_len(v, vlen), v, CONFIG_CLIENT_NAME_MAX);
		return -E_INVAL;
	}
	memcpy(config.client_name, v, vlen);
	config.client_name[vlen] = 0;
	return 0;
}

/* clients: names separated by ',' (blanks around them allowed), stored
 * as "a,b,c" in out[CONFIG_CLIENTS_MAX + 1]. */
int config_clients(const char *v, size_t vlen, char *out)
{
	size_t o = 0, i = 0;
	for (;;) {
		size_t b = i;
		while (i < vlen && v[i] != ',')
			i++;
		size_t e = i;
		while (b < e && (v[b] == ' ' || v[b] == '\t'))
			b++;
		while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (!name_ok(v + b, e - b)) {
			cfg_err("clients: \"%.*s\" is not a client name (1 to %u characters of printable ASCII without "
				"blanks or ',')", config_echo_len(v + b, e - b), v + b, CONFIG_CLIENT_NAME_MAX);
			return -E_INVAL;
		}
		if (o + (o ? 1 : 0) + (e - b) > CONFIG_CLIENTS_MAX) {
			cfg_err("clients is longer than %u characters", CONFIG_CLIENTS_MAX);
			return -E_INVAL;
		}
		if (o)
			out[o++] = ',';
		memcpy(out + o, v + b, e - b);
		o += e - b;
		if (i == vlen)
			break;
		i++; /* the ',' */
	}
	out[o] = 0;
	return 0;
}

/* A MAC address: six hex pairs separated by ':' or '-'. */
static int set_mac(const char *key, const char *v, size_t vlen, u8 *mac)
{
	if (vlen != 17)
		goto bad;
	for (unsigned i = 0; i < 6; i++) {
		int hi = hex_digit(v[3 * i]), lo = hex_digit(v[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && v[3 * i + 2] != ':' && v[3 * i + 2] != '-'))
			goto bad;
		mac[i] = (u8)(hi << 4 | lo);
	}
	return 0;
bad:
	cfg_err("%s=%.*s is not a MAC address like 52:54:00:12:34:56", key, config_echo_len(v, vlen), v);
	return -E_INVAL;
}

/* disk: a disk's name as ferry's drivers give it (docs/configuration.md):
 * a kind ferry has a driver for, then lower-case letters, digits, ':' and
 * '-'.  Whether that disk exists is known only once the drivers probed. */
int config_disk(const char *v, size_t vlen, char *out)
{
	static const char *const kinds[] = { "ahci", "ata", "nvme", "virtio" };
	bool kind = false;
	for (unsigned i = 0; i < ARRAY_SIZE(kinds); i++)
		kind |= vlen > strlen(kinds[i]) && !strncmp(v, kinds[i], strlen(kinds[i]));
	bool chars = vlen > 0 && vlen <= CONFIG_DISK_MAX;
	for (size_t i = 0; chars && i < vlen; i++)
		chars = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == ':' || v[i] == '-';
	if (!kind || !chars) {
		cfg_err("disk=%.*s: name a disk as ferry's log does: ahci0:portN, ata0:primary-master, nvme0nN or "
			"virtio0 (at most %u characters)", config_echo_len(v, vlen), v, CONFIG_DISK_MAX);
		return -E_INVAL;
	}
	memcpy(out, v, vlen);
	out[vlen] = 0;
	return 0;
}

/* aoe_allow: MAC addresses separated by ',' (blanks around them allowed). */
int config_mac_list(const char *key, const char *v, size_t vlen, u8 (*out)[6], u32 *nout)
{
	u8 macs[CONFIG_AOE_ALLOW_MAX][6];
	u32 n = 0;
	for (size_t i = 0; i <= vlen;) {
		size_t b = i;
		while (i < vlen && v[i] != ',')
			i++;
		size_t e = i++;
		while (b < e && (v[b] == ' ' || v[b] == '\t'))
			b++;
		while (e > b && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (n == CONFIG_AOE_ALLOW_MAX) {
			cfg_err("%s lists more than %u addresses", key, CONFIG_AOE_ALLOW_MAX);
			return -E_INVAL;
		}
		if (set_mac(key, v + b, e - b, macs[n]) < 0)
			return -E_INVAL;
		n++;
	}
	memcpy(out, macs, sizeof(macs[0]) * n);
	*nout = n;
	return 0;
}

/* kernel, initrd: the name of a file in the stick's ferry folder, which
 * the loaders give as a boot module of that name.  A module's name is one
 * word, so no blanks; no folder; not ferry's own two files. */
static int set_file_name(const char *key, const char *v, size_t vlen, char *out)
{
	if (!vlen) {
		cfg_err("%s needs a file name (a file in the ferry folder of the USB stick)", key);
		return -E_INVAL;
	}
	if (vlen > CONFIG_NAME_MAX) {
		cfg_err("%s=%.*s... is %zu characters; a file name has at most %u", key, config_echo_len(v, vlen), v, vlen,
			CONFIG_NAME_MAX);
		return -E_INVAL;
	}
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] == '/' || v[i] == '\\') {
			cfg_err("%s=%.*s: name a file in the ferry folder itself, without a folder ('%c')", key,
				config_echo_len(v, vlen), v, v[i]);
			return -E_INVAL;
		}
		if ((u8)v[i] <= ' ' || (u8)v[i] >= 0x7f) {
			cfg_err("%s=%.*s: a file name here is printable ASCII without blanks", key, config_echo_len(v, vlen), v);
			return -E_INVAL;
		}
	}
	memcpy(out, v, vlen);
	out[vlen] = 0;
	if (!str_casecmp(out, CONFIG_FILE_NAME) || !str_casecmp(out, "ferry.elf")) {
		cfg_err("%s=%s names ferry's own file, not a guest's", key, out);
		out[0] = 0;
		return -E_INVAL;
	}
	return 0;
}

/* target: an AoE address eS.N (shelf 0-65534, slot 0-254), as Linux names
 * its disks. */
int config_aoe_addr(const char *key, const char *v, size_t vlen, u16 *shelf_out, u8 *slot_out)
{
	size_t dot = 1;
	while (dot < vlen && v[dot] != '.')
		dot++;
	u64 shelf, slot;
	if (vlen < 4 || to_lower(v[0]) != 'e' || dot >= vlen || str_to_u64(v + 1, dot - 1, &shelf) < 0 ||
	    str_to_u64(v + dot + 1, vlen - dot - 1, &slot) < 0 || shelf > 0xFFFE || slot > 0xFE) {
		cfg_err("%s=%.*s is not an AoE address eS.N (shelf 0-65534, slot 0-254), e.g. e0.0", key,
			(int)MIN(vlen, (size_t)40), v);
		return -E_INVAL;
	}
	*shelf_out = (u16)shelf;
	*slot_out = (u8)slot;
	return 0;
}

/* The AoE keys, target's and initiator's (docs/aoe.md): 0 or -E_INVAL, 1 when key is none
 * of them. */
static int set_aoe_key(const char *key, const char *v, size_t vlen)
{
	int choice, rc;
	u32 x;
	if (!strcmp(key, "aoe")) {
		if ((rc = config_choice(key, v, vlen, onoff, &choice)) == 0)
			config.aoe = choice;
		return rc;
	}
	if (!strcmp(key, "aoe_shelf")) {
		if ((rc = set_u32(key, v, vlen, 0, 0xFFFE, &x)) == 0)
			config.aoe_shelf = (u16)x;
		config.aoe_addr_given = true;
		return rc;
	}
	if (!strcmp(key, "aoe_slot")) {
		if ((rc = set_u32(key, v, vlen, 0, 0xFE, &x)) == 0)
			config.aoe_slot = (u8)x;
		config.aoe_addr_given = true;
		return rc;
	}
	if (!strcmp(key, "aoe_allow"))
		return config_mac_list(key, v, vlen, config.aoe_allow, &config.aoe_nallow);
	if (!strcmp(key, "protocol")) {
		if ((rc = config_choice(key, v, vlen, protocols, &choice)) == 0)
			config.protocol = (enum net_protocol)choice;
		return rc;
	}
	if (!strcmp(key, "target")) {
		config.aoe_want_target = true;
		return config_aoe_addr(key, v, vlen, &config.aoe_target_shelf, &config.aoe_target_slot);
	}
	return 1;
}

/* The keys that are a number in a range: 0 or -E_INVAL, 1 for another key. */
static int set_number_key(const char *key, const char *v, size_t vlen)
{
	static const struct {
		const char *name;
		u32 min, max;
		u32 *field;
	} keys[] = {
		{ "discover_timeout", 1, 86400, &config.discover_timeout },
		{ "dead_time", 1, 86400, &config.dead_time },
		{ "poll_hz", 10, 10000, &config.poll_hz },
		{ "net_buffers", 1, 128, &config.net_buffers },
		{ "burst", 4, 256, &config.burst },
		{ "mtu", ETH_MTU, ETH_JUMBO_MTU, &config.mtu },
		{ "pump_frames", 1, 100000000, &config.pump_frames },
		{ "pump_size", 64, NIC_JUMBO_FRAME, &config.pump_size },
		{ "pump_window", 1, 1024, &config.pump_window },
	};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(key, keys[i].name))
			return set_u32(key, v, vlen, keys[i].min, keys[i].max, keys[i].field);
	return 1;
}

static int set_key(const char *k, size_t klen, const char *v, size_t vlen)
{
	char key[32];
	if (klen >= sizeof(key)) {
		cfg_err("unknown key %.*s", (int)klen, k);
		return -E_INVAL;
	}
	memcpy(key, k, klen);
	key[klen] = 0;
	int choice, rc;
	if (!strcmp(key, "loglevel")) {
		if ((rc = config_choice(key, v, vlen, loglevels, &choice)) == 0)
			config.loglevel = choice;
		return rc;
	}
	if (!strcmp(key, "role")) {
		if ((rc = config_choice(key, v, vlen, roles, &choice)) == 0)
			config.role = (enum ferry_role)choice;
		return rc;
	}
	if (!strcmp(key, "nic")) {
		if ((rc = config_choice(key, v, vlen, nics, &choice)) == 0)
			config.nic = (enum nic_choice)choice;
		return rc;
	}
	if (!strcmp(key, "disk"))
		return config_disk(v, vlen, config.disk);
	if (!strcmp(key, "key"))
		return set_psk(v, vlen);
	if (!strcmp(key, "client"))
		return set_client_name(v, vlen);
	if (!strcmp(key, "clients"))
		return config_clients(v, vlen, config.clients);
	if (!strcmp(key, "guest_cmds")) {
		if (vlen >= sizeof(config.guest_cmds)) {
			cfg_err("guest_cmds is %zu bytes; at most %zu", vlen, sizeof(config.guest_cmds) - 1);
			return -E_INVAL;
		}
		memcpy(config.guest_cmds, v, vlen);
		config.guest_cmds[vlen] = 0;
		config.have_guest_cmds = true;
		return 0;
	}
	if (!strcmp(key, "kernel"))
		return set_file_name(key, v, vlen, config.kernel);
	if (!strcmp(key, "initrd"))
		return set_file_name(key, v, vlen, config.initrd);
	if (!strcmp(key, "server")) {
		config.want_server = true;
		return set_mac(key, v, vlen, config.server_mac);
	}
	if (!strcmp(key, "read_only")) {
		if ((rc = config_choice(key, v, vlen, config_yesno, &choice)) == 0)
			config.read_only = choice;
		return rc;
	}
	if ((rc = set_aoe_key(key, v, vlen)) != 1)
		return rc;
	if (!strcmp(key, "export"))
		return config_export(v, vlen);
	if (!strcmp(key, "virtio_blk") || !strcmp(key, "ncq")) {
		if ((rc = config_choice(key, v, vlen, onoff, &choice)) == 0)
			*(key[0] == 'n' ? &config.ncq : &config.virtio_blk) = choice;
		return rc;
	}
	if ((rc = set_number_key(key, v, vlen)) != 1)
		return rc;
	cfg_err("unknown key %s (see docs/configuration.md)", key);
	return -E_INVAL;
}

int config_parse_cmdline(const char *cmdline)
{
	bool first = true;
	where[0] = 0;
	for (const char *p = cmdline;; first = false) {
		while (*p == ' ')
			p++;
		const char *end = p;
		while (*end && *end != ' ')
			end++;
		if (end == p)
			return 0;
		const char *eq = p;
		while (eq < end && *eq != '=')
			eq++;
		if (eq < end) {
			if (set_key(p, (size_t)(eq - p), eq + 1, (size_t)(end - eq - 1)) < 0)
				return -E_INVAL;
		} else if (!first) {
			/* Only the first word may lack '=': loaders put the kernel's
			 * path there. */
			cfg_err("\"%.*s\" is not key=value", config_echo_len(p, (size_t)(end - p)), p);
			return -E_INVAL;
		}
		p = end;
	}
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int config_parse_file(const char *name, const char *text, size_t len)
{
	unsigned line = 0;
	for (size_t pos = 0; pos < len;) {
		size_t eol = pos;
		while (eol < len && text[eol] != '\n')
			eol++;
		line++;
		fmt_snprintf(where, sizeof(where), "%s line %u: ", name, line);
		size_t b = pos, e = eol;
		pos = eol + 1;
		while (b < e && is_blank(text[b]))
			b++;
		while (e > b && is_blank(text[e - 1]))
			e--;
		if (b == e || text[b] == '#')
			continue;
		for (size_t i = b; i < e; i++)
			if ((u8)text[i] < 0x20 && text[i] != '\t') {
				cfg_err("control character in the line");
				return -E_INVAL;
			}
		size_t eq = b;
		while (eq < e && text[eq] != '=')
			eq++;
		if (eq == e) {
			cfg_err("\"%.*s\" is not key = value", config_echo_len(text + b, e - b), text + b);
			return -E_INVAL;
		}
		size_t ke = eq, vb = eq + 1;
		while (ke > b && is_blank(text[ke - 1]))
			ke--;
		while (vb < e && is_blank(text[vb]))
			vb++;
		if (ke == b) {
			cfg_err("no key before '='");
			return -E_INVAL;
		}
		if (set_key(text + b, ke - b, text + vb, e - vb) < 0)
			return -E_INVAL;
	}
	where[0] = 0;
	return 0;
}

int config_check(void)
{
	where[0] = 0;
	if (config.aoe && config.role != ROLE_SERVER) {
		cfg_err("aoe=on makes a server answer ATA over Ethernet; it needs role=server");
		return -E_INVAL;
	}
	if (config.role == ROLE_SERVER && !config.key_len) {
		cfg_err("key is required for role=server (the master key clients' keys derive from, 32+ hex digits)");
		return -E_INVAL;
	}
	if (config.protocol == PROTO_AOE || config.aoe_want_target) {
		if (config.role != ROLE_CLIENT || config.protocol != PROTO_AOE) {
			cfg_err("protocol=aoe and target= are for role=client (a server answers AoE with aoe=on)");
			return -E_INVAL;
		}
		if (config.key_len) {
			cfg_err("key is not used with protocol=aoe: AoE has no authentication (docs/aoe.md)");
			return -E_INVAL;
		}
	} else if (config.role == ROLE_CLIENT && config.key_len != CONFIG_CLIENT_KEY_LEN) {
		cfg_err("key for role=client is this client's own key, %u hex digits: tools/ferrykey.py derive "
			"--master <the server's key> --client <this client's name>%s",
			2 * CONFIG_CLIENT_KEY_LEN, config.key_len ? "" : " (no key given)");
		return -E_INVAL;
	}
	if (config_check_exports() < 0)
		return -E_INVAL;
	if (config.kernel[0] && !str_casecmp(config.kernel, config.initrd)) {
		cfg_err("initrd=%s names the kernel's own file", config.initrd);
		return -E_INVAL;
	}
	return 0;
}

bool config_is_file_module(const char *s)
{
	const char *base = s;
	for (const char *p = s; *p; p++)
		if (*p == '/')
			base = p + 1;
	return !strcmp(base, CONFIG_FILE_NAME);
}

void config_mask_secrets(const char *cmdline, char *out, size_t size)
{
	size_t o = 0;
	if (!size)
		return;
	/* A secret starts after any blank or control byte: the parser splits
	 * on ' ' alone, but a "key=" after a newline or tab (in a word it
	 * refuses) must not be printed either.  It ends where the parser's
	 * word does: at a space, control bytes included. */
	for (const char *p = cmdline; *p && o + 1 < size;) {
		bool secret = (p == cmdline || (u8)p[-1] <= ' ') && !strncmp(p, "key=", 4);
		if (!secret) {
			out[o++] = *p++;
			continue;
		}
		o += str_copy(out + o, "key=<hidden>", size - o);
		if (o >= size)
			o = size - 1;
		while (*p && *p != ' ') /* to the end of the parser's word */
			p++;
	}
	out[o] = 0;
}
