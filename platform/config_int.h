/* What platform/config.c shares with the export lines' parser
 * (platform/config_export.c): the error line's prefix and the value
 * parsers, each of which logs one line naming the key on a bad value. */
#ifndef FERRY_CONFIG_INT_H
#define FERRY_CONFIG_INT_H

#include "config.h"
#include "console.h"

/* "" (the command line) or "ferry.cfg line 12: ". */
extern char config_where[48];
#define cfg_err(fmt, ...) log_err("config: %s" fmt, config_where, ##__VA_ARGS__)

struct choice {
	const char *name;
	int value;
};
extern const struct choice config_yesno[];

/* How much of a bad value an error line may quote (see config.c). */
int config_echo_len(const char *v, size_t vlen);
/* Each returns 0, or -E_INVAL after logging the error line. */
int config_choice(const char *key, const char *v, size_t vlen, const struct choice *list, int *out);
int config_clients(const char *v, size_t vlen, char *out);      /* out[CONFIG_CLIENTS_MAX + 1] */
int config_disk(const char *v, size_t vlen, char *out);         /* out[CONFIG_DISK_MAX + 1] */
int config_mac_list(const char *key, const char *v, size_t vlen, u8 (*out)[6], u32 *nout);
int config_aoe_addr(const char *key, const char *v, size_t vlen, u16 *shelf, u8 *slot);
/* export = ...: a server's export line, or a client's export number. */
int config_export(const char *v, size_t vlen);
/* The export lines against each other and the role (config_check). */
int config_check_exports(void);

#endif
