/* varlink deferred replies and the loop's turn statistics (lib/varlink.h): a call answered
 * from a later event while other clients are served, an answer given in bounded pieces over
 * later turns, a caller that goes away (its call is cancelled once), a oneway call and an
 * answer given inside the handler (one reply each), a waiting caller that is not "idle",
 * and the histogram naming the method of the longest turn. The server runs in a thread;
 * a pipe it watches tells it to answer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/varlink.h"
#include "tests/unit/srvthread.h"

/* Shared with the server thread; the tests read them only after a round trip. */
static struct srvthread loop;
static struct vl_server *srv;
static struct vl_deferred *waiting;
static int cancelled, pieces_done;
static char dir[64], path[96];
static int inject[2];

static void on_cancel(struct vl_deferred *d, void *ud)
{
	cancelled++;
	waiting = NULL;
}

/* Answers later, when the test writes 'a' to the pipe. */
static void m_later(struct vl_call *c, json_t *params, void *ud)
{
	waiting = vl_call_defer(c, on_cancel, NULL);
	if (!waiting) {
		vl_error(c, "test.NoDefer", NULL);
		return;
	}
	/* A second deferral of the same call is refused. */
	if (vl_call_defer(c, on_cancel, NULL) || errno != EINVAL)
		vl_error(c, "test.TwoDefers", NULL);	/* ignored: the call is deferred */
}

/* Deferred, then answered before the handler returns: exactly one reply. */
static void m_at_once(struct vl_call *c, json_t *params, void *ud)
{
	struct vl_deferred *d = vl_call_defer(c, on_cancel, NULL);

	if (d)
		vl_deferred_reply(d, json_pack("{s:s}", "answer", "at once"));
}

/* 10 pieces of 10 ms, one per loop turn, then the answer. */
struct pieces {
	struct vl_deferred *d;
	int left;
};

static void piece(void *ud)
{
	struct pieces *p = ud;
	struct timespec ts = { 0, 10 * 1000000L };

	nanosleep(&ts, NULL);
	pieces_done++;
	if (--p->left > 0 && vl_server_later(srv, "a test piece", piece, p) == 0)
		return;
	vl_deferred_reply(p->d, json_pack("{s:i}", "pieces", pieces_done));
	free(p);
}

static void m_pieces(struct vl_call *c, json_t *params, void *ud)
{
	struct pieces *p = calloc(1, sizeof(*p));

	if (!p || !(p->d = vl_call_defer(c, NULL, NULL)) ||
	    vl_server_later(vl_call_server(c), "a test piece", piece, p) < 0) {
		free(p);
		vl_error(c, "test.NoDefer", NULL);
		return;
	}
	p->left = 10;
}

/* Two later tasks due in the same turn: the first cancels the second, which never runs. */
static int task_b_ran;

static void task_b(void *ud)
{
	task_b_ran++;
}

static void task_a(void *ud)
{
	vl_server_later_cancel(srv, task_b, NULL);
	vl_deferred_reply(ud, json_pack("{s:i}", "b_ran", task_b_ran));
}

static void m_cancel(struct vl_call *c, json_t *params, void *ud)
{
	struct vl_deferred *d = vl_call_defer(c, NULL, NULL);

	if (!d || vl_server_later(srv, "a", task_a, d) < 0 ||
	    vl_server_later(srv, "b", task_b, NULL) < 0)
		abort();
}

static void m_sleep(struct vl_call *c, json_t *params, void *ud)
{
	struct timespec ts = { 0, 60 * 1000000L };

	nanosleep(&ts, NULL);
}

static void m_stats(struct vl_call *c, json_t *params, void *ud)
{
	vl_reply(c, vl_server_loop_stats(vl_call_server(c)));
}

static void m_echo(struct vl_call *c, json_t *params, void *ud)
{
	vl_reply(c, json_pack("{s:O}", "echo", params));
}

static const struct vl_method methods[] = {
	{ "test.Later", m_later, false },
	{ "test.AtOnce", m_at_once, false },
	{ "test.Pieces", m_pieces, false },
	{ "test.Sleep", m_sleep, false },
	{ "test.Cancel", m_cancel, false },
	{ "test.Stats", m_stats, false },
	{ "test.Echo", m_echo, false },
};

static const struct vl_interface iface = {
	.name = "test",
	.description = "interface test\nmethod Echo() -> ()\n",
	.methods = methods,
	.n_methods = sizeof(methods) / sizeof(*methods),
};

static const struct vl_service_info info = { "v", "p", "1", "u" };

