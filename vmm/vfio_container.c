#include "vmm/vfio_container.h"
#include "vmm/dmaplan.h"
#include "lib/log.h"
#include "lib/sysfs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_GROUPS	IOVM_VFIO_MAX_DEVS
#define MAX_RESV	32
#define MAX_DMA		16
#define PAGE		4096ull

static struct {
	int container;
	bool own_container;
	struct iovm_vfio_group grp[MAX_GROUPS];
	int ngroups;
	struct iovm_range resv[MAX_RESV];
	int nresv;
	struct { uint64_t iova, size; } dma[MAX_DMA];
	int ndma;
	int kvm_dev_fd;
} V = { .container = -1, .kvm_dev_fd = -1 };

int iovm_vfio_xioctl(int fd, unsigned long req, const void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* ---- the container ---- */

int iovm_vfio_container_open(int container_fd)
{
	if (container_fd < 0) {
		V.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (V.container < 0)
			return log_err_errno(-errno, "/dev/vfio/vfio (is the vfio module loaded?)");
		V.own_container = true;
	} else {
		V.container = container_fd;
	}
	if (ioctl(V.container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return log_err_errno(-ENOTTY, "VFIO container: not /dev/vfio/vfio or unknown API version");
	if (ioctl(V.container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		return log_err_errno(-ENOTSUP, "VFIO container: no type1v2 IOMMU support");
	return 0;
}

int iovm_vfio_container_set_iommu(void)
{
	int ret;

	ret = ioctl(V.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	if (ret < 0 && errno != EBUSY) {
		ret = -errno;
		return log_err_errno(ret, "VFIO_SET_IOMMU(type1v2) failed; without interrupt "
				     "remapping the kernel refuses (see dmesg: allow_unsafe_interrupts)");
	}
	return 0;
}

/* ---- groups and reserved regions ---- */

/* Group id of a pre-opened group fd, from the /dev/vfio/N it names. */
static int group_id_of_fd(int fd)
{
	char p[64], t[PATH_MAX];
	ssize_t n;
	long id;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return -errno;
	t[n] = '\0';
	if (strncmp(t, "/dev/vfio/", 10) != 0 || iov_parse_long(t + 10, 10, &id) < 0 || id < 0)
		return -ENOTTY;
	return (int)id;
}

static int read_reserved(int gid)
{
	char path[PATH_MAX], *text = NULL, *line, *save = NULL;
	int ret;

	ret = iov_path(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions", gid);
	if (ret < 0)
		return ret;
	ret = iov_read_str(path, &text);
	if (ret < 0)
		return log_warn_errno(ret, "%s (guest layout will not avoid reserved regions)", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, e;
		char type[32];

		if (sscanf(line, "%llx %llx %31s", &s, &e, type) != 3 || e < s) {
			log_warn("%s: cannot parse '%s'", path, line);
			continue;
		}
		if (V.nresv >= MAX_RESV) {
			log_warn("%s: more than %d reserved regions; ignoring the rest", path, MAX_RESV);
			break;
		}
		V.resv[V.nresv++] = (struct iovm_range){ s, e + 1 };
		log_info("IOMMU group %d: reserved %#llx-%#llx (%s)", gid, s, e, type);
	}
	free(text);
	return 0;
}

struct iovm_vfio_group *iovm_vfio_group_get(const struct iovm_vfio_spec *s, const char *name)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct iovm_vfio_group *g;
	char path[PATH_MAX], buf[32];
	int id, fd, ret;

	if (s->group_fd >= 0) {
		id = group_id_of_fd(s->group_fd);
		for (int i = 0; i < V.ngroups; i++)
			if (V.grp[i].fd == s->group_fd)
				return &V.grp[i];
		fd = s->group_fd;
	} else {
		ret = iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", name);
		if (ret < 0 || (ret = iov_readlink_base(path, buf, sizeof(buf))) < 0) {
			log_err("--vfio %s: no IOMMU group (%s): is the IOMMU on (intel_iommu=on) and "
				"the device present?", name, strerror(-ret));
			return NULL;
		}
		if (iov_parse_long(buf, 10, (long[]){ 0 }) < 0)
			return NULL;
		id = atoi(buf);
		for (int i = 0; i < V.ngroups; i++)
			if (V.grp[i].id == id)
				return &V.grp[i];
		snprintf(path, sizeof(path), "/dev/vfio/%d", id);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			log_err_errno(-errno, "--vfio %s: %s (is the device bound to vfio-pci?)", name, path);
			return NULL;
		}
	}
	if (V.ngroups >= MAX_GROUPS) {
		if (s->group_fd < 0)
			close(fd);
		return NULL;
	}
	g = &V.grp[V.ngroups++];
	*g = (struct iovm_vfio_group){ .id = id, .fd = fd, .own_fd = s->group_fd < 0 };
	if ((ret = iovm_vfio_xioctl(fd, VFIO_GROUP_GET_STATUS, &st)) < 0) {
		log_err_errno(ret, "%s: VFIO_GROUP_GET_STATUS (is it a VFIO group?)", name);
		return NULL;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_err("%s: IOMMU group %d is not viable: every device in "
			"/sys/kernel/iommu_groups/%d/devices except bridges must be bound to vfio-pci or "
			"to no driver",
			name, id, id);
		return NULL;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)) {
		if ((ret = iovm_vfio_xioctl(fd, VFIO_GROUP_SET_CONTAINER, &V.container)) < 0) {
			log_err_errno(ret, "%s: VFIO_GROUP_SET_CONTAINER", name);
			return NULL;
		}
		g->set_container = true;
	}
	if (id >= 0)
		read_reserved(id);
	return g;
}

int iovm_vfio_reserved(struct iovm_range *out, int max)
{
	int n = 0;

	/* Rounded out to pages: what is not DMA-mapped must not be guest RAM either. */
	for (int i = 0; i < V.nresv && n < max; i++)
		out[n++] = (struct iovm_range){ V.resv[i].start & ~(PAGE - 1),
						(V.resv[i].end + PAGE - 1) & ~(PAGE - 1) };
	return n;
}

/* ---- DMA ---- */

static int iova_ranges(struct vfio_iova_range **out, uint32_t *nout)
{
	struct vfio_iommu_type1_info *info;
	size_t sz = 4096;
	int ret;

	*out = NULL;
	*nout = 0;
	for (;;) {
		info = calloc(1, sz);
		if (!info)
			return -ENOMEM;
		info->argsz = (uint32_t)sz;
		if ((ret = iovm_vfio_xioctl(V.container, VFIO_IOMMU_GET_INFO, info)) < 0) {
			free(info);
			return ret;
		}
		if (info->argsz <= sz)
			break;
		sz = info->argsz;
		free(info);
		if (sz > (1u << 20))
			return -E2BIG;
	}
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && info->cap_offset) {
		uint32_t off = info->cap_offset;

		for (int hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= sz && hops < 64;
		     hops++) {
			struct vfio_info_cap_header *h = (void *)((char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
			    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= sz) {
				struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
				size_t need = off + sizeof(*r) + (size_t)r->nr_iovas * sizeof(r->iova_ranges[0]);

				if (need <= sz && r->nr_iovas) {
					*out = malloc(r->nr_iovas * sizeof(r->iova_ranges[0]));
					if (!*out) {
						free(info);
						return -ENOMEM;
					}
					memcpy(*out, r->iova_ranges, r->nr_iovas * sizeof(r->iova_ranges[0]));
					*nout = r->nr_iovas;
				}
				break;
			}
			off = h->next;
		}
	}
	free(info);
	return 0;
}

static int dma_map_piece(uint64_t iova, uint64_t size, void *hva)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uint64_t)(uintptr_t)hva, .iova = iova, .size = size,
	};
	int ret;

	if (V.ndma >= MAX_DMA)
		return -ENOSPC;
	ret = iovm_vfio_xioctl(V.container, VFIO_IOMMU_MAP_DMA, &m);
	if (ret == -ENOMEM) {
		struct rlimit rl;

		getrlimit(RLIMIT_MEMLOCK, &rl);
		return log_err_errno(ret, "VFIO_IOMMU_MAP_DMA of %" PRIu64 " MiB: guest RAM is "
				     "pinned; RLIMIT_MEMLOCK is %llu KiB (raise it, or run with "
				     "CAP_IPC_LOCK)", size >> 20,
				     (unsigned long long)rl.rlim_cur >> 10);
	}
	if (ret < 0)
		return log_err_errno(ret, "VFIO_IOMMU_MAP_DMA iova %#" PRIx64 " size %#" PRIx64,
				     iova, size);
	V.dma[V.ndma].iova = iova;
	V.dma[V.ndma].size = size;
	V.ndma++;
	return 0;
}

/* Maps every RAM bank at IOVA = GPA, minus the reserved regions (which are also holes in
 * the guest's e820, so the guest never hands them to the device). */
int iovm_vfio_dma_map_ram(struct iovm_mem *mem)
{
	struct vfio_iova_range *r;
	struct iovm_range iova[64], bad;
	struct iovm_dma_piece p[MAX_DMA];
	struct rlimit rl;
	uint32_t nr;
	int n, ret;

	/* Pinning counts against RLIMIT_MEMLOCK; ask for enough when we may. */
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < mem->size + (64ull << 20)) {
		rl.rlim_cur = mem->size + (64ull << 20);
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
	}
	if ((ret = iova_ranges(&r, &nr)) < 0)
		return log_err_errno(ret, "VFIO_IOMMU_GET_INFO");
	if (nr > 64)
		nr = 64;
	for (uint32_t i = 0; i < nr; i++)	/* the kernel's ranges are inclusive */
		iova[i] = (struct iovm_range){ r[i].start,
					       r[i].end == UINT64_MAX ? UINT64_MAX : r[i].end + 1 };
	free(r);
	n = iovm_dma_plan(mem, V.resv, V.nresv, iova, (int)nr, p, MAX_DMA, &bad);
	if (n == -ERANGE)
		return log_err_errno(n, "guest RAM %#" PRIx64 "-%#" PRIx64 " is outside the IOMMU's "
				     "usable IOVA ranges (address width too small?): give less --mem",
				     bad.start, bad.end - 1);
	if (n < 0)
		return log_err_errno(n, "DMA map plan");
	for (int i = 0; i < n; i++) {
		const struct iovm_mem_bank *b = &mem->bank[p[i].bank];

		ret = dma_map_piece(p[i].gpa, p[i].size, (char *)b->hva + (p[i].gpa - b->gpa));
		if (ret < 0)
			return ret;
	}
	return 0;
}
/* ---- KVM-VFIO ---- */

