/* varlink streaming ("more" calls, lib/varlink.h): continues replies, the end of a stream,
 * a slow reader that never blocks the server and is told when it caught up, a reader that
 * goes away. The server runs in a thread; a pipe watched by the server lets the tests make
 * it send (the sends must happen in the server's thread, as iovd's events do). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/varlink.h"
#include "tests/unit/srvthread.h"

/* Shared with the server thread; the tests read them only after a round trip. */
static struct srvthread loop;
static struct vl_stream *stream;
static int closed, drained, sent, refused;

static void on_close(struct vl_stream *st, void *ud)
{
	closed++;
	stream = NULL;
}

static void on_drain(struct vl_stream *st, void *ud)
{
	drained++;
}

static void m_stream(struct vl_call *c, json_t *params, void *ud)
{
	if (!c->more) {
		vl_error(c, "org.varlink.service.ExpectedMore", NULL);
		return;
	}
	stream = vl_call_stream(c, 4096, on_close, on_drain, NULL);
	if (!stream) {
		vl_error(c, "test.NoStream", NULL);
		return;
	}
	/* A second stream on the same call is refused. */
	if (vl_call_stream(c, 4096, on_close, on_drain, NULL) || errno != EINVAL) {
		vl_error(c, "test.TwoStreams", NULL);
		return;
	}
	vl_reply(c, json_pack("{s:s}", "hello", "first"));
}

static void m_stream_fails(struct vl_call *c, json_t *params, void *ud)
{
	if (!vl_call_stream(c, 4096, on_close, NULL, NULL))
		return;
	vl_error(c, "test.Broken", NULL);	/* ends the stream at once */
}

static void m_echo(struct vl_call *c, json_t *params, void *ud)
{
	vl_reply(c, json_pack("{s:O}", "echo", params));
}

static const struct vl_method methods[] = {
	{ "test.Stream", m_stream, false },
	{ "test.StreamFails", m_stream_fails, false },
	{ "test.Echo", m_echo, false },
};

static const struct vl_interface iface = {
	.name = "test",
	.description = "interface test\nmethod Echo() -> ()\n",
	.methods = methods,
	.n_methods = 3,
};

static const struct vl_service_info info = { "v", "p", "1", "u" };

static char dir[64], path[96];
static struct vl_server *srv;
static int inject[2];

/* Commands for the server thread: 's' + 4 bytes count: send that many; 'e': end. */
static void on_inject(int fd, void *ud)
{
	char cmd[5];
	uint32_t n;

	if (read(fd, cmd, sizeof(cmd)) != (ssize_t)sizeof(cmd))
		return;
	memcpy(&n, cmd + 1, 4);
	if (cmd[0] == 'e' && stream) {
		vl_stream_end(stream, NULL, json_pack("{s:s}", "bye", "last"));
		return;
	}
	for (uint32_t i = 0; i < n && stream; i++) {
		int r = vl_stream_send(stream, json_pack("{s:i}", "n", (int)i));

		if (r == 0)
			sent++;
		else if (r == -ENOBUFS)
			refused++;
	}
}

static int setup(void **state)
{
	srv = srvthread_listen(dir, path, "/tmp/test_vlstream.XXXXXX", &info, &iface);
	assert_non_null(srv);
	assert_int_equal(pipe(inject), 0);
	assert_int_equal(vl_server_watch(srv, inject[0], on_inject, NULL), 0);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	closed = drained = sent = refused = 0;
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

static void cmd(char c, uint32_t n)
{
	char b[5] = { c };

	memcpy(b + 1, &n, 4);
	assert_int_equal(write(inject[1], b, sizeof(b)), (ssize_t)sizeof(b));
}

/* A round trip on a fresh connection: everything the server thread did before is done. */
static void sync_server(void)
{
	int fd = vl_connect(path);
	json_t *r = NULL;
	char *e = NULL;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_sync(fd, "test.Echo", NULL, 5000, &r, &e), 0);
	json_decref(r);
	close(fd);
}

static json_t *next(struct vl_reader *rd, bool want_continues)
{
	json_t *r = NULL;
	char *e = NULL;
	bool more = !want_continues;

	assert_int_equal(vl_reply_read(rd, 5000, &r, &e, &more), 0);
	assert_null(e);
	assert_int_equal(more, want_continues);
	return r;
}

