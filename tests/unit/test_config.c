/* The config loader and resolve: range syntax, the merge of defaults and entries, drop-in
 * order and conflicts, out-parameters on failure, and resolve against hand-built hosts with
 * a fake permanent-MAC table. The error texts themselves are golden-tested by
 * tests/config/run.sh on real fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/err.h"
#include "lib/host.h"
#include "tests/unit/fakesys.h"

static struct iov_config *load(const char *text, struct iov_err *e)
{
	struct iov_config *c = NULL;
	int r = iov_config_load_buf("t.json", text, strlen(text), &c, e);

	if (r < 0) {
		print_message("unexpected error: %s (fix: %s)\n", e->msg, e->fix);
		fail();
	}
	return c;
}

static int load_fail(const char *text, struct iov_err *e)
{
	struct iov_config *c = (struct iov_config *)(uintptr_t)0x1;
	int r = iov_config_load_buf("t.json", text, strlen(text), &c, e);

	assert_true(r < 0);
	assert_ptr_equal(c, (struct iov_config *)(uintptr_t)0x1);	/* untouched */
	assert_int_equal(e->code, r);
	assert_true(strncmp(e->msg, "t.json", 6) == 0);
	assert_true(e->fix[0] != '\0');
	return r;
}

static void test_ranges(void **state)
{
	static const struct { const char *s; int r; unsigned first, last; } t[] = {
		{ "0", 0, 0, 0 }, { "7", 0, 7, 7 }, { "0-3", 0, 0, 3 }, { "2-2", 0, 2, 2 },
		{ "10-127", 0, 10, 127 }, { "65534", 0, 65534, 65534 },
		{ "", -EINVAL, 0, 0 }, { "-", -EINVAL, 0, 0 }, { "-3", -EINVAL, 0, 0 }, { "3-", -EINVAL, 0, 0 },
		{ "1-2-3", -EINVAL, 0, 0 }, { " 1", -EINVAL, 0, 0 }, { "1 ", -EINVAL, 0, 0 }, { "+1", -EINVAL, 0, 0 },
		{ "01", -EINVAL, 0, 0 }, { "0-03", -EINVAL, 0, 0 }, { "0x1", -EINVAL, 0, 0 }, { "3-1", -EDOM, 0, 0 },
		{ "65535", -ERANGE, 0, 0 }, { "0-99999999999999999999", -ERANGE, 0, 0 }, { "1..3", -EINVAL, 0, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned f = 999, l = 999;
		int r = iov_cfg_parse_range(t[i].s, 65534, &f, &l);

		if (r != t[i].r)
			print_message("range '%s': %d, want %d\n", t[i].s, r, t[i].r);
		assert_int_equal(r, t[i].r);
		if (r == 0) {
			assert_int_equal(f, t[i].first);
			assert_int_equal(l, t[i].last);
		} else {
			assert_int_equal(f, 999);	/* out-params only on success */
		}
	}
}

static void test_dsn(void **state)
{
	uint64_t v = 0;
	char buf[24];

	(void)state;
	assert_int_equal(iov_cfg_parse_dsn("00-1b-21-ff-ff-5e-00-01", &v), 0);
	assert_true(v == 0x001b21ffff5e0001ull);
	iov_cfg_fmt_dsn(v, buf);
	assert_string_equal(buf, "00-1b-21-ff-ff-5e-00-01");
	assert_int_equal(iov_cfg_parse_dsn("00-1B-21-FF-FF-5E-00-01", &v), 0);
	assert_int_equal(iov_cfg_parse_dsn("00:1b:21:ff:ff:5e:00:01", &v), -EINVAL);
	assert_int_equal(iov_cfg_parse_dsn("00-1b-21-ff-ff-5e-00", &v), -EINVAL);
	assert_int_equal(iov_cfg_parse_dsn("00-1b-21-ff-ff-5e-00-0g", &v), -EINVAL);
}

/* Defaults apply field by field; vlan, qos and proto travel together; the driver falls back
 * entry -> defaults -> host. */
static void test_merge(void **state)
{
	struct iov_err e = { 0 };
	struct iov_config *c = load(
		"{ \"pfs\": [ { \"name\": \"up\", \"match\": { \"netdev\": \"eth0\" }, \"num_vfs\": 6,"
		"  \"defaults\": { \"vlan\": 10, \"qos\": 2, \"spoofchk\": true, \"max_rate\": 1000,"
		"                  \"driver\": \"vfio-pci\" },"
		"  \"vfs\": { \"0\": { \"mac\": \"02:00:00:00:00:01\" },"
		"           \"1\": { \"vlan\": 20, \"proto\": \"802.1ad\" },"
		"           \"2-3\": { \"trust\": true, \"driver\": \"host\" },"
		"           \"4\": { \"max_rate\": 0, \"spoofchk\": false, \"driver\": \"none\" } } },"
		"  { \"name\": \"plain\", \"match\": { \"address\": \"02:00.0\" } } ] }", &e);
	struct iov_vfconf p;
	enum iov_cfg_driver d;

	(void)state;
	assert_int_equal(iov_config_vf(c, 0, 0, &p, &d), 0);
	assert_int_equal(d, IOV_CFG_DRV_VFIO);
	assert_int_equal(p.set, IOV_VFC_MAC | IOV_VFC_VLAN | IOV_VFC_SPOOFCHK | IOV_VFC_MAX_RATE);
	assert_int_equal(p.mac[5], 1);
	assert_int_equal(p.vlan, 10);
	assert_int_equal(p.qos, 2);
	assert_int_equal(p.vlan_proto, IOV_ETH_P_8021Q);
	assert_true(p.spoofchk);
	assert_int_equal(p.max_rate, 1000);

	assert_int_equal(iov_config_vf(c, 0, 1, &p, &d), 0);
	assert_int_equal(p.vlan, 20);
	assert_int_equal(p.qos, 0);		/* the entry's VLAN replaces the default's whole */
	assert_int_equal(p.vlan_proto, IOV_ETH_P_8021AD);
	assert_int_equal(d, IOV_CFG_DRV_VFIO);

	for (unsigned i = 2; i <= 3; i++) {
		assert_int_equal(iov_config_vf(c, 0, i, &p, &d), 0);
		assert_int_equal(d, IOV_CFG_DRV_HOST);
		assert_true(p.set & IOV_VFC_TRUST);
		assert_true(p.trust);
		assert_int_equal(p.vlan, 10);
		assert_false(p.set & IOV_VFC_MAC);
	}
	assert_int_equal(iov_config_vf(c, 0, 4, &p, &d), 0);
	assert_int_equal(d, IOV_CFG_DRV_NONE);
	assert_true(p.set & IOV_VFC_MAX_RATE);
	assert_int_equal(p.max_rate, 0);	/* 0 is a value ("no limit"), not "unset" */
	assert_false(p.spoofchk);
	assert_true(p.set & IOV_VFC_SPOOFCHK);

	assert_int_equal(iov_config_vf(c, 0, 5, &p, &d), 0);	/* defaults only */
	assert_int_equal(p.set, IOV_VFC_VLAN | IOV_VFC_SPOOFCHK | IOV_VFC_MAX_RATE);

	p.vlan = 4242;
	assert_int_equal(iov_config_vf(c, 0, 6, &p, &d), -ENOENT);	/* beyond num_vfs */
	assert_int_equal(p.vlan, 4242);
	assert_int_equal(iov_config_vf(c, 2, 0, &p, &d), -ENOENT);	/* no such PF */

	/* A PF whose count is not managed: any index, nothing set, the host's driver. */
	assert_int_equal(c->pfs[1].num_vfs, -1);
	assert_int_equal(iov_config_vf(c, 1, 100, &p, &d), 0);
	assert_int_equal(p.set, 0);
	assert_int_equal(d, IOV_CFG_DRV_HOST);

	assert_int_equal(iov_config_find_pf(c, "plain"), 1);
	assert_int_equal(iov_config_find_pf(c, "nope"), -ENOENT);
	assert_int_equal(iov_config_find_pool(c, "up"), -ENOENT);
	assert_int_equal(iov_config_find_guest(c, "up"), -ENOENT);
	assert_int_equal(c->policy.allow_unsafe_interrupts, -1);	/* unset: the command line decides */
	iov_config_free(c);
}

static void test_defaults(void **state)
{
	struct iov_err e = { 0 };
	struct iov_config *c = load(
		"{ \"policy\": { \"allow_unsafe_interrupts\": false },"
		"  \"pfs\": [ { \"name\": \"up\", \"match\": { \"netdev\": \"eth0\" }, \"num_vfs\": 4, "
		"  \"defaults\": { \"driver\": \"vfio-pci\" } } ],"
		"  \"pools\": [ { \"name\": \"p\", \"vfs\": [\"up/vf0\", \"up#1\", \"up/vf2-3\"] } ],"
		"  \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { \"pool\": \"p\" } ] } ] }",
		&e);

	(void)state;
	assert_int_equal(c->policy.allow_unsafe_interrupts, 0);
	assert_int_equal(c->policy.on_drift, IOV_DRIFT_REPORT);
	assert_false(c->policy.has_mac_prefix);
	assert_int_equal(c->n_pools, 1);
	/* A VF spelled as iovctl spells it (up/vf0, a range up/vf2-3), or PF#N. */
	assert_int_equal(c->pools[0].n_members, 3);
	assert_int_equal(c->pools[0].members[0].first, 0);
	assert_int_equal(c->pools[0].members[0].last, 0);
	assert_int_equal(c->pools[0].members[1].first, 1);
	assert_int_equal(c->pools[0].members[2].first, 2);
	assert_int_equal(c->pools[0].members[2].last, 3);
	assert_int_equal(c->n_guests, 1);
	assert_int_equal(c->guests[0].mem_mib, 512);
	assert_int_equal(c->guests[0].cpus, 1);
	assert_false(c->guests[0].autostart);
	assert_int_equal(c->guests[0].restart, IOV_RESTART_NO);
	assert_null(c->guests[0].initrd);
	assert_int_equal(c->guests[0].nics[0].vlan, -1);
	assert_false(c->guests[0].nics[0].has_mac);
	assert_int_equal(iov_config_find_guest(c, "g"), 0);
	assert_string_equal(c->pfs[0].where.path, "$.pfs[0]");
	assert_string_equal(c->pfs[0].where.file, "t.json");
	iov_config_free(c);
}

/* The codes, and that the message names the place. */
static void test_errors(void **state)
{
	static const struct { const char *doc; int code; const char *where; } t[] = {
		{ "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"e\" }, \"vfs\": "
		  "{ \"2-3\": { \"vlan\": 5000 } } } ] }", -ERANGE, "$.pfs[0].vfs[\"2-3\"].vlan" },
		{ "{ \"pfs\": [ {}, { \"name\": \"a\", \"match\": {} } ] }", -EINVAL, "$.pfs[0]" },
		{ "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"e\" } },"
		  "  { \"name\": \"a\", \"match\": { \"netdev\": \"f\" } } ] }", -EEXIST, "$.pfs[1].name" },
		{ "{ \"pools\": [ { \"name\": \"p\", \"vfs\": [\"x#0\"] } ] }", -ENOENT, "$.pools[0].vfs[0]" },
		{ "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"e\" }, \"num_vfs\": 2,"
		  "  \"vfs\": { \"3\": { \"vlan\": 1 } } } ] }", -ERANGE, "$.pfs[0].vfs[\"3\"]" },
		{ "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"e\" },"
		  "  \"vfs\": { \"0\": { \"mac\": \"02:00:00:00:00:01\" }, \"1\": { \"mac\": "
		  "\"02:00:00:00:00:01\" } } } ] }", -EEXIST, "$.pfs[0].vfs[\"1\"].mac" },
		{ "{ \"x\\\"y\": 1 }", -EINVAL, "$[\"x\\\"y\"]" },
		{ "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"e\" },"
		  "  \"vfs\": { \"0\\n\": { \"vlan\": 1 } } } ] }", -EINVAL, "$.pfs[0].vfs[\"0\\u000a\"]" },
		{ "{\n\n   \"pfs\": [ ,", -EINVAL, "t.json:3:13:" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct iov_err e = { 0 };
		int r = load_fail(t[i].doc, &e);

		if (r != t[i].code || !strstr(e.msg, t[i].where))
			print_message("case %zu: %d '%s', want %d and '%s'\n", i, r, e.msg, t[i].code,
				      t[i].where);
		assert_int_equal(r, t[i].code);
		assert_non_null(strstr(e.msg, t[i].where));
	}
}

/* Pools of NVMe VFs (issue 18): a pool whose PF has NVMe keys gives disks, with
 * "on_release"; the kinds are not mixed, each VF has a namespace, disks name such a pool. */
#define NVPF "{ \"name\": \"store\", \"match\": { \"address\": \"0000:02:00.0\" }, " \
	"\"num_vfs\": 2, \"defaults\": { \"queues\": 2, \"interrupts\": 1, \"driver\": " \
	"\"vfio-pci\" }, \"vfs\": { \"0\": { \"namespace\": 1 }, \"1\": { \"namespace\": 2 } } }"
#define NETPF "{ \"name\": \"up\", \"match\": { \"netdev\": \"e\" }, \"num_vfs\": 2, " \
	"\"defaults\": { \"driver\": \"vfio-pci\" } }"

static void test_storage_pools(void **state)
{
	static const struct { const char *doc; int code; const char *where, *what; } bad[] = {
		{ "{ \"pfs\": [ " NETPF " ], \"pools\": [ { \"name\": \"p\", \"vfs\": [\"up/vf0\"],"
		  " \"on_release\": \"format\" } ] }", -EINVAL, "$.pools[0].on_release",
		  "is not a pool of NVMe VFs" },
		{ "{ \"pfs\": [ " NVPF " ], \"pools\": [ { \"name\": \"p\", \"vfs\": [\"store/vf0\"],"
		  " \"on_release\": \"shred\" } ] }", -EINVAL, "$.pools[0].on_release",
		  "\"shred\" is not a release action" },
		{ "{ \"pfs\": [ " NVPF ", " NETPF " ], \"pools\": [ { \"name\": \"p\", \"vfs\": "
		  "[\"store/vf0\", \"up/vf1\"] } ] }", -EINVAL, "$.pools[0].vfs[1]",
		  "mixes NVMe VFs (store) and network VFs (up)" },
		{ "{ \"pfs\": [ { \"name\": \"store\", \"match\": { \"address\": \"0000:02:00.0\" },"
		  " \"num_vfs\": 2, \"defaults\": { \"queues\": 2, \"interrupts\": 1, \"driver\": "
		  "\"vfio-pci\" }, \"vfs\": { \"0\": { \"namespace\": 1 } } } ], \"pools\": [ { "
		  "\"name\": \"p\", \"vfs\": [\"store/vf0-1\"] } ] }", -EINVAL, "$.pools[0].vfs[0]",
		  "store/vf1 has no namespace" },
		{ "{ \"pfs\": [ " NVPF " ], \"pools\": [ { \"name\": \"p\", \"vfs\": [\"store/vf0\"] "
		  "} ], \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { "
		  "\"pool\": \"p\" } ] } ] }", -EINVAL, "$.guests[0].nics[0].pool",
		  "pool \"p\" holds NVMe VFs, not NICs" },
		{ "{ \"pfs\": [ " NETPF " ], \"pools\": [ { \"name\": \"p\", \"vfs\": [\"up/vf0\"] "
		  "} ], \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"disks\": [ { "
		  "\"pool\": \"p\" } ] } ] }", -EINVAL, "$.guests[0].disks[0].pool",
		  "pool \"p\" holds network VFs, not NVMe VFs" },
		{ "{ \"pfs\": [ " NVPF " ], \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", "
		  "\"disks\": [ { \"pool\": \"q\" } ] } ] }", -ENOENT, "$.guests[0].disks[0].pool",
		  "no pool named \"q\"" },
	};
	struct iov_err e = { 0 };
	struct iov_config *c;

	(void)state;
	/* "scratch" overlaps "db" (store/vf1 in two pools): refused; without it, loaded. */
	assert_int_equal(load_fail("{ \"pfs\": [ " NVPF " ], \"pools\": [ { \"name\": \"db\", "
				   "\"vfs\": [\"store/vf0-1\"] }, { \"name\": \"scratch\", \"vfs\": "
				   "[\"store/vf1\"] } ] }", &e), -EEXIST);
	c = load("{ \"pfs\": [ " NVPF ", " NETPF " ], \"pools\": [ { \"name\": \"db\", \"vfs\": "
		 "[\"store/vf0\"], \"on_release\": \"format\" }, { \"name\": \"keep\", \"vfs\": "
		 "[\"store/vf1\"] }, { \"name\": \"net\", \"vfs\": [\"up/vf0\"] } ], \"guests\": [ "
		 "{ \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { \"pool\": \"net\" } ], "
		 "\"disks\": [ { \"pool\": \"db\" }, { \"path\": \"/img\" } ] } ] }", &e);
	assert_true(c->pools[0].storage);
	assert_int_equal(c->pools[0].on_release, IOV_RELEASE_FORMAT);
	assert_true(c->pools[1].storage);
	assert_int_equal(c->pools[1].on_release, IOV_RELEASE_KEEP);	/* the default */
	assert_false(c->pools[2].storage);
	assert_string_equal(c->guests[0].disks[0].pool, "db");
	assert_string_equal(c->guests[0].disks[1].path, "/img");
	assert_string_equal(iov_cfg_release_name(IOV_RELEASE_FORMAT), "format");
	iov_config_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = load_fail(bad[i].doc, &e);

		if (r != bad[i].code || !strstr(e.msg, bad[i].where) || !strstr(e.msg, bad[i].what))
			print_message("case %zu: %d '%s', want %d, '%s' and '%s'\n", i, r, e.msg,
				      bad[i].code, bad[i].where, bad[i].what);
		assert_int_equal(r, bad[i].code);
		assert_non_null(strstr(e.msg, bad[i].where));
		assert_non_null(strstr(e.msg, bad[i].what));
	}
}

static void test_dropins(void **state)
{
	char *dir = fk_tmpdir(), main_path[512], dropins[512];
	struct iov_config *c = NULL;
	struct iov_err e = { 0 };

	(void)state;
	snprintf(main_path, sizeof(main_path), "%s/iovd.json", dir);
	snprintf(dropins, sizeof(dropins), "%s/iovd.d", dir);
	/* Nothing at all: -ENOENT, saying so. */
	assert_int_equal(iov_config_load(main_path, NULL, &c, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no config file"));
	assert_null(c);

	/* Written out of order; read in lexical order after the main file. A pool may name a
	 * PF of a later file. Files that are not *.json, and dot files, are skipped. */
	fk_write(dir, "iovd.d/20-b.json", "{ \"pfs\": [ { \"name\": \"b\", \"match\": { \"netdev\": "
		 "\"eb\" }, \"num_vfs\": 2, \"defaults\": { \"driver\": \"vfio-pci\" } } ] }");
	fk_write(dir, "iovd.d/10-pool.json", "{ \"pools\": [ { \"name\": \"p\", \"vfs\": [\"b#0-1\"] } ] }");
	fk_write(dir, "iovd.d/.05-hidden.json", "garbage");
	fk_write(dir, "iovd.d/07-notes.txt", "garbage");
	fk_write(dir, "iovd.d/30-a.json", "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"ea\" } } ] }");
	assert_int_equal(iov_config_load(main_path, NULL, &c, &e), 0);	/* no main: fine */
	assert_int_equal(c->n_files, 3);
	assert_non_null(strstr(c->files[0], "10-pool.json"));
	assert_non_null(strstr(c->files[2], "30-a.json"));
	assert_string_equal(c->pfs[0].name, "b");
	assert_string_equal(c->pfs[1].name, "a");
	assert_ptr_equal(c->pfs[1].where.file, c->files[2]);
	assert_int_equal(c->pools[0].members[0].pf, 0);
	iov_config_free(c);
	c = NULL;

	fk_write(dir, "iovd.json", "{ \"policy\": { \"on_drift\": \"reapply\" } }");
	assert_int_equal(iov_config_load(main_path, NULL, &c, &e), 0);
	assert_int_equal(c->n_files, 4);
	assert_string_equal(c->files[0], main_path);
	assert_int_equal(c->policy.on_drift, IOV_DRIFT_REAPPLY);
	iov_config_free(c);
	c = NULL;

	/* "" = no drop-ins: the pool-less main file alone. */
	assert_int_equal(iov_config_load(main_path, "", &c, &e), 0);
	assert_int_equal(c->n_files, 1);
	assert_int_equal(c->n_pfs, 0);
	iov_config_free(c);
	c = NULL;

	/* A policy field set twice: names both files. */
	fk_write(dir, "iovd.d/40-drift.json", "{ \"policy\": { \"on_drift\": \"report\" } }");
	assert_int_equal(iov_config_load(main_path, dropins, &c, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "40-drift.json: $.policy.on_drift"));
	assert_non_null(strstr(e.msg, main_path));
	assert_null(c);
	fk_write(dir, "iovd.d/40-drift.json", "{ \"pfs\": [ { \"name\": \"a\", \"match\": { "
		 "\"netdev\": \"ex\" } } ] }");
	assert_int_equal(iov_config_load(main_path, dropins, &c, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "40-drift.json: $.pfs[0].name"));
	assert_non_null(strstr(e.msg, "30-a.json"));
	fk_rmtree(dir);
	free(dir);
}

/* A drop-in about to be written (iovctl vm start --save), checked with the files it joins:
 * it may use a pool of the main file, takes its lexical place, replaces a file of its
 * name, and an error in it names it. Nothing is written. */
static void test_dropin_prospective(void **state)
{
	char *dir = fk_tmpdir(), main_path[512], dropins[512], g[600];
	static const char guest[] = "{ \"guests\": [ { \"name\": \"g\", \"kernel\": \"/boot/k\", "
				    "\"nics\": [ { \"pool\": \"p\" } ] } ] }";
	struct iov_config *c = NULL;
	struct iov_err e = { 0 };

	(void)state;
	snprintf(main_path, sizeof(main_path), "%s/iovd.json", dir);
	snprintf(dropins, sizeof(dropins), "%s/iovd.d", dir);
	snprintf(g, sizeof(g), "%s/50-guest-g.json", dropins);
	fk_write(dir, "iovd.json", "{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": "
		 "\"ea\" }, \"num_vfs\": 2, \"defaults\": { \"driver\": \"vfio-pci\" } } ], "
		 "\"pools\": [ { \"name\": \"p\", \"vfs\": [\"a#0-1\"] } ] }");
	fk_write(dir, "iovd.d/10-x.json", "{ \"policy\": { \"on_drift\": \"report\" } }");
	/* Alone it is invalid (no pool p): the reason the check must see the whole config. */
	assert_int_equal(iov_config_load_buf(g, guest, strlen(guest), &c, &e), -ENOENT);
	assert_int_equal(iov_config_load_with(main_path, dropins, g, guest, strlen(guest), &c, &e), 0);
	assert_int_equal(c->n_files, 3);
	assert_string_equal(c->files[2], g);
	assert_int_equal(c->n_guests, 1);
	assert_string_equal(c->guests[0].where.file, g);
	iov_config_free(c);
	c = NULL;
	assert_int_equal(access(g, F_OK), -1);		/* not written */
	/* Replacing an older copy of itself, not doubling it. */
	fk_write(dir, "iovd.d/50-guest-g.json", guest);
	assert_int_equal(iov_config_load_with(main_path, dropins, g, guest, strlen(guest), &c, &e), 0);
	assert_int_equal(c->n_files, 3);
	assert_int_equal(c->n_guests, 1);
	iov_config_free(c);
	c = NULL;
	/* An error in it names it. */
	assert_int_equal(iov_config_load_with(main_path, dropins, g, "{ \"guests\": [ { \"name\": "
					      "\"g\", \"kernel\": \"/k\", \"nics\": [ { \"pool\": "
					      "\"q\" } ] } ] }", 78, &c, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "50-guest-g.json: $.guests[0].nics[0].pool"));
	assert_null(c);
	fk_rmtree(dir);
	free(dir);
}

static void test_dropin_dir(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(iov_config_dropin_dir(IOV_CONFIG_DEFAULT_PATH, buf, sizeof(buf)), 0);
	assert_string_equal(buf, IOV_CONFIG_DEFAULT_DROPIN);
	assert_int_equal(iov_config_dropin_dir("/tmp/x.conf", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/x.conf.d");
	assert_int_equal(iov_config_dropin_dir("/tmp/a-very-long-name-indeed-for-this-buffer.json",
					       buf, 16), -ENAMETOOLONG);
}

/* ---- resolve ---- */

struct permtab {
	const char *ifname;
	uint8_t mac[6];
};

static int tab_perm_mac(void *ud, const char *ifname, uint8_t mac[6])
{
	for (const struct permtab *t = ud; t->ifname; t++)
		if (strcmp(t->ifname, ifname) == 0) {
			memcpy(mac, t->mac, 6);
			return 0;
		}
	return -ENOENT;
}

static int unknown_perm_mac(void *ud, const char *ifname, uint8_t mac[6])
{
	(void)ud; (void)ifname; (void)mac;
	return -EOPNOTSUPP;
}

/* Two 82576 PFs (eth0 at 01:00.0, eth1 at 02:00.0, 2 VFs each) and a non-SR-IOV NIC. */
static struct iov_host *two_pfs(void)
{
	struct iov_host *h = fk_host_new();
	struct iov_dev *pf0 = fk_dev(h, "0000:01:00.0", "igb"), *pf1 = fk_dev(h, "0000:02:00.0", "igb");
	struct iov_dev *nic = fk_dev(h, "0000:00:19.0", "e1000e");

	fk_netdev(pf0, "eth0");
	fk_netdev(pf1, "eth1");
	fk_netdev(nic, "eno1");
	fk_vf(pf0, fk_dev(h, "0000:01:10.0", "igbvf"));
	fk_vf(pf0, fk_dev(h, "0000:01:10.2", "igbvf"));
	fk_vf(pf1, fk_dev(h, "0000:02:10.0", "igbvf"));
	fk_vf(pf1, fk_dev(h, "0000:02:10.2", "igbvf"));
	pf0->vendor = pf1->vendor = nic->vendor = 0x8086;
	nic->device = 0x15b8;
	for (size_t i = 0; i < h->n_devs; i++)
		if (h->devs[i]->role == IOV_ROLE_VF) {
			h->devs[i]->vendor = 0x8086;
			h->devs[i]->device = 0x10ca;
		}
	pf1->dsn_known = true;
	pf1->dsn = 0x001b21ffff000002ull;
	nic->dsn_known = true;
	nic->dsn = 0x001b21ffff000019ull;
	return h;
}

static const struct permtab perms[] = {
	{ "eth0", { 0x00, 0x1b, 0x21, 0, 0, 0x10 } },
	{ "eth1", { 0x00, 0x1b, 0x21, 0, 0, 0x11 } },
	{ "eno1", { 0x00, 0x1b, 0x21, 0, 0, 0x19 } },
	{ NULL, { 0 } },
};

static int resolve_doc(const struct iov_host *h, const char *match, const char *extra,
		       const struct iov_cfg_lookup *lk, struct iov_dev **dev, struct iov_err *e)
{
	char doc[1024];
	struct iov_config *c;
	struct iov_cfg_resolved *r = NULL;
	int ret;

	snprintf(doc, sizeof(doc), "{ \"pfs\": [ { \"name\": \"x\", \"match\": %s%s } ] }", match,
		 extra ? extra : "");
	c = load(doc, e);
	ret = iov_config_resolve_with(c, h, lk, &r, e);
	if (ret == 0) {
		assert_non_null(r);
		assert_ptr_equal(r->cfg, c);
		*dev = r->pf_dev[0];
	} else {
		assert_null(r);
	}
	iov_cfg_resolved_free(r);
	iov_config_free(c);
	return ret;
}

static void test_resolve_kinds(void **state)
{
	struct iov_host *h = two_pfs();
	struct iov_cfg_lookup lk = { tab_perm_mac, (void *)perms };
	struct iov_err e = { 0 };
	struct iov_dev *d = NULL;

	(void)state;
	assert_int_equal(resolve_doc(h, "{ \"address\": \"02:00.0\" }", NULL, &lk, &d, &e), 0);
	assert_string_equal(d->name, "0000:02:00.0");
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth0\" }", NULL, &lk, &d, &e), 0);
	assert_string_equal(d->name, "0000:01:00.0");
	assert_int_equal(resolve_doc(h, "{ \"perm_mac\": \"00:1B:21:00:00:11\" }", NULL, &lk, &d, &e), 0);
	assert_string_equal(d->name, "0000:02:00.0");
	assert_int_equal(resolve_doc(h, "{ \"dsn\": \"00-1b-21-ff-ff-00-00-02\" }", NULL, &lk, &d, &e), 0);
	assert_string_equal(d->name, "0000:02:00.0");
	assert_int_equal(resolve_doc(h, "{ \"vendor_device\": \"8086:10c9\", \"index\": 1 }", NULL,
				     &lk, &d, &e), 0);
	assert_string_equal(d->name, "0000:02:00.0");
	assert_int_equal(resolve_doc(h, "{ \"vendor_device\": \"8086:10c9\", \"index\": 0 }", NULL,
				     &lk, &d, &e), 0);
	assert_string_equal(d->name, "0000:01:00.0");

	/* Nothing, several, not a PF, a VF, unknown permanent MACs. */
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth7\" }", NULL, &lk, &d, &e), -ENODEV);
	assert_non_null(strstr(e.msg, "$.pfs[0].match: PF \"x\": netdev \"eth7\" matches no device"));
	assert_non_null(strstr(e.fix, "0000:01:00.0 (eth0, 8086:10c9) 0000:02:00.0 (eth1, 8086:10c9)"));
	assert_int_equal(resolve_doc(h, "{ \"vendor_device\": \"8086:10c9\" }", NULL, &lk, &d, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "matches 2 devices"));
	assert_non_null(strstr(e.fix, "1 = 0000:02:00.0"));
	assert_int_equal(resolve_doc(h, "{ \"vendor_device\": \"8086:10c9\", \"index\": 2 }", NULL,
				     &lk, &d, &e), -ENODEV);
	assert_int_equal(resolve_doc(h, "{ \"perm_mac\": \"00:1b:21:00:00:19\" }", NULL, &lk, &d, &e),
			 -EINVAL);
	assert_non_null(strstr(e.msg, "no SR-IOV capability"));
	assert_int_equal(resolve_doc(h, "{ \"address\": \"0000:01:10.2\" }", NULL, &lk, &d, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "a VF of 0000:01:00.0"));
	lk.perm_mac = unknown_perm_mac;
	assert_int_equal(resolve_doc(h, "{ \"perm_mac\": \"00:1b:21:00:00:11\" }", NULL, &lk, &d, &e),
			 -EOPNOTSUPP);
	assert_non_null(strstr(e.msg, "$.pfs[0].match.perm_mac"));
	/* No lookup at all behaves as "cannot know". */
	assert_int_equal(resolve_doc(h, "{ \"perm_mac\": \"00:1b:21:00:00:11\" }", NULL, NULL, &d, &e),
			 -EOPNOTSUPP);
	/* Other kinds never ask for permanent MACs. */
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth1\" }", NULL, &lk, &d, &e), 0);
	fk_host_free(h);
}