int iovm_vfio_kvm_dev_add(struct iovm_vm *vm)
{
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };
	int ret;

	/* KVM-VFIO: lets KVM know about the groups (non-coherent DMA, and the irqbypass
	 * producers for posted interrupts). */
	if ((ret = iovm_vfio_xioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd)) < 0)
		return log_err_errno(ret, "KVM_CREATE_DEVICE(VFIO)");
	V.kvm_dev_fd = (int)cd.fd;
	for (int i = 0; i < V.ngroups; i++) {
		int32_t gfd = V.grp[i].fd;

		if (gfd < 0)
			continue;	/* a hot-plugged group since removed */
		{
		struct kvm_device_attr a = { .group = KVM_DEV_VFIO_GROUP,
					     .attr = KVM_DEV_VFIO_GROUP_ADD,
					     .addr = (uint64_t)(uintptr_t)&gfd };

		if ((ret = iovm_vfio_xioctl(V.kvm_dev_fd, KVM_SET_DEVICE_ATTR, &a)) < 0)
			return log_err_errno(ret, "KVM-VFIO: adding group %d", V.grp[i].id);
		}
	}
	return 0;
}

static int kvm_dev_group(int32_t gfd, bool add)
{
	struct kvm_device_attr a = { .group = KVM_DEV_VFIO_GROUP,
				     .attr = add ? KVM_DEV_VFIO_GROUP_ADD : KVM_DEV_VFIO_GROUP_DEL,
				     .addr = (uint64_t)(uintptr_t)&gfd };

	if (V.kvm_dev_fd < 0)
		return 0;
	return iovm_vfio_xioctl(V.kvm_dev_fd, KVM_SET_DEVICE_ATTR, &a);
}

