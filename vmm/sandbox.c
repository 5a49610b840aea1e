#include "vmm/sandbox.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* ---- dropping privileges ---- */

int iovm_sandbox_parse_user(const char *s, struct iovm_user *out)
{
	char *end;
	unsigned long uid, gid;
	struct passwd *pw;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	uid = strtoul(s, &end, 10);
	if (end != s && !errno && uid < (unsigned long)INT_MAX && (*end == '\0' || *end == ':')) {
		if (*end == ':') {
			const char *g = end + 1;

			errno = 0;
			gid = strtoul(g, &end, 10);
			if (end == g || *end || errno || gid >= (unsigned long)INT_MAX)
				return -EINVAL;
		} else {
			pw = getpwuid((uid_t)uid);
			gid = pw ? pw->pw_gid : uid;
		}
		*out = (struct iovm_user){ .uid = (uid_t)uid, .gid = (gid_t)gid };
		return 0;
	}
	pw = getpwnam(s);
	if (!pw)
		return -ENOENT;
	*out = (struct iovm_user){ .uid = pw->pw_uid, .gid = pw->pw_gid };
	return 0;
}

static int caps_left(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	return (d[0].effective | d[1].effective | d[0].permitted | d[1].permitted) ? 1 : 0;
}

int iovm_sandbox_drop(const struct iovm_user *u, unsigned long long memlock)
{
	uid_t r, e, s;

	if (geteuid() != 0)
		return log_err_errno(-EPERM, "--user: iovm must start as root to change user (it runs "
				     "as uid %u already; drop --user)", (unsigned)geteuid());
	if (u->uid == 0)
		return log_err_errno(-EINVAL, "--user: uid 0 is not a drop; name an unprivileged user");
	if (memlock) {
		struct rlimit rl = { memlock, memlock };

		if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
			return log_err_errno(-errno, "setrlimit(RLIMIT_MEMLOCK, %llu KiB)", memlock >> 10);
	}
	if (setgroups(1, &u->gid) < 0)
		return log_err_errno(-errno, "setgroups(%u)", (unsigned)u->gid);
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return log_err_errno(-errno, "setresgid(%u)", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return log_err_errno(-errno, "setresuid(%u)", (unsigned)u->uid);
	/* Belt and braces: the uid change must have cleared every capability, and root must
	 * be out of reach for good. */
	if (getresuid(&r, &e, &s) < 0 || r != u->uid || e != u->uid || s != u->uid)
		return log_err_errno(-EPERM, "--user: uid did not change to %u", (unsigned)u->uid);
	if (caps_left() != 0)
		return log_err_errno(-EPERM, "--user: capabilities left after the uid change");
	if (setresuid(0, 0, 0) == 0)
		return log_err_errno(-EPERM, "--user: uid 0 could be regained");
	log_info("running as uid %u gid %u, no capabilities", (unsigned)u->uid, (unsigned)u->gid);
	return 0;
}

/* ---- the allow-list ---- */

enum filt {
	F_ANY,		/* any arguments */
	F_NO_EXEC,	/* arg 2 (prot) without PROT_EXEC */
	F_THREAD,	/* clone: flags include CLONE_THREAD (no new processes) */
	F_OWN_TGID,	/* tgkill: arg 0 (the thread group) is iovm's own pid */
	F_DONTNEED,	/* madvise(MADV_DONTNEED) only */
	F_ENOSYS,	/* not allowed, answered ENOSYS (glibc then falls back) */
};

static const char *const filt_text[] = {
	[F_ANY] = "", [F_NO_EXEC] = "prot without PROT_EXEC",
	[F_THREAD] = "flags include CLONE_THREAD", [F_OWN_TGID] = "tgid is iovm's own pid",
	[F_DONTNEED] = "advice MADV_DONTNEED", [F_ENOSYS] = "fails with ENOSYS",
};

static const struct sc {
	const char *name;
	enum filt filt;
	const char *why;
} syscalls[] = {
	{ "read", F_ANY, "console input, signalfd, /proc/self/smaps for --stats (opened before), "
			 "virtio queue notify eventfds" },
	{ "write", F_ANY, "console output, messages on stderr, the stop eventfds, a queue notify "
			  "KVM's ioeventfd did not take" },
	{ "pread64", F_ANY, "VFIO config space and trapped BAR reads; reloading the kernel on restart" },
	{ "pwrite64", F_ANY, "VFIO config space and trapped BAR writes" },
	{ "preadv", F_ANY, "virtio-blk reads from the disk fds (opened before), one call per request" },
	{ "pwritev", F_ANY, "virtio-blk writes to the disk fds (opened before), one call per request" },
	{ "fdatasync", F_ANY, "virtio-blk FLUSH: what the guest synced reaches the disk" },
	{ "ioctl", F_ANY, "KVM and VFIO, only the request numbers listed below" },
	{ "poll", F_ANY, "main loop: console, signals, stop event; virtio-blk I/O thread: queue "
			 "notify eventfds" },
	{ "ppoll", F_ANY, "the same (glibc may use either)" },
	{ "close", F_ANY, "MSI/MSI-X eventfds when the guest disables vectors; teardown" },
	{ "eventfd2", F_ANY, "an eventfd per MSI/MSI-X vector the guest enables" },
	{ "mmap", F_NO_EXEC, "malloc, thread stacks, kvm_run of vCPUs made on restart" },
	{ "mprotect", F_NO_EXEC, "thread stack guard pages" },
	{ "munmap", F_ANY, "free, teardown of BAR and kvm_run mappings" },
	{ "mremap", F_ANY, "realloc of large blocks" },
	{ "madvise", F_DONTNEED, "glibc returning a finished thread's stack and freed memory" },
	{ "brk", F_ANY, "malloc" },
	{ "futex", F_ANY, "mutexes, condition variables, pthread_join" },
	{ "clone", F_THREAD, "vCPU, console and virtio-blk I/O threads (threads only)" },
	{ "clone3", F_ENOSYS, "its flags cannot be filtered; glibc falls back to clone" },
	{ "set_robust_list", F_ANY, "glibc start-up of a new thread" },
	{ "rseq", F_ANY, "glibc start-up of a new thread" },
	{ "rt_sigprocmask", F_ANY, "pthread_create masks signals; vCPU threads take the kick signal" },
	{ "rt_sigreturn", F_ANY, "return from the vCPU kick signal handler" },
	{ "getpid", F_ANY, "pthread_kill (the vCPU kick)" },
	{ "gettid", F_ANY, "pthread_kill, glibc" },
	{ "tgkill", F_OWN_TGID, "pthread_kill: kicking a vCPU out of KVM_RUN (iovm's own threads "
				"only: no signal reaches another process, another guest's iovm "
				"included)" },
	{ "fstat", F_ANY, "an open fd's attributes (no path; stdout and stderr are unbuffered "
			  "from the start, so stdio does not ask)" },
	{ "clock_gettime", F_ANY, "timestamps (when the vDSO is not used)" },
	{ "clock_nanosleep", F_ANY, "short waits" },
	{ "nanosleep", F_ANY, "short waits (older glibc)" },
	{ "sched_yield", F_ANY, "glibc lock back-off" },
	{ "exit", F_ANY, "a thread ends" },
	{ "exit_group", F_ANY, "iovm ends" },
};

/* Only with --control-fd. */
static const struct sc hp_syscalls[] = {
	{ "accept4", F_ANY, "hot-plug: iovd's connection on the control socket it passed (a "
			    "listening socket: no path, no new socket)" },
	{ "recvmsg", F_ANY, "hot-plug: iovd's commands on the control connection, with the "
			    "group fd of a device to plug in (SCM_RIGHTS)" },
};

#define IOC(r, f, w) { (unsigned long)(r), #r, f, w }
#define SETUP	1u	/* only with --on-reboot restart: the VM is built again */
#define HOTPLUG	2u	/* only with --control-fd: devices plugged in while the guest runs */

static const struct ioc {
	unsigned long req;
	const char *name;
	unsigned flags;
	const char *why;
} ioctls[] = {
	IOC(KVM_RUN, 0, "run a vCPU"),
	IOC(KVM_IRQ_LINE, 0, "legacy interrupt lines (UART, i8042, the ACPI power button)"),
	IOC(KVM_SET_GSI_ROUTING, 0, "MSI routes as the guest programs MSI/MSI-X"),
	IOC(KVM_IRQFD, 0, "attach/detach a vector's eventfd (masking)"),
	IOC(KVM_SET_USER_MEMORY_REGION, 0, "map/unmap BARs as the guest moves them; RAM on restart"),
	IOC(KVM_GET_IRQCHIP, 0, "SIGTERM: does the guest listen to the ACPI power button (its "
				"IOAPIC pin unmasked) or get Ctrl-Alt-Del"),
	IOC(KVM_IOEVENTFD, 0, "virtio queue notify addresses, moved with the BAR the guest places"),
	IOC(KVM_SIGNAL_MSI, 0, "virtio-blk completion and configuration interrupts (MSI-X)"),
	IOC(KVM_GET_REGS, 0, "register dump on a crash"),
	IOC(KVM_GET_SREGS, 0, "register dump on a crash"),
	IOC(VFIO_DEVICE_SET_IRQS, 0, "MSI/MSI-X/INTx eventfds as the guest enables them"),
	IOC(VFIO_DEVICE_RESET, 0, "reset the devices at exit and on restart"),
	IOC(VFIO_IOMMU_UNMAP_DMA, 0, "unmap guest RAM at exit"),
	IOC(VFIO_GROUP_UNSET_CONTAINER, 0, "release the groups at exit"),
	IOC(VFIO_GROUP_GET_STATUS, HOTPLUG, "hot-plug: the passed group is viable and in no "
					    "container"),
	IOC(VFIO_GROUP_SET_CONTAINER, HOTPLUG, "hot-plug: the passed group joins iovm's "
					       "container (its DMA map of guest RAM)"),
	IOC(VFIO_GROUP_GET_DEVICE_FD, HOTPLUG, "hot-plug: the device in the passed group"),
	IOC(VFIO_DEVICE_GET_INFO, HOTPLUG, "hot-plug: the new device's regions and interrupts"),
	IOC(VFIO_DEVICE_GET_REGION_INFO, HOTPLUG, "hot-plug: the new device's BARs and config "
						  "space"),
	IOC(VFIO_DEVICE_GET_IRQ_INFO, HOTPLUG, "hot-plug: the new device's MSI-X vectors, request "
					       "channel"),
	IOC(KVM_SET_DEVICE_ATTR, SETUP | HOTPLUG, "restart and hot-plug: groups into and out of "
						  "the KVM-VFIO device"),
	IOC(KVM_CHECK_EXTENSION, SETUP, "restart: the VM is built again"),
	IOC(KVM_GET_API_VERSION, SETUP, "restart"),
	IOC(KVM_CREATE_VM, SETUP, "restart"),
	IOC(KVM_SET_TSS_ADDR, SETUP, "restart"),
	IOC(KVM_SET_IDENTITY_MAP_ADDR, SETUP, "restart"),
	IOC(KVM_CREATE_IRQCHIP, SETUP, "restart"),
	IOC(KVM_CREATE_PIT2, SETUP, "restart"),
	IOC(KVM_GET_VCPU_MMAP_SIZE, SETUP, "restart"),
	IOC(KVM_CREATE_VCPU, SETUP, "restart"),
	IOC(KVM_GET_SUPPORTED_CPUID, SETUP, "restart"),
	IOC(KVM_SET_CPUID2, SETUP, "restart"),
	IOC(KVM_GET_LAPIC, SETUP, "restart"),
	IOC(KVM_SET_LAPIC, SETUP, "restart"),
	IOC(KVM_SET_FPU, SETUP, "restart"),
	IOC(KVM_SET_REGS, SETUP, "restart: the boot vCPU's entry registers"),
	IOC(KVM_SET_SREGS, SETUP, "restart"),
	IOC(KVM_CREATE_DEVICE, SETUP, "restart: the KVM-VFIO device"),
};

/* Extra calls the sanitizer runtime makes (SAN=1 builds only: reports, leak check at exit). */
#if defined(__SANITIZE_ADDRESS__)
static const char *const san_extra[] = {
	"sigaltstack", "rt_sigaction", "prctl", "openat", "readlink", "lseek", "ptrace", "wait4",
	"waitpid", "prlimit64", "getrlimit", "pipe2", "sched_getaffinity", "getppid", "dup2",
	"fcntl", "uname", "getdents64", "close_range", "open", "stat", "lstat", "access",
	"readlinkat", "kill", "munmap", "mmap", "mprotect", "rt_sigtimedwait", "tkill", "getdents",
	"tgkill",
};
#define SAN_BUILD 1
#else
#define SAN_BUILD 0
#endif

/* An ioctl of a group is allowed when one of its groups is on (none: always). */
static bool ioc_on(const struct ioc *c, const struct iovm_sandbox_cfg *cfg)
{
	if (!c->flags)
		return true;
	return ((c->flags & SETUP) && cfg->restart) || ((c->flags & HOTPLUG) && cfg->hotplug);
}

static int add_rule(scmp_filter_ctx ctx, const struct sc *s)
{
	int nr = seccomp_syscall_resolve_name(s->name);

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not a syscall on this architecture */
	if (SAN_BUILD && (strcmp(s->name, "clone") == 0 || strcmp(s->name, "madvise") == 0))
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);	/* LSan's tracer, ASan */
	switch (s->filt) {
	case F_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	case F_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case F_THREAD:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case F_OWN_TGID:
		/* getpid() now: the filter is built in iovm itself, after any fork. */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	case F_DONTNEED:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A2(SCMP_CMP_EQ, MADV_DONTNEED));
	case F_ENOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	}
	return -EINVAL;
}

