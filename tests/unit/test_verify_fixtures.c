/* verify on the generated fixture trees (tests/fixtures/NAME.desc, the layouts of docs/hardware.md),
 * loaded by the real host model loader: the whole read path, not hand-built models. The trees carry no
 * proc/net or mountinfo, so each test adds empty ones (a host that uses nothing) and, where
 * a case needs it, a use. Skipped when python3 or the generator is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/host.h"
#include "lib/pciaddr.h"
#include "lib/sysfs.h"
#include "tests/unit/fakesys.h"
#include "vfio/guard.h"
#include "vfio/verify.h"

static char *fx_root;

static int build_fixtures(void **state)
{
	char cmd[1024];

	if (access("tests/fixtures/gen/mksysfs.py", R_OK) < 0)
		return 0;
	fx_root = fk_tmpdir();
	snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/gen/mksysfs.py --all %s > /dev/null",
		 fx_root);
	if (system(cmd) != 0) {
		fk_rmtree(fx_root);
		free(fx_root);
		fx_root = NULL;
	}
	iov_host_set_pci_ids("tests/fixtures/pci.ids");
	return 0;
}

static int drop_fixtures(void **state)
{
	iov_sysroot_set(NULL);
	fk_rmtree(fx_root);
	free(fx_root);
	return 0;
}

struct fx {
	struct iov_host *h;
	struct iov_usage *u;
	char root[512];
};

/* Loads fixture NAME with an idle host's proc/net and mountinfo (route is extra lines). */
static void fx_load(struct fx *f, const char *name, const char *route)
{
	char lines[1024];

	if (!fx_root)
		skip();
	snprintf(f->root, sizeof(f->root), "%s/%s", fx_root, name);
	snprintf(lines, sizeof(lines), "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\t"
		 "Mask\n%s", route ? route : "");
	fk_write(f->root, "proc/net/route", lines);
	fk_write(f->root, "proc/net/ipv6_route", "");
	fk_write(f->root, "proc/net/if_inet6", "");
	fk_write(f->root, "proc/self/mountinfo", "");
	assert_int_equal(iov_sysroot_set(f->root), 0);
	assert_int_equal(iov_host_load(&f->h), 0);
	assert_int_equal(iov_usage_load(&f->u), 0);
}

static void fx_free(struct fx *f)
{
	iov_usage_free(f->u);
	iov_host_free(f->h);
}

/* Expected statuses, "iommu interrupt_remapping group_viable acs reset host_critical" as
 * o(k)/f(ail)/u(nknown) letters, e.g. "oooooo". */
static void expect(struct fx *f, const char *dev, const char *want, bool isolated,
		   const char *reason_id, const char *needle, struct iov_verdict *out)
{
	struct iov_pci_addr a;
	struct iov_dev *d;
	struct iov_verdict v;

	assert_int_equal(iov_pci_addr_parse(dev, &a), 0);
	d = iov_host_find(f->h, &a);
	if (!d)
		fail_msg("%s: no device %s", f->root, dev);
	iov_verify(f->h, f->u, d, &v);
	for (int i = 0; i < 6; i++) {
		char got = "fou"[v.checks[i].status == IOV_CHECK_OK ? 1 :
				 v.checks[i].status == IOV_CHECK_FAIL ? 0 : 2];

		if (got != want[i])
			fail_msg("%s %s: %s is %s (%s), want %c", f->root, dev,
				 iov_check_name(v.checks[i].id),
				 iov_check_status_name(v.checks[i].status), v.checks[i].reason,
				 want[i]);
	}
	assert_int_equal(v.isolated, isolated);
	if (reason_id) {
		for (int i = 0; i < IOV_CHECK_COUNT; i++)
			if (!strcmp(iov_check_name(v.checks[i].id), reason_id) &&
			    !strstr(v.checks[i].reason, needle))
				fail_msg("%s %s: %s reason \"%s\" lacks \"%s\"", f->root, dev, reason_id,
					 v.checks[i].reason, needle);
	}
	if (out)
		*out = v;
}

