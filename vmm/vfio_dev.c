#include "vmm/vfio_dev.h"
#include "vmm/bus.h"
#include "vmm/msix.h"
#include "vmm/pci.h"
#include "vmm/pcicfg.h"
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_AREAS	8	/* mmappable areas per region */
#define MAX_PIECES	8	/* guest-mapped pieces per BAR */
#define PAGE		4096ull
#define MSI_MAX_VEC	32

struct area {
	uint64_t off, size;	/* inside the region */
	void *map;
};

struct region {
	struct vfio_region_info info;
	bool msix_mappable;
	struct area area[MAX_AREAS];
	int nareas;
};

struct bar_state {
	bool active;		/* mapped at gpa */
	uint64_t gpa, size;
	int slot[MAX_PIECES];
	int nslots;
	bool trapped;		/* bus range registered */
	bool warned;
};

struct vector {
	int efd;
	int gsi;
	bool attached;		/* irqfd assigned */
};

struct vdev {
	bool used;			/* a slot of D.dev a hot-removed device freed is not */
	bool hot;			/* hot-plugged: behind a root port (vmm/hotplug.c) */
	struct iov_pci_addr addr;
	char name[IOV_PCI_ADDR_STRLEN];
	struct iovm_vfio_group *grp;
	int fd;
	struct vfio_device_info info;
	struct region reg[VFIO_PCI_NUM_REGIONS];
	struct iovm_pcicfg cfg;
	struct bar_state bar[IOVM_PCI_NBARS];
	struct iovm_msix *msix;
	struct vector *msix_vec;	/* msix->nr entries once enabled */
	bool msix_on;
	struct vector msi_vec[MSI_MAX_VEC];
	unsigned msi_nvec;		/* enabled in VFIO, 0 = off */
	bool intx_cap;			/* device has INTx, eventfds ready */
	bool intx_on;			/* VFIO trigger + KVM resample irqfd set */
	int intx_efd, intx_resample;
	int req_efd;			/* VFIO device request (the host wants it back), or -1 */
	uint8_t intx_pin;		/* 1..4 */
	uint8_t intx_gsi;		/* IOAPIC pin 16..23 */
	int slot;			/* guest PCI device number */
	uint64_t bar_size[IOVM_PCI_NBARS];	/* as offered to the guest */
	uint64_t bar_gpa[IOVM_PCI_NBARS];	/* where "firmware" put them (restored at reboot) */
};

static struct {
	struct vdev dev[IOVM_VFIO_MAX_DEVS];
	int ndevs;
	struct iovm_vm *vm;
} D;

static int set_irqs(struct vdev *d, uint32_t index, uint32_t flags, uint32_t start,
		    uint32_t count, const int *fds);

/* The device request channel: when the host wants the device back (its driver unbound, the
 * VF removed, the PF driver reloaded), vfio-pci signals this eventfd and waits, instead of
 * blocking the host's unbind until iovm exits by itself. A kernel or device without it
 * (num_irqs too small, count 0) keeps the old behaviour: the unbind waits for iovm. */
static void req_init(struct vdev *d)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_REQ_IRQ_INDEX };
	int ret;

	if (d->info.num_irqs <= VFIO_PCI_REQ_IRQ_INDEX ||
	    iovm_vfio_xioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || ii.count < 1 ||
	    !(ii.flags & VFIO_IRQ_INFO_EVENTFD)) {
		log_debug("%s: no device request channel", d->name);
		return;
	}
	d->req_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->req_efd < 0) {
		log_warn_errno(-errno, "%s: eventfd for the device request channel", d->name);
		return;
	}
	ret = set_irqs(d, VFIO_PCI_REQ_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD |
		       VFIO_IRQ_SET_ACTION_TRIGGER, 0, 1, &d->req_efd);
	if (ret < 0) {
		log_warn_errno(ret, "%s: registering the device request channel", d->name);
		close(d->req_efd);
		d->req_efd = -1;
	}
}

int iovm_vfio_dev_add(const struct iov_pci_addr *addr, struct iovm_vfio_group *grp)
{
	struct vdev *d;

	if (D.ndevs >= IOVM_VFIO_MAX_DEVS)
		return -ENOSPC;
	d = &D.dev[D.ndevs++];
	memset(d, 0, sizeof(*d));
	d->used = true;
	d->fd = -1;
	d->intx_efd = d->intx_resample = d->req_efd = -1;
	d->addr = *addr;
	iov_pci_addr_fmt(&d->addr, d->name);
	d->grp = grp;
	return 0;
}

/* The device's fd from its group and its info, checked to be a VFIO PCI device (at start and
 * at a hot-plug). */
static int vdev_get_fd(struct vdev *d)
{
	int ret;

	d->info.argsz = sizeof(d->info);
	d->fd = ioctl(d->grp->fd, VFIO_GROUP_GET_DEVICE_FD, d->name);
	if (d->fd < 0)
		return log_err_errno(-errno, "%s: VFIO_GROUP_GET_DEVICE_FD (is it in IOMMU group "
				     "%d?)", d->name, d->grp->id);
	if ((ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_GET_INFO, &d->info)) < 0)
		return log_err_errno(ret, "%s: VFIO_DEVICE_GET_INFO", d->name);
	if (!(d->info.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    d->info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX ||
	    d->info.num_irqs <= VFIO_PCI_MSIX_IRQ_INDEX)
		return log_err_errno(-ENODEV, "%s: not a VFIO PCI device", d->name);
	return 0;
}

