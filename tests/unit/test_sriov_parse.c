/* Parsers for VF properties (sriov/vfconf.h): tables of good and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sriov/vfconf.h"

static char err[512];

static void test_mac(void **state)
{
	static const struct { const char *s; int ok; uint8_t m[6]; } t[] = {
		{ "02:00:00:00:00:01", 1, { 2, 0, 0, 0, 0, 1 } },
		{ "AA:bb:Cc:01:23:45", 1, { 0xaa, 0xbb, 0xcc, 1, 0x23, 0x45 } },
		{ "02:00:00:00:00:0", 0, { 0 } }, { "02:00:00:00:00:001", 0, { 0 } }, { "02-00-00-00-00-01", 0, { 0 } },
		{ "020000000001", 0, { 0 } }, { "", 0, { 0 } }, { "g2:00:00:00:00:01", 0, { 0 } },
		{ "02:00:00:00:00:01 ", 0, { 0 } }, { " 02:00:00:00:00:01", 0, { 0 } }, { "02:00:00:00:00:0x", 0, { 0 } },
		{ "2:0:0:0:0:1", 0, { 0 } }, { "02:00:00:00:00:01:", 0, { 0 } },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t m[6] = { 9, 9, 9, 9, 9, 9 };
		int r = iov_parse_mac(t[i].s, m, err, sizeof(err));

		if (t[i].ok) {
			assert_int_equal(r, 0);
			assert_memory_equal(m, t[i].m, 6);
		} else {
			assert_int_equal(r, -EINVAL);
			assert_int_equal(m[0], 9);	/* untouched on failure */
			assert_non_null(strstr(err, "mac"));
		}
	}
	assert_int_equal(iov_parse_mac(NULL, (uint8_t[6]){ 0 }, err, sizeof(err)), -EINVAL);
}

static void test_mac_rules(void **state)
{
	uint8_t zero[6] = { 0 }, bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 }, ok[6] = { 0x02, 0, 0, 0, 0, 1 };
	char buf[18];

	assert_int_equal(iov_check_vf_mac(zero, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "all-zero"));
	assert_int_equal(iov_check_vf_mac(bcast, err, sizeof(err)), -EINVAL);
	assert_int_equal(iov_check_vf_mac(mcast, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "multicast"));
	assert_int_equal(iov_check_vf_mac(ok, err, sizeof(err)), 0);
	iov_fmt_mac(mcast, buf);
	assert_string_equal(buf, "01:00:5e:00:00:01");
}

