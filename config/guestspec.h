/* The guest spec codec: JSON <-> struct iov_cfg_guest, with the one set of limits every
 * layer uses. The config loader (a guest of "guests": [...]), iovd's VmStart, the guest
 * state file (guests.json) and the `--save` drop-in writer all read and write a guest
 * through it, so a spec one of them accepts the others accept too. Pure: no host. */
#ifndef IOV_CONFIG_GUESTSPEC_H
#define IOV_CONFIG_GUESTSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config/config.h"
#include "lib/err.h"

#define IOV_GUEST_MAX_NICS 8		/* iovm: IOVM_VFIO_MAX_DEVS */
#define IOV_GUEST_MAX_MEM_MIB (1024u * 1024u)	/* iovm: at most 1 TiB */
#define IOV_GUEST_MAX_CPUS 64		/* iovm: IOVM_MAX_VCPUS */
#define IOV_GUEST_MAX_CMDLINE 2048
#define IOV_GUEST_MAX_PATH 4095
#define IOV_GUEST_DEF_MEM_MIB 512
#define IOV_GUEST_DEF_CPUS 1
#define IOV_GUEST_DEF_LOG_MIB 8
#define IOV_GUEST_MAX_LOG_MIB 1024
#define IOV_GUEST_MAX_DISKS 4

/* How a document is read. */
enum {
	IOV_GSPEC_NULL_ABSENT = 1 << 0,	/* a null value means "not given" (varlink ?type) */
	IOV_GSPEC_NO_AUTOSTART = 1 << 1,	/* "autostart" is not a key here (VmStart) */
	IOV_GSPEC_NO_PATHS = 1 << 2,	/* kernel is not required: the caller gives the files */
	IOV_GSPEC_DISK_FD = 1 << 3,	/* a disk may say "fd": an index of the call's fds */
};

struct iov_gspec_in {
	const char *file;		/* message prefix: the file read, or the method */
	const char *path;		/* JSON path of the object: "$.guests[0]", "$" */
	unsigned flags;
	const char *const *extra;	/* keys the caller reads itself (NULL-terminated or NULL) */
};

/* Reads one guest object into *out (owned strings; iov_gspec_free). On failure *out is
 * untouched, err says file: path: what and the fix, and key (when given) the top-level key
 * of the object that was wrong ("" when the object itself is). */
int iov_gspec_from_json(const json_t *o, const struct iov_gspec_in *in,
			struct iov_cfg_guest *out, char *key, size_t keylen, struct iov_err *err);
/* One NIC object ({pool|device, mac, vlan}) with the same checks (VmAttach's nic). */
int iov_gspec_nic_from_json(const json_t *o, const struct iov_gspec_in *in,
			    struct iov_cfg_nic *out, struct iov_err *err);
void iov_gspec_nic_free(struct iov_cfg_nic *n);
/* The guest as the loader reads it back (keys in a fixed order; autostart only when set).
 * NULL: out of memory. */
json_t *iov_gspec_to_json(const struct iov_cfg_guest *g);

/* A deep copy (where is copied as is); 0 or -ENOMEM with d zeroed. */
int iov_gspec_copy(struct iov_cfg_guest *d, const struct iov_cfg_guest *s);
/* Frees what g owns and zeroes it. */
void iov_gspec_free(struct iov_cfg_guest *g);

/* A guest name: 1 to 32 of a-z 0-9 _ - (it names files in the state directory). */
bool iov_gspec_name_ok(const char *name);
const char *iov_gspec_restart_name(enum iov_cfg_restart r);

#endif
