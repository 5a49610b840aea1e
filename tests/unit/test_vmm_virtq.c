/* The split-virtqueue parser (vmm/virtq.c) against hostile rings, and virtio-blk requests
 * (vmm/blkreq.c) on a temporary backing file: a guest that lies gets an error status or a
 * broken-ring answer (the device then asks for a reset), never a crash or a touch outside
 * its RAM. Guest RAM is a 256 KiB buffer at guest address 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/blkreq.h"
#include "vmm/virtq.h"

#define RAM	(256u << 10)
#define DESC	0x1000ull		/* rings of the tests' queue */
#define AVAIL	0x3000ull
#define USED	0x4000ull
#define BUF	0x10000ull		/* data buffers */
#define OUTSIDE	(RAM + 0x1000ull)	/* not guest RAM */

static uint8_t *ram;
static struct iovm_mem mem;
static struct iovm_virtq q;
static struct iovm_virtq_chain ch;

/* Descriptor i of the table at guest address table (an indirect one, or the queue's). */
static void idesc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		  uint16_t next)
{
	uint8_t *d = ram + table + 16u * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	idesc(DESC, i, addr, len, flags, next);
}

/* The usual request shape: header (16 readable bytes at BUF), data (len writable bytes at
 * data), status (one writable byte at status): descriptors 0, 1, 2. */
static void chain3(uint64_t data, uint32_t len, uint64_t status)
{
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, data, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(2, status, 1, VIRTQ_DESC_F_WRITE, 0);
}

static uint16_t avail_idx(void)
{
	uint16_t v;

	memcpy(&v, ram + AVAIL + 2, 2);
	return v;
}

/* Offers the chain starting at head. */
static void offer(uint16_t head)
{
	uint16_t idx = avail_idx();

	memcpy(ram + AVAIL + 4 + 2u * (idx % q.size), &head, 2);
	idx++;
	memcpy(ram + AVAIL + 2, &idx, 2);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, ram + USED + 2, 2);
	return v;
}

static int setup(void **state)
{
	ram = calloc(1, RAM);
	assert_non_null(ram);
	mem = (struct iovm_mem){ .nbanks = 1, .size = RAM,
				 .bank[0] = { .gpa = 0, .size = RAM, .hva = ram } };
	assert_int_equal(iovm_virtq_start(&q, &mem, 16, DESC, AVAIL, USED, true), 0);
	return 0;
}

/* Zeroed RAM and a new queue, within one test. */
static void fresh(void)
{
	memset(ram, 0, RAM);
	assert_int_equal(iovm_virtq_start(&q, &mem, 16, DESC, AVAIL, USED, true), 0);
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

static void start_checks(void **state)
{
	struct iovm_virtq t;

	assert_int_equal(iovm_virtq_start(&t, &mem, 0, DESC, AVAIL, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 12, DESC, AVAIL, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 16, DESC + 8, AVAIL, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 16, DESC, AVAIL + 1, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 16, DESC, AVAIL, USED + 2, false), -EINVAL);
	/* a ring that runs past the end of RAM, or lies outside it */
	assert_int_equal(iovm_virtq_start(&t, &mem, 16, RAM - 128, AVAIL, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 16, DESC, OUTSIDE, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 32768, DESC, AVAIL, USED, false), -EINVAL);
	assert_int_equal(iovm_virtq_start(&t, &mem, 256, DESC, AVAIL, USED, false), 0);
}

static void empty(void **state)
{
	assert_int_equal(iovm_virtq_pop(&q, &ch), 0);
}

static void simple_chain_and_push(void **state)
{
	chain3(BUF + 0x1000, 512, BUF + 0x2000);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(ch.head, 0);
	assert_int_equal(ch.nseg, 3);
	assert_false(ch.bad);
	assert_int_equal(ch.rlen, 16);
	assert_int_equal(ch.wlen, 513);
	assert_ptr_equal(ch.seg[1].hva, ram + BUF + 0x1000);
	assert_true(ch.seg[1].write);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 0);
	iovm_virtq_push(&q, 0, 513);
	assert_int_equal(used_idx(), 1);
	{
		uint32_t id, len;

		memcpy(&id, ram + USED + 4, 4);
		memcpy(&len, ram + USED + 8, 4);
		assert_int_equal(id, 0);
		assert_int_equal(len, 513);
	}
	assert_true(iovm_virtq_want_irq(&q));
	ram[AVAIL] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	assert_false(iovm_virtq_want_irq(&q));
}

