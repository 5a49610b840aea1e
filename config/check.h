/* `iovd --check [FILE]` and `iovctl config check FILE`: one code path. Loads the config
 * (and its drop-ins), resolves it against a host snapshot, and describes the outcome. */
#ifndef IOV_CONFIG_CHECK_H
#define IOV_CONFIG_CHECK_H

#include <stdio.h>

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "config/config.h"

struct iov_err;
struct iov_host;
struct iov_cfg_lookup;

/* path/dropin_dir as for iov_config_load(); lk NULL: the live host's lookups (what
 * iov_config_resolve() uses). *report is set in both outcomes (NULL only without memory):
 *   {"ok": true, "files": [..], "policy": {..}, "pfs": [{"name", "device", "netdev",
 *    "match", "num_vfs", "total_vfs", "vfs": [{"vf", "driver", settings...}]}],
 *    "pools": [{"name", "file", "path", "vfs": ["uplink/vf0", ..]}],
 *    "guests": [{"name", "file", "path", "kernel", ...}]}
 *   {"ok": false, "error": {"message", "fix", "errno"}}
 * Returns 0, or the error (err filled). */
int iov_config_check(const char *path, const char *dropin_dir, const struct iov_host *h,
		     const struct iov_cfg_lookup *lk, json_t **report, struct iov_err *err);

/* policy.admin_group as iovd resolves it when it loads a config (lib/group.h): 1 and *gid
 * set; 0 when the config names none or it cannot be known (under a sysroot without
 * DIR/etc/group: *unknown set true); -ENOENT with err (the file, JSON path and fix) when
 * there is no such group. */
int iov_config_admin_gid(const struct iov_config *c, gid_t *gid, bool *unknown,
			 struct iov_err *err);

/* The report for people: "FILE...: ok" and a line per PF, VF, pool and guest; or the
 * error and its fix. */
void iov_config_report_print(FILE *f, const json_t *report);

#endif
