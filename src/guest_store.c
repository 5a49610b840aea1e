/* The guest wing's records (src/guest_store.h). */
#include "src/guest_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "lib/atomicfile.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/pciaddr.h"
#include "src/offload.h"
#include "sriov/vfconf.h"

static struct {
	char dir[PATH_MAX];
	char user[64];
} T;

void gstore_init(const char *state_dir, const char *user)
{
	snprintf(T.dir, sizeof(T.dir), "%s", state_dir);
	snprintf(T.user, sizeof(T.user), "%s", user);
}

void gstore_path(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", T.dir, rel);
}

struct guest *gstore_guest_new(void)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (g) {
		g->pidfd = -1;
		g->exit_code = -1;
		g->numa_node = -1;
		g->kfd = g->ifd = -1;
		g->ctl_fd = -1;
		g->out.rfd = g->out.logfd = -1;
		g->w_pid = (struct gwatch){ GW_PID, g };
		g->w_out = (struct gwatch){ GW_OUT, g };
	}
	return g;
}

void gstore_guest_free(struct guest *g)
{
	if (!g)
		return;
	iov_gspec_free(&g->spec);
	for (size_t i = 0; i < IOV_GUEST_MAX_NICS; i++)
		free(g->nics[i].pool);
	if (g->kfd >= 0)
		close(g->kfd);
	if (g->ifd >= 0)
		close(g->ifd);
	glog_close(&g->out);
	for (size_t i = 0; i < g->n_dfd; i++)
		if (g->dfd[i] >= 0)
			close(g->dfd[i]);
	free(g);
}

/* ---- to JSON ---- */

static json_t *nic_json(const struct gnic *n, bool state)
{
	char mac[18];
	json_t *j;

	iov_fmt_mac(n->mac, mac);
	j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o}", "vf", n->vf, "pf", n->pf,
		      "pf_netdev", n->pfnet, "vf_index", n->vf_index, "group", n->group, "mac", mac,
		      "vlan", n->vlan >= 0 ? json_integer(n->vlan) : json_null());
	json_object_set_new(j, "pool", n->pool ? json_string(n->pool) : json_null());
	if (n->disk >= 0) {
		json_object_set_new(j, "disk", json_integer(n->disk));
		json_object_set_new(j, "namespace", json_integer((json_int_t)n->nsid));
		json_object_set_new(j, "on_release", json_string(n->wipe ? "format" : "keep"));
	}
	if (n->hot)
		json_object_set_new(j, "hotplug", json_true());
	if (state) {
		json_object_set_new(j, "bound_by_us", json_boolean(n->bound_by_us));
		if (n->attaching)
			json_object_set_new(j, "attaching", json_true());
		if (n->saved_known) {
			iov_fmt_mac(n->saved_mac, mac);
			json_object_set_new(j, "saved", json_pack("{s:s, s:i, s:i, s:i, s:i}", "mac",
				mac, "vlan", n->saved_vlan, "qos", n->saved_qos, "spoofchk",
				n->saved_spoofchk, "trust", n->saved_trust));
		}
	}
	return j;
}

static const char *state_name(enum gstate s)
{
	return s == G_RUNNING ? "running" : s == G_FAILED ? "failed" : s == G_DEGRADED ?
		"degraded" : "stopped";
}

/* The guests.json entry: the spec as the codec writes it (what a restart after
 * re-adoption starts again), the VFs held, and how to recognise iovm. */
static json_t *state_json(const struct guest *g, json_t *nics)
{
	json_t *j = json_pack("{s:s, s:o, s:o, s:i, s:I, s:I, s:i}", "name", g->spec.name,
			      "spec", iov_gspec_to_json(&g->spec), "nics", nics, "pid", (int)g->pid,
			      "start_time", (json_int_t)g->starttime, "started_at",
			      (json_int_t)g->started_at, "restarts", g->restarts);

	json_object_set_new(j, "numa_node", g->numa_node >= 0 ? json_integer(g->numa_node) :
			    json_null());
	if (g->starting)
		json_object_set_new(j, "starting", json_true());
	if (g->waiting) {
		json_object_set_new(j, "waiting", json_true());
		json_object_set_new(j, "last_exit", json_string(g->exit_reason));
	}
	if (g->files_passed)
		json_object_set_new(j, "files_passed_by", json_integer(g->files_by));
	if (g->own_uid) {
		json_object_set_new(j, "uid", json_integer(g->uid));
		json_object_set_new(j, "gid", json_integer(g->gid));
	}
	return j;
}

