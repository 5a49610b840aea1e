#include "src/guest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "config/alloc.h"
#include "config/guestspec.h"
#include "irq/place.h"
#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "sriov/nvme.h"
#include "sriov/vfconf.h"
#include "sriov/vfinfo.h"
#include "src/events.h"
#include "src/follow.h"
#include "src/guest_hp.h"
#include "src/guest_priv.h"
#include "src/guest_store.h"
#include "src/guest_vf.h"
#include "src/journal.h"
#include "src/offload.h"
#include "vfio/bind.h"
#include "vfio/guard.h"

#define RESTART_BURST 5		/* restarts allowed ... */
#define RESTART_WINDOW 60	/* ... within this many seconds */

/* iovm's exit status when the host asked for a passthrough device back (iovm(1)). */
#define IOVM_STATUS_DEVICE_GONE 6

static struct {
	bool init;
	char state_dir[PATH_MAX];
	char iovm[PATH_MAX];
	char user[64];
	char dev_dir[PATH_MAX];
	uint8_t prefix[3];
	int epfd, tfd;
	struct guest *guests;
	struct vl_server *srv;
	struct stop_wait *stops;
} S = { .epfd = -1, .tfd = -1 };

/* A VmStop waiting for its guest to end (and its VFs to be back); tfd: SIGKILL when it fires
 * (-1: none, or fired). done NULL: its caller went away (the guest still stops). */
struct stop_wait {
	struct guest *g;
	iovd_stop_done_fn done;
	void *ud;
	int tfd;
	int timeout_s;
	struct stop_wait *next;
};

/* ---- small helpers ---- */

/* The stop timeout of the config in force (policy.stop_timeout), else iovd's default. */
static int policy_stop_timeout(void)
{
	const struct iov_config *cfg = iovd_follow_config();

	return cfg && cfg->policy.stop_timeout >= 0 ? cfg->policy.stop_timeout :
	       IOVD_STOP_TIMEOUT_S;
}

/* sig to the guest's iovm, queued with value (SI_QUEUE: iovm(1) reads it as the request's
 * parameter; a plain kill(2) carries none). */
static int signal_iovm(const struct guest *g, int sig, int value)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return (int)syscall(SYS_pidfd_send_signal, g->pidfd, sig, &si, 0);
}

static struct guest *find(const char *name)
{
	for (struct guest *g = S.guests; g; g = g->next)
		if (strcmp(g->spec.name, name) == 0)
			return g;
	return NULL;
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

static void save(void)
{
	gstore_save(S.guests);
}

/* For src/guest_hp.c (hot attach and detach). */
struct guest *iovd_guest_find(const char *name) { return find(name); }
struct guest *iovd_guest_list(void) { return S.guests; }
void iovd_guest_state_save(void) { save(); }

json_t *iovd_quarantine_json(void)
{
	return gvf_quarantine_json(false);
}

int iovd_unquarantine(const char *dev, struct iov_err *err)
{
	int r = gvf_unquarantine(dev, err);

	if (r == 0)
		save();
	return r;
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

/* STATE_DIR/guests/NAME.in, next to the log. */
static void console_in_path(const struct guest *g, char *buf, size_t len)
{
	size_t n = strlen(g->log);

	if (n > 4 && strcmp(g->log + n - 4, ".log") == 0)
		n -= 4;
	snprintf(buf, len, "%.*s.in", (int)n, g->log);
}

static void on_guest_fd(int fd, void *ud);

static int watch(struct guest *g)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &g->w_pid };
	struct epoll_event out = { .events = EPOLLIN, .data.ptr = &g->w_out };

	if (g->out.rfd >= 0 && epoll_ctl(S.epfd, EPOLL_CTL_ADD, g->out.rfd, &out) < 0)
		return -errno;
	return epoll_ctl(S.epfd, EPOLL_CTL_ADD, g->pidfd, &ev) < 0 ? -errno : 0;
}

/* The guest's output: what its FIFO holds goes to its log (a bounded amount per turn, so
 * a chatty guest cannot hold the loop). At the end of iovm (all): what is left, then the
 * watch ends and the log is closed. */
static void output(struct guest *g, bool all)
{
	int gone = glog_drain(&g->out, GLOG_TURN_BYTES);

	for (int i = 0; all && gone == 0 && g->out.rfd >= 0 && i < 64; i++)
		gone = glog_drain(&g->out, GLOG_TURN_BYTES);
	if (gone == 1 || all) {
		if (g->out.rfd >= 0)
			epoll_ctl(S.epfd, EPOLL_CTL_DEL, g->out.rfd, NULL);
		glog_close(&g->out);
	}
}

/* A candidate MAC is taken when a netdev or another VF's admin MAC on this host has it. */
static int mac_used(const uint8_t mac[6], void *ud)
{
	const struct gnic *n = ud;
	char who[128];

	return iov_mac_in_use(mac, n->pfnet, n->vf_index, NULL, who, sizeof(who));
}

/* The kernel and initrd for a start: copies of the fds a client passed, or the spec's
 * root-named paths opened now. */
static int open_files(struct guest *g, int *kfd, int *ifd, struct iov_err *err)
{
	if (g->files_passed) {
		if (g->kfd < 0)
			return iov_err_set(err, -EBADF, "start it again (`iovctl vm start %s ...`)",
					   "guest %s's kernel and initrd were passed by its client and "
					   "iovd has restarted since: it holds them no more",
					   g->spec.name);
		if ((*kfd = fcntl(g->kfd, F_DUPFD_CLOEXEC, 3)) < 0 ||
		    (g->ifd >= 0 && (*ifd = fcntl(g->ifd, F_DUPFD_CLOEXEC, 3)) < 0))
			return iov_err_set(err, -errno, NULL, "copying the kernel's fd: %s",
					   strerror(errno));
		return 0;
	}
	/* Root's disks: opened and locked once, held while the guest lives. */
	for (size_t i = g->n_dfd; i < g->spec.n_disks; i++) {
		char what[32];
		int fd;

		if (g->spec.disks[i].pool) {
			g->dfd[g->n_dfd++] = -1;	/* an NVMe VF: no file */
			continue;
		}
		snprintf(what, sizeof(what), "disk %zu", i);
		if ((fd = gpriv_disk(what, g->spec.disks[i].path, -1, g->spec.disks[i].readonly,
				     err)) < 0)
			return fd;
		g->dfd[g->n_dfd++] = fd;
	}
	if ((*kfd = gpriv_open_file("kernel", g->spec.kernel, err)) < 0)
		return *kfd;
	if (g->spec.initrd && (*ifd = gpriv_open_file("initrd", g->spec.initrd, err)) < 0)
		return *ifd;
	return 0;
}

