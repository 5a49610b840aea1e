#include "src/guest.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mempolicy.h>
#include <linux/vfio.h>
#include <seccomp.h>

#include "config/alloc.h"
#include "irq/place.h"
#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "sriov/vfconf.h"
#include "sriov/vfinfo.h"
#include "src/events.h"
#include "src/follow.h"
#include "vfio/bind.h"
#include "vfio/guard.h"

#define MAX_NICS 8
#define RESTART_BURST 5		/* restarts allowed ... */
#define RESTART_WINDOW 60	/* ... within this many seconds */

struct gnic {
	char vf[IOV_PCI_ADDR_STRLEN];
	char pf[IOV_PCI_ADDR_STRLEN];
	char pfnet[64];
	int vf_index, group;
	char *pool;			/* NULL: named explicitly */
	uint8_t mac[6];
	int vlan;			/* -1: none */
	bool bound_by_us;		/* iovd moved it to vfio-pci for this guest */
	bool saved_known;		/* the admin settings before the guest */
	uint8_t saved_mac[6];
	int saved_vlan, saved_qos, saved_spoofchk, saved_trust;
};

/* G_DEGRADED: the host took the guest's VFs away (iovm exit status 6, the VFIO device request
 * of a PF driver reload or a VF removal); with a restart policy it waits for them to come
 * back (`waiting`) and is started again once the host has converged. */
enum gstate { G_RUNNING, G_STOPPED, G_FAILED, G_DEGRADED };

/* iovm's exit status when the host asked for a passthrough device back (iovm(1)). */
#define IOVM_STATUS_DEVICE_GONE 6

struct guest {
	struct iov_cfg_guest spec;	/* owned copy (where unused) */
	struct gnic nics[MAX_NICS];
	size_t n_nics;
	pid_t pid;
	int pidfd;
	unsigned long long starttime;	/* /proc/PID/stat field 22 */
	enum gstate state;
	bool stopping, adopted;
	bool waiting;			/* degraded, to be restarted when its VFs are back */
	char wait_error[512];		/* why the last try to restart it failed */
	time_t started_at;
	int restarts;
	time_t window_start;
	int window_count;
	char exit_reason[512];
	int exit_code;			/* -1: none / unknown */
	int numa_node;			/* where iovm was placed, -1: not placed */
	char log[PATH_MAX];
	struct iov_irq_line irqs[32];	/* the VFs' vfio lines, as last placed */
	char irq_cpus[32][64];
	size_t n_irqs;
	char cpus_now[256];		/* the CPUs iovm may run on, as a list */
	struct guest *next;
};

struct qent {
	char vf[IOV_PCI_ADDR_STRLEN];
	char *reason, *guest;
};

static struct {
	bool init;
	char state_dir[PATH_MAX];
	char iovm[PATH_MAX];
	char user[64];
	uint8_t prefix[3];
	int epfd, tfd;
	struct guest *guests;
	struct qent *q;
	size_t n_q;
} S = { .epfd = -1, .tfd = -1 };

/* ---- small helpers ---- */

static void spec_free(struct iov_cfg_guest *s)
{
	free(s->name);
	free(s->kernel);
	free(s->initrd);
	free(s->cmdline);
	for (size_t i = 0; i < s->n_nics; i++) {
		free(s->nics[i].pool);
		free(s->nics[i].device);
	}
	free(s->nics);
	memset(s, 0, sizeof(*s));
}

static char *xdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int spec_copy(struct iov_cfg_guest *d, const struct iov_cfg_guest *s)
{
	*d = (struct iov_cfg_guest){ .mem_mib = s->mem_mib, .cpus = s->cpus,
				     .autostart = s->autostart, .restart = s->restart };
	d->name = xdup(s->name);
	d->kernel = xdup(s->kernel);
	d->initrd = xdup(s->initrd);
	d->cmdline = xdup(s->cmdline);
	d->nics = calloc(s->n_nics ? s->n_nics : 1, sizeof(*d->nics));
	if (!d->name || !d->kernel || (s->initrd && !d->initrd) || (s->cmdline && !d->cmdline) ||
	    !d->nics) {
		spec_free(d);
		return -ENOMEM;
	}
	d->n_nics = s->n_nics;
	for (size_t i = 0; i < s->n_nics; i++) {
		d->nics[i] = s->nics[i];
		d->nics[i].pool = xdup(s->nics[i].pool);
		d->nics[i].device = xdup(s->nics[i].device);
	}
	return 0;
}

static const char *restart_name(enum iov_cfg_restart r)
{
	return r == IOV_RESTART_ALWAYS ? "always" : r == IOV_RESTART_ON_FAILURE ? "on-failure" : "no";
}

static struct guest *find(const char *name)
{
	for (struct guest *g = S.guests; g; g = g->next)
		if (strcmp(g->spec.name, name) == 0)
			return g;
	return NULL;
}

static void path_in_state(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", S.state_dir, rel);
}

static int proc_starttime(pid_t pid, unsigned long long *out)
{
	char path[64], buf[1024], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	if (!(p = strrchr(buf, ')')))
		return -EIO;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", out) != 1)
		return -EIO;
	return 0;
}

/* ---- state ---- */

static json_t *nic_json(const struct gnic *n, bool state)
{
	char mac[18];
	json_t *j;

	iov_fmt_mac(n->mac, mac);
	j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o}", "vf", n->vf, "pf", n->pf,
		      "pf_netdev", n->pfnet, "vf_index", n->vf_index, "group", n->group, "mac", mac,
		      "vlan", n->vlan >= 0 ? json_integer(n->vlan) : json_null());
	json_object_set_new(j, "pool", n->pool ? json_string(n->pool) : json_null());
	if (state) {
		json_object_set_new(j, "bound_by_us", json_boolean(n->bound_by_us));
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

static json_t *guest_json(const struct guest *g, bool state)
{
	json_t *nics = json_array(), *j;

	for (size_t i = 0; i < g->n_nics; i++)
		json_array_append_new(nics, nic_json(&g->nics[i], state));
	j = json_pack("{s:s, s:s, s:s?, s:s?, s:I, s:i, s:s, s:o}", "name", g->spec.name,
		      "kernel", g->spec.kernel, "initrd", g->spec.initrd, "cmdline", g->spec.cmdline,
		      "mem_mib", (json_int_t)g->spec.mem_mib, "cpus", (int)g->spec.cpus, "restart",
		      restart_name(g->spec.restart), "nics", nics);
	json_object_set_new(j, "pid", g->state == G_RUNNING ? json_integer(g->pid) : json_null());
	json_object_set_new(j, "numa_node", g->state == G_RUNNING && g->numa_node >= 0 ?
			    json_integer(g->numa_node) : json_null());
	if (state) {
		json_object_set_new(j, "start_time", json_integer((json_int_t)g->starttime));
		json_object_set_new(j, "started_at", json_integer((json_int_t)g->started_at));
		json_object_set_new(j, "restarts", json_integer(g->restarts));
		if (g->waiting) {
			json_object_set_new(j, "waiting", json_true());
			json_object_set_new(j, "last_exit", json_string(g->exit_reason));
		}
		/* What the client asked for, so a restart after re-adoption allocates alike. */
		json_t *want = json_array();

		for (size_t i = 0; i < g->spec.n_nics; i++) {
			const struct iov_cfg_nic *c = &g->spec.nics[i];
			char m[18];

			iov_fmt_mac(c->mac, m);
			json_array_append_new(want, json_pack("{s:s?, s:s?, s:s?, s:i}", "pool", c->pool,
				"device", c->device, "mac", c->has_mac ? m : NULL, "vlan", c->vlan));
		}
		json_object_set_new(j, "want", want);
		return j;
	}
	json_object_set_new(j, "state", json_string(state_name(g->state)));
	json_object_set_new(j, "user", json_string(S.user));
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

static void state_save(void)
{
	json_t *gs = json_array(), *q = json_array(), *doc;
	struct iov_err e = { 0 };
	char path[PATH_MAX], *s;

	for (struct guest *g = S.guests; g; g = g->next)
		if (g->state == G_RUNNING || g->waiting)
			json_array_append_new(gs, guest_json(g, true));
	for (size_t i = 0; i < S.n_q; i++)
		json_array_append_new(q, json_pack("{s:s, s:s, s:s?}", "vf", S.q[i].vf, "reason",
						   S.q[i].reason, "guest", S.q[i].guest));
	doc = json_pack("{s:i, s:o, s:o}", "version", 1, "guests", gs, "quarantine", q);
	s = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	path_in_state(path, sizeof(path), "guests.json");
	if (!s || iov_write_atomic(path, s, strlen(s), 0600, "guest state", &e) < 0)
		log_err("%s", s ? e.msg : "out of memory saving guest state");
	free(s);
}

static struct iov_macreg *macreg_load(void)
{
	char path[PATH_MAX], *buf = NULL;
	struct iov_macreg *reg = NULL;
	struct iov_err e = { 0 };
	json_t *j;
	size_t len;
	int r;

	path_in_state(path, sizeof(path), "macs.json");
	r = iov_read_file(path, 1 << 20, &buf, &len);
	if (r == -ENOENT)
		return iov_macreg_new();
	if (r < 0) {
		log_err_errno(r, "%s: cannot read the MAC registry", path);
		return NULL;
	}
	j = json_loadb(buf, len, 0, NULL);
	free(buf);
	if (iov_macreg_from_json(j, &reg, &e) < 0) {
		log_err("%s: %s (%s)", path, e.msg, e.fix);
		reg = NULL;
	}
	json_decref(j);
	return reg;
}

static int macreg_save(const struct iov_macreg *reg, struct iov_err *err)
{
	char path[PATH_MAX], *s;
	json_t *j = iov_macreg_to_json(reg);
	int r;

	s = json_dumps(j, JSON_INDENT(1));
	json_decref(j);
	if (!s)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	path_in_state(path, sizeof(path), "macs.json");
	r = iov_write_atomic(path, s, strlen(s), 0644, "MAC registry", err);
	free(s);
	return r;
}

/* ---- quarantine ---- */

static const char *quarantined(const char *dev)
{
	for (size_t i = 0; i < S.n_q; i++)
		if (strcmp(S.q[i].vf, dev) == 0)
			return S.q[i].reason;
	return NULL;
}

static void quarantine(const char *vf, const char *guest, const char *reason)
{
	struct qent *q;

	if (quarantined(vf) || !(q = realloc(S.q, (S.n_q + 1) * sizeof(*q))))
		return;
	S.q = q;
	q = &S.q[S.n_q++];
	snprintf(q->vf, sizeof(q->vf), "%s", vf);
	q->reason = strdup(reason);
	q->guest = xdup(guest);
	log_warn("%s quarantined (guest %s): %s", vf, guest ? guest : "-", reason);
	iovd_event("vf.quarantined", json_pack("{s:s, s:s?, s:s}", "device", vf, "guest", guest,
					       "reason", reason));
}

json_t *iovd_quarantine_json(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < S.n_q; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s?}", "device", S.q[i].vf, "reason",
						   S.q[i].reason, "guest", S.q[i].guest));
	return a;
}

