/* virtio-blk requests (virtio 1.x, section 5.2.6) on a backing file: decoding a chain from
 * the queue, checking it against the disk, and doing the I/O with preadv/pwritev/fdatasync on
 * the backing fd. No KVM here: unit tests and the fuzzer run it on a temporary file.
 *
 * A request is a 16-byte header (type, reserved, sector) in readable buffers, data (OUT:
 * readable after the header; IN and GET_ID: writable), and one status byte: the last
 * writable byte. Sizes are checked: data a multiple of 512 bytes, [sector * 512, + len)
 * inside the disk, at most IOVM_BLK_MAX_REQ bytes. A read-only disk answers OUT with
 * VIRTIO_BLK_S_IOERR; unknown types get VIRTIO_BLK_S_UNSUPP. */
#ifndef IOVM_BLKREQ_H
#define IOVM_BLKREQ_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtq.h"

#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2
#define VIRTIO_BLK_ID_BYTES	20
#define IOVM_BLK_SECTOR		512
#define IOVM_BLK_MAX_REQ	(256u << 20)	/* one request's data, bytes */

struct iovm_blk_backing {
	int fd;
	uint64_t size;		/* bytes the guest sees: the file's size rounded down to 512 */
	bool ro;
	char id[VIRTIO_BLK_ID_BYTES];	/* GET_ID answer (not NUL-terminated when 20 long) */
};

struct iovm_blk_counts {
	uint64_t in, out, flush, get_id, unsupp, ioerr;
	uint64_t bytes_in, bytes_out;
};

/* Does the request in c. Returns the bytes written to the guest's buffers (data and the
 * status byte) for the used ring, or -EBADMSG when the chain has no status byte the device
 * can write (the driver cannot be told: the caller puts the device in NEEDS_RESET).
 * *status gets the status byte written. counts may be NULL. */
int64_t iovm_blkreq_run(const struct iovm_blk_backing *b, const struct iovm_virtq_chain *c,
			uint8_t *status, struct iovm_blk_counts *counts);

#endif
