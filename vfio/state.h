/* The bind state file: for every device iovd moved to vfio-pci, the driver and
 * driver_override it had before, so release puts them back, also after a daemon restart.
 *
 *   {"version": 1, "devices": [{"device": "0000:01:10.0", "group": 5, "driver": "igbvf",
 *     "driver_override": null, "bound_to": "vfio-pci"}]}
 *
 * "driver": null means the device had no driver. Saved with temp file + fsync + rename +
 * fsync of the directory: a reader sees the old file or the new one, never half of one. */
#ifndef IOV_VFIO_STATE_H
#define IOV_VFIO_STATE_H

#include <stddef.h>

#include "lib/pciaddr.h"

struct iov_err;

struct iov_bind_rec {
	char dev[IOV_PCI_ADDR_STRLEN];
	int group;			/* IOMMU group at bind time */
	char *driver;			/* original driver, NULL = none */
	char *override;			/* original driver_override, NULL = unset */
	char *bound_to;			/* "vfio-pci" */
};

struct iov_bind_state {
	struct iov_bind_rec *recs;
	size_t n;
};

/* A missing file is an empty state. A file that is not what we wrote is -EINVAL (err says
 * where); it is never overwritten silently. */
int iov_bind_state_load(const char *path, struct iov_bind_state **out, struct iov_err *err);
int iov_bind_state_save(const char *path, const struct iov_bind_state *st,
			struct iov_err *err);
void iov_bind_state_free(struct iov_bind_state *st);

/* Serializes binders (iovd, iov-bindtool, a restarted iovd): an exclusive flock on
 * PATH.lock, created with its directory. Returns the fd to pass to unlock, or -errno:
 * -EBUSY (with a message) when another process still holds it after
 * IOV_STATE_LOCK_WAIT_MS (the lock is never waited for without a bound). */
#define IOV_STATE_LOCK_WAIT_MS 2000
int iov_bind_state_lock(const char *path, struct iov_err *err);
void iov_bind_state_unlock(int fd);

struct iov_bind_rec *iov_bind_state_find(const struct iov_bind_state *st, const char *dev);
/* Adds a record (strings copied); an existing record for dev is kept as is, since it holds
 * the truly original driver. Returns 1 if added, 0 if kept, -ENOMEM. */
int iov_bind_state_add(struct iov_bind_state *st, const char *dev, int group,
		       const char *driver, const char *override, const char *bound_to);
void iov_bind_state_drop(struct iov_bind_state *st, const char *dev);

#endif
