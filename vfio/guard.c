#include "vfio/guard.h"

#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- building the snapshot ---- */

static void *grow(void *arr, size_t n, size_t sz)
{
	/* Arrays grow by one; they stay small (interfaces, mounts). */
	return realloc(arr, (n + 1) * sz);
}

static struct iov_usage_net *find_net(struct iov_usage *u, const char *ifname)
{
	for (size_t i = 0; i < u->n_nets; i++)
		if (strcmp(u->nets[i].ifname, ifname) == 0)
			return &u->nets[i];
	return NULL;
}

int iov_usage_add_net(struct iov_usage *u, const char *ifname, unsigned why)
{
	struct iov_usage_net *n = find_net(u, ifname), *arr;

	if (n) {
		n->why |= why;
		return 0;
	}
	arr = grow(u->nets, u->n_nets, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	u->nets = arr;
	arr[u->n_nets].ifname = strdup(ifname);
	if (!arr[u->n_nets].ifname)
		return -ENOMEM;
	arr[u->n_nets++].why = why;
	return 0;
}

int iov_usage_add_link(struct iov_usage *u, const char *upper, const char *lower)
{
	struct iov_usage_link *arr = grow(u->links, u->n_links, sizeof(*arr));
	char *a, *b;

	if (!arr)
		return -ENOMEM;
	u->links = arr;
	a = strdup(upper);
	b = strdup(lower);
	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	arr[u->n_links].upper = a;
	arr[u->n_links++].lower = b;
	return 0;
}

int iov_usage_add_blk(struct iov_usage *u, const char *pci, const char *what)
{
	struct iov_usage_blk *arr;

	for (size_t i = 0; i < u->n_blks; i++)
		if (strcmp(u->blks[i].pci, pci) == 0)
			return 0;	/* the first use found is enough to name */
	arr = grow(u->blks, u->n_blks, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	u->blks = arr;
	arr[u->n_blks].what = strdup(what);
	if (!arr[u->n_blks].what)
		return -ENOMEM;
	snprintf(arr[u->n_blks].pci, sizeof(arr[u->n_blks].pci), "%s", pci);
	u->n_blks++;
	return 0;
}

int iov_usage_add_vfio(struct iov_usage *u, int group, int pid, const char *comm)
{
	struct iov_usage_vfio *arr = grow(u->vfio, u->n_vfio, sizeof(*arr));

	if (!arr)
		return -ENOMEM;
	u->vfio = arr;
	arr[u->n_vfio].group = group;
	arr[u->n_vfio].pid = pid;
	iov_esc(arr[u->n_vfio].comm, sizeof(arr[u->n_vfio].comm), comm ? comm : "?");
	u->n_vfio++;
	return 0;
}

void iov_usage_free(struct iov_usage *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->n_nets; i++)
		free(u->nets[i].ifname);
	for (size_t i = 0; i < u->n_links; i++) {
		free(u->links[i].upper);
		free(u->links[i].lower);
	}
	for (size_t i = 0; i < u->n_blks; i++)
		free(u->blks[i].what);
	free(u->nets);
	free(u->links);
	free(u->blks);
	free(u->vfio);
	free(u->cmdline);
	free(u);
}

/* ---- loading (reads the host) ---- */

static FILE *open_proc(const char *rel)
{
	char p[PATH_MAX];

	if (iov_path(p, sizeof(p), "%s", rel) < 0)
		return NULL;
	return fopen(p, "re");
}

/* /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask ..." in hex.
 * A default route has destination and mask 0. Any other up route via an interface (the
 * connected route of an address) means IPv4 is configured there. */
static int load_route4(struct iov_usage *u)
{
	FILE *f = open_proc("/proc/net/route");
	char line[512], ifname[IF_NAMESIZE + 1];
	unsigned long dst, gw, flags, mask;
	int ret = 0;

	if (!f)
		return 0;
	u->net_known = true;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%16s %lx %lx %lx %*d %*d %*d %lx", ifname, &dst, &gw, &flags,
			   &mask) != 5)
			continue;	/* header line */
		if (!(flags & 0x1) || strcmp(ifname, "lo") == 0)	/* RTF_UP */
			continue;
		ret = iov_usage_add_net(u, ifname, dst == 0 && mask == 0 ? IOV_NET_DEFROUTE4
									 : IOV_NET_ROUTE4);
	}
	fclose(f);
	return ret;
}

