/* The udev monitor (src/udevmon.c) without udev: uevents are injected in the daemon's own
 * thread (a pipe it watches), the real io.iovd service runs, and a Monitor subscriber sees
 * what the bus gets: bursts coalesced per device, transients dropped, renames followed, one
 * "settled" per window, and a window that cannot be held open forever. The sysfs facts
 * (a VF's PF, a netdev's device) come from a fake tree (HW.md layout A). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/events.h"
#include "src/iovd_api.h"
#include "src/udevmon.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "tests/unit/srvthread.h"

static struct srvthread loop;
static char dir[64], tree[96], sock[128];
static struct vl_server *srv;
static struct iovd_udev *mon;
static int inject[2];
static int settled;			/* written by the server thread */
static size_t settled_uevents;

static size_t settled_pfs_bound;
static int polled;			/* the second monitor's periodic windows */
static struct iovd_udev *poller;

static void on_polled(const struct iovd_udev_window *w, void *ud)
{
	if (w->uevents == 0 && w->events == 0)
		polled++;
}

static void on_settled(const struct iovd_udev_window *w, void *ud)
{
	settled++;
	settled_uevents += w->uevents;
	settled_pfs_bound += w->pfs_bound;
}

/* One line per uevent: "SUBSYSTEM ACTION NAME [DRIVER|-] [OLDNAME]". */
static void on_inject(int fd, void *ud)
{
	char line[256];
	ssize_t n = read(fd, line, sizeof(line) - 1);
	char sub[16], act[16], name[64], drv[64] = "-", old[64] = "";

	if (n <= 0)
		return;
	line[n] = '\0';
	if (sscanf(line, "%15s %15s %63s %63s %63s", sub, act, name, drv, old) < 3)
		return;
	iovd_udev_inject(mon, sub, act, name, strcmp(drv, "-") ? drv : NULL, old[0] ? old : NULL);
}

static int setup(void **st)
{
	struct iovd_udev_opts o = { .settle_ms = 250, .max_ms = 1500, .on_settled = on_settled };
	char cmd[512];
	int lfd;

	strcpy(dir, "/tmp/test_udevmon.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(sock, sizeof(sock), "%s/io.iovd", dir);
	snprintf(cmd, sizeof(cmd), "python3 tests/fixtures/gen/mksysfs.py tests/fixtures/layout_a.desc "
		 "%s > /dev/null", tree);
	if (system(cmd) != 0)
		return -1;
	assert_int_equal(iov_sysroot_set(tree), 0);
	iov_log_set_level(IOV_LOG_ERR);
	lfd = vl_listen(sock);
	assert_true(lfd >= 0);
	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, (gid_t)-1, NULL);
	assert_non_null(srv);
	assert_non_null(mon = iovd_udev_new(srv, &o));
	{
		struct iovd_udev_opts po = { .poll_s = 1, .on_settled = on_polled };

		assert_non_null(poller = iovd_udev_new(srv, &po));
	}
	assert_int_equal(pipe(inject), 0);
	assert_int_equal(vl_server_watch(srv, inject[0], on_inject, NULL), 0);
	assert_int_equal(srvthread_start(&loop, srv), 0);
	return 0;
}

