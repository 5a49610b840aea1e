/* The guest spec codec (config/guestspec.h). */
#include "config/guestspec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ldjson.h"
#include "sriov/vfconf.h"

#define MAX_TEXT 255			/* pool and device names of a NIC */

struct gs {
	struct ld *L;
	unsigned flags;
};

/* o's key, or NULL when absent (or null where null means absent). */
static json_t *get(const struct gs *G, const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v && json_is_null(v) && (G->flags & IOV_GSPEC_NULL_ABSENT) ? NULL : v;
}

/* A non-empty string of at most max bytes without control characters (a string that
 * reaches a log line or a terminal cannot forge lines there). */
static int get_text(struct gs *G, const json_t *v, const char *p, size_t max, const char *fix,
		    const char **out)
{
	const char *s;
	int r;

	if ((r = ld_get_str(G->L, v, p, fix, &s)) < 0)
		return r;
	if (strlen(s) > max)
		return ld_fail(G->L, p, -ENAMETOOLONG, fix, "%zu bytes; at most %zu", strlen(s), max);
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return ld_fail(G->L, p, -EINVAL, fix, "control character 0x%02x at byte %zu",
				       (unsigned)(unsigned char)*q, (size_t)(q - s));
	*out = s;
	return 0;
}

static int load_nic(struct gs *G, struct iov_cfg_nic *n, const json_t *o, const char *path)
{
	static const char *const keys[] = { "pool", "device", "mac", "vlan", NULL };
	const char *fix = "give a NIC either \"pool\": \"NAME\" (a VF drawn from a pool) or "
			  "\"device\": \"PF/vfN\" (or a PCI address), not both";
	struct ld *L = G->L;
	char p[256], msg[256];
	json_t *pool, *dev, *v;
	const char *s;
	int r;

	n->vlan = -1;
	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object",
			      "write each NIC as { \"pool\": \"tenants\" }")) < 0 ||
	    (r = ld_check_keys(L, o, path, keys, "a NIC")) < 0)
		return r;
	pool = get(G, o, "pool");
	dev = get(G, o, "device");
	if (!pool == !dev)
		return ld_fail(L, path, -EINVAL, fix, pool ? "both \"pool\" and \"device\" given" :
			       "neither \"pool\" nor \"device\" given");
	ld_path_key(p, sizeof(p), path, pool ? "pool" : "device");
	if ((r = get_text(G, pool ? pool : dev, p, MAX_TEXT, fix, &s)) < 0)
		return r;
	if (!(*(pool ? &n->pool : &n->device) = ld_xstrdup(L, s)))
		return -ENOMEM;
	if ((v = get(G, o, "mac"))) {
		const char *f2 = "give a unicast MAC like \"02:1e:00:00:00:01\"";

		ld_path_key(p, sizeof(p), path, "mac");
		if ((r = ld_get_str(L, v, p, f2, &s)) < 0)
			return r;
		if ((r = iov_parse_mac(s, n->mac, msg, sizeof(msg))) < 0 ||
		    (r = iov_check_vf_mac(n->mac, msg, sizeof(msg))) < 0)
			return ld_fail_parser(L, p, r, msg, f2);
		n->has_mac = true;
	}
	if ((v = get(G, o, "vlan"))) {
		json_int_t vl;

		ld_path_key(p, sizeof(p), path, "vlan");
		if ((r = ld_get_int(L, v, p, 0, 4095, "give a VLAN ID 0..4095 (0 = untagged)",
				    &vl)) < 0)
			return r;
		n->vlan = (int)vl;
	}
	return 0;
}

static int abs_path(struct gs *G, const json_t *v, const char *p, const char *what, char **out);

/* A disk: { "path": FILE, "readonly": B } (virtio-blk), or { "pool": NAME }: an NVMe VF
 * from a storage pool, the guest's own controller with its namespace. */
