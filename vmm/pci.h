/* PCI bus 0 behind configuration mechanism #1 (ports 0xcf8/0xcfc, `pci=conf1`) and ECAM
 * (4 KiB of MMIO per function at IOVM_PCI_ECAM_BASE, announced by the ACPI MCFG): a host
 * bridge at 00:00.0 and up to 31 devices, plus the allocator for BARs in the 32-bit MMIO
 * window below the ECAM window. Port 0xcf9 (byte) is the PIIX reset control register.
 * Devices see both mechanisms through the same cfg_read/cfg_write (ECAM reaches offsets
 * 0x100-0xfff too). */
#ifndef IOVM_PCI_H
#define IOVM_PCI_H

#include <stdint.h>

#include "vmm/bootparams.h"
#include "vmm/vm.h"

#define IOVM_PCI_MMIO_START	IOVM_MMIO_HOLE_START
#define IOVM_PCI_ECAM_BASE	0xfeb00000ull	/* 1 MiB: bus 0, 32 devices x 8 functions */
#define IOVM_PCI_ECAM_SIZE	0x100000ull
#define IOVM_PCI_MMIO_END	IOVM_PCI_ECAM_BASE	/* IOAPIC, HPET, LAPIC/MSI above ECAM */

struct iovm_pci_ops {
	/* off < 4096, len 1/2/4, the access does not cross a dword. */
	uint32_t (*cfg_read)(void *opaque, unsigned off, unsigned len);
	void (*cfg_write)(void *opaque, unsigned off, uint32_t val, unsigned len);
};

int iovm_pci_init(struct iovm_vm *vm);
/* Buses other than 0 (behind the hot-plug root ports, vmm/hotplug.c): the ops and opaque of
 * device dev on bus bus, or NULL. Reached through conf1 only (ECAM covers bus 0); called
 * with the bus lock held. */
typedef const struct iovm_pci_ops *(*iovm_pci_bus_fn)(unsigned bus, unsigned dev, void **opaque);
void iovm_pci_set_sub(iovm_pci_bus_fn fn);
/* Places a device in the next free slot; returns the slot (device number). */
int iovm_pci_add(const char *name, const struct iovm_pci_ops *ops, void *opaque);
/* Ranges BARs must avoid (IOMMU reserved regions). Copied. */
void iovm_pci_exclude(const struct iovm_range *r, int n);
/* A naturally aligned range of `size` (a power of two) in the MMIO window. */
int iovm_pci_alloc_mmio(uint64_t size, uint64_t *gpa);

#endif
