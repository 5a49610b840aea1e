/* iovctl config check FILE: the config file against this host (or --sysroot), through the
 * same code as `iovd --check` (config/check.c). Reads only. */
#include "cli/cli.h"
#include "cli/output.h"
#include "config/check.h"
#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"

#include <stdio.h>
#include <string.h>

int cmd_config(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *file = NULL, *dropins = NULL;
	struct iov_host *h = NULL;
	struct iov_err err = { 0 };
	json_t *rep = NULL;
	int ret;

	if (argc < 2)
		return cli_usage("config", "missing subcommand (check)");
	if (strcmp(argv[1], "check") != 0)
		return cli_usage("config", "unknown subcommand '%s' (expected check)", argv[1]);
	for (int i = 2; i < argc; i++) {
		if (cli_is_opt(argv[i]) && !strcmp(argv[i], "--config-dir")) {
			if (++i >= argc)
				return cli_usage("config", "--config-dir needs a directory");
			dropins = argv[i];
		} else if (file) {
			return cli_usage("config", "one FILE only ('%s' and '%s')", file, argv[i]);
		} else {
			file = argv[i];
		}
	}
	if (file && !dropins)
		dropins = "";		/* as iovd --config FILE: that file alone */
	if ((ret = cli_load_host(ctx, &h)) != 0)
		return ret;
	ret = iov_config_check(file, dropins, h, NULL, &rep, &err) < 0 ? 1 : 0;
	iov_host_free(h);
	if (!rep) {
		fprintf(stderr, "iovctl config: out of memory\n");
		return 1;
	}
	if (ctx->json) {
		/* An invalid config is an error like any other (docs/json.md): code "config". */
		if (json_is_object(json_object_get(rep, "error")))
			json_object_set_new(json_object_get(rep, "error"), "code", json_string("config"));
		if (cli_print_doc("config-check", rep) != 0)
			ret = 1;
		return ret;
	}
	iov_config_report_print(ret ? stderr : stdout, rep);
	json_decref(rep);
	return ret;
}
