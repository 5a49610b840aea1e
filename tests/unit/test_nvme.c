/* NVMe SR-IOV state (sriov/nvme.c): the Identify parsers on data built here at the byte
 * offsets the NVMe specification gives (2.0, Figures 280 and 282: independent of libnvme's
 * structures, which the parser uses), their refusals of damaged data, and the whole read
 * on the Identify data captured from the test host's QEMU drive
 * (tests/fixtures/captured/nvme/iovd-fixture/nvme/0000:02:00.0/). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/host.h"
#include "lib/sysfs.h"
#include "sriov/nvme.h"

static unsigned char buf[IOV_NVME_IDENTIFY_LEN];

static void put16(size_t at, unsigned v) { buf[at] = v & 0xff; buf[at + 1] = (v >> 8) & 0xff; }
static void put32(size_t at, uint32_t v)
{
	put16(at, v & 0xffff);
	put16(at + 2, v >> 16);
}

/* Primary Controller Capabilities: CNTLID 1:0, CRT 4, VQFRT 35:32, VQRFA 39:36, VQRFAP
 * 41:40, VQPRT 43:42, VQFRSM 45:44, VQGRAN 47:46, VIFRT 67:64, VIRFA 71:68, VIRFAP 73:72,
 * VIPRT 75:74, VIFRSM 77:76, VIGRAN 79:78. */
static void primary(unsigned vqt, unsigned vqa, unsigned vqp, unsigned vit, unsigned via)
{
	memset(buf, 0, sizeof(buf));
	put16(0, 0x21);
	buf[4] = 3;
	put32(32, vqt);
	put32(36, vqa);
	put16(40, vqp);
	put16(42, 3);
	put16(44, 2);
	put16(46, 1);
	put32(64, vit);
	put32(68, via);
	put16(72, 0);
	put16(74, 2);
	put16(76, 1);
	put16(78, 1);
}

static void test_primary(void **st)
{
	struct iov_nvme_primary p;
	struct iov_err e = { 0 };

	primary(8, 2, 1, 4, 1);
	assert_int_equal(iov_nvme_parse_primary(buf, sizeof(buf), &p, &e), 0);
	assert_int_equal(p.cntlid, 0x21);
	assert_true(p.vq_supported && p.vi_supported);
	assert_int_equal(p.vq.total, 8);
	assert_int_equal(p.vq.assigned, 2);
	assert_int_equal(p.vq.primary, 1);
	assert_int_equal(p.vq.private_, 3);
	assert_int_equal(p.vq.max_per_sec, 2);
	assert_int_equal(p.vq.gran, 1);
	assert_int_equal(iov_nvme_res_free(&p.vq), 5);
	assert_int_equal(p.vi.total, 4);
	assert_int_equal(p.vi.assigned, 1);
	assert_int_equal(p.vi.max_per_sec, 1);
	assert_int_equal(iov_nvme_res_free(&p.vi), 3);

	/* More in use than there is: refused, saying the numbers. */
	primary(8, 8, 1, 4, 0);
	assert_int_equal(iov_nvme_parse_primary(buf, sizeof(buf), &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "VQ 8+1 of 8"));
	/* Not a whole Identify structure. */
	assert_int_equal(iov_nvme_parse_primary(buf, 512, &p, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "512 bytes"));
}

/* Secondary Controller List: NUMID byte 0, entries of 32 bytes from byte 32: SCID 1:0,
 * PCID 3:2, SCS 4, VFN 9:8, NVQ 11:10, NVI 13:12. */
static void sec_entry(unsigned i, unsigned scid, bool online, unsigned vfn, unsigned nvq,
		      unsigned nvi)
{
	size_t at = 32 + 32 * (size_t)i;

	put16(at, scid);
	put16(at + 2, 0);
	buf[at + 4] = online ? 1 : 0;
	put16(at + 8, vfn);
	put16(at + 10, nvq);
	put16(at + 12, nvi);
}

