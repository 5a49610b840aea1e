#include "src/guest_hp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/alloc.h"
#include "config/guestspec.h"
#include "lib/atomicfile.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "sriov/vfconf.h"
#include "sriov/vfinfo.h"
#include "src/follow.h"
#include "src/guest.h"
#include "src/guest_store.h"
#include "src/guest_vf.h"
#include "vfio/bind.h"
#include "vfio/guard.h"

#define MSG_MAX 256
#define ATTACH_WAIT_S 30	/* iovm answers an attach after the VF's reset (FLR) */
#define DETACH_SLACK_S 15	/* iovm answers a detach at its timeout; iovd waits longer */

struct ghp_op {
	struct guest *g;
	bool attach;
	char vf[IOV_PCI_ADDR_STRLEN];
	iovd_hp_done_fn done;		/* NULL: the caller went away */
	void *ud;
	int tfd;
	int timeout_s;
	bool save;
	struct iov_cfg_nic cfg;		/* attach --save: the NIC spec to keep */
};

static struct {
	struct vl_server *srv;
	char dev_dir[PATH_MAX];
	uint8_t prefix[3];
} H;

void ghp_init(struct vl_server *srv, const char *dev_dir, const uint8_t prefix[3])
{
	H.srv = srv;
	snprintf(H.dev_dir, sizeof(H.dev_dir), "%s", dev_dir && *dev_dir ? dev_dir : "/dev");
	memcpy(H.prefix, prefix, 3);
}

int ghp_slots(const struct guest *g)
{
	size_t used = g->spec.n_nics, room;

	if (!g->spec.n_nics)
		return 0;
	for (size_t i = 0; i < g->spec.n_disks; i++)
		used += g->spec.disks[i].pool != NULL;	/* an NVMe VF is a device of iovm's too */
	if (used >= IOV_GUEST_MAX_NICS)
		return 0;
	room = IOV_GUEST_MAX_NICS - used;
	return room < IOVD_HP_SLOTS ? (int)room : IOVD_HP_SLOTS;
}

static void ctl_path(const struct guest *g, char *buf, size_t len)
{
	char rel[96];

	snprintf(rel, sizeof(rel), "guests/%s.ctl", g->spec.name);
	gstore_path(buf, len, rel);
}

int ghp_listen(struct guest *g, struct iov_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	int fd;

	gstore_path(dir, sizeof(dir), "guests");
	iov_mkdir_p(dir, 0700);
	ctl_path(g, a.sun_path, sizeof(a.sun_path));
	unlink(a.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 2) < 0) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		return iov_err_set(err, e, NULL, "guest %s: control socket %s: %s", g->spec.name,
				   a.sun_path, strerror(-e));
	}
	return fd;
}

/* ---- the connection to iovm ---- */

static void on_ctl(int fd, void *ud);

static void ctl_close(struct guest *g)
{
	if (g->ctl_fd < 0)
		return;
	if (H.srv)
		vl_server_unwatch(H.srv, g->ctl_fd);	/* closes it */
	else
		close(g->ctl_fd);
	g->ctl_fd = -1;
}

static int ctl_connect(struct guest *g, struct iov_err *err)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (g->ctl_fd >= 0)
		return 0;
	if (!g->hp_slots)
		return iov_err_set(err, -ENOTSUP, "give the guest a NIC at start (`iovctl vm start "
				   "... --nic POOL`); hot-plug needs the VFIO container that NIC "
				   "makes", "guest %s has no hot-plug slots (it was started without a "
				   "NIC, or by an iovd without hot-plug)", g->spec.name);
	ctl_path(g, a.sun_path, sizeof(a.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = -errno;

		if (fd >= 0)
			close(fd);
		return iov_err_set(err, e, "restart the guest (`iovctl vm stop`, `vm start`)",
				   "guest %s: iovm's control socket %s: %s", g->spec.name, a.sun_path,
				   strerror(-e));
	}
	g->ctl_fd = fd;
	if (H.srv && vl_server_watch(H.srv, fd, on_ctl, g) == 0)
		vl_server_watch_name(H.srv, fd, "guest control socket");
	return 0;
}