json_t *gstore_guest_json(const struct guest *g, bool state)
{
	json_t *nics = json_array(), *j;

	for (size_t i = 0; i < g->n_nics; i++)
		if (state || g->nics[i].disk < 0)
			json_array_append_new(nics, nic_json(&g->nics[i], state));
	if (state)
		return state_json(g, nics);
	j = json_pack("{s:s, s:s?, s:s?, s:s?, s:I, s:i, s:s, s:o}", "name", g->spec.name,
		      "kernel", g->spec.kernel, "initrd", g->spec.initrd, "cmdline", g->spec.cmdline,
		      "mem_mib", (json_int_t)g->spec.mem_mib, "cpus", (int)g->spec.cpus, "restart",
		      iov_gspec_restart_name(g->spec.restart), "nics", nics);
	json_object_set_new(j, "pid", g->state == G_RUNNING ? json_integer(g->pid) : json_null());
	json_object_set_new(j, "numa_node", g->state == G_RUNNING && g->numa_node >= 0 ?
			    json_integer(g->numa_node) : json_null());
	json_object_set_new(j, "state", json_string(g->state == G_RUNNING && g->stopping ?
						      "stopping" : state_name(g->state)));
	json_object_set_new(j, "files_passed_by", g->files_passed ? json_integer(g->files_by) :
			    json_null());
	{
		json_t *ds = json_array();

		for (size_t i = 0; i < g->spec.n_disks; i++) {
			const struct gnic *vf = NULL;

			if (!g->spec.disks[i].pool) {
				json_array_append_new(ds, json_pack("{s:s?, s:b}", "path",
					g->spec.disks[i].path, "readonly", g->spec.disks[i].readonly));
				continue;
			}
			/* An NVMe VF from a pool: the VF and namespace while it is held. */
			for (size_t k = 0; g->state == G_RUNNING && k < g->n_nics; k++)
				if (g->nics[k].disk == (int)i)
					vf = &g->nics[k];
			json_array_append_new(ds, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "pool",
				g->spec.disks[i].pool, "vf", vf ? json_string(vf->vf) : json_null(),
				"pf", vf ? json_string(vf->pf) : json_null(), "vf_index",
				vf ? json_integer(vf->vf_index) : json_null(), "namespace",
				vf ? json_integer((json_int_t)vf->nsid) : json_null(), "on_release",
				vf ? json_string(vf->wipe ? "format" : "keep") : json_null()));
		}
		json_object_set_new(j, "disks", ds);
	}
	json_object_set_new(j, "hugepages", json_boolean(g->spec.hugepages));
	if (g->own_uid) {
		char u[32];

		snprintf(u, sizeof(u), "%u:%u", (unsigned)g->uid, (unsigned)g->gid);
		json_object_set_new(j, "user", json_string(u));
	} else {
		json_object_set_new(j, "user", json_string(T.user));
	}
	json_object_set_new(j, "log", json_string(g->log));
	json_object_set_new(j, "adopted", json_boolean(g->adopted));
	json_object_set_new(j, "waiting_for_vfs", json_boolean(g->waiting));
	if (g->waiting && g->wait_error[0])
		json_object_set_new(j, "not_restarted_because", json_string(g->wait_error));
	json_object_set_new(j, "restarts", json_integer(g->restarts));
	if (g->started_at) {
		char ts[32];
		struct tm tm;

		gmtime_r(&g->started_at, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(j, "started", json_string(ts));
	}
	json_object_set_new(j, "last_exit", g->exit_reason[0] ? json_string(g->exit_reason)
						       : json_null());
	{
		json_t *irqs = json_array();

		for (size_t i = 0; g->state == G_RUNNING && i < g->n_irqs; i++)
			json_array_append_new(irqs, json_pack("{s:i, s:s, s:s}", "irq", g->irqs[i].irq,
				"name", g->irqs[i].name, "cpus", g->irq_cpus[i]));
		json_object_set_new(j, "irqs", irqs);
		json_object_set_new(j, "cpus_allowed", g->state == G_RUNNING && g->cpus_now[0] ?
				    json_string(g->cpus_now) : json_null());
	}
	return j;
}

