/* The config plan against the live host: loads the host model, the usage snapshot (with
 * open VFIO groups), the bind records, resolves the config and reads the VF settings the
 * kernel reports (rtnetlink; not on a --sysroot tree), then plans (config/plan.h). Reads
 * only. iovd plans through it before every apply; `iovctl plan --config FILE` plans a file
 * without the daemon. */
#ifndef IOV_CONFIG_PLANHOST_H
#define IOV_CONFIG_PLANHOST_H

#include <stdbool.h>

struct iov_config;
struct iov_cfg_plan;
struct iov_err;

struct iov_plan_host_opts {
	bool force;
	bool allow_unsafe_interrupts;
	const char *bind_state;		/* bind records (NULL: none) */
};

int iov_cfg_plan_host(const struct iov_config *cfg, const struct iov_plan_host_opts *o,
		      struct iov_cfg_plan **out, struct iov_err *err);

#endif
