/* A degraded guest (iovm exits 6: the host took its VF back) with a restart policy is tried
 * again each time the host settles, but not forever: after a bounded number of tries (its
 * kernel gone, so every start fails; or every restart degrading again at once) iovd gives
 * up, says so in the guest's last exit and an event, and tries no more. The io.iovd service
 * runs in a thread with the guest supervisor; "iovm" is a stand-in that exits 6 (run as the
 * iovm user, which setup.sh creates; needs root, skipped without). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/varlink.h"
#include "src/events.h"
#include "src/guest.h"
#include "src/iovd_api.h"
#include "tests/unit/fakesys.h"
#include "tests/unit/srvthread.h"

static struct srvthread loop;
static struct vl_server *srv;
static char *dir, sock[256], kernel[256];
static int settle[2];
static int gave_up;		/* guest.gave_up events seen (server thread) */

static void on_settle(int fd, void *ud)
{
	char c;

	if (read(fd, &c, 1) == 1)
		iovd_guests_host_settled();
}

static void on_event(const json_t *ev, void *ud)
{
	if (!strcmp(json_string_value(json_object_get(ev, "type")), "guest.gave_up"))
		gave_up++;
}

static int setup(void **st)
{
	struct iovd_guest_opts o = { 0 };
	char standin[256], state[256], dev[256], kvm[300];
	FILE *f;
	int lfd;

	if (geteuid() != 0 || !getpwnam("iovm"))
		return 0;	/* the tests skip */
	dir = fk_tmpdir();
	chmod(dir, 0755);	/* the guest user runs the stand-in from here */
	snprintf(standin, sizeof(standin), "%s/iovm-standin", dir);
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	/* A stand-in /dev/kvm: the stand-in iovm never uses it, and a machine without KVM
	 * (CI) must run this test all the same. */
	snprintf(dev, sizeof(dev), "%s/dev", dir);
	snprintf(kvm, sizeof(kvm), "%s/kvm", dev);
	assert_int_equal(mkdir(dev, 0755), 0);
	assert_non_null(f = fopen(kvm, "w"));
	fclose(f);
	assert_non_null(f = fopen(standin, "w"));
	fputs("#!/bin/sh\n# iovm's exit status when the host took its VF back\nexit 6\n", f);
	fclose(f);
	chmod(standin, 0755);
	iov_log_set_level(IOV_LOG_ERR);
	lfd = vl_listen(sock);
	assert_true(lfd >= 0);
	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, (gid_t)-1, NULL);
	assert_non_null(srv);
	o.state_dir = state;
	o.iovm = standin;
	o.dev_dir = dev;
	assert_int_equal(iovd_guests_init(srv, &o), 0);
	assert_int_equal(pipe(settle), 0);
	assert_int_equal(vl_server_watch(srv, settle[0], on_settle, NULL), 0);
	assert_int_equal(iovd_event_subscribe(on_event, NULL), 0);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	if (!srv)
		return 0;
	srvthread_stop(&loop);
	iovd_event_unsubscribe(on_event, NULL);
	iovd_guests_shutdown();
	vl_server_free(srv);
	close(settle[1]);
	fk_rmtree(dir);
	free(dir);
	return 0;
}

static json_t *call(const char *method, json_t *params, char **err)
{
	int fd = vl_connect(sock), rc;
	json_t *r = NULL;

	assert_true(fd >= 0);
	*err = NULL;
	rc = vl_call_sync(fd, method, params, 10000, &r, err);
	close(fd);
	json_decref(params);
	assert_true(rc == 0 || rc == 1);
	return r;
}

/* The guest as VmShow has it (also a round trip: the settle written before is done). */
static json_t *show(const char *name)
{
	char *e;
	json_t *r = call("io.iovd.VmShow", json_pack("{s:s}", "name", name), &e), *g;

	assert_null(e);
	g = json_incref(json_object_get(r, "guest"));
	json_decref(r);
	return g;
}

/* Waits until the guest is degraded and waiting (iovm ended with 6 and was reaped). */
static void wait_degraded(const char *name, bool waiting)
{
	for (long i = 0; i < 500; i++) {
		json_t *g = show(name);
		bool ok = !strcmp(json_string_value(json_object_get(g, "state")), "degraded") &&
			  json_is_true(json_object_get(g, "waiting_for_vfs")) == waiting;

		json_decref(g);
		if (ok)
			return;
		usleep(10 * 1000);
	}
	fail_msg("guest %s never became degraded%s", name, waiting ? " and waiting" : "");
}

static void start(const char *name)
{
	FILE *f = fopen(kernel, "w");
	char *e;

	assert_non_null(f);
	fputs("not a kernel: the stand-in does not read it", f);
	fclose(f);
	chmod(kernel, 0644);
	json_decref(call("io.iovd.VmStart", json_pack("{s:s, s:s, s:s, s:[]}", "name", name,
			 "kernel", kernel, "restart", "always", "nics"), &e));
	assert_null(e);
	wait_degraded(name, true);
}

static void expect_gave_up(const char *name, int tries)
{
	json_t *g = show(name);
	char want[64];

	snprintf(want, sizeof(want), "not started again after %d tries", tries);
	if (!strstr(json_string_value(json_object_get(g, "last_exit")), want))
		fail_msg("last_exit: %s", json_string_value(json_object_get(g, "last_exit")));
	assert_false(json_is_true(json_object_get(g, "waiting_for_vfs")));
	json_decref(g);
}

/* Every start fails (the kernel file is gone): 10 tries, then no more. */
static void test_start_fails(void **st)
{
	json_t *g;

	if (!srv)
		skip();
	start("d");
	assert_int_equal(unlink(kernel), 0);
	for (int i = 1; i <= 10; i++) {
		assert_int_equal(write(settle[1], "s", 1), 1);
		g = show("d");
		assert_true(json_is_true(json_object_get(g, "waiting_for_vfs")) == (i < 10));
		if (i < 10)
			assert_non_null(strstr(json_string_value(json_object_get(
				g, "not_restarted_because")), kernel));
		json_decref(g);
	}
	expect_gave_up("d", 10);
	assert_int_equal(gave_up, 1);
	/* More settles: no more tries, the reason stays. */
	assert_int_equal(write(settle[1], "s", 1), 1);
	expect_gave_up("d", 10);
	assert_int_equal(gave_up, 1);
}

/* Every restart works but degrades again at once: each counts, 10 and no more. */
static void test_degrades_again(void **st)
{
	json_t *g;
	int restarts;

	if (!srv)
		skip();
	gave_up = 0;
	start("e");
	for (int i = 1; i < 10; i++) {
		assert_int_equal(write(settle[1], "s", 1), 1);
		wait_degraded("e", true);
	}
	assert_int_equal(write(settle[1], "s", 1), 1);
	wait_degraded("e", false);
	g = show("e");
	restarts = (int)json_integer_value(json_object_get(g, "restarts"));
	json_decref(g);
	assert_int_equal(restarts, 10);
	expect_gave_up("e", 10);
	assert_int_equal(gave_up, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_fails),
		cmocka_unit_test(test_degrades_again),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
