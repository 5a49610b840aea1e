/* The guest wing's privilege boundary (src/guest_priv.c): the fds and argv built for iovm
 * (each fd where its option says, each group once), the guest user's rules, and, when the
 * test runs as root, what a spawned "iovm" (this program again, in report mode) actually
 * has: only its fds, the guest uid/gid, no capabilities, no_new_privs, its own session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/sysfs.h"
#include "src/guest_priv.h"
#include "tests/unit/fakesys.h"

struct fx {
	char *dir;
	int kfd, ifd;
	struct iov_cfg_guest spec;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char p[PATH_MAX];

	f->dir = fk_tmpdir();
	fk_write(f->dir, "dev/kvm", "");
	fk_write(f->dir, "dev/vfio/vfio", "");
	fk_write(f->dir, "dev/vfio/7", "");
	fk_write(f->dir, "dev/vfio/9", "");
	fk_write(f->dir, "bzImage", "kernel");
	fk_write(f->dir, "initrd", "initrd");
	snprintf(p, sizeof(p), "%s/bzImage", f->dir);
	f->kfd = open(p, O_RDONLY | O_CLOEXEC);
	snprintf(p, sizeof(p), "%s/initrd", f->dir);
	f->ifd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(f->kfd >= 0 && f->ifd >= 0);
	f->spec = (struct iov_cfg_guest){ .name = "g", .cmdline = "console=ttyS0 quiet",
					  .mem_mib = 256, .cpus = 2,
					  .restart = IOV_RESTART_ON_FAILURE };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	close(f->kfd);
	close(f->ifd);
	fk_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static ino_t ino_of(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(stat(p, &st), 0);
	return st.st_ino;
}

static ino_t ino_fd(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static struct gpriv_in in_of(struct fx *f, const struct gpriv_nic *nics, size_t n, char *dev)
{
	snprintf(dev, PATH_MAX, "%s/dev", f->dir);
	return (struct gpriv_in){ .iovm = "/usr/bin/iovm", .dev_dir = dev, .spec = &f->spec,
				  .nics = nics, .n_nics = n, .kernel_fd = f->kfd,
				  .initrd_fd = f->ifd, .stop_timeout = 30 };
}

static void assert_argv(const struct gpriv_launch *l, const char *const *want)
{
	int i;

	for (i = 0; want[i]; i++) {
		if (i >= l->argc || strcmp(l->argv[i], want[i]) != 0)
			fail_msg("argv[%d] is \"%s\", want \"%s\"", i, i < l->argc ? l->argv[i] : "(end)",
				 want[i]);
	}
	assert_int_equal(l->argc, i);
	assert_null(l->argv[i]);
}

/* Three NICs in two groups: the container once, group 7 once for two VFs. */
static void argv_and_fds(void **state)
{
	static const char *const want[] = { "/usr/bin/iovm", "--kvm-fd", "3",
		"--vfio-container-fd", "4", "--vfio-group-fd", "5:0000:01:10.0", "--vfio-group-fd",
		"5:0000:01:10.2", "--vfio-group-fd", "6:0000:01:10.4", "--kernel-fd", "7",
		"--initrd-fd", "8", "--cmdline", "console=ttyS0 quiet", "--mem", "256M", "--cpus",
		"2", "--console", "stdio", "--console-filter", "off", "--on-reboot", "restart",
		"--stats", "--stop-timeout", "30", NULL };
	static const struct gpriv_nic nics[] = { { "0000:01:10.0", 7 }, { "0000:01:10.2", 7 },
						 { "0000:01:10.4", 9 } };
	struct fx *f = *state;
	struct gpriv_launch l;
	struct iov_err e = { 0 };
	char dev[PATH_MAX];
	struct gpriv_in in = in_of(f, nics, 3, dev);
	int before = open_fds();

	gpriv_init(&l);
	assert_int_equal(gpriv_build(&l, &in, &e), 0);
	assert_argv(&l, want);
	assert_int_equal(l.n_fds, 6);
	/* fds[i] is iovm's fd 3 + i: the files the options name. */
	assert_int_equal(ino_fd(l.fds[0]), ino_of(f->dir, "dev/kvm"));
	assert_int_equal(ino_fd(l.fds[1]), ino_of(f->dir, "dev/vfio/vfio"));
	assert_int_equal(ino_fd(l.fds[2]), ino_of(f->dir, "dev/vfio/7"));
	assert_int_equal(ino_fd(l.fds[3]), ino_of(f->dir, "dev/vfio/9"));
	assert_int_equal(ino_fd(l.fds[4]), ino_of(f->dir, "bzImage"));
	assert_int_equal(ino_fd(l.fds[5]), ino_of(f->dir, "initrd"));
	/* Copies: the caller's kernel and initrd fds stay its own. */
	assert_int_not_equal(l.fds[4], f->kfd);
	for (int i = 0; i < l.n_fds; i++)
		assert_int_equal(fcntl(l.fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(l.n_groups, 2);
	gpriv_close(&l);
	assert_int_equal(open_fds(), before);
	gpriv_close(&l);	/* twice is harmless */
}

/* Disks: each a --disk-fd after the initrd, ",ro" for a read-only one. */
static void argv_disks(void **state)
{
	static const char *const want[] = { "/usr/bin/iovm", "--kvm-fd", "3", "--kernel-fd", "4",
		"--initrd-fd", "5", "--disk-fd", "6", "--disk-fd", "7,ro", "--cmdline",
		"console=ttyS0 quiet", "--mem", "256M", "--cpus", "2", "--console", "stdio",
		"--console-filter", "off", "--on-reboot", "restart", "--stats", "--stop-timeout",
		"30", NULL };
	struct fx *f = *state;
	struct gpriv_disk d[2] = { { f->kfd, false }, { f->ifd, true } };
	struct gpriv_launch l;
	struct iov_err e = { 0 };
	char dev[PATH_MAX];
	struct gpriv_in in = in_of(f, NULL, 0, dev);

	in.disks = d;
	in.n_disks = 2;
	gpriv_init(&l);
	assert_int_equal(gpriv_build(&l, &in, &e), 0);
	assert_argv(&l, want);
	assert_int_equal(ino_fd(l.fds[4]), ino_of(f->dir, "initrd"));
	gpriv_close(&l);
}

/* Hot-plug slots: --hotplug N and the control socket, a copy of the listening fd, last. */
static void argv_hotplug(void **state)
{
	static const char *const want[] = { "/usr/bin/iovm", "--kvm-fd", "3",
		"--vfio-container-fd", "4", "--vfio-group-fd", "5:0000:01:10.0", "--kernel-fd", "6",
		"--initrd-fd", "7", "--cmdline", "console=ttyS0 quiet", "--mem", "256M", "--cpus",
		"2", "--console", "stdio", "--console-filter", "off", "--on-reboot", "restart",
		"--stats", "--stop-timeout", "30", "--hotplug", "4", "--control-fd", "8", NULL };
	static const struct gpriv_nic nics[] = { { "0000:01:10.0", 7 } };
	struct fx *f = *state;
	struct gpriv_launch l;
	struct iov_err e = { 0 };
	char dev[PATH_MAX];
	struct gpriv_in in = in_of(f, nics, 1, dev);
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	in.hotplug = 4;
	in.control_fd = sv[0];
	gpriv_init(&l);
	assert_int_equal(gpriv_build(&l, &in, &e), 0);
	assert_argv(&l, want);
	assert_int_equal(l.n_fds, 6);
	assert_int_equal(ino_fd(l.fds[5]), ino_fd(sv[0]));
	assert_int_not_equal(l.fds[5], sv[0]);		/* a copy: the caller's stays its own */
	gpriv_close(&l);
	assert_int_equal(fcntl(sv[0], F_GETFD) >= 0, 1);
	close(sv[0]);
	close(sv[1]);
}

/* Images are locked as QEMU locks them: many readers, or one writer. */
static void disk_locks(void **state)
{
	struct fx *f = *state;
	struct iov_err e = { 0 };
	char img[PATH_MAX], fifo[PATH_MAX];
	int rw, rw2, ro, ro2, fd;

	fk_write(f->dir, "disk.img", "0123456789");
	snprintf(img, sizeof(img), "%s/disk.img", f->dir);
	ro = gpriv_disk("disk 0", img, -1, true, &e);
	ro2 = gpriv_disk("disk 0", img, -1, true, &e);
	assert_true(ro >= 0 && ro2 >= 0);
	assert_int_equal(gpriv_disk("disk 0", img, -1, false, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "is in use: another guest uses it"));
	close(ro);
	close(ro2);
	rw = gpriv_disk("disk 0", img, -1, false, &e);
	assert_true(rw >= 0);
	assert_int_equal(gpriv_disk("disk 1", img, -1, false, &e), -EBUSY);
	assert_int_equal(gpriv_disk("disk 1", img, -1, true, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "another guest writes it"));
	/* A copy of the fd (iovm's) keeps the lock after iovd's is closed. */
	rw2 = dup(rw);
	close(rw);
	assert_int_equal(gpriv_disk("disk 1", img, -1, true, &e), -EBUSY);
	close(rw2);
	ro = gpriv_disk("disk 1", img, -1, true, &e);
	assert_true(ro >= 0);
	close(ro);
	/* Passed fds: the mode must match, and a FIFO is no disk. */
	fd = open(img, O_RDWR);
	assert_int_equal(gpriv_disk("disk 0", NULL, fd, true, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not open read-only"));
	close(fd);
	snprintf(fifo, sizeof(fifo), "%s/dfifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDWR | O_NONBLOCK);
	assert_int_equal(gpriv_disk("disk 0", NULL, fd, false, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "disk 0: a FIFO"));
	close(fd);
}

/* No NICs: no container, no groups; no initrd, no cmdline, no restart policy. RAM on
 * hugepages; the stop timeout as given (0: a SIGTERM not from `vm stop` ends it at once). */
static void argv_minimal(void **state)
{
	static const char *const want[] = { "/usr/bin/iovm", "--kvm-fd", "3", "--kernel-fd", "4",
		"--mem", "256M", "--hugepages", "--cpus", "2", "--console", "stdio",
		"--console-filter", "off", "--stats", "--stop-timeout", "0", NULL };
	struct fx *f = *state;
	struct gpriv_launch l;
	struct iov_err e = { 0 };
	char dev[PATH_MAX];
	struct gpriv_in in = in_of(f, NULL, 0, dev);

	f->spec.cmdline = NULL;
	f->spec.restart = IOV_RESTART_NO;
	f->spec.hugepages = true;
	in.initrd_fd = -1;
	in.stop_timeout = 0;
	gpriv_init(&l);
	assert_int_equal(gpriv_build(&l, &in, &e), 0);
	assert_argv(&l, want);
	assert_int_equal(l.n_fds, 2);
	gpriv_close(&l);
}

/* Hugepages: free minus promised 2 MiB pages against the guest's RAM, from sysfs under
 * the sysroot; a refusal says the numbers and the nr_hugepages to write. */
static void hugepages_check(void **state)
{
	static const char *const dir = "sys/kernel/mm/hugepages/hugepages-2048kB/";
	struct fx *f = *state;
	struct iov_err e = { 0 };
	char p[PATH_MAX];

	fk_mkdir(f->dir, "sys/bus/pci/devices");	/* what makes a sysroot */
	assert_int_equal(iov_sysroot_set(f->dir), 0);
	/* Not asked: nothing read (no such files here). */
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), 0);
	f->spec.hugepages = true;
	/* A kernel without 2 MiB hugepages. */
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "hugepages-2048kB/free_hugepages"));
	/* 256 MiB = 128 pages; 100 free of 100. */
#define HP(name, v) (snprintf(p, sizeof(p), "%s%s", dir, name), fk_write(f->dir, p, v "\n"))
	HP("nr_hugepages", "100");
	HP("free_hugepages", "100");
	HP("resv_hugepages", "0");
	memset(&e, 0, sizeof(e));
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), -ENOMEM);
	assert_non_null(strstr(e.msg, "guest g needs 128 free 2 MiB hugepages for 256 MiB"));
	assert_non_null(strstr(e.msg, "has 100 free of 100"));
	assert_non_null(strstr(e.fix, "echo 128 > /sys/kernel/mm/hugepages/hugepages-2048kB/"
				  "nr_hugepages"));
	/* 200 free, but 80 promised to mappings not yet faulted: 120 usable, too few. */
	HP("nr_hugepages", "200");
	HP("free_hugepages", "200");
	HP("resv_hugepages", "80");
	memset(&e, 0, sizeof(e));
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), -ENOMEM);
	assert_non_null(strstr(e.msg, "has 120 free of 200"));
	assert_non_null(strstr(e.fix, "echo 208 > "));
	/* 10 promised: 190 usable, enough. */
	HP("resv_hugepages", "10");
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), 0);
	/* Exactly enough. */
	HP("free_hugepages", "138");
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), 0);
	HP("free_hugepages", "137");
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), -ENOMEM);
	/* An odd number of MiB cannot be backed by 2 MiB pages. */
	f->spec.mem_mib = 255;
	memset(&e, 0, sizeof(e));
	assert_int_equal(gpriv_hugepages_check(&f->spec, &e), -EINVAL);
	assert_non_null(strstr(e.fix, "2 MiB"));