int iovd_unquarantine(const char *dev, struct iov_err *err)
{
	for (size_t i = 0; i < S.n_q; i++) {
		if (strcmp(S.q[i].vf, dev) != 0)
			continue;
		free(S.q[i].reason);
		free(S.q[i].guest);
		S.q[i] = S.q[--S.n_q];
		state_save();
		log_info("%s taken out of quarantine", dev);
		iovd_event("vf.returned", json_pack("{s:s, s:s}", "device", dev, "from", "quarantine"));
		return 0;
	}
	return iov_err_set(err, -ENOENT, "see `iovctl list` for quarantined VFs",
			   "%s is not in quarantine", dev);
}

const char *iovd_guest_holding(const char *dev)
{
	for (struct guest *g = S.guests; g; g = g->next)
		if (g->state == G_RUNNING)
			for (size_t i = 0; i < g->n_nics; i++)
				if (strcmp(g->nics[i].vf, dev) == 0)
					return g->spec.name;
	return NULL;
}

/* ---- VF admin settings and reset ---- */

static int vf_save_and_set(struct gnic *n, struct iov_err *err)
{
	struct iov_vfinfo *cur = NULL;
	struct iov_vfconf c = { .set = IOV_VFC_MAC | IOV_VFC_SPOOFCHK, .spoofchk = true };
	size_t cnt = 0;
	int r = iov_vfinfo_query(n->pfnet, &cur, &cnt);

	if (r < 0)
		return iov_err_set(err, r, NULL, "%s: reading VF settings: %s", n->pfnet, strerror(-r));
	for (size_t i = 0; i < cnt; i++)
		if (cur[i].vf == n->vf_index) {
			n->saved_known = true;
			memcpy(n->saved_mac, cur[i].mac, 6);
			n->saved_vlan = cur[i].vlan == IOV_UNKNOWN ? 0 : cur[i].vlan;
			n->saved_qos = cur[i].qos == IOV_UNKNOWN ? 0 : cur[i].qos;
			n->saved_spoofchk = cur[i].spoofchk;
			n->saved_trust = cur[i].trust;
		}
	free(cur);
	memcpy(c.mac, n->mac, 6);
	if (n->vlan >= 0 || (n->saved_known && n->saved_vlan)) {
		c.set |= IOV_VFC_VLAN;
		c.vlan = (uint16_t)(n->vlan >= 0 ? n->vlan : 0);
		c.vlan_proto = IOV_ETH_P_8021Q;
	}
	/* Trust off: a guest may not change its MAC or go promiscuous. Drivers that do not
	 * support trust (reported unknown) are not asked. */
	if (!n->saved_known || n->saved_trust != IOV_UNKNOWN) {
		c.set |= IOV_VFC_TRUST;
		c.trust = false;
	}
	return iov_vf_set(n->pfnet, (unsigned)n->vf_index, &c, err);
}

static void vf_restore(const struct gnic *n)
{
	struct iov_vfconf c = { .set = IOV_VFC_MAC | IOV_VFC_VLAN, .vlan_proto = IOV_ETH_P_8021Q };
	struct iov_err e = { 0 };

	if (!n->saved_known)
		return;
	memcpy(c.mac, n->saved_mac, 6);
	c.vlan = (uint16_t)n->saved_vlan;
	c.qos = (uint8_t)n->saved_qos;
	if (n->saved_spoofchk != IOV_UNKNOWN) {
		c.set |= IOV_VFC_SPOOFCHK;
		c.spoofchk = n->saved_spoofchk;
	}
	if (n->saved_trust != IOV_UNKNOWN) {
		c.set |= IOV_VFC_TRUST;
		c.trust = n->saved_trust;
	}
	if (iov_vf_set(n->pfnet, (unsigned)n->vf_index, &c, &e) < 0)
		log_warn("%s (%s vf %d): restoring admin settings: %s", n->vf, n->pfnet,
			 n->vf_index, e.msg);
}

/* Function-level reset through sysfs, then the check: the function answers config reads
 * again with its own class code. (Not the IDs: a VF's vendor and device ID registers read
 * all ones by the SR-IOV spec; the kernel's vendor/device files come from the PF.) */
static int vf_reset(const char *dev, char *why, size_t len)
{
	char path[PATH_MAX];
	uint8_t cfg[12];
	long cls = -1;
	int r;

	iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/reset", dev);
	for (int tries = 0; (r = iov_write_str(path, "1")) == -EBUSY && tries < 20; tries++)
		usleep(100 * 1000);	/* the group's last fd may still be closing */
	if (r < 0) {
		snprintf(why, len, "reset (%s) failed: %s", path, strerror(-r));
		return r;
	}
	iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/class", dev);
	iov_read_long(path, 16, &cls);
	iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
	if (iov_read_bin(path, cfg, sizeof(cfg)) != (ssize_t)sizeof(cfg)) {
		snprintf(why, len, "after reset its config space is unreadable");
		return -EIO;
	}
	if ((cfg[9] | cfg[10] << 8 | cfg[11] << 16) != cls) {
		snprintf(why, len, "after reset its config space reads class %02x%02x%02x, not "
			 "%06lx: the function did not come back", cfg[11], cfg[10], cfg[9], cls);
		return -EIO;
	}
	return 0;
}

/* After a guest: reset, check, restore, back to its pool (or released to the host driver
 * when iovd bound it for this guest), or quarantine. */
