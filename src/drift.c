#include "src/drift.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "config/plan.h"
#include "lib/err.h"
#include "lib/log.h"
#include "src/apply.h"
#include "src/events.h"
#include "src/follow.h"

/* What the last check found, for GetStatus. */
static struct {
	const char *state;		/* "none", "found", "repaired", "unplannable" */
	char since[32];
	const char *cause;
	json_t *lines;
	char error[800];
} last = { .state = "none" };

/* A re-apply that failed is not retried for the same difference for a while (a PF reset
 * aside): its own roll-back makes rtnetlink and udev noise, which would otherwise bring iovd
 * straight back here, forever. */
#define RETRY_SAME_S 60
static json_t *failed_lines;
static time_t failed_at;
/* A PF reset whose re-convergence has not happened yet (the PF's netdev was not back, the
 * apply failed): the next check is still part of that reset. */
static bool reset_pending;
static int reset_failures;	/* applies of one reset that failed; 3 and it is given up */

static void stamp(void)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(last.since, sizeof(last.since), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_state(const char *state, const char *cause, json_t *lines, const char *error)
{
	if (strcmp(last.state, state) != 0)
		stamp();
	last.state = state;
	last.cause = cause;
	json_decref(last.lines);
	last.lines = lines;
	snprintf(last.error, sizeof(last.error), "%s", error ? error : "");
}

json_t *iovd_drift_status(void)
{
	return json_pack("{s:s, s:s?, s:s?, s:O?, s:s?}", "state", last.state, "since",
			 last.since[0] ? last.since : NULL, "cause", last.cause, "lines", last.lines,
			 "error", last.error[0] ? last.error : NULL);
}

int iovd_drift_check(bool pf_reset)
{
	const struct iov_config *c = iovd_follow_config();
	const char *cause;
	struct iov_cfg_plan *p = NULL;
	struct iov_err e = { 0 };
	json_t *lines, *res = NULL;
	bool reapply;
	int r, n;

	if (!c)
		return -ENOENT;
	pf_reset = pf_reset || reset_pending;
	reset_pending = pf_reset;
	cause = pf_reset ? "pf_reset" : "changed";
	if ((r = iovd_plan_live(c, false, &p, &e)) < 0) {
		/* E.g. the PF has no driver (rmmod): nothing can be done until it is back. */
		if (strcmp(last.state, "unplannable") != 0 || strcmp(last.error, e.msg) != 0) {
			log_warn("drift: cannot plan the config against the host: %s", e.msg);
			iovd_event("drift.found", json_pack("{s:s, s:s, s:s}", "cause", cause,
							    "error", e.msg, "fix", e.fix));
		}
		set_state("unplannable", cause, NULL, e.msg);
		return r;
	}
	n = (int)p->n;
	if (n == 0) {
		reset_pending = false;
		if (!strcmp(last.state, "found") || !strcmp(last.state, "unplannable"))
			set_state("none", NULL, NULL, NULL);
		iov_cfg_plan_free(p);
		return 0;
	}
	lines = json_array();
	for (size_t i = 0; i < p->n; i++)
		json_array_append_new(lines, json_string(p->acts[i].line));
	iov_cfg_plan_free(p);
	reapply = pf_reset || c->policy.on_drift == IOV_DRIFT_REAPPLY;
	if (reapply && !pf_reset && failed_lines && json_equal(failed_lines, lines) &&
	    time(NULL) - failed_at < RETRY_SAME_S) {
		json_decref(lines);
		return n;	/* the same difference the last re-apply could not fix */
	}
	log_info("drift (%s): the host differs from the config in %d place%s; %s", cause, n,
		 n == 1 ? "" : "s", reapply ? "applying the config" : "reporting it (on_drift: report)");
	iovd_event("drift.found", json_pack("{s:i, s:O, s:s, s:s}", "actions", n, "lines", lines,
					    "cause", cause, "policy", c->policy.on_drift ==
					    IOV_DRIFT_REAPPLY ? "reapply" : "report"));
	if (!reapply) {
		reset_pending = false;
		set_state("found", cause, lines, NULL);
		return n;
	}
	r = iovd_apply_config(c, iovd_state_dir(), false, false, &res, &e);
	json_decref(failed_lines);
	failed_lines = NULL;
	if (r != 0) {
		failed_lines = json_incref(lines);
		failed_at = time(NULL);
	}
	if (r == 0) {
		iovd_event("drift.repaired", json_pack("{s:i, s:O, s:s, s:O?}", "actions", n,
						       "lines", lines, "cause", cause, "txn",
						       json_object_get(res, "txn")));
		set_state("repaired", cause, lines, NULL);
		reset_pending = false;
		reset_failures = 0;
	} else {
		if (pf_reset && ++reset_failures >= 3) {
			log_warn("drift: giving up re-converging after a PF reset (3 failed "
				 "applies); `iovctl apply` retries");
			reset_pending = false;
		}
		log_warn("drift: re-applying the config failed: %s", e.msg);
		set_state("found", cause, lines, e.msg);
	}
	json_decref(res);
	return n;
}