/* /proc/net/ipv6_route: "dst dstlen src srclen nexthop metric refcnt use flags iface". */
static int load_route6(struct iov_usage *u)
{
	FILE *f = open_proc("/proc/net/ipv6_route");
	char line[512], dst[40], ifname[IF_NAMESIZE + 1];
	unsigned dlen;
	unsigned long flags;
	int ret = 0;

	if (!f)
		return 0;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%39s %x %*s %*s %*s %*s %*s %*s %lx %16s", dst, &dlen, &flags,
			   ifname) != 4)
			continue;
		/* RTF_UP 0x1; RTF_REJECT 0x200 marks the "unreachable" ::/0 via lo. */
		if (dlen != 0 || !(flags & 0x1) || (flags & 0x200) || strcmp(ifname, "lo") == 0)
			continue;
		if (strspn(dst, "0") != strlen(dst))
			continue;
		ret = iov_usage_add_net(u, ifname, IOV_NET_DEFROUTE6);
	}
	fclose(f);
	return ret;
}

/* /proc/net/if_inet6: "addr ifindex prefixlen scope flags ifname"; scope 0 is global. */
static int load_addr6(struct iov_usage *u)
{
	FILE *f = open_proc("/proc/net/if_inet6");
	char line[256], ifname[IF_NAMESIZE + 1];
	unsigned scope;
	int ret = 0;

	if (!f)
		return 0;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*x %*x %x %*x %16s", &scope, ifname) != 2)
			continue;
		if (scope == 0 && strcmp(ifname, "lo") != 0)
			ret = iov_usage_add_net(u, ifname, IOV_NET_ADDR6);
	}
	fclose(f);
	return ret;
}

static int load_addr4(struct iov_usage *u)
{
	int ret = 0;

	if (!*iov_sysroot()) {
		struct ifaddrs *ifa, *i;

		if (getifaddrs(&ifa) < 0)
			return 0;
		u->ipv4_addrs_known = true;
		for (i = ifa; i && ret == 0; i = i->ifa_next)
			if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && i->ifa_name &&
			    strcmp(i->ifa_name, "lo") != 0)
				ret = iov_usage_add_net(u, i->ifa_name, IOV_NET_ADDR4);
		freeifaddrs(ifa);
		return ret;
	}
	/* Fixture-only file: "IFNAME ADDR/PREFIX" per line. */
	FILE *f = open_proc("/proc/net/iovd_ipv4_addrs");
	char line[256], ifname[IF_NAMESIZE + 1];

	if (!f)
		return 0;
	u->ipv4_addrs_known = true;
	while (ret == 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%16s %*s", ifname) == 1 && strcmp(ifname, "lo") != 0)
			ret = iov_usage_add_net(u, ifname, IOV_NET_ADDR4);
	fclose(f);
	return ret;
}

/* ROOT/sys/class/net/X/lower_Y links: X is stacked on Y. */
static int load_links(struct iov_usage *u)
{
	char p[PATH_MAX];
	DIR *d, *sub;
	struct dirent *e, *l;
	int ret = 0;

	if (iov_path(p, sizeof(p), "/sys/class/net") < 0 || !(d = opendir(p)))
		return 0;
	while (ret == 0 && (e = readdir(d))) {
		char q[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		if (iov_path(q, sizeof(q), "/sys/class/net/%s", e->d_name) < 0 || !(sub = opendir(q)))
			continue;
		while (ret == 0 && (l = readdir(sub)))
			if (strncmp(l->d_name, "lower_", 6) == 0 && l->d_name[6])
				ret = iov_usage_add_link(u, e->d_name, l->d_name + 6);
		closedir(sub);
	}
	closedir(d);
	return ret;
}

/* The deepest path component that is a full PCI address: the function that holds a block
 * device (".../0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda2"). */
static bool pci_in_path(const char *path, char out[IOV_PCI_ADDR_STRLEN])
{
	char buf[PATH_MAX], *save = NULL, *tok;
	bool found = false;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		struct iov_pci_addr a;

		if (strchr(tok, ':') != strrchr(tok, ':') && iov_pci_addr_parse(tok, &a) == 0) {
			iov_pci_addr_fmt(&a, out);
			found = true;
		}
	}
	return found;
}

