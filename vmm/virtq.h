/* Split virtqueues (virtio 1.x, section 2.7) as the device side sees them: pure code over
 * guest RAM (struct iovm_mem), so unit tests and the fuzzer drive it with a fake RAM.
 *
 * The guest owns the rings and may change them at any moment, so every value is read from
 * guest memory once and checked before use: a descriptor is copied out before its fields are
 * looked at, indices are checked against the queue size, addresses against RAM (each
 * segment must lie inside one RAM bank), chains are bounded (no loops, at most
 * IOVM_VIRTQ_MAX_SEGS descriptors), an indirect table must be in RAM, a multiple of 16
 * bytes, not nested and not mixed with other descriptors (VIRTIO_F_INDIRECT_DESC).
 *
 * Two kinds of error:
 *  - the ring itself is broken (an avail index that runs more than the queue size ahead, a
 *    head or next index out of range, a loop, a chain too long, a bad indirect table):
 *    iovm_virtq_pop() returns -EBADMSG and the device must stop using the queue and set
 *    DEVICE_NEEDS_RESET (it cannot tell which buffers are the guest's any more);
 *  - one buffer of an otherwise well-formed chain is outside RAM, or a readable descriptor
 *    follows a writable one: the chain comes back with `bad` set and the device completes
 *    it with an error status if it can. */
#ifndef IOVM_VIRTQ_H
#define IOVM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/mem.h"

#define IOVM_VIRTQ_MAX_SIZE	32768	/* the largest split queue (a power of two) */
#define IOVM_VIRTQ_MAX_SEGS	256	/* descriptors in one chain, indirect ones included */

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct iovm_virtq {
	const struct iovm_mem *mem;
	uint16_t size;			/* power of two, 1..32768 */
	bool indirect;			/* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host pointers to the three areas, checked to lie in RAM by iovm_virtq_start(). */
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;		/* next avail ring index the device takes */
	uint16_t used_idx;		/* next used ring index the device fills */
};

struct iovm_virtq_seg {
	uint8_t *hva;			/* NULL when the buffer is outside RAM (chain is bad) */
	uint32_t len;
	bool write;			/* device-writable */
};

struct iovm_virtq_chain {
	uint16_t head;
	bool bad;			/* see above */
	unsigned nseg;
	uint64_t rlen, wlen;		/* bytes in readable and writable segments */
	struct iovm_virtq_seg seg[IOVM_VIRTQ_MAX_SEGS];
};

/* Checks and maps the rings the driver configured: size a power of two <= 32768, the
 * areas aligned (16, 2, 4) and inside RAM. 0, or -EINVAL (the device refuses the queue). */
int iovm_virtq_start(struct iovm_virtq *q, const struct iovm_mem *mem, uint16_t size,
		     uint64_t desc, uint64_t avail, uint64_t used, bool indirect);
/* The next available chain: 1 (filled in c), 0 (none), -EBADMSG (ring broken). */
int iovm_virtq_pop(struct iovm_virtq *q, struct iovm_virtq_chain *c);
/* Returns the chain with head to the driver, len bytes written by the device; publishes the
 * used index (release order: the entry before the index). */
void iovm_virtq_push(struct iovm_virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt now (VIRTQ_AVAIL_F_NO_INTERRUPT clear). */
bool iovm_virtq_want_irq(const struct iovm_virtq *q);

/* Copies len bytes at byte offset off of the chain's readable (write=false) or writable
 * segments to or from buf. Returns the bytes copied (short at the end of the segments or
 * at a segment outside RAM). */
uint64_t iovm_virtq_copy_from(const struct iovm_virtq_chain *c, uint64_t off, void *buf,
			      uint64_t len);
uint64_t iovm_virtq_copy_to(const struct iovm_virtq_chain *c, uint64_t off, const void *buf,
			    uint64_t len);

#endif
