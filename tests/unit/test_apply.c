/* The apply journal and executor (src/journal.h, src/apply.h) against a simulated host:
 * a run journals a start record (with previous values) and a done record per step; a
 * failing step rolls everything back, newest first, to the exact previous state; and a
 * crash after any journal record (the test fault switch, in its "stop" mode) followed by
 * iovd_recover() puts the host back exactly, torn last line or not, also when the crash
 * hits in the middle of a roll-back. Then applying again converges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/plan.h"
#include "lib/err.h"
#include "lib/host.h"
#include "src/apply.h"
#include "src/journal.h"
#include "tests/unit/fakesys.h"

/* ---- the simulated host: one PF, up to 8 VFs ---- */

struct fvf {
	bool exists;
	char driver[32], override[32];
	struct iov_vfconf props;
};

struct fhost {
	int numvfs, autoprobe;
	struct fvf vf[8];
	unsigned refuse;	/* VF property fields the "driver" refuses */
	int calls;		/* host-changing calls */
};

static const struct iov_vfconf fresh_props = {
	.set = IOV_VFC_MAC | IOV_VFC_VLAN | IOV_VFC_SPOOFCHK | IOV_VFC_TRUST | IOV_VFC_STATE |
	       IOV_VFC_MAX_RATE,
	.vlan_proto = IOV_ETH_P_8021Q, .spoofchk = true, .state = IOV_VF_LINK_AUTO,
};

static int f_pf_get(void *ctx, const char *pf, int *n, int *ap)
{
	struct fhost *f = ctx;

	*n = f->numvfs;
	*ap = f->autoprobe;
	return 0;
}

static int f_numvfs_set(void *ctx, const char *pf, int n, struct iov_err *err)
{
	struct fhost *f = ctx;

	if (n == f->numvfs)
		return 0;
	f->calls++;
	for (int i = 0; i < 8; i++) {
		memset(&f->vf[i], 0, sizeof(f->vf[i]));
		if (i < n) {
			f->vf[i].exists = true;
			f->vf[i].props = fresh_props;
			strcpy(f->vf[i].driver, f->autoprobe ? "igbvf" : "");
		}
	}
	f->numvfs = n;
	return 0;
}

static int f_autoprobe_set(void *ctx, const char *pf, int v, struct iov_err *err)
{
	struct fhost *f = ctx;

	f->calls++;
	f->autoprobe = v;
	return 0;
}

static int f_vf_get(void *ctx, const char *pf, const char *netdev, int vf,
		    struct iovd_vf_now *out)
{
	struct fhost *f = ctx;

	memset(out, 0, sizeof(*out));
	if (vf < 0 || vf >= 8 || !f->vf[vf].exists)
		return 0;
	out->exists = true;
	snprintf(out->dev, sizeof(out->dev), "0000:01:10.%d", vf);
	strcpy(out->driver, f->vf[vf].driver);
	strcpy(out->override, f->vf[vf].override);
	out->props = f->vf[vf].props;
	return 0;
}

static int f_vf_props_set(void *ctx, const char *netdev, int vf, const struct iov_vfconf *c,
			  struct iov_err *err)
{
	struct fhost *f = ctx;
	struct iov_vfconf *p = &f->vf[vf].props;

	if (!f->vf[vf].exists)
		return iov_err_set(err, -ENODEV, NULL, "no vf%d", vf);
	if (c->set & f->refuse)
		return iov_err_set(err, -EOPNOTSUPP, NULL, "vf%d: the driver refused (EOPNOTSUPP)", vf);
	f->calls++;
	if (c->set & IOV_VFC_MAC)
		memcpy(p->mac, c->mac, 6);
	if (c->set & IOV_VFC_VLAN) {
		p->vlan = c->vlan;
		p->qos = c->qos;
		p->vlan_proto = c->vlan_proto;
	}
	if (c->set & IOV_VFC_SPOOFCHK)
		p->spoofchk = c->spoofchk;
	if (c->set & IOV_VFC_TRUST)
		p->trust = c->trust;
	if (c->set & IOV_VFC_STATE)
		p->state = c->state;
	if (c->set & IOV_VFC_MAX_RATE)
		p->max_rate = c->max_rate;
	return 0;
}

