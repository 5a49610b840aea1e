#include "src/apply.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/plan.h"
#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "src/events.h"
#include "src/journal.h"
#include "sriov/numvfs.h"
#include "sriov/nvme.h"
#include "sriov/vfinfo.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "vfio/plan.h"
#include "vfio/state.h"

/* ---- VF settings in the journal: every field raw (a zero MAC is a real "none set") ---- */

static json_t *conf_json(const struct iov_vfconf *c)
{
	char mac[18];

	iov_fmt_mac(c->mac, mac);
	return json_pack("{s:i, s:s, s:i, s:i, s:i, s:b, s:b, s:i, s:I, s:I}", "set", (int)c->set,
			 "mac", mac, "vlan", c->vlan, "qos", c->qos, "proto", c->vlan_proto,
			 "spoofchk", c->spoofchk, "trust", c->trust, "state", (int)c->state,
			 "min_rate", (json_int_t)c->min_rate, "max_rate", (json_int_t)c->max_rate);
}

static int conf_from_json(const json_t *j, struct iov_vfconf *c)
{
	const char *mac = NULL;
	int set = 0, vlan = 0, qos = 0, proto = 0, sp = 0, tr = 0, st = 0;
	json_int_t mn = 0, mx = 0;
	char e[64];

	memset(c, 0, sizeof(*c));
	if (json_unpack((json_t *)j, "{s:i, s:s, s:i, s:i, s:i, s:b, s:b, s:i, s:I, s:I}", "set",
			&set, "mac", &mac, "vlan", &vlan, "qos", &qos, "proto", &proto, "spoofchk",
			&sp, "trust", &tr, "state", &st, "min_rate", &mn, "max_rate", &mx) < 0 ||
	    iov_parse_mac(mac, c->mac, e, sizeof(e)) < 0)
		return -EINVAL;
	c->set = (unsigned)set & IOV_VFC_ALL;
	c->vlan = (uint16_t)vlan;
	c->qos = (uint8_t)qos;
	c->vlan_proto = (uint16_t)proto;
	c->spoofchk = sp;
	c->trust = tr;
	c->state = (enum iov_vf_link_state)st;
	c->min_rate = (uint32_t)mn;
	c->max_rate = (uint32_t)mx;
	return 0;
}

static json_t *vf_json(const struct iovd_vf_now *v, int idx)
{
	return json_pack("{s:i, s:b, s:s, s:s, s:s, s:o}", "vf", idx, "exists", v->exists, "dev",
			 v->dev, "driver", v->driver, "override", v->override, "props",
			 conf_json(&v->props));
}

static int vf_from_json(const json_t *j, struct iovd_vf_now *v, int *idx)
{
	const char *dev, *drv, *ovr;
	json_t *props;
	int ex;

	memset(v, 0, sizeof(*v));
	if (json_unpack((json_t *)j, "{s:i, s:b, s:s, s:s, s:s, s:o}", "vf", idx, "exists", &ex,
			"dev", &dev, "driver", &drv, "override", &ovr, "props", &props) < 0 ||
	    conf_from_json(props, &v->props) < 0)
		return -EINVAL;
	v->exists = ex;
	snprintf(v->dev, sizeof(v->dev), "%s", dev);
	snprintf(v->driver, sizeof(v->driver), "%s", drv);
	snprintf(v->override, sizeof(v->override), "%s", ovr);
	return 0;
}

/* What undo needs of an action. */
static json_t *act_json(const struct iov_action *a)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:o}", "kind",
			      iov_act_kind_name(a->kind), "pf", a->pf_dev, "pf_name", a->pf_name,
			      "netdev", a->netdev, "vf", a->vf, "from", a->old_val, "to", a->new_val,
			      "field", (int)a->field, "driver", (int)a->drv, "line", a->line,
			      "props", conf_json(&a->new_props));

	if (o && a->kind >= IOV_ACT_NVME_STATE) {
		json_object_set_new(o, "scid", json_integer(a->scid));
		json_object_set_new(o, "rt", json_integer(a->rt));
		json_object_set_new(o, "nsid", json_integer(a->nsid));
	}
	return o;
}