int iovm_vfio_devs_open(void)
{
	int ret;

	for (int i = 0; i < D.ndevs; i++) {
		struct vdev *d = &D.dev[i];

		if ((ret = vdev_get_fd(d)) < 0)
			return ret;
		if (d->info.flags & VFIO_DEVICE_FLAGS_RESET) {
			if ((ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_RESET, NULL)) < 0)
				log_warn_errno(ret, "%s: VFIO_DEVICE_RESET at start", d->name);
		} else {
			log_warn("%s: no reset method; the guest gets the device as it is", d->name);
		}
		req_init(d);
	}
	return 0;
}

int iovm_vfio_req_fds(int *fds, int max)
{
	int n = 0;

	for (int i = 0; i < D.ndevs && n < max; i++)
		if (D.dev[i].used && D.dev[i].req_efd >= 0)
			fds[n++] = D.dev[i].req_efd;
	return n;
}

const char *iovm_vfio_req_dev(int fd)
{
	for (int i = 0; i < D.ndevs; i++)
		if (D.dev[i].used && D.dev[i].req_efd == fd && fd >= 0)
			return D.dev[i].name;
	return NULL;
}

/* ---- regions ---- */

static int region_info(struct vdev *d, unsigned idx)
{
	struct region *rg = &d->reg[idx];
	struct vfio_region_info *ri;
	size_t sz = sizeof(*ri);
	int ret;

	rg->info = (struct vfio_region_info){ .argsz = sizeof(rg->info), .index = idx };
	if ((ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, &rg->info)) < 0)
		return ret;
	if (!(rg->info.flags & VFIO_REGION_INFO_FLAG_CAPS) || rg->info.argsz <= sizeof(rg->info)) {
		if (rg->info.flags & VFIO_REGION_INFO_FLAG_MMAP)
			rg->area[rg->nareas++] = (struct area){ 0, rg->info.size, NULL };
		return 0;
	}
	sz = rg->info.argsz;
	if (sz > 65536)
		return -E2BIG;
	ri = calloc(1, sz);
	if (!ri)
		return -ENOMEM;
	ri->argsz = (uint32_t)sz;
	ri->index = idx;
	if ((ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_GET_REGION_INFO, ri)) < 0) {
		free(ri);
		return ret;
	}
	{
		bool sparse = false;
		uint32_t off = ri->cap_offset;

		for (int hops = 0; off && off + sizeof(struct vfio_info_cap_header) <= sz && hops < 64;
		     hops++) {
			struct vfio_info_cap_header *h = (void *)((char *)ri + off);

			if (h->id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE) {
				rg->msix_mappable = true;
			} else if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
				   off + sizeof(struct vfio_region_info_cap_sparse_mmap) <= sz) {
				struct vfio_region_info_cap_sparse_mmap *sm = (void *)h;

				sparse = true;
				for (uint32_t a = 0; a < sm->nr_areas && rg->nareas < MAX_AREAS; a++) {
					if (off + sizeof(*sm) + (a + 1) * sizeof(sm->areas[0]) > sz)
						break;
					if (sm->areas[a].size)
						rg->area[rg->nareas++] = (struct area){
							sm->areas[a].offset, sm->areas[a].size, NULL };
				}
			}
			off = h->next;
		}
		/* MSIX_MAPPABLE: the whole BAR may be mmapped; we still trap the table pages. */
		if ((rg->msix_mappable || !sparse) && (rg->info.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			rg->nareas = 0;
			rg->area[rg->nareas++] = (struct area){ 0, rg->info.size, NULL };
		}
	}
	free(ri);
	return 0;
}

static void region_mmap(struct vdev *d, unsigned idx)
{
	struct region *rg = &d->reg[idx];

	for (int a = 0; a < rg->nareas; a++) {
		struct area *ar = &rg->area[a];
		void *p;

		if ((ar->off & (PAGE - 1)) || (ar->size & (PAGE - 1)) ||
		    ar->off + ar->size > rg->info.size) {
			ar->size = 0;	/* not page-granular: trapped instead */
			continue;
		}
		p = mmap(NULL, ar->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd,
			 (off_t)(rg->info.offset + ar->off));
		if (p == MAP_FAILED) {
			log_warn_errno(-errno, "%s: mmap of BAR%u %#" PRIx64 "+%#" PRIx64
				       " (falls back to trapping)", d->name, idx, ar->off, ar->size);
			ar->size = 0;
			continue;
		}
		ar->map = p;
	}
}

/* ---- config space callbacks (device side) ---- */

static int cfg_dev_read(void *ctx, unsigned off, unsigned len, uint32_t *val)
{
	struct vdev *d = ctx;
	uint32_t v = 0;

	if (pread(d->fd, &v, len, (off_t)(d->reg[VFIO_PCI_CONFIG_REGION_INDEX].info.offset + off))
	    != (ssize_t)len)
		return -EIO;
	*val = v;
	return 0;
}

