/* The varlink server and client (lib/varlink.h): protocol, limits, credentials. The server
 * runs in a thread; the tests are its clients. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/varlink.h"

static void m_echo(struct vl_call *c, json_t *params, void *ud)
{
	vl_reply(c, json_pack("{s:O, s:i}", "echo", params, "uid", (int)c->peer->uid));
}

static void m_mutate(struct vl_call *c, json_t *params, void *ud)
{
	(*(int *)ud)++;
	vl_reply(c, NULL);
}

static void m_fail(struct vl_call *c, json_t *params, void *ud)
{
	vl_error(c, "test.Broken", json_pack("{s:s}", "message", "as asked"));
}

static void m_big(struct vl_call *c, json_t *params, void *ud)
{
	size_t n = 300 * 1024;
	char *s = malloc(n + 1);

	memset(s, 'x', n);
	s[n] = '\0';
	vl_reply(c, json_pack("{s:s}", "blob", s));
	free(s);
}

static const struct vl_method methods[] = {
	{ "test.Big", m_big, false },
	{ "test.Echo", m_echo, false },
	{ "test.Mutate", m_mutate, true },
	{ "test.Fail", m_fail, false },
};

static const struct vl_interface iface = {
	.name = "test",
	.description = "interface test\nmethod Echo() -> ()\n",
	.methods = methods,
	.n_methods = 4,
};

static const struct vl_service_info info = { "v", "p", "1", "u" };

struct fixture {
	char dir[64], path[96];
	struct vl_server *srv;
	pthread_t thr;
	int stop[2];
	int mutations;
};

static void on_stop(int fd, void *ud)
{
	vl_server_quit(ud);
}

static void *server_main(void *arg)
{
	vl_server_run(arg);
	return NULL;
}

static gid_t admin_gid = (gid_t)-1;
static int idle_ms;	/* 0: the default */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int lfd;

	strcpy(f->dir, "/tmp/test_varlink.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(chmod(f->dir, 0755), 0);
	snprintf(f->path, sizeof(f->path), "%s/sub/io.test", f->dir);
	lfd = vl_listen(f->path);
	assert_true(lfd >= 0);
	f->srv = vl_server_new(lfd, &info, &iface, admin_gid, &f->mutations);
	assert_non_null(f->srv);
	if (idle_ms)
		vl_server_set_idle_timeout(f->srv, idle_ms);
	assert_int_equal(pipe(f->stop), 0);
	assert_int_equal(vl_server_watch(f->srv, f->stop[0], on_stop, f->srv), 0);
	assert_int_equal(pthread_create(&f->thr, NULL, server_main, f->srv), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	assert_int_equal(write(f->stop[1], "x", 1), 1);
	pthread_join(f->thr, NULL);
	vl_server_free(f->srv);
	close(f->stop[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int call(const char *path, const char *method, json_t *params, json_t **reply,
		char **err)
{
	int fd = vl_connect(path), r;

	assert_true(fd >= 0);
	*err = NULL;
	r = vl_call_sync(fd, method, params, 5000, reply, err);
	close(fd);
	return r;
}

/* Sends raw bytes, returns the next reply (up to NUL) or NULL on EOF. Bytes after the
 * NUL are kept for the next call (one connection at a time). */
static json_t *raw(int fd, const void *buf, size_t len)
{
	static char in[VL_MAX_MSG];
	static size_t got;
	char *nul;
	json_t *j;

	if (len)
		assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
	while (!(nul = memchr(in, '\0', got))) {
		ssize_t n = recv(fd, in + got, sizeof(in) - got, 0);
		if (n <= 0) {
			got = 0;
			return NULL;
		}
		got += (size_t)n;
	}
	j = json_loads(in, 0, NULL);
	got -= (size_t)(nul + 1 - in);
	memmove(in, nul + 1, got);
	return j;
}

static void test_getinfo(void **state)
{
	struct fixture *f = *state;
	json_t *r;
	char *e;

	assert_int_equal(call(f->path, "org.varlink.service.GetInfo", NULL, &r, &e), 0);
	assert_string_equal(json_string_value(json_object_get(r, "product")), "p");
	assert_int_equal(json_array_size(json_object_get(r, "interfaces")), 2);
	json_decref(r);

	json_t *p = json_pack("{s:s}", "interface", "test");
	assert_int_equal(call(f->path, "org.varlink.service.GetInterfaceDescription", p, &r, &e), 0);
	assert_non_null(strstr(json_string_value(json_object_get(r, "description")), "interface test"));
	json_decref(r);
	json_decref(p);

	p = json_pack("{s:s}", "interface", "nope");
	assert_int_equal(call(f->path, "org.varlink.service.GetInterfaceDescription", p, &r, &e), 1);
	assert_string_equal(e, "org.varlink.service.InterfaceNotFound");
	free(e);
	json_decref(r);
	json_decref(p);
}

static void test_methods(void **state)
{
	struct fixture *f = *state;
	json_t *r, *p = json_pack("{s:i}", "x", 7);
	char *e;

	assert_int_equal(call(f->path, "test.Echo", p, &r, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "echo"), "x")), 7);
	json_decref(r);
	json_decref(p);

	assert_int_equal(call(f->path, "test.Nope", NULL, &r, &e), 1);
	assert_string_equal(e, "org.varlink.service.MethodNotFound");
	assert_string_equal(json_string_value(json_object_get(r, "method")), "test.Nope");
	free(e);
	json_decref(r);

	assert_int_equal(call(f->path, "other.Echo", NULL, &r, &e), 1);
	assert_string_equal(e, "org.varlink.service.InterfaceNotFound");
	free(e);
	json_decref(r);

	/* Replies may exceed the request limit (the host model of a big machine). */
	assert_int_equal(call(f->path, "test.Big", NULL, &r, &e), 0);
	assert_int_equal(json_string_length(json_object_get(r, "blob")), 300 * 1024);
	json_decref(r);

	assert_int_equal(call(f->path, "test.Fail", NULL, &r, &e), 1);
	assert_string_equal(e, "test.Broken");
	free(e);
	json_decref(r);

	/* root is privileged */
	assert_int_equal(call(f->path, "test.Mutate", NULL, &r, &e), 0);
	json_decref(r);
	assert_int_equal(f->mutations, 1);
}

static void test_malformed_keeps_serving(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"{", "[]", "42", "{\"method\": 1}", "{\"method\": \"nodot\"}",
		"{\"method\": \"test.Echo\", \"parameters\": []}",
		"{\"method\": \"test.Echo\", \"bogus\": 1}",
		"{\"method\": \"test.Echo\", \"method\": \"test.Echo\"}",
		"{\"method\": \"test.Echo\", \"oneway\": \"yes\"}",
		"\xff\xfe", "",
	};
	int fd = vl_connect(f->path);

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *r = raw(fd, bad[i], strlen(bad[i]) + 1);

		assert_non_null(r);
		assert_string_equal(json_string_value(json_object_get(r, "error")),
				    "org.varlink.service.InvalidParameter");
		json_decref(r);
	}
	/* Same connection still works, and so does pipelining two calls in one write. */
	const char two[] = "{\"method\":\"test.Echo\"}\0{\"method\":\"test.Echo\",\"oneway\":true}\0"
			   "{\"method\":\"test.Fail\"}";
	json_t *r = raw(fd, two, sizeof(two));
	assert_non_null(r);
	assert_non_null(json_object_get(r, "parameters"));
	json_decref(r);
	r = raw(fd, NULL, 0);	/* the oneway call has no reply: next is Fail's */
	assert_string_equal(json_string_value(json_object_get(r, "error")), "test.Broken");
	json_decref(r);
	close(fd);
}