/* ---- the executor ---- */

struct run {
	const struct iovd_apply_ops *ops;
	struct iovd_journal j;
};

static bool is_nvme_kind(const char *kind)
{
	return !strncmp(kind, "nvme_", 5);
}

/* An NVMe step's "prev": the controller's state and (for nvme_ns) the attachment. */
static int capture_nvme(const struct iovd_apply_ops *ops, const char *pf, unsigned scid,
			uint32_t nsid, json_t **prev)
{
	struct iovd_nvme_now c;
	int r;

	if (!ops->nvme_get)
		return -EOPNOTSUPP;
	if ((r = ops->nvme_get(ops->ctx, pf, scid, nsid, &c)) < 0)
		return r;
	*prev = json_pack("{s:b, s:b, s:i, s:i, s:b}", "exists", c.exists, "online", c.online,
			  "nvq", (int)c.nvq, "nvi", (int)c.nvi, "attached", c.attached);
	return *prev ? 0 : -ENOMEM;
}

static int capture(const struct iovd_apply_ops *ops, const char *kind, const char *pf,
		   const char *netdev, int vf, json_t **prev)
{
	struct iovd_vf_now v;
	int n = 0, ap = 0, r;

	if (!strcmp(kind, "autoprobe") || !strcmp(kind, "numvfs")) {
		json_t *vfs;

		if ((r = ops->pf_get(ops->ctx, pf, &n, &ap)) < 0)
			return r;
		vfs = json_array();
		for (int k = 0; !strcmp(kind, "numvfs") && k < n; k++) {
			if ((r = ops->vf_get(ops->ctx, pf, netdev, k, &v)) < 0) {
				json_decref(vfs);
				return r;
			}
			json_array_append_new(vfs, vf_json(&v, k));
		}
		*prev = json_pack("{s:i, s:i, s:o}", "numvfs", n, "autoprobe", ap, "vfs", vfs);
		return *prev ? 0 : -ENOMEM;
	}
	if ((r = ops->vf_get(ops->ctx, pf, netdev, vf, &v)) < 0)
		return r;
	*prev = json_pack("{s:o}", "vf", vf_json(&v, vf));
	return *prev ? 0 : -ENOMEM;
}

/* An NVMe step, skipped when the controller is already so (after a VF count change the
 * plan could not know: QEMU offlines and empties the controllers of removed VFs). */
static int nvme_step(const struct iovd_apply_ops *ops, const struct iov_action *a,
		     struct iov_err *err)
{
	struct iovd_nvme_now c;
	int r;

	if (!ops->nvme_get || !ops->nvme_virt || !ops->nvme_ns)
		return iov_err_set(err, -EOPNOTSUPP, NULL, "no NVMe operations on this host");
	if ((r = ops->nvme_get(ops->ctx, a->pf_dev, a->scid, a->nsid, &c)) < 0)
		return iov_err_set(err, r, NULL, "%s: reading secondary controller %u: %s",
				   a->pf_dev, a->scid, strerror(-r));
	if (!c.exists)
		return iov_err_set(err, -ENODEV, NULL, "%s: the drive lists no secondary "
				   "controller %u", a->pf_dev, a->scid);
	switch (a->kind) {
	case IOV_ACT_NVME_STATE:
		if (c.online == (a->new_val != 0))
			return 0;
		return ops->nvme_virt(ops->ctx, a->pf_dev, a->scid, a->new_val ? IOV_NVME_ONLINE :
				      IOV_NVME_OFFLINE, 0, 0, err);
	case IOV_ACT_NVME_ASSIGN:
		if ((a->rt == IOV_NVME_RT_VI ? c.nvi : c.nvq) == (unsigned)a->new_val)
			return 0;
		return ops->nvme_virt(ops->ctx, a->pf_dev, a->scid, IOV_NVME_ASSIGN, a->rt,
				      (unsigned)a->new_val, err);
	default:
		if (c.attached == (a->new_val != 0))
			return 0;
		return ops->nvme_ns(ops->ctx, a->pf_dev, a->nsid, a->scid, a->new_val != 0, err);
	}
}