static int cfg_dev_write(void *ctx, unsigned off, unsigned len, uint32_t val)
{
	struct vdev *d = ctx;

	if (pwrite(d->fd, &val, len, (off_t)(d->reg[VFIO_PCI_CONFIG_REGION_INDEX].info.offset + off))
	    != (ssize_t)len)
		return -EIO;
	return 0;
}

static const struct iovm_pcicfg_ops cfg_dev_ops = { cfg_dev_read, cfg_dev_write };

/* ---- interrupts ---- */

static int set_irqs(struct vdev *d, uint32_t index, uint32_t flags, uint32_t start,
		    uint32_t count, const int *fds)
{
	size_t sz = sizeof(struct vfio_irq_set) + (fds ? count * sizeof(int) : 0);
	struct vfio_irq_set *s = calloc(1, sz);
	int ret;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags = flags;
	s->index = index;
	s->start = start;
	s->count = count;
	if (fds)
		memcpy(s->data, fds, count * sizeof(int));
	ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return ret;
}

static void vector_attach(struct vdev *d, struct vector *v, bool want, uint64_t addr, uint32_t data)
{
	int ret;

	log_debug("%s: GSI %d %s, address %#" PRIx64 " data %#x", d->name, v->gsi,
		  want ? "live" : "masked", addr, data);
	if (v->efd < 0 || v->gsi < 0)
		return;
	if (want) {
		if ((ret = iovm_vm_msi_set(D.vm, (uint32_t)v->gsi, addr, data)) < 0)
			log_warn_errno(ret, "%s: MSI route for GSI %d", d->name, v->gsi);
		if (!v->attached) {
			/* Assigning an irqfd whose eventfd already counts delivers it at once:
			 * what fired while the vector was masked is not lost. */
			if ((ret = iovm_vm_irqfd(D.vm, v->efd, (uint32_t)v->gsi, -1, true)) < 0)
				log_warn_errno(ret, "%s: KVM_IRQFD GSI %d", d->name, v->gsi);
			else
				v->attached = true;
		}
	} else if (v->attached) {
		iovm_vm_irqfd(D.vm, v->efd, (uint32_t)v->gsi, -1, false);
		v->attached = false;
	}
}

static int vector_new(struct vector *v)
{
	*v = (struct vector){ .efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .gsi = -1 };
	if (v->efd < 0)
		return -errno;
	v->gsi = iovm_vm_gsi_alloc(D.vm);
	if (v->gsi < 0) {
		int ret = v->gsi;

		close(v->efd);
		v->efd = -1;
		return ret;
	}
	return 0;
}

static void vector_free(struct vdev *d, struct vector *v)
{
	vector_attach(d, v, false, 0, 0);
	if (v->gsi >= 0)
		iovm_vm_gsi_free(D.vm, (uint32_t)v->gsi);
	if (v->efd >= 0)
		close(v->efd);
	v->efd = v->gsi = -1;
}

/* INTx for devices without MSI: level-triggered, so KVM's resample eventfd tells VFIO to
 * unmask the (auto-masked) line when the guest EOIs it. The line is an IOAPIC pin (16-23)
 * described in the MP table as level/active-low. VFIO allows one interrupt type at a time:
 * INTx is off while MSI or MSI-X is on. SR-IOV VFs have no INTx. */
static int intx_enable(struct vdev *d)
{
	int ret;

	if (!d->intx_cap || d->intx_on)
		return 0;
	ret = set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
		       0, 1, &d->intx_efd);
	if (ret >= 0)
		ret = set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX,
			       VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK, 0, 1,
			       &d->intx_resample);
	if (ret >= 0)
		ret = iovm_vm_irqfd(D.vm, d->intx_efd, d->intx_gsi, d->intx_resample, true);
	if (ret < 0) {
		set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
			 0, 0, NULL);
		return log_err_errno(ret, "%s: INTx on GSI %u", d->name, d->intx_gsi);
	}
	d->intx_on = true;
	return 0;
}

static void intx_disable(struct vdev *d)
{
	if (!d->intx_on)
		return;
	iovm_vm_irqfd(D.vm, d->intx_efd, d->intx_gsi, -1, false);
	set_irqs(d, VFIO_PCI_INTX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		 0, 0, NULL);
	d->intx_on = false;
}

static int intx_init(struct vdev *d, uint8_t pin)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_INTX_IRQ_INDEX };

	if (pin < 1 || pin > 4 || d->slot < 1 || iovm_vfio_xioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 ||
	    ii.count == 0)
		return 0;
	if (!(ii.flags & VFIO_IRQ_INFO_AUTOMASKED))
		return log_warn_errno(0, "%s: INTx not auto-masked; INTx not offered", d->name);
	d->intx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->intx_resample = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->intx_efd < 0 || d->intx_resample < 0)
		return log_err_errno(-errno, "%s: eventfd", d->name);
	d->intx_pin = pin;
	d->intx_gsi = (uint8_t)(16 + (d->slot & 7));
	d->intx_cap = true;
	return intx_enable(d);
}

static void intx_free(struct vdev *d)
{
	intx_disable(d);
	if (d->intx_efd >= 0)
		close(d->intx_efd);
	if (d->intx_resample >= 0)
		close(d->intx_resample);
	d->intx_efd = d->intx_resample = -1;
	d->intx_cap = false;
}

