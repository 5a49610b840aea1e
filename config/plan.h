/* The config plan: (host snapshot, resolved config, recorded state) -> ordered actions.
 * Pure: reads the host model (lib/host.h), the usage snapshot (vfio/guard.h), the VF
 * settings the kernel reported (sriov/vfinfo.h) and the bind records (vfio/state.h);
 * touches nothing. src/apply.c executes a plan under the journal.
 *
 * Order, PF by PF in config order: autoprobe, the VF count (through 0 when it changes
 * between two non-zero counts), then VF by VF its properties, then its driver. On an NVMe
 * PF with NVMe keys (config.h, struct iov_cfg_nvmevf) the secondary controllers of VFs
 * leaving the config are emptied (namespaces detached, offline, resources 0; after the
 * count when it changes); then VF by VF in the order the specification requires: offline (when its
 * resources change), assign VQ, assign VI, attach its namespace, online; then its
 * driver. VFs are created with autoprobe off on such a PF (a host driver probing a VF
 * without resources fails). Asking for more VQ/VI than the drive has flexible (or more
 * than one secondary may get), a namespace that does not exist or belongs to another
 * controller, is refused with the numbers. Counts come
 * from the VF-count planner (sriov/numvfs.h) and bind moves from the bind planner
 * (vfio/plan.h), so their refusals (host-critical group, a group a VM holds open, no PF
 * driver, a count above sriov_totalvfs) are the same as for `iovctl vfs create` and
 * `iovctl bind`.
 *
 * The impact list says what the plan disturbs: VFs removed and re-created, IOMMU groups that
 * change driver, and VFs in use (a process holding /dev/vfio/N, or the host itself: a VF
 * netdev with addresses or routes). A plan that removes or moves a VF in use is refused
 * with -EBUSY naming the holder unless force; a VF a process holds open is refused even
 * with force when it would be removed (the kernel would block until the process lets go).
 *
 * Applying a plan and planning again gives an empty plan. */
#ifndef IOV_CONFIG_PLAN_H
#define IOV_CONFIG_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config/config.h"
#include "lib/pciaddr.h"
#include "sriov/vfconf.h"

struct iov_host;
struct iov_nvme_state;
struct iov_usage;
struct iov_bind_state;
struct iov_vfinfo;
struct iov_err;

enum iov_act_kind {
	IOV_ACT_AUTOPROBE,	/* PF sriov_drivers_autoprobe: old_val -> new_val */
	IOV_ACT_NUMVFS,		/* PF sriov_numvfs: old_val -> new_val (waits for the VFs) */
	IOV_ACT_VF_PROP,	/* one VF property (field) over rtnetlink */
	IOV_ACT_DRIVER,		/* VF driver: drv */
	/* NVMe PFs (sriov/nvme.h), on the secondary controller scid of VF vf: */
	IOV_ACT_NVME_STATE,	/* Virtualization Management Offline (new_val 0) / Online (1) */
	IOV_ACT_NVME_ASSIGN,	/* Virtualization Management Assign: rt (VQ/VI) old_val -> new_val */
	IOV_ACT_NVME_NS,	/* Namespace Attachment: nsid attach (new_val 1) / detach (0) */
};

struct iov_action {
	enum iov_act_kind kind;
	size_t pf;			/* index into cfg->pfs */
	char pf_name[40];		/* the config's name of the PF */
	char pf_dev[IOV_PCI_ADDR_STRLEN];
	char netdev[32];		/* the PF's netdev ("" when it has none) */
	int vf;				/* VF index; -1 for PF actions */
	char dev[IOV_PCI_ADDR_STRLEN];	/* the VF's address (predicted for VFs to be created) */
	int old_val, new_val;		/* AUTOPROBE, NUMVFS (old IOV_UNKNOWN: unreadable) */
	unsigned field;			/* VF_PROP: one IOV_VFC_* bit */
	bool old_known;			/* VF_PROP: old_props holds the field's current value */
	struct iov_vfconf old_props, new_props;
	enum iov_cfg_driver drv;	/* DRIVER: wanted (VFIO, HOST or NONE) */
	char old_driver[64];		/* DRIVER: current driver ("" none) */
	unsigned scid;			/* NVME_*: the VF's secondary controller */
	int rt;				/* NVME_ASSIGN: enum iov_nvme_rt */
	uint32_t nsid;			/* NVME_NS */
	char why[192];			/* reason, for people */
	char line[192];			/* diff line: "+ create 4 VFs on uplink" */
};

