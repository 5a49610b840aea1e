#include "vmm/vfio.h"
#include "vmm/vfio_container.h"
#include "vmm/vfio_dev.h"

#include <errno.h>
#include <sys/resource.h>

/* The two halves: vmm/vfio_container.c (container, groups, DMA, KVM-VFIO) and
 * vmm/vfio_dev.c (the PCI devices). */
static bool opened;

int iovm_vfio_open(int container_fd, const struct iovm_vfio_spec *spec, int n)
{
	struct rlimit nofile;
	int ret;

	opened = true;
	/* One eventfd per MSI-X vector (up to 2048 per device): lift the soft fd limit. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if ((ret = iovm_vfio_container_open(container_fd)) < 0)
		return ret;
	for (int i = 0; i < n; i++) {
		char name[IOV_PCI_ADDR_STRLEN];
		struct iovm_vfio_group *grp;

		iov_pci_addr_fmt(&spec[i].addr, name);
		grp = iovm_vfio_group_get(&spec[i], name);
		if (!grp)
			return -ENODEV;
		if ((ret = iovm_vfio_dev_add(&spec[i].addr, grp)) < 0)
			return ret;
	}
	if ((ret = iovm_vfio_container_set_iommu()) < 0)
		return ret;
	return iovm_vfio_devs_open();
}

int iovm_vfio_attach(struct iovm_vm *vm)
{
	int ret;

	if ((ret = iovm_vfio_dma_map_ram(vm->mem)) < 0)
		return ret;
	if ((ret = iovm_vfio_kvm_dev_add(vm)) < 0)
		return ret;
	return iovm_vfio_devs_attach(vm);
}

/* Guest reboot, part 1 (the old VM still exists): the devices reset (vmm/vfio_dev.c); the
 * KVM-VFIO device belongs to the old VM. */
int iovm_vfio_reset(void)
{
	int ret = iovm_vfio_devs_reset();

	if (ret < 0)
		return ret;
	iovm_vfio_kvm_dev_close();
	return 0;
}

/* Guest reboot, part 2: the new VM gets the KVM-VFIO device and the INTx lines. Guest RAM
 * and its DMA mappings are the same as before. */
int iovm_vfio_rebind(struct iovm_vm *vm)
{
	int ret;

	if ((ret = iovm_vfio_kvm_dev_add(vm)) < 0)
		return ret;
	return iovm_vfio_devs_rebind(vm);
}

void iovm_vfio_close(void)
{
	if (!opened)
		return;
	iovm_vfio_devs_close();
	iovm_vfio_container_close();
	opened = false;
}
