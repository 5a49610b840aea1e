#include "vfio/plan.h"

#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "vfio/state.h"
#include "vfio/verify.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_DRIVER "vfio-pci"

static void move_clear(struct iov_move *m)
{
	free(m->from);
	free(m->from_override);
	free(m->to);
	free(m->to_override);
}

void iov_plan_free(struct iov_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		move_clear(&p->moves[i]);
	for (size_t i = 0; i < p->n_drop; i++)
		free(p->drop[i]);
	free(p->moves);
	free(p->drop);
	free(p);
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

static int plan_add(struct iov_plan *p, const char *dev, const char *from, const char *from_ovr,
		    const char *to, const char *to_ovr, bool any)
{
	struct iov_move m = { .any = any }, *arr;

	snprintf(m.dev, sizeof(m.dev), "%s", dev);
	if (dup_opt(from, &m.from) < 0 || dup_opt(from_ovr, &m.from_override) < 0 ||
	    dup_opt(to, &m.to) < 0 || dup_opt(to_ovr, &m.to_override) < 0) {
		move_clear(&m);
		return -ENOMEM;
	}
	arr = realloc(p->moves, (p->n + 1) * sizeof(*arr));
	if (!arr) {
		move_clear(&m);
		return -ENOMEM;
	}
	p->moves = arr;
	p->moves[p->n++] = m;
	return 0;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static const char *or_none(const char *s)
{
	return s ? s : "no driver";
}

int iov_plan_bind(const struct iov_host *h, const struct iov_usage *u,
		  const struct iov_dev *dev, const struct iov_bind_opts *opts,
		  struct iov_plan **out, struct iov_err *err)
{
	const char *drv = opts && opts->driver ? opts->driver : DEFAULT_DRIVER;
	const struct iov_group *g = dev->group;
	const struct iov_dev *who = NULL;
	const struct iov_usage_vfio *user;
	struct iov_plan *p;
	char why[512];
	int ret;

	/* The name goes into driver_override and a sysfs path: a plain driver name only. */
	if (!*drv || strlen(drv) >= 64 || strpbrk(drv, "/\n \t") || drv[0] == '.') {
		char ed[65];

		return iov_err_set(err, -EINVAL, "name a PCI driver such as vfio-pci",
				   "bad driver name \"%s\"", iov_esc(ed, sizeof(ed), drv));
	}
	if (iov_dev_is_bridge(dev))
		return iov_err_set(err, -EINVAL, "pass an endpoint below it",
				   "%s is a bridge: bridges stay with the host (pcieport)",
				   dev->name);
	if (!g)
		return iov_err_set(err, -EINVAL, h->iommu.enabled ? "check the firmware's "
				   "DMAR/IVRS tables cover this slot" : "enable the IOMMU: VT-d in "
				   "the firmware and intel_iommu=on (AMD: AMD-Vi, no amd_iommu=off)",
				   "%s has no IOMMU group: vfio-pci refuses such a device%s",
				   dev->name, h->iommu.enabled ? "" : " (the IOMMU is off)");

	/* vfio_iommu_type1 itself refuses such platforms unless allow_unsafe_interrupts=1;
	 * iovd refuses before touching anything, whatever the module parameter says. Any
	 * driver other than the one the device already has may hand it to user space (vfio
	 * variants, uio_pci_generic, whatever a name does not tell), so without remapping
	 * only the device's own driver is accepted, not names that happen to lack "vfio". */
	if (h->iommu.intremap != 1 && !(opts && opts->allow_unsafe_interrupts) &&
	    !same(drv, dev->driver))
		return iov_err_set(err, -EPERM, "enable interrupt remapping (VT-d/AMD-Vi in the "
				   "firmware, no intremap=off on the kernel command line), or accept the "
				   "risk host-wide: start iovd with --allow-unsafe-interrupts",
				   "refusing to bind %s to %s: interrupt remapping is %s (%s); a device "
				   "assigned to a VM could inject interrupts into the host", dev->name,
				   drv, h->iommu.intremap == 0 ? "off" : "not known to be on",
				   h->iommu.intremap_why ? h->iommu.intremap_why : "no evidence");

	/* Every member moves, so every member must be free to go. */
	switch (iov_guard_group(u, dev, &who, why, sizeof(why))) {
	case IOV_GUARD_CRITICAL:
		return iov_err_set(err, -EPERM, "move that use to another device first",
				   "refusing to bind group %d of %s: the host needs it (%s)",
				   g->id, dev->name, why);
	case IOV_GUARD_UNKNOWN:
		return iov_err_set(err, -EPERM, "check that /proc is readable",
				   "refusing to bind group %d of %s: cannot tell whether the "
				   "host needs it (%s)", g->id, dev->name, why);
	case IOV_GUARD_FREE:
		break;
	}
	for (size_t i = 0; i < g->n_members; i++) {
		bool found = false;

		for (size_t j = 0; j < g->n_devs && !found; j++)
			found = !strcmp(g->devs[j]->name, g->members[i]);
		if (!found)
			return iov_err_set(err, -EBUSY, "ls -l /sys/kernel/iommu_groups/%d/devices",
					   "refusing to bind group %d of %s: it holds %s, which "
					   "is not a PCI device iovd knows how to move", g->id,
					   dev->name, g->members[i]);
	}
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct iov_dev *m = g->devs[i];

		/* Unbinding a PF's driver disables SR-IOV: its VFs disappear under whoever
		 * uses them (the kernel does this in the PF driver's remove()). */
		if (!iov_dev_is_bridge(m) && m->sriov && m->sriov->num_vfs > 0 &&
		    !same(m->driver, drv))
			return iov_err_set(err, -EBUSY, m == dev ? "release its VFs and set "
					   "sriov_numvfs to 0 first" : "a PF and its VFs in one "
					   "group cannot be split: move the card behind a port with "
					   "ACS, or set sriov_numvfs to 0 and bind the PF alone",
					   "refusing to bind group %d of %s: it holds the PF %s "
					   "(%s) with %d VFs enabled, and unbinding the PF would "
					   "remove them", g->id, dev->name, m->name,
					   or_none(m->driver), m->sriov->num_vfs);
	}

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = IOV_PLAN_BIND;
	p->group = g->id;
	for (size_t i = 0; i < g->n_devs; i++) {
		const struct iov_dev *m = g->devs[i];

		if (iov_dev_is_bridge(m))
			continue;
		if (same(m->driver, drv) && same(m->driver_override, drv))
			continue;
		ret = plan_add(p, m->name, m->driver, m->driver_override, drv, drv, false);
		if (ret < 0) {
			iov_plan_free(p);
			return ret;
		}
	}
	user = iov_usage_group_user(u, g->id);
	if (p->n && user && !(opts && opts->force)) {
		iov_plan_free(p);
		return iov_err_set(err, -EBUSY, "stop it first, or pass --force",
				   "group %d of %s is open by pid %d (%s)", g->id, dev->name,
				   user->pid, user->comm);
	}
	*out = p;
	return 0;
}

int iov_plan_release(const struct iov_host *h, const struct iov_usage *u,
		     const struct iov_bind_state *st, const struct iov_dev *dev,
		     struct iov_plan **out, struct iov_err *err)
{
	const struct iov_group *g = dev->group;
	const struct iov_usage_vfio *user;
	struct iov_plan *p = calloc(1, sizeof(*p));
	int ret = 0;

	if (!p)
		return -ENOMEM;
	p->kind = IOV_PLAN_RELEASE;
	p->group = g ? g->id : -1;

	/* Records of this group: the group as recorded at bind time, or this device. */
	for (size_t i = 0; i < st->n && ret == 0; i++) {
		const struct iov_bind_rec *r = &st->recs[i];
		struct iov_pci_addr a;
		const struct iov_dev *m;

		if (strcmp(r->dev, dev->name) && (!g || r->group != g->id))
			continue;
		if (iov_pci_addr_parse(r->dev, &a) < 0 || !(m = iov_host_find(h, &a))) {
			char **arr = realloc(p->drop, (p->n_drop + 1) * sizeof(*arr));

			if (!arr || !(arr[p->n_drop] = strdup(r->dev))) {
				if (arr)
					p->drop = arr;
				ret = -ENOMEM;
				break;
			}
			p->drop = arr;
			p->n_drop++;
			continue;	/* gone (VFs removed): nothing to put back */
		}
		if (same(m->driver, r->driver) && same(m->driver_override, r->override))
			continue;	/* already back */
		ret = plan_add(p, m->name, m->driver, m->driver_override, r->driver, r->override,
			       false);
	}
	/* Bound by someone else (or a lost state file): back to its default driver. */
	if (ret == 0 && !iov_bind_state_find(st, dev->name) && dev->driver &&
	    iov_driver_vfio_safe(dev->driver) && strcmp(dev->driver, "pcieport") != 0)
		ret = plan_add(p, dev->name, dev->driver, dev->driver_override, NULL, NULL, true);
	if (ret < 0) {
		iov_plan_free(p);
		return ret;
	}
	user = g ? iov_usage_group_user(u, g->id) : NULL;
	if (p->n && user) {
		iov_plan_free(p);
		return iov_err_set(err, -EBUSY, "stop the VM first",
				   "group %d of %s is open by pid %d (%s): unbinding vfio-pci "
				   "would block until it lets go", g->id, dev->name, user->pid,
				   user->comm);
	}
	*out = p;
	return 0;
}

void iov_plan_describe(const struct iov_plan *p, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n && off < len; i++) {
		const struct iov_move *m = &p->moves[i];
		int n = snprintf(buf + off, len - off, "%s%s: %s -> %s", i ? "\n" : "", m->dev,
				 or_none(m->from), m->any ? "default driver" : or_none(m->to));

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* ---- the executor ---- */

static int sysfs_write(void *ctx, const char *path, const char *val)
{
	return iov_write_str(path, val);
}

static int sysfs_driver(void *ctx, const char *dev, char *buf, size_t len)
{
	char p[PATH_MAX];
	int ret = iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", dev);

	return ret < 0 ? ret : iov_readlink_base(p, buf, len);
}

static bool sysfs_driver_loaded(void *ctx, const char *drv)
{
	char p[PATH_MAX];

	return iov_path(p, sizeof(p), "/sys/bus/pci/drivers/%s", drv) == 0 && iov_exists(p);
}

static bool sysfs_has_group(void *ctx, const char *dev)
{
	char p[PATH_MAX];

	return iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", dev) == 0 &&
	       iov_exists(p);
}

static int sysfs_responds(void *ctx, const char *dev)
{
	char p[PATH_MAX];
	unsigned char hdr[64];
	ssize_t n;
	int ret = iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/config", dev);

	if (ret < 0)
		return ret;
	if ((n = iov_read_bin(p, hdr, sizeof(hdr))) < 0)
		return (int)n;
	/* A device that did not come back from reset answers every config read with all
	 * ones. Not the vendor ID alone: a VF's reads 0xffff by design (SR-IOV: the kernel
	 * takes it from the PF), while its command, status and class registers are real. */
	for (ssize_t i = 0; i < n; i++)
		if (hdr[i] != 0xff)
			return 0;
	return -EIO;
}

static void real_sleep(void *ctx, unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0)
		;
}

const struct iov_bind_io iov_bind_io_sysfs = {
	.write = sysfs_write,
	.driver = sysfs_driver,
	.driver_loaded = sysfs_driver_loaded,
	.has_group = sysfs_has_group,
	.responds = sysfs_responds,
	.sleep_ms = real_sleep,
};

static int io_write(const struct iov_bind_io *io, const char *val, struct iov_err *err,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int io_write(const struct iov_bind_io *io, const char *val, struct iov_err *err,
		    const char *fmt, ...)
{
	char rel[256], p[PATH_MAX];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	ret = iov_path(p, sizeof(p), "%s", rel);
	if (ret == 0)
		ret = io->write(io->ctx, p, val);
	if (ret < 0)
		return iov_err_set(err, ret, NULL, "writing \"%s\" to %s: %s",
				   strcmp(val, "\n") ? val : "\\n", p, strerror(-ret));
	return 0;
}

/* The driver now, "" for none; <0 on read errors other than "no link". */
static int cur_driver(const struct iov_bind_io *io, const char *dev, char *buf, size_t len)
{
	int ret = io->driver(io->ctx, dev, buf, len);

	if (ret == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return ret;
}

/* One move: override, unbind if bound elsewhere, probe, then check the result. */
static int do_move(const struct iov_bind_io *io, const char *dev, const char *to,
		   const char *to_override, bool any, struct iov_err *err)
{
	unsigned waited = 0, limit = io->timeout_ms ? io->timeout_ms : 2000;
	char cur[64];
	int ret;

	/* The kernel clears driver_override on a write of "\n" (driver_set_override());
	 * an empty write never reaches it. */
	ret = io_write(io, to_override ? to_override : "\n", err,
		       "/sys/bus/pci/devices/%s/driver_override", dev);
	if (ret < 0)
		return ret;
	ret = cur_driver(io, dev, cur, sizeof(cur));
	if (ret < 0)
		return iov_err_set(err, ret, NULL, "%s: reading its driver link: %s", dev,
				   strerror(-ret));
	if (*cur && !any && to && !strcmp(cur, to))
		return 0;	/* already there; only the override changed */
	if (*cur) {
		ret = io_write(io, dev, err, "/sys/bus/pci/devices/%s/driver/unbind", dev);
		if (ret < 0)
			return ret;
		ret = cur_driver(io, dev, cur, sizeof(cur));
		if (ret < 0 || *cur)
			return iov_err_set(err, -EBUSY, NULL, "%s is still bound to %s after "
					   "unbind", dev, *cur ? cur : "?");
	}
	if (!to && !any)
		return 0;	/* it had no driver before: leave it without one */
	ret = io_write(io, dev, err, "/sys/bus/pci/drivers_probe");
	if (ret < 0)
		return ret;
	/* drivers_probe is synchronous for most drivers, but some probe asynchronously;
	 * poll the driver link for a bounded time. */
	for (;;) {
		ret = cur_driver(io, dev, cur, sizeof(cur));
		if (ret < 0)
			return iov_err_set(err, ret, NULL, "%s: reading its driver link: %s", dev,
					   strerror(-ret));
		if (*cur && (any || !strcmp(cur, to)))
			return 0;
		if (*cur)
			return iov_err_set(err, -EIO, "check driver_override and dmesg",
					   "%s bound to %s instead of %s", dev, cur, to);
		if (waited >= (any ? 200 : limit))
			break;
		io->sleep_ms(io->ctx, 10);
		waited += 10;
	}
	if (any)
		return 0;	/* no driver wants it: that is its default */
	if (!strcmp(to, "vfio-pci") && !io->has_group(io->ctx, dev))
		return iov_err_set(err, -ENODEV, "enable the IOMMU: VT-d in the firmware and "
				   "intel_iommu=on (AMD: AMD-Vi)",
				   "vfio-pci refused %s: it has no IOMMU group", dev);
	return iov_err_set(err, -EIO, "see dmesg for the probe error",
			   "%s has no driver after probing for %s (is %s loaded?)", dev, to, to);
}

/* Release: reset a device before it leaves its VFIO driver; see plan.h. */
static int reset_dev(const struct iov_bind_io *io, const struct iov_move *m, struct iov_err *err)
{
	const char *to = m->any ? "its default driver" : m->to ? m->to : "the host (no driver)";
	char p[PATH_MAX], fixbuf[320], why[PATH_MAX + 96];
	int ret = iov_path(p, sizeof(p), "/sys/bus/pci/devices/%s/reset", m->dev);

	if (ret == 0)
		ret = io->write(io->ctx, p, "1");
	if (ret == -ENOENT)
		snprintf(why, sizeof(why), "it has no reset method (no reset file)");
	else if (ret < 0)
		snprintf(why, sizeof(why), "its reset failed (writing 1 to %s: %s)", p,
			 strerror(-ret));
	else if ((ret = io->responds(io->ctx, m->dev)) < 0)
		snprintf(why, sizeof(why), "after its reset it does not answer config reads (%s)",
			 strerror(-ret));
	if (ret == 0)
		return 0;
	snprintf(fixbuf, sizeof(fixbuf), "%sreset it by removing and rescanning it (echo 1 > "
		 "/sys/bus/pci/devices/%s/remove; echo 1 > /sys/bus/pci/rescan) and release it "
		 "again, or keep it on %s (one VM for its whole life)",
		 ret == -ENOENT ? "" : "see dmesg for the reset error; ", m->dev, or_none(m->from));
	return iov_err_set(err, -ENOTTY, fixbuf, "refusing to give %s to %s: %s, so it may "
			   "keep what the guest left in it; it stays on %s", m->dev, to, why,
			   or_none(m->from));
}

int iov_plan_exec(const struct iov_plan *p, const struct iov_bind_io *io, bool *done,
		  struct iov_err *err)
{
	int first = 0;

	for (size_t i = 0; done && i < p->n; i++)
		done[i] = false;

	if (p->kind == IOV_PLAN_BIND && p->n) {
		const char *drv = p->moves[0].to;

		if (drv && !io->driver_loaded(io->ctx, drv)) {
			char fixbuf[96];

			snprintf(fixbuf, sizeof(fixbuf), "modprobe %s", drv);
			return iov_err_set(err, -ENOENT, fixbuf, "%s is not loaded: no device "
					   "was changed", drv);
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct iov_move *m = &p->moves[i];
		struct iov_err e = { 0 };
		int ret = 0;

		/* Give a device back as the host expects it, not as the guest left it. */
		if (p->kind == IOV_PLAN_RELEASE && m->from && strstr(m->from, "vfio"))
			ret = reset_dev(io, m, &e);
		if (ret == 0)
			ret = do_move(io, m->dev, m->to, m->to_override, m->any, &e);

		if (ret == 0) {
			if (done)
				done[i] = true;
			continue;
		}
		if (p->kind == IOV_PLAN_RELEASE) {
			/* Keep going: every device that can go back should. */
			if (!first)
				first = iov_err_set(err, ret, e.fix, "%s", e.msg);
			else if (err)
				snprintf(err->msg + strlen(err->msg), sizeof(err->msg) -
					 strlen(err->msg), "; %s", e.msg);
			continue;
		}
		/* Bind: put back what was started, newest first, so the group is as it was. */
		char undo[512] = "";
		size_t undo_off = 0;

		for (size_t j = i + 1; j-- > 0;) {
			const struct iov_move *r = &p->moves[j];
			struct iov_err re = { 0 };

			if (do_move(io, r->dev, r->from, r->from_override, false, &re) < 0 &&
			    undo_off < sizeof(undo)) {
				int n = snprintf(undo + undo_off, sizeof(undo) - undo_off, "%s%s",
						 undo_off ? "; " : "", re.msg);

				if (n > 0)
					undo_off += (size_t)n;
			}
			if (done)
				done[j] = false;
		}
		if (*undo)
			return iov_err_set(err, ret, "the group is left half-moved: fix it by hand "
					   "(driver_override, drivers_probe)",
					   "%s; putting the group back failed too: %s", e.msg,
					   undo);
		return iov_err_set(err, ret, e.fix[0] ? e.fix : NULL,
				   "%s; nothing changed (every device put back as it was)", e.msg);
	}
	return first;
}