/* guests.json is written on the worker thread (src/offload.h): its fsyncs (tens of ms, over
 * 100 ms on a busy disk) never hold the loop. Saves coalesce: the loop leaves the newest text
 * in `next` and queues a job only when none is queued; the job writes whatever is newest
 * when it runs. So the file always ends with the last state, one write at a time, and a
 * burst of changes costs one or two writes, not one each. At exit iovd waits for the write
 * in flight (iovd_guests_shutdown). */
static struct vl_server *save_srv;
static struct {
	pthread_mutex_t lock;
	pthread_mutex_t write;		/* held while a text is taken and written */
	char *next;			/* the newest text not yet taken by a job */
	bool queued;			/* a job is queued that will take it */
} SV = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, NULL, false };

struct save_job {
	char path[PATH_MAX];
	int r;
	struct iov_err e;
};

static void save_work(void *ud)
{
	struct save_job *j = ud;
	char *s;

	pthread_mutex_lock(&SV.write);
	pthread_mutex_lock(&SV.lock);
	s = SV.next;
	SV.next = NULL;
	SV.queued = false;
	pthread_mutex_unlock(&SV.lock);
	if (s)
		j->r = iov_write_atomic(j->path, s, strlen(s), 0600, "guest state", &j->e);
	pthread_mutex_unlock(&SV.write);
	free(s);
}

static void save_done(void *ud)
{
	struct save_job *j = ud;

	if (j->r < 0)
		log_err("%s", j->e.msg);
	free(j);
}

void gstore_set_loop(struct vl_server *srv)
{
	save_srv = srv;
}

/* Hands s (owned) to the worker; false when it must be written here. */
static bool save_later(const char *path, char *s)
{
	struct save_job *j;
	bool queue;

	if (!save_srv)
		return false;
	pthread_mutex_lock(&SV.lock);
	free(SV.next);
	SV.next = s;
	queue = !SV.queued;
	SV.queued = true;
	pthread_mutex_unlock(&SV.lock);
	if (queue) {
		if (!(j = calloc(1, sizeof(*j)))) {
			/* No job was queued, so nothing took s: the caller writes it. */
			pthread_mutex_lock(&SV.lock);
			SV.queued = false;
			SV.next = NULL;
			pthread_mutex_unlock(&SV.lock);
			return false;
		}
		snprintf(j->path, sizeof(j->path), "%s", path);
		iovd_offload(save_srv, save_work, save_done, j);
	}
	return true;
}

static bool kept(const struct guest *g)
{
	return g->state == G_RUNNING || g->waiting || g->starting;
}

static char *state_text(const struct guest *list, const struct guest *extra)
{
	json_t *gs = json_array(), *doc;
	char *s;

	if (extra && kept(extra))
		json_array_append_new(gs, gstore_guest_json(extra, true));
	for (const struct guest *g = list; g; g = g->next)
		if (g != extra && kept(g))
			json_array_append_new(gs, gstore_guest_json(g, true));
	doc = json_pack("{s:i, s:o, s:o}", "version", 1, "guests", gs, "quarantine",
			gvf_quarantine_json(true));
	s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	return s;
}

void gstore_save(const struct guest *list)
{
	gstore_save_with(list, NULL);
}

void gstore_save_with(const struct guest *list, const struct guest *extra)
{
	struct iov_err e = { 0 };
	char path[PATH_MAX], *s = state_text(list, extra);

	gstore_path(path, sizeof(path), "guests.json");
	if (s && save_later(path, s))
		return;
	if (!s || iov_write_atomic(path, s, strlen(s), 0600, "guest state", &e) < 0)
		log_err("%s", s ? e.msg : "out of memory saving guest state");
	free(s);
}