static void test_secondary(void **st)
{
	struct iov_nvme_sec *s = NULL;
	struct iov_err e = { 0 };
	size_t n = 0;

	memset(buf, 0, sizeof(buf));
	buf[0] = 3;
	sec_entry(0, 1, true, 1, 2, 1);
	sec_entry(1, 2, false, 2, 0, 0);
	sec_entry(2, 9, true, 3, 4, 2);
	assert_int_equal(iov_nvme_parse_secondary(buf, sizeof(buf), &s, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(s[0].scid, 1);
	assert_true(s[0].online);
	assert_int_equal(s[0].vfn, 1);
	assert_int_equal(s[0].nvq, 2);
	assert_int_equal(s[0].nvi, 1);
	assert_false(s[1].online);
	assert_int_equal(s[2].scid, 9);
	assert_int_equal(s[2].nvq, 4);
	free(s);

	/* The same VF twice, or IDs out of order: damaged. */
	sec_entry(2, 9, true, 2, 4, 2);
	assert_int_equal(iov_nvme_parse_secondary(buf, sizeof(buf), &s, &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "entry 2"));
	sec_entry(2, 1, true, 3, 4, 2);
	assert_int_equal(iov_nvme_parse_secondary(buf, sizeof(buf), &s, &n, &e), -EINVAL);
	/* More entries than fit (127). */
	buf[0] = 128;
	assert_int_equal(iov_nvme_parse_secondary(buf, sizeof(buf), &s, &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "128 entries"));
}

static void test_lists(void **st)
{
	uint32_t *ns = NULL;
	uint16_t *c = NULL;
	struct iov_err e = { 0 };
	size_t n = 0;

	memset(buf, 0, sizeof(buf));
	put32(0, 1);
	put32(4, 7);
	assert_int_equal(iov_nvme_parse_ns_list(buf, sizeof(buf), &ns, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ns[0], 1);
	assert_int_equal(ns[1], 7);
	free(ns);
	put32(8, 7);
	assert_int_equal(iov_nvme_parse_ns_list(buf, sizeof(buf), &ns, &n, &e), -EINVAL);

	memset(buf, 0, sizeof(buf));
	put16(0, 2);
	put16(2, 1);
	put16(4, 3);
	assert_int_equal(iov_nvme_parse_ctrl_list(buf, sizeof(buf), &c, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 3);
	free(c);
	put16(0, 2048);
	assert_int_equal(iov_nvme_parse_ctrl_list(buf, sizeof(buf), &c, &n, &e), -EINVAL);
}

/* The captured drive: QEMU nvme with sriov_max_vfs=4, sriov_vq_flexible=8,
 * sriov_vi_flexible=4, two detached namespaces (tests/rig/presets.sh, nvme). */
static void test_captured(void **st)
{
	struct iov_nvme_state *s = NULL;
	struct iov_err e = { 0 };
	char b[32];

	assert_int_equal(iov_sysroot_set("tests/fixtures/captured/nvme"), 0);
	assert_true(iov_nvme_is_nvme_pf("0000:02:00.0", "nvme"));
	assert_false(iov_nvme_is_nvme_pf("0000:01:00.0", "igb"));
	assert_false(iov_nvme_is_nvme_pf("0000:01:00.0", "nvme"));	/* nothing captured */
	assert_int_equal(iov_nvme_read("0000:02:00.0", &s, &e), 0);
	assert_int_equal(s->pri.cntlid, 0);
	assert_int_equal(s->pri.vq.total, 8);
	assert_int_equal(s->pri.vq.max_per_sec, 2);
	assert_int_equal(iov_nvme_res_free(&s->pri.vq), 8);
	assert_int_equal(s->pri.vi.total, 4);
	assert_int_equal(iov_nvme_res_free(&s->pri.vi), 4);
	assert_int_equal(s->n_sec, 4);
	for (unsigned v = 0; v < 4; v++) {
		const struct iov_nvme_sec *c = iov_nvme_sec_of_vf(s, v);

		assert_non_null(c);
		assert_int_equal(c->scid, v + 1);
		assert_false(c->online);
		assert_int_equal(c->nvq, 0);
	}
	assert_null(iov_nvme_sec_of_vf(s, 4));
	assert_true(s->ns_known);
	assert_int_equal(s->n_ns, 2);
	assert_false(iov_nvme_ns_attached(s, 1, 1));
	iov_nvme_ns_of_ctrl(s, 1, b, sizeof(b));
	assert_string_equal(b, "");
	iov_nvme_state_free(s);
	/* The drive's quirk entry, by the IDs the fixture's PF has. */
	{
		struct iov_host *h = NULL;
		struct iov_pci_addr a;
		const struct iov_dev *d;
		const struct iov_nvme_quirk *q;

		assert_int_equal(iov_host_load(&h), 0);
		assert_int_equal(iov_pci_addr_parse("0000:02:00.0", &a), 0);
		assert_non_null(d = iov_host_find(h, &a));
		assert_non_null(q = iov_nvme_quirk_get((unsigned)d->vendor, (unsigned)d->device));
		assert_true(q->flags & IOV_NVME_Q_OFFLINE_FREES);
		assert_true(q->flags & IOV_NVME_Q_VF_DISABLE_OFFLINES);
		assert_true(q->flags & IOV_NVME_Q_DETACH_UNATTACHED_FATAL);
		assert_null(iov_nvme_quirk_get(0x144d, 0xa824));	/* no source: nothing */
		iov_host_free(h);
	}
	/* No commands under a sysroot. */
	assert_int_equal(iov_nvme_virt("0000:02:00.0", IOV_NVME_ONLINE, 1, IOV_NVME_RT_VQ, 0, &e),
			 -EOPNOTSUPP);
	/* A PF without captured data: said, with where to get it. */
	assert_int_equal(iov_nvme_read("0000:01:00.0", &s, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "Primary Controller Capabilities"));
	iov_sysroot_set("");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_primary),
		cmocka_unit_test(test_secondary),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_captured),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
