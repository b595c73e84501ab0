#include "config.h"
#include "console.h"
#include "../lib/fmt.h"
#include "../lib/string.h"

struct ferry_config config = {
	.loglevel = LOG_INFO,
	.role = ROLE_LOCAL,
	.nic = NIC_ANY,
	.pump_frames = 10000,
	.pump_size = 1514,
	.pump_window = 32,
};

struct choice {
	const char *name;
	int value;
};

static const struct choice loglevels[] = {
	{ "error", LOG_ERR }, { "warn", LOG_WARN }, { "info", LOG_INFO }, { "debug", LOG_DEBUG }, { NULL, 0 },
};
static const struct choice roles[] = {
	{ "local", ROLE_LOCAL }, { "pump-echo", ROLE_PUMP_ECHO }, { "pump-send", ROLE_PUMP_SEND }, { NULL, 0 },
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

static int set_choice(const char *key, const char *v, size_t vlen, const struct choice *list, int *out)
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
	log_err("config: %s=%.*s is not one of: %s", key, (int)vlen, v, allowed);
	return -E_INVAL;
}

static int set_u32(const char *key, const char *v, size_t vlen, u32 min, u32 max, u32 *out)
{
	u64 x;
	if (str_to_u64(v, vlen, &x) < 0 || x < min || x > max) {
		log_err("config: %s=%.*s must be a number from %u to %u", key, (int)vlen, v, min, max);
		return -E_INVAL;
	}
	*out = (u32)x;
	return 0;
}

static int set_key(const char *k, size_t klen, const char *v, size_t vlen)
{
	char key[32];
	if (klen >= sizeof(key)) {
		log_err("config: unknown key %.*s", (int)klen, k);
		return -E_INVAL;
	}
	memcpy(key, k, klen);
	key[klen] = 0;
	int choice, rc;
	if (!strcmp(key, "loglevel")) {
		if ((rc = set_choice(key, v, vlen, loglevels, &choice)) == 0)
			config.loglevel = choice;
		return rc;
	}
	if (!strcmp(key, "role")) {
		if ((rc = set_choice(key, v, vlen, roles, &choice)) == 0)
			config.role = (enum ferry_role)choice;
		return rc;
	}
	if (!strcmp(key, "nic")) {
		if ((rc = set_choice(key, v, vlen, nics, &choice)) == 0)
			config.nic = (enum nic_choice)choice;
		return rc;
	}
	if (!strcmp(key, "pump_frames"))
		return set_u32(key, v, vlen, 1, 100000000, &config.pump_frames);
	if (!strcmp(key, "pump_size"))
		return set_u32(key, v, vlen, 64, 1514, &config.pump_size);
	if (!strcmp(key, "pump_window"))
		return set_u32(key, v, vlen, 1, 256, &config.pump_window);
	log_err("config: unknown key %s (see docs/configuration.md)", key);
	return -E_INVAL;
}

int config_parse(const char *cmdline)
{
	bool first = true;
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
			log_err("config: \"%.*s\" is not key=value", (int)(end - p), p);
			return -E_INVAL;
		}
		p = end;
	}
}
