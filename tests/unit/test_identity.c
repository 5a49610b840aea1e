/* Stable identity: the same cards before and after a move (tests/fixtures/identity/slot_a
 * and slot_b: two 82576s swapped, one behind another root port, the bus renumbered). A
 * config that matches PFs by DSN, or by permanent MAC, finds the same card in both; one that
 * matches by netdev name or address finds the other card after the move. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/plan.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"

static char dir[64], tree_a[96], tree_b[96];

static int setup(void **st)
{
	char cmd[512];

	strcpy(dir, "/tmp/test_identity.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tree_a, sizeof(tree_a), "%s/a", dir);
	snprintf(tree_b, sizeof(tree_b), "%s/b", dir);
	snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/gen/mksysfs.py tests/fixtures/identity/"
		 "slot_a.desc %s >/dev/null && python3 tests/fixtures/gen/mksysfs.py "
		 "tests/fixtures/identity/slot_b.desc %s >/dev/null", tree_a, tree_b);
	if (system(cmd) != 0)
		return -1;
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

/* Permanent MACs as rtnetlink would report them on each host: burnt into the card, so
 * they follow it; the netdev names follow the slot. */
struct macs {
	const char *ifname[2];
	uint8_t mac[2][6];
};

static int fake_perm_mac(void *ud, const char *ifname, uint8_t mac[6])
{
	const struct macs *m = ud;

	for (int i = 0; i < 2; i++)
		if (strcmp(m->ifname[i], ifname) == 0) {
			memcpy(mac, m->mac[i], 6);
			return 0;
		}
	return -ENOENT;
}

/* Resolves cfg on tree with the permanent MACs m; returns the addresses of the PFs (in
 * config order) as "A,B" in out. */
static void resolve_on(const char *tree, const char *cfg, const struct macs *m, char *out,
		       size_t len)
{
	struct iov_cfg_lookup lk = { .perm_mac = fake_perm_mac, .ud = (void *)m };
	struct iov_cfg_resolved *r = NULL;
	struct iov_config *c = NULL;
	struct iov_host *h = NULL;
	struct iov_err e = { 0 };

	assert_int_equal(iov_sysroot_set(tree), 0);
	assert_int_equal(iov_host_load(&h), 0);
	if (iov_config_load_buf("test.json", cfg, strlen(cfg), &c, &e) < 0)
		fail_msg("config: %s", e.msg);
	if (iov_config_resolve_with(c, h, &lk, &r, &e) < 0)
		fail_msg("resolve: %s", e.msg);
	out[0] = '\0';
	for (size_t i = 0; i < c->n_pfs; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "," : "",
			 r->pf_dev[i]->name);
	iov_cfg_resolved_free(r);
	iov_config_free(c);
	iov_host_free(h);
}

static const struct macs macs_a = { { "enp1s0", "enp2s0" },
				    { { 0x00, 0x1b, 0x21, 0x0a, 0x00, 0x01 },
				      { 0x00, 0x1b, 0x21, 0x0b, 0x00, 0x02 } } };
static const struct macs macs_b = { { "enp3s0", "enp1s0" },
				    { { 0x00, 0x1b, 0x21, 0x0a, 0x00, 0x01 },
				      { 0x00, 0x1b, 0x21, 0x0b, 0x00, 0x02 } } };

static void test_dsn_follows_the_card(void **st)
{
	static const char cfg[] =
		"{\"pfs\": ["
		" {\"name\": \"uplink\", \"match\": {\"dsn\": \"00-1b-21-ff-ff-0a-00-01\"}, \"num_vfs\": 4},"
		" {\"name\": \"storage\", \"match\": {\"dsn\": \"00-1b-21-ff-ff-0b-00-02\"}, \"num_vfs\": 2}]}";
	char a[128], b[128];

	resolve_on(tree_a, cfg, &macs_a, a, sizeof(a));
	resolve_on(tree_b, cfg, &macs_b, b, sizeof(b));
	assert_string_equal(a, "0000:01:00.0,0000:02:00.0");
	assert_string_equal(b, "0000:03:00.0,0000:01:00.0");
}

static void test_perm_mac_follows_the_card(void **st)
{
	static const char cfg[] =
		"{\"pfs\": ["
		" {\"name\": \"uplink\", \"match\": {\"perm_mac\": \"00:1b:21:0a:00:01\"}, \"num_vfs\": 4},"
		" {\"name\": \"storage\", \"match\": {\"perm_mac\": \"00:1b:21:0b:00:02\"}, \"num_vfs\": 2}]}";
	char a[128], b[128];

	resolve_on(tree_a, cfg, &macs_a, a, sizeof(a));
	resolve_on(tree_b, cfg, &macs_b, b, sizeof(b));
	assert_string_equal(a, "0000:01:00.0,0000:02:00.0");
	assert_string_equal(b, "0000:03:00.0,0000:01:00.0");
}

/* The trap the identity avoids: by netdev name (or address) "uplink" is card Y after the
 * move, whose DSN says it is the other card. */
