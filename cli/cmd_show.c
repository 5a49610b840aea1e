/* iovctl show DEVICE: everything the model knows about one device. */
#include "cli/cli.h"
#include "cli/nvmeout.h"
#include "cli/output.h"
#include "cli/srvstr.h"
#include "config/config.h"
#include "lib/host.h"
#include "lib/hostjson.h"
#include "lib/sysfs.h"
#include "sriov/permaddr.h"
#include "sriov/vfinfo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void kv(const char *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void kv(const char *k, const char *fmt, ...)
{
	va_list ap;

	printf("  %-16s", k);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Decimal, or hex with `digits` digits, or "unknown". */
static const char *unk(int v, char *buf, size_t len, int digits)
{
	if (v == IOV_UNKNOWN)
		return "unknown";
	if (digits)
		snprintf(buf, len, "%0*x", digits, (unsigned)v);
	else
		snprintf(buf, len, "%d", v);
	return buf;
}

static const char *acs_text(const struct iov_dev *d, char *buf, size_t len)
{
	static const struct { uint16_t bit; const char *name; } bits[] = {
		{ IOV_ACS_SV, "SV" }, { IOV_ACS_TB, "TB" }, { IOV_ACS_RR, "RR" }, { IOV_ACS_CR, "CR" },
		{ IOV_ACS_UF, "UF" }, { IOV_ACS_EC, "EC" }, { IOV_ACS_DT, "DT" },
	};
	size_t off;

	if (d->cfg_len < 256)
		return "unknown (extended config space not readable; run as root)";
	if (!d->acs_present)
		return "no ACS capability";
	off = (size_t)snprintf(buf, len, "enabled:");
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]) && off < len; i++)
		if (d->acs_ctrl & bits[i].bit)
			off += (size_t)snprintf(buf + off, len - off, " %s", bits[i].name);
	if (!(d->acs_ctrl & 0x7f) && off < len)
		off += (size_t)snprintf(buf + off, len - off, " none");
	if (off < len)
		snprintf(buf + off, len - off, " (cap %04x ctrl %04x)", d->acs_cap, d->acs_ctrl);
	return buf;
}

/* VF properties come from the PF's netdev over rtnetlink: only on the live host (a
 * --sysroot tree describes another machine), only for PFs with a netdev. Returns the PF
 * whose VFs were queried, or NULL. */
static const struct iov_dev *query_vfinfo(const struct iov_dev *d, struct iov_vfinfo **v, size_t *n)
{
	const struct iov_dev *pf = d->role == IOV_ROLE_VF ? d->pf : d;

	*v = NULL;
	*n = 0;
	if (*iov_sysroot() || !pf || pf->role != IOV_ROLE_PF || !pf->n_netdevs)
		return NULL;
	if (iov_vfinfo_query(pf->netdevs[0], v, n) < 0)
		return NULL;
	return pf;
}

static const struct iov_vfinfo *vfinfo_of(const struct iov_dev *d, const struct iov_vfinfo *v, size_t n)
{
	for (size_t i = 0; d->role == IOV_ROLE_VF && i < n; i++)
		if (v[i].vf == d->vf_index)
			return &v[i];
	return NULL;
}

/* A PF's stable identity: what still names the same card after it moved to another slot or
 * the bus was renumbered. The permanent MAC (rtnetlink IFLA_PERM_ADDRESS, the live host
 * only: a --sysroot tree has none), the PCIe Device Serial Number (config space), then the
 * address, which does not survive a move. `by` is the first one known: what a config
 * should match on (config/config.h "match"). */
static json_t *identity_json(const struct iov_dev *d)
{
	json_t *o = json_object();
	const char *by = "address";
	uint8_t mac[6];
	char buf[24];

	if (!*iov_sysroot() && d->n_netdevs && iov_netdev_perm_addr(d->netdevs[0], mac) == 0) {
		snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
		json_object_set_new(o, "perm_mac", json_string(buf));
		by = "perm_mac";
	} else {
		json_object_set_new(o, "perm_mac", json_null());
	}
	if (d->dsn_known) {
		iov_cfg_fmt_dsn(d->dsn, buf);
		json_object_set_new(o, "dsn", json_string(buf));
		if (!strcmp(by, "address"))
			by = "dsn";
	} else {
		json_object_set_new(o, "dsn", json_null());
	}
	json_object_set_new(o, "address", json_string(d->name));
	json_object_set_new(o, "by", json_string(by));
	return o;
}

