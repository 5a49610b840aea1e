/* config/export.c: CDI specs and the device plugin config from a hand-built config and host
 * model (the loader has its own tests; here only what the export makes of the pools). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/export.h"
#include "lib/err.h"
#include "lib/host.h"
#include "tests/unit/fakesys.h"

/* Host: PF 0000:01:00.0 with 3 VFs (groups 20, 21, none), PF 0000:02:00.0 with 1 VF (30). */
struct world {
	struct iov_host *h;
	struct iov_config c;
	struct iov_cfg_pf pfs[2];
	struct iov_cfg_pool pools[3];
	struct iov_cfg_pool_member mem[4];
	struct iov_dev *pf_dev[2];
	struct iov_cfg_resolved r;
	char *files[1];
};

static void world_init(struct world *w)
{
	struct iov_dev *pf0, *pf1, *v;

	memset(w, 0, sizeof(*w));
	w->h = fk_host_new();
	pf0 = fk_dev(w->h, "0000:01:00.0", "igb");
	pf1 = fk_dev(w->h, "0000:02:00.0", "igb");
	v = fk_dev(w->h, "0000:01:10.0", "vfio-pci");
	fk_vf(pf0, v);
	fk_join(fk_group(w->h, 20, "DMA"), v);
	v = fk_dev(w->h, "0000:01:10.2", "vfio-pci");
	fk_vf(pf0, v);
	fk_join(fk_group(w->h, 21, "DMA"), v);
	v = fk_dev(w->h, "0000:01:10.4", NULL);
	fk_vf(pf0, v);		/* no group */
	v = fk_dev(w->h, "0000:02:10.0", "vfio-pci");
	fk_vf(pf1, v);
	fk_join(fk_group(w->h, 30, "DMA"), v);

	w->files[0] = "/etc/iovd/iovd.json";
	w->pfs[0] = (struct iov_cfg_pf){ .name = "uplink", .num_vfs = 3,
					 .where = { w->files[0], "$.pfs[0]" } };
	w->pfs[1] = (struct iov_cfg_pf){ .name = "storage", .num_vfs = 2,
					 .where = { w->files[0], "$.pfs[1]" } };
	/* tenants: uplink#0-3 (VF 3 does not exist, VF 2 has no group) + storage#0 */
	w->mem[0] = (struct iov_cfg_pool_member){ .pf = 0, .first = 0, .last = 3 };
	w->mem[1] = (struct iov_cfg_pool_member){ .pf = 1, .first = 0, .last = 0 };
	w->mem[2] = (struct iov_cfg_pool_member){ .pf = 1, .first = 1, .last = 1 };
	w->pools[0] = (struct iov_cfg_pool){ .name = "tenants", .members = &w->mem[0],
					     .n_members = 2, .where = { w->files[0], "$.pools[0]" } };
	w->pools[1] = (struct iov_cfg_pool){ .name = "empty-one", .members = &w->mem[2],
					     .n_members = 1, .where = { w->files[0], "$.pools[1]" } };
	w->c.pfs = w->pfs;
	w->c.n_pfs = 2;
	w->c.pools = w->pools;
	w->c.n_pools = 2;
	w->c.files = w->files;
	w->c.n_files = 1;
	w->pf_dev[0] = pf0;
	w->pf_dev[1] = pf1;
	w->r.cfg = &w->c;
	w->r.pf_dev = w->pf_dev;
}