int iovm_vfio_intx_routes(struct iovm_mp_intx *out, int max)
{
	int n = 0;

	for (int i = 0; i < D.ndevs && n < max; i++)
		if (D.dev[i].used && D.dev[i].intx_cap)
			out[n++] = (struct iovm_mp_intx){ .dev = (uint8_t)D.dev[i].slot,
							  .pin = D.dev[i].intx_pin,
							  .gsi = D.dev[i].intx_gsi };
	return n;
}

static void msix_vector_update(struct vdev *d, unsigned i)
{
	bool live;

	if (!d->msix_on || i >= d->msix->nr)
		return;
	live = !iovm_pcicfg_msix_fmask(&d->cfg) && !iovm_msix_masked(d->msix, i);
	vector_attach(d, &d->msix_vec[i], live, iovm_msix_addr(d->msix, i), iovm_msix_data(d->msix, i));
}

static void msix_off(struct vdev *d)
{
	if (!d->msix_on)
		return;
	set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		 0, 0, NULL);
	for (unsigned i = 0; i < d->msix->nr; i++)
		vector_free(d, &d->msix_vec[i]);
	free(d->msix_vec);
	d->msix_vec = NULL;
	d->msix_on = false;
}

static void msix_update(struct vdev *d)
{
	bool want = iovm_pcicfg_msix_enabled(&d->cfg);

	if (want && !d->msix_on) {
		unsigned nr = d->msix->nr;
		int *fds = calloc(nr, sizeof(int));
		int ret = 0;

		d->msix_vec = calloc(nr, sizeof(*d->msix_vec));
		if (!fds || !d->msix_vec) {
			free(fds);
			free(d->msix_vec);
			d->msix_vec = NULL;
			log_err("%s: out of memory enabling MSI-X", d->name);
			return;
		}
		for (unsigned i = 0; i < nr; i++)
			d->msix_vec[i].efd = d->msix_vec[i].gsi = -1;
		intx_disable(d);	/* VFIO: one interrupt type at a time */
		d->msix_on = true;	/* so that msix_off cleans up a partial set-up */
		for (unsigned i = 0; i < nr && ret >= 0; i++) {
			ret = vector_new(&d->msix_vec[i]);
			fds[i] = d->msix_vec[i].efd;
		}
		if (ret >= 0)
			ret = set_irqs(d, VFIO_PCI_MSIX_IRQ_INDEX,
				       VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, nr, fds);
		free(fds);
		if (ret < 0) {
			log_err_errno(ret, "%s: enabling %u MSI-X vectors", d->name, nr);
			msix_off(d);
			intx_enable(d);
			return;
		}
		log_info("%s: MSI-X on, %u vectors", d->name, nr);
	} else if (!want && d->msix_on) {
		msix_off(d);
		if (!d->msi_nvec)
			intx_enable(d);
		log_info("%s: MSI-X off", d->name);
	}
	if (d->msix_on)
		for (unsigned i = 0; i < d->msix->nr; i++)
			msix_vector_update(d, i);
}

static void msi_off(struct vdev *d)
{
	if (!d->msi_nvec)
		return;
	set_irqs(d, VFIO_PCI_MSI_IRQ_INDEX, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		 0, 0, NULL);
	for (unsigned i = 0; i < d->msi_nvec; i++)
		vector_free(d, &d->msi_vec[i]);
	d->msi_nvec = 0;
}

static void msi_update(struct vdev *d)
{
	struct iovm_msi_state s;

	iovm_pcicfg_msi(&d->cfg, &s);
	if (s.nvec > MSI_MAX_VEC)
		s.nvec = MSI_MAX_VEC;
	if (d->msi_nvec && (!s.enabled || s.nvec != d->msi_nvec)) {
		msi_off(d);
		log_info("%s: MSI off", d->name);
		if (!s.enabled && !d->msix_on)
			intx_enable(d);
	}
	if (s.enabled && !d->msi_nvec) {
		int fds[MSI_MAX_VEC], ret = 0;
		unsigned n = 0;

		intx_disable(d);	/* VFIO: one interrupt type at a time */
		for (; n < s.nvec && ret >= 0; n++) {
			ret = vector_new(&d->msi_vec[n]);
			fds[n] = d->msi_vec[n].efd;
		}
		d->msi_nvec = n;
		if (ret >= 0)
			ret = set_irqs(d, VFIO_PCI_MSI_IRQ_INDEX,
				       VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, 0, n, fds);
		if (ret < 0) {
			log_err_errno(ret, "%s: enabling %u MSI vectors", d->name, s.nvec);
			msi_off(d);
			if (!d->msix_on)
				intx_enable(d);
			return;
		}
		log_info("%s: MSI on, %u vectors, address %#" PRIx64 " data %#x", d->name, n,
			 s.addr, s.data);
	}
	/* Multiple-message MSI: vector i sends data with its low bits replaced by i. */
	for (unsigned i = 0; i < d->msi_nvec; i++)
		vector_attach(d, &d->msi_vec[i], !(s.mask & (1u << i)), s.addr,
			      (s.data & ~(s.nvec - 1)) | i);
}

/* ---- BARs in the guest ---- */

static unsigned bar_of(struct vdev *d, struct bar_state *b)
{
	return (unsigned)(b - d->bar);
}

/* Accesses that reach userspace: the MSI-X table and PBA pages, and BAR parts that cannot
 * be mmapped. The bus guarantees off + len <= BAR size. */
