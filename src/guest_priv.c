/* The guest wing's privilege boundary (src/guest_priv.h). */
#include "src/guest_priv.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/mempolicy.h>
#include <linux/vfio.h>

#include "lib/sysfs.h"

void gpriv_init(struct gpriv_launch *l)
{
	memset(l, 0, sizeof(*l));
	l->outfd = -1;
	l->infd = -1;
	l->node = -1;
}

static void arg(struct gpriv_launch *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct gpriv_launch *l, const char *fmt, ...)
{
	va_list ap;

	if (l->argc >= GPRIV_MAX_ARGS)
		return;
	va_start(ap, fmt);
	vsnprintf(l->strs[l->argc], sizeof(l->strs[0]), fmt, ap);
	va_end(ap);
	l->argv[l->argc] = l->strs[l->argc];
	l->argv[++l->argc] = NULL;
}

void gpriv_close(struct gpriv_launch *l)
{
	for (int i = 0; i < l->n_fds; i++)
		if (l->fds[i] >= 0)
			close(l->fds[i]);
	l->n_fds = 0;
	l->n_groups = 0;
	if (l->outfd >= 0)
		close(l->outfd);
	l->outfd = -1;
	if (l->infd >= 0)
		close(l->infd);
	l->infd = -1;
}

/* Adds fd (owned now) as iovm's next fd: its number there. */
static int add_fd(struct gpriv_launch *l, int fd)
{
	l->fds[l->n_fds++] = fd;
	return 3 + l->n_fds - 1;
}

static int open_dev(const struct gpriv_in *in, const char *rel, struct iov_err *err)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", in->dev_dir ? in->dev_dir : "/dev", rel);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return iov_err_set(err, -errno, errno == ENOENT ? "load the module (kvm_intel or "
				   "kvm_amd; vfio-pci)" : NULL, "%s: %s", path, strerror(errno));
	return fd;
}

static int copy_fd(const char *what, int fd, struct iov_err *err)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (d < 0)
		return iov_err_set(err, -errno, NULL, "%s: copying its fd: %s", what, strerror(errno));
	return d;
}

