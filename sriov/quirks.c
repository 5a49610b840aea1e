#include "sriov/quirks.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/sysfs.h"

/* Each entry: the fact, then where it comes from. Keep docs/iovd.md ("Driver quirks") in
 * step. */
static const struct iov_quirk table[] = {
	/* bnxt_sriov_configure() (drivers/net/ethernet/broadcom/bnxt/bnxt_sriov.c) starts
	 * with `if (!netif_running(dev)) { netdev_warn(dev, "Reject SRIOV config request
	 * since if is down!"); return 0; }`: the write to sriov_numvfs succeeds and no VF
	 * appears. So the PF netdev must be up before VFs are created. */
	{ "bnxt_en", IOV_QUIRK_PF_UP_FOR_VFS, 0, { 0 },
	  "bnxt_en creates VFs only while the PF's netdev is up (it answers sriov_numvfs with "
	  "\"Reject SRIOV config request since if is down!\" in dmesg and creates none)",
	  "bring the PF up first: ip link set %s up" },
	/* i40e: while a VF is being reset it has no VSI to configure, and the ndo_set_vf_*
	 * calls answer -EAGAIN (kernel commit 2d166c304065, "i40e: change log messages and
	 * error returns", v4.5: "log a useful error message and return -EAGAIN"). A reset
	 * takes a few hundred ms; retry for up to 3 s. */
	{ "i40e", IOV_QUIRK_RETRY_IN_RESET, 3000, { EAGAIN },
	  "i40e answers EAGAIN while the VF is being reset (no VSI yet)",
	  "wait for the VF's reset to finish (its driver in the guest may be re-initialising)" },
	/* ice: ice_check_vf_ready_for_cfg() (drivers/net/ethernet/intel/ice/ice_vf_lib.c)
	 * waits for a VF reset itself, then answers -EBUSY while the VF is not initialised;
	 * ice_check_vf_ready_for_reset() answers -EAGAIN while it is not active. Both are
	 * transient: retry both for up to 3 s. */
	{ "ice", IOV_QUIRK_RETRY_IN_RESET, 3000, { EAGAIN, EBUSY },
	  "ice answers EAGAIN or EBUSY while the VF is resetting or not yet initialised",
	  "wait for the VF's reset to finish (its driver in the guest may be re-initialising)" },
	/* mlx5 (ConnectX-4 onwards): SR-IOV is enabled by the firmware on the admin's
	 * directive (NVIDIA's MLNX_OFED/MLNX_EN manuals, "Setting Up SR-IOV": check with
	 * `mlxconfig -d DEV q`, set SRIOV_EN and NUM_OF_VFS); until then the device offers
	 * no VFs and sriov_totalvfs reads 0. */
	{ "mlx5_core", IOV_QUIRK_FW_SRIOV, 0, { 0 },
	  "mlx5 devices offer VFs only once SR-IOV is enabled in their firmware; until then "
	  "sriov_totalvfs reads 0",
	  "enable it in the firmware: mlxconfig -d %s set SRIOV_EN=1 NUM_OF_VFS=<n> (mstconfig "
	  "from mstflint works too), then power-cycle the host or run mlxfwreset" },
	/* igb has no ndo_set_vf_link_state, so rtnetlink answers IFLA_VF_LINK_STATE with
	 * -EOPNOTSUPP (seen on the test host's 82576: docs/iovd.md, "What the test host's
	 * igb does"). */
	/* igb_ndo_set_vf_bw() returns -EINVAL unless the PF has link (E1000_STATUS_LU) and the
	 * rate is at most the link speed; creating VFs resets the PF, so its link is down for
	 * about two seconds just after (seen on the test host: an apply creating VFs and then
	 * setting max_rate failed with EINVAL until it waited for the carrier). */
	{ "igb", IOV_QUIRK_NO_LINK_STATE | IOV_QUIRK_RATE_NEEDS_LINK, 0, { 0 },
	  "igb has no VF link-state control (the kernel answers EOPNOTSUPP)",
	  "leave `state` unset for VFs of %s (their link follows the PF's)" },
	/* NVMe: a VF has no queues or namespaces until the PF assigns it flexible resources
	 * and brings its secondary controller online (NVMe 1.4 Virtualization Management);
	 * the nvme driver probing a bare VF fails. Seen on the test host's QEMU nvme with
	 * sriov_max_vfs (tests/rig presets: "they do not initialise: no secondary
	 * controllers online"). So VFs are created with autoprobe off. */
	{ "nvme", IOV_QUIRK_VF_NO_AUTOPROBE, 0, { 0 },
	  "NVMe VFs have no resources until the PF assigns them (nvme virt-mgmt, secondary "
	  "controller online); a host driver probing them fails",
	  "give the VFs of %s queues, interrupts and a namespace in the host config "
	  "(iovd.conf(5), NVMe VF settings) and apply it before binding a driver to them" },
};