/* policy.guest_uids: a uid (and the gid of that number) of the guest's own, one no other
 * running guest, user, group or process has: one compromised iovm cannot signal, trace or
 * read another (the seccomp filter and Landlock forbid that too; this holds without them). */
static int own_uid(const struct guest *g, const struct iov_config *cfg, uid_t *uid, gid_t *gid,
		   struct iov_err *err)
{
	uid_t *taken;
	size_t n = 0;
	int r;

	if (!cfg || !cfg->policy.guest_uid_first)
		return 0;
	for (struct guest *o = S.guests; o; o = o->next)
		n++;
	if (!(taken = calloc(n + 1, sizeof(*taken))))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	n = 0;
	for (struct guest *o = S.guests; o; o = o->next)
		if (o != g && o->own_uid && o->state == G_RUNNING)
			taken[n++] = o->uid;
	r = gpriv_pick_uid(cfg->policy.guest_uid_first, cfg->policy.guest_uid_last, taken, n,
			   NULL, uid, err);
	free(taken);
	if (r == 0)
		*gid = (gid_t)*uid;
	return r;
}

/* What a start is doing, as it happens, for `iovctl vm start` on a terminal (and monitor):
 * a "guest.step" event. The loop is busy with the start meanwhile; Monitor streams are
 * written at once (vl_stream_send), so the caller sees each step when it is taken. */
