/* The VFIO passthrough device (type1 IOMMU): container, groups and PCI devices, guest RAM
 * DMA-mapped at IOVA = GPA, the KVM-VFIO pseudo-device, virtualized config space, BARs
 * mapped into the guest around the MSI-X table, MSI-X/MSI/INTx through irqfds, and
 * VFIO_DEVICE_RESET at start and at exit. */
#ifndef IOVM_VFIO_H
#define IOVM_VFIO_H

#include "lib/pciaddr.h"
#include "vmm/bootparams.h"
#include "vmm/vm.h"

#define IOVM_VFIO_MAX_DEVS 8

struct iovm_vfio_spec {
	struct iov_pci_addr addr;
	int group_fd;		/* pre-opened /dev/vfio/N, or -1: iovm opens it */
};

/* Opens (or adopts) the container and groups, checks viability, sets the type1v2 IOMMU,
 * opens the devices and resets them. container_fd -1: open /dev/vfio/vfio. */
int iovm_vfio_open(int container_fd, const struct iovm_vfio_spec *spec, int n);
/* Guest-physical ranges that guest RAM and BARs must avoid (the groups' reserved regions
 * that matter to the guest layout). Valid after iovm_vfio_open. */
int iovm_vfio_reserved(struct iovm_range *out, int max);
/* Maps guest RAM for DMA (checking the IOMMU's IOVA ranges), registers the groups with KVM,
 * builds each device's virtual config space and BARs and puts it on the PCI bus. */
int iovm_vfio_attach(struct iovm_vm *vm);
/* INTx routes of the attached devices, for the MP table. Returns the count. */
int iovm_vfio_intx_routes(struct iovm_mp_intx *out, int max);
/* Guest reboot: reset before the VM is rebuilt (iovm_vm_rebuild), rebind after. */
int iovm_vfio_reset(void);
int iovm_vfio_rebind(struct iovm_vm *vm);
/* The device request eventfds (one per device that has the channel): readable when the host
 * wants that device back. Returns the count; iovm_vfio_req_dev names a device by its fd. */
int iovm_vfio_req_fds(int *fds, int max);
const char *iovm_vfio_req_dev(int fd);
/* Hot-plug (vmm/hotplug.c), with the bus lock held: the device addr of the group group_fd
 * (always taken; iovd's id for it) joins the container and gets a virtual config space
 * with no BAR placed (the guest places them behind the root port); *ops and *handle serve its
 * config space. MSI or MSI-X only. hot_remove: interrupts off, BARs out of the guest, reset,
 * device and group closed. */
struct iovm_pci_ops;
int iovm_vfio_hot_add(struct iovm_vm *vm, int group_fd, int group_id,
		      const struct iov_pci_addr *addr, void **handle,
		      const struct iovm_pci_ops **ops);
void iovm_vfio_hot_remove(void *handle);
/* Disables interrupts, resets the devices, unmaps DMA and closes everything. Idempotent. */
void iovm_vfio_close(void);

#endif
