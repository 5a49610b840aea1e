/* iovctl vfs create PF N [--vfio] [--force] [--dry-run] | vfs destroy PF [--force] [--dry-run]
 *        | vfs show PF
 * create/destroy are thin clients of io.iovd.SetVfCount; show reads the VF settings the PF
 * driver reports (rtnetlink, no daemon needed). */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/srvstr.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "sriov/vfinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_plan(json_t *plan)
{
	size_t i;
	json_t *a;

	json_array_foreach(plan, i, a) {
		const char *act = cli_str(a, "action", NULL);

		printf("  %zu. %s", i + 1, cli_str(a, "why", NULL));
		if (act && strcmp(act, "write") == 0)
			printf("  (%s/%s <- %s)", cli_str(a, "device", NULL),
			       cli_str(a, "file", NULL),
			       cli_str(a, "value", NULL));
		printf("\n");
	}
}

static int parse_count(const char *s, int *out)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int set_count(struct cli_ctx *ctx, const char *cmd, const char *pf, int count, bool vfio,
		     bool force, bool dry)
{
	json_t *p = json_pack("{s:s, s:i, s:b, s:b, s:b}", "pf", pf, "count", count, "vfio", vfio,
			      "force", force, "dry_run", dry);
	json_t *r = NULL, *vfs, *v;
	int ret = cli_call(ctx, "io.iovd.SetVfCount", p, &r);
	size_t i;

	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json) {
		ret = cli_print_doc("vfs-count", json_incref(r));
	} else {
		const char *name = cli_str(r, "pf", NULL);
		json_t *plan = json_object_get(r, "plan");

		vfs = json_object_get(r, "vfs");
		if (dry) {
			printf("%s: would %s (dry run):\n", name, json_array_size(plan) ?
			       "do" : "change nothing");
			print_plan(plan);
		} else if (!json_array_size(plan)) {
			printf("%s: already has %zu VF%s; nothing to do\n", name,
			       json_array_size(vfs), json_array_size(vfs) == 1 ? "" : "s");
		} else if (count == 0) {
			printf("%s: VFs removed\n", name);
		} else {
			printf("%s: %zu VF%s%s:", name, json_array_size(vfs),
			       json_array_size(vfs) == 1 ? "" : "s", vfio ? " on vfio-pci" : "");
			json_array_foreach(vfs, i, v)
				printf(" %s", cli_sval(v, NULL));
			printf("\n");
		}
	}
	json_decref(r);
	return ret;
}

void cli_print_vfinfo(FILE *f, const struct iov_vfinfo *v, size_t n, const char *indent)
{
	char mac[18];

	if (n)
		fprintf(f, "%s%-4s %-17s %-5s %-3s %-7s %-8s %-5s %-7s %s\n", indent, "VF", "MAC",
			"VLAN", "QOS", "PROTO", "SPOOFCHK", "TRUST", "STATE", "RATE(min/max Mbit/s)");
	for (size_t i = 0; i < n; i++) {
		const struct iov_vfinfo *x = &v[i];
		char rate[48];

		iov_fmt_mac(x->mac, mac);
		if (x->min_rate == IOV_UNKNOWN && x->max_rate == IOV_UNKNOWN)
			snprintf(rate, sizeof(rate), "-");
		else
			snprintf(rate, sizeof(rate), "%lld/%lld", (long long)x->min_rate,
				 (long long)x->max_rate);
		fprintf(f, "%s%-4d %-17s %-5d %-3d %-7s %-8s %-5s %-7s %s\n", indent, x->vf, mac,
			x->vlan, x->qos, iov_vlan_proto_name(x->vlan_proto) ?: "?",
			x->spoofchk == IOV_UNKNOWN ? "-" : x->spoofchk ? "on" : "off",
			x->trust == IOV_UNKNOWN ? "-" : x->trust ? "on" : "off",
			x->link_state == IOV_UNKNOWN ? "-" : iov_link_state_name(x->link_state),
			rate);
	}
}

