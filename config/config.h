/* The declarative host config: /etc/iovd/iovd.json plus drop-ins /etc/iovd/iovd.d/NAME.json
 * (lexical order), parsed and validated into a typed desired state. Pure: reads files and,
 * for matching, the host model (lib/host.h); writes nothing.
 *
 * Every error names the file, the JSON path ($.pfs[1].vfs["2-3"].vlan) or line:column for
 * a syntax error, what is wrong and the fix. Unknown keys are errors. A key defined in two
 * files (a PF, pool or guest name given twice, a policy field set twice) is an error naming
 * both files.
 *
 * The format (documented in docs/man/iovd.conf.5.scd, example in docs/examples/):
 *   {
 *     "policy": { "allow_unsafe_interrupts": false, "admin_group": "iovd",
 *                 "never_move": ["0000:00:1f.6", "eno1"], "on_drift": "report",
 *                 "mac_prefix": "02:1e:00" },
 *     "pfs": [ { "name": "uplink", "match": { "netdev": "enp1s0" },
 *                "num_vfs": 4, "defaults": { "spoofchk": true, "driver": "vfio-pci" },
 *                "vfs": { "0": { "mac": "02:00:00:00:00:01", "vlan": 100 },
 *                         "2-3": { "vlan": 200, "qos": 3, "driver": "host" } } } ],
 *     "pools": [ { "name": "tenants", "vfs": ["uplink#0-3"] } ],
 *     "guests": [ ... issue 9, see struct iov_cfg_guest ... ]
 *   }
 * match: exactly one of "address", "netdev", "perm_mac", "dsn", or "vendor_device"; "dsn" and
 * "vendor_device" take an "index" (counting matching devices in address order from 0), needed
 * when more than one device matches. */
#ifndef IOV_CONFIG_CONFIG_H
#define IOV_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/pciaddr.h"
#include "sriov/vfconf.h"

struct iov_err;
struct iov_host;
struct iov_dev;

#define IOV_CONFIG_DEFAULT_PATH   "/etc/iovd/iovd.json"
#define IOV_CONFIG_DEFAULT_DROPIN "/etc/iovd/iovd.d"

/* Where a value came from, for messages: "/etc/iovd/iovd.d/10-x.json: $.pfs[0].num_vfs". */
struct iov_cfg_where {
	const char *file;		/* points into iov_config.files */
	char path[160];			/* JSON path */
};

enum iov_cfg_match_kind {
	IOV_MATCH_ADDRESS,		/* "0000:01:00.0" (short form accepted) */
	IOV_MATCH_NETDEV,		/* "enp1s0": the PF's netdev name now */
	IOV_MATCH_PERM_MAC,		/* permanent MAC of the PF's netdev (rtnetlink IFLA_PERM_ADDRESS) */
	IOV_MATCH_DSN,			/* PCIe Device Serial Number, "00-11-22-ff-fe-33-44-55" */
	IOV_MATCH_VENDOR_DEVICE,	/* "8086:10c9" + index */
};

struct iov_cfg_match {
	enum iov_cfg_match_kind kind;
	struct iov_pci_addr addr;	/* ADDRESS */
	char *netdev;			/* NETDEV */
	uint8_t mac[6];			/* PERM_MAC */
	uint64_t dsn;			/* DSN */
	int vendor, device, index;	/* VENDOR_DEVICE; index >= 0 */
	bool has_index;			/* VENDOR_DEVICE or DSN (the functions of one card share
					 * a DSN): "index" given; without it more than one
					 * matching device is an error (ambiguous) */
};

/* Which driver a VF should be on. UNSET inherits the PF's defaults, then HOST. */
enum iov_cfg_driver {
	IOV_CFG_DRV_UNSET = 0,
	IOV_CFG_DRV_VFIO,		/* "vfio-pci" */
	IOV_CFG_DRV_HOST,		/* "host": the VF driver the kernel probes (igbvf, iavf, ...) */
	IOV_CFG_DRV_NONE,		/* "none": no driver */
};

/* The NVMe secondary controller behind a VF of an NVMe PF (sriov/nvme.h): its flexible
 * resources and the namespace attached to it. -1: not given. Given for any VF of a PF, they
 * make iovd manage that PF's secondary controllers: VFs in the config get exactly these,
 * the others none (offline, no resources, no namespace). */
struct iov_cfg_nvmevf {
	int queues;			/* "queues": flexible VQ resources, 2..65535 (the admin
					 * queue takes one: 2 = one I/O queue) */
	int interrupts;			/* "interrupts": flexible VI resources, 1..65535 */
	int64_t ns;			/* "namespace": the NSID to attach, 1..0xfffffffe */
};

/* Settings for a run of VF indexes; "2" is first = last = 2, "0-3" is 0..3. Entries of one PF
 * may not overlap; defaults apply to every VF a range does not override field by field. */
