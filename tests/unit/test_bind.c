/* Bind/release: the plan (pure), the executor against a simulated kernel, roll-back, the
 * state file, and iov_bind/iov_release end to end on a temp sysroot. The kernel's real
 * reaction is the test host's job (tests/rig/scenarios/vfio_*.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "tests/unit/fakesys.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "vfio/plan.h"
#include "vfio/state.h"

/* ---- a simulated kernel for the executor ---- */

struct simdev {
	const char *name;
	char driver[32];	/* "" = none */
	char override[32];	/* "" = unset */
	const char *native;	/* what drivers_probe binds without an override */
	bool group;		/* vfio-pci refuses devices without one */
	bool refuse_vfio;	/* vfio-pci's probe fails anyway */
	int reset_err;		/* what a write to DEV/reset returns (-ENOENT: no reset file) */
	bool dead;		/* config reads answer all ones after a reset */
	int resets;
};

struct sim {
	struct simdev devs[8];
	int n;
	bool vfio_loaded;
	char log[64][96];	/* "override 0000:01:10.0 vfio-pci", "unbind ...", "probe ..." */
	int nlog;
	int fail_write_at;	/* make write number N (1-based) fail with -EIO; 0 = never */
	int writes;
};

static struct simdev *sim_find(struct sim *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->devs[i].name, name))
			return &s->devs[i];
	return NULL;
}

/* For the test body: the device must exist. */
static struct simdev *sim_dev(struct sim *s, const char *name)
{
	struct simdev *d = sim_find(s, name);

	if (!d)
		abort();
	return d;
}

static void sim_log(struct sim *s, const char *what, const char *dev, const char *val)
{
	if (s->nlog < 64)
		snprintf(s->log[s->nlog++], sizeof(s->log[0]), "%s %s%s%s", what, dev,
			 val ? " " : "", val ? val : "");
}

static bool sim_loaded(void *ctx, const char *drv)
{
	struct sim *s = ctx;

	if (!strcmp(drv, "vfio-pci"))
		return s->vfio_loaded;
	return !strcmp(drv, "igb") || !strcmp(drv, "igbvf");
}

/* Paths arrive with the sysroot prefix; only the tail matters here. */
static int sim_write(void *ctx, const char *path, const char *val)
{
	struct sim *s = ctx;
	const char *p = strstr(path, "/sys/bus/pci/");
	char dev[32];
	struct simdev *d;

	if (++s->writes == s->fail_write_at)
		return -EIO;
	assert_non_null(p);
	p += strlen("/sys/bus/pci/");
	if (!strcmp(p, "drivers_probe")) {
		d = sim_dev(s, val);
		assert_non_null(d);
		sim_log(s, "probe", val, NULL);
		if (d->driver[0])
			return 0;
		const char *want = d->override[0] ? d->override : d->native;

		if (!want)
			return 0;
		if (!sim_loaded(s, want) ||
		    (!strcmp(want, "vfio-pci") && (!d->group || d->refuse_vfio)))
			return 0;	/* probe failed: no error from drivers_probe, no driver */
		snprintf(d->driver, sizeof(d->driver), "%s", want);
		return 0;
	}
	assert_int_equal(sscanf(p, "devices/%31[^/]/", dev), 1);
	d = sim_dev(s, dev);
	assert_non_null(d);
	if (strstr(p, "/driver_override")) {
		/* The kernel: "\n" (or empty) clears, otherwise up to the newline. */
		snprintf(d->override, sizeof(d->override), "%s", !strcmp(val, "\n") ? "" : val);
		sim_log(s, "override", dev, val[0] == '\n' ? "(clear)" : val);
		return 0;
	}
	if (strstr(p, "/reset")) {
		assert_string_equal(val, "1");
		sim_log(s, "reset", dev, NULL);
		d->resets++;
		return d->reset_err;
	}
	if (strstr(p, "/driver/unbind")) {
		assert_string_equal(val, dev);
		if (!d->driver[0])
			return -ENOENT;	/* no driver link: the path would not exist */
		d->driver[0] = '\0';
		sim_log(s, "unbind", dev, NULL);
		return 0;
	}
	fail_msg("unexpected write to %s", path);
	return -EINVAL;
}

