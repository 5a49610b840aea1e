#include "sriov/numvfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <limits.h>
#include <dirent.h>

#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "sriov/quirks.h"
#include "vfio/bind.h"
#include "vfio/guard.h"

static unsigned wait_timeout_ms = 5000;

void iov_vfs_set_timeout_ms(unsigned ms) { wait_timeout_ms = ms; }

static bool is_vfio_driver(const char *drv)
{
	return drv && strstr(drv, "vfio");
}

static int add(struct iov_vfs_plan *p, enum iov_vfs_act kind, const char *dev, const char *file,
	       const char *value, int count, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int add(struct iov_vfs_plan *p, enum iov_vfs_act kind, const char *dev, const char *file,
	       const char *value, int count, const char *fmt, ...)
{
	struct iov_vfs_action *a = realloc(p->acts, (p->n + 1) * sizeof(*a));
	va_list ap;

	if (!a)
		return -ENOMEM;
	p->acts = a;
	a = &p->acts[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	snprintf(a->dev, sizeof(a->dev), "%s", dev);
	snprintf(a->file, sizeof(a->file), "%s", file ? file : "");
	snprintf(a->value, sizeof(a->value), "%s", value ? value : "");
	a->count = count;
	va_start(ap, fmt);
	vsnprintf(a->why, sizeof(a->why), fmt, ap);
	va_end(ap);
	return 0;
}

void iov_vfs_plan_free(struct iov_vfs_plan *p)
{
	if (!p)
		return;
	free(p->acts);
	free(p);
}

/* May the VFs of pf go away? Checks every VF; fills the list of VFs to release first. */
static int check_vfs_can_go(const struct iov_usage *u, const struct iov_dev *pf, bool force,
			    struct iov_vfs_plan *p, struct iov_err *err)
{
	const struct iov_sriov *s = pf->sriov;
	int r;

	for (size_t i = 0; i < s->n_vfs; i++) {
		const struct iov_dev *vf = s->vfs[i];
		const struct iov_usage_vfio *user;
		char why[256];

		if (!vf)
			continue;
		if (vf->group && u && (user = iov_usage_group_user(u, vf->group->id)))
			return iov_err_set(err, -EBUSY, "stop the VM (or close the group) first; "
					   "removing a VF a process holds would block until it lets go",
					   "%s/vf%zu (%s): IOMMU group %d is open by pid %d (%s)",
					   pf->name, i, vf->name, vf->group->id, user->pid, user->comm);
		if (is_vfio_driver(vf->driver)) {
			if (!force) {
				iov_err_set(err, -EBUSY, NULL, "%s/vf%zu (%s) is bound to %s",
					    pf->name, i, vf->name, vf->driver);
				snprintf(err->fix, sizeof(err->fix), "release it (iovctl release "
					 "%s) or pass --force to release the VFs first", vf->name);
				return -EBUSY;
			}
			if ((r = add(p, IOV_VFS_RELEASE, vf->name, NULL, NULL, 0,
				     "release %s from %s", vf->name, vf->driver)) < 0)
				return r;
		}
		if (u && iov_guard_dev(u, vf, why, sizeof(why)) == IOV_GUARD_CRITICAL && !force)
			return iov_err_set(err, -EPERM, "move the host's use off it, or pass --force",
					   "%s/vf%zu (%s) is in use by the host: %s", pf->name, i,
					   vf->name, why);
	}
	return 0;
}

int iov_vfs_plan(const struct iov_host *h, const struct iov_usage *u, const struct iov_dev *pf,
		 const struct iov_vfs_request *req, struct iov_vfs_plan **out,
		 struct iov_err *err)
{
	const struct iov_sriov *s = pf->sriov;
	struct iov_vfs_plan *p;
	char v[16];
	int r, cur, want_ap;

	if (pf->role != IOV_ROLE_PF || !s)
		return iov_err_set(err, -ENODEV, "pick a PF from `iovctl list pfs`",
				   "%s is not an SR-IOV physical function (no sriov_totalvfs)",
				   pf->name);
	if (req->count < 0)
		return iov_err_set(err, -EINVAL, NULL, "VF count %d: must be 0 or more", req->count);
	if (s->total_vfs == IOV_UNKNOWN || s->num_vfs == IOV_UNKNOWN)
		return iov_err_set(err, -EIO, "check the PF's sysfs files",
				   "%s: sriov_totalvfs/sriov_numvfs unreadable", pf->name);
	if (s->total_vfs == 0 && req->count > 0 && iov_quirk_has(pf->driver, IOV_QUIRK_FW_SRIOV)) {
		const struct iov_quirk *q = iov_quirk_get(pf->driver);
		char fix[384];

		iov_quirk_fix(q, pf->name, fix, sizeof(fix));
		return iov_err_set(err, -EOPNOTSUPP, fix, "%s (%s) offers 0 VFs: %s", pf->name,
				   pf->driver, q->why);
	}
	if (req->count > s->total_vfs)
		return iov_err_set(err, -ERANGE, "ask for at most that many",
				   "%s supports at most %d VFs (sriov_totalvfs); %d asked",
				   pf->name, s->total_vfs, req->count);
	if (req->vfio && req->count > 0 && !h->iommu.enabled)
		return iov_err_set(err, -EOPNOTSUPP, "enable the IOMMU (VT-d/AMD-Vi in the firmware, "
				   "intel_iommu=on on the kernel command line), or create the VFs "
				   "without --vfio",
				   "no IOMMU is active on this host: vfio-pci cannot take the VFs "
				   "(no IOMMU groups)");
	/* The bind at the end would refuse (vfio/plan.c); refusing here keeps the VFs that
	 * exist from being removed and re-created for nothing. */
	if (req->vfio && req->count > 0 && h->iommu.intremap != 1 && !req->allow_unsafe_interrupts)
		return iov_err_set(err, -EPERM, "enable interrupt remapping (VT-d/AMD-Vi in the "
				   "firmware, no intremap=off on the kernel command line), or accept "
				   "the risk host-wide: start iovd with --allow-unsafe-interrupts; "
				   "or create the VFs without --vfio",
				   "refusing --vfio for %s: interrupt remapping is %s (%s); a VF "
				   "assigned to a VM could inject interrupts into the host", pf->name,
				   h->iommu.intremap == 0 ? "off" : "not known to be on",
				   h->iommu.intremap_why ? h->iommu.intremap_why : "no evidence");
	cur = s->num_vfs;
	if (req->count != cur && !pf->driver)
		return iov_err_set(err, -ENOENT, "load the PF's driver (e.g. modprobe igb) and "
				   "check `iovctl show` for the device",
				   "%s has no driver bound; only the PF driver can create VFs",
				   pf->name);
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	snprintf(p->pf, sizeof(p->pf), "%s", pf->name);
	p->old_count = cur;
	p->new_count = req->count;
	p->old_autoprobe = s->drivers_autoprobe;
	p->total = s->total_vfs;

	if (req->count == cur) {
		if (req->vfio && cur > 0)
			r = add(p, IOV_VFS_BIND, pf->name, NULL, NULL, cur,
				"bind VFs 0..%d of %s to vfio-pci (those not on it yet)", cur - 1,
				pf->name);
		else
			r = 0;
		goto done;
	}
	if (cur > 0) {
		if ((r = check_vfs_can_go(u, pf, req->force, p, err)) < 0)
			goto done;
		/* The kernel refuses a new non-zero count while VFs exist (EBUSY). */
		if ((r = add(p, IOV_VFS_WRITE, pf->name, "sriov_numvfs", "0", 0,
			     "remove the %d VFs of %s%s", cur, pf->name,
			     req->count ? " (a count changes through 0)" : "")) < 0 ||
		    (r = add(p, IOV_VFS_WAIT, pf->name, NULL, NULL, 0,
			     "wait until the VFs are gone")) < 0)
			goto done;
	}
	if (req->count > 0) {
		/* Autoprobe off: host VF drivers (igbvf, iavf, ...) must not grab VFs headed for
		 * vfio-pci. Without --vfio it goes (back) on so the VFs get their driver. */
		want_ap = req->vfio ? 0 : 1;
		/* Some PFs' VFs must never meet a host driver (sriov/quirks.c). */
		if (iov_quirk_has(pf->driver, IOV_QUIRK_VF_NO_AUTOPROBE))
			want_ap = 0;
		if (s->drivers_autoprobe != want_ap) {
			snprintf(v, sizeof(v), "%d", want_ap);
			if ((r = add(p, IOV_VFS_WRITE, pf->name, "sriov_drivers_autoprobe", v, 0,
				     "%s", want_ap ? "let host VF drivers probe the new VFs"
				     : req->vfio ? "keep host VF drivers off the new VFs"
				     : "keep host drivers off the new VFs (their PF driver needs "
				       "it: see `iovctl show`)")) < 0)
				goto done;
		}
		snprintf(v, sizeof(v), "%d", req->count);
		if ((r = add(p, IOV_VFS_WRITE, pf->name, "sriov_numvfs", v, 0, "create %d VFs",
			     req->count)) < 0 ||
		    (r = add(p, IOV_VFS_WAIT, pf->name, NULL, NULL, req->count,
			     "wait until %d VF devices exist", req->count)) < 0)
			goto done;
		if (req->vfio && (r = add(p, IOV_VFS_BIND, pf->name, NULL, NULL, req->count,
					  "bind the %d VFs to vfio-pci", req->count)) < 0)
			goto done;
	}
	r = 0;
done:
	if (r < 0) {
		iov_vfs_plan_free(p);
		return r;
	}
	*out = p;
	return 0;
}

json_t *iov_vfs_plan_json(const struct iov_vfs_plan *p)
{
	static const char *const kind[] = { "write", "wait", "release", "bind" };
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->n; i++) {
		const struct iov_vfs_action *x = &p->acts[i];
		json_t *o = json_pack("{s:s, s:s, s:s}", "action", kind[x->kind], "device", x->dev,
				      "why", x->why);

		if (!o)
			continue;
		if (x->kind == IOV_VFS_WRITE) {
			json_object_set_new(o, "file", json_string(x->file));
			json_object_set_new(o, "value", json_string(x->value));
		} else if (x->kind != IOV_VFS_RELEASE) {
			json_object_set_new(o, "count", json_integer(x->count));
		}
		json_array_append_new(a, o);
	}
	return a;
}

int iov_vfs_write_error(const char *pf, int count, int total, int r, struct iov_err *err)
{
	switch (r) {
	case -ENOMEM:
		return iov_err_set(err, r, "enable SR-IOV (and 'above 4G decoding') in the "
				   "firmware setup, or boot with pci=realloc",
				   "%s: the kernel found no room for %d VFs (ENOMEM): the firmware "
				   "reserved no bus numbers or MMIO space for them", pf, count);
	case -ERANGE:
		return iov_err_set(err, r, NULL, "%s: %d VFs is more than the device allows "
				   "(sriov_totalvfs %d)", pf, count, total);
	case -EBUSY:
		return iov_err_set(err, r, "destroy them first (iovctl vfs destroy)",
				   "%s: the kernel refused (EBUSY): VFs exist or are in use", pf);
	case -ENOENT:
		return iov_err_set(err, r, "load the PF's driver; some drivers need a module "
				   "option (max_vfs=) instead of sriov_numvfs",
				   "%s: no PF driver, or the driver cannot configure SR-IOV (ENOENT)",
				   pf);
	case -EPERM:
		/* Root got here, so it is the PF driver: igb/ixgbe refuse to free VFs that
		 * pci_vfs_assigned() reports as assigned to a guest (legacy KVM/Xen assignment). */
		return iov_err_set(err, r, "stop the guests using the VFs; see dmesg for the "
				   "driver's message",
				   "%s: the PF driver refused to change its VFs (EPERM): some are "
				   "still assigned to a guest", pf);
	case -EACCES:
		return iov_err_set(err, r, "run iovd as root", "%s: not allowed to write "
				   "sriov_numvfs (%s)", pf, strerror(-r));
	}
	return iov_err_set(err, r, "see dmesg for the driver's reason",
			   "%s: writing %d to sriov_numvfs failed: %s", pf, count, strerror(-r));
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int write_pf(const char *pf, const char *file, const char *val)
{
	char path[PATH_MAX];
	int r = iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", pf, file);

	if (r < 0)
		return r;
	log_info("%s/%s <- %s", pf, file, val);
	return iov_write_str(path, val);
}

/* Number of VFs present now: virtfnN links in a row whose device exists. */
static int count_vfs(const char *pf)
{
	char path[PATH_MAX];
	int n;

	for (n = 0; n < 4096; n++) {
		if (iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/virtfn%d/vendor", pf, n) < 0 ||
		    !iov_exists(path))
			break;
	}
	return n;
}

static int wait_vfs(const char *pf, int count, struct iov_err *err)
{
	unsigned waited = 0;
	int n;

	/* Polling sysfs: VFs appear within a few ms on real hardware; igb under QEMU takes
	 * longer. Bounded so the daemon never hangs on a driver that gave up. */
	while ((n = count_vfs(pf)) != count) {
		if (waited >= wait_timeout_ms)
			return iov_err_set(err, -ETIMEDOUT, "see dmesg for the PF driver's messages",
					   "%s: %d VFs present after %u ms, %d expected", pf, n,
					   waited, count);
		sleep_ms(20);
		waited += 20;
	}
	log_info("%s: %d VFs present after about %u ms", pf, count, waited);
	return 0;
}

static int with_host_dev(const char *name, struct iov_host **h, struct iov_dev **d)
{
	struct iov_pci_addr a;
	int r;

	if ((r = iov_pci_addr_parse(name, &a)) < 0)
		return r;
	if ((r = iov_host_load(h)) < 0)
		return r;
	if (!(*d = iov_host_find(*h, &a))) {
		iov_host_free(*h);
		return -ENODEV;
	}
	return 0;
}

static int release_dev(const char *name, struct iov_err *err)
{
	struct iov_host *h;
	struct iov_dev *d;
	int r = with_host_dev(name, &h, &d);

	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: %s", name, strerror(-r));
	r = iov_release(h, d, err);
	iov_host_free(h);
	return r < 0 ? r : 0;
}

/* Binds VFs 0..count-1 of pf; records the ones it moved in bound (names). */
static int bind_vfs(const char *pf, int count, char (*bound)[IOV_PCI_ADDR_STRLEN], int *nbound,
		    struct iov_err *err)
{
	struct iov_host *h;
	struct iov_dev *d;
	int r = with_host_dev(pf, &h, &d);

	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: %s", pf, strerror(-r));
	for (int i = 0; i < count; i++) {
		const struct iov_dev *vf = d->sriov && (size_t)i < d->sriov->n_vfs ?
					   d->sriov->vfs[i] : NULL;

		if (!vf) {
			r = iov_err_set(err, -ENODEV, NULL, "%s: VF %d vanished", pf, i);
			break;
		}
		if (is_vfio_driver(vf->driver))
			continue;
		if ((r = iov_bind(h, vf, NULL, err)) < 0)
			break;
		snprintf(bound[*nbound], IOV_PCI_ADDR_STRLEN, "%s", vf->name);
		(*nbound)++;
	}
	iov_host_free(h);
	return r < 0 ? r : 0;
}

/* Before creating VFs: what the PF's driver needs of the host that the plan cannot change
 * itself (sriov/quirks.c). Reads the PF's driver and netdevs as they are now. */
static int check_pf_ready(const struct iov_vfs_plan *p, struct iov_err *err)
{
	char path[PATH_MAX], drv[64];
	const struct iov_quirk *q;
	struct dirent *de;
	DIR *dir;
	int r;

	if (p->new_count <= 0)
		return 0;
	if ((r = iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", p->pf)) < 0 ||
	    iov_readlink_base(path, drv, sizeof(drv)) < 0)
		return 0;	/* the write itself will say */
	q = iov_quirk_get(drv);
	if (!q || !(q->flags & IOV_QUIRK_PF_UP_FOR_VFS))
		return 0;
	if ((r = iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/net", p->pf)) < 0 ||
	    !(dir = opendir(path)))
		return 0;
	r = 0;
	while ((de = readdir(dir))) {
		char fix[384];

		if (de->d_name[0] == '.' || iov_netdev_is_up(de->d_name) != 0)
			continue;
		iov_quirk_fix(q, de->d_name, fix, sizeof(fix));
		r = iov_err_set(err, -ENETDOWN, fix, "%s: %s is down, and %s", p->pf, de->d_name,
				q->why);
		break;
	}
	closedir(dir);
	return r;
}

/* Puts a VF released by this plan back on vfio-pci (roll-back). */
static int rebind_dev(const char *name, struct iov_err *err)
{
	struct iov_host *h;
	struct iov_dev *d;
	int r = with_host_dev(name, &h, &d);

	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: %s", name, strerror(-r));
	r = iov_bind(h, d, NULL, err);
	iov_host_free(h);
	return r;
}

int iov_vfs_exec(const struct iov_vfs_plan *p, struct iov_err *err)
{
	char (*bound)[IOV_PCI_ADDR_STRLEN] = NULL, (*released)[IOV_PCI_ADDR_STRLEN] = NULL;
	bool count_changed = false, ap_changed = false;
	int r = 0, nbound = 0, nreleased = 0, nrebound = 0;
	char v[16], failed[160] = "";

	if ((r = check_pf_ready(p, err)) < 0) {
		log_info("%s: %s", p->pf, err ? err->msg : "PF not ready for VFs");
		return r;
	}
	for (size_t i = 0; i < p->n && r >= 0; i++) {
		const struct iov_vfs_action *a = &p->acts[i];

		log_info("%s: %s", p->pf, a->why);
		switch (a->kind) {
		case IOV_VFS_WRITE:
			r = write_pf(a->dev, a->file, a->value);
			if (strcmp(a->file, "sriov_numvfs") == 0) {
				if (r < 0)
					iov_vfs_write_error(a->dev, atoi(a->value), p->total, r,
							    err);
				else
					count_changed = true;
			} else if (r < 0) {
				iov_err_set(err, r, NULL, "%s: writing %s: %s", a->dev, a->file,
					    strerror(-r));
			} else {
				ap_changed = true;
			}
			break;
		case IOV_VFS_WAIT:
			r = wait_vfs(a->dev, a->count, err);
			break;
		case IOV_VFS_RELEASE:
			if (!released && !(released = calloc(p->n, sizeof(*released)))) {
				r = -ENOMEM;
				break;
			}
			if ((r = release_dev(a->dev, err)) == 0)
				snprintf(released[nreleased++], IOV_PCI_ADDR_STRLEN, "%s", a->dev);
			break;
		case IOV_VFS_BIND:
			if (!(bound = calloc((size_t)a->count + 1, sizeof(*bound)))) {
				r = -ENOMEM;
				break;
			}
			r = bind_vfs(a->dev, a->count, bound, &nbound, err);
			break;
		}
	}
	if (r < 0) {
		/* Undo, newest first: VFs we bound, the count, autoprobe, the old count, and
		 * the VFs released from vfio-pci go back to it (after the old VFs exist again,
		 * when the count was changed). */
		struct iov_err e2 = { 0 };
		bool ok = true;

		for (int i = nbound - 1; i >= 0; i--)
			ok &= release_dev(bound[i], &e2) >= 0;
		if (count_changed) {
			ok &= write_pf(p->pf, "sriov_numvfs", "0") >= 0 &&
			      wait_vfs(p->pf, 0, &e2) >= 0;
		}
		/* autoprobe before re-creating old VFs: they get their old drivers back */
		if (ap_changed && p->old_autoprobe != IOV_UNKNOWN) {
			snprintf(v, sizeof(v), "%d", p->old_autoprobe);
			ok &= write_pf(p->pf, "sriov_drivers_autoprobe", v) >= 0;
		}
		if (count_changed) {
			if (p->old_count > 0) {
				snprintf(v, sizeof(v), "%d", p->old_count);
				ok &= write_pf(p->pf, "sriov_numvfs", v) >= 0 &&
				      wait_vfs(p->pf, p->old_count, &e2) >= 0;
			}
		}
		for (int i = 0; i < nreleased; i++) {
			struct iov_err e3 = { 0 };

			if (rebind_dev(released[i], &e3) == 0) {
				nrebound++;
				continue;
			}
			ok = false;
			log_warn("%s: putting %s back on vfio-pci: %s", p->pf, released[i], e3.msg);
			snprintf(failed + strlen(failed), sizeof(failed) - strlen(failed), "%s%s",
				 *failed ? " " : "", released[i]);
		}
		if (err) {
			size_t l = strlen(err->fix);
			char again[64] = "";

			if (nrebound)
				snprintf(again, sizeof(again), " (%d VF%s put back on vfio-pci)",
					 nrebound, nrebound == 1 ? "" : "s");
			if (ok)
				snprintf(err->fix + l, sizeof(err->fix) - l, "%sthe previous VF setup "
					 "was restored%s", l ? "; " : "", again);
			else
				snprintf(err->fix + l, sizeof(err->fix) - l, "%scould not fully "
					 "restore the previous VF setup%s%s%s: check `iovctl show` and "
					 "dmesg", l ? "; " : "", again, *failed ? "; not back on "
					 "vfio-pci: " : "", failed);
		}
	}
	free(released);
	free(bound);
	return r < 0 ? r : 0;
}