const struct iov_quirk *iov_quirk_table(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct iov_quirk *iov_quirk_get(const char *driver)
{
	if (!driver)
		return NULL;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].driver, driver) == 0)
			return &table[i];
	return NULL;
}

bool iov_quirk_has(const char *driver, unsigned flag)
{
	const struct iov_quirk *q = iov_quirk_get(driver);

	return q && (q->flags & flag);
}

unsigned iov_quirk_retry_ms(const char *driver, int r)
{
	const struct iov_quirk *q = iov_quirk_get(driver);

	if (q && (q->flags & IOV_QUIRK_RETRY_IN_RESET)) {
		for (size_t i = 0; i < 3 && q->retry_errnos[i]; i++)
			if (-r == q->retry_errnos[i])
				return q->retry_ms;
		return 0;
	}
	/* EAGAIN says "try again" whatever the driver; anything else is an answer. */
	return r == -EAGAIN ? IOV_QUIRK_DEFAULT_RETRY_MS : 0;
}

void iov_quirk_fix(const struct iov_quirk *q, const char *subject, char *buf, size_t len)
{
	const char *at = strstr(q->fix, "%s");

	if (!at)
		snprintf(buf, len, "%s", q->fix);
	else
		snprintf(buf, len, "%.*s%s%s", (int)(at - q->fix), q->fix, subject, at + 2);
}

int iov_quirk_netdev_driver(const char *ifname, char *buf, size_t len)
{
	char path[PATH_MAX];
	int r;

	if (!ifname || strchr(ifname, '/') || !*ifname)
		return -EINVAL;
	r = iov_path(path, sizeof(path), "/sys/class/net/%s/device/driver", ifname);
	if (r < 0)
		return r;
	return iov_readlink_base(path, buf, len);
}

int iov_netdev_is_up(const char *ifname)
{
	char path[PATH_MAX];
	char *s = NULL;
	long flags;
	int r;

	if (!ifname || strchr(ifname, '/') || !*ifname)
		return -EINVAL;
	if ((r = iov_path(path, sizeof(path), "/sys/class/net/%s/flags", ifname)) < 0)
		return r;
	if (iov_read_long(path, 16, &flags) == 0)
		return (flags & 0x1) ? 1 : 0;	/* IFF_UP */
	if ((r = iov_path(path, sizeof(path), "/sys/class/net/%s/operstate", ifname)) < 0)
		return r;
	if ((r = iov_read_str(path, &s)) < 0)
		return r;
	r = strncmp(s, "down", 4) != 0;
	free(s);
	return r;
}

int iov_netdev_wait_carrier(const char *ifname, unsigned ms)
{
	char path[PATH_MAX];
	struct timespec ts = { 0, 50 * 1000000L };
	long v = 0;
	int r;

	if (!ifname || strchr(ifname, '/') || !*ifname)
		return -EINVAL;
	if ((r = iov_path(path, sizeof(path), "/sys/class/net/%s/carrier", ifname)) < 0)
		return r;
	for (unsigned waited = 0;; waited += 50) {
		/* carrier reads EINVAL while the netdev is down: that is "no carrier". */
		if (iov_read_long(path, 10, &v) == 0 && v == 1)
			return 1;
		if (waited >= ms)
			return 0;
		nanosleep(&ts, NULL);
	}
}
