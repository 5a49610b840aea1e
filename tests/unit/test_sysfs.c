/* sysfs readers and the interrupt-remapping decision, on files made in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/intremap.h"
#include "lib/host.h"
#include "lib/sysfs.h"

static char dir[64];

static void put(const char *name, const char *content)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/iov-test-sysfs-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void numbers(void **state)
{
	char p[256];
	long v;
	uint64_t u;

	put("dec", "42\n");
	put("hex", "0x8086\n");
	put("neg", "-1\n");
	put("junk", "zzz\n");
	put("trail", "12abc\n");
	put("empty", "");
	put("ecap", "f020df\n");
	snprintf(p, sizeof(p), "%s/dec", dir);
	assert_int_equal(iov_read_long(p, 10, &v), 0);
	assert_int_equal(v, 42);
	snprintf(p, sizeof(p), "%s/hex", dir);
	assert_int_equal(iov_read_long(p, 16, &v), 0);
	assert_int_equal(v, 0x8086);
	snprintf(p, sizeof(p), "%s/neg", dir);
	assert_int_equal(iov_read_long(p, 10, &v), 0);
	assert_int_equal(v, -1);
	v = 5;
	snprintf(p, sizeof(p), "%s/junk", dir);
	assert_int_equal(iov_read_long(p, 10, &v), -EINVAL);
	snprintf(p, sizeof(p), "%s/trail", dir);
	assert_int_equal(iov_read_long(p, 10, &v), -EINVAL);
	snprintf(p, sizeof(p), "%s/empty", dir);
	assert_int_equal(iov_read_long(p, 10, &v), -EINVAL);
	assert_int_equal(v, 5);
	snprintf(p, sizeof(p), "%s/missing", dir);
	assert_int_equal(iov_read_long(p, 10, &v), -ENOENT);
	snprintf(p, sizeof(p), "%s/ecap", dir);
	assert_int_equal(iov_read_u64(p, 16, &u), 0);
	assert_true(u & IOV_INTEL_ECAP_IR);
}

static void strings(void **state)
{
	char p[256], *s;
	char big[1000];

	put("ovr", "(null)\n");
	snprintf(p, sizeof(p), "%s/ovr", dir);
	assert_int_equal(iov_read_str(p, &s), 0);
	assert_string_equal(s, "(null)");
	free(s);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put("big", big);
	snprintf(p, sizeof(p), "%s/big", dir);
	assert_int_equal(iov_read_str(p, &s), 0);
	assert_int_equal(strlen(s), sizeof(big) - 1);
	free(s);
}

/* procfs hands out a page per read: path readers go on to end of file. A FIFO whose
 * writer pauses between two writes gives the same short first read. */
static void short_reads(void **state)
{
	char p[256], *s;
	pid_t pid;

	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *f = fopen(p, "w");
		if (!f)
			_exit(1);
		fputs("IR-IO-APIC\n", f);
		fflush(f);
		usleep(50000);
		fputs("IR-PCI-MSIX\n", f);
		fclose(f);
		_exit(0);
	}
	assert_int_equal(iov_read_str(p, &s), 0);
	assert_string_equal(s, "IR-IO-APIC\nIR-PCI-MSIX");
	free(s);
	waitpid(pid, NULL, 0);
}

static void sysroot(void **state)
{
	char p[256];

	assert_int_equal(iov_sysroot_set("/nonexistent-iov"), -ENOENT);
	assert_int_equal(iov_sysroot_set(dir), -ENOENT);	/* no sys/bus/pci/devices */
	snprintf(p, sizeof(p), "%s/dec", dir);
	put("dec", "1");
	assert_int_equal(iov_sysroot_set(p), -ENOTDIR);
	snprintf(p, sizeof(p), "mkdir -p %s/sys/bus/pci/devices", dir);
	assert_int_equal(system(p), 0);
	assert_int_equal(iov_sysroot_set(dir), 0);
	assert_int_equal(iov_path(p, sizeof(p), "/proc/interrupts"), 0);
	assert_true(strncmp(p, dir, strlen(dir)) == 0);
	assert_int_equal(iov_sysroot_set(NULL), 0);
	assert_string_equal(iov_sysroot(), "");
}

static void intremap(void **state)
{
	struct iov_iommu_unit on = { .name = "dmar0", .vendor = IOV_IOMMU_INTEL, .regs_known = true, .ecap = 0xf020df };
	struct iov_iommu_unit off = { .name = "dmar0", .vendor = IOV_IOMMU_INTEL, .regs_known = true, .ecap = 0xf42 };
	struct iov_iommu_unit amd = { .name = "ivhd0", .vendor = IOV_IOMMU_AMD, .regs_known = true };
	struct iov_iommu io = { .units = &on, .n_units = 1 };
	const char *ir = "           CPU0       CPU1\n  0:         42          0   IR-IO-APIC    2-edge      timer\n"
			 " 24:          0          0  IR-PCI-MSIX-0000:01:00.0    0-edge      eth0\n";
	const char *noir = "           CPU0\n  0:   42   IO-APIC   2-edge      timer\n 24:   0  PCI-MSIX-0000:01:00.0 0-edge eth0\n";

	iov_intremap_decide(&io, ir);
	assert_int_equal(io.intremap, 1);
	iov_intremap_decide(&io, noir);
	assert_int_equal(io.intremap, 0);
	iov_intremap_decide(&io, NULL);	/* capable, evidence unreadable */
	assert_int_equal(io.intremap, IOV_UNKNOWN);
	io.units = &off;
	iov_intremap_decide(&io, NULL);
	assert_int_equal(io.intremap, 0);
	iov_intremap_decide(&io, "garbage\n");
	assert_int_equal(io.intremap, 0);
	io.units = &amd;
	iov_intremap_decide(&io, NULL);
	assert_int_equal(io.intremap, IOV_UNKNOWN);
	iov_intremap_decide(&io, "  1: 0 IR-PCI-MSI-0000:00:02.0 0-edge x\n");
	assert_int_equal(io.intremap, 1);
	/* "IR-" inside a device name is not a chip. */
	iov_intremap_decide(&io, "  1: 0 PCI-MSI-0000:00:02.0 0-edge fooIR-bar\n");
	assert_int_equal(io.intremap, 0);
	io.n_units = 0;
	iov_intremap_decide(&io, NULL);
	assert_int_equal(io.intremap, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers), cmocka_unit_test(strings), cmocka_unit_test(short_reads),
		cmocka_unit_test(sysroot),
		cmocka_unit_test(intremap),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
