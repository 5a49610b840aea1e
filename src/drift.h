/* Drift: the host no longer matches the config in force, and nobody here changed it (a VF
 * MAC set by hand, a VF moved off vfio-pci, a VF count written to sysfs, a PF driver
 * reloaded). When udev says the host has settled (src/udevmon.h), iovd plans the config in
 * force against it; a non-empty plan is drift:
 *   - drift.found {actions, lines, cause, policy} on the bus, and in `iovctl status`;
 *   - the config's policy.on_drift decides: "report" leaves the host as it is, "reapply"
 *     applies the config (drift.repaired once it matches again);
 *   - a PF that came back with a driver (rmmod/modprobe, a reset: its VFs and their settings
 *     are gone) is not someone's choice: iovd re-converges it whatever the policy
 *     (cause "pf_reset").
 * An apply is one transaction (src/apply.h) with its own events. */
#ifndef IOV_SRC_DRIFT_H
#define IOV_SRC_DRIFT_H

#include <stdbool.h>

#include <jansson.h>

/* Plans the config in force against the host now and acts per policy. pf_reset: a PF got
 * (back) a driver since the last check. Returns the number of differences found (0: the
 * host matches) or -errno (no config, cannot plan: the error is in the status). */
int iovd_drift_check(bool pf_reset);

/* {"state": "none"|"found"|"repaired"|"unplannable", "since": time, "cause": ..,
 *  "lines": [...], "error": ..} for GetStatus; never NULL. */
json_t *iovd_drift_status(void);

#endif
