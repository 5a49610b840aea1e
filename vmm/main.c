/* iovm: a small KVM VMM that boots a Linux bzImage with VFIO devices passed through. */
#include "lib/iovd_proto.h"
#include "lib/log.h"
#include "lib/pciaddr.h"
#include "vmm/blk.h"
#include "vmm/boot.h"
#include "vmm/bus.h"
#include "vmm/console.h"
#include "vmm/hotplug.h"
#include "vmm/legacy.h"
#include "vmm/pci.h"
#include "vmm/power.h"
#include "vmm/pvpanic.h"
#include "vmm/sandbox.h"
#include "vmm/tty.h"
#include "vmm/uart.h"
#include "vmm/vfio.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MEM (256ull << 20)
#define DEFAULT_STOP_TIMEOUT 5

static const char usage[] =
"Usage: iovm --kernel FILE [OPTION]...\n"
"Boot a Linux bzImage (64-bit boot protocol, no BIOS) under KVM, with PCI devices passed\n"
"through by VFIO.\n"
"\n"
"  --kernel FILE            bzImage to boot (required, or --kernel-fd)\n"
"  --initrd FILE            initramfs\n"
"  --cmdline STR            kernel command line: \"console=ttyS0\" is enough (ACPI);\n"
"                           without ACPI: \"console=ttyS0 acpi=off pci=conf1 reboot=k\"\n"
"  --mem SIZE               guest RAM, a multiple of 2 MiB: 512M, 2G (default 256M)\n"
"  --cpus N                 vCPUs (default 1)\n"
"  --hugepages              back guest RAM with 2 MiB hugetlbfs pages\n"
"  --vfio ADDRESS           pass through the PCI device at ADDRESS (bound to vfio-pci);\n"
"                           repeatable\n"
"  --disk PATH[,ro]         a virtio-blk disk backed by the file or block device PATH\n"
"                           (read-only with ,ro); repeatable, at most 8 disks\n"
"  --hotplug N              N PCIe root ports with a hot-plug slot each (0-8, default 0:\n"
"                           none), for devices plugged in while the guest runs\n"
"  --control-fd N           a listening AF_UNIX SOCK_SEQPACKET socket: hot-plug commands\n"
"                           (attach ADDRESS GROUP with the group fd, detach ADDRESS MS,\n"
"                           list; see iovm(1))\n"
"  --console stdio|none     guest serial console (default stdio)\n"
"  --console-fd N           guest serial console on fd N (a socket or terminal: output\n"
"                           written to it, input read from it) instead of stdio\n"
"  --console-filter auto|on|off\n"
"                           turn terminal escapes and control bytes in guest output into\n"
"                           visible text (auto: when the output is a terminal; off: raw)\n"
"  --on-reboot exit|restart\n"
"                           guest reboot: exit with status 3 (default), or reset the\n"
"                           devices, reload the kernel and start the guest again\n"
"  --stop-timeout S|none    after SIGTERM's shutdown request, seconds the guest has to\n"
"                           power off before iovm stops it (status 5; default 5);\n"
"                           none: wait for the guest (or SIGINT, SIGHUP, SIGKILL); a\n"
"                           SIGTERM sent with sigqueue(3) carries its own (its value)\n"
"  --user USER              started as root: open the devices and files, then run as USER\n"
"                           (name, UID or UID:GID) with no capabilities\n"
"  --sandbox on|off         Landlock (no file access, when the kernel has it) and the\n"
"                           seccomp allow-list before the guest runs (default on);\n"
"                           landlock-only (tests): Landlock without the allow-list\n"
"  --seccomp-list           print the allow-list with the reason for each entry; exit\n"
"  --stats                  print exit counts by reason and guest marks at exit\n"
"  -v, --verbose            more messages (twice: debug)\n"
"  -h, --help               this text\n"
"      --version            print the version and exit\n"
"\n"
"Pre-opened file descriptors (so that a privileged parent can open the devices and iovm\n"
"can run unprivileged):\n"
"  --kvm-fd N               an open /dev/kvm\n"
"  --vfio-container-fd N    an open /dev/vfio/vfio\n"
"  --vfio-group-fd N:ADDRESS  an open /dev/vfio/GROUP and the device ADDRESS in it;\n"
"                           repeatable (the same N may appear with several addresses)\n"
"  --kernel-fd N, --initrd-fd N  the bzImage and initramfs as open files\n"
"  --disk-fd N[,ro]         a disk's backing file or block device, open read-write (or\n"
"                           read-only with ,ro); repeatable, counts with --disk\n"
"\n"
"Test only: --test-forbidden-syscall[=CALL] makes one call the sandbox forbids once the\n"
"guest runs (default openat; an unknown CALL lists them); with the sandbox on, iovm\n"
"dies of SIGSYS or the call fails. With --test-sandbox-only there is no VM (no --kernel):\n"
"iovm drops to --user, puts its sandbox in place as for a guest and makes the call at\n"
"once: exit status 0 when it failed with EPERM or EACCES, 1 when it went through.\n"
"\n"
"Guest ports: 0x501 iovm exit port (byte 0 powers off, 1..255 are timestamped marks\n"
"shown by --stats), 0x505 pvpanic, 0x3f8 ttyS0 (IRQ 4), 0x60/0x64 i8042. A pvpanic PCI\n"
"device (1b36:0011, Linux: CONFIG_PVPANIC_PCI) follows the passthrough devices on bus 0,\n"
"then one virtio-blk function (1af4:1042, modern only, MSI-X) per disk in the order given.\n"
"ACPI (hardware-reduced): tables at 0xe0000, sleep control/status 0x600/0x601, reset\n"
"register 0xcf9, power button on GSI 9 (a Generic Event Device), ECAM at 0xfeb00000.\n"
"\n"
"Signals: SIGTERM asks the guest to shut down (the ACPI power button; without ACPI,\n"
"Ctrl-Alt-Del on the i8042 keyboard); it then ends\n"
"iovm itself (0 or 3: a reboot after the request is not restarted). A SIGTERM queued\n"
"with a value (sigqueue(3), as iovd's `vm stop` sends it) gives the guest that many\n"
"seconds instead of --stop-timeout. SIGUSR2 asks the guest to reboot: Ctrl-Alt-Del when\n"
"its keyboard listens, else (or queued with the value 1) a reset at once, as the reset\n"
"register does (status 3, or a restart in place with --on-reboot restart). SIGINT\n"
"(Ctrl-C) and SIGHUP stop the guest at once.\n"
"\n"
"Exit status:\n"
"  0  guest powered off (ACPI S5, or 0 written to port 0x501)\n"
"  1  iovm error\n"
"  2  bad command line\n"
"  3  guest reboot (ACPI reset register 0xcf9, i8042 reset with reboot=k, port 0x92)\n"
"  4  guest crash: panic reported by pvpanic, triple fault, KVM internal error\n"
"  5  iovm ended by SIGINT or SIGHUP, a second SIGTERM, or the guest not shutting down\n"
"     within --stop-timeout of SIGTERM\n"
"  6  the host took a passthrough device back (VFIO device request: its driver unbound,\n"
"     the VF removed, the PF driver reloaded)\n"
"  killed by SIGSYS: a system call outside the seccomp allow-list (the kernel log names it)\n"
"Devices are reset and all resources released before iovm exits, in every case.\n";