static int f_vf_driver_set(void *ctx, const char *pf, int vf, enum iov_cfg_driver want,
			   const struct iovd_vf_now *exact, struct iov_err *err)
{
	struct fhost *f = ctx;
	struct fvf *v = &f->vf[vf];

	if (!v->exists)
		return iov_err_set(err, -ENODEV, NULL, "no vf%d", vf);
	f->calls++;
	if (exact) {
		strcpy(v->driver, exact->driver);
		strcpy(v->override, exact->override);
	} else if (want == IOV_CFG_DRV_VFIO) {
		strcpy(v->driver, "vfio-pci");
		strcpy(v->override, "vfio-pci");
	} else if (want == IOV_CFG_DRV_NONE) {
		strcpy(v->driver, "");
		strcpy(v->override, "");
	} else {
		strcpy(v->driver, "igbvf");
		strcpy(v->override, "");
	}
	return 0;
}

static struct fhost host;

/* ---- a simulated NVMe drive behind the PF, as QEMU's nvme behaves: secondary controllers
 * 1..4 for VFs 0..3; Offline also takes the controller's resources back; Assign only to an
 * offline controller; Online only with its VF there, at least 2 VQ and 1 VI; attaching an
 * attached namespace (or detaching a detached one) is an error ---- */

struct fctrl {
	bool online;
	unsigned nvq, nvi;
	bool ns[3];		/* NSID 1, 2 attached */
};

static struct fdrive {
	struct fctrl c[5];	/* [scid] */
	unsigned refuse_online;	/* this controller's Online is refused */
} drive;

static int f_nvme_get(void *ctx, const char *pf, unsigned scid, uint32_t nsid,
		      struct iovd_nvme_now *out)
{
	memset(out, 0, sizeof(*out));
	if (scid < 1 || scid > 4)
		return 0;
	out->exists = true;
	out->online = drive.c[scid].online;
	out->nvq = drive.c[scid].nvq;
	out->nvi = drive.c[scid].nvi;
	out->attached = nsid >= 1 && nsid <= 2 && drive.c[scid].ns[nsid];
	return 0;
}

static int f_nvme_virt(void *ctx, const char *pf, unsigned scid, int act, int rt, unsigned nr,
		       struct iov_err *err)
{
	struct fctrl *c = &drive.c[scid];

	host.calls++;
	if (act == 7) {
		c->online = false;
		c->nvq = c->nvi = 0;
	} else if (act == 8) {
		if (c->online)
			return iov_err_set(err, -EIO, NULL, "status 0x4120: Invalid Secondary "
					   "Controller State");
		*(rt ? &c->nvi : &c->nvq) = nr;
	} else {
		if (scid == drive.refuse_online || !host.vf[scid - 1].exists || c->nvq < 2 ||
		    !c->nvi)
			return iov_err_set(err, -EIO, NULL, "controller %u: status 0x4120: Invalid "
					   "Secondary Controller State", scid);
		c->online = true;
	}
	return 0;
}

static int f_nvme_ns(void *ctx, const char *pf, uint32_t nsid, unsigned scid, bool attach,
		     struct iov_err *err)
{
	struct fctrl *c = &drive.c[scid];

	host.calls++;
	if (c->ns[nsid] == attach)
		return iov_err_set(err, -EIO, NULL, "status 0x%x: Namespace %s", attach ? 0x4118 :
				   0x411a, attach ? "Already Attached" : "Not Attached");
	c->ns[nsid] = attach;
	return 0;
}

static const struct iovd_apply_ops fops = {
	.pf_get = f_pf_get, .numvfs_set = f_numvfs_set, .autoprobe_set = f_autoprobe_set,
	.vf_get = f_vf_get, .vf_props_set = f_vf_props_set, .vf_driver_set = f_vf_driver_set,
	.nvme_get = f_nvme_get, .nvme_virt = f_nvme_virt, .nvme_ns = f_nvme_ns,
	.ctx = &host,
};

/* Before: 2 VFs on igbvf, vf0 VLAN 5 and a MAC, vf1 trusted. */
static void host_reset(void)
{
	memset(&host, 0, sizeof(host));
	host.autoprobe = 1;
	f_numvfs_set(&host, "", 2, NULL);
	host.vf[0].props.vlan = 5;
	host.vf[0].props.mac[0] = 0x02;
	host.vf[0].props.mac[5] = 0x05;
	host.vf[1].props.trust = true;
	host.calls = 0;
}

