/* Guest port I/O and MMIO dispatch.
 *
 * Devices claim [base, base+len) ranges in one of two address spaces. vCPU threads call
 * iovm_bus_access() on every KVM_EXIT_IO / KVM_EXIT_MMIO; it runs the device callback under
 * one global device lock, so device code never sees two guest accesses at once. Accesses no
 * device claims read as all ones and writes are dropped (counted for --stats).
 * Offsets passed to callbacks are relative to the range base; len is 1, 2, 4 or 8 and the
 * access lies entirely inside the range (the bus checks this, not the device). */
#ifndef IOVM_BUS_H
#define IOVM_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum iovm_space { IOVM_PIO, IOVM_MMIO };

struct iovm_bus_ops {
	uint64_t (*read)(void *opaque, uint64_t off, unsigned len);
	void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned len);
};

/* -EEXIST on overlap, -ENOSPC when the table is full. */
int iovm_bus_add(enum iovm_space sp, uint64_t base, uint64_t len, const char *name,
		 const struct iovm_bus_ops *ops, void *opaque);
/* Removes the range starting at base owned by opaque; -ENOENT if none. */
int iovm_bus_del(enum iovm_space sp, uint64_t base, void *opaque);

/* Performs one guest access. Returns true if a device claimed it. */
bool iovm_bus_access(enum iovm_space sp, uint64_t addr, void *data, unsigned len, bool is_write);

/* The device lock, for devices that get events from other threads (console input). */
void iovm_bus_lock(void);
void iovm_bus_unlock(void);

/* Prints access counts per device range and the unclaimed counts. */
void iovm_bus_print_stats(FILE *f);

#endif