static uint64_t bar_read(void *opaque, uint64_t off, unsigned len);
static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned len);
static const struct iovm_bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static struct vdev *dev_of_bar(void *opaque, unsigned *idx)
{
	for (int i = 0; i < D.ndevs; i++) {
		struct vdev *d = &D.dev[i];

		if ((char *)opaque >= (char *)d->bar && (char *)opaque < (char *)(d->bar + IOVM_PCI_NBARS)) {
			*idx = bar_of(d, opaque);
			return d;
		}
	}
	return NULL;
}

static bool in_table(struct vdev *d, unsigned idx, uint64_t off, uint64_t *rel)
{
	const struct iovm_pcicfg *c = &d->cfg;

	if (!d->msix || c->msix_table_bir != idx || off < c->msix_table_off)
		return false;
	*rel = off - c->msix_table_off;
	return *rel < (uint64_t)d->msix->nr * IOVM_MSIX_ENTRY_SIZE;
}

static bool in_pba(struct vdev *d, unsigned idx, uint64_t off, uint64_t *rel)
{
	const struct iovm_pcicfg *c = &d->cfg;

	if (!d->msix || c->msix_pba_bir != idx || off < c->msix_pba_off)
		return false;
	*rel = off - c->msix_pba_off;
	return *rel < iovm_msix_pba_size(d->msix);
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned len)
{
	unsigned idx;
	struct vdev *d = dev_of_bar(opaque, &idx);
	uint64_t rel, v = ~0ull;

	if (!d)
		return v;
	if (in_table(d, idx, off, &rel))
		return iovm_msix_table_read(d->msix, rel, len);
	if (in_pba(d, idx, off, &rel))
		return iovm_msix_pba_read(d->msix, rel, len);
	if (off + len > d->reg[idx].info.size)
		return v;
	if (pread(d->fd, &v, len, (off_t)(d->reg[idx].info.offset + off)) != (ssize_t)len)
		return ~0ull;
	return v;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	unsigned idx;
	struct vdev *d = dev_of_bar(opaque, &idx);
	uint64_t rel;

	if (!d)
		return;
	if (in_table(d, idx, off, &rel)) {
		int i = iovm_msix_table_write(d->msix, rel, len, val);

		if (i >= 0)
			msix_vector_update(d, (unsigned)i);
		return;
	}
	if (in_pba(d, idx, off, &rel))
		return;		/* read-only */
	if (off + len > d->reg[idx].info.size)
		return;
	if (pwrite(d->fd, &val, len, (off_t)(d->reg[idx].info.offset + off)) != (ssize_t)len)
		log_debug("%s: BAR%u write at %#" PRIx64 " failed", d->name, idx, off);
}

/* Pages of BAR idx that must trap: those holding the MSI-X table or PBA. */
static void trap_pages(struct vdev *d, unsigned idx, struct iovm_range t[2], int *nt)
{
	const struct iovm_pcicfg *c = &d->cfg;

	*nt = 0;
	if (!d->msix)
		return;
	if (c->msix_table_bir == idx)
		t[(*nt)++] = (struct iovm_range){
			c->msix_table_off & ~(PAGE - 1),
			(c->msix_table_off + (uint64_t)d->msix->nr * IOVM_MSIX_ENTRY_SIZE + PAGE - 1) & ~(PAGE - 1) };
	if (c->msix_pba_bir == idx)
		t[(*nt)++] = (struct iovm_range){
			c->msix_pba_off & ~(PAGE - 1),
			(c->msix_pba_off + iovm_msix_pba_size(d->msix) + PAGE - 1) & ~(PAGE - 1) };
}

static enum iovm_bar_place bar_place(uint64_t gpa, uint64_t size)
{
	struct iovm_mem *m = D.vm->mem;
	uint64_t top = IOVM_MMIO_HOLE_END;

	for (int i = 0; i < m->nbanks; i++)
		if (m->bank[i].gpa + m->bank[i].size > top)
			top = m->bank[i].gpa + m->bank[i].size;
	return iovm_bar_placement(gpa, size, IOVM_PCI_MMIO_START, IOVM_PCI_MMIO_END, top);
}

static void bar_unmap(struct vdev *d, struct bar_state *b)
{
	for (int i = 0; i < b->nslots; i++)
		iovm_vm_unmap(D.vm, b->slot[i]);
	b->nslots = 0;
	if (b->trapped)
		iovm_bus_del(IOVM_MMIO, b->gpa, b);
	b->trapped = false;
	b->active = false;
}

