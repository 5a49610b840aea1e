/* The real host for the apply executor (sysfs under the sysroot, rtnetlink, vfio/bind.h)
 * and the live planning pipeline. */
#include "src/apply.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/plan.h"
#include "config/planhost.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "src/journal.h"
#include "sriov/numvfs.h"
#include "sriov/nvme.h"
#include "sriov/vfinfo.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "vfio/plan.h"
#include "vfio/state.h"

static bool unsafe_policy;

void iovd_apply_set_unsafe_interrupts(bool allow) { unsafe_policy = allow; }

static void nap(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int pf_read(const char *pf, const char *file, long *v)
{
	char p[PATH_MAX];
	int r = iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", pf, file);

	return r < 0 ? r : iov_read_long(p, 10, v);
}

static int h_pf_get(void *ctx, const char *pf, int *numvfs, int *autoprobe)
{
	long n, a;
	int r;

	if ((r = pf_read(pf, "sriov_numvfs", &n)) < 0 ||
	    (r = pf_read(pf, "sriov_drivers_autoprobe", &a)) < 0)
		return r;
	*numvfs = (int)n;
	*autoprobe = (int)a;
	return 0;
}

static int pf_write(const char *pf, const char *file, long v, struct iov_err *err)
{
	char p[PATH_MAX], val[24];
	int r = iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/%s", pf, file);

	snprintf(val, sizeof(val), "%ld", v);
	if (r == 0)
		r = iov_write_str(p, val);
	if (r < 0 && strcmp(file, "sriov_numvfs"))
		return iov_err_set(err, r, NULL, "%s: writing %s to %s: %s", pf, val, file,
				   strerror(-r));
	return r;
}

static unsigned wait_ms = 5000;

void iovd_apply_set_wait_ms(unsigned ms) { wait_ms = ms ? ms : 5000; }

static int wait_count(const char *pf, int n, struct iov_err *err)
{
	char p[PATH_MAX];

	for (unsigned t = 0; t <= wait_ms / 10; t++) {
		bool last = true, beyond = false;

		if (n > 0 && iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/virtfn%d", pf, n - 1) == 0)
			last = iov_exists(p);
		if (iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/virtfn%d", pf, n) == 0)
			beyond = iov_exists(p);
		if (last && !beyond)
			return 0;
		nap(10);
	}
	return iov_err_set(err, -ETIMEDOUT, "see dmesg", "%s: the PF did not get %d VF devices "
			   "within %u ms", pf, n, wait_ms);
}

static int h_numvfs_set(void *ctx, const char *pf, int n, struct iov_err *err)
{
	long cur, total = 0;
	int r;

	if ((r = pf_read(pf, "sriov_numvfs", &cur)) < 0)
		return iov_err_set(err, r, NULL, "%s: reading sriov_numvfs: %s", pf, strerror(-r));
	if (cur == n)
		return wait_count(pf, n, err);
	pf_read(pf, "sriov_totalvfs", &total);
	if (cur > 0 && n > 0) {
		if ((r = pf_write(pf, "sriov_numvfs", 0, err)) < 0)
			return iov_vfs_write_error(pf, 0, (int)total, r, err);
		if ((r = wait_count(pf, 0, err)) < 0)
			return r;
	}
	if ((r = pf_write(pf, "sriov_numvfs", n, err)) < 0)
		return iov_vfs_write_error(pf, n, (int)total, r, err);
	return wait_count(pf, n, err);
}

static int h_autoprobe_set(void *ctx, const char *pf, int v, struct iov_err *err)
{
	return pf_write(pf, "sriov_drivers_autoprobe", v, err);
}

/* The VF's settings to restore on roll-back. igb reports min_tx_rate 0 but refuses to set
 * it: min_rate only when non-zero. */
static void conf_of_info(const struct iov_vfinfo *v, struct iov_vfconf *c)
{
	iov_vfinfo_conf(v, c);
	if (c->min_rate == 0)
		c->set &= ~IOV_VFC_MIN_RATE;
}

static int h_vf_get(void *ctx, const char *pf, const char *netdev, int vf,
		    struct iovd_vf_now *out)
{
	char p[PATH_MAX], *s = NULL;
	struct iovd_vf_now v = { 0 };
	struct iov_vfinfo *info = NULL;
	size_t n = 0;
	int r;

	if ((r = iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/virtfn%d", pf, vf)) < 0)
		return r;
	if (iov_readlink_base(p, v.dev, sizeof(v.dev)) < 0) {
		*out = v;	/* no such VF now */
		return 0;
	}
	v.exists = true;
	if (iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", v.dev) == 0 &&
	    iov_readlink_base(p, v.driver, sizeof(v.driver)) < 0)
		v.driver[0] = 0;
	if (iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", v.dev) == 0 &&
	    iov_read_str(p, &s) == 0 && strcmp(s, "(null)"))
		snprintf(v.override, sizeof(v.override), "%s", s);
	free(s);
	if (netdev && *netdev && !iov_sysroot()[0] && iov_vfinfo_query(netdev, &info, &n) == 0)
		for (size_t k = 0; k < n; k++)
			if (info[k].vf == vf)
				conf_of_info(&info[k], &v.props);
	free(info);
	*out = v;
	return 0;
}

static int h_vf_props_set(void *ctx, const char *netdev, int vf, const struct iov_vfconf *c,
			  struct iov_err *err)
{
	if (!netdev || !*netdev)
		return iov_err_set(err, -ENODEV, NULL, "VF properties need the PF's netdev");
	return iov_vf_set(netdev, (unsigned)vf, c, err);
}

/* One move through vfio/plan.h's executor: override, unbind, probe, check. With the PF's
 * sriov_drivers_autoprobe off the kernel probes a VF only through its driver_override, so a
 * move to a host driver turns autoprobe on for the probe and back off after it. */
static int move(const char *pf, const char *dev, const char *to, const char *ovr, bool any,
		struct iov_err *err)
{
	struct iov_move m = { .to = (char *)to, .to_override = (char *)ovr, .any = any };
	struct iov_plan p = { .kind = IOV_PLAN_RELEASE, .group = -1, .moves = &m, .n = 1 };
	struct iov_err e2 = { 0 };
	bool flip = false;
	long ap = 1;
	int r;

	snprintf(m.dev, sizeof(m.dev), "%s", dev);
	if ((any || to) && !ovr && pf_read(pf, "sriov_drivers_autoprobe", &ap) == 0 && ap == 0) {
		if ((r = pf_write(pf, "sriov_drivers_autoprobe", 1, err)) < 0)
			return r;
		flip = true;
	}
	r = iov_plan_exec(&p, &iov_bind_io_sysfs, NULL, err);
	if (flip && pf_write(pf, "sriov_drivers_autoprobe", 0, &e2) < 0)
		log_warn("%s", e2.msg);
	return r;
}

static int with_dev(const char *name, int (*fn)(const struct iov_host *, const struct iov_dev *,
						 struct iov_err *), struct iov_err *err)
{
	struct iov_pci_addr a;
	struct iov_host *h;
	struct iov_dev *d;
	int r;

	if (iov_pci_addr_parse(name, &a) < 0)
		return iov_err_set(err, -EINVAL, NULL, "%s: not a PCI address", name);
	if ((r = iov_host_load(&h)) < 0)
		return iov_err_set(err, r, NULL, "reading the host: %s", strerror(-r));
	d = iov_host_find(h, &a);
	r = d ? fn(h, d, err) : iov_err_set(err, -ENODEV, NULL, "%s: no such device", name);
	iov_host_free(h);
	return r;
}

static int do_bind(const struct iov_host *h, const struct iov_dev *d, struct iov_err *err)
{
	struct iov_bind_opts o = { .allow_unsafe_interrupts = unsafe_policy };

	return iov_bind(h, d, &o, err);
}

static int h_vf_driver_set(void *ctx, const char *pf, int vf, enum iov_cfg_driver want,
			   const struct iovd_vf_now *exact, struct iov_err *err)
{
	struct iovd_vf_now now;
	int r;

	if ((r = h_vf_get(ctx, pf, NULL, vf, &now)) < 0 || !now.exists)
		return iov_err_set(err, r < 0 ? r : -ENODEV, NULL, "%s has no vf%d", pf, vf);
	if (exact) {
		if (!strcmp(exact->driver, "vfio-pci"))
			return strcmp(now.driver, "vfio-pci") ? with_dev(now.dev, do_bind, err) : 0;
		if (!strcmp(now.driver, "vfio-pci") && (r = with_dev(now.dev, iov_release, err)) < 0)
			return r;
		return move(pf, now.dev, exact->driver[0] ? exact->driver : NULL,
			    exact->override[0] ? exact->override : NULL, false, err);
	}
	switch (want) {
	case IOV_CFG_DRV_VFIO:
		return with_dev(now.dev, do_bind, err);
	case IOV_CFG_DRV_NONE:
		if (!strcmp(now.driver, "vfio-pci") && (r = with_dev(now.dev, iov_release, err)) < 0)
			return r;
		return move(pf, now.dev, NULL, NULL, false, err);
	default:
		if (!strcmp(now.driver, "vfio-pci") && (r = with_dev(now.dev, iov_release, err)) < 0)
			return r;
		if ((r = h_vf_get(ctx, pf, NULL, vf, &now)) < 0)
			return r;
		if (now.driver[0] && !now.override[0])
			return 0;
		return move(pf, now.dev, NULL, NULL, true, err);
	}
}

static int h_nvme_get(void *ctx, const char *pf, unsigned scid, uint32_t nsid,
		      struct iovd_nvme_now *out)
{
	struct iov_nvme_state *s = NULL;
	struct iovd_nvme_now c = { 0 };
	int r;

	if ((r = iov_nvme_read(pf, &s, NULL)) < 0)
		return r;
	for (size_t i = 0; i < s->n_sec; i++)
		if (s->sec[i].scid == scid) {
			c.exists = true;
			c.online = s->sec[i].online;
			c.nvq = s->sec[i].nvq;
			c.nvi = s->sec[i].nvi;
		}
	c.attached = nsid && iov_nvme_ns_attached(s, nsid, scid);
	iov_nvme_state_free(s);
	*out = c;
	return 0;
}

static int h_nvme_virt(void *ctx, const char *pf, unsigned scid, int act, int rt, unsigned nr,
		       struct iov_err *err)
{
	return iov_nvme_virt(pf, (enum iov_nvme_virt_act)act, scid, (enum iov_nvme_rt)rt, nr, err);
}

static int h_nvme_ns(void *ctx, const char *pf, uint32_t nsid, unsigned scid, bool attach,
		     struct iov_err *err)
{
	return iov_nvme_attach(pf, nsid, scid, attach, err);
}

const struct iovd_apply_ops iovd_apply_ops_sysfs = {
	.nvme_get = h_nvme_get,
	.nvme_virt = h_nvme_virt,
	.nvme_ns = h_nvme_ns,
	.pf_get = h_pf_get,
	.numvfs_set = h_numvfs_set,
	.autoprobe_set = h_autoprobe_set,
	.vf_get = h_vf_get,
	.vf_props_set = h_vf_props_set,
	.vf_driver_set = h_vf_driver_set,
};

/* ---- the live pipeline ---- */

int iovd_plan_live(const struct iov_config *cfg, bool force, struct iov_cfg_plan **plan_out,
		   struct iov_err *err)
{
	struct iov_plan_host_opts o = { .force = force, .allow_unsafe_interrupts = unsafe_policy,
					.bind_state = iov_bind_state_path() };

	return iov_cfg_plan_host(cfg, &o, plan_out, err);
}

int iovd_apply_config(const struct iov_config *cfg, const char *state_dir, bool dry_run,
		      bool force, json_t **result, struct iov_err *err)
{
	struct iov_cfg_plan *p = NULL;
	struct iovd_apply_report rep;
	json_t *res, *files;
	int r;

	if ((r = iovd_plan_live(cfg, force, &p, err)) < 0)
		return r;
	res = json_pack("{s:o, s:b}", "plan", iov_cfg_plan_json(p), "applied", false);
	if (!res) {
		iov_cfg_plan_free(p);
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	}
	if (dry_run || p->n == 0) {
		json_object_set_new(res, "result", json_string(p->n ? "dry run" : "nothing to do"));
		iov_cfg_plan_free(p);
		*result = res;
		return 0;
	}
	/* A transaction a crash left open is undone first: a new one would overwrite its
	 * journal, and with it the only record of what to put back. */
	{
		struct iov_err re = { 0 };

		if ((r = iovd_recover(state_dir, &iovd_apply_ops_sysfs, NULL, &re)) < 0) {
			json_decref(res);
			iov_cfg_plan_free(p);
			return iov_err_set(err, r, "see iovd's log; fix the cause and retry, or "
					   "restore by hand from the journal", "an interrupted apply "
					   "in %s could not be rolled back (%s); nothing new is applied "
					   "until it is", state_dir, re.msg);
		}
	}
	files = json_array();
	for (size_t i = 0; i < cfg->n_files; i++)
		json_array_append_new(files, json_string(cfg->files[i]));
	r = iovd_apply_exec(p, state_dir, iovd_next_txn(state_dir), &iovd_apply_ops_sysfs,
			    json_pack("{s:o}", "config", files), &rep, err);
	json_object_set_new(res, "applied", json_boolean(r == 0));
	json_object_set_new(res, "txn", json_integer((json_int_t)rep.txn));
	json_object_set_new(res, "steps", json_integer((json_int_t)rep.steps));
	json_object_set_new(res, "done", json_integer((json_int_t)rep.done));
	json_object_set_new(res, "result", json_string(r == 0 ? "ok" : rep.rolled_back ?
						       (rep.rollback_ok ? "rolled_back" :
							"rollback_incomplete") : "failed"));
	if (r < 0) {
		json_object_set_new(res, "failed_step", json_integer(rep.failed_step));
		json_object_set_new(res, "error", json_string(err->msg));
	}
	iov_cfg_plan_free(p);
	*result = res;
	return r;
}