enum filter_mode { FILTER_AUTO, FILTER_ON, FILTER_OFF };

struct opts {
	const char *kernel, *initrd, *cmdline;
	int kernel_fd, initrd_fd;
	uint64_t mem;
	int cpus;
	bool hugepages, stats, console, entry32;
	int console_fd;
	enum filter_mode filter;
	bool restart, sandbox, landlock_only, seccomp_list, has_user, test_sandbox_only;
	int stop_timeout;		/* seconds after SIGTERM's request; -1: none */
	struct iovm_user user;
	const char *test_forbidden;
	int verbose;
	int kvm_fd, container_fd;
	struct iovm_vfio_spec vfio[IOVM_VFIO_MAX_DEVS];
	int nvfio;
	struct iovm_blk_spec disk[IOVM_BLK_MAX];
	int ndisk;
	int hotplug, control_fd;
};

static int bad_arg(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "iovm: %s '%s': %s (see iovm --help)\n", opt, val, why);
	return -EINVAL;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	if (!*s || *s == '-')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': mul = 1ull << 10; end++; break;
	case 'm': case 'M': mul = 1ull << 20; end++; break;
	case 'g': case 'G': mul = 1ull << 30; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end == 'i' && mul > 1)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == '\0')
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_fd(const char *opt, const char *s, int *out)
{
	int fd;

	if (parse_int(s, 0, INT_MAX, &fd) < 0)
		return bad_arg(opt, s, "not a file descriptor number");
	if (fcntl(fd, F_GETFD) < 0)
		return bad_arg(opt, s, "not an open file descriptor");
	*out = fd;
	return 0;
}

static int add_vfio(struct opts *o, const char *opt, const char *addr, int group_fd)
{
	struct iov_pci_addr a;

	if (iov_pci_addr_parse(addr, &a) < 0)
		return bad_arg(opt, addr, "not a PCI address (DDDD:BB:DD.F or BB:DD.F)");
	for (int i = 0; i < o->nvfio; i++)
		if (iov_pci_addr_cmp(&o->vfio[i].addr, &a) == 0)
			return bad_arg(opt, addr, "device given twice");
	if (o->nvfio >= IOVM_VFIO_MAX_DEVS)
		return bad_arg(opt, addr, "too many passthrough devices (at most 8)");
	o->vfio[o->nvfio++] = (struct iovm_vfio_spec){ .addr = a, .group_fd = group_fd };
	return 0;
}

enum {
	OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEM, OPT_CPUS, OPT_HUGE, OPT_VFIO,
	OPT_CONSOLE, OPT_STATS, OPT_KVM_FD, OPT_CONTAINER_FD, OPT_GROUP_FD, OPT_ENTRY32,
	OPT_CONSOLE_FD, OPT_CONSOLE_FILTER, OPT_ON_REBOOT, OPT_USER, OPT_SANDBOX, OPT_SECCOMP_LIST,
	OPT_TEST_FORBIDDEN, OPT_TEST_SANDBOX_ONLY, OPT_KERNEL_FD, OPT_INITRD_FD, OPT_STOP_TIMEOUT, OPT_DISK, OPT_DISK_FD,
	OPT_HOTPLUG, OPT_CONTROL_FD,
};

