#include "config/planhost.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/plan.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "sriov/nvme.h"
#include "sriov/vfinfo.h"
#include "vfio/guard.h"
#include "vfio/state.h"

int iov_cfg_plan_host(const struct iov_config *cfg, const struct iov_plan_host_opts *o,
		      struct iov_cfg_plan **plan_out, struct iov_err *err)
{
	struct iov_host *h = NULL;
	struct iov_usage *u = NULL;
	struct iov_bind_state *st = NULL;
	struct iov_cfg_resolved *rc = NULL;
	struct iov_plan_vfs *vi = NULL;
	struct iov_vfinfo **infos = NULL;
	struct iov_nvme_state **nv = NULL;
	int r;

	if ((r = iov_host_load(&h)) < 0)
		return iov_err_set(err, r, "check that sysfs is mounted", "cannot read the host's "
				   "PCI devices: %s", strerror(-r));
	if ((r = iov_usage_load(&u)) < 0 || (r = iov_usage_scan_vfio(u)) < 0) {
		iov_err_set(err, r, NULL, "reading host usage: %s", strerror(-r));
		goto out;
	}
	if (o->bind_state && (r = iov_bind_state_load(o->bind_state, &st, err)) < 0)
		goto out;
	if ((r = iov_config_resolve(cfg, h, &rc, err)) < 0)
		goto out;
	vi = calloc(cfg->n_pfs + 1, sizeof(*vi));
	infos = calloc(cfg->n_pfs + 1, sizeof(*infos));
	nv = calloc(cfg->n_pfs + 1, sizeof(*nv));
	if (!vi || !infos || !nv) {
		r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cfg->n_pfs; i++) {
		const struct iov_dev *pf = rc->pf_dev[i];

		if (pf && pf->n_netdevs && (!iov_sysroot()[0]) &&
		    iov_vfinfo_query(pf->netdevs[0], &infos[i], &vi[i].n) == 0) {
			vi[i].vfs = infos[i];
			vi[i].known = true;
		}
		/* NVMe keys: the drive's secondary controllers, read now (libnvme, or the
		 * fixture's Identify data under a sysroot); unreadable is a refusal. */
		if (pf && cfg->pfs[i].nvme && iov_nvme_is_nvme_pf(pf->name, pf->driver)) {
			struct iov_err e = { 0 };

			if ((r = iov_nvme_read(pf->name, &nv[i], &e)) < 0) {
				iov_err_set(err, r, e.fix[0] ? e.fix : NULL, "%s (%s, %s: %s): %s",
					    cfg->pfs[i].name, pf->name, cfg->pfs[i].where.file ?
					    cfg->pfs[i].where.file : "config", cfg->pfs[i].where.path,
					    e.msg);
				goto out;
			}
		}
	}
	{
		struct iov_plan_input in = { .h = h, .u = u, .st = st, .rc = rc, .vfinfo = vi,
					     .nvme = (const struct iov_nvme_state *const *)nv,
					     .force = o->force,
					     .allow_unsafe_interrupts = o->allow_unsafe_interrupts };

		r = iov_cfg_plan(&in, plan_out, err);
	}
out:
	for (size_t i = 0; infos && i < cfg->n_pfs; i++)
		free(infos[i]);
	free(infos);
	for (size_t i = 0; nv && i < cfg->n_pfs; i++)
		iov_nvme_state_free(nv[i]);
	free(nv);
	free(vi);
	iov_cfg_resolved_free(rc);
	iov_bind_state_free(st);
	iov_usage_free(u);
	iov_host_free(h);
	return r;
}

