/* The guest supervisor (src/guest.c; the guest wing's other rooms: src/guest_priv.h the
 * privilege boundary, src/guest_vf.h VF lending, src/guest_store.h the state files, and
 * config/guestspec.h the spec codec): iovd starts iovm guests with VFs it allocates (config/alloc.h), and
 * takes the VFs back when a guest ends, however it ends.
 *
 * Start: allocate a VF per NIC (every verify check must pass), bind it to vfio-pci, save the
 * PF's admin settings for it and set the guest's MAC (stable, from the MAC registry), VLAN,
 * spoofchk on and trust off; open /dev/kvm, the VFIO container and the groups (checked
 * viable), the kernel and initrd; raise RLIMIT_MEMLOCK for pinning guest RAM; fork and exec
 * iovm with only those fds (close_range on the rest) as the unprivileged guest user, in
 * its own session, with no_new_privs and no capabilities. The guest is watched by pidfd in
 * a private epoll set that the daemon's loop watches.
 *
 * End (exit, crash, SIGKILL, seccomp kill, stop): each VF is reset (sysfs reset) and
 * checked (its config space answers with its IDs), its admin settings restored, and it goes
 * back to its pool, or to quarantine when the reset fails. Restart policy no|on-failure|
 * always (at most 5 restarts a minute).
 *
 * State (STATE_DIR/guests.json, durable): the running guests (name, pid, start time, spec,
 * VFs, saved admin settings) and the quarantine; STATE_DIR/macs.json, the MAC registry;
 * STATE_DIR/guests/NAME.log, each guest's console and iovm's messages; NAME.in its console
 * input. A restarted iovd
 * re-adopts running guests (pidfd_open on the pid, verified by its start time in
 * /proc/PID/stat) and cleans up after those that ended while it was away.
 *
 * Events: guest.started guest.exited guest.restarted vf.quarantined vf.returned. */
#ifndef IOV_SRC_GUEST_H
#define IOV_SRC_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "config/guestspec.h"

struct vl_server;
struct iov_err;

struct iovd_guest_opts {
	const char *state_dir;		/* default /var/lib/iovd */
	const char *iovm;		/* iovm binary (default: next to iovd, else /usr/bin/iovm) */
	const char *user;		/* user iovm runs as (default "iovm"); NAME or UID[:GID] */
	const uint8_t *mac_prefix;	/* NULL: IOV_ALLOC_MAC_PREFIX (policy.mac_prefix wins) */
	const char *dev_dir;		/* NULL: /dev (tests: a directory of stand-ins) */
};
/* Pools, guests and policy.mac_prefix come from the config in force (src/follow.h). */

/* Sets up the supervisor, watches its epoll set in srv's loop, and re-adopts the guests
 * recorded in the state dir. 0 or -errno (logged). */
int iovd_guests_init(struct vl_server *srv, const struct iovd_guest_opts *o);
/* Starts the config's guests marked autostart that are not running. */
void iovd_guests_autostart(void);
/* The host settled after a change (udev) and the config was re-applied where it had to be:
 * degraded guests waiting for their VFs (restart policy) are started again if they can be. */
void iovd_guests_host_settled(void);

/* The kernel and initrd a client opened and passed (VmStart's fds), by uid by. */
struct iovd_guest_files {
	int kernel_fd, initrd_fd;	/* initrd_fd -1: none */
	int disk_fd[IOV_GUEST_MAX_DISKS];	/* the spec's disks, in order */
	size_t n_disks;
	uid_t by;
};

/* What to start (a config guest, or one from VmStart). Strings are copied. files: NULL
 * opens the spec's kernel and initrd (root-named paths: the config, a root caller);
 * else the client's fds, checked (regular, read-only) and held for restarts, and the
 * spec's kernel and initrd are only the client's names for them. The fds are taken
 * either way (set to -1). */
int iovd_guest_start(const struct iov_cfg_guest *spec, struct iovd_guest_files *files,
		     json_t **info, struct iov_err *err);
/* The same with the host as a worker read it just before (VmStart reads it off the loop:
 * lib/host.h, vfio/guard.h's usage), both taken (freed); NULL: read here. */
