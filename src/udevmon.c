#include "src/udevmon.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "src/events.h"

/* Devices gathered in one window. A window with more (a machine of hundreds of VFs changing
 * at once) still re-plans; the devices beyond are counted in one summary event. */
#define MAX_PENDING 512

enum { SUB_PCI, SUB_NET };

struct pend {
	int sub;
	char name[64];			/* sysfs name now */
	char old[64];			/* net: name before a rename seen in this window */
	char driver[64];		/* pci: last driver seen bound ("" none) */
	bool added, removed, present_again, driver_changed, renamed;
	bool link_changed;		/* net: rtnetlink said its settings changed */
};

struct iovd_udev {
	struct iovd_udev_opts o;
	struct udev *udev;
	struct udev_monitor *mon;
	int tfd;
	int rtnl;			/* RTMGRP_LINK socket (live), -1 none */
	struct pend pend[MAX_PENDING];
	size_t n_pend, overflow, window_uevents;
	long window_start;		/* ms, CLOCK_MONOTONIC; -1: no window open */
	size_t uevents, events;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void arm(struct iovd_udev *u)
{
	long now = now_ms(), at = now + (long)u->o.settle_ms;
	struct itimerspec its = { 0 };

	if (u->window_start < 0)
		u->window_start = now;
	if (at > u->window_start + (long)u->o.max_ms)
		at = u->window_start + (long)u->o.max_ms;
	if (at <= now)
		at = now + 1;
	its.it_value.tv_sec = at / 1000;
	its.it_value.tv_nsec = (at % 1000) * 1000000L;
	if (timerfd_settime(u->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn_errno(-errno, "udev monitor: arming the settle timer");
}

static struct pend *find(struct iovd_udev *u, int sub, const char *name)
{
	for (size_t i = 0; i < u->n_pend; i++)
		if (u->pend[i].sub == sub && strcmp(u->pend[i].name, name) == 0)
			return &u->pend[i];
	if (u->n_pend == MAX_PENDING) {
		u->overflow++;
		return NULL;
	}
	struct pend *p = &u->pend[u->n_pend++];

	memset(p, 0, sizeof(*p));
	p->sub = sub;
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/* A name from a uevent goes into a JSON event and the log: sysfs names are short and
 * printable; anything else is not a device of ours. */
static bool sane(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= 64)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '/')
			return false;
	return true;
}

void iovd_udev_inject(struct iovd_udev *u, const char *subsystem, const char *action,
		      const char *name, const char *driver, const char *old_name)
{
	int sub;
	struct pend *p;

	if (!subsystem || !action || !sane(name))
		return;
	if (strcmp(subsystem, "pci") == 0)
		sub = SUB_PCI;
	else if (strcmp(subsystem, "net") == 0)
		sub = SUB_NET;
	else
		return;
	u->uevents++;
	u->window_uevents++;
	log_debug("uevent %s %s %s%s%s", subsystem, action, name, driver ? " driver " : "",
		  driver && sane(driver) ? driver : "");
	if (sub == SUB_NET && strcmp(action, "move") == 0 && sane(old_name)) {
		/* Follow the netdev under its new name; a rename of one added in this window
		 * is just its name. */
		p = NULL;
		for (size_t i = 0; i < u->n_pend; i++)
			if (u->pend[i].sub == SUB_NET && strcmp(u->pend[i].name, old_name) == 0)
				p = &u->pend[i];
		if (p) {
			snprintf(p->name, sizeof(p->name), "%s", name);
			if (!p->added && !p->renamed) {
				p->renamed = true;
				snprintf(p->old, sizeof(p->old), "%s", old_name);
			}
		} else if ((p = find(u, sub, name))) {
			p->renamed = true;
			snprintf(p->old, sizeof(p->old), "%s", old_name);
		}
		arm(u);
		return;
	}
	if (!(p = find(u, sub, name))) {
		arm(u);
		return;
	}
	if (strcmp(action, "add") == 0) {
		if (p->removed)
			p->present_again = true;	/* removed, then back */
		else
			p->added = true;
		p->removed = false;
	} else if (strcmp(action, "remove") == 0) {
		p->removed = true;
		p->present_again = false;
	} else if (strcmp(action, "bind") == 0 || strcmp(action, "unbind") == 0) {
		const char *d = strcmp(action, "bind") == 0 && sane(driver) ? driver : "";

		p->driver_changed = true;
		snprintf(p->driver, sizeof(p->driver), "%s", d);
	}
	arm(u);
}

/* The PF of a VF (its physfn link), for device.added of VFs. */
static bool vf_pf(const char *dev, char *pf, size_t len)
{
	char path[PATH_MAX];

	return iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/physfn", dev) == 0 &&
	       iov_readlink_base(path, pf, len) == 0;
}

/* A PF (it has sriov_totalvfs) with a driver bound now. */
static bool pf_with_driver(const char *dev)
{
	char path[PATH_MAX], drv[64];

	return iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/sriov_totalvfs", dev) == 0 &&
	       iov_exists(path) &&
	       iov_path(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dev) == 0 &&
	       iov_readlink_base(path, drv, sizeof(drv)) == 0;
}

/* The PCI device behind a netdev, if any. */
static bool net_dev(const char *ifname, char *dev, size_t len)
{
	char path[PATH_MAX];

	char real[PATH_MAX];
	const char *base;

	/* The link's target may be relative without naming the device ("../.."): resolve it. */
	if (iov_path(path, sizeof(path), "/sys/class/net/%s/device", ifname) < 0 ||
	    !realpath(path, real) || !(base = strrchr(real, '/')))
		return false;
	snprintf(dev, len, "%s", base + 1);
	return true;
}

static void emit(struct iovd_udev *u, const char *type, json_t *fields)
{
	u->events++;
	iovd_event(type, fields);
}

void iovd_udev_flush(struct iovd_udev *u)
{
	struct itimerspec off = { 0 };
	struct iovd_udev_window w = { .uevents = u->window_uevents };
	size_t n_ev = u->events, n_ue = u->window_uevents;
	char buf[64];

	timerfd_settime(u->tfd, 0, &off, NULL);
	if (u->window_start < 0)
		return;
	for (size_t i = 0; i < u->n_pend; i++) {
		struct pend *p = &u->pend[i];
		const char *key = p->sub == SUB_PCI ? "device" : "netdev";
		json_t *f;

		if (p->added && p->removed)
			continue;	/* came and went within the window */
		if (p->sub == SUB_PCI && !p->removed && (p->driver_changed || p->added ||
							  p->present_again) &&
		    pf_with_driver(p->name))
			w.pfs_bound++;
		f = json_pack("{s:s}", key, p->name);
		if (!f)
			continue;
		if (p->sub == SUB_NET && !p->removed && net_dev(p->name, buf, sizeof(buf)))
			json_object_set_new(f, "device", json_string(buf));
		if (p->removed) {
			emit(u, "device.removed", f);
		} else if (p->added || p->present_again) {
			if (p->sub == SUB_PCI) {
				json_object_set_new(f, "driver", p->driver[0] ? json_string(p->driver)
									      : json_null());
				if (vf_pf(p->name, buf, sizeof(buf)))
					json_object_set_new(f, "pf", json_string(buf));
			}
			if (p->present_again)
				json_object_set_new(f, "readded", json_true());
			emit(u, "device.added", f);
		} else if (p->sub == SUB_NET && p->renamed) {
			json_object_set_new(f, "from", json_string(p->old));
			emit(u, "netdev.renamed", f);
		} else if (p->sub == SUB_PCI && p->driver_changed) {
			json_object_set_new(f, "driver", p->driver[0] ? json_string(p->driver)
								      : json_null());
			emit(u, "driver.changed", f);
		} else {
			json_decref(f);	/* "change" alone: nothing we report */
			if (p->link_changed)
				w.links_changed++;
		}
	}
	if (u->overflow)
		emit(u, "device.changed", json_pack("{s:I}", "more_devices", (json_int_t)u->overflow));
	log_info("host changed: %zu uevent%s, %zu event%s", n_ue, n_ue == 1 ? "" : "s",
		 u->events - n_ev, u->events - n_ev == 1 ? "" : "s");
	u->n_pend = 0;
	u->overflow = 0;
	u->window_uevents = 0;
	u->window_start = -1;
	w.events = u->events - n_ev;
	if (u->o.on_settled)
		u->o.on_settled(&w, u->o.userdata);
}

static void on_timer(int fd, void *ud)
{
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
		return;
	iovd_udev_flush(ud);
}

/* The periodic check: an empty window, unless one is open (it will report soon anyway). */
static void on_poll(int fd, void *ud)
{
	struct iovd_udev *u = ud;
	struct iovd_udev_window w = { 0 };
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || u->window_start >= 0)
		return;
	if (u->o.on_settled)
		u->o.on_settled(&w, u->o.userdata);
}

static void on_udev(int fd, void *ud)
{
	struct iovd_udev *u = ud;
	struct udev_device *d;
	int budget = 1024;	/* then back to the loop; the fd stays readable */

	while (budget-- > 0 && (d = udev_monitor_receive_device(u->mon))) {
		const char *old = NULL, *oldpath = udev_device_get_property_value(d, "DEVPATH_OLD");

		if (oldpath)
			old = strrchr(oldpath, '/') ? strrchr(oldpath, '/') + 1 : oldpath;
		iovd_udev_inject(u, udev_device_get_subsystem(d), udev_device_get_action(d),
				 udev_device_get_sysname(d), udev_device_get_driver(d), old);
		udev_device_unref(d);
	}
}

/* rtnetlink's link notifications: a VF's MAC, VLAN or link state set through the PF
 * (`ip link set PF vf N mac ...`) makes no uevent, but the kernel announces every such
 * change with an RTM_NEWLINK for the PF (do_setlink -> netdev_state_change). Only PFs'
 * netdevs count; the message itself is not trusted beyond its interface index. */
static void on_rtnl(int fd, void *ud)
{
	struct iovd_udev *u = ud;
	char buf[16384] __attribute__((aligned(4)));
	int budget = 64;

	while (budget-- > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *h;

		if (n <= 0) {
			if (n < 0 && errno == ENOBUFS) {
				/* Lost some: treat it as a change of everything we watch. */
				u->window_uevents++;
				arm(u);
				continue;
			}
			return;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct ifinfomsg *ifi;
			char name[IF_NAMESIZE], path[PATH_MAX];
			struct pend *p;

			if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			ifi = NLMSG_DATA(h);
			if (!if_indextoname((unsigned)ifi->ifi_index, name) || !sane(name) ||
			    iov_path(path, sizeof(path), "/sys/class/net/%s/device/sriov_totalvfs",
				     name) < 0 || !iov_exists(path))
				continue;
			u->uevents++;
			u->window_uevents++;
			if ((p = find(u, SUB_NET, name)))
				p->link_changed = true;
			arm(u);
		}
	}
}

static int open_rtnl(struct iovd_udev *u, struct vl_server *s)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE), r;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (r = vl_server_watch(s, fd, on_rtnl, u)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	vl_server_watch_name(s, fd, "rtnetlink events");
	return 0;
}

