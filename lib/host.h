/* The host model: a read-only snapshot of PCI devices, SR-IOV state, IOMMU groups and
 * units, interrupt remapping, built once per command from sysfs/procfs under the sysroot
 * (lib/sysfs.h). Nothing here writes to the host. Planning and verification read only this.
 *
 * "Unknown" is explicit: integer fields hold IOV_UNKNOWN when the file was missing or held
 * garbage (0 and -1 are real values: VF offset 0, numa_node -1). Such a device is still
 * listed; the loader prints one warning per device naming the bad files. */
#ifndef IOV_HOST_H
#define IOV_HOST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/pciaddr.h"

#define IOV_UNKNOWN INT_MIN

enum iov_role { IOV_ROLE_OTHER, IOV_ROLE_PF, IOV_ROLE_VF };
enum iov_iommu_vendor { IOV_IOMMU_NONE, IOV_IOMMU_INTEL, IOV_IOMMU_AMD, IOV_IOMMU_OTHER };

/* PCIe port types (PCIe cap flags bits 7:4). */
enum iov_pcie_type {
	IOV_PCIE_ENDPOINT = 0x0, IOV_PCIE_LEGACY_ENDPOINT = 0x1, IOV_PCIE_ROOT_PORT = 0x4,
	IOV_PCIE_UPSTREAM = 0x5, IOV_PCIE_DOWNSTREAM = 0x6, IOV_PCIE_PCIE_TO_PCI = 0x7,
	IOV_PCIE_PCI_TO_PCIE = 0x8, IOV_PCIE_RC_ENDPOINT = 0x9, IOV_PCIE_RC_EC = 0xa,
};

/* ACS capability/control bits (PCIe spec 7.7.8). */
#define IOV_ACS_SV 0x0001	/* source validation */
#define IOV_ACS_TB 0x0002	/* translation blocking */
#define IOV_ACS_RR 0x0004	/* P2P request redirect */
#define IOV_ACS_CR 0x0008	/* P2P completion redirect */
#define IOV_ACS_UF 0x0010	/* upstream forwarding */
#define IOV_ACS_EC 0x0020	/* P2P egress control */
#define IOV_ACS_DT 0x0040	/* direct translated P2P */

struct iov_dev;
struct iov_group;
struct iov_virtfn_raw;

struct iov_sriov {
	int total_vfs, num_vfs;		/* sriov_totalvfs / sriov_numvfs */
	int offset, stride;		/* sriov_offset / sriov_stride */
	int vf_device;			/* sriov_vf_device, IOV_UNKNOWN if unreadable */
	int drivers_autoprobe;		/* 0/1 */
	size_t n_vfs;			/* number of virtfnN links (index = N) */
	struct iov_dev **vfs;		/* [N] = VF with index N; NULL if virtfnN is broken */
};

struct iov_dev {
	struct iov_pci_addr addr;
	char name[IOV_PCI_ADDR_STRLEN];	/* "0000:01:10.0" */
	char *syspath;			/* resolved path under the sysroot, for sysfs access */

	int vendor, device, subsys_vendor, subsys_device, revision;
	long class_code;		/* 24 bits */
	char *vendor_name, *device_name;	/* from pci.ids; NULL if not found */

	char *driver;			/* NULL: no driver bound */
	char *driver_override;		/* NULL: unset ("(null)" or empty in sysfs) */
	int numa_node;			/* -1 = no node reported by the kernel */
	char **netdevs;			/* sorted */
	size_t n_netdevs;
	char **reset_methods;		/* from reset_method, in kernel order */
	size_t n_reset_methods;
	bool reset_methods_known;	/* false: file missing (old kernel) or unreadable */

	int msi_irqs, msix_irqs;	/* vectors allocated now (msi_irqs/ directory) */

	/* From config space (libpci). cfg_len 0 = config unreadable: fields below unknown. */
	int cfg_len;
	int header_type;		/* 0 endpoint, 1 bridge, 2 cardbus */
	int pcie_type;			/* enum iov_pcie_type, IOV_UNKNOWN: no PCIe capability */
	int flr;			/* 1/0 (PCIe DevCap FLR), IOV_UNKNOWN */
	int msix_table_size;		/* vectors in MSI-X table, 0 = no MSI-X capability */
	int msi_max;			/* MSI multiple-message capable, 0 = no MSI cap */
	bool acs_present;
	uint16_t acs_cap, acs_ctrl;
	bool ari;			/* ARI capability present */
	bool dsn_known;			/* Device Serial Number capability read (needs 260+ bytes:
					 * root on the live host) */
	uint64_t dsn;			/* PCIe DSN (ext cap 0x0003), as lspci prints it MSB first */

