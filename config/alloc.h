/* Giving guest NICs their VFs and MACs. Pure: a function of the config, the host model, the
 * host usage snapshot and what is already taken; iovd (src/guest.c) records the result and
 * does the binding and the netlink work.
 *
 * VFs. A NIC from a pool gets the first free member VF (pool order) whose isolation verdict
 * (vfio/verify.h, every counting check) is "isolated", preferring VFs on the NUMA node of
 * the guest's memory when one is given. A VF named explicitly ("PF/vfN", a netdev or an
 * address) is checked the same way and refused with the failing check's reason and fix.
 *
 * MACs. Unique host-wide, stable per (guest, NIC index): the registry (saved by iovd in its
 * state dir) remembers every MAC handed out; a new one is the configured locally
 * administered prefix (policy.mac_prefix, default IOV_ALLOC_MAC_PREFIX) followed by 24 bits
 * of a hash of "guest/nicN", probed forward past MACs that are registered to another NIC
 * or in use on the host. */
#ifndef IOV_CONFIG_ALLOC_H
#define IOV_CONFIG_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/pciaddr.h"

struct iov_config;
struct iov_cfg_resolved;
struct iov_cfg_nic;
struct iov_host;
struct iov_dev;
struct iov_usage;
struct iov_err;

/* 02:1e:00: locally administered (bit 1), unicast (bit 0 clear). */
#define IOV_ALLOC_MAC_PREFIX { 0x02, 0x1e, 0x00 }

/* A VF that is not free: held by a running guest, or quarantined (by = "quarantine"). */
struct iov_alloc_taken {
	char dev[IOV_PCI_ADDR_STRLEN];
	const char *by;
};

struct iov_alloc_in {
	const struct iov_config *cfg;		/* NULL: no pools */
	const struct iov_cfg_resolved *res;	/* the config's PFs on this host; NULL with cfg */
	const struct iov_host *h;
	const struct iov_usage *u;		/* NULL: host_critical unknown, so nothing passes */
	const struct iov_alloc_taken *taken;
	size_t n_taken;
	int numa_node;				/* preferred node of guest memory, -1: none */
};

/* The VF for nic. 0 and *out, or: -ENOENT unknown pool; -ENODEV no such device (err from
 * iov_host_resolve); -EINVAL not a VF; -EBUSY explicit VF taken (naming the holder) or no
 * free VF in the pool (err counts taken and refused members and names the first refusal);
 * -EPERM explicit VF not isolated (err: "VF: check: reason", fix: the check's fix). */
int iov_alloc_vf(const struct iov_alloc_in *in, const struct iov_cfg_nic *nic,
		 struct iov_dev **out, struct iov_err *err);

/* The VF for a disk from pool (a storage pool: NVMe VFs, config/config.h), chosen as a
 * NIC's from its pool is. -EINVAL: a pool of network VFs (and iov_alloc_vf refuses a NIC
 * from a storage pool the same way). */
int iov_alloc_disk_vf(const struct iov_alloc_in *in, const char *pool, struct iov_dev **out,
		      struct iov_err *err);

/* Is dev taken? Returns the holder (in->taken[i].by) or NULL. */
const char *iov_alloc_holder(const struct iov_alloc_in *in, const char *dev);

/* ---- MAC registry ---- */

struct iov_mac_ent {
	char *guest;
	unsigned nic;
	uint8_t mac[6];
};

struct iov_macreg {
	struct iov_mac_ent *ents;
	size_t n;
};

/* Asked for every candidate MAC: is it in use on the host (netdevs, VF admin MACs) by
 * something other than the NIC being allocated? 1 yes, 0 no, -errno to give up. */
typedef int (*iov_mac_used_fn)(const uint8_t mac[6], void *ud);

/* The MAC of (guest, nic). want: a MAC the config or the command line asks for, or NULL.
 * A registered MAC is kept (want replaces it if given, unless another NIC holds want: -EEXIST
 * naming it). A new MAC is derived from prefix (NULL: the default) and probed as above;
 * -EADDRNOTAVAIL if 4096 probes find none. On success *mac is set and the registry holds
 * the entry (added or updated: *changed true when it must be saved). */
int iov_mac_assign(struct iov_macreg *reg, const char *guest, unsigned nic,
		   const uint8_t *want, const uint8_t *prefix, iov_mac_used_fn used, void *ud,
		   uint8_t mac[6], bool *changed, struct iov_err *err);
/* The entry of (guest, nic), or NULL. */
const struct iov_mac_ent *iov_macreg_find(const struct iov_macreg *reg, const char *guest,
					  unsigned nic);
/* Who holds mac ("guest/nic"), or NULL. */
const struct iov_mac_ent *iov_macreg_owner(const struct iov_macreg *reg, const uint8_t mac[6]);
/* Drops every entry of guest (when a guest is removed for good). */
void iov_macreg_forget(struct iov_macreg *reg, const char *guest);

/* {"version": 1, "macs": [{"guest": "web", "nic": 0, "mac": "02:1e:00:12:34:56"}]}.
 * from_json: a document of another shape is -EINVAL with err naming the JSON path; an entry
 * that is not as iovd writes it (a guest name the API would refuse, a MAC that is not a
 * unicast VF MAC, a NIC or MAC listed twice) is skipped: the return value is how many were,
 * err naming the first. */
json_t *iov_macreg_to_json(const struct iov_macreg *reg);
int iov_macreg_from_json(const json_t *j, struct iov_macreg **out, struct iov_err *err);
struct iov_macreg *iov_macreg_new(void);
void iov_macreg_free(struct iov_macreg *reg);

#endif