/* Puts NVMe controller scid back as prev says: resources (offline first, as the drive
 * assigns only to an offline controller), then the state; or the attachment. */
static int nvme_undo(const struct iovd_apply_ops *ops, const char *kind, const char *pf,
		     unsigned scid, uint32_t nsid, const json_t *prev, struct iov_err *err)
{
	struct iovd_nvme_now now;
	int online = json_is_true(json_object_get(prev, "online"));
	unsigned nvq = (unsigned)json_integer_value(json_object_get(prev, "nvq"));
	unsigned nvi = (unsigned)json_integer_value(json_object_get(prev, "nvi"));
	int r;

	if (!ops->nvme_get || !ops->nvme_virt || !ops->nvme_ns)
		return iov_err_set(err, -EOPNOTSUPP, NULL, "no NVMe operations on this host");
	if (!json_is_true(json_object_get(prev, "exists")))
		return 0;
	if ((r = ops->nvme_get(ops->ctx, pf, scid, nsid, &now)) < 0)
		return iov_err_set(err, r, NULL, "%s: reading secondary controller %u: %s", pf, scid,
				   strerror(-r));
	if (!strcmp(kind, "nvme_ns")) {
		bool was = json_is_true(json_object_get(prev, "attached"));

		return now.attached == was ? 0 : ops->nvme_ns(ops->ctx, pf, nsid, scid, was, err);
	}
	if (now.nvq != nvq || now.nvi != nvi) {
		if (now.online &&
		    (r = ops->nvme_virt(ops->ctx, pf, scid, IOV_NVME_OFFLINE, 0, 0, err)) < 0)
			return r;
		/* The offline may itself have taken the resources (QEMU does). */
		if ((r = ops->nvme_get(ops->ctx, pf, scid, 0, &now)) < 0)
			return iov_err_set(err, r, NULL, "%s: reading secondary controller %u: %s",
					   pf, scid, strerror(-r));
		if (now.nvq != nvq && (r = ops->nvme_virt(ops->ctx, pf, scid, IOV_NVME_ASSIGN,
							  IOV_NVME_RT_VQ, nvq, err)) < 0)
			return r;
		if (now.nvi != nvi && (r = ops->nvme_virt(ops->ctx, pf, scid, IOV_NVME_ASSIGN,
							  IOV_NVME_RT_VI, nvi, err)) < 0)
			return r;
	}
	if (now.online != (bool)online)
		return ops->nvme_virt(ops->ctx, pf, scid, online ? IOV_NVME_ONLINE : IOV_NVME_OFFLINE,
				      0, 0, err);
	return 0;
}

static int do_step(const struct iovd_apply_ops *ops, const struct iov_action *a,
		   struct iov_err *err)
{
	struct iov_vfconf c;

	switch (a->kind) {
	case IOV_ACT_AUTOPROBE:
		return ops->autoprobe_set(ops->ctx, a->pf_dev, a->new_val, err);
	case IOV_ACT_NUMVFS:
		return ops->numvfs_set(ops->ctx, a->pf_dev, a->new_val, err);
	case IOV_ACT_VF_PROP:
		c = a->new_props;
		c.set = a->field;
		return ops->vf_props_set(ops->ctx, a->netdev, a->vf, &c, err);
	case IOV_ACT_DRIVER:
		return ops->vf_driver_set(ops->ctx, a->pf_dev, a->vf, a->drv, NULL, err);
	case IOV_ACT_NVME_STATE:
	case IOV_ACT_NVME_ASSIGN:
	case IOV_ACT_NVME_NS:
		return nvme_step(ops, a, err);
	}
	return -EINVAL;
}

