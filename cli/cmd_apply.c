/* iovctl plan | apply [--dry-run] [--force] [--quiet] | reload | status: the host config, through
 * iovd (io.iovd.Plan/Apply/Reload/GetStatus; config/plan.h plans, src/apply.h applies).
 * The plan prints like a diff: "+ create 4 VFs on uplink", "~ uplink/vf2 vlan 100 -> 200",
 * "- remove 4 VFs of uplink"; then what it disturbs, runs of VFs on one line
 * ("uplink/vf0-3 (...) are created"), and a count of changes and impacts. On a terminal,
 * apply prints each step as iovd does it (cli/progress.h), then only the impact and count. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/srvstr.h"
#include "config/config.h"
#include "config/plan.h"
#include "config/planhost.h"
#include "lib/err.h"
#include "lib/sysfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *s_of(json_t *o, const char *k)
{
	return cli_str(o, k, "");
}

/* "uplink/vf3 (0000:01:10.6) is created" -> its parts; false for other lines. */
static bool impact_parts(const char *what, char *pf, size_t pflen, unsigned *vf, char *addr,
			 size_t alen, const char **rest)
{
	const char *s = strstr(what, "/vf"), *open, *close;
	char *end;

	if (!s || (size_t)(s - what) >= pflen || !(open = strstr(s, " (")) ||
	    !(close = strchr(open, ')')) || (size_t)(close - open - 2) >= alen || close[1] != ' ')
		return false;
	*vf = (unsigned)strtoul(s + 3, &end, 10);
	if (end != open)
		return false;
	snprintf(pf, pflen, "%.*s", (int)(s - what), what);
	snprintf(addr, alen, "%.*s", (int)(close - open - 2), open + 2);
	*rest = close + 2;
	return true;
}

/* The impact, runs of consecutive VFs of one PF with the same effect on one line:
 * "uplink/vf0-5 (0000:01:10.0..0000:01:11.2) are created". Returns the lines printed. */
static size_t print_impact(json_t *imp, const char *indent)
{
	size_t i, n = json_array_size(imp), lines = 0;

	for (i = 0; i < n;) {
		json_t *x = json_array_get(imp, i);
		const char *rest, *r2;
		char pf[64], addr[32], pf2[64], addr2[32], lastaddr[32] = "", what[512], h[256];
		unsigned vf, vf2, last;
		size_t e = i;

		/* Copies: s_of's escaped strings live in a few rotating buffers (cli/srvstr.h). */
		snprintf(what, sizeof(what), "%s", s_of(x, "what"));
		snprintf(h, sizeof(h), "%s", s_of(x, "holder"));
		if (impact_parts(what, pf, sizeof(pf), &vf, addr, sizeof(addr), &rest)) {
			last = vf;
			while (e + 1 < n) {
				json_t *y = json_array_get(imp, e + 1);

				if (!impact_parts(s_of(y, "what"), pf2, sizeof(pf2), &vf2, addr2,
						  sizeof(addr2), &r2) || strcmp(pf, pf2) ||
				    vf2 != last + 1 || strcmp(rest, r2) || strcmp(h, s_of(y, "holder")))
					break;
				last = vf2;
				memcpy(lastaddr, addr2, sizeof(lastaddr));
				e++;
			}
		}
		if (e > i)
			printf("%s  %s/vf%u-%u (%s..%s) %s%s%s%s\n", indent, pf, vf, last, addr, lastaddr,
			       strncmp(rest, "is ", 3) ? "" : "are ",
			       strncmp(rest, "is ", 3) ? rest : rest + 3, *h ? " - held by " : "", h);
		else
			printf("%s  %s%s%s\n", indent, what, *h ? " - held by " : "", h);
		lines++;
		i = e + 1;
	}
	return lines;
}