static int add_disk(struct opts *o, const char *opt, char *arg, bool is_fd)
{
	char shown[256];

	snprintf(shown, sizeof(shown), "%s", arg);
	if (o->ndisk >= IOVM_BLK_MAX)
		return bad_arg(opt, shown, "too many disks (at most 8)");
	if (iovm_blk_parse(arg, is_fd, &o->disk[o->ndisk]) < 0)
		return bad_arg(opt, shown, is_fd ? "expected N or N,ro (an open file descriptor)"
						 : "expected PATH or PATH,ro");
	if (is_fd && fcntl(o->disk[o->ndisk].fd, F_GETFD) < 0)
		return bad_arg(opt, shown, "not an open file descriptor");
	o->ndisk++;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option lopts[] = {
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "hugepages", no_argument, NULL, OPT_HUGE },
		{ "vfio", required_argument, NULL, OPT_VFIO },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "kvm-fd", required_argument, NULL, OPT_KVM_FD },
		{ "vfio-container-fd", required_argument, NULL, OPT_CONTAINER_FD },
		{ "vfio-group-fd", required_argument, NULL, OPT_GROUP_FD },
		{ "kernel-fd", required_argument, NULL, OPT_KERNEL_FD },
		{ "initrd-fd", required_argument, NULL, OPT_INITRD_FD },
		{ "disk", required_argument, NULL, OPT_DISK },
		{ "disk-fd", required_argument, NULL, OPT_DISK_FD },
		{ "hotplug", required_argument, NULL, OPT_HOTPLUG },
		{ "control-fd", required_argument, NULL, OPT_CONTROL_FD },
		{ "console-fd", required_argument, NULL, OPT_CONSOLE_FD },
		{ "console-filter", required_argument, NULL, OPT_CONSOLE_FILTER },
		{ "on-reboot", required_argument, NULL, OPT_ON_REBOOT },
		{ "stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT },
		{ "user", required_argument, NULL, OPT_USER },
		{ "sandbox", required_argument, NULL, OPT_SANDBOX },
		{ "seccomp-list", no_argument, NULL, OPT_SECCOMP_LIST },
		/* Test hook: one forbidden system call once the guest runs. */
		{ "test-forbidden-syscall", optional_argument, NULL, OPT_TEST_FORBIDDEN },
		{ "test-sandbox-only", no_argument, NULL, OPT_TEST_SANDBOX_ONLY },
		/* Test hook: the 32-bit boot protocol entry (flat protected mode). */
		{ "entry32", no_argument, NULL, OPT_ENTRY32 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	int c, ret;

	*o = (struct opts){ .mem = DEFAULT_MEM, .cpus = 1, .console = true, .kvm_fd = -1,
			    .container_fd = -1, .kernel_fd = -1, .initrd_fd = -1, .console_fd = -1,
			    .sandbox = true, .stop_timeout = DEFAULT_STOP_TIMEOUT,
			    .control_fd = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vh", lopts, NULL)) != -1) {
		const char *name = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

		switch (c) {
		case OPT_KERNEL: o->kernel = optarg; break;
		case OPT_INITRD: o->initrd = optarg; break;
		case OPT_CMDLINE: o->cmdline = optarg; break;
		case OPT_MEM:
			if (parse_size(optarg, &o->mem) < 0)
				return bad_arg("--mem", optarg, "not a size (e.g. 512M, 2G)");
			if (o->mem % (2ull << 20) || o->mem < IOVM_BOOT_MIN_MEM)
				return bad_arg("--mem", optarg, "must be a multiple of 2 MiB, at least 4M");
			if (o->mem > (1ull << 40))
				return bad_arg("--mem", optarg, "more than 1 TiB");
			break;
		case OPT_CPUS:
			if (parse_int(optarg, 1, IOVM_MAX_VCPUS, &o->cpus) < 0)
				return bad_arg("--cpus", optarg, "not a number from 1 to 64");
			break;
		case OPT_HUGE: o->hugepages = true; break;
		case OPT_VFIO:
			if ((ret = add_vfio(o, "--vfio", optarg, -1)) < 0)
				return ret;
			break;
		case OPT_CONSOLE:
			if (strcmp(optarg, "stdio") == 0)
				o->console = true;
			else if (strcmp(optarg, "none") == 0)
				o->console = false;
			else
				return bad_arg("--console", optarg, "must be stdio or none");
			break;
		case OPT_STATS: o->stats = true; break;
		case OPT_ENTRY32: o->entry32 = true; break;
		case OPT_KVM_FD:
			if ((ret = parse_fd("--kvm-fd", optarg, &o->kvm_fd)) < 0)
				return ret;
			break;
		case OPT_CONTAINER_FD:
			if ((ret = parse_fd("--vfio-container-fd", optarg, &o->container_fd)) < 0)
				return ret;
			break;
		case OPT_GROUP_FD: {
			char buf[64], *colon;
			int fd;

			if (strlen(optarg) >= sizeof(buf) || !(colon = strchr(optarg, ':')))
				return bad_arg("--vfio-group-fd", optarg, "expected N:ADDRESS");
			memcpy(buf, optarg, (size_t)(colon - optarg));
			buf[colon - optarg] = '\0';
			if ((ret = parse_fd("--vfio-group-fd", buf, &fd)) < 0)
				return ret;
			if ((ret = add_vfio(o, "--vfio-group-fd", colon + 1, fd)) < 0)
				return ret;
			break;
		}
		case OPT_KERNEL_FD:
			if ((ret = parse_fd("--kernel-fd", optarg, &o->kernel_fd)) < 0)
				return ret;
			break;
		case OPT_INITRD_FD:
			if ((ret = parse_fd("--initrd-fd", optarg, &o->initrd_fd)) < 0)
				return ret;
			break;
		case OPT_DISK:
		case OPT_DISK_FD:
			if ((ret = add_disk(o, c == OPT_DISK ? "--disk" : "--disk-fd", optarg,
					    c == OPT_DISK_FD)) < 0)
				return ret;
			break;
		case OPT_HOTPLUG:
			if (parse_int(optarg, 0, IOVM_HOTPLUG_MAX, &o->hotplug) < 0)
				return bad_arg("--hotplug", optarg, "not a number from 0 to 8");
			break;
		case OPT_CONTROL_FD:
			if ((ret = parse_fd("--control-fd", optarg, &o->control_fd)) < 0)
				return ret;
			break;
		case OPT_CONSOLE_FD:
			if ((ret = parse_fd("--console-fd", optarg, &o->console_fd)) < 0)
				return ret;
			break;
		case OPT_CONSOLE_FILTER:
			if (strcmp(optarg, "auto") == 0)
				o->filter = FILTER_AUTO;
			else if (strcmp(optarg, "on") == 0)
				o->filter = FILTER_ON;
			else if (strcmp(optarg, "off") == 0)
				o->filter = FILTER_OFF;
			else
				return bad_arg("--console-filter", optarg, "must be auto, on or off");
			break;
		case OPT_ON_REBOOT:
			if (strcmp(optarg, "exit") == 0)
				o->restart = false;
			else if (strcmp(optarg, "restart") == 0)
				o->restart = true;
			else
				return bad_arg("--on-reboot", optarg, "must be exit or restart");
			break;
		case OPT_STOP_TIMEOUT:
			if (strcmp(optarg, "none") == 0)
				o->stop_timeout = -1;
			else if (parse_int(optarg, 0, 86400, &o->stop_timeout) < 0)
				return bad_arg("--stop-timeout", optarg,
					       "seconds from 0 to 86400, or none");
			break;
		case OPT_USER:
			ret = iovm_sandbox_parse_user(optarg, &o->user);
			if (ret < 0)
				return bad_arg("--user", optarg, ret == -ENOENT ? "no such user" :
					       "expected a user name, UID or UID:GID");
			o->has_user = true;
			break;
		case OPT_SANDBOX:
			o->sandbox = strcmp(optarg, "off") != 0;
			o->landlock_only = strcmp(optarg, "landlock-only") == 0;
			if (strcmp(optarg, "on") && strcmp(optarg, "off") && !o->landlock_only)
				return bad_arg("--sandbox", optarg, "must be on, off or landlock-only");
			break;
		case OPT_SECCOMP_LIST: o->seccomp_list = true; break;
		case OPT_TEST_FORBIDDEN:
			o->test_forbidden = optarg ? optarg : "openat";
			if (!iovm_sandbox_probe_known(o->test_forbidden)) {
				fprintf(stderr, "iovm: --test-forbidden-syscall: '%s': want one of ",
					o->test_forbidden);
				iovm_sandbox_probe_list(stderr);
				fprintf(stderr, " (kill, tgkill, ptrace: optionally :PID)\n");
				return -EINVAL;
			}
			break;
		case OPT_TEST_SANDBOX_ONLY: o->test_sandbox_only = true; break;
		case 'v': o->verbose++; break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		case 'V':
			printf("iovm %s\n", IOVD_VERSION);
			exit(0);
		case ':':
			fprintf(stderr, "iovm: %s: missing argument (see iovm --help)\n", name);
			return -EINVAL;
		default:
			fprintf(stderr, "iovm: %s: unknown option (see iovm --help)\n", name);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "iovm: '%s': unexpected argument (see iovm --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (o->seccomp_list)
		return 0;
	if (o->test_sandbox_only) {
		if (!o->test_forbidden) {
			fprintf(stderr, "iovm: --test-sandbox-only needs --test-forbidden-syscall\n");
			return -EINVAL;
		}
		return 0;
	}
	if (!o->kernel && o->kernel_fd < 0) {
		fprintf(stderr, "iovm: --kernel is required (see iovm --help)\n");
		return -EINVAL;
	}
	if (o->kernel && o->kernel_fd >= 0) {
		fprintf(stderr, "iovm: --kernel and --kernel-fd: give one\n");
		return -EINVAL;
	}
	if (o->initrd && o->initrd_fd >= 0) {
		fprintf(stderr, "iovm: --initrd and --initrd-fd: give one\n");
		return -EINVAL;
	}
	if (o->console_fd >= 0 && !o->console) {
		fprintf(stderr, "iovm: --console none and --console-fd: give one\n");
		return -EINVAL;
	}
	if (o->control_fd >= 0 && o->hotplug == 0) {
		fprintf(stderr, "iovm: --control-fd without --hotplug N: nothing to plug into\n");
		return -EINVAL;
	}
	if (o->container_fd >= 0 && o->nvfio == 0) {
		fprintf(stderr, "iovm: --vfio-container-fd without any --vfio or --vfio-group-fd\n");
		return -EINVAL;
	}
	return 0;
}

/* Resident memory of iovm itself: everything in /proc/self/smaps but the guest RAM banks.
 * The file is opened before the sandbox (which forbids opening files) and read once. */
/* Where set-up time goes (--stats): each phase from the end of the one before. */
static struct {
	struct timespec last;
	const char *name[12];
	double ms[12];
	int n;
} phases;

static void phase(const char *name)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (phases.n < 12) {
		phases.name[phases.n] = name;
		phases.ms[phases.n++] = (double)(now.tv_sec - phases.last.tv_sec) * 1e3 +
					(double)(now.tv_nsec - phases.last.tv_nsec) / 1e6;
	}
	phases.last = now;
}

static void print_mem_overhead(int fd, const struct iovm_mem *mem)
{
	unsigned long long total = 0, guest = 0;
	bool in_guest = false;
	char buf[8192], line[512];
	size_t ll = 0;
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			unsigned long long start, end, kb;

			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			if (sscanf(line, "%llx-%llx ", &start, &end) == 2 &&
			    strchr(line, '-') < strchr(line, ' ')) {
				in_guest = false;
				for (int b = 0; b < mem->nbanks; b++)
					if ((uintptr_t)mem->bank[b].hva == start)
						in_guest = true;
			} else if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
				total += kb;
				if (in_guest)
					guest += kb;
			}
		}
	}
	fprintf(stderr, "iovm: memory: RSS %llu KiB, of which guest RAM %llu KiB; iovm overhead "
		"%llu KiB\n", total, guest, total - guest);
}