static void step(const struct guest *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(const struct guest *g, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	iovd_event("guest.step", json_pack("{s:s, s:s}", "guest", g->spec.name, "step", buf));
}

static size_t pool_disks(const struct iov_cfg_guest *spec)
{
	size_t n = 0;

	for (size_t i = 0; i < spec->n_disks; i++)
		n += spec->disks[i].pool != NULL;
	return n;
}

/* An NVMe VF drawn for a disk: its controller online with queue and interrupt resources
 * and the config's namespace attached to it (the drive's own word, read now through the
 * PF); n gets the NSID and what its pool does on release. */
static int disk_vf_check(const struct iov_config *cfg, const struct iov_cfg_resolved *res,
			 const struct iov_dev *d, struct gnic *n, struct iov_err *err)
{
	const char *fix = "bring the drive to the config (`iovctl plan`, `iovctl apply`)";
	struct iov_nvme_state *st = NULL;
	const struct iov_nvme_sec *sec;
	struct iov_cfg_nvmevf nv = { -1, -1, -1 };
	int r, q = iov_config_find_pool(cfg, n->pool);

	n->wipe = q >= 0 && cfg->pools[q].on_release == IOV_RELEASE_FORMAT;
	for (size_t i = 0; i < cfg->n_pfs; i++)
		if (res->pf_dev[i] == d->pf)
			iov_config_vf_nvme(cfg, i, (unsigned)d->vf_index, &nv);
	if (nv.ns < 1)
		return iov_err_set(err, -EINVAL, "give the VF a \"namespace\" in the config",
				   "%s (%s vf %d): the config gives it no namespace", d->name,
				   d->pf->name, d->vf_index);
	if ((r = iov_nvme_read(d->pf->name, &st, err)) < 0)
		return r;
	sec = iov_nvme_sec_of_vf(st, (unsigned)d->vf_index);
	if (!sec || !sec->online || sec->nvq < 2 || sec->nvi < 1)
		r = iov_err_set(err, -ENODEV, fix, "%s: its NVMe controller %s (%s)", d->name,
				sec ? (sec->online ? "has no I/O queue or interrupt resources" :
				       "is offline") : "is not in the drive's secondary controller list",
				st->ctrl);
	else if (st->ns_known && !iov_nvme_ns_attached(st, (uint32_t)nv.ns, sec->scid))
		r = iov_err_set(err, -ENODEV, fix, "%s: namespace %lld is not attached to its "
				"controller %u (%s)", d->name, (long long)nv.ns, sec->scid, st->ctrl);
	iov_nvme_state_free(st);
	if (r < 0)
		return r;
	n->nsid = (uint32_t)nv.ns;
	return 0;
}

/* The start on disk before it changes anything (its VFs, their settings as the PF has them
 * now, no pid yet): an iovd killed from here until iovm's pid is recorded finds the guest
 * "starting" and gives back what the start took (adopt). g may not be on the list yet. */
static void record_start(struct guest *g)
{
	g->starting = true;
	gstore_save_now(S.guests, g);
	iovd_test_point("start-recorded");
}

/* h, u: the host as a worker read it just before (VmStart), taken (freed here); NULL: read
 * here, on the loop. */
static int do_start(struct guest *g, struct iov_host *h, struct iov_usage *u, struct iov_err *err)
{
	struct iov_macreg *reg = NULL;
	struct iov_alloc_taken *taken = NULL;
	struct iov_alloc_in in = { 0 };
	struct gpriv_launch l;
	struct gpriv_nic pn[IOV_GUEST_MAX_NICS];
	struct gpriv_disk pd[IOV_GUEST_MAX_DISKS];
	struct iov_cfg_resolved *res = NULL;
	const struct iov_config *cfg = iovd_follow_config();
	uint8_t prefix[3];
	uid_t uid = 0;
	gid_t gid = 0;
	size_t nt = 0, bound = 0, npd = 0;
	bool set = false, reg_changed = false;
	int r, kfd = -1, ifd = -1, lfd = -1, nodes = iov_numa_nodes();
	pid_t pid;

	gpriv_init(&l);
	g->n_nics = 0;
	g->numa_node = -1;
	if (g->spec.n_nics > IOV_GUEST_MAX_NICS) {
		r = iov_err_set(err, -E2BIG, NULL, "at most %d NICs per guest", IOV_GUEST_MAX_NICS);
		goto out;
	}
	if ((r = gpriv_user(S.user, &uid, &gid, err)) < 0 ||
	    (r = gpriv_hugepages_check(&g->spec, err)) < 0)
		goto out;
	if ((r = own_uid(g, cfg, &uid, &gid, err)) < 0)
		goto out;
	/* A guest without NICs needs nothing of the host model: on a 2,000-device host its
	 * reading would cost the loop ~0.1 s per start. */
	if (!g->spec.n_nics && !pool_disks(&g->spec)) {
		record_start(g);
		goto launch;
	}
	if (g->spec.n_nics + pool_disks(&g->spec) > IOV_GUEST_MAX_NICS) {
		r = iov_err_set(err, -E2BIG, NULL, "at most %d NICs and NVMe disks per guest",
				IOV_GUEST_MAX_NICS);
		goto out;
	}
	if (!h && (r = iov_host_load(&h)) < 0) {
		iov_err_set(err, r, NULL, "reading the host's PCI devices: %s", strerror(-r));
		goto out;
	}
	if (!u && (r = iov_usage_load(&u)) < 0) {
		iov_err_set(err, r, NULL, "reading host usage: %s", strerror(-r));
		goto out;
	}
	/* Every VF another guest holds or quarantine keeps, however many (a fleet node runs
	 * hundreds of guests), and this guest's own. */
	nt = gvf_quarantine_count() + g->spec.n_nics + pool_disks(&g->spec);
	for (struct guest *o = S.guests; o; o = o->next)
		nt += o->state == G_RUNNING ? o->n_nics : 0;
	if (!(taken = calloc(nt, sizeof(*taken)))) {
		r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	nt = 0;
	for (struct guest *o = S.guests; o; o = o->next)
		for (size_t i = 0; o->state == G_RUNNING && i < o->n_nics; i++) {
			snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", o->nics[i].vf);
			taken[nt++].by = o->spec.name;
		}
	for (size_t i = 0; i < gvf_quarantine_count(); i++) {
		snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", gvf_quarantine_vf(i));
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
		n->pool = c->pool ? strdup(c->pool) : NULL;
		n->disk = -1;
		n->vlan = c->vlan;
		n->bound_by_us = !d->driver || strcmp(d->driver, "vfio-pci") != 0;
		snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", d->name);
		taken[nt++].by = g->spec.name;
		g->n_nics = i + 1;
		step(g, "nic%zu: VF %s (%s vf %d)%s%s, verified isolated", i, n->vf, n->pfnet,
		     n->vf_index, n->pool ? " from pool " : "", n->pool ? n->pool : "");
		/* Several NUMA nodes: the guest goes where its first VF is (iovm, hence its
		 * RAM, is placed there below), and its other NICs prefer VFs of that node. */
		if (nodes > 1 && g->numa_node < 0 && d->numa_node >= 0 && d->numa_node < 1024 &&
		    iov_numa_node_cpus(d->numa_node, &l.node_cpus) == 0) {
			g->numa_node = d->numa_node;
			in.numa_node = d->numa_node;
		}
	}
	/* 1b. NVMe VFs for the disks from pools: verified as a NIC's VF, then their
	 * controller online with its namespace. After the NICs in g->nics. */
	for (size_t k = 0; k < g->spec.n_disks; k++) {
		struct gnic *n = &g->nics[g->n_nics];
		struct iov_dev *d;

		if (!g->spec.disks[k].pool)
			continue;
		in.n_taken = nt;
		if ((r = iov_alloc_disk_vf(&in, g->spec.disks[k].pool, &d, err)) < 0)
			goto out;
		memset(n, 0, sizeof(*n));
		snprintf(n->vf, sizeof(n->vf), "%s", d->name);
		snprintf(n->pf, sizeof(n->pf), "%s", d->pf->name);
		n->vf_index = d->vf_index;
		n->group = d->group ? d->group->id : -1;
		n->disk = (int)k;
		n->vlan = -1;
		n->bound_by_us = !d->driver || strcmp(d->driver, "vfio-pci") != 0;
		if (!(n->pool = strdup(g->spec.disks[k].pool))) {
			r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
			goto out;
		}
		g->n_nics++;
		if ((r = disk_vf_check(cfg, res, d, n, err)) < 0)
			goto out;
		step(g, "disk%zu: NVMe VF %s (namespace %u) from pool %s, verified isolated", k, n->vf,
		     (unsigned)n->nsid, n->pool);
		snprintf(taken[nt].dev, sizeof(taken[nt].dev), "%s", d->name);
		taken[nt++].by = g->spec.name;
	}
	/* 2. MACs, recorded before use; the config's prefix, else iovd's default. */
	memcpy(prefix, cfg && cfg->policy.has_mac_prefix ? cfg->policy.mac_prefix : S.prefix, 3);
	if (!(reg = gstore_macreg_load())) {
		r = iov_err_set(err, -EIO, "see iovd's log", "cannot read the MAC registry");
		goto out;
	}
	for (size_t i = 0; i < g->n_nics && g->nics[i].disk < 0; i++) {
		const struct iov_cfg_nic *c = &g->spec.nics[i];
		bool ch = false;

		if ((r = iov_mac_assign(reg, g->spec.name, (unsigned)i, c->has_mac ? c->mac : NULL,
					prefix, mac_used, &g->nics[i], g->nics[i].mac, &ch,
					err)) < 0)
			goto out;
		reg_changed |= ch;
	}
	if (reg_changed && (r = gstore_macreg_save(reg, err)) < 0)
		goto out;
	for (size_t i = 0; i < g->n_nics && g->nics[i].disk < 0; i++)	/* NICs, not disks */
		if ((r = gvf_save(&g->nics[i], err)) < 0)
			goto out;
	record_start(g);
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
		if (g->nics[bound].disk >= 0)
			step(g, "disk%d: %s bound to vfio-pci", g->nics[bound].disk, g->nics[bound].vf);
		else
			step(g, "nic%zu: %s bound to vfio-pci", bound, g->nics[bound].vf);
	}
	iovd_test_point("start-bound");
	set = true;
	for (size_t i = 0; i < g->n_nics && g->nics[i].disk < 0; i++) {
		const uint8_t *m = g->nics[i].mac;

		if ((r = gvf_set(&g->nics[i], err)) < 0)
			goto undo;
		if (g->nics[i].vlan >= 0)
			step(g, "nic%zu: MAC %02x:%02x:%02x:%02x:%02x:%02x, VLAN %d set through %s", i,
			     m[0], m[1], m[2], m[3], m[4], m[5], g->nics[i].vlan, g->nics[i].pfnet);
		else
			step(g, "nic%zu: MAC %02x:%02x:%02x:%02x:%02x:%02x set through %s", i, m[0],
			     m[1], m[2], m[3], m[4], m[5], g->nics[i].pfnet);
	}
	iovd_test_point("start-set");
launch:
	/* 4. What iovm gets (src/guest_priv.h). */
	for (size_t i = 0; i < g->n_nics; i++)
		pn[i] = (struct gpriv_nic){ .vf = g->nics[i].vf, .group = g->nics[i].group };
	if ((r = open_files(g, &kfd, &ifd, err)) < 0)
		goto undo;
	if (g->n_dfd != g->spec.n_disks) {
		r = iov_err_set(err, -EBADF, "start it again (`iovctl vm start %s ...`)", "guest "
				"%s's disks were passed by its client and iovd has restarted since",
				g->spec.name);
		goto undo;
	}
	for (size_t i = 0; i < g->n_dfd; i++)
		if (!g->spec.disks[i].pool)	/* virtio-blk; a pool disk is a VFIO device */
			pd[npd++] = (struct gpriv_disk){ g->dfd[i], g->spec.disks[i].readonly };
	/* Hot-plug slots and their control socket (src/guest_hp.h). */
	if ((g->hp_slots = ghp_slots(g)) > 0 && (lfd = r = ghp_listen(g, err)) < 0)
		goto undo;
	r = gpriv_build(&l, &(struct gpriv_in){ .iovm = S.iovm, .dev_dir = S.dev_dir,
						 .hotplug = g->hp_slots, .control_fd = lfd,
						 .disks = pd, .n_disks = npd,
						 .spec = &g->spec, .nics = pn,
						 .n_nics = g->n_nics, .kernel_fd = kfd,
						 .initrd_fd = ifd,
						 .stop_timeout = policy_stop_timeout() }, err);
	l.node = g->numa_node;
	if (r < 0 || (r = gpriv_check_groups(&l, err)) < 0)
		goto undo;
	{
		char dir[PATH_MAX], fifo[PATH_MAX];
		int outfd = -1;

		gstore_path(dir, sizeof(dir), "guests");
		iov_mkdir_p(dir, 0700);
		snprintf(g->log, sizeof(g->log), "%s/%s.log", dir, g->spec.name);
		console_in_path(g, fifo, sizeof(fifo));
		glog_init(&g->out, g->log, (uint64_t)g->spec.log_mib << 20);
		if ((r = glog_start(&g->out, &outfd, err)) < 0 ||
		    (r = gpriv_open_console(&l, outfd, fifo, err)) < 0)
			goto undo;
	}
	/* 5. Go. */
	{
		size_t nn = 0, nd = g->n_dfd;

		for (size_t i = 0; i < g->n_nics; i++)
			nn += g->nics[i].disk < 0, nd += g->nics[i].disk >= 0;
		step(g, "launching iovm: %llu MiB, %u vCPU%s, %zu NIC%s, %zu disk%s",
		     (unsigned long long)g->spec.mem_mib, g->spec.cpus, g->spec.cpus == 1 ? "" : "s",
		     nn, nn == 1 ? "" : "s", nd, nd == 1 ? "" : "s");
	}
	if ((r = pid = gpriv_spawn(&l, uid, gid, (g->spec.mem_mib + 64) << 20, err)) < 0)
		goto undo;
	g->pid = pid;
	iovd_test_point("start-spawned");
	g->own_uid = cfg && cfg->policy.guest_uid_first;
	g->uid = uid;
	g->gid = gid;
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
	g->reboot_asked = g->restart_asked = false;
	g->adopted = false;
	g->exit_reason[0] = '\0';
	g->exit_code = -1;
	g->started_at = time(NULL);
	g->starting = false;
	gstore_save_with(S.guests, g);	/* g may not be on the list yet: the caller adds it */
	r = 0;
	goto out;
undo:
	gpriv_close(&l);
	if (g->out.rfd >= 0)
		epoll_ctl(S.epfd, EPOLL_CTL_DEL, g->out.rfd, NULL);
	glog_close(&g->out);
	gvf_undo(g->nics, bound < g->n_nics ? bound : g->n_nics, set);
out:
	if (kfd >= 0)
		close(kfd);
	if (ifd >= 0)
		close(ifd);
	if (lfd >= 0)
		close(lfd);	/* iovm holds its copy; iovd connects by path */
	if (r < 0)
		g->n_nics = 0;
	if (g->starting) {	/* it failed, and gave back what it took */
		g->starting = false;
		save();
	}
	for (size_t i = 0; r < 0 && i < IOV_GUEST_MAX_NICS; i++) {
		free(g->nics[i].pool);
		g->nics[i].pool = NULL;
	}
	iov_macreg_free(reg);
	iov_cfg_resolved_free(res);
	iov_usage_free(u);
	iov_host_free(h);
	free(taken);
	return r;
}

static void log_start(struct guest *g, const char *ev)
{
	json_t *vfs = json_array();
	char who[32];

	for (size_t i = 0; i < g->n_nics; i++)
		json_array_append_new(vfs, json_string(g->nics[i].vf));
	if (g->own_uid)
		snprintf(who, sizeof(who), "uid %u", (unsigned)g->uid);
	log_info("guest %s %s: iovm pid %d as %s, VFs %s%s", g->spec.name, ev, (int)g->pid,
		 g->own_uid ? who : S.user, g->n_nics ? g->nics[0].vf : "none",
		 g->n_nics > 1 ? " ..." : "");
	iovd_event(strcmp(ev, "restarted") == 0 ? "guest.restarted" : "guest.started",
		   json_pack("{s:s, s:i, s:o}", "guest", g->spec.name, "pid", (int)g->pid, "vfs", vfs));
}

static int guest_start(const struct iov_cfg_guest *spec, struct iovd_guest_files *files,
		       struct iov_host *h, struct iov_usage *u, json_t **info,
		       struct iov_err *err);

static void files_close(struct iovd_guest_files *f)
{
	if (!f)
		return;
	if (f->kernel_fd >= 0)
		close(f->kernel_fd);
	if (f->initrd_fd >= 0)
		close(f->initrd_fd);
	f->kernel_fd = f->initrd_fd = -1;
	for (size_t i = 0; i < f->n_disks; i++)
		if (f->disk_fd[i] >= 0)
			close(f->disk_fd[i]);
	f->n_disks = 0;
}

/* The guest's files go (it is stopped for good): its disks are unlocked. */
static void files_release(struct guest *g)
{
	if (g->kfd >= 0)
		close(g->kfd);
	if (g->ifd >= 0)
		close(g->ifd);
	g->kfd = g->ifd = -1;
	for (size_t i = 0; i < g->n_dfd; i++)
		if (g->dfd[i] >= 0)
			close(g->dfd[i]);
	g->n_dfd = 0;
}

int iovd_guest_start(const struct iov_cfg_guest *spec, struct iovd_guest_files *files,
		     json_t **info, struct iov_err *err)
{
	return iovd_guest_start_on(spec, files, NULL, NULL, info, err);
}

int iovd_guest_start_on(const struct iov_cfg_guest *spec, struct iovd_guest_files *files,
			struct iov_host *h, struct iov_usage *u, json_t **info,
			struct iov_err *err)
{
	int r;

	if (files && ((r = gpriv_check_passed("kernel", files->kernel_fd, err)) < 0 ||
		      (files->initrd_fd >= 0 &&
		       (r = gpriv_check_passed("initrd", files->initrd_fd, err)) < 0))) {
		files_close(files);
		iov_host_free(h);
		iov_usage_free(u);
		return r;
	}
	for (size_t i = 0; files && i < files->n_disks; i++) {
		char what[32];

		if (i < spec->n_disks && spec->disks[i].pool)
			continue;	/* an NVMe VF from a pool: no fd */
		snprintf(what, sizeof(what), "disk %zu", i);
		if ((r = gpriv_disk(what, NULL, files->disk_fd[i], spec->disks[i].readonly,
				    err)) < 0) {
			files_close(files);
			iov_host_free(h);
			iov_usage_free(u);
			return r;
		}
	}
	r = guest_start(spec, files, h, u, info, err);
	files_close(files);
	return r;
}

static int guest_start(const struct iov_cfg_guest *spec, struct iovd_guest_files *files,
		       struct iov_host *h, struct iov_usage *u, json_t **info,
		       struct iov_err *err)
{
	struct guest *g = find(spec->name), *fresh = NULL;
	int r;

	/* Taken either way: do_start frees them; every way out before it does too. */
	if (!iov_gspec_name_ok(spec->name) || (g && g->state == G_RUNNING) ||
	    (!files && !spec->kernel)) {
		iov_host_free(h);
		iov_usage_free(u);
		h = NULL;
		u = NULL;
	}

	if (!iov_gspec_name_ok(spec->name))
		return iov_err_set(err, -EINVAL, "use 1 to 32 of a-z 0-9 _ -", "guest name '%s' "
				   "is not valid", spec->name ? spec->name : "");
	if (g && g->state == G_RUNNING)
		return iov_err_set(err, -EEXIST, "stop it first (`iovctl vm stop %s`)", "guest %s "
				   "is already running (pid %d)", spec->name, (int)g->pid);
	if (!files && !spec->kernel)
		return iov_err_set(err, -EINVAL, "give --kernel", "guest %s has no kernel", spec->name);
	if (!g) {
		if (!(fresh = g = gstore_guest_new())) {
			iov_host_free(h);
			iov_usage_free(u);
			return -ENOMEM;
		}
	} else {
		iov_gspec_free(&g->spec);
	}
	if ((r = iov_gspec_copy(&g->spec, spec)) < 0) {
		iov_host_free(h);
		iov_usage_free(u);
		goto fail;
	}
	files_release(g);
	g->files_passed = files != NULL;
	g->files_by = files ? files->by : 0;
	g->kfd = files ? files->kernel_fd : -1;
	g->ifd = files ? files->initrd_fd : -1;
	for (size_t i = 0; files && i < files->n_disks; i++) {
		g->dfd[g->n_dfd++] = files->disk_fd[i];
		files->disk_fd[i] = -1;
	}
	if (files)
		files->kernel_fd = files->initrd_fd = -1;	/* the guest holds them now */
	if (!g->spec.mem_mib)
		g->spec.mem_mib = 512;
	if (!g->spec.cpus)
		g->spec.cpus = 1;
	g->restarts = 0;
	g->waiting = false;	/* started by hand: no longer waiting for its VFs */
	if ((r = do_start(g, h, u, err)) < 0)
		goto fail;
	if (fresh) {
		g->next = S.guests;
		S.guests = g;
		save();	/* do_start saved the list before this guest was on it */
	}
	log_start(g, "started");
	if (info)
		*info = gstore_guest_json(g, false);
	return 0;
fail:
	if (fresh) {
		gstore_guest_free(fresh);
	} else if (g) {
		files_release(g);
		g->state = G_FAILED;
		snprintf(g->exit_reason, sizeof(g->exit_reason), "start failed: %s", err->msg);
	}
	return r;
}

int iovd_guest_save(const struct iov_cfg_guest *g, const char **out, struct iov_err *err)
{
	static char path[PATH_MAX];
	const char *dir = iovd_follow_dropin_dir();
	struct iov_cfg_guest keep = *g;
	json_t *doc;
	char *s;
	int r;

	if (!dir)
		return iov_err_set(err, -ENOENT, "start iovd with --config-dir DIR (or without "
				   "--config) to keep guests in drop-ins", "iovd reads no drop-in "
				   "directory: nowhere to save guest %s", g->name);
	keep.autostart = true;
	doc = json_pack("{s:[o]}", "guests", iov_gspec_to_json(&keep));
	if (!doc)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
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
	if (!known && !g->pid) {
		snprintf(g->exit_reason, sizeof(g->exit_reason), "iovd was stopped while starting "
			 "it, before iovm's pid was recorded: what the start took was given back");
		return;
	}
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
	/* A seccomp kill: the kernel's audit line names the call. Nothing here comes from the
	 * guest's log, which the guest writes (it could forge any "reason"). */
	if (si->si_code != CLD_EXITED && si->si_status == SIGSYS) {
		char call[64];

		seccomp_syscall(g->pid, call, sizeof(call));
		snprintf(line, sizeof(line), "seccomp: forbidden system call %s", call[0] ? call :
			 "(not in the kernel log)");
	}
	if (line[0])
		snprintf(g->exit_reason + strlen(g->exit_reason),
			 sizeof(g->exit_reason) - strlen(g->exit_reason), "; %s", line);
}

static bool wants_restart(const struct guest *g)
{
	if (g->restart_asked || (g->reboot_asked && g->exit_code == 3))
		return true;	/* `vm restart`; `vm reboot` of a guest without a policy */
	if (g->stopping || g->spec.restart == IOV_RESTART_NO)
		return false;
	if (g->spec.restart == IOV_RESTART_ALWAYS)
		return true;
	return g->exit_code != 0;	/* reboot (3), crash, error, a signal, unknown */
}

/* A degraded guest is tried again when the host has settled, at most this many times (a
 * restart that degrades again within RESTART_WINDOW counts as a try); then iovd gives up. */
#define DEGRADED_MAX_TRIES 10

static void give_up(struct guest *g)
{
	size_t n = strlen(g->exit_reason);

	g->waiting = false;
	snprintf(g->exit_reason + n, sizeof(g->exit_reason) - n, "; not started again after %d "
		 "tries (last: %s)", g->wait_tries, g->wait_error[0] ? g->wait_error :
		 "it degraded again");
	log_warn("guest %s: gave up restarting it after %d tries: %s; `iovctl vm start` it when "
		 "the host is fixed", g->spec.name, g->wait_tries, g->wait_error[0] ?
		 g->wait_error : "it degraded again");
	iovd_event("guest.gave_up", json_pack("{s:s, s:i, s:s}", "guest", g->spec.name, "tries",
					      g->wait_tries, "reason", g->exit_reason));
	save();
}

static void ended(struct guest *g, const siginfo_t *si, bool known)
{
	json_t *vfs = json_array();
	struct iov_err e = { 0 };
	time_t now = time(NULL);
	bool lost, asked;

	if (g->pidfd >= 0) {
		epoll_ctl(S.epfd, EPOLL_CTL_DEL, g->pidfd, NULL);
		close(g->pidfd);
		g->pidfd = -1;
	}
	output(g, true);	/* its last words, then the log is closed */
	ghp_ended(g);		/* a pending attach/detach fails; hot NICs return below */
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
		/* Degraded again soon after a restart: that restart was one more try. */
		if (g->started_at && now - g->started_at > RESTART_WINDOW)
			g->wait_tries = 0;
		g->waiting = wants_restart(g) && g->wait_tries < DEGRADED_MAX_TRIES;
		if (wants_restart(g) && !g->waiting) {
			g->wait_error[0] = '\0';
			give_up(g);
		}
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
			gvf_return(g->spec.name, &g->nics[i]);
		free(g->nics[i].pool);
		g->nics[i].pool = NULL;
	}
	g->n_nics = 0;
	save();
	if (lost && g->waiting)
		return;		/* its files stay: it is started again with its VFs */
	if (lost || !wants_restart(g)) {
		files_release(g);
		return;
	}
	asked = g->restart_asked || g->reboot_asked;
	if (now - g->window_start > RESTART_WINDOW) {
		g->window_start = now;
		g->window_count = 0;
	}
	if (!asked && ++g->window_count > RESTART_BURST) {
		log_warn("guest %s: %d restarts within %d s; not restarting it again", g->spec.name,
			 RESTART_BURST, RESTART_WINDOW);
		files_release(g);
		return;
	}
	if (do_start(g, NULL, NULL, &e) < 0) {
		g->state = G_FAILED;
		g->reboot_asked = g->restart_asked = false;
		snprintf(g->exit_reason + strlen(g->exit_reason),
			 sizeof(g->exit_reason) - strlen(g->exit_reason), "; restart failed: %s", e.msg);
		log_warn("guest %s: restart failed: %s", g->spec.name, e.msg);
		files_release(g);
		return;
	}
	if (!asked)
		g->restarts++;
	log_start(g, "restarted");
}

