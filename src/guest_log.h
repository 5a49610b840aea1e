/* A guest's console log, kept by iovd (not by iovm): iovm's stdout and stderr are the
 * FIFO STATE_DIR/guests/NAME.out (iovm holds it open both ways, so an iovd restarted while
 * the guest runs opens it again by name, and iovm never sees a closed pipe); iovd reads it
 * in its loop, a bounded amount per turn, and appends to NAME.log (O_APPEND), which it
 * alone holds: at most the guest's log_mib MiB, then it becomes NAME.log.1 (the one before
 * is dropped) and a new NAME.log starts. So a guest cannot fill the disk, and iovm holds no
 * file it could write at any offset. Offsets (VmLog from/end) count every byte since iovd
 * began this log, across rotations. */
#ifndef IOV_SRC_GUEST_LOG_H
#define IOV_SRC_GUEST_LOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define GLOG_TURN_BYTES (64u << 10)	/* read from the FIFO per loop turn, per guest */

struct glog {
	char path[PATH_MAX];		/* NAME.log */
	char fifo[PATH_MAX];		/* NAME.out */
	int rfd;			/* the FIFO's read end (iovd's), -1: none */
	int logfd;			/* NAME.log, O_APPEND, -1: none */
	uint64_t cap;			/* bytes per file */
	uint64_t base;			/* bytes in files rotated away */
	uint64_t size;			/* bytes in NAME.log */
	uint64_t dropped;		/* not written (a full disk) */
	bool warned;
};

/* Sets the paths (log: STATE_DIR/guests/NAME.log) and the cap; nothing opened. */
void glog_init(struct glog *l, const char *log, uint64_t cap);
/* A start: the old NAME.log becomes NAME.log.1, a new FIFO and log; *child_fd (for iovm's
 * stdout and stderr) is the FIFO opened both ways. */
int glog_start(struct glog *l, int *child_fd, struct iov_err *err);
/* iovd restarted while the guest runs: opens the FIFO and the log again. */
int glog_adopt(struct glog *l);
/* Moves what the FIFO holds (at most max bytes) to the log. 1 when the FIFO has no writer
 * left and is empty (iovm is gone: the caller stops watching), else 0. */
int glog_drain(struct glog *l, size_t max);
/* Closes the FIFO's read end and the log (the files stay). */
void glog_close(struct glog *l);
/* The bytes from offset from (-1: the end) on, at most the last max of them, from NAME.log
 * only (the range asked for is all that is read). *end: the offset after the last byte. */
int glog_read(const struct glog *l, size_t max, long long from, char **out, size_t *len,
	      uint64_t *end, struct iov_err *err);

#endif
