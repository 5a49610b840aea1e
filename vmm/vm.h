/* The KVM virtual machine: in-kernel irqchip (PIC + IOAPIC + LAPICs) and PIT, guest RAM
 * slots, one thread per vCPU, MSI routing and irqfds, and the reason the VM stopped. */
#ifndef IOVM_VM_H
#define IOVM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/mem.h"

/* iovm's exit status; documented in `iovm --help` and docs/iovm.md. */
enum iovm_exit {
	IOVM_EXIT_POWEROFF = 0,	/* guest wrote 0 to the iovm exit port (0x501) */
	IOVM_EXIT_ERROR = 1,	/* iovm failed (set-up or run-time error) */
	IOVM_EXIT_USAGE = 2,	/* bad command line */
	IOVM_EXIT_REBOOT = 3,	/* guest reset: i8042 0xfe (reboot=k), port 0xcf9 or 0x92 */
	IOVM_EXIT_CRASH = 4,	/* triple fault, KVM internal error, pvpanic (port 0x505) */
	IOVM_EXIT_SIGNAL = 5,	/* SIGTERM / SIGINT / SIGHUP */
	IOVM_EXIT_DEVICE_GONE = 6,	/* the host took a passthrough device back (VFIO request) */
};

#define IOVM_MAX_VCPUS	64
#define IOVM_NR_LEGACY_GSI 24	/* GSIs 0..23: PIC and IOAPIC pins; MSI routes start here */
#define IOVM_MAX_GSI	1024

enum iovm_stat {
	IOVM_STAT_IO, IOVM_STAT_MMIO, IOVM_STAT_HLT, IOVM_STAT_SHUTDOWN, IOVM_STAT_INTR,
	IOVM_STAT_FAIL_ENTRY, IOVM_STAT_INTERNAL, IOVM_STAT_SYSTEM_EVENT, IOVM_STAT_OTHER,
	IOVM_STAT_NR,
};

struct iovm_vm;

struct iovm_vcpu {
	struct iovm_vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits[IOVM_STAT_NR];
};

struct iovm_vm {
	int kvm_fd, vm_fd;
	int ncpus;
	size_t run_size;
	struct iovm_vcpu vcpu[IOVM_MAX_VCPUS];
	struct iovm_mem *mem;
	uint32_t next_slot, max_slots;
	bool tsc_deadline;	/* KVM_CAP_TSC_DEADLINE_TIMER: offered to the guest in CPUID */
	/* Why the VM stopped: first reason wins. stop_efd wakes the main thread. */
	pthread_mutex_t stop_lock;
	bool stopping;
	enum iovm_exit exit_code;
	int stop_efd;
	/* GSI routing: the legacy pins plus MSI entries; the whole table is re-sent on change. */
	struct { bool used; uint32_t gsi; uint64_t addr; uint32_t data; } msi[IOVM_MAX_GSI];
	uint32_t next_gsi;
	/* Guest reboots restarted in place, and the exits counted before the last one. */
	unsigned restarts;
	uint64_t exits_before[IOVM_STAT_NR];
};

/* Opens nothing when kvm_fd >= 0 (a pre-opened /dev/kvm); checks the API version and the
 * capabilities iovm relies on; creates the VM, irqchip, PIT and ncpus vCPUs. */
int iovm_vm_create(struct iovm_vm *vm, int kvm_fd, int ncpus);
void iovm_vm_destroy(struct iovm_vm *vm);
/* Registers all RAM banks as slots (records vm->mem for later lookups). */
int iovm_vm_add_ram(struct iovm_vm *vm, struct iovm_mem *mem);
/* A slot for device memory (a BAR mapping). Returns the slot id (>= 0). */
int iovm_vm_map(struct iovm_vm *vm, uint64_t gpa, uint64_t size, void *hva);
int iovm_vm_unmap(struct iovm_vm *vm, int slot);

int iovm_vm_start(struct iovm_vm *vm);
/* Ask the VM to stop: safe from any thread (vCPU, device, signal context excluded). */
void iovm_vm_request_stop(struct iovm_vm *vm, enum iovm_exit code, const char *why);
/* Stops and joins the vCPU threads. */
void iovm_vm_stop(struct iovm_vm *vm);

/* Edge on a legacy interrupt line (ISA IRQ / GSI 0..23): raise, then lower. */
void iovm_vm_irq_pulse(struct iovm_vm *vm, uint32_t irq);
/* MSI routes: allocate a GSI, set its message, release it. Each call re-sends the table. */
int iovm_vm_gsi_alloc(struct iovm_vm *vm);
int iovm_vm_msi_set(struct iovm_vm *vm, uint32_t gsi, uint64_t addr, uint32_t data);
int iovm_vm_gsi_free(struct iovm_vm *vm, uint32_t gsi);
/* KVM_IRQFD: efd signals inject gsi; resample_efd >= 0 for level-triggered INTx. */
int iovm_vm_irqfd(struct iovm_vm *vm, int efd, uint32_t gsi, int resample_efd, bool assign);
/* KVM_IOEVENTFD: a guest write of len bytes to the MMIO address gpa signals efd in the
 * kernel, with no exit to iovm. Needs KVM_CAP_IOEVENTFD. */
int iovm_vm_ioeventfd(struct iovm_vm *vm, int efd, uint64_t gpa, uint32_t len, bool assign);
/* KVM_SIGNAL_MSI: injects one MSI message, from any thread. Needs KVM_CAP_SIGNAL_MSI. */
int iovm_vm_signal_msi(struct iovm_vm *vm, uint64_t addr, uint32_t data);
/* KVM_CHECK_EXTENSION on /dev/kvm: > 0 when the capability is there. */
int iovm_vm_has_cap(struct iovm_vm *vm, long cap);

/* Guest reboot: a fresh VM (irqchip, PIT, vCPUs in their power-on state) on the same
 * /dev/kvm fd and guest RAM. The vCPU threads must be stopped. */
int iovm_vm_rebuild(struct iovm_vm *vm);

void iovm_vm_print_stats(struct iovm_vm *vm, FILE *f);

#endif
