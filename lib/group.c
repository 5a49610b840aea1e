#include "lib/group.h"
#include "lib/sysfs.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int iov_group_gid(const char *name, gid_t *gid)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, len = strlen(name);
	int ret = -ENOENT;
	FILE *f;

	if (!*iov_sysroot()) {
		struct group *g;

		errno = 0;
		g = getgrnam(name);
		if (!g)
			return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
		*gid = g->gr_gid;
		return 0;
	}
	if (iov_path(path, sizeof(path), "/etc/group") < 0)
		return -ENAMETOOLONG;
	if (!(f = fopen(path, "re")))
		return errno == ENOENT ? -ENODATA : -errno;
	/* name:password:gid:members */
	while (getline(&line, &cap, f) > 0) {
		char *p = line + len, *end;
		unsigned long v;

		if (strncmp(line, name, len) != 0 || *p != ':' || !(p = strchr(p + 1, ':')))
			continue;
		v = strtoul(p + 1, &end, 10);
		if (end == p + 1 || (*end != ':' && *end != '\n' && *end))
			continue;
		*gid = (gid_t)v;
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}