static void test_netdev_name_does_not(void **st)
{
	static const char cfg[] =
		"{\"pfs\": [{\"name\": \"uplink\", \"match\": {\"netdev\": \"enp1s0\"}, \"num_vfs\": 4}]}";
	struct iov_host *h;
	struct iov_pci_addr addr;
	char a[128], b[128];

	resolve_on(tree_a, cfg, &macs_a, a, sizeof(a));
	resolve_on(tree_b, cfg, &macs_b, b, sizeof(b));
	assert_string_equal(a, "0000:01:00.0");
	assert_string_equal(b, "0000:01:00.0");
	/* same address, another card */
	assert_int_equal(iov_pci_addr_parse("0000:01:00.0", &addr), 0);
	assert_int_equal(iov_sysroot_set(tree_a), 0);
	assert_int_equal(iov_host_load(&h), 0);
	uint64_t dsn_a = iov_host_find(h, &addr)->dsn;
	iov_host_free(h);
	assert_int_equal(iov_sysroot_set(tree_b), 0);
	assert_int_equal(iov_host_load(&h), 0);
	assert_true(iov_host_find(h, &addr)->dsn_known);
	assert_true(iov_host_find(h, &addr)->dsn != dsn_a);
	iov_host_free(h);
}

/* The plan of a config on a host: actions as people read them (pf name, VF, what, from, to,
 * the diff line), without the addresses, which are not the card's identity. */
static json_t *plan_on(const char *tree, const char *cfg, const struct macs *m)
{
	struct iov_cfg_lookup lk = { .perm_mac = fake_perm_mac, .ud = (void *)m };
	struct iov_cfg_resolved *r = NULL;
	struct iov_cfg_plan *p = NULL;
	struct iov_config *c = NULL;
	struct iov_host *h = NULL;
	struct iov_err e = { 0 };
	json_t *a = json_array(), *pj, *act;
	size_t i;

	assert_int_equal(iov_sysroot_set(tree), 0);
	assert_int_equal(iov_host_load(&h), 0);
	assert_int_equal(iov_config_load_buf("test.json", cfg, strlen(cfg), &c, &e), 0);
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), 0);
	struct iov_plan_input in = { .h = h, .rc = r };
	if (iov_cfg_plan(&in, &p, &e) < 0)
		fail_msg("plan: %s", e.msg);
	pj = iov_cfg_plan_json(p);
	json_array_foreach(json_object_get(pj, "actions"), i, act) {
		json_t *o = json_deep_copy(act);

		json_object_del(o, "device");
		json_object_del(o, "pf_device");
		json_object_del(o, "why");	/* may name the address */
		json_array_append_new(a, o);
	}
	json_decref(pj);
	iov_cfg_plan_free(p);
	iov_cfg_resolved_free(r);
	iov_config_free(c);
	iov_host_free(h);
	return a;
}

/* Matched by address instead, the same config plans something else after the move: the
 * card now at 0000:01:00.0 is Y, with no VFs. (What test_same_plan_after_move guards.) */
static void test_address_plan_changes(void **st)
{
	static const char cfg[] =
		"{\"pfs\": [{\"name\": \"uplink\", \"match\": {\"address\": \"0000:01:00.0\"}, "
		"\"num_vfs\": 3}]}";
	json_t *a = plan_on(tree_a, cfg, &macs_a), *b = plan_on(tree_b, cfg, &macs_b);

	assert_int_equal(json_array_size(a), 0);	/* X has its 3 VFs */
	assert_true(json_array_size(b) > 0);		/* Y would get them */
	json_decref(a);
	json_decref(b);
}

/* Moving the cards changes no action of the plan: the same VFs, properties and drivers for
 * the same cards. */
static void test_same_plan_after_move(void **st)
{
	static const char cfg[] =
		"{\"pfs\": ["
		" {\"name\": \"uplink\", \"match\": {\"dsn\": \"00-1b-21-ff-ff-0a-00-01\"}, \"num_vfs\": 3,"
		"  \"vfs\": {\"0\": {\"mac\": \"02:1e:00:00:00:01\", \"vlan\": 100}}},"
		" {\"name\": \"storage\", \"match\": {\"perm_mac\": \"00:1b:21:0b:00:02\"}, \"num_vfs\": 1,"
		"  \"defaults\": {\"spoofchk\": true}}]}";
	json_t *a = plan_on(tree_a, cfg, &macs_a), *b = plan_on(tree_b, cfg, &macs_b);
	char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);

	assert_true(json_array_size(a) >= 3);
	if (!json_equal(a, b))
		fail_msg("plans differ:\n%s\n%s", ta, tb);
	/* Card X keeps its 3 VFs: no count change for uplink, only storage gets one. */
	assert_null(strstr(ta, "\"pf\": \"uplink\", \"to\": 3"));
	assert_non_null(strstr(ta, "storage"));
	free(ta);
	free(tb);
	json_decref(a);
	json_decref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsn_follows_the_card),
		cmocka_unit_test(test_perm_mac_follows_the_card),
		cmocka_unit_test(test_netdev_name_does_not),
		cmocka_unit_test(test_same_plan_after_move),
		cmocka_unit_test(test_address_plan_changes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
