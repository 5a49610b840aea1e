#include "vmm/blk.h"
#include "vmm/blkreq.h"
#include "vmm/virtio_pci.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK		2
#define VIRTIO_BLK_F_SIZE_MAX	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define BLK_SIZE_MAX		(1u << 20)	/* bytes per segment */
#define BLK_SEG_MAX		(IOVM_VIRTQ_MAX_SEGS - 2)	/* header and status too */
#define BLK_CFG_LEN		0x24		/* up to num_queues */

_Static_assert((uint64_t)BLK_SIZE_MAX * BLK_SEG_MAX <= IOVM_BLK_MAX_REQ,
	       "every request the driver may build fits the request limit");

struct disk {
	struct iovm_virtio v;
	struct iovm_blk_backing b;
	struct iovm_blk_counts n;
	struct iovm_virtq_chain chain;	/* the I/O thread's */
	char name[16];
	char desc[80];			/* for messages: the path or the fd */
	bool own_fd;
};

static struct {
	struct disk *d[IOVM_BLK_MAX];
	int n;
	int stop_fd;
	pthread_t thread;
	bool running;
} B = { .stop_fd = -1 };

int iovm_blk_parse(char *arg, bool is_fd, struct iovm_blk_spec *s)
{
	char *comma = strrchr(arg, ',');

	*s = (struct iovm_blk_spec){ .fd = -1 };
	if (comma && strcmp(comma, ",ro") == 0) {
		*comma = '\0';
		s->ro = true;
	}
	if (!*arg)
		return -EINVAL;
	if (is_fd) {
		char *end;
		long v;

		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || v < 0 || v > INT_MAX)
			return -EINVAL;
		s->fd = (int)v;
	} else {
		s->path = arg;
	}
	return 0;
}

static int backing_size(struct disk *d)
{
	struct stat st;
	uint64_t size;

	if (fstat(d->b.fd, &st) < 0)
		return log_err_errno(-errno, "%s: fstat", d->desc);
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->b.fd, BLKGETSIZE64, &size) < 0)
			return log_err_errno(-errno, "%s: BLKGETSIZE64", d->desc);
	} else {
		log_err("%s: not a regular file or a block device", d->desc);
		return -EINVAL;
	}
	if (size < IOVM_BLK_SECTOR) {
		log_err("%s: %" PRIu64 " bytes, less than one 512-byte sector (make the image "
			"bigger, e.g. truncate -s 64M)", d->desc, size);
		return -EINVAL;
	}
	if (size % IOVM_BLK_SECTOR)
		log_warn("%s: the last %" PRIu64 " bytes are not a whole sector; the guest does "
			 "not see them", d->desc, size % IOVM_BLK_SECTOR);
	d->b.size = size - size % IOVM_BLK_SECTOR;
	return 0;
}

/* Like QEMU: shared for a reader, exclusive for a writer, on the open file description, so
 * that two VMs never write one image and nothing writes under a reader. */