static void stop_timer_off(struct stop_wait *w)
{
	if (w->tfd >= 0) {
		if (S.srv)
			vl_server_unwatch(S.srv, w->tfd);	/* closes it */
		else
			close(w->tfd);
		w->tfd = -1;
	}
}

/* The guest has ended and its VFs are back: the VmStop calls waiting for it are answered. */
static void stops_done(struct guest *g)
{
	struct stop_wait **pp = &S.stops;

	while (*pp) {
		struct stop_wait *w = *pp;

		if (w->g != g) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		stop_timer_off(w);
		if (w->done)
			w->done(w->ud, gstore_guest_json(g, false));
		free(w);
	}
}

static void reap(struct guest *g)
{
	siginfo_t si = { 0 };
	bool known = waitid(P_PIDFD, (id_t)g->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid;

	ended(g, &si, known);
	stops_done(g);
}

void iovd_guests_host_settled(void)
{
	for (struct guest *g = S.guests; S.init && g; g = g->next) {
		struct iov_err e = { 0 };

		if (g->state != G_DEGRADED || !g->waiting)
			continue;
		g->wait_tries++;
		if (do_start(g, NULL, NULL, &e) < 0) {
			/* Not yet (its PF is still without a driver, the pool has no VF yet), or
			 * not at all (the kernel file went away): it keeps waiting, and says why,
			 * until the tries run out; `iovctl vm stop` gives up on it at once. */
			if (strcmp(g->wait_error, e.msg) != 0)
				log_info("guest %s: not restarted yet (try %d of %d): %s", g->spec.name,
					 g->wait_tries, DEGRADED_MAX_TRIES, e.msg);
			snprintf(g->wait_error, sizeof(g->wait_error), "%s", e.msg);
			if (g->wait_tries >= DEGRADED_MAX_TRIES)
				give_up(g);
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
		{
			struct gwatch *w = evs[i].data.ptr;

			if (w->kind == GW_OUT)
				output(w->g, false);
			else
				reap(w->g);
		}
	}
}

/* The stop timeout passed: iovm did not end after SIGTERM (the guest did not shut down). */
static void on_stop_timer(int fd, void *ud)
{
	struct stop_wait *w = ud;

	log_warn("guest %s: iovm did not end within %d s of SIGTERM; SIGKILL", w->g->spec.name,
		 w->timeout_s);
	if (w->g->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, w->g->pidfd, SIGKILL, NULL, 0);
	stop_timer_off(w);
}

/* vm stop and vm restart: restart says what happens once iovm has ended (a later vm stop
 * of a guest restarting cancels the restart, and a stop cancels an asked reboot). */
static int stop_common(const char *name, bool force, int timeout_s, bool restart,
		       iovd_stop_done_fn done, void *ud, json_t **info, struct iov_err *err);

int iovd_guest_stop_async(const char *name, bool force, int timeout_s, iovd_stop_done_fn done,
			  void *ud, json_t **info, struct iov_err *err)
{
	return stop_common(name, force, timeout_s, false, done, ud, info, err);
}

static int stop_common(const char *name, bool force, int timeout_s, bool restart,
		       iovd_stop_done_fn done, void *ud, json_t **info, struct iov_err *err)
{
	struct guest *g = find(name);
	struct stop_wait *w;
	bool again;

	if (g && g->state == G_DEGRADED && g->waiting) {
		g->waiting = false;	/* no restart when its VFs come back */
		g->state = G_STOPPED;
		files_release(g);
		log_info("guest %s: stopped while waiting for its VFs", name);
		save();
		if (info)
			*info = gstore_guest_json(g, false);
		return 0;
	}
	if (!g || g->state != G_RUNNING)
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no running guest named '%s'",
				   name);
	if (!(w = calloc(1, sizeof(*w))))
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	w->g = g;
	w->done = done;
	w->ud = ud;
	w->tfd = -1;
	w->timeout_s = timeout_s;
	again = g->stopping;
	g->stopping = true;
	g->restart_asked = restart;
	g->reboot_asked = false;
	log_info("guest %s: %sstopping (%s)", name, again ? "again " : "", force ? "SIGKILL" :
		 "SIGTERM: the guest is asked to shut down");
	/* SIGTERM carries this stop's timeout (plus a backstop) to iovm, which otherwise gives
	 * the guest its --stop-timeout (policy.stop_timeout at start): iovd's SIGKILL below
	 * stays the deadline, iovm's is for an iovd gone meanwhile. */
	if ((!again || force) &&
	    (force ? (int)syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL, NULL, 0) :
		     signal_iovm(g, SIGTERM, timeout_s + IOVD_STOP_BACKSTOP_S)) < 0 &&
	    errno != ESRCH) {
		free(w);
		return iov_err_set(err, -errno, NULL, "signalling iovm pid %d: %s", (int)g->pid,
				   strerror(errno));
	}
	/* SIGKILL if it has not ended in time. The loop serves others meanwhile: the caller's
	 * answer waits for the end (reap) without holding anything. */
	if (!force && S.srv) {
		struct itimerspec it = { .it_value = { timeout_s > 0 ? timeout_s : 0,
						       timeout_s > 0 ? 0 : 1 } };

		w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (w->tfd < 0 || timerfd_settime(w->tfd, 0, &it, NULL) < 0 ||
		    vl_server_watch(S.srv, w->tfd, on_stop_timer, w) < 0) {
			if (w->tfd >= 0)
				close(w->tfd);
			w->tfd = -1;
			log_warn("guest %s: no stop timer (%s); SIGKILL now", name, strerror(errno));
			syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL, NULL, 0);
		} else {
			vl_server_watch_name(S.srv, w->tfd, "guest stop timeout");
		}
	}
	w->next = S.stops;
	S.stops = w;
	if (!S.srv) {
		/* No loop to come back to (not initialised): wait here, as iovd did before. */
		struct pollfd p = { .fd = g->pidfd, .events = POLLIN };

		if (!force && poll(&p, 1, timeout_s * 1000) == 0)
			syscall(SYS_pidfd_send_signal, g->pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, 5000);
		reap(g);
	}
	return 1;
}