#undef HP
	iov_sysroot_set(NULL);
}

/* A device that is not there: the error names it, nothing stays open. */
static void missing_device(void **state)
{
	static const struct gpriv_nic nics[] = { { "0000:01:10.0", 7 }, { "0000:01:10.6", 11 } };
	struct fx *f = *state;
	struct gpriv_launch l;
	struct iov_err e = { 0 };
	char dev[PATH_MAX], want[PATH_MAX + 32];
	struct gpriv_in in = in_of(f, nics, 2, dev);
	int before = open_fds();

	gpriv_init(&l);
	assert_int_equal(gpriv_build(&l, &in, &e), -ENOENT);
	snprintf(want, sizeof(want), "%s/vfio/11: No such file", dev);
	assert_non_null(strstr(e.msg, want));
	assert_int_equal(l.n_fds, 0);
	assert_int_equal(open_fds(), before);
	/* Regular files are not VFIO groups: never viable. */
	in.n_nics = 1;
	assert_int_equal(gpriv_build(&l, &in, &e), 0);
	assert_int_equal(gpriv_check_groups(&l, &e), -EPERM);
	assert_non_null(strstr(e.msg, "group 7 of 0000:01:10.0 is not viable"));
	gpriv_close(&l);
}

static void user_rules(void **state)
{
	struct iov_err e = { 0 };
	uid_t u = 1;
	gid_t g = 1;

	assert_int_equal(gpriv_user("root", &u, &g, &e), -EPERM);
	assert_int_equal(gpriv_user("0", &u, &g, &e), -EPERM);
	assert_int_equal(gpriv_user("0:100", &u, &g, &e), -EPERM);
	assert_int_equal(gpriv_user("no-such-user-iovd-test", &u, &g, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "'no-such-user-iovd-test' does not exist"));
	assert_int_equal(gpriv_user("1234:5678", &u, &g, &e), 0);
	assert_int_equal(u, 1234);
	assert_int_equal(g, 5678);
	assert_int_equal(gpriv_user("4321", &u, &g, &e), 0);
	assert_int_equal(g, 4321);
	assert_int_equal(gpriv_user("12x", &u, &g, &e), -ENOENT);
}