static void nic_return(const char *guest, struct gnic *n)
{
	char why[512];

	if (vf_reset(n->vf, why, sizeof(why)) < 0) {
		vf_restore(n);
		quarantine(n->vf, guest, why);
		return;
	}
	vf_restore(n);
	if (n->bound_by_us) {
		struct iov_host *h = NULL;
		struct iov_pci_addr a;
		struct iov_err e = { 0 };
		const struct iov_dev *d;

		if (iov_host_load(&h) == 0 && iov_pci_addr_parse(n->vf, &a) == 0 &&
		    (d = iov_host_find(h, &a)) && iov_release(h, d, &e) < 0)
			log_warn("%s: giving it back to its host driver: %s", n->vf, e.msg);
		iov_host_free(h);
	}
	log_info("%s reset and returned%s%s (guest %s)", n->vf, n->pool ? " to pool " : "",
		 n->pool ? n->pool : "", guest);
	iovd_event("vf.returned", json_pack("{s:s, s:s?, s:s}", "device", n->vf, "pool", n->pool,
					    "guest", guest));
}

/* Undo what start did for the first n NICs (start failed). */
static void nics_undo(struct guest *g, size_t n, bool settings)
{
	for (size_t i = 0; i < n; i++) {
		if (settings)
			vf_restore(&g->nics[i]);
		if (g->nics[i].bound_by_us) {
			struct iov_host *h = NULL;
			struct iov_pci_addr a;
			struct iov_err e = { 0 };
			const struct iov_dev *d;

			if (iov_host_load(&h) == 0 && iov_pci_addr_parse(g->nics[i].vf, &a) == 0 &&
			    (d = iov_host_find(h, &a)) && iov_release(h, d, &e) < 0)
				log_warn("%s: %s", g->nics[i].vf, e.msg);
			iov_host_free(h);
		}
	}
}

/* ---- launching ---- */

static int lookup_user(uid_t *uid, gid_t *gid, struct iov_err *err)
{
	struct passwd *pw = getpwnam(S.user);
	unsigned long u, gg;
	char *end;

	if (pw) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		u = strtoul(S.user, &end, 10);
		gg = *end == ':' ? strtoul(end + 1, &end, 10) : u;
		if (end == S.user || *end)
			return iov_err_set(err, -ENOENT, "create it (`useradd --system --no-create-home "
					   "--shell /usr/sbin/nologin iovm`, which setup.sh does) or "
					   "start iovd with --guest-user NAME",
					   "the guest user '%s' does not exist", S.user);
		*uid = (uid_t)u;
		*gid = (gid_t)gg;
	}
	if (*uid == 0)
		return iov_err_set(err, -EPERM, "pick an unprivileged user with --guest-user",
				   "the guest user '%s' is root: iovm must run unprivileged", S.user);
	return 0;
}

/* STATE_DIR/guests/NAME.in, next to the log. */
static void console_in_path(const struct guest *g, char *buf, size_t len)
{
	size_t n = strlen(g->log);

	if (n > 4 && strcmp(g->log + n - 4, ".log") == 0)
		n -= 4;
	snprintf(buf, len, "%.*s.in", (int)n, g->log);
}

struct launch {
	int fds[4 + MAX_NICS];		/* kvm, container, groups..., kernel, initrd */
	int n_fds;
	int logfd;
	int infd;			/* the console input FIFO (iovm's stdin) */
	int node;			/* NUMA node to run on (-1: wherever), and its CPUs */
	cpu_set_t node_cpus;
	char *argv[64];
	int argc;
	char strs[64][PATH_MAX > 512 ? 512 : PATH_MAX];
	int n_strs;
};

static void arg(struct launch *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct launch *l, const char *fmt, ...)
{
	va_list ap;

	if (l->argc >= 62 || l->n_strs >= 64)
		return;
	va_start(ap, fmt);
	vsnprintf(l->strs[l->n_strs], sizeof(l->strs[0]), fmt, ap);
	va_end(ap);
	l->argv[l->argc++] = l->strs[l->n_strs++];
	l->argv[l->argc] = NULL;
}

static void launch_close(struct launch *l)
{
	for (int i = 0; i < l->n_fds; i++)
		if (l->fds[i] >= 0)
			close(l->fds[i]);
	l->n_fds = 0;
	if (l->logfd >= 0)
		close(l->logfd);
	l->logfd = -1;
	if (l->infd >= 0)
		close(l->infd);
	l->infd = -1;
}

/* In the child: fds to 0..2 and 3.., limits, the user, no_new_privs, exec. Never returns. */
static void __attribute__((noreturn)) child(struct launch *l, uid_t uid, gid_t gid,
					    uint64_t memlock)
{
	int tmp[4 + MAX_NICS + 2], n = l->n_fds, nul = open("/dev/null", O_RDONLY);
	struct rlimit rl = { memlock, memlock };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	/* Move everything above the target range first, so no dup2 overwrites a source. */
	tmp[0] = fcntl(l->infd >= 0 ? l->infd : nul, F_DUPFD, 3 + n + 2);
	tmp[1] = fcntl(l->logfd, F_DUPFD, 3 + n + 2);
	for (int i = 0; i < n; i++)
		tmp[2 + i] = fcntl(l->fds[i], F_DUPFD, 3 + n + 2);
	for (int i = 0; i < n + 2; i++)
		if (tmp[i] < 0)
			_exit(126);
	if (dup2(tmp[0], 0) < 0 || dup2(tmp[1], 1) < 0 || dup2(tmp[1], 2) < 0)
		_exit(126);
	for (int i = 0; i < n; i++)
		if (dup2(tmp[2 + i], 3 + i) < 0)
			_exit(126);
	if (syscall(SYS_close_range, 3 + n, ~0U, 0) < 0)
		for (int fd = 3 + n; fd < 1024; fd++)
			close(fd);
	/* DMA pinning of guest RAM counts against RLIMIT_MEMLOCK; only root can raise the
	 * hard limit, so it is set here, before the user changes. */
	if (setrlimit(RLIMIT_MEMLOCK, &rl) < 0)
		dprintf(2, "iovd: setrlimit(RLIMIT_MEMLOCK): %s\n", strerror(errno));
	/* Changing every uid away from 0 clears the permitted, effective and ambient
	 * capability sets (no SECBIT_KEEP_CAPS); no_new_privs keeps exec from adding any. */
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		dprintf(2, "iovd: cannot become uid %u gid %u: %s\n", (unsigned)uid, (unsigned)gid,
			strerror(errno));
		_exit(126);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(126);
	/* On the node of its VFs: its vCPUs run there, and guest RAM (first touched by iovm)
	 * comes from there while the node has memory. Both survive exec. */
	if (l->node >= 0) {
		unsigned long mask[16] = { 0 };

		mask[l->node / (8 * sizeof(long))] |= 1UL << (l->node % (8 * sizeof(long)));
		if (sched_setaffinity(0, sizeof(l->node_cpus), &l->node_cpus) < 0)
			dprintf(2, "iovd: NUMA node %d: sched_setaffinity: %s\n", l->node,
				strerror(errno));
		if (syscall(SYS_set_mempolicy, MPOL_PREFERRED, mask, sizeof(mask) * 8) < 0)
			dprintf(2, "iovd: NUMA node %d: set_mempolicy: %s\n", l->node,
				strerror(errno));
	}
	execv(l->argv[0], l->argv);
	dprintf(2, "iovd: exec %s: %s\n", l->argv[0], strerror(errno));
	_exit(127);
}

static int open_file(const char *what, const char *path, struct iov_err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return iov_err_set(err, -errno, "give a readable file (a path on the host running "
				   "iovd)", "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return iov_err_set(err, -EINVAL, "give a regular file", "%s %s is not a regular "
				   "file", what, path);
	}
	return fd;
}

static int open_dev(const char *path, struct iov_err *err)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return iov_err_set(err, -errno, errno == ENOENT ? "load the module (kvm_intel or "
				   "kvm_amd; vfio-pci)" : NULL, "%s: %s", path, strerror(errno));
	return fd;
}

static void on_guest_fd(int fd, void *ud);

static int watch(struct guest *g)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = g };

	return epoll_ctl(S.epfd, EPOLL_CTL_ADD, g->pidfd, &ev) < 0 ? -errno : 0;
}