/* SIGTERM's shutdown request: when it was made (0: none), and how long the guest has. */
struct shutdown_req {
	struct timespec at;
	bool made;
	int timeout;		/* seconds; -1: no limit */
};

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* A signal: SIGTERM (the first) asks the guest to shut down by pressing its ACPI power
 * button and gives it req->timeout seconds; anything else stops the guest now. Returns true
 * when the VM is stopping. */
static bool on_signal(struct iovm_vm *vm, const struct signalfd_siginfo *si,
		      struct shutdown_req *req)
{
	char why[96];

	if (si->ssi_signo == SIGUSR2) {
		/* A reboot request (iovd's `vm reboot`): Ctrl-Alt-Del is what a guest's init
		 * takes as "reboot cleanly" (systemd's ctrl-alt-del.target, busybox's
		 * ::ctrlaltdel); a guest without a keyboard listening, or a queued value 1
		 * (--force), is reset at once, as the ACPI reset register would. */
		bool force = si->ssi_code == SI_QUEUE && si->ssi_int == 1;

		if (!force && iovm_legacy_ctrl_alt_del()) {
			log_warn("SIGUSR2 from pid %u: typed Ctrl-Alt-Del on the guest's keyboard "
				 "(a reboot request)", si->ssi_pid);
			return false;
		}
		log_warn("SIGUSR2 from pid %u: resetting the guest%s", si->ssi_pid, force ? "" :
			 " (its keyboard does not listen for Ctrl-Alt-Del)");
		iovm_vm_request_stop(vm, IOVM_EXIT_REBOOT, "reset requested (SIGUSR2)");
		return true;
	}
	if (si->ssi_signo == SIGTERM && !req->made) {
		const char *how;
		char left[48];

		req->made = true;
		clock_gettime(CLOCK_MONOTONIC, &req->at);
		/* Queued with a value (iovd's `vm stop --timeout S`): this request's grace
		 * period; a plain kill(2) gets --stop-timeout. */
		if (si->ssi_code == SI_QUEUE && si->ssi_int >= 0 && si->ssi_int <= 86400)
			req->timeout = si->ssi_int;
		/* A guest with ACPI gets the power button; one without (acpi=off) gets
		 * Ctrl-Alt-Del on its keyboard, as Firecracker sends it. Never both: systemd
		 * reboots on Ctrl-Alt-Del. */
		if (iovm_power_button_heard(vm) > 0) {
			iovm_power_button(vm);
			how = "pressed the guest's ACPI power button";
		} else if (iovm_legacy_ctrl_alt_del()) {
			how = "typed Ctrl-Alt-Del on the guest's keyboard (it has no ACPI power button)";
		} else {
			how = "the guest has neither an ACPI power button nor a keyboard to ask";
		}
		if (req->timeout < 0)
			snprintf(left, sizeof(left), "waiting for it (SIGINT stops it now)");
		else
			snprintf(left, sizeof(left), "%d s for it to shut down", req->timeout);
		log_warn("SIGTERM from pid %u: %s; %s", si->ssi_pid, how, left);
		return false;
	}
	snprintf(why, sizeof(why), "signal %s%s", strsignal((int)si->ssi_signo),
		 si->ssi_signo == SIGTERM ? " (a second one)" : "");
	log_warn("ending: %s from pid %u", why, si->ssi_pid);
	iovm_vm_request_stop(vm, IOVM_EXIT_SIGNAL, why);
	return true;
}