/* Sets the fields of want (want->set) that differ from what the VF has now: a driver that
 * cannot set a field (igb: link state) still reports it, and its value is left alone. */
static int props_restore(const struct iovd_apply_ops *ops, const char *pf, const char *netdev,
			 int vf, const struct iov_vfconf *want, struct iov_err *err)
{
	struct iovd_vf_now now;
	struct iov_vfconf c = *want;
	int r;

	if ((r = ops->vf_get(ops->ctx, pf, netdev, vf, &now)) < 0)
		return iov_err_set(err, r, NULL, "%s: reading vf%d: %s", pf, vf, strerror(-r));
	if (!now.exists)
		return 0;
	c.set = 0;
	for (size_t k = 0; k < 7; k++) {
		unsigned f = iov_vfconf_fields[k];

		if ((want->set & f) && (!(now.props.set & f) ||
					!iov_vfconf_field_eq(&now.props, want, f)))
			c.set |= f;
	}
	return c.set ? ops->vf_props_set(ops->ctx, netdev, vf, &c, err) : 0;
}

/* Puts back what step act changed, from prev. */
static int undo_step(const struct iovd_apply_ops *ops, const json_t *act, const json_t *prev,
		     struct iov_err *err)
{
	const char *kind = json_string_value(json_object_get(act, "kind"));
	const char *pf = json_string_value(json_object_get(act, "pf"));
	const char *netdev = json_string_value(json_object_get(act, "netdev"));
	int vf = (int)json_integer_value(json_object_get(act, "vf"));
	unsigned field = (unsigned)json_integer_value(json_object_get(act, "field"));
	struct iovd_vf_now v, now;
	int idx, r;

	if (!kind || !pf || !netdev || !prev)
		return iov_err_set(err, -EINVAL, NULL, "journal record without its action");
	if (is_nvme_kind(kind))
		return nvme_undo(ops, kind, pf, (unsigned)json_integer_value(json_object_get(act,
				 "scid")), (uint32_t)json_integer_value(json_object_get(act, "nsid")),
				 prev, err);
	if (!strcmp(kind, "autoprobe"))
		return ops->autoprobe_set(ops->ctx, pf, (int)json_integer_value(
					  json_object_get(prev, "autoprobe")), err);
	if (!strcmp(kind, "numvfs")) {
		json_t *vfs = json_object_get(prev, "vfs"), *x;
		size_t k;

		if ((r = ops->numvfs_set(ops->ctx, pf, (int)json_integer_value(
				json_object_get(prev, "numvfs")), err)) < 0)
			return r;
		/* Re-created VFs come back with the driver's defaults: put every setting back. */
		json_array_foreach(vfs, k, x) {
			if (vf_from_json(x, &v, &idx) < 0)
				return iov_err_set(err, -EINVAL, NULL, "journal: bad VF record");
			if (!v.exists)
				continue;
			if (*netdev && v.props.set &&
			    (r = props_restore(ops, pf, netdev, idx, &v.props, err)) < 0)
				return r;
			if ((r = ops->vf_get(ops->ctx, pf, netdev, idx, &now)) < 0)
				return iov_err_set(err, r, NULL, "%s: reading vf%d: %s", pf, idx,
						   strerror(-r));
			if ((strcmp(now.driver, v.driver) || strcmp(now.override, v.override)) &&
			    (r = ops->vf_driver_set(ops->ctx, pf, idx, IOV_CFG_DRV_UNSET, &v,
						    err)) < 0)
				return r;
		}
		return 0;
	}
	if (vf_from_json(json_object_get(prev, "vf"), &v, &idx) < 0)
		return iov_err_set(err, -EINVAL, NULL, "journal: bad VF record");
	if (!v.exists)
		return 0;	/* the VF did not exist: the count's undo removes it */
	if (!strcmp(kind, "vf_prop")) {
		struct iov_vfconf c = v.props;

		if (!(c.set & field))
			return 0;	/* the kernel did not report it: nothing known to restore */
		c.set = field;
		return props_restore(ops, pf, netdev, vf, &c, err);
	}
	if (!strcmp(kind, "driver")) {
		if ((r = ops->vf_get(ops->ctx, pf, netdev, vf, &now)) < 0)
			return iov_err_set(err, r, NULL, "%s: reading vf%d: %s", pf, vf,
					   strerror(-r));
		if (!strcmp(now.driver, v.driver) && !strcmp(now.override, v.override))
			return 0;
		return ops->vf_driver_set(ops->ctx, pf, vf, IOV_CFG_DRV_UNSET, &v, err);
	}
	return iov_err_set(err, -EINVAL, NULL, "journal: unknown action '%s'", kind);
}