/* Hot-plug: a group fd iovd passed over the control socket (its id from iovd: iovm cannot
 * read /proc or sysfs under the sandbox). It joins the container, whose type1 IOMMU
 * replays the existing DMA mappings of guest RAM into the group's domain, and the KVM-VFIO
 * device. The container must exist: iovm started with at least one passthrough device. */
struct iovm_vfio_group *iovm_vfio_group_hot(int fd, int id, const char *name)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct iovm_vfio_group *g = NULL;
	int ret;

	if (V.container < 0 || V.ngroups == 0) {
		log_err("%s: iovm was started without passthrough devices, so it has no VFIO "
			"container (and no DMA map of guest RAM) to add a device to", name);
		errno = ENODEV;
		return NULL;
	}
	for (int i = 0; i < V.ngroups; i++)
		if (V.grp[i].fd < 0 && !g)
			g = &V.grp[i];
	if (!g) {
		if (V.ngroups >= MAX_GROUPS) {
			log_err("%s: already %d IOMMU groups", name, MAX_GROUPS);
			errno = ENOSPC;
			return NULL;
		}
		g = &V.grp[V.ngroups++];
	}
	*g = (struct iovm_vfio_group){ .id = id, .fd = -1, .own_fd = true };
	if ((ret = iovm_vfio_xioctl(fd, VFIO_GROUP_GET_STATUS, &st)) < 0) {
		log_err_errno(ret, "%s: VFIO_GROUP_GET_STATUS (not a VFIO group fd?)", name);
		errno = -ret;
		return NULL;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		log_err("%s: IOMMU group %d is not viable (a member is on a host driver)", name, id);
		errno = EBUSY;
		return NULL;
	}
	if (st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET) {
		log_err("%s: IOMMU group %d is already in a container", name, id);
		errno = EBUSY;
		return NULL;
	}
	if ((ret = iovm_vfio_xioctl(fd, VFIO_GROUP_SET_CONTAINER, &V.container)) < 0) {
		log_err_errno(ret, "%s: VFIO_GROUP_SET_CONTAINER", name);
		errno = -ret;
		return NULL;
	}
	g->fd = fd;
	g->set_container = true;
	if ((ret = kvm_dev_group(fd, true)) < 0)
		log_warn_errno(ret, "%s: KVM-VFIO: adding group %d", name, id);
	return g;
}

