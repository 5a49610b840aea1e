/* Allocating VFs and MACs to guest NICs (config/alloc.c) on hand-built hosts and configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/alloc.h"
#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"
#include "tests/unit/fakesys.h"
#include "vfio/guard.h"

#define ACS_ALL (IOV_ACS_SV | IOV_ACS_RR | IOV_ACS_CR | IOV_ACS_UF)

/* Root port (ACS) -> igb PF 01:00.0 with 4 VFs, each alone in its group (like the test
 * host's default preset); pool "tenants" = uplink#0-3. */
struct fx {
	struct iov_host *h;
	struct iov_usage *u;
	struct iov_dev *pf, *vf[4];
	struct iov_config cfg;
	struct iov_cfg_pf cpf;
	struct iov_cfg_pool pool;
	struct iov_cfg_pool_member mem;
	struct iov_cfg_resolved res;
	struct iov_dev *pfdevs[1];
	struct iov_alloc_in in;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct iov_dev *rp;
	static const char *const vfs[4] = { "01:10.0", "01:10.2", "01:10.4", "01:10.6" };

	f->h = fk_host_new();
	rp = fk_bridge(f->h, "00:01.0", IOV_PCIE_ROOT_PORT, true, 0x1f, ACS_ALL);
	f->pf = fk_dev(f->h, "01:00.0", "igb");
	fk_parent(f->pf, rp);
	fk_netdev(f->pf, "eth0");
	fk_join(fk_group(f->h, 0, "DMA"), rp);
	fk_join(fk_group(f->h, 1, "DMA"), f->pf);
	for (int i = 0; i < 4; i++) {
		f->vf[i] = fk_dev(f->h, vfs[i], "vfio-pci");
		fk_vf(f->pf, f->vf[i]);
		fk_join(fk_group(f->h, 2 + i, "DMA"), f->vf[i]);
	}
	f->u = calloc(1, sizeof(*f->u));
	f->u->net_known = f->u->ipv4_addrs_known = f->u->mounts_known = f->u->vfio_known = true;

	f->cpf.name = "uplink";
	f->cpf.num_vfs = 4;
	f->mem = (struct iov_cfg_pool_member){ .pf = 0, .first = 0, .last = 3 };
	f->pool.name = "tenants";
	f->pool.members = &f->mem;
	f->pool.n_members = 1;
	f->cfg.pfs = &f->cpf;
	f->cfg.n_pfs = 1;
	f->cfg.pools = &f->pool;
	f->cfg.n_pools = 1;
	f->pfdevs[0] = f->pf;
	f->res.cfg = &f->cfg;
	f->res.pf_dev = f->pfdevs;
	f->in = (struct iov_alloc_in){ .cfg = &f->cfg, .res = &f->res, .h = f->h, .u = f->u,
				       .numa_node = -1 };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->u);
	fk_host_free(f->h);
	free(f);
	return 0;
}

static struct iov_cfg_nic pool_nic(const char *pool)
{
	return (struct iov_cfg_nic){ .pool = (char *)pool, .vlan = -1 };
}

static struct iov_cfg_nic dev_nic(const char *dev)
{
	return (struct iov_cfg_nic){ .device = (char *)dev, .vlan = -1 };
}

static void test_pool_first_free(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = pool_nic("tenants");
	struct iov_alloc_taken t[2] = { { "0000:01:10.0", "web" }, { "0000:01:10.2", "quarantine" } };
	struct iov_dev *d = NULL;
	struct iov_err e = { 0 };

	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), 0);
	assert_ptr_equal(d, f->vf[0]);
	f->in.taken = t;
	f->in.n_taken = 2;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), 0);
	assert_ptr_equal(d, f->vf[2]);
}

static void test_pool_skips_not_isolated(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = pool_nic("tenants");
	struct iov_dev *d = NULL, *host = fk_dev(f->h, "01:10.1", "igbvf");
	struct iov_err e = { 0 };

	/* VF 0 shares its group with a device on a host driver: skipped, VF 1 given. */
	fk_join(f->vf[0]->group, host);
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), 0);
	assert_ptr_equal(d, f->vf[1]);
}