static void test_oversized(void **state)
{
	struct fixture *f = *state;
	size_t n = VL_MAX_MSG + 100;
	char *big = malloc(n);
	int fd = vl_connect(f->path), other = vl_connect(f->path);
	json_t *r;
	char *e;

	assert_true(fd >= 0 && other >= 0);
	/* A slow client: half a message, then silence. It must not hold up others. */
	assert_int_equal(send(other, "{\"method\":", 10, 0), 10);

	memset(big, ' ', n);
	memcpy(big, "{\"method\":\"test.Echo\",\"parameters\":{\"x\":\"", 41);
	r = NULL;
	/* The server may close before reading it all: ignore EPIPE/ECONNRESET. */
	size_t off = 0;
	while (off < n) {
		ssize_t k = send(fd, big + off, n - off, MSG_NOSIGNAL);
		if (k <= 0)
			break;
		off += (size_t)k;
	}
	r = raw(fd, NULL, 0);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "error")),
			    "org.varlink.service.InvalidParameter");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "parameters"),
								  "message")), "larger"));
	json_decref(r);
	assert_null(raw(fd, NULL, 0));	/* disconnected */
	close(fd);

	assert_int_equal(call(f->path, "test.Echo", NULL, &r, &e), 0);
	json_decref(r);
	close(other);
	free(big);
}

