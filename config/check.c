#include "config/check.h"
#include "config/config.h"
#include "lib/err.h"
#include "lib/group.h"
#include "lib/host.h"
#include "lib/sysfs.h"

#include <errno.h>
#include <string.h>

static json_t *error_json(const struct iov_err *e)
{
	return json_pack("{s:b,s:{s:s,s:o,s:i}}", "ok", 0, "error", "message", e->msg,
			 "fix", e->fix[0] ? json_string(e->fix) : json_null(), "errno", -e->code);
}

static json_t *match_json(const struct iov_cfg_match *m)
{
	char t[24];

	switch (m->kind) {
	case IOV_MATCH_ADDRESS:
		iov_pci_addr_fmt(&m->addr, t);
		return json_pack("{s:s}", "address", t);
	case IOV_MATCH_NETDEV:
		return json_pack("{s:s}", "netdev", m->netdev);
	case IOV_MATCH_PERM_MAC:
		iov_fmt_mac(m->mac, t);
		return json_pack("{s:s}", "perm_mac", t);
	case IOV_MATCH_DSN:
		iov_cfg_fmt_dsn(m->dsn, t);
		return m->has_index ? json_pack("{s:s,s:i}", "dsn", t, "index", m->index) :
				      json_pack("{s:s}", "dsn", t);
	case IOV_MATCH_VENDOR_DEVICE:
		snprintf(t, sizeof(t), "%04x:%04x", m->vendor, m->device);
		return m->has_index ? json_pack("{s:s,s:i}", "vendor_device", t, "index", m->index) :
				      json_pack("{s:s}", "vendor_device", t);
	}
	return json_null();
}

static json_t *strv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *pf_json(const struct iov_config *c, size_t i, const struct iov_dev *d)
{
	const struct iov_cfg_pf *pf = &c->pfs[i];
	json_t *o, *vfs = json_array();
	unsigned n = 0;

	/* Every VF the config speaks of: 0..num_vfs-1, or up to the last entry when the
	 * count is left alone. */
	if (pf->num_vfs >= 0)
		n = (unsigned)pf->num_vfs;
	else
		for (size_t k = 0; k < pf->n_vfs; k++)
			if (pf->vfs[k].last + 1 > n)
				n = pf->vfs[k].last + 1;
	for (unsigned vf = 0; vf < n; vf++) {
		struct iov_vfconf props;
		enum iov_cfg_driver drv;
		json_t *e;

		if (iov_config_vf(c, i, vf, &props, &drv) < 0)
			continue;
		e = json_pack("{s:i,s:s}", "vf", (int)vf, "driver", iov_cfg_driver_name(drv));
		json_object_update_new(e, iov_vfconf_to_json(&props));
		if (pf->nvme) {
			struct iov_cfg_nvmevf nv;

			if (iov_config_vf_nvme(c, i, vf, &nv) == 0) {
				if (nv.queues >= 0)
					json_object_set_new(e, "queues", json_integer(nv.queues));
				if (nv.interrupts >= 0)
					json_object_set_new(e, "interrupts", json_integer(nv.interrupts));
				if (nv.ns >= 0)
					json_object_set_new(e, "namespace", json_integer(nv.ns));
			}
		}
		json_array_append_new(vfs, e);
	}
	o = json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "name", pf->name,
		      "file", pf->where.file, "path", pf->where.path, "match", match_json(&pf->match),
		      "device", d ? json_string(d->name) : json_null(),
		      "netdev", d && d->n_netdevs ? json_string(d->netdevs[0]) : json_null(),
		      "num_vfs", pf->num_vfs >= 0 ? json_integer(pf->num_vfs) : json_null(),
		      "total_vfs", d && d->sriov && d->sriov->total_vfs != IOV_UNKNOWN ?
				   json_integer(d->sriov->total_vfs) : json_null());
	json_object_set_new(o, "vfs", vfs);
	return o;
}

