/* Durable files: what every state writer (bind records, journal, guests, MAC registry, CDI
 * specs) uses, so a reader sees the old contents or the new, never half, even after a
 * kill -9 or a power loss at any instant. */
#ifndef IOV_LIB_ATOMICFILE_H
#define IOV_LIB_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

struct iov_err;

/* mkdir -p with mode for every directory it creates. 0 or -errno. */
int iov_mkdir_p(const char *dir, mode_t mode);

/* Writes data to path through PATH.XXXXXX + fsync + rename + fsync of the directory
 * (created 0755 if missing). The file gets mode. what names the file for messages
 * ("bind state"). 0 or -errno with err set. */
int iov_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		     const char *what, struct iov_err *err);

/* Appends one record and fsyncs it (journals). The file is created with mode. */
int iov_append_durable(const char *path, const void *data, size_t len, mode_t mode,
		       const char *what, struct iov_err *err);

/* Reads a whole file (at most max bytes, else -EFBIG) into a NUL-terminated buffer.
 * -ENOENT if missing. *out owned by the caller. */
int iov_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
