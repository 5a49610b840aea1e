#include "sriov/permaddr.h"
#include "sriov/vfinfo.h"
#include "lib/sysfs.h"

#include <errno.h>
#include <string.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

struct perm {
	uint8_t mac[6];
	int found;		/* 1 found, 0 no attribute, -errno */
};

static int perm_cb(struct nl_msg *msg, void *arg)
{
	struct perm *p = arg;
	struct nlattr *tb[IFLA_MAX + 1];

	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWLINK)
		return NL_SKIP;
	if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0) {
		p->found = -EPROTO;
		return NL_STOP;
	}
	/* Ethernet only: other link types have other address lengths. */
	if (tb[IFLA_PERM_ADDRESS] && nla_len(tb[IFLA_PERM_ADDRESS]) == 6) {
		memcpy(p->mac, nla_data(tb[IFLA_PERM_ADDRESS]), 6);
		p->found = 1;
	}
	return NL_OK;
}

int iov_netdev_perm_addr(const char *ifname, uint8_t mac[6])
{
	unsigned idx = *iov_sysroot() ? 0 : if_nametoindex(ifname);
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct perm p = { .found = 0 };
	struct nl_sock *sk;
	struct nl_msg *msg;
	int r;

	if (*iov_sysroot())
		return -IOV_E_SYSROOT;
	if (!idx)
		return -ENODEV;
	ifi.ifi_index = (int)idx;
	if (!(sk = iov_rtnl_open(&r)))
		return r;
	if (!(msg = nlmsg_alloc_simple(RTM_GETLINK, 0))) {
		nl_socket_free(sk);
		return -ENOMEM;
	}
	if (nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0) {
		nlmsg_free(msg);
		nl_socket_free(sk);
		return -EMSGSIZE;
	}
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r >= 0)
		r = nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, perm_cb, &p);
	if (r >= 0)
		r = nl_recvmsgs_default(sk);
	nl_socket_free(sk);
	if (r < 0)
		return iov_nlerr_to_errno(r);
	if (p.found < 0)
		return p.found;
	if (!p.found)
		return -ENOENT;
	memcpy(mac, p.mac, 6);
	return 0;
}