/* Main thread: console input, signals, the host asking for a passthrough device back, and
 * waiting for the VM to stop. */
static void main_loop(struct iovm_vm *vm, int sfd, int *in_fd, struct shutdown_req *req)
{
	struct pollfd p[3 + IOVM_VFIO_MAX_DEVS + 3];
	int req_fds[IOVM_VFIO_MAX_DEVS];

	for (;;) {
		/* Hot-plug changes the devices: their request fds are taken afresh each time. */
		int nreq = iovm_vfio_req_fds(req_fds, IOVM_VFIO_MAX_DEVS), nhp, hp_wait;
		int wait = -1;

		if (req->made && req->timeout >= 0) {
			long left = req->timeout * 1000L - ms_since(&req->at);

			if (left <= 0) {
				char why[96];

				snprintf(why, sizeof(why), "the guest did not shut down within %d s of "
					 "SIGTERM", req->timeout);
				log_warn("ending: %s", why);
				iovm_vm_request_stop(vm, IOVM_EXIT_SIGNAL, why);
				return;
			}
			wait = (int)left;
		}
		p[0] = (struct pollfd){ .fd = vm->stop_efd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = *in_fd, .events = POLLIN };
		for (int i = 0; i < nreq; i++)
			p[3 + i] = (struct pollfd){ .fd = req_fds[i], .events = POLLIN };
		nhp = iovm_hotplug_pollfds(p + 3 + nreq);
		hp_wait = iovm_hotplug_timeout_ms();
		if (hp_wait >= 0 && (wait < 0 || hp_wait < wait))
			wait = hp_wait;
		if (poll(p, (nfds_t)(3 + nreq + nhp), wait) < 0) {
			if (errno == EINTR)
				continue;
			iovm_vm_request_stop(vm, IOVM_EXIT_ERROR, "poll failed");
			return;
		}
		if (p[0].revents)
			return;
		iovm_hotplug_handle(p + 3 + nreq, nhp);
		if (p[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si) && on_signal(vm, &si, req))
				return;
		}
		for (int i = 0; i < nreq; i++) {
			char why[128];

			if (!p[3 + i].revents)
				continue;
			/* The guest cannot keep a device the host is removing: stop it, so that
			 * the device is released and the host's unbind goes on. */
			snprintf(why, sizeof(why), "the host took %s back",
				 iovm_vfio_req_dev(req_fds[i]));
			log_warn("ending: %s (its driver is being unbound: a PF driver reload, "
				 "the VF removed or a reset)", why);
			iovm_vm_request_stop(vm, IOVM_EXIT_DEVICE_GONE, why);
			return;
		}
		if (p[2].revents) {
			char buf[256];
			ssize_t r = read(*in_fd, buf, sizeof(buf));

			if (r > 0)
				iovm_uart_input(buf, (size_t)r);
			else if (r == 0 || (errno != EINTR && errno != EAGAIN))
				*in_fd = -1;	/* input closed: the guest keeps running */
		}
	}
}