void gstore_save_now(const struct guest *list, const struct guest *extra)
{
	struct iov_err e = { 0 };
	char path[PATH_MAX], *s = state_text(list, extra);

	gstore_path(path, sizeof(path), "guests.json");
	/* A queued job's older text is dropped: this one is newer, and no job writes after
	 * this one with anything older (SV.write orders the writes). */
	pthread_mutex_lock(&SV.write);
	pthread_mutex_lock(&SV.lock);
	free(SV.next);
	SV.next = NULL;
	pthread_mutex_unlock(&SV.lock);
	if (!s || iov_write_atomic(path, s, strlen(s), 0600, "guest state", &e) < 0)
		log_err("%s", s ? e.msg : "out of memory saving guest state");
	pthread_mutex_unlock(&SV.write);
	free(s);
}

/* ---- from JSON ---- */

/* An integer member in lo..hi; false when absent or out of range. */
static bool int_in(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool pci_addr_ok(const char *s)
{
	struct iov_pci_addr a;

	return s && strlen(s) < IOV_PCI_ADDR_STRLEN && iov_pci_addr_parse(s, &a) == 0;
}

/* A NIC held, checked as the API checks names: a VF and PF that are PCI addresses (they
 * name sysfs paths iovd writes), a netdev name the kernel would allow, a pool name. */
static int nic_from_json(json_t *j, struct gnic *n, char *why, size_t len)
{
	const char *vf = json_string_value(json_object_get(j, "vf"));
	const char *pf = json_string_value(json_object_get(j, "pf"));
	const char *net = json_string_value(json_object_get(j, "pf_netdev"));
	const char *mac = json_string_value(json_object_get(j, "mac"));
	const char *pool = json_string_value(json_object_get(j, "pool"));
	json_t *sv = json_object_get(j, "saved");
	json_int_t x;
	char e[64];

	if (!pci_addr_ok(vf) || !pci_addr_ok(pf))
		return snprintf(why, len, "vf or pf is not a PCI address"), -EINVAL;
	n->disk = int_in(j, "disk", 0, IOV_GUEST_MAX_DISKS - 1, &x) ? (int)x : -1;
	if (n->disk >= 0) {
		/* An NVMe VF of a pool disk: no netdev; its namespace and release action. */
		if (!int_in(j, "namespace", 1, 0xfffffffe, &x))
			return snprintf(why, len, "namespace is not 1..4294967294"), -EINVAL;
		n->nsid = (uint32_t)x;
		n->wipe = json_is_string(json_object_get(j, "on_release")) &&
			  !strcmp(json_string_value(json_object_get(j, "on_release")), "format");
		net = net && !*net ? net : NULL;
		if (!net)
			return snprintf(why, len, "pf_netdev of a disk VF is not \"\""), -EINVAL;
	} else if (!net || !iov_cfg_ifname_ok(net))
		return snprintf(why, len, "pf_netdev is not a netdev name"), -EINVAL;
	if (!mac || iov_parse_mac(mac, n->mac, e, sizeof(e)) < 0)
		return snprintf(why, len, "mac: %s", mac ? e : "missing"), -EINVAL;
	if (pool && !iov_gspec_name_ok(pool))
		return snprintf(why, len, "pool is not a pool name"), -EINVAL;
	snprintf(n->vf, sizeof(n->vf), "%s", vf);
	snprintf(n->pf, sizeof(n->pf), "%s", pf);
	snprintf(n->pfnet, sizeof(n->pfnet), "%s", net);
	if (!int_in(j, "vf_index", 0, 65535, &x))
		return snprintf(why, len, "vf_index is not 0..65535"), -EINVAL;
	n->vf_index = (int)x;
	n->group = int_in(j, "group", 0, INT_MAX, &x) ? (int)x : -1;
	n->vlan = int_in(j, "vlan", 0, 4095, &x) ? (int)x : -1;
	if (pool && !(n->pool = strdup(pool)))
		return snprintf(why, len, "out of memory"), -ENOMEM;
	n->bound_by_us = json_is_true(json_object_get(j, "bound_by_us"));
	n->hot = json_is_true(json_object_get(j, "hotplug"));
	n->attaching = json_is_true(json_object_get(j, "attaching"));
	if (json_is_object(sv) && json_is_string(json_object_get(sv, "mac")) &&
	    iov_parse_mac(json_string_value(json_object_get(sv, "mac")), n->saved_mac, e,
			  sizeof(e)) == 0) {
		n->saved_known = true;
		n->saved_vlan = int_in(sv, "vlan", 0, 4095, &x) ? (int)x : 0;
		n->saved_qos = int_in(sv, "qos", 0, 7, &x) ? (int)x : 0;
		n->saved_spoofchk = int_in(sv, "spoofchk", 0, 1, &x) ? (int)x : IOV_UNKNOWN;
		n->saved_trust = int_in(sv, "trust", 0, 1, &x) ? (int)x : IOV_UNKNOWN;
	}
	return 0;
}

/* The spec of an entry an iovd before the codec wrote: name, kernel, ... at the top and
 * the NICs asked for under "want" (vlan -1: none). */
static json_t *legacy_spec(json_t *j)
{
	static const char *const keys[] = { "name", "kernel", "initrd", "cmdline", "mem_mib",
					    "cpus", "restart" };
	json_t *s = json_object(), *nics = json_array(), *v;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_object_get(j, keys[i])) && !json_is_null(v))
			json_object_set(s, keys[i], v);
	json_array_foreach(json_object_get(j, "want"), i, v) {
		json_t *n = json_object();
		const char *k;
		json_t *x;

		json_object_foreach(v, k, x)
			if (!json_is_null(x) && !(strcmp(k, "vlan") == 0 && json_is_integer(x) &&
						  json_integer_value(x) < 0))
				json_object_set(n, k, x);
		json_array_append_new(nics, n);
	}
	json_object_set_new(s, "nics", nics);
	return s;
}

