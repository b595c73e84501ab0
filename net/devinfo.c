/* DEVINFO <-> struct blk_info (net/proto.h): what a server says of an
 * export, from its disk's blk_info, and what a client makes of it. */
#include "proto.h"
#include "lib/string.h"

static void text_from_wire(char *dst, const char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void net_devinfo_to_blk(const struct net_b_devinfo *d, struct blk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->sectors = d->sectors;
	info->sector_size = d->sector_size;
	info->max_sectors = d->max_sectors;
	info->read_only = (d->flags & NET_DEVINFO_READ_ONLY) != 0;
	_Static_assert(sizeof(info->model) == sizeof(d->model) + 1, "model length");
	_Static_assert(sizeof(info->serial) == sizeof(d->serial) + 1, "serial length");
	text_from_wire(info->model, d->model, sizeof(d->model));
	text_from_wire(info->serial, d->serial, sizeof(d->serial));
}

/* Printable characters up to the first NUL or n, NUL padding after; a
 * non-printable character is sent as '?'. */
static void text_to_wire(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7E ? src[i] : '?';
	for (; i < n; i++)
		dst[i] = '\0';
}

int net_blk_to_devinfo(const struct blk_info *info, bool read_only, struct net_b_devinfo *d)
{
	u32 ss = info->sector_size;
	if (ss < NET_MIN_SECTOR || ss > NET_MAX_SECTOR || (ss & (ss - 1)) || !info->sectors)
		return -E_NOTSUP;
	memset(d, 0, sizeof(*d));
	d->dev = 0;
	d->ndev = 1;
	d->flags = read_only || info->read_only ? NET_DEVINFO_READ_ONLY : 0;
	d->sectors = info->sectors;
	d->sector_size = ss;
	/* The server splits a request into the disk's own limit itself, so it
	 * offers the protocol's. */
	d->max_sectors = NET_MAX_REQ_BYTES / ss;
	text_to_wire(d->model, info->model, sizeof(d->model));
	text_to_wire(d->serial, info->serial, sizeof(d->serial));
	return 0;
}
