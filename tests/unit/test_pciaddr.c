#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "lib/pciaddr.h"

static void good(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "0000:01:10.0", "0000:01:10.0" },
		{ "01:10.2", "0000:01:10.2" },
		{ "1:2.3", "0000:01:02.3" },
		{ "0000:FF:1f.7", "0000:ff:1f.7" },
		{ "10000:00:00.0", "10000:00:00.0" },	/* VMD domain */
		{ "abcd:98:01.0", "abcd:98:01.0" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct iov_pci_addr a;
		char buf[IOV_PCI_ADDR_STRLEN];
		assert_int_equal(iov_pci_addr_parse(t[i].in, &a), 0);
		assert_string_equal(iov_pci_addr_fmt(&a, buf), t[i].out);
	}
}

static void bad(void **state)
{
	static const char *const t[] = {
		"", "eth0", "01:10", "01:10.8", "01:20.0", "0000:01:10.0x", "0000:01:10.0 ",
		"0000:001:10.0", "01:10.", ":01:10.0", "0000:01:10:0", "1000000000:00:00.0", "01:10.-1",
		"g0:00.0",
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct iov_pci_addr a = { .domain = 7 };
		assert_int_equal(iov_pci_addr_parse(t[i], &a), -EINVAL);
		assert_int_equal(a.domain, 7);	/* untouched on failure */
	}
}

static void order(void **state)
{
	struct iov_pci_addr a, b, c;

	iov_pci_addr_parse("0000:01:10.0", &a);
	iov_pci_addr_parse("0000:01:10.2", &b);
	iov_pci_addr_parse("0001:00:00.0", &c);
	assert_true(iov_pci_addr_cmp(&a, &b) < 0);
	assert_true(iov_pci_addr_cmp(&b, &c) < 0);
	assert_int_equal(iov_pci_addr_cmp(&a, &a), 0);
	assert_int_equal(iov_pci_addr_rid(&b), 0x0182);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good), cmocka_unit_test(bad), cmocka_unit_test(order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
