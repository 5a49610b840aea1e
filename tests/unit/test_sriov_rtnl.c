/* The rtnetlink plumbing of sriov/vfinfo.c on this machine's kernel: VF info reads of a
 * netdev without VFs, host-wide MAC lookups, -NLE_* to -errno, and the kernel's
 * extended-ack message reaching the caller (a request the kernel's attribute policy
 * rejects, so nothing can change). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

#include "lib/err.h"
#include "sriov/vfinfo.h"

static void test_query_lo(void **st)
{
	struct iov_vfinfo *v = (void *)1;
	size_t n = 99;

	assert_int_equal(iov_vfinfo_query("lo", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(iov_vfinfo_query("nosuch-if0", &v, &n), -ENODEV);
	json_t *j = iov_vfinfo_query_json("lo");
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
}

static void test_mac_in_use(void **st)
{
	/* lo's address is all-zero: found as a netdev's address, unless lo is skipped. */
	static const uint8_t zero[6];
	static const uint8_t unused[6] = { 0x02, 0x7e, 0x57, 0x00, 0x00, 0x01 };
	const char *const skip[] = { "lo", NULL };
	char who[64] = "";

	assert_int_equal(iov_mac_in_use(zero, NULL, -1, NULL, who, sizeof(who)), 1);
	assert_string_equal(who, "netdev lo");
	assert_int_equal(iov_mac_in_use(unused, NULL, -1, skip, who, sizeof(who)), 0);
}

static void test_vf_set_without_vfs(void **st)
{
	struct iov_vfconf c = { .set = IOV_VFC_TRUST, .trust = true };
	struct iov_err e = { 0 };

	assert_int_equal(iov_vf_set("lo", 0, &c, &e), -ENODEV);
	assert_non_null(strstr(e.msg, "lo has no VF 0"));
	assert_int_equal(iov_vf_set("nosuch-if0", 0, &c, &e), -ENODEV);
}

static void test_nlerr(void **st)
{
	assert_int_equal(iov_nlerr_to_errno(0), 0);
	assert_int_equal(iov_nlerr_to_errno(-NLE_NOMEM), -ENOMEM);
	assert_int_equal(iov_nlerr_to_errno(NLE_BUSY), -EBUSY);
	assert_int_equal(iov_nlerr_to_errno(-NLE_OPNOTSUPP), -EOPNOTSUPP);
	assert_int_equal(iov_nlerr_to_errno(-NLE_PERM), -EPERM);
	assert_int_equal(iov_nlerr_to_errno(-NLE_AGAIN), -EAGAIN);
	assert_int_equal(iov_nlerr_to_errno(-NLE_NODEV), -ENODEV);
	assert_int_equal(iov_nlerr_to_errno(-9999), -EIO);
}

static void test_extack(void **st)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 1 };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_ACK);
	uint16_t half = 1500;
	char kmsg[256] = "unset";
	struct nl_sock *sk;
	int r, e;

	/* IFLA_MTU must be a u32: a 2-byte one fails the kernel's attribute policy before
	 * anything is looked at, and the kernel explains why in an extended ack. */
	assert_non_null(msg);
	assert_int_equal(nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO), 0);
	assert_int_equal(nla_put(msg, IFLA_MTU, sizeof(half), &half), 0);
	sk = iov_rtnl_open(&e);
	assert_non_null(sk);
	r = iov_rtnl_transact(sk, msg, kmsg, sizeof(kmsg));
	nl_socket_free(sk);
	nlmsg_free(msg);
	if (r == -EPERM)
		skip();	/* no CAP_NET_ADMIN: the kernel refuses before parsing */
	assert_true(r == -EINVAL || r == -ERANGE);
	printf("kernel said: %s (%s)\n", strerror(-r), kmsg);
	assert_string_not_equal(kmsg, "unset");
	assert_true(strlen(kmsg) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_lo),
		cmocka_unit_test(test_mac_in_use),
		cmocka_unit_test(test_vf_set_without_vfs),
		cmocka_unit_test(test_nlerr),
		cmocka_unit_test(test_extack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