int gpriv_build(struct gpriv_launch *l, const struct gpriv_in *in, struct iov_err *err)
{
	const struct iov_cfg_guest *s = in->spec;
	int fd;

	if (in->n_nics > IOV_GUEST_MAX_NICS)
		return iov_err_set(err, -E2BIG, NULL, "at most %d NICs per guest",
				   IOV_GUEST_MAX_NICS);
	arg(l, "%s", in->iovm);
	if ((fd = open_dev(in, "kvm", err)) < 0)
		goto fail;
	arg(l, "--kvm-fd");
	arg(l, "%d", add_fd(l, fd));
	if (in->n_nics) {
		if ((fd = open_dev(in, "vfio/vfio", err)) < 0)
			goto fail;
		arg(l, "--vfio-container-fd");
		arg(l, "%d", add_fd(l, fd));
	}
	for (size_t i = 0; i < in->n_nics; i++) {
		int slot = -1;

		for (int k = 0; k < l->n_groups; k++)
			if (l->group_id[k] == in->nics[i].group)
				slot = l->group_slot[k];
		if (slot < 0) {
			char rel[32];

			snprintf(rel, sizeof(rel), "vfio/%d", in->nics[i].group);
			if ((fd = open_dev(in, rel, err)) < 0)
				goto fail;
			slot = add_fd(l, fd);
			l->group_slot[l->n_groups] = slot;
			l->group_id[l->n_groups] = in->nics[i].group;
			snprintf(l->group_vf[l->n_groups++], sizeof(l->group_vf[0]), "%s",
				 in->nics[i].vf);
		}
		arg(l, "--vfio-group-fd");
		arg(l, "%d:%s", slot, in->nics[i].vf);
	}
	if ((fd = copy_fd("kernel", in->kernel_fd, err)) < 0)
		goto fail;
	arg(l, "--kernel-fd");
	arg(l, "%d", add_fd(l, fd));
	if (in->initrd_fd >= 0) {
		if ((fd = copy_fd("initrd", in->initrd_fd, err)) < 0)
			goto fail;
		arg(l, "--initrd-fd");
		arg(l, "%d", add_fd(l, fd));
	}
	for (size_t i = 0; i < in->n_disks; i++) {
		if ((fd = copy_fd("disk", in->disks[i].fd, err)) < 0)
			goto fail;
		arg(l, "--disk-fd");
		arg(l, "%d%s", add_fd(l, fd), in->disks[i].readonly ? ",ro" : "");
	}
	if (s->cmdline) {
		arg(l, "--cmdline");
		arg(l, "%s", s->cmdline);
	}
	arg(l, "--mem");
	arg(l, "%lluM", (unsigned long long)s->mem_mib);
	if (s->hugepages)
		arg(l, "--hugepages");
	arg(l, "--cpus");
	arg(l, "%u", s->cpus);
	arg(l, "--console");
	arg(l, "stdio");
	/* The log keeps the guest's bytes raw; VmLog and iovctl escape them for display. */
	arg(l, "--console-filter");
	arg(l, "off");
	/* A guest reboot under a restart policy: iovm resets the devices and restarts the
	 * guest in place (no new allocation); without one iovm exits 3. */
	if (s->restart != IOV_RESTART_NO) {
		arg(l, "--on-reboot");
		arg(l, "restart");
	}
	arg(l, "--stats");
	/* A SIGTERM from anyone but `vm stop` (which queues its own timeout with the signal)
	 * still ends the guest in bounded time: the config's stop timeout. */
	arg(l, "--stop-timeout");
	arg(l, "%d", in->stop_timeout);
	/* Hot-plug slots and the control socket iovd plugs VFs in through (src/guest_hp.h). */
	if (in->hotplug > 0) {
		if ((fd = copy_fd("control socket", in->control_fd, err)) < 0)
			goto fail;
		arg(l, "--hotplug");
		arg(l, "%d", in->hotplug);
		arg(l, "--control-fd");
		arg(l, "%d", add_fd(l, fd));
	}
	if (l->argc >= GPRIV_MAX_ARGS) {
		fd = iov_err_set(err, -E2BIG, NULL, "iovm's command line: more than %d arguments",
				 GPRIV_MAX_ARGS - 1);
		goto fail;
	}
	return 0;
fail:
	gpriv_close(l);
	return fd;
}

#define HUGEPAGES_DIR "/sys/kernel/mm/hugepages/hugepages-2048kB"

int gpriv_hugepages_check(const struct iov_cfg_guest *spec, struct iov_err *err)
{
	char path[PATH_MAX];
	uint64_t need, free_p = 0, resv = 0, total = 0;
	int r;

	if (!spec->hugepages)
		return 0;
	need = (spec->mem_mib + 1) / 2;
	if (spec->mem_mib % 2)
		return iov_err_set(err, -EINVAL, "give --mem in whole 2 MiB pages (an even number "
				   "of MiB)", "guest %s: %llu MiB of RAM on 2 MiB hugepages",
				   spec->name, (unsigned long long)spec->mem_mib);
	iov_path(path, sizeof(path), HUGEPAGES_DIR "/free_hugepages");
	if ((r = iov_read_u64(path, 10, &free_p)) < 0)
		return iov_err_set(err, r == -ENOENT ? -EOPNOTSUPP : r, "a kernel with "
				   "CONFIG_HUGETLBFS and 2 MiB pages, or start it without "
				   "--hugepages", "guest %s asks for hugepages: %s: %s", spec->name,
				   path, strerror(-r));
	/* Pages promised to mappings made but not yet faulted are counted free too. */
	iov_path(path, sizeof(path), HUGEPAGES_DIR "/resv_hugepages");
	if (iov_read_u64(path, 10, &resv) < 0 || resv > free_p)
		resv = 0;
	iov_path(path, sizeof(path), HUGEPAGES_DIR "/nr_hugepages");
	if (iov_read_u64(path, 10, &total) < 0)
		total = 0;
	if (free_p - resv >= need)
		return 0;
	iov_err_set(err, -ENOMEM, NULL, "guest %s needs %llu free 2 MiB hugepages for %llu MiB of "
		    "RAM; the host has %llu free of %llu (nr_hugepages)", spec->name,
		    (unsigned long long)need, (unsigned long long)spec->mem_mib,
		    (unsigned long long)(free_p - resv), (unsigned long long)total);
	snprintf(err->fix, sizeof(err->fix), "reserve more: echo %llu > %s/nr_hugepages (or "
		 "vm.nr_hugepages in sysctl.conf), or start it without --hugepages",
		 (unsigned long long)(total + need - (free_p - resv)), HUGEPAGES_DIR);
	return -ENOMEM;
}

