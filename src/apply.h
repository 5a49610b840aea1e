/* The apply executor: runs a config plan (config/plan.h) step by step under the journal
 * (src/journal.h). Before each step it reads, from the live host, the value of everything
 * the step changes and journals it; after the step it journals that it is done. A failed
 * step rolls the whole apply back, newest first (the failing step included), and the error
 * says which step failed, why, and whether the roll-back completed. iovd_recover() does the
 * same for a transaction a crash left open: at start, before iovd serves requests.
 *
 * The host is reached through an operations table, so unit tests run the executor, the
 * roll-back and the recovery against a simulated host; iovd_apply_ops_sysfs is the real one
 * (sysfs under the sysroot, rtnetlink, vfio/bind.h). Events: apply.started, apply.step,
 * apply.finished, apply.failed, apply.recovered (src/events.h). */
#ifndef IOV_SRC_APPLY_H
#define IOV_SRC_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "sriov/vfconf.h"

struct iov_cfg_plan;
struct iov_err;

/* One VF as it is now. */
struct iovd_vf_now {
	bool exists;
	char dev[16];
	char driver[64];		/* "" none */
	char override[64];		/* "" unset */
	struct iov_vfconf props;	/* props.set: the fields the kernel reported */
};

/* One NVMe secondary controller as it is now (sriov/nvme.h), and whether namespace nsid
 * (when asked for) is attached to it. */
struct iovd_nvme_now {
	bool exists;
	bool online;
	unsigned nvq, nvi;
	bool attached;
};

struct iovd_apply_ops {
	int (*pf_get)(void *ctx, const char *pf, int *numvfs, int *autoprobe);
	/* Sets the VF count (through 0 when both are non-zero) and waits for the VFs. */
	int (*numvfs_set)(void *ctx, const char *pf, int n, struct iov_err *err);
	int (*autoprobe_set)(void *ctx, const char *pf, int v, struct iov_err *err);
	/* exists false (and 0) when the PF has no such VF now. */
	int (*vf_get)(void *ctx, const char *pf, const char *netdev, int vf,
		      struct iovd_vf_now *out);
	int (*vf_props_set)(void *ctx, const char *netdev, int vf, const struct iov_vfconf *c,
			    struct iov_err *err);
	/* exact NULL: to want (VFIO, HOST, NONE). exact set: back to exactly that driver and
	 * driver_override (roll-back). */
	int (*vf_driver_set)(void *ctx, const char *pf, int vf, enum iov_cfg_driver want,
			     const struct iovd_vf_now *exact, struct iov_err *err);
	/* NVMe PFs: controller scid of PF pf now (nsid 0: attached not asked). */
	int (*nvme_get)(void *ctx, const char *pf, unsigned scid, uint32_t nsid,
			struct iovd_nvme_now *out);
	/* Virtualization Management: act 7 offline, 8 assign (rt, nr), 9 online. */
	int (*nvme_virt)(void *ctx, const char *pf, unsigned scid, int act, int rt, unsigned nr,
			 struct iov_err *err);
	/* Namespace Attachment of nsid to controller scid (attach or detach). */
	int (*nvme_ns)(void *ctx, const char *pf, uint32_t nsid, unsigned scid, bool attach,
		       struct iov_err *err);
	void *ctx;
};

extern const struct iovd_apply_ops iovd_apply_ops_sysfs;

struct iovd_apply_report {
	uint64_t txn;
	size_t steps, done;
	int failed_step;		/* -1 none */
	bool rolled_back, rollback_ok;
	char error[900];
};

/* Runs p (n > 0) as transaction txn in state_dir. header: extra fields for the begin record
 * (stolen; may be NULL). Also writes STATE/last-apply.json. 0 applied; -errno failed (rolled
 * back, rep says how far; err names the step). -ECANCELED: the test fault switch stopped it
 * (nothing rolled back, as after a crash). */
int iovd_apply_exec(const struct iov_cfg_plan *p, const char *state_dir, uint64_t txn,
		    const struct iovd_apply_ops *ops, json_t *header,
		    struct iovd_apply_report *rep, struct iov_err *err);

/* Finishes what a crash left: if the journal's last transaction has no end record, undoes
 * its started steps newest first and ends it. 0 nothing to do, 1 recovered (*report, if
 * non-NULL, says what), -errno when a step could not be undone (logged; the journal stays
 * open so the next start tries again). */
int iovd_recover(const char *state_dir, const struct iovd_apply_ops *ops, json_t **report,
		 struct iov_err *err);

/* The next transaction number (last one in the journal + 1; 1 without a journal). */
uint64_t iovd_next_txn(const char *state_dir);

/* The last apply's summary (STATE/last-apply.json), or NULL. */
json_t *iovd_last_apply(const char *state_dir);

/* The whole pipeline on the live host: load the host model, usage and bind records, resolve
 * the config, read VF settings, plan. *plan_out: the plan (caller frees). */
struct iov_cfg_plan;
int iovd_plan_live(const struct iov_config *cfg, bool force, struct iov_cfg_plan **plan_out,
		   struct iov_err *err);
/* Plan, then (unless dry_run or the plan is empty) execute. *result: {"plan": {...},
 * "applied": bool, "txn": N, "result": "ok"|"failed"|"nothing to do", "error": ..}. */
int iovd_apply_config(const struct iov_config *cfg, const char *state_dir, bool dry_run,
		      bool force, json_t **result, struct iov_err *err);
/* How long a VF count change waits for the VF devices (default 5000 ms); tests shorten it. */
void iovd_apply_set_wait_ms(unsigned ms);
/* The host policy the planner passes on (vfio/bind.h's unsafe-interrupts switch). */
void iovd_apply_set_unsafe_interrupts(bool allow);

#endif