/* A candidate MAC is taken when a netdev or another VF's admin MAC on this host has it. */
static int mac_used(const uint8_t mac[6], void *ud)
{
	const struct gnic *n = ud;
	char who[128];

	return iov_mac_in_use(mac, n->pfnet, n->vf_index, NULL, who, sizeof(who));
}

static int do_start(struct guest *g, struct iov_err *err)
{
	struct iov_host *h = NULL;
	struct iov_usage *u = NULL;
	struct iov_macreg *reg = NULL;
	struct iov_alloc_taken taken[64];
	struct iov_alloc_in in = { 0 };
	struct launch l = { .logfd = -1, .infd = -1, .node = -1 };
	struct iov_cfg_resolved *res = NULL;
	const struct iov_config *cfg = iovd_follow_config();
	uint8_t prefix[3];
	uid_t uid = 0;
	gid_t gid = 0;
	size_t nt = 0, bound = 0;
	bool set = false, reg_changed = false;
	int groups[MAX_NICS], n_groups = 0, r, kfd, ifd = -1, nodes = iov_numa_nodes();
	pid_t pid;

	g->n_nics = 0;
	g->numa_node = -1;
	if (g->spec.n_nics > MAX_NICS)
		return iov_err_set(err, -E2BIG, NULL, "at most %d NICs per guest", MAX_NICS);
	if ((r = lookup_user(&uid, &gid, err)) < 0)
		return r;
	if ((r = iov_host_load(&h)) < 0)
		return iov_err_set(err, r, NULL, "reading the host's PCI devices: %s", strerror(-r));
	if ((r = iov_usage_load(&u)) < 0) {
		iov_err_set(err, r, NULL, "reading host usage: %s", strerror(-r));
		goto out;
	}
	for (struct guest *o = S.guests; o; o = o->next)
		for (size_t i = 0; o->state == G_RUNNING && i < o->n_nics && nt < 56; i++) {
			snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", o->nics[i].vf);
			taken[nt++].by = o->spec.name;
		}
	for (size_t i = 0; i < S.n_q && nt < 56; i++) {
		snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", S.q[i].vf);
		taken[nt++].by = "quarantine";
	}
	if (cfg && iov_config_resolve(cfg, h, &res, err) < 0) {
		r = err->code ? err->code : -EINVAL;
		goto out;
	}
	in = (struct iov_alloc_in){ .cfg = cfg, .res = res, .h = h, .u = u, .taken = taken,
				    .numa_node = -1 };
	/* 1. VFs: every verify check, then nothing else may take them. */
	for (size_t i = 0; i < g->spec.n_nics; i++) {
		const struct iov_cfg_nic *c = &g->spec.nics[i];
		struct gnic *n = &g->nics[i];
		struct iov_dev *d;

		in.n_taken = nt;
		if ((r = iov_alloc_vf(&in, c, &d, err)) < 0)
			goto out;
		memset(n, 0, sizeof(*n));
		snprintf(n->vf, sizeof(n->vf), "%s", d->name);
		snprintf(n->pf, sizeof(n->pf), "%s", d->pf->name);
		if (!d->pf->n_netdevs) {
			r = iov_err_set(err, -ENODEV, "bring the PF's network driver up (igb, ixgbe, "
					"...): a VF's MAC and VLAN are set through it",
					"%s: its PF %s has no network interface", d->name, d->pf->name);
			goto out;
		}
		snprintf(n->pfnet, sizeof(n->pfnet), "%s", d->pf->netdevs[0]);
		n->vf_index = d->vf_index;
		n->group = d->group ? d->group->id : -1;
		n->pool = xdup(c->pool);
		n->vlan = c->vlan;
		n->bound_by_us = !d->driver || strcmp(d->driver, "vfio-pci") != 0;
		snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", d->name);
		taken[nt++].by = g->spec.name;
		g->n_nics = i + 1;
		/* Several NUMA nodes: the guest goes where its first VF is (iovm, hence its
		 * RAM, is placed there below), and its other NICs prefer VFs of that node. */
		if (nodes > 1 && g->numa_node < 0 && d->numa_node >= 0 && d->numa_node < 1024 &&
		    iov_numa_node_cpus(d->numa_node, &l.node_cpus) == 0) {
			g->numa_node = d->numa_node;
			in.numa_node = d->numa_node;
		}
	}
	l.node = g->numa_node;
	/* 2. MACs, recorded before use; the config's prefix, else iovd's default. */
	memcpy(prefix, cfg && cfg->policy.has_mac_prefix ? cfg->policy.mac_prefix : S.prefix, 3);
	if (!(reg = macreg_load())) {
		r = iov_err_set(err, -EIO, "see iovd's log", "cannot read the MAC registry");
		goto out;
	}
	for (size_t i = 0; i < g->n_nics; i++) {
		const struct iov_cfg_nic *c = &g->spec.nics[i];
		bool ch = false;

		if ((r = iov_mac_assign(reg, g->spec.name, (unsigned)i, c->has_mac ? c->mac : NULL,
					prefix, mac_used, &g->nics[i], g->nics[i].mac, &ch,
					err)) < 0)
			goto out;
		reg_changed |= ch;
	}
	if (reg_changed && (r = macreg_save(reg, err)) < 0)
		goto out;
	/* 3. vfio-pci (a pool VF is there already), admin settings through the PF. */
	for (; bound < g->n_nics; bound++) {
		struct iov_pci_addr a;
		const struct iov_dev *d;

		if (!g->nics[bound].bound_by_us)
			continue;
		iov_pci_addr_parse(g->nics[bound].vf, &a);
		d = iov_host_find(h, &a);
		if (!d || (r = iov_bind(h, d, NULL, err)) < 0) {
			if (!d)
				r = -ENODEV;
			goto undo;
		}
	}
	set = true;
	for (size_t i = 0; i < g->n_nics; i++)
		if ((r = vf_save_and_set(&g->nics[i], err)) < 0)
			goto undo;
	/* 4. What iovm gets: /dev/kvm, the container, each group once, kernel, initrd. */
	arg(&l, "%s", S.iovm);
	if ((r = l.fds[l.n_fds++] = open_dev("/dev/kvm", err)) < 0)
		goto undo;
	arg(&l, "--kvm-fd");
	arg(&l, "3");
	if (g->n_nics) {
		if ((r = l.fds[l.n_fds++] = open_dev("/dev/vfio/vfio", err)) < 0)
			goto undo;
		arg(&l, "--vfio-container-fd");
		arg(&l, "4");
	}
	for (size_t i = 0; i < g->n_nics; i++) {
		int slot = -1;

		for (int k = 0; k < n_groups; k++)
			if (groups[k] == g->nics[i].group)
				slot = 2 + k;
		if (slot < 0) {
			struct vfio_group_status gs = { .argsz = sizeof(gs) };
			char p[64];

			snprintf(p, sizeof(p), "/dev/vfio/%d", g->nics[i].group);
			if ((r = l.fds[l.n_fds] = open_dev(p, err)) < 0)
				goto undo;
			slot = l.n_fds++;
			groups[n_groups++] = g->nics[i].group;
			if (ioctl(l.fds[slot], VFIO_GROUP_GET_STATUS, &gs) < 0 ||
			    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
				r = iov_err_set(err, -EPERM, "see `iovctl verify %s`", "group %d "
						"of %s is not viable: a member is on a host driver",
						g->nics[i].group, g->nics[i].vf);
				snprintf(err->fix, sizeof(err->fix), "see `iovctl verify %s`",
					 g->nics[i].vf);
				goto undo;
			}
		}
		arg(&l, "--vfio-group-fd");
		arg(&l, "%d:%s", 3 + slot, g->nics[i].vf);
	}
	if ((r = kfd = open_file("kernel", g->spec.kernel, err)) < 0)
		goto undo;
	l.fds[l.n_fds++] = kfd;
	arg(&l, "--kernel-fd");
	arg(&l, "%d", 3 + l.n_fds - 1);
	if (g->spec.initrd) {
		if ((r = ifd = open_file("initrd", g->spec.initrd, err)) < 0)
			goto undo;
		l.fds[l.n_fds++] = ifd;
		arg(&l, "--initrd-fd");
		arg(&l, "%d", 3 + l.n_fds - 1);
	}
	if (g->spec.cmdline) {
		arg(&l, "--cmdline");
		arg(&l, "%s", g->spec.cmdline);
	}
	arg(&l, "--mem");
	arg(&l, "%lluM", (unsigned long long)g->spec.mem_mib);
	arg(&l, "--cpus");
	arg(&l, "%u", g->spec.cpus);
	arg(&l, "--console");
	arg(&l, "stdio");
	/* The log keeps the guest's bytes raw; VmLog and iovctl escape them for display. */
	arg(&l, "--console-filter");
	arg(&l, "off");
	/* A guest reboot under a restart policy: iovm resets the devices and restarts the
	 * guest in place (no new allocation); without one iovm exits 3. */
	if (g->spec.restart != IOV_RESTART_NO) {
		arg(&l, "--on-reboot");
		arg(&l, "restart");
	}
	arg(&l, "--stats");
	{
		char dir[PATH_MAX], fifo[PATH_MAX];

		path_in_state(dir, sizeof(dir), "guests");
		iov_mkdir_p(dir, 0700);
		snprintf(g->log, sizeof(g->log), "%s/%s.log", dir, g->spec.name);
		l.logfd = open(g->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (l.logfd < 0) {
			r = iov_err_set(err, -errno, NULL, "%s: %s", g->log, strerror(errno));
			goto undo;
		}
		/* Console input (`iovctl vm console`): a FIFO that is iovm's stdin. iovm holds
		 * it open both ways, so it never sees an end of input, and an iovd restarted
		 * while the guest runs opens it again by name. */
		console_in_path(g, fifo, sizeof(fifo));
		unlink(fifo);
		if (mkfifo(fifo, 0600) < 0 || (l.infd = open(fifo, O_RDWR | O_CLOEXEC)) < 0) {
			r = iov_err_set(err, -errno, NULL, "%s: %s", fifo, strerror(errno));
			goto undo;
		}
	}
	/* 5. Go. */
	pid = fork();
	if (pid < 0) {
		r = iov_err_set(err, -errno, NULL, "fork: %s", strerror(errno));
		goto undo;
	}
	if (pid == 0)
		child(&l, uid, gid, (g->spec.mem_mib + 64) << 20);
	launch_close(&l);
	g->pid = pid;
	g->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (g->pidfd < 0 || proc_starttime(pid, &g->starttime) < 0 || watch(g) < 0) {
		r = iov_err_set(err, g->pidfd < 0 ? -errno : -EIO, "the kernel needs pidfd_open (5.3)",
				"cannot watch iovm (pid %d)", (int)pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (g->pidfd >= 0)
			close(g->pidfd);
		g->pidfd = -1;
		goto undo;
	}
	g->state = G_RUNNING;
	g->stopping = false;
	g->adopted = false;
	g->exit_reason[0] = '\0';
	g->exit_code = -1;
	g->started_at = time(NULL);
	state_save();
	r = 0;
	goto out;
undo:
	launch_close(&l);
	nics_undo(g, bound < g->n_nics ? bound : g->n_nics, set);
out:
	if (r < 0)
		g->n_nics = 0;
	for (size_t i = 0; r < 0 && i < MAX_NICS; i++) {
		free(g->nics[i].pool);
		g->nics[i].pool = NULL;
	}
	iov_macreg_free(reg);
	iov_cfg_resolved_free(res);
	iov_usage_free(u);
	iov_host_free(h);
	return r;
}

static void log_start(struct guest *g, const char *ev)
{
	json_t *vfs = json_array();

	for (size_t i = 0; i < g->n_nics; i++)
		json_array_append_new(vfs, json_string(g->nics[i].vf));
	log_info("guest %s %s: iovm pid %d as %s, VFs %s%s", g->spec.name, ev, (int)g->pid, S.user,
		 g->n_nics ? g->nics[0].vf : "none", g->n_nics > 1 ? " ..." : "");
	iovd_event(strcmp(ev, "restarted") == 0 ? "guest.restarted" : "guest.started",
		   json_pack("{s:s, s:i, s:o}", "guest", g->spec.name, "pid", (int)g->pid, "vfs", vfs));
}

static int check_name(const char *n, struct iov_err *err)
{
	size_t len = n ? strlen(n) : 0;

	if (!len || len > 32 || strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789_-") != len)
		return iov_err_set(err, -EINVAL, "use 1 to 32 of a-z 0-9 _ -", "guest name '%s' "
				   "is not valid", n ? n : "");
	return 0;
}

int iovd_guest_start(const struct iov_cfg_guest *spec, json_t **info, struct iov_err *err)
{
	struct guest *g = find(spec->name), *fresh = NULL;
	int r;

	if ((r = check_name(spec->name, err)) < 0)
		return r;
	if (g && g->state == G_RUNNING)
		return iov_err_set(err, -EEXIST, "stop it first (`iovctl vm stop %s`)", "guest %s "
				   "is already running (pid %d)", spec->name, (int)g->pid);
	if (!spec->kernel)
		return iov_err_set(err, -EINVAL, "give --kernel", "guest %s has no kernel", spec->name);
	if (!g) {
		if (!(fresh = g = calloc(1, sizeof(*g))))
			return -ENOMEM;
		g->pidfd = -1;
	} else {
		spec_free(&g->spec);
	}
	if ((r = spec_copy(&g->spec, spec)) < 0)
		goto fail;
	if (!g->spec.mem_mib)
		g->spec.mem_mib = 512;
	if (!g->spec.cpus)
		g->spec.cpus = 1;
	g->restarts = 0;
	g->waiting = false;	/* started by hand: no longer waiting for its VFs */
	if ((r = do_start(g, err)) < 0)
		goto fail;
	if (fresh) {
		g->next = S.guests;
		S.guests = g;
		state_save();	/* do_start saved the list before this guest was on it */
	}
	log_start(g, "started");
	if (info)
		*info = guest_json(g, false);
	return 0;
fail:
	if (fresh) {
		spec_free(&fresh->spec);
		free(fresh);
	} else if (g) {
		g->state = G_FAILED;
		snprintf(g->exit_reason, sizeof(g->exit_reason), "start failed: %s", err->msg);
	}
	return r;
}

int iovd_guest_save(const struct iov_cfg_guest *g, const char **out, struct iov_err *err)
{
	static char path[PATH_MAX];
	const char *dir = iovd_follow_dropin_dir();
	json_t *nics = json_array(), *doc;
	char *s;
	int r;

	if (!dir)
		return iov_err_set(err, -ENOENT, "start iovd with --config-dir DIR (or without "
				   "--config) to keep guests in drop-ins", "iovd reads no drop-in "
				   "directory: nowhere to save guest %s", g->name);
	for (size_t i = 0; i < g->n_nics; i++) {
		const struct iov_cfg_nic *c = &g->nics[i];
		json_t *n = json_pack("{s:s}", c->pool ? "pool" : "device", c->pool ? c->pool : c->device);
		char m[18];

		if (c->has_mac) {
			iov_fmt_mac(c->mac, m);
			json_object_set_new(n, "mac", json_string(m));
		}
		if (c->vlan >= 0)
			json_object_set_new(n, "vlan", json_integer(c->vlan));
		json_array_append_new(nics, n);
	}
	doc = json_pack("{s:[{s:s, s:s, s:I, s:i, s:o, s:b, s:s}]}", "guests", "name", g->name,
			"kernel", g->kernel, "mem_mib", (json_int_t)g->mem_mib, "cpus", (int)g->cpus,
			"nics", nics, "autostart", 1, "restart", restart_name(g->restart));
	if (g->initrd)
		json_object_set_new(json_array_get(json_object_get(doc, "guests"), 0), "initrd",
				    json_string(g->initrd));
	if (g->cmdline)
		json_object_set_new(json_array_get(json_object_get(doc, "guests"), 0), "cmdline",
				    json_string(g->cmdline));
	s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!s)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	snprintf(path, sizeof(path), "%s/50-guest-%s.json", dir, g->name);
	/* What the loader would say of the whole config with it (its pools are in the main
	 * file or other drop-ins), before it is on disk. */
	if ((r = iovd_follow_check_dropin(path, s, strlen(s), err)) < 0) {
		free(s);
		return r;
	}
	r = iov_write_atomic(path, s, strlen(s), 0644, "guest drop-in", err);
	free(s);
	if (r < 0)
		return r;
	log_info("guest %s saved to %s", g->name, path);
	*out = path;
	return 0;
}

/* ---- the end of a guest ---- */

/* A seccomp kill is logged by the kernel: "audit: type=1326 ... pid=PID comm="iovm" ...
 * syscall=NR ...". The last such line for pid names the call. */
static void seccomp_syscall(pid_t pid, char *out, size_t len)
{
	int n = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), nr = -1;
	char *buf, *p, key[32];

	out[0] = '\0';
	if (n <= 0 || !(buf = malloc((size_t)n + 1)))
		return;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, n);
	if (n > 0) {
		buf[n] = '\0';
		snprintf(key, sizeof(key), " pid=%d ", (int)pid);
		for (p = buf; (p = strstr(p, "type=1326")); p++) {
			char *eol = strchr(p, '\n'), *pk = strstr(p, key), *sc = strstr(p, " syscall=");

			if (pk && sc && (!eol || (pk < eol && sc < eol)))
				nr = atoi(sc + 9);
		}
	}
	free(buf);
	if (nr >= 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		snprintf(out, len, "%s (%d)", name ? name : "unknown syscall", nr);
		free(name);
	}
}