int gpriv_check_groups(const struct gpriv_launch *l, struct iov_err *err)
{
	for (int k = 0; k < l->n_groups; k++) {
		struct vfio_group_status gs = { .argsz = sizeof(gs) };

		if (ioctl(l->fds[l->group_slot[k] - 3], VFIO_GROUP_GET_STATUS, &gs) < 0 ||
		    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
			iov_err_set(err, -EPERM, NULL, "group %d of %s is not viable: a member is "
				    "on a host driver", l->group_id[k], l->group_vf[k]);
			snprintf(err->fix, sizeof(err->fix), "see `iovctl verify %s`", l->group_vf[k]);
			return -EPERM;
		}
	}
	return 0;
}

int gpriv_open_console(struct gpriv_launch *l, int outfd, const char *fifo,
		       struct iov_err *err)
{
	l->outfd = outfd;
	/* Console input (`iovctl vm console`): a FIFO that is iovm's stdin. iovm holds it open
	 * both ways, so it never sees an end of input, and an iovd restarted while the guest
	 * runs opens it again by name. */
	unlink(fifo);
	if (mkfifo(fifo, 0600) < 0 ||
	    (l->infd = open(fifo, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return iov_err_set(err, -errno, NULL, "%s: %s", fifo, strerror(errno));
	return 0;
}

/* The file's type from the fd, from what the kernel has cached (AT_STATX_DONT_SYNC: a
 * network or FUSE file system is not asked, so it cannot hold iovd up). */
static int fd_type(int fd, mode_t *type)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &sx) < 0)
		return -errno;
	*type = sx.stx_mode & S_IFMT;
	return 0;
}

static const char *type_name(mode_t t)
{
	return t == S_IFIFO ? "a FIFO" : t == S_IFCHR ? "a character device" : t == S_IFBLK ?
		"a block device" : t == S_IFDIR ? "a directory" : t == S_IFSOCK ? "a socket" :
		t == S_IFLNK ? "a symbolic link" : "not a regular file";
}