static struct guest *guest_from_json(json_t *j, const char *file, const char *path,
				     char *why, size_t len)
{
	struct guest *g = gstore_guest_new();
	json_t *spec = json_object_get(j, "spec"), *nics = json_object_get(j, "nics"), *v;
	json_t *legacy = NULL;
	struct iov_err e = { 0 };
	char sp[96];
	json_int_t x;
	size_t i;

	if (!g)
		return snprintf(why, len, "out of memory"), NULL;
	if (!spec)
		spec = legacy = legacy_spec(j);
	snprintf(sp, sizeof(sp), "%s.spec", path);
	/* A guest whose files were passed may have no names for them. */
	if (iov_gspec_from_json(spec, &(struct iov_gspec_in){ .file = file, .path = sp,
							     .flags = IOV_GSPEC_NO_PATHS },
				&g->spec, NULL, 0, &e) < 0) {
		snprintf(why, len, "%s", e.msg);
		goto bad;
	}
	if (!json_is_array(nics) || json_array_size(nics) > IOV_GUEST_MAX_NICS) {
		snprintf(why, len, "nics: not an array of at most %d", IOV_GUEST_MAX_NICS);
		goto bad;
	}
	json_array_foreach(nics, i, v) {
		char nw[128];

		if (nic_from_json(v, &g->nics[g->n_nics++], nw, sizeof(nw)) < 0) {
			snprintf(why, len, "nics[%zu]: %s", i, nw);
			goto bad;
		}
	}
	g->waiting = json_is_true(json_object_get(j, "waiting"));
	g->starting = !g->waiting && json_is_true(json_object_get(j, "starting"));
	/* The files were a client's fds: its names for them are never opened. */
	if (int_in(j, "files_passed_by", 0, UINT32_MAX, &x)) {
		g->files_passed = true;
		g->files_by = (uid_t)x;
	}
	/* Adoption needs the process and its start time (the pid alone may be reused). */
	if (!g->waiting && !g->starting && (!int_in(j, "pid", 2, INT_MAX, &x) ||
			    !int_in(j, "start_time", 1, INT64_MAX, &x))) {
		snprintf(why, len, "no pid and start_time to recognise iovm by");
		goto bad;
	}
	/* A guest with a uid of its own (policy.guest_uids) is adopted only under it; never
	 * root's. */
	if (json_object_get(j, "uid") || json_object_get(j, "gid")) {
		json_int_t gx;

		if (!int_in(j, "uid", 1, INT32_MAX - 1, &x) || !int_in(j, "gid", 1, INT32_MAX - 1, &gx)) {
			snprintf(why, len, "uid, gid: not both a uid above 0");
			goto bad;
		}
		g->own_uid = true;
		g->uid = (uid_t)x;
		g->gid = (gid_t)gx;
	}
	g->pid = int_in(j, "pid", 2, INT_MAX, &x) ? (pid_t)x : 0;
	g->starttime = int_in(j, "start_time", 1, INT64_MAX, &x) ? (unsigned long long)x : 0;
	g->started_at = int_in(j, "started_at", 0, INT64_MAX, &x) ? (time_t)x : 0;
	g->restarts = int_in(j, "restarts", 0, INT_MAX, &x) ? (int)x : 0;
	g->numa_node = int_in(j, "numa_node", 0, 1023, &x) ? (int)x : -1;
	if (g->waiting) {
		const char *le = json_string_value(json_object_get(j, "last_exit"));

		snprintf(g->exit_reason, sizeof(g->exit_reason), "%s", le ? le : "degraded");
	}
	json_decref(legacy);
	return g;
bad:
	json_decref(legacy);
	gstore_guest_free(g);
	return NULL;
}

