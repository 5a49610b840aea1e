/* plan_bench --sysroot TREE --config FILE [--runs N]: times the config plan on a sysfs tree
 * (bench/plan_bench.py builds the 16 PF x 128 VF tree and a config naming every PF).
 * Prints best/median over N runs of the whole pipeline (host model + usage + resolve + plan,
 * what `iovctl plan` costs iovd) and of the planner alone (config/plan.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "config/plan.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "vfio/guard.h"
#include "vfio/state.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static const struct option o[] = { { "sysroot", required_argument, NULL, 'R' },
					   { "config", required_argument, NULL, 'c' },
					   { "runs", required_argument, NULL, 'n' }, { 0 } };
	const char *root = NULL, *cfgpath = NULL;
	double *all, *pl, *hl;
	struct iov_config *cfg;
	struct iov_err e = { 0 };
	int runs = 15, c;
	size_t nacts = 0, nimp = 0;

	iov_log_set_prog("plan_bench");
	iov_log_set_level(IOV_LOG_ERR);
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 'R')
			root = optarg;
		else if (c == 'c')
			cfgpath = optarg;
		else if (c == 'n')
			runs = atoi(optarg);
		else
			return 2;
	}
	if (!root || !cfgpath || runs < 1) {
		fprintf(stderr, "usage: plan_bench --sysroot TREE --config FILE [--runs N]\n");
		return 2;
	}
	if (iov_sysroot_init(root) < 0)
		return 1;
	if (iov_config_load(cfgpath, "", &cfg, &e) < 0) {
		fprintf(stderr, "plan_bench: %s\n", e.msg);
		return 1;
	}
	all = calloc((size_t)runs, sizeof(*all));
	pl = calloc((size_t)runs, sizeof(*pl));
	hl = calloc((size_t)runs, sizeof(*hl));
	for (int i = 0; i <= runs; i++) {
		struct iov_host *h;
		struct iov_usage *u;
		struct iov_cfg_resolved *rc;
		struct iov_cfg_plan *p;
		struct iov_bind_state st = { 0 };
		double t0 = now_ms(), t1, th;

		if (iov_host_load(&h) < 0) {
			fprintf(stderr, "plan_bench: cannot read the tree\n");
			return 1;
		}
		th = now_ms();
		if (iov_usage_load(&u) < 0 ||
		    iov_usage_scan_vfio(u) < 0) {
			fprintf(stderr, "plan_bench: cannot read the tree\n");
			return 1;
		}
		if (iov_config_resolve(cfg, h, &rc, &e) < 0) {
			fprintf(stderr, "plan_bench: %s\n", e.msg);
			return 1;
		}
		t1 = now_ms();
		{
			struct iov_plan_input in = { .h = h, .u = u, .st = &st, .rc = rc };

			if (iov_cfg_plan(&in, &p, &e) < 0) {
				fprintf(stderr, "plan_bench: %s\n", e.msg);
				return 1;
			}
		}
		if (i > 0) {	/* run 0 warms the page cache */
			all[i - 1] = now_ms() - t0;
			pl[i - 1] = now_ms() - t1;
			hl[i - 1] = th - t0;
		}
		nacts = p->n;
		nimp = p->n_imp;
		iov_cfg_plan_free(p);
		iov_cfg_resolved_free(rc);
		iov_usage_free(u);
		iov_host_free(h);
	}
	qsort(all, (size_t)runs, sizeof(*all), cmp);
	qsort(pl, (size_t)runs, sizeof(*pl), cmp);
	qsort(hl, (size_t)runs, sizeof(*hl), cmp);
	printf("plan: %zu PFs in the config, %zu actions, %zu impact entries\n", cfg->n_pfs, nacts,
	       nimp);
	printf("host model + usage + resolve + plan: best %.1f ms, median %.1f ms over %d runs "
	       "(target < 150 ms)\n", all[0], all[runs / 2], runs);
	printf("  of which the host model (lib/host.h): best %.1f ms, median %.1f ms\n", hl[0],
	       hl[runs / 2]);
	printf("planner alone (config/plan.h): best %.1f ms, median %.1f ms\n", pl[0],
	       pl[runs / 2]);
	{
		double la[3];

		if (getloadavg(la, 3) == 3)
			printf("load average during the runs: %.1f (figures are wall time)\n", la[0]);
	}
	c = all[runs / 2] < 150.0 ? 0 : 1;
	printf("bench-plan: %s\n", c ? "OVER TARGET" : "within target");
	free(all);
	free(pl);
	free(hl);
	iov_config_free(cfg);
	return c;
}