/* steps_shown: the actions were printed already, as progress lines, as they were done. */
static void print_plan_steps(json_t *plan, const char *indent, bool steps_shown)
{
	json_t *acts = json_object_get(plan, "actions"), *imp = json_object_get(plan, "impact");
	json_t *x;
	size_t i;

	if (!json_array_size(acts)) {
		printf("%sno changes: the host matches the config\n", indent);
		return;
	}
	json_array_foreach(acts, i, x)
		if (!steps_shown)
			printf("%s%s\n", indent, s_of(x, "line"));
	if (json_array_size(imp)) {
		printf("%simpact:\n", indent);
		print_impact(imp, indent);
	}
	printf("%s%zu change%s, %zu impact%s\n", indent, json_array_size(acts),
	       json_array_size(acts) == 1 ? "" : "s", json_array_size(imp),
	       json_array_size(imp) == 1 ? "" : "s");
}

static void print_plan(json_t *plan, const char *indent)
{
	print_plan_steps(plan, indent, false);
}

static int opts(const char *cmd, int argc, char **argv, bool *dry, bool *force, bool *quiet)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			*force = true;
		else if (quiet && !strcmp(argv[i], "--quiet"))
			*quiet = true;
		else if (dry && !strcmp(argv[i], "--dry-run"))
			*dry = true;
		else
			return cli_usage(cmd, "takes no arguments ('%s')", argv[i]);
	}
	return 0;
}

/* iovctl plan --config FILE: the file planned here, without the daemon (reads only). */
static int plan_local(struct cli_ctx *ctx, const char *file, bool force)
{
	struct iov_plan_host_opts o = { .force = force };
	struct iov_config *cfg = NULL;
	struct iov_cfg_plan *p = NULL;
	struct iov_err e = { 0 };
	json_t *j;

	/* The daemon's bind records, when this user may read them (not on a --sysroot tree). */
	if (!iov_sysroot()[0] && access("/var/lib/iovd/bind-state.json", R_OK) == 0)
		o.bind_state = "/var/lib/iovd/bind-state.json";
	if (iov_config_load(file, NULL, &cfg, &e) < 0 || iov_cfg_plan_host(cfg, &o, &p, &e) < 0) {
		cli_fail(1, "plan", "config", e.fix, "%s", e.msg);
		iov_config_free(cfg);
		return 1;
	}
	j = iov_cfg_plan_json(p);
	iov_cfg_plan_free(p);
	iov_config_free(cfg);
	if (ctx->json)
		return cli_print_doc("plan", j);
	print_plan(j, "");
	json_decref(j);
	return 0;
}

int cmd_plan(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *file = NULL;
	bool force = false;
	json_t *p, *r = NULL;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--config") && i + 1 < argc)
			file = argv[++i];
		else
			return cli_usage("plan", "takes no arguments ('%s')", argv[i]);
	}
	if (file)
		return plan_local(ctx, file, force);

	p = json_pack("{s:b}", "force", force);
	ret = cli_call(ctx, "io.iovd.Plan", p, &r);
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json)
		return cli_print_doc("plan", r);
	print_plan(r, "");
	json_decref(r);
	return 0;
}

/* steps_shown: how many steps the progress lines showed as done (cli/progress.h). */
static int show_apply(struct cli_ctx *ctx, json_t *r, size_t steps_shown)
{
	const char *res = s_of(r, "result");
	json_t *plan = json_object_get(r, "plan");

	if (ctx->json)
		return cli_print_doc("apply", r);
	print_plan_steps(plan, "", steps_shown &&
			 steps_shown == json_array_size(json_object_get(plan, "actions")));
	if (json_is_true(json_object_get(r, "applied")))
		printf("applied: %lld steps (transaction %lld)\n",
		       (long long)json_integer_value(json_object_get(r, "steps")),
		       (long long)json_integer_value(json_object_get(r, "txn")));
	else if (!strcmp(res, "dry run"))
		printf("dry run: nothing changed\n");
	json_decref(r);
	return 0;
}