static void describe_exit(struct guest *g, const siginfo_t *si, bool known)
{
	static const char *const codes[] = { "the guest powered off", "iovm failed",
					     "iovm refused its command line", "the guest rebooted",
					     "the guest crashed", "iovm was stopped by a signal",
					     "the host took its VF back (a PF driver reload, the VF "
					     "removed or unbound)" };
	char line[256] = "";

	g->exit_code = -1;
	if (!known) {
		snprintf(g->exit_reason, sizeof(g->exit_reason), "iovm (pid %d) ended while iovd "
			 "was not its parent: exit status unknown", (int)g->pid);
		return;
	}
	if (si->si_code == CLD_EXITED) {
		g->exit_code = si->si_status;
		snprintf(g->exit_reason, sizeof(g->exit_reason), "exit status %d: %s", si->si_status,
			 si->si_status >= 0 && si->si_status < 7 ? codes[si->si_status] : "unexpected");
	} else {
		g->exit_code = 128 + si->si_status;
		snprintf(g->exit_reason, sizeof(g->exit_reason), "killed by %s%s",
			 sigabbrev_np(si->si_status) ? "SIG" : "signal ",
			 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
	}
	/* The sandbox names the syscall it refused in the log (iovm's SIGSYS report, or the
	 * kernel's); look at the last lines for it. */
	if (si->si_code != CLD_EXITED && si->si_status == SIGSYS) {
		char call[64];

		seccomp_syscall(g->pid, call, sizeof(call));
		snprintf(line, sizeof(line), "seccomp: forbidden system call %s", call[0] ? call :
			 "(not in the kernel log)");
		goto out;
	}
	{
		char *buf = NULL;
		size_t len = 0;

		if (iov_read_file(g->log, 4 << 20, &buf, &len) == 0) {
			char *p = buf + (len > 8192 ? len - 8192 : 0), *l, *save = NULL;

			for (l = strtok_r(p, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
				if (strstr(l, "seccomp") || strstr(l, "syscall"))
					snprintf(line, sizeof(line), "%s", l);
		}
		free(buf);
	}
out:
	if (line[0])
		snprintf(g->exit_reason + strlen(g->exit_reason),
			 sizeof(g->exit_reason) - strlen(g->exit_reason), "; %s", line);
}

static bool wants_restart(const struct guest *g)
{
	if (g->stopping || g->spec.restart == IOV_RESTART_NO)
		return false;
	if (g->spec.restart == IOV_RESTART_ALWAYS)
		return true;
	return g->exit_code != 0;	/* reboot (3), crash, error, a signal, unknown */
}

static void ended(struct guest *g, const siginfo_t *si, bool known)
{
	json_t *vfs = json_array();
	struct iov_err e = { 0 };
	time_t now = time(NULL);
	bool lost;

	if (g->pidfd >= 0) {
		epoll_ctl(S.epfd, EPOLL_CTL_DEL, g->pidfd, NULL);
		close(g->pidfd);
		g->pidfd = -1;
	}
	describe_exit(g, si, known);
	lost = g->exit_code == IOVM_STATUS_DEVICE_GONE && !g->stopping;
	g->state = lost ? G_DEGRADED : g->exit_code == 0 || g->stopping ? G_STOPPED : G_FAILED;
	g->waiting = false;
	log_info("guest %s (pid %d) ended: %s", g->spec.name, (int)g->pid, g->exit_reason);
	for (size_t i = 0; i < g->n_nics; i++)
		json_array_append_new(vfs, json_string(g->nics[i].vf));
	iovd_event("guest.exited", json_pack("{s:s, s:i, s:s, s:o, s:O}", "guest", g->spec.name,
					     "pid", (int)g->pid, "reason", g->exit_reason, "status",
					     g->exit_code >= 0 ? json_integer(g->exit_code) : json_null(),
					     "vfs", vfs));
	if (lost) {
		g->waiting = wants_restart(g);
		log_warn("guest %s degraded: %s; %s", g->spec.name, g->exit_reason, g->waiting ?
			 "it is started again once the host has its VFs back (restart policy)" :
			 "it stays stopped (restart policy no; `iovctl vm start` it again)");
		iovd_event("guest.degraded", json_pack("{s:s, s:s, s:O, s:b}", "guest",
						       g->spec.name, "reason", g->exit_reason,
						       "vfs", vfs, "waiting", g->waiting));
	}
	json_decref(vfs);
	for (size_t i = 0; i < g->n_nics; i++) {
		/* A VF the host took back is going away (or already gone) with its PF's VFs:
		 * nothing to reset or quarantine; the config puts the host back together. */
		if (lost)
			log_info("%s: taken back by the host from guest %s; not returned", g->nics[i].vf,
				 g->spec.name);
		else
			nic_return(g->spec.name, &g->nics[i]);
		free(g->nics[i].pool);
		g->nics[i].pool = NULL;
	}
	g->n_nics = 0;
	state_save();
	if (lost || !wants_restart(g))
		return;
	if (now - g->window_start > RESTART_WINDOW) {
		g->window_start = now;
		g->window_count = 0;
	}
	if (++g->window_count > RESTART_BURST) {
		log_warn("guest %s: %d restarts within %d s; not restarting it again", g->spec.name,
			 RESTART_BURST, RESTART_WINDOW);
		return;
	}
	if (do_start(g, &e) < 0) {
		g->state = G_FAILED;
		snprintf(g->exit_reason + strlen(g->exit_reason),
			 sizeof(g->exit_reason) - strlen(g->exit_reason), "; restart failed: %s", e.msg);
		log_warn("guest %s: restart failed: %s", g->spec.name, e.msg);
		return;
	}
	g->restarts++;
	log_start(g, "restarted");
}

static void reap(struct guest *g)
{
	siginfo_t si = { 0 };
	bool known = waitid(P_PIDFD, (id_t)g->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid;

	ended(g, &si, known);
}

void iovd_guests_host_settled(void)
{
	for (struct guest *g = S.guests; S.init && g; g = g->next) {
		struct iov_err e = { 0 };

		if (g->state != G_DEGRADED || !g->waiting)
			continue;
		if (do_start(g, &e) < 0) {
			/* Not yet (its PF is still without a driver, the pool has no VF yet), or
			 * not at all (the kernel file went away): it keeps waiting either way,
			 * and says why; `iovctl vm stop` gives up on it. */
			if (strcmp(g->wait_error, e.msg) != 0)
				log_info("guest %s: not restarted yet: %s", g->spec.name, e.msg);
			snprintf(g->wait_error, sizeof(g->wait_error), "%s", e.msg);
			continue;
		}
		g->wait_error[0] = '\0';
		g->waiting = false;
		g->restarts++;
		log_start(g, "restarted");
	}
}

/* "0-1,3" from a CPU set. */
static void cpulist(const cpu_set_t *set, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && o + 16 < len; c++) {
		int e = c;

		if (!CPU_ISSET(c, set))
			continue;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
			e++;
		o += (size_t)snprintf(buf + o, len - o, "%s%d", o ? "," : "", c);
		if (e > c)
			o += (size_t)snprintf(buf + o, len - o, "-%d", e);
		c = e;
	}
}

/* The host interrupts of a guest's VFs go where its iovm (and so its vCPUs) may run. The
 * vfio lines exist only once the guest's driver enables MSI-X or MSI, so this runs every
 * second while guests run, and puts back a line someone moved. */
static void place_irqs(struct guest *g)
{
	cpu_set_t set;
	char cur[64];

	g->n_irqs = 0;
	CPU_ZERO(&set);
	if (sched_getaffinity(g->pid, sizeof(set), &set) < 0)
		return;
	cpulist(&set, g->cpus_now, sizeof(g->cpus_now));
	for (size_t i = 0; i < g->n_nics; i++) {
		size_t room = 32 - g->n_irqs;
		int n = iov_irq_vfio_lines(g->nics[i].vf, g->irqs + g->n_irqs, room);

		if (n < 0)
			return;
		g->n_irqs += (size_t)n < room ? (size_t)n : room;
	}
	for (size_t i = 0; i < g->n_irqs; i++) {
		int irq = g->irqs[i].irq;

		if (iov_irq_affinity_get(irq, cur, sizeof(cur)) < 0)
			continue;
		if (strcmp(cur, g->cpus_now) != 0) {
			int r = iov_irq_affinity_set(irq, g->cpus_now);

			if (r < 0)
				log_warn_errno(r, "guest %s: IRQ %d (%s): cannot set its CPUs to %s",
					       g->spec.name, irq, g->irqs[i].name, g->cpus_now);
			else
				log_info("guest %s: IRQ %d (%s) on CPUs %s (was %s)", g->spec.name, irq,
					 g->irqs[i].name, g->cpus_now, cur);
			iov_irq_affinity_get(irq, cur, sizeof(cur));
		}
		snprintf(g->irq_cpus[i], sizeof(g->irq_cpus[i]), "%s", cur);
	}
}

static void on_guest_fd(int fd, void *ud)
{
	struct epoll_event evs[8];
	int n = epoll_wait(S.epfd, evs, 8, 0);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &S) {
			uint64_t ticks;

			if (read(S.tfd, &ticks, sizeof(ticks)) < 0)
				continue;
			for (struct guest *g = S.guests; g; g = g->next)
				if (g->state == G_RUNNING)
					place_irqs(g);
			continue;
		}
		reap(evs[i].data.ptr);
	}
}

int iovd_guest_stop(const char *name, bool force, json_t **info, struct iov_err *err)
{
	struct guest *g = find(name);
	struct pollfd p;

	if (g && g->state == G_DEGRADED && g->waiting) {
		g->waiting = false;	/* no restart when its VFs come back */
		g->state = G_STOPPED;
		log_info("guest %s: stopped while waiting for its VFs", name);
		state_save();
		if (info)
			*info = guest_json(g, false);
		return 0;
	}
	if (!g || g->state != G_RUNNING)
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no running guest named '%s'",
				   name);
	g->stopping = true;
	log_info("guest %s: stopping (%s)", name, force ? "SIGKILL" : "SIGTERM");
	if (syscall(SYS_pidfd_send_signal, g->pidfd, force ? SIGKILL : SIGTERM, NULL, 0) < 0 &&
	    errno != ESRCH)
		return iov_err_set(err, -errno, NULL, "signalling iovm pid %d: %s", (int)g->pid,
				   strerror(errno));
	p = (struct pollfd){ .fd = g->pidfd, .events = POLLIN };
	if (poll(&p, 1, 10000) == 0) {
		log_warn("guest %s: iovm did not end within 10 s of SIGTERM; SIGKILL", name);
		syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, 5000);
	}
	reap(g);
	if (info)
		*info = guest_json(g, false);
	return 0;
}