struct iov_host;
struct iov_usage;
int iovd_guest_start_on(const struct iov_cfg_guest *spec, struct iovd_guest_files *files,
			struct iov_host *h, struct iov_usage *u, json_t **info,
			struct iov_err *err);
/* Makes a guest permanent: DROPIN_DIR/50-guest-NAME.json with the spec (autostart on),
 * checked by the config loader before it is written. *path (static) says where. */
int iovd_guest_save(const struct iov_cfg_guest *spec, const char **path, struct iov_err *err);
/* Stopping a guest: SIGTERM to iovm (the guest is asked to shut down: ACPI power button or
 * Ctrl-Alt-Del), SIGKILL if it has not ended after timeout_s, or SIGKILL at once (force).
 * The state shows "stopping" meanwhile. Returns 1 when it is under way: done(ud, info)
 * runs (with VmShow's view, stolen) once iovm has ended and its VFs are reset and returned,
 * from the loop; the loop is never held while it waits. Returns 0 with *info set when the
 * guest was stopped at once (a degraded guest waiting for its VFs), or -errno with err. A
 * second stop of a guest already stopping waits for the same end (force: SIGKILL now).
 * iovd_guest_stop_cancel(ud): the caller went away: done will not run (the guest still
 * stops). */
#define IOVD_STOP_TIMEOUT_S 30
#define IOVD_STOP_TIMEOUT_MAX_S 100	/* under iovctl's 120 s call timeout */
typedef void (*iovd_stop_done_fn)(void *ud, json_t *info);
int iovd_guest_stop_async(const char *name, bool force, int timeout_s, iovd_stop_done_fn done,
			  void *ud, json_t **info, struct iov_err *err);
void iovd_guest_stop_cancel(void *ud);
/* iovm's backstop: a `vm stop` SIGTERM is queued with timeout_s + this, so iovm ends the
 * guest itself if iovd's SIGKILL never comes (iovd gone meanwhile). */
#define IOVD_STOP_BACKSTOP_S 2
/* `vm restart`: as iovd_guest_stop_async, then the guest is started again with the same
 * spec and files (a new iovm; its VFs reset and returned, then taken again); done runs
 * once it runs again, or failed to (VmShow's view says which: state, last_exit). */
int iovd_guest_restart_async(const char *name, bool force, int timeout_s,
			     iovd_stop_done_fn done, void *ud, struct iov_err *err);
/* `vm reboot`: iovm asks the guest to reboot (Ctrl-Alt-Del when its keyboard listens,
 * else a reset; force: a reset at once). The guest reboots in place under a restart
 * policy, else iovm ends with status 3 and iovd starts it again; the VFs are reset
 * between boots either way. *info: VmShow's view now (the request is made, not done). */
int iovd_guest_reboot(const char *name, bool force, json_t **info, struct iov_err *err);

/* VmList: every guest iovd knows (running, or ended since iovd started). */
json_t *iovd_guests_json(void);
/* VmShow: one guest, with its NICs (VF, MAC, VLAN, pool), pid, user, log, last exit. */
int iovd_guest_json(const char *name, json_t **out, struct iov_err *err);
/* The guest's log from byte from (-1: the end), at most its last max bytes; *end is the
 * log's size (the next from). */
int iovd_guest_log(const char *name, size_t max, long long from, char **out, size_t *len,
		   size_t *end, struct iov_err *err);
/* Console input: writes data to the running guest's console (STATE_DIR/guests/NAME.in, a
 * FIFO that is iovm's stdin) without blocking; *taken bytes went in (fewer when iovm does
 * not keep up). */
int iovd_guest_console_input(const char *name, const char *data, size_t len, size_t *taken,
			     struct iov_err *err);

/* The guest holding dev (a PCI address), or NULL: Release and SetVfCount refuse it. */
const char *iovd_guest_holding(const char *dev);

/* Quarantine: VFs whose reset failed. */
json_t *iovd_quarantine_json(void);
int iovd_unquarantine(const char *dev, struct iov_err *err);

/* Stops watching (iovd exiting): guests keep running and are re-adopted at next start. */
void iovd_guests_shutdown(void);

#endif