static void bar_map(struct vdev *d, struct bar_state *b)
{
	unsigned idx = bar_of(d, b);
	struct region *rg = &d->reg[idx];
	struct iovm_range t[2];
	int nt, ret;

	enum iovm_bar_place place;

	b->gpa = d->cfg.bar[idx].gpa;
	b->size = d->cfg.bar[idx].size;
	place = bar_place(b->gpa, b->size);
	if (place == IOVM_BAR_REFUSE) {
		if (!b->warned)
			log_warn("%s: guest put BAR%u at %#" PRIx64 " (size %#" PRIx64 "), outside the "
				 "MMIO window; not mapped", d->name, idx, b->gpa, b->size);
		b->warned = true;
		return;
	}
	ret = iovm_bus_add(IOVM_MMIO, b->gpa, b->size, d->name, &bar_ops, b);
	if (ret < 0) {
		log_warn_errno(ret, "%s: BAR%u at %#" PRIx64 " overlaps another device", d->name,
			       idx, b->gpa);
		return;
	}
	b->trapped = true;
	b->active = true;
	if (place == IOVM_BAR_TRAP) {
		/* KVM maps whole pages only: the BAR works, through the VMM. */
		log_debug("%s: BAR%u at %#" PRIx64 " is not page aligned; every access traps",
			  d->name, idx, b->gpa);
		return;
	}
	trap_pages(d, idx, t, &nt);
	/* Each mmapped area minus the trapped pages becomes KVM memory: no exits there. */
	for (int a = 0; a < rg->nareas; a++) {
		uint64_t s = rg->area[a].off, e = s + rg->area[a].size;

		if (!rg->area[a].map || !rg->area[a].size)
			continue;
		while (s < e) {
			uint64_t pe = e, next = e;

			for (int k = 0; k < nt; k++) {
				if (t[k].end <= s || t[k].start >= pe)
					continue;
				if (t[k].start <= s) {
					pe = s;
					next = t[k].end < e ? t[k].end : e;
					break;
				}
				pe = t[k].start;
				next = t[k].end < e ? t[k].end : e;
			}
			if (pe > s && pe <= b->size) {
				if (b->nslots >= MAX_PIECES) {
					log_warn("%s: BAR%u: too many pieces; the rest traps", d->name, idx);
					return;
				}
				ret = iovm_vm_map(D.vm, b->gpa + s, pe - s,
						  (char *)rg->area[a].map + (s - rg->area[a].off));
				if (ret < 0)
					log_warn_errno(ret, "%s: BAR%u %#" PRIx64 "+%#" PRIx64 " into the "
						       "guest (traps instead)", d->name, idx, s, pe - s);
				else
					b->slot[b->nslots++] = ret;
			}
			s = next;
		}
	}
	log_debug("%s: BAR%u at %#" PRIx64 ", %d direct pieces", d->name, idx, b->gpa, b->nslots);
}

/* Brings BAR idx in line with the guest's command register and BAR address. */
static void bar_update(struct vdev *d, unsigned idx)
{
	struct bar_state *b = &d->bar[idx];
	const struct iovm_pcicfg_bar *cb = &d->cfg.bar[idx];
	bool want = cb->size && !cb->io && !cb->upper &&
		    (iovm_pcicfg_command(&d->cfg) & 0x2) && cb->gpa;

	if (b->active && (!want || b->gpa != cb->gpa))
		bar_unmap(d, b);
	if (want && !b->active)
		bar_map(d, b);
}

/* ---- config space, guest side ---- */

static uint32_t vdev_cfg_read(void *opaque, unsigned off, unsigned len)
{
	return iovm_pcicfg_read(&((struct vdev *)opaque)->cfg, off, len);
}

static void vdev_cfg_write(void *opaque, unsigned off, uint32_t val, unsigned len)
{
	struct vdev *d = opaque;
	unsigned ev = iovm_pcicfg_write(&d->cfg, off, len, val);

	for (unsigned i = 0; i < IOVM_PCI_NBARS; i++)
		if (ev & (IOVM_PCICFG_EV_CMD | IOVM_PCICFG_EV_BAR(i)))
			bar_update(d, i);
	if (ev & IOVM_PCICFG_EV_MSIX)
		msix_update(d);
	if (ev & IOVM_PCICFG_EV_MSI)
		msi_update(d);
}

static const struct iovm_pci_ops vdev_pci_ops = { .cfg_read = vdev_cfg_read,
						  .cfg_write = vdev_cfg_write };

static uint64_t pow2_roundup(uint64_t v)
{
	uint64_t p = 1;

	while (p < v && p)
		p <<= 1;
	return p;
}