void gstore_load(void (*adopt)(struct guest *g))
{
	char path[PATH_MAX], *buf = NULL;
	json_t *doc, *v;
	size_t len, i;
	int r;

	gstore_path(path, sizeof(path), "guests.json");
	if ((r = iov_read_file(path, 16 << 20, &buf, &len)) < 0) {
		if (r != -ENOENT)
			log_err_errno(r, "%s: cannot read guest state", path);
		return;
	}
	doc = json_loadb(buf, len, 0, NULL);
	free(buf);
	if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "version")) != 1) {
		log_err("%s: not a guest state file iovd wrote; move it away (guests recorded there "
			"are not re-adopted)", path);
		json_decref(doc);
		return;
	}
	json_array_foreach(json_object_get(doc, "quarantine"), i, v) {
		const char *vf = json_string_value(json_object_get(v, "vf"));
		const char *why = json_string_value(json_object_get(v, "reason"));
		const char *guest = json_string_value(json_object_get(v, "guest"));

		if (pci_addr_ok(vf) && why && (!guest || iov_gspec_name_ok(guest)))
			gvf_quarantine(vf, guest, why);
		else
			log_err("%s: $.quarantine[%zu] is damaged (vf not a PCI address, no reason or "
				"a bad guest name); skipped", path, i);
	}
	json_array_foreach(json_object_get(doc, "guests"), i, v) {
		char p[64], why[600];
		struct guest *g;

		snprintf(p, sizeof(p), "$.guests[%zu]", i);
		if (!(g = guest_from_json(v, path, p, why, sizeof(why)))) {
			log_err("%s: %s is damaged (%s); skipped", path, p, why);
			continue;
		}
		snprintf(g->log, sizeof(g->log), "%s/guests/%s.log", T.dir, g->spec.name);
		g->state = g->waiting ? G_DEGRADED : G_RUNNING;
		adopt(g);
	}
	json_decref(doc);
}

/* ---- the MAC registry ---- */

struct iov_macreg *gstore_macreg_load(void)
{
	char path[PATH_MAX], *buf = NULL;
	struct iov_macreg *reg = NULL;
	struct iov_err e = { 0 };
	json_t *j;
	size_t len;
	int r;

	gstore_path(path, sizeof(path), "macs.json");
	r = iov_read_file(path, 1 << 20, &buf, &len);
	if (r == -ENOENT)
		return iov_macreg_new();
	if (r < 0) {
		log_err_errno(r, "%s: cannot read the MAC registry", path);
		return NULL;
	}
	j = json_loadb(buf, len, 0, NULL);
	free(buf);
	if ((r = iov_macreg_from_json(j, &reg, &e)) < 0) {
		log_err("%s: %s (%s)", path, e.msg, e.fix);
		reg = NULL;
	} else if (r > 0) {
		log_err("%s: %d entr%s not as iovd writes them: %s", path, r, r == 1 ? "y" : "ies",
			e.msg);
	}
	json_decref(j);
	return reg;
}

int gstore_macreg_save(const struct iov_macreg *reg, struct iov_err *err)
{
	char path[PATH_MAX], *s;
	json_t *j = iov_macreg_to_json(reg);
	int r;

	s = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	if (!s)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	gstore_path(path, sizeof(path), "macs.json");
	r = iov_write_atomic(path, s, strlen(s), 0644, "MAC registry", err);
	free(s);
	return r;
}
