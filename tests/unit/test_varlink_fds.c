/* fd passing over varlink (SCM_RIGHTS, lib/varlink.h): a call's fds reach its handler in
 * order; fds the handler does not take are closed; fds sent with a later pipelined call
 * are not given to an earlier one; more than VL_MAX_FDS is a protocol error that costs the
 * server nothing (its fd count is back where it was). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/varlink.h"
#include "tests/unit/srvthread.h"

static struct srvthread loop;
static char dir[64], path[96];
static struct vl_server *srv;

/* Reports the inode of each fd passed; takes the fds named by "take" (closing them). */
static void m_fds(struct vl_call *c, json_t *params, void *ud)
{
	json_t *inos = json_array(), *take = json_object_get(params, "take");
	size_t n = vl_call_n_fds(c), i;
	json_t *v;

	json_array_foreach(take, i, v) {
		int fd = vl_call_take_fd(c, (size_t)json_integer_value(v));
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0) {
			vl_error(c, "test.NoFd", NULL);
			json_decref(inos);
			return;
		}
		json_array_append_new(inos, json_integer((json_int_t)st.st_ino));
		close(fd);
		if (vl_call_take_fd(c, (size_t)json_integer_value(v)) != -EBADF) {
			vl_error(c, "test.TakenTwice", NULL);
			json_decref(inos);
			return;
		}
	}
	vl_reply(c, json_pack("{s:i, s:o}", "n", (int)n, "inos", inos));
}

static const struct vl_method methods[] = { { "test.Fds", m_fds, false } };
static const struct vl_interface iface = {
	.name = "test", .description = "interface test\nmethod Fds() -> ()\n",
	.methods = methods, .n_methods = 1,
};
static const struct vl_service_info info = { "v", "p", "1", "u" };

static int setup(void **state)
{
	srv = srvthread_listen(dir, path, "/tmp/test_vlfds.XXXXXX", &info, &iface);
	assert_non_null(srv);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **state)
{
	srvthread_stop(&loop);
	vl_server_free(srv);
	unlink(path);
	rmdir(dir);
	return 0;
}

static ino_t ino(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void two_fds_in_order(void **state)
{
	int fds[2] = { open("/dev/null", O_RDONLY), open("/proc/self/exe", O_RDONLY) };
	int c = vl_connect(path), before;
	json_t *reply = NULL, *inos;
	char *ename = NULL;

	assert_true(c >= 0 && fds[0] >= 0 && fds[1] >= 0);
	/* Warm the server's connection up, then count the fds around the fd-carrying calls. */
	assert_int_equal(vl_call_sync(c, "test.Fds", NULL, 2000, &reply, &ename), 0);
	json_decref(reply);
	before = srvthread_count_fds();
	{
		json_t *p = json_pack("{s:[i, i]}", "take", 1, 0);

		assert_int_equal(vl_call_sync_fds(c, "test.Fds", p, fds, 2, 2000, &reply, &ename), 0);
		json_decref(p);
	}
	assert_int_equal(json_integer_value(json_object_get(reply, "n")), 2);
	inos = json_object_get(reply, "inos");
	assert_int_equal(json_integer_value(json_array_get(inos, 0)), ino(fds[1]));
	assert_int_equal(json_integer_value(json_array_get(inos, 1)), ino(fds[0]));
	json_decref(reply);
	/* Not taken: closed by the server after the call. */
	assert_int_equal(vl_call_sync_fds(c, "test.Fds", NULL, fds, 2, 2000, &reply, &ename), 0);
	assert_int_equal(json_integer_value(json_object_get(reply, "n")), 2);
	json_decref(reply);
	/* A call without fds has none (those of the calls before are gone). */
	assert_int_equal(vl_call_sync(c, "test.Fds", NULL, 2000, &reply, &ename), 0);
	assert_int_equal(json_integer_value(json_object_get(reply, "n")), 0);
	json_decref(reply);
	assert_int_equal(srvthread_count_fds(), before);
	/* The client side refuses more than VL_MAX_FDS. */
	{
		int many[VL_MAX_FDS + 1];

		for (int i = 0; i <= VL_MAX_FDS; i++)
			many[i] = fds[0];
		assert_int_equal(vl_call_sync_fds(c, "test.Fds", NULL, many, VL_MAX_FDS + 1, 2000,
						  &reply, &ename), -E2BIG);
	}
	close(c);
	close(fds[0]);
	close(fds[1]);
}

/* Two calls written at once, the fd with the second: the first has none. */
static void pipelined(void **state)
{
	const char m1[] = "{\"method\": \"test.Fds\", \"parameters\": {}}";
	const char m2[] = "{\"method\": \"test.Fds\", \"parameters\": {\"take\": [0]}}";
	int c = vl_connect(path), fd = open("/proc/self/exe", O_RDONLY);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov[1];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	struct vl_reader *rd;
	json_t *reply = NULL;
	char *ename = NULL;
	bool more;

	assert_true(c >= 0 && fd >= 0);
	assert_int_equal(send(c, m1, sizeof(m1), 0), (ssize_t)sizeof(m1));
	iov[0] = (struct iovec){ (void *)m2, sizeof(m2) };
	memset(cm.buf, 0, sizeof(cm.buf));
	h = CMSG_FIRSTHDR(&mh);
	if (!h)
		abort();
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(int));
	assert_int_equal(sendmsg(c, &mh, 0), (ssize_t)sizeof(m2));
	rd = vl_reader_new(c);
	assert_int_equal(vl_reply_read(rd, 2000, &reply, &ename, &more), 0);
	assert_int_equal(json_integer_value(json_object_get(reply, "n")), 0);
	json_decref(reply);
	assert_int_equal(vl_reply_read(rd, 2000, &reply, &ename, &more), 0);
	assert_int_equal(json_integer_value(json_object_get(reply, "n")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(reply, "inos"), 0)),
			 ino(fd));
	json_decref(reply);
	vl_reader_free(rd);
	close(c);
	close(fd);
}

/* More fds than VL_MAX_FDS in one message: refused, the connection closed, nothing kept. */
static void too_many(void **state)
{
	const char m[] = "{\"method\": \"test.Fds\", \"parameters\": {}}";
	/* Counted before connecting: the server's side of the connection may be accepted
	 * before or after a count taken later. */
	int fd = open("/dev/null", O_RDONLY), before = srvthread_count_fds(), c = vl_connect(path);
	int fds[VL_MAX_FDS + 4];
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h;
	json_t *reply = NULL;
	char *ename = NULL;
	struct vl_reader *rd;
	bool more;

	assert_true(c >= 0 && fd >= 0);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		fds[i] = fd;
	memset(cm.buf, 0, sizeof(cm.buf));
	h = CMSG_FIRSTHDR(&mh);
	if (!h)
		abort();
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(h), fds, sizeof(fds));
	assert_int_equal(sendmsg(c, &mh, 0), (ssize_t)sizeof(m));
	rd = vl_reader_new(c);
	assert_int_equal(vl_reply_read(rd, 2000, &reply, &ename, &more), 1);
	assert_string_equal(ename, "org.varlink.service.InvalidParameter");
	assert_non_null(strstr(json_string_value(json_object_get(reply, "message")),
			       "file descriptors"));
	json_decref(reply);
	free(ename);
	vl_reader_free(rd);
	close(c);
	/* The server dropped the connection and every fd that came with it. */
	for (int i = 0; i < 50 && srvthread_count_fds() > before; i++)
		usleep(20 * 1000);
	assert_int_equal(srvthread_count_fds(), before);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(two_fds_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(too_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