static json_t *report_json(const struct iov_config *c, const struct iov_cfg_resolved *res)
{
	const struct iov_cfg_policy *p = &c->policy;
	json_t *o = json_object(), *pfs = json_array(), *pools = json_array(), *guests = json_array();
	char pfx[12];

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "files", strv(c->files, c->n_files));
	if (p->has_mac_prefix)
		snprintf(pfx, sizeof(pfx), "%02x:%02x:%02x", p->mac_prefix[0], p->mac_prefix[1],
			 p->mac_prefix[2]);
	json_object_set_new(o, "policy", json_pack("{s:o,s:o,s:o,s:s,s:o}",
		"allow_unsafe_interrupts", p->allow_unsafe_interrupts < 0 ? json_null() :
					   json_boolean(p->allow_unsafe_interrupts),
		"admin_group", p->admin_group ? json_string(p->admin_group) : json_null(),
		"never_move", strv(p->never_move, p->n_never_move),
		"on_drift", p->on_drift == IOV_DRIFT_REAPPLY ? "reapply" : "report",
		"mac_prefix", p->has_mac_prefix ? json_string(pfx) : json_null()));
	json_object_set_new(json_object_get(o, "policy"), "stop_timeout", p->stop_timeout < 0 ?
			    json_null() : json_integer(p->stop_timeout));
	for (size_t i = 0; i < c->n_pfs; i++)
		json_array_append_new(pfs, pf_json(c, i, res ? res->pf_dev[i] : NULL));
	for (size_t i = 0; i < c->n_pools; i++) {
		json_t *vfs = json_array();

		for (size_t k = 0; k < c->pools[i].n_members; k++) {
			const struct iov_cfg_pool_member *m = &c->pools[i].members[k];
			char t[64];

			for (unsigned vf = m->first; vf <= m->last; vf++) {
				snprintf(t, sizeof(t), "%s/vf%u", c->pfs[m->pf].name, vf);
				json_array_append_new(vfs, json_string(t));
			}
		}
		json_array_append_new(pools, json_pack("{s:s,s:s,s:s,s:o,s:s,s:o}", "name",
						       c->pools[i].name, "file", c->pools[i].where.file,
						       "path", c->pools[i].where.path, "vfs", vfs, "kind",
						       c->pools[i].storage ? "nvme" : "network",
						       "on_release", c->pools[i].storage ? json_string(
						       iov_cfg_release_name(c->pools[i].on_release)) :
						       json_null()));
	}
	for (size_t i = 0; i < c->n_guests; i++) {
		const struct iov_cfg_guest *g = &c->guests[i];
		static const char *const restart[] = { "no", "on-failure", "always" };
		json_t *nics = json_array();

		for (size_t k = 0; k < g->n_nics; k++) {
			const struct iov_cfg_nic *n = &g->nics[k];
			json_t *e = n->pool ? json_pack("{s:s}", "pool", n->pool) :
					      json_pack("{s:s}", "device", n->device);
			char m[18];

			if (n->has_mac) {
				iov_fmt_mac(n->mac, m);
				json_object_set_new(e, "mac", json_string(m));
			}
			if (n->vlan >= 0)
				json_object_set_new(e, "vlan", json_integer(n->vlan));
			json_array_append_new(nics, e);
		}
		json_t *disks = json_array();

		for (size_t k = 0; k < g->n_disks; k++)
			json_array_append_new(disks, g->disks[k].pool ?
					      json_pack("{s:s}", "pool", g->disks[k].pool) :
					      json_pack("{s:s?,s:b}", "path", g->disks[k].path,
							"readonly", g->disks[k].readonly));
		json_array_append_new(guests, json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:i,s:o,s:b,s:s,s:o}",
			"name", g->name, "file", g->where.file, "path", g->where.path, "kernel", g->kernel,
			"initrd", g->initrd ? json_string(g->initrd) : json_null(),
			"cmdline", g->cmdline ? json_string(g->cmdline) : json_null(),
			"mem_mib", (json_int_t)g->mem_mib, "cpus", (int)g->cpus, "nics", nics,
			"autostart", g->autostart, "restart", restart[g->restart], "disks", disks));
	}
	json_object_set_new(o, "pfs", pfs);
	json_object_set_new(o, "pools", pools);
	json_object_set_new(o, "guests", guests);
	return o;
}

