/* export = ...: the disks a server exports, one line each, and the
 * export a client imports (docs/configuration.md, "Several exports").
 *
 *   export = home    disk=virtio0 aoe=e1.0 clients=alice aoe_allow=52:54:00:c1:00:01
 *   export = library disk=virtio1 read_only=yes
 *
 * The first word names the export, the rest are key=value options
 * separated by blanks.  An export's number, its device index in ferry's
 * protocol, is its line's place among the export lines, from 0.  A
 * client's export = N is that number: a value of digits alone. */
#include "config_int.h"
#include "lib/string.h"

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* An export's name: a letter, then letters, digits, '-', '_' or '.'. */
static bool export_name_ok(const char *v, size_t n)
{
	if (!n || n > CONFIG_EXPORT_NAME_MAX || !((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool all_digits(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return n > 0;
}

static const char *const export_keys[] = { "disk", "clients", "aoe", "aoe_allow", "read_only", "shared" };

/* The option's index in export_keys, once per line: a second one is an
 * error (which of the two was meant?).  -1 after the error line. */
static int export_key_once(const struct config_export *e, const char *w, size_t eq, unsigned *seen)
{
	for (unsigned k = 0; k < ARRAY_SIZE(export_keys); k++) {
		if (strlen(export_keys[k]) != eq || strncmp(w, export_keys[k], eq))
			continue;
		if (*seen & (1u << k)) {
			cfg_err("export %s: %s= given twice in its line; give each option once", e->name, export_keys[k]);
			return -1;
		}
		*seen |= 1u << k;
		return (int)k;
	}
	return (int)ARRAY_SIZE(export_keys); /* unknown: export_option says so */
}

/* One option of an export line, "key=value". */
static int export_option(struct config_export *e, const char *w, size_t n, unsigned *seen)
{
	size_t eq = 0;
	while (eq < n && w[eq] != '=')
		eq++;
	const char *v = w + eq + 1;
	size_t vlen = eq < n ? n - eq - 1 : 0;
	int choice;
#define OPT(k) (eq == sizeof(k) - 1 && !strncmp(w, k, eq))
	if (eq == n) {
		cfg_err("export %s: \"%.*s\" is not key=value (disk, aoe, clients, aoe_allow, read_only, shared)",
			e->name, config_echo_len(w, n), w);
		return -E_INVAL;
	}
	if (export_key_once(e, w, eq, seen) < 0)
		return -E_INVAL;
	if (OPT("disk"))
		return config_disk(v, vlen, e->disk);
	if (OPT("clients"))
		return config_clients(v, vlen, e->clients);
	if (OPT("aoe")) {
		e->aoe = true;
		return config_aoe_addr("aoe", v, vlen, &e->aoe_shelf, &e->aoe_slot);
	}
	if (OPT("aoe_allow")) {
		e->allow_given = true;
		return config_mac_list("aoe_allow", v, vlen, e->aoe_allow, &e->aoe_nallow);
	}
	if (OPT("read_only")) {
		e->read_only_given = true;
		if (config_choice("read_only", v, vlen, config_yesno, &choice) < 0)
			return -E_INVAL;
		e->read_only = choice;
		return 0;
	}
	if (OPT("shared")) {
		if (config_choice("shared", v, vlen, config_yesno, &choice) < 0)
			return -E_INVAL;
		e->shared = choice;
		return 0;
	}
#undef OPT
	cfg_err("export %s: unknown option %.*s (disk, aoe, clients, aoe_allow, read_only, shared)", e->name,
		(int)MIN(eq, (size_t)24), w);
	return -E_INVAL;
}

int config_export(const char *v, size_t vlen)
{
	if (all_digits(v, vlen)) {
		u64 x;
		if (str_to_u64(v, vlen, &x) < 0 || x > 0xFFFE) {
			cfg_err("export=%.*s: a client's export is a number from 0 to 65534", config_echo_len(v, vlen), v);
			return -E_INVAL;
		}
		config.want_export = true;
		config.export_index = (u16)x;
		return 0;
	}
	size_t i = 0;
	while (i < vlen && !is_blank(v[i]))
		i++;
	if (!export_name_ok(v, i)) {
		cfg_err("export=%.*s: an export line starts with its name (a letter, then letters, digits, '-', '_' "
			"or '.', at most %u), e.g. export = home disk=virtio0", config_echo_len(v, vlen), v,
			CONFIG_EXPORT_NAME_MAX);
		return -E_INVAL;
	}
	if (config.export_lines == CONFIG_EXPORTS_MAX) {
		cfg_err("more than %u export lines", CONFIG_EXPORTS_MAX);
		return -E_INVAL;
	}
	struct config_export *e = &config.exports[config.export_lines];
	memset(e, 0, sizeof(*e));
	memcpy(e->name, v, i);
	unsigned seen = 0;
	for (;;) {
		while (i < vlen && is_blank(v[i]))
			i++;
		if (i == vlen)
			break;
		size_t b = i;
		while (i < vlen && !is_blank(v[i]))
			i++;
		if (export_option(e, v + b, i - b, &seen) < 0)
			return -E_INVAL;
	}
	config.export_lines++;
	return 0;
}

/* The export as a server without export lines always had it: disk (or the
 * first found), read_only, aoe_shelf.aoe_slot, aoe_allow; shared, since a
 * writer rule would change what existing configurations do. */
static void implicit_export(void)
{
	struct config_export *e = &config.exports[0];
	memset(e, 0, sizeof(*e));
	str_copy(e->name, "default", sizeof(e->name));
	str_copy(e->disk, config.disk, sizeof(e->disk));
	e->read_only = config.read_only;
	e->shared = true;
	e->aoe = config.aoe;
	e->aoe_shelf = config.aoe_shelf;
	e->aoe_slot = config.aoe_slot;
	memcpy(e->aoe_allow, config.aoe_allow, sizeof(e->aoe_allow));
	e->aoe_nallow = config.aoe_nallow;
	config.nexports = 1;
}

/* An export's clients= may only narrow the server's clients=: a name the
 * server does not enroll could never import it. */
static int export_clients_enrolled(const struct config_export *e)
{
	if (!config.clients[0] || !e->clients[0])
		return 0;
	for (const char *p = e->clients;;) {
		const char *c = p;
		while (*c && *c != ',')
			c++;
		if (!str_list_has(config.clients, p, (size_t)(c - p))) {
			cfg_err("export %s: clients= names %.*s, who is not in the server's clients= (%s): that client "
				"could never import it", e->name, (int)(c - p), p, config.clients);
			return -E_INVAL;
		}
		if (!*c)
			return 0;
		p = c + 1;
	}
}

/* Export i against the ones before it: names, disks and AoE addresses
 * are each one export's. */
static int export_unique(unsigned i)
{
	const struct config_export *e = &config.exports[i];
	for (unsigned j = 0; j < i; j++) {
		const struct config_export *o = &config.exports[j];
		if (!str_casecmp(o->name, e->name)) {
			cfg_err("export %s is named twice (export lines %u and %u)", e->name, j, i);
			return -E_INVAL;
		}
		if (!strcmp(o->disk, e->disk)) {
			cfg_err("exports %s and %s both name disk=%s: one disk is one export (use shared=yes to let "
				"several clients write it)", o->name, e->name, e->disk);
			return -E_INVAL;
		}
		if (o->aoe && e->aoe && o->aoe_shelf == e->aoe_shelf && o->aoe_slot == e->aoe_slot) {
			cfg_err("exports %s and %s both have the AoE address e%u.%u", o->name, e->name, e->aoe_shelf,
				e->aoe_slot);
			return -E_INVAL;
		}
	}
	return 0;
}

static int check_lines(void)
{
	if (config.disk[0] || config.aoe_addr_given) {
		cfg_err("%s is for a server without export lines; with them, each export line names its disk= and aoe=",
			config.disk[0] ? "disk" : "aoe_shelf/aoe_slot");
		return -E_INVAL;
	}
	bool any_aoe = false;
	for (unsigned i = 0; i < config.export_lines; i++) {
		struct config_export *e = &config.exports[i];
		if (!e->disk[0]) {
			cfg_err("export %s names no disk: add disk=NAME (a disk as ferry's log names it, e.g. virtio0)",
				e->name);
			return -E_INVAL;
		}
		if (e->aoe && !config.aoe) {
			cfg_err("export %s has aoe=e%u.%u but aoe is off: set aoe = on to serve AoE", e->name,
				e->aoe_shelf, e->aoe_slot);
			return -E_INVAL;
		}
		if (e->allow_given && !e->aoe) {
			cfg_err("export %s has aoe_allow= but no aoe=eS.N: it is not served over AoE at all; add aoe= "
				"or drop aoe_allow=", e->name);
			return -E_INVAL;
		}
		if (export_clients_enrolled(e) < 0)
			return -E_INVAL;
		if (!e->read_only_given)
			e->read_only = config.read_only;
		if (!e->allow_given) {
			memcpy(e->aoe_allow, config.aoe_allow, sizeof(e->aoe_allow));
			e->aoe_nallow = config.aoe_nallow;
		}
		any_aoe |= e->aoe;
		if (export_unique(i) < 0)
			return -E_INVAL;
	}
	if (config.aoe && !any_aoe) {
		cfg_err("aoe = on, but no export line has an aoe=eS.N address");
		return -E_INVAL;
	}
	config.nexports = config.export_lines;
	return 0;
}

int config_check_exports(void)
{
	config.nexports = 0;
	if (config.want_export && (config.role != ROLE_CLIENT || config.protocol != PROTO_FERRY)) {
		cfg_err("export = %u picks the export a client imports over ferry's protocol (role=client; AoE "
			"clients use target=)%s", config.export_index,
			config.role == ROLE_SERVER ? "; a server's export line starts with a name: export = NAME disk=..." : "");
		return -E_INVAL;
	}
	if (config.role != ROLE_SERVER) {
		if (config.export_lines) {
			cfg_err("export lines (export = %s ...) are for role=server", config.exports[0].name);
			return -E_INVAL;
		}
		return 0;
	}
	if (!config.export_lines) {
		implicit_export();
		return 0;
	}
	return check_lines();
}