static int load_disk(struct gs *G, struct iov_cfg_disk *d, const json_t *o, const char *path)
{
	static const char *const keys[] = { "path", "readonly", "fd", "pool", NULL };
	static const char *const cfg[] = { "path", "readonly", "pool", NULL };
	const char *fix = "write each disk as { \"path\": \"/var/lib/iovd/images/root.img\", "
			  "\"readonly\": false } or, for an NVMe VF from a pool, { \"pool\": "
			  "\"NAME\" }";
	char p[256];
	json_t *v, *pool;
	const char *s;
	int r;

	if ((r = ld_want_type(G->L, o, path, JSON_OBJECT, "an object", fix)) < 0)
		return r;
	if ((r = ld_check_keys(G->L, o, path, G->flags & IOV_GSPEC_DISK_FD ? keys : cfg,
			       "a disk")) < 0)
		return r;
	if ((pool = get(G, o, "pool"))) {
		ld_path_key(p, sizeof(p), path, "pool");
		if ((r = get_text(G, pool, p, MAX_TEXT, fix, &s)) < 0)
			return r;
		if (!ld_name_ok(s))
			return ld_fail(G->L, p, -EINVAL, "name a pool from the config's \"pools\" "
				       "(1 to 32 of a-z 0-9 _ -)", "\"%.40s\" is not a pool name", s);
		if (get(G, o, "path") || get(G, o, "fd") || get(G, o, "readonly"))
			return ld_fail(G->L, path, -EINVAL, "give a pool disk only its \"pool\": "
				       "the guest gets the whole NVMe controller, which iovd cannot "
				       "make read-only", "a disk from pool \"%s\" with \"%s\"", s,
				       get(G, o, "readonly") ? "readonly" : get(G, o, "fd") ? "fd" :
				       "path");
		return (d->pool = ld_xstrdup(G->L, s)) ? 0 : -ENOMEM;
	}
	if (!(v = get(G, o, "path")) && !(G->flags & IOV_GSPEC_NO_PATHS))
		return ld_fail(G->L, path, -EINVAL, "add \"path\": \"/path/to/disk.img\" (or "
			       "\"pool\": \"NAME\" for an NVMe VF)", "a disk without a \"path\"");
	if (v) {
		ld_path_key(p, sizeof(p), path, "path");
		if ((r = abs_path(G, v, p, "disk image", &d->path)) < 0)
			return r;
	}
	if ((v = get(G, o, "readonly"))) {
		ld_path_key(p, sizeof(p), path, "readonly");
		if ((r = ld_get_bool(G->L, v, p, &d->readonly)) < 0)
			return r;
	}
	return 0;
}

static int abs_path(struct gs *G, const json_t *v, const char *p, const char *what, char **out)
{
	char fix[160];
	const char *s;
	int r;

	snprintf(fix, sizeof(fix), "give the %s as an absolute path, like \"/var/lib/iovd/"
		 "images/%s\"", what, strcmp(what, "kernel") == 0 ? "bzImage" : "initrd.img");
	if ((r = get_text(G, v, p, IOV_GUEST_MAX_PATH, fix, &s)) < 0)
		return r;
	if (s[0] != '/')
		return ld_fail(G->L, p, -EINVAL, fix, "\"%.60s\" is a relative path (iovd runs in /)",
			       s);
	return (*out = ld_xstrdup(G->L, s)) ? 0 : -ENOMEM;
}

static int load_restart(struct gs *G, const json_t *v, const char *p, enum iov_cfg_restart *out)
{
	const char *s, *fix = "write \"no\", \"on-failure\" or \"always\"";
	int r;

	if ((r = ld_get_str(G->L, v, p, fix, &s)) < 0)
		return r;
	for (int i = IOV_RESTART_NO; i <= IOV_RESTART_ALWAYS; i++)
		if (strcmp(s, iov_gspec_restart_name((enum iov_cfg_restart)i)) == 0) {
			*out = (enum iov_cfg_restart)i;
			return 0;
		}
	return ld_fail(G->L, p, -EINVAL, fix, "\"%.40s\" is not a restart policy", s);
}

