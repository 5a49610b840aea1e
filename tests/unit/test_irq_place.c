/* The vfio interrupt lines of a device in /proc/interrupts (irq/place.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "irq/place.h"

/* As the test host shows them: IR-PCI-MSIX chips, then the action names. */
static const char interrupts[] =
	"           CPU0       CPU1       \n"
	"  0:         44          0  IR-IO-APIC    2-edge      timer\n"
	" 24:          0          0  IR-PCI-MSIX-0000:01:00.0    0-edge      eth0-TxRx-0\n"
	" 38:         12          3  IR-PCI-MSIX-0000:01:10.0    0-edge      vfio-msix[0](0000:01:10.0)\n"
	" 39:          9          0  IR-PCI-MSIX-0000:01:10.0    1-edge      vfio-msix[1](0000:01:10.0)\n"
	" 40:          1          0  IR-PCI-MSIX-0000:01:10.2    0-edge      vfio-msix[0](0000:01:10.2)\n"
	" 41:          0          0  IR-PCI-MSI-0000:01:10.0   0-edge      vfio-msi[0](0000:01:10.0)  \n"
	" 42:          0          0  IR-PCI-MSI-0000:01:10.4   0-edge      eth1 vfio-msix[0](0000:01:10.0)x\n"
	"NMI:          0          0   Non-maskable interrupts\n"
	"ERR:          0\n";

static void test_parse(void **state)
{
	struct iov_irq_line l[8];
	size_t n = iov_irq_parse_vfio(interrupts, "0000:01:10.0", l, 8);

	assert_int_equal(n, 3);
	assert_int_equal(l[0].irq, 38);
	assert_string_equal(l[0].name, "vfio-msix[0](0000:01:10.0)");
	assert_int_equal(l[1].irq, 39);
	assert_int_equal(l[2].irq, 41);
	assert_string_equal(l[2].name, "vfio-msi[0](0000:01:10.0)");
	assert_int_equal(iov_irq_parse_vfio(interrupts, "0000:01:10.2", l, 8), 1);
	assert_int_equal(l[0].irq, 40);
	/* A device with none, a prefix of a name, and too little room (counted, not stored). */
	assert_int_equal(iov_irq_parse_vfio(interrupts, "0000:01:10.6", l, 8), 0);
	assert_int_equal(iov_irq_parse_vfio(interrupts, "0000:01:10", l, 8), 0);
	assert_int_equal(iov_irq_parse_vfio(interrupts, "0000:01:10.0", l, 1), 3);
	assert_int_equal(l[0].irq, 38);
	assert_int_equal(iov_irq_parse_vfio("", "0000:01:10.0", l, 8), 0);
	assert_int_equal(iov_irq_parse_vfio(" 7: vfio-msix[0](0000:01:10.0)", "0000:01:10.0", l, 8), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
