/* The VFIO PCI device as the guest sees it: its regions, the virtualized config space,
 * BARs mapped into the guest around the MSI-X table, MSI-X/MSI/INTx through irqfds, the
 * device request channel, and VFIO_DEVICE_RESET at start, at guest reboot and at exit.
 * Internal to vmm/vfio*.c; the rest of iovm uses vmm/vfio.h. */
#ifndef IOVM_VFIO_DEV_H
#define IOVM_VFIO_DEV_H

#include "lib/pciaddr.h"
#include "vmm/vfio_container.h"
#include "vmm/vm.h"

/* Adds the device at addr (in group grp) to the set; nothing is opened yet. */
int iovm_vfio_dev_add(const struct iov_pci_addr *addr, struct iovm_vfio_group *grp);
/* Opens every device (VFIO_GROUP_GET_DEVICE_FD), checks it is PCI, resets it and registers its
 * device request channel. After iovm_vfio_container_set_iommu. */
int iovm_vfio_devs_open(void);
/* Builds each device's virtual config space and BARs and puts it on the PCI bus of vm. */
int iovm_vfio_devs_attach(struct iovm_vm *vm);
/* Guest reboot: interrupts off, BARs out of the guest, reset, config space as at power-on;
 * then, in the rebuilt VM, the INTx lines again. */
int iovm_vfio_devs_reset(void);
int iovm_vfio_devs_rebind(struct iovm_vm *vm);
/* Interrupts off, BARs unmapped, each device reset and closed. */
void iovm_vfio_devs_close(void);

#endif
