/* NVMe SR-IOV: the secondary controllers behind an NVMe PF's VFs (NVMe 1.4+ Virtualization
 * Enhancements). A VF of an NVMe drive is a secondary controller that does nothing until
 * the PF's (primary) controller assigns it flexible queue (VQ) and interrupt (VI) resources
 * and brings it online, and it sees no storage until a namespace is attached to it.
 *
 * Read: Identify CNS 0x14 (Primary Controller Capabilities), CNS 0x15 (Secondary Controller
 * List), CNS 0x10 (Allocated Namespace ID list) and CNS 0x12 (the controllers a namespace is
 * attached to), sent through libnvme to the PF's controller character device (/dev/nvmeN,
 * found under /sys/bus/pci/devices/PF/nvme/). Under a --sysroot nothing is sent: the raw
 * Identify data is read from files in the tree (IOV_NVME_FIXTURE_DIR/PF/cns14.bin,
 * cns15.bin, cns10.bin, cns12-nsN.bin, each the 4096 bytes the drive returned), so fixture
 * trees stay hermetic.
 *
 * Write: Virtualization Management (opcode 0x1C: Secondary Controller Offline 7h, Assign 8h
 * with resource type VQ 0h / VI 1h, Online 9h) and Namespace Attachment (opcode 0x15, attach
 * 0h / detach 1h), through libnvme (nvme_virtual_mgmt, nvme_ns_attach). A command the drive
 * rejects comes back with its status code and its meaning. */
#ifndef IOV_SRIOV_NVME_H
#define IOV_SRIOV_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct iov_err;

/* Where a fixture tree (under --sysroot) holds the raw Identify data of each NVMe PF. */
#define IOV_NVME_FIXTURE_DIR "/iovd-fixture/nvme"
#define IOV_NVME_IDENTIFY_LEN 4096

/* One flexible resource type (VQ or VI) of the primary controller (CNS 0x14). */
struct iov_nvme_res {
	uint32_t total;		/* VQFRT / VIFRT: flexible resources, all controllers */
	uint32_t assigned;	/* VQRFA / VIRFA: assigned to secondary controllers */
	uint16_t primary;	/* VQRFAP / VIRFAP: allocated to the primary controller */
	uint16_t private_;	/* VQPRT / VIPRT: the primary's private resources */
	uint16_t max_per_sec;	/* VQFRSM / VIFRSM: most one secondary controller may get */
	uint16_t gran;		/* VQGRAN / VIGRAN: assignment granularity */
};

struct iov_nvme_primary {
	unsigned cntlid;	/* the primary controller's ID */
	bool vq_supported;	/* CRT bit 0 */
	bool vi_supported;	/* CRT bit 1 */
	struct iov_nvme_res vq, vi;
};

/* free = total - assigned - primary (0 when the drive reports more used than total). */
uint32_t iov_nvme_res_free(const struct iov_nvme_res *r);

/* One secondary controller (an entry of CNS 0x15). */
struct iov_nvme_sec {
	unsigned scid;		/* its controller ID (what Namespace Attachment names) */
	unsigned pcid;		/* its primary controller */
	bool online;		/* SCS bit 0 */
	unsigned vfn;		/* Virtual Function Number: VF index + 1; 0: none */
	unsigned nvq, nvi;	/* flexible VQ and VI resources assigned */
};

/* A namespace of the subsystem and the controllers it is attached to. */
struct iov_nvme_ns {
	uint32_t nsid;
	uint16_t *ctrls;	/* controller IDs (CNS 0x12) */
	size_t n_ctrls;
};

struct iov_nvme_state {
	char ctrl[32];		/* "nvme0"; "" under a sysroot */
	struct iov_nvme_primary pri;
	struct iov_nvme_sec *sec;
	size_t n_sec;
	struct iov_nvme_ns *ns;	/* allocated namespaces; ns_known false: not read */
	size_t n_ns;
	bool ns_known;
};

/* Parsers of the raw Identify data (little endian, as the drive sends it). len must be
 * IOV_NVME_IDENTIFY_LEN. -EINVAL with err saying what is wrong. */
int iov_nvme_parse_primary(const void *buf, size_t len, struct iov_nvme_primary *out,
			   struct iov_err *err);
/* Entries are checked: at most 127, in increasing SCID order, a VFN at most once. */
int iov_nvme_parse_secondary(const void *buf, size_t len, struct iov_nvme_sec **out,
			     size_t *n, struct iov_err *err);
/* A namespace ID list (CNS 0x10): up to 1024 NSIDs, ended by the first 0. */
int iov_nvme_parse_ns_list(const void *buf, size_t len, uint32_t **out, size_t *n,
			   struct iov_err *err);
/* A controller list (CNS 0x12/0x13): a count, then that many IDs. */
int iov_nvme_parse_ctrl_list(const void *buf, size_t len, uint16_t **out, size_t *n,
			     struct iov_err *err);

/* The controller device name of an NVMe PF ("nvme0") from /sys/bus/pci/devices/PF/nvme/.
 * -ENOENT when it has none (no nvme driver bound). */
