/* lib/sdnotify.c against a fake service manager: a datagram socket we bind ourselves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/sdnotify.h"

/* Binds a datagram socket at path (leading '@': abstract). */
static int fake_manager(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	socklen_t len = offsetof(struct sockaddr_un, sun_path) + n;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	else
		len++;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void expect_msg(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = 0;
	assert_string_equal(buf, want);
}

static void path_socket(void **state)
{
	char dir[] = "/tmp/iov-sdnotify.XXXXXX", path[64];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = fake_manager(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(iov_sd_notify("READY=1"), 1);
	expect_msg(fd, "READY=1");
	assert_int_equal(iov_sd_notify("STATUS=applying config\nREADY=1"), 1);
	expect_msg(fd, "STATUS=applying config\nREADY=1");
	close(fd);
	/* The manager went away: the error comes back, nothing blocks. */
	unlink(path);
	assert_int_equal(iov_sd_notify("READY=1"), -ENOENT);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void abstract_socket(void **state)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@iov-sdnotify-test-%d", (int)getpid());
	fd = fake_manager(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(iov_sd_notify("STOPPING=1"), 1);
	expect_msg(fd, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void no_manager(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(iov_sd_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(iov_sd_notify("READY=1"), 0);
	static const char *const bad[] = { "relative/path", "@", "/", "x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("NOTIFY_SOCKET", bad[i], 1);
		assert_int_equal(iov_sd_notify("READY=1"), -EINVAL);
	}
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	setenv("NOTIFY_SOCKET", longp, 1);
	assert_int_equal(iov_sd_notify("READY=1"), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_socket), cmocka_unit_test(abstract_socket),
		cmocka_unit_test(no_manager),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