static int load_guest(struct gs *G, struct iov_cfg_guest *g, const json_t *o, const char *path,
		      const char *const *extra)
{
	static const char *const base[] = { "name", "kernel", "initrd", "cmdline", "mem_mib",
					    "cpus", "nics", "autostart", "restart", "log_mib",
					    "disks", "hugepages" };
	const char *keys[sizeof(base) / sizeof(base[0]) + 16];
	struct ld *L = G->L;
	size_t nk = 0, i;
	char p[256];
	json_t *v, *e;
	json_int_t n;
	int r;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		if (strcmp(base[i], "autostart") != 0 || !(G->flags & IOV_GSPEC_NO_AUTOSTART))
			keys[nk++] = base[i];
	for (i = 0; extra && extra[i] && nk + 1 < sizeof(keys) / sizeof(keys[0]); i++)
		keys[nk++] = extra[i];
	keys[nk] = NULL;
	g->mem_mib = IOV_GUEST_DEF_MEM_MIB;
	g->cpus = IOV_GUEST_DEF_CPUS;
	g->restart = IOV_RESTART_NO;
	g->log_mib = IOV_GUEST_DEF_LOG_MIB;
	if ((r = ld_want_type(L, o, path, JSON_OBJECT, "an object", "write each guest as { "
			      "\"name\": \"vm1\", \"kernel\": \"/path/bzImage\" }")) < 0 ||
	    (r = ld_check_keys(L, o, path, keys, "a guest")) < 0)
		return r;
	if ((r = ld_get_name(L, o, path, "guest", &g->name)) < 0) {
		snprintf(L->key, sizeof(L->key), "name");
		return r;
	}
	if (!(v = get(G, o, "kernel")) && !(G->flags & IOV_GSPEC_NO_PATHS)) {
		r = ld_fail(L, path, -EINVAL, "add \"kernel\": \"/path/to/bzImage\"",
			    "guest \"%s\" has no \"kernel\"", g->name);
		snprintf(L->key, sizeof(L->key), "kernel");
		return r;
	}
	if (v) {
		ld_path_key(p, sizeof(p), path, "kernel");
		if ((r = abs_path(G, v, p, "kernel", &g->kernel)) < 0)
			return r;
	}
	if ((v = get(G, o, "initrd"))) {
		ld_path_key(p, sizeof(p), path, "initrd");
		if ((r = abs_path(G, v, p, "initrd", &g->initrd)) < 0)
			return r;
	}
	if ((v = get(G, o, "cmdline"))) {
		const char *s;

		ld_path_key(p, sizeof(p), path, "cmdline");
		if ((r = ld_want_type(L, v, p, JSON_STRING, "a string",
				      "write the kernel command line as one string")) < 0)
			return r;
		if (strlen(json_string_value(v)) > IOV_GUEST_MAX_CMDLINE)
			return ld_fail(L, p, -E2BIG, "shorten the command line", "%zu bytes; at "
				       "most %d", strlen(json_string_value(v)), IOV_GUEST_MAX_CMDLINE);
		if ((r = get_text(G, v, p, IOV_GUEST_MAX_CMDLINE, "write the kernel command line "
				  "as one line", &s)) < 0)
			return r;
		if (!(g->cmdline = ld_xstrdup(L, s)))
			return -ENOMEM;
	}
	if ((v = get(G, o, "mem_mib"))) {
		ld_path_key(p, sizeof(p), path, "mem_mib");
		if ((r = ld_get_int(L, v, p, 4, IOV_GUEST_MAX_MEM_MIB, "give guest RAM in MiB, an "
				    "even number from 4 to 1048576 (iovm maps it in 2 MiB pages)",
				    &n)) < 0)
			return r;
		if (n % 2)
			return ld_fail(L, p, -EINVAL, "give an even number of MiB (iovm maps guest "
				       "RAM in 2 MiB pages)", "%" JSON_INTEGER_FORMAT " MiB is not a "
				       "multiple of 2 MiB", n);
		g->mem_mib = (uint64_t)n;
	}
	if ((v = get(G, o, "cpus"))) {
		ld_path_key(p, sizeof(p), path, "cpus");
		if ((r = ld_get_int(L, v, p, 1, IOV_GUEST_MAX_CPUS, "give 1 to 64 vCPUs", &n)) < 0)
			return r;
		g->cpus = (unsigned)n;
	}
	if ((v = get(G, o, "log_mib"))) {
		ld_path_key(p, sizeof(p), path, "log_mib");
		if ((r = ld_get_int(L, v, p, 1, IOV_GUEST_MAX_LOG_MIB, "give the console log's size "
				    "in MiB, 1 to 1024 (two files of it are kept)", &n)) < 0)
			return r;
		g->log_mib = (unsigned)n;
	}
	if ((v = get(G, o, "hugepages"))) {
		ld_path_key(p, sizeof(p), path, "hugepages");
		if ((r = ld_get_bool(L, v, p, &g->hugepages)) < 0)
			return r;
	}
	if ((v = get(G, o, "autostart"))) {
		ld_path_key(p, sizeof(p), path, "autostart");
		if ((r = ld_get_bool(L, v, p, &g->autostart)) < 0)
			return r;
	}
	if ((v = get(G, o, "restart"))) {
		ld_path_key(p, sizeof(p), path, "restart");
		if ((r = load_restart(G, v, p, &g->restart)) < 0)
			return r;
	}
	if ((v = get(G, o, "disks"))) {
		const char *fix = "list the guest's disks: \"disks\": [ { \"path\": \"/...\" } ]";

		ld_path_key(p, sizeof(p), path, "disks");
		if ((r = ld_want_type(L, v, p, JSON_ARRAY, "an array", fix)) < 0)
			return r;
		if (json_array_size(v) > IOV_GUEST_MAX_DISKS)
			return ld_fail(L, p, -E2BIG, "give a guest at most 4 disks", "%zu disks",
				       json_array_size(v));
		if (!(g->disks = calloc(json_array_size(v) + 1, sizeof(*g->disks))))
			return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
		json_array_foreach(v, i, e) {
			char pe[256];

			ld_path_idx(pe, sizeof(pe), p, i);
			g->n_disks++;
			if ((r = load_disk(G, &g->disks[i], e, pe)) < 0)
				return r;
		}
	}
	if ((v = get(G, o, "nics"))) {
		const char *fix = "list the guest's NICs: \"nics\": [ { \"pool\": \"tenants\" } ]";

		ld_path_key(p, sizeof(p), path, "nics");
		if ((r = ld_want_type(L, v, p, JSON_ARRAY, "an array", fix)) < 0)
			return r;
		if (json_array_size(v) > IOV_GUEST_MAX_NICS)
			return ld_fail(L, p, -E2BIG, "give a guest at most 8 NICs (iovm's limit of "
				       "passed-through devices)", "%zu NICs", json_array_size(v));
		if (!(g->nics = calloc(json_array_size(v) + 1, sizeof(*g->nics))))
			return iov_err_set(L->err, -ENOMEM, NULL, "out of memory");
		json_array_foreach(v, i, e) {
			char pe[256];

			ld_path_idx(pe, sizeof(pe), p, i);
			g->n_nics++;
			if ((r = load_nic(G, &g->nics[i], e, pe)) < 0)
				return r;
		}
	}
	{
		size_t pooled = 0;

		for (i = 0; i < g->n_disks; i++)
			pooled += g->disks[i].pool != NULL;
		if (pooled && g->n_nics + pooled > IOV_GUEST_MAX_NICS)
			return ld_fail(L, path, -E2BIG, "give a guest at most 8 NICs and NVMe disks "
				       "together (iovm's limit of passed-through devices)", "%zu NICs "
				       "and %zu NVMe disks", g->n_nics, pooled);
	}
	return 0;
}