	struct iov_group *group;	/* NULL: no IOMMU group */
	struct iov_dev *parent;		/* upstream bridge (sysfs parent), NULL on a root bus */

	enum iov_role role;
	struct iov_sriov *sriov;	/* PFs only */
	struct iov_dev *pf;		/* VFs only */
	int vf_index;			/* VFs only, IOV_UNKNOWN if not found among virtfnN */

	unsigned bad;			/* bitmask of fields that were unreadable (IOV_BAD_*) */
	char *bad_what;			/* the damaged files, for people ("vendor, class"); NULL */

	/* Loader internals, raw link values before devices are joined. */
	int group_id;
	bool cfg_msi_on, cfg_msix_on;
	struct iov_pci_addr pf_addr;
	bool role_bad;
	struct iov_virtfn_raw *virtfn_raw;	/* a PF's virtfnN links as read, in directory order */
	size_t n_virtfn_raw;
};

#define IOV_BAD_IDS      (1u << 0)
#define IOV_BAD_CLASS    (1u << 1)
#define IOV_BAD_NUMA     (1u << 2)
#define IOV_BAD_SRIOV    (1u << 3)
#define IOV_BAD_CONFIG   (1u << 4)
#define IOV_BAD_GROUP    (1u << 5)
#define IOV_BAD_OVERRIDE (1u << 6)

struct iov_group {
	int id;
	char *type;			/* "DMA", "DMA-FQ", "identity", ...; NULL if unreadable */
	struct iov_dev **devs;		/* sorted by address; only devices present in the model */
	size_t n_devs;
	char **members;			/* every name in devices/, even ones not in the model */
	size_t n_members;
};

struct iov_iommu_unit {
	char *name;			/* dmar0, ivhd0, ... */
	enum iov_iommu_vendor vendor;
	bool regs_known;
	uint64_t cap, ecap;		/* Intel cap/ecap; AMD: cap, features */
};

struct iov_iommu {
	bool enabled;			/* translation in effect: IOMMU groups exist */
	enum iov_iommu_vendor vendor;
	struct iov_iommu_unit *units;
	size_t n_units;
	int intremap;			/* 1/0, IOV_UNKNOWN; see intremap_why */
	const char *intremap_why;	/* the evidence, for people */
	int unsafe_interrupts;		/* vfio_iommu_type1 allow_unsafe_interrupts, IOV_UNKNOWN if not loaded */
};

struct iov_host {
	struct iov_dev **devs;		/* sorted by address */
	size_t n_devs;
	struct iov_group **groups;	/* sorted by id */
	size_t n_groups;
	struct iov_iommu iommu;
};

/* Builds the snapshot from the current sysroot. Bad per-device files are warned about and
 * leave fields unknown; only a missing /sys/bus/pci/devices or ENOMEM fails. */
int iov_host_load(struct iov_host **out);
void iov_host_free(struct iov_host *h);

struct iov_dev *iov_host_find(const struct iov_host *h, const struct iov_pci_addr *a);
/* Resolves a user's device argument: full/short PCI address, netdev name, or PF/vfN where
 * PF is an address or netdev. On failure returns -ENODEV/-EINVAL and writes a message for
 * people into err (which names the argument and what to do). */
int iov_host_resolve(const struct iov_host *h, const char *spec, struct iov_dev **out,
		     char *err, size_t errlen);

const char *iov_role_name(enum iov_role r);
const char *iov_iommu_vendor_name(enum iov_iommu_vendor v);	/* NULL for NONE */
bool iov_dev_is_bridge(const struct iov_dev *d);
const char *iov_pcie_type_name(int t);	/* "root_port", ...; NULL if unknown */

/* Set the pci.ids file used for names (default: libpci's). Tests use a small fixed one. */
void iov_host_set_pci_ids(const char *path);

#endif