int iov_config_admin_gid(const struct iov_config *c, gid_t *gid, bool *unknown,
			 struct iov_err *err)
{
	int r;

	*unknown = false;
	if (!c->policy.admin_group)
		return 0;
	r = iov_group_gid(c->policy.admin_group, gid);
	if (r == -ENODATA) {
		*unknown = true;
		return 0;
	}
	if (r < 0)
		return iov_err_set(err, r, "create the group (groupadd --system NAME; the package's "
				   "sysusers.d creates \"iovd\"), or fix the name",
				   "%s: $.policy.admin_group: %s group '%s' (see %s/etc/group)",
				   c->n_files ? c->files[0] : "config",
				   r == -ENOENT ? "no such" : strerror(-r), c->policy.admin_group,
				   iov_sysroot());
	return 1;
}

int iov_config_check(const char *path, const char *dropin_dir, const struct iov_host *h,
		     const struct iov_cfg_lookup *lk, json_t **report, struct iov_err *err)
{
	struct iov_config *c = NULL;
	struct iov_cfg_resolved *res = NULL;
	struct iov_err e0 = { 0 }, *e = err ? err : &e0;
	gid_t gid;
	bool unknown;
	int r;

	/* What iovd does when it loads a config (src/follow.c), then the match against the
	 * host: whatever passes here, the daemon loads. */
	r = iov_config_load(path, dropin_dir, &c, e);
	if (r == 0)
		r = iov_config_admin_gid(c, &gid, &unknown, e);
	if (r >= 0)
		r = lk ? iov_config_resolve_with(c, h, lk, &res, e) : iov_config_resolve(c, h, &res, e);
	*report = r < 0 ? error_json(e) : report_json(c, res);
	if (r >= 0 && unknown && *report)
		json_object_set_new(json_object_get(*report, "policy"), "admin_group_known",
				    json_false());
	if (r > 0)
		r = 0;
	iov_cfg_resolved_free(res);
	iov_config_free(c);
	return r;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

void iov_config_report_print(FILE *f, const json_t *rep)
{
	const json_t *files = json_object_get(rep, "files"), *v, *e;
	size_t i, k;

	if (!json_is_true(json_object_get(rep, "ok"))) {
		const json_t *er = json_object_get(rep, "error");

		fprintf(f, "%s\n", jstr(er, "message"));
		if (*jstr(er, "fix"))
			fprintf(f, "  fix: %s\n", jstr(er, "fix"));
		return;
	}
	json_array_foreach(files, i, v)
		fprintf(f, "%s%s", i ? ", " : "", json_string_value(v));
	fprintf(f, ": ok\n");
	v = json_object_get(rep, "policy");
	fprintf(f, "policy: on_drift %s", jstr(v, "on_drift"));
	if (json_is_boolean(json_object_get(v, "allow_unsafe_interrupts")))
		fprintf(f, ", allow_unsafe_interrupts %s",
			json_is_true(json_object_get(v, "allow_unsafe_interrupts")) ? "on" : "off");
	if (*jstr(v, "admin_group"))
		fprintf(f, ", admin_group %s%s", jstr(v, "admin_group"),
			json_is_false(json_object_get(v, "admin_group_known")) ?
			" (not checked: the sysroot has no etc/group)" : "");
	if (*jstr(v, "mac_prefix"))
		fprintf(f, ", mac_prefix %s", jstr(v, "mac_prefix"));
	if (json_is_integer(json_object_get(v, "stop_timeout")))
		fprintf(f, ", stop_timeout %llds",
			(long long)json_integer_value(json_object_get(v, "stop_timeout")));
	json_array_foreach(json_object_get(v, "never_move"), k, e)
		fprintf(f, "%s%s", k ? " " : ", never_move ", json_string_value(e));
	fputc('\n', f);
	json_array_foreach(json_object_get(rep, "pfs"), i, v) {
		const json_t *m = json_object_get(v, "match"), *nv = json_object_get(v, "num_vfs");
		const char *mk;
		json_t *mv;
		char mt[80] = "";

		json_object_foreach((json_t *)m, mk, mv) {
			size_t l = strlen(mt);

			if (json_is_string(mv))
				snprintf(mt + l, sizeof(mt) - l, "%s%s %s", l ? " " : "", mk, json_string_value(mv));
			else
				snprintf(mt + l, sizeof(mt) - l, "%s%s %lld", l ? " " : "", mk,
					 (long long)json_integer_value(mv));
		}
		fprintf(f, "pf %s: %s", jstr(v, "name"), jstr(v, "device"));
		if (*jstr(v, "netdev"))
			fprintf(f, " (%s)", jstr(v, "netdev"));
		fprintf(f, " by %s: ", mt);
		if (json_is_integer(nv))
			fprintf(f, "%lld VFs", (long long)json_integer_value(nv));
		else
			fprintf(f, "VF count not managed");
		if (json_is_integer(json_object_get(v, "total_vfs")))
			fprintf(f, " (at most %lld)", (long long)json_integer_value(json_object_get(v, "total_vfs")));
		fputc('\n', f);
		json_array_foreach(json_object_get(v, "vfs"), k, e) {
			const char *key;
			json_t *x;

			fprintf(f, "  vf%lld %s", (long long)json_integer_value(json_object_get(e, "vf")),
				jstr(e, "driver"));
			json_object_foreach((json_t *)e, key, x) {
				if (strcmp(key, "vf") == 0 || strcmp(key, "driver") == 0)
					continue;
				if (json_is_string(x))
					fprintf(f, " %s %s", key, json_string_value(x));
				else if (json_is_boolean(x))
					fprintf(f, " %s %s", key, json_is_true(x) ? "on" : "off");
				else
					fprintf(f, " %s %lld", key, (long long)json_integer_value(x));
			}
			fputc('\n', f);
		}
	}
	json_array_foreach(json_object_get(rep, "pools"), i, v) {
		fprintf(f, "pool %s:", jstr(v, "name"));
		json_array_foreach(json_object_get(v, "vfs"), k, e)
			fprintf(f, " %s", json_string_value(e));
		if (json_is_string(json_object_get(v, "on_release")))
			fprintf(f, " (NVMe VFs, on release %s)", jstr(v, "on_release"));
		fputc('\n', f);
	}
	json_array_foreach(json_object_get(rep, "guests"), i, v) {
		fprintf(f, "guest %s: %lld vCPU, %lld MiB, restart %s%s, kernel %s", jstr(v, "name"),
			(long long)json_integer_value(json_object_get(v, "cpus")),
			(long long)json_integer_value(json_object_get(v, "mem_mib")), jstr(v, "restart"),
			json_is_true(json_object_get(v, "autostart")) ? ", autostart" : "",
			jstr(v, "kernel"));
		json_array_foreach(json_object_get(v, "nics"), k, e) {
			fprintf(f, "%s %s %s", k ? "," : "; nics:", *jstr(e, "pool") ? "pool" : "device",
				*jstr(e, "pool") ? jstr(e, "pool") : jstr(e, "device"));
			if (*jstr(e, "mac"))
				fprintf(f, " mac %s", jstr(e, "mac"));
			if (json_is_integer(json_object_get(e, "vlan")))
				fprintf(f, " vlan %lld", (long long)json_integer_value(json_object_get(e, "vlan")));
		}
		json_array_foreach(json_object_get(v, "disks"), k, e) {
			if (*jstr(e, "pool"))
				fprintf(f, "%s nvme:%s", k ? "," : "; disks:", jstr(e, "pool"));
			else
				fprintf(f, "%s %s%s", k ? "," : "; disks:", jstr(e, "path"),
					json_is_true(json_object_get(e, "readonly")) ? ",ro" : "");
		}
		fputc('\n', f);
	}
}
