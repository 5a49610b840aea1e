/* Hot attach and detach of VFs to a running guest (VmAttach, VmDetach; iovctl vm attach,
 * vm detach), the guest wing's side of iovm's hot-plug slots (vmm/hotplug.h).
 *
 * At start a guest with NICs gets hot-plug slots (root ports the guest's pciehp drives)
 * and a control socket: a listening AF_UNIX SOCK_SEQPACKET socket at
 * STATE_DIR/guests/NAME.ctl (the directory is root's, 0700) that iovm holds; iovd connects
 * to it when it has something to say, so a restarted iovd reaches the same iovm.
 *
 * Attach: a VF is drawn and verified as at start (config/alloc.h), gets the guest's MAC
 * from the registry (the NIC's index: the MAC it would get at start in that place), goes to
 * vfio-pci, gets the MAC, VLAN, spoofchk on and trust off, and is recorded in guests.json as
 * "attaching" before its group's fd goes to iovm (SCM_RIGHTS); iovm's answer ends the attach
 * ("attaching" cleared) or undoes it (the VF reset and returned). An iovd killed in between
 * finds "attaching" at its next start and asks iovm which devices it has: the VF is kept
 * when iovm has it, else it goes back to its pool.
 *
 * Detach: iovm presses the slot's attention button; the guest (pciehp) unbinds the driver
 * and powers the slot off: released. A guest that does not within the timeout gets a
 * surprise removal; it keeps running either way. The VF is then reset, checked, its admin
 * settings restored, and back in its pool. NICs given at start are on bus 0, not in a slot:
 * they cannot be detached (they leave with the guest). */
#ifndef IOV_SRC_GUEST_HP_H
#define IOV_SRC_GUEST_HP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "lib/err.h"

struct guest;
struct vl_server;

#define IOVD_HP_SLOTS 4			/* hot-plug slots a guest with NICs gets */
#define IOVD_DETACH_TIMEOUT_S 20	/* the guest's time to release a VF (pciehp waits 5 s) */
#define IOVD_DETACH_TIMEOUT_MAX_S 100

/* done(ud, result, err, r): r >= 0 with result (owned by done), or r < 0 with err. */
typedef void (*iovd_hp_done_fn)(void *ud, json_t *result, const struct iov_err *err, int r);

/* VmAttach: nic is the NIC spec (pool or device, mac, vlan); save also adds it to the
 * guest's drop-in. 1: under way, done runs later from the loop; -errno with err. */
int iovd_guest_attach_async(const char *name, const struct iov_cfg_nic *nic, bool save,
			    iovd_hp_done_fn done, void *ud, struct iov_err *err);
/* VmDetach: nic names a hot-attached NIC by index, MAC, VF address or PF/vfN. */
int iovd_guest_detach_async(const char *name, const char *nic, int timeout_s, bool save,
			    iovd_hp_done_fn done, void *ud, struct iov_err *err);
/* The caller went away: done will not run (the attach or detach goes on). */
void iovd_guest_hp_cancel(void *ud);

/* ---- for src/guest.c ---- */
void ghp_init(struct vl_server *srv, const char *dev_dir, const uint8_t prefix[3]);
/* The slots a start gives g (0: none, with no NIC there is no VFIO container to plug into). */
int ghp_slots(const struct guest *g);
/* A listening socket for g's iovm at STATE_DIR/guests/NAME.ctl (made anew); the fd, or -errno. */
int ghp_listen(struct guest *g, struct iov_err *err);
/* g's iovm ended (its NICs, hot ones too, are returned by the caller): a pending attach or
 * detach is answered with an error, the connection closed, the socket file removed. */
void ghp_ended(struct guest *g);
/* A re-adopted guest: NICs recorded "attaching" or hot-plugged are checked against what
 * iovm has (list); those it does not have go back to their pool. */
void ghp_adopt(struct guest *g);

/* Provided by src/guest.c. */
struct guest *iovd_guest_find(const char *name);
struct guest *iovd_guest_list(void);
void iovd_guest_state_save(void);

#endif
