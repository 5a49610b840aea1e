/* Access to the host's sysfs and procfs under a chosen root.
 *
 * Every path the project reads or writes is relative to the root set here ("" = the real
 * host, or DIR from --sysroot / IOV_SYSROOT), so the same code runs on fake sysfs trees.
 * All functions return >= 0 on success and -errno on failure; out-parameters are written
 * only on success. */
#ifndef IOV_SYSFS_H
#define IOV_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Sets the root. NULL or "" means "/". Checks that ROOT/sys/bus/pci/devices exists:
 * -ENOENT/-ENOTDIR otherwise. */
int iov_sysroot_set(const char *root);
/* Picks the root from `opt` (a --sysroot value, may be NULL), else $IOV_SYSROOT, else "/".
 * Prints a clear error naming the directory on failure. */
int iov_sysroot_init(const char *opt);
const char *iov_sysroot(void);		/* "" for the real host, never NULL */

/* Builds ROOT + path into buf (path must start with '/'). -ENAMETOOLONG if it does not fit. */
int iov_path(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Under --sysroot DIR nothing reaches the real machine's kernel: rtnetlink, netdev name
 * lookups and /dev give -IOV_E_SYSROOT ("cannot be known under a sysroot"), never the
 * machine's answer for a netdev of the same name. */
#define IOV_E_SYSROOT ENOMEDIUM
/* strerror(-err), but "not knowable under --sysroot (this machine's rtnetlink)" for
 * -IOV_E_SYSROOT. */
const char *iov_strerror(int err);

/* Reads a whole small file (<= 64 KiB) into a NUL-terminated malloc'd string with the
 * trailing newline removed. */
int iov_read_str(const char *path, char **out);
/* Reads up to len bytes; returns the count. */
ssize_t iov_read_bin(const char *path, void *buf, size_t len);
/* Integer files: decimal (or 0x-prefixed hex for iov_read_u64 with base 0). The whole file
 * (minus newline) must be the number: -EINVAL otherwise. */
int iov_read_long(const char *path, int base, long *out);
int iov_read_u64(const char *path, int base, uint64_t *out);
/* basename of a symlink's target (e.g. a device's driver or iommu_group). */
int iov_readlink_base(const char *path, char *buf, size_t len);
/* Writes a string (no newline added) in one write(2). */
int iov_write_str(const char *path, const char *s);
bool iov_exists(const char *path);

/* Reads of sysfs attributes relative to an open directory (the host model uses them to
 * avoid re-resolving long device paths). An attribute's value comes whole in one read(2),
 * so these stop at the first short read; the path-based readers above read to end of file
 * and are the ones for procfs and regular files. */
int iov_read_str_at(int dirfd, const char *name, char **out);
ssize_t iov_read_bin_at(int dirfd, const char *name, void *buf, size_t len);
int iov_read_long_at(int dirfd, const char *name, int base, long *out);
int iov_readlink_base_at(int dirfd, const char *name, char *buf, size_t len);

/* Parses a whole string as a number; trailing whitespace only. -EINVAL / -ERANGE. */
int iov_parse_long(const char *s, int base, long *out);
int iov_parse_u64(const char *s, int base, uint64_t *out);

#endif
