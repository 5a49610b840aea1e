/* The driver quirk table (sriov/quirks.c) on a fixture with one PF per entry
 * (tests/fixtures/quirks/drivers.desc): each quirk changes what the planner, the executor
 * or the VF property setter does, and the message says what to do. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "sriov/numvfs.h"
#include "sriov/quirks.h"
#include "sriov/vfconf.h"
#include "sriov/vfinfo.h"
#include "vfio/guard.h"

static char dir[64], tree[96];

static int setup(void **st)
{
	char cmd[512];

	strcpy(dir, "/tmp/test_quirks.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/gen/mksysfs.py "
		 "tests/fixtures/quirks/drivers.desc %s > /dev/null", tree);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot generate the fake tree (run from the repository root)\n");
		return -1;
	}
	assert_int_equal(iov_sysroot_set(tree), 0);
	iov_vfs_set_timeout_ms(100);
	iov_log_set_level(IOV_LOG_ERR);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static char *pf_file(const char *pf, const char *name)
{
	char path[512];
	char *s = NULL;

	snprintf(path, sizeof(path), "%s/sys/bus/pci/devices/%s/%s", tree, pf, name);
	assert_int_equal(iov_read_str(path, &s) >= 0, 1);
	return s;
}

/* Plans count VFs for pf; returns the planner's result, the plan in *out. */
static int plan(const char *pf, int count, bool vfio, struct iov_vfs_plan **out,
		struct iov_err *e)
{
	struct iov_vfs_request req = { .count = count, .vfio = vfio };
	struct iov_host *h;
	struct iov_usage *u;
	struct iov_pci_addr a;
	int r;

	assert_int_equal(iov_host_load(&h), 0);
	assert_int_equal(iov_usage_load(&u), 0);
	assert_int_equal(iov_pci_addr_parse(pf, &a), 0);
	r = iov_vfs_plan(h, u, iov_host_find(h, &a), &req, out, e);
	iov_usage_free(u);
	iov_host_free(h);
	return r;
}

static void test_table(void **st)
{
	size_t n;
	const struct iov_quirk *t = iov_quirk_table(&n);

	assert_true(n >= 6);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(t[i].driver);
		assert_true(t[i].flags != 0);
		assert_true(strlen(t[i].why) > 20);
		assert_true(strlen(t[i].fix) > 10);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(t[i].driver, t[j].driver);
		if (t[i].flags & IOV_QUIRK_RETRY_IN_RESET)
			assert_true(t[i].retry_ms > 0 && t[i].retry_errnos[0] > 0);
		assert_ptr_equal(iov_quirk_get(t[i].driver), &t[i]);
	}
	assert_null(iov_quirk_get("e1000e"));
	assert_null(iov_quirk_get(NULL));
}

/* i40e/ice: transient errors while a VF resets are retried, for the driver's time; other
 * drivers retry EAGAIN only (the old behaviour), and never EBUSY. */
static void test_retry(void **st)
{
	assert_int_equal(iov_quirk_retry_ms("ice", -EBUSY), 3000);
	assert_int_equal(iov_quirk_retry_ms("ice", -EAGAIN), 3000);
	assert_int_equal(iov_quirk_retry_ms("i40e", -EAGAIN), 3000);
	assert_int_equal(iov_quirk_retry_ms("i40e", -EBUSY), 0);
	assert_int_equal(iov_quirk_retry_ms("igb", -EBUSY), 0);
	assert_int_equal(iov_quirk_retry_ms("igb", -EAGAIN), IOV_QUIRK_DEFAULT_RETRY_MS);
	assert_int_equal(iov_quirk_retry_ms(NULL, -EAGAIN), IOV_QUIRK_DEFAULT_RETRY_MS);
	assert_int_equal(iov_quirk_retry_ms("ice", -EINVAL), 0);
}

static void test_netdev_state(void **st)
{
	char drv[64];

	assert_int_equal(iov_netdev_is_up("ens1f0np0"), 0);
	assert_int_equal(iov_netdev_is_up("ens1f1np1"), 1);
	assert_int_equal(iov_netdev_is_up("enp3s0"), 1);	/* operstate only */
	assert_true(iov_netdev_is_up("nosuch0") < 0);
	assert_int_equal(iov_quirk_netdev_driver("ens5f0", drv, sizeof(drv)), 0);
	assert_string_equal(drv, "ice");
	assert_int_equal(iov_quirk_netdev_driver("../x", drv, sizeof(drv)), -EINVAL);
}

/* bnxt_en: creating VFs with the PF down is refused before sriov_numvfs is touched, with
 * the command that fixes it; with the PF up the executor goes ahead (and, the fake kernel
 * never making VFs, times out and puts the count back). */
static void test_bnxt_pf_down(void **st)
{
	struct iov_vfs_plan *p = NULL;
	struct iov_err e = { 0 };
	char *s;

	assert_int_equal(plan("0000:01:00.0", 4, false, &p, &e), 0);
	assert_int_equal(iov_vfs_exec(p, &e), -ENETDOWN);
	assert_non_null(strstr(e.msg, "ens1f0np0 is down"));
	assert_non_null(strstr(e.msg, "bnxt_en"));
	assert_string_equal(e.fix, "bring the PF up first: ip link set ens1f0np0 up");
	s = pf_file("0000:01:00.0", "sriov_numvfs");
	assert_string_equal(s, "0");
	free(s);
	iov_vfs_plan_free(p);

	memset(&e, 0, sizeof(e));
	assert_int_equal(plan("0000:01:00.1", 4, false, &p, &e), 0);
	assert_int_equal(iov_vfs_exec(p, &e), -ETIMEDOUT);
	s = pf_file("0000:01:00.1", "sriov_numvfs");
	assert_string_equal(s, "0");
	free(s);
	iov_vfs_plan_free(p);
}

