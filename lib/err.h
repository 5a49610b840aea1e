/* An error for people: what failed, where, and what to do. Functions that act on the host
 * return -errno and, when given a non-NULL struct iov_err, fill it. The daemon sends the
 * message in its error reply; iovctl prints it. */
#ifndef IOV_ERR_H
#define IOV_ERR_H

#include <stddef.h>

struct iov_err {
	int code;		/* -errno, 0 if unset */
	char msg[768];		/* "0000:01:10.0: group 5 also holds 0000:01:10.1 (igbvf) ..." */
	char fix[384];		/* "release it first, or pass --force"; may be empty */
};

/* Sets e (if non-NULL) and returns code. fix may be NULL. */
int iov_err_set(struct iov_err *e, int code, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