static void world_free(struct world *w)
{
	fk_host_free(w->h);
}

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static void cdi_spec(void **state)
{
	struct world w;
	struct iov_err err = { 0 };
	json_t *spec = NULL, *skipped = NULL;
	char *txt;

	world_init(&w);
	assert_int_equal(iov_export_cdi(&w.r, 0, &spec, &skipped, &err), 3);
	txt = dump(spec);
	assert_string_equal(txt,
		"{\"cdiVersion\":\"0.5.0\",\"kind\":\"iovd.io/tenants\",\"devices\":["
		"{\"name\":\"uplink-vf0\",\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/vfio/20\"}],"
		"\"env\":[\"IOVD_PCI_ADDRESS_UPLINK_VF0=0000:01:10.0\",\"IOVD_IOMMU_GROUP_UPLINK_VF0=20\"]}},"
		"{\"name\":\"uplink-vf1\",\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/vfio/21\"}],"
		"\"env\":[\"IOVD_PCI_ADDRESS_UPLINK_VF1=0000:01:10.2\",\"IOVD_IOMMU_GROUP_UPLINK_VF1=21\"]}},"
		"{\"name\":\"storage-vf0\",\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/vfio/30\"}],"
		"\"env\":[\"IOVD_PCI_ADDRESS_STORAGE_VF0=0000:02:10.0\",\"IOVD_IOMMU_GROUP_STORAGE_VF0=30\"]}}],"
		"\"containerEdits\":{\"deviceNodes\":[{\"path\":\"/dev/vfio/vfio\"}]}}");
	free(txt);
	txt = dump(skipped);
	assert_string_equal(txt, "[\"uplink/vf2: 0000:01:10.4 has no IOMMU group\","
				 "\"uplink/vf3: uplink (0000:01:00.0) has 3 VFs now\"]");
	free(txt);
	json_decref(spec);
	json_decref(skipped);

	/* A pool whose VFs do not exist yet: a valid spec with no devices. */
	assert_int_equal(iov_export_cdi(&w.r, 1, &spec, NULL, &err), 0);
	assert_int_equal(json_array_size(json_object_get(spec, "devices")), 0);
	assert_string_equal(json_string_value(json_object_get(spec, "kind")), "iovd.io/empty-one");
	json_decref(spec);
	world_free(&w);
}

static void cdi_bad_names(void **state)
{
	/* "x": valid for CDI's rules, but Debian's CDI library panics on one-letter classes. */
	static const char *const bad_pool[] = { "1st", "pool-", "_x", "a-", "x" };
	struct world w;
	struct iov_err err = { 0 };
	json_t *spec = (json_t *)&w;	/* must stay untouched */

	world_init(&w);
	for (size_t i = 0; i < sizeof(bad_pool) / sizeof(bad_pool[0]); i++) {
		w.pools[0].name = (char *)bad_pool[i];
		assert_int_equal(iov_export_cdi(&w.r, 0, &spec, NULL, &err), -EINVAL);
		assert_ptr_equal(spec, &w);
		assert_non_null(strstr(err.msg, "$.pools[0]"));
		assert_non_null(strstr(err.msg, bad_pool[i]));
	}
	w.pools[0].name = "ab";
	w.pfs[1].name = "-storage";
	assert_int_equal(iov_export_cdi(&w.r, 0, &spec, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "$.pfs[1]"));
	world_free(&w);
}

static void filename(void **state)
{
	char buf[64];

	assert_string_equal(iov_export_cdi_filename("tenants", buf, sizeof(buf)),
			    "iovd.io-tenants.json");
}

static void sriovdp(void **state)
{
	struct world w;
	struct iov_err err = { 0 };
	json_t *doc = NULL, *skipped = NULL;
	char *txt;

	world_init(&w);
	assert_int_equal(iov_export_sriovdp(&w.r, &doc, &skipped, &err), 0);
	txt = dump(doc);
	assert_string_equal(txt,
		"{\"resourceList\":["
		"{\"resourceName\":\"tenants\",\"resourcePrefix\":\"iovd.io\",\"deviceType\":\"netDevice\","
		"\"selectors\":{\"drivers\":[\"vfio-pci\"],\"pciAddresses\":[\"0000:01:10.0\",\"0000:01:10.2\",\"0000:02:10.0\"]}},"
		"{\"resourceName\":\"empty_one\",\"resourcePrefix\":\"iovd.io\",\"deviceType\":\"netDevice\","
		"\"selectors\":{\"drivers\":[\"vfio-pci\"],\"pciAddresses\":[]}}]}");
	free(txt);
	assert_int_equal(json_array_size(skipped), 3);	/* uplink#2, uplink#3, storage#1 */
	json_decref(doc);
	json_decref(skipped);

	/* "empty-one" and "empty_one" are the same resource to the plugin. */
	w.pools[0].name = "empty_one";
	doc = NULL;
	assert_int_equal(iov_export_sriovdp(&w.r, &doc, NULL, &err), -EINVAL);
	assert_null(doc);
	assert_non_null(strstr(err.msg, "$.pools[1]"));
	assert_non_null(strstr(err.msg, "'empty_one'"));
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cdi_spec), cmocka_unit_test(cdi_bad_names),
		cmocka_unit_test(filename), cmocka_unit_test(sriovdp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