/* ---- queries ---- */

json_t *iovd_guests_json(void)
{
	json_t *a = json_array();

	for (struct guest *g = S.guests; g; g = g->next)
		json_array_append_new(a, guest_json(g, false));
	return a;
}

int iovd_guest_json(const char *name, json_t **out, struct iov_err *err)
{
	struct guest *g = find(name);

	if (!g)
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no guest named '%s'", name);
	*out = guest_json(g, false);
	return 0;
}

int iovd_guest_log(const char *name, size_t max, long long from, char **out, size_t *len,
		   size_t *end, struct iov_err *err)
{
	struct guest *g = find(name);
	char *buf = NULL;
	size_t n = 0, start = 0;
	int r;

	if (!g || !g->log[0])
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no guest named '%s'", name);
	if ((r = iov_read_file(g->log, 64 << 20, &buf, &n)) < 0)
		return iov_err_set(err, r, NULL, "%s: %s", g->log, strerror(-r));
	/* From an offset (a console following the log); a log shorter than it was
	 * started again (a restart truncates it): all of it. */
	if (from >= 0 && (size_t)from <= n)
		start = (size_t)from;
	if (n - start > max)
		start = n - max;
	memmove(buf, buf + start, n - start);
	buf[n - start] = '\0';
	*out = buf;
	*len = n - start;
	*end = n;
	return 0;
}

