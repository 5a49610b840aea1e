/* iovd following the config, through io.iovd (src/follow.c, src/iovd_api.c) on a writable
 * fake tree (layout A): Plan re-reads the file and plans it; Apply --dry-run changes
 * nothing; an empty plan writes no journal; a bad config is a ConfigError naming the file
 * and the previous config stays in force (GetStatus); a real apply on a tree whose "kernel"
 * never removes the VFs fails at its step, names it and rolls back through the sysfs
 * executor (sriov_numvfs back to 4). The server runs in a thread; the tests are clients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "tests/unit/srvthread.h"
#include "src/apply.h"
#include "src/follow.h"
#include "src/iovd_api.h"
#include "vfio/bind.h"

static struct srvthread loop;
static char dir[64], tree[96], sock[128], cfg[128], state[128];
static struct vl_server *srv;

static void write_cfg(const char *text)
{
	FILE *f = fopen(cfg, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *tree_file(const char *rel)
{
	static char buf[64];
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/sys/bus/pci/devices/%s", tree, rel);
	buf[0] = 0;
	if ((f = fopen(p, "r"))) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static int setup(void **st)
{
	struct iovd_follow_opts fo = { .cmdline_admin = (gid_t)-1 };
	static char bs[160];		/* kept: iov_bind_set_state_path keeps the pointer */
	char cmd[512];
	int lfd;

	strcpy(dir, "/tmp/test_iovdcfg.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(sock, sizeof(sock), "%s/io.iovd", dir);
	snprintf(cfg, sizeof(cfg), "%s/iovd.json", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(bs, sizeof(bs), "%s/bind-state.json", state);
	snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "
		 "%s > /dev/null", tree);
	if (system(cmd) != 0)
		return -1;
	assert_int_equal(iov_sysroot_set(tree), 0);
	iov_bind_set_state_path(bs);
	iovd_apply_set_wait_ms(100);
	iov_log_set_level(IOV_LOG_ERR);
	fo.config_path = cfg;
	fo.dropin_dir = "";
	fo.state_dir = state;
	iovd_follow_init(&fo);
	lfd = vl_listen(sock);
	assert_true(lfd >= 0);
	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, (gid_t)-1, NULL);
	assert_non_null(srv);
	iovd_follow_set_server(srv);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	srvthread_stop(&loop);
	vl_server_free(srv);
	iovd_follow_set_server(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static json_t *call(const char *method, const char *params, char **err)
{
	json_t *p = json_loads(params, 0, NULL), *r = NULL;
	int fd = vl_connect(sock), rc;

	assert_non_null(p);
	assert_true(fd >= 0);
	*err = NULL;
	rc = vl_call_sync(fd, method, p, 20000, &r, err);
	close(fd);
	json_decref(p);
	assert_true(rc == 0 || rc == 1);
	return r;
}

static const char *line(json_t *plan, size_t i)
{
	const char *s = json_string_value(json_object_get(json_array_get(
		json_object_get(plan, "actions"), i), "line"));
	return s ? s : "";
}

static void test_follow(void **st)
{
	char *err = NULL, path[256];
	json_t *r;

	/* Nothing loaded yet. */
	r = call("io.iovd.GetStatus", "{}", &err);
	assert_null(err);
	assert_true(json_is_null(json_object_get(r, "config")));
	/* The loop's turns: at least the ones that served this test's calls. */
	assert_true(json_integer_value(json_object_get(json_object_get(r, "loop"), "turns")) >= 1);
	assert_true(json_is_integer(json_object_get(json_object_get(json_object_get(r, "loop"),
								    "histogram"), "<1ms")));
	json_decref(r);

	/* The host as it is: an empty plan; Reload adopts it and writes no journal. */
	write_cfg("{ \"pfs\": [ { \"name\": \"lan\", \"match\": { \"netdev\": \"eno1\" }, "
		  "\"num_vfs\": 4 } ] }");
	r = call("io.iovd.Plan", "{}", &err);
	assert_null(err);
	assert_int_equal(json_array_size(json_object_get(r, "actions")), 0);
	json_decref(r);
	r = call("io.iovd.Reload", "{}", &err);
	assert_null(err);
	assert_string_equal(json_string_value(json_object_get(r, "result")), "nothing to do");
	json_decref(r);
	snprintf(path, sizeof(path), "%s/journal.jsonl", state);
	assert_int_equal(access(path, F_OK), -1);

	/* A change: planned from the file as it is now, diff lines in order. */
	write_cfg("{ \"pfs\": [ { \"name\": \"lan\", \"match\": { \"netdev\": \"eno1\" }, "
		  "\"num_vfs\": 6 } ] }");
	r = call("io.iovd.Plan", "{}", &err);
	assert_null(err);
	assert_string_equal(line(r, 0), "- remove 4 VFs of lan");
	assert_string_equal(line(r, 1), "+ create 6 VFs on lan");
	json_decref(r);
	r = call("io.iovd.Apply", "{\"dry_run\": true}", &err);
	assert_null(err);
	assert_false(json_is_true(json_object_get(r, "applied")));
	assert_string_equal(json_string_value(json_object_get(r, "result")), "dry run");
	json_decref(r);
	assert_string_equal(tree_file("0000:04:00.0/sriov_numvfs"), "4");
	assert_int_equal(access(path, F_OK), -1);

	/* A config that does not parse: ConfigError naming the file; the previous one stays. */
	write_cfg("{ \"pfs\": [ { \"name\": \"lan\", ");
	r = call("io.iovd.Reload", "{}", &err);
	assert_non_null(err);
	assert_string_equal(err, "io.iovd.ConfigError");
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")), cfg));
	free(err);
	json_decref(r);
	r = call("io.iovd.GetStatus", "{}", &err);
	assert_null(err);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "config"), "pfs")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(r, "config_error")), cfg));
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "difference"),
							 "actions")), 0);
	json_decref(r);

	/* A real apply the fake "kernel" cannot follow (VFs never go away): the first step
	 * fails, is named, and the count is put back; the journal ends rolled back. */
	write_cfg("{ \"pfs\": [ { \"name\": \"lan\", \"match\": { \"netdev\": \"eno1\" }, "
		  "\"num_vfs\": 6 } ] }");
	r = call("io.iovd.Apply", "{}", &err);
	assert_non_null(err);
	assert_string_equal(err, "io.iovd.Failed");
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")),
			       "step 1 of 2 (- remove 4 VFs of lan) failed"));
	assert_non_null(strstr(json_string_value(json_object_get(r, "message")), "put back"));
	free(err);
	json_decref(r);
	assert_string_equal(tree_file("0000:04:00.0/sriov_numvfs"), "4");
	r = call("io.iovd.GetStatus", "{}", &err);
	assert_null(err);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "last_apply"),
							      "result")), "rolled_back");
	json_decref(r);
	/* Unknown parameters are refused. */
	r = call("io.iovd.Apply", "{\"dryrun\": true}", &err);
	assert_non_null(err);
	free(err);
	json_decref(r);
}

