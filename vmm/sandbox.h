/* iovm's sandbox: dropping to an unprivileged user (when started as root with --user) and
 * the seccomp allow-list installed before the first guest instruction runs. Anything not
 * on the list kills the whole process (SCMP_ACT_KILL_PROCESS): the parent sees SIGSYS and
 * the kernel logs the syscall number (audit type=1326). docs/iovm.md lists every entry. */
#ifndef IOVM_SANDBOX_H
#define IOVM_SANDBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct iovm_user {
	uid_t uid;
	gid_t gid;
};

/* "NAME" (from the password database), "UID" (primary group from the database, else
 * GID = UID) or "UID:GID". */
int iovm_sandbox_parse_user(const char *s, struct iovm_user *out);
/* Raises RLIMIT_MEMLOCK to memlock bytes when > 0 (while still privileged: DMA pinning is
 * charged to it), then setgroups({gid}), setresgid, setresuid; checks that no capability
 * is left and that uid 0 cannot be regained. Needs euid 0. */
int iovm_sandbox_drop(const struct iovm_user *u, unsigned long long memlock);

struct iovm_sandbox_cfg {
	bool restart;		/* --on-reboot restart: the VM set-up ioctls stay allowed */
	bool hotplug;		/* --control-fd: accept4, recvmsg and the hot-plug ioctls */
	int console_in_fd;	/* the terminal whose settings are restored at exit (TCSETS), or -1 */
};

/* PR_SET_NO_NEW_PRIVS, then the allow-list for every thread (TSYNC). */
int iovm_sandbox_seccomp(const struct iovm_sandbox_cfg *cfg);
/* The allow-list as a table (what, filter, why), for --seccomp-list and the docs. */
void iovm_sandbox_print(FILE *f, const struct iovm_sandbox_cfg *cfg);
/* Test only (--test-forbidden-syscall): makes one call the allow-list forbids. */
void iovm_sandbox_test_forbidden(const char *which);

#endif
