/* Moving devices between host drivers and vfio-pci, a whole IOMMU group at a time.
 * Host-touching (sysfs writes); called by iovd only. Contract (implementation: vfio/bind.c):
 *
 * - Binding uses driver_override + unbind + drivers_probe and then verifies the device has
 *   the driver; never new_id; never reports success for a driverless device.
 * - Every endpoint of the group (bridges excluded) moves, or nothing changes (on failure the
 *   ones already moved are put back).
 * - The original driver of each device is remembered in a state file so that release
 *   restores it (or no driver) and clears driver_override, also after a daemon restart.
 * - A group that holds a host-critical device is refused (vfio/guard.h), and so is a group
 *   holding a PF with VFs enabled (unbinding its driver would remove them).
 * - Release refuses while a process holds /dev/vfio/N open (the unbind would block), and
 *   resets each device before it leaves vfio-pci: one whose reset fails (or that has no
 *   reset method) stays there (-ENOTTY), so no host driver gets what a guest left in it.
 *
 * Inside: a pure plan and an executor (vfio/plan.h), the state file (vfio/state.h, flock'd
 * against concurrent binders). Errors: -EINVAL (bridge, no group, bad driver name), -EPERM
 * (host-critical or cannot tell), -EBUSY (not movable, group open), -ENOENT (driver not
 * loaded), -ENODEV/-EIO (the kernel did not bind; rolled back), -ENOTTY (release: reset
 * failed). */
#ifndef IOV_VFIO_BIND_H
#define IOV_VFIO_BIND_H

#include <stdbool.h>

struct iov_host;
struct iov_dev;
struct iov_err;

struct iov_bind_opts {
	const char *driver;	/* NULL = "vfio-pci" */
	bool force;		/* skip the "in use by a VM" refusal, never the host-critical guard */
	/* Bind to a vfio driver although interrupt remapping is not known to be on. Host
	 * policy (iovd --allow-unsafe-interrupts), never a client's choice: without
	 * remapping, a device given to a VM can forge MSI writes that inject interrupts into
	 * the host. iov_bind() ORs in the process-wide policy below. */
	bool allow_unsafe_interrupts;
};

/* The host's policy for binding without interrupt remapping (default: refuse). */
void iov_bind_set_unsafe_interrupts(bool allow);
bool iov_bind_unsafe_interrupts(void);

int iov_bind(const struct iov_host *h, const struct iov_dev *dev,
	     const struct iov_bind_opts *opts, struct iov_err *err);
/* Gives dev's group back to the drivers it had; returns how many devices went back (0: iovd
 * had not bound any of them, nothing was done), or -errno. */
int iov_release(const struct iov_host *h, const struct iov_dev *dev, struct iov_err *err);

/* Where the bind state lives (iovd: STATE_DIR/bind-state.json, default
 * /var/lib/iovd/bind-state.json, which is also iov-bindtool's default; tests override). */
void iov_bind_set_state_path(const char *path);
const char *iov_bind_state_path(void);

#endif
