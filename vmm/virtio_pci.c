#include "vmm/virtio_pci.h"
#include "vmm/bus.h"
#include "vmm/pci.h"
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BAR_SIZE	0x4000
#define OFF_COMMON	0x0000
#define OFF_ISR		0x1000
#define OFF_DEVICE	0x2000
#define OFF_NOTIFY	0x3000
#define OFF_MSIX	0x3800
#define OFF_PBA		0x3c00
#define NOTIFY_MULT	4
#define COMMON_LEN	0x38
#define NO_VECTOR	0xffff

#define CAP_VNDR	0x09
#define CAP_MSIX_AT	0x40
#define CAP_VIRTIO_AT	0x50	/* common, ISR, device: 16 bytes each; notify: 20 */
enum { CFG_COMMON = 1, CFG_NOTIFY = 2, CFG_ISR = 3, CFG_DEVICE = 4 };

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- interrupts ---- */

static void vector_fire(struct iovm_virtio *v, uint16_t vec)
{
	int ret;

	if (vec >= v->msix.nr || !iovm_pcicfg_msix_enabled(&v->cfg))
		return;		/* no vector, or MSI-X off: no INTx to fall back on */
	if (iovm_pcicfg_msix_fmask(&v->cfg) || iovm_msix_masked(&v->msix, vec)) {
		v->pending |= 1u << vec;
		return;
	}
	ret = iovm_vm_signal_msi(v->vm, iovm_msix_addr(&v->msix, vec), iovm_msix_data(&v->msix, vec));
	if (ret < 0)
		log_warn_errno(ret, "%s: KVM_SIGNAL_MSI vector %u", v->name, vec);
}

/* After a mask or enable change: what fired while masked goes out now. */
static void pending_flush(struct iovm_virtio *v)
{
	uint32_t p = v->pending;

	v->pending = 0;
	for (uint16_t i = 0; p; i++, p >>= 1)
		if (p & 1)
			vector_fire(v, i);
}

void iovm_virtio_queue_irq(struct iovm_virtio *v, unsigned qi)
{
	if (qi >= v->nq || !iovm_virtq_want_irq(&v->q[qi].vq))
		return;
	v->isr |= 1;
	vector_fire(v, v->q[qi].vector);
}