int iovd_guest_restart_async(const char *name, bool force, int timeout_s,
			     iovd_stop_done_fn done, void *ud, struct iov_err *err)
{
	struct guest *g = find(name);
	int r;

	if (!g || g->state != G_RUNNING)
		return iov_err_set(err, -ENOENT, g ? "start it (`iovctl vm start`)" :
				   "see `iovctl vm list`", "no running guest named '%s'", name);
	if (g->stopping && !g->restart_asked)
		return iov_err_set(err, -EBUSY, "wait for it to stop, then `iovctl vm start` it",
				   "guest %s is stopping", name);
	if (g->files_passed && g->kfd < 0)
		return iov_err_set(err, -EBADF, "stop it and start it again (`iovctl vm stop`, "
				   "`vm start ...`)", "guest %s's kernel and initrd were passed by "
				   "its client and iovd has restarted since: it could not be started "
				   "again", name);
	log_info("guest %s: restarting (stop, then start with a new iovm)", name);
	r = stop_common(name, force, timeout_s, true, done, ud, NULL, err);
	return r;
}

int iovd_guest_reboot(const char *name, bool force, json_t **info, struct iov_err *err)
{
	struct guest *g = find(name);

	if (!g || g->state != G_RUNNING)
		return iov_err_set(err, -ENOENT, g ? "start it (`iovctl vm start`)" :
				   "see `iovctl vm list`", "no running guest named '%s'", name);
	if (g->stopping)
		return iov_err_set(err, -EBUSY, NULL, "guest %s is stopping", name);
	if (signal_iovm(g, SIGUSR2, force ? 1 : 0) < 0 && errno != ESRCH)
		return iov_err_set(err, -errno, NULL, "signalling iovm pid %d: %s", (int)g->pid,
				   strerror(errno));
	/* Without a restart policy iovm ends with status 3: started again (ended()). */
	g->reboot_asked = true;
	log_info("guest %s: reboot asked (%s)", name, force ? "reset" :
		 "Ctrl-Alt-Del, or a reset if its keyboard does not listen");
	iovd_event("guest.reboot", json_pack("{s:s, s:i, s:b}", "guest", name, "pid", (int)g->pid,
					     "force", force));
	*info = gstore_guest_json(g, false);
	return 0;
}

