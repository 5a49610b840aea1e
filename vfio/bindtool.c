/* iov-bindtool: a test entry point for vfio/bind.c without the daemon, for the test host
 * and for debugging. Not installed; iovd is the only writer in production.
 *
 *   iov-bindtool [--state PATH] [--sysroot DIR] plan|bind|release DEVICE [--force]
 *   iov-bindtool [--sysroot DIR] move DEVICE DRIVER
 *
 * plan prints the moves a bind would make (nothing is written). move runs the executor on
 * one device with no planning checks and no state file, so the test host can watch the
 * executor's own checks and roll-back against the real kernel (e.g. vfio-pci refusing a
 * device without a group). Exit 0 on success, 1 on a refusal or failure (the message and
 * fix on stderr), 2 on usage errors. */
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "vfio/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
	fprintf(stderr, "usage: iov-bindtool [--state PATH] [--sysroot DIR] plan|bind|release "
		"DEVICE [--force]\n"
		"       iov-bindtool [--sysroot DIR] move DEVICE DRIVER\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *sysroot = NULL, *cmd, *spec;
	struct iov_bind_opts opts = { 0 };
	struct iov_err e = { 0 };
	struct iov_host *h = NULL;
	struct iov_dev *d;
	char msg[512];
	int i = 1, ret;

	iov_log_set_prog("iov-bindtool");
	for (; i < argc && argv[i][0] == '-'; i += 2) {
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(argv[i], "--state"))
			iov_bind_set_state_path(argv[i + 1]);
		else if (!strcmp(argv[i], "--sysroot"))
			sysroot = argv[i + 1];
		else
			return usage();
	}
	if (argc - i < 2 || argc - i > 3)
		return usage();
	cmd = argv[i];
	spec = argv[i + 1];
	if (argc - i == 3 && !strcmp(cmd, "move"))
		opts.driver = argv[i + 2];
	else if (argc - i == 3 && !strcmp(argv[i + 2], "--force"))
		opts.force = true;
	else if (argc - i == 3 || !strcmp(cmd, "move"))
		return usage();
	if (iov_sysroot_init(sysroot) < 0)
		return 2;
	if ((ret = iov_host_load(&h)) < 0) {
		log_err("cannot read the host: %s", strerror(-ret));
		return 1;
	}
	if (iov_host_resolve(h, spec, &d, msg, sizeof(msg)) < 0) {
		log_err("%s", msg);
		iov_host_free(h);
		return 2;
	}
	if (!strcmp(cmd, "plan")) {
		struct iov_usage *u = NULL;
		struct iov_plan *p = NULL;
		char desc[4096];

		ret = iov_usage_load(&u);
		if (ret == 0)
			ret = iov_usage_scan_vfio(u);
		if (ret == 0)
			ret = iov_plan_bind(h, u, d, &opts, &p, &e);
		if (ret == 0) {
			iov_plan_describe(p, desc, sizeof(desc));
			printf("%s%s", desc, p->n ? "\n" : "nothing to do\n");
		}
		iov_plan_free(p);
		iov_usage_free(u);
	} else if (!strcmp(cmd, "move")) {
		struct iov_move m = { .from = d->driver, .from_override = d->driver_override,
				      .to = (char *)opts.driver, .to_override = (char *)opts.driver };
		struct iov_plan p = { .kind = IOV_PLAN_BIND, .group = d->group ? d->group->id : -1,
				      .moves = &m, .n = 1 };

		snprintf(m.dev, sizeof(m.dev), "%s", d->name);
		ret = iov_plan_exec(&p, &iov_bind_io_sysfs, NULL, &e);
	} else if (!strcmp(cmd, "bind")) {
		ret = iov_bind(h, d, &opts, &e);
	} else if (!strcmp(cmd, "release")) {
		ret = iov_release(h, d, &e);
	} else {
		iov_host_free(h);
		return usage();
	}
	if (ret < 0) {
		log_err("%s", e.code ? e.msg : strerror(-ret));
		if (e.code && e.fix[0])
			log_err("fix: %s", e.fix);
	}
	iov_host_free(h);
	return ret < 0 ? 1 : 0;
}