/* mlx5: 0 total VFs is the firmware's setting: the message says so and gives the command. */
static void test_mlx5_firmware(void **st)
{
	struct iov_vfs_plan *p = NULL;
	struct iov_err e = { 0 };

	assert_int_equal(plan("0000:02:00.0", 2, false, &p, &e), -EOPNOTSUPP);
	assert_null(p);
	assert_non_null(strstr(e.msg, "offers 0 VFs"));
	assert_non_null(strstr(e.msg, "firmware"));
	assert_non_null(strstr(e.fix, "mlxconfig -d 0000:02:00.0 set SRIOV_EN=1"));
	/* Destroying (0) is no request for VFs: nothing to refuse. */
	assert_int_equal(plan("0000:02:00.0", 0, false, &p, &e), 0);
	iov_vfs_plan_free(p);
}

/* nvme: VFs are created with autoprobe off even without --vfio; igb's stay on. */
static void test_nvme_no_autoprobe(void **st)
{
	struct iov_vfs_plan *p = NULL;
	struct iov_err e = { 0 };
	bool off = false;

	assert_int_equal(plan("0000:04:00.0", 2, false, &p, &e), 0);
	for (size_t i = 0; i < p->n; i++)
		if (p->acts[i].kind == IOV_VFS_WRITE &&
		    strcmp(p->acts[i].file, "sriov_drivers_autoprobe") == 0)
			off = strcmp(p->acts[i].value, "0") == 0;
	assert_true(off);
	iov_vfs_plan_free(p);

	assert_int_equal(plan("0000:03:00.0", 3, false, &p, &e), 0);
	for (size_t i = 0; i < p->n; i++)
		assert_false(p->acts[i].kind == IOV_VFS_WRITE &&
			     strcmp(p->acts[i].file, "sriov_drivers_autoprobe") == 0);
	iov_vfs_plan_free(p);
}

/* igb: `state` is refused up front with the reason; the same request for an ice PF goes on
 * to rtnetlink, which a --sysroot tree never reaches (-IOV_E_SYSROOT, not this machine's
 * answer for a netdev of that name). */
static void test_igb_no_link_state(void **st)
{
	struct iov_vfconf c = { .set = IOV_VFC_STATE, .state = IOV_VF_LINK_ENABLE };
	struct iov_err e = { 0 };

	assert_int_equal(iov_vf_set("enp3s0", 0, &c, &e), -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "igb has no VF link-state"));
	assert_non_null(strstr(e.fix, "leave `state` unset for VFs of enp3s0"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(iov_vf_set("ens5f0", 0, &c, &e), -IOV_E_SYSROOT);
	assert_non_null(strstr(e.msg, "under a sysroot"));
	/* Other properties of igb VFs are not refused by the table. */
	c.set = IOV_VFC_SPOOFCHK;
	assert_int_equal(iov_vf_set("enp3s0", 0, &c, &e), -IOV_E_SYSROOT);
}

/* igb takes a VF rate only with the PF's carrier, which it loses while VFs are created:
 * the setter waits for it, bounded. A carrier that comes up while waiting is seen. */
static void *carrier_later(void *arg)
{
	struct timespec ts = { 0, 200 * 1000000L };
	char path[512];
	FILE *f;

	nanosleep(&ts, NULL);
	snprintf(path, sizeof(path), "%s/sys/class/net/ens1f1np1/carrier", tree);
	if ((f = fopen(path, "w"))) {
		fputs("1\n", f);
		fclose(f);
	}
	return arg;
}

static void test_igb_rate_waits_for_link(void **st)
{
	char path[512], dirp[512];
	pthread_t t;
	FILE *f;

	assert_true(iov_quirk_has("igb", IOV_QUIRK_RATE_NEEDS_LINK));
	assert_false(iov_quirk_has("ice", IOV_QUIRK_RATE_NEEDS_LINK));
	snprintf(dirp, sizeof(dirp), "%s/sys/class/net/ens1f1np1", tree);
	snprintf(path, sizeof(path), "%s/carrier", dirp);
	assert_non_null(f = fopen(path, "w"));
	fputs("0\n", f);
	fclose(f);
	assert_int_equal(iov_netdev_wait_carrier("ens1f1np1", 100), 0);	/* none by then */
	assert_int_equal(pthread_create(&t, NULL, carrier_later, NULL), 0);
	assert_int_equal(iov_netdev_wait_carrier("ens1f1np1", 5000), 1);
	pthread_join(t, NULL);
	assert_int_equal(iov_netdev_wait_carrier("../x", 10), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_retry),
		cmocka_unit_test(test_netdev_state),
		cmocka_unit_test(test_bnxt_pf_down),
		cmocka_unit_test(test_mlx5_firmware),
		cmocka_unit_test(test_nvme_no_autoprobe),
		cmocka_unit_test(test_igb_no_link_state),
		cmocka_unit_test(test_igb_rate_waits_for_link),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
