/* iovctl list [pfs|vfs|groups]: the whole picture in one view. */
#include "cli/cli.h"
#include "lib/varlink.h"
#include "cli/client.h"
#include "cli/nvmeout.h"
#include "cli/output.h"
#include "cli/table.h"
#include "cli/srvstr.h"
#include "lib/host.h"
#include "lib/hostjson.h"
#include "lib/suggest.h"
#include "lib/sysfs.h"
#include "vfio/guard.h"
#include "vfio/verify.h"

#include <limits.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define C_PF    "1;36"
#define C_VFIO  "32"
#define C_NODRV "33"

static const char *group_cell(const struct iov_dev *d, char *buf, size_t len)
{
	if (!d->group)
		return "-";
	snprintf(buf, len, "%d%s", d->group->id, d->group->n_members > 1 ? "*" : "");
	return buf;
}

static const char *join(char *const *v, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "", v[i]);
	return n ? buf : NULL;
}

/* The ACS column: the verdict of verify's acs check on the device's path ("no": a port or
 * the device's own functions let peer-to-peer traffic bypass the IOMMU; `iovctl verify`
 * names them), "?" when unreadable, "-" for bridges. */
static const char *acs_cell(const struct iov_host *h, const struct iov_usage *u,
			    const struct iov_dev *d, bool *lacking)
{
	struct iov_check c;

	if (iov_dev_is_bridge(d))
		return "-";
	switch (iov_verify_acs(h, u, d, &c)) {
	case IOV_CHECK_OK: return "ok";
	case IOV_CHECK_FAIL: *lacking = true; return "no";
	default: return "?";
	}
}

static int dev_row(struct table *t, const struct iov_host *h, const struct iov_usage *u,
		   const struct iov_dev *d, bool indent, bool *lacking)
{
	char addr[32], ids[16], grp[16], numa[16], nets[128], vfs[32], role[16];
	const char *colour = NULL;

	snprintf(addr, sizeof(addr), "%s%s", indent ? "  " : "", d->name);
	if (d->role == IOV_ROLE_VF && d->vf_index != IOV_UNKNOWN)
		snprintf(role, sizeof(role), "vf%d", d->vf_index);
	else
		snprintf(role, sizeof(role), "%s", iov_dev_is_bridge(d) && d->role == IOV_ROLE_OTHER ?
			 "bridge" : iov_role_name(d->role));
	if (d->numa_node == IOV_UNKNOWN || d->numa_node < 0)
		snprintf(numa, sizeof(numa), "-");
	else
		snprintf(numa, sizeof(numa), "%d", d->numa_node);
	vfs[0] = '\0';
	if (d->role == IOV_ROLE_PF) {
		const struct iov_sriov *s = d->sriov;
		char n[12] = "?", tot[12] = "?";
		if (s->num_vfs != IOV_UNKNOWN)
			snprintf(n, sizeof(n), "%d", s->num_vfs);
		if (s->total_vfs != IOV_UNKNOWN)
			snprintf(tot, sizeof(tot), "%d", s->total_vfs);
		snprintf(vfs, sizeof(vfs), "%s/%s", n, tot);
		colour = C_PF;
	}
	if (d->driver && strcmp(d->driver, "vfio-pci") == 0)
		colour = C_VFIO;
	else if (!d->driver && !iov_dev_is_bridge(d))
		colour = colour ? colour : C_NODRV;

	const char *cells[] = {
		addr, role, cli_ids(d, ids, sizeof(ids)), d->driver, group_cell(d, grp, sizeof(grp)),
		acs_cell(h, u, d, lacking), numa, join(d->netdevs, d->n_netdevs, nets, sizeof(nets)), vfs[0] ? vfs : NULL,
		d->device_name,
	};
	return table_row(t, colour, cells);
}

struct list_opts {
	const struct iov_dev *pf;	/* list PF: only it and its VFs */
	bool summary;			/* --summary: a PF's VFs as runs, one line */
	size_t width;			/* cut lines to this (terminal), 0: no limit */
};

/* --summary: a PF's VFs on one line, runs of consecutive VFs on the same driver:
 * "vf0-31 vfio-pci, vf32-127 iavf". */