static bool host_same(const struct fhost *a, const struct fhost *b)
{
	if (a->numvfs != b->numvfs || a->autoprobe != b->autoprobe)
		return false;
	for (int i = 0; i < 8; i++) {
		const struct fvf *x = &a->vf[i], *y = &b->vf[i];

		if (x->exists != y->exists || strcmp(x->driver, y->driver) ||
		    strcmp(x->override, y->override) || memcmp(x->props.mac, y->props.mac, 6) ||
		    x->props.vlan != y->props.vlan || x->props.qos != y->props.qos ||
		    x->props.spoofchk != y->props.spoofchk || x->props.trust != y->props.trust ||
		    x->props.state != y->props.state || x->props.max_rate != y->props.max_rate)
			return false;
	}
	return true;
}

/* ---- the plan: 2 -> 3 VFs, autoprobe off, vf0 VLAN 100 on vfio-pci, vf1 a MAC and link
 * state disable, vf2 host ---- */

static struct iov_action *act(struct iov_cfg_plan *p, enum iov_act_kind k, int vf)
{
	struct iov_action *a;

	p->acts = realloc(p->acts, (p->n + 1) * sizeof(*a));
	a = &p->acts[p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->vf = vf;
	strcpy(a->pf_name, "uplink");
	strcpy(a->pf_dev, "0000:01:00.0");
	strcpy(a->netdev, "enp1s0");
	snprintf(a->line, sizeof(a->line), "step %zu", p->n - 1);
	return a;
}

static struct iov_cfg_plan *make_plan(bool with_state)
{
	struct iov_cfg_plan *p = calloc(1, sizeof(*p));
	struct iov_action *a;