static int ctl_send(struct guest *g, const char *msg, int pass_fd, struct iov_err *err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)msg, strlen(msg) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int r;

	if ((r = ctl_connect(g, err)) < 0)
		return r;
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	if (sendmsg(g->ctl_fd, &m, MSG_NOSIGNAL) < 0) {
		r = -errno;
		ctl_close(g);
		return iov_err_set(err, r, "see the guest's log (`iovctl vm log`)", "guest %s: "
				   "sending to iovm: %s", g->spec.name, strerror(-r));
	}
	return 0;
}

/* ---- operations ---- */

static void op_timer_off(struct ghp_op *op)
{
	if (op->tfd < 0)
		return;
	if (H.srv)
		vl_server_unwatch(H.srv, op->tfd);
	else
		close(op->tfd);
	op->tfd = -1;
}

static void op_finish(struct guest *g, json_t *result, const struct iov_err *err, int r)
{
	struct ghp_op *op = g->hp_op;

	if (!op) {
		json_decref(result);
		return;
	}
	g->hp_op = NULL;
	op_timer_off(op);
	if (op->done)
		op->done(op->ud, result, err, r);
	else
		json_decref(result);
	iov_gspec_nic_free(&op->cfg);
	free(op);
}

/* The operation failed: err says why (iov_err_set at the caller, its format checked). */
#define op_fail(g, r, fix, ...)							\
	do {									\
		struct iov_err e_ = { 0 };					\
		iov_err_set(&e_, (r), (fix), __VA_ARGS__);			\
		op_finish((g), NULL, &e_, (r));					\
	} while (0)

static ssize_t nic_index(const struct guest *g, const char *vf)
{
	for (size_t i = 0; i < g->n_nics; i++)
		if (strcmp(g->nics[i].vf, vf) == 0)
			return (ssize_t)i;
	return -1;
}

static void nic_remove(struct guest *g, size_t i)
{
	free(g->nics[i].pool);
	memmove(&g->nics[i], &g->nics[i + 1], (g->n_nics - i - 1) * sizeof(g->nics[0]));
	g->n_nics--;
	memset(&g->nics[g->n_nics], 0, sizeof(g->nics[0]));
}

/* A hot NIC leaves: reset, check, settings back, back to its pool (or quarantine). */
static void nic_return(struct guest *g, const char *vf)
{
	ssize_t i = nic_index(g, vf);

	if (i < 0)
		return;
	gvf_return(g->spec.name, &g->nics[i]);
	nic_remove(g, (size_t)i);
	iovd_guest_state_save();
}

static json_t *result_json(struct guest *g, const char *vf, const char *how)
{
	json_t *r = json_pack("{s:o, s:s}", "guest", gstore_guest_json(g, false), "vf", vf);

	if (how)
		json_object_set_new(r, "released", json_boolean(strcmp(how, "released") == 0));
	return r;
}

static int spec_save(struct guest *g, struct iov_err *err, const char **path)
{
	return iovd_guest_save(&g->spec, path, err);
}

static void attach_done(struct guest *g, struct ghp_op *op, const char *slot)
{
	ssize_t i = nic_index(g, op->vf);
	const char *path = NULL;
	json_t *res;

	if (i < 0) {
		op_fail(g, -EIO, NULL, "%s: gone from guest %s's records", op->vf, g->spec.name);
		return;
	}
	g->nics[i].attaching = false;
	if (op->save) {
		struct iov_cfg_nic *n = realloc(g->spec.nics, (g->spec.n_nics + 1) *
						sizeof(*n));
		struct iov_err e = { 0 };

		if (n) {
			g->spec.nics = n;
			n[g->spec.n_nics] = op->cfg;
			op->cfg = (struct iov_cfg_nic){ 0 };
			g->spec.n_nics++;
			if (spec_save(g, &e, &path) < 0)
				log_warn("guest %s: attached %s, not saved: %s", g->spec.name, op->vf,
					 e.msg);
		}
	}
	iovd_guest_state_save();
	log_info("guest %s: %s attached in hot-plug slot %s", g->spec.name, op->vf, slot);
	res = result_json(g, op->vf, NULL);
	json_object_set_new(res, "slot", json_integer(atoi(slot)));
	if (path)
		json_object_set_new(res, "saved", json_string(path));
	op_finish(g, res, NULL, 0);
}

