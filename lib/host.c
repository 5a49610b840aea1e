/* The host model: read sysfs/procfs once (under the sysroot) into an immutable snapshot.
 *
 * Reads happen relative to each device's directory fd (config space too), devices are read
 * on several threads (see "loading devices in parallel"), names come from pci.ids through
 * libpci; the same code runs on the host, in the test host and on fake trees. Nothing here
 * writes. */
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/intremap.h"
#include "lib/par.h"

#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pci/pci.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *pci_ids_path;

void iov_host_set_pci_ids(const char *path) { pci_ids_path = path; }

const char *iov_role_name(enum iov_role r)
{
	switch (r) {
	case IOV_ROLE_PF: return "pf";
	case IOV_ROLE_VF: return "vf";
	default: return "other";
	}
}

const char *iov_iommu_vendor_name(enum iov_iommu_vendor v)
{
	switch (v) {
	case IOV_IOMMU_INTEL: return "intel";
	case IOV_IOMMU_AMD: return "amd";
	case IOV_IOMMU_OTHER: return "other";
	default: return NULL;
	}
}

const char *iov_pcie_type_name(int t)
{
	switch (t) {
	case IOV_PCIE_ENDPOINT: return "endpoint";
	case IOV_PCIE_LEGACY_ENDPOINT: return "legacy_endpoint";
	case IOV_PCIE_ROOT_PORT: return "root_port";
	case IOV_PCIE_UPSTREAM: return "upstream_port";
	case IOV_PCIE_DOWNSTREAM: return "downstream_port";
	case IOV_PCIE_PCIE_TO_PCI: return "pcie_to_pci_bridge";
	case IOV_PCIE_PCI_TO_PCIE: return "pci_to_pcie_bridge";
	case IOV_PCIE_RC_ENDPOINT: return "rc_integrated_endpoint";
	case IOV_PCIE_RC_EC: return "rc_event_collector";
	default: return NULL;
	}
}

bool iov_dev_is_bridge(const struct iov_dev *d)
{
	if (d->header_type == 1 || d->header_type == 2)
		return true;
	return d->class_code != IOV_UNKNOWN && (d->class_code >> 8) == 0x0604;
}