void iovd_guest_stop_cancel(void *ud)
{
	for (struct stop_wait *w = S.stops; w; w = w->next)
		if (w->ud == ud)
			w->done = NULL;
}

/* ---- queries ---- */

json_t *iovd_guests_json(void)
{
	json_t *a = json_array();

	for (struct guest *g = S.guests; g; g = g->next)
		json_array_append_new(a, gstore_guest_json(g, false));
	return a;
}

int iovd_guest_json(const char *name, json_t **out, struct iov_err *err)
{
	struct guest *g = find(name);

	if (!g)
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no guest named '%s'", name);
	*out = gstore_guest_json(g, false);
	return 0;
}

int iovd_guest_log(const char *name, size_t max, long long from, char **out, size_t *len,
		   size_t *end, struct iov_err *err)
{
	struct guest *g = find(name);
	uint64_t e = 0;
	int r;

	if (!g || !g->log[0])
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no guest named '%s'", name);
	if ((r = glog_read(&g->out, max, from, out, len, &e, err)) < 0)
		return r;
	*end = (size_t)e;
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

/* The recorded process is an iovm of this iovd: run by the guest's uid (its own, recorded,
 * or the guest user's), from iovd's iovm program (that path, or that path deleted:
 * replaced by an upgrade while it ran). A forged or stale entry naming another process is
 * not adopted (and never signalled). */
static bool proc_is_iovm(const struct guest *g, char *why, size_t len)
{
	char p[64], exe[PATH_MAX + 16], line[256];
	struct iov_err e = { 0 };
	uid_t uid = 0, ruid = (uid_t)-1;
	pid_t pid = g->pid;
	gid_t gid;
	ssize_t n;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	n = readlink(p, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	if (n <= 0 || (strcmp(exe, S.iovm) != 0 && (strncmp(exe, S.iovm, strlen(S.iovm)) != 0 ||
						  strcmp(exe + strlen(S.iovm), " (deleted)") != 0))) {
		snprintf(why, len, "it runs %s, not %s", n > 0 ? exe : "(unknown)", S.iovm);
		return false;
	}
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	if ((f = fopen(p, "re"))) {
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Uid: %u", &ruid) == 1)
				break;
		fclose(f);
	}
	if (g->own_uid) {
		if (ruid != g->uid) {
			snprintf(why, len, "it runs as uid %d, not the guest's uid %u", (int)ruid,
				 (unsigned)g->uid);
			return false;
		}
	} else if (gpriv_user(S.user, &uid, &gid, &e) < 0 || ruid != uid) {
		snprintf(why, len, "it runs as uid %d, not the guest user %s", (int)ruid, S.user);
		return false;
	}
	return true;
}

/* pid holds one of g's files: its console FIFO or one of its VFs' VFIO groups. */
static bool holds_guest_files(pid_t pid, const struct guest *g)
{
	char dir[64], p[64 + 256], link[PATH_MAX], grp[PATH_MAX];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(dir)))
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if ((n = readlink(p, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, g->out.fifo) == 0;
		for (size_t i = 0; !found && i < g->n_nics; i++) {
			snprintf(grp, sizeof(grp), "%s/vfio/%d", S.dev_dir, g->nics[i].group);
			found = g->nics[i].group >= 0 && strcmp(link, grp) == 0;
		}
	}
	closedir(d);
	return found;
}

/* pid runs iovd's iovm program (or that program, deleted: replaced by an upgrade). Its uid
 * is not asked: a stray's guest had none recorded yet (policy.guest_uids). */
static bool proc_runs_iovm(pid_t pid)
{
	char p[64], exe[PATH_MAX + 16];
	size_t l = strlen(S.iovm);
	ssize_t n;

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	n = readlink(p, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	return n > 0 && (strcmp(exe, S.iovm) == 0 ||
			 (strncmp(exe, S.iovm, l) == 0 && strcmp(exe + l, " (deleted)") == 0));
}

/* pid runs iovd's own program: a child of a killed iovd that had not yet exec'd iovm. */
static bool proc_is_iovd(pid_t pid)
{
	char p[64], exe[PATH_MAX], self[PATH_MAX];
	ssize_t n, m;

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	n = readlink(p, exe, sizeof(exe) - 1);
	m = readlink("/proc/self/exe", self, sizeof(self) - 1);
	return n > 0 && n == m && memcmp(exe, self, (size_t)n) == 0;
}

/* A guest recorded as starting: the iovd that started it was killed before it recorded
 * iovm's pid. An iovm it had started already (iovd's iovm program as the guest user, or
 * that iovd's child before its exec, holding the guest's console FIFO or one of its VFs'
 * groups) is killed and waited for (at most 5 s), so that the VFs can be reset and
 * returned: no iovm runs that iovd does not know, and no VF is both back in its pool and in
 * a guest. */
static void kill_strays(struct guest *g)
{
	struct dirent *e;
	DIR *d = opendir("/proc");

	if (!d) {
		log_warn_errno(-errno, "guest %s: cannot look for its iovm in /proc", g->spec.name);
		return;
	}
	while ((e = readdir(d))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		struct pollfd pfd;
		int fd;

		if (*end || pid <= 1 || pid == getpid() ||
		    (!proc_runs_iovm((pid_t)pid) && !proc_is_iovd((pid_t)pid)) ||
		    !holds_guest_files((pid_t)pid, g))
			continue;
		if ((fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0)
			continue;	/* ended meanwhile */
		if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) < 0) {
			log_warn_errno(-errno, "guest %s: killing iovm pid %ld", g->spec.name, pid);
			close(fd);
			continue;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 5000) <= 0)
			log_warn("guest %s: iovm pid %ld has not ended 5 s after SIGKILL", g->spec.name,
				 pid);
		close(fd);
		log_warn("guest %s: killed iovm pid %ld: the iovd before this one started it and was "
			 "killed before it recorded it", g->spec.name, pid);
	}
	closedir(d);
}