int iov_gspec_nic_from_json(const json_t *o, const struct iov_gspec_in *in,
			    struct iov_cfg_nic *out, struct iov_err *err)
{
	struct ld L = { .err = err, .file = in->file, .base = in->path };
	struct gs G = { .L = &L, .flags = in->flags };
	struct iov_cfg_nic n = { 0 };
	int r = load_nic(&G, &n, o, in->path);

	if (r < 0) {
		iov_gspec_nic_free(&n);
		return r;
	}
	*out = n;
	return 0;
}

void iov_gspec_nic_free(struct iov_cfg_nic *n)
{
	free(n->pool);
	free(n->device);
	n->pool = n->device = NULL;
}

int iov_gspec_from_json(const json_t *o, const struct iov_gspec_in *in,
			struct iov_cfg_guest *out, char *key, size_t keylen, struct iov_err *err)
{
	struct ld L = { .err = err, .file = in->file, .base = in->path };
	struct gs G = { .L = &L, .flags = in->flags };
	struct iov_cfg_guest g = { 0 };
	int r = load_guest(&G, &g, o, in->path, in->extra);

	if (r < 0) {
		if (key)
			snprintf(key, keylen, "%s", L.key);
		iov_gspec_free(&g);
		return r;
	}
	g.where = out->where;
	*out = g;
	return 0;
}

