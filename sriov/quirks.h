/* What real PF drivers need, as data: one table (sriov/quirks.c), one entry per driver, each
 * with the fact behind it and where it comes from. The VF-count planner and executor
 * (sriov/numvfs.c) and the VF property setter (sriov/vfinfo.c) consult it, before acting
 * (refuse with the fix) and when explaining an error. Keyed by the PF's driver name as
 * sysfs shows it (/sys/bus/pci/devices/PF/driver). */
#ifndef IOV_SRIOV_QUIRKS_H
#define IOV_SRIOV_QUIRKS_H

#include <stdbool.h>
#include <stddef.h>

enum iov_quirk_flag {
	/* VFs can be created only while the PF netdev is up (IFF_UP): the driver ignores
	 * sriov_numvfs otherwise and no VF appears. */
	IOV_QUIRK_PF_UP_FOR_VFS = 1u << 0,
	/* The driver answers VF property requests with a transient error while the VF
	 * resets: retry for retry_ms (retry_errnos). */
	IOV_QUIRK_RETRY_IN_RESET = 1u << 1,
	/* sriov_totalvfs reads 0 until SR-IOV is enabled in the device's firmware. */
	IOV_QUIRK_FW_SRIOV = 1u << 2,
	/* No VF link-state control (IFLA_VF_LINK_STATE is EOPNOTSUPP). */
	IOV_QUIRK_NO_LINK_STATE = 1u << 3,
	/* The VFs must not be autoprobed by a host driver (sriov_drivers_autoprobe 0). */
	IOV_QUIRK_VF_NO_AUTOPROBE = 1u << 4,
	/* A VF rate limit is accepted only while the PF has link (carrier), which it loses for
	 * a few seconds whenever VFs are created (the PF resets): wait for it, bounded. */
	IOV_QUIRK_RATE_NEEDS_LINK = 1u << 5,
};

/* How long a rate request waits for the PF's carrier (IOV_QUIRK_RATE_NEEDS_LINK). */
#define IOV_QUIRK_LINK_WAIT_MS 8000

struct iov_quirk {
	const char *driver;		/* PF driver */
	unsigned flags;			/* enum iov_quirk_flag */
	unsigned retry_ms;		/* RETRY_IN_RESET: how long one request is retried */
	int retry_errnos[3];		/* RETRY_IN_RESET: which errors (positive, 0-ended) */
	const char *why;		/* the fact, for people */
	const char *fix;		/* what to do (%s: the PF's netdev or address) */
};

/* The entry for a PF driver, or NULL. */
const struct iov_quirk *iov_quirk_get(const char *driver);
/* Whether driver (may be NULL) has the flag. */
bool iov_quirk_has(const char *driver, unsigned flag);
/* How long a VF property request answered with r (-errno) is retried for this driver (may
 * be NULL): the driver's entry, else EAGAIN alone for IOV_QUIRK_DEFAULT_RETRY_MS. */
#define IOV_QUIRK_DEFAULT_RETRY_MS 2000
unsigned iov_quirk_retry_ms(const char *driver, int r);
/* The entry's fix with its "%s" replaced by subject (a netdev or an address). */
void iov_quirk_fix(const struct iov_quirk *q, const char *subject, char *buf, size_t len);
/* The whole table, for docs and tests. */
const struct iov_quirk *iov_quirk_table(size_t *n);

/* The driver of the PCI device behind netdev ifname, under the sysroot. */
int iov_quirk_netdev_driver(const char *ifname, char *buf, size_t len);
/* Whether netdev ifname is administratively up (flags & IFF_UP; without a flags file,
 * operstate other than "down"). 1 up, 0 down, -errno unknown. */
int iov_netdev_is_up(const char *ifname);
/* Waits up to ms for netdev ifname's carrier (sysfs carrier reads 1). 1 carrier, 0 none by
 * then, -errno unknown. */
int iov_netdev_wait_carrier(const char *ifname, unsigned ms);

#endif