static void test_stream_and_end(void **state)
{
	int fd = vl_connect(path);
	struct vl_reader *rd = vl_reader_new(fd);
	json_t *r;
	char *e = NULL;
	bool more;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_start(fd, "test.Stream", NULL, true), 0);
	r = next(rd, true);
	assert_string_equal(json_string_value(json_object_get(r, "hello")), "first");
	json_decref(r);

	cmd('s', 3);
	for (int i = 0; i < 3; i++) {
		r = next(rd, true);
		assert_int_equal(json_integer_value(json_object_get(r, "n")), i);
		json_decref(r);
	}
	cmd('e', 0);
	r = next(rd, false);
	assert_string_equal(json_string_value(json_object_get(r, "bye")), "last");
	json_decref(r);

	/* The connection serves ordinary calls again after the stream ended. */
	r = json_pack("{s:i}", "x", 5);
	assert_int_equal(vl_call_start(fd, "test.Echo", r, false), 0);
	json_decref(r);
	r = next(rd, false);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "echo"), "x")), 5);
	json_decref(r);
	sync_server();
	assert_int_equal(closed, 1);

	/* Without "more" the method says so; a stream that errs ends with the error. */
	assert_int_equal(vl_call_start(fd, "test.Stream", NULL, false), 0);
	assert_int_equal(vl_reply_read(rd, 5000, &r, &e, &more), 1);
	assert_string_equal(e, "org.varlink.service.ExpectedMore");
	assert_false(more);
	free(e);
	json_decref(r);
	assert_int_equal(vl_call_start(fd, "test.StreamFails", NULL, true), 0);
	assert_int_equal(vl_reply_read(rd, 5000, &r, &e, &more), 1);
	assert_string_equal(e, "test.Broken");
	free(e);
	json_decref(r);
	sync_server();
	assert_int_equal(closed, 2);
	vl_reader_free(rd);
	close(fd);
}

/* A call sent while a stream is open waits for the stream's end, then is answered. */
static void test_call_queued_behind_stream(void **state)
{
	int fd = vl_connect(path);
	struct vl_reader *rd = vl_reader_new(fd);
	json_t *r;

	assert_int_equal(vl_call_start(fd, "test.Stream", NULL, true), 0);
	json_decref(next(rd, true));
	r = json_pack("{s:i}", "x", 9);
	assert_int_equal(vl_call_start(fd, "test.Echo", r, false), 0);
	json_decref(r);
	sync_server();
	cmd('s', 1);
	r = next(rd, true);
	assert_int_equal(json_integer_value(json_object_get(r, "n")), 0);
	json_decref(r);
	cmd('e', 0);
	json_decref(next(rd, false));
	r = next(rd, false);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "echo"), "x")), 9);
	json_decref(r);
	vl_reader_free(rd);
	close(fd);
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* A reader that does not read: the server goes on serving others, refuses what would pile
 * up beyond the bound, and says when the reader has caught up. Nothing is lost silently:
 * every send is either delivered or refused. */
static void test_slow_reader(void **state)
{
	int fd = vl_connect(path), rcv = 4096;
	struct vl_reader *rd;
	int got = 0;
	long t0;

	/* A small socket buffer so the bound is reached quickly. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), 0);
	rd = vl_reader_new(fd);
	assert_int_equal(vl_call_start(fd, "test.Stream", NULL, true), 0);
	json_decref(next(rd, true));

	t0 = ms_now();
	cmd('s', 20000);
	sync_server();	/* answered while the stalled reader holds its queue */
	assert_true(ms_now() - t0 < 3000);
	assert_int_equal(sent + refused, 20000);
	assert_true(refused > 0);
	assert_int_equal(drained, 0);

	while (got < sent) {
		json_t *r = next(rd, true);

		assert_int_equal(json_integer_value(json_object_get(r, "n")) >= got, 1);
		got++;
		json_decref(r);
	}
	/* Everything read: the server noticed (on_drain) once. */
	for (int i = 0; i < 100 && !drained; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		poll(&p, 1, 20);
		sync_server();
	}
	assert_int_equal(drained, 1);
	vl_reader_free(rd);
	close(fd);
}

/* The reader hangs up: the stream's owner hears it (on_close), the server carries on. */
static void test_reader_gone(void **state)
{
	int fd = vl_connect(path);
	struct vl_reader *rd = vl_reader_new(fd);

	assert_int_equal(vl_call_start(fd, "test.Stream", NULL, true), 0);
	json_decref(next(rd, true));
	vl_reader_free(rd);
	close(fd);
	for (int i = 0; i < 100 && !closed; i++) {
		usleep(10000);
		sync_server();
	}
	assert_int_equal(closed, 1);
	cmd('s', 5);	/* no stream any more: nothing is sent */
	sync_server();
	assert_int_equal(sent, 0);
}

static void test_more_must_be_bool(void **state)
{
	json_t *msg;
	const char *m;
	json_t *p;
	bool ow;
	char err[128];
	const char bad[] = "{\"method\":\"test.Echo\",\"more\":1}";
	const char good[] = "{\"method\":\"test.Echo\",\"more\":true}";

	assert_int_equal(vl_parse_call(bad, strlen(bad), &msg, &m, &p, &ow, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "more"));
	assert_int_equal(vl_parse_call(good, strlen(good), &msg, &m, &p, &ow, err, sizeof(err)), 0);
	json_decref(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_and_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_queued_behind_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_gone, setup, teardown),
		cmocka_unit_test(test_more_must_be_bool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
