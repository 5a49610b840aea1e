/* DMA map planning for passthrough (vmm/dmaplan.c): RAM banks minus reserved regions,
 * inside the IOMMU's usable IOVA ranges. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "vmm/dmaplan.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static void whole_ram(void **state)
{
	struct iovm_mem mem;
	struct iovm_dma_piece p[8];
	/* x86 VT-d: everything but the MSI window, 39-bit address width */
	struct iovm_range iova[] = { { 0, 0xfee00000 }, { 0xfef00000, 1ull << 39 } };
	struct iovm_range resv[] = { { 0xfee00000, 0xfef00000 } };

	assert_int_equal(iovm_mem_layout(256 * MiB, &mem), 0);
	assert_int_equal(iovm_dma_plan(&mem, resv, 1, iova, 2, p, 8, NULL), 1);
	assert_int_equal(p[0].gpa, 0);
	assert_int_equal(p[0].size, 256 * MiB);
	assert_int_equal(iovm_mem_layout(6 * GiB, &mem), 0);
	assert_int_equal(iovm_dma_plan(&mem, resv, 1, iova, 2, p, 8, NULL), 2);
	assert_int_equal(p[1].gpa, 4 * GiB);
	assert_int_equal(p[1].size, 3 * GiB);
	assert_int_equal(p[1].bank, 1);
	/* no IOVA information: the kernel decides */
	assert_int_equal(iovm_dma_plan(&mem, NULL, 0, NULL, 0, p, 8, NULL), 2);
}

static void reserved_inside_ram(void **state)
{
	struct iovm_mem mem;
	struct iovm_dma_piece p[8];
	/* an RMRR-like range in low RAM, not page aligned: rounded out */
	struct iovm_range resv[] = { { 0xe0100, 0xe2001 }, { 32 * MiB, 34 * MiB } };

	assert_int_equal(iovm_mem_layout(64 * MiB, &mem), 0);
	assert_int_equal(iovm_dma_plan(&mem, resv, 2, NULL, 0, p, 8, NULL), 3);
	assert_int_equal(p[0].gpa, 0);
	assert_int_equal(p[0].size, 0xe0000);
	assert_int_equal(p[1].gpa, 0xe3000);
	assert_int_equal(p[1].size, 32 * MiB - 0xe3000);
	assert_int_equal(p[2].gpa, 34 * MiB);
	assert_int_equal(p[2].size, 30 * MiB);
	/* ranges out of order and overlapping each other */
	{
		struct iovm_range r2[] = { { 40 * MiB, 50 * MiB }, { 10 * MiB, 20 * MiB },
					   { 15 * MiB, 45 * MiB } };

		assert_int_equal(iovm_dma_plan(&mem, r2, 3, NULL, 0, p, 8, NULL), 2);
		assert_int_equal(p[0].size, 10 * MiB);
		assert_int_equal(p[1].gpa, 50 * MiB);
		assert_int_equal(p[1].size, 14 * MiB);
	}
	/* RAM starting inside a reserved range */
	{
		struct iovm_range r3[] = { { 0, MiB } };

		assert_int_equal(iovm_dma_plan(&mem, r3, 1, NULL, 0, p, 8, NULL), 1);
		assert_int_equal(p[0].gpa, MiB);
	}
	p[0].gpa = 0x1234;	/* out-parameters are written only on success */
	assert_int_equal(iovm_dma_plan(&mem, resv, 2, NULL, 0, p, 2, NULL), -ENOSPC);
	assert_int_equal(p[0].gpa, 0x1234);
}

static void iommu_too_narrow(void **state)
{
	struct iovm_mem mem;
	struct iovm_dma_piece p[8];
	struct iovm_range iova[] = { { 0, 0xfee00000 }, { 0xfef00000, 1ull << 32 } };	/* 32-bit */
	struct iovm_range bad = { 0, 0 };

	assert_int_equal(iovm_mem_layout(6 * GiB, &mem), 0);
	p[0].gpa = 0x1234;
	assert_int_equal(iovm_dma_plan(&mem, NULL, 0, iova, 2, p, 8, &bad), -ERANGE);
	assert_int_equal(p[0].gpa, 0x1234);
	assert_int_equal(bad.start, 4 * GiB);
	assert_int_equal(bad.end, 7 * GiB);
	assert_int_equal(iovm_mem_layout(2 * GiB, &mem), 0);
	assert_int_equal(iovm_dma_plan(&mem, NULL, 0, iova, 2, p, 8, &bad), 1);
	/* a hole in the IOVA space inside RAM that nobody reserved: refused, not split */
	{
		struct iovm_range holey[] = { { 0, 16 * MiB }, { 17 * MiB, 1ull << 39 } };

		assert_int_equal(iovm_dma_plan(&mem, NULL, 0, holey, 2, p, 8, &bad), -ERANGE);
		assert_int_equal(bad.start, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_ram),
		cmocka_unit_test(reserved_inside_ram),
		cmocka_unit_test(iommu_too_narrow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