struct iov_cfg_vfs {
	unsigned first, last;
	struct iov_vfconf props;	/* props.set says which fields are given */
	enum iov_cfg_driver driver;
	struct iov_cfg_nvmevf nvme;
	struct iov_cfg_where where;
};

struct iov_cfg_pf {
	char *name;			/* admin's name: [a-z0-9_-]{1,32}, unique */
	struct iov_cfg_match match;
	int num_vfs;			/* -1: not managed (leave as is) */
	struct iov_vfconf defaults;
	enum iov_cfg_driver default_driver;
	struct iov_cfg_nvmevf nvme_defaults;	/* "queues", "interrupts" in "defaults" */
	bool nvme;			/* an NVMe key appears: its secondary controllers are managed */
	struct iov_cfg_vfs *vfs;
	size_t n_vfs;
	struct iov_cfg_where where;
};

/* "uplink#0-3" -> pf = index into iov_config.pfs, VFs first..last. */
struct iov_cfg_pool_member {
	size_t pf;
	unsigned first, last;
};

/* What happens to the namespace behind a storage pool's VF when a guest gives it back. */
enum iov_cfg_release {
	IOV_RELEASE_KEEP = 0,		/* "keep": the data stays for the pool's next guest */
	IOV_RELEASE_FORMAT,		/* "format": Format NVM (User Data Erase) through the PF */
};

struct iov_cfg_pool {
	char *name;			/* unique, [a-z0-9_-]{1,32} */
	struct iov_cfg_pool_member *members;
	size_t n_members;
	bool storage;			/* its VFs are NVMe VFs (their PFs have NVMe keys): it
					 * gives guests disks ("disks": [{"pool": ...}]), not NICs */
	enum iov_cfg_release on_release;	/* "on_release" (storage pools only) */
	bool has_on_release;		/* "on_release" given */
	struct iov_cfg_where where;
};

enum iov_cfg_restart { IOV_RESTART_NO, IOV_RESTART_ON_FAILURE, IOV_RESTART_ALWAYS };

/* A guest NIC: from a pool, or a VF named as "PF/vfN" (PF = config name, address or netdev)
 * or a PCI address. mac/vlan optional (has_mac, vlan = -1 when unset). */
struct iov_cfg_nic {
	char *pool;			/* exactly one of pool / device */
	char *device;
	bool has_mac;
	uint8_t mac[6];
	int vlan;
};

/* A guest disk: a file or block device (virtio-blk), read-write unless readonly; or an
 * NVMe VF drawn from a storage pool, passed through whole (its controller and the
 * namespace attached to it). */
struct iov_cfg_disk {
	char *path;			/* absolute; for a disk a client passed, its name for it */
	char *pool;			/* exactly one of path / pool (path may be absent when
					 * a client passed the file) */
	bool readonly;
};

struct iov_cfg_guest {
	char *name;			/* unique, [a-z0-9_-]{1,32} */
	char *kernel, *initrd, *cmdline;	/* initrd, cmdline may be NULL */
	uint64_t mem_mib;		/* default 512 */
	unsigned cpus;			/* default 1 */
	struct iov_cfg_nic *nics;
	size_t n_nics;
	bool autostart;
	enum iov_cfg_restart restart;
	unsigned log_mib;		/* console log: MiB per file, two files (default 8) */
	struct iov_cfg_disk *disks;	/* virtio-blk (path) in this order; NVMe VFs (pool) */
	size_t n_disks;
	struct iov_cfg_where where;
};

enum iov_cfg_on_drift { IOV_DRIFT_REPORT = 0, IOV_DRIFT_REAPPLY };

struct iov_cfg_policy {
	int allow_unsafe_interrupts;	/* -1 unset (command line decides), 0, 1 */
	char *admin_group;		/* NULL: unset */
	char **never_move;		/* addresses or netdev names, as written */
	size_t n_never_move;
	enum iov_cfg_on_drift on_drift;
	bool has_mac_prefix;
	uint8_t mac_prefix[3];		/* locally administered unicast (bit 1 set, bit 0 clear) */
	int stop_timeout;		/* s a guest has to shut down on `vm stop`; -1: unset */
};

struct iov_config {
	struct iov_cfg_policy policy;
	struct iov_cfg_pf *pfs;
	size_t n_pfs;
	struct iov_cfg_pool *pools;
	size_t n_pools;
	struct iov_cfg_guest *guests;
	size_t n_guests;
	char **files;			/* every file read, in order (main first) */
	size_t n_files;
};

