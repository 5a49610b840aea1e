#include "lib/sysfs.h"
#include "lib/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[PATH_MAX] = "";

const char *iov_sysroot(void) { return root; }

int iov_sysroot_set(const char *r)
{
	char tmp[PATH_MAX], probe[PATH_MAX + 32];
	struct stat st;
	size_t n;

	if (!r || !*r || strcmp(r, "/") == 0) {
		root[0] = '\0';
		return 0;
	}
	n = strlen(r);
	if (n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, r, n + 1);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = '\0';
	if (stat(tmp, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	snprintf(probe, sizeof(probe), "%s/sys/bus/pci/devices", tmp);
	if (stat(probe, &st) < 0 || !S_ISDIR(st.st_mode))
		return -ENOENT;
	memcpy(root, tmp, n + 1);
	return 0;
}

int iov_sysroot_init(const char *opt)
{
	const char *r = opt;
	const char *src = "--sysroot";
	int ret;

	if (!r) {
		r = getenv("IOV_SYSROOT");
		src = "IOV_SYSROOT";
	}
	ret = iov_sysroot_set(r);
	if (ret == -ENOENT && r && access(r, F_OK) == 0)
		log_err("%s %s: not a sysfs tree (no %s/sys/bus/pci/devices); point it at a directory "
			"that holds sys/ and proc/", src, r, r);
	else if (ret < 0)
		log_err("%s %s: %s; point it at a directory that holds sys/ and proc/", src, r,
			strerror(-ret));
	return ret;
}

int iov_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s", root);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - (size_t)n)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads up to len bytes. `attr`: the file is a sysfs attribute, whose whole value the
 * kernel hands over in the first read, so a short read is the end (one read(2) less per
 * attribute, which shows on trees with thousands of VFs). Otherwise (procfs, regular
 * files) reads go on until end of file: /proc files come a page at a time. */
static ssize_t read_file(int dirfd, const char *name, void *buf, size_t len, bool attr)
{
	size_t got = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (attr)
			break;
	}
	close(fd);
	return (ssize_t)got;
}

static int read_text(int dirfd, const char *name, char **out, bool attr)
{
	enum { MAX = 65536 };
	char small[256], *buf;
	ssize_t n;

	/* Almost every attribute fits in a small buffer; only big files pay for 64 KiB. */
	n = read_file(dirfd, name, small, sizeof(small) - 1, attr);
	if (n < 0)
		return (int)n;
	if ((size_t)n < sizeof(small) - 1) {
		buf = malloc((size_t)n + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, small, (size_t)n);
	} else {
		buf = malloc(MAX + 1);
		if (!buf)
			return -ENOMEM;
		n = read_file(dirfd, name, buf, MAX, attr);
	}
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (memchr(buf, '\0', (size_t)n)) {
		free(buf);
		return -EINVAL;	/* text files never hold NUL */
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	*out = buf;
	return 0;
}

ssize_t iov_read_bin(const char *path, void *buf, size_t len)
{
	return read_file(AT_FDCWD, path, buf, len, false);
}

ssize_t iov_read_bin_at(int dirfd, const char *name, void *buf, size_t len)
{
	return read_file(dirfd, name, buf, len, true);
}

int iov_read_str(const char *path, char **out)
{
	return read_text(AT_FDCWD, path, out, false);
}

int iov_read_str_at(int dirfd, const char *name, char **out)
{
	return read_text(dirfd, name, out, true);
}

int iov_parse_long(const char *s, int base, long *out)
{
	char *end;
	long v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno)
		return -errno;
	while (isspace((unsigned char)*end))
		end++;
	if (end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int iov_parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;
	unsigned long long v;

	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno)
		return -errno;
	while (isspace((unsigned char)*end))
		end++;
	if (end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int iov_read_long(const char *path, int base, long *out)
{
	return iov_read_long_at(AT_FDCWD, path, base, out);
}

int iov_read_long_at(int dirfd, const char *name, int base, long *out)
{
	char *s;
	int ret = iov_read_str_at(dirfd, name, &s);

	if (ret < 0)
		return ret;
	ret = iov_parse_long(s, base, out);
	free(s);
	return ret;
}

int iov_read_u64(const char *path, int base, uint64_t *out)
{
	char *s;
	int ret = iov_read_str(path, &s);

	if (ret < 0)
		return ret;
	ret = iov_parse_u64(s, base, out);
	free(s);
	return ret;
}

int iov_readlink_base(const char *path, char *buf, size_t len)
{
	return iov_readlink_base_at(AT_FDCWD, path, buf, len);
}

int iov_readlink_base_at(int dirfd, const char *name, char *buf, size_t len)
{
	char tgt[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, tgt, sizeof(tgt) - 1);
	const char *b;

	if (n < 0)
		return -errno;
	tgt[n] = '\0';
	b = strrchr(tgt, '/');
	b = b ? b + 1 : tgt;
	if (strlen(b) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, b);
	return 0;
}

int iov_write_str(const char *path, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	if (close(fd) < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

bool iov_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

const char *iov_strerror(int err)
{
	if (err == -IOV_E_SYSROOT)
		return "not knowable under a sysroot (it comes from this machine's rtnetlink)";
	return strerror(err < 0 ? -err : err);
}