static int sim_driver(void *ctx, const char *dev, char *buf, size_t len)
{
	struct simdev *d = sim_find(ctx, dev);

	if (!d || !d->driver[0])
		return -ENOENT;
	snprintf(buf, len, "%s", d->driver);
	return 0;
}


static bool sim_has_group(void *ctx, const char *dev)
{
	struct simdev *d = sim_find(ctx, dev);

	return d && d->group;
}

static int sim_responds(void *ctx, const char *dev)
{
	struct simdev *d = sim_find(ctx, dev);

	return d && !d->dead ? 0 : -EIO;
}

static void sim_sleep(void *ctx, unsigned ms)
{
}

static struct iov_bind_io sim_io(struct sim *s)
{
	return (struct iov_bind_io){ .write = sim_write, .driver = sim_driver,
				     .driver_loaded = sim_loaded, .has_group = sim_has_group,
				     .responds = sim_responds, .sleep_ms = sim_sleep, .ctx = s, .timeout_ms = 50 };
}

static void sim_add(struct sim *s, const char *name, const char *driver, const char *native)
{
	struct simdev *d = &s->devs[s->n++];

	d->name = name;
	snprintf(d->driver, sizeof(d->driver), "%s", driver ? driver : "");
	d->native = native;
	d->group = true;
}

/* ---- the layout: root port, igb PF (group 1), two VFs sharing group 2, one VF alone in
 * group 3 with no driver. ---- */

struct lay {
	struct iov_host *h;
	struct iov_dev *rp, *pf, *vf0, *vf1, *vf2;
};

static void lay_make(struct lay *l)
{
	struct iov_group *g2;

	l->h = fk_host_new();
	l->rp = fk_bridge(l->h, "00:01.0", IOV_PCIE_ROOT_PORT, true, 0x1f, 0x1d);
	l->pf = fk_dev(l->h, "01:00.0", "igb");
	l->vf0 = fk_dev(l->h, "01:10.0", "igbvf");
	l->vf1 = fk_dev(l->h, "01:10.2", "igbvf");
	l->vf2 = fk_dev(l->h, "01:10.4", NULL);
	fk_parent(l->pf, l->rp);
	fk_vf(l->pf, l->vf0);
	fk_vf(l->pf, l->vf1);
	fk_vf(l->pf, l->vf2);
	fk_netdev(l->pf, "eth0");
	fk_netdev(l->vf0, "eth1");
	fk_join(fk_group(l->h, 0, "DMA"), l->rp);
	fk_join(fk_group(l->h, 1, "DMA"), l->pf);
	g2 = fk_group(l->h, 2, "DMA");
	fk_join(g2, l->vf0);
	fk_join(g2, l->vf1);
	fk_join(fk_group(l->h, 3, "DMA"), l->vf2);
}

static void sim_from_lay(struct sim *s, const struct lay *l)
{
	memset(s, 0, sizeof(*s));
	s->vfio_loaded = true;
	sim_add(s, l->pf->name, "igb", "igb");
	sim_add(s, l->vf0->name, "igbvf", "igbvf");
	sim_add(s, l->vf1->name, "igbvf", "igbvf");
	sim_add(s, l->vf2->name, NULL, "igbvf");
}

static struct iov_usage *quiet_usage(void)
{
	struct iov_usage *u = calloc(1, sizeof(*u));

	assert_non_null(u);
	u->net_known = u->ipv4_addrs_known = u->mounts_known = u->vfio_known = true;
	return u;
}

/* ---- plan ---- */