static void test_unprivileged(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	int st;

	if (geteuid() != 0)
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		json_t *r;
		char *e = NULL;
		int fd, rc;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		fd = vl_connect(f->path);
		if (fd < 0)
			_exit(11);
		rc = vl_call_sync(fd, "test.Mutate", NULL, 5000, &r, &e);
		if (rc != 1 || strcmp(e, "org.varlink.service.PermissionDenied") != 0)
			_exit(12);
		rc = vl_call_sync(fd, "test.Echo", NULL, 5000, &r, &e);
		if (rc != 0 || json_integer_value(json_object_get(r, "uid")) != 65534)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(f->mutations, 0);
}

/* One local user holding many connections: capped per uid, and root still gets in. */
static void test_conn_limits(void **state)
{
	struct fixture *f = *state;
	int ready[2], done[2];
	pid_t pid;
	json_t *r;
	char *e, c;
	int st;

	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[VL_MAX_PER_UID + 1], code = 0;
		char x;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(10);
		for (int i = 0; i <= VL_MAX_PER_UID; i++)
			if ((fds[i] = vl_connect(f->path)) < 0)
				_exit(11);
		/* The first ones are served (after a partial message, too); the last one is
		 * closed by the server without a word. */
		if (send(fds[0], "{\"meth", 6, 0) != 6)
			code = 12;
		else if (recv(fds[VL_MAX_PER_UID], &x, 1, 0) != 0)
			code = 13;
		if (write(ready[1], "r", 1) != 1 || read(done[0], &x, 1) != 1)
			code = 14;
		_exit(code);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	/* The user's 16 connections are open (one stalled mid-message): root is served. */
	assert_int_equal(call(f->path, "test.Echo", NULL, &r, &e), 0);
	json_decref(r);
	assert_int_equal(write(done[1], "d", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
}

/* iovd --group: a member may change things, by primary or by supplementary group
 * (SO_PEERGROUPS); other unprivileged users may not. */
static int child_mutates(const char *path, gid_t gid, gid_t extra)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		json_t *r;
		char *e = NULL;
		int fd, rc;

		if (setgroups(extra != (gid_t)-1 ? 1 : 0, &extra) < 0 || setgid(gid) < 0 ||
		    setuid(65534) < 0)
			_exit(10);
		if ((fd = vl_connect(path)) < 0)
			_exit(11);
		rc = vl_call_sync(fd, "test.Mutate", NULL, 5000, &r, &e);
		_exit(rc == 0 ? 0 : rc == 1 && strcmp(e, "org.varlink.service.PermissionDenied") == 0 ? 1 : 12);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_admin_group(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip();
	assert_int_equal(child_mutates(f->path, 4242, (gid_t)-1), 0);	/* primary */
	assert_int_equal(child_mutates(f->path, 65534, 4242), 0);	/* supplementary */
	assert_int_equal(child_mutates(f->path, 65534, 4243), 1);	/* not a member */
	assert_int_equal(f->mutations, 2);
}

static int setup_admin(void **state)
{
	admin_gid = 4242;
	int r = setup(state);
	admin_gid = (gid_t)-1;
	return r;
}

static void test_listen_twice(void **state)
{
	struct fixture *f = *state;

	/* A live socket is never replaced. */
	assert_int_equal(vl_listen(f->path), -EADDRINUSE);
}

/* The socket is 0666 from the start; a regular file or a symlink at the path is refused
 * and left as it was (never unlinked, never chmod-ed through). */
static void test_listen_not_socket(void **state)
{
	struct fixture *f = *state;
	char file[160], link[160], target[160];
	struct stat st;
	FILE *fp;

	assert_int_equal(stat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	snprintf(file, sizeof(file), "%s/file", f->dir);
	snprintf(link, sizeof(link), "%s/link", f->dir);
	snprintf(target, sizeof(target), "%s/target", f->dir);
	assert_non_null(fp = fopen(file, "w"));
	fputs("keep me", fp);
	fclose(fp);
	assert_int_equal(chmod(file, 0600), 0);
	assert_int_equal(vl_listen(file), -ENOTSOCK);
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600 && st.st_size == 7);
	assert_non_null(fp = fopen(target, "w"));
	fclose(fp);
	assert_int_equal(chmod(target, 0600), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(vl_listen(link), -ENOTSOCK);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Random garbage and mutated calls on one connection: every complete message gets an
 * answer, and the server is still fine afterwards. */
static void test_garbage(void **state)
{
	struct fixture *f = *state;
	const char good[] = "{\"method\":\"test.Echo\",\"parameters\":{\"a\":[1,2,{\"b\":\"c\"}]}}";
	unsigned seed = 4242;
	int fd = vl_connect(f->path);
	json_t *r;
	char *e;

	assert_true(fd >= 0);
	for (int i = 0; i < 2000; i++) {
		char buf[sizeof(good)];

		memcpy(buf, good, sizeof(good));
		for (int m = 0; m < 1 + i % 5; m++) {
			seed = seed * 1103515245u + 12345u;
			char ch = (char)(seed >> 16);
			buf[(seed >> 4) % (sizeof(good) - 1)] = ch ? ch : ' ';
		}
		r = raw(fd, buf, sizeof(buf));
		assert_non_null(r);
		assert_true(json_object_get(r, "parameters") || json_object_get(r, "error"));
		json_decref(r);
	}
	close(fd);
	assert_int_equal(call(f->path, "test.Echo", NULL, &r, &e), 0);
	json_decref(r);
}

/* Idle connections, half-sent messages and unread replies are closed after the idle
 * timeout (400 ms here); an active client is not. */
static int setup_idle(void **state)
{
	idle_ms = 400;
	int r = setup(state);
	idle_ms = 0;
	return r;
}

static bool closed_within(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	char buf[4096];
	ssize_t n;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		;
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	int idle = vl_connect(f->path), half = vl_connect(f->path), unread = vl_connect(f->path);
	int busy = vl_connect(f->path);
	const char big[] = "{\"method\":\"test.Big\"}";
	int sz = 4096;
	json_t *r;
	char *e;

	assert_true(idle >= 0 && half >= 0 && unread >= 0 && busy >= 0);
	/* A small receive buffer, so the 300 KiB reply stays mostly unsent. */
	assert_int_equal(setsockopt(unread, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(send(half, "{\"meth", 6, 0), 6);
	assert_int_equal(send(unread, big, sizeof(big), 0), (ssize_t)sizeof(big));
	/* The busy client calls every 100 ms and stays connected. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(vl_call_sync(busy, "test.Echo", NULL, 5000, &r, &e), 0);
		json_decref(r);
		usleep(100 * 1000);
	}
	assert_true(closed_within(idle, 3000));
	assert_true(closed_within(half, 3000));
	assert_true(closed_within(unread, 3000));
	assert_int_equal(vl_call_sync(busy, "test.Echo", NULL, 5000, &r, &e), 0);
	json_decref(r);
	close(idle);
	close(half);
	close(unread);
	close(busy);
}

static void test_parse_call(void **state)
{
	json_t *m, *p;
	const char *meth;
	bool ow;
	char err[128];
	const char ok[] = "{\"method\":\"a.B\",\"parameters\":{\"k\":1},\"oneway\":true}";

	assert_int_equal(vl_parse_call(ok, strlen(ok), &m, &meth, &p, &ow, err, sizeof(err)), 0);
	assert_string_equal(meth, "a.B");
	assert_true(ow);
	assert_int_equal(json_integer_value(json_object_get(p, "k")), 1);
	json_decref(m);
	assert_int_equal(vl_parse_call("{\"method\":\"a.B\",\"parameters\":null}", 34, &m, &meth,
				       &p, &ow, err, sizeof(err)), 0);
	assert_null(p);
	json_decref(m);
	assert_int_equal(vl_parse_call("{\"method\":\"a.B\"} x", 18, &m, &meth, &p, &ow, err,
				       sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getinfo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_methods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_keeps_serving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_group, setup_admin, teardown),
		cmocka_unit_test_setup_teardown(test_listen_twice, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_not_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_timeout, setup_idle, teardown),
		cmocka_unit_test(test_parse_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
