#include "src/follow.h"
#include "src/offload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "config/check.h"
#include "config/plan.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "src/apply.h"
#include "src/drift.h"
#include "src/cdi.h"
#include "src/journal.h"
#include "vfio/bind.h"
#include "vfio/guard.h"

static struct iovd_follow_opts opts = { .state_dir = IOVD_DEFAULT_STATE_DIR,
					.cmdline_admin = (gid_t)-1 };
static struct iov_config *cur;
static char loaded_at[32];
static char last_error[1200];
static struct vl_server *server;

void iovd_follow_init(const struct iovd_follow_opts *o)
{
	opts = *o;
	if (!opts.state_dir)
		opts.state_dir = IOVD_DEFAULT_STATE_DIR;
}

static gid_t cur_gid = (gid_t)-1;

void iovd_follow_set_server(struct vl_server *s)
{
	server = s;
	if (s)
		vl_server_set_admin_gid(s, cur ? cur_gid : opts.cmdline_admin);
}
const char *iovd_state_dir(void) { return opts.state_dir; }
const struct iov_config *iovd_follow_config(void) { return cur; }
const char *iovd_follow_dropin_dir(void)
{
	if (opts.dropin_dir && !opts.dropin_dir[0])
		return NULL;
	return opts.dropin_dir ? opts.dropin_dir : IOV_CONFIG_DEFAULT_DROPIN;
}

int iovd_follow_check_dropin(const char *path, const char *buf, size_t len,
			     struct iov_err *err)
{
	struct iov_config *c = NULL;
	int r = iov_config_load_with(opts.config_path, opts.dropin_dir, path, buf, len, &c, err);

	iov_config_free(c);
	return r;
}

static int load(struct iov_config **c, gid_t *gid, struct iov_err *err)
{
	int r = iov_config_load(opts.config_path, opts.dropin_dir, c, err);
	bool unknown;

	if (r < 0)
		return r;
	*gid = opts.cmdline_admin;
	/* The same step as iovd --check and iovctl config check (config/check.c). */
	r = iov_config_admin_gid(*c, gid, &unknown, err);
	if (r < 0) {
		iov_config_free(*c);
		*c = NULL;
		return r;
	}
	if (unknown)
		log_warn("$.policy.admin_group '%s': %s/etc/group does not exist: no admin group",
			 (*c)->policy.admin_group, iov_sysroot());
	return 0;
}

static void adopt(struct iov_config *c, gid_t gid)
{
	time_t t = time(NULL);
	struct tm tm;
	bool unsafe = c->policy.allow_unsafe_interrupts < 0 ? opts.cmdline_unsafe
							    : c->policy.allow_unsafe_interrupts;

	iov_config_free(cur);
	cur = c;
	gmtime_r(&t, &tm);
	strftime(loaded_at, sizeof(loaded_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	last_error[0] = 0;
	iov_bind_set_unsafe_interrupts(unsafe);
	iovd_apply_set_unsafe_interrupts(unsafe);
	if (unsafe)
		log_warn("policy: allow_unsafe_interrupts is on (%s): devices may go to vfio-pci "
			 "without interrupt remapping", c->policy.allow_unsafe_interrupts < 0 ?
			 "command line" : "config");
	if (iov_guard_set_never_move(c->policy.never_move, c->policy.n_never_move) < 0)
		log_err("out of memory setting policy.never_move");
	cur_gid = gid;
	if (server)
		vl_server_set_admin_gid(server, gid);
	log_info("config in force: %s (%zu file%s, %zu PF%s)", c->n_files ? c->files[0] : "?",
		 c->n_files, c->n_files == 1 ? "" : "s", c->n_pfs, c->n_pfs == 1 ? "" : "s");
	iovd_cdi_schedule();	/* its pools' specs, once the apply that follows is done */
}

static json_t *files_json(const struct iov_config *c)
{
	json_t *a = json_array();

	for (size_t i = 0; c && i < c->n_files; i++)
		json_array_append_new(a, json_string(c->files[i]));
	return a;
}

int iovd_follow_reload(bool apply, bool dry_run, bool force, json_t **result,
		       bool *bad_config, struct iov_err *err)
{
	struct iov_config *c = NULL;
	gid_t gid;
	int r;

	*bad_config = false;
	if (result)
		*result = NULL;
	/* A GetStatus difference or a Plan on the worker reads cur and the policy globals
	 * adopt() sets (and calls getgrnam, as load() does): it finishes first. */
	iovd_offload_wait();
	if ((r = load(&c, &gid, err)) < 0) {
		*bad_config = true;
		snprintf(last_error, sizeof(last_error), "%s", err->msg);
		log_err("config not loaded%s: %s", cur ? " (the previous one stays in force)" : "",
			err->msg);
		return r;
	}
	if (!dry_run)
		adopt(c, gid);
	if (!apply) {
		if (result)
			*result = json_pack("{s:o, s:b}", "config", files_json(c), "applied", false);
		if (dry_run)
			iov_config_free(c);
		return 0;
	}
	r = iovd_apply_config(c, opts.state_dir, dry_run, force, result, err);
	if (result && *result)
		json_object_set_new(*result, "config", files_json(c));
	if (dry_run)
		iov_config_free(c);
	return r;
}

int iovd_follow_plan(bool force, json_t **plan, bool *bad_config, struct iov_err *err)
{
	struct iov_config *c = NULL;
	struct iov_cfg_plan *p = NULL;
	gid_t gid;
	int r;

	*bad_config = false;
	if ((r = load(&c, &gid, err)) < 0) {
		*bad_config = true;
		return r;
	}
	r = iovd_plan_live(c, force, &p, err);
	if (r == 0) {
		*plan = iov_cfg_plan_json(p);
		json_object_set_new(*plan, "config", files_json(c));
	}
	iov_cfg_plan_free(p);
	iov_config_free(c);
	return r;
}

json_t *iovd_follow_status_base(void)
{
	json_t *st = json_object(), *last = iovd_last_apply(opts.state_dir);

	if (cur)
		json_object_set_new(st, "config", json_pack("{s:o, s:s, s:i}", "files",
				    files_json(cur), "loaded", loaded_at, "pfs", (int)cur->n_pfs));
	else
		json_object_set_new(st, "config", json_null());
	json_object_set_new(st, "config_error", last_error[0] ? json_string(last_error)
							      : json_null());
	json_object_set_new(st, "state_dir", json_string(opts.state_dir));
	json_object_set_new(st, "last_apply", last ? last : json_null());
	json_object_set_new(st, "drift", iovd_drift_status());
	return st;
}

void iovd_follow_difference(json_t *st)
{
	struct iov_cfg_plan *p = NULL;
	struct iov_err e = { 0 };

	if (cur && iovd_plan_live(cur, false, &p, &e) == 0) {
		json_object_set_new(st, "difference", iov_cfg_plan_json(p));
		json_object_set_new(st, "difference_error", json_null());
	} else {
		json_object_set_new(st, "difference", json_null());
		json_object_set_new(st, "difference_error", cur ? json_string(e.msg) : json_null());
	}
	iov_cfg_plan_free(p);
}
