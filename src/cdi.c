/* CDI specs of the config's pools, kept in step with the config and the host: src/cdi.h. */
#include "src/cdi.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config/config.h"
#include "config/export.h"
#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "src/events.h"
#include "src/follow.h"

static struct {
	char *dir;		/* NULL: off */
	int timer;		/* coalesces bursts of events into one sync */
} C = { .timer = -1 };

/* Removes every iovd.io-*.json in the directory that no pool of c has. */
static void remove_stale(const struct iov_config *c)
{
	size_t plen = strlen(IOV_CDI_VENDOR "-");
	DIR *d = opendir(C.dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		bool keep = false;
		char path[4096];

		if (n <= plen + 5 || strncmp(e->d_name, IOV_CDI_VENDOR "-", plen) != 0 ||
		    strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		for (size_t i = 0; c && i < c->n_pools && !keep; i++)
			keep = strlen(c->pools[i].name) == n - plen - 5 &&
			       strncmp(e->d_name + plen, c->pools[i].name, n - plen - 5) == 0;
		if (keep)
			continue;
		snprintf(path, sizeof(path), "%s/%s", C.dir, e->d_name);
		if (unlink(path) == 0)
			log_info("CDI: removed %s (its pool left the config)", path);
		else if (errno != ENOENT)
			log_warn_errno(-errno, "CDI: cannot remove %s", path);
	}
	closedir(d);
}

/* Writes one pool's spec if it differs from the file. */
static int write_spec(const struct iov_cfg_resolved *r, size_t pool)
{
	const char *name = r->cfg->pools[pool].name;
	struct iov_err err = { 0 };
	char fname[96], path[4096], *txt = NULL, *old = NULL;
	json_t *spec, *skipped;
	size_t len = 0;
	int n, ret;

	n = iov_export_cdi(r, pool, &spec, &skipped, &err);
	if (n < 0) {
		log_err("CDI: %s%s%s", err.msg, err.fix[0] ? "; " : "", err.fix);
		return n;
	}
	if (json_array_size(skipped))
		log_debug("CDI: pool %s: %zu VFs not present yet", name, json_array_size(skipped));
	json_decref(skipped);
	txt = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(spec);
	if (!txt)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", C.dir, iov_export_cdi_filename(name, fname, sizeof(fname)));
	len = strlen(txt);
	ret = 0;
	if (iov_read_file(path, 1 << 24, &old, NULL) == 0 && strcmp(old, txt) == 0)
		goto out;	/* unchanged: no rewrite, so watchers see nothing */
	ret = iov_write_atomic(path, txt, len, 0644, "CDI spec", &err);
	if (ret < 0)
		log_err("%s", err.msg);
	else
		log_info("CDI: wrote %s (pool %s, %d devices)", path, name, n);
out:
	free(old);
	free(txt);
	return ret;
}

int iovd_cdi_sync(void)
{
	const struct iov_config *c = iovd_follow_config();
	struct iov_host *h = NULL;
	struct iov_cfg_resolved *r = NULL;
	struct iov_err err = { 0 };
	int ret, first = 0;

	if (!C.dir)
		return 0;
	if (!c || !c->n_pools) {
		remove_stale(c);	/* no pools in force: no specs */
		return 0;
	}
	ret = iov_host_load(&h);
	if (ret < 0) {
		log_err_errno(ret, "CDI: specs left as they are: cannot read the host");
		return ret;
	}
	ret = iov_config_resolve(c, h, &r, &err);
	if (ret < 0) {
		log_err("CDI: specs left as they are: %s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < c->n_pools; i++) {
		int r2 = write_spec(r, i);

		if (r2 < 0 && !first)
			first = r2;
	}
	remove_stale(c);
	ret = first;
out:
	iov_cfg_resolved_free(r);
	iov_host_free(h);
	return ret;
}

void iovd_cdi_schedule(void)
{
	struct itimerspec its = { .it_value = { .tv_nsec = 200 * 1000 * 1000 } };

	if (!C.dir || C.timer < 0)
		return;
	if (timerfd_settime(C.timer, 0, &its, NULL) < 0)
		iovd_cdi_sync();
}

static void on_timer(int fd, void *ud)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	iovd_cdi_sync();
}

/* Changes that can change a pool's devices: VFs come and go, drivers move, applies end. */
static void on_event(const json_t *ev, void *ud)
{
	static const char *const types[] = { "device.added", "device.removed", "driver.changed",
					     "apply.finished", "apply.recovered", NULL };
	const char *t = json_string_value(json_object_get(ev, "type"));

	for (size_t i = 0; t && types[i]; i++)
		if (strcmp(t, types[i]) == 0) {
			iovd_cdi_schedule();
			return;
		}
}

int iovd_cdi_init(const char *dir)
{
	char buf[4096];

	/* Under --sysroot the specs belong to the tree, never to this machine's runtimes. */
	if (!dir) {
		snprintf(buf, sizeof(buf), "%s%s", iov_sysroot(),
			 iov_sysroot()[0] ? "/run/cdi" : IOV_CDI_DEFAULT_DIR);
		dir = buf;
	}
	if (!*dir)
		return 0;
	free(C.dir);
	C.dir = strdup(dir);
	return C.dir ? 0 : -ENOMEM;
}

int iovd_cdi_watch(struct vl_server *srv)
{
	if (!C.dir)
		return 0;
	C.timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (C.timer < 0)
		return -errno;
	if (vl_server_watch(srv, C.timer, on_timer, NULL) < 0 ||
	    iovd_event_subscribe(on_event, NULL) < 0)
		return -ENOMEM;
	vl_server_watch_name(srv, C.timer, "CDI specs sync");
	return 0;
}