int cmd_apply(int argc, char **argv, struct cli_ctx *ctx)
{
	bool dry = false, force = false, quiet = false;
	json_t *p, *r = NULL;
	size_t shown;
	int ret;

	if ((ret = opts("apply", argc, argv, &dry, &force, &quiet)))
		return ret;
	p = json_pack("{s:b, s:b}", "dry_run", dry, "force", force);
	/* On a terminal, each step as iovd does it (a dry run does none). */
	ctx->progress = dry ? NULL : cli_progress_start(ctx, quiet, CLI_PROGRESS_APPLY, NULL);
	ret = cli_call(ctx, "io.iovd.Apply", p, &r);
	shown = cli_progress_end(ctx->progress);
	ctx->progress = NULL;
	json_decref(p);
	return ret ? ret : show_apply(ctx, r, shown);
}

int cmd_reload(int argc, char **argv, struct cli_ctx *ctx)
{
	json_t *r = NULL;
	int ret;

	if (argc != 1)
		return cli_usage("reload", "takes no arguments");
	ret = cli_call(ctx, "io.iovd.Reload", NULL, &r);
	return ret ? ret : show_apply(ctx, r, 0);
}

int cmd_status(int argc, char **argv, struct cli_ctx *ctx)
{
	json_t *r = NULL, *c, *la, *d, *x;
	size_t i;
	int ret;

	if (argc != 1)
		return cli_usage("status", "takes no arguments");
	if ((ret = cli_call(ctx, "io.iovd.GetStatus", NULL, &r)))
		return ret;
	if (ctx->json)
		return cli_print_doc("status", r);
	c = json_object_get(r, "config");
	if (json_is_object(c)) {
		printf("config:     ");
		json_array_foreach(json_object_get(c, "files"), i, x)
			printf("%s%s", i ? ", " : "", cli_sval(x, NULL));
		printf(" (loaded %s, %lld PFs)\n", s_of(c, "loaded"),
		       (long long)json_integer_value(json_object_get(c, "pfs")));
	} else {
		printf("config:     none in force\n");
	}
	if (*s_of(r, "config_error"))
		printf("  last load failed: %s\n", s_of(r, "config_error"));
	la = json_object_get(r, "last_apply");
	if (json_is_object(la)) {
		printf("last apply: transaction %lld at %s: %s, %lld of %lld steps done\n",
		       (long long)json_integer_value(json_object_get(la, "txn")), s_of(la, "time"),
		       s_of(la, "result"), (long long)json_integer_value(json_object_get(la, "done")),
		       (long long)json_integer_value(json_object_get(la, "steps")));
		if (*s_of(la, "error"))
			printf("  %s\n", s_of(la, "error"));
	} else {
		printf("last apply: none\n");
	}
	d = json_object_get(r, "difference");
	if (json_is_object(d)) {
		printf("difference: %s\n", json_array_size(json_object_get(d, "actions")) ?
		       "the host differs from the config:" : "none");
		if (json_array_size(json_object_get(d, "actions")))
			print_plan(d, "  ");
	} else if (*s_of(r, "difference_error")) {
		printf("difference: cannot plan: %s\n", s_of(r, "difference_error"));
	}
	/* What iovd noticed changing under it (udev), and what it did about it. */
	c = json_object_get(r, "drift");
	if (json_is_object(c) && strcmp(s_of(c, "state"), "none") != 0) {
		printf("drift:      %s since %s (%s)%s%s\n", s_of(c, "state"), s_of(c, "since"),
		       s_of(c, "cause"), *s_of(c, "error") ? ": " : "", s_of(c, "error"));
		json_array_foreach(json_object_get(c, "lines"), i, x)
			printf("  %s\n", cli_sval(x, NULL));
	}
	/* How long iovd's loop was busy per turn (a turn over 50 ms delays every client). */
	c = json_object_get(r, "loop");
	if (json_is_object(c))
		printf("loop:       %lld turns, longest %.1f ms (%s)\n",
		       (long long)json_integer_value(json_object_get(c, "turns")),
		       json_number_value(json_object_get(c, "longest_ms")), s_of(c, "longest_what"));
	json_decref(r);
	return 0;
}
