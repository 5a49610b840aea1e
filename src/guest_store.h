/* The guest wing's records: struct guest (one guest iovd knows) and its JSON, the durable
 * state STATE_DIR/guests.json (the running and degraded guests with their spec, VFs and
 * saved admin settings, and the quarantine; re-read when iovd starts) and the MAC registry
 * STATE_DIR/macs.json. Entries read back are checked as the API checks a client's: the
 * spec through the guest-spec codec (config/guestspec.h), the VFs as PCI addresses and
 * netdev names; a bad entry is logged and skipped. */
#ifndef IOV_SRC_GUEST_STORE_H
#define IOV_SRC_GUEST_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "config/alloc.h"
#include "config/guestspec.h"
#include "irq/place.h"
#include "src/guest_log.h"
#include "src/guest_vf.h"

struct vl_server;

/* G_DEGRADED: the host took the guest's VFs away (iovm exit status 6, the VFIO device request
 * of a PF driver reload or a VF removal); with a restart policy it waits for them to come
 * back (`waiting`) and is started again once the host has converged. */
enum gstate { G_RUNNING, G_STOPPED, G_FAILED, G_DEGRADED };

struct guest {
	struct iov_cfg_guest spec;	/* owned copy (where unused) */
	struct gnic nics[IOV_GUEST_MAX_NICS];
	size_t n_nics;
	pid_t pid;
	int pidfd;
	unsigned long long starttime;	/* /proc/PID/stat field 22 */
	enum gstate state;
	bool stopping, adopted;
	bool reboot_asked;		/* `vm reboot`: an exit 3 is started again, any policy */
	bool restart_asked;		/* `vm restart`: started again however it ends */
	bool waiting;			/* degraded, to be restarted when its VFs are back */
	bool starting;			/* VFs chosen, iovm's pid not yet recorded: an iovd
					 * that finds this in guests.json was killed while
					 * starting it, and returns what the start took */
	char wait_error[512];		/* why the last try to restart it failed */
	int wait_tries;			/* tries to restart it since it was degraded */
	time_t started_at;
	int restarts;
	time_t window_start;
	int window_count;
	char exit_reason[512];
	int exit_code;			/* -1: none / unknown */
	int numa_node;			/* where iovm was placed, -1: not placed */
	/* own_uid: iovm runs as uid:gid, its own (policy.guest_uids); else as the guest
	 * user shared by every guest. */
	bool own_uid;
	uid_t uid;
	gid_t gid;
	char log[PATH_MAX];
	struct iov_irq_line irqs[32];	/* the VFs' vfio lines, as last placed */
	char irq_cpus[32][64];
	size_t n_irqs;
	char cpus_now[256];		/* the CPUs iovm may run on, as a list */
	/* The kernel and initrd a client passed as fds (files_passed): held for restarts;
	 * the spec's kernel and initrd are then the client's names for them, never opened.
	 * An iovd restarted since holds none (the guest runs on, but cannot be restarted). */
	bool files_passed;
	uid_t files_by;
	int kfd, ifd;
	int dfd[IOV_GUEST_MAX_DISKS];	/* the disks, open and locked (gpriv_disk), held */
	size_t n_dfd;
	struct glog out;		/* the console log, iovd's (src/guest_log.h) */
	/* Hot-plug (src/guest_hp.h): iovm's slots (0: started without), iovd's connection to
	 * its control socket (-1: none yet), the attach or detach under way. */
	int hp_slots;
	int ctl_fd;
	struct ghp_op *hp_op;
	/* What the supervisor's epoll set reports for this guest. */
	struct gwatch {
		enum { GW_PID, GW_OUT } kind;
		struct guest *g;
	} w_pid, w_out;
	struct guest *next;
};

/* The state directory and the guest user's name (shown by VmShow). */
void gstore_init(const char *state_dir, const char *user);
/* STATE_DIR/rel. */
void gstore_path(char *buf, size_t len, const char *rel);
/* A new guest (nothing running, no fds); NULL: out of memory. */
struct guest *gstore_guest_new(void);
/* Frees g (its spec, NICs' pools, held kernel and initrd fds; not its pidfd). */
void gstore_guest_free(struct guest *g);

/* VmShow's view of a guest (state false), or its guests.json entry (state true). */
json_t *gstore_guest_json(const struct guest *g, bool state);
/* Writes guests.json: the running, starting and waiting guests of list, and the quarantine. Logged
 * when it cannot. With a loop set (gstore_set_loop), the write and its fsyncs happen on the
 * worker thread (src/offload.h), in order; without (NULL), at once. */
void gstore_save(const struct guest *list);
/* The same with extra (a guest not on list yet, or NULL) in it. */
void gstore_save_with(const struct guest *list, const struct guest *extra);
/* The same, written before it returns (after any write in flight, never overwritten by an
 * older one): what a crash right after must find. extra: a guest not on list yet, or NULL. */
void gstore_save_now(const struct guest *list, const struct guest *extra);
void gstore_set_loop(struct vl_server *srv);
/* Reads guests.json: the quarantine goes back to it (src/guest_vf.h), and each guest entry
 * that reads back goes to adopt, which owns it (state G_RUNNING, or G_DEGRADED with waiting
 * when it was waiting for its VFs). Damaged entries are logged and skipped. */
void gstore_load(void (*adopt)(struct guest *g));

/* The MAC registry (empty when there is none yet); NULL when unreadable (logged). */
struct iov_macreg *gstore_macreg_load(void);
int gstore_macreg_save(const struct iov_macreg *reg, struct iov_err *err);

#endif