static int open_live(struct iovd_udev *u, struct vl_server *s)
{
	/* udevd re-broadcasts events once it has processed them (names settled); without
	 * udevd (containers, the test host's busybox) the kernel's own events are all there
	 * is, and iovd reads sysfs afterwards anyway. */
	const char *source = access("/run/udev/control", F_OK) == 0 ? "udev" : "kernel";
	int fd, r;

	if (!(u->udev = udev_new()))
		return -ENOMEM;
	if (!(u->mon = udev_monitor_new_from_netlink(u->udev, source)))
		return -errno ? -errno : -EIO;
	if ((r = udev_monitor_filter_add_match_subsystem_devtype(u->mon, "pci", NULL)) < 0 ||
	    (r = udev_monitor_filter_add_match_subsystem_devtype(u->mon, "net", NULL)) < 0)
		return r;
	/* A VF count change on a big PF is a burst; the default socket buffer can drop it. */
	udev_monitor_set_receive_buffer_size(u->mon, 8 * 1024 * 1024);
	if ((r = udev_monitor_enable_receiving(u->mon)) < 0)
		return r;
	/* The server closes what it watches; libudev closes its own fd. */
	if ((fd = dup(udev_monitor_get_fd(u->mon))) < 0)
		return -errno;
	if ((r = vl_server_watch(s, fd, on_udev, u)) < 0) {
		close(fd);
		return r;
	}
	vl_server_watch_name(s, fd, "uevents");
	if ((r = open_rtnl(u, s)) < 0)
		log_warn_errno(r, "rtnetlink link notifications unavailable; VF settings changed "
			       "by hand will be noticed only with the next uevent");
	log_info("udev monitor: pci and net events (%s source)%s", source,
		 r < 0 ? "" : ", rtnetlink link changes");
	return 0;
}