/* Resolves a block device directory (ROOT/sys/dev/block/M:m or ROOT/sys/class/block/X) to
 * the PCI functions under it; virtual devices (dm, md) are followed through slaves/. */
static int add_blk_path(struct iov_usage *u, const char *dir, const char *what, int depth)
{
	char real[PATH_MAX], p[PATH_MAX + 16], pci[IOV_PCI_ADDR_STRLEN];
	struct dirent *e;
	DIR *d;
	int ret = 0;

	if (depth > 8 || !realpath(dir, real))
		return 0;
	if (pci_in_path(real, pci))
		return iov_usage_add_blk(u, pci, what);
	/* A partition's slaves/ is on its parent disk; dm/md keep slaves/ on the device. */
	snprintf(p, sizeof(p), "%s/slaves", real);
	if (!(d = opendir(p)))
		return 0;
	while (ret == 0 && (e = readdir(d))) {
		char q[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		if (iov_path(q, sizeof(q), "/sys/class/block/%s", e->d_name) == 0)
			ret = add_blk_path(u, q, what, depth + 1);
	}
	closedir(d);
	return ret;
}

/* mountinfo: "id parent M:m root mountpoint opts [optional...] - fstype source superopts". */
static int load_mounts(struct iov_usage *u)
{
	FILE *f = open_proc("/proc/self/mountinfo");
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	if (!f)
		return 0;
	u->mounts_known = true;
	/* getline: mount points can be as long as PATH_MAX, a line must never be split. */
	while (ret == 0 && getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		char mnt[1024], what[1100], dir[PATH_MAX], *dash, source[1024] = "", fstype[64] = "";
		struct stat st;

		if (sscanf(line, "%*d %*d %u:%u %*s %1023s", &maj, &min, mnt) != 3)
			continue;
		dash = strstr(line, " - ");
		if (dash)
			sscanf(dash, " - %63s %1023s", fstype, source);
		snprintf(what, sizeof(what), "%s is mounted from %s", mnt,
			 *source ? source : "it");
		if (maj != 0) {
			if (iov_path(dir, sizeof(dir), "/sys/dev/block/%u:%u", maj, min) == 0)
				ret = add_blk_path(u, dir, what, 0);
		} else if (strncmp(fstype, "fuse", 4) != 0 && strncmp(source, "/dev/", 5) == 0 &&
			   iov_path(dir, sizeof(dir), "%s", source) == 0 && stat(dir, &st) == 0 &&
			   S_ISBLK(st.st_mode)) {
			/* btrfs and others report an anonymous 0:N; the source names the disk, and
			 * is taken by the device number of the node it names, never by its name.
			 * FUSE mounts are skipped: any user can give one any source string. */
			if (iov_path(dir, sizeof(dir), "/sys/dev/block/%u:%u", major(st.st_rdev),
				     minor(st.st_rdev)) == 0)
				ret = add_blk_path(u, dir, what, 0);
		}
	}
	free(line);
	fclose(f);
	return ret;
}

/* /proc/swaps: "Filename Type Size Used Priority"; partitions are looked up by name. */
static int load_swaps(struct iov_usage *u)
{
	FILE *f = open_proc("/proc/swaps");
	char line[1024], name[1024], type[32];
	int ret = 0;

	if (!f)
		return 0;
	while (ret == 0 && fgets(line, sizeof(line), f)) {
		char dir[PATH_MAX], what[1100];

		if (sscanf(line, "%1023s %31s", name, type) != 2 || strcmp(type, "partition") != 0)
			continue;
		snprintf(what, sizeof(what), "swap is on %s", name);
		const char *base = strncmp(name, "/dev/", 5) == 0 ? strrchr(name, '/') + 1 : "";

		if (*base && strcmp(base, "..") &&
		    iov_path(dir, sizeof(dir), "/sys/class/block/%s", base) == 0)
			ret = add_blk_path(u, dir, what, 0);
	}
	fclose(f);
	return ret;
}

/* The vfio character devices, by device number: a group's /dev/vfio/N is
 * ROOT/sys/class/vfio/N/dev ("noiommu-N" for no-IOMMU groups); an iommufd device file
 * /dev/vfio/devices/vfioK is ROOT/sys/class/vfio-dev/vfioK/dev, and its group is that of the
 * PCI function it belongs to (vfioK/device/iommu_group). */
struct vfio_devno {
	dev_t dev;
	int group;
};

static int read_devno(const char *path, dev_t *out)
{
	unsigned maj, min;
	char *s;
	int ok;

	if (iov_read_str(path, &s) < 0)
		return -ENOENT;
	ok = sscanf(s, "%u:%u", &maj, &min) == 2;
	free(s);
	if (!ok)
		return -EINVAL;
	*out = makedev(maj, min);
	return 0;
}

static int load_vfio_class(const char *cls, bool cdev, struct vfio_devno **arr, size_t *n)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int ret = 0;

	if (iov_path(p, sizeof(p), "/sys/class/%s", cls) < 0 || !(d = opendir(p)))
		return 0;
	while (ret == 0 && (e = readdir(d))) {
		char q[PATH_MAX], tgt[PATH_MAX];
		const char *num = e->d_name;
		struct vfio_devno *a;
		dev_t dev;
		long g;
		ssize_t k;

		if (e->d_name[0] == '.')
			continue;
		if (cdev) {
			/* The group of the function behind the iommufd device file. */
			if (iov_path(q, sizeof(q), "/sys/class/%s/%s/device/iommu_group", cls,
				     e->d_name) < 0 || (k = readlink(q, tgt, sizeof(tgt) - 1)) <= 0)
				continue;
			tgt[k] = '\0';
			num = strrchr(tgt, '/') ? strrchr(tgt, '/') + 1 : tgt;
		} else if (strncmp(num, "noiommu-", 8) == 0) {
			num += 8;
		}
		if (iov_parse_long(num, 10, &g) < 0 || g < 0 || g > INT_MAX ||
		    iov_path(q, sizeof(q), "/sys/class/%s/%s/dev", cls, e->d_name) < 0 ||
		    read_devno(q, &dev) < 0)
			continue;
		if (!(a = grow(*arr, *n, sizeof(**arr)))) {
			ret = -ENOMEM;
			break;
		}
		*arr = a;
		a[*n].dev = dev;
		a[*n].group = (int)g;
		(*n)++;
	}
	closedir(d);
	return ret;
}