int gpriv_open_file(const char *what, const char *path, struct iov_err *err)
{
	/* No FIFO can block iovd (O_NONBLOCK), no terminal can become its controlling one
	 * (O_NOCTTY), no symbolic link is followed at the end (O_NOFOLLOW); the type is
	 * checked on the fd before anything is read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY), r;
	mode_t t = 0;

	if (fd < 0)
		return iov_err_set(err, -errno, "give a readable regular file (a path on the host "
				   "running iovd)", "%s %s: %s", what, path, errno == ELOOP ?
				   "a symbolic link (not followed)" : strerror(errno));
	if ((r = fd_type(fd, &t)) < 0 || t != S_IFREG) {
		close(fd);
		return iov_err_set(err, r < 0 ? r : -EINVAL, "give a regular file", "%s %s: %s",
				   what, path, r < 0 ? strerror(-r) : type_name(t));
	}
	return fd;
}

int gpriv_check_passed(const char *what, int fd, struct iov_err *err)
{
	int fl = fcntl(fd, F_GETFL), r;
	mode_t t = 0;

	if (fl < 0)
		return iov_err_set(err, -errno, NULL, "%s: the fd passed: %s", what, strerror(errno));
	if ((fl & O_PATH) || (fl & O_ACCMODE) != O_RDONLY)
		return iov_err_set(err, -EINVAL, "open it read-only (iovctl does)", "%s: the fd "
				   "passed is not open read-only", what);
	if ((r = fd_type(fd, &t)) < 0)
		return iov_err_set(err, r, NULL, "%s: the fd passed: %s", what, strerror(-r));
	if (t != S_IFREG)
		return iov_err_set(err, -EINVAL, "pass a regular file", "%s: the fd passed is %s",
				   what, type_name(t));
	return 0;
}

int gpriv_disk(const char *what, const char *path, int passed, bool readonly,
		struct iov_err *err)
{
	struct flock lk = { .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	int fd = passed, fl, r;
	mode_t t = 0;

	if (fd < 0) {
		fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
			  O_NOCTTY);
		if (fd < 0)
			return iov_err_set(err, -errno, "give a disk image (a file or a block device)",
					   "%s %s: %s", what, path, errno == ELOOP ?
					   "a symbolic link (not followed)" : strerror(errno));
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || (fl & O_PATH) ||
	    (fl & O_ACCMODE) != (readonly ? O_RDONLY : O_RDWR)) {
		r = iov_err_set(err, -EINVAL, readonly ? "open it read-only (iovctl does for ,ro)" :
				"open it read-write, or give ,ro", "%s: the fd passed is not open %s",
				what, readonly ? "read-only" : "read-write");
		goto fail;
	}
	if ((r = fd_type(fd, &t)) < 0 || (t != S_IFREG && t != S_IFBLK)) {
		r = iov_err_set(err, r < 0 ? r : -EINVAL, "give a disk image (a regular file) or a "
				"block device", "%s%s%s: %s", what, passed < 0 ? " " : "",
				passed < 0 ? path : "", r < 0 ? strerror(-r) : type_name(t));
		goto fail;
	}
	if (fcntl(fd, F_OFD_SETLK, &lk) < 0) {
		r = iov_err_set(err, errno == EAGAIN || errno == EACCES ? -EBUSY : -errno,
				"stop the guest (or program) using it, or give it ,ro to every guest "
				"that shares it", "%s%s%s is in use: %s", what, passed < 0 ? " " : "",
				passed < 0 ? path : "", readonly ? "another guest writes it" :
				"another guest uses it");
		goto fail;
	}
	return fd;
fail:
	if (passed < 0)
		close(fd);
	return r;
}

int gpriv_user(const char *user, uid_t *uid, gid_t *gid, struct iov_err *err)
{
	struct passwd *pw = getpwnam(user);
	unsigned long u, gg;
	char *end;

	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		u = strtoul(user, &end, 10);
		gg = *end == ':' ? strtoul(end + 1, &end, 10) : u;
		if (end == user || *end)
			return iov_err_set(err, -ENOENT, "create it (`useradd --system --no-create-home "
					   "--shell /usr/sbin/nologin iovm`, which setup.sh does) or "
					   "start iovd with --guest-user NAME",
					   "the guest user '%s' does not exist", user);
		*uid = (uid_t)u;
		*gid = (gid_t)gg;
	}
	if (*uid == 0)
		return iov_err_set(err, -EPERM, "pick an unprivileged user with --guest-user",
				   "the guest user '%s' is root: iovm must run unprivileged", user);
	return 0;
}

/* Marks in used (a bit per uid of first..first+n-1) every uid and gid of a process. */
static void mark_processes(const char *proc_dir, uint32_t first, uint32_t n, uint8_t *used)
{
	DIR *d = opendir(proc_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[PATH_MAX], line[256];
		unsigned long v[4];
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "%s/%s/status", proc_dir, e->d_name);
		if (!(f = fopen(p, "re")))
			continue;	/* ended meanwhile */
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "Uid:", 4) != 0 && strncmp(line, "Gid:", 4) != 0)
				continue;
			if (sscanf(line + 4, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
				continue;
			for (int i = 0; i < 4; i++)
				if (v[i] >= first && v[i] - first < n)
					used[(v[i] - first) / 8] |= (uint8_t)(1u << ((v[i] - first) % 8));
		}
		fclose(f);
	}
	closedir(d);
}

