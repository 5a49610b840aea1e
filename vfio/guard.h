/* Host-critical devices: what the host itself is using and must never lose to a VM.
 *
 * Two halves. iov_usage_load() reads a small snapshot of host usage from procfs/sysfs under
 * the sysroot (default routes, interfaces with addresses, mounted block devices and swap,
 * stacked netdevs, open VFIO groups). The checks below are pure functions of
 * (host model, usage snapshot), so they run on fake trees and hand-built snapshots.
 *
 * Sources (all under the sysroot):
 *   ROOT/proc/net/route          IPv4 default route and connected routes, per interface
 *   ROOT/proc/net/ipv6_route     IPv6 default route (::/0), per interface
 *   ROOT/proc/net/if_inet6       IPv6 addresses; only global scope counts (fe80:: does not)
 *   IPv4 addresses               procfs has no per-interface IPv4 address file. On the real
 *                                host (sysroot "/") getifaddrs(3) is used. Under --sysroot,
 *                                ROOT/proc/net/iovd_ipv4_addrs is read if present, one
 *                                "IFNAME ADDR/PREFIX" per line (what `ip -4 -o addr | awk
 *                                '{print $2, $4}'` prints); a fixture-only file. Without it,
 *                                connected routes in proc/net/route stand in for addresses.
 *   ROOT/sys/class/net/X/lower_* netdev stacking (bond/bridge/VLAN/macvlan): a lower device of
 *                                a critical interface is critical too.
 *   ROOT/proc/self/mountinfo     mounted block devices: major:minor -> ROOT/sys/dev/block/M:m,
 *   ROOT/proc/swaps              resolved, walking slaves/ of dm/md devices, to the PCI
 *                                function in the device path (NVMe, AHCI, virtio-blk, ...).
 *                                A 0:N mount (btrfs) is taken by the device number of the
 *                                block node its source names (FUSE mounts never).
 *   ROOT/proc/PID/fd/N           open files; a character device whose number is a group's
 *                                (ROOT/sys/class/vfio/N/dev) or an iommufd device file's
 *                                (ROOT/sys/class/vfio-dev/vfioK/dev, group of vfioK/device)
 *                                is a group a process (a VM) holds open (by stat, never by
 *                                path; iov_usage_scan_vfio only: bind and release).
 *   ROOT/proc/cmdline            pcie_acs_override= (groups that lie about isolation). */
#ifndef IOV_VFIO_GUARD_H
#define IOV_VFIO_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/pciaddr.h"

struct iov_host;
struct iov_dev;
struct iov_group;

/* Why an interface is in use (bitmask). */
#define IOV_NET_DEFROUTE4 (1u << 0)	/* holds the IPv4 default route */
#define IOV_NET_DEFROUTE6 (1u << 1)	/* holds the IPv6 default route */
#define IOV_NET_ADDR4     (1u << 2)	/* has an IPv4 address */
#define IOV_NET_ADDR6     (1u << 3)	/* has a global IPv6 address */
#define IOV_NET_ROUTE4    (1u << 4)	/* has IPv4 routes (connected subnet): addresses in use */

struct iov_usage_net {
	char *ifname;
	unsigned why;			/* IOV_NET_* */
};

struct iov_usage_link {
	char *upper, *lower;		/* upper (br0, bond0, eth0.10) is stacked on lower */
};

struct iov_usage_blk {
	char *what;			/* "/ on nvme0n1p2", "swap on sda3" */
	char pci[IOV_PCI_ADDR_STRLEN];	/* the PCI function holding the block device */
};

struct iov_usage_vfio {
	int group;
	int pid;
	char comm[32];
};

/* A "known" flag false means the source was missing or unreadable: checks that need it
 * answer unknown rather than guess. */
struct iov_usage {
	struct iov_usage_net *nets;
	size_t n_nets;
	struct iov_usage_link *links;
	size_t n_links;
	struct iov_usage_blk *blks;
	size_t n_blks;
	struct iov_usage_vfio *vfio;
	size_t n_vfio;
	bool net_known;			/* proc/net/route was readable */
	bool ipv4_addrs_known;		/* getifaddrs or the fixture file; else routes only */
	bool mounts_known;		/* proc/self/mountinfo was readable */
	bool vfio_known;		/* proc/ could be scanned for open /dev/vfio/N */
	char *cmdline;			/* kernel command line, NULL if unreadable */
};

/* Reads the snapshot under the current sysroot, all but the open VFIO groups. Missing
 * sources leave *_known false; only ENOMEM fails. */
int iov_usage_load(struct iov_usage **out);
/* Adds the open VFIO groups (walks every process's fds: bind/release need it, verify does
 * not). Sets vfio_known when proc/ could be read. */
int iov_usage_scan_vfio(struct iov_usage *u);
void iov_usage_free(struct iov_usage *u);

/* Devices the host's policy says must never be moved (config policy.never_move): PCI
 * addresses or netdev names, as written. Every later iov_usage_load() marks them
 * host-critical ("listed in policy.never_move"), so bind, VF removal and the config
 * planner refuse them. Copies names; NULL/0 clears. -ENOMEM. */
int iov_guard_set_never_move(char *const *names, size_t n);

/* Building blocks for tests and the loader (append copies; -ENOMEM). */
int iov_usage_add_net(struct iov_usage *u, const char *ifname, unsigned why);
int iov_usage_add_link(struct iov_usage *u, const char *upper, const char *lower);
int iov_usage_add_blk(struct iov_usage *u, const char *pci, const char *what);
int iov_usage_add_vfio(struct iov_usage *u, int group, int pid, const char *comm);

enum iov_guard_verdict { IOV_GUARD_FREE, IOV_GUARD_CRITICAL, IOV_GUARD_UNKNOWN };

/* Is this device host-critical? On CRITICAL/UNKNOWN, why (if non-NULL) says what the host
 * uses it for or which fact is missing ("eno1 holds the IPv4 default route"). Pure. */
enum iov_guard_verdict iov_guard_dev(const struct iov_usage *u, const struct iov_dev *d,
				     char *why, size_t len);
/* The same over every member of d's group (every device that would move with it); d alone
 * when it has no group. The first critical member wins, then the first unknown. */
enum iov_guard_verdict iov_guard_group(const struct iov_usage *u, const struct iov_dev *d,
				       const struct iov_dev **culprit, char *why, size_t len);

/* A process holding /dev/vfio/N open, or NULL. Pure. */
const struct iov_usage_vfio *iov_usage_group_user(const struct iov_usage *u, int group);

#endif