int iovm_sandbox_seccomp(const struct iovm_sandbox_cfg *cfg)
{
	scmp_filter_ctx ctx;
	int ret = 0;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_err_errno(-errno, "prctl(PR_SET_NO_NEW_PRIVS)");
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return log_err_errno(-ENOMEM, "seccomp_init");
	/* Every thread, including any made before this call. */
	if ((ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		goto out;
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		if (strcmp(syscalls[i].name, "ioctl") == 0)
			continue;
		if ((ret = add_rule(ctx, &syscalls[i])) < 0) {
			log_err_errno(ret, "seccomp rule for %s", syscalls[i].name);
			goto out;
		}
	}
	for (size_t i = 0; cfg->hotplug && i < sizeof(hp_syscalls) / sizeof(hp_syscalls[0]); i++) {
		if ((ret = add_rule(ctx, &hp_syscalls[i])) < 0) {
			log_err_errno(ret, "seccomp rule for %s", hp_syscalls[i].name);
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		if (!ioc_on(&ioctls[i], cfg))
			continue;
		/* The kernel takes the request as an unsigned int: compare the low 32 bits. */
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i].req));
		if (ret < 0) {
			log_err_errno(ret, "seccomp rule for ioctl %s", ioctls[i].name);
			goto out;
		}
	}
	if (cfg->console_in_fd >= 0) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				       SCMP_A0(SCMP_CMP_EQ, (unsigned)cfg->console_in_fd),
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TCSETS));
		if (ret < 0)
			goto out;
	}