	a = act(p, IOV_ACT_AUTOPROBE, -1);
	a->old_val = 1, a->new_val = 0;
	a = act(p, IOV_ACT_NUMVFS, -1);
	a->old_val = 2, a->new_val = 0;
	a = act(p, IOV_ACT_NUMVFS, -1);
	a->old_val = 0, a->new_val = 3;
	a = act(p, IOV_ACT_VF_PROP, 0);
	a->field = IOV_VFC_VLAN;
	a->new_props.vlan = 100;
	a->new_props.vlan_proto = IOV_ETH_P_8021Q;
	a = act(p, IOV_ACT_DRIVER, 0);
	a->drv = IOV_CFG_DRV_VFIO;
	a = act(p, IOV_ACT_VF_PROP, 1);
	a->field = IOV_VFC_MAC;
	a->new_props.mac[0] = 0x02;
	a->new_props.mac[5] = 0x11;
	if (with_state) {
		a = act(p, IOV_ACT_VF_PROP, 1);
		a->field = IOV_VFC_STATE;
		a->new_props.state = IOV_VF_LINK_DISABLE;
	}
	a = act(p, IOV_ACT_DRIVER, 1);
	a->drv = IOV_CFG_DRV_HOST;
	a = act(p, IOV_ACT_DRIVER, 2);
	a->drv = IOV_CFG_DRV_HOST;
	return p;
}

static void expect_desired(bool with_state)
{
	assert_int_equal(host.numvfs, 3);
	assert_int_equal(host.autoprobe, 0);
	assert_string_equal(host.vf[0].driver, "vfio-pci");
	assert_int_equal(host.vf[0].props.vlan, 100);
	assert_int_equal(host.vf[1].props.mac[5], 0x11);
	assert_string_equal(host.vf[1].driver, "igbvf");
	assert_string_equal(host.vf[2].driver, "igbvf");
	if (with_state)
		assert_int_equal(host.vf[1].props.state, IOV_VF_LINK_DISABLE);
}

static char *dir;

static int setup(void **state)
{
	dir = fk_tmpdir();
	return 0;
}

static char mnt[64];

static int teardown(void **state)
{
	/* A state-dir fault test that failed half-way leaves its tmpfs mounted. */
	if (mnt[0])
		umount2(mnt, MNT_DETACH);
	mnt[0] = '\0';
	fk_rmtree(dir);
	free(dir);
	iovd_journal_set_fault(0, IOVD_FAULT_STOP);
	return 0;
}

static size_t journal_records(void)
{
	json_t *r = NULL;
	size_t n;

	assert_int_equal(iovd_journal_read(dir, &r, NULL), 0);
	n = json_array_size(r);
	json_decref(r);
	return n;
}

static const char *last_kind(void)
{
	static char k[16];
	json_t *r = NULL;

	assert_int_equal(iovd_journal_read(dir, &r, NULL), 0);
	snprintf(k, sizeof(k), "%s", json_string_value(json_object_get(
		 json_array_get(r, json_array_size(r) - 1), "r")));
	json_decref(r);
	return k;
}

static void test_apply_ok(void **state)
{
	struct iov_cfg_plan *p = make_plan(false);
	struct iovd_apply_report rep;
	struct iov_err e = { 0 };
	json_t *recs = NULL, *x, *last;

	host_reset();
	assert_int_equal(iovd_apply_exec(p, dir, 1, &fops, NULL, &rep, &e), 0);
	expect_desired(false);
	assert_int_equal(rep.done, p->n);
	/* begin, start+done per step, end. */
	assert_int_equal(journal_records(), 2 + 2 * p->n);
	assert_string_equal(last_kind(), "end");
	assert_int_equal(iovd_journal_read(dir, &recs, NULL), 0);
	/* Step 1 (2 -> 0 VFs) recorded every VF's settings before removing them. */
	x = json_object_get(json_array_get(recs, 3), "prev");
	assert_int_equal(json_integer_value(json_object_get(x, "numvfs")), 2);
	assert_int_equal(json_array_size(json_object_get(x, "vfs")), 2);
	json_decref(recs);
	last = iovd_last_apply(dir);
	assert_string_equal(json_string_value(json_object_get(last, "result")), "ok");
	json_decref(last);
	/* Nothing left to recover. */
	assert_int_equal(iovd_recover(dir, &fops, NULL, &e), 0);
	assert_int_equal(iovd_next_txn(dir), 2);
	iov_cfg_plan_free(p);
}

/* A step the driver refuses (link state, as igb does): everything goes back, newest first,
 * and the error names the step. */
static void test_apply_rollback(void **state)
{
	struct iov_cfg_plan *p = make_plan(true);
	struct iovd_apply_report rep;
	struct iov_err e = { 0 };
	struct fhost before;
	json_t *last;

	host_reset();
	host.refuse = IOV_VFC_STATE;
	before = host;
	assert_int_equal(iovd_apply_exec(p, dir, 1, &fops, NULL, &rep, &e), -EOPNOTSUPP);
	assert_true(host_same(&host, &before));
	assert_int_equal(rep.failed_step, 6);
	assert_true(rep.rolled_back && rep.rollback_ok);
	assert_non_null(strstr(e.msg, "step 7 of 9 (step 6) failed"));
	assert_non_null(strstr(e.msg, "refused"));
	assert_non_null(strstr(e.msg, "put back"));
	assert_string_equal(last_kind(), "end");
	last = iovd_last_apply(dir);
	assert_string_equal(json_string_value(json_object_get(last, "result")), "rolled_back");
	assert_int_equal(json_integer_value(json_object_get(last, "failed_step")), 6);
	json_decref(last);
	assert_int_equal(iovd_recover(dir, &fops, NULL, &e), 0);
	iov_cfg_plan_free(p);
}

/* Crash after journal record n, for every n, with and without a torn half record after it,
 * for a plan that succeeds and one that fails and rolls back: recovery restores the exact
 * previous host, then applying again converges. */
static void crash_loop(bool failing)
{
	struct iov_cfg_plan *p = make_plan(failing);
	struct iovd_apply_report rep;
	struct fhost before;
	size_t total;

	host_reset();
	host.refuse = failing ? IOV_VFC_STATE : 0;
	before = host;
	{
		struct iov_err e = { 0 };

		iovd_journal_set_fault(0, IOVD_FAULT_STOP);
		iovd_apply_exec(p, dir, 1, &fops, NULL, &rep, &e);
		total = journal_records();
	}
	for (size_t n = 1; n < total; n++) {
		for (int torn = 0; torn < 2; torn++) {
			struct iov_err e = { 0 };
			json_t *rep_j = NULL;
			char path[512];
			int r;

			host = before;
			iovd_journal_set_fault((unsigned)n, IOVD_FAULT_STOP);
			r = iovd_apply_exec(p, dir, 7, &fops, NULL, &rep, &e);
			if (r != -ECANCELED)
				fail_msg("crash after record %zu: exec returned %d (%s)", n, r, e.msg);
			iovd_journal_set_fault(0, IOVD_FAULT_STOP);
			assert_int_equal(journal_records(), n);
			if (torn) {
				FILE *f;

				snprintf(path, sizeof(path), "%s/%s", dir, IOVD_JOURNAL_NAME);
				f = fopen(path, "a");
				fputs("{\"r\": \"start\", \"txn\": 7, \"step\": 99, \"act\": {\"ki", f);
				fclose(f);
			}
			r = iovd_recover(dir, &fops, &rep_j, &e);
			if (r != 1)
				fail_msg("crash after record %zu (torn %d): recover returned %d (%s)",
					 n, torn, r, e.msg);
			if (!failing && n == total - 1) {
				/* Every step done, only the end record missing: finished. */
				expect_desired(false);
				assert_string_equal(json_string_value(json_object_get(rep_j,
						    "result")), "finished");
				json_decref(rep_j);
				assert_int_equal(iovd_recover(dir, &fops, NULL, &e), 0);
				continue;
			}
			if (!host_same(&host, &before))
				fail_msg("crash after record %zu (torn %d): host not restored "
					 "(numvfs %d autoprobe %d vf0 %s vlan %u)", n, torn,
					 host.numvfs, host.autoprobe, host.vf[0].driver,
					 host.vf[0].props.vlan);
			assert_string_equal(json_string_value(json_object_get(rep_j, "result")),
					    "recovered");
			json_decref(rep_j);
			/* Recovered once: a second start has nothing to do. */
			assert_int_equal(iovd_recover(dir, &fops, NULL, &e), 0);
			if (!failing) {
				assert_int_equal(iovd_apply_exec(p, dir, 8, &fops, NULL, &rep, &e), 0);
				expect_desired(false);
			}
		}
	}
	iov_cfg_plan_free(p);
}

/* The NVMe steps of two VFs (the planner's order) on the drive; failing: the drive refuses
 * controller 2's Online. */
static struct iov_cfg_plan *nvme_plan(void)
{
	struct iov_cfg_plan *p = calloc(1, sizeof(*p));
	struct iov_action *a;

