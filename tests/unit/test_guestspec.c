/* The guest-spec codec (config/guestspec.c): the round trip JSON -> struct -> JSON, the one
 * set of limits, and how the config and VmStart flavours differ (null, autostart, extra
 * keys). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/guestspec.h"

static const struct iov_gspec_in CFG = { .file = "f.json", .path = "$.guests[0]" };
static const char *const EXTRA[] = { "save", NULL };
static const struct iov_gspec_in API = { .file = "VmStart", .path = "$", .extra = EXTRA,
					 .flags = IOV_GSPEC_NULL_ABSENT | IOV_GSPEC_NO_AUTOSTART };

static const struct iov_gspec_in API_FD = { .file = "VmStart", .path = "$", .extra = EXTRA,
					    .flags = IOV_GSPEC_NULL_ABSENT | IOV_GSPEC_NO_AUTOSTART |
						     IOV_GSPEC_DISK_FD };

/* Decodes text with in: the result code; *g holds the spec on success. */
static int dec(const char *text, const struct iov_gspec_in *in, struct iov_cfg_guest *g,
	       char *key, struct iov_err *e)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	int r;

	assert_non_null(j);
	memset(g, 0, sizeof(*g));
	memset(e, 0, sizeof(*e));
	r = iov_gspec_from_json(j, in, g, key, 64, e);
	json_decref(j);
	return r;
}

static void round_trip(void **state)
{
	static const char *doc = "{\"name\": \"web-1\", \"kernel\": \"/k/bzImage\", "
		"\"initrd\": \"/k/initrd\", \"cmdline\": \"console=ttyS0 quiet\", \"mem_mib\": 1024, "
		"\"cpus\": 4, \"nics\": [{\"pool\": \"tenants\", \"mac\": \"02:1e:00:00:00:07\", "
		"\"vlan\": 12}, {\"device\": \"uplink/vf3\"}], \"disks\": [{\"path\": \"/img/root\", "
		"\"readonly\": false}, {\"path\": \"/dev/sdb\", \"readonly\": true}, {\"pool\": \"fast\"}], "
		"\"log_mib\": 2, "
		"\"autostart\": true, \"restart\": \"on-failure\"}";
	struct iov_cfg_guest g, g2, c;
	struct iov_err e;
	json_t *in = json_loads(doc, 0, NULL), *out, *out2;
	char key[64];

	assert_int_equal(dec(doc, &CFG, &g, key, &e), 0);
	assert_string_equal(g.name, "web-1");
	assert_string_equal(g.kernel, "/k/bzImage");
	assert_string_equal(g.initrd, "/k/initrd");
	assert_string_equal(g.cmdline, "console=ttyS0 quiet");
	assert_int_equal(g.mem_mib, 1024);
	assert_int_equal(g.cpus, 4);
	assert_true(g.autostart);
	assert_int_equal(g.restart, IOV_RESTART_ON_FAILURE);
	assert_int_equal(g.n_nics, 2);
	assert_string_equal(g.nics[0].pool, "tenants");
	assert_null(g.nics[0].device);
	assert_true(g.nics[0].has_mac);
	assert_int_equal(g.nics[0].mac[5], 7);
	assert_int_equal(g.nics[0].vlan, 12);
	assert_string_equal(g.nics[1].device, "uplink/vf3");
	assert_false(g.nics[1].has_mac);
	assert_int_equal(g.nics[1].vlan, -1);
	assert_int_equal(g.n_disks, 3);
	assert_string_equal(g.disks[1].path, "/dev/sdb");
	assert_null(g.disks[1].pool);
	assert_string_equal(g.disks[2].pool, "fast");	/* an NVMe VF from pool fast */
	assert_null(g.disks[2].path);
	assert_true(g.disks[1].readonly);
	assert_false(g.disks[0].readonly);
	assert_int_equal(g.log_mib, 2);
	/* struct -> JSON gives the document back, and reads back to the same struct. */
	out = iov_gspec_to_json(&g);
	assert_true(json_equal(in, out));
	assert_int_equal(iov_gspec_copy(&c, &g), 0);
	out2 = iov_gspec_to_json(&c);
	assert_true(json_equal(out, out2));
	assert_ptr_not_equal(c.name, g.name);
	assert_ptr_not_equal(c.nics[0].pool, g.nics[0].pool);
	assert_ptr_not_equal(c.disks[0].path, g.disks[0].path);
	assert_ptr_not_equal(c.disks[2].pool, g.disks[2].pool);
	assert_string_equal(c.disks[2].pool, "fast");
	{
		char *s = json_dumps(out, 0);

		assert_int_equal(dec(s, &CFG, &g2, key, &e), 0);
		free(s);
	}
	json_decref(out2);
	out2 = iov_gspec_to_json(&g2);
	assert_true(json_equal(out, out2));
	json_decref(in);
	json_decref(out);
	json_decref(out2);
	iov_gspec_free(&g);
	iov_gspec_free(&g2);
	iov_gspec_free(&c);
	assert_null(c.name);
}

