/* The privilege boundary of the guest wing (as OpenBSD vmd names its sides): what iovd,
 * as root, opens for a guest; what iovm receives (those fds and an argv naming them, and
 * nothing else); and the user it runs as (unprivileged, no capabilities, no_new_privs,
 * its own session, RLIMIT_MEMLOCK for pinning guest RAM).
 *
 * iovm's fds: 0 the console input FIFO (or /dev/null), 1 and 2 the console log's FIFO
 * (iovd keeps the log, src/guest_log.h: iovm holds no file it writes), then 3..
 * in the order gpriv_build adds them: /dev/kvm, the VFIO container (when there are NICs),
 * each VFIO group once, the kernel, the initrd, the disks, the hot-plug control socket. Every option that names an fd names its
 * number in that order. */
#ifndef IOV_SRC_GUEST_PRIV_H
#define IOV_SRC_GUEST_PRIV_H

#include <sched.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/guestspec.h"
#include "lib/err.h"
#include "lib/pciaddr.h"

/* kvm, container, groups..., kernel, initrd, disks..., control socket */
#define GPRIV_MAX_FDS (5 + IOV_GUEST_MAX_NICS + IOV_GUEST_MAX_DISKS)
#define GPRIV_MAX_ARGS 64

struct gpriv_launch {
	int fds[GPRIV_MAX_FDS];		/* fds[i] is fd 3 + i in iovm */
	int n_fds;
	int outfd;			/* iovm's stdout and stderr (src/guest_log.h) */
	int infd;			/* the console input FIFO (iovm's stdin) */
	int node;			/* NUMA node to run on (-1: wherever), and its CPUs */
	cpu_set_t node_cpus;
	char *argv[GPRIV_MAX_ARGS + 1];
	int argc;
	char strs[GPRIV_MAX_ARGS][512];
	/* The groups opened (one slot each), for gpriv_check_groups. */
	int group_slot[IOV_GUEST_MAX_NICS], group_id[IOV_GUEST_MAX_NICS];
	char group_vf[IOV_GUEST_MAX_NICS][IOV_PCI_ADDR_STRLEN];
	int n_groups;
};

/* A NIC's VF and its IOMMU group. */
struct gpriv_nic {
	const char *vf;
	int group;
};

/* A disk: its fd (held, locked) and whether the guest may write it. */
struct gpriv_disk {
	int fd;
	bool readonly;
};

struct gpriv_in {
	const char *iovm;		/* the program */
	const char *dev_dir;		/* "/dev" (NULL); tests give a directory of stand-ins */
	const struct iov_cfg_guest *spec;	/* cmdline, mem_mib, cpus, restart */
	const struct gpriv_nic *nics;
	size_t n_nics;
	int kernel_fd, initrd_fd;	/* borrowed, iovm gets copies; initrd_fd -1: none */
	const struct gpriv_disk *disks;	/* borrowed likewise: --disk-fd N[,ro] each */
	size_t n_disks;
	/* --stop-timeout: what a SIGTERM not sent by `vm stop` gives the guest (policy.
	 * stop_timeout, else 30); `vm stop` queues its own with the signal (iovm(1)). */
	int stop_timeout;
	int hotplug;			/* > 0: hot-plug slots, and control_fd (borrowed, a */
	int control_fd;			/* listening socket; iovm gets a copy) --control-fd */
};

/* An empty launch (no fds, no argv, no NUMA node). */
void gpriv_init(struct gpriv_launch *l);
/* Opens /dev/kvm, the container and each group once, copies the kernel and initrd fds,
 * and writes iovm's argv. On failure what it opened is closed (gpriv_close). */
int gpriv_build(struct gpriv_launch *l, const struct gpriv_in *in, struct iov_err *err);
/* Guest RAM on hugepages (spec->hugepages): enough free 2 MiB pages now (sysfs
 * /sys/kernel/mm/hugepages/hugepages-2048kB/{free,resv}_hugepages, under the sysroot);
 * else -ENOMEM with the numbers and the fix (nr_hugepages). 0 when not asked. */
int gpriv_hugepages_check(const struct iov_cfg_guest *spec, struct iov_err *err);
/* Every group opened is viable (no member on a host driver). */
int gpriv_check_groups(const struct gpriv_launch *l, struct iov_err *err);
/* iovm's output (outfd, taken: the console log's FIFO) and the console input FIFO (made
 * anew, 0600). */
int gpriv_open_console(struct gpriv_launch *l, int outfd, const char *fifo,
		       struct iov_err *err);
/* A file root names (a config-defined guest's kernel or initrd): opened read-only with
 * O_NOFOLLOW, O_NONBLOCK and O_NOCTTY, its type checked on the fd (regular) before any
 * read. Only for root-named paths: a client's files come as fds (gpriv_check_passed). */
int gpriv_open_file(const char *what, const char *path, struct iov_err *err);
/* A file a client opened and passed (SCM_RIGHTS): open read-only, a regular file (checked
 * on the fd from cached attributes, nothing read). The message names no path. */
int gpriv_check_passed(const char *what, int fd, struct iov_err *err);
/* A disk image: a regular file or a block device, open read-only (readonly) or read-write,
 * and locked for this guest as QEMU locks images (an OFD lock on the open file: shared when
 * read-only, exclusive when read-write), so no other guest writes an image it uses. The
 * lock lives as long as any copy of the fd (iovd's, iovm's). passed: a client's fd (the
 * message names no path); else path is root's and is opened here (O_NOFOLLOW, O_NONBLOCK,
 * O_NOCTTY, the type checked on the fd). Returns the fd (passed: the one given) or -errno. */
int gpriv_disk(const char *what, const char *path, int passed, bool readonly,
	       struct iov_err *err);
/* The guest user (NAME or UID[:GID]); never root. */
int gpriv_user(const char *user, uid_t *uid, gid_t *gid, struct iov_err *err);
/* A uid of its own for a new guest's iovm (policy.guest_uids), from first..last: not one in
 * taken (the guests iovd runs), no user and no group of that number (the password and group
 * databases), and no process with it as any of its uids or gids (proc_dir, "/proc": each
 * PID/status; a dead iovm's uid is free again). The gid is the same number. The lowest free
 * one, or -EBUSY with err saying the range is full. */
int gpriv_pick_uid(uint32_t first, uint32_t last, const uid_t *taken, size_t n_taken,
		   const char *proc_dir, uid_t *uid, struct iov_err *err);
/* Forks and execs iovm as uid:gid with only l's fds; closes l's fds in iovd. The pid, or
 * -errno. */
pid_t gpriv_spawn(struct gpriv_launch *l, uid_t uid, gid_t gid, uint64_t memlock,
		  struct iov_err *err);
/* Closes what l holds (safe twice). */
void gpriv_close(struct gpriv_launch *l);

#endif