/* Plan and GetStatus plan on the worker thread: with a device's vendor file a FIFO, the
 * host read waits for the test to write it, and meanwhile the daemon answers GetVersion;
 * then both come back with their plans. (Before, the read held the loop.) */
static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void test_plan_off_loop(void **st)
{
	static const char *const methods[] = { "io.iovd.Plan", "io.iovd.GetStatus" };
	char fifo[256], *e = NULL;
	json_t *r;

	write_cfg("{ \"pfs\": [ { \"name\": \"lan\", \"match\": { \"netdev\": \"eno1\" }, "
		  "\"num_vfs\": 4 } ] }");
	r = call("io.iovd.Reload", "{}", &e);	/* GetStatus plans the config in force */
	assert_null(e);
	json_decref(r);
	snprintf(fifo, sizeof(fifo), "%s/sys/bus/pci/devices/0000:04:00.0/vendor", tree);
	assert_int_equal(unlink(fifo), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	for (size_t m = 0; m < 2; m++) {
		int fd = vl_connect(sock);
		struct vl_reader *rd = vl_reader_new(fd);
		bool more, got = false;
		long t0;

		assert_true(fd >= 0);
		assert_int_equal(vl_call_start(fd, methods[m], NULL, false), 0);
		t0 = mono_ms();
		r = call("io.iovd.GetVersion", "{}", &e);
		assert_null(e);
		json_decref(r);
		if (mono_ms() - t0 > 2000)
			fail_msg("%s held the loop: GetVersion took %ld ms", methods[m], mono_ms() - t0);
		/* Feed the FIFO until the answer comes (a write may reach a reader closing). */
		for (t0 = mono_ms(); !got && mono_ms() - t0 < 10000;) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int w = open(fifo, O_WRONLY | O_NONBLOCK);

			if (w >= 0) {
				assert_int_equal(write(w, "0x8086\n", 7), 7);
				close(w);
			}
			got = poll(&p, 1, 20) == 1;
		}
		assert_true(got);
		assert_int_equal(vl_reply_read(rd, 5000, &r, &e, &more), 0);
		assert_true(json_is_array(json_object_get(m ? json_object_get(r, "difference") : r,
							  "actions")));
		json_decref(r);
		vl_reader_free(rd);
		close(fd);
	}
	unlink(fifo);
	{
		FILE *f = fopen(fifo, "w");	/* the tree as it was */

		assert_non_null(f);
		fputs("0x8086\n", f);
		assert_int_equal(fclose(f), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plan_off_loop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
