/* The legacy PC ports a Linux guest touches without firmware: i8042 (its reset line ends the
 * VM with `reboot=k`), CMOS RTC, reset ports 0x92 and (via pci.c) 0xcf9, pvpanic at 0x505,
 * the iovm exit/mark port at 0x501, and quiet handlers for probed-but-absent hardware
 * (other COM ports, LPT, floppy, VGA, ISA DMA, POST port 0x80). */
#ifndef IOVM_LEGACY_H
#define IOVM_LEGACY_H

#include <stdbool.h>
#include <stdio.h>

#include "vmm/vm.h"

#define IOVM_EXIT_PORT		0x501	/* byte 0: power off; 1..255: a timestamped mark */
#define IOVM_PVPANIC_PORT	0x505

#include <time.h>

/* t0: when iovm started (CLOCK_MONOTONIC); marks are timed from it. */
int iovm_legacy_init(struct iovm_vm *vm, const struct timespec *t0);
/* Power-on state of the i8042 (guest reboot). */
void iovm_legacy_reset(void);
/* Types Ctrl-Alt-Del on the i8042's keyboard (a guest without ACPI: Linux sends SIGINT to
 * init, which decides). From any thread. False when the guest's keyboard is not scanning
 * (no driver, or disabled): nothing was typed. */
bool iovm_legacy_ctrl_alt_del(void);
/* Prints the guest's marks (value, ms since iovm started, exit counts so far). */
void iovm_legacy_print_marks(FILE *f);

#endif
