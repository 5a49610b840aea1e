/* What other systems read about the config's pools: Container Device Interface specs (podman,
 * CRI-O, containerd, Docker, Kubernetes DRA drivers) and a config.json for Kubernetes'
 * sriov-network-device-plugin. Pure: from a config resolved against a host snapshot to JSON;
 * writing the files is the caller's (src/cdi.c, cli/cmd_export.c).
 *
 * CDI (spec 0.5.0, the version Debian's CDI library and podman accept): one spec per pool,
 * kind "iovd.io/<pool>", one device per VF of the pool that exists now, named
 * "<pf>-vf<N>" (pf: the config's PF name). Each device brings /dev/vfio/<group> and the
 * environment variables IOVD_PCI_ADDRESS_<DEV>=<VF address> and IOVD_IOMMU_GROUP_<DEV>=<group>
 * (DEV: the device name upper-cased, '-' as '_'); the spec brings /dev/vfio/vfio.
 * Pool and PF names must be valid CDI names (class: two characters or more, since Debian's
 * CDI library panics on one; starts with a letter, ends with a letter or digit; device:
 * starts with a letter or digit), else the export fails naming them.
 *
 * sriovdp: {"resourceList": [{"resourceName": <pool, '-' as '_'>, "resourcePrefix": "iovd.io",
 * "deviceType": "netDevice", "selectors": {"drivers": ["vfio-pci"], "pciAddresses": [...]}}]},
 * the format its README documents (selectors object). */
#ifndef IOV_CONFIG_EXPORT_H
#define IOV_CONFIG_EXPORT_H

#include <stddef.h>

#include <jansson.h>

struct iov_err;
struct iov_cfg_resolved;

#define IOV_CDI_VERSION "0.5.0"
#define IOV_CDI_VENDOR  "iovd.io"
#define IOV_CDI_DEFAULT_DIR "/var/run/cdi"

/* The spec of pool number pool. *out: the spec; *skipped (if non-NULL): a new array of
 * strings, one per pool VF left out and why ("uplink#3: the PF has 2 VFs now"). Returns the
 * number of devices (>= 0; 0 is a valid spec with no devices), or -EINVAL with err naming
 * the pool or PF whose name CDI refuses. */
int iov_export_cdi(const struct iov_cfg_resolved *r, size_t pool, json_t **out,
		   json_t **skipped, struct iov_err *err);

/* "iovd.io-<pool>.json": the spec file's name in a CDI directory (buf >= 64 bytes). */
const char *iov_export_cdi_filename(const char *pool, char *buf, size_t len);

/* The device plugin's config.json for every pool; *skipped as above. 0 or -EINVAL (two pools
 * giving the same resource name, a name the plugin refuses). */
int iov_export_sriovdp(const struct iov_cfg_resolved *r, json_t **out, json_t **skipped,
		       struct iov_err *err);

#endif
