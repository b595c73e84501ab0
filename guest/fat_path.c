/* FAT: resolving '/'-separated paths from the root, and fat_stat(). */
#include "fat_internal.h"
#include "lib/string.h"

/* Next component of a path: skips slashes; returns its length (0 at end). */
static size_t path_next(const char **p)
{
	while (**p == '/')
		(*p)++;
	size_t n = 0;
	while ((*p)[n] && (*p)[n] != '/')
		n++;
	return n;
}

static void root_dirent(struct fat_dirent *e)
{
	memset(e, 0, sizeof(*e));
	e->attr = FAT_ATTR_DIRECTORY;
	e->is_dir = true;
}

/* Walks path[0..len) from the root.  *e is the final entry (root_dirent()
 * for the root itself); a directory's cluster 0 means the root. */
int fat_path_walk(struct fat_vol *v, const char *path, size_t len, struct fat_dirent *e)
{
	const char *p = path, *end = path + len;
	root_dirent(e);
	for (;;) {
		size_t n = path_next(&p);
		if (p >= end || n == 0)
			return 0;
		if (p + n > end)
			n = (size_t)(end - p);
		if (n > 255 * 3)
			return -E_NAMETOOLONG;
		if (!e->is_dir)
			return -E_NOTDIR;
		u32 dir = e->cluster;
		bool dot = n == 1 && p[0] == '.', dotdot = n == 2 && p[0] == '.' && p[1] == '.';
		if (dot || (dotdot && dir == 0)) {
			p += n;
			continue;
		}
		if (dir && !fat_clus_ok(v, dir))
			return -E_CORRUPT;
		int rc = fat_dir_lookup(v, dir, p, n, e);
		if (rc)
			return rc;
		/* ".." of a first-level directory may name the FAT32 root by
		 * its real cluster; normalise so 0 always means the root. */
		if (e->is_dir && v->type == 32 && e->cluster == v->root_clus)
			e->cluster = 0;
		p += n;
	}
}

/* Splits path into its parent directory (resolved, into *parent) and the
 * last component. */
int fat_path_parent(struct fat_vol *v, const char *path, struct fat_dirent *parent,
		    const char **leaf, size_t *leaf_len)
{
	size_t len = strlen(path);
	while (len && path[len - 1] == '/')
		len--;
	size_t s = len;
	while (s && path[s - 1] != '/')
		s--;
	*leaf = path + s;
	*leaf_len = len - s;
	if (*leaf_len == 0)
		return -E_INVAL; /* the root itself */
	if (*leaf_len > 255 * 3)
		return -E_NAMETOOLONG;
	if ((*leaf_len == 1 && **leaf == '.') || (*leaf_len == 2 && !memcmp(*leaf, "..", 2)))
		return -E_INVAL;
	int rc = fat_path_walk(v, path, s, parent);
	if (rc)
		return rc;
	if (!parent->is_dir)
		return -E_NOTDIR;
	if (parent->cluster && !fat_clus_ok(v, parent->cluster))
		return -E_CORRUPT;
	return 0;
}

int fat_stat(struct fat_vol *v, const char *path, struct fat_dirent *e)
{
	return fat_path_walk(v, path, strlen(path), e);
}
