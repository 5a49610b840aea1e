/* Loading a bzImage into the guest by the 32/64-bit boot protocol (no BIOS, no real-mode
 * setup code): kernel at 1 MiB, zero page, command line, initrd, page tables, GDT and the
 * boot vCPU's registers. */
#ifndef IOVM_BOOT_H
#define IOVM_BOOT_H

#include <stdbool.h>

#include "vmm/bootparams.h"
#include "vmm/vm.h"

struct iovm_boot_cfg {
	const char *kernel;		/* bzImage path */
	const char *initrd;		/* NULL: none */
	const char *cmdline;		/* NULL: "" */
	bool entry32;
	int ncpus;			/* processors in the MP table */			/* 32-bit entry (flat protected mode) instead of 64-bit */
	const struct iovm_range *excl;	/* guest ranges RAM must avoid (IOMMU reserved) */
	int nexcl;
};

/* Errors are logged with the file name; returns -errno. */
int iovm_boot_load(struct iovm_vm *vm, const struct iovm_boot_cfg *cfg);
/* (Re)writes the MP tables, e.g. once the devices' INTx routes are known. */
int iovm_boot_mptable(struct iovm_vm *vm, int ncpus, const struct iovm_mp_intx *intx, int n);

#endif