/* policy.guest_uids: the lowest uid no running guest, user, group or process has; a full
 * range is refused, saying so. Processes come from a stand-in /proc. */
static void pick_uid(void **state)
{
	struct iov_err e = { 0 };
	char *proc = fk_tmpdir();
	uid_t taken[] = { 300000, 300003, 300004, 300005 }, u = 0;

	for (uid_t k = 300000; k <= 300005; k++)
		if (getpwuid(k) || getgrgid(k)) {
			fprintf(stderr, "pick_uid: uid or gid %u exists here; not tested\n", (unsigned)k);
			fk_rmtree(proc);
			free(proc);
			return;
		}
	fk_write(proc, "100/status", "Name:\tsleep\nUid:\t300001\t300001\t300001\t300001\n"
				       "Gid:\t0\t0\t0\t0\n");
	fk_write(proc, "200/status", "Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t1\t300002\t1\t1\n");
	fk_write(proc, "self/status", "Uid:\t300003\t300003\t300003\t300003\n");
	/* 300000 a guest's, 300001 a process's uid, 300002 a process's gid. */
	assert_int_equal(gpriv_pick_uid(300000, 300005, taken, 1, proc, &u, &e), 0);
	assert_int_equal(u, 300003);
	/* Every other one taken. */
	u = 0;
	assert_int_equal(gpriv_pick_uid(300000, 300005, taken, 4, proc, &u, &e), -EBUSY);
	assert_int_equal(u, 0);
	assert_non_null(strstr(e.msg, "no free uid in policy.guest_uids 300000-300005"));
	/* A user's uid (nobody's, where the password database has it) is never picked. */
	if (getpwuid(65534)) {
		assert_int_equal(gpriv_pick_uid(65534, 65534, NULL, 0, proc, &u, &e), -EBUSY);
		assert_int_equal(gpriv_pick_uid(65534, 65535, NULL, 0, proc, &u, &e),
				 getpwuid(65535) || getgrgid(65535) ? -EBUSY : 0);
	}
	assert_int_equal(gpriv_pick_uid(0, 10, NULL, 0, proc, &u, &e), -EINVAL);
	assert_int_equal(gpriv_pick_uid(1, 70000, NULL, 0, proc, &u, &e), -EINVAL);
	fk_rmtree(proc);
	free(proc);
}

