/* Is interrupt remapping in effect? Without it a device assigned to a guest can forge MSI
 * writes that inject arbitrary interrupts into the host (the reason vfio_iommu_type1 refuses
 * such platforms unless allow_unsafe_interrupts=1).
 *
 * Evidence, strongest first:
 *  1. /proc/interrupts: the kernel names remapped chips "IR-IO-APIC", "IR-PCI-MSIX-...",
 *     "IR-PCI-MSI" (Intel and AMD alike). Any IR- chip means remapping is on; interrupt lines
 *     with plain IO-APIC/PCI-MSI chips and no IR- chip mean it is off.
 *  2. Intel DMAR units: extended capability register bit 3 (IR) says whether the hardware
 *     can remap at all. All units without it: off. (AMD exposes no such bit in sysfs.)
 * Pure: works on strings, so it is unit-tested without a host. */
#ifndef IOV_LIB_INTREMAP_H
#define IOV_LIB_INTREMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOV_INTEL_ECAP_IR (1ULL << 3)

struct iov_iommu;

/* interrupts: contents of /proc/interrupts or NULL if unreadable.
 * Sets io->intremap (1, 0 or IOV_UNKNOWN) and io->intremap_why from io->units. */
void iov_intremap_decide(struct iov_iommu *io, const char *interrupts);

#endif
