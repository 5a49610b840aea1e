/* Group names to gids, as iovd resolves policy.admin_group and --group: on the live host
 * through NSS (getgrnam: /etc/group, LDAP, ...); under a --sysroot DIR only from
 * DIR/etc/group, never the real machine's. */
#ifndef IOV_GROUP_H
#define IOV_GROUP_H

#include <sys/types.h>

/* 0 and *gid set; -ENOENT no such group; -ENODATA under a sysroot without DIR/etc/group
 * (cannot be known there); other -errno reading it. */
int iov_group_gid(const char *name, gid_t *gid);

#endif
