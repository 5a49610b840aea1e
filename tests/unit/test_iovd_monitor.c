/* io.iovd.Monitor (src/iovd_api.c over src/events.c): subscription, events in order, the
 * recent replay, a slow subscriber that never holds up the daemon and is told how many
 * events it missed, and unsubscription when the client goes. The real io.iovd service runs
 * in a thread; events are emitted in that thread (as iovd's own code does) on a command
 * written to a pipe it watches. */
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

#include "src/events.h"
#include "src/iovd_api.h"
#include "lib/log.h"
#include "lib/varlink.h"
#include "tests/unit/srvthread.h"

static struct srvthread loop;
static char dir[64], sock[128];
static struct vl_server *srv;
static int inject[2];

/* 4 bytes: emit that many "test.tick" events, numbered from 0. */
static void on_inject(int fd, void *ud)
{
	uint32_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	for (uint32_t i = 0; i < n; i++)
		iovd_event("test.tick", json_pack("{s:i}", "i", (int)i));
}

static int setup(void **st)
{
	int lfd;

	strcpy(dir, "/tmp/test_monitor.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/io.iovd", dir);
	iov_log_set_level(IOV_LOG_ERR);
	lfd = vl_listen(sock);
	assert_true(lfd >= 0);
	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, (gid_t)-1, NULL);
	assert_non_null(srv);
	assert_int_equal(pipe(inject), 0);
	assert_int_equal(vl_server_watch(srv, inject[0], on_inject, NULL), 0);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	srvthread_stop(&loop);
	vl_server_free(srv);
	close(inject[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void emit(uint32_t n)
{
	assert_int_equal(write(inject[1], &n, sizeof(n)), (ssize_t)sizeof(n));
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* GetVersion on a fresh connection: the daemon answers, and what it did before is done. */
static void sync_daemon(void)
{
	int fd = vl_connect(sock);
	json_t *r = NULL;
	char *e = NULL;

	assert_true(fd >= 0);
	assert_int_equal(vl_call_sync(fd, "io.iovd.GetVersion", NULL, 5000, &r, &e), 0);
	json_decref(r);
	close(fd);
}

struct sub {
	int fd;
	struct vl_reader *rd;
};

static struct sub subscribe(json_t *params, int rcvbuf)
{
	struct sub s = { vl_connect(sock), NULL };
	json_t *r = NULL;
	char *e = NULL;
	bool more = false;

	assert_true(s.fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	s.rd = vl_reader_new(s.fd);
	assert_int_equal(vl_call_start(s.fd, "io.iovd.Monitor", params, true), 0);
	json_decref(params);
	/* The first reply: subscribed, no event. */
	assert_int_equal(vl_reply_read(s.rd, 5000, &r, &e, &more), 0);
	assert_true(more);
	assert_null(json_object_get(r, "event"));
	assert_int_equal(json_integer_value(json_object_get(r, "missed")), 0);
	json_decref(r);
	return s;
}

static void unsubscribe(struct sub *s)
{
	vl_reader_free(s->rd);
	close(s->fd);
}

/* The next reply of a subscription (borrowed parts: caller decrefs r). */
static json_t *next(struct sub *s)
{
	json_t *r = NULL;
	char *e = NULL;
	bool more = false;

	assert_int_equal(vl_reply_read(s->rd, 5000, &r, &e, &more), 0);
	assert_true(more);
	return r;
}

static void test_needs_more(void **st)
{
	int fd = vl_connect(sock);
	json_t *r = NULL;
	char *e = NULL;

	assert_int_equal(vl_call_sync(fd, "io.iovd.Monitor", NULL, 5000, &r, &e), 1);
	assert_string_equal(e, "org.varlink.service.ExpectedMore");
	free(e);
	json_decref(r);
	r = json_pack("{s:i}", "recent", 1);
	assert_int_equal(vl_call_start(fd, "io.iovd.Monitor", r, true), 0);
	json_decref(r);
	{
		struct vl_reader *rd = vl_reader_new(fd);
		bool more = true;

		e = NULL;
		assert_int_equal(vl_reply_read(rd, 5000, &r, &e, &more), 1);
		assert_string_equal(e, "io.iovd.InvalidArgument");
		assert_false(more);
		free(e);
		json_decref(r);
		vl_reader_free(rd);
	}
	close(fd);
}

/* Two subscribers see the same events, in order, with consecutive seq numbers. */
static void test_events_in_order(void **st)
{
	struct sub a = subscribe(NULL, 0), b = subscribe(NULL, 0);
	json_int_t seq0 = -1;

	emit(5);
	for (int i = 0; i < 5; i++) {
		json_t *ra = next(&a), *rb = next(&b);
		json_t *ea = json_object_get(ra, "event"), *eb = json_object_get(rb, "event");

		assert_string_equal(json_string_value(json_object_get(ea, "type")), "test.tick");
		assert_int_equal(json_integer_value(json_object_get(ea, "i")), i);
		assert_true(json_equal(ea, eb));
		if (seq0 < 0)
			seq0 = json_integer_value(json_object_get(ea, "seq"));
		assert_int_equal(json_integer_value(json_object_get(ea, "seq")), seq0 + i);
		assert_non_null(json_string_value(json_object_get(ea, "time")));
		assert_int_equal(json_integer_value(json_object_get(ra, "missed")), 0);
		json_decref(ra);
		json_decref(rb);
	}
	unsubscribe(&a);
	unsubscribe(&b);
}

/* recent: true replays what the daemon holds, oldest first, then new events follow. */
static void test_recent(void **st)
{
	struct sub s;
	json_t *r, *ev;
	json_int_t last, seq, prev = 0;
	size_t n = 0;

	emit(3);
	sync_daemon();
	last = (json_int_t)iovd_event_last_seq();	/* the daemon is idle now */
	s = subscribe(json_pack("{s:b}", "recent", 1), 0);
	emit(1);
	do {
		r = next(&s);
		ev = json_object_get(r, "event");
		assert_non_null(ev);
		seq = json_integer_value(json_object_get(ev, "seq"));
		assert_true(seq > prev);
		if (prev)
			assert_int_equal(seq, prev + 1);
		prev = seq;
		n++;
		json_decref(r);
	} while (seq <= last);
	assert_int_equal(seq, last + 1);
	assert_int_equal(n, (last < 256 ? last : 256) + 1);
	unsubscribe(&s);
}

/* A subscriber that stops reading: the daemon keeps answering others at once, its queue
 * stays bounded, and when it reads again it is told exactly how many it missed. */
static void test_slow_subscriber(void **st)
{
	struct sub slow = subscribe(NULL, 4096), fast = subscribe(NULL, 0);
	const uint32_t total = 20000;
	json_int_t got = 0, missed = 0, fast_got = 0, seq_prev = -1;
	long t0 = ms_now();

	/* In bursts of 200 that the fast one reads as they come: it sees every event. */
	for (uint32_t burst = 0; burst < total / 200; burst++) {
		emit(200);
		for (int i = 0; i < 200; i++) {
			json_t *r = next(&fast);

			assert_int_equal(json_integer_value(json_object_get(r, "missed")), 0);
			assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "event"),
									    "i")), i);
			fast_got++;
			json_decref(r);
		}
	}
	assert_int_equal(fast_got, total);
	sync_daemon();
	assert_true(ms_now() - t0 < 10000);
	/* The slow one: delivered + missed = all, and the missed count arrives even though no
	 * further event is emitted. */
	while (got + missed < total) {
		json_t *r = next(&slow), *ev = json_object_get(r, "event");

		missed += json_integer_value(json_object_get(r, "missed"));
		if (ev) {
			json_int_t seq = json_integer_value(json_object_get(ev, "seq"));

			/* A gap in seq is exactly what "missed" says was dropped before it. */
			if (seq_prev >= 0)
				assert_true(seq > seq_prev);
			seq_prev = seq;
			got++;
		}
		json_decref(r);
	}
	assert_int_equal(got + missed, total);
	assert_true(missed > 0);
	assert_true(got > 0);
	unsubscribe(&slow);
	unsubscribe(&fast);
}