int gpriv_pick_uid(uint32_t first, uint32_t last, const uid_t *taken, size_t n_taken,
		   const char *proc_dir, uid_t *uid, struct iov_err *err)
{
	uint32_t n = last - first + 1;
	uint8_t *used;

	if (first == 0 || last < first || n > 65536)
		return iov_err_set(err, -EINVAL, NULL, "guest uid range %u-%u", first, last);
	if (!(used = calloc(n / 8 + 1, 1)))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n_taken; i++)
		if (taken[i] >= first && taken[i] <= last)
			used[(taken[i] - first) / 8] |= (uint8_t)(1u << ((taken[i] - first) % 8));
	mark_processes(proc_dir ? proc_dir : "/proc", first, n, used);
	for (uint32_t k = 0; k < n; k++) {
		if (used[k / 8] & (1u << (k % 8)))
			continue;
		if (getpwuid((uid_t)(first + k)) || getgrgid((gid_t)(first + k)))
			continue;
		free(used);
		*uid = (uid_t)(first + k);
		return 0;
	}
	free(used);
	return iov_err_set(err, -EBUSY, "widen policy.guest_uids, or stop a guest",
			   "no free uid in policy.guest_uids %u-%u (%zu guests run; the other uids "
			   "are users, groups or processes)", first, last, n_taken);
}

/* In the child: fds to 0..2 and 3.., limits, the user, no_new_privs, exec. Never returns. */
static void __attribute__((noreturn)) child(struct gpriv_launch *l, uid_t uid, gid_t gid,
					    uint64_t memlock)
{
	int tmp[GPRIV_MAX_FDS + 2], n = l->n_fds, nul = open("/dev/null", O_RDONLY);
	struct rlimit rl = { memlock, memlock };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	/* Move everything above the target range first, so no dup2 overwrites a source. */
	tmp[0] = fcntl(l->infd >= 0 ? l->infd : nul, F_DUPFD, 3 + n + 2);
	tmp[1] = fcntl(l->outfd, F_DUPFD, 3 + n + 2);
	for (int i = 0; i < n; i++)
		tmp[2 + i] = fcntl(l->fds[i], F_DUPFD, 3 + n + 2);
	for (int i = 0; i < n + 2; i++)
		if (tmp[i] < 0)
			_exit(126);
	if (dup2(tmp[0], 0) < 0 || dup2(tmp[1], 1) < 0 || dup2(tmp[1], 2) < 0)
		_exit(126);
	for (int i = 0; i < n; i++)
		if (dup2(tmp[2 + i], 3 + i) < 0)
			_exit(126);
	if (syscall(SYS_close_range, 3 + n, ~0U, 0) < 0)
		for (int fd = 3 + n; fd < 1024; fd++)
			close(fd);
	/* DMA pinning of guest RAM counts against RLIMIT_MEMLOCK; only root can raise the
	 * hard limit, so it is set here, before the user changes. */
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		dprintf(2, "iovd: setrlimit(RLIMIT_MEMLOCK): %s\n", strerror(errno));
	/* Changing every uid away from 0 clears the permitted, effective and ambient
	 * capability sets (no SECBIT_KEEP_CAPS); no_new_privs keeps exec from adding any. */
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		dprintf(2, "iovd: cannot become uid %u gid %u: %s\n", (unsigned)uid, (unsigned)gid,
			strerror(errno));
		_exit(126);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(126);
	/* On the node of its VFs: its vCPUs run there, and guest RAM (first touched by iovm)
	 * comes from there while the node has memory. Both survive exec. */
	if (l->node >= 0) {
		unsigned long mask[16] = { 0 };

		mask[l->node / (8 * sizeof(long))] |= 1UL << (l->node % (8 * sizeof(long)));
		if (sched_setaffinity(0, sizeof(l->node_cpus), &l->node_cpus) < 0)
			dprintf(2, "iovd: NUMA node %d: sched_setaffinity: %s\n", l->node,
				strerror(errno));
		if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, mask, sizeof(mask) * 8) < 0)
			dprintf(2, "iovd: NUMA node %d: set_mempolicy: %s\n", l->node,
				strerror(errno));
	}
	execv(l->argv[0], l->argv);
	dprintf(2, "iovd: exec %s: %s\n", l->argv[0], strerror(errno));
	_exit(127);
}

pid_t gpriv_spawn(struct gpriv_launch *l, uid_t uid, gid_t gid, uint64_t memlock,
		  struct iov_err *err)
{
	pid_t pid = fork();

	if (pid < 0) {
		int r = iov_err_set(err, -errno, NULL, "fork: %s", strerror(errno));

		gpriv_close(l);
		return r;
	}
	if (pid == 0)
		child(l, uid, gid, memlock);
	gpriv_close(l);
	return pid;
}
