#include "drivers.h"
#include "ahci.h"
#include "ata.h"
#include "e1000.h"
#include "nvme.h"
#include "vioblk.h"
#include "virtio_net.h"
#include "lib/string.h"

static char found[128];

/* Is name an item of found already (a second probe, for another export)? */
static bool found_has(const char *name)
{
	size_t len = strlen(name);
	for (const char *p = found; *p;) {
		const char *e = p;
		while (*e && *e != ',')
			e++;
		if ((size_t)(e - p) == len && !memcmp(p, name, len))
			return true;
		p = *e ? e + 2 : e;
	}
	return false;
}

bool blk_take(const char *want, const char *name)
{
	size_t n = strlen(found);
	if (!found_has(name) && n + strlen(name) + 3 < sizeof(found)) {
		if (n)
			memcpy(found + n, ", ", 2), n += 2;
		str_copy(found + n, name, sizeof(found) - n);
	}
	return !want || !strcmp(want, name);
}

const char *blk_found_names(void)
{
	return found[0] ? found : "none";
}

const struct blk_driver *const blk_drivers[] = {
	&ahci_driver,
	&ata_driver,
	&nvme_driver,
	&vioblk_driver,
	NULL,
};

/* Each NIC driver adds its line here. */
const struct nic_driver *const nic_drivers[] = {
	&e1000_driver,
	&virtio_net_driver,
	NULL,
};