static int vdev_attach(struct vdev *d)
{
	bool hot = d->hot;
	uint8_t phys[IOVM_PCICFG_HDR];
	uint64_t sizes[IOVM_PCI_NBARS] = { 0 };
	struct region *cr = &d->reg[VFIO_PCI_CONFIG_REGION_INDEX];
	int ret;

	for (unsigned i = 0; i <= VFIO_PCI_CONFIG_REGION_INDEX; i++) {
		if ((ret = region_info(d, i)) < 0 && i == VFIO_PCI_CONFIG_REGION_INDEX)
			return log_err_errno(ret, "%s: config region info", d->name);
	}
	if (pread(d->fd, phys, sizeof(phys), (off_t)cr->info.offset) != (ssize_t)sizeof(phys))
		return log_err_errno(-EIO, "%s: reading config space", d->name);
	for (unsigned i = 0; i < IOVM_PCI_NBARS; i++) {
		uint32_t raw;

		memcpy(&raw, phys + 0x10 + 4 * i, 4);
		if (!d->reg[i].info.size)
			continue;
		if (raw & 1) {
			log_warn("%s: BAR%u is an I/O BAR; not offered to the guest", d->name, i);
			continue;
		}
		sizes[i] = pow2_roundup(d->reg[i].info.size);
	}
	memcpy(d->bar_size, sizes, sizeof(sizes));
	if ((ret = iovm_pcicfg_init(&d->cfg, phys, sizes, &cfg_dev_ops, d)) < 0)
		return log_err_errno(ret, "%s: unsupported config header (type %#x)", d->name,
				     phys[0x0e] & 0x7f);
	if (d->cfg.cap_msix) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX };

		if (iovm_vfio_xioctl(d->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0 || ii.count < d->cfg.msix_nr)
			return log_err_errno(-EINVAL, "%s: MSI-X capability has %u vectors, VFIO %u",
					     d->name, d->cfg.msix_nr, ii.count);
		d->msix = malloc(sizeof(*d->msix));
		if (!d->msix || iovm_msix_init(d->msix, d->cfg.msix_nr) < 0)
			return -ENOMEM;
	}
	/* Guest addresses, as firmware would assign them; the guest may move them. A
	 * hot-plugged device gets none: the guest places its BARs in the root port's window. */
	for (unsigned i = 0; i < IOVM_PCI_NBARS; i++) {
		const struct iovm_pcicfg_bar *cb = &d->cfg.bar[i];
		uint64_t gpa;

		if (!cb->size || cb->upper)
			continue;
		if (hot) {
			region_mmap(d, i);
			continue;
		}
		if ((ret = iovm_pci_alloc_mmio(cb->size, &gpa)) < 0)
			return log_err_errno(ret, "%s: no room for BAR%u (%#" PRIx64 " bytes) in the "
					     "MMIO window", d->name, i, cb->size);
		iovm_pcicfg_write(&d->cfg, 0x10 + 4 * i, 4, (uint32_t)gpa);
		if (cb->mem64)
			iovm_pcicfg_write(&d->cfg, 0x14 + 4 * i, 4, (uint32_t)(gpa >> 32));
		d->bar_gpa[i] = gpa;
		region_mmap(d, i);
		log_info("%s: BAR%u %#" PRIx64 " bytes at guest %#" PRIx64 "%s", d->name, i,
			 cb->size, gpa, d->reg[i].msix_mappable ? " (MSI-X mappable)" : "");
	}
	if (hot) {
		/* Behind a root port there is no INTx route: MSI or MSI-X only. */
		if (!d->cfg.cap_msix && !d->cfg.cap_msi)
			return log_err_errno(-ENOTSUP, "%s: has neither MSI nor MSI-X; a hot-plugged "
					     "device needs one", d->name);
		log_info("%s: hot-plugged, %04x:%04x", d->name, iovm_pcicfg_read(&d->cfg, 0, 2),
			 iovm_pcicfg_read(&d->cfg, 2, 2));
		return 0;
	}
	ret = iovm_pci_add(d->name, &vdev_pci_ops, d);
	if (ret < 0)
		return log_err_errno(ret, "%s: PCI bus full", d->name);
	d->slot = ret;
	if (phys[0x3d] && (ret = intx_init(d, phys[0x3d])) < 0)
		return ret;
	if (d->intx_cap)
		iovm_pcicfg_write(&d->cfg, 0x3c, 1, d->intx_gsi);
	log_info("%s: guest PCI 00:%02x.0, %04x:%04x%s", d->name, d->slot,
		 iovm_pcicfg_read(&d->cfg, 0, 2), iovm_pcicfg_read(&d->cfg, 2, 2),
		 d->intx_cap ? ", INTx on IOAPIC pin 16+" : "");
	return 0;
}

int iovm_vfio_devs_attach(struct iovm_vm *vm)
{
	int ret;

	D.vm = vm;
	for (int i = 0; i < D.ndevs; i++)
		if ((ret = vdev_attach(&D.dev[i])) < 0)
			return ret;
	return 0;
}

/* Guest reboot, part 1 (the old VM still exists): interrupts off, BARs out of the guest,
 * VFIO_DEVICE_RESET, and the virtual config space back to what the guest found at power-on
 * (BARs where they were first put, decoding off, MSI/MSI-X off, the MSI-X table masked). */
int iovm_vfio_devs_reset(void)
{
	int ret;

	for (int i = 0; i < D.ndevs; i++) {
		struct vdev *d = &D.dev[i];
		uint8_t phys[IOVM_PCICFG_HDR];

		if (!d->used)
			continue;
		msix_off(d);
		msi_off(d);
		intx_disable(d);
		for (unsigned b = 0; b < IOVM_PCI_NBARS; b++) {
			if (d->bar[b].active)
				bar_unmap(d, &d->bar[b]);
			d->bar[b].warned = false;
		}
		if (d->info.flags & VFIO_DEVICE_FLAGS_RESET) {
			if ((ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_RESET, NULL)) < 0)
				return log_err_errno(ret, "%s: VFIO_DEVICE_RESET at guest reboot", d->name);
		} else {
			log_warn("%s: no reset method; the rebooted guest gets the device as it is",
				 d->name);
		}
		if (pread(d->fd, phys, sizeof(phys),
			  (off_t)d->reg[VFIO_PCI_CONFIG_REGION_INDEX].info.offset) != (ssize_t)sizeof(phys))
			return log_err_errno(-EIO, "%s: reading config space after reset", d->name);
		if ((ret = iovm_pcicfg_init(&d->cfg, phys, d->bar_size, &cfg_dev_ops, d)) < 0)
			return log_err_errno(ret, "%s: config header after reset", d->name);
		for (unsigned b = 0; b < IOVM_PCI_NBARS; b++) {
			if (!d->bar_gpa[b])
				continue;
			iovm_pcicfg_write(&d->cfg, 0x10 + 4 * b, 4, (uint32_t)d->bar_gpa[b]);
			if (d->cfg.bar[b].mem64)
				iovm_pcicfg_write(&d->cfg, 0x14 + 4 * b, 4, (uint32_t)(d->bar_gpa[b] >> 32));
		}
		if (d->msix && (ret = iovm_msix_init(d->msix, d->cfg.msix_nr)) < 0)
			return ret;
		if (d->intx_cap)
			iovm_pcicfg_write(&d->cfg, 0x3c, 1, d->intx_gsi);
	}
	return 0;
}