/* A guest read back from guests.json: still running (the recorded pid, started at the
 * recorded time: a pid alone may have been reused), waiting for its VFs, or ended while
 * iovd was away (cleaned up, no restart). */
static void adopt(struct guest *g)
{
	unsigned long long st = 0;
	char comm[32] = "", cp[64], why[PATH_MAX + 64];
	int fd;

	g->next = S.guests;
	S.guests = g;
	if (g->waiting) {
		log_info("guest %s: degraded, waiting for its VFs to restart it", g->spec.name);
		g->n_nics = 0;
		return;
	}
	if (g->starting) {
		log_warn("guest %s: iovd was stopped while starting it; giving back its VFs",
			 g->spec.name);
		glog_init(&g->out, g->log, (uint64_t)g->spec.log_mib << 20);
		kill_strays(g);
		g->starting = false;
		g->pid = 0;
		g->stopping = true;	/* not started again here (autostart may) */
		ended(g, NULL, false);
		return;
	}
	g->pidfd = (int)syscall(SYS_pidfd_open, g->pid, 0);
	glog_init(&g->out, g->log, (uint64_t)g->spec.log_mib << 20);
	if (glog_adopt(&g->out) < 0)
		log_warn("guest %s: its output FIFO %s is gone; its output is not logged", g->spec.name,
			 g->out.fifo);
	snprintf(cp, sizeof(cp), "/proc/%d/comm", (int)g->pid);
	if ((fd = open(cp, O_RDONLY | O_CLOEXEC)) >= 0) {
		ssize_t n = read(fd, comm, sizeof(comm) - 1);

		comm[n > 0 ? n : 0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		close(fd);
	}
	if (g->pidfd >= 0 && proc_starttime(g->pid, &st) == 0 && st == g->starttime &&
	    !proc_is_iovm(g, why, sizeof(why)))
		log_warn("guest %s: pid %d is not its iovm (%s); not adopted", g->spec.name,
			 (int)g->pid, why);
	else if (g->pidfd >= 0 && st == g->starttime && watch(g) == 0) {
		g->adopted = true;
		log_info("guest %s: re-adopted iovm pid %d (%s)", g->spec.name, (int)g->pid, comm);
		ghp_adopt(g);	/* hot-plugged VFs: what iovm has stays, the rest returns */
		return;
	}
	if (g->pidfd >= 0)
		close(g->pidfd);
	g->pidfd = -1;
	g->stopping = true;	/* no restart of what ended while iovd was away */
	ended(g, NULL, false);
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
	snprintf(S.dev_dir, sizeof(S.dev_dir), "%s", o->dev_dir ? o->dev_dir : "/dev");
	gstore_init(S.state_dir, S.user);
	if ((r = iov_mkdir_p(S.state_dir, 0755)) < 0)
		return log_err_errno(r, "state dir %s", S.state_dir);
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (S.epfd < 0)
		return log_err_errno(-errno, "epoll_create1");
	if ((r = vl_server_watch(srv, S.epfd, on_guest_fd, NULL)) < 0)
		return log_err_errno(r, "watching guests");
	vl_server_watch_name(srv, S.epfd, "guests (iovm ended, interrupt placement)");
	S.srv = srv;
	ghp_init(srv, S.dev_dir, S.prefix);
	gstore_set_loop(srv);
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
	gstore_load(adopt);
	/* What adoption found is on disk before iovd serves (a guest given back is no longer
	 * recorded). */
	gstore_save_now(S.guests, NULL);
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
		if (iovd_guest_start(c, NULL, NULL, &e) < 0)
			log_err("guest %s (autostart, %s): %s (%s)", c->name,
				c->where.file ? c->where.file : "config", e.msg, e.fix);
	}
}

void iovd_guests_shutdown(void)
{
	/* Stops still waiting: their guests go on ending without iovd (re-adopted, or found
	 * ended, by the next one); their callers are answered by the server going away. */
	while (S.stops) {
		struct stop_wait *w = S.stops;

		S.stops = w->next;
		stop_timer_off(w);
		free(w);
	}
	S.srv = NULL;
	gstore_set_loop(NULL);
	iovd_offload_wait();	/* guests.json as last saved is on disk */
	/* The epoll fd is owned by the server loop's watch slot (closed with it). */
	for (struct guest *g = S.guests; g; g = g->next)
		if (g->pidfd >= 0) {
			close(g->pidfd);
			g->pidfd = -1;
		}
	S.init = false;
}