static void test_pool_exhausted(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = pool_nic("tenants");
	struct iov_alloc_taken t[3] = { { "0000:01:10.0", "a" }, { "0000:01:10.2", "b" },
					{ "0000:01:10.4", "c" } };
	struct iov_dev *d = NULL, *host = fk_dev(f->h, "01:10.7", "igbvf");
	struct iov_err e = { 0 };

	fk_join(f->vf[3]->group, host);
	f->in.taken = t;
	f->in.n_taken = 3;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -EBUSY);
	assert_null(d);
	assert_non_null(strstr(e.msg, "pool 'tenants' has no free isolated VF (4 members, 3 taken, 1 not isolated"));
	assert_non_null(strstr(e.msg, "group_viable"));
	assert_non_null(strstr(e.fix, "iovctl bind"));
}

static void test_pool_unknown(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = pool_nic("nope");
	struct iov_dev *d = NULL;
	struct iov_err e = { 0 };

	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no pool named 'nope'"));
	f->in.cfg = NULL;
	n = pool_nic("tenants");
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -ENOENT);
}

/* A storage pool (its PF's VFs are NVMe VFs): disks draw from it as NICs do from theirs,
 * and neither kind takes the other's. */
static void test_pool_storage(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = pool_nic("tenants");
	struct iov_alloc_taken t[1] = { { "0000:01:10.0", "db" } };
	struct iov_dev *d = NULL;
	struct iov_err e = { 0 };

	assert_int_equal(iov_alloc_disk_vf(&f->in, "tenants", &d, &e), -EINVAL);
	assert_null(d);
	assert_non_null(strstr(e.msg, "pool 'tenants' holds network VFs, not NVMe VFs for a disk"));
	f->pool.storage = true;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -EINVAL);
	assert_null(d);
	assert_non_null(strstr(e.msg, "pool 'tenants' holds NVMe VFs, not NICs"));
	assert_non_null(strstr(e.fix, "--disk nvme:POOL"));
	assert_int_equal(iov_alloc_disk_vf(&f->in, "tenants", &d, &e), 0);
	assert_ptr_equal(d, f->vf[0]);
	/* VF 0 held by another guest's disk: the next free one. */
	f->in.taken = t;
	f->in.n_taken = 1;
	assert_int_equal(iov_alloc_disk_vf(&f->in, "tenants", &d, &e), 0);
	assert_ptr_equal(d, f->vf[1]);
	assert_int_equal(iov_alloc_disk_vf(&f->in, "nope", &d, &e), -ENOENT);
}

static void test_pool_numa(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = pool_nic("tenants");
	struct iov_dev *d = NULL;
	struct iov_err e = { 0 };

	f->vf[0]->numa_node = 0;
	f->vf[1]->numa_node = 0;
	f->vf[2]->numa_node = 1;
	f->vf[3]->numa_node = 1;
	f->in.numa_node = 1;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), 0);
	assert_ptr_equal(d, f->vf[2]);
	/* Nothing free on the node: another node's VF rather than none. */
	f->in.numa_node = 3;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), 0);
	assert_ptr_equal(d, f->vf[0]);
}

static void test_explicit(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = dev_nic("eth0/vf1");
	struct iov_alloc_taken t[1] = { { "0000:01:10.4", "db" } };
	struct iov_dev *d = NULL;
	struct iov_err e = { 0 };

	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), 0);
	assert_ptr_equal(d, f->vf[1]);
	n = dev_nic("0000:01:10.4");
	f->in.taken = t;
	f->in.n_taken = 1;
	d = NULL;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -EBUSY);
	assert_null(d);
	assert_non_null(strstr(e.msg, "held by guest db"));
	n = dev_nic("01:00.0");
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a virtual function"));
	n = dev_nic("eth0/vf9");
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -ENODEV);
}