/* One message from iovm (vmm/hotplug.h lists them). */
static void on_message(struct guest *g, char *msg)
{
	struct ghp_op *op = g->hp_op;
	char *w[5] = { 0 }, *save = NULL, vf[IOV_PCI_ADDR_STRLEN] = "", copy[MSG_MAX + 1];
	int nw = 0;

	log_debug("guest %s: iovm says '%s'", g->spec.name, msg);
	snprintf(copy, sizeof(copy), "%s", msg);
	for (char *t = strtok_r(copy, " ", &save); t && nw < 5; t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	/* "ok attach 0000:01:10.1 slot 1", "error attach 0000:01:10.1: why", "released VF" */
	if (nw >= 3) {
		size_t l = strlen(w[2]);

		snprintf(vf, sizeof(vf), "%.*s", (int)(l && w[2][l - 1] == ':' ? l - 1 : l), w[2]);
	} else if (nw == 2) {
		snprintf(vf, sizeof(vf), "%s", w[1]);
	}
	if (nw == 2 && strcmp(w[0], "released") == 0) {
		/* The guest powered a slot off by itself: its VF goes back. */
		if (op && strcmp(op->vf, vf) == 0 && !op->attach) {
			nic_return(g, vf);
			op_finish(g, result_json(g, vf, "released"), NULL, 0);
			return;
		}
		log_info("guest %s released %s (its slot powered off by the guest)", g->spec.name,
			 vf);
		nic_return(g, vf);
		return;
	}
	if (nw >= 3 && strcmp(w[1], "attach") == 0) {
		if (!op || !op->attach || strcmp(op->vf, vf) != 0)
			return;
		if (strcmp(w[0], "ok") == 0 && nw == 5) {
			attach_done(g, op, w[4]);
		} else {
			const char *why = strchr(msg, ':') ? strchr(msg, ':') + 2 : msg;

			nic_return(g, vf);
			op_fail(g, -EIO, "see the guest's log (`iovctl vm log`)",
				"iovm could not plug %s in: %s", vf, why);
		}
		return;
	}
	if (nw >= 3 && strcmp(w[1], "detach") == 0) {
		bool ok = strcmp(w[0], "ok") == 0 && nw == 4;

		if (ok) {
			if (strcmp(w[3], "surprise") == 0)
				log_warn("guest %s did not release %s in time: removed by surprise "
					 "(the guest keeps running)", g->spec.name, vf);
			nic_return(g, vf);
		}
		if (!op || op->attach || strcmp(op->vf, vf) != 0)
			return;
		if (ok) {
			json_t *res = result_json(g, vf, w[3]);
			const char *path = NULL;

			if (op->save && strcmp(w[3], "released") == 0) {
				/* nothing in the spec to remove unless it was saved: done below */
			}
			if (op->save) {
				struct iov_err e = { 0 };

				if (spec_save(g, &e, &path) < 0)
					log_warn("guest %s: detached %s, not saved: %s", g->spec.name, vf,
						 e.msg);
				else
					json_object_set_new(res, "saved", json_string(path));
			}
			op_finish(g, res, NULL, 0);
		} else {
			const char *why = strchr(msg, ':') ? strchr(msg, ':') + 2 : msg;

			op_fail(g, -EIO, NULL, "iovm could not detach %s: %s", vf, why);
		}
		return;
	}
	log_warn("guest %s: iovm's control socket said '%s'", g->spec.name, msg);
}

static void on_ctl(int fd, void *ud)
{
	struct guest *g = ud;
	char buf[MSG_MAX + 1];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, MSG_MAX, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ctl_close(g);
			if (g->hp_op)
				op_fail(g, -EPIPE, "see the guest's log (`iovctl vm log`)",
					"guest %s: iovm closed its control socket", g->spec.name);
			return;
		}
		buf[n] = '\0';
		on_message(g, buf);
		if (g->ctl_fd != fd)
			return;
	}
}

static void on_op_timer(int fd, void *ud)
{
	struct guest *g = ud;
	struct ghp_op *op = g->hp_op;

	if (!op)
		return;
	op_timer_off(op);
	if (op->attach) {
		struct iov_err e = { 0 };
		char msg[96];

		/* No answer: take it back by surprise; its "ok detach" returns the VF. */
		snprintf(msg, sizeof(msg), "detach %s 0", op->vf);
		ctl_send(g, msg, -1, &e);
		op_fail(g, -ETIMEDOUT, "see the guest's log (`iovctl vm log`)",
			"iovm did not answer the attach of %s within %d s; it is being taken back",
			op->vf, ATTACH_WAIT_S);
	} else {
		op_fail(g, -ETIMEDOUT, "see the guest's log (`iovctl vm log`)",
			"iovm did not answer the detach of %s in time", op->vf);
	}
}