struct iovd_udev *iovd_udev_new(struct vl_server *s, const struct iovd_udev_opts *o)
{
	struct iovd_udev *u = calloc(1, sizeof(*u));
	int r = 0;

	if (!u)
		return NULL;
	u->o = *o;
	if (!u->o.settle_ms)
		u->o.settle_ms = 500;
	if (!u->o.max_ms)
		u->o.max_ms = 3000;
	u->window_start = -1;
	u->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (u->tfd < 0 || (r = vl_server_watch(s, u->tfd, on_timer, u)) < 0) {
		r = u->tfd < 0 ? -errno : r;
		if (u->tfd >= 0)
			close(u->tfd);
		free(u);
		errno = -r;
		return NULL;
	}
	vl_server_watch_name(s, u->tfd, "host settled (udev window)");
	if (o->poll_s) {
		struct itimerspec its = { .it_value = { .tv_sec = o->poll_s },
					  .it_interval = { .tv_sec = o->poll_s } };
		int pfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

		if (pfd < 0 || timerfd_settime(pfd, 0, &its, NULL) < 0 ||
		    vl_server_watch(s, pfd, on_poll, u) < 0) {
			log_warn_errno(-errno, "periodic host check");
			if (pfd >= 0)
				close(pfd);
		} else {
			vl_server_watch_name(s, pfd, "periodic host check");
		}
	}
	if (o->live && (r = open_live(u, s)) < 0) {
		/* The timer is the server's now: keep going without udev, injection only. */
		log_warn_errno(r, "udev monitor unavailable; iovd will not see hot-plug, driver "
			       "reloads or renames until restarted with udev running");
		udev_monitor_unref(u->mon);
		udev_unref(u->udev);
		u->mon = NULL;
		u->udev = NULL;
	}
	return u;
}

void iovd_udev_free(struct iovd_udev *u)
{
	if (!u)
		return;
	udev_monitor_unref(u->mon);
	udev_unref(u->udev);
	free(u);
}

void iovd_udev_counts(const struct iovd_udev *u, size_t *uevents, size_t *events)
{
	*uevents = u->uevents;
	*events = u->events;
}