#if defined(__SANITIZE_ADDRESS__)
	for (size_t i = 0; i < sizeof(san_extra) / sizeof(san_extra[0]); i++) {
		int nr = seccomp_syscall_resolve_name(san_extra[i]);

		if (nr != __NR_SCMP_ERROR && (ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) < 0)
			goto out;
	}
	if ((ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 0)) < 0)
		goto out;
	log_warn("sanitizer build: the seccomp allow-list is wider (any ioctl, files, ptrace)");
#endif
	ret = seccomp_load(ctx);
	if (ret < 0)
		log_err_errno(ret, "seccomp_load (--sandbox off runs without it)");
	else
		log_info("seccomp allow-list installed (%zu syscalls, %s ioctls)",
			 sizeof(syscalls) / sizeof(syscalls[0]), cfg->restart ? "run-time and set-up" :
			 "run-time");
out:
	seccomp_release(ctx);
	return ret;
}

void iovm_sandbox_print(FILE *f, const struct iovm_sandbox_cfg *cfg)
{
	fprintf(f, "# iovm seccomp allow-list (x86_64); anything else kills the process (SIGSYS)\n");
	for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++) {
		const struct sc *s = &syscalls[i];

		fprintf(f, "syscall %-18s %-28s %s\n", s->name, filt_text[s->filt], s->why);
	}
	for (size_t i = 0; cfg->hotplug && i < sizeof(hp_syscalls) / sizeof(hp_syscalls[0]); i++) {
		const struct sc *s = &hp_syscalls[i];

		fprintf(f, "syscall %-18s %-28s %s\n", s->name, filt_text[s->filt], s->why);
	}
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		const struct ioc *c = &ioctls[i];

		if (!ioc_on(c, cfg))
			continue;
		fprintf(f, "ioctl   %-28s %#010lx %s\n", c->name, c->req & 0xffffffffu, c->why);
	}
