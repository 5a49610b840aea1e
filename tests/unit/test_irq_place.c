/* The vfio interrupt lines of a device in /proc/interrupts, and the NUMA node lists iovd
 * places guests with (irq/place.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "irq/place.h"
#include "lib/sysfs.h"
#include "tests/unit/fakesys.h"

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

static void test_cpulist(void **state)
{
	cpu_set_t set;

	(void)state;
	assert_int_equal(iov_cpulist_parse("0-3,8,10-11\n", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 7);
	assert_true(CPU_ISSET(3, &set) && CPU_ISSET(8, &set) && CPU_ISSET(11, &set));
	assert_false(CPU_ISSET(4, &set) || CPU_ISSET(9, &set));
	assert_int_equal(iov_cpulist_parse("5", &set), 0);
	assert_int_equal(CPU_COUNT(&set), 1);
	/* What the kernel never writes is refused, not guessed at. */
	assert_int_equal(iov_cpulist_parse("", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("\n", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("3-1", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("a", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("1,,2", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("1-", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("0-99999", &set), -EINVAL);
	assert_int_equal(iov_cpulist_parse("1 2", &set), -EINVAL);
}

/* Two nodes as a two-socket host shows them; one when the kernel has no NUMA. */
static void test_numa_nodes(void **state)
{
	char *root = fk_tmpdir();
	cpu_set_t set;

	(void)state;
	fk_mkdir(root, "sys/bus/pci/devices");	/* what makes it a sysfs tree */
	assert_int_equal(iov_sysroot_set(root), 0);
	assert_int_equal(iov_numa_nodes(), 1);		/* no node directory at all */
	fk_write(root, "sys/devices/system/node/online", "0-1\n");
	fk_write(root, "sys/devices/system/node/node0/cpulist", "0-7,16-23\n");
	fk_write(root, "sys/devices/system/node/node1/cpulist", "8-15,24-31\n");
	assert_int_equal(iov_numa_nodes(), 2);
	assert_int_equal(iov_numa_node_cpus(1, &set), 0);
	assert_int_equal(CPU_COUNT(&set), 16);
	assert_true(CPU_ISSET(8, &set) && CPU_ISSET(31, &set) && !CPU_ISSET(0, &set));
	assert_int_equal(iov_numa_node_cpus(2, &set), -ENOENT);
	fk_write(root, "sys/devices/system/node/node1/cpulist", "garbage\n");
	assert_int_equal(iov_numa_node_cpus(1, &set), -EINVAL);
	iov_sysroot_set("/");
	fk_rmtree(root);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_numa_nodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