static void test_plan_group(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_plan *p = NULL;
	struct iov_err e = { 0 };
	char desc[512];

	lay_make(&l);
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), 0);
	assert_int_equal(p->kind, IOV_PLAN_BIND);
	assert_int_equal(p->group, 2);
	assert_int_equal(p->n, 2);	/* the whole group, in address order */
	assert_string_equal(p->moves[0].dev, "0000:01:10.0");
	assert_string_equal(p->moves[0].from, "igbvf");
	assert_null(p->moves[0].from_override);
	assert_string_equal(p->moves[0].to, "vfio-pci");
	assert_string_equal(p->moves[0].to_override, "vfio-pci");
	assert_string_equal(p->moves[1].dev, "0000:01:10.2");
	iov_plan_describe(p, desc, sizeof(desc));
	assert_string_equal(desc, "0000:01:10.0: igbvf -> vfio-pci\n0000:01:10.2: igbvf -> vfio-pci");
	iov_plan_free(p);

	/* Already there: nothing to do. */
	free(l.vf2->driver);
	l.vf2->driver = strdup("vfio-pci");
	l.vf2->driver_override = strdup("vfio-pci");
	assert_int_equal(iov_plan_bind(l.h, u, l.vf2, NULL, &p, &e), 0);
	assert_int_equal(p->n, 0);
	iov_plan_free(p);
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_plan_refusals(void **state)
{
	struct lay l;
	struct iov_usage *u = quiet_usage();
	struct iov_plan *p = NULL;
	struct iov_err e = { 0 };
	struct iov_bind_opts force = { .force = true };

	lay_make(&l);
	/* Driver names end up in sysfs paths and driver_override. */
	const char *bad[] = { "", "../../x", "vfio-pci\n", "a b", ".." };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct iov_bind_opts o = { .driver = bad[i] };

		assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &o, &p, &e), -EINVAL);
		assert_non_null(strstr(e.msg, "bad driver name"));
	}
	/* Interrupt remapping off or unknown: refused unless the host's policy allows it. */
	{
		struct iov_bind_opts unsafe = { .allow_unsafe_interrupts = true };
		struct iov_bind_opts other = { .driver = "igbvf" };

		l.h->iommu.intremap = 0;
		assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &force, &p, &e), -EPERM);
		assert_non_null(strstr(e.msg, "interrupt remapping is off"));
		assert_non_null(strstr(e.fix, "--allow-unsafe-interrupts"));
		l.h->iommu.intremap = IOV_UNKNOWN;
		assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), -EPERM);
		assert_non_null(strstr(e.msg, "not known to be on"));
		assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &unsafe, &p, &e), 0);
		iov_plan_free(p);
		/* The device's own driver is not a VM's: no interrupt-remapping concern. */
		assert_string_equal(l.vf1->driver, "igbvf");
		assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &other, &p, &e), 0);
		iov_plan_free(p);
		/* Any other driver may hand the device to user space, "vfio" in its name or not. */
		const char *userspace[] = { "uio_pci_generic", "pci-stub", "mlx5_vfio_pci" };

		for (size_t i = 0; i < 3; i++) {
			struct iov_bind_opts o = { .driver = userspace[i] };

			assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &o, &p, &e), -EPERM);
			assert_non_null(strstr(e.msg, userspace[i]));
		}
		l.h->iommu.intremap = 1;
	}
	/* A bridge. */
	assert_int_equal(iov_plan_bind(l.h, u, l.rp, NULL, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bridge"));
	/* No group. */
	l.vf2->group = NULL;
	assert_int_equal(iov_plan_bind(l.h, u, l.vf2, NULL, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no IOMMU group"));
	/* A member holds an address: refused, --force does not help. */
	assert_int_equal(iov_usage_add_net(u, "eth1", IOV_NET_ADDR6), 0);
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &force, &p, &e), -EPERM);
	assert_non_null(strstr(e.msg, "0000:01:10.0: eth1 has a global IPv6 address"));
	iov_usage_free(u);
	u = quiet_usage();
	/* Usage unknown: refused too. */
	u->net_known = false;
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), -EPERM);
	u->net_known = true;
	/* A group a VM holds open: refused unless forced. */
	assert_int_equal(iov_usage_add_vfio(u, 2, 4242, "iovm"), 0);
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "pid 4242 (iovm)"));
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, &force, &p, &e), 0);
	iov_plan_free(p);
	/* A PF with VFs in the group: its VFs would vanish. */
	fk_leave(l.vf0);
	fk_join(l.pf->group, l.vf0);
	assert_int_equal(iov_plan_bind(l.h, u, l.vf0, NULL, &p, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "PF 0000:01:00.0 (igb) with 3 VFs"));
	/* A member that is not a PCI device of the model. */
	fk_join_foreign(l.vf1->group, "0000:99:00.0");
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "0000:99:00.0"));
	iov_usage_free(u);
	fk_host_free(l.h);
}