#if defined(__SANITIZE_ADDRESS__)
	fprintf(f, "# sanitizer build: also any ioctl and the sanitizer runtime's calls:");
	for (size_t i = 0; i < sizeof(san_extra) / sizeof(san_extra[0]); i++)
		fprintf(f, " %s", san_extra[i]);
	fprintf(f, "; clone and madvise without their filters; Landlock lets it read /proc\n");
#endif
	if (cfg->console_in_fd >= 0)
		fprintf(f, "ioctl   %-28s %#010lx %s\n", "TCSETS (console fd only)",
			(unsigned long)TCSETS, "restore the terminal's settings at exit");
}

/* ---- Landlock ---- */

/* Not every libc's headers have these yet (Debian 12's linux/landlock.h stops at ABI 1's
 * names); the values are the kernel's ABI and never change. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_FS_ABI1 ((1ull << 13) - 1)	/* EXECUTE .. MAKE_SYM: every right of ABI 1 */
#define LL_FS_REFER (1ull << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP (1ull << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL (1ull << 1)

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

int iovm_sandbox_landlock(void)
{
	struct ll_ruleset_attr a = { 0 };
	size_t size = sizeof(a.handled_access_fs);
	int abi, fd;

	abi = (int)syscall(__NR_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
	if (abi < 0) {
		/* Said once per iovm (set-up runs once), never fatal: seccomp still forbids
		 * every call that takes a path. */
		log_warn("Landlock is not available (%s: a kernel without CONFIG_SECURITY_LANDLOCK, "
			 "or landlock missing from its lsm= list); iovm's file access is denied by "
			 "the seccomp allow-list alone", errno == ENOSYS ? "ENOSYS" :
			 errno == EOPNOTSUPP ? "disabled at boot" : strerror(errno));
		return 0;
	}
	/* Every file-system right of ABIs 1 to 6 that this kernel has, and no rule: no file
	 * can be opened, executed, made, removed, renamed, linked or truncated through a
	 * path, no device opened after this can take an ioctl. Files opened before (the fds iovm was handed or opened during
	 * set-up) keep working: Landlock checks at open time. */
	a.handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		a.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		a.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 4) {
		a.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		size = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 5)
		a.handled_access_fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6) {
		/* No signal to a process outside this iovm (its own threads are inside), no
		 * connect to an abstract unix socket made outside it. */
		a.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(a);
	}
	fd = (int)syscall(__NR_landlock_create_ruleset, &a, size, 0);
	if (fd < 0)
		return log_err_errno(-errno, "landlock_create_ruleset (ABI %d)", abi);