static void show_identity(const struct iov_dev *d)
{
	json_t *id = identity_json(d);
	const char *mac = cli_str(id, "perm_mac", NULL);
	const char *dsn = cli_str(id, "dsn", NULL);
	const char *by = cli_str(id, "by", NULL);

	kv("identity", "perm_mac %s, dsn %s; match by %s%s", mac ? mac : *iov_sysroot() ?
	   "unknown (--sysroot)" : "none", dsn ? dsn : "none", by,
	   strcmp(by, "address") ? " (survives a move to another slot)"
				 : " (changes if the card moves)");
	json_decref(id);
}

static void show_human(const struct iov_host *h, const struct iov_dev *d)
{
	char b1[64], b2[64], b3[64], b4[256];

	printf("%s", d->name);
	if (d->vendor_name || d->device_name)
		printf(" %s%s%s", d->vendor_name ?: "", d->vendor_name && d->device_name ? " " : "",
		       d->device_name ?: "");
	putchar('\n');
	if (d->role == IOV_ROLE_VF)
		kv("role", "vf%s of %s", unk(d->vf_index, b1, sizeof(b1), 0), d->pf ? d->pf->name : "unknown PF");
	else
		kv("role", "%s", iov_dev_is_bridge(d) && d->role == IOV_ROLE_OTHER ? "bridge" : iov_role_name(d->role));
	kv("id", "%s (subsystem %s:%s, revision %s)", cli_ids(d, b1, sizeof(b1)),
	   unk(d->subsys_vendor, b2, sizeof(b2), 4), unk(d->subsys_device, b3, sizeof(b3), 4),
	   unk(d->revision, b4, sizeof(b4), 2));
	if (d->class_code == IOV_UNKNOWN)
		kv("class", "unknown");
	else
		kv("class", "%06lx", d->class_code);
	kv("driver", "%s", d->driver ?: "none");
	kv("driver_override", "%s", d->driver_override ?: "none");
	printf("  %-16s", "netdevs");
	for (size_t i = 0; i < d->n_netdevs; i++)
		printf("%s%s", i ? " " : "", d->netdevs[i]);
	printf("%s\n", d->n_netdevs ? "" : "none");
	kv("numa node", "%s", d->numa_node == IOV_UNKNOWN ? "unknown" : d->numa_node < 0 ? "none reported" :
	   unk(d->numa_node, b1, sizeof(b1), 0));
	if (d->group) {
		printf("  %-16s%d (%s):", "iommu group", d->group->id, d->group->type ?: "type unknown");
		for (size_t i = 0; i < d->group->n_members; i++)
			printf(" %s", d->group->members[i]);
		putchar('\n');
	} else {
		kv("iommu group", "none%s", h->iommu.enabled ? "" : " (no IOMMU)");
	}
	kv("pcie type", "%s", d->cfg_len == 0 ? "unknown (config space not readable)" :
	   d->pcie_type == IOV_UNKNOWN ? "conventional PCI" : iov_pcie_type_name(d->pcie_type));
	if (d->reset_methods_known) {
		printf("  %-16s", "reset methods");
		for (size_t i = 0; i < d->n_reset_methods; i++)
			printf("%s%s", i ? " " : "", d->reset_methods[i]);
		printf("%s\n", d->n_reset_methods ? "" : "none");
	} else {
		kv("reset methods", "unknown");
	}
	kv("FLR", "%s", d->flr == IOV_UNKNOWN ? "unknown" : d->flr ? "yes" : "no");
	if (d->msi_max == 0)
		kv("MSI", "no capability");
	else
		kv("MSI", "%s vector%s capable, %d allocated", unk(d->msi_max, b1, sizeof(b1), 0),
		   d->msi_max == 1 ? "" : "s", d->msi_irqs);
	if (d->msix_table_size == 0)
		kv("MSI-X", "no capability");
	else
		kv("MSI-X", "%s vector%s in table, %d allocated", unk(d->msix_table_size, b1, sizeof(b1), 0),
		   d->msix_table_size == 1 ? "" : "s", d->msix_irqs);
	if (d->pcie_type != IOV_UNKNOWN && iov_dev_is_bridge(d))
		kv("ACS", "%s", acs_text(d, b4, sizeof(b4)));
	if (d->dsn_known)	/* only devices with the capability (and root on the live host) */
		kv("serial (DSN)", "%02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x",
		   (unsigned)(d->dsn >> 56) & 0xff, (unsigned)(d->dsn >> 48) & 0xff,
		   (unsigned)(d->dsn >> 40) & 0xff, (unsigned)(d->dsn >> 32) & 0xff,
		   (unsigned)(d->dsn >> 24) & 0xff, (unsigned)(d->dsn >> 16) & 0xff,
		   (unsigned)(d->dsn >> 8) & 0xff, (unsigned)d->dsn & 0xff);
	if (d->role == IOV_ROLE_PF) {
		const struct iov_sriov *s = d->sriov;
		char b5[16];

		show_identity(d);
		kv("SR-IOV", "%s of %s VFs enabled, offset %s, stride %s, VF device %s, autoprobe %s, ARI %s",
		   unk(s->num_vfs, b1, sizeof(b1), 0), unk(s->total_vfs, b2, sizeof(b2), 0),
		   unk(s->offset, b3, sizeof(b3), 0), unk(s->stride, b4, sizeof(b4), 0),
		   unk(s->vf_device, b5, sizeof(b5), 4),
		   s->drivers_autoprobe == IOV_UNKNOWN ? "unknown" : s->drivers_autoprobe ? "on" : "off",
		   d->ari ? "yes" : "no");
		for (size_t i = 0; i < s->n_vfs; i++) {
			const struct iov_dev *v = s->vfs[i];
			snprintf(b1, sizeof(b1), "vf%zu", i);
			if (!v)
				kv(b1, "(virtfn%zu link broken)", i);
			else
				kv(b1, "%s  %s  group %s", v->name, v->driver ?: "no driver",
				   v->group ? unk(v->group->id, b2, sizeof(b2), 0) : "-");
		}
	}
	{
		struct iov_vfinfo *v;
		size_t n;
		const struct iov_dev *pf = query_vfinfo(d, &v, &n);
		const struct iov_vfinfo *one = vfinfo_of(d, v, n);

		if (pf && d->role == IOV_ROLE_PF && n) {
			printf("  VF settings (%s):\n", pf->netdevs[0]);
			cli_print_vfinfo(stdout, v, n, "    ");
		} else if (one) {
			printf("  VF settings (%s vf %d):\n", pf->netdevs[0], one->vf);
			cli_print_vfinfo(stdout, one, 1, "    ");
		}
		free(v);
	}
	cli_nvme_show(d);
	/* The path to the root port: where ACS decides isolation. */
	printf("  %-16s", "upstream");
	if (!d->parent)
		printf("root bus\n");
	for (const struct iov_dev *p = d->parent; p; p = p->parent) {
		printf("%s%s [%s]\n", p == d->parent ? "" : "                  ", p->name, acs_text(p, b4, sizeof(b4)));
	}
}

