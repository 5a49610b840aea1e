#include "vmm/virtq.h"

#include <errno.h>
#include <string.h>

/* One descriptor as it lies in the table (little-endian, like the host). */
struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

_Static_assert(sizeof(struct vdesc) == 16, "a split-queue descriptor is 16 bytes");

static uint16_t load16_acquire(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static uint16_t load16(const uint8_t *p)
{
	return __atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED);
}

int iovm_virtq_start(struct iovm_virtq *q, const struct iovm_mem *mem, uint16_t size,
		     uint64_t desc, uint64_t avail, uint64_t used, bool indirect)
{
	uint8_t *d, *a, *u;

	if (size == 0 || (size & (size - 1)))
		return -EINVAL;
	if ((desc & 15) || (avail & 1) || (used & 3))
		return -EINVAL;
	d = iovm_mem_ptr(mem, desc, 16ull * size);
	a = iovm_mem_ptr(mem, avail, 6 + 2ull * size);
	u = iovm_mem_ptr(mem, used, 6 + 8ull * size);
	if (!d || !a || !u)
		return -EINVAL;
	*q = (struct iovm_virtq){ .mem = mem, .size = size, .indirect = indirect,
				  .desc_gpa = desc, .avail_gpa = avail, .used_gpa = used,
				  .desc = d, .avail = a, .used = u };
	return 0;
}

static void add_seg(const struct iovm_virtq *q, struct iovm_virtq_chain *c, const struct vdesc *d)
{
	struct iovm_virtq_seg *s = &c->seg[c->nseg++];
	bool w = d->flags & VIRTQ_DESC_F_WRITE;

	s->len = d->len;
	s->write = w;
	s->hva = iovm_mem_ptr(q->mem, d->addr, d->len);
	if (!s->hva)
		c->bad = true;			/* outside RAM */
	if (w) {
		c->wlen += d->len;
	} else {
		if (c->wlen)
			c->bad = true;		/* readable after writable: out of order */
		c->rlen += d->len;
	}
}

int iovm_virtq_pop(struct iovm_virtq *q, struct iovm_virtq_chain *c)
{
	const uint8_t *table = q->desc;
	uint32_t tsize = q->size, i, walked = 0;
	uint16_t avail_idx, head;
	bool in_indirect = false;

	if (!q->size)
		return 0;
	avail_idx = load16_acquire(q->avail + 2);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return -EBADMSG;		/* more buffers than the ring holds */
	head = load16(q->avail + 4 + 2u * (q->last_avail & (q->size - 1)));
	if (head >= q->size)
		return -EBADMSG;
	c->head = head;
	c->bad = false;
	c->nseg = 0;
	c->rlen = c->wlen = 0;
	i = head;
	for (;;) {
		struct vdesc d;

		/* Each descriptor at most once per table; all tables together bounded. */
		if (i >= tsize || ++walked > IOVM_VIRTQ_MAX_SEGS)
			return -EBADMSG;
		memcpy(&d, table + 16u * i, sizeof(d));	/* read once: the guest may change it */
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			/* Only as the whole chain (head, no NEXT), never inside a table. */
			if (!q->indirect || in_indirect || c->nseg || (d.flags & VIRTQ_DESC_F_NEXT) ||
			    d.len == 0 || d.len % 16 || d.len / 16 > IOVM_VIRTQ_MAX_SEGS)
				return -EBADMSG;
			table = iovm_mem_ptr(q->mem, d.addr, d.len);
			if (!table)
				return -EBADMSG;
			tsize = d.len / 16;
			in_indirect = true;
			walked = 0;
			i = 0;
			continue;
		}
		if (d.len)			/* zero-length buffers carry nothing: skipped */
			add_seg(q, c, &d);
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
	}
	q->last_avail++;
	return 1;
}

void iovm_virtq_push(struct iovm_virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *e = q->used + 4 + 8u * (q->used_idx & (q->size - 1));
	uint32_t id = head;

	memcpy(e, &id, 4);
	memcpy(e + 4, &len, 4);
	q->used_idx++;
	__atomic_store_n((uint16_t *)(void *)(q->used + 2), q->used_idx, __ATOMIC_RELEASE);
}

bool iovm_virtq_want_irq(const struct iovm_virtq *q)
{
	/* The used index must be visible before the driver's flags are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(load16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

static uint64_t chain_copy(const struct iovm_virtq_chain *c, bool write, uint64_t off,
			   uint8_t *buf, uint64_t len, bool to_guest)
{
	uint64_t done = 0;

	for (unsigned i = 0; i < c->nseg && done < len; i++) {
		const struct iovm_virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (s->write != write)
			continue;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		if (!s->hva)
			break;
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		if (to_guest)
			memcpy(s->hva + off, buf + done, n);
		else
			memcpy(buf + done, s->hva + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t iovm_virtq_copy_from(const struct iovm_virtq_chain *c, uint64_t off, void *buf,
			      uint64_t len)
{
	return chain_copy(c, false, off, buf, len, false);
}

uint64_t iovm_virtq_copy_to(const struct iovm_virtq_chain *c, uint64_t off, const void *buf,
			    uint64_t len)
{
	return chain_copy(c, true, off, (uint8_t *)buf, len, true);
}