#if SAN_BUILD
	{
		/* The leak checker reads /proc/self/maps and /proc/PID/task at exit. */
		struct __attribute__((packed)) {
			uint64_t allowed_access;
			int32_t parent_fd;
		} pb = { (1ull << 2) | (1ull << 3), open("/proc", O_PATH | O_CLOEXEC) };

		if (pb.parent_fd < 0 || syscall(__NR_landlock_add_rule, fd, 1, &pb, 0) < 0)
			log_warn("sanitizer build: Landlock rule for /proc: %s", strerror(errno));
		if (pb.parent_fd >= 0)
			close(pb.parent_fd);
		log_warn("sanitizer build: Landlock lets iovm read /proc (the leak checker)");
	}
#endif
	/* Needed without CAP_SYS_ADMIN; iovd sets it already, iovm --user does not. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(__NR_landlock_restrict_self, fd, 0) < 0) {
		int e = -errno;

		close(fd);
		return log_err_errno(e, "landlock_restrict_self (ABI %d)", abi);
	}
	close(fd);
	log_info("Landlock (ABI %d) in place: no file access%s%s", abi,
		 abi >= 4 ? ", no TCP bind or connect" : "",
		 abi >= 6 ? ", no signal to another process" : "");
	return abi;
}

/* ---- test probes ---- */

static const char *const probes[] = {
	"openat", "open", "newfstatat", "statx", "execve", "socket", "kill", "tgkill",
	"tgkill-self", "ptrace", "mount", "bpf", "unshare", "fork", "mprotect-exec",
	"memfd_create", "ioctl", "setuid", NULL
};

bool iovm_sandbox_probe_known(const char *call)
{
	size_t n = strcspn(call, ":");

	for (size_t i = 0; probes[i]; i++)
		if (strlen(probes[i]) == n && strncmp(probes[i], call, n) == 0)
			return n == strlen(call) || strcmp(probes[i], "kill") == 0 ||
			       strcmp(probes[i], "tgkill") == 0 || strcmp(probes[i], "ptrace") == 0;
	return false;
}