static void test_explicit_refused_reason(void **state)
{
	struct fx *f = *state;
	struct iov_cfg_nic n = dev_nic("eth0/vf0");
	struct iov_dev *d = NULL;
	struct iov_err e = { 0 };

	/* No interrupt remapping: every VF fails that check; the reason and the fix come
	 * from the verify check itself. */
	f->h->iommu.intremap = 0;
	f->h->iommu.intremap_why = "test: IR off";
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -EPERM);
	assert_null(d);
	assert_non_null(strstr(e.msg, "0000:01:10.0 is not isolated: interrupt_remapping fail"));
	assert_true(e.fix[0] != 0);
	/* And without a usage snapshot host_critical is unknown: not isolated either. */
	f->h->iommu.intremap = 1;
	f->in.u = NULL;
	assert_int_equal(iov_alloc_vf(&f->in, &n, &d, &e), -EPERM);
	assert_non_null(strstr(e.msg, "host_critical unknown"));
}

/* ---- MACs ---- */

struct used { uint8_t mac[4][6]; int n; int calls; };

static int used_fn(const uint8_t mac[6], void *ud)
{
	struct used *u = ud;

	u->calls++;
	for (int i = 0; i < u->n; i++)
		if (memcmp(u->mac[i], mac, 6) == 0)
			return 1;
	return 0;
}

static void test_mac_stable_unique(void **state)
{
	struct iov_macreg *reg = iov_macreg_new();
	static const uint8_t pfx[3] = { 0x06, 0xaa, 0xbb };
	uint8_t a[6], a2[6], b[6], c[6];
	struct iov_err e = { 0 };
	bool ch = false;

	assert_int_equal(iov_mac_assign(reg, "web", 0, NULL, pfx, NULL, NULL, a, &ch, &e), 0);
	assert_true(ch);
	assert_memory_equal(a, pfx, 3);
	assert_int_equal(iov_mac_assign(reg, "web", 1, NULL, pfx, NULL, NULL, b, &ch, &e), 0);
	assert_memory_not_equal(a, b, 6);
	/* Asked again: the recorded one, nothing to save. */
	assert_int_equal(iov_mac_assign(reg, "web", 0, NULL, pfx, NULL, NULL, a2, &ch, &e), 0);
	assert_false(ch);
	assert_memory_equal(a, a2, 6);
	/* The same name in a fresh registry derives the same MAC (stable without state too). */
	{
		struct iov_macreg *r2 = iov_macreg_new();

		assert_int_equal(iov_mac_assign(r2, "web", 0, NULL, pfx, NULL, NULL, c, &ch, &e), 0);
		assert_memory_equal(a, c, 6);
		iov_macreg_free(r2);
	}
	assert_int_equal(reg->n, 2);
	iov_macreg_free(reg);
}

static void test_mac_collisions(void **state)
{
	struct iov_macreg *reg = iov_macreg_new();
	uint8_t a[6], b[6], first[6];
	struct used u = { .n = 0 };
	struct iov_err e = { 0 };
	bool ch;

	/* What "db/nic0" would get is in use on the host: the next one is taken. */
	{
		struct iov_macreg *probe = iov_macreg_new();

		assert_int_equal(iov_mac_assign(probe, "db", 0, NULL, NULL, NULL, NULL, first, &ch, &e), 0);
		iov_macreg_free(probe);
	}
	memcpy(u.mac[0], first, 6);
	u.n = 1;
	assert_int_equal(iov_mac_assign(reg, "db", 0, NULL, NULL, used_fn, &u, a, &ch, &e), 0);
	assert_memory_not_equal(a, first, 6);
	assert_int_equal(a[0], 0x02);
	assert_int_equal(a[1], 0x1e);
	assert_int_equal(a[5], (uint8_t)(first[5] + 1));
	/* Another NIC may not take a registered MAC. */
	assert_int_equal(iov_mac_assign(reg, "web", 0, a, NULL, used_fn, &u, b, &ch, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "already given to guest db nic 0"));
	/* Nor one in use on the host, nor a multicast one. */
	assert_int_equal(iov_mac_assign(reg, "web", 0, first, NULL, used_fn, &u, b, &ch, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "in use on this host"));
	{
		static const uint8_t mc[6] = { 0x03, 0, 0, 0, 0, 1 };

		assert_int_equal(iov_mac_assign(reg, "web", 0, mc, NULL, NULL, NULL, b, &ch, &e), -EINVAL);
	}
	assert_int_equal(reg->n, 1);
	/* A wanted MAC replaces the recorded one of the same NIC. */
	{
		static const uint8_t w[6] = { 0x02, 0, 0, 0, 0, 0x42 };

		assert_int_equal(iov_mac_assign(reg, "db", 0, w, NULL, used_fn, &u, b, &ch, &e), 0);
		assert_true(ch);
		assert_memory_equal(iov_macreg_find(reg, "db", 0)->mac, w, 6);
		assert_int_equal(reg->n, 1);
	}
	iov_macreg_free(reg);
}