static int op_start(struct guest *g, bool attach, const char *vf, int wait_s,
		    iovd_hp_done_fn done, void *ud, bool save, struct ghp_op **out,
		    struct iov_err *err)
{
	struct ghp_op *op = calloc(1, sizeof(*op));
	struct itimerspec it = { .it_value = { wait_s, 0 } };

	if (!op)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	*op = (struct ghp_op){ .g = g, .attach = attach, .done = done, .ud = ud, .tfd = -1,
			       .timeout_s = wait_s, .save = save };
	snprintf(op->vf, sizeof(op->vf), "%s", vf);
	if (H.srv) {
		op->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (op->tfd < 0 || timerfd_settime(op->tfd, 0, &it, NULL) < 0 ||
		    vl_server_watch(H.srv, op->tfd, on_op_timer, g) < 0) {
			if (op->tfd >= 0)
				close(op->tfd);
			free(op);
			return iov_err_set(err, -errno, NULL, "a timer: %s", strerror(errno));
		}
		vl_server_watch_name(H.srv, op->tfd, attach ? "guest attach" : "guest detach");
	}
	g->hp_op = op;
	*out = op;
	return 0;
}

static int check_guest(struct guest *g, const char *name, struct iov_err *err)
{
	if (!g || g->state != G_RUNNING)
		return iov_err_set(err, -ENOENT, "see `iovctl vm list`", "no running guest named "
				   "'%s'", name);
	if (g->stopping)
		return iov_err_set(err, -EBUSY, NULL, "guest %s is stopping", name);
	if (g->hp_op)
		return iov_err_set(err, -EBUSY, "wait for it and try again", "guest %s: an %s of %s "
				   "is under way", name, g->hp_op->attach ? "attach" : "detach",
				   g->hp_op->vf);
	return 0;
}

/* ---- attach ---- */

/* Test only (scenario guest_hotplug): IOVD_TEST_HP_CRASH=recorded|sent ends iovd at once
 * after the attaching NIC is recorded, or after iovm was sent its group: the crash the next
 * start must converge from. */
static void test_crash(const char *where)
{
	const char *e = getenv("IOVD_TEST_HP_CRASH");

	if (e && strcmp(e, where) == 0) {
		log_warn("test: IOVD_TEST_HP_CRASH=%s: iovd ends here", where);
		_exit(99);
	}
}

static int mac_used(const uint8_t mac[6], void *ud)
{
	const struct gnic *n = ud;
	char who[128];

	return iov_mac_in_use(mac, n->pfnet, n->vf_index, NULL, who, sizeof(who));
}

/* The group's fd for iovm, checked viable (no member on a host driver). */
static int open_group(const struct gnic *n, struct iov_err *err)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/vfio/%d", H.dev_dir, n->group);
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return iov_err_set(err, -errno, "see `iovctl verify`", "%s: %s",
				   path, strerror(errno));
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) < 0 || !(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		close(fd);
		return iov_err_set(err, -EBUSY, "see `iovctl verify`", "%s: IOMMU group %d is not "
				   "viable (a member is on a host driver)", n->vf, n->group);
	}
	return fd;
}