static void defaults(void **state)
{
	struct iov_cfg_guest g;
	struct iov_err e;
	char key[64];
	json_t *j;

	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\"}", &CFG, &g, key, &e), 0);
	assert_int_equal(g.mem_mib, IOV_GUEST_DEF_MEM_MIB);
	assert_int_equal(g.cpus, IOV_GUEST_DEF_CPUS);
	assert_int_equal(g.restart, IOV_RESTART_NO);
	assert_int_equal(g.n_nics, 0);
	assert_false(g.autostart);
	j = iov_gspec_to_json(&g);
	/* autostart only when set; defaults written out, so a reader needs no defaults. */
	assert_null(json_object_get(j, "autostart"));
	assert_int_equal(json_integer_value(json_object_get(j, "mem_mib")), 512);
	assert_string_equal(json_string_value(json_object_get(j, "restart")), "no");
	json_decref(j);
	iov_gspec_free(&g);
}

/* Each bad spec: refused in both flavours, with the error's path and key. */
static void limits(void **state)
{
	static const struct {
		const char *doc, *path, *key;
		int code;
	} bad[] = {
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"nics\": [{\"pool\": \"p\"}, {\"pool\": "
		  "\"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}, "
		  "{\"pool\": \"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}]}", ".nics: 9 NICs", "nics",
		  -E2BIG },
		{ "{\"name\": \"A\", \"kernel\": \"/k\"}", ".name: \"A\" is not a valid guest name",
		  "name", -EINVAL },
		{ "{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"kernel\": \"/k\"}", ".name:",
		  "name", -EINVAL },
		{ "{\"name\": \"../x\", \"kernel\": \"/k\"}", ".name:", "name", -EINVAL },
		{ "{\"name\": \"a\"}", ": guest \"a\" has no \"kernel\"", "kernel", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"k\"}", ".kernel: \"k\" is a relative path",
		  "kernel", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\\u001b]0;x\"}", ".kernel: control character 0x1b",
		  "kernel", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"mem_mib\": 7}", ".mem_mib: 7 MiB is not a "
		  "multiple of 2 MiB", "mem_mib", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"mem_mib\": 2}", ".mem_mib: 2 is out of "
		  "range", "mem_mib", -ERANGE },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"cpus\": 65}", ".cpus: 65 is out of range",
		  "cpus", -ERANGE },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"restart\": \"sometimes\"}", ".restart: "
		  "\"sometimes\" is not a restart policy", "restart", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"nics\": [{\"pool\": \"p\", \"device\": "
		  "\"d\"}]}", ".nics[0]: both \"pool\" and \"device\" given", "nics", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"nics\": [{\"pool\": \"p\", \"mac\": "
		  "\"01:00:00:00:00:01\"}]}", ".nics[0].mac:", "nics", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"nics\": [{\"pool\": \"p\", \"vlan\": 4096}]}",
		  ".nics[0].vlan: 4096 is out of range", "nics", -ERANGE },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"kernal\": \"/k\"}", ".kernal: unknown key",
		  "kernal", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"cmdline\": \"a\\nb\"}", ".cmdline: control",
		  "cmdline", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"path\": \"/d\"}, {\"path\": "
		  "\"/d\"}, {\"path\": \"/d\"}, {\"path\": \"/d\"}, {\"path\": \"/d\"}]}",
		  ".disks: 5 disks", "disks", -E2BIG },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"path\": \"d.img\"}]}",
		  ".disks[0].path: \"d.img\" is a relative path", "disks", -EINVAL },
		/* NVMe VF disks: a pool name, nothing else (the guest owns the controller). */
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"pool\": \"p\", "
		  "\"readonly\": true}]}", ".disks[0]: a disk from pool \"p\" with \"readonly\"",
		  "disks", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"pool\": \"p\", "
		  "\"path\": \"/d\"}]}", ".disks[0]: a disk from pool \"p\" with \"path\"", "disks",
		  -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"pool\": \"../p\"}]}",
		  ".disks[0].pool: \"../p\" is not a pool name", "disks", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"pool\": \"\"}]}",
		  ".disks[0].pool:", "disks", -EINVAL },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"nics\": [{\"pool\": \"p\"}, {\"pool\": "
		  "\"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}, {\"pool\": \"p\"}, "
		  "{\"pool\": \"p\"}], \"disks\": [{\"pool\": \"s\"}, {\"pool\": \"s\"}]}",
		  ": 7 NICs and 2 NVMe disks", "", -E2BIG },
		{ "{\"name\": \"a\", \"kernel\": \"/k\", \"log_mib\": 0}", ".log_mib: 0 is out of "
		  "range", "log_mib", -ERANGE },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct iov_gspec_in *flav[2] = { &CFG, &API };

		for (int f = 0; f < 2; f++) {
			struct iov_cfg_guest g = { 0 };
			struct iov_err e;
			char key[64] = "?", want[160];

			snprintf(want, sizeof(want), "%s%s", flav[f]->path, bad[i].path);
			if (dec(bad[i].doc, flav[f], &g, key, &e) != bad[i].code || !strstr(e.msg, want) ||
			    strcmp(key, bad[i].key) != 0)
				fail_msg("case %zu (%s): got %d \"%s\" key \"%s\"; want %d \"%s\" key \"%s\"",
					 i, f ? "api" : "config", e.code, e.msg, key, bad[i].code, want,
					 bad[i].key);
			assert_null(g.name);	/* nothing half-read */
		}
	}
}

