/* iovctl verify DEVICE...: is each device isolated enough to give to a VM? Reads the host
 * model and the host usage snapshot; the checks are vfio/verify.c (docs/verify.md).
 * A VF of an NVMe PF also gets the storage checks (cli/nvmeout.h): not usable exits 1 too.
 * Exit 0 when every device is isolated, 1 when one is not, 2 on usage errors.
 * --json: one object for one device, an array of them for several. */
#include "cli/cli.h"
#include "cli/nvmeout.h"
#include "cli/output.h"
#include "lib/host.h"
#include "vfio/guard.h"
#include "vfio/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *status_colour(enum iov_check_status s)
{
	switch (s) {
	case IOV_CHECK_OK: return "\033[32m";
	case IOV_CHECK_FAIL: return "\033[31;1m";
	default: return "\033[33m";
	}
}

static void print_human(const struct iov_verdict *v, bool colour)
{
	const struct iov_dev *d = v->dev;
	char fails[160] = "", unknowns[160] = "";

	printf("%s  %s%s%s", d->name, d->vendor_name ? d->vendor_name : "",
	       d->vendor_name ? " " : "", d->device_name ? d->device_name : "");
	printf("  (%s", d->driver ? d->driver : "no driver");
	if (d->group)
		printf(", group %d", d->group->id);
	printf(")\n");
	printf("  %-20s %-8s %s\n", "CHECK", "STATUS", "REASON");
	for (int i = 0; i < IOV_CHECK_COUNT; i++) {
		const struct iov_check *c = &v->checks[i];
		const char *st = iov_check_status_name(c->status);

		if (colour)
			printf("  %-20s %s%-8s\033[0m %s\n", iov_check_name(c->id),
			       status_colour(c->status), st, c->reason);
		else
			printf("  %-20s %-8s %s\n", iov_check_name(c->id), st, c->reason);
		if (c->status != IOV_CHECK_OK && c->fix[0])
			printf("  %-20s %-8s fix: %s\n", "", "", c->fix);
		if (!iov_check_counts(c->id))
			continue;
		if (c->status == IOV_CHECK_FAIL)
			snprintf(fails + strlen(fails), sizeof(fails) - strlen(fails), "%s%s",
				 *fails ? ", " : "", iov_check_name(c->id));
		else if (c->status == IOV_CHECK_UNKNOWN)
			snprintf(unknowns + strlen(unknowns), sizeof(unknowns) - strlen(unknowns),
				 "%s%s", *unknowns ? ", " : "", iov_check_name(c->id));
	}
	if (v->isolated)
		printf("verdict: %s is isolated\n", d->name);
	else
		printf("verdict: %s is NOT isolated (%s%s%s%s%s)\n", d->name,
		       *fails ? "fail: " : "", fails, *fails && *unknowns ? "; " : "",
		       *unknowns ? "unknown: " : "", unknowns);
}

static json_t *verdict_json(const struct iov_verdict *v)
{
	json_t *checks = json_array();

	for (int i = 0; i < IOV_CHECK_COUNT; i++) {
		const struct iov_check *c = &v->checks[i];

		json_array_append_new(checks, json_pack("{s:s, s:s, s:s, s:o}",
			"id", iov_check_name(c->id), "status", iov_check_status_name(c->status),
			"reason", c->reason, "fix", c->fix[0] ? json_string(c->fix) : json_null()));
	}
	json_t *o = json_pack("{s:s, s:b, s:o}", "device", v->dev->name, "isolated", v->isolated,
			      "checks", checks);
	bool usable = true;
	json_t *st = cli_nvme_verify(v->dev, &usable);

	if (o && st) {
		json_object_set_new(o, "storage", st);
		json_object_set_new(o, "usable", json_boolean(usable));
	}
	return o;
}

int cmd_verify(int argc, char **argv, struct cli_ctx *ctx)
{
	struct iov_host *h = NULL;
	struct iov_usage *u = NULL;
	struct iov_verdict *v = NULL;
	struct iov_dev **devs = NULL;
	int ndev = argc - 1, ret, exit_code = 0;

	if (argc < 2)
		return cli_usage("verify", "missing DEVICE");
	if ((ret = cli_load_host(ctx, &h)) != 0)
		return ret;
	devs = calloc((size_t)ndev, sizeof(*devs));
	v = calloc((size_t)ndev, sizeof(*v));
	if (!devs || !v || iov_usage_load(&u) < 0) {
		fprintf(stderr, "iovctl verify: out of memory\n");
		exit_code = 1;
		goto out;
	}
	for (int i = 0; i < ndev; i++) {
		char err[512];

		if (iov_host_resolve(h, argv[i + 1], &devs[i], err, sizeof(err)) < 0) {
			cli_fail(2, "verify", "no-such-device", NULL, "%s", err);
			exit_code = 2;
			goto out;
		}
		if (iov_dev_is_bridge(devs[i])) {
			cli_fail(2, "verify", "usage", "pass a device below it",
				 "%s is a bridge; bridges are never given to VMs", devs[i]->name);
			exit_code = 2;
			goto out;
		}
	}
	for (int i = 0; i < ndev; i++) {
		iov_verify(h, u, devs[i], &v[i]);
		if (!v[i].isolated)
			exit_code = 1;
		if (ctx->json) {
			bool usable = true;

			json_decref(cli_nvme_verify(devs[i], &usable));
			if (!usable)
				exit_code = 1;
		}
	}
	if (ctx->json) {
		json_t *a = json_array();

		/* Always an array, one verdict per device named, in order. */
		for (int i = 0; i < ndev; i++)
			json_array_append_new(a, verdict_json(&v[i]));
		if (cli_print_doc("verify", json_pack("{s:o}", "devices", a)) != 0)
			exit_code = 1;
	} else {
		for (int i = 0; i < ndev; i++) {
			if (i)
				putchar('\n');
			print_human(&v[i], ctx->color);
			if (!cli_nvme_verify_print(devs[i]))
				exit_code = 1;
		}
	}
out:
	free(v);
	free(devs);
	iov_usage_free(u);
	iov_host_free(h);
	return exit_code;
}
