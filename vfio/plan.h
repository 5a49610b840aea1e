/* Bind and release, split into a pure plan and an executor (vfio/bind.c glues them).
 *
 * A plan is a list of moves, one per device: "from driver A / override X to driver B /
 * override Y". Planning reads only the host model, the usage snapshot and the bind state,
 * and refuses what must not happen (host-critical group, a PF whose VFs would vanish, a
 * group a VM holds open). The executor performs moves through an injectable I/O table, so
 * tests drive it against a simulated kernel; the real table writes sysfs under the sysroot:
 *
 *   DEV/driver_override  <- "vfio-pci"     (or "\n", which the kernel takes as "clear")
 *   DEV/driver/unbind    <- "0000:01:10.0" (only if bound to another driver)
 *   /sys/bus/pci/drivers_probe <- "0000:01:10.0"
 *   then DEV/driver is re-read until it names the wanted driver (bounded wait).
 *
 * Release first resets every device leaving a VFIO driver, while it is still there:
 *
 *   DEV/reset <- "1"   (the kernel's reset_method order: FLR, PM, bus ...; the file exists
 *                       only on devices with a method)
 *
 * and checks it answers config reads afterwards. A device whose reset fails, or that has
 * no reset method, is refused (-ENOTTY) and stays on vfio-pci: it may still hold what the
 * guest left in it (DMA set-up, queues, keys), which no host driver should inherit.
 *
 * Never new_id: it would bind every device with that vendor:device id on the host. */
#ifndef IOV_VFIO_PLAN_H
#define IOV_VFIO_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/pciaddr.h"

struct iov_host;
struct iov_dev;
struct iov_err;
struct iov_usage;
struct iov_bind_state;
struct iov_bind_opts;

struct iov_move {
	char dev[IOV_PCI_ADDR_STRLEN];
	char *from, *from_override;	/* as planned: current driver / override (NULL none) */
	char *to, *to_override;		/* wanted; to NULL = leave without a driver */
	bool any;			/* probe and accept whatever driver binds (release of a
					 * device iovd has no record for) */
};

enum iov_plan_kind { IOV_PLAN_BIND, IOV_PLAN_RELEASE };

struct iov_plan {
	enum iov_plan_kind kind;
	int group;			/* -1 when the device has none */
	struct iov_move *moves;
	size_t n;
	char **drop;			/* release: state records to drop (devices gone) */
	size_t n_drop;
};

/* Plans moving the whole group of dev to opts->driver (default vfio-pci). Refusals return
 * -errno with err filled: -EINVAL (bridge, no IOMMU group), -EPERM (host-critical or
 * unknown), -EBUSY (a member cannot move: PF with VFs, a device outside the model, group
 * open by a VM without opts->force). An empty plan means nothing to do. */
int iov_plan_bind(const struct iov_host *h, const struct iov_usage *u,
		  const struct iov_dev *dev, const struct iov_bind_opts *opts,
		  struct iov_plan **out, struct iov_err *err);
/* Plans putting back every device of dev's group that the state records (and dev itself
 * if it is on a VFIO driver without a record: it goes to its default driver). Refuses with
 * -EBUSY while a process holds the group open (unbinding vfio-pci would block). */
int iov_plan_release(const struct iov_host *h, const struct iov_usage *u,
		     const struct iov_bind_state *st, const struct iov_dev *dev,
		     struct iov_plan **out, struct iov_err *err);
void iov_plan_free(struct iov_plan *p);
/* "0000:01:10.0: igbvf -> vfio-pci" lines, for logs and dry runs. */
void iov_plan_describe(const struct iov_plan *p, char *buf, size_t len);

/* Host access used by the executor. Paths passed to write() are full (sysroot included). */
struct iov_bind_io {
	int (*write)(void *ctx, const char *path, const char *val);
	/* Driver bound to dev now: 0 with the name in buf, -ENOENT when none. */
	int (*driver)(void *ctx, const char *dev, char *buf, size_t len);
	bool (*driver_loaded)(void *ctx, const char *drv);
	bool (*has_group)(void *ctx, const char *dev);
	/* After a reset: 0 when the device answers config reads again (header not all ones),
	 * -errno otherwise. */
	int (*responds)(void *ctx, const char *dev);
	void (*sleep_ms)(void *ctx, unsigned ms);
	void *ctx;
	unsigned timeout_ms;		/* wait for the driver to appear; 0 = 2000 */
};

/* The real host under the current sysroot. */
extern const struct iov_bind_io iov_bind_io_sysfs;
/* The table iov_bind()/iov_release() use (NULL: the real one); for tests. */
void iov_bind_set_io(const struct iov_bind_io *io);

/* Runs a plan. Bind: stops at the first failing move and puts back, in reverse order,
 * every move started (including the failing one); err says what failed and whether the
 * roll-back did. Release: best effort, every move is tried. done[i] (if non-NULL, n
 * entries) tells which moves completed. */
int iov_plan_exec(const struct iov_plan *p, const struct iov_bind_io *io, bool *done,
		  struct iov_err *err);

#endif