static int vfs_show(struct cli_ctx *ctx, const char *spec)
{
	struct iov_host *h;
	struct iov_dev *d;
	struct iov_vfinfo *v;
	char err[512];
	size_t n;
	int r;

	if ((r = cli_load_host(ctx, &h)))
		return r;
	if ((r = iov_host_resolve(h, spec, &d, err, sizeof(err))) < 0) {
		cli_fail(2, "vfs show", "no-such-device", NULL, "%s", err);
		iov_host_free(h);
		return 2;
	}
	if (d->role != IOV_ROLE_PF || !d->n_netdevs) {
		cli_fail(2, "vfs show", "usage", "see iovctl list pfs",
			 "%s is not an SR-IOV PF with a network interface", d->name);
		iov_host_free(h);
		return 2;
	}
	if ((r = iov_vfinfo_query(d->netdevs[0], &v, &n)) == -IOV_E_SYSROOT) {
		cli_fail(1, "vfs show", "unknown", "run it on the host itself, without --sysroot",
			 "%s (%s): VF settings cannot be known under --sysroot (the PF driver "
			 "reports them over this machine's rtnetlink)", d->name, d->netdevs[0]);
		iov_host_free(h);
		return 1;
	} else if (r < 0) {
		cli_fail(1, "vfs show", "host", NULL, "%s (%s): reading VF settings: %s", d->name,
			 d->netdevs[0], strerror(-r));
		iov_host_free(h);
		return 1;
	}
	if (ctx->json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, iov_vfinfo_json(&v[i]));
		r = cli_print_doc("vfs-show", json_pack("{s:s, s:s, s:o}", "pf", d->name, "netdev",
					     d->netdevs[0], "vfs", a));
	} else {
		printf("%s (%s): %zu VF%s\n", d->name, d->netdevs[0], n, n == 1 ? "" : "s");
		cli_print_vfinfo(stdout, v, n, "  ");
	}
	free(v);
	iov_host_free(h);
	return r;
}

int cmd_vfs(int argc, char **argv, struct cli_ctx *ctx)
{
	bool vfio = false, force = false, dry = false;
	const char *pos[3];
	int npos = 0, count;

	for (int i = 1; i < argc; i++) {
		if (!cli_is_opt(argv[i]) && npos < 3)
			pos[npos++] = argv[i];
		else if (!cli_is_opt(argv[i]))
			return cli_usage("vfs", "too many arguments ('%s')", argv[i]);
		else if (strcmp(argv[i], "--vfio") == 0)
			vfio = true;
		else if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (strcmp(argv[i], "--dry-run") == 0)
			dry = true;
	}
	if (npos == 0)
		return cli_usage("vfs", "say create, destroy or show");
	if (strcmp(pos[0], "create") == 0) {
		if (npos != 3)
			return cli_usage("vfs", "create needs a PF and a count: vfs create PF N");
		if (parse_count(pos[2], &count) < 0)
			return cli_usage("vfs", "count '%s': give a whole number of VFs (0..65535)",
					 pos[2]);
		/* --force as for destroy: VFs on vfio-pci are released before the count
		 * changes (never VFs a VM holds). */
		return set_count(ctx, "create", pos[1], count, vfio, force, dry);
	}
	if (strcmp(pos[0], "destroy") == 0) {
		if (npos != 2)
			return cli_usage("vfs", "destroy needs one PF: vfs destroy PF");
		if (vfio)
			return cli_usage("vfs", "--vfio goes with create");
		return set_count(ctx, "destroy", pos[1], 0, false, force, dry);
	}
	if (strcmp(pos[0], "show") == 0) {
		if (npos != 2 || vfio || force || dry)
			return cli_usage("vfs", "show takes one PF and no options");
		return vfs_show(ctx, pos[1]);
	}
	return cli_usage("vfs", "'%s': say create, destroy or show", pos[0]);
}