enum iov_impact_kind {
	IOV_IMPACT_VF_REMOVED,		/* the VF disappears (count change) */
	IOV_IMPACT_VF_CREATED,
	IOV_IMPACT_GROUP_MOVED,		/* every device of the group changes driver */
	IOV_IMPACT_IN_USE,		/* a VF the plan disturbs is in use; holder says by whom */
};

struct iov_impact {
	enum iov_impact_kind kind;
	char dev[IOV_PCI_ADDR_STRLEN];
	char pf_name[40];
	int vf;
	int group;			/* -1: none / not known yet */
	char what[192];
	char holder[192];		/* IN_USE: "pid 812 (qemu) holds /dev/vfio/12" */
};

struct iov_cfg_plan {
	struct iov_action *acts;
	size_t n;
	struct iov_impact *imp;
	size_t n_imp;
};

/* What the kernel reports for the VFs of configured PF i (from iov_vfinfo_query). known
 * false: not read (no netdev, or a --sysroot tree): every configured property is planned. */
struct iov_plan_vfs {
	const struct iov_vfinfo *vfs;
	size_t n;
	bool known;
};

struct iov_plan_input {
	const struct iov_host *h;
	const struct iov_usage *u;		/* with the open VFIO groups (may be NULL) */
	const struct iov_bind_state *st;	/* recorded bind state (may be NULL) */
	const struct iov_cfg_resolved *rc;	/* config matched to h */
	const struct iov_plan_vfs *vfinfo;	/* [i] for cfg->pfs[i]; NULL: none known */
	/* [i]: the NVMe SR-IOV state of cfg->pfs[i] (sriov/nvme.h), read for the PFs whose
	 * config has NVMe keys (cfg->pfs[i].nvme); NULL: none read (such a PF is refused). */
	const struct iov_nvme_state *const *nvme;
	bool force;				/* disturb VFs in use */
	bool allow_unsafe_interrupts;		/* host policy (vfio/bind.h) */
};

/* Pure. An empty plan (n == 0) means the host matches the config. On a refusal returns
 * -errno (-EBUSY in use, -EPERM host-critical group, -ERANGE, -ENOENT no PF driver, ...)
 * with err naming the PF (config name and file) and the holder. */
int iov_cfg_plan(const struct iov_plan_input *in, struct iov_cfg_plan **out,
		 struct iov_err *err);
void iov_cfg_plan_free(struct iov_cfg_plan *p);

/* {"actions": [{"action": "numvfs", "pf": "uplink", "device": "0000:01:00.0", "vf": null,
 *   "from": .., "to": .., "why": .., "line": "+ create 4 VFs on uplink"}, ...],
 *  "impact": [{"kind": "vf_removed", "device": .., "pf": .., "vf": .., "group": ..,
 *   "what": .., "holder": ..}]} */
json_t *iov_cfg_plan_json(const struct iov_cfg_plan *p);
const char *iov_act_kind_name(enum iov_act_kind k);	/* "autoprobe", "numvfs", ... */
/* The value of one field of c as text ("100", "02:00:..", "on", "100/3/802.1Q"). */
void iov_vfconf_field_str(const struct iov_vfconf *c, unsigned field, char *buf, size_t len);
const char *iov_vfconf_field_name(unsigned field);	/* "mac", "vlan", "spoofchk", ... */
/* Does field (one IOV_VFC_* bit) hold the same value in a and b? */
bool iov_vfconf_field_eq(const struct iov_vfconf *a, const struct iov_vfconf *b, unsigned field);
/* Every IOV_VFC_* field, in plan order. */
extern const unsigned iov_vfconf_fields[7];

/* The address VF idx of pf gets (routing ID + offset + idx * stride). -ENOENT unknown. */
int iov_vf_addr_predict(const struct iov_dev *pf, unsigned idx, char buf[IOV_PCI_ADDR_STRLEN]);

#endif