json_t *iov_gspec_to_json(const struct iov_cfg_guest *g)
{
	json_t *nics = json_array(), *j = json_object();
	int bad = !nics || !j;

	for (size_t i = 0; !bad && i < g->n_nics; i++) {
		const struct iov_cfg_nic *c = &g->nics[i];
		json_t *n = json_object();
		char m[18];

		bad |= !n || json_object_set_new(n, c->pool ? "pool" : "device",
						 json_string(c->pool ? c->pool : c->device));
		if (c->has_mac) {
			iov_fmt_mac(c->mac, m);
			bad |= json_object_set_new(n, "mac", json_string(m));
		}
		if (c->vlan >= 0)
			bad |= json_object_set_new(n, "vlan", json_integer(c->vlan));
		bad |= json_array_append_new(nics, n);
	}
	if (!bad) {
		bad |= json_object_set_new(j, "name", json_string(g->name));
		if (g->kernel)
			bad |= json_object_set_new(j, "kernel", json_string(g->kernel));
		if (g->initrd)
			bad |= json_object_set_new(j, "initrd", json_string(g->initrd));
		if (g->cmdline)
			bad |= json_object_set_new(j, "cmdline", json_string(g->cmdline));
		bad |= json_object_set_new(j, "mem_mib", json_integer((json_int_t)g->mem_mib));
		bad |= json_object_set_new(j, "cpus", json_integer(g->cpus));
		bad |= json_object_set_new(j, "nics", json_incref(nics));
		if (g->n_disks) {
			json_t *ds = json_array();

			for (size_t i = 0; ds && i < g->n_disks; i++)
				bad |= json_array_append_new(ds, g->disks[i].pool ?
					json_pack("{s:s}", "pool", g->disks[i].pool) :
					json_pack("{s:s?, s:b}", "path", g->disks[i].path,
						  "readonly", g->disks[i].readonly));
			bad |= !ds || json_object_set_new(j, "disks", ds);
		}
		if (g->log_mib != IOV_GUEST_DEF_LOG_MIB)
			bad |= json_object_set_new(j, "log_mib", json_integer(g->log_mib));
		if (g->hugepages)
			bad |= json_object_set_new(j, "hugepages", json_true());
		if (g->autostart)
			bad |= json_object_set_new(j, "autostart", json_true());
		bad |= json_object_set_new(j, "restart",
					   json_string(iov_gspec_restart_name(g->restart)));
	}
	json_decref(nics);
	if (bad) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static char *xdup(const char *s, bool *fail)
{
	char *d = s ? strdup(s) : NULL;

	*fail |= s && !d;
	return d;
}

int iov_gspec_copy(struct iov_cfg_guest *d, const struct iov_cfg_guest *s)
{
	bool fail = false;

	*d = *s;
	d->name = xdup(s->name, &fail);
	d->kernel = xdup(s->kernel, &fail);
	d->initrd = xdup(s->initrd, &fail);
	d->cmdline = xdup(s->cmdline, &fail);
	d->n_nics = 0;
	d->nics = calloc(s->n_nics + 1, sizeof(*d->nics));
	fail |= !d->nics;
	for (size_t i = 0; !fail && i < s->n_nics; i++) {
		d->nics[i] = s->nics[i];
		d->n_nics = i + 1;
		d->nics[i].pool = xdup(s->nics[i].pool, &fail);
		d->nics[i].device = xdup(s->nics[i].device, &fail);
	}
	d->n_disks = 0;
	d->disks = calloc(s->n_disks + 1, sizeof(*d->disks));
	fail |= !d->disks;
	for (size_t i = 0; !fail && i < s->n_disks; i++) {
		d->disks[i] = s->disks[i];
		d->n_disks = i + 1;
		d->disks[i].path = xdup(s->disks[i].path, &fail);
		d->disks[i].pool = xdup(s->disks[i].pool, &fail);
	}
	if (fail) {
		iov_gspec_free(d);
		return -ENOMEM;
	}
	return 0;
}

void iov_gspec_free(struct iov_cfg_guest *g)
{
	if (!g)
		return;
	free(g->name);
	free(g->kernel);
	free(g->initrd);
	free(g->cmdline);
	for (size_t i = 0; g->nics && i < g->n_nics; i++) {
		free(g->nics[i].pool);
		free(g->nics[i].device);
	}
	free(g->nics);
	for (size_t i = 0; g->disks && i < g->n_disks; i++) {
		free(g->disks[i].path);
		free(g->disks[i].pool);
	}
	free(g->disks);
	memset(g, 0, sizeof(*g));
}

bool iov_gspec_name_ok(const char *name)
{
	return name && ld_name_ok(name);
}

const char *iov_gspec_restart_name(enum iov_cfg_restart r)
{
	return r == IOV_RESTART_ALWAYS ? "always" : r == IOV_RESTART_ON_FAILURE ? "on-failure" :
		"no";
}