/* Processes holding a group's /dev/vfio/N or one of its iommufd device files: unbinding
 * vfio-pci under them would block until they let go, so release refuses instead. Each
 * open file is recognised by what it is (a character device with a vfio device number,
 * from stat of ROOT/proc/PID/fd/N), never by its path: a user can give any file the name
 * /dev/vfio/12 in a mount namespace of his own. */
int iov_usage_scan_vfio(struct iov_usage *u)
{
	struct vfio_devno *nos = NULL;
	size_t n_nos = 0;
	char p[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int ret;

	ret = load_vfio_class("vfio", false, &nos, &n_nos);
	if (ret == 0)
		ret = load_vfio_class("vfio-dev", true, &nos, &n_nos);
	if (ret < 0) {
		free(nos);
		return ret;
	}
	if (iov_path(p, sizeof(p), "/proc") < 0 || !(d = opendir(p))) {
		free(nos);
		return 0;
	}
	u->vfio_known = true;
	while (ret == 0 && n_nos && (e = readdir(d))) {
		char fdp[PATH_MAX], lnk[PATH_MAX + 300], comm[64] = "?";
		struct dirent *fe;
		DIR *fd;
		char *s;
		int pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = atoi(e->d_name);
		if (iov_path(fdp, sizeof(fdp), "/proc/%d/fd", pid) < 0 || !(fd = opendir(fdp)))
			continue;
		while (ret == 0 && (fe = readdir(fd))) {
			struct stat st;
			int g = -1;

			if (fe->d_name[0] == '.')
				continue;
			snprintf(lnk, sizeof(lnk), "%s/%s", fdp, fe->d_name);
			if (stat(lnk, &st) < 0 || !S_ISCHR(st.st_mode))
				continue;
			for (size_t i = 0; i < n_nos && g < 0; i++)
				if (nos[i].dev == st.st_rdev)
					g = nos[i].group;
			if (g < 0)
				continue;
			if (strcmp(comm, "?") == 0 &&
			    iov_path(lnk, sizeof(lnk), "/proc/%d/comm", pid) == 0 &&
			    iov_read_str(lnk, &s) == 0) {
				snprintf(comm, sizeof(comm), "%s", s);
				free(s);
			}
			if (!iov_usage_group_user(u, g))
				ret = iov_usage_add_vfio(u, g, pid, comm);
		}
		closedir(fd);
	}
	closedir(d);
	free(nos);
	return ret;
}

static char **never_move;
static size_t n_never_move;

int iov_guard_set_never_move(char *const *names, size_t n)
{
	char **a = n ? calloc(n, sizeof(*a)) : NULL;

	if (n && !a)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(a[i] = strdup(names[i]))) {
			while (i--)
				free(a[i]);
			free(a);
			return -ENOMEM;
		}
	for (size_t i = 0; i < n_never_move; i++)
		free(never_move[i]);
	free(never_move);
	never_move = a;
	n_never_move = n;
	return 0;
}