/* VmStart: null means "not given" (varlink ?type), autostart is not its key, save is (the
 * API reads it); the config: null is a type error, autostart a key, save unknown. A NIC
 * with "pool": null names nothing and is refused (not a start of nothing). */
static void flavours(void **state)
{
	struct iov_cfg_guest g;
	struct iov_err e;
	char key[64];

	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"initrd\": null, \"save\": true,"
			     " \"nics\": [{\"pool\": \"p\", \"vlan\": null}]}", &API, &g, key, &e), 0);
	assert_null(g.initrd);
	assert_int_equal(g.nics[0].vlan, -1);
	iov_gspec_free(&g);
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"initrd\": null}", &CFG, &g,
			     key, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "f.json: $.guests[0].initrd: expected a string, got null"));
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"save\": true}", &CFG, &g, key,
			     &e), -EINVAL);
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"autostart\": true}", &API, &g,
			     key, &e), -EINVAL);
	assert_string_equal(key, "autostart");
	/* A disk's "fd" is VmStart's (with the flag), never the config's. */
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"path\": \"/d\", "
			     "\"fd\": 1}]}", &CFG, &g, key, &e), -EINVAL);
	assert_non_null(strstr(e.msg, ".disks[0].fd: unknown key"));
	/* VmStart: a pool disk takes no fd (nothing is opened for it). */
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"pool\": \"p\", "
			     "\"fd\": 1}]}", &API_FD, &g, key, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "a disk from pool \"p\" with \"fd\""));
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"disks\": [{\"pool\": \"p\"}, "
			     "{\"path\": \"/d\", \"fd\": 0}]}", &API_FD, &g, key, &e), 0);
	assert_string_equal(g.disks[0].pool, "p");
	assert_string_equal(g.disks[1].path, "/d");
	iov_gspec_free(&g);
	assert_int_equal(dec("{\"name\": \"a\", \"kernel\": \"/k\", \"nics\": [{\"pool\": null}]}",
			     &API, &g, key, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "VmStart: $.nics[0]: neither \"pool\" nor \"device\" given"));
	assert_string_equal(key, "nics");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(defaults),
		cmocka_unit_test(limits),
		cmocka_unit_test(flavours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