int iovd_guest_console_input(const char *name, const char *data, size_t len, size_t *taken,
			     struct iov_err *err)
{
	struct guest *g = find(name);
	char in[PATH_MAX];
	ssize_t w = 0;
	int fd;

	if (!g || !g->log[0])
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no guest named '%s'", name);
	if (g->state != G_RUNNING) {
		iov_err_set(err, -ESRCH, NULL, "guest %s is not running", name);
		snprintf(err->fix, sizeof(err->fix), "start it (`iovctl vm start %s`); `iovctl vm "
			 "log %s` shows its last output", name, name);
		return -ESRCH;
	}
	console_in_path(g, in, sizeof(in));
	/* Never blocks the daemon: a full FIFO (iovm not reading) takes fewer bytes. */
	fd = open(in, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return iov_err_set(err, -errno, "restart the guest (`iovctl vm stop`, `vm start`)",
				   "guest %s has no console input (%s: %s)", name, in,
				   strerror(errno));
	if (len)
		w = write(fd, data, len);
	close(fd);
	if (w < 0 && errno != EAGAIN)
		return iov_err_set(err, -errno, NULL, "%s: %s", in, strerror(errno));
	*taken = w < 0 ? 0 : (size_t)w;
	return 0;
}

/* ---- adoption ---- */

static int nic_from_json(json_t *j, struct gnic *n)
{
	const char *vf = json_string_value(json_object_get(j, "vf"));
	const char *pf = json_string_value(json_object_get(j, "pf"));
	const char *net = json_string_value(json_object_get(j, "pf_netdev"));
	const char *mac = json_string_value(json_object_get(j, "mac"));
	json_t *sv = json_object_get(j, "saved");
	char why[64];

	if (!vf || !pf || !net || !mac || iov_parse_mac(mac, n->mac, why, sizeof(why)) < 0)
		return -EINVAL;
	snprintf(n->vf, sizeof(n->vf), "%s", vf);
	snprintf(n->pf, sizeof(n->pf), "%s", pf);
	snprintf(n->pfnet, sizeof(n->pfnet), "%s", net);
	n->vf_index = (int)json_integer_value(json_object_get(j, "vf_index"));
	n->group = (int)json_integer_value(json_object_get(j, "group"));
	n->vlan = json_is_integer(json_object_get(j, "vlan")) ?
		(int)json_integer_value(json_object_get(j, "vlan")) : -1;
	n->pool = xdup(json_string_value(json_object_get(j, "pool")));
	n->bound_by_us = json_is_true(json_object_get(j, "bound_by_us"));
	if (json_is_object(sv) && json_is_string(json_object_get(sv, "mac")) &&
	    iov_parse_mac(json_string_value(json_object_get(sv, "mac")), n->saved_mac, why,
			  sizeof(why)) == 0) {
		n->saved_known = true;
		n->saved_vlan = (int)json_integer_value(json_object_get(sv, "vlan"));
		n->saved_qos = (int)json_integer_value(json_object_get(sv, "qos"));
		n->saved_spoofchk = (int)json_integer_value(json_object_get(sv, "spoofchk"));
		n->saved_trust = (int)json_integer_value(json_object_get(sv, "trust"));
	}
	return 0;
}

static struct guest *guest_from_json(json_t *j)
{
	struct guest *g = calloc(1, sizeof(*g));
	const char *name = json_string_value(json_object_get(j, "name"));
	const char *kernel = json_string_value(json_object_get(j, "kernel"));
	const char *rs = json_string_value(json_object_get(j, "restart"));
	json_t *nics = json_object_get(j, "nics"), *want = json_object_get(j, "want"), *v;
	size_t i;

