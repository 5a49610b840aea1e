#include "lib/atomicfile.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int iov_mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(buf))
		return len ? -ENAMETOOLONG : -EINVAL;
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void fsync_dir(const char *path)
{
	char buf[PATH_MAX];
	int fd;

	snprintf(buf, sizeof(buf), "%s", path);
	fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int iov_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     const char *what, struct iov_err *err)
{
	char tmp[PATH_MAX], dirbuf[PATH_MAX];
	int fd, r;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	r = iov_mkdir_p(dirname(dirbuf), 0755);
	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: cannot create the directory of %s: %s", what,
				   path, strerror(-r));
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return iov_err_set(err, -ENAMETOOLONG, NULL, "%s: path too long: %s", what, path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return iov_err_set(err, -errno, NULL, "%s: cannot create %s: %s", what, tmp,
				   strerror(errno));
	r = write_all(fd, data, len);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return iov_err_set(err, r, NULL, "%s: cannot write %s: %s", what, path,
				   strerror(-r));
	}
	fsync_dir(path);
	return 0;
}

int iov_append_durable(const char *path, const void *data, size_t len, mode_t mode,
		       const char *what, struct iov_err *err)
{
	char dirbuf[PATH_MAX];
	struct stat st;
	int fd, r, created;

	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	r = iov_mkdir_p(dirname(dirbuf), 0755);
	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: cannot create the directory of %s: %s", what,
				   path, strerror(-r));
	created = stat(path, &st) < 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return iov_err_set(err, -errno, NULL, "%s: cannot open %s: %s", what, path,
				   strerror(errno));
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: cannot write %s: %s", what, path,
				   strerror(-r));
	if (created)
		fsync_dir(path);
	return 0;
}

int iov_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 4096, n = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *nb;

			if (cap >= max) {
				free(buf);
				close(fd);
				return -EFBIG;
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			close(fd);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}
