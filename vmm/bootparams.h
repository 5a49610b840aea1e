/* Linux x86 boot protocol, the pure part: the bzImage setup header, the zero page
 * (struct boot_params), the e820 map, where the initrd goes, and the identity page tables
 * and GDT for the 64-bit entry. No I/O: everything works on caller-supplied buffers, so
 * the unit tests drive it directly. See Documentation/arch/x86/boot.rst in the kernel. */
#ifndef IOVM_BOOTPARAMS_H
#define IOVM_BOOTPARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

/* Guest physical layout of the boot data (all in low RAM, below the EBDA at 0x9fc00). */
#define IOVM_GDT_ADDR		0x500ull
#define IOVM_ZERO_PAGE_ADDR	0x7000ull
#define IOVM_PML4_ADDR		0x9000ull	/* PML4, PDPT, 4 PDs: identity map of 4 GiB */
#define IOVM_PDPT_ADDR		0xa000ull
#define IOVM_PD_ADDR		0xb000ull
#define IOVM_EBDA_ADDR		0x9fc00ull	/* last KiB of base memory, reserved */
#define IOVM_MPTABLE_ADDR	0xf0000ull	/* MP floating pointer + table, BIOS area */
#define IOVM_MPTABLE_MAX	0x2000ull
#define IOVM_IOAPIC_ADDR	0xfec00000ull
#define IOVM_LAPIC_ADDR		0xfee00000ull
#define IOVM_CMDLINE_ADDR	0x20000ull
#define IOVM_CMDLINE_MAX	0x10000ull
#define IOVM_KERNEL_ADDR	0x100000ull	/* protected-mode kernel at 1 MiB */
#define IOVM_BOOT_MIN_MEM	(4ull << 20)

/* Selectors of the boot GDT: the boot protocol names 0x10 (__BOOT_CS) and 0x18 (__BOOT_DS). */
#define IOVM_BOOT_CS		0x10
#define IOVM_BOOT_DS		0x18
#define IOVM_BOOT_TSS		0x20
#define IOVM_GDT_ENTRIES	5

/* Zero-page / setup-header offsets used here. */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_SETUP_SECTS		0x1f1
#define BP_BOOT_FLAG		0x1fe
#define BP_JUMP			0x200
#define BP_HEADER		0x202
#define BP_VERSION		0x206
#define BP_TYPE_OF_LOADER	0x210
#define BP_LOADFLAGS		0x211
#define BP_CODE32_START		0x214
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_HEAP_END_PTR		0x224
#define BP_CMD_LINE_PTR		0x228
#define BP_INITRD_ADDR_MAX	0x22c
#define BP_KERNEL_ALIGNMENT	0x230
#define BP_RELOCATABLE		0x234
#define BP_XLOADFLAGS		0x236
#define BP_CMDLINE_SIZE		0x238
#define BP_INIT_SIZE		0x260
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128

#define BP_LOADED_HIGH		0x01
#define BP_CAN_USE_HEAP		0x80
#define BP_XLF_KERNEL_64	0x01

#define IOVM_E820_RAM		1
#define IOVM_E820_RESERVED	2

struct iovm_e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* [start, end) */
struct iovm_range {
	uint64_t start, end;
};

struct iovm_bzimage {
	uint16_t version;		/* boot protocol, e.g. 0x020f */
	uint32_t setup_size;		/* boot sector + setup, bytes */
	uint32_t pm_offset, pm_size;	/* protected-mode kernel inside the file */
	uint32_t hdr_end;		/* end of the setup header (0x202 + jump byte) */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;		/* max length without the NUL */
	uint32_t init_size;		/* memory the kernel needs from its load address */
	uint16_t xloadflags;
};

/* Validates a bzImage: "HdrS", protocol >= 2.06, loaded high, sizes inside the file.
 * Needs 64-bit entry support (XLF_KERNEL_64) when want64. -EINVAL / -ENOEXEC / -ENOTSUP. */
int iovm_bzimage_parse(const uint8_t *img, size_t len, bool want64, struct iovm_bzimage *out);

/* The e820 map of `mem`: RAM below 640 KiB (minus the last KiB for MP tables), the BIOS area
 * 0xf0000-0xfffff reserved, RAM from 1 MiB, RAM above 4 GiB. Ranges in `excl` (an IOMMU's
 * reserved regions) are cut out of RAM and reported reserved. Sorted; returns the count or
 * -ENOSPC if more than max entries would be needed. */
int iovm_e820_build(const struct iovm_mem *mem, const struct iovm_range *excl, int nexcl,
		    struct iovm_e820_entry *out, int max);

/* Highest page-aligned address for an initrd of `size` bytes: below initrd_addr_max, below
 * the end of low RAM, not overlapping [0, min_addr) nor any excluded range.
 * -ENOMEM if it does not fit. */
int iovm_initrd_place(const struct iovm_bzimage *bz, const struct iovm_e820_entry *e820, int n,
		      uint64_t min_addr, uint64_t size, uint64_t *addr);

/* Fills the 4 KiB zero page: copies the setup header from the image, sets the loader type,
 * command line, initrd and e820 map. */
int iovm_bootparams_fill(uint8_t *zp, const uint8_t *img, const struct iovm_bzimage *bz,
			 uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size,
			 const struct iovm_e820_entry *e820, int n);

/* A PCI device's INTx pin wired to an IOAPIC pin (level, active low). */
struct iovm_mp_intx {
	uint8_t dev;		/* device number on bus 0 */
	uint8_t pin;		/* 1..4: INTA..INTD */
	uint8_t gsi;		/* IOAPIC pin, 16..23 */
};

/* Intel MP specification 1.4 tables for ncpus processors, the in-kernel IOAPIC (ISA IRQs
 * 0-15 on pins 0-15, IRQ 2 excepted; PCI INTx as given), LINT0 ExtINT and LINT1 NMI: what
 * lets Linux find the APs and the IOAPIC without ACPI. Written at buf, which the guest sees
 * at gpa. Returns the size used, -EINVAL for a bad INTx entry, -ENOSPC. */
int iovm_mptable_build(uint8_t *buf, size_t len, uint64_t gpa, int ncpus,
		       const struct iovm_mp_intx *intx, int nintx);

/* Writes the identity map of the first 4 GiB (2 MiB pages) at IOVM_PML4_ADDR.. into
 * `low`, the host view of guest RAM from GPA 0 (at least 1 MiB). */
void iovm_boot_pagetables(uint8_t *low);
/* The boot GDT: null, null, code (64-bit if long, else 32-bit), data, TSS. */
void iovm_boot_gdt(uint64_t gdt[IOVM_GDT_ENTRIES], bool long_mode);
/* Encodes one descriptor (the kernel's GDT_ENTRY layout). */
uint64_t iovm_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

#endif