	for (unsigned v = 0; v < 2; v++) {
		a = act(p, IOV_ACT_NVME_ASSIGN, (int)v);
		a->scid = v + 1, a->rt = 0, a->old_val = 0, a->new_val = 2;
		a = act(p, IOV_ACT_NVME_ASSIGN, (int)v);
		a->scid = v + 1, a->rt = 1, a->old_val = 0, a->new_val = 1;
		a = act(p, IOV_ACT_NVME_NS, (int)v);
		a->scid = v + 1, a->nsid = v + 1, a->old_val = 0, a->new_val = 1;
		a = act(p, IOV_ACT_NVME_STATE, (int)v);
		a->scid = v + 1, a->old_val = 0, a->new_val = 1;
	}
	return p;
}

static bool drive_empty(void)
{
	for (int i = 1; i <= 4; i++)
		if (drive.c[i].online || drive.c[i].nvq || drive.c[i].nvi || drive.c[i].ns[1] ||
		    drive.c[i].ns[2])
			return false;
	return true;
}

static void expect_drive_live(void)
{
	for (unsigned i = 1; i <= 2; i++) {
		assert_true(drive.c[i].online);
		assert_int_equal(drive.c[i].nvq, 2);
		assert_int_equal(drive.c[i].nvi, 1);
		assert_true(drive.c[i].ns[i]);
	}
}

/* Done in order; a refused Online rolls every NVMe step back (resources of an online
 * controller taken back offline), the error names the drive's status; a crash after any
 * journal record is recovered to the empty drive, and applying again converges. */
static void test_apply_nvme(void **state)
{
	struct iov_cfg_plan *p = nvme_plan();
	struct iovd_apply_report rep;
	struct iov_err e = { 0 };
	size_t total;

	host_reset();
	memset(&drive, 0, sizeof(drive));
	assert_int_equal(iovd_apply_exec(p, dir, 1, &fops, NULL, &rep, &e), 0);
	expect_drive_live();
	total = journal_records();
	/* Again on the live drive: every step sees it is already so, nothing is sent. */
	host.calls = 0;
	assert_int_equal(iovd_apply_exec(p, dir, 2, &fops, NULL, &rep, &e), 0);
	assert_int_equal(host.calls, 0);

	memset(&drive, 0, sizeof(drive));
	drive.refuse_online = 2;
	assert_int_equal(iovd_apply_exec(p, dir, 3, &fops, NULL, &rep, &e), -EIO);
	assert_int_equal(rep.failed_step, 7);
	assert_true(rep.rolled_back && rep.rollback_ok);
	assert_non_null(strstr(e.msg, "status 0x4120: Invalid Secondary Controller State"));
	assert_true(drive_empty());
	drive.refuse_online = 0;

	/* Roll-back to a live controller: controller 1 online with 2 VQ, 1 VI goes offline
	 * (the drive takes its resources), is set up again and online, then controller 2's
	 * Online is refused: controller 1 ends as it was, online with its resources. */
	{
		struct iov_cfg_plan *q = calloc(1, sizeof(*q));
		struct iov_action *a;

		memset(&drive, 0, sizeof(drive));
		drive.c[1] = (struct fctrl){ .online = true, .nvq = 2, .nvi = 1 };
		a = act(q, IOV_ACT_NVME_STATE, 0);
		a->scid = 1, a->old_val = 1, a->new_val = 0;
		a = act(q, IOV_ACT_NVME_ASSIGN, 0);
		a->scid = 1, a->rt = 0, a->new_val = 2;
		a = act(q, IOV_ACT_NVME_ASSIGN, 0);
		a->scid = 1, a->rt = 1, a->new_val = 1;
		a = act(q, IOV_ACT_NVME_STATE, 0);
		a->scid = 1, a->new_val = 1;
		a = act(q, IOV_ACT_NVME_STATE, 1);
		a->scid = 2, a->new_val = 1;
		assert_int_equal(iovd_apply_exec(q, dir, 4, &fops, NULL, &rep, &e), -EIO);
		assert_true(rep.rollback_ok);
		assert_true(drive.c[1].online);
		assert_int_equal(drive.c[1].nvq, 2);
		assert_int_equal(drive.c[1].nvi, 1);
		iov_cfg_plan_free(q);
	}

	for (size_t n = 1; n < total; n++) {
		json_t *rj = NULL;
		int r;

		memset(&drive, 0, sizeof(drive));
		iovd_journal_set_fault((unsigned)n, IOVD_FAULT_STOP);
		r = iovd_apply_exec(p, dir, 10 + n, &fops, NULL, &rep, &e);
		iovd_journal_set_fault(0, IOVD_FAULT_STOP);
		if (r != -ECANCELED)
			fail_msg("crash after record %zu: exec returned %d (%s)", n, r, e.msg);
		/* Controller 1 online with its resources, say: recovery takes it offline,
		 * which (as on QEMU) takes its resources, and must still end empty. */
		r = iovd_recover(dir, &fops, &rj, &e);
		if (r != 1)
			fail_msg("crash after record %zu: recover returned %d (%s)", n, r, e.msg);
		json_decref(rj);
		if (n == total - 1)
			expect_drive_live();	/* all done: finished */
		else if (!drive_empty())
			fail_msg("crash after record %zu: drive not restored (c1 %d %u %u ns %d, c2 "
				 "%d %u %u ns %d)", n, drive.c[1].online, drive.c[1].nvq,
				 drive.c[1].nvi, drive.c[1].ns[1], drive.c[2].online,
				 drive.c[2].nvq, drive.c[2].nvi, drive.c[2].ns[2]);
		assert_int_equal(iovd_apply_exec(p, dir, 100 + n, &fops, NULL, &rep, &e), 0);
		expect_drive_live();
	}
	iov_cfg_plan_free(p);
}

static void test_crash_every_record(void **state) { crash_loop(false); }
static void test_crash_every_record_failing(void **state) { crash_loop(true); }

/* The test fault switch's environment form; garbage is ignored. */
static void test_fault_env(void **state)
{
	struct iov_cfg_plan *p = make_plan(false);
	struct iovd_apply_report rep;
	struct iov_err e = { 0 };

	setenv("IOVD_TEST_EXIT_AFTER_STEP", "x1", 1);
	iovd_journal_fault_from_env();
	host_reset();
	assert_int_equal(iovd_apply_exec(p, dir, 1, &fops, NULL, &rep, &e), 0);
	unsetenv("IOVD_TEST_EXIT_AFTER_STEP");
	iov_cfg_plan_free(p);
}

/* The state directory full (ENOSPC) or read-only (EROFS), for real (a small tmpfs), right
 * after each journal record of an apply, and before the first: the apply is refused or
 * rolled back, never half-applied, and the error names the journal and the cause; the
 * journal left behind recovers to the same host. Only the end record failing leaves the
 * apply done (every step journaled). Needs root (mount); skipped without. */
static unsigned fault_at;
static int fault_errno;

static void make_fault(void)
{
	if (fault_errno == EROFS) {
		assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
	} else {
		char path[128], buf[4096] = { 0 };
		int fd;

		snprintf(path, sizeof(path), "%s/filler", mnt);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		assert_true(fd >= 0);
		while (write(fd, buf, sizeof(buf)) > 0)
			;
		assert_int_equal(errno, ENOSPC);
		close(fd);
	}
}

static void fault_hook(unsigned n, void *ud)
{
	if (n == fault_at)
		make_fault();
}

static void state_dir_faults(int err)
{
	struct iov_cfg_plan *p = make_plan(false);
	struct iovd_apply_report rep;
	struct fhost before;
	unsigned total = 2 + 2 * (unsigned)p->n, failed = 0;

	snprintf(mnt, sizeof(mnt), "%s/state", dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") < 0) {
		iov_cfg_plan_free(p);
		mnt[0] = '\0';
		skip();
	}
	umount(mnt);
	fault_errno = err;
	host_reset();
	before = host;
	for (unsigned n = 0; n < total; n++) {
		struct iov_err e = { 0 };
		int r;

		assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=64k"), 0);
		host = before;
		fault_at = n;
		if (n == 0)
			make_fault();
		iovd_journal_set_hook(fault_hook, NULL);
		r = iovd_apply_exec(p, mnt, 1, &fops, NULL, &rep, &e);
		iovd_journal_set_hook(NULL, NULL);
		if (r == 0) {
			/* Only possible once every step's done record was written. */
			if (err == EROFS && n != total - 1)
				fail_msg("read-only after record %u: the apply succeeded", n);
			expect_desired(false);
		} else {
			failed++;
			if (!host_same(&host, &before))
				fail_msg("%s after record %u: the host is half-changed (%s)",
					 strerror(err), n, e.msg);
			if (!strstr(e.msg, mnt) || !strstr(e.msg, IOVD_JOURNAL_NAME) ||
			    !strstr(e.msg, strerror(err)))
				fail_msg("%s after record %u: the error does not name the journal "
					 "and the cause: %s", strerror(err), n, e.msg);
		}
		/* Space back (or writable again): what the journal says recovers to the same
		 * host. */
		if (err == EROFS)
			assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT, NULL), 0);
		else
			fk_rmtree(strcat(strcpy((char[128]){ 0 }, mnt), "/filler"));
		{
			struct fhost after = host;

			r = iovd_recover(mnt, &fops, NULL, &e);
			assert_true(r >= 0 || r == -ENOENT);
			if (!host_same(&host, &after))
				fail_msg("%s after record %u: recovery changed the host", strerror(err),
					 n);
		}
		assert_int_equal(umount(mnt), 0);
	}
	/* Read-only fails every record but the end; a full tmpfs at least the begin. */
	assert_true(failed >= (err == EROFS ? total - 1 : 1));
	iov_cfg_plan_free(p);
}

static void test_state_dir_full(void **state) { state_dir_faults(ENOSPC); }
static void test_state_dir_read_only(void **state) { state_dir_faults(EROFS); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_every_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_every_record_failing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_nvme, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