/* A never_move entry to the PCI function it names (an address, or a netdev's device). */
static int load_never_move(struct iov_usage *u)
{
	for (size_t i = 0; i < n_never_move; i++) {
		struct iov_pci_addr a;
		char name[IOV_PCI_ADDR_STRLEN], p[PATH_MAX], what[160];
		int ret;

		if (iov_pci_addr_parse(never_move[i], &a) == 0) {
			iov_pci_addr_fmt(&a, name);
		} else if (iov_path(p, sizeof(p), "/sys/class/net/%s/device", never_move[i]) < 0 ||
			   iov_readlink_base(p, name, sizeof(name)) < 0) {
			continue;	/* a netdev that is not there (now) protects nothing */
		}
		snprintf(what, sizeof(what), "%s is listed in the config's policy.never_move",
			 never_move[i]);
		if ((ret = iov_usage_add_blk(u, name, what)) < 0)
			return ret;
	}
	return 0;
}

int iov_usage_load(struct iov_usage **out)
{
	struct iov_usage *u = calloc(1, sizeof(*u));
	char p[PATH_MAX];
	int ret;

	if (!u)
		return -ENOMEM;
	ret = load_route4(u);
	if (ret == 0)
		ret = load_route6(u);
	if (ret == 0)
		ret = load_addr6(u);
	if (ret == 0)
		ret = load_addr4(u);
	if (ret == 0)
		ret = load_links(u);
	if (ret == 0)
		ret = load_mounts(u);
	if (ret == 0)
		ret = load_swaps(u);
	if (ret == 0)
		ret = load_never_move(u);
	if (ret < 0) {
		iov_usage_free(u);
		return ret;
	}
	if (iov_path(p, sizeof(p), "/proc/cmdline") == 0 && iov_read_str(p, &u->cmdline) < 0)
		u->cmdline = NULL;
	*out = u;
	return 0;
}

/* ---- the pure checks ---- */

static const char *net_why(unsigned why)
{
	if (why & IOV_NET_DEFROUTE4)
		return "holds the IPv4 default route";
	if (why & IOV_NET_DEFROUTE6)
		return "holds the IPv6 default route";
	if (why & IOV_NET_ADDR4)
		return "has an IPv4 address";
	if (why & IOV_NET_ADDR6)
		return "has a global IPv6 address";
	return "has IPv4 routes (an address in use)";
}

/* Is ifname in use, directly or through an upper device stacked on it (bridge, bond,
 * VLAN)? Writes the chain into why. Depth-bounded: stacking loops cannot exist, but a
 * broken snapshot must not hang us. */
static bool net_used(const struct iov_usage *u, const char *ifname, char *why, size_t len,
		     int depth)
{
	if (depth > 8)
		return false;
	for (size_t i = 0; i < u->n_nets; i++)
		if (strcmp(u->nets[i].ifname, ifname) == 0 && u->nets[i].why) {
			snprintf(why, len, "%s %s", ifname, net_why(u->nets[i].why));
			return true;
		}
	for (size_t i = 0; i < u->n_links; i++) {
		char sub[256];

		if (strcmp(u->links[i].lower, ifname) != 0)
			continue;
		if (net_used(u, u->links[i].upper, sub, sizeof(sub), depth + 1)) {
			snprintf(why, len, "%s is under %s: %s", ifname, u->links[i].upper, sub);
			return true;
		}
	}
	return false;
}