/* Root-named paths (a config guest's kernel): in a session leader with no terminal (as
 * iovd is), a FIFO with no writer must not block the open, a terminal must not become the
 * controlling one, a symlink is not followed; all refused, saying why. Each in a child with
 * an alarm: a blocked open ends it with SIGALRM. */
static void root_paths_hostile(void **state)
{
	struct fx *f = *state;
	char fifo[PATH_MAX], lnk[PATH_MAX];
	int m = posix_openpt(O_RDWR | O_NOCTTY), status;
	pid_t pid;

	snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(lnk, sizeof(lnk), "%s/link", f->dir);
	assert_int_equal(symlink("bzImage", lnk), 0);
	assert_true(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct iov_err e = { 0 };
		int code = 0;

		alarm(5);
		if (setsid() < 0)
			_exit(10);
		if (gpriv_open_file("kernel", fifo, &e) != -EINVAL || !strstr(e.msg, "a FIFO"))
			code |= 1;
		if (gpriv_open_file("kernel", ptsname(m), &e) != -EINVAL ||
		    !strstr(e.msg, "a character device"))
			code |= 2;
		if (open("/dev/tty", O_RDWR | O_NOCTTY) >= 0)
			code |= 4;	/* the terminal became ours */
		if (gpriv_open_file("kernel", lnk, &e) != -ELOOP || !strstr(e.msg, "symbolic link"))
			code |= 8;
		_exit(code);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child: %s %d (1 FIFO, 2 pty, 4 controlling terminal, 8 symlink)",
			 WIFEXITED(status) ? "exit" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	close(m);
}

/* Report mode: this program as iovm. Prints what it received, one fact a line. */
static int report(int argc, char **argv)
{
	char line[256], caps[64] = "?";
	struct rlimit rl;
	FILE *st = fopen("/proc/self/status", "r");
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	while (st && fgets(line, sizeof(line), st))
		if (sscanf(line, "CapEff: %63s", caps) == 1)
			break;
	if (st)
		fclose(st);
	getrlimit(RLIMIT_MEMLOCK, &rl);
	printf("uid %u %u gid %u %u nnp %d sid %d caps %s memlock %llu\n", (unsigned)getuid(),
	       (unsigned)geteuid(), (unsigned)getgid(), (unsigned)getegid(),
	       prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), getsid(0) == getpid(), caps,
	       (unsigned long long)rl.rlim_cur);
	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);
		struct stat s;

		if (de->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &s) < 0)
			continue;
		printf("fd %d %llu %s\n", fd, (unsigned long long)s.st_ino,
		       S_ISFIFO(s.st_mode) ? "fifo" : S_ISREG(s.st_mode) ? "reg" : "other");
	}
	printf("argc %d\n", argc);
	fflush(stdout);
	_exit(0);	/* no exit handlers (a sanitizer's leak check) in the stand-in */
}

