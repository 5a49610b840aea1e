/* Moving devices between host drivers and vfio-pci, a whole IOMMU group at a time.
 * Host-touching (sysfs writes); called by iovd only. Contract (implementation: vfio/bind.c):
 *
 * - Binding uses driver_override + unbind + drivers_probe and then verifies the device has
 *   the driver; never new_id; never reports success for a driverless device.
 * - Every endpoint of the group (bridges excluded) moves, or nothing changes (on failure the
 *   ones already moved are put back).
 * - The original driver of each device is remembered in a state file so that release
 *   restores it (or no driver) and clears driver_override, also after a daemon restart.
 * - A group that holds a host-critical device is refused (vfio/guard.h). */
#ifndef IOV_VFIO_BIND_H
#define IOV_VFIO_BIND_H

#include <stdbool.h>

struct iov_host;
struct iov_dev;
struct iov_err;

struct iov_bind_opts {
	const char *driver;	/* NULL = "vfio-pci" */
	bool force;		/* skip the "in use by a VM" refusal, never the host-critical guard */
};

int iov_bind(const struct iov_host *h, const struct iov_dev *dev,
	     const struct iov_bind_opts *opts, struct iov_err *err);
int iov_release(const struct iov_host *h, const struct iov_dev *dev, struct iov_err *err);

/* Where the bind state lives (default /run/iovd/bind-state.json; tests override). */
void iov_bind_set_state_path(const char *path);

#endif
