/* A varlink call made by a child process as another user (root, or nobody: uid and gid
 * 65534 in the admin group of the test's server), passing the files it names as fds opened by
 * that caller: what the daemon's guest tests check callers with (test_vm_files,
 * test_vm_hotplug). */
#ifndef IOV_TESTS_CALLAS_H
#define IOV_TESTS_CALLAS_H

#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/varlink.h"

#define CALLAS_NOBODY 65534

struct res {
	char err[128];			/* error name, "" for a reply */
	char text[4096];		/* the reply or error parameters */
	double secs;
};

static inline double callas_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Calls method as uid (root, or nobody in the admin group), passing the files named in
 * files (opened read-only by that caller, O_NONBLOCK|O_NOCTTY). */
static inline struct res call_as_on(const char *sock, uid_t uid, const char *method,
					 const char *params, const char *const *files)
{
	struct res r = { .err = "" };
	int pp[2];
	double t0 = callas_now();
	pid_t pid;

	assert_int_equal(pipe(pp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[4], n = 0, c;
		json_t *reply = NULL;
		char *ename = NULL, *txt;

		close(pp[0]);
		alarm(10);
		if (uid && (setgroups(0, NULL) < 0 || setresgid(CALLAS_NOBODY, CALLAS_NOBODY, CALLAS_NOBODY) < 0 ||
			    setresuid(uid, uid, uid) < 0))
			_exit(3);
		for (; files && files[n]; n++)
			if ((fds[n] = open(files[n], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
				_exit(4);
		if ((c = vl_connect(sock)) < 0 ||
		    vl_call_sync_fds(c, method, json_loads(params, 0, NULL), fds, (size_t)n, 8000,
				     &reply, &ename) < 0)
			_exit(5);
		txt = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
		dprintf(pp[1], "%s\n%s", ename ? ename : "", txt ? txt : "");
		_exit(0);
	}
	close(pp[1]);
	{
		char buf[sizeof(r.err) + sizeof(r.text) + 2] = "";
		ssize_t n, got = 0;
		int status;

		while ((n = read(pp[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
			got += n;
		buf[got] = '\0';
		close(pp[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("caller uid %u failed (status %#x)", (unsigned)uid, status);
		snprintf(r.err, sizeof(r.err), "%.*s", (int)strcspn(buf, "\n"), buf);
		snprintf(r.text, sizeof(r.text), "%s", buf + strcspn(buf, "\n") + 1);
	}
	r.secs = callas_now() - t0;
	return r;
}

#endif