static int vf_summary(struct table *t, const struct iov_dev *pf)
{
	const struct iov_sriov *s = pf->sriov;
	char line[1024] = "", cnt[24];
	size_t off = 0;

	for (size_t v = 0; v < s->n_vfs && off < sizeof(line);) {
		const char *drv = s->vfs[v] ? (s->vfs[v]->driver ? s->vfs[v]->driver : "none") : "?";
		size_t e = v;

		while (e + 1 < s->n_vfs && s->vfs[e + 1] &&
		       strcmp(s->vfs[e + 1]->driver ? s->vfs[e + 1]->driver : "none", drv) == 0)
			e++;
		if (e > v)
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%svf%zu-%zu %s",
						off ? ", " : "", v, e, drv);
		else
			off += (size_t)snprintf(line + off, sizeof(line) - off, "%svf%zu %s",
						off ? ", " : "", v, drv);
		v = e + 1;
	}
	if (!s->n_vfs)
		return 0;
	snprintf(cnt, sizeof(cnt), "%zu VF%s", s->n_vfs, s->n_vfs == 1 ? "" : "s");
	const char *cells[10] = { "  VFs", cnt, "", "", "", "", "", "", "", line };

	return table_row(t, NULL, cells);
}

static int list_devices(const struct iov_host *h, enum iov_json_sel sel, bool colour,
			const struct list_opts *lo)
{
	static const char *const hdr[] = {
		"ADDRESS", "ROLE", "ID", "DRIVER", "GROUP", "ACS", "NUMA", "NETDEV", "VFS", "NAME",
	};
	struct table *t = table_new(10, hdr);
	/* only the command line: pcie_acs_override= */
	struct iov_usage u = { .cmdline = cli_read_cmdline() };
	bool shared = false, lacking = false;
	int ret = 0;

	if (!t)
		return 1;
	table_set_max_width(t, lo->width);
	for (size_t i = 0; i < h->n_devs && ret == 0; i++) {
		const struct iov_dev *d = h->devs[i];

		if (lo->pf && d != lo->pf)
			continue;
		if (sel == IOV_SEL_VFS) {
			if (d->role == IOV_ROLE_VF)
				ret = dev_row(t, h, &u, d, false, &lacking);
			continue;
		}
		if (sel == IOV_SEL_PFS && d->role != IOV_ROLE_PF)
			continue;
		/* In the full view a VF is printed beneath its PF, not in address order. */
		if (sel == IOV_SEL_ALL && d->role == IOV_ROLE_VF && d->pf && d->vf_index != IOV_UNKNOWN)
			continue;
		ret = dev_row(t, h, &u, d, false, &lacking);
		if (sel == IOV_SEL_ALL && d->role == IOV_ROLE_PF && lo->summary && ret == 0)
			ret = vf_summary(t, d);
		else if (sel == IOV_SEL_ALL && d->role == IOV_ROLE_PF)
			for (size_t v = 0; v < d->sriov->n_vfs && ret == 0; v++)
				if (d->sriov->vfs[v])
					ret = dev_row(t, h, &u, d->sriov->vfs[v], true, &lacking);
	}
	for (size_t i = 0; i < h->n_devs; i++)
		shared |= h->devs[i]->group && h->devs[i]->group->n_members > 1 &&
			  (!lo->pf || h->devs[i] == lo->pf || h->devs[i]->pf == lo->pf);

	cli_print_iommu_summary(h, stdout);
	fputc('\n', stdout);
	table_print(t, stdout, colour);
	if (shared && sel != IOV_SEL_PFS)
		printf("\n* IOMMU group shared with other devices: they can only be assigned together "
		       "(see 'iovctl list groups')\n");
	if (lacking)
		printf("%sACS no: peer-to-peer traffic on the device's path can bypass the IOMMU; "
		       "`iovctl verify DEVICE` names each port and the fix\n",
		       shared && sel != IOV_SEL_PFS ? "" : "\n");
	cli_nvme_list(h);
	free(u.cmdline);
	table_free(t);
	return ret < 0 ? 1 : 0;
}

