/* virtio-blk disks (modern virtio-pci, vmm/virtio_pci.h) backed by a file or a block
 * device, with one I/O thread for all disks: it waits on the queues' ioeventfds, takes
 * requests off the ring (vmm/virtq.h), does them with preadv/pwritev/fdatasync on the
 * backing fd (vmm/blkreq.h) and injects the completion interrupt. vCPU threads never do
 * disk I/O.
 *
 * Features offered: VERSION_1, INDIRECT_DESC, SEG_MAX, SIZE_MAX, BLK_SIZE (512), FLUSH, and
 * RO for a read-only disk. One queue of 256 per disk. */
#ifndef IOVM_BLK_H
#define IOVM_BLK_H

#include <stdbool.h>
#include <stdio.h>

#include "vmm/vm.h"

#define IOVM_BLK_MAX	8	/* disks per VM */

struct iovm_blk_spec {
	const char *path;	/* --disk PATH (NULL with --disk-fd) */
	int fd;			/* --disk-fd N, else -1 */
	bool ro;
};

/* Parses "PATH[,ro]" (path) or "N[,ro]" (fd) into s; the string is modified. -EINVAL. */
int iovm_blk_parse(char *arg, bool is_fd, struct iovm_blk_spec *s);
/* Opens (--disk: read-only or read-write, with an OFD lock, shared for read-only and
 * exclusive for read-write, refused when another process holds a conflicting one) or
 * checks (--disk-fd: its access mode must allow what is asked) each backing file, and
 * takes its size. Before the sandbox. -errno, message logged. */
int iovm_blk_open(const struct iovm_blk_spec *s, int n);
/* The PCI functions, one per disk, on bus 0. */
int iovm_blk_init(struct iovm_vm *vm);
/* The I/O thread (when there are disks). */
int iovm_blk_start(void);
void iovm_blk_stop(void);
/* Guest reboot (vCPUs stopped): every disk reset. */
void iovm_blk_reset(void);
void iovm_blk_print_stats(FILE *f);
void iovm_blk_close(void);

#endif