/* Loads path (NULL: IOV_CONFIG_DEFAULT_PATH, under a --sysroot DIR DIR/etc/iovd/iovd.json) and the drop-ins in dropin_dir (NULL: derived
 * from path by iov_config_dropin_dir(), which for the default path is the default
 * directory; "" for none). Drop-ins are DIR/ *.json in bytewise lexical order; dot files
 * and other names are ignored; a missing directory is no drop-ins. A missing main file with no drop-ins is -ENOENT (err says so);
 * a missing main file with drop-ins is fine. Validation that needs no host is done here
 * (types, ranges, unknown keys, duplicates, ranges beyond num_vfs, pools naming unknown PFs,
 * MACs multicast or used twice). */
int iov_config_load(const char *path, const char *dropin_dir, struct iov_config **out,
		    struct iov_err *err);
/* As iov_config_load, with one more drop-in that is not on disk yet: extra (extra_len bytes)
 * as if it were the file extra_name (a path in dropin_dir), in its lexical place and
 * replacing a file of that name. What a drop-in about to be written would make of the
 * config, checked before it is written. */
int iov_config_load_with(const char *path, const char *dropin_dir, const char *extra_name,
			 const char *extra, size_t extra_len, struct iov_config **out,
			 struct iov_err *err);
/* One document from memory (the fuzz harness, tests); name is used as the file name. */
int iov_config_load_buf(const char *name, const char *buf, size_t len, struct iov_config **out,
			struct iov_err *err);
void iov_config_free(struct iov_config *c);

/* The drop-in directory that goes with a main file: "/etc/iovd/iovd.json" ->
 * "/etc/iovd/iovd.d" (".json" stripped, ".d" added). 0 or -ENAMETOOLONG. */
int iov_config_dropin_dir(const char *path, char *buf, size_t len);

/* The config matched against a host snapshot: each PF's device (exactly one must match,
 * else -ENODEV or -EEXIST naming the PF's where and the candidates). Also checked against
 * the host: the device is an SR-IOV PF, num_vfs and every VF index (entries, pools, NICs)
 * fit its sriov_totalvfs, two config PFs are not the same device, a NIC's device exists
 * and is not in policy.never_move, a PF in never_move gets no VFs on vfio-pci. */
struct iov_cfg_resolved {
	const struct iov_config *cfg;
	struct iov_dev **pf_dev;	/* [i] for cfg->pfs[i] */
};
int iov_config_resolve(const struct iov_config *c, const struct iov_host *h,
		       struct iov_cfg_resolved **out, struct iov_err *err);
void iov_cfg_resolved_free(struct iov_cfg_resolved *r);

/* What resolve asks the live host beyond the snapshot, so tests can supply it.
 * perm_mac: the permanent MAC of a netdev (rtnetlink IFLA_PERM_ADDRESS): 0, -ENOENT (no
 * such netdev or none reported), -EOPNOTSUPP (cannot be known, e.g. under --sysroot). */
struct iov_cfg_lookup {
	int (*perm_mac)(void *ud, const char *ifname, uint8_t mac[6]);
	void *ud;
};
/* iov_config_resolve uses the live host's rtnetlink, or, under a sysroot, nothing. */
int iov_config_resolve_with(const struct iov_config *c, const struct iov_host *h,
			    const struct iov_cfg_lookup *lk, struct iov_cfg_resolved **out,
			    struct iov_err *err);

/* The effective settings of VF idx of PF i: defaults merged with the range entry covering
 * it. Returns 0, or -ENOENT if idx >= the PF's num_vfs (when managed). */
int iov_config_vf(const struct iov_config *c, size_t pf, unsigned idx,
		  struct iov_vfconf *props, enum iov_cfg_driver *driver);

/* The NVMe settings of VF idx of PF i: defaults merged with the range entry covering it
 * (fields -1 where neither gives them). -ENOENT as iov_config_vf. */
int iov_config_vf_nvme(const struct iov_config *c, size_t pf, unsigned idx,
		       struct iov_cfg_nvmevf *out);

/* Small parsers and names shared with the tools. */
int iov_cfg_parse_range(const char *s, unsigned max, unsigned *first, unsigned *last);
int iov_cfg_parse_dsn(const char *s, uint64_t *out);	/* "00-11-22-ff-fe-33-44-55" */
void iov_cfg_fmt_dsn(uint64_t dsn, char buf[24]);
int iov_cfg_parse_driver(const char *s, enum iov_cfg_driver *out);
const char *iov_cfg_driver_name(enum iov_cfg_driver d);	/* "vfio-pci", "host", ... */
const char *iov_cfg_release_name(enum iov_cfg_release r);	/* "keep", "format" */
bool iov_cfg_ifname_ok(const char *s);

/* Index of the named PF / pool / guest, or -ENOENT. */
int iov_config_find_pf(const struct iov_config *c, const char *name);
int iov_config_find_pool(const struct iov_config *c, const char *name);
int iov_config_find_guest(const struct iov_config *c, const char *name);

#endif
