/* Fair service (issue 10, item 1): unprivileged local users flood the io.iovd service with
 * oneway GetHost calls over many connections; root's GetVersion must still be answered
 * within 100 ms. The daemon's API runs on the layout A fake tree (docs/hardware.md) (or on the tree named
 * by IOV_FLOOD_TREE, e.g. bench's 16x128 tree); the flooders are children that drop to
 * uid 65534 and 65533. The measured latencies are printed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/iovd_api.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "tests/unit/srvthread.h"

static struct srvthread loop;
static char dir[64], tree[512], sock[128];
static struct vl_server *srv;

static int setup(void **st)
{
	char cmd[1024];
	const char *t = getenv("IOV_FLOOD_TREE");
	int lfd;

	strcpy(dir, "/tmp/test_flood.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(sock, sizeof(sock), "%s/io.iovd", dir);
	if (t && *t) {
		snprintf(tree, sizeof(tree), "%s", t);
	} else {
		snprintf(tree, sizeof(tree), "%s/tree", dir);
		snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/gen/mksysfs.py "
			 "tests/fixtures/layout_a.desc %s > /dev/null", tree);
		if (system(cmd) != 0) {
			fprintf(stderr, "cannot generate the fake tree (run from the repository root)\n");
			return -1;
		}
	}
	assert_int_equal(iov_sysroot_set(tree), 0);
	iov_log_set_level(IOV_LOG_ERR);
	lfd = vl_listen(sock);
	assert_true(lfd >= 0);
	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, (gid_t)-1, NULL);
	assert_non_null(srv);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	srvthread_stop(&loop);
	vl_server_free(srv);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A flooder: VL_MAX_PER_UID connections as uid, each kept full of oneway GetHost calls
 * (and, on every other connection, ordinary GetHost calls whose replies it never reads).
 * Signals `ready` once every connection has had a full 64 KiB written. */
static pid_t flooder(uid_t uid, int ready)
{
	static const char ow[] = "{\"method\":\"io.iovd.GetHost\",\"oneway\":true}";
	static const char rq[] = "{\"method\":\"io.iovd.GetHost\"}";
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;

	int fds[VL_MAX_PER_UID], n = 0;
	static char buf[VL_MAX_MSG];
	size_t len = 0;

	if (setgid(uid) < 0 || setuid(uid) < 0)
		_exit(10);
	while (len + sizeof(ow) <= sizeof(buf)) {
		memcpy(buf + len, ow, sizeof(ow));	/* the NUL terminates the message */
		len += sizeof(ow);
	}
	for (int i = 0; i < VL_MAX_PER_UID; i++) {
		fds[i] = vl_connect(sock);
		if (fds[i] < 0)
			_exit(14);
		n++;
		if (i % 2 && send(fds[i], rq, sizeof(rq), MSG_NOSIGNAL) != (ssize_t)sizeof(rq))
			_exit(11);
		if (send(fds[i], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)
			_exit(12);
	}
	if (write(ready, "r", 1) != 1)
		_exit(13);
	for (;;) {	/* keep the pipes full until killed */
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0 && send(fds[i], buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    errno != EAGAIN) {
				close(fds[i]);
				fds[i] = -1;
			}
		poll(NULL, 0, 5);
	}
}

static void test_root_served_during_flood(void **st)
{
	const char *lim = getenv("IOV_FLOOD_LIMIT_MS");
	double limit = lim ? atof(lim) : 100, worst = 0, second = 0, sum = 0;
	const char *calls = getenv("IOV_FLOOD_CALLS");
	int ready[2], n = calls ? atoi(calls) : 10;
	pid_t kids[2];
	char c;

	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(ready), 0);
	kids[0] = flooder(65534, ready[1]);
	kids[1] = flooder(65533, ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(read(ready[0], &c, 1), 1);
	poll(NULL, 0, 1000);	/* the flood under way (the first GetHost reads the host) */
	for (int i = 0; i < n; i++) {
		double t0 = now_ms(), dt;
		json_t *r = NULL;
		char *e = NULL;
		int fd = vl_connect(sock), rc;

		assert_true(fd >= 0);
		rc = vl_call_sync(fd, "io.iovd.GetVersion", NULL, 120000, &r, &e);
		dt = now_ms() - t0;
		close(fd);
		if (rc != 0)
			fail_msg("root's GetVersion failed after %.1f ms: %d", dt, rc);
		json_decref(r);
		sum += dt;
		if (dt > worst) {
			second = worst;
			worst = dt;
		} else if (dt > second) {
			second = dt;
		}
		poll(NULL, 0, 20);
	}
	for (int i = 0; i < 2; i++) {
		int s;

		kill(kids[i], SIGKILL);
		waitpid(kids[i], &s, 0);
	}
	close(ready[0]);
	close(ready[1]);
	printf("flood: root GetVersion during the flood: worst %.1f ms, second worst %.1f ms, "
	       "mean %.1f ms (%d calls, tree %s)\n", worst, second, sum / n, n, tree);
	/* All but one call within the limit; the one may have lost the CPU to another process
	 * on a loaded machine, but not for 10 times the limit. */
	if ((n > 1 ? second : worst) > limit || worst > 10 * limit)
		fail_msg("root waited %.1f ms, %.1f ms (limit %.0f ms)", worst, second, limit);
}

/* How many devices GetHost shows with numa_node n, asked as uid (forks for non-root). */
static int numa_count(uid_t uid, int n)
{
	char want[32];
	pid_t pid;
	int st;

	snprintf(want, sizeof(want), "\"numa_node\":%d", n);
	pid = uid ? fork() : 0;
	assert_true(pid >= 0);
	if (pid == 0) {
		json_t *r = NULL;
		char *e = NULL, *txt;
		int fd, k = 0;

		if (uid && (setgid(uid) < 0 || setuid(uid) < 0))
			_exit(100);
		if ((fd = vl_connect(sock)) < 0 ||
		    vl_call_sync(fd, "io.iovd.GetHost", NULL, 10000, &r, &e) != 0)
			_exit(101);
		close(fd);
		txt = json_dumps(r, JSON_COMPACT);
		for (char *q = txt; q && (q = strstr(q, want)); q++)
			k++;
		free(txt);
		json_decref(r);
		if (!uid)
			return k;
		_exit(k);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) < 100);
	return WEXITSTATUS(st);
}

static void set_numa(const char *dev, int n)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/numa_node", tree, dev);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%d\n", n);
	fclose(f);
}

/* Unprivileged GetHost calls share a snapshot per host generation: a change iovd did not
 * make or hear of is not re-read for them (so a flood cannot make it re-read the host), root
 * always reads afresh (refreshing the snapshot), and a settled uevent burst
 * (iovd_api_host_changed) moves the generation. */
static void test_gethost_snapshot(void **st)
{
	if (geteuid() != 0 || getenv("IOV_FLOOD_TREE"))
		skip();
	assert_int_equal(numa_count(0, 7), 0);		/* root: snapshot of this tree */
	assert_int_equal(numa_count(65534, 7), 0);
	set_numa("0000:00:00.0", 7);
	assert_int_equal(numa_count(65534, 7), 0);	/* the snapshot */
	assert_int_equal(numa_count(0, 7), 1);		/* root reads the host */
	assert_int_equal(numa_count(65534, 7), 1);	/* ...and refreshed the snapshot */
	set_numa("0000:00:00.0", 5);
	assert_int_equal(numa_count(65534, 5), 0);
	iovd_api_host_changed();
	assert_int_equal(numa_count(65534, 5), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_root_served_during_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gethost_snapshot, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
