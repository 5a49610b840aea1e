/* A guest's console log (src/guest_log.h). */
#include "src/guest_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

void glog_init(struct glog *l, const char *log, uint64_t cap)
{
	size_t n = strlen(log);

	memset(l, 0, sizeof(*l));
	l->rfd = l->logfd = -1;
	l->cap = cap ? cap : 8u << 20;
	snprintf(l->path, sizeof(l->path), "%s", log);
	if (n > 4 && strcmp(log + n - 4, ".log") == 0)
		n -= 4;
	snprintf(l->fifo, sizeof(l->fifo), "%.*s.out", (int)n, log);
}

static int open_log(struct glog *l)
{
	struct stat st;

	l->logfd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
			O_NOCTTY | O_NONBLOCK, 0600);
	if (l->logfd < 0)
		return -errno;
	if (fstat(l->logfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(l->logfd);
		l->logfd = -1;
		return -EINVAL;
	}
	l->size = (uint64_t)st.st_size;
	return 0;
}

/* NAME.log -> NAME.log.1 (replacing it), and a new NAME.log. */
static int rotate(struct glog *l)
{
	char old[PATH_MAX + 2];

	if (l->logfd >= 0)
		close(l->logfd);
	l->logfd = -1;
	snprintf(old, sizeof(old), "%s.1", l->path);
	if (rename(l->path, old) < 0 && errno != ENOENT)
		unlink(l->path);
	l->base += l->size;
	l->size = 0;
	return open_log(l);
}

int glog_start(struct glog *l, int *child_fd, struct iov_err *err)
{
	struct stat st;
	int r;

	glog_close(l);
	if (lstat(l->path, &st) == 0 && st.st_size > 0)
		l->size = (uint64_t)st.st_size;	/* rotated away below: offsets go on */
	if ((r = rotate(l)) < 0)
		return iov_err_set(err, r, NULL, "%s: %s", l->path, strerror(-r));
	unlink(l->fifo);
	if (mkfifo(l->fifo, 0600) < 0 ||
	    (l->rfd = open(l->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    (*child_fd = open(l->fifo, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = iov_err_set(err, -errno, NULL, "%s: %s", l->fifo, strerror(errno));
		glog_close(l);
		return r;
	}
	return 0;
}

int glog_adopt(struct glog *l)
{
	struct stat st;
	int r;

	glog_close(l);
	if ((r = open_log(l)) < 0)
		return r;
	l->rfd = open(l->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (l->rfd < 0 || fstat(l->rfd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		r = l->rfd < 0 ? -errno : -EINVAL;
		glog_close(l);
		return r;
	}
	return 0;
}

static void put(struct glog *l, const char *buf, size_t n)
{
	while (n) {
		size_t room = l->size < l->cap ? (size_t)(l->cap - l->size) : 0, k;
		ssize_t w;

		if (!room && rotate(l) < 0) {
			l->dropped += n;
			return;
		}
		room = (size_t)(l->cap - l->size);
		k = n < room ? n : room;
		w = l->logfd >= 0 ? write(l->logfd, buf, k) : -1;
		if (w <= 0) {
			if (!l->warned)
				log_warn("%s: writing the guest's log: %s; its output is dropped until "
					 "there is room", l->path, w < 0 ? strerror(errno) : "no progress");
			l->warned = true;
			l->dropped += n;
			return;
		}
		l->warned = false;
		l->size += (uint64_t)w;
		buf += w;
		n -= (size_t)w;
	}
}

int glog_drain(struct glog *l, size_t max)
{
	char buf[16384];
	size_t got = 0;

	while (l->rfd >= 0 && got < max) {
		size_t want = max - got < sizeof(buf) ? max - got : sizeof(buf);
		ssize_t n = read(l->rfd, buf, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 0;	/* EAGAIN: a writer, nothing now */
		if (n == 0)
			return 1;	/* no writer left */
		put(l, buf, (size_t)n);
		got += (size_t)n;
	}
	return 0;
}

void glog_close(struct glog *l)
{
	if (l->rfd >= 0)
		close(l->rfd);
	if (l->logfd >= 0)
		close(l->logfd);
	l->rfd = l->logfd = -1;
}

int glog_read(const struct glog *l, size_t max, long long from, char **out, size_t *len,
	      uint64_t *end, struct iov_err *err)
{
	int fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	uint64_t size, base = l->base, start;
	struct stat st;
	char *buf;
	ssize_t n;

	if (fd < 0) {
		if (errno != ENOENT)
			return iov_err_set(err, -errno, NULL, "%s: %s", l->path, strerror(errno));
		size = 0;
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return iov_err_set(err, -EINVAL, "move it away", "%s is not a regular file", l->path);
	} else {
		size = (uint64_t)st.st_size;
	}
	/* From an offset (a console following the log); one from before this file (rotated
	 * away, or a log started again): its start. */
	start = from >= 0 && (uint64_t)from >= base && (uint64_t)from <= base + size ?
		(uint64_t)from - base : from < 0 ? size : 0;
	if (from < 0 || size - start > max)
		start = size > max ? size - max : 0;
	if (!(buf = malloc(size - start + 1))) {
		if (fd >= 0)
			close(fd);
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	}
	n = fd >= 0 && size > start ? pread(fd, buf, size - start, (off_t)start) : 0;
	if (fd >= 0)
		close(fd);
	if (n < 0) {
		free(buf);
		return iov_err_set(err, -errno, NULL, "%s: %s", l->path, strerror(errno));
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	*end = base + start + (uint64_t)n;
	return 0;
}