/* ---- executor ---- */

static void test_exec_ok(void **state)
{
	struct lay l;
	struct sim s;
	struct iov_bind_io io;
	struct iov_usage *u = quiet_usage();
	struct iov_plan *p = NULL;
	struct iov_err e = { 0 };
	bool done[2];

	lay_make(&l);
	sim_from_lay(&s, &l);
	io = sim_io(&s);
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), 0);
	assert_int_equal(iov_plan_exec(p, &io, done, &e), 0);
	assert_true(done[0] && done[1]);
	assert_string_equal(sim_dev(&s, "0000:01:10.0")->driver, "vfio-pci");
	assert_string_equal(sim_dev(&s, "0000:01:10.2")->driver, "vfio-pci");
	assert_string_equal(sim_dev(&s, "0000:01:00.0")->driver, "igb");
	assert_int_equal(s.nlog, 6);
	assert_string_equal(s.log[0], "override 0000:01:10.0 vfio-pci");
	assert_string_equal(s.log[1], "unbind 0000:01:10.0");
	assert_string_equal(s.log[2], "probe 0000:01:10.0");
	iov_plan_free(p);

	/* Not loaded: nothing is written. */
	sim_from_lay(&s, &l);
	s.vfio_loaded = false;
	assert_int_equal(iov_plan_bind(l.h, u, l.vf1, NULL, &p, &e), 0);
	assert_int_equal(iov_plan_exec(p, &io, NULL, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "vfio-pci is not loaded"));
	assert_string_equal(e.fix, "modprobe vfio-pci");
	assert_int_equal(s.nlog, 0);
	iov_plan_free(p);
	iov_usage_free(u);
	fk_host_free(l.h);
}

static void test_exec_rollback(void **state)
{
	struct lay l;
	struct sim s;
	struct iov_bind_io io;
	struct iov_usage *u = quiet_usage();
	struct iov_plan *p = NULL;
	struct iov_err e = { 0 };

	lay_make(&l);
	/* The second VF has no IOMMU group in the kernel: vfio-pci's probe fails. The first is
	 * already on vfio-pci by then and must go back to igbvf, overrides cleared. */
	sim_from_lay(&s, &l);
	sim_dev(&s, "0000:01:10.2")->group = false;
	io = sim_io(&s);
	assert_int_equal(iov_plan_bind(l.h, u, l.vf0, NULL, &p, &e), 0);
	assert_int_equal(iov_plan_exec(p, &io, NULL, &e), -ENODEV);
	assert_non_null(strstr(e.msg, "vfio-pci refused 0000:01:10.2: it has no IOMMU group"));
	assert_non_null(strstr(e.msg, "nothing changed"));
	assert_non_null(strstr(e.fix, "intel_iommu=on"));
	for (int i = 1; i <= 2; i++) {
		struct simdev *d = &s.devs[i];

		assert_string_equal(d->driver, "igbvf");
		assert_string_equal(d->override, "");
	}
	iov_plan_free(p);

	/* A write fails half-way (the unbind of the second device). */
	sim_from_lay(&s, &l);
	s.fail_write_at = 5;	/* override, unbind, probe of #1; override of #2; unbind #2 */
	assert_int_equal(iov_plan_bind(l.h, u, l.vf0, NULL, &p, &e), 0);
	assert_int_equal(iov_plan_exec(p, &io, NULL, &e), -EIO);
	assert_non_null(strstr(e.msg, "driver/unbind"));
	assert_string_equal(s.devs[1].driver, "igbvf");
	assert_string_equal(s.devs[2].driver, "igbvf");
	assert_string_equal(s.devs[1].override, "");
	assert_string_equal(s.devs[2].override, "");
	iov_plan_free(p);

	/* Release is best effort: every device is tried. */
	sim_from_lay(&s, &l);
	snprintf(s.devs[1].driver, sizeof(s.devs[1].driver), "vfio-pci");
	snprintf(s.devs[2].driver, sizeof(s.devs[2].driver), "vfio-pci");
	p = calloc(1, sizeof(*p));
	p->kind = IOV_PLAN_RELEASE;
	p->moves = calloc(2, sizeof(*p->moves));
	p->n = 2;
	strcpy(p->moves[0].dev, "0000:01:10.0");
	p->moves[0].to = strdup("nosuchdrv");
	p->moves[0].to_override = strdup("nosuchdrv");
	strcpy(p->moves[1].dev, "0000:01:10.2");
	p->moves[1].to = strdup("igbvf");
	bool done[2];

	assert_int_equal(iov_plan_exec(p, &io, done, &e), -EIO);
	assert_false(done[0]);
	assert_true(done[1]);
	assert_non_null(strstr(e.msg, "no driver after probing for nosuchdrv"));
	assert_string_equal(s.devs[2].driver, "igbvf");
	iov_plan_free(p);
	iov_usage_free(u);
	fk_host_free(l.h);
}

