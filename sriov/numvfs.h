/* Creating and destroying VFs (sriov_numvfs), split into a pure planner and an executor.
 *
 * The planner reads only the host model (lib/host.h) and the usage snapshot
 * (vfio/guard.h) and turns a request ("PF gets N VFs, for vfio-pci") into an ordered list of
 * actions, or refuses with a message naming the cause. A declarative config planner can
 * call it for each PF. The executor performs the actions under the sysroot and, if one
 * fails, puts back what it changed.
 *
 * Kernel rules encoded here (drivers/pci/iov.c, sriov_numvfs_store):
 * - a non-zero count cannot change to another non-zero count (-EBUSY): go through 0;
 * - a count above sriov_totalvfs is -ERANGE;
 * - no PF driver, or a driver without sriov_configure, is -ENOENT;
 * - -ENOMEM means the BARs of the VFs found no MMIO space (firmware did not reserve it,
 *   or SR-IOV is off in the firmware); `pci=realloc` on the kernel command line can help;
 * - sriov_drivers_autoprobe is read when VFs are created: 0 keeps host drivers off them,
 *   so they can go to vfio-pci without first being grabbed by igbvf/iavf/mlx5. */
#ifndef IOV_SRIOV_NUMVFS_H
#define IOV_SRIOV_NUMVFS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/pciaddr.h"

struct iov_host;
struct iov_dev;
struct iov_err;
struct iov_usage;

enum iov_vfs_act {
	IOV_VFS_WRITE,		/* write value to PF's sysfs file */
	IOV_VFS_WAIT,		/* wait until the PF has exactly count VFs */
	IOV_VFS_RELEASE,	/* hand VF dev back from vfio-pci (vfio/bind.h) */
	IOV_VFS_BIND,		/* bind VFs 0..count-1 to vfio-pci (vfio/bind.h) */
};

struct iov_vfs_action {
	enum iov_vfs_act kind;
	char dev[IOV_PCI_ADDR_STRLEN];	/* PF (WRITE/WAIT/BIND) or VF (RELEASE) */
	char file[32];			/* WRITE: sriov_numvfs, sriov_drivers_autoprobe */
	char value[16];			/* WRITE */
	int count;			/* WAIT, BIND */
	char why[160];			/* for people, dry runs and logs */
};

struct iov_vfs_plan {
	char pf[IOV_PCI_ADDR_STRLEN];
	int old_count, new_count, old_autoprobe, total;
	struct iov_vfs_action *acts;
	size_t n;
};

struct iov_vfs_request {
	int count;			/* 0 = destroy */
	bool vfio;			/* VFs go to vfio-pci: autoprobe off, then bind */
	bool force;			/* release VFs on vfio-pci first (never VFs a VM holds) */
	/* --vfio without interrupt remapping: the host's policy (iovd
	 * --allow-unsafe-interrupts, vfio/bind.h), never a client's choice. */
	bool allow_unsafe_interrupts;
};

/* Pure. Refusals: -ENODEV (not an SR-IOV PF), -ERANGE (count > total: names the limit),
 * -ENOENT (no PF driver), -EBUSY (VFs on vfio-pci or open by a VM, without force),
 * -EPERM (a VF the host itself uses; --vfio while interrupt remapping is not known to be on,
 * unless req->allow_unsafe_interrupts: the same refusal as bind, before sysfs is touched),
 * -EOPNOTSUPP (--vfio without an IOMMU). An empty plan means nothing to do. */
int iov_vfs_plan(const struct iov_host *h, const struct iov_usage *u, const struct iov_dev *pf,
		 const struct iov_vfs_request *req, struct iov_vfs_plan **out,
		 struct iov_err *err);
void iov_vfs_plan_free(struct iov_vfs_plan *p);
json_t *iov_vfs_plan_json(const struct iov_vfs_plan *p);

/* Runs the plan under the current sysroot. On failure, undoes what it did (best effort:
 * released VFs, the count, autoprobe) and says so in err. */
int iov_vfs_exec(const struct iov_vfs_plan *p, struct iov_err *err);
/* How long IOV_VFS_WAIT polls (default 5000 ms); tests shorten it. */
void iov_vfs_set_timeout_ms(unsigned ms);

/* Turns the errno of a sriov_numvfs write into a message with the cause and the fix. */
int iov_vfs_write_error(const char *pf, int count, int total, int r, struct iov_err *err);

#endif
