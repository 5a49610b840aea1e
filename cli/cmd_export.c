/* iovctl export cdi [--pool NAME] | export sriovdp   [--config PATH]
 * What container runtimes and Kubernetes read about the config's pools (config/export.h):
 * CDI specs (what iovd keeps under /var/run/cdi) and a sriov-network-device-plugin
 * config.json. Reads the config and the host; needs no daemon. */
#include "cli/cli.h"
#include "cli/output.h"
#include "cli/srvstr.h"
#include "config/config.h"
#include "config/export.h"
#include "lib/err.h"
#include "lib/host.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void warn_skipped(const char *pool, json_t *skipped)
{
	size_t i;
	json_t *s;

	json_array_foreach(skipped, i, s) {
		if (pool)
			fprintf(stderr, "iovctl export: pool %s: ", pool);
		else
			fprintf(stderr, "iovctl export: ");
		fprintf(stderr, "left out (apply the config to create it): %s\n", cli_sval(s, NULL));
	}
}

int cmd_export(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *what = argc > 1 ? argv[1] : NULL, *pool = NULL, *path = NULL;
	struct iov_config *c = NULL;
	struct iov_host *h = NULL;
	struct iov_cfg_resolved *r = NULL;
	struct iov_err err = { 0 };
	json_t *out = NULL, *skipped = NULL;
	int ret = 1;

	if (!what || (strcmp(what, "cdi") != 0 && strcmp(what, "sriovdp") != 0))
		return cli_usage("export", "say what to export: cdi or sriovdp");
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc && !strcmp(what, "cdi"))
			pool = argv[++i];
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else
			return cli_usage("export", "unexpected argument '%s'", argv[i]);
	}
	/* --config names one file (no drop-ins); the default is the main file + iovd.d/. */
	if (iov_config_load(path, path ? "" : NULL, &c, &err) < 0) {
		cli_fail(1, "export", "config", err.fix, "%s", err.msg);
		return err.code == -ENOENT ? 1 : 2;
	}
	if (cli_load_host(ctx, &h))
		goto out;
	if (iov_config_resolve(c, h, &r, &err) < 0) {
		cli_fail(1, "export", "config", err.fix, "%s", err.msg);
		goto out;
	}
	if (strcmp(what, "sriovdp") == 0) {
		if (iov_export_sriovdp(r, &out, &skipped, &err) < 0)
			goto failed;
		warn_skipped(NULL, skipped);
		json_decref(skipped);
		ret = cli_print_json(out);
		goto out;
	}
	/* cdi: one spec (--pool) or the array of every pool's spec. */
	if (pool) {
		int p = iov_config_find_pool(c, pool);

		if (p < 0) {
			fprintf(stderr, "iovctl export: no pool '%s' in the config (%s)\n", pool,
				c->n_files ? c->files[0] : "no file");
			ret = 2;
			goto out;
		}
		if (iov_export_cdi(r, (size_t)p, &out, &skipped, &err) < 0)
			goto failed;
		warn_skipped(pool, skipped);
		json_decref(skipped);
	} else {
		out = json_array();
		for (size_t i = 0; i < c->n_pools; i++) {
			json_t *spec;

			if (iov_export_cdi(r, i, &spec, &skipped, &err) < 0) {
				json_decref(out);
				goto failed;
			}
			warn_skipped(c->pools[i].name, skipped);
			json_decref(skipped);
			json_array_append_new(out, spec);
		}
	}
	ret = cli_print_json(out);
	goto out;
failed:
	fprintf(stderr, "iovctl export: %s\n", err.msg);
	if (err.fix[0])
		fprintf(stderr, "  fix: %s\n", err.fix);
	ret = err.code == -EINVAL ? 2 : 1;
out:
	iov_cfg_resolved_free(r);
	iov_host_free(h);
	iov_config_free(c);
	return ret;
}