	if (!g || !name || !kernel || !json_is_array(nics) || json_array_size(nics) > MAX_NICS ||
	    check_name(name, NULL) < 0)
		goto bad;
	g->pidfd = -1;
	g->spec.name = strdup(name);
	g->spec.kernel = strdup(kernel);
	g->spec.initrd = xdup(json_string_value(json_object_get(j, "initrd")));
	g->spec.cmdline = xdup(json_string_value(json_object_get(j, "cmdline")));
	g->spec.mem_mib = (uint64_t)json_integer_value(json_object_get(j, "mem_mib"));
	g->spec.cpus = (unsigned)json_integer_value(json_object_get(j, "cpus"));
	g->spec.restart = rs && strcmp(rs, "always") == 0 ? IOV_RESTART_ALWAYS :
		rs && strcmp(rs, "on-failure") == 0 ? IOV_RESTART_ON_FAILURE : IOV_RESTART_NO;
	g->spec.nics = calloc(MAX_NICS, sizeof(*g->spec.nics));
	if (!g->spec.name || !g->spec.kernel || !g->spec.nics)
		goto bad;
	json_array_foreach(want, i, v) {
		struct iov_cfg_nic *c = &g->spec.nics[g->spec.n_nics];
		const char *m = json_string_value(json_object_get(v, "mac"));
		char why[64];

		if (g->spec.n_nics >= MAX_NICS)
			break;
		c->pool = xdup(json_string_value(json_object_get(v, "pool")));
		c->device = xdup(json_string_value(json_object_get(v, "device")));
		c->vlan = (int)json_integer_value(json_object_get(v, "vlan"));
		c->has_mac = m && iov_parse_mac(m, c->mac, why, sizeof(why)) == 0;
		g->spec.n_nics++;
	}
	json_array_foreach(nics, i, v)
		if (nic_from_json(v, &g->nics[g->n_nics++]) < 0)
			goto bad;
	g->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	g->starttime = (unsigned long long)json_integer_value(json_object_get(j, "start_time"));
	g->started_at = (time_t)json_integer_value(json_object_get(j, "started_at"));
	g->restarts = (int)json_integer_value(json_object_get(j, "restarts"));
	g->numa_node = json_is_integer(json_object_get(j, "numa_node")) ?
		(int)json_integer_value(json_object_get(j, "numa_node")) : -1;
	return g;
bad:
	if (g) {
		spec_free(&g->spec);
		for (i = 0; i < MAX_NICS; i++)
			free(g->nics[i].pool);
		free(g);
	}
	return NULL;
}

static void adopt_all(void)
{
	char path[PATH_MAX], *buf = NULL;
	json_t *doc, *gs, *q, *v;
	size_t len, i;
	int r;

	path_in_state(path, sizeof(path), "guests.json");
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
	q = json_object_get(doc, "quarantine");
	json_array_foreach(q, i, v) {
		const char *vf = json_string_value(json_object_get(v, "vf"));
		const char *why = json_string_value(json_object_get(v, "reason"));

		if (vf && why && strlen(vf) < IOV_PCI_ADDR_STRLEN)
			quarantine(vf, json_string_value(json_object_get(v, "guest")), why);
	}
	gs = json_object_get(doc, "guests");
	json_array_foreach(gs, i, v) {
		struct guest *g = guest_from_json(v);
		unsigned long long st = 0;
		char comm[32] = "", cp[64];
		int fd;

		if (!g) {
			log_err("%s: $.guests[%zu] is damaged; skipped", path, i);
			continue;
		}
		snprintf(g->log, sizeof(g->log), "%s/guests/%s.log", S.state_dir, g->spec.name);
		g->next = S.guests;
		S.guests = g;
		if (json_is_true(json_object_get(v, "waiting"))) {
			/* Degraded before iovd went away: keep waiting for its VFs. */
			g->state = G_DEGRADED;
			g->waiting = true;
			g->n_nics = 0;
			snprintf(g->exit_reason, sizeof(g->exit_reason), "%s",
				 json_string_value(json_object_get(v, "last_exit")) ?
				 json_string_value(json_object_get(v, "last_exit")) : "degraded");
			log_info("guest %s: degraded, waiting for its VFs to restart it",
				 g->spec.name);
			continue;
		}
		g->state = G_RUNNING;
		g->pidfd = g->pid > 0 ? (int)syscall(SYS_pidfd_open, g->pid, 0) : -1;
		snprintf(cp, sizeof(cp), "/proc/%d/comm", (int)g->pid);
		if ((fd = open(cp, O_RDONLY | O_CLOEXEC)) >= 0) {
			ssize_t n = read(fd, comm, sizeof(comm) - 1);

			comm[n > 0 ? n : 0] = '\0';
			comm[strcspn(comm, "\n")] = '\0';
			close(fd);
		}
		/* The pid is the recorded iovm only if it started at the recorded time. */
		if (g->pidfd >= 0 && proc_starttime(g->pid, &st) == 0 && st == g->starttime &&
		    watch(g) == 0) {
			g->adopted = true;
			log_info("guest %s: re-adopted iovm pid %d (%s)", g->spec.name, (int)g->pid,
				 comm);
			continue;
		}
		if (g->pidfd >= 0)
			close(g->pidfd);
		g->pidfd = -1;
		g->stopping = true;	/* no restart of what ended while iovd was away */
		ended(g, NULL, false);
	}
	json_decref(doc);
	state_save();
}

/* ---- setup ---- */

static void default_iovm(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if (strrchr(self, '/'))
			strcpy(strrchr(self, '/') + 1, "iovm");
		if (access(self, X_OK) == 0) {
			snprintf(buf, len, "%s", self);
			return;
		}
	}
	snprintf(buf, len, "/usr/bin/iovm");
}

int iovd_guests_init(struct vl_server *srv, const struct iovd_guest_opts *o)
{
	static const uint8_t def[3] = IOV_ALLOC_MAC_PREFIX;
	int r;

	/* Under --sysroot (tests) the state stays inside the fake tree by default. */
	snprintf(S.state_dir, sizeof(S.state_dir), "%s%s", o->state_dir ? "" : iov_sysroot(),
		 o->state_dir ? o->state_dir : "/var/lib/iovd");
	if (o->iovm)
		snprintf(S.iovm, sizeof(S.iovm), "%s", o->iovm);
	else
		default_iovm(S.iovm, sizeof(S.iovm));
	snprintf(S.user, sizeof(S.user), "%s", o->user ? o->user : "iovm");
	memcpy(S.prefix, o->mac_prefix ? o->mac_prefix : def, 3);
	if ((r = iov_mkdir_p(S.state_dir, 0755)) < 0)
		return log_err_errno(r, "state dir %s", S.state_dir);
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (S.epfd < 0)
		return log_err_errno(-errno, "epoll_create1");
	if ((r = vl_server_watch(srv, S.epfd, on_guest_fd, NULL)) < 0)
		return log_err_errno(r, "watching guests");
	/* Interrupt placement: once a second (see place_irqs). */
	S.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (S.tfd >= 0) {
		struct itimerspec it = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &S };

		if (timerfd_settime(S.tfd, 0, &it, NULL) < 0 ||
		    epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.tfd, &ev) < 0)
			log_warn_errno(-errno, "interrupt placement timer");
	}
	S.init = true;
	adopt_all();
	return 0;
}

void iovd_guests_autostart(void)
{
	const struct iov_config *cfg = iovd_follow_config();

	for (size_t i = 0; cfg && i < cfg->n_guests; i++) {
		const struct iov_cfg_guest *c = &cfg->guests[i];
		struct guest *g = find(c->name);
		struct iov_err e = { 0 };

		if (!c->autostart || (g && g->state == G_RUNNING))
			continue;
		if (iovd_guest_start(c, NULL, &e) < 0)
			log_err("guest %s (autostart, %s): %s (%s)", c->name,
				c->where.file ? c->where.file : "config", e.msg, e.fix);
	}
}

void iovd_guests_shutdown(void)
{
	/* The epoll fd is owned by the server loop's watch slot (closed with it). */
	for (struct guest *g = S.guests; g; g = g->next)
		if (g->pidfd >= 0) {
			close(g->pidfd);
			g->pidfd = -1;
		}
	S.init = false;
}
