/* Guest RAM: anonymous (optionally hugetlb) host memory, laid out around the 32-bit MMIO
 * hole: [0, min(size, 3 GiB)) and, for bigger guests, [4 GiB, 4 GiB + rest). */
#ifndef IOVM_MEM_H
#define IOVM_MEM_H

#include <stdbool.h>
#include <stdint.h>

#define IOVM_MMIO_HOLE_START	0xc0000000ull	/* 3 GiB: PCI BARs, IOAPIC, LAPIC */
#define IOVM_MMIO_HOLE_END	0x100000000ull	/* 4 GiB */
#define IOVM_MEM_MAX_BANKS	2

struct iovm_mem_bank {
	uint64_t gpa, size;
	void *hva;
};

struct iovm_mem {
	struct iovm_mem_bank bank[IOVM_MEM_MAX_BANKS];
	int nbanks;
	uint64_t size;		/* total RAM */
	bool huge;
};

/* Pure: the bank layout (hva left NULL) for `size` bytes of RAM. -EINVAL if size is 0 or
 * not a multiple of 2 MiB (hugepage-friendly and what the identity map assumes). */
int iovm_mem_layout(uint64_t size, struct iovm_mem *out);
/* Lays out and maps the RAM. hugepages: MAP_HUGETLB (2 MiB pages must be reserved). */
int iovm_mem_alloc(struct iovm_mem *m, uint64_t size, bool hugepages);
void iovm_mem_free(struct iovm_mem *m);
/* Faults all of guest RAM in (MADV_POPULATE_WRITE, Linux 5.14; a no-op where missing): done
 * before VFIO pins it for DMA, which would fault it page by page anyway. */
void iovm_mem_populate(const struct iovm_mem *m);
/* Host pointer for [gpa, gpa+len) if it lies entirely inside one bank, else NULL. */
void *iovm_mem_ptr(const struct iovm_mem *m, uint64_t gpa, uint64_t len);

#endif