/* 'a': answer the waiting call; 'e': answer it with an error. */
static void on_inject(int fd, void *ud)
{
	char cmd;

	if (read(fd, &cmd, 1) != 1 || !waiting)
		return;
	if (cmd == 'e')
		vl_deferred_error(waiting, "test.Late", json_pack("{s:s}", "why", "asked"));
	else
		vl_deferred_reply(waiting, json_pack("{s:s}", "answer", "later"));
	waiting = NULL;
}

static int setup(void **state)
{
	srv = srvthread_listen(dir, path, "/tmp/test_vldefer.XXXXXX", &info, &iface);
	assert_non_null(srv);
	assert_int_equal(pipe(inject), 0);
	assert_int_equal(vl_server_watch(srv, inject[0], on_inject, NULL), 0);
	vl_server_watch_name(srv, inject[0], "the test's pipe");
	assert_int_equal(srvthread_start(&loop, srv), 0);
	cancelled = pieces_done = 0;
	waiting = NULL;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	srvthread_stop(&loop);
	vl_server_free(srv);
	close(inject[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void cmd(char c)
{
	assert_int_equal(write(inject[1], &c, 1), 1);
}

/* A round trip on a fresh connection: what the server did before is done. */
static void echo(const char *what)
{
	int fd = vl_connect(path);
	json_t *r = NULL, *p = json_pack("{s:s}", "w", what);
	char *e = NULL;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_sync(fd, "test.Echo", p, 5000, &r, &e), 0);	/* p not taken */
	json_decref(p);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "echo"), "w")),
			    what);
	json_decref(r);
	close(fd);
}

/* The reply to a call started earlier; 0 or 1 (error) as vl_reply_read. */
static int read_reply(int fd, int timeout_ms, json_t **r, char **e)
{
	struct vl_reader *rd = vl_reader_new(fd);
	bool more = true;
	int ret;

	assert_non_null(rd);
	ret = vl_reply_read(rd, timeout_ms, r, e, &more);
	if (ret >= 0)
		assert_false(more);
	vl_reader_free(rd);
	return ret;
}

/* The deferred call waits while another client is served; the answer arrives later, and
 * the same connection then takes its next call. */
static void test_answer_later(void **state)
{
	int fd = vl_connect(path);
	json_t *r = NULL;
	char *e = NULL;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_start(fd, "test.Later", NULL, false), 0);
	echo("meanwhile");
	assert_int_equal(read_reply(fd, 200, &r, &e), -ETIMEDOUT);
	cmd('a');
	assert_int_equal(read_reply(fd, 5000, &r, &e), 0);
	assert_string_equal(json_string_value(json_object_get(r, "answer")), "later");
	json_decref(r);
	r = NULL;
	/* An error answer, on the same connection. */
	assert_int_equal(vl_call_start(fd, "test.Later", NULL, false), 0);
	echo("sync");
	cmd('e');
	assert_int_equal(read_reply(fd, 5000, &r, &e), 1);
	assert_string_equal(e, "test.Late");
	assert_string_equal(json_string_value(json_object_get(r, "why")), "asked");
	free(e);
	json_decref(r);
	close(fd);
	echo("after");
	assert_int_equal(cancelled, 0);
}

/* The caller goes away before the answer: the owner is told once, and nothing else. */
static void test_caller_gone(void **state)
{
	int fd = vl_connect(path);

	assert_true(fd >= 0);
	assert_int_equal(vl_call_start(fd, "test.Later", NULL, false), 0);
	echo("deferred");
	close(fd);
	for (long t0 = ms_now(); ms_now() - t0 < 5000;) {
		echo("poll");
		if (cancelled)
			break;
	}
	assert_int_equal(cancelled, 1);
	assert_null(waiting);
	cmd('a');		/* nothing to answer: no crash, no reply anywhere */
	echo("after");
	assert_int_equal(cancelled, 1);
}

/* Answered inside the handler; and a oneway call deferred: one reply each, no more. */
static void test_one_reply(void **state)
{
	int fd = vl_connect(path);
	json_t *r = NULL, *p;
	char *e = NULL;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_sync(fd, "test.AtOnce", NULL, 5000, &r, &e), 0);
	assert_string_equal(json_string_value(json_object_get(r, "answer")), "at once");
	json_decref(r);
	r = NULL;
	/* Had AtOnce sent two replies, this call would read the stale one. */
	p = json_pack("{s:i}", "n", 1);
	assert_int_equal(vl_call_sync(fd, "test.Echo", p, 5000, &r, &e), 0);
	json_decref(p);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "echo"), "n")), 1);
	json_decref(r);
	r = NULL;
	/* oneway: the answer is dropped, and the next call waits for it. */
	static const char ow[] = "{\"method\":\"test.Later\",\"oneway\":true}";

	assert_true(write(fd, ow, sizeof(ow)) == (ssize_t)sizeof(ow));	/* NUL included */
	echo("queued");
	cmd('a');
	p = json_pack("{s:i}", "n", 2);
	assert_int_equal(vl_call_sync(fd, "test.Echo", p, 5000, &r, &e), 0);
	json_decref(p);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "echo"), "n")), 2);
	json_decref(r);
	close(fd);
}

