/* VF lending, the guest wing's side of a VF (src/guest.h): the PF's admin settings of a VF
 * saved before a guest and put back after it, the guest's MAC/VLAN/spoofchk/trust set, the
 * reset and its check when the VF comes back, and the quarantine of VFs whose reset
 * failed. */
#ifndef IOV_SRC_GUEST_VF_H
#define IOV_SRC_GUEST_VF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lib/err.h"
#include "lib/pciaddr.h"

/* A VF lent to a guest. */
struct gnic {
	char vf[IOV_PCI_ADDR_STRLEN];
	char pf[IOV_PCI_ADDR_STRLEN];
	char pfnet[64];
	int vf_index, group;
	char *pool;			/* NULL: named explicitly */
	int disk;			/* -1: a NIC; else the index of the spec's disk this
					 * NVMe VF is (a pool disk: no MAC, no VLAN, no PF netdev) */
	uint32_t nsid;			/* disk: the namespace on its controller */
	bool wipe;			/* disk: its pool says "on_release": "format" */
	uint8_t mac[6];
	int vlan;			/* -1: none */
	bool bound_by_us;		/* iovd moved it to vfio-pci for this guest */
	bool hot;			/* attached while the guest runs (a hot-plug slot) */
	bool attaching;			/* recorded before iovm has it (src/guest_hp.h) */
	bool saved_known;		/* the admin settings before the guest */
	uint8_t saved_mac[6];
	int saved_vlan, saved_qos, saved_spoofchk, saved_trust;
};

/* Saves the VF's admin settings (through its PF) and sets the guest's: MAC, VLAN (or
 * none), spoofchk on, trust off. */
int gvf_save_and_set(struct gnic *n, struct iov_err *err);
/* The two halves: what the PF has for the VF now, kept in n (nothing changed; recorded
 * before gvf_set so that a crash in between can still put it back), and the guest's. */
int gvf_save(struct gnic *n, struct iov_err *err);
int gvf_set(const struct gnic *n, struct iov_err *err);
/* Puts back what gvf_save_and_set saved (logged when it cannot). */
void gvf_restore(const struct gnic *n);
/* Function-level reset through sysfs and the check that the function came back; why
 * says what failed. */
int gvf_reset(const char *dev, char *why, size_t len);
/* After a guest: reset, check, restore, back to its pool (or to its host driver when iovd
 * bound it for the guest), or quarantine. An NVMe VF of a pool with "on_release": "format"
 * has its namespace formatted through the PF after the reset (sriov/nvme.h
 * iov_nvme_format); if that fails it is quarantined: its next guest must not find the
 * last one's data. */
void gvf_return(const char *guest, struct gnic *n);
/* A start failed: the first n NICs' settings back (when settings) and host drivers back. */
void gvf_undo(struct gnic *nics, size_t n, bool settings);

/* The quarantine: VFs whose reset failed, kept from every guest until taken out. */
const char *gvf_quarantined(const char *dev);	/* its reason, or NULL */
void gvf_quarantine(const char *vf, const char *guest, const char *reason);
/* Takes dev out: 0, or -ENOENT (err says where to look). */
int gvf_unquarantine(const char *dev, struct iov_err *err);
size_t gvf_quarantine_count(void);
const char *gvf_quarantine_vf(size_t i);
/* [{device, reason, guest}] for the API; state: [{vf, reason, guest}] for guests.json. */
json_t *gvf_quarantine_json(bool state);

#endif
