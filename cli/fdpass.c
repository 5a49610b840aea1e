/* Files passed to iovd as fds (cli/fdpass.h). */
#include "cli/fdpass.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "lib/varlink.h"

/* Opens path as the caller: the fd, or -errno with why said on stderr. A disk may be a
 * block device and is opened read-write unless rw is false. */
static int open_file(const char *key, const char *path, char *abs, bool disk, bool rw)
{
	struct stat st;
	int fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), e;

	if (fd < 0) {
		e = -errno;
		fprintf(stderr, "iovctl: --%s %s: %s\n", key, path, strerror(errno));
		return e;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || (disk && S_ISBLK(st.st_mode)))) {
		close(fd);
		fprintf(stderr, "iovctl: --%s %s: not a regular file%s\n", key, path,
			disk ? " or a block device" : "");
		return -EINVAL;
	}
	if (!realpath(path, abs))
		snprintf(abs, PATH_MAX, "%s", path);
	return fd;
}

int cli_call_files(const struct cli_ctx *ctx, const char *method, json_t *params,
		   const char *const *keys, json_t **reply)
{
	int fds[VL_MAX_FDS];
	size_t n = 0, i;
	int ret = 0;
	json_t *d;

	for (i = 0; keys[i] && n < VL_MAX_FDS; i++) {
		const char *path = json_string_value(json_object_get(params, keys[i])); /* not printed */
		char abs[PATH_MAX], fkey[64];
		int fd;

		if (!path)
			continue;
		if ((fd = open_file(keys[i], path, abs, false, false)) < 0) {
			ret = 2;
			goto out;
		}
		fds[n] = fd;
		snprintf(fkey, sizeof(fkey), "%s_fd", keys[i]);
		json_object_set_new(params, keys[i], json_string(abs));
		json_object_set_new(params, fkey, json_integer((json_int_t)n++));
	}
	json_array_foreach(json_object_get(params, "disks"), i, d) {
		const char *path = json_string_value(json_object_get(d, "path")); /* not printed */
		char abs[PATH_MAX];
		int fd;

		if (!path || n >= VL_MAX_FDS)
			continue;
		if ((fd = open_file("disk", path, abs, true,
				    !json_is_true(json_object_get(d, "readonly")))) < 0) {
			ret = 2;
			goto out;
		}
		fds[n] = fd;
		json_object_set_new(d, "path", json_string(abs));
		json_object_set_new(d, "fd", json_integer((json_int_t)n++));
	}
	ret = cli_call_fds(ctx, method, params, fds, n, reply);
out:
	while (n)
		close(fds[--n]);
	return ret;
}

int cli_disk_arg(json_t *disks, const char *arg, char *err, size_t errlen)
{
	size_t n = strlen(arg);
	bool ro = n > 3 && strcmp(arg + n - 3, ",ro") == 0;

	/* nvme:POOL: an NVMe VF from a pool of the config (iovd checks the name). A file
	 * whose name starts so is ./nvme:... */
	if (strncmp(arg, "nvme:", 5) == 0) {
		if (!arg[5] || ro) {
			snprintf(err, errlen, "--disk '%s': nvme:POOL (an NVMe VF is never "
				 "read-only: the guest owns its controller)", arg);
			return -EINVAL;
		}
		json_array_append_new(disks, json_pack("{s:s}", "pool", arg + 5));
		return 0;
	}

	if (ro)
		n -= 3;
	if (!n || memchr(arg, ',', n)) {
		snprintf(err, errlen, "--disk '%s': PATH or PATH,ro", arg);
		return -EINVAL;
	}
	json_array_append_new(disks, json_pack("{s:s%, s:b}", "path", arg, n, "readonly", ro));
	return 0;
}
