/* Drift (src/drift.c) on fake trees (tests/fixtures/drift/): a host that matches the config
 * has none; one where a VF was moved off vfio-pci by hand has it: drift.found on the bus with
 * the difference, in the status; on_drift "report" leaves the host alone, "reapply" (and a PF
 * reset whatever the policy) applies the config; the fake kernel does not bind, so that apply
 * fails, is rolled back, and no drift.repaired is claimed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "sriov/numvfs.h"
#include "src/drift.h"
#include "src/events.h"
#include "src/follow.h"
#include "vfio/bind.h"

static char dir[64], conv[96], drifted[96], cfg[128], st_dir[128], bs[160];
static json_t *seen;

static void on_ev(const json_t *ev, void *ud)
{
	json_array_append(seen, (json_t *)ev);
}

static void write_cfg(const char *policy)
{
	FILE *f = fopen(cfg, "w");

	assert_non_null(f);
	fprintf(f, "{ \"policy\": { \"on_drift\": \"%s\" },\n"
		   "  \"pfs\": [ { \"name\": \"uplink\", \"match\": { \"address\": \"0000:01:00.0\" },\n"
		   "    \"num_vfs\": 2, \"defaults\": { \"driver\": \"vfio-pci\" } } ] }\n", policy);
	fclose(f);
}

static void load_cfg(const char *policy)
{
	struct iov_err e = { 0 };
	json_t *res = NULL;
	bool bad;

	write_cfg(policy);
	if (iovd_follow_reload(false, false, false, &res, &bad, &e) < 0)
		fail_msg("config: %s", e.msg);
	json_decref(res);
}

static int setup(void **st)
{
	char cmd[512];

	strcpy(dir, "/tmp/test_drift.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(conv, sizeof(conv), "%s/conv", dir);
	snprintf(drifted, sizeof(drifted), "%s/drifted", dir);
	snprintf(cfg, sizeof(cfg), "%s/iovd.json", dir);
	snprintf(st_dir, sizeof(st_dir), "%s/state", dir);
	snprintf(bs, sizeof(bs), "%s/bind-state.json", st_dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s && python3 tests/fixtures/gen/mksysfs.py "
		 "tests/fixtures/drift/converged.desc %s >/dev/null && python3 "
		 "tests/fixtures/gen/mksysfs.py tests/fixtures/drift/drifted.desc %s >/dev/null",
		 st_dir, conv, drifted);
	if (system(cmd) != 0)
		return -1;
	iov_log_set_level(IOV_LOG_ERR);
	iov_bind_set_state_path(bs);
	iov_vfs_set_timeout_ms(100);
	struct iovd_follow_opts fo = { .config_path = cfg, .dropin_dir = "", .state_dir = st_dir,
				       .cmdline_admin = (gid_t)-1 };
	iovd_follow_init(&fo);
	seen = json_array();
	assert_int_equal(iovd_event_subscribe(on_ev, NULL), 0);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	iovd_event_unsubscribe(on_ev, NULL);
	json_decref(seen);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static size_t count(const char *type)
{
	size_t n = 0, i;
	json_t *ev;

	json_array_foreach(seen, i, ev)
		n += strcmp(json_string_value(json_object_get(ev, "type")), type) == 0;
	return n;
}

static json_t *last_of(const char *type)
{
	json_t *ev, *found = NULL;
	size_t i;

	json_array_foreach(seen, i, ev)
		if (strcmp(json_string_value(json_object_get(ev, "type")), type) == 0)
			found = ev;
	return found;
}

static const char *state(void)
{
	static char buf[32];
	json_t *s = iovd_drift_status();

	snprintf(buf, sizeof(buf), "%s", json_string_value(json_object_get(s, "state")));
	json_decref(s);
	return buf;
}

static void test_no_config(void **st)
{
	assert_int_equal(iovd_drift_check(false), -ENOENT);
	assert_string_equal(state(), "none");
}

static void test_report(void **st)
{
	json_t *ev;

	load_cfg("report");
	assert_int_equal(iov_sysroot_set(conv), 0);
	json_array_clear(seen);
	assert_int_equal(iovd_drift_check(false), 0);
	assert_int_equal(json_array_size(seen), 0);
	assert_string_equal(state(), "none");

	assert_int_equal(iov_sysroot_set(drifted), 0);
	assert_int_equal(iovd_drift_check(false), 1);
	ev = last_of("drift.found");
	assert_non_null(ev);
	assert_string_equal(json_string_value(json_object_get(ev, "policy")), "report");
	assert_string_equal(json_string_value(json_object_get(ev, "cause")), "changed");
	assert_non_null(strstr(json_string_value(json_array_get(json_object_get(ev, "lines"), 0)),
			       "uplink/vf1 driver igbvf -> vfio-pci"));
	assert_int_equal(count("apply.started"), 0);	/* report: the host is left alone */
	assert_string_equal(state(), "found");

	/* in the status iovctl shows */
	json_t *s = iovd_follow_status_base();
	assert_string_equal(json_string_value(json_object_get(json_object_get(s, "drift"), "state")),
			    "found");
	json_decref(s);

	/* Someone put it back: no drift any more. */
	assert_int_equal(iov_sysroot_set(conv), 0);
	assert_int_equal(iovd_drift_check(false), 0);
	assert_string_equal(state(), "none");
}

static void test_reapply_and_reset(void **st)
{
	load_cfg("reapply");
	assert_int_equal(iov_sysroot_set(drifted), 0);
	json_array_clear(seen);
	assert_int_equal(iovd_drift_check(false), 1);
	assert_int_equal(count("drift.found"), 1);
	assert_int_equal(count("apply.started"), 1);
	/* the fake kernel never binds vfio-pci: failed, rolled back, not claimed repaired */
	assert_int_equal(count("apply.failed"), 1);
	assert_int_equal(count("drift.repaired"), 0);
	assert_string_equal(state(), "found");
	/* The same difference again (e.g. the roll-back's own noise): not re-applied at once. */
	json_array_clear(seen);
	assert_int_equal(iovd_drift_check(false), 1);
	assert_int_equal(count("apply.started"), 0);

	/* A PF reset re-converges whatever the policy. */
	load_cfg("report");
	json_array_clear(seen);
	assert_int_equal(iovd_drift_check(true), 1);
	assert_string_equal(json_string_value(json_object_get(last_of("drift.found"), "cause")),
			    "pf_reset");
	assert_int_equal(count("apply.started"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_config),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_reapply_and_reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
