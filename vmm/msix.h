/* MSI-X table and PBA emulation (pure). The guest's table writes land here, never on the
 * device: VFIO programs the real table from VFIO_DEVICE_SET_IRQS, and iovm turns each
 * entry into a KVM MSI route. An entry is "live" when the function is enabled, not
 * function-masked and the entry's mask bit is clear; the caller attaches the vector's
 * irqfd only then. The pending bits are not tracked: while a vector is masked its
 * eventfd keeps counting and KVM delivers it when the irqfd is attached again, so PBA
 * reads as zero. Every offset and size the guest uses is checked here. */
#ifndef IOVM_MSIX_H
#define IOVM_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#define IOVM_MSIX_MAX		2048
#define IOVM_MSIX_ENTRY_SIZE	16
#define IOVM_MSIX_NOCHANGE	(-1)

struct iovm_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct iovm_msix {
	unsigned nr;
	struct iovm_msix_entry e[IOVM_MSIX_MAX];
};

/* All entries masked (the state after reset). -EINVAL if nr is 0 or > 2048. */
int iovm_msix_init(struct iovm_msix *m, unsigned nr);
/* off is relative to the table; len 4 or 8, naturally aligned, inside the table.
 * Returns the entry index a write changed, IOVM_MSIX_NOCHANGE, or -EINVAL (ignored). */
int iovm_msix_table_write(struct iovm_msix *m, uint64_t off, unsigned len, uint64_t val);
/* Bad accesses read as all ones. */
uint64_t iovm_msix_table_read(const struct iovm_msix *m, uint64_t off, unsigned len);
uint64_t iovm_msix_pba_read(const struct iovm_msix *m, uint64_t off, unsigned len);
/* Size of the PBA in bytes (one bit per vector, in qwords). */
uint64_t iovm_msix_pba_size(const struct iovm_msix *m);
bool iovm_msix_masked(const struct iovm_msix *m, unsigned i);
uint64_t iovm_msix_addr(const struct iovm_msix *m, unsigned i);
uint32_t iovm_msix_data(const struct iovm_msix *m, unsigned i);

#endif
