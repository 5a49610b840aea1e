/* Files passed to iovd as fds (cli/fdpass.h). */
#include "cli/fdpass.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/client.h"
#include "lib/varlink.h"

/* Opens path as the caller: the fd, or -errno with why said on stderr. */
static int open_file(const char *key, const char *path, char *abs)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), e;

	if (fd < 0) {
		e = -errno;
		fprintf(stderr, "iovctl: --%s %s: %s\n", key, path, strerror(errno));
		return e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		fprintf(stderr, "iovctl: --%s %s: not a regular file\n", key, path);
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
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; keys[i] && n < VL_MAX_FDS; i++) {
		const char *path = json_string_value(json_object_get(params, keys[i])); /* not printed */
		char abs[PATH_MAX], fkey[64];
		int fd;

		if (!path)
			continue;
		if ((fd = open_file(keys[i], path, abs)) < 0) {
			ret = 2;
			goto out;
		}
		fds[n] = fd;
		snprintf(fkey, sizeof(fkey), "%s_fd", keys[i]);
		json_object_set_new(params, keys[i], json_string(abs));
		json_object_set_new(params, fkey, json_integer((json_int_t)n++));
	}
	ret = cli_call_fds(ctx, method, params, fds, n, reply);
out:
	while (n)
		close(fds[--n]);
	return ret;
}