/* ---- state file ---- */

static void test_state_roundtrip(void **state)
{
	char *dir = fk_tmpdir();
	char path[512];
	struct iov_bind_state *st, *st2;
	struct iov_err e = { 0 };

	snprintf(path, sizeof(path), "%s/run/iovd/bind-state.json", dir);
	assert_int_equal(iov_bind_state_load(path, &st, &e), 0);	/* missing: empty */
	assert_int_equal(st->n, 0);
	assert_int_equal(iov_bind_state_add(st, "0000:01:10.0", 5, "igbvf", NULL, "vfio-pci"), 1);
	assert_int_equal(iov_bind_state_add(st, "0000:01:10.4", 7, NULL, "pci-stub", "vfio-pci"), 1);
	/* The first record wins: it holds the original driver. */
	assert_int_equal(iov_bind_state_add(st, "0000:01:10.0", 5, "vfio-pci", NULL, "vfio-pci"), 0);
	fk_mkdir(dir, "run");	/* run/iovd is created by the save */
	assert_int_equal(iov_bind_state_save(path, st, &e), 0);
	assert_int_equal(iov_bind_state_load(path, &st2, &e), 0);
	assert_int_equal(st2->n, 2);
	assert_string_equal(st2->recs[0].dev, "0000:01:10.0");
	assert_int_equal(st2->recs[0].group, 5);
	assert_string_equal(st2->recs[0].driver, "igbvf");
	assert_null(st2->recs[0].override);
	assert_null(st2->recs[1].driver);
	assert_string_equal(st2->recs[1].override, "pci-stub");
	assert_string_equal(st2->recs[1].bound_to, "vfio-pci");
	iov_bind_state_drop(st2, "0000:01:10.0");
	assert_int_equal(st2->n, 1);
	assert_null(iov_bind_state_find(st2, "0000:01:10.0"));
	assert_non_null(iov_bind_state_find(st2, "0000:01:10.4"));
	/* No temp file is left behind. */
	assert_string_equal(fk_read(dir, "run/iovd/bind-state.json.XXXXXX"), "");
	iov_bind_state_free(st2);

	/* The lock excludes a second binder. */
	int lk = iov_bind_state_lock(path, &e);
	char lockpath[600];

	assert_true(lk >= 0);
	snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
	int other = open(lockpath, O_RDWR);

	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	/* A second locker does not block for ever: a bounded wait, then a clear refusal. */
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(iov_bind_state_lock(path, &e), -EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(e.msg, "locked by another process"));
	assert_true(t1.tv_sec - t0.tv_sec <= IOV_STATE_LOCK_WAIT_MS / 1000 + 2);
	iov_bind_state_unlock(lk);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);

	/* Damaged files are refused, never rewritten. */
	fk_write(dir, "run/iovd/bind-state.json", "{\"version\": 1, \"devices\": [{\"device\": 5}]}");
	assert_int_equal(iov_bind_state_load(path, &st2, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "devices[0] is malformed"));
	fk_write(dir, "run/iovd/bind-state.json", "{\"version\": 1, \"dev");
	assert_int_equal(iov_bind_state_load(path, &st2, &e), -EINVAL);
	fk_write(dir, "run/iovd/bind-state.json", "{\"version\": 2, \"devices\": []}");
	assert_int_equal(iov_bind_state_load(path, &st2, &e), -EINVAL);
	iov_bind_state_free(st);
	fk_rmtree(dir);
	free(dir);
}

