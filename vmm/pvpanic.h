/* pvpanic as a PCI device (1b36:0011, as QEMU's pvpanic-pci): one byte in BAR0. Reading it
 * gives the events the VMM understands, writing PANICKED (or CRASH_LOADED) ends the VM with
 * IOVM_EXIT_CRASH. Linux drives it with its pvpanic-pci driver (CONFIG_PVPANIC_PCI), which
 * needs no ACPI: the way a panicking guest gets a distinct exit status. */
#ifndef IOVM_PVPANIC_H
#define IOVM_PVPANIC_H

#include "vmm/vm.h"

/* Puts the device on the PCI bus (next free slot). */
int iovm_pvpanic_init(struct iovm_vm *vm);
/* Power-on state (guest reboot): BAR0 back where it started, decoding off. */
void iovm_pvpanic_reset(void);

#endif
