/* Loading a bzImage into the guest by the 32/64-bit boot protocol (no BIOS, no real-mode
 * setup code): kernel at 1 MiB, zero page, command line, initrd, page tables, GDT and the
 * boot vCPU's registers. */
#ifndef IOVM_BOOT_H
#define IOVM_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/bootparams.h"
#include "vmm/vm.h"

struct iovm_boot_cfg {
	const char *kernel;		/* bzImage path (or "fd N"), for messages */
	const char *initrd;		/* NULL: none (unless initrd_fd >= 0) */
	int kernel_fd, initrd_fd;	/* pre-opened, or -1: iovm_boot_open opens the paths */
	uint64_t ksize, isize;		/* set by iovm_boot_open */
	bool has_initrd;
	const char *cmdline;		/* NULL: "" */
	bool entry32;			/* 32-bit entry (flat protected mode) instead of 64-bit */
	int ncpus;			/* processors in the MP table */
	const struct iovm_range *excl;	/* guest ranges RAM must avoid (IOMMU reserved) */
	int nexcl;
	const struct iovm_mp_intx *intx;	/* PCI INTx routes for the MP table */
	int nintx;
};

/* Opens the kernel and initrd (or adopts the given fds) and keeps them open, so that a
 * guest reboot can load them again once the sandbox forbids opening files. */
int iovm_boot_open(struct iovm_boot_cfg *cfg);
void iovm_boot_close(struct iovm_boot_cfg *cfg);
/* Loads kernel, initrd, zero page, MP table, page tables and GDT into guest RAM and sets the
 * boot vCPU's registers. Errors are logged with the file name; returns -errno. */
int iovm_boot_load(struct iovm_vm *vm, const struct iovm_boot_cfg *cfg);
/* (Re)writes the MP tables and the ACPI tables (vmm/acpi.h), e.g. once the devices' INTx
 * routes are known. */
int iovm_boot_mptable(struct iovm_vm *vm, int ncpus, const struct iovm_mp_intx *intx, int n);

#endif