int iov_nvme_ctrl_of(const char *pf, char *buf, size_t len);
/* Whether the PF has NVMe SR-IOV state to read: driver nvme on the live host; under a
 * sysroot, Identify data in the fixture (a tree without it shows nothing of it). */
bool iov_nvme_is_nvme_pf(const char *pf, const char *driver);

/* Reads everything above for PF (a PCI address). err names the device and the command. */
int iov_nvme_read(const char *pf, struct iov_nvme_state **out, struct iov_err *err);
void iov_nvme_state_free(struct iov_nvme_state *s);
/* The secondary controller of VF index vf (VFN vf + 1), or NULL. */
const struct iov_nvme_sec *iov_nvme_sec_of_vf(const struct iov_nvme_state *s, unsigned vf);
/* The namespace nsid, or NULL. */
const struct iov_nvme_ns *iov_nvme_ns_get(const struct iov_nvme_state *s, uint32_t nsid);
/* Whether namespace nsid is attached to controller cntlid (false when unknown). */
bool iov_nvme_ns_attached(const struct iov_nvme_state *s, uint32_t nsid, unsigned cntlid);
/* The namespaces attached to controller cntlid, as "1,2" ("" none). */
void iov_nvme_ns_of_ctrl(const struct iov_nvme_state *s, unsigned cntlid, char *buf,
			 size_t len);

/* {"controller": "nvme0", "primary": {"cntlid": 0, "vq": {"total": 8, "assigned": 2,
 *  "primary": 0, "free": 6, "max_per_secondary": 2, "granularity": 1, "private": 3},
 *  "vi": {...}}, "secondary": [{"vf": 0, "scid": 1, "state": "online", "vq": 2, "vi": 1,
 *  "namespaces": [1]}], "namespaces": [{"nsid": 1, "controllers": [1]}]} */
json_t *iov_nvme_state_json(const struct iov_nvme_state *s);

/* What NVMe drives differ in, as data: one entry per drive model (PCI vendor:device), each
 * with the fact and where it comes from (sriov/nvme.c). The planner predicts with it. */
enum iov_nvme_quirk_flag {
	/* Secondary Controller Offline also takes the controller's VQ/VI resources back. */
	IOV_NVME_Q_OFFLINE_FREES = 1u << 0,
	/* Secondary Controller Online only while the controller's VF is enabled. */
	IOV_NVME_Q_ONLINE_NEEDS_VF = 1u << 1,
	/* Disabling VFs takes their controllers offline (and, with OFFLINE_FREES, empty). */
	IOV_NVME_Q_VF_DISABLE_OFFLINES = 1u << 2,
	/* Detaching a namespace that is not attached crashes the device (never do it). */
	IOV_NVME_Q_DETACH_UNATTACHED_FATAL = 1u << 3,
};

struct iov_nvme_quirk {
	unsigned vendor, device;
	unsigned flags;
	const char *model;
	const char *source;
};

/* The entry for a drive, or NULL (then nothing is assumed: every step is planned and the
 * executor skips what is already so). */
const struct iov_nvme_quirk *iov_nvme_quirk_get(unsigned vendor, unsigned device);
const struct iov_nvme_quirk *iov_nvme_quirk_table(size_t *n);

/* Virtualization Management actions and resource types (NVMe 2.0 5.22). */
enum iov_nvme_virt_act {
	IOV_NVME_OFFLINE = 7,
	IOV_NVME_ASSIGN = 8,
	IOV_NVME_ONLINE = 9,
};
enum iov_nvme_rt { IOV_NVME_RT_VQ = 0, IOV_NVME_RT_VI = 1 };
const char *iov_nvme_rt_name(enum iov_nvme_rt rt);	/* "VQ", "VI" */

/* Sends Virtualization Management (act, scid, rt, nr) to PF's controller. A status from the
 * drive is -EIO (or what libnvme maps it to) with err naming it ("status 0x4121: Invalid
 * Number of Controller Resources ..."). Refused (-EOPNOTSUPP) under a sysroot. */
int iov_nvme_virt(const char *pf, enum iov_nvme_virt_act act, unsigned scid,
		  enum iov_nvme_rt rt, unsigned nr, struct iov_err *err);
/* Namespace Attachment: attach (or detach) nsid to controller cntlid. */
int iov_nvme_attach(const char *pf, uint32_t nsid, unsigned cntlid, bool attach,
		    struct iov_err *err);

/* Erases namespace nsid through the PF: Namespace Attachment of nsid to the primary
 * controller (when it is not attached there), Identify Namespace (its LBA format and
 * protection settings), Format NVM with Secure Erase Settings User Data Erase (1h) in that
 * format, and the detach from the primary (when it was attached for this). Used when a
 * guest gives back a VF of a pool with "on_release": "format" (src/guest_vf.c). The
 * namespace stays attached to its VF's controller. err names the command the drive
 * refused with its status. Refused (-EOPNOTSUPP) under a sysroot. */
#define IOV_NVME_FORMAT_TIMEOUT_MS (10 * 60 * 1000)
int iov_nvme_format(const char *pf, uint32_t nsid, struct iov_err *err);

#endif
