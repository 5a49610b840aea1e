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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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
	F_EMPTY_PATH,	/* newfstatat: AT_EMPTY_PATH (fstat of an open fd; no path lookup) */
	F_DONTNEED,	/* madvise(MADV_DONTNEED) only */
	F_ENOSYS,	/* not allowed, answered ENOSYS (glibc then falls back) */
};

static const char *const filt_text[] = {
	[F_ANY] = "", [F_NO_EXEC] = "prot without PROT_EXEC",
	[F_THREAD] = "flags include CLONE_THREAD", [F_EMPTY_PATH] = "flags include AT_EMPTY_PATH",
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
	{ "tgkill", F_ANY, "pthread_kill: kicking a vCPU out of KVM_RUN" },
	{ "newfstatat", F_EMPTY_PATH, "stdio asks how to buffer an open stream" },
	{ "fstat", F_ANY, "the same on older glibc" },
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
	case F_EMPTY_PATH:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
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
	fputc('\n', f);
#endif
	if (cfg->console_in_fd >= 0)
		fprintf(f, "ioctl   %-28s %#010lx %s\n", "TCSETS (console fd only)",
			(unsigned long)TCSETS, "restore the terminal's settings at exit");
}

void iovm_sandbox_test_forbidden(const char *which)
{
	log_warn("test: making a forbidden call (%s); the sandbox must kill iovm now", which);
	if (strcmp(which, "ioctl") == 0) {
		char c = 'x';

		/* TIOCSTI: pushing bytes into a terminal's input, the classic escape. */
		ioctl(STDIN_FILENO, TIOCSTI, &c);
	} else if (strcmp(which, "execve") == 0) {
		char *argv[] = { (char *)"/bin/true", NULL };

		execve(argv[0], argv, argv + 1);
	} else {
		int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

		if (fd >= 0)
			close(fd);
	}
	log_err("test: the forbidden call (%s) returned: the sandbox is off", which);
}