static void spawn_as_guest_user(void **state)
{
	static const struct gpriv_nic nics[] = { { "0000:01:10.0", 7 } };
	struct fx *f = *state;
	struct gpriv_launch l;
	struct iov_err e = { 0 };
	char dev[PATH_MAX], self[PATH_MAX], prog[PATH_MAX], log[PATH_MAX], fifo[PATH_MAX], want[64];
	const char *out;
	struct gpriv_in in = in_of(f, nics, 1, dev);
	struct stat st;
	struct rlimit rl;
	unsigned long long memlock;
	char line[160];
	ssize_t n;
	int status, before = open_fds();
	pid_t pid;

	if (geteuid() != 0)
		skip();
	/* The guest user must be able to run the copy. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	snprintf(prog, sizeof(prog), "%s/iovm", f->dir);
	{
		char cmd[2 * PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", self, prog);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(prog, 0755), 0);
	in.iovm = prog;
	snprintf(log, sizeof(log), "%s/g.log", f->dir);
	snprintf(fifo, sizeof(fifo), "%s/g.in", f->dir);
	gpriv_init(&l);
	assert_int_equal(gpriv_build(&l, &in, &e), 0);
	assert_int_equal(gpriv_open_console(&l, open(log, O_WRONLY | O_CREAT | O_CLOEXEC, 0600),
					    fifo, &e), 0);
	assert_int_equal(stat(log, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(fifo, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	/* A limit this process may set (a container may deny raising the hard limit). */
	assert_int_equal(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	memlock = rl.rlim_max < (64ULL << 20) ? rl.rlim_max : 64ULL << 20;
	pid = gpriv_spawn(&l, 65534, 65533, memlock, &e);
	assert_true(pid > 0);
	assert_int_equal(l.n_fds, 0);	/* iovd's copies are closed */
	assert_int_equal(open_fds(), before);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	out = fk_read(f->dir, "g.log");
	snprintf(line, sizeof(line), "uid 65534 65534 gid 65533 65533 nnp 1 sid 1 caps "
		 "0000000000000000 memlock %llu\n", (unsigned long long)memlock);
	if (strncmp(out, line, strlen(line)) != 0)
		fail_msg("iovm ran as: %s", out);
	/* 0: the FIFO; 1, 2: the log; 3..6 kvm, container, group 7, kernel, initrd; no more. */
	assert_non_null(strstr(out, "fd 0 "));
	assert_non_null(strstr(out, " fifo\n"));
	snprintf(want, sizeof(want), "fd 3 %llu reg\n", (unsigned long long)ino_of(f->dir, "dev/kvm"));
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "fd 5 %llu reg\n",
		 (unsigned long long)ino_of(f->dir, "dev/vfio/7"));
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "fd 6 %llu reg\n", (unsigned long long)ino_of(f->dir, "bzImage"));
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "fd 7 %llu reg\n", (unsigned long long)ino_of(f->dir, "initrd"));
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "fd 8 "));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(argv_and_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(argv_minimal, setup, teardown),
		cmocka_unit_test_setup_teardown(hugepages_check, setup, teardown),
		cmocka_unit_test_setup_teardown(argv_disks, setup, teardown),
		cmocka_unit_test_setup_teardown(argv_hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(disk_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_device, setup, teardown),
		cmocka_unit_test(user_rules),
		cmocka_unit_test(pick_uid),
		cmocka_unit_test_setup_teardown(root_paths_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(spawn_as_guest_user, setup, teardown),
	};

	if (argc > 1 && strcmp(argv[1], "--kvm-fd") == 0)
		return report(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
