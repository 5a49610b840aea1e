/* libFuzzer harness for iovm's virtqueue parser (vmm/virtq.c) and virtio-blk requests
 * (vmm/blkreq.c): the input is a guest's RAM image with a queue in it, and the harness
 * plays the device, taking every chain the ring offers, doing the request on a 32 KiB
 * in-memory disk and returning it, until the ring is empty or broken. Every segment the
 * parser hands out must lie inside guest RAM (abort() otherwise); ASan/UBSan catch the rest.
 *
 * Input: byte 0: queue size (1 << (b % 9)), bit 4 indirect descriptors, bit 5 read-only
 * disk; bytes 1-2: the device's starting avail index; the rest is copied to guest RAM from
 * address 0. The descriptor table is at 0x0, the avail ring at 0x1000, the used ring at
 * 0x2000 (RAM is 16 KiB, so descriptors may point outside it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/blkreq.h"
#include "vmm/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM	0x4000
#define DISK	0x8000

static uint8_t *ram;
static int disk_fd = -1;
static struct iovm_virtq_chain ch;

static void check_chain(const struct iovm_virtq_chain *c)
{
	if (c->nseg > IOVM_VIRTQ_MAX_SEGS)
		abort();
	for (unsigned i = 0; i < c->nseg; i++) {
		const struct iovm_virtq_seg *s = &c->seg[i];

		if (!s->hva)
			continue;
		if (s->hva < ram || s->hva > ram + RAM || s->len > (size_t)(ram + RAM - s->hva))
			abort();	/* a buffer outside guest RAM */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovm_mem mem;
	struct iovm_virtq q;
	struct iovm_blk_backing b;
	uint16_t start;
	unsigned qsize, rounds = 0;

	if (size < 3)
		return 0;
	if (!ram) {
		ram = aligned_alloc(4096, RAM);
		disk_fd = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (!ram || disk_fd < 0 || ftruncate(disk_fd, DISK) < 0)
			abort();
	}
	memset(ram, 0, RAM);
	memcpy(ram, data + 3, size - 3 < RAM ? size - 3 : RAM);
	mem = (struct iovm_mem){ .nbanks = 1, .size = RAM, .bank[0] = { 0, RAM, ram } };
	qsize = 1u << (data[0] % 9);
	b = (struct iovm_blk_backing){ .fd = disk_fd, .size = DISK, .ro = data[0] & 0x20,
				       .id = "fuzz" };
	if (iovm_virtq_start(&q, &mem, (uint16_t)qsize, 0x0, 0x1000, 0x2000, data[0] & 0x10) < 0)
		abort();	/* these rings always fit */
	memcpy(&start, data + 1, 2);
	q.last_avail = start;
	for (;;) {
		uint8_t st;
		int64_t len;
		int r = iovm_virtq_pop(&q, &ch);

		if (r <= 0 || ++rounds > 2 * qsize)
			break;
		check_chain(&ch);
		len = iovm_blkreq_run(&b, &ch, &st, NULL);
		if (len < 0)
			break;
		if (len > (int64_t)ch.wlen || st > VIRTIO_BLK_S_UNSUPP)
			abort();	/* more written than the guest offered */
		iovm_virtq_push(&q, ch.head, (uint32_t)len);
	}
	return 0;
}
