#include "config/plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "sriov/numvfs.h"
#include "sriov/nvme.h"
#include "sriov/vfinfo.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "vfio/plan.h"
#include "vfio/state.h"

const unsigned iov_vfconf_fields[7] = { IOV_VFC_MAC, IOV_VFC_VLAN, IOV_VFC_SPOOFCHK, IOV_VFC_TRUST,
				   IOV_VFC_STATE, IOV_VFC_MIN_RATE, IOV_VFC_MAX_RATE };

const char *iov_act_kind_name(enum iov_act_kind k)
{
	static const char *const n[] = { "autoprobe", "numvfs", "vf_prop", "driver", "nvme_state",
					 "nvme_assign", "nvme_ns" };

	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

const char *iov_vfconf_field_name(unsigned field)
{
	switch (field) {
	case IOV_VFC_MAC: return "mac";
	case IOV_VFC_VLAN: return "vlan";
	case IOV_VFC_SPOOFCHK: return "spoofchk";
	case IOV_VFC_TRUST: return "trust";
	case IOV_VFC_STATE: return "state";
	case IOV_VFC_MIN_RATE: return "min_rate";
	case IOV_VFC_MAX_RATE: return "max_rate";
	}
	return "?";
}

void iov_vfconf_field_str(const struct iov_vfconf *c, unsigned field, char *buf, size_t len)
{
	char mac[18];
	const char *s;

	switch (field) {
	case IOV_VFC_MAC:
		iov_fmt_mac(c->mac, mac);
		snprintf(buf, len, "%s", mac);
		break;
	case IOV_VFC_VLAN:
		s = c->vlan_proto && c->vlan_proto != IOV_ETH_P_8021Q ?
		    iov_vlan_proto_name(c->vlan_proto) : NULL;
		if (c->qos && s)
			snprintf(buf, len, "%u qos %u proto %s", c->vlan, c->qos, s);
		else if (c->qos)
			snprintf(buf, len, "%u qos %u", c->vlan, c->qos);
		else if (s)
			snprintf(buf, len, "%u proto %s", c->vlan, s);
		else
			snprintf(buf, len, "%u", c->vlan);
		break;
	case IOV_VFC_SPOOFCHK: snprintf(buf, len, "%s", c->spoofchk ? "on" : "off"); break;
	case IOV_VFC_TRUST: snprintf(buf, len, "%s", c->trust ? "on" : "off"); break;
	case IOV_VFC_STATE:
		s = iov_link_state_name(c->state);
		snprintf(buf, len, "%s", s ? s : "?");
		break;
	case IOV_VFC_MIN_RATE: snprintf(buf, len, "%u", c->min_rate); break;
	case IOV_VFC_MAX_RATE: snprintf(buf, len, "%u", c->max_rate); break;
	default: snprintf(buf, len, "?");
	}
}

int iov_vf_addr_predict(const struct iov_dev *pf, unsigned idx, char buf[IOV_PCI_ADDR_STRLEN])
{
	const struct iov_sriov *s = pf->sriov;
	struct iov_pci_addr a = pf->addr;
	long rid;

	if (!s || s->offset == IOV_UNKNOWN || s->stride == IOV_UNKNOWN)
		return -ENOENT;
	if (idx < s->n_vfs && s->vfs[idx]) {
		snprintf(buf, IOV_PCI_ADDR_STRLEN, "%s", s->vfs[idx]->name);
		return 0;
	}
	rid = (long)iov_pci_addr_rid(&pf->addr) + s->offset + (long)idx * s->stride;
	if (rid < 0 || rid > 0xffff)
		return -ENOENT;
	a.bus = (uint8_t)(rid >> 8);
	a.dev = (uint8_t)((rid >> 3) & 31);
	a.fn = (uint8_t)(rid & 7);
	iov_pci_addr_fmt(&a, buf);
	return 0;
}

void iov_cfg_plan_free(struct iov_cfg_plan *p)
{
	if (!p)
		return;
	free(p->acts);
	free(p->imp);
	free(p);
}

/* Planning context for one PF. */
struct pfctx {
	const struct iov_plan_input *in;
	struct iov_cfg_plan *p;
	size_t i;
	const struct iov_cfg_pf *cpf;
	const struct iov_dev *pf;
	const char *netdev;
	char who[320];			/* "uplink (0000:01:00.0, FILE: $.pfs[0])" for errors */
};

static struct iov_action *add_act(struct pfctx *x, enum iov_act_kind kind, int vf)
{
	struct iov_action *a = realloc(x->p->acts, (x->p->n + 1) * sizeof(*a));

	if (!a)
		return NULL;
	x->p->acts = a;
	a = &a[x->p->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->pf = x->i;
	a->vf = vf;
	a->old_val = a->new_val = IOV_UNKNOWN;
	snprintf(a->pf_name, sizeof(a->pf_name), "%s", x->cpf->name);
	snprintf(a->pf_dev, sizeof(a->pf_dev), "%s", x->pf->name);
	snprintf(a->netdev, sizeof(a->netdev), "%s", x->netdev ? x->netdev : "");
	if (vf >= 0 && iov_vf_addr_predict(x->pf, (unsigned)vf, a->dev) < 0)
		a->dev[0] = 0;
	return a;
}

__attribute__((format(printf, 5, 6)))
static int add_imp(struct pfctx *x, enum iov_impact_kind kind, int vf, const char *holder,
		   const char *fmt, ...)
{
	struct iov_impact *m = realloc(x->p->imp, (x->p->n_imp + 1) * sizeof(*m));
	va_list ap;

	if (!m)
		return -ENOMEM;
	x->p->imp = m;
	m = &m[x->p->n_imp++];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->vf = vf;
	m->group = -1;
	snprintf(m->pf_name, sizeof(m->pf_name), "%s", x->cpf->name);
	if (vf >= 0) {
		const struct iov_sriov *s = x->pf->sriov;

		if ((size_t)vf < s->n_vfs && s->vfs[vf] && s->vfs[vf]->group)
			m->group = s->vfs[vf]->group->id;
		if (iov_vf_addr_predict(x->pf, (unsigned)vf, m->dev) < 0)
			m->dev[0] = 0;
	} else {
		snprintf(m->dev, sizeof(m->dev), "%s", x->pf->name);
	}
	snprintf(m->holder, sizeof(m->holder), "%s", holder ? holder : "");
	va_start(ap, fmt);
	vsnprintf(m->what, sizeof(m->what), fmt, ap);
	va_end(ap);
	return 0;
}

static int wrap_err(struct pfctx *x, struct iov_err *err, const struct iov_err *e, int r)
{
	return iov_err_set(err, r, e->fix[0] ? e->fix : NULL, "%s: %s", x->who, e->msg);
}

static const struct iov_vfinfo *find_info(const struct pfctx *x, unsigned idx)
{
	const struct iov_plan_vfs *v = x->in->vfinfo ? &x->in->vfinfo[x->i] : NULL;

	if (!v || !v->known)
		return NULL;
	for (size_t k = 0; k < v->n; k++)
		if (v->vfs[k].vf == (int)idx)
			return &v->vfs[k];
	return NULL;
}

/* What the kernel reports, as a vfconf with the known fields set (nothing for a VF not
 * there yet); a VLAN without a protocol is 802.1Q. */
static void info_conf(const struct iov_vfinfo *v, struct iov_vfconf *c)
{
	memset(c, 0, sizeof(*c));
	if (!v)
		return;
	iov_vfinfo_conf(v, c);
	if ((c->set & IOV_VFC_VLAN) && !c->vlan_proto)
		c->vlan_proto = IOV_ETH_P_8021Q;
}

bool iov_vfconf_field_eq(const struct iov_vfconf *a, const struct iov_vfconf *b, unsigned f)
{
	switch (f) {
	case IOV_VFC_MAC: return !memcmp(a->mac, b->mac, 6);
	case IOV_VFC_VLAN:
		return a->vlan == b->vlan && a->qos == b->qos &&
		       (a->vlan_proto ? a->vlan_proto : IOV_ETH_P_8021Q) ==
		       (b->vlan_proto ? b->vlan_proto : IOV_ETH_P_8021Q);
	case IOV_VFC_SPOOFCHK: return a->spoofchk == b->spoofchk;
	case IOV_VFC_TRUST: return a->trust == b->trust;
	case IOV_VFC_STATE: return a->state == b->state;
	case IOV_VFC_MIN_RATE: return a->min_rate == b->min_rate;
	case IOV_VFC_MAX_RATE: return a->max_rate == b->max_rate;
	}
	return false;
}

static void copy_field(struct iov_vfconf *dst, const struct iov_vfconf *src, unsigned f)
{
	switch (f) {
	case IOV_VFC_MAC: memcpy(dst->mac, src->mac, 6); break;
	case IOV_VFC_VLAN:
		dst->vlan = src->vlan;
		dst->qos = src->qos;
		dst->vlan_proto = src->vlan_proto;
		break;
	case IOV_VFC_SPOOFCHK: dst->spoofchk = src->spoofchk; break;
	case IOV_VFC_TRUST: dst->trust = src->trust; break;
	case IOV_VFC_STATE: dst->state = src->state; break;
	case IOV_VFC_MIN_RATE: dst->min_rate = src->min_rate; break;
	case IOV_VFC_MAX_RATE: dst->max_rate = src->max_rate; break;
	}
	dst->set |= f;
}

static bool is_vfio(const char *drv)
{
	return drv && !strncmp(drv, "vfio", 4);
}

/* The holder of a VF in use: a process with its group open, or the host. 1 in use. */
static int vf_holder(const struct pfctx *x, const struct iov_dev *vf, char *buf, size_t len)
{
	const struct iov_usage_vfio *user;
	char why[256];

	if (!x->in->u)
		return 0;
	if (vf->group && (user = iov_usage_group_user(x->in->u, vf->group->id))) {
		snprintf(buf, len, "pid %d (%s) holds /dev/vfio/%d", user->pid, user->comm,
			 vf->group->id);
		return 1;
	}
	if (iov_guard_dev(x->in->u, vf, why, sizeof(why)) == IOV_GUARD_CRITICAL) {
		snprintf(buf, len, "the host: %s", why);
		return 1;
	}
	return 0;
}

static enum iov_cfg_driver want_driver(const struct pfctx *x, unsigned idx,
				       struct iov_vfconf *props)
{
	enum iov_cfg_driver d = IOV_CFG_DRV_UNSET;

	memset(props, 0, sizeof(*props));
	if (iov_config_vf(x->in->rc->cfg, x->i, idx, props, &d) < 0) {
		memset(props, 0, sizeof(*props));
		d = IOV_CFG_DRV_UNSET;
	}
	return d == IOV_CFG_DRV_UNSET ? IOV_CFG_DRV_HOST : d;
}

static int plan_props(struct pfctx *x, unsigned idx, const struct iov_vfconf *want, bool fresh)
{
	const struct iov_vfinfo *info = fresh ? NULL : find_info(x, idx);
	struct iov_vfconf cur;
	char from[64], to[64];

	if (!want->set)
		return 0;
	info_conf(info, &cur);
	for (size_t k = 0; k < 7; k++) {
		unsigned f = iov_vfconf_fields[k];
		struct iov_action *a;
		bool known = info && (cur.set & f);

		if (!(want->set & f) || (known && iov_vfconf_field_eq(&cur, want, f)))
			continue;
		if (!(a = add_act(x, IOV_ACT_VF_PROP, (int)idx)))
			return -ENOMEM;
		a->field = f;
		a->old_known = known;
		if (known)
			copy_field(&a->old_props, &cur, f);
		copy_field(&a->new_props, want, f);
		iov_vfconf_field_str(want, f, to, sizeof(to));
		if (known) {
			iov_vfconf_field_str(&cur, f, from, sizeof(from));
			snprintf(a->line, sizeof(a->line), "~ %s/vf%u %s %s -> %s", x->cpf->name,
				 idx, iov_vfconf_field_name(f), from, to);
		} else if (fresh) {
			snprintf(a->line, sizeof(a->line), "+ %s/vf%u %s %s", x->cpf->name, idx,
				 iov_vfconf_field_name(f), to);
		} else {
			/* An existing VF whose setting the kernel did not report (a --sysroot
			 * tree, a driver without it): set it, the old value unknown. */
			snprintf(a->line, sizeof(a->line), "~ %s/vf%u %s ? -> %s", x->cpf->name, idx,
				 iov_vfconf_field_name(f), to);
		}
		snprintf(a->why, sizeof(a->why), "%s: %s/vf%u %s", x->cpf->where.file ?
			 x->cpf->where.file : "config", x->cpf->name, idx, iov_vfconf_field_name(f));
	}
	return 0;
}

static int driver_act(struct pfctx *x, unsigned idx, enum iov_cfg_driver want,
		      const char *cur, bool fresh)
{
	struct iov_action *a = add_act(x, IOV_ACT_DRIVER, (int)idx);

	if (!a)
		return -ENOMEM;
	a->drv = want;
	snprintf(a->old_driver, sizeof(a->old_driver), "%s", cur ? cur : "");
	if (fresh)
		snprintf(a->line, sizeof(a->line), "+ %s/vf%u driver %s", x->cpf->name, idx,
			 iov_cfg_driver_name(want));
	else
		snprintf(a->line, sizeof(a->line), "~ %s/vf%u driver %s -> %s", x->cpf->name, idx,
			 cur ? cur : "none", iov_cfg_driver_name(want));
	snprintf(a->why, sizeof(a->why), "config wants %s/vf%u on %s", x->cpf->name, idx,
		 want == IOV_CFG_DRV_HOST ? "its host driver" : iov_cfg_driver_name(want));
	return 0;
}

/* An existing VF: its driver against the config, through the bind/release planners. */
static int plan_driver(struct pfctx *x, unsigned idx, enum iov_cfg_driver want,
		       struct iov_err *err)
{
	const struct iov_dev *vf = idx < x->pf->sriov->n_vfs ? x->pf->sriov->vfs[idx] : NULL;
	static const struct iov_bind_state empty;
	struct iov_plan *bp = NULL;
	struct iov_err e = { 0 };
	char holder[192];
	int r;

	if (!vf)
		return 0;
	switch (want) {
	case IOV_CFG_DRV_VFIO:
		if (vf->driver && !strcmp(vf->driver, "vfio-pci"))
			return 0;
		{
			struct iov_bind_opts o = { .force = x->in->force,
				.allow_unsafe_interrupts = x->in->allow_unsafe_interrupts };

			if ((r = iov_plan_bind(x->in->h, x->in->u, vf, &o, &bp, &e)) < 0)
				return wrap_err(x, err, &e, r);
		}
		if (bp->n && vf->group) {
			char members[160] = "";

			for (size_t k = 0; k < bp->n; k++)
				snprintf(members + strlen(members), sizeof(members) - strlen(members),
					 "%s%s", k ? ", " : "", bp->moves[k].dev);
			r = add_imp(x, IOV_IMPACT_GROUP_MOVED, (int)idx, NULL,
				    "IOMMU group %d (%s) moves to vfio-pci", vf->group->id, members);
			if (r < 0)
				goto out;
		}
		break;
	case IOV_CFG_DRV_HOST:
		if (vf->driver && !is_vfio(vf->driver) && !vf->driver_override)
			return 0;
		if (is_vfio(vf->driver)) {
			if ((r = iov_plan_release(x->in->h, x->in->u, x->in->st ? x->in->st : &empty,
						  vf, &bp, &e)) < 0)
				return wrap_err(x, err, &e, r);
			if (vf->group && (r = add_imp(x, IOV_IMPACT_GROUP_MOVED, (int)idx, NULL,
						      "IOMMU group %d leaves %s", vf->group->id,
						      vf->driver)) < 0)
				goto out;
		}
		break;
	case IOV_CFG_DRV_NONE:
		if (!vf->driver)
			return 0;
		if (vf_holder(x, vf, holder, sizeof(holder))) {
			if ((r = add_imp(x, IOV_IMPACT_IN_USE, (int)idx, holder,
					 "%s/vf%u loses its driver %s", x->cpf->name, idx,
					 vf->driver)) < 0)
				goto out;
			if (!x->in->force) {
				r = iov_err_set(err, -EBUSY, "stop that use first, or pass --force",
						"%s: %s/vf%u (%s) is in use: %s", x->who, x->cpf->name,
						idx, vf->name, holder);
				goto out;
			}
		}
		break;
	default:
		return 0;
	}
	r = driver_act(x, idx, want, vf->driver, false);
out:
	iov_plan_free(bp);
	return r;
}

/* ---- NVMe secondary controllers (sriov/nvme.h) ---- */

static const struct iov_nvme_state *nv_state(const struct pfctx *x)
{
	return x->cpf->nvme && x->in->nvme ? x->in->nvme[x->i] : NULL;
}

/* What the config wants for VF idx: managed false when it gives no NVMe key for it. */
static bool nv_want(const struct pfctx *x, unsigned idx, struct iov_cfg_nvmevf *w)
{
	if (iov_config_vf_nvme(x->in->rc->cfg, x->i, idx, w) < 0)
		*w = (struct iov_cfg_nvmevf){ -1, -1, -1 };
	return w->queues >= 0 || w->interrupts >= 0 || w->ns >= 0;
}

__attribute__((format(printf, 5, 6)))
static struct iov_action *nv_act(struct pfctx *x, enum iov_act_kind kind, unsigned vf,
				 const struct iov_nvme_sec *c, const char *fmt, ...)
{
	struct iov_action *a = add_act(x, kind, (int)vf);
	va_list ap;

	if (!a)
		return NULL;
	a->scid = c->scid;
	va_start(ap, fmt);
	vsnprintf(a->line, sizeof(a->line), fmt, ap);
	va_end(ap);
	return a;
}

static int nv_state_act(struct pfctx *x, unsigned vf, const struct iov_nvme_sec *c, bool online,
			const char *why)
{
	struct iov_action *a = nv_act(x, IOV_ACT_NVME_STATE, vf, c, "%c %s/vf%u controller %u %s",
				      online ? '+' : '-', x->cpf->name, vf, c->scid,
				      online ? "online" : "offline");

	if (!a)
		return -ENOMEM;
	a->old_val = online ? 0 : 1;
	a->new_val = online;
	snprintf(a->why, sizeof(a->why), "%s", why);
	return 0;
}

static int nv_assign_act(struct pfctx *x, unsigned vf, const struct iov_nvme_sec *c,
			 enum iov_nvme_rt rt, int from, int to)
{
	char f[16] = "?";
	struct iov_action *a;

	if (from != IOV_UNKNOWN)
		snprintf(f, sizeof(f), "%d", from);
	a = nv_act(x, IOV_ACT_NVME_ASSIGN, vf, c, "~ %s/vf%u controller %u %s %s -> %d",
		   x->cpf->name, vf, c->scid, iov_nvme_rt_name(rt), f, to);
	if (!a)
		return -ENOMEM;
	a->rt = rt;
	a->old_val = from;
	a->new_val = to;
	snprintf(a->why, sizeof(a->why), "Virtualization Management: assign %d flexible %s "
		 "resource%s to secondary controller %u (offline)", to, iov_nvme_rt_name(rt),
		 to == 1 ? "" : "s", c->scid);
	return 0;
}

static int nv_ns_act(struct pfctx *x, unsigned vf, const struct iov_nvme_sec *c, uint32_t nsid,
		     bool attach)
{
	struct iov_action *a = nv_act(x, IOV_ACT_NVME_NS, vf, c, attach ?
				      "+ %s/vf%u attach namespace %u to controller %u" :
				      "- %s/vf%u detach namespace %u from controller %u",
				      x->cpf->name, vf, nsid, c->scid);

	if (!a)
		return -ENOMEM;
	a->nsid = nsid;
	a->old_val = !attach;
	a->new_val = attach;
	snprintf(a->why, sizeof(a->why), "Namespace Attachment: %s", attach ? "the config gives "
		 "this VF the namespace" : "the config does not give this VF the namespace");
	return 0;
}

/* VF vf's controller to nothing: namespaces detached, offline, no resources. */
static int nv_clear(struct pfctx *x, const struct iov_nvme_state *s, const struct iov_nvme_sec *c,
		    unsigned vf)
{
	int r;

	for (size_t k = 0; k < s->n_ns; k++)
		if (iov_nvme_ns_attached(s, s->ns[k].nsid, c->scid) &&
		    (r = nv_ns_act(x, vf, c, s->ns[k].nsid, false)) < 0)
			return r;
	if (c->online && (r = nv_state_act(x, vf, c, false, "the config gives this VF no NVMe "
					   "resources: its controller goes offline")) < 0)
		return r;
	if (c->nvq && (r = nv_assign_act(x, vf, c, IOV_NVME_RT_VQ, (int)c->nvq, 0)) < 0)
		return r;
	if (c->nvi && (r = nv_assign_act(x, vf, c, IOV_NVME_RT_VI, (int)c->nvi, 0)) < 0)
		return r;
	return 0;
}

/* VF vf's controller to what the config wants, in the specification's order. disturbed:
 * the VF count changes, so what the controller has after that step is not known (QEMU
 * offlines and empties the controllers of the VFs it removes): every step is planned, and
 * the executor skips what is already so. */
static unsigned nv_quirks(const struct pfctx *x)
{
	const struct iov_nvme_quirk *q = x->pf->vendor == IOV_UNKNOWN ? NULL :
		iov_nvme_quirk_get((unsigned)x->pf->vendor, (unsigned)x->pf->device);

	return q ? q->flags : 0;
}

static int nv_setup(struct pfctx *x, const struct iov_nvme_state *s, const struct iov_nvme_sec *c,
		    unsigned vf, const struct iov_cfg_nvmevf *w, bool disturbed)
{
	/* A drive known to take removed VFs' controllers offline and empty (quirk) is
	 * predicted exactly; any other is not known after the count step. */
	const unsigned q = nv_quirks(x);
	const bool emptied = disturbed && (q & IOV_NVME_Q_VF_DISABLE_OFFLINES) &&
			     (q & IOV_NVME_Q_OFFLINE_FREES);
	struct iov_nvme_sec now = *c;
	bool online, known;
	int r;

	if (emptied) {
		now.online = false;
		now.nvq = now.nvi = 0;
		c = &now;
	}
	online = c->online && !disturbed;
	known = !disturbed || emptied;
	/* Another drive may keep the controller online across the count change: offline
	 * first (skipped by the executor when it is not). */
	if (disturbed && !emptied && (r = nv_state_act(x, vf, c, false, "the VF count changed "
						       "(its VF was removed and re-created)")) < 0)
		return r;

	for (size_t k = 0; known && k < s->n_ns; k++)
		if (iov_nvme_ns_attached(s, s->ns[k].nsid, c->scid) &&
		    (int64_t)s->ns[k].nsid != w->ns &&
		    (r = nv_ns_act(x, vf, c, s->ns[k].nsid, false)) < 0)
			return r;
	if (online && (c->nvq != (unsigned)w->queues || c->nvi != (unsigned)w->interrupts)) {
		if ((r = nv_state_act(x, vf, c, false, "its resources change: Virtualization "
				      "Management assigns only to an offline controller")) < 0)
			return r;
		online = false;
		if (q & IOV_NVME_Q_OFFLINE_FREES) {
			now = *c;
			now.nvq = now.nvi = 0;
			c = &now;
		} else {
			known = false;
		}
	}
	if ((!known || c->nvq != (unsigned)w->queues) &&
	    (r = nv_assign_act(x, vf, c, IOV_NVME_RT_VQ, known ? (int)c->nvq : IOV_UNKNOWN,
			       w->queues)) < 0)
		return r;
	if ((!known || c->nvi != (unsigned)w->interrupts) &&
	    (r = nv_assign_act(x, vf, c, IOV_NVME_RT_VI, known ? (int)c->nvi : IOV_UNKNOWN,
			       w->interrupts)) < 0)
		return r;
	if (w->ns >= 0 && (disturbed || !iov_nvme_ns_attached(s, (uint32_t)w->ns, c->scid)) &&
	    (r = nv_ns_act(x, vf, c, (uint32_t)w->ns, true)) < 0)
		return r;
	if (!online && (r = nv_state_act(x, vf, c, true, "its resources are assigned: the "
					 "secondary controller goes online")) < 0)
		return r;
	return 0;
}

/* Refusals before any step: what the drive cannot give. */
static int nv_check(struct pfctx *x, const struct iov_nvme_state *s, int want,
		    struct iov_err *err)
{
	const struct iov_nvme_res *vq = &s->pri.vq, *vi = &s->pri.vi;
	unsigned long sq = 0, si = 0;
	char list_q[160] = "", list_i[160] = "";

	for (int k = 0; k < want; k++) {
		struct iov_cfg_nvmevf w, w2;
		const struct iov_nvme_sec *c;
		const struct iov_nvme_ns *ns;

		if (!nv_want(x, (unsigned)k, &w))
			continue;
		if (w.queues < 0 || w.interrupts < 0)
			return iov_err_set(err, -EINVAL, "give both \"queues\" and \"interrupts\" "
					   "(in \"defaults\" or the VF's entry)", "%s: %s/vf%d has %s "
					   "but no %s: its secondary controller goes online only with "
					   "both", x->who, x->cpf->name, k, w.queues >= 0 ? "queues" :
					   w.interrupts >= 0 ? "interrupts" : "a namespace",
					   w.queues >= 0 ? "interrupts" : w.interrupts >= 0 ? "queues" :
					   "queues or interrupts");
		if (!(c = iov_nvme_sec_of_vf(s, (unsigned)k)))
			return iov_err_set(err, -ENODEV, "lower num_vfs to the drive's secondary "
					   "controllers (iovctl show PF)", "%s: the drive lists no "
					   "secondary controller for VF %d (%zu listed)", x->who, k,
					   s->n_sec);
		if (vq->max_per_sec && (unsigned)w.queues > vq->max_per_sec)
			return iov_err_set(err, -ERANGE, "lower \"queues\"", "%s: %s/vf%d asks for %d "
					   "VQ resources; the drive gives one secondary controller at "
					   "most %u (VQFRSM)", x->who, x->cpf->name, k, w.queues,
					   vq->max_per_sec);
		if (vi->max_per_sec && (unsigned)w.interrupts > vi->max_per_sec)
			return iov_err_set(err, -ERANGE, "lower \"interrupts\"", "%s: %s/vf%d asks "
					   "for %d VI resources; the drive gives one secondary "
					   "controller at most %u (VIFRSM)", x->who, x->cpf->name, k,
					   w.interrupts, vi->max_per_sec);
		sq += (unsigned)w.queues;
		si += (unsigned)w.interrupts;
		snprintf(list_q + strlen(list_q), sizeof(list_q) - strlen(list_q), "%svf%d %d",
			 list_q[0] ? ", " : "", k, w.queues);
		snprintf(list_i + strlen(list_i), sizeof(list_i) - strlen(list_i), "%svf%d %d",
			 list_i[0] ? ", " : "", k, w.interrupts);
		if (w.ns < 0)
			continue;
		for (int m = 0; m < k; m++)
			if (nv_want(x, (unsigned)m, &w2) && w2.ns == w.ns)
				return iov_err_set(err, -EEXIST, "give each VF its own namespace",
						   "%s: namespace %lld is given to both %s/vf%d and "
						   "%s/vf%d", x->who, (long long)w.ns, x->cpf->name,
						   m, x->cpf->name, k);
		if (!s->ns_known)
			continue;
		if (!(ns = iov_nvme_ns_get(s, (uint32_t)w.ns)))
			return iov_err_set(err, -ENOENT, "create it first (nvme create-ns), or name "
					   "one the drive has (iovctl show PF lists them)", "%s: %s/vf%d: "
					   "the drive has no namespace %lld", x->who, x->cpf->name, k,
					   (long long)w.ns);
		for (size_t m = 0; m < ns->n_ctrls; m++)
			if (ns->ctrls[m] != c->scid)
				return iov_err_set(err, -EBUSY, "detach it from that controller first "
						   "(nvme detach-ns), or give the VF another namespace",
						   "%s: %s/vf%d: namespace %lld is attached to controller "
						   "%u%s", x->who, x->cpf->name, k, (long long)w.ns,
						   ns->ctrls[m], ns->ctrls[m] == s->pri.cntlid ?
						   " (the PF's own: the host uses it)" : "");
	}
	if (sq > (unsigned long)vq->total - vq->primary)
		return iov_err_set(err, -ENOSPC, "lower \"queues\" or num_vfs", "%s: the VFs ask "
				   "for %lu VQ resources (%s); the drive has %u flexible, %u of them "
				   "kept by the primary controller: %u for the VFs", x->who, sq,
				   list_q, vq->total, vq->primary, vq->total - vq->primary);
	if (si > (unsigned long)vi->total - vi->primary)
		return iov_err_set(err, -ENOSPC, "lower \"interrupts\" or num_vfs", "%s: the VFs "
				   "ask for %lu VI resources (%s); the drive has %u flexible, %u of "
				   "them kept by the primary controller: %u for the VFs", x->who, si,
				   list_i, vi->total, vi->primary, vi->total - vi->primary);
	return 0;
}

/* The controllers of VFs the config does not give NVMe keys (those beyond the count
 * included) are emptied. When the count changes this comes after it: a VF bound to the
 * host's nvme driver goes with its driver unbound cleanly, not under a controller taken
 * offline (the executor skips what the count step already did). */
static int nv_clear_unwanted(struct pfctx *x, const struct iov_nvme_state *s, int want)
{
	int r;

	for (size_t i = 0; i < s->n_sec; i++) {
		const struct iov_nvme_sec *c = &s->sec[i];
		struct iov_cfg_nvmevf w;

		if (c->vfn && ((int)c->vfn > want || !nv_want(x, c->vfn - 1, &w)) &&
		    (r = nv_clear(x, s, c, c->vfn - 1)) < 0)
			return r;
	}
	return 0;
}

/* After the count: VF idx's controller set up (no-op for a VF without NVMe keys). */
static int nv_after(struct pfctx *x, unsigned idx, bool disturbed)
{
	const struct iov_nvme_state *s = nv_state(x);
	const struct iov_nvme_sec *c;
	struct iov_cfg_nvmevf w;

	if (!s || !nv_want(x, idx, &w) || !(c = iov_nvme_sec_of_vf(s, idx)))
		return 0;
	return nv_setup(x, s, c, idx, &w, disturbed);
}

static int plan_pf(struct pfctx *x, struct iov_err *err)
{
	const struct iov_sriov *s = x->pf->sriov;
	struct iov_vfs_request req = { 0 };
	struct iov_vfs_plan *vp = NULL;
	struct iov_err e = { 0 };
	struct iov_vfconf props;
	bool any_nonhost = false, all_nonhost = true, any_props = false;
	int want, cur, ap, r;
	char holder[192];

	if (!s || x->pf->role != IOV_ROLE_PF)
		return iov_err_set(err, -ENODEV, "match an SR-IOV PF (see `iovctl list pfs`)",
				   "%s is not an SR-IOV physical function", x->who);
	cur = s->num_vfs;
	want = x->cpf->num_vfs < 0 ? cur : x->cpf->num_vfs;
	if (cur == IOV_UNKNOWN)
		return iov_err_set(err, -EIO, "check the PF's sysfs files",
				   "%s: sriov_numvfs unreadable", x->who);
	for (int k = 0; k < want; k++) {
		if (want_driver(x, (unsigned)k, &props) != IOV_CFG_DRV_HOST)
			any_nonhost = true;
		else
			all_nonhost = false;
		if (props.set)
			any_props = true;
	}
	if (x->cpf->nvme) {
		const struct iov_nvme_state *ns = nv_state(x);

		if (!ns)
			return iov_err_set(err, -ENODEV, "match an NVMe PF bound to the nvme driver, or "
					   "drop queues, interrupts and namespace",
					   "%s: NVMe keys (queues, interrupts, namespace) for a PF whose "
					   "NVMe SR-IOV state was not read (driver %s)", x->who,
					   x->pf->driver ? x->pf->driver : "none");
		if ((r = nv_check(x, ns, want, err)) < 0)
			return r;
	}
	if (any_props && (!x->netdev || !*x->netdev))
		return iov_err_set(err, -ENODEV, "bind the PF's network driver (igb, ixgbe, i40e, "
				   "...) so that its netdev exists, or drop the VF properties",
				   "%s: VF properties are set through the PF's netdev and it has none",
				   x->who);

	if (want != cur && any_nonhost) {
		const struct iov_dev *pf = x->pf;

		for (int k = 0; k < want; k++) {
			const struct iov_dev *old;

			if (want_driver(x, (unsigned)k, &props) != IOV_CFG_DRV_VFIO)
				continue;
			if (!x->in->h->iommu.enabled)
				return iov_err_set(err, -EOPNOTSUPP, "enable the IOMMU (VT-d/AMD-Vi in "
						   "the firmware, intel_iommu=on), or put the VFs on "
						   "\"host\"", "%s: %s/vf%d is to go to vfio-pci, but no "
						   "IOMMU is active on this host (no IOMMU groups)", x->who,
						   x->cpf->name, k);
			if (x->in->h->iommu.intremap != 1 && !x->in->allow_unsafe_interrupts)
				return iov_err_set(err, -EPERM, "enable interrupt remapping, or set "
						   "policy.allow_unsafe_interrupts",
						   "%s: %s/vf%d is to go to vfio-pci, but interrupt "
						   "remapping is not known to be on (%s)", x->who,
						   x->cpf->name, k, x->in->h->iommu.intremap_why ?
						   x->in->h->iommu.intremap_why : "no evidence");
			/* The VFs the PF has now show where new ones land: in the PF's own group
			 * (no ACS below the PF's port), vfio-pci could only take them with it. */
			for (size_t v = 0; v < pf->sriov->n_vfs; v++)
				if ((old = pf->sriov->vfs[v]) && old->group && old->group == pf->group)
					return iov_err_set(err, -EBUSY, "put the PF behind a port with ACS, "
							   "or keep its VFs on \"host\"",
							   "%s: %s/vf%d is to go to vfio-pci, but this PF's "
							   "VFs share IOMMU group %d with the PF itself (%s "
							   "is in it now): the group cannot move while the PF "
							   "driver holds it", x->who, x->cpf->name, k,
							   pf->group->id, old->name);
		}
	}
	if (want != cur) {
		/* The VF-count planner for the refusals and the steps; VFs on vfio-pci that no
		 * process holds may go (force), the host's own use is checked here. */
		req.count = want;
		req.force = true;
		if ((r = iov_vfs_plan(x->in->h, x->in->u, x->pf, &req, &vp, &e)) < 0)
			return wrap_err(x, err, &e, r);
		for (size_t k = 0; k < s->n_vfs; k++) {
			const struct iov_dev *vf = s->vfs[k];
			int used = vf ? vf_holder(x, vf, holder, sizeof(holder)) : 0;

			if (!vf)
				continue;
			if ((r = add_imp(x, IOV_IMPACT_VF_REMOVED, (int)k, NULL, "%s/vf%zu (%s) is "
					 "removed%s", x->cpf->name, k, vf->name, want ? " and "
					 "re-created" : "")) < 0)
				goto out;
			if (used) {
				if ((r = add_imp(x, IOV_IMPACT_IN_USE, (int)k, holder, "%s/vf%zu is "
						 "removed while in use", x->cpf->name, k)) < 0)
					goto out;
				if (!x->in->force) {
					r = iov_err_set(err, -EBUSY, "stop that use first, or pass "
							"--force", "%s: changing the VF count from %d to "
							"%d removes %s/vf%zu (%s), which is in use: %s",
							x->who, cur, want, x->cpf->name, k, vf->name,
							holder);
					goto out;
				}
			}
		}
		/* Autoprobe off only when no new VF wants a host driver: with it off the kernel
		 * probes a VF only through driver_override (pci_device_can_probe()). */
		ap = all_nonhost || x->cpf->nvme ? 0 : 1;
		for (size_t k = 0; k < vp->n; k++) {
			const struct iov_vfs_action *va = &vp->acts[k];
			struct iov_action *a;
			long v;

			if (va->kind != IOV_VFS_WRITE || strcmp(va->file, "sriov_numvfs"))
				continue;
			if (iov_parse_long(va->value, 10, &v) < 0)
				continue;
			if (v > 0 && s->drivers_autoprobe != ap) {
				if (!(a = add_act(x, IOV_ACT_AUTOPROBE, -1)))
					goto nomem;
				a->old_val = s->drivers_autoprobe;
				a->new_val = ap;
				snprintf(a->line, sizeof(a->line), "~ %s autoprobe %d -> %d",
					 x->cpf->name, a->old_val, ap);
				snprintf(a->why, sizeof(a->why), "%s", ap ? "let host VF drivers "
					 "probe the new VFs" : x->cpf->nvme ? "keep the nvme driver off "
					 "the new VFs until their controllers are online" : "keep host "
					 "VF drivers off the new VFs (all for vfio-pci or no driver)");
			}
			if (!(a = add_act(x, IOV_ACT_NUMVFS, -1)))
				goto nomem;
			a->old_val = v ? 0 : cur;
			a->new_val = (int)v;
			if (v)
				snprintf(a->line, sizeof(a->line), "+ create %ld VFs on %s", v,
					 x->cpf->name);
			else
				snprintf(a->line, sizeof(a->line), "- remove %d VFs of %s",
					 a->old_val, x->cpf->name);
			snprintf(a->why, sizeof(a->why), "%s", va->why);
		}
		if (nv_state(x) && (r = nv_clear_unwanted(x, nv_state(x), want)) < 0)
			goto out;
		for (int k = 0; k < want; k++) {
			enum iov_cfg_driver d = want_driver(x, (unsigned)k, &props);
			char addr[IOV_PCI_ADDR_STRLEN] = "";

			iov_vf_addr_predict(x->pf, (unsigned)k, addr);
			if ((r = add_imp(x, IOV_IMPACT_VF_CREATED, k, NULL, "%s/vf%d (%s) is created",
					 x->cpf->name, k, addr[0] ? addr : "address not known yet")) < 0)
				goto out;
			if ((r = plan_props(x, (unsigned)k, &props, true)) < 0 ||
			    (r = nv_after(x, (unsigned)k, cur > 0)) < 0)
				goto out;
			if ((d == IOV_CFG_DRV_VFIO) || (d == IOV_CFG_DRV_HOST && ap == 0) ||
			    (d == IOV_CFG_DRV_NONE && ap == 1))
				if ((r = driver_act(x, (unsigned)k, d, NULL, true)) < 0)
					goto out;
		}
		r = 0;
		goto out;
	}
	if (nv_state(x) && (r = nv_clear_unwanted(x, nv_state(x), want)) < 0)
		return r;
	for (int k = 0; k < want; k++) {
		enum iov_cfg_driver d = want_driver(x, (unsigned)k, &props);
		const struct iov_dev *vf = (size_t)k < s->n_vfs ? s->vfs[k] : NULL;
		size_t before = x->p->n;

		if ((r = plan_props(x, (unsigned)k, &props, false)) < 0 ||
			    (r = nv_after(x, (unsigned)k, false)) < 0)
			return r;
		if (vf && x->p->n > before && vf_holder(x, vf, holder, sizeof(holder)) &&
		    (r = add_imp(x, IOV_IMPACT_IN_USE, k, holder, "%s/vf%d changes settings while "
				 "in use", x->cpf->name, k)) < 0)
			return r;
		if ((r = plan_driver(x, (unsigned)k, d, err)) < 0)
			return r;
	}
	return 0;
nomem:
	r = -ENOMEM;
out:
	iov_vfs_plan_free(vp);
	return r;
}

int iov_cfg_plan(const struct iov_plan_input *in, struct iov_cfg_plan **out,
		 struct iov_err *err)
{
	const struct iov_config *cfg = in->rc->cfg;
	struct iov_cfg_plan *p = calloc(1, sizeof(*p));
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_pfs; i++) {
		struct pfctx x = { .in = in, .p = p, .i = i, .cpf = &cfg->pfs[i],
				   .pf = in->rc->pf_dev[i] };

		if (!x.pf)
			continue;
		x.netdev = x.pf->n_netdevs ? x.pf->netdevs[0] : NULL;
		snprintf(x.who, sizeof(x.who), "%s (%s, %s: %s)", x.cpf->name, x.pf->name,
			 x.cpf->where.file ? x.cpf->where.file : "config",
			 x.cpf->where.path[0] ? x.cpf->where.path : "$");
		if ((r = plan_pf(&x, err)) < 0)
			break;
	}
	if (r < 0) {
		if (r == -ENOMEM)
			iov_err_set(err, r, NULL, "out of memory while planning");
		iov_cfg_plan_free(p);
		return r;
	}
	*out = p;
	return 0;
}

json_t *iov_cfg_plan_json(const struct iov_cfg_plan *p)
{
	static const char *const ik[] = { "vf_removed", "vf_created", "group_moved", "in_use" };
	json_t *acts = json_array(), *imp = json_array();
	char buf[64];

	for (size_t i = 0; i < p->n; i++) {
		const struct iov_action *a = &p->acts[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "action",
				      iov_act_kind_name(a->kind), "pf", a->pf_name, "pf_device",
				      a->pf_dev, "why", a->why, "line", a->line);

		if (!o)
			continue;
		json_object_set_new(o, "vf", a->vf >= 0 ? json_integer(a->vf) : json_null());
		json_object_set_new(o, "device", a->dev[0] ? json_string(a->dev) : json_null());
		switch (a->kind) {
		case IOV_ACT_AUTOPROBE:
		case IOV_ACT_NUMVFS:
			json_object_set_new(o, "from", a->old_val == IOV_UNKNOWN ? json_null() :
					    json_integer(a->old_val));
			json_object_set_new(o, "to", json_integer(a->new_val));
			break;
		case IOV_ACT_VF_PROP:
			json_object_set_new(o, "field", json_string(iov_vfconf_field_name(a->field)));
			if (a->old_known) {
				iov_vfconf_field_str(&a->old_props, a->field, buf, sizeof(buf));
				json_object_set_new(o, "from", json_string(buf));
			} else {
				json_object_set_new(o, "from", json_null());
			}
			iov_vfconf_field_str(&a->new_props, a->field, buf, sizeof(buf));
			json_object_set_new(o, "to", json_string(buf));
			break;
		case IOV_ACT_DRIVER:
			json_object_set_new(o, "from", a->old_driver[0] ? json_string(a->old_driver)
								    : json_null());
			json_object_set_new(o, "to", json_string(iov_cfg_driver_name(a->drv)));
			break;
		case IOV_ACT_NVME_STATE:
			json_object_set_new(o, "controller", json_integer(a->scid));
			json_object_set_new(o, "from", json_string(a->old_val ? "online" : "offline"));
			json_object_set_new(o, "to", json_string(a->new_val ? "online" : "offline"));
			break;
		case IOV_ACT_NVME_ASSIGN:
			json_object_set_new(o, "controller", json_integer(a->scid));
			json_object_set_new(o, "resource", json_string(iov_nvme_rt_name(a->rt)));
			json_object_set_new(o, "from", a->old_val == IOV_UNKNOWN ? json_null() :
					    json_integer(a->old_val));
			json_object_set_new(o, "to", json_integer(a->new_val));
			break;
		case IOV_ACT_NVME_NS:
			json_object_set_new(o, "controller", json_integer(a->scid));
			json_object_set_new(o, "namespace", json_integer(a->nsid));
			json_object_set_new(o, "from", json_string(a->new_val ? "detached" : "attached"));
			json_object_set_new(o, "to", json_string(a->new_val ? "attached" : "detached"));
			break;
		}
		json_array_append_new(acts, o);
	}
	for (size_t i = 0; i < p->n_imp; i++) {
		const struct iov_impact *m = &p->imp[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "kind", ik[m->kind], "pf", m->pf_name,
				      "what", m->what, "device", m->dev);

		if (!o)
			continue;
		json_object_set_new(o, "vf", m->vf >= 0 ? json_integer(m->vf) : json_null());
		json_object_set_new(o, "group", m->group >= 0 ? json_integer(m->group) : json_null());
		json_object_set_new(o, "holder", m->holder[0] ? json_string(m->holder) : json_null());
		json_array_append_new(imp, o);
	}
	return json_pack("{s:o, s:o}", "actions", acts, "impact", imp);
}
