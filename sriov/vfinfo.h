/* VF properties over rtnetlink (IFLA_VFINFO_LIST on the PF's netdev), read and written
 * with libnl. Reading needs no privilege; writing needs CAP_NET_ADMIN (iovd).
 * libnl's -NLE_* codes never leave this module: everything returns -errno. */
#ifndef IOV_SRIOV_VFINFO_H
#define IOV_SRIOV_VFINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sriov/vfconf.h"

struct iov_err;

/* What the kernel reports for one VF. Integer fields the driver does not report hold
 * IOV_UNKNOWN (lib/host.h); the kernel's own "-1 = not supported" also maps to it. */
struct iov_vfinfo {
	int vf;
	uint8_t mac[6];			/* 00:00:00:00:00:00 = none set */
	int vlan, qos;			/* 0/0 = untagged */
	uint16_t vlan_proto;		/* IOV_ETH_P_8021Q when the kernel gives no list */
	int spoofchk, trust;		/* 1/0 or IOV_UNKNOWN */
	int link_state;			/* enum iov_vf_link_state or IOV_UNKNOWN */
	int64_t min_rate, max_rate;	/* Mbit/s, 0 = no limit; IOV_UNKNOWN if not reported */
};

/* All VFs the kernel lists for the PF netdev, sorted by index. *out is malloc'd (free()).
 * -ENODEV: no such netdev. A PF without VFs gives n = 0. */
int iov_vfinfo_query(const char *pf_ifname, struct iov_vfinfo **out, size_t *n);

/* What the kernel reports for one VF as a vfconf: every known field set (mac always; vlan,
 * qos and proto together; each rate on its own). vlan_proto as reported (0 if the kernel
 * gave none). */
void iov_vfinfo_conf(const struct iov_vfinfo *v, struct iov_vfconf *c);

/* {"vf": 0, "mac": "..", "vlan": 0, "qos": 0, "proto": "802.1Q", "spoofchk": true,
 *  "trust": false, "state": "auto", "min_rate": 0, "max_rate": 0}; unknown fields null. */
json_t *iov_vfinfo_json(const struct iov_vfinfo *v);
/* An array of the above for a PF netdev; NULL (errno set) on failure. */
json_t *iov_vfinfo_query_json(const char *pf_ifname);

/* Is mac used anywhere on this host: as any netdev's address, or as the configured MAC of
 * any VF other than (pf_ifname, vf)? Netdevs named in skip (the VF's own, NULL-terminated
 * list, may be NULL) are not counted. Returns 1 and names the user in who, 0, or -errno. */
int iov_mac_in_use(const uint8_t mac[6], const char *pf_ifname, int vf,
		   const char *const *skip, char *who, size_t wholen);

/* Applies the properties set in c to VF vf of the PF netdev, one RTM_SETLINK per property
 * so that an error names the property. EAGAIN (VF in reset) is retried for up to ~2 s.
 * On failure the properties already changed are put back (best effort) and err carries
 * the kernel's extended-ack message when there is one. Does not check MAC uniqueness. */
int iov_vf_set(const char *pf_ifname, unsigned vf, const struct iov_vfconf *c,
	       struct iov_err *err);

/* libnl error (negative or positive NLE_*) to -errno. */
int iov_nlerr_to_errno(int nlerr);

/* The rtnetlink plumbing under iov_vf_set, exposed for tests. iov_rtnl_open: a NETLINK_ROUTE
 * socket with extended acks on (NULL, *err = -errno on failure; nl_socket_free it).
 * iov_rtnl_transact sends msg (built with NLM_F_ACK) and waits for the ack: returns the
 * kernel's -errno (0 on success) and copies the extack message, if any, into kmsg. */
struct nl_sock;
struct nl_msg;
struct nl_sock *iov_rtnl_open(int *err);
int iov_rtnl_transact(struct nl_sock *sk, struct nl_msg *msg, char *kmsg, size_t kmsglen);

#endif