/* ---- small helpers ---- */

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[*n] = strdup(s);
	if (!nv[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_dev(const void *a, const void *b)
{
	const struct iov_dev *x = *(struct iov_dev *const *)a, *y = *(struct iov_dev *const *)b;
	return iov_pci_addr_cmp(&x->addr, &y->addr);
}

static int cmp_group(const void *a, const void *b)
{
	const struct iov_group *x = *(struct iov_group *const *)a, *y = *(struct iov_group *const *)b;
	return (x->id > y->id) - (x->id < y->id);
}

/* Names one unreadable attribute of the device being loaded, for its single warning. */
struct badlist {
	char names[256];
	size_t len;
};

static void bad_add(struct badlist *b, const char *name)
{
	int n = snprintf(b->names + b->len, sizeof(b->names) - b->len, "%s%s", b->len ? ", " : "", name);
	if (n > 0 && b->len + (size_t)n < sizeof(b->names))
		b->len += (size_t)n;
}

/* Reads an integer attribute; on a missing or malformed file records it as bad and leaves
 * *out at IOV_UNKNOWN. `required` false: a missing file is silently unknown. */
static void read_int(int dfd, const char *name, int base, int *out, struct badlist *bad,
		     bool required)
{
	long v;
	int ret = iov_read_long_at(dfd, name, base, &v);

	*out = IOV_UNKNOWN;
	if (ret == 0 && v >= INT_MIN + 1 && v <= INT_MAX)
		*out = (int)v;
	else if (ret != -ENOENT || required)
		bad_add(bad, name);
}

/* Lists a directory's entries (sorted, no dot entries). Uses getdents64 on a plain fd:
 * opendir(3) adds an fstat, an fcntl and a malloc per directory, which shows on big trees. */
static int for_each_dirent(int dfd, const char *sub, int (*fn)(const char *name, void *arg), void *arg)
{
	char buf[8192] __attribute__((aligned(8)));
	int fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;
	long n;

	if (fd < 0)
		return -errno;
	while (ret == 0 && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n && ret == 0;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			off += de->d_reclen;
			if (de->d_name[0] != '.')
				ret = fn(de->d_name, arg);
		}
	}
	if (ret == 0 && n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

struct strv_acc {
	char ***v;
	size_t *n;
};

static int strv_acc_push(const char *name, void *arg)
{
	struct strv_acc *a = arg;
	return strv_push(a->v, a->n, name);
}

static int read_dirnames(int dfd, const char *sub, char ***out, size_t *n)
{
	struct strv_acc acc = { out, n };
	int ret = for_each_dirent(dfd, sub, strv_acc_push, &acc);

	if (*n > 1)
		qsort(*out, *n, sizeof(**out), cmp_str);
	return ret;
}

struct virtio_acc {
	int dfd;
	struct iov_dev *d;
};

static int virtio_net_acc(const char *name, void *arg)
{
	struct virtio_acc *v = arg;
	char sub[300];

	if (strncmp(name, "virtio", 6) != 0 || !isdigit((unsigned char)name[6]))
		return 0;
	snprintf(sub, sizeof(sub), "%s/net", name);
	read_dirnames(v->dfd, sub, &v->d->netdevs, &v->d->n_netdevs);
	return 0;
}

/* ---- config space ---- */

static uint16_t cfg16(const uint8_t *c, int off) { return (uint16_t)(c[off] | c[off + 1] << 8); }
static uint32_t cfg32(const uint8_t *c, int off) { return cfg16(c, off) | (uint32_t)cfg16(c, off + 2) << 16; }

/* Walks the capability lists. Every pointer comes from the device (or a fake tree), so
 * each is bounds-checked and the walks are bounded against loops. */
static void parse_config(struct iov_dev *d, const uint8_t *c, int len)
{
	d->cfg_len = len;
	d->header_type = c[0x0e] & 0x7f;
	if (d->header_type == 0) {	/* type 1/2 headers keep other registers there */
		d->revision = c[0x08];
		d->subsys_vendor = cfg16(c, 0x2c);
		d->subsys_device = cfg16(c, 0x2e);
	}
	d->pcie_type = IOV_UNKNOWN;
	d->flr = 0;
	d->msix_table_size = 0;
	d->msi_max = 0;

	if (len >= 64 && (cfg16(c, 0x06) & 0x10)) {	/* status: capability list */
		int pos = c[d->header_type == 2 ? 0x14 : 0x34] & 0xfc;

		for (int guard = 0; pos >= 0x40 && pos + 2 <= len && guard < 48; guard++) {
			switch (c[pos]) {
			case 0x10:	/* PCI Express */
				if (pos + 8 <= len) {
					d->pcie_type = (cfg16(c, pos + 2) >> 4) & 0xf;
					d->flr = (cfg32(c, pos + 4) >> 28) & 1;	/* DevCap FLR */
				}
				break;
			case 0x11:	/* MSI-X: table size is N-1 in message control 10:0 */
				if (pos + 4 <= len) {
					d->msix_table_size = (cfg16(c, pos + 2) & 0x7ff) + 1;
					d->cfg_msix_on = cfg16(c, pos + 2) >> 15;
				}
				break;
			case 0x05:	/* MSI: multiple message capable, log2 in bits 3:1 */
				if (pos + 4 <= len) {
					d->msi_max = 1 << ((cfg16(c, pos + 2) >> 1) & 7);
					d->cfg_msi_on = cfg16(c, pos + 2) & 1;
				}
				break;
			case 0x13:	/* Conventional PCI Advanced Features: FLR for non-PCIe */
				if (pos + 4 <= len && (c[pos + 3] & 0x02) && d->pcie_type == IOV_UNKNOWN)
					d->flr = 1;
				break;
			}
			pos = c[pos + 1] & 0xfc;
		}
	}
	if (len < 0x104 || d->pcie_type == IOV_UNKNOWN)
		return;
	for (int pos = 0x100, guard = 0; pos >= 0x100 && pos + 4 <= len && guard < 128; guard++) {
		uint32_t hdr = cfg32(c, pos);

		if (hdr == 0 || hdr == 0xffffffff)
			break;
		switch (hdr & 0xffff) {
		case 0x000d:	/* ACS */
			if (pos + 8 <= len) {
				d->acs_present = true;
				d->acs_cap = cfg16(c, pos + 4);
				d->acs_ctrl = cfg16(c, pos + 6);
			}
			break;
		case 0x000e:	/* ARI */
			d->ari = true;
			break;
		case 0x0003:	/* Device Serial Number: lower dword at +4, upper at +8 */
			if (pos + 12 <= len) {
				d->dsn = cfg32(c, pos + 4) | (uint64_t)cfg32(c, pos + 8) << 32;
				d->dsn_known = true;
			}
			break;
		}
		pos = (int)(hdr >> 20) & 0xffc;
	}
}

/* Config space straight from DEV/config through the directory fd: one open, one read, no
 * path walk (libpci opens it by full path and stats it first). The kernel hands over what
 * the reader may see: all of it (256 or 4096 bytes) for root, the first 64 bytes otherwise;
 * a fake tree's file is what it is, cut down to the sizes config space comes in. */
static void read_config(int dfd, struct iov_dev *d, struct badlist *bad)
{
	uint8_t buf[4096];
	ssize_t n;
	int fd, len;

	d->cfg_len = 0;
	d->header_type = IOV_UNKNOWN;
	d->pcie_type = IOV_UNKNOWN;
	d->flr = IOV_UNKNOWN;
	d->msix_table_size = IOV_UNKNOWN;
	d->msi_max = IOV_UNKNOWN;
	fd = openat(dfd, "config", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		bad_add(bad, "config");
		return;
	}
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	close(fd);
	len = n >= 4096 ? 4096 : n >= 256 ? 256 : n >= 64 ? 64 : 0;
	if (len < 64) {
		/* Short for root (or a damaged file): unreadable. Non-root readers always get
		 * 64 bytes from the kernel, so this is not the unprivileged case. */
		bad_add(bad, "config");
		return;
	}
	parse_config(d, buf, len);
}

/* ---- per device ---- */

/* Names from pci.ids. Devices come in runs of one ID (a PF's VFs), so the last answer is
 * kept for the duration of one load: one libpci lookup per run instead of per device. */
struct name_memo {
	int vendor, device;
	bool have_v, have_d;
	char vname[256], dname[256];
};

static void lookup_names(struct pci_access *pacc, struct name_memo *m, struct iov_dev *d)
{
	if (d->vendor != m->vendor || d->device != m->device) {
		m->have_v = pci_lookup_name(pacc, m->vname, sizeof(m->vname),
					    PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, d->vendor) != NULL;
		m->have_d = pci_lookup_name(pacc, m->dname, sizeof(m->dname),
					    PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, d->vendor, d->device) != NULL;
		m->vendor = d->vendor;
		m->device = d->device;
	}
	if (m->have_v)
		d->vendor_name = strdup(m->vname);
	if (m->have_d)
		d->device_name = strdup(m->dname);
}

/* A PF's virtfnN link as the loader thread read it: the joining below needs no syscall. */
struct iov_virtfn_raw {
	long idx;
	char name[24];			/* "virtfnN", for messages */
	char target[64];		/* basename of the link's target, "" if unreadable */
};

static bool virtfn_name(const char *name, long *idx)
{
	return strncmp(name, "virtfn", 6) == 0 && iov_parse_long(name + 6, 10, idx) == 0 &&
	       *idx >= 0 && *idx <= 65535 && name[6] != '+' && name[6] != ' ';
}

struct virtfn_read {
	struct iov_dev *pf;
	int dfd;
	size_t cap;
};

static int virtfn_read_one(const char *name, void *arg)
{
	struct virtfn_read *r = arg;
	struct iov_dev *d = r->pf;
	struct iov_virtfn_raw *v;
	long idx;

	if (!virtfn_name(name, &idx) || strlen(name) >= sizeof(v->name))
		return 0;
	if (d->n_virtfn_raw == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct iov_virtfn_raw *nv = realloc(d->virtfn_raw, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->virtfn_raw = nv;
		r->cap = cap;
	}
	v = &d->virtfn_raw[d->n_virtfn_raw++];
	v->idx = idx;
	snprintf(v->name, sizeof(v->name), "%s", name);
	if (iov_readlink_base_at(r->dfd, name, v->target, sizeof(v->target)) < 0)
		v->target[0] = '\0';
	return 0;
}

/* Reads one device's directory. Runs on loader threads: touches only d, logs nothing (the
 * caller reports, in address order). */
static int load_dev(struct iov_dev *d)
{
	struct badlist bad = { .len = 0 };
	char *s = NULL, link[64];
	int dfd, ret;
	long v;

	dfd = open(d->syspath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;

	read_int(dfd, "vendor", 16, &d->vendor, &bad, true);
	read_int(dfd, "device", 16, &d->device, &bad, true);
	/* Revision and subsystem IDs sit in the header every user may read (VFs included: only
	 * their vendor/device registers read as ffff), which saves three files per device. */
	read_config(dfd, d, &bad);
	if (d->cfg_len < 64 || d->header_type != 0) {
		read_int(dfd, "subsystem_vendor", 16, &d->subsys_vendor, &bad, false);
		read_int(dfd, "subsystem_device", 16, &d->subsys_device, &bad, false);
		read_int(dfd, "revision", 16, &d->revision, &bad, false);
	}
	d->class_code = IOV_UNKNOWN;
	if (iov_read_long_at(dfd, "class", 16, &v) == 0 && v >= 0 && v <= 0xffffff)
		d->class_code = v;
	else
		bad_add(&bad, "class");
	if (d->vendor == IOV_UNKNOWN || d->device == IOV_UNKNOWN)
		d->bad |= IOV_BAD_IDS;

	if (iov_readlink_base_at(dfd, "driver", link, sizeof(link)) == 0)
		d->driver = strdup(link);
	ret = iov_read_str_at(dfd, "driver_override", &s);
	if (ret == 0) {
		if (s[0] && strcmp(s, "(null)") != 0)
			d->driver_override = s;
		else
			free(s);
	} else if (ret != -ENOENT) {
		bad_add(&bad, "driver_override");
		d->bad |= IOV_BAD_OVERRIDE;
	}
	read_int(dfd, "numa_node", 10, &d->numa_node, &bad, false);

	read_dirnames(dfd, "net", &d->netdevs, &d->n_netdevs);
	/* virtio-pci binds the PCI function and registers a virtio device below it; the
	 * netdev hangs off that one: DEV/virtioN/net/IFNAME (most cloud VMs' uplink). */
	if (!d->n_netdevs && d->driver && !strcmp(d->driver, "virtio-pci"))
		for_each_dirent(dfd, ".", virtio_net_acc, &(struct virtio_acc){ dfd, d });

	ret = iov_read_str_at(dfd, "reset_method", &s);
	if (ret == 0) {
		d->reset_methods_known = true;
		for (char *save = NULL, *tok = strtok_r(s, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
			strv_push(&d->reset_methods, &d->n_reset_methods, tok);
		free(s);
	}

	/* msi_irqs/<irq> holds "msi" or "msix" per allocated vector. A device runs in one mode
	 * at a time (MSI and MSI-X enable are exclusive), so the first entry names them all. */
	{
		char **irqs = NULL;
		size_t n = 0;

		d->msi_irqs = d->msix_irqs = 0;
		if (read_dirnames(dfd, "msi_irqs", &irqs, &n) == 0 && n > 0) {
			char kind[16], sub[64];
			ssize_t r;

			/* With the capabilities readable, their enable bits tell the mode. */
			if (d->cfg_len >= 256 && (d->cfg_msix_on || d->cfg_msi_on)) {
				if (d->cfg_msix_on)
					d->msix_irqs = (int)n;
				else
					d->msi_irqs = (int)n;
			} else {
				snprintf(sub, sizeof(sub), "msi_irqs/%s", irqs[0]);
				r = iov_read_bin_at(dfd, sub, kind, sizeof(kind) - 1);
				if (r > 0 && strncmp(kind, "msix", 4) == 0)
					d->msix_irqs = (int)n;
				else if (r > 0 && strncmp(kind, "msi", 3) == 0)
					d->msi_irqs = (int)n;
			}
		}
		strv_free(irqs, n);
	}

	/* The IOMMU group, read here while the directory is open; groups are joined later. */
	d->group_id = IOV_UNKNOWN;
	if (iov_readlink_base_at(dfd, "iommu_group", link, sizeof(link)) == 0) {
		if (iov_parse_long(link, 10, &v) == 0 && v >= 0 && v <= INT_MAX)
			d->group_id = (int)v;
		else
			d->bad |= IOV_BAD_GROUP;
	}

	d->role = IOV_ROLE_OTHER;
	d->vf_index = IOV_UNKNOWN;
	/* physfn first: on a big host nearly every device is a VF, and a VF has no SR-IOV
	 * capability of its own (one syscall less per VF). */
	if (iov_readlink_base_at(dfd, "physfn", link, sizeof(link)) == 0) {
		d->role = IOV_ROLE_VF;
		if (iov_pci_addr_parse(link, &d->pf_addr) < 0)
			d->role_bad = true;
	} else if (faccessat(dfd, "sriov_totalvfs", F_OK, 0) == 0) {
		struct iov_sriov *sr = calloc(1, sizeof(*sr));
		struct badlist sbad = { .len = 0 };

		if (!sr) {
			close(dfd);
			return -ENOMEM;
		}
		d->role = IOV_ROLE_PF;
		d->sriov = sr;
		read_int(dfd, "sriov_totalvfs", 10, &sr->total_vfs, &sbad, true);
		read_int(dfd, "sriov_numvfs", 10, &sr->num_vfs, &sbad, true);
		/* offset, stride and vf_device exist since Linux 4.17. */
		read_int(dfd, "sriov_offset", 10, &sr->offset, &sbad, true);
		read_int(dfd, "sriov_stride", 10, &sr->stride, &sbad, true);
		read_int(dfd, "sriov_vf_device", 16, &sr->vf_device, &sbad, true);
		read_int(dfd, "sriov_drivers_autoprobe", 10, &sr->drivers_autoprobe, &sbad, false);
		if (sbad.len) {
			d->bad |= IOV_BAD_SRIOV;
			bad_add(&bad, sbad.names);
		}
		/* The virtfnN links, while the directory is open (joined to the VFs later). */
		if (for_each_dirent(dfd, ".", virtfn_read_one,
				    &(struct virtfn_read){ .pf = d, .dfd = dfd }) == -ENOMEM) {
			close(dfd);
			return -ENOMEM;
		}
	}

	if (!d->cfg_len && bad.len && strstr(bad.names, "config"))
		d->bad |= IOV_BAD_CONFIG;
	if (d->class_code == IOV_UNKNOWN)
		d->bad |= IOV_BAD_CLASS;
	if (d->numa_node == IOV_UNKNOWN && strstr(bad.names, "numa_node"))
		d->bad |= IOV_BAD_NUMA;

	if (bad.len && !(d->bad_what = strdup(bad.names))) {
		close(dfd);
		return -ENOMEM;
	}
	close(dfd);
	return 0;
}

/* Adds a problem found while joining devices to the device's list. */
static int dev_bad(struct iov_dev *d, const char *what)
{
	char *n;

	if (asprintf(&n, "%s%s%s", d->bad_what ? d->bad_what : "", d->bad_what ? ", " : "", what) < 0)
		return -ENOMEM;
	free(d->bad_what);
	d->bad_what = n;
	return 0;
}

/* ---- links between devices ---- */

struct iov_dev *iov_host_find(const struct iov_host *h, const struct iov_pci_addr *a)
{
	size_t lo = 0, hi = h->n_devs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = iov_pci_addr_cmp(&h->devs[mid]->addr, a);
		if (c == 0)
			return h->devs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Joins one virtfnN link (read on a loader thread) to its VF; a link that leads to no device
 * in the model is reported on the PF. */
static int virtfn_join(const struct iov_host *h, struct iov_dev *pf, const struct iov_virtfn_raw *v)
{
	struct iov_sriov *sr = pf->sriov;
	struct iov_pci_addr a;
	struct iov_dev *vf = NULL;

	if ((size_t)v->idx >= sr->n_vfs) {
		struct iov_dev **nv = realloc(sr->vfs, (size_t)(v->idx + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		memset(nv + sr->n_vfs, 0, ((size_t)v->idx + 1 - sr->n_vfs) * sizeof(*nv));
		sr->vfs = nv;
		sr->n_vfs = (size_t)v->idx + 1;
	}
	if (v->target[0] && iov_pci_addr_parse(v->target, &a) == 0)
		vf = iov_host_find(h, &a);
	sr->vfs[v->idx] = vf;
	if (!vf) {
		char what[64];
		snprintf(what, sizeof(what), "%s (dangling link)", v->name);
		return dev_bad(pf, what);
	}
	if (vf->role == IOV_ROLE_VF) {
		vf->vf_index = (int)v->idx;
		if (!vf->pf)
			vf->pf = pf;
	}
	return 0;
}

static int link_sriov(struct iov_host *h, struct iov_dev *d)
{
	int ret = 0;

	if (d->role == IOV_ROLE_VF && !d->role_bad && !d->pf)
		d->pf = iov_host_find(h, &d->pf_addr);
	if (d->role != IOV_ROLE_PF)
		return 0;
	for (size_t i = 0; i < d->n_virtfn_raw && ret == 0; i++)
		ret = virtfn_join(h, d, &d->virtfn_raw[i]);
	free(d->virtfn_raw);
	d->virtfn_raw = NULL;
	d->n_virtfn_raw = 0;
	return ret == -ENOMEM ? ret : 0;
}

static void link_parent(struct iov_host *h, struct iov_dev *d)
{
	char tmp[PATH_MAX], *slash;
	struct iov_pci_addr a;

	snprintf(tmp, sizeof(tmp), "%s", d->syspath);
	slash = strrchr(tmp, '/');
	if (!slash)
		return;
	*slash = '\0';
	slash = strrchr(tmp, '/');
	if (slash && iov_pci_addr_parse(slash + 1, &a) == 0)
		d->parent = iov_host_find(h, &a);
}

/* ---- IOMMU groups and units ---- */

static struct iov_group *group_find(const struct iov_host *h, int id)
{
	size_t lo = 0, hi = h->n_groups;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (h->groups[mid]->id == id)
			return h->groups[mid];
		if (h->groups[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int group_add_id(const char *name, void *arg)
{
	struct iov_host *h = arg;
	long id;

	if (iov_parse_long(name, 10, &id) < 0 || id < 0 || id > INT_MAX)
		return 0;
	struct iov_group **ng = realloc(h->groups, (h->n_groups + 1) * sizeof(*ng));
	if (!ng)
		return -ENOMEM;
	h->groups = ng;
	if (!(ng[h->n_groups] = calloc(1, sizeof(**ng))))
		return -ENOMEM;
	ng[h->n_groups++]->id = (int)id;
	return 0;
}

struct type_job {
	struct iov_group **groups;
	int gfd;
};

static void group_type_one(void *ctx, size_t i)
{
	struct type_job *t = ctx;
	char sub[32];

	snprintf(sub, sizeof(sub), "%d/type", t->groups[i]->id);
	if (iov_read_str_at(t->gfd, sub, &t->groups[i]->type) < 0)
		t->groups[i]->type = NULL;
}

/* Groups come from /sys/kernel/iommu_groups; their members from each device's own
 * iommu_group link (the same facts as N/devices/, without a directory read per group). */
static int load_groups_at(struct iov_host *h, int gfd);

static int load_groups(struct iov_host *h)
{
	char path[PATH_MAX];
	int gfd, ret;

	if (iov_path(path, sizeof(path), "/sys/kernel/iommu_groups") < 0)
		return -ENAMETOOLONG;
	gfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (gfd < 0)
		return 0;	/* no IOMMU */
	ret = load_groups_at(h, gfd);
	close(gfd);
	return ret;
}

static int load_groups_at(struct iov_host *h, int gfd)
{
	int ret = for_each_dirent(gfd, ".", group_add_id, h);

	if (ret < 0)
		return ret;
	if (h->n_groups > 1)
		qsort(h->groups, h->n_groups, sizeof(*h->groups), cmp_group);
	/* One small file per group, as many groups as devices on a big host: in parallel. */
	iov_par_for(h->n_groups, group_type_one, &(struct type_job){ h->groups, gfd });

	for (size_t i = 0; i < h->n_devs; i++) {
		struct iov_dev *d = h->devs[i];
		struct iov_group *g;

		if (d->group_id == IOV_UNKNOWN)
			continue;
		g = group_find(h, d->group_id);
		if (!g) {
			char what[64];
			snprintf(what, sizeof(what), "iommu_group (group %d does not exist)", d->group_id);
			d->bad |= IOV_BAD_GROUP;
			if (dev_bad(d, what) < 0)
				return -ENOMEM;
			continue;
		}
		d->group = g;
		/* Devices are in address order, so members are too. */
		struct iov_dev **nd = realloc(g->devs, (g->n_devs + 1) * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		g->devs = nd;
		nd[g->n_devs++] = d;
		if (strv_push(&g->members, &g->n_members, d->name) < 0)
			return -ENOMEM;
	}
	/* A group no device links to (non-PCI members, or a damaged tree): ask the group. */
	for (size_t i = 0; i < h->n_groups; i++) {
		struct iov_group *g = h->groups[i];
		char sub[32];

		if (g->n_members)
			continue;
		snprintf(sub, sizeof(sub), "%d/devices", g->id);
		if (read_dirnames(gfd, sub, &g->members, &g->n_members) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

static int load_iommu(struct iov_host *h)
{
	struct iov_iommu *io = &h->iommu;
	char path[PATH_MAX], **names = NULL, *irq = NULL, *s = NULL;
	size_t n = 0;
	int cfd;

	io->enabled = h->n_groups > 0;
	io->vendor = IOV_IOMMU_NONE;
	if (iov_path(path, sizeof(path), "/sys/class/iommu") == 0 &&
	    (cfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		read_dirnames(cfd, ".", &names, &n);
		io->units = calloc(n ? n : 1, sizeof(*io->units));
		if (!io->units) {
			close(cfd);
			strv_free(names, n);
			return -ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			struct iov_iommu_unit *u = &io->units[io->n_units++];
			const char *capf = "cap", *ecapf = NULL;
			char sub[PATH_MAX];
			uint64_t cap, ecap;

			u->name = names[i];
			names[i] = NULL;
			if (strncmp(u->name, "dmar", 4) == 0) {
				u->vendor = IOV_IOMMU_INTEL;
				snprintf(sub, sizeof(sub), "%s/%s/intel-iommu", path, u->name);
				ecapf = "ecap";
			} else if (strncmp(u->name, "ivhd", 4) == 0) {
				u->vendor = IOV_IOMMU_AMD;
				snprintf(sub, sizeof(sub), "%s/%s/amd-iommu", path, u->name);
				ecapf = "features";
			} else {
				u->vendor = IOV_IOMMU_OTHER;
			}
			if (ecapf) {
				char f[PATH_MAX + 16];
				char *txt = NULL;

				snprintf(f, sizeof(f), "%s/%s", sub, capf);
				if (iov_read_u64(f, 16, &cap) == 0) {
					snprintf(f, sizeof(f), "%s/%s", sub, ecapf);
					/* AMD's features reads "EFR:EFR2" on recent kernels. */
					if (iov_read_str(f, &txt) == 0 && u->vendor == IOV_IOMMU_AMD && strchr(txt, ':'))
						*strchr(txt, ':') = '\0';
					if (txt && iov_parse_u64(txt, 16, &ecap) == 0) {
						u->regs_known = true;
						u->cap = cap;
						u->ecap = ecap;
					}
				}
				free(txt);
				if (!u->regs_known)
					log_warn("IOMMU unit %s: unreadable or malformed %s/{%s,%s}", u->name,
						 sub, capf, ecapf);
			}
			if (io->vendor == IOV_IOMMU_NONE)
				io->vendor = u->vendor;
		}
		close(cfd);
		strv_free(names, n);
	}
	if (!io->enabled && io->n_units == 0)
		io->vendor = IOV_IOMMU_NONE;

	if (iov_path(path, sizeof(path), "/proc/interrupts") == 0)
		iov_read_str(path, &irq);
	iov_intremap_decide(io, irq);
	free(irq);

	io->unsafe_interrupts = IOV_UNKNOWN;
	if (iov_path(path, sizeof(path), "/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts") == 0 &&
	    iov_read_str(path, &s) == 0) {
		if (strcmp(s, "Y") == 0 || strcmp(s, "1") == 0)
			io->unsafe_interrupts = 1;
		else if (strcmp(s, "N") == 0 || strcmp(s, "0") == 0)
			io->unsafe_interrupts = 0;
		else
			log_warn("%s: unexpected value '%s' (expected Y or N)", path, s);
		free(s);
	}
	return 0;
}

/* ---- libpci at the edge ---- */

static void pci_quiet(char *msg, ...) { (void)msg; }

static __attribute__((noreturn)) void pci_fatal(char *msg, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	/* libpci's error hook must not return; its only callers are setup paths that cannot
	 * happen with the sysfs method and an explicit path. */
	log_err("libpci: %s", buf);
	exit(1);
}

static struct pci_access *pci_open(void)
{
	struct pci_access *pacc = pci_alloc();
	char path[PATH_MAX];

	if (!pacc)
		return NULL;
	pacc->error = pci_fatal;
	pacc->warning = pci_quiet;
	pacc->debug = pci_quiet;
	pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	/* Names only from the pci.ids file: udev's hwdb would differ from host to host. */
	pacc->id_lookup_mode = PCI_LOOKUP_NO_HWDB;
	if (iov_path(path, sizeof(path), "/sys/bus/pci") == 0)
		pci_set_param(pacc, "sysfs.path", path);
	if (pci_ids_path)
		pci_set_name_list_path(pacc, (char *)pci_ids_path, 0);
	pci_init(pacc);
	return pacc;
}

/* ---- the whole snapshot ---- */

/* The device directory behind DIR/NAME. sysfs links are relative ("../../../devices/pci0000:00/
 * 0000:00:01.0/0000:01:00.0"); joining them by hand costs one readlink where realpath(3)
 * costs one per path component, which dominates listing time on trees with thousands of VFs.
 * A link that points elsewhere (absolute, or through further links) falls back to realpath. */
static int resolve_link(int dfd, const char *dir, const char *name, char *out, size_t len)
{
	char tgt[PATH_MAX], buf[2 * PATH_MAX], *p;
	ssize_t n;

	n = readlinkat(dfd, name, tgt, sizeof(tgt) - 1);
	if (n < 0 && errno != EINVAL)
		return -errno;
	if (n < 0 || tgt[0] == '/') {
		snprintf(buf, sizeof(buf), "%s/%s", dir, name);
		return realpath(buf, out) ? 0 : -errno;
	}
	tgt[n] = '\0';
	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *save = NULL, *c = strtok_r(tgt, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			p = strrchr(buf, '/');
			if (!p || p == buf)
				return -EINVAL;
			*p = '\0';
			continue;
		}
		size_t l = strlen(buf);
		if (l + 1 + strlen(c) + 1 > sizeof(buf))
			return -ENAMETOOLONG;
		buf[l] = '/';
		strcpy(buf + l + 1, c);
	}
	if (strlen(buf) >= len)
		return -ENAMETOOLONG;
	strcpy(out, buf);
	return 0;
}

static void dev_free(struct iov_dev *d);

/* ---- loading devices in parallel ----
 *
 * Listing a host is mostly waiting on the kernel: about 40 small sysfs reads per device,
 * thousands of devices on a big SR-IOV host. Devices are independent, so loader threads
 * (lib/par.h: one per online CPU) take them in chunks; each slot is written
 * by one thread only. Everything that depends on order (warnings, names from pci.ids, the
 * links between devices) happens afterwards on the calling thread, in address order, so the
 * model and every message are the same as with one thread. */

struct load_slot {
	struct iov_dev *d;
	int err;			/* resolve or open failure (reported by the caller) */
	enum { SLOT_OK, SLOT_NOT_PCI, SLOT_NO_LINK, SLOT_NO_DIR } what;
};

struct load_job {
	const char *path;		/* ROOT/sys/bus/pci/devices */
	int dfd;
	char **names;
	struct load_slot *slots;
	int enomem;			/* set by any thread (atomic) */
};

static void load_one(void *ctx, size_t i)
{
	struct load_job *j = ctx;
	struct load_slot *sl = &j->slots[i];
	char real[PATH_MAX];
	struct iov_pci_addr a;
	struct iov_dev *d;
	int ret;

	if (__atomic_load_n(&j->enomem, __ATOMIC_RELAXED))
		return;
	if (iov_pci_addr_parse(j->names[i], &a) < 0) {
		sl->what = SLOT_NOT_PCI;
		return;
	}
	if ((ret = resolve_link(j->dfd, j->path, j->names[i], real, sizeof(real))) < 0) {
		sl->what = SLOT_NO_LINK;
		sl->err = ret;
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->syspath = strdup(real))) {
		free(d);
		__atomic_store_n(&j->enomem, 1, __ATOMIC_RELAXED);
		return;
	}
	d->addr = a;
	iov_pci_addr_fmt(&a, d->name);
	sl->d = d;
	ret = load_dev(d);
	if (ret == -ENOMEM)
		__atomic_store_n(&j->enomem, 1, __ATOMIC_RELAXED);
	else if (ret < 0) {
		sl->what = SLOT_NO_DIR;
		sl->err = ret;
	}
}

/* Opens libpci for names and makes it read pci.ids now (a lookup loads the whole file). */
static void *ids_open(void *arg)
{
	struct pci_access **pacc = arg;
	char buf[128];

	if ((*pacc = pci_open()))
		pci_lookup_name(*pacc, buf, sizeof(buf), PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS,
				0x8086);
	return NULL;
}

int iov_host_load(struct iov_host **out)
{
	char path[PATH_MAX], **names = NULL;
	struct name_memo memo = { .vendor = -1, .device = -1 };
	struct load_job job = { 0 };
	struct pci_access *pacc = NULL;
	pthread_t ids_tid;
	bool ids_started = false;
	struct iov_host *h;
	size_t n = 0;
	int ret, dfd;

	if (!pci_ids_path && getenv("IOV_PCI_IDS"))
		pci_ids_path = getenv("IOV_PCI_IDS");
	if ((ret = iov_path(path, sizeof(path), "/sys/bus/pci/devices")) < 0)
		return ret;
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return log_err_errno(-errno, "%s", path);
	ret = read_dirnames(dfd, ".", &names, &n);
	if (ret < 0) {
		close(dfd);
		strv_free(names, n);
		return ret;
	}

	h = calloc(1, sizeof(*h));
	if (h)
		h->devs = calloc(n ? n : 1, sizeof(*h->devs));
	job = (struct load_job){ .path = path, .dfd = dfd, .names = names,
				 .slots = calloc(n ? n : 1, sizeof(*job.slots)) };
	if (!h || !h->devs || !job.slots) {
		ret = -ENOMEM;
		goto fail;
	}
	/* pci.ids is parsed on the first lookup (a megabyte on a real host): let another
	 * thread do that while the devices load, when there are threads to spare. */
	if (iov_par_threads(n) > 1 && pthread_create(&ids_tid, NULL, ids_open, &pacc) == 0)
		ids_started = true;
	else
		pacc = pci_open();
	iov_par_for(n, load_one, &job);
	if (ids_started)
		pthread_join(ids_tid, NULL);
	/* Collect in name order: the model takes every device read (also those whose
	 * directory failed to open, as unknown), the reports come out as with one thread. */
	for (size_t i = 0; i < n; i++) {
		struct load_slot *sl = &job.slots[i];

		if (sl->what == SLOT_NOT_PCI)
			log_warn("%s/%s: not a PCI address; skipped", path, names[i]);
		else if (sl->what == SLOT_NO_LINK)
			log_warn_errno(sl->err, "%s/%s: cannot resolve", path, names[i]);
		else if (sl->what == SLOT_NO_DIR)
			log_warn_errno(sl->err, "%s: cannot open %s", sl->d->name, sl->d->syspath);
		if (sl->d)
			h->devs[h->n_devs++] = sl->d;
		sl->d = NULL;
	}
	if (job.enomem) {
		ret = -ENOMEM;
		goto fail;
	}
	close(dfd);
	dfd = -1;
	qsort(h->devs, h->n_devs, sizeof(*h->devs), cmp_dev);

	/* Names from pci.ids: one libpci handle, runs of equal IDs looked up once. */
	if (!pacc) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < h->n_devs; i++) {
		struct iov_dev *d = h->devs[i];

		if (d->vendor != IOV_UNKNOWN && d->device != IOV_UNKNOWN)
			lookup_names(pacc, &memo, d);
	}

	for (size_t i = 0; i < h->n_devs; i++) {
		link_parent(h, h->devs[i]);
		if ((ret = link_sriov(h, h->devs[i])) < 0)
			goto fail;
	}
	/* A VF whose PF's virtfnN links do not name it has no index. */
	if ((ret = load_groups(h)) < 0 || (ret = load_iommu(h)) < 0)
		goto fail;

	/* One warning per damaged device, naming every bad file, after all links are known. */
	for (size_t i = 0; i < h->n_devs; i++)
		if (h->devs[i]->bad_what)
			log_warn("%s: unreadable or malformed sysfs attributes (%s) under %s; shown as unknown",
				 h->devs[i]->name, h->devs[i]->bad_what, h->devs[i]->syspath);
	pci_cleanup(pacc);
	free(job.slots);
	strv_free(names, n);
	*out = h;
	return 0;
fail:
	if (dfd >= 0)
		close(dfd);
	if (pacc)
		pci_cleanup(pacc);
	if (job.slots)
		for (size_t i = 0; i < n; i++)
			if (job.slots[i].d)
				dev_free(job.slots[i].d);
	free(job.slots);
	strv_free(names, n);
	iov_host_free(h);
	return ret;
}

static void dev_free(struct iov_dev *d)
{
	if (!d)
		return;
	free(d->virtfn_raw);
	free(d->syspath);
	free(d->bad_what);
	free(d->vendor_name);
	free(d->device_name);
	free(d->driver);
	free(d->driver_override);
	strv_free(d->netdevs, d->n_netdevs);
	strv_free(d->reset_methods, d->n_reset_methods);
	if (d->sriov)
		free(d->sriov->vfs);
	free(d->sriov);
	free(d);
}

void iov_host_free(struct iov_host *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_devs; i++)
		dev_free(h->devs[i]);
	free(h->devs);
	for (size_t i = 0; i < h->n_groups; i++) {
		free(h->groups[i]->type);
		free(h->groups[i]->devs);
		strv_free(h->groups[i]->members, h->groups[i]->n_members);
		free(h->groups[i]);
	}
	free(h->groups);
	for (size_t i = 0; i < h->iommu.n_units; i++)
		free(h->iommu.units[i].name);
	free(h->iommu.units);
	free(h);
}

/* ---- resolving what a person typed ---- */

static struct iov_dev *find_netdev(const struct iov_host *h, const char *name)
{
	for (size_t i = 0; i < h->n_devs; i++)
		for (size_t j = 0; j < h->devs[i]->n_netdevs; j++)
			if (strcmp(h->devs[i]->netdevs[j], name) == 0)
				return h->devs[i];
	return NULL;
}

static struct iov_dev *find_one(const struct iov_host *h, const char *spec)
{
	struct iov_pci_addr a;

	if (iov_pci_addr_parse(spec, &a) == 0) {
		struct iov_dev *d = iov_host_find(h, &a);
		/* A short address names domain 0; fall back to a unique match in any domain. */
		if (d || strchr(spec, ':') != strrchr(spec, ':'))
			return d;
		for (size_t i = 0; i < h->n_devs; i++) {
			const struct iov_pci_addr *b = &h->devs[i]->addr;
			if (b->bus == a.bus && b->dev == a.dev && b->fn == a.fn)
				return h->devs[i];
		}
		return NULL;
	}
	return find_netdev(h, spec);
}

/* "01:10.9", "01:20.0": shaped like a PCI address ([DDDD:]BB:DD.F, hex digits) with a
 * device or function out of range. Says which in err and returns true. */
static bool bad_pci_addr(const char *spec, char *err, size_t errlen)
{
	unsigned int dev, fn;
	const char *p = strrchr(spec, ':');
	int n = 0;

	if (!p || iov_pci_addr_parse(spec, &(struct iov_pci_addr){ 0 }) == 0)
		return false;
	for (const char *q = spec; q < p; q++)
		if (*q != ':' && iov_hexdigit(*q) < 0)
			return false;
	if (sscanf(p + 1, "%2x.%u%n", &dev, &fn, &n) != 2 || p[1 + n] != '\0' ||
	    strchr(p + 1, '.') != p + 3)
		return false;
	if (dev > 0x1f)
		snprintf(err, errlen, "'%s': device %02x is not valid: a PCI device number is 00 to "
			 "1f", spec, dev);
	else if (fn > 7)
		snprintf(err, errlen, "'%s': function %u is not valid: a PCI function is 0 to 7", spec, fn);
	else
		return false;
	return true;
}

int iov_host_resolve(const struct iov_host *h, const char *spec, struct iov_dev **out,
		     char *err, size_t errlen)
{
	const char *slash = strchr(spec, '/');
	struct iov_dev *d;

	if (!*spec) {
		snprintf(err, errlen, "empty device argument; give a PCI address (0000:01:00.0), a netdev name or PF/vfN");
		return -EINVAL;
	}
	if (!slash) {
		d = find_one(h, spec);
		if (!d && bad_pci_addr(spec, err, errlen))
			return -EINVAL;
		if (!d) {
			snprintf(err, errlen, "'%s': no such PCI device or network interface; "
				 "see 'iovctl list' for addresses and netdev names", spec);
			return -ENODEV;
		}
		*out = d;
		return 0;
	}

	char pfname[128];
	long idx;
	size_t plen = (size_t)(slash - spec);

	if (plen == 0 || plen >= sizeof(pfname) || strncmp(slash + 1, "vf", 2) != 0 ||
	    iov_parse_long(slash + 3, 10, &idx) < 0 || idx < 0 || slash[3] == '+' || slash[3] == ' ') {
		snprintf(err, errlen, "'%s': expected PF/vfN (e.g. 0000:01:00.0/vf0 or eth0/vf3)", spec);
		return -EINVAL;
	}
	memcpy(pfname, spec, plen);
	pfname[plen] = '\0';
	d = find_one(h, pfname);
	if (!d) {
		snprintf(err, errlen, "'%s': no such PCI device or network interface '%s'; "
			 "see 'iovctl list pfs'", spec, pfname);
		return -ENODEV;
	}
	if (d->role != IOV_ROLE_PF) {
		snprintf(err, errlen, "'%s': %s is not an SR-IOV physical function; see 'iovctl list pfs'",
			 spec, d->name);
		return -EINVAL;
	}
	if ((size_t)idx < d->sriov->n_vfs && !d->sriov->vfs[idx]) {
		snprintf(err, errlen, "'%s': %s's virtfn%ld link does not lead to a PCI device "
			 "(sysfs is inconsistent; see the warning above, or re-create the VFs)",
			 spec, d->name, idx);
		return -ENODEV;
	}
	if (d->sriov->total_vfs != IOV_UNKNOWN && idx >= d->sriov->total_vfs) {
		snprintf(err, errlen, "'%s': %s supports at most %d VF%s (vf0..vf%d): vf%ld "
			 "can never exist", spec, d->name, d->sriov->total_vfs,
			 d->sriov->total_vfs == 1 ? "" : "s", d->sriov->total_vfs - 1, idx);
		return -ENODEV;
	}
	if ((size_t)idx >= d->sriov->n_vfs) {
		snprintf(err, errlen, "'%s': %s has %zu VF%s (vf0..vf%zd); create more with "
			 "'iovctl vfs create %s %ld'", spec, d->name, d->sriov->n_vfs,
			 d->sriov->n_vfs == 1 ? "" : "s", (ssize_t)d->sriov->n_vfs - 1, pfname, idx + 1);
		return -ENODEV;
	}
	*out = d->sriov->vfs[idx];
	return 0;
}