/* Layout B: no ACS anywhere that matters. */
static void test_layout_b(void **state)
{
	struct fx f;

	fx_load(&f, "layout_b", NULL);
	/* 82576 VF behind the IDT switch port without ACS: PF, VFs, port in group 29. */
	expect(&f, "06:10.1", "ooffoo", false, "acs", "switch downstream port 0000:02:04.0", NULL);
	expect(&f, "06:10.1", "ooffoo", false, "group_viable", "0000:05:00.1 (igb, PF with VFs)", NULL);
	/* I350 behind the PCH root port without ACS: all functions in group 4. */
	expect(&f, "0a:00.0", "ooffoo", false, "acs", "root port 0000:00:1c.0", NULL);
	/* CX-4 Lx VF behind a root port with ACS: fine. */
	expect(&f, "07:00.2", "oooooo", true, NULL, NULL, NULL);
	/* The two CX-4 Lx functions share group 1 (their empty ACS capability counts as
	 * enabled for the kernel; the group still says they are not separable). */
	expect(&f, "07:00.1", "oofooo", false, "group_viable", "0000:07:00.0 (mlx5_core, PF with VFs)", NULL);
	fx_free(&f);
}

/* Layout A: ACS root ports, I350 functions isolated by the kernel's quirk. */
static void test_layout_a(void **state)
{
	struct fx f;
	struct iov_verdict v;

	fx_load(&f, "layout_a", NULL);
	expect(&f, "04:00.1", "oooooo", true, NULL, NULL, NULL);
	expect(&f, "5e:02.0", "oooooo", true, NULL, NULL, NULL);
	expect(&f, "b1:00.2", "oooooo", true, NULL, NULL, &v);
	assert_non_null(strstr(v.checks[IOV_CHECK_NUMA].reason, "NUMA node 1"));
	fx_free(&f);

	/* eno2 (04:00.1) holds the default route. */
	fx_load(&f, "layout_a", "eno2\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\n");
	expect(&f, "04:00.1", "ooooof", false, "host_critical", "eno2 holds the IPv4 default route",
	       NULL);
	expect(&f, "04:00.2", "oooooo", true, NULL, NULL, NULL);
	fx_free(&f);
}

static void test_no_iommu_no_ir(void **state)
{
	struct fx f;

	fx_load(&f, "noiommu", NULL);
	expect(&f, "01:10.0", "ffffoo", false, "iommu", "no IOMMU", NULL);
	fx_free(&f);
	fx_load(&f, "noir", NULL);
	expect(&f, "01:10.2", "ofoooo", false, "interrupt_remapping", "ecap bit 3 clear", NULL);
	fx_free(&f);
}

static void test_amd_identity(void **state)
{
	struct fx f;

	fx_load(&f, "amd", NULL);
	expect(&f, "03:10.0", "oooooo", true, "iommu", "identity", NULL);
	fx_free(&f);
}

static void test_nvme_root(void **state)
{
	struct fx f;

	fx_load(&f, "layout_c", NULL);
	expect(&f, "01:00.2", "oooooo", true, NULL, NULL, NULL);
	/* The PF's namespace holds /: its group is host-critical, its VFs are not. */
	assert_int_equal(iov_usage_add_blk(f.u, "0000:01:00.0", "/ is mounted from /dev/nvme0n1p2"), 0);
	expect(&f, "01:00.0", "oofoof", false, "host_critical", "/ is mounted", NULL);
	expect(&f, "01:00.0", "oofoof", false, "group_viable", "PF with 4 VFs enabled", NULL);
	expect(&f, "01:00.2", "oooooo", true, NULL, NULL, NULL);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_b),
		cmocka_unit_test(test_layout_a),
		cmocka_unit_test(test_no_iommu_no_ir),
		cmocka_unit_test(test_amd_identity),
		cmocka_unit_test(test_nvme_root),
	};

	return cmocka_run_group_tests(tests, build_fixtures, drop_fixtures);
}