void iovm_virtio_needs_reset(struct iovm_virtio *v, const char *why)
{
	if (v->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	log_warn("%s: %s; the device needs a reset by the guest driver (DEVICE_NEEDS_RESET)",
		 v->name, why);
	v->status |= VIRTIO_STATUS_NEEDS_RESET;
	v->resets_needed++;
	v->cfg_gen++;
	v->isr |= 2;
	vector_fire(v, v->config_vector);
}

bool iovm_virtio_queue_live(const struct iovm_virtio *v, unsigned qi)
{
	return qi < v->nq && v->q[qi].enabled && (v->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(v->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

/* ---- common configuration ---- */

static void device_reset(struct iovm_virtio *v)
{
	v->driver_features = 0;
	v->dfsel = v->gfsel = 0;
	v->status = v->isr = 0;
	v->config_vector = NO_VECTOR;
	v->qsel = 0;
	v->pending = 0;
	for (unsigned i = 0; i < v->nq; i++) {
		struct iovm_virtio_queue *q = &v->q[i];

		q->size = IOVM_VIRTIO_QUEUE_SIZE;
		q->vector = NO_VECTOR;
		q->enabled = false;
		q->desc = q->avail = q->used = 0;
		memset(&q->vq, 0, sizeof(q->vq));
	}
	v->gen++;	/* a request in flight on the I/O thread is dropped */
}

static void common_image(const struct iovm_virtio *v, uint8_t *img)
{
	memset(img, 0, COMMON_LEN);
	put32(img + 0x00, v->dfsel);
	put32(img + 0x04, v->dfsel < 2 ? (uint32_t)(v->features >> (32 * v->dfsel)) : 0);
	put32(img + 0x08, v->gfsel);
	put32(img + 0x0c, v->gfsel < 2 ? (uint32_t)(v->driver_features >> (32 * v->gfsel)) : 0);
	put16(img + 0x10, v->config_vector);
	put16(img + 0x12, (uint16_t)v->nq);
	img[0x14] = v->status;
	img[0x15] = v->cfg_gen;
	put16(img + 0x16, v->qsel);
	if (v->qsel < v->nq) {
		const struct iovm_virtio_queue *q = &v->q[v->qsel];

		put16(img + 0x18, q->size);
		put16(img + 0x1a, q->vector);
		put16(img + 0x1c, q->enabled);
		put16(img + 0x1e, v->qsel);	/* notify offset: queue index x 4 */
		put64(img + 0x20, q->desc);
		put64(img + 0x28, q->avail);
		put64(img + 0x30, q->used);
	}
}

static bool hit(uint64_t off, unsigned len, unsigned field, unsigned flen)
{
	return off < field + flen && field < off + len;
}

static void status_write(struct iovm_virtio *v, uint8_t s)
{
	if (s == 0) {
		device_reset(v);
		return;
	}
	/* FEATURES_OK only for a subset of what we offer that includes VERSION_1. */
	if ((s & VIRTIO_STATUS_FEATURES_OK) && !(v->status & VIRTIO_STATUS_FEATURES_OK) &&
	    (!(v->driver_features & (1ull << VIRTIO_F_VERSION_1)) ||
	     (v->driver_features & ~v->features))) {
		log_warn("%s: the driver accepted features %#" PRIx64 " of %#" PRIx64
			 " (VERSION_1 is required: no legacy interface)", v->name,
			 v->driver_features, v->features);
		s &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	v->status = (uint8_t)(s | (v->status & VIRTIO_STATUS_NEEDS_RESET));
}

static void queue_enable(struct iovm_virtio *v, struct iovm_virtio_queue *q)
{
	int ret = iovm_virtq_start(&q->vq, v->vm->mem, q->size, q->desc, q->avail, q->used,
				   v->driver_features & (1ull << VIRTIO_F_INDIRECT_DESC));

	if (ret < 0) {
		log_warn("%s: queue %u: size %u, rings at %#" PRIx64 "/%#" PRIx64 "/%#" PRIx64
			 " are not aligned or not in guest RAM", v->name, v->qsel, q->size, q->desc,
			 q->avail, q->used);
		iovm_virtio_needs_reset(v, "a queue the driver enabled is unusable");
		return;
	}
	q->enabled = true;
}

static void common_write(struct iovm_virtio *v, uint64_t off, uint64_t val, unsigned len)
{
	uint8_t img[COMMON_LEN];
	struct iovm_virtio_queue *q = v->qsel < v->nq ? &v->q[v->qsel] : NULL;
	bool locked = v->status & VIRTIO_STATUS_FEATURES_OK;

	if (off + len > COMMON_LEN)
		return;
	common_image(v, img);
	memcpy(img + off, &val, len);
	if (hit(off, len, 0x00, 4))
		v->dfsel = get32(img + 0x00);
	if (hit(off, len, 0x08, 4))
		v->gfsel = get32(img + 0x08);
	if (hit(off, len, 0x0c, 4) && !locked && v->gfsel < 2) {
		uint64_t mask = 0xffffffffull << (32 * v->gfsel);

		v->driver_features = (v->driver_features & ~mask) |
				     ((uint64_t)get32(img + 0x0c) << (32 * v->gfsel));
	}
	if (hit(off, len, 0x10, 2)) {
		uint16_t vec = get16(img + 0x10);

		v->config_vector = vec < v->msix.nr ? vec : NO_VECTOR;
	}
	if (hit(off, len, 0x14, 1))
		status_write(v, img[0x14]);
	if (hit(off, len, 0x16, 2))
		v->qsel = get16(img + 0x16);
	if (!q || v->qsel >= v->nq || q != &v->q[v->qsel])
		return;		/* no such queue (or the select just changed): nothing more */
	if (hit(off, len, 0x1a, 2)) {
		uint16_t vec = get16(img + 0x1a);

		q->vector = vec < v->msix.nr ? vec : NO_VECTOR;
	}
	if (q->enabled)
		return;		/* size and addresses are fixed once enabled */
	if (hit(off, len, 0x18, 2)) {
		uint16_t sz = get16(img + 0x18);

		/* Read back as written; checked when the queue is enabled. */
		q->size = sz <= IOVM_VIRTIO_QUEUE_SIZE ? sz : IOVM_VIRTIO_QUEUE_SIZE;
	}
	if (hit(off, len, 0x20, 8))
		q->desc = get64(img + 0x20);
	if (hit(off, len, 0x28, 8))
		q->avail = get64(img + 0x28);
	if (hit(off, len, 0x30, 8))
		q->used = get64(img + 0x30);
	if (hit(off, len, 0x1c, 2) && get16(img + 0x1c) == 1)
		queue_enable(v, q);
}

/* ---- BAR 0 ---- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned len)
{
	struct iovm_virtio *v = opaque;
	uint64_t r = 0;

	pthread_mutex_lock(&v->lock);
	if (off + len <= OFF_COMMON + COMMON_LEN) {
		uint8_t img[COMMON_LEN];

		common_image(v, img);
		memcpy(&r, img + off, len);
	} else if (off == OFF_ISR) {
		r = v->isr;		/* reading clears it */
		v->isr = 0;
	} else if (off >= OFF_DEVICE && off + len <= OFF_DEVICE + v->devcfg_len) {
		memcpy(&r, v->devcfg + (off - OFF_DEVICE), len);
	} else if (off >= OFF_MSIX && off < OFF_PBA) {
		r = iovm_msix_table_read(&v->msix, off - OFF_MSIX, len);
	} else if (off >= OFF_PBA) {
		r = iovm_msix_pba_read(&v->msix, off - OFF_PBA, len);
	}
	pthread_mutex_unlock(&v->lock);
	return r;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned len)
{
	struct iovm_virtio *v = opaque;

	pthread_mutex_lock(&v->lock);
	if (off + len <= OFF_COMMON + COMMON_LEN) {
		common_write(v, off, val, len);
	} else if (off >= OFF_NOTIFY && off < OFF_NOTIFY + NOTIFY_MULT * v->nq) {
		/* A write KVM's ioeventfd did not take (another size): the same wake-up. */
		uint64_t one = 1;

		if (write(v->q[(off - OFF_NOTIFY) / NOTIFY_MULT].kick_fd, &one, sizeof(one)) < 0) {
			/* counter full: the I/O thread is woken already */
		}
	} else if (off >= OFF_MSIX && off < OFF_PBA) {
		if (iovm_msix_table_write(&v->msix, off - OFF_MSIX, len, val) >= 0)
			pending_flush(v);
	}
	pthread_mutex_unlock(&v->lock);
}

static const struct iovm_bus_ops bar_ops = { .read = bar_read, .write = bar_write };

static void ioeventfds(struct iovm_virtio *v, uint64_t base, bool assign)
{
	for (unsigned i = 0; i < v->nq; i++) {
		int ret = iovm_vm_ioeventfd(v->vm, v->q[i].kick_fd, base + OFF_NOTIFY + NOTIFY_MULT * i,
					    2, assign);

		if (ret < 0)	/* notifications still arrive, through the BAR handler */
			log_warn_errno(ret, "%s: KVM_IOEVENTFD queue %u at %#" PRIx64, v->name, i,
				       base + OFF_NOTIFY + NOTIFY_MULT * i);
	}
}

/* Memory decode on and BAR 0 inside the window: the BAR is on the bus. */
static void bar_update(struct iovm_virtio *v)
{
	uint64_t gpa = v->cfg.bar[0].gpa;
	bool want = (iovm_pcicfg_command(&v->cfg) & 0x2) && gpa >= IOVM_PCI_MMIO_START &&
		    gpa + BAR_SIZE <= IOVM_PCI_MMIO_END;

	if (v->mapped && (!want || v->mapped_at != gpa)) {
		ioeventfds(v, v->mapped_at, false);
		iovm_bus_del(IOVM_MMIO, v->mapped_at, v);
		v->mapped = false;
	}
	if (want && !v->mapped && iovm_bus_add(IOVM_MMIO, gpa, BAR_SIZE, v->name, &bar_ops, v) == 0) {
		v->mapped = true;
		v->mapped_at = gpa;
		ioeventfds(v, gpa, true);
	}
}

/* ---- config space ---- */

static int hdr_read(void *ctx, unsigned off, unsigned len, uint32_t *val)
{
	struct iovm_virtio *v = ctx;
	uint32_t r = 0;

	memcpy(&r, v->hdr + off, len);
	*val = r;
	return 0;
}

static int hdr_write(void *ctx, unsigned off, unsigned len, uint32_t val)
{
	return 0;	/* the device side of the header is read-only */
}

static const struct iovm_pcicfg_ops hdr_ops = { hdr_read, hdr_write };

static uint32_t cfg_read(void *opaque, unsigned off, unsigned len)
{
	struct iovm_virtio *v = opaque;
	uint32_t r;

	pthread_mutex_lock(&v->lock);
	r = iovm_pcicfg_read(&v->cfg, off, len);
	pthread_mutex_unlock(&v->lock);
	return r;
}

static void cfg_write(void *opaque, unsigned off, uint32_t val, unsigned len)
{
	struct iovm_virtio *v = opaque;
	unsigned ev;

	pthread_mutex_lock(&v->lock);
	ev = iovm_pcicfg_write(&v->cfg, off, len, val);
	if (ev & (IOVM_PCICFG_EV_CMD | IOVM_PCICFG_EV_BAR(0)))
		bar_update(v);
	if (ev & IOVM_PCICFG_EV_MSIX)
		pending_flush(v);
	pthread_mutex_unlock(&v->lock);
}

static const struct iovm_pci_ops pci_ops = { .cfg_read = cfg_read, .cfg_write = cfg_write };

static void virtio_cap(uint8_t *p, uint8_t next, uint8_t type, uint32_t off, uint32_t len,
		       uint8_t caplen)
{
	p[0] = CAP_VNDR;
	p[1] = next;
	p[2] = caplen;
	p[3] = type;
	p[4] = 0;		/* BAR 0 */
	put32(p + 8, off);
	put32(p + 12, len);
}

/* The header "the device" has; iovm_pcicfg builds the guest's view of it (BAR sizing,
 * command, MSI-X control), then the virtio capabilities are chained after MSI-X in that
 * view as read-only bytes. */
static int cfg_setup(struct iovm_virtio *v, uint16_t pci_class)
{
	const uint64_t sizes[IOVM_PCI_NBARS] = { BAR_SIZE };
	uint8_t *c = v->cfg.vcfg, at = CAP_VIRTIO_AT;
	int ret;

	memset(v->hdr, 0, sizeof(v->hdr));
	put16(v->hdr + 0x00, 0x1af4);			/* virtio */
	put16(v->hdr + 0x02, (uint16_t)(0x1040 + v->device_id));	/* modern-only ID */
	put16(v->hdr + 0x06, 0x0010);			/* capability list */
	v->hdr[0x08] = 1;				/* revision 1: no legacy */
	put16(v->hdr + 0x0a, pci_class);
	put16(v->hdr + 0x2c, 0x1af4);			/* subsystem vendor */
	put16(v->hdr + 0x2e, 0x0040);			/* subsystem: >= 0x40 for modern */
	v->hdr[0x34] = CAP_MSIX_AT;
	v->hdr[CAP_MSIX_AT] = PCI_CAP_ID_MSIX;
	put16(v->hdr + CAP_MSIX_AT + 2, (uint16_t)(v->msix.nr - 1));
	put32(v->hdr + CAP_MSIX_AT + 4, OFF_MSIX);	/* BIR 0 */
	put32(v->hdr + CAP_MSIX_AT + 8, OFF_PBA);
	if ((ret = iovm_pcicfg_init(&v->cfg, v->hdr, sizes, &hdr_ops, v)) < 0)
		return ret;
	c[CAP_MSIX_AT + 1] = at;
	virtio_cap(c + at, at + 16, CFG_COMMON, OFF_COMMON, COMMON_LEN, 16);
	at += 16;
	virtio_cap(c + at, at + 16, CFG_ISR, OFF_ISR, 1, 16);
	at += 16;
	virtio_cap(c + at, at + 16, CFG_DEVICE, OFF_DEVICE, v->devcfg_len, 16);
	at += 16;
	virtio_cap(c + at, 0, CFG_NOTIFY, OFF_NOTIFY, NOTIFY_MULT * v->nq, 20);
	put32(c + at + 16, NOTIFY_MULT);
	return 0;
}

int iovm_virtio_init(struct iovm_virtio *v, struct iovm_vm *vm, const char *name,
		     uint16_t device_id, uint16_t pci_class, uint64_t features, unsigned nq,
		     const void *devcfg, unsigned devcfg_len)
{
	int ret;

	if (nq == 0 || nq > IOVM_VIRTIO_MAX_QUEUES || devcfg_len > IOVM_VIRTIO_CFG_MAX)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->lock, NULL);
	v->vm = vm;
	v->name = name;
	v->device_id = device_id;
	v->features = features | (1ull << VIRTIO_F_VERSION_1);
	v->nq = nq;
	memcpy(v->devcfg, devcfg, devcfg_len);
	v->devcfg_len = devcfg_len;
	for (unsigned i = 0; i < IOVM_VIRTIO_MAX_QUEUES; i++)
		v->q[i].kick_fd = -1;
	for (unsigned i = 0; i < nq; i++) {
		v->q[i].kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->q[i].kick_fd < 0)
			return log_err_errno(-errno, "%s: eventfd", name);
	}
	device_reset(v);
	if ((ret = iovm_msix_init(&v->msix, nq + 1)) < 0 || (ret = cfg_setup(v, pci_class)) < 0 ||
	    (ret = iovm_pci_alloc_mmio(BAR_SIZE, &v->gpa0)) < 0)
		return log_err_errno(ret, "%s: PCI function", name);
	iovm_pcicfg_write(&v->cfg, 0x10, 4, (uint32_t)v->gpa0);
	ret = iovm_pci_add(name, &pci_ops, v);
	return ret < 0 ? log_err_errno(ret, "%s: no free slot on PCI bus 0", name) : 0;
}

void iovm_virtio_reset(struct iovm_virtio *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->mapped) {
		ioeventfds(v, v->mapped_at, false);
		iovm_bus_del(IOVM_MMIO, v->mapped_at, v);
		v->mapped = false;
	}
	device_reset(v);
	iovm_msix_init(&v->msix, v->msix.nr);
	if (cfg_setup(v, get16(v->hdr + 0x0a)) == 0)
		iovm_pcicfg_write(&v->cfg, 0x10, 4, (uint32_t)v->gpa0);
	pthread_mutex_unlock(&v->lock);
}

void iovm_virtio_close(struct iovm_virtio *v)
{
	for (unsigned i = 0; i < IOVM_VIRTIO_MAX_QUEUES; i++) {
		if (v->q[i].kick_fd >= 0)
			close(v->q[i].kick_fd);
		v->q[i].kick_fd = -1;
	}
}
