#include "vmm/blkreq.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

/* preadv (to_guest) or pwritev of the first len bytes of the chain's writable (IN) or
 * readable (OUT, after skip bytes of header) segments at file offset pos: one system call
 * for the whole request unless the kernel transfers less. 0, or -EIO. */
static int seg_io(const struct iovm_blk_backing *b, const struct iovm_virtq_chain *c,
		  bool to_guest, uint64_t skip, uint64_t len, uint64_t pos)
{
	struct iovec iov[IOVM_VIRTQ_MAX_SEGS];
	int n = 0, first = 0;

	for (unsigned i = 0; i < c->nseg && len; i++) {
		const struct iovm_virtq_seg *s = &c->seg[i];
		uint64_t l;

		if (s->write != to_guest)
			continue;
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		if (!s->hva)
			return -EIO;
		l = s->len - skip < len ? s->len - skip : len;
		iov[n++] = (struct iovec){ .iov_base = s->hva + skip, .iov_len = l };
		len -= l;
		skip = 0;
	}
	if (len)
		return -EIO;
	while (first < n) {
		ssize_t r = to_guest ? preadv(b->fd, iov + first, n - first, (off_t)pos)
				     : pwritev(b->fd, iov + first, n - first, (off_t)pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -EIO;	/* error, or the file shrank under the guest */
		pos += (uint64_t)r;
		while (first < n && (size_t)r >= iov[first].iov_len)
			r -= (ssize_t)iov[first++].iov_len;
		if (first < n) {
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + r;
			iov[first].iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* The data range [sector * 512, + len) is inside the disk and well sized. */
static bool range_ok(const struct iovm_blk_backing *b, uint64_t sector, uint64_t len)
{
	return len % IOVM_BLK_SECTOR == 0 && len <= IOVM_BLK_MAX_REQ &&
	       sector <= b->size / IOVM_BLK_SECTOR &&
	       len <= b->size - sector * IOVM_BLK_SECTOR;
}

static uint8_t do_req(const struct iovm_blk_backing *b, const struct iovm_virtq_chain *c,
		      uint64_t *written, struct iovm_blk_counts *n)
{
	struct blk_hdr h;
	uint64_t len;

	if (c->bad || iovm_virtq_copy_from(c, 0, &h, sizeof(h)) != sizeof(h))
		return VIRTIO_BLK_S_IOERR;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		len = c->wlen - 1;
		if (c->rlen != sizeof(h) || !range_ok(b, h.sector, len) ||
		    seg_io(b, c, true, 0, len, h.sector * IOVM_BLK_SECTOR) < 0)
			return VIRTIO_BLK_S_IOERR;
		*written = len;
		n->in++;
		n->bytes_in += len;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		len = c->rlen - sizeof(h);
		if (b->ro || c->wlen != 1 || !range_ok(b, h.sector, len) ||
		    seg_io(b, c, false, sizeof(h), len, h.sector * IOVM_BLK_SECTOR) < 0)
			return VIRTIO_BLK_S_IOERR;
		n->out++;
		n->bytes_out += len;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		n->flush++;
		/* What the guest wrote before reaches the disk: survives iovm's kill and the
		 * host's crash. A read-only disk has nothing of the guest's to flush. */
		if (!b->ro && fdatasync(b->fd) < 0)
			return VIRTIO_BLK_S_IOERR;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		len = c->wlen - 1 < VIRTIO_BLK_ID_BYTES ? c->wlen - 1 : VIRTIO_BLK_ID_BYTES;
		if (iovm_virtq_copy_to(c, 0, b->id, len) != len)
			return VIRTIO_BLK_S_IOERR;
		*written = len;
		n->get_id++;
		return VIRTIO_BLK_S_OK;
	default:
		n->unsupp++;
		return VIRTIO_BLK_S_UNSUPP;
	}
}

int64_t iovm_blkreq_run(const struct iovm_blk_backing *b, const struct iovm_virtq_chain *c,
			uint8_t *status, struct iovm_blk_counts *counts)
{
	struct iovm_blk_counts dummy;
	uint64_t written = 0;
	uint8_t st;

	if (!counts)
		counts = &dummy;
	/* The status byte first: without a place for it there is no answer to give. */
	if (c->wlen == 0 || iovm_virtq_copy_to(c, c->wlen - 1, &(uint8_t){ 0xff }, 1) != 1)
		return -EBADMSG;
	st = do_req(b, c, &written, counts);
	if (st == VIRTIO_BLK_S_IOERR) {
		counts->ioerr++;
		written = 0;
	}
	iovm_virtq_copy_to(c, c->wlen - 1, &st, 1);
	*status = st;
	return (int64_t)written + 1;
}
