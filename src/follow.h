/* iovd follows the host config: the config in force, its (re)loading and the policy it
 * carries. At start iovd recovers an interrupted apply (src/apply.h), loads the config and
 * applies it (unless --no-apply); `iovctl reload` and SIGHUP re-read, plan and apply. A
 * config that does not load or validate is refused with its error and the previous one
 * stays in force.
 *
 * Policy from the config: allow_unsafe_interrupts (the command line's
 * --allow-unsafe-interrupts is the fallback when the config does not say), admin_group (the
 * command line's --group likewise), never_move (vfio/guard.h). */
#ifndef IOV_SRC_FOLLOW_H
#define IOV_SRC_FOLLOW_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

struct iov_err;
struct iov_config;
struct vl_server;

struct iovd_follow_opts {
	const char *config_path;	/* NULL: /etc/iovd/iovd.json */
	const char *dropin_dir;		/* NULL: next to the file (config/config.h); "": none */
	const char *state_dir;
	bool cmdline_unsafe;		/* --allow-unsafe-interrupts */
	gid_t cmdline_admin;		/* --group, or (gid_t)-1 */
};

void iovd_follow_init(const struct iovd_follow_opts *o);
void iovd_follow_set_server(struct vl_server *s);
const char *iovd_state_dir(void);
/* The config in force, or NULL before one was loaded. Valid until the next reload. */
const struct iov_config *iovd_follow_config(void);
/* Where drop-ins are read from (NULL: iovd reads none, --config without --config-dir). */
const char *iovd_follow_dropin_dir(void);
/* What the config files iovd follows would load to with one more drop-in, path with the
 * contents buf, not written yet: 0, or the loader's error (file and JSON path). */
int iovd_follow_check_dropin(const char *path, const char *buf, size_t len,
			     struct iov_err *err);

/* Re-reads the config. On success it becomes the config in force (policy applied) and,
 * if apply, it is applied (dry_run / force as given; a dry run adopts nothing). *result:
 * what iovd_apply_config returned, plus "config": [files]. On a load error the previous
 * config stays; err says why. */
int iovd_follow_reload(bool apply, bool dry_run, bool force, json_t **result,
		       bool *bad_config, struct iov_err *err);
/* Re-reads the config (not adopted) and plans it against the host: *plan (the plan JSON). */
int iovd_follow_plan(bool force, json_t **plan, bool *bad_config, struct iov_err *err);
/* GetStatus in two halves. The base: {"config": {"files": [...], "loaded": time, "pfs": N}
 * or null, "config_error": .., "last_apply": {...} or null, "drift": {...}} (cheap). The
 * difference sets "difference" (plan JSON or null) and "difference_error" in st: a plan of
 * the config in force against the host now, ~0.2 s on a 2,000-device host, so it may run on
 * the worker thread (src/offload.h): a config being put in force waits for the worker. */
json_t *iovd_follow_status_base(void);
void iovd_follow_difference(json_t *st);

#endif
