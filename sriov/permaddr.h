/* The permanent MAC of a netdev (the one burnt into the NIC, not the one set now): the
 * kernel reports it over rtnetlink as IFLA_PERM_ADDRESS; sysfs has no file for it. Used to
 * match a PF by a stable identity (config/). Needs no privilege. */
#ifndef IOV_SRIOV_PERMADDR_H
#define IOV_SRIOV_PERMADDR_H

#include <stdint.h>

/* 0 and the address in mac; -ENODEV: no such netdev; -ENOENT: the kernel reports no
 * permanent address for it (or not a 6-byte one); other -errno from netlink. */
int iov_netdev_perm_addr(const char *ifname, uint8_t mac[6]);

#endif
