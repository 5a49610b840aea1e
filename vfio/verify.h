/* The isolation verdict for one device: can it be given to a VM without the VM reaching
 * the host or other devices? Pure: a function of the host model (lib/host.h) and the host
 * usage snapshot (vfio/guard.h). docs/verify.md lists each check and what it reads.
 *
 * Verdict: isolated iff every check except `numa` is ok. `unknown` counts against it (an
 * isolation claim that cannot be backed by a fact is not made); `numa` is information. */
#ifndef IOV_VFIO_VERIFY_H
#define IOV_VFIO_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

struct iov_host;
struct iov_dev;
struct iov_usage;

enum iov_check_status { IOV_CHECK_OK, IOV_CHECK_FAIL, IOV_CHECK_UNKNOWN };

enum iov_check_id {
	IOV_CHECK_IOMMU,
	IOV_CHECK_INTREMAP,
	IOV_CHECK_GROUP_VIABLE,
	IOV_CHECK_ACS,
	IOV_CHECK_RESET,
	IOV_CHECK_HOST_CRITICAL,
	IOV_CHECK_NUMA,
	IOV_CHECK_COUNT
};

struct iov_check {
	enum iov_check_id id;
	enum iov_check_status status;
	char reason[768];
	char fix[768];			/* empty when there is nothing to do */
};

struct iov_verdict {
	const struct iov_dev *dev;
	bool isolated;
	struct iov_check checks[IOV_CHECK_COUNT];	/* indexed by enum iov_check_id */
};

/* Fills v. u may be NULL (no usage snapshot): host_critical is then unknown. */
void iov_verify(const struct iov_host *h, const struct iov_usage *u, const struct iov_dev *d,
		struct iov_verdict *v);

/* The acs check alone (iovctl list marks devices whose path lacks ACS with it); u may be
 * NULL or hold only cmdline. */
enum iov_check_status iov_verify_acs(const struct iov_host *h, const struct iov_usage *u,
				     const struct iov_dev *d, struct iov_check *c);

const char *iov_check_name(enum iov_check_id id);	/* "iommu", "interrupt_remapping", ... */
const char *iov_check_status_name(enum iov_check_status s);	/* "ok", "fail", "unknown" */
/* Does this check count towards the verdict (all but numa)? */
bool iov_check_counts(enum iov_check_id id);

/* Drivers with which a group member does not stop VFIO from using the group: VFIO itself
 * (vfio-pci and vendor variants "*_vfio_pci"), pci-stub, pcieport (bridges). */
bool iov_driver_vfio_safe(const char *driver);

#endif