/* A client that goes away is unsubscribed: many come and go, the bus's 64 slots stay free. */
static void test_unsubscribe_on_close(void **st)
{
	for (int i = 0; i < 100; i++) {
		struct sub s = subscribe(NULL, 0);

		unsubscribe(&s);
		sync_daemon();	/* the hang-up is handled before the next connects */
	}
	emit(2);
	{
		struct sub s = subscribe(NULL, 0);
		json_t *r;

		emit(1);
		r = next(&s);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "event"), "i")), 0);
		json_decref(r);
		unsubscribe(&s);
	}
}

/* Subscriber slots: one unprivileged uid holds at most IOVD_SUBS_PER_UID; unprivileged
 * users together IOVD_SUBS_UNPRIV; with all of those taken, root and the admin group still
 * subscribe, in slots of their own (and through the API too). */
static void noop_event(const json_t *ev, void *ud)
{
}

static void test_subscriber_slots(void **st)
{
	static char tok[IOVD_SUBS_UNPRIV + IOVD_SUBS_PRIV + 1];
	size_t n = 0;
	struct sub s;

	for (int i = 0; i < IOVD_SUBS_PER_UID; i++)
		assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[n++], 1000, false), 0);
	assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[n], 1000, false), -EUSERS);
	for (uid_t uid = 1001; n < IOVD_SUBS_UNPRIV; uid++)
		for (int i = 0; i < IOVD_SUBS_PER_UID && n < IOVD_SUBS_UNPRIV; i++)
			assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[n++], uid, false), 0);
	/* Every unprivileged slot taken: another user is refused, root is not. */
	assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[n], 2000, false), -EBUSY);
	s = subscribe(NULL, 0);		/* this test runs as root: io.iovd.Monitor works */
	vl_reader_free(s.rd);
	close(s.fd);
	sync_daemon();		/* its slot is given back */
	for (int i = 0; i < IOVD_SUBS_PRIV; i++)
		assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[n++], 0, true), 0);
	assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[n], 0, true), -EBUSY);
	/* A slot given back is free again, for the kind that held it. */
	iovd_event_unsubscribe(noop_event, &tok[0]);
	assert_int_equal(iovd_event_subscribe_as(noop_event, &tok[0], 1000, false), 0);
	for (size_t i = 0; i < n; i++)
		iovd_event_unsubscribe(noop_event, &tok[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_more),
		cmocka_unit_test(test_events_in_order),
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_slow_subscriber),
		cmocka_unit_test(test_unsubscribe_on_close),
		cmocka_unit_test(test_subscriber_slots),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
