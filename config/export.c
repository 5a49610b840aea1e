/* CDI specs and the sriov-network-device-plugin config from the config's pools: see
 * config/export.h. */
#include "config/export.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"

/* CDI's class rule (pkg/cdi/qualified-device.go): [A-Za-z][A-Za-z0-9_-]*[A-Za-z0-9], and at
 * least two characters: Debian's library (0.5.2) panics on a one-letter class, taking down
 * whatever runtime loads the spec directory. */
static bool cdi_class_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 2 || !isalpha((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* Device names "<pf>-vfN" end with a digit; the PF name must start with a letter or digit. */
static bool cdi_devname_ok(const char *pf)
{
	return isalnum((unsigned char)pf[0]);
}

/* The VFs of pool member m that exist now, in index order: calls fn for each, and adds a
 * "why not" line to skipped for each that does not. */
struct vf_ref {
	const char *pf_name;
	unsigned idx;
	const struct iov_dev *vf;
};

static int for_each_vf(const struct iov_cfg_resolved *r, const struct iov_cfg_pool *p,
		       json_t *skipped, int (*fn)(const struct vf_ref *, void *), void *ud)
{
	for (size_t m = 0; m < p->n_members; m++) {
		const struct iov_cfg_pool_member *mem = &p->members[m];
		const struct iov_cfg_pf *cpf = &r->cfg->pfs[mem->pf];
		const struct iov_dev *pf = r->pf_dev[mem->pf];

		for (unsigned i = mem->first; i <= mem->last; i++) {
			char why[192];
			struct vf_ref ref = { cpf->name, i, NULL };
			int ret;

			why[0] = 0;
			if (!pf || !pf->sriov)
				snprintf(why, sizeof(why), "%s/vf%u: %s is not an SR-IOV PF", cpf->name,
					 i, pf ? pf->name : "the PF");
			else if (i >= pf->sriov->n_vfs || !pf->sriov->vfs[i])
				snprintf(why, sizeof(why), "%s/vf%u: %s (%s) has %zu VFs now", cpf->name,
					 i, cpf->name, pf->name, pf->sriov->n_vfs);
			else if (!pf->sriov->vfs[i]->group)
				snprintf(why, sizeof(why), "%s/vf%u: %s has no IOMMU group", cpf->name,
					 i, pf->sriov->vfs[i]->name);
			if (why[0]) {
				if (skipped)
					json_array_append_new(skipped, json_string(why));
				continue;
			}
			ref.vf = pf->sriov->vfs[i];
			if ((ret = fn(&ref, ud)) < 0)
				return ret;
		}
	}
	return 0;
}

/* "IOVD_PCI_ADDRESS_UPLINK_VF0=0000:09:10.0" */
static json_t *env_var(const char *prefix, const char *dev, const char *value)
{
	char buf[160];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s_", prefix);

	for (const char *s = dev; *s && n + 1 < sizeof(buf); s++)
		buf[n++] = *s == '-' ? '_' : (char)toupper((unsigned char)*s);
	buf[n] = 0;
	snprintf(buf + n, sizeof(buf) - n, "=%s", value);
	return json_string(buf);
}

static int cdi_device(const struct vf_ref *v, void *ud)
{
	json_t *devices = ud, *dev;
	char name[64], node[32], group[16];

	snprintf(name, sizeof(name), "%s-vf%u", v->pf_name, v->idx);
	snprintf(group, sizeof(group), "%d", v->vf->group->id);
	snprintf(node, sizeof(node), "/dev/vfio/%d", v->vf->group->id);
	dev = json_pack("{s:s, s:{s:[{s:s}], s:[o, o]}}", "name", name, "containerEdits",
			"deviceNodes", "path", node, "env",
			env_var("IOVD_PCI_ADDRESS", name, v->vf->name),
			env_var("IOVD_IOMMU_GROUP", name, group));
	if (!dev || json_array_append_new(devices, dev) < 0)
		return -ENOMEM;
	return 0;
}

int iov_export_cdi(const struct iov_cfg_resolved *r, size_t pool, json_t **out,
		   json_t **skipped, struct iov_err *err)
{
	const struct iov_cfg_pool *p = &r->cfg->pools[pool];
	json_t *spec, *devices, *sk = skipped ? json_array() : NULL;
	char kind[96];
	int ret;

	if (!cdi_class_ok(p->name)) {
		json_decref(sk);
		return iov_err_set(err, -EINVAL, "rename the pool (two characters or more, a letter "
				   "first, a letter or digit last)",
				   "%s: %s: pool name '%s' is not a valid CDI device class",
				   p->where.file, p->where.path, p->name);
	}
	for (size_t m = 0; m < p->n_members; m++) {
		const struct iov_cfg_pf *cpf = &r->cfg->pfs[p->members[m].pf];

		if (!cdi_devname_ok(cpf->name)) {
			json_decref(sk);
			return iov_err_set(err, -EINVAL, "rename the PF (a letter or digit first)",
					   "%s: %s: PF name '%s' cannot start a CDI device name",
					   cpf->where.file, cpf->where.path, cpf->name);
		}
	}
	snprintf(kind, sizeof(kind), "%s/%s", IOV_CDI_VENDOR, p->name);
	devices = json_array();
	spec = json_pack("{s:s, s:s, s:o, s:{s:[{s:s}]}}", "cdiVersion", IOV_CDI_VERSION,
			 "kind", kind, "devices", devices, "containerEdits", "deviceNodes",
			 "path", "/dev/vfio/vfio");
	if (!spec) {
		json_decref(sk);
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	}
	ret = for_each_vf(r, p, sk, cdi_device, devices);
	if (ret < 0) {
		json_decref(spec);
		json_decref(sk);
		return iov_err_set(err, ret, NULL, "out of memory");
	}
	*out = spec;
	if (skipped)
		*skipped = sk;
	return (int)json_array_size(devices);
}

const char *iov_export_cdi_filename(const char *pool, char *buf, size_t len)
{
	snprintf(buf, len, "%s-%s.json", IOV_CDI_VENDOR, pool);
	return buf;
}

static int dp_addr(const struct vf_ref *v, void *ud)
{
	return json_array_append_new(ud, json_string(v->vf->name)) < 0 ? -ENOMEM : 0;
}

/* The plugin's resource name rule (utils.ValidResourceName): [a-zA-Z0-9_]+. */
static void dp_name(const char *pool, char *buf, size_t len)
{
	size_t n = 0;

	for (; *pool && n + 1 < len; pool++)
		buf[n++] = *pool == '-' ? '_' : *pool;
	buf[n] = 0;
}

int iov_export_sriovdp(const struct iov_cfg_resolved *r, json_t **out, json_t **skipped,
		       struct iov_err *err)
{
	const struct iov_config *c = r->cfg;
	json_t *list = json_array(), *sk = skipped ? json_array() : NULL, *doc;
	int ret = 0;

	for (size_t i = 0; i < c->n_pools && ret == 0; i++) {
		char name[64], other[64];
		json_t *addrs = json_array(), *e;

		dp_name(c->pools[i].name, name, sizeof(name));
		for (size_t k = 0; k < i; k++) {
			dp_name(c->pools[k].name, other, sizeof(other));
			if (strcmp(name, other) == 0) {
				json_decref(addrs);
				ret = iov_err_set(err, -EINVAL, "rename one of the pools",
						  "%s: %s: pools '%s' and '%s' (%s) give the same device "
						  "plugin resource name '%s'", c->pools[i].where.file,
						  c->pools[i].where.path, c->pools[i].name,
						  c->pools[k].name, c->pools[k].where.path, name);
				goto out;
			}
		}
		ret = for_each_vf(r, &c->pools[i], sk, dp_addr, addrs);
		e = json_pack("{s:s, s:s, s:s, s:{s:[s], s:o}}", "resourceName", name,
			      "resourcePrefix", IOV_CDI_VENDOR, "deviceType", "netDevice",
			      "selectors", "drivers", "vfio-pci", "pciAddresses", addrs);
		if (ret < 0 || !e || json_array_append_new(list, e) < 0) {
			ret = iov_err_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
	}
	doc = json_pack("{s:o}", "resourceList", list);
	list = NULL;
	if (!doc) {
		ret = iov_err_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	*out = doc;
	if (skipped) {
		*skipped = sk;
		sk = NULL;
	}
out:
	json_decref(list);
	json_decref(sk);
	return ret;
}