static int list_groups(const struct iov_host *h, bool colour)
{
	static const char *const hdr[] = { "GROUP", "TYPE", "DEVICE", "ROLE", "ID", "DRIVER" };
	struct table *t = table_new(6, hdr);
	int ret = 0;

	if (!t)
		return 1;
	for (size_t i = 0; i < h->n_groups && ret == 0; i++) {
		const struct iov_group *g = h->groups[i];
		char id[16];

		snprintf(id, sizeof(id), "%d", g->id);
		for (size_t m = 0; m < g->n_members && ret == 0; m++) {
			struct iov_pci_addr a;
			const struct iov_dev *d = NULL;
			char ids[16], role[16];

			if (iov_pci_addr_parse(g->members[m], &a) == 0)
				d = iov_host_find(h, &a);
			if (d && d->role == IOV_ROLE_VF && d->vf_index != IOV_UNKNOWN)
				snprintf(role, sizeof(role), "vf%d", d->vf_index);
			else
				snprintf(role, sizeof(role), "%s", !d ? "?" : iov_dev_is_bridge(d) &&
					 d->role == IOV_ROLE_OTHER ? "bridge" : iov_role_name(d->role));
			const char *cells[] = {
				m == 0 ? id : "", m == 0 ? g->type : "", g->members[m], role,
				d ? cli_ids(d, ids, sizeof(ids)) : NULL, d ? d->driver : NULL,
			};
			ret = table_row(t, g->n_members > 1 && m == 0 ? "1" : NULL, cells);
		}
	}
	cli_print_iommu_summary(h, stdout);
	fputc('\n', stdout);
	if (h->n_groups)
		table_print(t, stdout, colour);
	else
		printf("no IOMMU groups\n");
	table_free(t);
	return ret < 0 ? 1 : 0;
}

/* VFs iovd holds in quarantine (their reset failed after a guest): asked of iovd when it
 * runs, quietly nothing when it does not (list works without the daemon). */
static void print_quarantine(const struct cli_ctx *ctx)
{
	json_t *r = NULL, *q;
	char *err = NULL;
	size_t i;
	int fd = vl_connect(cli_socket_path(ctx));

	if (fd < 0)
		return;
	if (vl_call_sync(fd, "io.iovd.VmList", NULL, 2000, &r, &err) == 0)
		json_array_foreach(json_object_get(r, "quarantine"), i, q)
			printf("%squarantined by iovd: %s (after guest %s): %s; `iovctl vf unquarantine "
			       "%s` once it is known good\n", i ? "" : "\n",
			       cli_str(q, "device", NULL),
			       json_is_string(json_object_get(q, "guest")) ?
			       cli_str(q, "guest", NULL) : "-",
			       cli_str(q, "reason", NULL),
			       cli_str(q, "device", NULL));
	json_decref(r);
	free(err);
	close(fd);
}

/* The terminal's width when stdout is one ($COLUMNS first), else 0: no limit. */
static size_t term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (c && atoi(c) > 20)
		return (size_t)atoi(c);
	return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 0;
}

int cmd_list(int argc, char **argv, struct cli_ctx *ctx)
{
	static const char *const sels[] = { "pfs", "vfs", "groups" };
	enum iov_json_sel sel = IOV_SEL_ALL;
	struct list_opts lo = { .width = term_width() };
	const char *what = NULL;
	struct iov_host *h;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (cli_is_opt(argv[i]) && !strcmp(argv[i], "--summary"))
			lo.summary = true;
		else if (cli_is_opt(argv[i]) && !strcmp(argv[i], "--wide"))
			lo.width = 0;
		else if (what)
			return cli_usage("list", "too many arguments ('%s')", argv[i]);
		else
			what = argv[i];
	}
	if (what && strcmp(what, "pfs") == 0)
		sel = IOV_SEL_PFS;
	else if (what && strcmp(what, "vfs") == 0)
		sel = IOV_SEL_VFS;
	else if (what && strcmp(what, "groups") == 0)
		sel = IOV_SEL_GROUPS;
	if ((ret = cli_load_host(ctx, &h)) != 0)
		return ret;
	if (what && sel == IOV_SEL_ALL) {
		/* list PF: that PF and its VFs */
		struct iov_dev *d;
		char err[512];

		if (iov_host_resolve(h, what, &d, err, sizeof(err)) < 0 || d->role != IOV_ROLE_PF) {
			const char *near = iov_suggest(what, sels, 3);

			iov_host_free(h);
			return cli_usage("list", "'%s' is neither a selection (pfs, vfs, groups) nor a "
					 "PF%s%s%s", what, near ? "; did you mean '" : "",
					 near ? near : "", near ? "'?" : "");
		}
		lo.pf = d;
	}
	if (ctx->json)
		ret = cli_print_host_json(h, sel, lo.pf);
	else if (sel == IOV_SEL_GROUPS)
		ret = list_groups(h, ctx->color);
	else
		ret = list_devices(h, sel, ctx->color, &lo);
	if (!ctx->json && sel != IOV_SEL_GROUPS && !iov_sysroot()[0])
		print_quarantine(ctx);
	iov_host_free(h);
	return ret;
}