static void test_vlan_qos(void **state)
{
	static const struct { const char *s; int r; unsigned v; } vl[] = {
		{ "0", 0, 0 }, { "1", 0, 1 }, { "4095", 0, 4095 }, { "0100", 0, 100 },
		{ "4096", -ERANGE, 0 }, { "99999999999999999999", -ERANGE, 0 },
		{ "999999999999999999999", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "+1", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 }, { "", -EINVAL, 0 }, { "1 ", -EINVAL, 0 }, { "abc", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(vl) / sizeof(vl[0]); i++) {
		uint16_t v = 7777;

		assert_int_equal(iov_parse_vlan(vl[i].s, &v, err, sizeof(err)), vl[i].r);
		assert_int_equal(v, vl[i].r ? 7777 : vl[i].v);
		if (vl[i].r)
			assert_non_null(strstr(err, "vlan"));
	}
	static const struct { const char *s; int r; } q[] = {
		{ "0", 0 }, { "7", 0 }, { "8", -ERANGE }, { "-0", -EINVAL }, { "x", -EINVAL },
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		uint8_t v;

		assert_int_equal(iov_parse_qos(q[i].s, &v, err, sizeof(err)), q[i].r);
		if (q[i].r)
			assert_non_null(strstr(err, "qos"));
	}
}

static void test_proto_state_onoff(void **state)
{
	uint16_t p;
	enum iov_vf_link_state st;
	bool b;

	assert_int_equal(iov_parse_vlan_proto("802.1Q", &p, err, sizeof(err)), 0);
	assert_int_equal(p, IOV_ETH_P_8021Q);
	assert_int_equal(iov_parse_vlan_proto("802.1AD", &p, err, sizeof(err)), 0);
	assert_int_equal(p, IOV_ETH_P_8021AD);
	assert_int_equal(iov_parse_vlan_proto("802.1x", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(iov_parse_vlan_proto("0x8100", &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(iov_vlan_proto_name(IOV_ETH_P_8021AD), "802.1ad");
	assert_null(iov_vlan_proto_name(0x0800));

	assert_int_equal(iov_parse_link_state("auto", &st, err, sizeof(err)), 0);
	assert_int_equal(st, IOV_VF_LINK_AUTO);
	assert_int_equal(iov_parse_link_state("Disable", &st, err, sizeof(err)), 0);
	assert_int_equal(st, IOV_VF_LINK_DISABLE);
	assert_int_equal(iov_parse_link_state("up", &st, err, sizeof(err)), -EINVAL);
	assert_null(iov_link_state_name(3));

	static const char *const on[] = { "on", "ON", "yes", "true", "1" };
	static const char *const off[] = { "off", "no", "False", "0" };
	static const char *const bad[] = { "", "2", "enable", "o", "onn" };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(iov_parse_onoff("trust", on[i], &b, err, sizeof(err)), 0);
		assert_true(b);
		assert_int_equal(iov_parse_onoff("trust", bad[i], &b, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "trust"));
	}
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(iov_parse_onoff("spoofchk", off[i], &b, err, sizeof(err)), 0);
		assert_false(b);
	}
}

static void test_rate(void **state)
{
	uint32_t r;

	assert_int_equal(iov_parse_rate("max-rate", "0", &r, err, sizeof(err)), 0);
	assert_int_equal(r, 0);
	assert_int_equal(iov_parse_rate("max-rate", "4294967295", &r, err, sizeof(err)), 0);
	assert_int_equal(r, UINT32_MAX);
	assert_int_equal(iov_parse_rate("max-rate", "4294967296", &r, err, sizeof(err)), -ERANGE);
	assert_int_equal(iov_parse_rate("min_rate", "1.5", &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "min_rate"));
	assert_int_equal(iov_parse_rate("min-rate", "100M", &r, err, sizeof(err)), -EINVAL);
	assert_int_equal(iov_parse_rate("min-rate", "-5", &r, err, sizeof(err)), -EINVAL);
}

static void test_vf_spec(void **state)
{
	static const struct { const char *s; int ok; const char *pf; unsigned vf; } t[] = {
		{ "0000:01:00.0/vf0", 1, "0000:01:00.0", 0 }, { "eth0/vf12", 1, "eth0", 12 },
		{ "01:00.0/vf65535", 1, "01:00.0", 65535 },
		{ "01:00.0/vf65536", 0, NULL, 0 }, { "01:00.0/vf", 0, NULL, 0 }, { "01:00.0/vf-1", 0, NULL, 0 },
		{ "01:00.0/1", 0, NULL, 0 }, { "/vf1", 0, NULL, 0 }, { "01:00.0", 0, NULL, 0 }, { "eth0/vf1x", 0, NULL, 0 }, { "", 0, NULL, 0 },
		{ "a/b/vf3", 1, "a/b", 3 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char pf[64] = "unset";
		unsigned vf = 999999;
		int r = iov_parse_vf_spec(t[i].s, pf, sizeof(pf), &vf, err, sizeof(err));

		if (t[i].ok) {
			assert_int_equal(r, 0);
			assert_string_equal(pf, t[i].pf);
			assert_int_equal(vf, t[i].vf);
		} else {
			assert_true(r < 0);
			assert_string_equal(pf, "unset");
			assert_int_equal(vf, 999999);
		}
	}
	char small[4];
	unsigned vf;
	assert_int_equal(iov_parse_vf_spec("enp1s0f0/vf1", small, sizeof(small), &vf, err,
					   sizeof(err)), -ENAMETOOLONG);
}

static int args(struct iov_vfconf *c, const char *line)
{
	char buf[512], *argv[32];
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " "))
		argv[argc++] = t;
	return iov_vfconf_parse_args(argc, argv, c, err, sizeof(err));
}

static void test_args(void **state)
{
	struct iov_vfconf c;

	assert_int_equal(args(&c, "mac 02:00:00:00:00:05 vlan 100 qos 3 proto 802.1ad "
			      "spoofchk on trust off state disable min-rate 10 max-rate 100"), 0);
	assert_int_equal(c.set, IOV_VFC_ALL);
	assert_int_equal(c.vlan, 100);
	assert_int_equal(c.qos, 3);
	assert_int_equal(c.vlan_proto, IOV_ETH_P_8021AD);
	assert_true(c.spoofchk);
	assert_false(c.trust);
	assert_int_equal(c.state, IOV_VF_LINK_DISABLE);
	assert_int_equal(c.min_rate, 10);
	assert_int_equal(c.max_rate, 100);

	assert_int_equal(args(&c, "vlan 0"), 0);
	assert_int_equal(c.set, IOV_VFC_VLAN);
	assert_int_equal(c.vlan_proto, IOV_ETH_P_8021Q);
	assert_int_equal(args(&c, "max-rate 0"), 0);
	assert_int_equal(c.set, IOV_VFC_MAX_RATE);

	static const struct { const char *line, *word; } bad[] = {
		{ "", "nothing to set" },
		{ "color red", "'color': unknown property" },
		{ "mac", "mac: missing value" },
		{ "mac 00:00:00:00:00:00", "all-zero" },
		{ "mac 01:00:00:00:00:01", "multicast" },
		{ "mac zz", "mac 'zz'" },
		{ "vlan 4096", "vlan '4096'" },
		{ "vlan 5 qos 8", "qos '8'" },
		{ "qos 3", "qos needs vlan" },
		{ "proto 802.1Q", "proto needs vlan" },
		{ "vlan 5 vlan 6", "vlan: given twice" },
		{ "vlan 5 qos 1 qos 2", "qos: given twice" },
		{ "trust maybe", "trust 'maybe'" },
		{ "state up", "state 'up'" },
		{ "min-rate 100 max-rate 10", "min_rate 100 is above max_rate 10" },
		{ "max-rate fast", "max_rate 'fast'" },
		{ "max_rat 5", "did you mean 'max_rate'?" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.set = 12345;
		assert_true(args(&c, bad[i].line) < 0);
		assert_int_equal(c.set, 12345);
		if (!strstr(err, bad[i].word))
			fail_msg("'%s': got '%s', want '%s'", bad[i].line, err, bad[i].word);
	}
	/* min above max is fine when max is 0 (no limit) */
	assert_int_equal(args(&c, "min-rate 100 max-rate 0"), 0);
}

static void test_json(void **state)
{
	struct iov_vfconf c, d;
	json_t *j;

	assert_int_equal(args(&c, "mac 02:00:00:00:00:05 vlan 100 qos 3 proto 802.1ad "
			      "spoofchk on trust off state auto min-rate 10 max-rate 100"), 0);
	j = iov_vfconf_to_json(&c);
	assert_int_equal(iov_vfconf_from_json(j, &d, err, sizeof(err)), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	json_decref(j);

	static const struct { const char *j, *word; } bad[] = {
		{ "{}", "nothing to set" },
		{ "[]", "expected an object" },
		{ "{\"mac\": 5}", "mac: expected a string" },
		{ "{\"mac\": \"ff:ff:ff:ff:ff:ff\"}", "multicast" },
		{ "{\"vlan\": 4096}", "vlan 4096: out of range" },
		{ "{\"vlan\": -1}", "out of range" },
		{ "{\"vlan\": \"5\"}", "vlan: expected an integer" },
		{ "{\"vlan\": 5, \"qos\": 9}", "qos 9" },
		{ "{\"qos\": 1}", "need vlan" },
		{ "{\"trust\": 1}", "trust: expected true or false" },
		{ "{\"state\": \"up\"}", "state 'up'" },
		{ "{\"max_rate\": 4294967296}", "max_rate" },
		{ "{\"speed\": 1}", "config.speed: unknown" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *b = json_loads(bad[i].j, 0, NULL);

		assert_non_null(b);
		assert_true(iov_vfconf_from_json(b, &d, err, sizeof(err)) < 0);
		if (!strstr(err, bad[i].word))
			fail_msg("%s: got '%s', want '%s'", bad[i].j, err, bad[i].word);
		json_decref(b);
	}
}

/* Mutations of good input (a cheap fuzzer that runs everywhere): the parsers must never
 * crash, must fail cleanly, and anything they accept must pass the full check. */
static void test_mutations(void **state)
{
	static const char *const seeds[] = {
		"mac 02:00:00:00:00:05 vlan 100 qos 3 proto 802.1ad spoofchk on trust off",
		"state disable min-rate 10 max-rate 100", "vlan 4095 qos 7",
	};
	static const char alphabet[] = "0123456789abcdefx:-. \xff";
	unsigned seed = 12345;

	for (int iter = 0; iter < 20000; iter++) {
		char buf[128], *argv[32], *save;
		const char *sd = seeds[iter % 3];
		size_t len = strlen(sd);
		struct iov_vfconf c;
		int argc = 0, nmut = 1 + iter % 4;

		memcpy(buf, sd, len + 1);
		for (int m = 0; m < nmut; m++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % len;
			buf[pos] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
		}
		for (char *t = strtok_r(buf, " ", &save); t && argc < 32; t = strtok_r(NULL, " ", &save))
			argv[argc++] = t;
		if (iov_vfconf_parse_args(argc, argv, &c, err, sizeof(err)) == 0) {
			assert_int_equal(iov_vfconf_check(&c, err, sizeof(err)), 0);
			json_t *j = iov_vfconf_to_json(&c);
			struct iov_vfconf d;
			assert_int_equal(iov_vfconf_from_json(j, &d, err, sizeof(err)), 0);
			assert_memory_equal(&c, &d, sizeof(c));
			json_decref(j);
		} else {
			assert_true(strlen(err) > 0);
		}
		char pf[32];
		unsigned vf;
		(void)iov_parse_vf_spec(argv[0], pf, sizeof(pf), &vf, err, sizeof(err));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_mac_rules),
		cmocka_unit_test(test_vlan_qos),
		cmocka_unit_test(test_proto_state_onoff),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_vf_spec),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