static void loop_is_broken_ring(void **state)
{
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);		/* back to 0 */
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* nothing consumed: the same answer again, no progress on a broken ring */
	assert_int_equal(q.last_avail, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* a self loop too */
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
}

static void bad_indices(void **state)
{
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 16);	/* next == size */
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	fresh();
	offer(16);					/* head == size */
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	fresh();
	offer(0xffff);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* an avail index more than the ring size ahead */
	fresh();
	desc(0, BUF, 16, 0, 0);
	memcpy(ram + AVAIL + 2, &(uint16_t){ 17 }, 2);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	memcpy(ram + AVAIL + 2, &(uint16_t){ 0xffff }, 2);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* exactly the ring size ahead is fine */
	memcpy(ram + AVAIL + 2, &(uint16_t){ 16 }, 2);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
}

static void outside_ram_is_a_bad_chain(void **state)
{
	chain3(OUTSIDE, 512, BUF + 0x2000);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_true(ch.bad);
	assert_null(ch.seg[1].hva);
	/* straddling the end of RAM, and an address that wraps */
	desc(1, RAM - 256, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_true(ch.bad);
	desc(1, UINT64_MAX - 100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_true(ch.bad);
}

static void zero_length_skipped(void **state)
{
	chain3(OUTSIDE, 0, BUF + 0x2000);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_false(ch.bad);
	assert_int_equal(ch.nseg, 2);
	assert_int_equal(ch.wlen, 1);
}

static void readable_after_writable(void **state)
{
	desc(0, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF, 16, 0, 0);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_true(ch.bad);
}

static void huge_chains(void **state)
{
	struct iovm_virtq big;

	/* A queue of 512 and a chain through all of it: longer than any request. */
	assert_int_equal(iovm_virtq_start(&big, &mem, 512, 0x20000, AVAIL, 0x24000, false), 0);
	for (unsigned i = 0; i < 512; i++)
		idesc(0x20000, i, BUF, 1, i < 511 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	memcpy(ram + AVAIL + 2, &(uint16_t){ 1 }, 2);
	memcpy(ram + AVAIL + 4, &(uint16_t){ 0 }, 2);
	assert_int_equal(iovm_virtq_pop(&big, &ch), -EBADMSG);
	/* IOVM_VIRTQ_MAX_SEGS descriptors are fine */
	memcpy(ram + AVAIL + 4, &(uint16_t){ 512 - IOVM_VIRTQ_MAX_SEGS }, 2);
	assert_int_equal(iovm_virtq_pop(&big, &ch), 1);
	assert_int_equal(ch.nseg, IOVM_VIRTQ_MAX_SEGS);
	/* an indirect table longer than that */
	big.indirect = true;
	big.last_avail = 0;
	memcpy(ram + AVAIL + 4, &(uint16_t){ 0 }, 2);
	desc(0, BUF, 16 * (IOVM_VIRTQ_MAX_SEGS + 1), VIRTQ_DESC_F_INDIRECT, 0);
	memcpy(ram + 0x20000, ram + DESC, 16);
	assert_int_equal(iovm_virtq_pop(&big, &ch), -EBADMSG);
}

static void indirect(void **state)
{
	const uint64_t T = 0x8000;

	idesc(T, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	idesc(T, 1, BUF + 0x1000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	idesc(T, 2, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(3, T, 48, VIRTQ_DESC_F_INDIRECT, 0);
	offer(3);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(ch.head, 3);
	assert_int_equal(ch.nseg, 3);
	assert_int_equal(ch.wlen, 4097);
	assert_false(ch.bad);

	/* not negotiated */
	q.indirect = false;
	offer(3);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	q.indirect = true;
	q.last_avail++;
	/* with NEXT, length not a multiple of 16, empty, outside RAM */
	desc(3, T, 48, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 4);
	offer(3);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	desc(3, T, 40, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	desc(3, T, 0, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	desc(3, OUTSIDE, 48, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* nested: an indirect descriptor inside the table */
	desc(3, T, 48, VIRTQ_DESC_F_INDIRECT, 0);
	idesc(T, 1, T, 48, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* after a normal descriptor in the same chain */
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 3);
	idesc(T, 1, BUF + 0x1000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	offer(0);
	q.last_avail++;
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
	/* a loop inside the table */
	idesc(T, 2, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	desc(0, T, 48, VIRTQ_DESC_F_INDIRECT, 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), -EBADMSG);
}

static void index_wraps(void **state)
{
	q.last_avail = 0xffff;
	q.used_idx = 0xffff;
	memcpy(ram + AVAIL + 2, &(uint16_t){ 0xffff }, 2);
	desc(5, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(5);				/* avail idx wraps to 0 */
	assert_int_equal(avail_idx(), 0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(ch.head, 5);
	assert_int_equal(q.last_avail, 0);
	iovm_virtq_push(&q, 5, 1);
	assert_int_equal(used_idx(), 0);
}

/* ---- virtio-blk requests ---- */

static int bfd = -1;
static struct iovm_blk_backing bk;

static int blk_setup(void **state)
{
	char path[] = "/tmp/test_vmm_virtq.XXXXXX";
	uint8_t sector[IOVM_BLK_SECTOR];

	setup(state);
	bfd = mkstemp(path);
	assert_true(bfd >= 0);
	unlink(path);
	for (unsigned s = 0; s < 64; s++) {	/* 64 sectors, each filled with its number */
		memset(sector, (int)s, sizeof(sector));
		assert_int_equal(write(bfd, sector, sizeof(sector)), (ssize_t)sizeof(sector));
	}
	bk = (struct iovm_blk_backing){ .fd = bfd, .size = 64 * IOVM_BLK_SECTOR, .id = "disk-id" };
	return 0;
}

static int blk_teardown(void **state)
{
	close(bfd);
	return teardown(state);
}

/* A request: header at BUF, data at BUF+0x1000 (len, readable or writable), status at
 * BUF+0x3000. Returns the value of iovm_blkreq_run(). */
static int64_t req(uint32_t type, uint64_t sector, uint32_t len, bool data_write, uint8_t *st)
{
	struct { uint32_t type, res; uint64_t sector; } h = { type, 0, sector };

	memcpy(ram + BUF, &h, sizeof(h));
	ram[BUF + 0x3000] = 0x77;
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
	desc(1, BUF + 0x1000, len, VIRTQ_DESC_F_NEXT | (data_write ? VIRTQ_DESC_F_WRITE : 0), 2);
	desc(2, BUF + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	return iovm_blkreq_run(&bk, &ch, st, NULL);
}

static void blk_in_out(void **state)
{
	uint8_t st, back[1024];

	assert_int_equal(req(VIRTIO_BLK_T_IN, 3, 1024, true, &st), 1025);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(ram[BUF + 0x3000], VIRTIO_BLK_S_OK);
	assert_int_equal(ram[BUF + 0x1000], 3);
	assert_int_equal(ram[BUF + 0x1000 + 1023], 4);
	memset(ram + BUF + 0x1000, 0xab, 1024);
	assert_int_equal(req(VIRTIO_BLK_T_OUT, 62, 1024, false, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(pread(bfd, back, sizeof(back), 62 * 512), (ssize_t)sizeof(back));
	assert_int_equal(back[0], 0xab);
	assert_int_equal(back[1023], 0xab);
	/* IN over three buffers of 512, 1024 and 512 bytes: sectors 8, 9-10 and 11 */
	desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, BUF + 0x1000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(2, BUF + 0x5000, 1024, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	desc(3, BUF + 0x8000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	desc(4, BUF + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
	memcpy(ram + BUF, &(struct { uint32_t t, r; uint64_t s; }){ VIRTIO_BLK_T_IN, 0, 8 }, 16);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(iovm_blkreq_run(&bk, &ch, &st, NULL), 2049);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(ram[BUF + 0x1000 + 511], 8);
	assert_int_equal(ram[BUF + 0x5000], 9);
	assert_int_equal(ram[BUF + 0x5000 + 1023], 10);
	assert_int_equal(ram[BUF + 0x8000], 11);
	assert_int_equal(req(VIRTIO_BLK_T_FLUSH, 0, 0, false, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(req(VIRTIO_BLK_T_GET_ID, 0, 20, true, &st), 21);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_memory_equal(ram + BUF + 0x1000, "disk-id\0", 8);
	assert_int_equal(req(77, 0, 512, true, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_UNSUPP);
}

static void blk_bounds(void **state)
{
	uint8_t st, back[512];

	/* past the end, ending exactly at it, a sector number that overflows when scaled */
	assert_int_equal(req(VIRTIO_BLK_T_IN, 63, 1024, true, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(ram[BUF + 0x3000], VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(VIRTIO_BLK_T_IN, 62, 1024, true, &st), 1025);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(req(VIRTIO_BLK_T_OUT, UINT64_MAX / 256, 512, false, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(VIRTIO_BLK_T_IN, 64, 512, true, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* not a whole number of sectors */
	assert_int_equal(req(VIRTIO_BLK_T_IN, 0, 100, true, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* read-only: OUT refused, the file unchanged */
	bk.ro = true;
	memset(ram + BUF + 0x1000, 0xcd, 512);
	assert_int_equal(req(VIRTIO_BLK_T_OUT, 5, 512, false, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	assert_int_equal(pread(bfd, back, sizeof(back), 5 * 512), (ssize_t)sizeof(back));
	assert_int_equal(back[0], 5);
	assert_int_equal(req(VIRTIO_BLK_T_IN, 5, 512, true, &st), 513);
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	bk.ro = false;
	/* the header cut short */
	desc(0, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(iovm_blkreq_run(&bk, &ch, &st, NULL), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
}

static void blk_hostile_buffers(void **state)
{
	uint8_t st;

	/* data outside RAM: an error status, nothing read into the guest */
	chain3(OUTSIDE, 512, BUF + 0x3000);
	memcpy(ram + BUF, &(uint32_t){ VIRTIO_BLK_T_IN }, 4);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(iovm_blkreq_run(&bk, &ch, &st, NULL), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* the status byte outside RAM, or no writable byte at all: no answer possible */
	chain3(BUF + 0x1000, 512, OUTSIDE);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(iovm_blkreq_run(&bk, &ch, &st, NULL), -EBADMSG);
	desc(0, BUF, 16, 0, 0);
	offer(0);
	assert_int_equal(iovm_virtq_pop(&q, &ch), 1);
	assert_int_equal(iovm_blkreq_run(&bk, &ch, &st, NULL), -EBADMSG);
	/* OUT with the data in writable buffers (wrong direction) */
	assert_int_equal(req(VIRTIO_BLK_T_OUT, 0, 512, true, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
	/* IN with readable data buffers: the data length counted is 0 after the header... */
	assert_int_equal(req(VIRTIO_BLK_T_IN, 0, 512, false, &st), 1);
	assert_int_equal(st, VIRTIO_BLK_S_IOERR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(start_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(empty, setup, teardown),
		cmocka_unit_test_setup_teardown(simple_chain_and_push, setup, teardown),
		cmocka_unit_test_setup_teardown(loop_is_broken_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_indices, setup, teardown),
		cmocka_unit_test_setup_teardown(outside_ram_is_a_bad_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_length_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(huge_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(index_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(blk_in_out, blk_setup, blk_teardown),
		cmocka_unit_test_setup_teardown(blk_bounds, blk_setup, blk_teardown),
		cmocka_unit_test_setup_teardown(blk_hostile_buffers, blk_setup, blk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