/* ---- iov_bind / iov_release end to end (simulated kernel, temp sysroot and state) ---- */

static void test_bind_release(void **state)
{
	char *root = fk_tmpdir();
	char path[512];
	struct lay l;
	struct sim s;
	struct iov_bind_io io;
	struct iov_err e = { 0 };
	struct iov_bind_state *st;

	fk_mkdir(root, "sys/bus/pci/devices");
	fk_write(root, "proc/net/route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n");
	fk_write(root, "proc/net/ipv6_route", "");
	fk_write(root, "proc/net/if_inet6", "");
	fk_write(root, "proc/self/mountinfo", "");
	assert_int_equal(iov_sysroot_set(root), 0);
	snprintf(path, sizeof(path), "%s/run/iovd/bind-state.json", root);
	iov_bind_set_state_path(path);

	lay_make(&l);
	sim_from_lay(&s, &l);
	io = sim_io(&s);
	iov_bind_set_io(&io);

	/* Bind the driverless VF: recorded with no driver. */
	assert_int_equal(iov_bind(l.h, l.vf2, NULL, &e), 0);
	assert_string_equal(sim_dev(&s, "0000:01:10.4")->driver, "vfio-pci");
	assert_int_equal(iov_bind_state_load(path, &st, &e), 0);
	assert_int_equal(st->n, 1);
	assert_null(st->recs[0].driver);
	assert_int_equal(st->recs[0].group, 3);
	iov_bind_state_free(st);

	/* Bind group 2 (two VFs). */
	assert_int_equal(iov_bind(l.h, l.vf0, NULL, &e), 0);
	assert_int_equal(iov_bind_state_load(path, &st, &e), 0);
	assert_int_equal(st->n, 3);
	iov_bind_state_free(st);

	/* Release: the model is re-read by the daemon; here we update it by hand. */
	for (int i = 0; i < 3; i++) {
		struct iov_dev *d[] = { l.vf0, l.vf1, l.vf2 };

		free(d[i]->driver);
		d[i]->driver = strdup("vfio-pci");
		d[i]->driver_override = strdup("vfio-pci");
	}
	s.nlog = 0;
	assert_int_equal(iov_release(l.h, l.vf2, &e), 1);	/* one device went back */
	/* Reset first (while still on vfio-pci), then back to no driver: override cleared,
	 * unbound, and never probed. */
	assert_string_equal(sim_dev(&s, "0000:01:10.4")->driver, "");
	assert_string_equal(sim_dev(&s, "0000:01:10.4")->override, "");
	assert_int_equal(s.nlog, 3);
	assert_string_equal(s.log[0], "reset 0000:01:10.4");
	assert_string_equal(s.log[1], "override 0000:01:10.4 (clear)");
	assert_string_equal(s.log[2], "unbind 0000:01:10.4");

	/* A device whose reset fails is not handed to a host driver: it stays on vfio-pci,
	 * its record stays for a retry, and the message says why and what to do. */
	sim_dev(&s, "0000:01:10.2")->reset_err = -ENOTTY;
	assert_int_equal(iov_release(l.h, l.vf1, &e), -ENOTTY);
	assert_non_null(strstr(e.msg, "refusing to give 0000:01:10.2 to igbvf: its reset failed"));
	assert_non_null(strstr(e.msg, "it stays on vfio-pci"));
	assert_non_null(strstr(e.fix, "/sys/bus/pci/devices/0000:01:10.2/remove"));
	assert_string_equal(sim_dev(&s, "0000:01:10.2")->driver, "vfio-pci");
	assert_string_equal(sim_dev(&s, "0000:01:10.0")->driver, "igbvf");	/* best effort */
	assert_int_equal(iov_bind_state_load(path, &st, &e), 0);
	assert_int_equal(st->n, 1);
	assert_string_equal(st->recs[0].dev, "0000:01:10.2");
	iov_bind_state_free(st);
	/* No reset method (no reset file), or no answer after the reset: refused too. */
	free(l.vf0->driver);
	l.vf0->driver = strdup("igbvf");
	sim_dev(&s, "0000:01:10.2")->reset_err = -ENOENT;
	assert_int_equal(iov_release(l.h, l.vf1, &e), -ENOTTY);
	assert_non_null(strstr(e.msg, "no reset method"));
	sim_dev(&s, "0000:01:10.2")->reset_err = 0;
	sim_dev(&s, "0000:01:10.2")->dead = true;
	assert_int_equal(iov_release(l.h, l.vf1, &e), -ENOTTY);
	assert_non_null(strstr(e.msg, "does not answer config reads"));
	assert_string_equal(sim_dev(&s, "0000:01:10.2")->driver, "vfio-pci");
	sim_dev(&s, "0000:01:10.2")->dead = false;

	/* Releasing one VF of group 2 puts back the whole group (01:10.0 went back above). */
	assert_int_equal(iov_release(l.h, l.vf1, &e), 1);
	assert_string_equal(sim_dev(&s, "0000:01:10.0")->driver, "igbvf");
	assert_string_equal(sim_dev(&s, "0000:01:10.2")->driver, "igbvf");
	assert_string_equal(sim_dev(&s, "0000:01:10.2")->override, "");
	assert_int_equal(iov_bind_state_load(path, &st, &e), 0);
	assert_int_equal(st->n, 0);
	iov_bind_state_free(st);

	/* A failed bind leaves the state file as it was. */
	for (int i = 0; i < 2; i++) {
		struct iov_dev *d[] = { l.vf0, l.vf1 };

		free(d[i]->driver);
		d[i]->driver = strdup("igbvf");
		free(d[i]->driver_override);
		d[i]->driver_override = NULL;
	}
	sim_dev(&s, "0000:01:10.2")->refuse_vfio = true;
	assert_int_equal(iov_bind(l.h, l.vf0, NULL, &e), -EIO);
	assert_string_equal(sim_dev(&s, "0000:01:10.0")->driver, "igbvf");
	assert_int_equal(iov_bind_state_load(path, &st, &e), 0);
	assert_int_equal(st->n, 0);
	iov_bind_state_free(st);

	/* The real table's reset check reads the config header: all ones means the device
	 * did not come back. A VF's vendor and device IDs read all ones by design. */
	fk_write(root, "sys/bus/pci/devices/0000:01:10.0/config", "\xff\xff\xff\xff\x06\x04\x10");
	fk_write(root, "sys/bus/pci/devices/0000:01:10.2/config", "\xff\xff\xff\xff\xff\xff\xff");
	assert_int_equal(iov_bind_io_sysfs.responds(NULL, "0000:01:10.0"), 0);
	assert_int_equal(iov_bind_io_sysfs.responds(NULL, "0000:01:10.2"), -EIO);
	assert_true(iov_bind_io_sysfs.responds(NULL, "0000:01:10.4") < 0);	/* no config */

	/* Release refuses while a VM holds the group (proc/PID/fd -> /dev/vfio/2). */
	for (int i = 0; i < 2; i++) {
		struct iov_dev *d[] = { l.vf0, l.vf1 };

		free(d[i]->driver);
		d[i]->driver = strdup("vfio-pci");
	}
	if (!fk_mknod(root, "dev/vfio/2", false, 240, 2))
		skip();		/* needs root: the holder is recognised by device number */
	fk_write(root, "sys/class/vfio/2/dev", "240:2\n");
	char node[512];

	snprintf(node, sizeof(node), "%s/dev/vfio/2", root);
	fk_symlink(root, "proc/77/fd/9", node);
	fk_write(root, "proc/77/comm", "iovm\n");
	s.nlog = 0;
	assert_int_equal(iov_release(l.h, l.vf0, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "pid 77 (iovm)"));
	assert_int_equal(s.nlog, 0);

	iov_bind_set_io(NULL);
	iov_bind_set_state_path(NULL);
	iov_sysroot_set(NULL);
	fk_host_free(l.h);
	fk_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_group),
		cmocka_unit_test(test_plan_refusals),
		cmocka_unit_test(test_exec_ok),
		cmocka_unit_test(test_exec_rollback),
		cmocka_unit_test(test_state_roundtrip),
		cmocka_unit_test(test_bind_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
