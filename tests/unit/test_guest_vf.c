/* Giving an NVMe VF back after a guest (src/guest_vf.c gvf_return) on a fake sysfs tree: a
 * VF of a pool with "on_release": "keep" is reset and returned; with "format" the namespace
 * must be formatted through the PF before it is returned, and when that cannot be done
 * (here: no NVMe commands under a sysroot, as a drive refusing the command) the VF goes to
 * the quarantine, never back to the pool with the last guest's data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sysfs.h"
#include "src/guest_vf.h"
#include "tests/unit/fakesys.h"

#define VF "0000:02:00.1"

static char *root;

static int setup(void **state)
{
	unsigned char cfg[64] = { 0x36, 0x1b, 0x10, 0x00 };
	char path[512];
	FILE *f;

	root = fk_tmpdir();
	/* An NVMe VF: class 010802, a reset file, config space answering with the class. */
	fk_write(root, "sys/bus/pci/devices/" VF "/class", "0x010802\n");
	fk_write(root, "sys/bus/pci/devices/" VF "/reset", "");
	cfg[9] = 0x02;
	cfg[10] = 0x08;
	cfg[11] = 0x01;
	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/" VF "/config", root);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(cfg, 1, sizeof(cfg), f), sizeof(cfg));
	fclose(f);
	assert_int_equal(iov_sysroot_set(root), 0);
	*state = NULL;
	return 0;
}

static int teardown(void **state)
{
	iov_sysroot_set("/");
	fk_rmtree(root);
	free(root);
	return 0;
}

static struct gnic disk_vf(bool wipe)
{
	struct gnic n = { .vf = VF, .pf = "0000:02:00.0", .vf_index = 0, .group = 6,
			  .pool = "disks", .disk = 0, .nsid = 1, .wipe = wipe, .vlan = -1 };

	return n;
}

static void keep_returns(void **state)
{
	struct gnic n = disk_vf(false);

	gvf_return("w1", &n);
	assert_null(gvf_quarantined(VF));
}

static void format_failure_quarantines(void **state)
{
	struct gnic n = disk_vf(true);
	const char *why;

	gvf_return("w2", &n);
	why = gvf_quarantined(VF);
	assert_non_null(why);
	assert_non_null(strstr(why, "namespace 1 not formatted on release (pool disks says "
			       "\"format\")"));
	assert_non_null(strstr(why, "no NVMe commands under --sysroot"));
	assert_int_equal(gvf_unquarantine(VF, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keep_returns),
		cmocka_unit_test(format_failure_quarantines),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
