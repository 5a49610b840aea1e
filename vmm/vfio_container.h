/* The VFIO side that is not a device: the container (type1v2 IOMMU), the IOMMU groups and
 * their reserved regions, guest RAM DMA-mapped at IOVA = GPA, and the KVM-VFIO pseudo-device.
 * Internal to vmm/vfio*.c; the rest of iovm uses vmm/vfio.h. */
#ifndef IOVM_VFIO_CONTAINER_H
#define IOVM_VFIO_CONTAINER_H

#include "vmm/mem.h"
#include "vmm/vfio.h"
#include "vmm/vm.h"

#include <stdbool.h>

struct iovm_vfio_group {
	int id;			/* /dev/vfio/ID; -1 if unknown */
	int fd;
	bool own_fd;
	bool set_container;	/* we attached it to the container */
};

/* ioctl, retried on EINTR; -errno on failure. */
int iovm_vfio_xioctl(int fd, unsigned long req, const void *arg);
/* Opens /dev/vfio/vfio (container_fd -1) or adopts container_fd; checks the API version and
 * type1v2 support. */
int iovm_vfio_container_open(int container_fd);
/* The group of the device named name (spec's pre-opened fd, or /dev/vfio/N from sysfs),
 * checked viable and put in the container; its reserved regions are read. NULL on failure
 * (said). */
struct iovm_vfio_group *iovm_vfio_group_get(const struct iovm_vfio_spec *s, const char *name);
/* Hot-plug: a group fd passed at run time (id from the sender), into the container and the
 * KVM-VFIO device; NULL with errno on failure (said); the fd is not taken then. _put takes it
 * out again and closes it. */
struct iovm_vfio_group *iovm_vfio_group_hot(int fd, int id, const char *name);
void iovm_vfio_group_hot_put(struct iovm_vfio_group *g);
/* The IOMMU model, once every group is in the container. */
int iovm_vfio_container_set_iommu(void);
/* Every RAM bank at IOVA = GPA, minus the reserved regions. */
int iovm_vfio_dma_map_ram(struct iovm_mem *mem);
/* The KVM-VFIO device of vm, with every group added; closed at guest reboot (it belongs to
 * the old VM) and at exit. */
int iovm_vfio_kvm_dev_add(struct iovm_vm *vm);
void iovm_vfio_kvm_dev_close(void);
/* DMA unmapped, the KVM-VFIO device closed, the groups out of the container and closed (those
 * iovm opened), the container closed (if iovm opened it). */
void iovm_vfio_container_close(void);

#endif