void iovm_sandbox_probe_list(FILE *f)
{
	for (size_t i = 0; probes[i]; i++)
		fprintf(f, "%s%s", i ? ", " : "", probes[i]);
}

/* The probes that name another process take ":PID"; without it, the parent (its pid
 * is read before the sandbox is in place: getppid is not on the list). */
static pid_t target_pid(const char *call)
{
	static pid_t parent;
	const char *c = strchr(call, ':');

	if (!parent)
		parent = getppid();
	return c ? (pid_t)strtol(c + 1, NULL, 10) : parent;
}

void iovm_sandbox_probe_prepare(const char *call)
{
	(void)target_pid(call);
}

int iovm_sandbox_probe(const char *call)
{
	char name[32];
	long r = -1;
	int e;

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(call, ":"), call);
	log_warn("test: probing the sandbox with %s; a forbidden call kills iovm (SIGSYS) or "
		 "fails with EPERM or EACCES", call);
	errno = 0;
	if (strcmp(name, "openat") == 0) {
		r = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
	} else if (strcmp(name, "open") == 0) {
		r = syscall(SYS_open, "/etc/passwd", O_RDONLY | O_CLOEXEC);
	} else if (strcmp(name, "newfstatat") == 0) {
		struct stat st;

		r = syscall(SYS_newfstatat, AT_FDCWD, "/etc/passwd", &st, 0);
	} else if (strcmp(name, "statx") == 0) {
		char buf[256];

		r = syscall(SYS_statx, AT_FDCWD, "/etc/passwd", 0, 0x7ffu, buf);
	} else if (strcmp(name, "execve") == 0) {
		char *argv[] = { (char *)"/bin/true", NULL };

		r = syscall(SYS_execve, argv[0], argv, argv + 1);
	} else if (strcmp(name, "socket") == 0) {
		r = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	} else if (strcmp(name, "kill") == 0) {
		r = syscall(SYS_kill, target_pid(call), 0);	/* signal 0: permission only */
	} else if (strcmp(name, "tgkill") == 0) {
		r = syscall(SYS_tgkill, target_pid(call), target_pid(call), 0);
	} else if (strcmp(name, "tgkill-self") == 0) {
		/* The one signal the list allows: to a thread of iovm itself (the vCPU kick). */
		r = syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0);
	} else if (strcmp(name, "ptrace") == 0) {
		/* SEIZE does not stop the tracee; the trace ends when iovm does. */
		r = syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, target_pid(call), 0, 0);
	} else if (strcmp(name, "mount") == 0) {
		r = syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL);
	} else if (strcmp(name, "bpf") == 0) {
		char attr[128] = { 0 };

		r = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr));
	} else if (strcmp(name, "unshare") == 0) {
		r = syscall(SYS_unshare, 0x10000000 /* CLONE_NEWUSER */);
	} else if (strcmp(name, "fork") == 0) {
		r = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
		if (r == 0)
			_exit(0);
	} else if (strcmp(name, "mprotect-exec") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		r = p == MAP_FAILED ? -1 : syscall(SYS_mprotect, p, 4096, PROT_READ | PROT_EXEC);
	} else if (strcmp(name, "memfd_create") == 0) {
		r = syscall(SYS_memfd_create, "x", 0);
	} else if (strcmp(name, "ioctl") == 0) {
		char c = 'x';

		/* TIOCSTI: pushing bytes into a terminal's input, the classic escape. */
		r = syscall(SYS_ioctl, STDIN_FILENO, TIOCSTI, &c);
	} else if (strcmp(name, "setuid") == 0) {
		r = syscall(SYS_setuid, 0);
	} else {
		log_err("test: no probe '%s'", call);
		return -EINVAL;
	}
	e = errno;
	if (strcmp(name, "tgkill-self") == 0 && r == 0) {
		log_warn("test: sandbox probe %s: allowed, as the vCPU kick needs", call);
		return 1;
	}
	if (r < 0 && (e == EPERM || e == EACCES)) {
		log_warn("test: sandbox probe %s: refused (%s)", call, e == EPERM ? "EPERM" : "EACCES");
		return 0;
	}
	if (r < 0)
		log_err("test: sandbox probe %s: went through to the kernel (%s): not stopped by the "
			"sandbox", call, strerror(e));
	else
		log_err("test: sandbox probe %s: went through (returned %ld)", call, r);
	return 1;
}