static void test_macreg_json(void **state)
{
	struct iov_macreg *reg = iov_macreg_new(), *back = NULL;
	uint8_t m[6];
	struct iov_err e = { 0 };
	json_t *j;
	bool ch;

	assert_int_equal(iov_mac_assign(reg, "web", 0, NULL, NULL, NULL, NULL, m, &ch, &e), 0);
	assert_int_equal(iov_mac_assign(reg, "db", 2, NULL, NULL, NULL, NULL, m, &ch, &e), 0);
	j = iov_macreg_to_json(reg);
	assert_int_equal(iov_macreg_from_json(j, &back, &e), 0);
	assert_int_equal(back->n, 2);
	assert_memory_equal(iov_macreg_find(back, "db", 2)->mac, m, 6);
	iov_macreg_forget(back, "web");
	assert_int_equal(back->n, 1);
	assert_null(iov_macreg_find(back, "web", 0));
	iov_macreg_free(back);
	json_decref(j);

	/* Bad documents: refused, naming the path. */
	static const char *const bad[] = { "[]", "{\"version\": 2, \"macs\": []}" };
	/* Bad entries (as the API would refuse them): skipped, the good one kept. */
	static const char *const skip[] = {
		"{\"guest\": \"a\", \"nic\": 0}",
		"{\"guest\": \"a\", \"nic\": 0, \"mac\": \"zz\"}",
		"{\"guest\": \"good\", \"nic\": 1, \"mac\": \"02:00:00:00:00:01\"}",
		"{\"guest\": \"../x\", \"nic\": 0, \"mac\": \"02:00:00:00:00:09\"}",
		"{\"guest\": \"a\", \"nic\": 0, \"mac\": \"03:00:00:00:00:09\"}",
		"{\"guest\": \"a\", \"nic\": 99, \"mac\": \"02:00:00:00:00:0a\"}",
	};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
		char doc[512];
		json_t *d;

		snprintf(doc, sizeof(doc), "{\"version\": 1, \"macs\": [{\"guest\": \"good\", "
			 "\"nic\": 0, \"mac\": \"02:00:00:00:00:01\"}, %s]}", skip[i]);
		assert_non_null(d = json_loads(doc, 0, NULL));
		back = NULL;
		assert_int_equal(iov_macreg_from_json(d, &back, &e), 1);
		assert_non_null(strstr(e.msg, "$.macs[1]"));
		assert_int_equal(back->n, 1);
		assert_non_null(iov_macreg_find(back, "good", 0));
		iov_macreg_free(back);
		json_decref(d);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = json_loads(bad[i], 0, NULL);

		back = NULL;
		assert_non_null(d);
		assert_int_equal(iov_macreg_from_json(d, &back, &e), -EINVAL);
		assert_null(back);
		assert_int_equal(e.msg[0], '$');
		json_decref(d);
	}
	iov_macreg_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pool_first_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_skips_not_isolated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_numa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_storage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_refused_reason, setup, teardown),
		cmocka_unit_test(test_mac_stable_unique),
		cmocka_unit_test(test_mac_collisions),
		cmocka_unit_test(test_macreg_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