static int teardown(void **st)
{
	char cmd[128];

	srvthread_stop(&loop);
	vl_server_free(srv);
	iovd_udev_free(mon);
	iovd_udev_free(poller);
	close(inject[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void ue(const char *line)
{
	/* One write per uevent: the pipe keeps them apart (each < PIPE_BUF) as long as the
	 * reader keeps up; a short pause makes sure of it. */
	assert_int_equal(write(inject[1], line, strlen(line)), (ssize_t)strlen(line));
	usleep(2000);
}

struct sub {
	int fd;
	struct vl_reader *rd;
};

static struct sub subscribe(void)
{
	struct sub s = { vl_connect(sock), NULL };
	json_t *r = NULL;
	char *e = NULL;
	bool more;

	assert_true(s.fd >= 0);
	s.rd = vl_reader_new(s.fd);
	assert_int_equal(vl_call_start(s.fd, "io.iovd.Monitor", NULL, true), 0);
	assert_int_equal(vl_reply_read(s.rd, 5000, &r, &e, &more), 0);
	json_decref(r);
	return s;
}

static void unsubscribe(struct sub *s)
{
	vl_reader_free(s->rd);
	close(s->fd);
}

/* Events until none comes for quiet_ms; returns an array. */
static json_t *collect(struct sub *s, int quiet_ms)
{
	json_t *a = json_array();

	for (;;) {
		json_t *r = NULL, *ev;
		char *e = NULL;
		bool more;
		int k = vl_reply_read(s->rd, quiet_ms, &r, &e, &more);

		if (k == -ETIMEDOUT)
			break;
		assert_int_equal(k, 0);
		if ((ev = json_object_get(r, "event")))
			json_array_append(a, ev);
		json_decref(r);
	}
	return a;
}

static const char *sget(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* Four VFs appear, each: add, bind, its netdev, renamed by udev. 16 uevents, 8 events
 * (a device.added per VF, with its driver and PF; one per netdev under its final name), one
 * window. */
static void test_vf_burst(void **st)
{
	static const char *const vfs[] = { "0000:05:10.0", "0000:05:10.4", "0000:05:11.0",
					   "0000:05:11.4" };
	struct sub s = subscribe();
	int before = settled;
	json_t *a;
	char line[200];
	size_t pci = 0, net = 0;

	for (int i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "pci add %s", vfs[i]);
		ue(line);
		snprintf(line, sizeof(line), "pci bind %s igbvf", vfs[i]);
		ue(line);
		snprintf(line, sizeof(line), "net add eth%d", 10 + i);
		ue(line);
		snprintf(line, sizeof(line), "net move eno1v%d - eth%d", i, 10 + i);
		ue(line);
	}
	a = collect(&s, 1500);
	assert_int_equal(json_array_size(a), 8);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *ev = json_array_get(a, i);

		assert_string_equal(sget(ev, "type"), "device.added");
		if (json_object_get(ev, "netdev")) {
			assert_int_equal(strncmp(sget(ev, "netdev"), "eno1v", 5), 0);
			net++;
		} else {
			assert_string_equal(sget(ev, "device"), vfs[pci]);
			assert_string_equal(sget(ev, "driver"), "igbvf");
			assert_string_equal(sget(ev, "pf"), "0000:04:00.0");
			pci++;
		}
	}
	assert_int_equal(pci, 4);
	assert_int_equal(net, 4);
	assert_int_equal(settled, before + 1);
	assert_int_equal(settled_pfs_bound, 0);	/* VFs, not a PF, got drivers */
	json_decref(a);
	unsubscribe(&s);
}

/* Came and went within the window: nothing to say (but the window still re-plans). */
static void test_transient(void **st)
{
	struct sub s = subscribe();
	int before = settled;
	json_t *a;

	ue("pci add 0000:05:10.0");
	ue("pci bind 0000:05:10.0 igbvf");
	ue("pci unbind 0000:05:10.0");
	ue("pci remove 0000:05:10.0");
	a = collect(&s, 1500);
	assert_int_equal(json_array_size(a), 0);
	assert_int_equal(settled, before + 1);
	json_decref(a);
	unsubscribe(&s);
}

/* A PF driver reload: the PF's netdev and VFs go, the driver comes back, the netdev comes
 * back. Per device: the VFs are removed, the PF's driver changed (to igb), its netdev
 * re-added. */
static void test_pf_reload(void **st)
{
	struct sub s = subscribe();
	json_t *a;
	bool vf_gone = false, pf_drv = false, net_back = false;

	ue("net remove eno1");
	ue("pci unbind 0000:05:10.0");
	ue("pci remove 0000:05:10.0");
	ue("pci unbind 0000:04:00.0");
	ue("pci bind 0000:04:00.0 igb");
	ue("net add eno1");
	a = collect(&s, 1500);
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *ev = json_array_get(a, i);

		if (!strcmp(sget(ev, "type"), "device.removed") &&
		    !strcmp(sget(ev, "device"), "0000:05:10.0"))
			vf_gone = true;
		if (!strcmp(sget(ev, "type"), "driver.changed") &&
		    !strcmp(sget(ev, "device"), "0000:04:00.0") && !strcmp(sget(ev, "driver"), "igb"))
			pf_drv = true;
		if (!strcmp(sget(ev, "type"), "device.added") && !strcmp(sget(ev, "netdev"), "eno1")) {
			assert_true(json_is_true(json_object_get(ev, "readded")));
			assert_string_equal(sget(ev, "device"), "0000:04:00.0");
			net_back = true;
		}
	}
	assert_true(vf_gone && pf_drv && net_back);
	assert_int_equal(settled_pfs_bound, 1);	/* the PF came back with a driver */
	assert_int_equal(json_array_size(a), 3);
	json_decref(a);
	unsubscribe(&s);
}

static void test_rename_and_garbage(void **st)
{
	struct sub s = subscribe();
	json_t *a, *ev;

	ue("net move uplink0 - eno2");
	ue("usb add 1-1");			/* not ours */
	ue("pci add ../../etc");		/* not a device name */
	a = collect(&s, 1500);
	assert_int_equal(json_array_size(a), 1);
	ev = json_array_get(a, 0);
	assert_string_equal(sget(ev, "type"), "netdev.renamed");
	assert_string_equal(sget(ev, "netdev"), "uplink0");
	assert_string_equal(sget(ev, "from"), "eno2");
	json_decref(a);
	unsubscribe(&s);
}

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* A device that never stops changing cannot hold the re-plan off: a uevent every 30 ms
 * (well under the 250 ms settle time) for 3.4 s still closes a window every 1.5 s at most.
 * (Settle and window times are generous so that a loaded machine's scheduling gaps do not
 * split a burst the test means as one.) */
static void test_max_window(void **st)
{
	int before = settled;
	long t0 = ms_now();

	while (ms_now() - t0 < 3400) {
		ue("pci change 0000:04:00.0");
		usleep(28000);
	}
	assert_true(settled - before >= 2);
	usleep(900000);
	assert_true(settled - before >= 3);
}

/* With poll_s, an empty window comes every poll_s seconds even when nothing happens: what
 * makes neither a uevent nor a notification is still checked. */
static void test_poll(void **st)
{
	int before = polled;

	usleep(2600000);
	assert_true(polled - before >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vf_burst),
		cmocka_unit_test(test_transient),
		cmocka_unit_test(test_pf_reload),
		cmocka_unit_test(test_rename_and_garbage),
		cmocka_unit_test(test_max_window),
		cmocka_unit_test(test_poll),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