int cmd_show(int argc, char **argv, struct cli_ctx *ctx)
{
	struct iov_host *h;
	struct iov_dev *d;
	char err[512];
	int ret;

	if (argc != 2)
		return cli_usage("show", argc < 2 ? "missing DEVICE" : "too many arguments ('%s')", argv[argc < 2 ? 0 : 2]);
	if ((ret = cli_load_host(ctx, &h)) != 0)
		return ret;
	if (iov_host_resolve(h, argv[1], &d, err, sizeof(err)) < 0) {
		iov_host_free(h);
		return cli_fail(2, "show", "no-such-device", NULL, "%s", err);
	}
	if (ctx->json) {
		char *cmdline = cli_read_cmdline();
		json_t *j = iov_json_dev(d);
		struct iov_vfinfo *v;
		size_t n;
		const struct iov_dev *pf = query_vfinfo(d, &v, &n);
		const struct iov_vfinfo *one = vfinfo_of(d, v, n);

		json_object_set_new(j, "group", d->group ? iov_json_group(d->group) : json_null());
		if (d->role == IOV_ROLE_PF)
			json_object_set_new(j, "identity", identity_json(d));
		/* VF settings as the PF driver reports them; null where not available
		 * (no PF netdev, or --sysroot). */
		if (pf && d->role == IOV_ROLE_PF) {
			json_t *a = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(a, iov_vfinfo_json(&v[i]));
			json_object_set_new(j, "vf_settings", a);
		} else if (d->role == IOV_ROLE_PF || d->role == IOV_ROLE_VF) {
			json_object_set_new(j, "vf_settings", one ? iov_vfinfo_json(one) : json_null());
		}
		free(v);
		{
			json_t *nv = cli_nvme_json(d);

			if (nv)
				json_object_set_new(j, "nvme", nv);
		}
		cli_acs_verdict(j, h, d, cmdline);
		free(cmdline);
		ret = cli_print_doc("device", j);
	} else {
		show_human(h, d);
		ret = 0;
	}
	iov_host_free(h);
	return ret;
}
