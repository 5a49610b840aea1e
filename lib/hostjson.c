#include "lib/hostjson.h"
#include "lib/host.h"

#include <stdio.h>
#include <string.h>

static json_t *jint(int v) { return v == IOV_UNKNOWN ? json_null() : json_integer(v); }
static json_t *jbool(int v) { return v == IOV_UNKNOWN ? json_null() : json_boolean(v); }
static json_t *jstr(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *jhex(long v, int digits)
{
	char buf[16];

	if (v == IOV_UNKNOWN || v < 0)
		return json_null();
	snprintf(buf, sizeof(buf), "%0*lx", digits, v);
	return json_string(buf);
}

static json_t *jstrv(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *iov_json_dev(const struct iov_dev *d)
{
	json_t *o = json_object();

	json_object_set_new(o, "address", json_string(d->name));
	json_object_set_new(o, "vendor", jhex(d->vendor, 4));
	json_object_set_new(o, "device", jhex(d->device, 4));
	json_object_set_new(o, "subsystem_vendor", jhex(d->subsys_vendor, 4));
	json_object_set_new(o, "subsystem_device", jhex(d->subsys_device, 4));
	json_object_set_new(o, "revision", jhex(d->revision, 2));
	json_object_set_new(o, "class", jhex(d->class_code, 6));
	json_object_set_new(o, "vendor_name", jstr(d->vendor_name));
	json_object_set_new(o, "device_name", jstr(d->device_name));
	json_object_set_new(o, "role", json_string(iov_role_name(d->role)));
	json_object_set_new(o, "driver", jstr(d->driver));
	json_object_set_new(o, "driver_override", jstr(d->driver_override));
	json_object_set_new(o, "iommu_group", d->group ? json_integer(d->group->id) : json_null());
	json_object_set_new(o, "numa_node", jint(d->numa_node));
	json_object_set_new(o, "netdevs", jstrv(d->netdevs, d->n_netdevs));
	json_object_set_new(o, "parent", d->parent ? json_string(d->parent->name) : json_null());
	json_object_set_new(o, "bridge", json_boolean(iov_dev_is_bridge(d)));
	json_object_set_new(o, "pcie_type", jstr(d->pcie_type == IOV_UNKNOWN ? NULL : iov_pcie_type_name(d->pcie_type)));
	json_object_set_new(o, "reset_methods", d->reset_methods_known ?
			    jstrv(d->reset_methods, d->n_reset_methods) : json_null());
	json_object_set_new(o, "flr", jbool(d->flr));
	json_object_set_new(o, "msi", json_pack("{s:o,s:o,s:o,s:o}",
		"msi_vectors", jint(d->msi_max), "msix_vectors", jint(d->msix_table_size),
		"msi_allocated", jint(d->msi_irqs), "msix_allocated", jint(d->msix_irqs)));
	/* acs, always an object: capability null when config space was not readable, false
	 * when the device has none; cap/ctrl the registers (hex) when it has one. iovctl adds
	 * the verdict of verify's acs check. */
	if (d->cfg_len < 256 || d->pcie_type == IOV_UNKNOWN) {
		json_object_set_new(o, "acs", json_pack("{s:n,s:n,s:n}", "capability", "cap", "ctrl"));
	} else if (!d->acs_present) {
		json_object_set_new(o, "acs", json_pack("{s:b,s:n,s:n}", "capability", 0, "cap",
							"ctrl"));
	} else {
		char c[8], t[8];
		snprintf(c, sizeof(c), "%04x", d->acs_cap);
		snprintf(t, sizeof(t), "%04x", d->acs_ctrl);
		json_object_set_new(o, "acs", json_pack("{s:b,s:s,s:s}", "capability", 1, "cap", c,
							"ctrl", t));
	}
	json_object_set_new(o, "config_bytes", json_integer(d->cfg_len));
	/* Only for a device with a Device Serial Number capability that could be read (root on
	 * the live host): the key is absent otherwise, as most devices have none. */
	if (d->dsn_known) {
		char s[24];

		snprintf(s, sizeof(s), "%02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x",
			 (unsigned)(d->dsn >> 56) & 0xff, (unsigned)(d->dsn >> 48) & 0xff,
			 (unsigned)(d->dsn >> 40) & 0xff, (unsigned)(d->dsn >> 32) & 0xff,
			 (unsigned)(d->dsn >> 24) & 0xff, (unsigned)(d->dsn >> 16) & 0xff,
			 (unsigned)(d->dsn >> 8) & 0xff, (unsigned)d->dsn & 0xff);
		json_object_set_new(o, "dsn", json_string(s));
	}

	if (d->role == IOV_ROLE_PF) {
		const struct iov_sriov *s = d->sriov;
		json_t *vfs = json_array();

		json_object_set_new(o, "sriov", json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
			"total_vfs", jint(s->total_vfs), "num_vfs", jint(s->num_vfs),
			"offset", jint(s->offset), "stride", jint(s->stride),
			"vf_device", jhex(s->vf_device, 4), "drivers_autoprobe", jbool(s->drivers_autoprobe),
			"ari", d->ari));
		for (size_t i = 0; i < s->n_vfs; i++)
			json_array_append_new(vfs, s->vfs[i] ? json_string(s->vfs[i]->name) : json_null());
		json_object_set_new(o, "vfs", vfs);
	} else if (d->role == IOV_ROLE_VF) {
		json_object_set_new(o, "pf", d->pf ? json_string(d->pf->name) : json_null());
		json_object_set_new(o, "vf_index", jint(d->vf_index));
	}
	return o;
}

json_t *iov_json_group(const struct iov_group *g)
{
	json_t *devs = json_array();

	for (size_t i = 0; i < g->n_members; i++)
		json_array_append_new(devs, json_string(g->members[i]));
	/* A device whose iommu_group link names a group missing from iommu_groups/. */
	for (size_t i = 0; i < g->n_devs; i++) {
		bool listed = false;
		for (size_t j = 0; j < g->n_members && !listed; j++)
			listed = strcmp(g->members[j], g->devs[i]->name) == 0;
		if (!listed)
			json_array_append_new(devs, json_string(g->devs[i]->name));
	}
	return json_pack("{s:i,s:o,s:o}", "id", g->id, "type", jstr(g->type), "devices", devs);
}

json_t *iov_json_iommu(const struct iov_host *h)
{
	const struct iov_iommu *io = &h->iommu;
	json_t *units = json_array();

	for (size_t i = 0; i < io->n_units; i++) {
		const struct iov_iommu_unit *u = &io->units[i];
		json_t *o = json_pack("{s:s,s:o}", "name", u->name,
				      "vendor", jstr(iov_iommu_vendor_name(u->vendor)));
		if (u->regs_known) {
			char c[24], e[24];
			snprintf(c, sizeof(c), "%llx", (unsigned long long)u->cap);
			snprintf(e, sizeof(e), "%llx", (unsigned long long)u->ecap);
			json_object_set_new(o, "cap", json_string(c));
			json_object_set_new(o, u->vendor == IOV_IOMMU_AMD ? "features" : "ecap", json_string(e));
		}
		json_array_append_new(units, o);
	}
	return json_pack("{s:b,s:o,s:o,s:o,s:s,s:o}", "enabled", io->enabled,
			 "vendor", jstr(iov_iommu_vendor_name(io->vendor)), "units", units,
			 "interrupt_remapping", jbool(io->intremap),
			 "interrupt_remapping_evidence", io->intremap_why,
			 "unsafe_interrupts_allowed", jbool(io->unsafe_interrupts));
}

json_t *iov_json_host(const struct iov_host *h, enum iov_json_sel sel)
{
	json_t *o = json_object(), *devs = json_array(), *groups = json_array();

	json_object_set_new(o, "iommu", iov_json_iommu(h));
	for (size_t i = 0; i < h->n_devs && sel != IOV_SEL_GROUPS; i++) {
		const struct iov_dev *d = h->devs[i];
		if ((sel == IOV_SEL_PFS && d->role != IOV_ROLE_PF) || (sel == IOV_SEL_VFS && d->role != IOV_ROLE_VF))
			continue;
		json_array_append_new(devs, iov_json_dev(d));
	}
	for (size_t i = 0; i < h->n_groups; i++)
		json_array_append_new(groups, iov_json_group(h->groups[i]));
	json_object_set_new(o, "devices", devs);
	json_object_set_new(o, "groups", groups);
	return o;
}
