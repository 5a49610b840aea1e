/* MSI-X table emulation (vmm/msix.c): guest-controlled offsets and sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "vmm/msix.h"

static struct iovm_msix *mk(unsigned nr)
{
	struct iovm_msix *m = malloc(sizeof(*m));

	assert_non_null(m);
	assert_int_equal(iovm_msix_init(m, nr), 0);
	return m;
}

static void init(void **state)
{
	struct iovm_msix *m = mk(3);

	for (unsigned i = 0; i < 3; i++)
		assert_true(iovm_msix_masked(m, i));
	assert_true(iovm_msix_masked(m, 3));		/* beyond the table: never live */
	assert_int_equal(iovm_msix_init(m, 0), -EINVAL);
	assert_int_equal(iovm_msix_init(m, IOVM_MSIX_MAX + 1), -EINVAL);
	assert_int_equal(iovm_msix_init(m, IOVM_MSIX_MAX), 0);
	free(m);
}

static void program(void **state)
{
	struct iovm_msix *m = mk(3);

	assert_int_equal(iovm_msix_table_write(m, 0x10, 4, 0xfee00003), 1);
	assert_int_equal(iovm_msix_table_write(m, 0x14, 4, 0), IOVM_MSIX_NOCHANGE);
	assert_int_equal(iovm_msix_table_write(m, 0x18, 4, 0x4022), 1);
	assert_int_equal(iovm_msix_addr(m, 1), 0xfee00000);	/* dword aligned */
	assert_int_equal(iovm_msix_data(m, 1), 0x4022);
	assert_true(iovm_msix_masked(m, 1));
	assert_int_equal(iovm_msix_table_write(m, 0x1c, 4, 0xfffffffe), 1);	/* unmask */
	assert_false(iovm_msix_masked(m, 1));
	assert_int_equal(iovm_msix_table_read(m, 0x1c, 4), 0);	/* reserved bits stay 0 */
	assert_int_equal(iovm_msix_table_read(m, 0x10, 8), 0xfee00000);
	/* qword write of address */
	assert_int_equal(iovm_msix_table_write(m, 0x20, 8, 0x00000001fee01000ull), 2);
	assert_int_equal(iovm_msix_addr(m, 2), 0x1fee01000ull);
	/* qword write of data + control */
	assert_int_equal(iovm_msix_table_write(m, 0x28, 8, 0x0000000000004023ull), 2);
	assert_false(iovm_msix_masked(m, 2));
	assert_int_equal(iovm_msix_table_read(m, 0x28, 8), 0x4023);
	free(m);
}

static void bounds(void **state)
{
	struct iovm_msix *m = mk(3);

	assert_int_equal(iovm_msix_table_write(m, 0x30, 4, 0), -EINVAL);	/* entry 3 */
	assert_int_equal(iovm_msix_table_write(m, 0xfffffffffffffff0ull, 4, 0), -EINVAL);
	assert_int_equal(iovm_msix_table_write(m, 0x02, 4, 0), -EINVAL);	/* misaligned */
	assert_int_equal(iovm_msix_table_write(m, 0x04, 8, 0), -EINVAL);
	assert_int_equal(iovm_msix_table_write(m, 0x00, 2, 0), -EINVAL);
	assert_int_equal(iovm_msix_table_write(m, 0x00, 1, 0), -EINVAL);
	assert_int_equal(iovm_msix_table_read(m, 0x30, 4), ~0ull);
	assert_int_equal(iovm_msix_table_read(m, 0x01, 4), ~0ull);
	assert_int_equal(iovm_msix_table_read(m, 0x00, 2), ~0ull);
	/* PBA: one qword for 3 vectors, reads 0 */
	assert_int_equal(iovm_msix_pba_size(m), 8);
	assert_int_equal(iovm_msix_pba_read(m, 0, 8), 0);
	assert_int_equal(iovm_msix_pba_read(m, 4, 4), 0);
	assert_int_equal(iovm_msix_pba_read(m, 8, 4), ~0ull);
	assert_int_equal(iovm_msix_pba_read(m, 2, 4), ~0ull);
	assert_int_equal(iovm_msix_addr(m, 99), 0);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init),
		cmocka_unit_test(program),
		cmocka_unit_test(bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
