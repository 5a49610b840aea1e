/* Modern virtio-pci transport (virtio 1.x, section 4.1; no legacy interface): one PCI
 * function on iovm's bus with vendor-specific capabilities for the common, ISR, device and
 * notify structures in a 16 KiB memory BAR 0, and MSI-X (one vector for configuration
 * changes, one per queue) in the same BAR:
 *
 *   0x0000 common configuration      0x3000 queue notify (4 bytes per queue)
 *   0x1000 ISR status                0x3800 MSI-X table, 0x3c00 PBA
 *   0x2000 device configuration
 *
 * Queue notifications are KVM ioeventfds on the notify addresses (no exit to iovm; a
 * write KVM does not match lands in the BAR handler, which signals the same eventfd), so
 * the device's I/O thread waits on queue[i].kick_fd. Interrupts are injected with
 * KVM_SIGNAL_MSI from whichever thread completes; a masked vector is remembered as pending
 * and sent when the guest unmasks it. There is no INTx: a guest must use MSI-X (Linux
 * does unless booted with pci=nomsi). The VIRTIO_PCI_CAP_PCI_CFG window is not offered.
 *
 * Locking: everything in struct iovm_virtio is under v->lock. Guest accesses come from
 * vCPU threads holding the bus lock and take v->lock inside it; the I/O thread takes
 * v->lock alone and never the bus lock. */
#ifndef IOVM_VIRTIO_PCI_H
#define IOVM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/msix.h"
#include "vmm/pcicfg.h"
#include "vmm/virtq.h"
#include "vmm/vm.h"

#define IOVM_VIRTIO_MAX_QUEUES	4
#define IOVM_VIRTIO_QUEUE_SIZE	256	/* offered size; the driver may make it smaller */
#define IOVM_VIRTIO_CFG_MAX	64	/* device configuration bytes */

#define VIRTIO_F_VERSION_1	32
#define VIRTIO_F_INDIRECT_DESC	28

#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

struct iovm_virtio_queue {
	uint16_t size, vector;
	bool enabled;
	uint64_t desc, avail, used;
	struct iovm_virtq vq;		/* valid while enabled */
	int kick_fd;			/* eventfd: the guest's notifications */
};

struct iovm_virtio {
	pthread_mutex_t lock;
	struct iovm_vm *vm;
	const char *name;
	uint16_t device_id;		/* virtio device type: 2 = block */
	uint64_t features, driver_features;
	uint32_t dfsel, gfsel;
	uint8_t status, isr, cfg_gen;
	uint16_t config_vector, qsel;
	unsigned nq;
	struct iovm_virtio_queue q[IOVM_VIRTIO_MAX_QUEUES];
	uint8_t devcfg[IOVM_VIRTIO_CFG_MAX];
	unsigned devcfg_len;
	uint32_t gen;			/* bumped by every device reset */
	uint64_t resets_needed;		/* times the device went to NEEDS_RESET */
	/* PCI side */
	uint8_t hdr[IOVM_PCICFG_HDR];
	struct iovm_pcicfg cfg;
	struct iovm_msix msix;
	uint32_t pending;		/* MSI-X vectors fired while masked */
	uint64_t gpa0;
	bool mapped;
	uint64_t mapped_at;
};

/* Sets up the function and puts it on the bus; kick eventfds made here. devcfg: the device
 * configuration structure (read-only to the guest). -errno. */
int iovm_virtio_init(struct iovm_virtio *v, struct iovm_vm *vm, const char *name,
		     uint16_t device_id, uint16_t pci_class, uint64_t features, unsigned nq,
		     const void *devcfg, unsigned devcfg_len);
/* Guest reboot (no vCPU running): the device reset and BAR 0 back where it started. */
void iovm_virtio_reset(struct iovm_virtio *v);
void iovm_virtio_close(struct iovm_virtio *v);

/* With v->lock held. Whether queue qi may be processed (driver OK, queue enabled, no
 * NEEDS_RESET). */
bool iovm_virtio_queue_live(const struct iovm_virtio *v, unsigned qi);
/* The queue's used ring changed: an interrupt if the driver wants one. */
void iovm_virtio_queue_irq(struct iovm_virtio *v, unsigned qi);
/* The driver broke the ring: DEVICE_NEEDS_RESET and a configuration interrupt; the device
 * touches no queue until the driver resets it. */
void iovm_virtio_needs_reset(struct iovm_virtio *v, const char *why);

#endif