int iovm_vfio_devs_rebind(struct iovm_vm *vm)
{
	int ret;

	D.vm = vm;
	for (int i = 0; i < D.ndevs; i++)
		if (D.dev[i].used && D.dev[i].intx_cap && (ret = intx_enable(&D.dev[i])) < 0)
			return ret;
	return 0;
}

static void vdev_close(struct vdev *d);

void iovm_vfio_devs_close(void)
{
	for (int i = 0; i < D.ndevs; i++)
		if (D.dev[i].used)
			vdev_close(&D.dev[i]);
	D.ndevs = 0;
}

/* Interrupts off, BARs out of the guest, the device reset (FLR for a VF) and closed. */
static void vdev_close(struct vdev *d)
{
	{
		if (D.vm) {
			msix_off(d);
			msi_off(d);
			intx_free(d);
			for (unsigned b = 0; b < IOVM_PCI_NBARS; b++)
				if (d->bar[b].active)
					bar_unmap(d, &d->bar[b]);
		}
		for (unsigned r = 0; r < VFIO_PCI_NUM_REGIONS; r++)
			for (int a = 0; a < d->reg[r].nareas; a++)
				if (d->reg[r].area[a].map)
					munmap(d->reg[r].area[a].map, d->reg[r].area[a].size);
		if (d->fd >= 0) {
			/* Leave the device clean for the next user: FLR for a VF. */
			if ((d->info.flags & VFIO_DEVICE_FLAGS_RESET) &&
			    iovm_vfio_xioctl(d->fd, VFIO_DEVICE_RESET, NULL) < 0)
				log_warn("%s: VFIO_DEVICE_RESET at exit failed", d->name);
			close(d->fd);
		}
		if (d->req_efd >= 0)
			close(d->req_efd);	/* after the device fd: the trigger goes with it */
		d->req_efd = -1;
		free(d->msix);
		d->msix = NULL;
		d->fd = -1;
	}
	if (d->hot)
		iovm_vfio_group_hot_put(d->grp);
	d->used = false;
}

/* ---- hot-plug (vmm/hotplug.c; the bus lock is held by the caller) ---- */

static int vdev_open(struct vdev *d)
{
	int ret;

	if ((ret = vdev_get_fd(d)) < 0)
		return ret;
	if ((d->info.flags & VFIO_DEVICE_FLAGS_RESET) &&
	    (ret = iovm_vfio_xioctl(d->fd, VFIO_DEVICE_RESET, NULL)) < 0)
		log_warn_errno(ret, "%s: VFIO_DEVICE_RESET before hot-plug", d->name);
	req_init(d);
	return 0;
}

int iovm_vfio_hot_add(struct iovm_vm *vm, int group_fd, int group_id,
		      const struct iov_pci_addr *addr, void **handle,
		      const struct iovm_pci_ops **ops)
{
	struct vdev *d = NULL;
	struct iovm_vfio_group *g;
	int ret;

	for (int i = 0; i < D.ndevs; i++) {
		if (D.dev[i].used && iov_pci_addr_cmp(&D.dev[i].addr, addr) == 0) {
			close(group_fd);
			return log_err_errno(-EEXIST, "%s: already passed through",
					     D.dev[i].name);
		}
		if (!D.dev[i].used && !d)
			d = &D.dev[i];
	}
	if (!d) {
		if (D.ndevs >= IOVM_VFIO_MAX_DEVS) {
			close(group_fd);
			return log_err_errno(-ENOSPC, "already %d passthrough devices",
					     IOVM_VFIO_MAX_DEVS);
		}
		d = &D.dev[D.ndevs++];
	}
	memset(d, 0, sizeof(*d));
	d->fd = d->intx_efd = d->intx_resample = d->req_efd = -1;
	d->addr = *addr;
	iov_pci_addr_fmt(&d->addr, d->name);
	if (!(g = iovm_vfio_group_hot(group_fd, group_id, d->name))) {
		ret = -errno;
		close(group_fd);
		return ret;
	}
	d->used = d->hot = true;
	d->grp = g;
	D.vm = vm;
	if ((ret = vdev_open(d)) < 0 || (ret = vdev_attach(d)) < 0) {
		vdev_close(d);
		return ret;
	}
	*handle = d;
	*ops = &vdev_pci_ops;
	return 0;
}

void iovm_vfio_hot_remove(void *handle)
{
	struct vdev *d = handle;

	if (d && d->used && d->hot)
		vdev_close(d);
}
