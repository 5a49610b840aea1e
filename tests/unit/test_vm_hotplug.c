/* VmAttach and VmDetach against the in-process daemon (io.iovd with the guest wing, a
 * stand-in iovm that only waits): their arguments are checked before anything is touched
 * (the NIC through the guest-spec codec, the timeout's range, unknown keys), save is root's
 * only, and a guest without hot-plug slots or without such a NIC is refused saying why.
 * The attach and detach themselves run in the test host (scenario guest_hotplug). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/varlink.h"
#include "src/guest.h"
#include "src/iovd_api.h"
#include "tests/unit/fakesys.h"
#include "tests/unit/callas.h"
#include "tests/unit/srvthread.h"

#define NOBODY 65534

static struct srvthread loop;
static struct vl_server *srv;
static char *dir;
static char sock[PATH_MAX], state[PATH_MAX];

/* ---- the stand-in iovm ---- */

static void print_fd(const char *what, int fd, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s: %s\n", what, buf);
}

/* Prints the first line of its kernel and initrd. A kernel saying FORGE: then a line that
 * fakes a sandbox report with terminal escapes, and exit 1. SPAM: 3 MiB of output. */
static int report(int argc, char **argv)
{
	char k[256] = "", i[256];

	alarm(60);	/* a test that failed before stopping it leaves nothing behind */
	for (int a = 1; a + 1 < argc; a++) {
		if (strcmp(argv[a], "--kernel-fd") == 0)
			print_fd("kernel", atoi(argv[a + 1]), k, sizeof(k));
		if (strcmp(argv[a], "--initrd-fd") == 0)
			print_fd("initrd", atoi(argv[a + 1]), i, sizeof(i));
	}
	if (strcmp(k, "FORGE") == 0) {
		printf("\033]0;pwned\007\033[2J seccomp: forbidden system call reboot (169)\n");
		fflush(stdout);
		_exit(1);	/* no exit handlers (a sanitizer's leak check) in the stand-in */
	}
	if (strcmp(k, "SPAM") == 0)
		for (int n = 0; n < 3 * 16384; n++)
			printf("%063d\n", n);
	fflush(stdout);
	pause();
	return 0;
}

/* ---- the daemon ---- */

static int setup(void **st)
{
	char self[PATH_MAX], prog[PATH_MAX], cmd[2 * PATH_MAX];
	struct iovd_guest_opts o = { 0 };
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int lfd;

	if (geteuid() != 0) {
		fprintf(stderr, "test_vm_hotplug needs root (it runs callers as uid %d)\n", NOBODY);
		return 0;
	}
	assert_true(n > 0);
	self[n] = '\0';
	dir = fk_tmpdir();
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(prog, sizeof(prog), "%s/iovm", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'", self, prog, prog);
	assert_int_equal(system(cmd), 0);
	fk_write(dir, "dev/kvm", "");
	snprintf(sock, sizeof(sock), "%s/io.iovd", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(cmd, sizeof(cmd), "%s/dev", dir);
	iov_log_set_level(IOV_LOG_ERR);
	lfd = vl_listen(sock);
	assert_true(lfd >= 0);
	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, NOBODY, NULL);
	assert_non_null(srv);
	o = (struct iovd_guest_opts){ .state_dir = state, .iovm = prog, .user = "65534:65534",
				      .dev_dir = cmd };
	assert_int_equal(iovd_guests_init(srv, &o), 0);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	if (!dir)
		return 0;
	srvthread_stop(&loop);
	iovd_guests_shutdown();
	vl_server_free(srv);
	fk_rmtree(dir);
	free(dir);
	dir = NULL;
	return 0;
}

/* ---- callers ---- */

static struct res call_as(uid_t uid, const char *method, const char *params,
			  const char *const *files)
{
	return call_as_on(sock, uid, method, params, files);
}

/* ---- the checks ---- */

static void expect_err(struct res r, const char *err, const char *text)
{
	if (strcmp(r.err, err) != 0 || (text && !strstr(r.text, text)))
		fail_msg("want %s with '%s', got '%s' %s", err, text ? text : "", r.err, r.text);
}

static void attach_arguments(void **st)
{
	if (!dir)
		skip();
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"nic\": {\"pool\": \"p\"}}", NULL),
		   "io.iovd.InvalidArgument", "name");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\"}", NULL),
		   "io.iovd.InvalidArgument", "nic");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": \"p\"}", NULL),
		   "io.iovd.InvalidArgument", "expected an object");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": {\"pool\": "
			   "\"p\", \"device\": \"0000:01:10.0\"}}", NULL),
		   "io.iovd.InvalidArgument", "both");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": {\"pool\": "
			   "\"p\", \"mac\": \"01:00:5e:00:00:01\"}}", NULL),
		   "io.iovd.InvalidArgument", "$.nic.mac");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": {\"pool\": "
			   "\"p\", \"vlan\": 5000}}", NULL),
		   "io.iovd.InvalidArgument", "$.nic.vlan");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": {\"pool\": "
			   "\"p\", \"speed\": 1}}", NULL),
		   "io.iovd.InvalidArgument", "speed");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": {\"pool\": "
			   "\"p\"}, \"force\": true}", NULL),
		   "io.iovd.InvalidArgument", "force");
	/* Well-formed, but no such guest. */
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"zz\", \"nic\": {\"pool\": "
			   "\"p\"}}", NULL), "io.iovd.Refused", "no running guest named 'zz'");
	/* save: root's only (an admin-group member is refused before anything is done). */
	expect_err(call_as(NOBODY, "io.iovd.VmAttach", "{\"name\": \"zz\", \"nic\": {\"pool\": "
			   "\"p\"}, \"save\": true}", NULL), "io.iovd.Refused", "save needs root");
}