static int backing_lock(struct disk *d)
{
	struct flock fl = { .l_type = d->b.ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(d->b.fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		log_err("%s: in use: another process holds a %s lock on it (another VM using the "
			"image?); stop it, or give the disk read-only (,ro) if both only read",
			d->desc, d->b.ro ? "write" : "read or write");
		return -EBUSY;
	}
	return log_err_errno(-errno, "%s: F_OFD_SETLK", d->desc);
}

static int open_one(struct disk *d, const struct iovm_blk_spec *s, int idx)
{
	const char *base;
	int ret;

	d->b.ro = s->ro;
	d->b.fd = -1;
	snprintf(d->name, sizeof(d->name), "virtio-blk%d", idx);
	if (s->path) {
		snprintf(d->desc, sizeof(d->desc), "--disk %s", s->path);
		d->b.fd = open(s->path, (s->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (d->b.fd < 0)
			return log_err_errno(-errno, "%s: cannot open %s", d->desc,
					     s->ro ? "for reading" : "for reading and writing "
					     "(add ,ro for a read-only disk)");
		d->own_fd = true;
		if ((ret = backing_lock(d)) < 0)
			return ret;
		base = strrchr(s->path, '/');
		base = base ? base + 1 : s->path;
	} else {
		int fl = fcntl(s->fd, F_GETFL);

		snprintf(d->desc, sizeof(d->desc), "--disk-fd %d", s->fd);
		if (fl < 0)
			return log_err_errno(-errno, "%s: not an open file descriptor", d->desc);
		if ((fl & O_ACCMODE) == O_WRONLY || ((fl & O_ACCMODE) == O_RDONLY && !s->ro)) {
			log_err("%s: open %s, the disk needs %s (open it O_RDWR, or add ,ro)",
				d->desc, (fl & O_ACCMODE) == O_WRONLY ? "write-only" : "read-only",
				s->ro ? "reading" : "reading and writing");
			return -EBADF;
		}
		d->b.fd = s->fd;
		base = NULL;
	}
	if (base)	/* GET_ID: 20 bytes, NUL-padded when shorter */
		memcpy(d->b.id, base, strnlen(base, sizeof(d->b.id)));
	else
		snprintf(d->b.id, sizeof(d->b.id), "iovm-disk%d", idx);
	return backing_size(d);
}

int iovm_blk_open(const struct iovm_blk_spec *s, int n)
{
	if (n > IOVM_BLK_MAX) {
		log_err("--disk/--disk-fd: %d disks, at most %d", n, IOVM_BLK_MAX);
		return -E2BIG;
	}
	for (int i = 0; i < n; i++) {
		struct disk *d = calloc(1, sizeof(*d));
		int ret;

		if (!d)
			return -ENOMEM;
		for (int k = 0; k < IOVM_VIRTIO_MAX_QUEUES; k++)
			d->v.q[k].kick_fd = -1;		/* closed by iovm_blk_close */
		B.d[B.n++] = d;
		if ((ret = open_one(d, &s[i], i)) < 0)
			return ret;
		log_info("%s: %s, %" PRIu64 " sectors%s", d->name, d->desc,
			 d->b.size / IOVM_BLK_SECTOR, d->b.ro ? ", read-only" : "");
	}
	return 0;
}

int iovm_blk_init(struct iovm_vm *vm)
{
	if (B.n && (iovm_vm_has_cap(vm, KVM_CAP_IOEVENTFD) <= 0 ||
		    iovm_vm_has_cap(vm, KVM_CAP_SIGNAL_MSI) <= 0)) {
		log_err("virtio-blk needs KVM_CAP_IOEVENTFD and KVM_CAP_SIGNAL_MSI, which this KVM "
			"lacks");
		return -ENOTSUP;
	}
	for (int i = 0; i < B.n; i++) {
		struct disk *d = B.d[i];
		uint8_t cfg[BLK_CFG_LEN] = { 0 };
		uint64_t feat = (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_BLK_F_SIZE_MAX) |
				(1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
				(1ull << VIRTIO_BLK_F_FLUSH);
		uint64_t cap = d->b.size / IOVM_BLK_SECTOR;
		uint32_t size_max = BLK_SIZE_MAX, seg_max = BLK_SEG_MAX, bs = IOVM_BLK_SECTOR;
		uint16_t nq = 1;
		int ret;

		if (d->b.ro)
			feat |= 1ull << VIRTIO_BLK_F_RO;
		memcpy(cfg + 0x00, &cap, 8);		/* capacity in 512-byte sectors */
		memcpy(cfg + 0x08, &size_max, 4);
		memcpy(cfg + 0x0c, &seg_max, 4);
		memcpy(cfg + 0x14, &bs, 4);		/* blk_size */
		memcpy(cfg + 0x22, &nq, 2);		/* num_queues */
		ret = iovm_virtio_init(&d->v, vm, d->name, VIRTIO_ID_BLOCK, 0x0180, feat, 1, cfg,
				       sizeof(cfg));
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Every request the ring holds, with the device lock dropped around the disk I/O. */
static void disk_run(struct disk *d)
{
	struct iovm_virtio *v = &d->v;
	bool done = false;

	pthread_mutex_lock(&v->lock);
	while (iovm_virtio_queue_live(v, 0)) {
		uint32_t gen = v->gen;
		uint8_t st;
		int64_t len;
		int r = iovm_virtq_pop(&v->q[0].vq, &d->chain);

		if (r < 0) {
			iovm_virtio_needs_reset(v, "the guest's queue is broken (bad avail index, "
						"descriptor index, loop, chain too long or bad "
						"indirect table)");
			break;
		}
		if (r == 0)
			break;
		pthread_mutex_unlock(&v->lock);
		len = iovm_blkreq_run(&d->b, &d->chain, &st, &d->n);
		pthread_mutex_lock(&v->lock);
		if (gen != v->gen)
			break;		/* the driver reset the device meanwhile: nothing to answer */
		if (len < 0) {
			iovm_virtio_needs_reset(v, "a request without a writable status byte");
			break;
		}
		iovm_virtq_push(&v->q[0].vq, d->chain.head, (uint32_t)len);
		done = true;
	}
	if (done && iovm_virtio_queue_live(v, 0))
		iovm_virtio_queue_irq(v, 0);
	pthread_mutex_unlock(&v->lock);
}

static void *io_thread(void *arg)
{
	struct pollfd p[1 + IOVM_BLK_MAX];

	(void)arg;
	for (;;) {
		p[0] = (struct pollfd){ .fd = B.stop_fd, .events = POLLIN };
		for (int i = 0; i < B.n; i++)
			p[1 + i] = (struct pollfd){ .fd = B.d[i]->v.q[0].kick_fd, .events = POLLIN };
		if (poll(p, (nfds_t)(1 + B.n), -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err_errno(-errno, "virtio-blk I/O thread: poll");
			return NULL;
		}
		if (p[0].revents)
			return NULL;
		for (int i = 0; i < B.n; i++) {
			uint64_t cnt;

			if (!p[1 + i].revents)
				continue;
			if (read(p[1 + i].fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				log_warn_errno(-errno, "%s: reading the notify eventfd", B.d[i]->name);
			disk_run(B.d[i]);
		}
	}
}

int iovm_blk_start(void)
{
	int ret;

	if (!B.n || B.running)
		return 0;
	B.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (B.stop_fd < 0)
		return log_err_errno(-errno, "virtio-blk: eventfd");
	if ((ret = pthread_create(&B.thread, NULL, io_thread, NULL)) != 0)
		return log_err_errno(-ret, "virtio-blk: I/O thread");
	B.running = true;
	return 0;
}

void iovm_blk_stop(void)
{
	uint64_t one = 1;

	if (!B.running)
		return;
	if (write(B.stop_fd, &one, sizeof(one)) < 0)
		log_warn_errno(-errno, "virtio-blk: stopping the I/O thread");
	pthread_join(B.thread, NULL);
	B.running = false;
}

void iovm_blk_reset(void)
{
	for (int i = 0; i < B.n; i++)
		iovm_virtio_reset(&B.d[i]->v);
}

void iovm_blk_print_stats(FILE *f)
{
	for (int i = 0; i < B.n; i++) {
		const struct disk *d = B.d[i];

		fprintf(f, "iovm: %s (%s): %" PRIu64 " reads (%" PRIu64 " KiB), %" PRIu64
			" writes (%" PRIu64 " KiB), %" PRIu64 " flushes, %" PRIu64 " get-id, %" PRIu64
			" unsupported, %" PRIu64 " I/O errors, %" PRIu64 " needs-reset\n",
			d->name, d->desc, d->n.in, d->n.bytes_in >> 10, d->n.out, d->n.bytes_out >> 10,
			d->n.flush, d->n.get_id, d->n.unsupp, d->n.ioerr, d->v.resets_needed);
	}
}

void iovm_blk_close(void)
{
	iovm_blk_stop();
	for (int i = 0; i < B.n; i++) {
		struct disk *d = B.d[i];

		iovm_virtio_close(&d->v);
		if (d->own_fd && d->b.fd >= 0)
			close(d->b.fd);
		free(d);
		B.d[i] = NULL;
	}
	B.n = 0;
	if (B.stop_fd >= 0)
		close(B.stop_fd);
	B.stop_fd = -1;
}
