/* The udev monitor in iovd's loop: the kernel's uevents for PCI devices and netdevs (PF and
 * VF add/remove, driver bind/unbind, netdev add/remove/rename) become events on the bus
 * (src/events.h), coalesced, and once the host has settled iovd is told to re-plan.
 *
 * A VF count change alone produces dozens of uevents (each VF: add, bind, its netdev), and a
 * PF driver reload twice that. They are gathered per device while they come: a device added
 * then bound then given a netdev is one device.added; one added and removed within the
 * window is nothing. The window closes settle_ms after the last uevent, or max_ms after the
 * first (a device that flaps forever cannot hold the re-plan off), on a timerfd in the same
 * loop: nothing here ever blocks or waits.
 *
 * VF settings changed through the PF (a MAC set by hand) make no uevent; live, rtnetlink's
 * link notifications for PF netdevs count as changes of the window too.
 *
 * Live monitoring needs udev (libudev's "udev" netlink source, after udevd has processed the
 * event). Under --sysroot, in tests and where udev is absent, the monitor runs without it and
 * events are fed with iovd_udev_inject(). */
#ifndef IOV_SRC_UDEVMON_H
#define IOV_SRC_UDEVMON_H

#include <stdbool.h>
#include <stddef.h>

struct vl_server;
struct iovd_udev;

/* What a window held, for the re-plan. */
struct iovd_udev_window {
	size_t uevents, events;
	size_t pfs_bound;		/* PFs that got (back) a driver: a reload or a reset */
	size_t links_changed;		/* PF netdevs whose (VF) settings changed (rtnetlink) */
};

/* Called when a window closes. */
typedef void (*iovd_settled_fn)(const struct iovd_udev_window *w, void *userdata);

struct iovd_udev_opts {
	unsigned settle_ms;		/* default 500 */
	unsigned max_ms;		/* default 3000 */
	bool live;			/* open a libudev monitor (false: injection only) */
	unsigned poll_s;		/* also every poll_s seconds with an empty window: what
					 * makes neither a uevent nor a notification (a VF MAC
					 * set while the PF is down) is still found; 0: never */
	iovd_settled_fn on_settled;
	void *userdata;
};

/* Adds the monitor (and its timer) to the server's loop. NULL with errno set when the timer
 * cannot be had. If live and udev cannot be opened, it says so and works by injection only.
 * Free the server first (it closes the fds it watches), then the monitor. */
struct iovd_udev *iovd_udev_new(struct vl_server *s, const struct iovd_udev_opts *o);
void iovd_udev_free(struct iovd_udev *u);

/* One uevent, as udev reports it: subsystem "pci" or "net"; action "add", "remove", "bind",
 * "unbind", "move" (a netdev renamed; old_name = its previous name), "change"; name the
 * device's sysfs name ("0000:01:10.0", "eth0"); driver its driver now (pci; NULL none). */
void iovd_udev_inject(struct iovd_udev *u, const char *subsystem, const char *action,
		      const char *name, const char *driver, const char *old_name);

/* Ends the current window now (tests; iovd at exit). */
void iovd_udev_flush(struct iovd_udev *u);

/* Uevents seen and events emitted since start. */
void iovd_udev_counts(const struct iovd_udev *u, size_t *uevents, size_t *events);

#endif