/* Guest reboot with --on-reboot restart: devices reset, a fresh VM on the same RAM, the
 * kernel loaded again from the files kept open. */
static int restart(struct iovm_vm *vm, const struct iovm_boot_cfg *bc, bool vfio)
{
	int ret;

	if (vfio && (ret = iovm_vfio_reset()) < 0)
		return ret;
	iovm_uart_reset();
	iovm_legacy_reset();
	iovm_pvpanic_reset();
	iovm_blk_reset();
	if ((ret = iovm_vm_rebuild(vm)) < 0)
		return log_err_errno(ret, "guest reboot: rebuilding the VM");
	if (vfio && (ret = iovm_vfio_rebind(vm)) < 0)
		return ret;
	if ((ret = iovm_boot_load(vm, bc)) < 0)
		return ret;
	log_info("guest reboot: restarting (restart %u)", vm->restarts);
	return 0;
}

/* --test-sandbox-only: the sandbox a guest's iovm runs in (the user, Landlock, the
 * allow-list as without --on-reboot restart and a console terminal), then the probe. */
static int sandbox_probe_only(const struct opts *o)
{
	int r;

	if (o->has_user && iovm_sandbox_drop(&o->user, 0) < 0)
		return IOVM_EXIT_ERROR;
	if (o->sandbox && iovm_sandbox_landlock() < 0)
		return IOVM_EXIT_ERROR;
	if (o->sandbox && !o->landlock_only &&
	    iovm_sandbox_seccomp(&(struct iovm_sandbox_cfg){ .console_in_fd = -1 }) < 0)
		return IOVM_EXIT_ERROR;
	r = iovm_sandbox_probe(o->test_forbidden);
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct iovm_vm vm;
	static struct iovm_mp_intx intx[IOVM_VFIO_MAX_DEVS];
	struct iovm_mem mem = { 0 };
	struct iovm_range excl[32];
	struct iovm_boot_cfg bc;
	struct shutdown_req shutdown = { 0 };
	struct opts o;
	sigset_t sigs;
	int sfd = -1, nexcl = 0, ret, code = IOVM_EXIT_ERROR, out_fd = -1, in_fd = -1;
	int smaps_fd = -1;
	bool vm_made = false, started = false, console_on = false;
	struct timespec t_start, t_run = { 0 };
	char kname[32], iname[32];

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	phases.last = t_start;
	/* stdio decides how to buffer a stream on its first use (fstat, and isatty: an ioctl
	 * the seccomp allow-list refuses). Decided here instead, so that nothing after the
	 * filter depends on which streams were used before it: unbuffered (messages go out
	 * whole, one write each; guest output never goes through stdio). */
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	iov_log_set_prog("iovm");
	if (parse_args(argc, argv, &o) < 0)
		return IOVM_EXIT_USAGE;
	shutdown.timeout = o.stop_timeout;
	iov_log_set_level(o.verbose >= 2 ? IOV_LOG_DEBUG : o.verbose ? IOV_LOG_INFO : IOV_LOG_WARN);
	if (o.seccomp_list) {
		iovm_sandbox_print(stdout, &(struct iovm_sandbox_cfg){ .restart = o.restart,
								     .hotplug = o.control_fd >= 0 || o.hotplug > 0,
								     .console_in_fd = 0 });
		return 0;
	}

	/* Signals: vCPU threads take only the kick signal; the main thread reads the rest. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR2);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err_errno(-errno, "signalfd");
		return IOVM_EXIT_ERROR;
	}

	if (o.test_forbidden)
		iovm_sandbox_probe_prepare(o.test_forbidden);
	if (o.test_sandbox_only)
		return sandbox_probe_only(&o);

	/* Everything that needs a path or a privilege comes first: files, /dev/kvm, VFIO. */
	snprintf(kname, sizeof(kname), "fd %d", o.kernel_fd);
	snprintf(iname, sizeof(iname), "fd %d", o.initrd_fd);
	bc = (struct iovm_boot_cfg){ .kernel = o.kernel ? o.kernel : kname,
				     .initrd = o.initrd ? o.initrd : o.initrd_fd >= 0 ? iname : NULL,
				     .kernel_fd = o.kernel_fd, .initrd_fd = o.initrd_fd,
				     .cmdline = o.cmdline, .entry32 = o.entry32, .ncpus = o.cpus };
	if (iovm_boot_open(&bc) < 0)
		goto out;
	if (iovm_blk_open(o.disk, o.ndisk) < 0)
		goto out;
	if (iovm_vm_create(&vm, o.kvm_fd, o.cpus) < 0)
		goto out;
	vm_made = true;
	phase("kernel files, KVM VM and vCPUs");
	if (o.nvfio) {
		if (iovm_vfio_open(o.container_fd, o.vfio, o.nvfio) < 0)
			goto out;
		nexcl = iovm_vfio_reserved(excl, (int)(sizeof(excl) / sizeof(excl[0])));
		if (nexcl < 0)
			goto out;
		phase("VFIO: container, groups, devices, reset");
	}
	if (o.stats)
		smaps_fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	if (o.has_user &&
	    iovm_sandbox_drop(&o.user, o.nvfio ? o.mem + (64ull << 20) : 0) < 0)
		goto out;
	/* No file access from here on. Landlock restricts the calling thread and the threads
	 * it makes later, so this comes before the first thread (populate, virtio-blk I/O,
	 * console writer, vCPUs); everything that takes a path was opened above. */
	if (o.sandbox && iovm_sandbox_landlock() < 0)
		goto out;

	ret = iovm_mem_alloc(&mem, o.mem, o.hugepages);
	if (ret < 0) {
		log_err_errno(ret, "--mem %llu MiB%s: cannot allocate guest RAM%s",
			      (unsigned long long)(o.mem >> 20), o.hugepages ? " with --hugepages" : "",
			      o.hugepages ? " (are enough 2 MiB pages reserved in "
					    "/proc/sys/vm/nr_hugepages?)" : "");
		goto out;
	}
	if ((ret = iovm_vm_add_ram(&vm, &mem)) < 0) {
		log_err_errno(ret, "KVM_SET_USER_MEMORY_REGION (guest RAM)");
		goto out;
	}
	phase("privilege drop, guest RAM");
	bc.excl = excl;
	bc.nexcl = nexcl;
	if (iovm_boot_load(&vm, &bc) < 0)
		goto out;
	phase("kernel and initrd loaded");
	if ((ret = iovm_legacy_init(&vm, &t_start)) < 0 || (ret = iovm_uart_init(&vm)) < 0 ||
	    (ret = iovm_pci_init(&vm)) < 0 || (ret = iovm_power_init(&vm)) < 0) {
		log_err_errno(ret, "device set-up");
		goto out;
	}
	if (o.nvfio) {
		int nintx;

		iovm_pci_exclude(excl, nexcl);
		phase("devices");
		iovm_mem_populate(&mem);
		phase("guest RAM faulted in (MADV_POPULATE_WRITE)");
		if (iovm_vfio_attach(&vm) < 0)
			goto out;
		nintx = iovm_vfio_intx_routes(intx, IOVM_VFIO_MAX_DEVS);
		if (nintx > 0 && iovm_boot_mptable(&vm, o.cpus, intx, nintx) < 0)
			goto out;
		bc.intx = intx;
		bc.nintx = nintx > 0 ? nintx : 0;
		phase("VFIO: DMA map (pinning) of guest RAM, BARs, MSI-X");
	}
	if ((ret = iovm_pvpanic_init(&vm)) < 0) {
		log_err_errno(ret, "pvpanic device");
		goto out;
	}
	if (iovm_blk_init(&vm) < 0 || iovm_blk_start() < 0)
		goto out;
	if ((ret = iovm_hotplug_init(&vm, o.hotplug, o.control_fd)) < 0)
		goto out;
	if (o.hotplug && iovm_boot_mptable(&vm, o.cpus, bc.intx, bc.nintx) < 0)
		goto out;	/* the ACPI tables again: the buses behind the root ports */

	/* Console: a bounded ring and a writer thread (vmm/console.h). */
	if (o.console) {
		out_fd = o.console_fd >= 0 ? o.console_fd : STDOUT_FILENO;
		in_fd = o.console_fd >= 0 ? o.console_fd : STDIN_FILENO;
		iovm_tty_raw(in_fd);
	}
	if (iovm_console_start(out_fd, o.filter == FILTER_ON ||
				       (o.filter == FILTER_AUTO && out_fd >= 0 && isatty(out_fd))) < 0)
		goto out;
	console_on = true;

	if (o.sandbox && !o.landlock_only) {
		struct iovm_sandbox_cfg sc = { .restart = o.restart,
					       .hotplug = o.control_fd >= 0 || o.hotplug > 0,
					       .console_in_fd = iovm_tty_fd() };

		if (iovm_sandbox_seccomp(&sc) < 0)
			goto out;
	} else {
		log_warn("--sandbox %s: no seccomp allow-list", o.sandbox ? "landlock-only" : "off");
	}
	phase("console, seccomp");
	clock_gettime(CLOCK_MONOTONIC, &t_run);
	for (;;) {
		if (iovm_vm_start(&vm) < 0)
			goto out;
		started = true;
		if (o.test_forbidden) {
			iovm_sandbox_probe(o.test_forbidden);
			o.test_forbidden = NULL;
		}
		main_loop(&vm, sfd, &in_fd, &shutdown);
		iovm_vm_stop(&vm);
		/* A reboot after SIGTERM's request ends iovm: the request was to stop. */
		if (vm.exit_code != IOVM_EXIT_REBOOT || !o.restart || shutdown.made)
			break;
		if (restart(&vm, &bc, o.nvfio > 0) < 0) {
			started = false;	/* exit status 1 */
			goto out;
		}
	}
out:
	if (vm_made) {
		iovm_vm_stop(&vm);
		iovm_blk_stop();
		if (started)
			code = (int)vm.exit_code;
	}
	iovm_tty_restore();
	if (console_on) {
		iovm_console_stop();
		if (iovm_console_dropped())
			fprintf(stderr, "iovm: console: %llu bytes of guest output dropped (the reader "
				"did not keep up or went away)\n",
				(unsigned long long)iovm_console_dropped());
	}
	if (o.stats && vm_made) {
		iovm_vm_print_stats(&vm, stderr);
		iovm_legacy_print_marks(stderr);
		iovm_blk_print_stats(stderr);
		for (int i = 0; started && i < phases.n; i++)
			fprintf(stderr, "iovm: set-up phase %-46s %8.1f ms\n", phases.name[i],
				phases.ms[i]);
		if (started)
			fprintf(stderr, "iovm: set-up (start to first vCPU run) %.1f ms\n",
				(double)(t_run.tv_sec - t_start.tv_sec) * 1e3 +
				(double)(t_run.tv_nsec - t_start.tv_nsec) / 1e6);
		if (vm.restarts)
			fprintf(stderr, "iovm: guest reboots restarted in place: %u\n", vm.restarts);
		if (console_on)
			fprintf(stderr, "iovm: console: %llu bytes written, %llu dropped\n",
				(unsigned long long)iovm_console_written(),
				(unsigned long long)iovm_console_dropped());
		print_mem_overhead(smaps_fd, &mem);
	}
	iovm_blk_close();
	iovm_hotplug_close();
	iovm_vfio_close();
	iovm_vm_destroy(&vm);
	iovm_mem_free(&mem);
	iovm_boot_close(&bc);
	if (sfd >= 0)
		close(sfd);
	log_info("exit status %d", code);
	return code;
}