/* A caller waiting for its answer is not idle: the idle sweep leaves it alone. */
static void test_wait_not_idle(void **state)
{
	int fd = vl_connect(path);
	json_t *r = NULL;
	char *e = NULL;

	vl_server_set_idle_timeout(srv, 100);
	assert_true(fd >= 0);
	assert_int_equal(vl_call_start(fd, "test.Later", NULL, false), 0);
	usleep(500 * 1000);
	echo("sweep");
	assert_int_equal(cancelled, 0);
	cmd('a');
	assert_int_equal(read_reply(fd, 5000, &r, &e), 0);
	json_decref(r);
	close(fd);
	vl_server_set_idle_timeout(srv, VL_IDLE_TIMEOUT_MS);
}

/* 100 ms of work in 10 ms pieces: another client is answered between two pieces, and
 * no loop turn took 50 ms. */
static void test_pieces(void **state)
{
	int fd = vl_connect(path), fd2;
	json_t *r = NULL, *h;
	char *e = NULL;
	long t0;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_start(fd, "test.Pieces", NULL, false), 0);
	usleep(15 * 1000);
	t0 = ms_now();
	echo("between pieces");
	assert_true(ms_now() - t0 < 60);
	assert_int_equal(read_reply(fd, 5000, &r, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "pieces")), 10);
	json_decref(r);
	r = NULL;
	fd2 = vl_connect(path);
	assert_true(fd2 >= 0);
	assert_int_equal(vl_call_sync(fd2, "test.Stats", NULL, 5000, &r, &e), 0);
	h = json_object_get(r, "histogram");
	assert_true(json_integer_value(json_object_get(h, "<50ms")) >= 10);
	assert_int_equal(json_integer_value(json_object_get(h, "<100ms")), 0);
	assert_true(json_real_value(json_object_get(r, "longest_ms")) < 50);
	assert_string_equal(json_string_value(json_object_get(r, "longest_what")), "a test piece");
	json_decref(r);
	close(fd2);
	close(fd);
}

/* A 60 ms call: counted in <100ms, and the longest turn names it and its caller. */
static void test_stats_name_longest(void **state)
{
	int fd = vl_connect(path);
	json_t *r = NULL, *h;
	char *e = NULL, want[64];
	long long turns;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_sync(fd, "test.Stats", NULL, 5000, &r, &e), 0);
	turns = json_integer_value(json_object_get(r, "turns"));
	assert_true(turns >= 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "histogram"),
							    "<100ms")), 0);
	json_decref(r);
	r = NULL;
	assert_int_equal(vl_call_sync(fd, "test.Sleep", NULL, 5000, &r, &e), 0);
	json_decref(r);
	r = NULL;
	assert_int_equal(vl_call_sync(fd, "test.Stats", NULL, 5000, &r, &e), 0);
	h = json_object_get(r, "histogram");
	assert_int_equal(json_integer_value(json_object_get(h, "<100ms")) +
			 json_integer_value(json_object_get(h, "<500ms")) +
			 json_integer_value(json_object_get(h, ">=500ms")), 1);
	assert_true(json_integer_value(json_object_get(r, "turns")) > turns);
	assert_true(json_real_value(json_object_get(r, "longest_ms")) >= 60);
	assert_true(json_real_value(json_object_get(r, "busy_ms")) >= 60);
	snprintf(want, sizeof(want), "test.Sleep (pid %d)", (int)getpid());
	assert_string_equal(json_string_value(json_object_get(r, "longest_what")), want);
	assert_true(json_is_string(json_object_get(r, "longest_at")));
	json_decref(r);
	close(fd);
}

static void test_cancel_in_turn(void **state)
{
	int fd = vl_connect(path);
	json_t *r = NULL;
	char *e = NULL;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_sync(fd, "test.Cancel", NULL, 5000, &r, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "b_ran")), 0);
	json_decref(r);
	echo("after");
	assert_int_equal(task_b_ran, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answer_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_not_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_name_longest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_in_turn, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