/* Classes that can hold block devices below them: mass storage, serial bus (USB,
 * FireWire, Thunderbolt), SD host controllers. */
static bool may_hold_blocks(const struct iov_dev *d)
{
	long base = d->class_code >> 16, sub = (d->class_code >> 8) & 0xff;

	if (d->class_code < 0)
		return true;
	return base == 0x01 || base == 0x0c || (base == 0x08 && sub == 0x05);
}

/* The device's own uses. */
static enum iov_guard_verdict guard_one(const struct iov_usage *u, const struct iov_dev *d,
					char *why, size_t len)
{
	for (size_t i = 0; i < u->n_blks; i++)
		if (strcmp(u->blks[i].pci, d->name) == 0) {
			snprintf(why, len, "%s: %s", d->name, u->blks[i].what);
			return IOV_GUARD_CRITICAL;
		}
	for (size_t i = 0; i < d->n_netdevs; i++) {
		char sub[400];

		if (net_used(u, d->netdevs[i], sub, sizeof(sub), 0)) {
			snprintf(why, len, "%s: %s", d->name, sub);
			return IOV_GUARD_CRITICAL;
		}
	}
	if (d->n_netdevs && !u->net_known) {
		snprintf(why, len, "%s: has netdev %s but proc/net/route is unreadable", d->name,
			 d->netdevs[0]);
		return IOV_GUARD_UNKNOWN;
	}
	if (!u->mounts_known && may_hold_blocks(d)) {
		snprintf(why, len, "%s: may hold block devices but proc/self/mountinfo is "
			 "unreadable", d->name);
		return IOV_GUARD_UNKNOWN;
	}
	return IOV_GUARD_FREE;
}

enum iov_guard_verdict iov_guard_dev(const struct iov_usage *u, const struct iov_dev *d,
				     char *why, size_t len)
{
	enum iov_guard_verdict v, worst;
	char tmp[512], sub[400];

	if (!why) {
		why = tmp;
		len = sizeof(tmp);
	}
	worst = guard_one(u, d, why, len);
	if (worst == IOV_GUARD_CRITICAL || !d->sriov)
		return worst;
	/* A PF takes its VFs with it: unbinding its driver disables SR-IOV. */
	for (size_t i = 0; i < d->sriov->n_vfs; i++) {
		const struct iov_dev *vf = d->sriov->vfs[i];

		if (!vf)
			continue;
		v = guard_one(u, vf, sub, sizeof(sub));
		if (v == IOV_GUARD_CRITICAL || (v == IOV_GUARD_UNKNOWN && worst == IOV_GUARD_FREE)) {
			snprintf(why, len, "%s: its VF %s goes with it: %s", d->name, vf->name, sub);
			worst = v;
			if (v == IOV_GUARD_CRITICAL)
				break;
		}
	}
	return worst;
}

enum iov_guard_verdict iov_guard_group(const struct iov_usage *u, const struct iov_dev *d,
				       const struct iov_dev **culprit, char *why, size_t len)
{
	enum iov_guard_verdict worst = IOV_GUARD_FREE;
	const struct iov_dev *who = NULL;
	char first_unknown[512] = "";
	size_t n = d->group ? d->group->n_devs : 1;

	for (size_t i = 0; i < n; i++) {
		const struct iov_dev *m = d->group ? d->group->devs[i] : d;
		char w[512];
		enum iov_guard_verdict v = iov_guard_dev(u, m, w, sizeof(w));

		if (v == IOV_GUARD_CRITICAL) {
			if (culprit)
				*culprit = m;
			if (why)
				snprintf(why, len, "%s", w);
			return v;
		}
		if (v == IOV_GUARD_UNKNOWN && worst == IOV_GUARD_FREE) {
			worst = v;
			who = m;
			snprintf(first_unknown, sizeof(first_unknown), "%s", w);
		}
	}
	if (worst == IOV_GUARD_UNKNOWN) {
		if (culprit)
			*culprit = who;
		if (why)
			snprintf(why, len, "%s", first_unknown);
	}
	return worst;
}

const struct iov_usage_vfio *iov_usage_group_user(const struct iov_usage *u, int group)
{
	for (size_t i = 0; i < u->n_vfio; i++)
		if (u->vfio[i].group == group)
			return &u->vfio[i];
	return NULL;
}