int iovd_guest_attach_async(const char *name, const struct iov_cfg_nic *c, bool save,
			    iovd_hp_done_fn done, void *ud, struct iov_err *err)
{
	struct guest *g = iovd_guest_find(name);
	struct iov_host *h = NULL;
	struct iov_usage *u = NULL;
	struct iov_macreg *reg = NULL;
	struct iov_alloc_taken *taken = NULL;
	struct iov_cfg_resolved *res = NULL;
	const struct iov_config *cfg = iovd_follow_config();
	struct gnic *n;
	struct iov_dev *d;
	struct ghp_op *op;
	size_t nt = 0;
	bool set = false, ch = false, recorded = false;
	uint8_t prefix[3];
	char msg[96];
	int r, gfd = -1;

	if ((r = check_guest(g, name, err)) < 0)
		return r;
	if (!g->hp_slots)
		return ctl_connect(g, err);	/* says why */
	if (g->n_nics >= IOV_GUEST_MAX_NICS)
		return iov_err_set(err, -E2BIG, NULL, "guest %s has %d NICs already", name,
				   IOV_GUEST_MAX_NICS);
	if ((r = iov_host_load(&h)) < 0)
		return iov_err_set(err, r, NULL, "reading the host's PCI devices: %s", strerror(-r));
	if ((r = iov_usage_load(&u)) < 0) {
		iov_err_set(err, r, NULL, "reading host usage: %s", strerror(-r));
		goto out;
	}
	for (struct guest *o = iovd_guest_list(); o; o = o->next)
		nt += o->state == G_RUNNING ? o->n_nics : 0;
	nt += gvf_quarantine_count();
	if (!(taken = calloc(nt + 1, sizeof(*taken)))) {
		r = iov_err_set(err, -ENOMEM, NULL, "out of memory");
		goto out;
	}
	nt = 0;
	for (struct guest *o = iovd_guest_list(); o; o = o->next)
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
	/* 1. The VF: every verify check, as at start; the guest's node preferred. */
	{
		struct iov_alloc_in in = { .cfg = cfg, .res = res, .h = h, .u = u, .taken = taken,
					   .n_taken = nt, .numa_node = g->numa_node };

		if ((r = iov_alloc_vf(&in, c, &d, err)) < 0)
			goto out;
	}
	if (!d->pf->n_netdevs) {
		r = iov_err_set(err, -ENODEV, "bring the PF's network driver up (igb, ixgbe, ...): a "
				"VF's MAC and VLAN are set through it", "%s: its PF %s has no network "
				"interface", d->name, d->pf->name);
		goto out;
	}
	n = &g->nics[g->n_nics];
	memset(n, 0, sizeof(*n));
	n->disk = -1;		/* a NIC, not an NVMe disk (src/guest.h) */
	snprintf(n->vf, sizeof(n->vf), "%s", d->name);
	snprintf(n->pf, sizeof(n->pf), "%s", d->pf->name);
	snprintf(n->pfnet, sizeof(n->pfnet), "%s", d->pf->netdevs[0]);
	n->vf_index = d->vf_index;
	n->group = d->group ? d->group->id : -1;
	n->pool = c->pool ? strdup(c->pool) : NULL;
	n->vlan = c->vlan;
	n->bound_by_us = !d->driver || strcmp(d->driver, "vfio-pci") != 0;
	n->hot = n->attaching = true;
	if (n->group < 0) {
		r = iov_err_set(err, -ENODEV, "turn the IOMMU on (intel_iommu=on)", "%s has no "
				"IOMMU group", d->name);
		goto undo;
	}
	/* 2. The MAC the NIC in this place gets (the registry's, stable). */
	memcpy(prefix, cfg && cfg->policy.has_mac_prefix ? cfg->policy.mac_prefix : H.prefix, 3);
	if (!(reg = gstore_macreg_load())) {
		r = iov_err_set(err, -EIO, "see iovd's log", "cannot read the MAC registry");
		goto undo;
	}
	if ((r = iov_mac_assign(reg, g->spec.name, (unsigned)g->n_nics, c->has_mac ? c->mac : NULL,
				prefix, mac_used, n, n->mac, &ch, err)) < 0 ||
	    (ch && (r = gstore_macreg_save(reg, err)) < 0))
		goto undo;
	/* 3. vfio-pci, the guest's settings through the PF. */
	if (n->bound_by_us && (r = iov_bind(h, d, NULL, err)) < 0)
		goto undo;
	if ((r = gvf_save_and_set(n, err)) < 0)
		goto undo;
	set = true;
	/* 4. Recorded before iovm has it: an iovd killed from here on finds "attaching". */
	g->n_nics++;
	recorded = true;
	iovd_guest_state_save();
	if (getenv("IOVD_TEST_HP_CRASH")) {
		gstore_set_loop(NULL);		/* the write done before the crash, not queued */
		iovd_guest_state_save();
		test_crash("recorded");
	}
	if ((gfd = open_group(n, err)) < 0) {
		r = gfd;
		goto undo;
	}
	if ((r = op_start(g, true, n->vf, ATTACH_WAIT_S, done, ud, save, &op, err)) < 0)
		goto undo;
	snprintf(msg, sizeof(msg), "attach %s %d", n->vf, n->group);
	r = ctl_send(g, msg, gfd, err);
	close(gfd);
	gfd = -1;
	if (r == 0)
		test_crash("sent");
	if (r < 0) {
		op->done = NULL;
		op_finish(g, NULL, NULL, r);
		goto undo;
	}
	if (save)
		op->cfg = (struct iov_cfg_nic){ .pool = c->pool ? strdup(c->pool) : NULL,
						.device = c->device ? strdup(c->device) : NULL,
						.has_mac = c->has_mac, .vlan = c->vlan };
	if (save)
		memcpy(op->cfg.mac, c->mac, 6);
	log_info("guest %s: attaching %s (MAC %02x:%02x:%02x:%02x:%02x:%02x)", name, n->vf,
		 n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	r = 1;
	goto out;
undo:
	if (gfd >= 0)
		close(gfd);
	gvf_undo(n, 1, set);
	free(n->pool);
	if (recorded)
		g->n_nics--;
	memset(n, 0, sizeof(*n));
	if (recorded)
		iovd_guest_state_save();
out:
	iov_macreg_free(reg);
	iov_cfg_resolved_free(res);
	iov_usage_free(u);
	iov_host_free(h);
	free(taken);
	return r;
}

/* ---- detach ---- */

/* NIC by index, MAC, VF address or PF/vfN (PF as netdev or address). */
static ssize_t find_nic(const struct guest *g, const char *s)
{
	char *end, msg[64];
	uint8_t mac[6];
	long idx;
	struct iov_pci_addr a;
	const char *slash = strstr(s, "/vf");

	errno = 0;
	idx = strtol(s, &end, 10);
	if (!errno && end != s && !*end) {
		/* The index vm show gives: NICs only (NVMe disk VFs are listed as disks). */
		for (size_t i = 0, k = 0; idx >= 0 && i < g->n_nics; i++)
			if (g->nics[i].disk < 0 && k++ == (size_t)idx)
				return (ssize_t)i;
		return -1;
	}
	if (strlen(s) == 17 && iov_parse_mac(s, mac, msg, sizeof(msg)) == 0) {
		for (size_t i = 0; i < g->n_nics; i++)
			if (memcmp(g->nics[i].mac, mac, 6) == 0)
				return (ssize_t)i;
		return -1;
	}
	if (slash) {
		char pf[64];
		long vi;

		snprintf(pf, sizeof(pf), "%.*s", (int)(slash - s), s);
		errno = 0;
		vi = strtol(slash + 3, &end, 10);
		if (errno || end == slash + 3 || *end)
			return -1;
		if (iov_pci_addr_parse(pf, &a) == 0)
			iov_pci_addr_fmt(&a, pf);
		for (size_t i = 0; i < g->n_nics; i++)
			if ((strcmp(g->nics[i].pfnet, pf) == 0 || strcmp(g->nics[i].pf, pf) == 0) &&
			    g->nics[i].vf_index == vi)
				return (ssize_t)i;
		return -1;
	}
	if (iov_pci_addr_parse(s, &a) == 0) {
		char vf[IOV_PCI_ADDR_STRLEN];

		iov_pci_addr_fmt(&a, vf);
		return nic_index(g, vf);
	}
	return -1;
}

int iovd_guest_detach_async(const char *name, const char *nic, int timeout_s, bool save,
			    iovd_hp_done_fn done, void *ud, struct iov_err *err)
{
	struct guest *g = iovd_guest_find(name);
	struct ghp_op *op;
	struct gnic *n;
	ssize_t i;
	char msg[96];
	int r;

	if ((r = check_guest(g, name, err)) < 0)
		return r;
	if ((i = find_nic(g, nic)) < 0)
		return iov_err_set(err, -ENOENT, "see `iovctl vm show NAME` for its NICs", "guest %s "
				   "has no NIC '%s' (give its index, MAC, VF address or PF/vfN)",
				   name, nic);
	n = &g->nics[i];
	if (!n->hot)
		return iov_err_set(err, -ENOTSUP, "stop the guest to take it back (`iovctl vm stop`)",
				   "guest %s's NIC %zd (%s) was given at start: it is on the guest's "
				   "PCI bus 0, not in a hot-plug slot, and cannot be detached", name, i,
				   n->vf);
	if (save && (size_t)i < g->spec.n_nics) {
		/* Attached with --save: it leaves the spec too (the index is the spec's). */
		iov_gspec_nic_free(&g->spec.nics[i]);
		memmove(&g->spec.nics[i], &g->spec.nics[i + 1],
			(g->spec.n_nics - (size_t)i - 1) * sizeof(g->spec.nics[0]));
		g->spec.n_nics--;
	}
	if ((r = op_start(g, false, n->vf, timeout_s + DETACH_SLACK_S, done, ud, save, &op,
			  err)) < 0)
		return r;
	snprintf(msg, sizeof(msg), "detach %s %d", n->vf, timeout_s * 1000);
	if ((r = ctl_send(g, msg, -1, err)) < 0) {
		op->done = NULL;
		op_finish(g, NULL, NULL, r);
		return r;
	}
	log_info("guest %s: detaching %s (the guest has %d s to release it)", name, n->vf,
		 timeout_s);
	return 1;
}

void iovd_guest_hp_cancel(void *ud)
{
	for (struct guest *g = iovd_guest_list(); g; g = g->next)
		if (g->hp_op && g->hp_op->ud == ud)
			g->hp_op->done = NULL;
}

/* ---- a guest's end, iovd's restart ---- */

void ghp_ended(struct guest *g)
{
	char path[PATH_MAX];

	if (g->hp_op)
		op_fail(g, -ESRCH, NULL, "guest %s ended", g->spec.name);
	ctl_close(g);
	if (g->spec.name) {
		ctl_path(g, path, sizeof(path));
		unlink(path);
	}
	for (size_t i = 0; i < g->n_nics; i++)
		g->nics[i].attaching = false;
}

void ghp_adopt(struct guest *g)
{
	struct iov_err e = { 0 };
	struct pollfd p;
	char buf[MSG_MAX + 1] = "";
	bool any = false;
	ssize_t n = -1;

	for (size_t i = 0; i < g->n_nics; i++)
		any |= g->nics[i].hot || g->nics[i].attaching;
	{
		struct stat st;
		char path[PATH_MAX];

		/* iovm listens there when it was started with slots. */
		ctl_path(g, path, sizeof(path));
		g->hp_slots = stat(path, &st) == 0 && S_ISSOCK(st.st_mode) ? ghp_slots(g) : 0;
		if (!g->hp_slots && any)
			g->hp_slots = IOVD_HP_SLOTS;
	}
	if (!any)
		return;
	/* Ask iovm which devices it has: a short wait, once, at iovd's start. */
	if (ctl_connect(g, &e) == 0 && ctl_send(g, "list", -1, &e) == 0) {
		p = (struct pollfd){ .fd = g->ctl_fd, .events = POLLIN };
		if (poll(&p, 1, 3000) > 0)
			n = recv(g->ctl_fd, buf, MSG_MAX, MSG_DONTWAIT);
	}
	if (n <= 0 || strncmp(buf, "ok list", 7) != 0) {
		log_warn("guest %s: cannot ask iovm which hot-plugged VFs it has (%s); those "
			 "being attached go back to their pool", g->spec.name,
			 e.msg[0] ? e.msg : "no answer");
		buf[0] = '\0';
	}
	buf[n > 0 ? n : 0] = '\0';
	for (size_t i = 0; i < g->n_nics;) {
		struct gnic *nc = &g->nics[i];
		char key[IOV_PCI_ADDR_STRLEN + 2];
		bool has;

		snprintf(key, sizeof(key), " %s:", nc->vf);
		has = buf[0] && strstr(buf, key);
		if ((nc->hot || nc->attaching) && !has && (buf[0] || nc->attaching)) {
			log_warn("guest %s: iovm does not have %s (%s when iovd stopped): back to its "
				 "pool", g->spec.name, nc->vf, nc->attaching ? "being attached" :
				 "hot-plugged");
			nic_return(g, nc->vf);
			continue;
		}
		if (nc->attaching && has) {
			log_info("guest %s: iovm has %s: attached", g->spec.name, nc->vf);
			nc->attaching = false;
			iovd_guest_state_save();
		}
		i++;
	}
}