static void test_resolve_host_limits(void **state)
{
	struct iov_host *h = two_pfs();
	struct iov_cfg_lookup lk = { tab_perm_mac, (void *)perms };
	struct iov_err e = { 0 };
	struct iov_dev *d = NULL;

	(void)state;
	/* fk_vf gives sriov_totalvfs 7 */
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth0\" }", ", \"num_vfs\": 7", &lk, &d, &e), 0);
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth0\" }", ", \"num_vfs\": 8", &lk, &d, &e),
			 -ERANGE);
	assert_non_null(strstr(e.msg, "$.pfs[0].num_vfs"));
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth0\" }", ", \"vfs\": { \"6\": { \"vlan\": 1 } }",
				     &lk, &d, &e), 0);
	assert_int_equal(resolve_doc(h, "{ \"netdev\": \"eth0\" }", ", \"vfs\": { \"5-7\": { \"vlan\": 1 } }",
				     &lk, &d, &e), -ERANGE);
	assert_non_null(strstr(e.msg, "$.pfs[0].vfs[\"5-7\"]: VF 7"));
	fk_host_free(h);
}

/* Two config PFs on one device, NIC devices against the host, never_move. */
static void test_resolve_cross(void **state)
{
	struct iov_host *h = two_pfs();
	struct iov_cfg_lookup lk = { tab_perm_mac, (void *)perms };
	struct iov_err e = { 0 };
	struct iov_cfg_resolved *r = NULL;
	struct iov_config *c;

	(void)state;
	c = load("{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"eth1\" } },"
		 " { \"name\": \"b\", \"match\": { \"perm_mac\": \"00:1b:21:00:00:11\" } } ] }", &e);
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "PF \"b\" is 0000:02:00.0, the same device as PF \"a\""));
	iov_config_free(c);

	c = load("{ \"pfs\": [ { \"name\": \"a\", \"match\": { \"netdev\": \"eth0\" }, \"num_vfs\": 2,"
		 "  \"defaults\": { \"driver\": \"vfio-pci\" } } ],"
		 "  \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { \"device\": \"a/vf1\" } ] },"
		 "              { \"name\": \"h\", \"kernel\": \"/k\", \"nics\": [ { \"device\": \"0000:01:10.2\" } ] } ] }",
		 &e);
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "$.guests[1].nics[0].device: \"0000:01:10.2\" is the same device as \"a/vf1\""));
	iov_config_free(c);

	c = load("{ \"policy\": { \"never_move\": [\"eth1\"] },"
		 "  \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { \"device\": \"02:00.0\" } ] } ] }",
		 &e);
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), -EPERM);
	assert_non_null(strstr(e.msg, "never_move"));
	iov_config_free(c);

	c = load("{ \"policy\": { \"never_move\": [\"0000:02:10.2\", \"gone0\"] },"
		 "  \"pfs\": [ { \"name\": \"b\", \"match\": { \"netdev\": \"eth1\" }, \"num_vfs\": 2,"
		 "  \"vfs\": { \"0\": { \"driver\": \"vfio-pci\" } } } ],"
		 "  \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { \"device\": \"eth1/vf0\" } ] } ] }",
		 &e);
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), 0);	/* vf0 is not vf1 */
	assert_ptr_equal(r->pf_dev[0], iov_host_find(h, &(struct iov_pci_addr){ 0, 2, 0, 0 }));
	iov_cfg_resolved_free(r);
	r = NULL;
	c->pfs[0].vfs[0].last = 1;	/* now vf1 (02:10.2, listed in never_move) would be vfio-pci */
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), -EPERM);
	assert_non_null(strstr(e.msg, "b/vf1 (0000:02:10.2) would go to vfio-pci"));
	iov_config_free(c);

	c = load("{ \"guests\": [ { \"name\": \"g\", \"kernel\": \"/k\", \"nics\": [ { \"device\": \"eth0/vf9\" } ] } ] }",
		 &e);
	assert_int_equal(iov_config_resolve_with(c, h, &lk, &r, &e), -ENODEV);
	assert_non_null(strstr(e.msg, "$.guests[0].nics[0].device"));
	iov_config_free(c);
	fk_host_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_dsn),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_storage_pools),
		cmocka_unit_test(test_dropins),
		cmocka_unit_test(test_dropin_prospective),
		cmocka_unit_test(test_dropin_dir),
		cmocka_unit_test(test_resolve_kinds),
		cmocka_unit_test(test_resolve_host_limits),
		cmocka_unit_test(test_resolve_cross),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