static void detach_arguments(void **st)
{
	if (!dir)
		skip();
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"g\"}", NULL),
		   "io.iovd.InvalidArgument", "nic");
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"g\", \"nic\": 1}", NULL),
		   "io.iovd.InvalidArgument", "nic");
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"g\", \"nic\": \"1\", "
			   "\"timeout\": 101}", NULL), "io.iovd.InvalidArgument", "0..100");
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"g\", \"nic\": \"1\", "
			   "\"timeout\": -1}", NULL), "io.iovd.InvalidArgument", "timeout");
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"zz\", \"nic\": \"1\"}", NULL),
		   "io.iovd.Refused", "no running guest named 'zz'");
	expect_err(call_as(NOBODY, "io.iovd.VmDetach", "{\"name\": \"zz\", \"nic\": \"1\", "
			   "\"save\": true}", NULL), "io.iovd.Refused", "save needs root");
}

/* A running guest started without NICs has no slots (no VFIO container to plug into),
 * and no NIC to detach: both said. */
static void guest_without_slots(void **st)
{
	char params[PATH_MAX + 128];
	struct res r;

	if (!dir)
		skip();
	fk_write(dir, "bzImage", "K");
	snprintf(params, sizeof(params), "{\"name\": \"g\", \"kernel\": \"%s/bzImage\"}", dir);
	r = call_as(0, "io.iovd.VmStart", params, NULL);
	assert_string_equal(r.err, "");
	expect_err(call_as(0, "io.iovd.VmAttach", "{\"name\": \"g\", \"nic\": {\"pool\": "
			   "\"p\"}}", NULL), "io.iovd.Failed", "has no hot-plug slots");
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"g\", \"nic\": \"0\"}", NULL),
		   "io.iovd.Refused", "has no NIC '0'");
	expect_err(call_as(0, "io.iovd.VmDetach", "{\"name\": \"g\", \"nic\": "
			   "\"02:1e:00:00:00:09\"}", NULL), "io.iovd.Refused", "has no NIC");
	r = call_as(0, "io.iovd.VmStop", "{\"name\": \"g\", \"force\": true}", NULL);
	assert_string_equal(r.err, "");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(attach_arguments),
		cmocka_unit_test(detach_arguments),
		cmocka_unit_test(guest_without_slots),
	};

	if (argc > 1 && strcmp(argv[1], "--kvm-fd") == 0)
		return report(argc, argv);
	return cmocka_run_group_tests(tests, setup, teardown);
}
