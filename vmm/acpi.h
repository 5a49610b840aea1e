/* ACPI tables for a hardware-reduced platform, as Firecracker and Cloud Hypervisor generate
 * them: RSDP, XSDT, FADT (HW_REDUCED_ACPI, sleep control/status registers, reset register),
 * DSDT (the PCI host bridge PNP0A08 with its windows and INTx routes, the ECAM window as a
 * motherboard resource, COM1, a power button PNP0C0C behind a Generic Event Device
 * ACPI0013, \_S5), MADT (the vCPUs' local APICs, the IOAPIC, LINT1 NMI) and MCFG (ECAM for
 * bus 0). Pure: written into a caller's buffer that the guest sees at gpa. */
#ifndef IOVM_ACPI_H
#define IOVM_ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bootparams.h"

#define IOVM_ACPI_ADDR		0xe0000ull	/* RSDP first (found by the boot protocol's */
#define IOVM_ACPI_MAX		0x10000ull	/* acpi_rsdp_addr, or by a scan of 0xe0000-) */
#define IOVM_ACPI_SLEEP_PORT	0x600		/* sleep control register; status at +1 */
#define IOVM_ACPI_SLP_TYP_S5	5		/* \_S5 = {5, 0}: SLP_TYP written on poweroff */
#define IOVM_ACPI_RESET_PORT	0xcf9		/* reset register: the PIIX reset control */
#define IOVM_ACPI_RESET_VALUE	0x06
#define IOVM_ACPI_GED_GSI	9		/* the Generic Event Device's interrupt (edge) */
#define IOVM_ACPI_ZP_RSDP	0x070		/* zero page: acpi_rsdp_addr (boot protocol 2.14) */

struct iovm_acpi_cfg {
	int ncpus;				/* 1..254; the IOAPIC's id is ncpus */
	const struct iovm_mp_intx *intx;	/* PCI INTx routes (_PRT) */
	int nintx;
	uint32_t mmio_start, mmio_end;		/* the host bridge's 32-bit window [start, end) */
	uint64_t ecam_base;			/* 1 MiB: bus 0 */
	int hp_ports;				/* hot-plug root ports: buses 1..hp_ports behind
						 * them, and _OSC grants native PCIe hot-plug */
};

/* Writes all tables at buf (guest address gpa, 16-byte aligned, below 4 GiB), the RSDP
 * first. Returns the bytes used, -ENOSPC if len is too small, -EINVAL for a bad cfg. */
int iovm_acpi_build(uint8_t *buf, size_t len, uint64_t gpa, const struct iovm_acpi_cfg *cfg);

#endif
