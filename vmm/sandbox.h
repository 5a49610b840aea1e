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
/* Landlock, when the kernel has it: a ruleset that handles every file-system right the
 * kernel's ABI knows (and TCP bind/connect from ABI 4, signals and abstract unix sockets
 * outside iovm from ABI 6) with no rule, so nothing is allowed; restricts the calling
 * thread and what it starts later (call it before any thread exists). Returns the ABI in
 * force, 0 when the kernel has no Landlock (logged once, not an error), or -errno. */
int iovm_sandbox_landlock(void);

/* Test only (--test-forbidden-syscall=CALL): one call the sandbox must stop: openat, open,
 * newfstatat and statx of /etc/passwd, execve, socket, kill/tgkill/ptrace of another
 * process (":PID", else the parent), mount, bpf, unshare, fork, mprotect-exec,
 * memfd_create, ioctl (TIOCSTI), setuid; and tgkill-self, the allowed control. Returns 0
 * when the call failed with EPERM or EACCES, 1 when it went through (logged), -EINVAL for
 * an unknown CALL; a call the filter forbids never returns (SIGSYS). */
bool iovm_sandbox_probe_known(const char *call);
void iovm_sandbox_probe_list(FILE *f);
/* Before the sandbox: what the probe needs that the sandbox forbids (the parent's pid). */
void iovm_sandbox_probe_prepare(const char *call);
int iovm_sandbox_probe(const char *call);

#endif
