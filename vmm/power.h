/* The ACPI power controls of the hardware-reduced platform (vmm/acpi.h): the sleep control
 * and status registers (a write of SLP_TYP 5 with SLP_EN powers the guest off: exit status 0)
 * and the power button (the Generic Event Device's interrupt: the guest's _EVT notifies
 * \_SB.PWRB, Linux's button driver reports KEY_POWER). The reset register is the PIIX reset
 * control at 0xcf9 (vmm/pci.c). */
#ifndef IOVM_POWER_H
#define IOVM_POWER_H

#include <stdbool.h>

#include "vmm/vm.h"

int iovm_power_init(struct iovm_vm *vm);
/* Presses the power button: an edge on the GED's interrupt. From any thread. */
void iovm_power_button(struct iovm_vm *vm);
/* 1 when the guest listens to the power button (its GED driver unmasked the interrupt in the
 * IOAPIC: a guest with ACPI), 0 when not (acpi=off), -errno. */
int iovm_power_button_heard(struct iovm_vm *vm);

#endif
