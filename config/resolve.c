/* The config against a host snapshot: which device each PF is, and what only the host can
 * tell (is it an SR-IOV PF, how many VFs can it have, do the NICs' devices exist). Reads
 * the snapshot and, for perm_mac, asks the lookup; changes nothing. */
#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "sriov/permaddr.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rfail(struct iov_err *err, const struct iov_cfg_where *w, const char *sub, int code,
		 const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int rfail(struct iov_err *err, const struct iov_cfg_where *w, const char *sub, int code,
		 const char *fix, const char *fmt, ...)
{
	char what[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return iov_err_set(err, code, fix, "%s: %s%s: %s", w->file ? w->file : "config", w->path,
			   sub ? sub : "", what);
}

static int live_perm_mac(void *ud, const char *ifname, uint8_t mac[6])
{
	(void)ud;
	/* A sysfs tree has no permanent MACs (they live only in rtnetlink), and the netdevs
	 * of a fake tree are not this machine's. */
	if (iov_sysroot()[0])
		return -EOPNOTSUPP;
	return iov_netdev_perm_addr(ifname, mac);
}

/* "0000:01:00.0 (enp1s0, 8086:10c9)" */
static size_t describe(const struct iov_dev *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s (%s%s%04x:%04x)", d->name,
			 d->n_netdevs ? d->netdevs[0] : "", d->n_netdevs ? ", " : "",
			 d->vendor == IOV_UNKNOWN ? 0 : d->vendor,
			 d->device == IOV_UNKNOWN ? 0 : d->device);

	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* The host's PFs, for "matches nothing" messages. */
static void list_pfs(const struct iov_host *h, char *buf, size_t len)
{
	size_t n = 0, count = 0;

	n += (size_t)snprintf(buf, len, "the host's SR-IOV PFs are:");
	for (size_t i = 0; i < h->n_devs && n + 8 < len; i++) {
		if (h->devs[i]->role != IOV_ROLE_PF)
			continue;
		if (count++ == 8) {
			snprintf(buf + n, len - n, " ...");
			return;
		}
		buf[n++] = ' ';
		buf[n] = '\0';
		n += describe(h->devs[i], buf + n, len - n);
	}
	if (!count)
		snprintf(buf + n, len - n, " none");
}

static void match_text(const struct iov_cfg_match *m, char *buf, size_t len)
{
	char t[24];

	switch (m->kind) {
	case IOV_MATCH_ADDRESS:
		iov_pci_addr_fmt(&m->addr, t);
		snprintf(buf, len, "address %s", t);
		break;
	case IOV_MATCH_NETDEV:
		snprintf(buf, len, "netdev \"%s\"", m->netdev);
		break;
	case IOV_MATCH_PERM_MAC:
		iov_fmt_mac(m->mac, t);
		snprintf(buf, len, "perm_mac %s", t);
		break;
	case IOV_MATCH_DSN:
		iov_cfg_fmt_dsn(m->dsn, t);
		snprintf(buf, len, "dsn %s", t);
		break;
	case IOV_MATCH_VENDOR_DEVICE:
		snprintf(buf, len, "vendor_device %04x:%04x", m->vendor, m->device);
		break;
	}
}

static bool has_netdev(const struct iov_dev *d, const char *name)
{
	for (size_t i = 0; i < d->n_netdevs; i++)
		if (strcmp(d->netdevs[i], name) == 0)
			return true;
	return false;
}

/* Candidates for one match, in address order. */
static int candidates(const struct iov_cfg_pf *pf, const struct iov_host *h,
		      const struct iov_cfg_lookup *lk, struct iov_dev **cand, size_t *n_out,
		      struct iov_err *err)
{
	const struct iov_cfg_match *m = &pf->match;
	size_t n = 0;

	for (size_t i = 0; i < h->n_devs; i++) {
		struct iov_dev *d = h->devs[i];
		bool hit = false;

		switch (m->kind) {
		case IOV_MATCH_ADDRESS:
			hit = iov_pci_addr_cmp(&d->addr, &m->addr) == 0;
			break;
		case IOV_MATCH_NETDEV:
			hit = has_netdev(d, m->netdev);
			break;
		case IOV_MATCH_DSN:
			hit = d->dsn_known && d->dsn == m->dsn;
			break;
		case IOV_MATCH_VENDOR_DEVICE:
			hit = d->vendor == m->vendor && d->device == m->device;
			break;
		case IOV_MATCH_PERM_MAC:
			/* One netlink round trip per netdev: VFs (hundreds on a big host, and
			 * with no burnt-in address of their own) are not asked. */
			for (size_t k = 0; d->role != IOV_ROLE_VF && k < d->n_netdevs && !hit; k++) {
				uint8_t mac[6];
				int r = lk && lk->perm_mac ? lk->perm_mac(lk->ud, d->netdevs[k], mac) :
							     -EOPNOTSUPP;

				if (r == -EOPNOTSUPP)
					return rfail(err, &pf->where, ".match.perm_mac", -EOPNOTSUPP,
						     "check this config on the live host, or match by "
						     "\"address\", \"netdev\" or \"dsn\"",
						     "PF \"%s\": the permanent MAC is not known here: it "
						     "comes from rtnetlink on the live host, not from a "
						     "sysfs tree (--sysroot)", pf->name);
				hit = r == 0 && memcmp(mac, m->mac, 6) == 0;
			}
			break;
		}
		if (hit && n < 256)
			cand[n++] = d;
	}
	*n_out = n;
	return 0;
}

static int resolve_pf(const struct iov_config *c, size_t i, const struct iov_host *h,
		      const struct iov_cfg_lookup *lk, struct iov_dev **out, struct iov_err *err)
{
	const struct iov_cfg_pf *pf = &c->pfs[i];
	struct iov_dev *cand[256], *d;
	char mt[64], buf[512], fix[600];
	size_t n = 0, len;
	int r;

	if ((r = candidates(pf, h, lk, cand, &n, err)) < 0)
		return r;
	match_text(&pf->match, mt, sizeof(mt));
	if (n == 0) {
		list_pfs(h, buf, sizeof(buf));
		snprintf(fix, sizeof(fix), "correct the match (`iovctl list pfs` shows the PFs); %s",
			 buf);
		if (pf->match.kind == IOV_MATCH_DSN) {
			bool any = false, short_cfg = false;

			for (size_t k = 0; k < h->n_devs; k++) {
				any |= h->devs[k]->dsn_known;
				short_cfg |= h->devs[k]->pcie_type != IOV_UNKNOWN &&
					     h->devs[k]->cfg_len < 0x104;
			}
			if (!any && short_cfg)
				snprintf(fix, sizeof(fix), "serial numbers could not be read: config "
					 "space past 256 bytes needs root; run as root, or match by "
					 "\"address\" or \"netdev\"");
			else if (!any)
				snprintf(fix, sizeof(fix), "no device of this host has a serial number "
					 "(DSN capability); match by \"address\" or \"netdev\"");
		}
		return rfail(err, &pf->where, ".match", -ENODEV, fix, "PF \"%s\": %s matches no "
			     "device", pf->name, mt);
	}
	if (pf->match.has_index || n > 1) {
		len = 0;
		for (size_t k = 0; k < n && len + 40 < sizeof(buf); k++) {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%zu = ", k ? ", " : "", k);
			len += describe(cand[k], buf + len, sizeof(buf) - len);
		}
	}
	if (pf->match.has_index) {
		if ((size_t)pf->match.index >= n)
			return rfail(err, &pf->where, ".match.index", -ENODEV, "give an index below "
				     "the number of matching devices, or match by \"address\"",
				     "PF \"%s\": index %d, but %s matches %zu device%s (%s)", pf->name,
				     pf->match.index, mt, n, n == 1 ? "" : "s", buf);
		d = cand[pf->match.index];
	} else if (n > 1) {
		snprintf(fix, sizeof(fix), "say which: add \"index\": N to the match (%s), or "
			 "match by \"address\"", buf);
		return rfail(err, &pf->where, ".match", -EEXIST, fix, "PF \"%s\": %s matches %zu "
			     "devices", pf->name, mt, n);
	} else {
		d = cand[0];
	}
	if (d->role != IOV_ROLE_PF || !d->sriov) {
		char what[128] = "";

		bool by_addr = pf->match.kind == IOV_MATCH_ADDRESS;

		describe(d, buf, sizeof(buf));
		if (!by_addr)
			snprintf(what, sizeof(what), "%s matches ", mt);
		if (d->role == IOV_ROLE_VF)
			return rfail(err, &pf->where, ".match", -EINVAL, "match the PF the VF belongs "
				     "to (`iovctl show` names it)", "PF \"%s\": %s%s%s a VF of %s, "
				     "not a PF", pf->name, what, buf, by_addr ? " is" : ",",
				     d->pf ? d->pf->name : "?");
		return rfail(err, &pf->where, ".match", -EINVAL, "match an SR-IOV capable device "
			     "(`iovctl list pfs` shows them)", "PF \"%s\": %s%s%s no SR-IOV "
			     "capability (no sriov_totalvfs)", pf->name, what, buf,
			     by_addr ? " has" : ", which has");
	}
	*out = d;
	return 0;
}

/* Does VF index idx fit the PF's sriov_totalvfs? */
static int check_total(const struct iov_cfg_pf *pf, const struct iov_dev *d,
		       const struct iov_cfg_where *w, const char *sub, unsigned idx,
		       struct iov_err *err)
{
	int total = d->sriov->total_vfs;
	char fix[160];

	if (total == IOV_UNKNOWN || idx < (unsigned)total)
		return 0;
	snprintf(fix, sizeof(fix), "keep VF indexes below %d on this PF", total);
	return rfail(err, w, sub, -ERANGE, fix, "VF %u, but %s (PF \"%s\") supports %d VFs "
		     "(sriov_totalvfs)", idx, d->name, pf->name, total);
}

/* A NIC device as (PF device, VF index), or (device, -1). */
struct nic_id {
	const struct iov_dev *dev;
	int vf;
};

static int resolve_nic(const struct iov_config *c, const struct iov_cfg_resolved *res,
		       const struct iov_host *h, const struct iov_cfg_guest *g, size_t k,
		       struct nic_id *id, struct iov_err *err)
{
	const char *spec = g->nics[k].device;
	char pfname[64], msg[512], sub[48];
	struct iov_dev *d;
	unsigned vf;
	int pf;

	snprintf(sub, sizeof(sub), ".nics[%zu].device", k);
	if (strchr(spec, '/') && iov_parse_vf_spec(spec, pfname, sizeof(pfname), &vf, NULL, 0) == 0 &&
	    (pf = iov_config_find_pf(c, pfname)) >= 0) {
		id->dev = res->pf_dev[pf];
		id->vf = (int)vf;
		return check_total(&c->pfs[pf], res->pf_dev[pf], &g->where, sub, vf, err);
	}
	if (iov_host_resolve(h, spec, &d, msg, sizeof(msg)) < 0)
		return rfail(err, &g->where, sub, -ENODEV, "name a device of this host: PF/vfN "
			     "with PF a name from \"pfs\", or an address or netdev `iovctl list` "
			     "shows", "guest \"%s\": %s", g->name, msg);
	if (d->role == IOV_ROLE_VF && d->pf && d->vf_index != IOV_UNKNOWN) {
		id->dev = d->pf;
		id->vf = d->vf_index;
	} else {
		id->dev = d;
		id->vf = -1;
	}
	return 0;
}

/* never_move: a device that stays with the host. A VF of a config PF listed there may not
 * be set to vfio-pci, and no NIC may take it. */
static int check_never_move(const struct iov_config *c, const struct iov_cfg_resolved *res,
			    const struct iov_host *h, const struct nic_id *nics, size_t n_nics,
			    const struct iov_cfg_guest **nic_guest, const size_t *nic_idx,
			    struct iov_err *err)
{
	for (size_t i = 0; i < c->policy.n_never_move; i++) {
		struct iov_dev *d = NULL;
		struct nic_id id;

		if (iov_host_resolve(h, c->policy.never_move[i], &d, NULL, 0) < 0)
			continue;	/* not on this host now: nothing to protect */
		id.dev = d->role == IOV_ROLE_VF && d->pf ? d->pf : d;
		id.vf = d->role == IOV_ROLE_VF && d->pf ? d->vf_index : -1;
		for (size_t k = 0; k < n_nics; k++) {
			char sub[48];

			if (nics[k].dev != id.dev || nics[k].vf != id.vf)
				continue;
			snprintf(sub, sizeof(sub), ".nics[%zu].device", nic_idx[k]);
			return rfail(err, &nic_guest[k]->where, sub, -EPERM, "give the guest another "
				     "device, or take it out of policy.never_move",
				     "%s%s%s is kept on the host by policy.never_move (\"%s\")",
				     nic_guest[k]->nics[nic_idx[k]].device,
				     strcmp(nic_guest[k]->nics[nic_idx[k]].device, d->name) ? " = " : "",
				     strcmp(nic_guest[k]->nics[nic_idx[k]].device, d->name) ? d->name : "",
				     c->policy.never_move[i]);
		}
		for (size_t p = 0; p < c->n_pfs && id.vf >= 0; p++) {
			struct iov_vfconf props;
			enum iov_cfg_driver drv;

			if (res->pf_dev[p] != id.dev ||
			    iov_config_vf(c, p, (unsigned)id.vf, &props, &drv) < 0 ||
			    drv != IOV_CFG_DRV_VFIO)
				continue;
			return rfail(err, &c->pfs[p].where, "", -EPERM, "set \"driver\": \"host\" for "
				     "that VF, or take it out of policy.never_move", "%s/vf%d (%s) would "
				     "go to vfio-pci, but policy.never_move keeps it on the host",
				     c->pfs[p].name, id.vf, d->name);
		}
	}
	return 0;
}

static int check_nics(const struct iov_config *c, const struct iov_cfg_resolved *res,
		      const struct iov_host *h, struct iov_err *err)
{
	size_t total = 0, n = 0;
	struct nic_id *ids;
	const struct iov_cfg_guest **gs;
	size_t *idx;
	int r = 0;

	for (size_t i = 0; i < c->n_guests; i++)
		total += c->guests[i].n_nics;
	ids = calloc(total + 1, sizeof(*ids));
	gs = calloc(total + 1, sizeof(*gs));
	idx = calloc(total + 1, sizeof(*idx));
	if (!ids || !gs || !idx) {
		r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < c->n_guests && !r; i++) {
		const struct iov_cfg_guest *g = &c->guests[i];

		for (size_t k = 0; k < g->n_nics && !r; k++) {
			if (!g->nics[k].device)
				continue;
			if ((r = resolve_nic(c, res, h, g, k, &ids[n], err)) < 0)
				break;
			/* The same device under two spellings, or a pooled VF by address */
			for (size_t j = 0; j < n && !r; j++)
				if (ids[j].dev == ids[n].dev && ids[j].vf == ids[n].vf) {
					char sub[48];

					snprintf(sub, sizeof(sub), ".nics[%zu].device", k);
					r = rfail(err, &g->where, sub, -EEXIST, "give each device to one "
						  "NIC of one guest", "\"%s\" is the same device as \"%s\" "
						  "(guest \"%s\")", g->nics[k].device,
						  gs[j]->nics[idx[j]].device, gs[j]->name);
				}
			for (size_t p = 0; p < c->n_pools && !r && ids[n].vf >= 0; p++)
				for (size_t m = 0; m < c->pools[p].n_members && !r; m++) {
					const struct iov_cfg_pool_member *pm = &c->pools[p].members[m];
					char sub[48];

					if (res->pf_dev[pm->pf] != ids[n].dev || (unsigned)ids[n].vf < pm->first ||
					    (unsigned)ids[n].vf > pm->last)
						continue;
					snprintf(sub, sizeof(sub), ".nics[%zu].device", k);
					r = rfail(err, &g->where, sub, -EEXIST, "draw it from the pool, or "
						  "take it out of the pool", "\"%s\" is %s/vf%d, which is in "
						  "pool \"%s\"", g->nics[k].device, c->pfs[pm->pf].name,
						  ids[n].vf, c->pools[p].name);
				}
			gs[n] = g;
			idx[n] = k;
			n++;
		}
	}
	if (!r)
		r = check_never_move(c, res, h, ids, n, gs, idx, err);
out:
	free(ids);
	free(gs);
	free(idx);
	return r;
}

int iov_config_resolve_with(const struct iov_config *c, const struct iov_host *h,
			    const struct iov_cfg_lookup *lk, struct iov_cfg_resolved **out,
			    struct iov_err *err)
{
	struct iov_cfg_resolved *res = calloc(1, sizeof(*res));
	int r = 0;

	if (!res || !(res->pf_dev = calloc(c->n_pfs + 1, sizeof(*res->pf_dev)))) {
		free(res);
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	}
	res->cfg = c;
	for (size_t i = 0; i < c->n_pfs && !r; i++) {
		const struct iov_cfg_pf *pf = &c->pfs[i];
		struct iov_dev *d = NULL;

		if ((r = resolve_pf(c, i, h, lk, &d, err)) < 0)
			break;
		for (size_t k = 0; k < i; k++)
			if (res->pf_dev[k] == d) {
				char fix[256];

				snprintf(fix, sizeof(fix), "describe each device once: remove one of "
					 "the two, or correct its match");
				r = rfail(err, &pf->where, ".match", -EEXIST, fix, "PF \"%s\" is %s, the "
					  "same device as PF \"%s\" (%s: %s)", pf->name, d->name,
					  c->pfs[k].name, c->pfs[k].where.file, c->pfs[k].where.path);
			}
		if (r)
			break;
		res->pf_dev[i] = d;
		if (pf->num_vfs >= 0 && d->sriov->total_vfs != IOV_UNKNOWN &&
		    pf->num_vfs > d->sriov->total_vfs) {
			char fix[160];

			snprintf(fix, sizeof(fix), "give num_vfs at most %d for this device",
				 d->sriov->total_vfs);
			r = rfail(err, &pf->where, ".num_vfs", -ERANGE, fix, "PF \"%s\": %d VFs, but "
				  "%s supports %d (sriov_totalvfs)", pf->name, pf->num_vfs, d->name,
				  d->sriov->total_vfs);
			break;
		}
		for (size_t k = 0; k < pf->n_vfs && !r; k++)
			r = check_total(pf, d, &pf->vfs[k].where, "", pf->vfs[k].last, err);
	}
	for (size_t i = 0; i < c->n_pools && !r; i++)
		for (size_t k = 0; k < c->pools[i].n_members && !r; k++) {
			const struct iov_cfg_pool_member *m = &c->pools[i].members[k];
			char sub[32];

			snprintf(sub, sizeof(sub), ".vfs[%zu]", k);
			r = check_total(&c->pfs[m->pf], res->pf_dev[m->pf], &c->pools[i].where, sub,
					m->last, err);
		}
	if (!r)
		r = check_nics(c, res, h, err);
	if (r < 0) {
		iov_cfg_resolved_free(res);
		return r;
	}
	*out = res;
	return 0;
}

int iov_config_resolve(const struct iov_config *c, const struct iov_host *h,
		       struct iov_cfg_resolved **out, struct iov_err *err)
{
	static const struct iov_cfg_lookup live = { .perm_mac = live_perm_mac };

	return iov_config_resolve_with(c, h, &live, out, err);
}

void iov_cfg_resolved_free(struct iov_cfg_resolved *r)
{
	if (!r)
		return;
	free(r->pf_dev);
	free(r);
}