void iovm_vfio_group_hot_put(struct iovm_vfio_group *g)
{
	if (!g || g->fd < 0)
		return;
	kvm_dev_group(g->fd, false);
	if (g->set_container)
		ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	if (g->own_fd)
		close(g->fd);
	g->fd = -1;
	g->set_container = false;
}

void iovm_vfio_kvm_dev_close(void)
{
	if (V.kvm_dev_fd >= 0)
		close(V.kvm_dev_fd);
	V.kvm_dev_fd = -1;
}

void iovm_vfio_container_close(void)
{
	for (int i = 0; i < V.ndma; i++) {
		struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = V.dma[i].iova,
							.size = V.dma[i].size };

		if (iovm_vfio_xioctl(V.container, VFIO_IOMMU_UNMAP_DMA, &u) < 0)
			log_warn("VFIO_IOMMU_UNMAP_DMA %#" PRIx64 " failed", V.dma[i].iova);
	}
	V.ndma = 0;
	iovm_vfio_kvm_dev_close();
	for (int i = 0; i < V.ngroups; i++) {
		struct iovm_vfio_group *g = &V.grp[i];

		if (g->fd < 0)
			continue;
		if (g->set_container)
			ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
		if (g->own_fd)
			close(g->fd);
	}
	V.ngroups = 0;
	if (V.own_container && V.container >= 0)
		close(V.container);
	V.container = -1;
}