static void save_last(const char *state_dir, json_t *summary)
{
	char path[PATH_MAX], *s;
	struct iov_err e = { 0 };

	snprintf(path, sizeof(path), "%s/last-apply.json", state_dir);
	s = json_dumps(summary, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s && iov_write_atomic(path, s, strlen(s), 0644, "last apply", &e) < 0)
		log_warn("%s", e.msg);
	free(s);
}

static json_t *now_str(void)
{
	char buf[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

/* Undo records[start..] of txn newest first; returns 0 or the first failure of an undo.
 * The journal may have become unwritable (the state directory full or read-only: that is
 * often why the apply failed): the host is put back all the same, step by step, and the
 * journal's error is kept in *jerr. Recovery after a crash would undo the same steps again
 * from the journal (undoing restores recorded values: doing it twice is harmless). */
static int rollback(struct run *x, json_t *const *acts, json_t *const *prevs, int last,
		    struct iov_err *err, bool *cancelled)
{
	int first = 0;
	bool jbroken = false;

	for (int i = last; i >= 0; i--) {
		struct iov_err e = { 0 };
		int r;

		if (!acts[i])
			continue;
		if (!jbroken &&
		    (r = iovd_journal_append(&x->j, "undo", json_pack("{s:i}", "step", i), &e)) < 0) {
			if (r == -ECANCELED)
				goto jfail;
			log_err("apply %" PRIu64 ": %s; rolling back without journaling", x->j.txn,
				e.msg);
			jbroken = true;
		}
		r = undo_step(x->ops, acts[i], prevs[i], &e);
		if (r < 0) {
			log_err("apply %" PRIu64 ": undoing step %d (%s) failed: %s", x->j.txn, i,
				json_string_value(json_object_get(acts[i], "line")), e.msg);
			if (!first) {
				first = r;
				iov_err_set(err, r, e.fix, "undoing step %d (%s) failed: %s", i,
					    json_string_value(json_object_get(acts[i], "line")), e.msg);
			}
			continue;
		}
		if (!jbroken && (r = iovd_journal_append(&x->j, "undone", json_pack("{s:i}", "step",
							   i), &e)) < 0) {
			if (r == -ECANCELED)
				goto jfail;
			log_err("apply %" PRIu64 ": %s; rolling back without journaling", x->j.txn,
				e.msg);
			jbroken = true;
		}
		continue;
jfail:
		if (r == -ECANCELED)
			*cancelled = true;
		if (!first)
			iov_err_set(err, r, NULL, "%s", e.msg);
		return r;
	}
	return first;
}

int iovd_apply_exec(const struct iov_cfg_plan *p, const char *state_dir, uint64_t txn,
		    const struct iovd_apply_ops *ops, json_t *header,
		    struct iovd_apply_report *rep, struct iov_err *err)
{
	struct run x = { .ops = ops };
	json_t **acts = calloc(p->n ? p->n : 1, sizeof(*acts));
	json_t **prevs = calloc(p->n ? p->n : 1, sizeof(*prevs));
	json_t *lines = json_array(), *summary;
	bool cancelled = false;
	int r = 0, failed = -1;
	struct iov_err e = { 0 };

	memset(rep, 0, sizeof(*rep));
	rep->txn = txn;
	rep->steps = p->n;
	rep->failed_step = -1;
	if (!acts || !prevs || !lines) {
		free(acts);
		free(prevs);
		json_decref(lines);
		json_decref(header);
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	}
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(lines, json_string(p->acts[i].line));
	if (!header)
		header = json_object();
	json_object_set_new(header, "steps", json_integer((json_int_t)p->n));
	json_object_set(header, "plan", lines);
	if ((r = iovd_journal_begin(&x.j, state_dir, txn, header, err)) < 0)
		goto out_nojournal;
	log_info("apply %" PRIu64 ": %zu steps", txn, p->n);
	iovd_event("apply.started", json_pack("{s:I, s:i, s:O}", "txn", (json_int_t)txn,
					      "steps", (int)p->n, "plan", lines));
	for (size_t i = 0; i < p->n; i++) {
		const struct iov_action *a = &p->acts[i];

		acts[i] = act_json(a);
		if (a->kind >= IOV_ACT_NVME_STATE)
			r = capture_nvme(ops, a->pf_dev, a->scid, a->nsid, &prevs[i]);
		else
			r = capture(ops, iov_act_kind_name(a->kind), a->pf_dev, a->netdev, a->vf,
				    &prevs[i]);
		if (r < 0) {
			iov_err_set(&e, r, NULL, "reading the current state: %s", strerror(-r));
			json_decref(acts[i]);
			acts[i] = NULL;
			failed = (int)i;
			break;
		}
		r = iovd_journal_append(&x.j, "start", json_pack("{s:i, s:O, s:O}", "step", (int)i,
								 "act", acts[i], "prev", prevs[i]), &e);
		if (r < 0) {
			json_decref(acts[i]);
			acts[i] = NULL;	/* not journaled: not started */
			if (r == -ECANCELED)
				cancelled = true;
			failed = (int)i;
			break;
		}
		log_info("apply %" PRIu64 ": step %zu/%zu: %s (%s)", txn, i + 1, p->n, a->line,
			 a->why);
		r = do_step(ops, a, &e);
		if (r < 0) {
			failed = (int)i;
			break;
		}
		if ((r = iovd_journal_append(&x.j, "done", json_pack("{s:i}", "step", (int)i),
					     &e)) < 0) {
			if (r == -ECANCELED)
				cancelled = true;
			failed = (int)i;
			break;
		}
		rep->done++;
		iovd_event("apply.step", json_pack("{s:I, s:i, s:s}", "txn", (json_int_t)txn,
						   "step", (int)i, "line", a->line));
	}
	if (cancelled) {
		iov_err_set(err, -ECANCELED, NULL, "%s", e.msg);
		r = -ECANCELED;
		goto out;
	}
	if (failed >= 0) {
		struct iov_err re = { 0 };
		int rr;

		rep->failed_step = failed;
		snprintf(rep->error, sizeof(rep->error), "step %d of %zu (%s) failed: %s%s%s",
			 failed + 1, p->n, p->acts[failed].line, e.msg, e.fix[0] ? "; " : "",
			 e.fix);
		log_err("apply %" PRIu64 ": %s; rolling back", txn, rep->error);
		if (iovd_journal_append(&x.j, "failed", json_pack("{s:i, s:s}", "step", failed,
								   "error", rep->error), &re) == -ECANCELED)
			cancelled = true;
		rr = cancelled ? 0 : rollback(&x, acts, prevs, failed, &re, &cancelled);
		if (cancelled) {
			iov_err_set(err, -ECANCELED, NULL, "%s", re.msg);
			r = -ECANCELED;
			goto out;
		}
		rep->rolled_back = true;
		rep->rollback_ok = rr == 0;
		if (iovd_journal_append(&x.j, "end", json_pack("{s:s}", "result", rr == 0 ?
					"rolled_back" : "rollback_incomplete"), &re) == -ECANCELED) {
			iov_err_set(err, -ECANCELED, NULL, "%s", re.msg);
			r = -ECANCELED;
			goto out;
		}
		if (rr < 0)
			snprintf(rep->error + strlen(rep->error), sizeof(rep->error) -
				 strlen(rep->error), "; roll-back incomplete: %s", re.msg);
		iov_err_set(err, r < 0 ? r : -EIO, e.fix[0] ? e.fix : NULL, "%s; %s", rep->error,
			    rr == 0 ? "everything this apply changed was put back" :
			    "the host may be half-changed");
		iovd_event("apply.failed", json_pack("{s:I, s:i, s:s, s:b}", "txn", (json_int_t)txn,
						     "step", failed, "error", rep->error,
						     "rolled_back", rr == 0));
		r = r < 0 ? r : -EIO;
	} else {
		r = iovd_journal_append(&x.j, "end", json_pack("{s:s}", "result", "ok"), &e);
		if (r == -ECANCELED) {
			iov_err_set(err, -ECANCELED, NULL, "%s", e.msg);
			goto out;
		}
		/* Every step is done and journaled: the host is as planned. The next start
		 * finds the end missing and marks the apply finished. */
		if (r < 0)
			log_warn("apply %" PRIu64 ": %s; every step was done (the next start closes "
				 "the journal)", txn, e.msg);
		log_info("apply %" PRIu64 ": done, %zu steps", txn, p->n);
		iovd_event("apply.finished", json_pack("{s:I, s:i}", "txn", (json_int_t)txn, "steps",
						       (int)p->n));
		r = 0;
	}
	summary = json_pack("{s:I, s:o, s:s, s:i, s:i, s:O}", "txn", (json_int_t)txn, "time",
			    now_str(), "result", failed < 0 ? "ok" : rep->rollback_ok ? "rolled_back"
			    : "rollback_incomplete", "steps", (int)p->n, "done", (int)rep->done,
			    "plan", lines);
	if (summary && failed >= 0) {
		json_object_set_new(summary, "failed_step", json_integer(failed));
		json_object_set_new(summary, "error", json_string(rep->error));
	}
	if (summary)
		save_last(state_dir, summary);
	json_decref(summary);
out:
	for (size_t i = 0; i < p->n; i++) {
		json_decref(acts[i]);
		json_decref(prevs[i]);
	}
out_nojournal:
	free(acts);
	free(prevs);
	json_decref(lines);
	return r;
}

uint64_t iovd_next_txn(const char *state_dir)
{
	json_t *recs = NULL;
	uint64_t t = 0;

	if (iovd_journal_read(state_dir, &recs, NULL) == 0 && json_array_size(recs))
		t = (uint64_t)json_integer_value(json_object_get(json_array_get(recs, 0), "txn"));
	json_decref(recs);
	return t + 1;
}

json_t *iovd_last_apply(const char *state_dir)
{
	char path[PATH_MAX], *buf;
	size_t len;
	json_t *j;

	snprintf(path, sizeof(path), "%s/last-apply.json", state_dir);
	if (iov_read_file(path, 1 << 20, &buf, &len) < 0)
		return NULL;
	j = json_loads(buf, 0, NULL);
	free(buf);
	return j;
}

int iovd_recover(const char *state_dir, const struct iovd_apply_ops *ops, json_t **report,
		 struct iov_err *err)
{
	json_t *recs = NULL, *rec, *begin;
	json_t **acts = NULL, **prevs = NULL;
	struct run x = { .ops = ops };
	bool cancelled = false;
	int nsteps = 0, last = -1, r, started = 0, undone = 0, done_n = 0;
	bool failed_rec = false;
	size_t k;

	r = iovd_journal_read(state_dir, &recs, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	begin = json_array_get(recs, 0);
	if (!begin || strcmp(json_string_value(json_object_get(begin, "r")), "begin")) {
		json_decref(recs);
		return 0;	/* nothing we can act on (logged by the reader) */
	}
	json_array_foreach(recs, k, rec)
		if (!strcmp(json_string_value(json_object_get(rec, "r")), "end")) {
			json_decref(recs);
			return 0;
		}
	if ((r = iovd_journal_trim(state_dir, err)) < 0)
		goto out;
	x.j.txn = (uint64_t)json_integer_value(json_object_get(begin, "txn"));
	x.j.records = (unsigned)json_array_size(recs);
	snprintf(x.j.path, sizeof(x.j.path), "%s/%s", state_dir, IOVD_JOURNAL_NAME);
	nsteps = (int)json_integer_value(json_object_get(begin, "steps"));
	if (nsteps < 0 || nsteps > 1000000)
		nsteps = 0;
	acts = calloc((size_t)nsteps + 1, sizeof(*acts));
	prevs = calloc((size_t)nsteps + 1, sizeof(*prevs));
	if (!acts || !prevs) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(recs, k, rec) {
		const char *t = json_string_value(json_object_get(rec, "r"));
		json_int_t s = json_integer_value(json_object_get(rec, "step"));

		if (s < 0 || s >= nsteps)
			continue;
		if (!strcmp(t, "start")) {
			acts[s] = json_object_get(rec, "act");
			prevs[s] = json_object_get(rec, "prev");
			if ((int)s > last)
				last = (int)s;
			started++;
		} else if (!strcmp(t, "done")) {
			done_n++;
		} else if (!strcmp(t, "failed")) {
			failed_rec = true;
		} else if (!strcmp(t, "undone")) {
			acts[s] = NULL;	/* already put back before the crash */
			undone++;
		}
	}
	if (!failed_rec && done_n == nsteps) {
		/* Every step was done; only the end record is missing: finish it. */
		if ((r = iovd_journal_append(&x.j, "end", json_pack("{s:s}", "result", "finished"),
					     err)) < 0)
			goto out;
		log_warn("apply %" PRIu64 " was interrupted after its last step: finished (all %d "
			 "steps had been done)", x.j.txn, nsteps);
		iovd_event("apply.recovered", json_pack("{s:I, s:s, s:i}", "txn", (json_int_t)x.j.txn,
							"action", "finished", "steps", nsteps));
		if (report)
			*report = json_pack("{s:I, s:s, s:i}", "txn", (json_int_t)x.j.txn, "result",
					    "finished", "steps", nsteps);
		r = 1;
		goto out;
	}
	log_warn("apply %" PRIu64 " was interrupted (%d of %d steps started, %d already undone): "
		 "rolling it back before serving", x.j.txn, started, nsteps, undone);
	r = rollback(&x, acts, prevs, last, err, &cancelled);
	if (r < 0) {
		log_err("apply %" PRIu64 ": recovery incomplete: %s", x.j.txn, err ? err->msg : "");
		goto out;
	}
	iovd_journal_append(&x.j, "end", json_pack("{s:s}", "result", "recovered"), NULL);
	log_info("apply %" PRIu64 ": recovered: rolled back %d started step%s", x.j.txn,
		 started - undone, started - undone == 1 ? "" : "s");
	iovd_event("apply.recovered", json_pack("{s:I, s:s, s:i}", "txn", (json_int_t)x.j.txn,
						"action", "rolled_back", "steps", started - undone));
	{
		json_t *s = json_pack("{s:I, s:o, s:s, s:i, s:i}", "txn", (json_int_t)x.j.txn, "time",
				      now_str(), "result", "recovered", "steps", nsteps, "rolled_back",
				      started - undone);
		if (s)
			save_last(state_dir, s);
		if (report)
			*report = s;
		else
			json_decref(s);
	}
	r = 1;
out:
	free(acts);
	free(prevs);
	json_decref(recs);
	return r;
}
