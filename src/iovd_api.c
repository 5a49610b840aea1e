#include "src/iovd_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/guestspec.h"
#include "lib/err.h"
#include "lib/host.h"
#include "lib/hostjson.h"
#include "lib/log.h"
#include "lib/sysfs.h"
#include "src/events.h"
#include "src/guest.h"
#include "src/guest_hp.h"
#include "sriov/numvfs.h"
#include "sriov/vfconf.h"
#include "sriov/vfinfo.h"
#include "vfio/bind.h"
#include "vfio/guard.h"
#include "src/follow.h"
#include "src/offload.h"

static const char iovd_idl[] =
	"# iovd manages SR-IOV virtual functions and VFIO bindings on this host.\n"
	"# Reads are open to every local user; changes need root or iovd's admin group.\n"
	"interface io.iovd\n"
	"\n"
	"type VfConfig (\n"
	"  mac: ?string,\n"
	"  vlan: ?int,\n"
	"  qos: ?int,\n"
	"  proto: ?string,\n"
	"  spoofchk: ?bool,\n"
	"  trust: ?bool,\n"
	"  state: ?string,\n"
	"  min_rate: ?int,\n"
	"  max_rate: ?int\n"
	")\n"
	"\n"
	"type VfInfo (\n"
	"  vf: int,\n"
	"  mac: string,\n"
	"  vlan: int,\n"
	"  qos: int,\n"
	"  proto: ?string,\n"
	"  spoofchk: ?bool,\n"
	"  trust: ?bool,\n"
	"  state: ?string,\n"
	"  min_rate: ?int,\n"
	"  max_rate: ?int\n"
	")\n"
	"\n"
	"type Action (\n"
	"  action: string,\n"
	"  device: string,\n"
	"  why: string,\n"
	"  file: ?string,\n"
	"  value: ?string,\n"
	"  count: ?int\n"
	")\n"
	"\n"
	"# The daemon's version and the sysfs root it manages (\"/\" on a real host).\n"
	"method GetVersion() -> (version: string, sysroot: string)\n"
	"\n"
	"# The host model (the schema of `iovctl list --json`).\n"
	"method GetHost() -> (host: object)\n"
	"\n"
	"# What the PF's driver reports for each VF.\n"
	"method GetVfs(pf: string) -> (pf: string, netdev: string, vfs: []VfInfo)\n"
	"\n"
	"# Gives the PF count VFs (0 removes them). vfio: VFs go to vfio-pci (refused without\n"
	"# interrupt remapping unless iovd runs with --allow-unsafe-interrupts). force: release\n"
	"# VFs bound to vfio-pci first (never VFs whose group a process holds). dry_run: only\n"
	"# return the plan.\n"
	"method SetVfCount(pf: string, count: int, vfio: ?bool, force: ?bool, dry_run: ?bool)\n"
	"  -> (pf: string, vfs: []string, plan: []Action)\n"
	"\n"
	"# Sets properties of VF number vf of the PF; returns what the driver reports afterwards.\n"
	"method SetVf(pf: string, vf: int, config: VfConfig) -> (pf: string, info: VfInfo)\n"
	"\n"
	"# Moves the device's IOMMU group to vfio-pci (or driver), remembering the old drivers.\n"
	"method Bind(device: string, driver: ?string, force: ?bool) -> (device: string)\n"
	"\n"
	"# Gives the device's group back to the drivers it had, each device reset first (refused,\n"
	"# the device left on vfio-pci, when its reset fails or it has no reset method).\n"
	"# released: how many devices went back (0: iovd had not bound it; nothing done).\n"
	"method Release(device: string) -> (device: string, released: int)\n"
	"\n"
	"# The host config (/etc/iovd/iovd.json, iovd --config) planned against the host now:\n"
	"# the actions in order (each with its diff line) and what they disturb. Re-reads the\n"
	"# file; the config in force does not change.\n"
	"method Plan(force: ?bool) -> (actions: []object, impact: []object, config: []string)\n"
	"\n"
	"# Re-reads the config and applies it as one journaled transaction (a failed step rolls\n"
	"# the whole apply back). dry_run: only plan. force: disturb VFs in use.\n"
	"method Apply(dry_run: ?bool, force: ?bool) -> (plan: object, applied: bool, result: string,\n"
	"  txn: ?int, steps: ?int, done: ?int, config: []string)\n"
	"\n"
	"# The same as SIGHUP: re-read the config; if it loads it is put in force and applied.\n"
	"method Reload() -> (plan: object, applied: bool, result: string, txn: ?int,\n"
	"  steps: ?int, done: ?int, config: []string)\n"
	"\n"
	"# The config in force, the last apply, the difference between config and host now, and\n"
	"# loop: iovd's loop turns (how many, a histogram of their durations, the longest).\n"
	"method GetStatus() -> (config: ?object, config_error: ?string, state_dir: string,\n"
	"  last_apply: ?object, difference: ?object, difference_error: ?string, drift: object,\n"
	"  loop: object)\n"
	"\n"
	"# The config file does not parse or validate (the previous config stays in force).\n"
	"error ConfigError (message: string, fix: string)\n"
	"\n"
	"# Streams iovd's events; call it with \"more\": true. The first reply (no event) says the\n"
	"# subscription is in place; each further reply carries one event ({seq, time, type, ...},\n"
	"# types in docs/iovd.md). missed: events dropped since the previous reply because this\n"
	"# client did not read fast enough (a reply with no event says so once it has caught up).\n"
	"# recent: first replay the events iovd still holds (up to 256).\n"
	"method Monitor(recent: ?bool) -> (event: ?object, missed: int)\n"
	"\n"
	"# A guest NIC: a VF from a pool, or a VF named as PF/vfN, netdev or address.\n"
	"type NicSpec (pool: ?string, device: ?string, mac: ?string, vlan: ?int)\n"
	"\n"
	"# Starts guest name under iovm (unprivileged, only its fds) with a VF per NIC.\n"
	"# The kernel and initrd come as file descriptors passed with the call (SCM_RIGHTS):\n"
	"# kernel_fd and initrd_fd are indexes into the call's fds (0 for the first sent),\n"
	"# each a regular file open read-only; kernel and initrd are then only the caller's\n"
	"# names for them (shown, never opened). Without kernel_fd, kernel and initrd are\n"
	"# paths iovd opens itself: root callers only. save (root only) also writes the\n"
	"# guest as a drop-in, autostart on. hugepages: guest RAM on 2 MiB pages, refused\n"
	"# when the host has too few free (the numbers and nr_hugepages in the message).\n"
	"# disks: virtio-blk, each a file or block device (fd: its index among the call's fds,\n"
	"# open read-only when readonly, else read-write; path is then the caller's name),\n"
	"# locked for the guest (shared when read-only, exclusive when read-write); or\n"
	"# pool: an NVMe VF from a pool of the config, passed through whole (no path, fd).\n"
	"type DiskSpec (path: ?string, readonly: ?bool, fd: ?int, pool: ?string)\n"
	"method VmStart(name: string, kernel: ?string, initrd: ?string, kernel_fd: ?int,\n"
	"  initrd_fd: ?int, cmdline: ?string, mem_mib: ?int, cpus: ?int, nics: ?[]NicSpec,\n"
	"  disks: ?[]DiskSpec, restart: ?string, save: ?bool, log_mib: ?int, hugepages: ?bool)\n"
	"  -> (guest: object, saved: ?string)\n"
	"\n"
	"# Stops the guest: SIGTERM to iovm asks the guest to shut down, SIGKILL after timeout\n"
	"# seconds (default: the config's policy.stop_timeout, else 30; at most 100) or at once\n"
	"# with force. Answers once iovm has ended and its VFs are reset and returned;\n"
	"# meanwhile its state is \"stopping\".\n"
	"method VmStop(name: string, force: ?bool, timeout: ?int) -> (guest: object)\n"
	"\n"
	"# Stops the guest as VmStop does, then starts it again with the same spec and files\n"
	"# (a new iovm; its VFs reset and returned first). Answers once it runs again; a start\n"
	"# that failed is Failed (the guest is left stopped, VmShow says why).\n"
	"method VmRestart(name: string, force: ?bool, timeout: ?int) -> (guest: object)\n"
	"\n"
	"# Asks the guest to reboot: Ctrl-Alt-Del on its keyboard when it listens (its init\n"
	"# reboots cleanly), else, or with force, a reset at once. Under a restart policy the\n"
	"# guest reboots in place in its iovm; without one iovm ends (status 3) and iovd starts\n"
	"# it again. The VFs are reset between boots either way. Answers once asked.\n"
	"method VmReboot(name: string, force: ?bool) -> (guest: object)\n"
	"\n"
	"# Hot attach: a VF for nic (drawn and verified as at start, the guest's MAC for the\n"
	"# NIC's place from the registry, its VLAN) is plugged into one of the running guest's\n"
	"# hot-plug slots (PCIe native hot-plug: the guest's pciehp). Answers once iovm has the\n"
	"# device (slot: its slot number); the guest then sees a new netdev. save (root only)\n"
	"# also adds the NIC to the guest's drop-in.\n"
	"method VmAttach(name: string, nic: NicSpec, save: ?bool)\n"
	"  -> (guest: object, vf: string, slot: int, saved: ?string)\n"
	"\n"
	"# Hot detach of a NIC attached while the guest runs (nic: its index, MAC, VF address\n"
	"# or PF/vfN): the slot's attention button asks the guest to release it; after timeout\n"
	"# seconds (default 20, at most 100) it is removed by surprise (released: false). The\n"
	"# guest keeps running either way. Answers once the VF is reset and back in its pool.\n"
	"method VmDetach(name: string, nic: string, timeout: ?int, save: ?bool)\n"
	"  -> (guest: object, vf: string, released: bool, saved: ?string)\n"
	"\n"
	"# Guests iovd knows and the quarantined VFs.\n"
	"method VmList() -> (guests: []object, quarantine: []object)\n"
	"method VmShow(name: string) -> (guest: object)\n"
	"\n"
	"# The end of the guest's console and iovm log (at most bytes, default 64 KiB), or\n"
	"# the log from byte offset from; end is the log's size (the next from).\n"
	"method VmLog(name: string, bytes: ?int, from: ?int) -> (log: string, end: int)\n"
	"\n"
	"# Console input for a running guest (`iovctl vm console`); taken: the bytes it took.\n"
	"method VmConsoleInput(name: string, data: string) -> (taken: int)\n"
	"\n"
	"# Takes a VF whose reset failed out of quarantine.\n"
	"method VfUnquarantine(device: string) -> (device: string)\n"
	"\n"
	"# No such PCI device, netdev or VF.\n"
	"error NoSuchDevice (device: string, message: string, fix: string)\n"
	"\n"
	"# A parameter is missing, has the wrong type or a bad value.\n"
	"error InvalidArgument (parameter: string, message: string)\n"
	"\n"
	"# The change was refused before anything was touched.\n"
	"error Refused (message: string, fix: string, errno: string)\n"
	"\n"
	"# The change failed while being applied (what was changed has been put back).\n"
	"error Failed (message: string, fix: string, errno: string)\n";

static const char *errname(int r)
{
	const char *n = strerrorname_np(r < 0 ? -r : r);

	return n ? n : "EIO";
}

static void reply_err(struct vl_call *c, const char *name, const struct iov_err *e, int r)
{
	vl_error(c, name, json_pack("{s:s, s:s, s:s}", "message", e->msg[0] ? e->msg : strerror(-r),
				    "fix", e->fix, "errno", errname(e->code ? e->code : r)));
}

static void no_device(struct vl_call *c, const char *dev, const char *msg)
{
	vl_error(c, "io.iovd.NoSuchDevice",
		 json_pack("{s:s, s:s, s:s}", "device", dev, "message", msg, "fix",
			   "see `iovctl list` for addresses and netdev names"));
}

static void bad_arg(struct vl_call *c, const char *param, const char *msg)
{
	vl_error(c, "io.iovd.InvalidArgument",
		 json_pack("{s:s, s:s}", "parameter", param, "message", msg));
}

static json_t *no_memory_params(void)
{
	return json_pack("{s:s, s:s, s:s}", "message", "out of memory", "fix", "", "errno",
			 "ENOMEM");
}

/* Answers a deferred call with the error a handler set on ec (a scratch call). */
static void deferred_error_from(struct vl_deferred *d, struct vl_call *ec)
{
	vl_deferred_error(d, ec->error, ec->error_params);	/* steals the params */
	free(ec->error);
}

/* Strict parameter access: unknown keys are refused so that a typo never silently means
 * "default". */
static bool only_keys(struct vl_call *c, json_t *p, const char *const *keys)
{
	const char *k;
	json_t *v;

	json_object_foreach(p, k, v) {
		const char *const *x;

		for (x = keys; *x; x++)
			if (strcmp(*x, k) == 0)
				break;
		if (!*x) {
			char msg[160], ek[65];

			snprintf(msg, sizeof(msg), "unknown parameter '%s'", iov_esc(ek, sizeof(ek), k));
			bad_arg(c, k, msg);
			return false;
		}
	}
	return true;
}

static const char *get_str(struct vl_call *c, json_t *p, const char *key, bool required)
{
	json_t *v = json_object_get(p, key);
	char msg[128];

	if (!v || json_is_null(v)) {
		if (required) {
			snprintf(msg, sizeof(msg), "%s is required", key);
			bad_arg(c, key, msg);
		}
		return NULL;
	}
	if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 255) {
		snprintf(msg, sizeof(msg), "%s: expected a non-empty string (at most 255 bytes)",
			 key);
		bad_arg(c, key, msg);
		return NULL;
	}
	/* Names of devices and drivers never hold control characters; refusing them keeps
	 * a client from forging lines in the log. */
	for (const char *q = json_string_value(v); *q; q++) {
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			snprintf(msg, sizeof(msg), "%s: control characters are not allowed", key);
			bad_arg(c, key, msg);
			return NULL;
		}
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, sizeof(msg), "%s: NUL bytes are not allowed", key);
		bad_arg(c, key, msg);
		return NULL;
	}
	return json_string_value(v);
}

/* -1 with an error set on a bad value; 0 absent (def), 1 present. */
static int get_bool(struct vl_call *c, json_t *p, const char *key, bool *out)
{
	json_t *v = json_object_get(p, key);
	char msg[128];

	*out = false;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(msg, sizeof(msg), "%s: expected true or false", key);
		bad_arg(c, key, msg);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

static bool get_int(struct vl_call *c, json_t *p, const char *key, json_int_t max,
		    json_int_t *out)
{
	json_t *v = json_object_get(p, key);
	char msg[128];

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		snprintf(msg, sizeof(msg), "%s: expected an integer 0..%" JSON_INTEGER_FORMAT, key,
			 max);
		bad_arg(c, key, msg);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

static int load_host(struct vl_call *c, struct iov_host **h)
{
	int r = iov_host_load(h);

	if (r < 0) {
		struct iov_err e = { 0 };

		iov_err_set(&e, r, "check that sysfs is mounted", "cannot read the host's PCI "
			    "devices: %s", strerror(-r));
		reply_err(c, "io.iovd.Failed", &e, r);
	}
	return r;
}

static struct iov_dev *resolve(struct vl_call *c, const struct iov_host *h, const char *spec)
{
	struct iov_dev *d;
	char msg[512];
	int r = iov_host_resolve(h, spec, &d, msg, sizeof(msg));

	if (r < 0) {
		if (r == -ENODEV)
			no_device(c, spec, msg);
		else
			bad_arg(c, "device", msg);
		return NULL;
	}
	return d;
}

static struct iov_dev *resolve_pf(struct vl_call *c, const struct iov_host *h, const char *spec)
{
	struct iov_dev *d = resolve(c, h, spec);
	char msg[256];

	if (d && (d->role != IOV_ROLE_PF || !d->sriov)) {
		snprintf(msg, sizeof(msg), "%s (%s) is not an SR-IOV physical function; see "
			 "`iovctl list pfs`", spec, d->name);
		bad_arg(c, "pf", msg);
		return NULL;
	}
	return d;
}

static void log_change(struct vl_call *c, const char *what)
{
	log_info("%s by uid %u pid %d: %s", c->method, (unsigned)c->peer->uid, (int)c->peer->pid,
		 what);
}

/* ---- methods ---- */

static void m_get_version(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { NULL };

	if (!only_keys(c, p, keys))
		return;
	vl_reply(c, json_pack("{s:s, s:s}", "version", IOVD_VERSION, "sysroot",
			      iov_sysroot()[0] ? iov_sysroot() : "/"));
}

/* GetHost reads the whole host (on a 2,000-device host ~0.2 s): that read, the host's JSON
 * and its text are made on the worker thread (src/offload.h) while the loop serves others,
 * and the call is answered when it is done (deferred). One read at a time serves every
 * caller that asked before it started. Unprivileged callers, who could otherwise keep the
 * daemon reading sysfs for each other in a loop, share one snapshot per host generation:
 * host_gen moves with every mutating call and every settled burst of uevents
 * (iovd_api_host_changed), and the snapshot is also retaken once it is HOST_SNAPSHOT_MS old
 * (changes udev does not report: a VF's MAC set by another tool). So a flood of GetHost
 * costs one read per change or per 30 s, not one per call. Privileged callers always get a
 * read that started after their call (and refresh the snapshot). The snapshot is kept as
 * text: a reply from it encodes nothing again. */
#define HOST_SNAPSHOT_MS 30000
static unsigned long host_gen;
static struct {
	char *text;			/* {"host": ...} */
	unsigned long gen;
	long at_ms;
} snap;

struct host_read {
	unsigned long no, gen;		/* the read's number, the generation it started in */
	int r;
	char *text;
};

/* A GetHost call waiting for a read numbered above `after`. */
struct host_waiter {
	struct vl_deferred *d;
	unsigned long after;
	struct host_waiter *next;
};

static struct {
	struct host_waiter *waiters;
	struct vl_server *srv;
	unsigned long started;		/* reads started so far */
	bool reading;
} HR;

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Called first by every mutating method. */
static void host_changing(void)
{
	host_gen++;
}

void iovd_api_host_changed(void)
{
	host_gen++;
}

static json_t *host_load_error(int r)
{
	struct iov_err e = { 0 };

	iov_err_set(&e, r, "check that sysfs is mounted", "cannot read the host's PCI devices: %s",
		    strerror(-r));
	return json_pack("{s:s, s:s, s:s}", "message", e.msg, "fix", e.fix, "errno", errname(r));
}

/* On the worker: the host, its JSON, its text. */
static void host_read_work(void *ud)
{
	struct host_read *hr = ud;
	struct iov_host *h = NULL;
	json_t *j;

	hr->r = iov_host_load(&h);
	if (hr->r < 0)
		return;
	j = json_pack("{s:o}", "host", iov_json_host(h, IOV_SEL_ALL));
	iov_host_free(h);
	hr->text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!hr->text)
		hr->r = -ENOMEM;
}

static void host_read_start(void);

/* On the loop: answers every caller that asked before this read started; a caller that came
 * later (privileged) gets the next one. */
static void host_read_done(void *ud)
{
	struct host_read *hr = ud;
	struct host_waiter **pp = &HR.waiters;

	HR.reading = false;
	if (hr->r == 0) {
		free(snap.text);
		snap.text = hr->text;
		snap.gen = hr->gen;
		snap.at_ms = mono_ms();
	}
	while (*pp) {
		struct host_waiter *w = *pp;

		if (w->after >= hr->no) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (hr->r == 0)
			vl_deferred_reply_text(w->d, snap.text);
		else
			vl_deferred_error(w->d, "io.iovd.Failed", host_load_error(hr->r));
		free(w);
	}
	if (hr->r < 0)
		free(hr->text);
	free(hr);
	if (HR.waiters)
		host_read_start();
}

static void host_read_start(void)
{
	struct host_read *hr = calloc(1, sizeof(*hr));

	if (!hr) {
		while (HR.waiters) {
			struct host_waiter *w = HR.waiters;

			HR.waiters = w->next;
			vl_deferred_error(w->d, "io.iovd.Failed", host_load_error(-ENOMEM));
			free(w);
		}
		return;
	}
	hr->no = ++HR.started;
	hr->gen = host_gen;
	HR.reading = true;
	iovd_offload(HR.srv, host_read_work, host_read_done, hr);
}

static void host_waiter_gone(struct vl_deferred *d, void *ud)
{
	for (struct host_waiter **pp = &HR.waiters; *pp; pp = &(*pp)->next) {
		if (*pp == ud) {
			*pp = ((struct host_waiter *)ud)->next;
			free(ud);
			return;
		}
	}
}

static void m_get_host(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { NULL };
	struct host_waiter *w;

	if (!only_keys(c, p, keys))
		return;
	if (!c->peer->privileged && snap.text && snap.gen == host_gen &&
	    mono_ms() - snap.at_ms < HOST_SNAPSHOT_MS) {
		struct vl_deferred *d = vl_call_defer(c, NULL, NULL);

		if (d)
			vl_deferred_reply_text(d, snap.text);
		else
			vl_error(c, "io.iovd.Failed", host_load_error(-ENOMEM));
		return;
	}
	if (!(w = calloc(1, sizeof(*w))) || !(w->d = vl_call_defer(c, host_waiter_gone, w))) {
		free(w);
		vl_error(c, "io.iovd.Failed", host_load_error(-ENOMEM));
		return;
	}
	w->after = HR.started;
	w->next = HR.waiters;
	HR.waiters = w;
	HR.srv = vl_call_server(c);
	if (!HR.reading)
		host_read_start();
}

static const char *pf_netdev(struct vl_call *c, const struct iov_dev *pf)
{
	if (!pf->n_netdevs) {
		struct iov_err e = { 0 };

		bool net = pf->class_code != IOV_UNKNOWN && (pf->class_code >> 16) == 0x02;

		iov_err_set(&e, -ENODEV, net ? "VF properties are set through the PF's network "
			    "driver: bind it (e.g. igb, ixgbe, i40e) so that its netdev exists" :
			    "MAC, VLAN, rates, trust and link state are network VF properties; "
			    "this PF's VFs are configured by its own driver's tools",
			    "%s (%s) has no network interface", pf->name,
			    pf->driver ? pf->driver : "no driver");
		reply_err(c, "io.iovd.Refused", &e, -ENODEV);
		return NULL;
	}
	return pf->netdevs[0];
}

static void m_get_vfs(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "pf", NULL };
	struct iov_host *h;
	struct iov_dev *pf;
	const char *spec, *net;
	json_t *vfs;

	if (!only_keys(c, p, keys) || !(spec = get_str(c, p, "pf", true)) || load_host(c, &h) < 0)
		return;
	if (!(pf = resolve_pf(c, h, spec)) || !(net = pf_netdev(c, pf)))
		goto out;
	if (!(vfs = iov_vfinfo_query_json(net))) {
		struct iov_err e = { 0 };
		int r = -errno;

		iov_err_set(&e, r, NULL, "%s: reading VF settings over rtnetlink: %s", net,
			    iov_strerror(r));
		reply_err(c, "io.iovd.Failed", &e, r);
		goto out;
	}
	vl_reply(c, json_pack("{s:s, s:s, s:o}", "pf", pf->name, "netdev", net, "vfs", vfs));
out:
	iov_host_free(h);
}

static void m_set_vf_count(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "pf", "count", "vfio", "force", "dry_run", NULL };
	struct iov_vfs_request req = { 0 };
	struct iov_vfs_plan *plan = NULL;
	struct iov_usage *u = NULL;
	struct iov_err e = { 0 };
	struct iov_host *h;
	struct iov_dev *pf;
	const char *spec;
	json_int_t count;
	bool dry;
	char what[128];
	int r;

	host_changing();

	if (!only_keys(c, p, keys) || !(spec = get_str(c, p, "pf", true)) ||
	    !get_int(c, p, "count", 65535, &count) || get_bool(c, p, "vfio", &req.vfio) < 0 ||
	    get_bool(c, p, "force", &req.force) < 0 || get_bool(c, p, "dry_run", &dry) < 0)
		return;
	req.count = (int)count;
	req.allow_unsafe_interrupts = iov_bind_unsafe_interrupts();
	if (load_host(c, &h) < 0)
		return;
	if (!(pf = resolve_pf(c, h, spec)))
		goto out;
	/* With the VFIO holders: a VF whose group a process (a VM) holds open is never
	 * removed, --force or not (vfio/guard.h does the scan). */
	if ((r = iov_usage_load(&u)) < 0 || (r = iov_usage_scan_vfio(u)) < 0) {
		iov_err_set(&e, r, NULL, "reading host usage: %s", strerror(-r));
		reply_err(c, "io.iovd.Failed", &e, r);
		goto out;
	}
	if ((r = iov_vfs_plan(h, u, pf, &req, &plan, &e)) < 0) {
		log_info("%s %s count %d refused: %s", c->method, pf->name, req.count, e.msg);
		reply_err(c, "io.iovd.Refused", &e, r);
		goto out;
	}
	if (!dry && plan->n) {
		snprintf(what, sizeof(what), "%s: %d -> %d VFs%s", pf->name, plan->old_count,
			 req.count, req.vfio ? " (vfio-pci)" : "");
		log_change(c, what);
		if ((r = iov_vfs_exec(plan, &e)) < 0) {
			log_warn("%s: %s (%s)", pf->name, e.msg, e.fix);
			reply_err(c, "io.iovd.Failed", &e, r);
			goto out;
		}
	}
	{
		json_t *names = json_array();
		struct iov_host *h2 = NULL;
		const struct iov_dev *pf2 = pf;

		/* After a change, list the VFs as the kernel has them now. */
		if (!dry && plan->n && iov_host_load(&h2) == 0)
			pf2 = iov_host_find(h2, &pf->addr);
		for (size_t i = 0; pf2 && pf2->sriov && i < pf2->sriov->n_vfs; i++)
			if (pf2->sriov->vfs[i])
				json_array_append_new(names, json_string(pf2->sriov->vfs[i]->name));
		vl_reply(c, json_pack("{s:s, s:o, s:o}", "pf", pf->name, "vfs", names, "plan",
				      iov_vfs_plan_json(plan)));
		iov_host_free(h2);
	}
out:
	iov_vfs_plan_free(plan);
	iov_usage_free(u);
	iov_host_free(h);
}

static void m_set_vf(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "pf", "vf", "config", NULL };
	struct iov_vfinfo *cur = NULL;
	struct iov_vfconf conf;
	struct iov_err e = { 0 };
	struct iov_host *h;
	struct iov_dev *pf, *vf;
	const char *spec, *net;
	json_int_t idx;
	char msg[512], what[160];
	size_t n = 0;
	int r;

	host_changing();

	if (!only_keys(c, p, keys) || !(spec = get_str(c, p, "pf", true)) ||
	    !get_int(c, p, "vf", 65535, &idx))
		return;
	if (!json_object_get(p, "config")) {
		bad_arg(c, "config", "config is required");
		return;
	}
	if (iov_vfconf_from_json(json_object_get(p, "config"), &conf, msg, sizeof(msg)) < 0) {
		bad_arg(c, "config", msg);
		return;
	}
	if (load_host(c, &h) < 0)
		return;
	if (!(pf = resolve_pf(c, h, spec)) || !(net = pf_netdev(c, pf)))
		goto out;
	if ((size_t)idx >= pf->sriov->n_vfs || !(vf = pf->sriov->vfs[idx])) {
		snprintf(msg, sizeof(msg), "%s has %zu VF%s; vf%lld does not exist%s", pf->name,
			 pf->sriov->n_vfs, pf->sriov->n_vfs == 1 ? "" : "s", (long long)idx,
			 pf->sriov->n_vfs ? "" : " (create VFs with `iovctl vfs create`)");
		bad_arg(c, "vf", msg);
		goto out;
	}
	if (conf.set & IOV_VFC_MAC) {
		const struct iov_vfinfo *mine = NULL;
		char who[128], macs[18];

		if ((r = iov_vfinfo_query(net, &cur, &n)) < 0) {
			iov_err_set(&e, r, r == -ENODEV ? "is iovd running in another network "
				    "namespace, or on a --sysroot tree?" : NULL,
				    "%s: reading VF settings: %s", net, iov_strerror(r));
			reply_err(c, "io.iovd.Failed", &e, r);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (cur[i].vf == idx)
				mine = &cur[i];
		/* Its own current MAC (and its own netdev, which carries it) is not a clash. */
		if (!mine || memcmp(mine->mac, conf.mac, 6) != 0) {
			const char *skip[9] = { NULL };	/* NULL-terminated */

			for (size_t i = 0; i < vf->n_netdevs && i < 8; i++)
				skip[i] = vf->netdevs[i];
			r = iov_mac_in_use(conf.mac, net, (int)idx, skip, who, sizeof(who));
			iov_fmt_mac(conf.mac, macs);
			if (r < 0) {
				iov_err_set(&e, r, NULL, "checking whether %s is in use: %s", macs,
					    strerror(-r));
				reply_err(c, "io.iovd.Failed", &e, r);
				goto out;
			}
			if (r > 0) {
				iov_err_set(&e, -EADDRINUSE, "pick another address (locally "
					    "administered: 02:xx:xx:xx:xx:xx)",
					    "mac %s is already used by %s on this host", macs, who);
				reply_err(c, "io.iovd.Refused", &e, -EADDRINUSE);
				goto out;
			}
		}
	}
	snprintf(what, sizeof(what), "%s/vf%lld (%s)", pf->name, (long long)idx, net);
	log_change(c, what);
	if ((r = iov_vf_set(net, (unsigned)idx, &conf, &e)) < 0) {
		log_warn("%s: %s", what, e.msg);
		reply_err(c, "io.iovd.Failed", &e, r);
		goto out;
	}
	free(cur);
	cur = NULL;
	{
		json_t *info = json_null();

		if (iov_vfinfo_query(net, &cur, &n) == 0)
			for (size_t i = 0; i < n; i++)
				if (cur[i].vf == idx) {
					json_decref(info);
					info = iov_vfinfo_json(&cur[i]);
				}
		vl_reply(c, json_pack("{s:s, s:o}", "pf", pf->name, "info", info));
	}
out:
	free(cur);
	iov_host_free(h);
}

static void m_bind(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "device", "driver", "force", NULL };
	struct iov_bind_opts opts = { 0 };
	struct iov_err e = { 0 };
	struct iov_host *h;
	struct iov_dev *d;
	const char *spec;
	char what[160];
	int r;

	host_changing();

	if (!only_keys(c, p, keys) || !(spec = get_str(c, p, "device", true)) ||
	    get_bool(c, p, "force", &opts.force) < 0)
		return;
	opts.driver = get_str(c, p, "driver", false);
	if (json_object_get(p, "driver") && !json_is_null(json_object_get(p, "driver")) &&
	    !opts.driver)
		return;
	if (opts.driver && strcspn(opts.driver, "/\n ") != strlen(opts.driver)) {
		bad_arg(c, "driver", "driver: not a driver name");
		return;
	}
	if (load_host(c, &h) < 0)
		return;
	if (!(d = resolve(c, h, spec)))
		goto out;
	snprintf(what, sizeof(what), "bind %s to %s", d->name, opts.driver ? opts.driver : "vfio-pci");
	log_change(c, what);
	if ((r = iov_bind(h, d, &opts, &e)) < 0) {
		/* Refusals come before any change; the rest were rolled back by iov_bind. */
		reply_err(c, r == -EPERM || r == -EBUSY || r == -EINVAL ? "io.iovd.Refused"
									 : "io.iovd.Failed", &e, r);
		goto out;
	}
	vl_reply(c, json_pack("{s:s}", "device", d->name));
out:
	iov_host_free(h);
}

static void m_release(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "device", NULL };
	struct iov_err e = { 0 };
	struct iov_host *h;
	struct iov_dev *d;
	const char *spec;
	char what[160];
	int r;

	host_changing();

	if (!only_keys(c, p, keys) || !(spec = get_str(c, p, "device", true)))
		return;
	if (load_host(c, &h) < 0)
		return;
	if (!(d = resolve(c, h, spec)))
		goto out;
	for (size_t i = 0; d->group && i < d->group->n_devs; i++) {
		const char *by = iovd_guest_holding(d->group->devs[i]->name);

		if (by) {
			iov_err_set(&e, -EBUSY, NULL, "%s is held by guest %s",
				    d->group->devs[i]->name, by);
			snprintf(e.fix, sizeof(e.fix), "stop the guest first (`iovctl vm stop %s`)", by);
			reply_err(c, "io.iovd.Refused", &e, -EBUSY);
			goto out;
		}
	}
	snprintf(what, sizeof(what), "release %s", d->name);
	log_change(c, what);
	if ((r = iov_release(h, d, &e)) < 0) {
		/* -ENOTTY: a device whose reset failed stays on vfio-pci (vfio/plan.h). */
		reply_err(c, r == -EBUSY || r == -EINVAL || r == -ENOTTY ? "io.iovd.Refused"
									  : "io.iovd.Failed", &e, r);
		goto out;
	}
	vl_reply(c, json_pack("{s:s, s:i}", "device", d->name, "released", r));
out:
	iov_host_free(h);
}

static void config_err(struct vl_call *c, const struct iov_err *e)
{
	vl_error(c, "io.iovd.ConfigError", json_pack("{s:s, s:s}", "message", e->msg, "fix",
						     e->fix));
}

/* Plan re-reads the config and plans it against the host (~0.3 s on a 2,000-device host
 * with 16 PFs): on the worker thread, encoded there too; the loop serves others meanwhile. */
struct plan_job {
	struct vl_deferred *d;		/* NULL: the caller went away */
	bool force, bad;
	int r;
	struct iov_err e;
	char *text;			/* the plan, encoded */
};

static void plan_work(void *ud)
{
	struct plan_job *j = ud;
	json_t *plan = NULL;

	j->r = iovd_follow_plan(j->force, &plan, &j->bad, &j->e);
	if (j->r == 0 && !(j->text = json_dumps(plan, JSON_COMPACT)))
		j->r = iov_err_set(&j->e, -ENOMEM, NULL, "out of memory");
	json_decref(plan);
}

static void plan_done(void *ud)
{
	struct plan_job *j = ud;

	if (!j->d) {
		/* the caller went away */
	} else if (j->r == 0) {
		vl_deferred_reply_text(j->d, j->text);
	} else {
		struct vl_call ec = { 0 };

		if (j->bad)
			config_err(&ec, &j->e);
		else
			reply_err(&ec, "io.iovd.Refused", &j->e, j->r);
		deferred_error_from(j->d, &ec);
	}
	free(j->text);
	free(j);
}

static void plan_gone(struct vl_deferred *d, void *ud)
{
	((struct plan_job *)ud)->d = NULL;
}

static void m_plan(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "force", NULL };
	struct plan_job *j;
	bool force;

	if (!only_keys(c, p, keys) || get_bool(c, p, "force", &force) < 0)
		return;
	if (!(j = calloc(1, sizeof(*j))) || !(j->d = vl_call_defer(c, plan_gone, j))) {
		free(j);
		vl_error(c, "io.iovd.Failed", no_memory_params());
		return;
	}
	j->force = force;
	iovd_offload(vl_call_server(c), plan_work, plan_done, j);
}

static void apply_common(struct vl_call *c, bool dry, bool force)
{
	struct iov_err e = { 0 };
	json_t *res = NULL;
	bool bad;
	int r;

	log_change(c, dry ? "apply the config (dry run)" : force ? "apply the config (--force)" :
		   "apply the config");
	r = iovd_follow_reload(true, dry, force, &res, &bad, &e);
	if (r < 0) {
		if (bad)
			config_err(c, &e);
		else
			reply_err(c, res ? "io.iovd.Failed" : "io.iovd.Refused", &e, r);
		json_decref(res);
		return;
	}
	vl_reply(c, res);
}

static void m_apply(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "dry_run", "force", NULL };
	bool dry, force;

	if (!only_keys(c, p, keys) || get_bool(c, p, "dry_run", &dry) < 0 ||
	    get_bool(c, p, "force", &force) < 0)
		return;
	apply_common(c, dry, force);
}

static void m_reload(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { NULL };

	if (!only_keys(c, p, keys))
		return;
	apply_common(c, false, false);
}

/* GetStatus: the difference (a plan against the host) is made on the worker thread while
 * the loop serves others, and encoded there too (a 2,000-action plan takes the loop tens
 * of ms to encode); the loop's statistics are spliced in when it is answered. */
struct status_job {
	struct vl_deferred *d;		/* NULL: the caller went away */
	struct vl_server *srv;
	json_t *st;			/* the loop's part; the worker adds the difference */
	char *text;			/* st encoded (an object) and freed, by the worker */
};

static void status_work(void *ud)
{
	struct status_job *j = ud;

	iovd_follow_difference(j->st);
	j->text = json_dumps(j->st, JSON_COMPACT);
	json_decref(j->st);	/* freeing thousands of actions takes time too */
	j->st = NULL;
}

static void status_done(void *ud)
{
	struct status_job *j = ud;
	json_t *ls = vl_server_loop_stats(j->srv);
	char *loop = ls ? json_dumps(ls, JSON_COMPACT) : NULL, *all = NULL;
	size_t n = j->text ? strlen(j->text) : 0;

	json_decref(ls);
	/* {...} + "loop": {...}: the object without its last brace, then the loop's. */
	if (j->d && n >= 2 && loop && asprintf(&all, "%.*s%s\"loop\":%s}", (int)(n - 1), j->text,
					     n > 2 ? "," : "", loop) >= 0)
		vl_deferred_reply_text(j->d, all);
	else if (j->d)
		vl_deferred_error(j->d, "io.iovd.Failed", no_memory_params());
	free(all);
	free(loop);
	free(j->text);
	free(j);
}

static void status_gone(struct vl_deferred *d, void *ud)
{
	((struct status_job *)ud)->d = NULL;
}

static void m_get_status(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { NULL };
	struct status_job *j;

	if (!only_keys(c, p, keys))
		return;
	if (!(j = calloc(1, sizeof(*j))) || !(j->st = iovd_follow_status_base()) ||
	    !(j->d = vl_call_defer(c, status_gone, j))) {
		if (j)
			json_decref(j->st);
		free(j);
		vl_error(c, "io.iovd.Failed", no_memory_params());
		return;
	}
	j->srv = vl_call_server(c);
	iovd_offload(j->srv, status_work, status_done, j);
}

/* ---- Monitor: one bus subscriber per streaming call ---- */

/* Unread event bytes a subscriber may hold in iovd (about 300 events); beyond that its
 * events are counted as missed, never queued, so a stalled client costs this much. */
#define MONITOR_MAX_PENDING (64 * 1024)

struct monitor {
	struct vl_stream *st;
	uint64_t missed;
};

static void mon_send(struct monitor *m, const json_t *ev)
{
	json_t *p = json_pack("{s:I}", "missed", (json_int_t)m->missed);
	int r;

	if (ev)
		json_object_set(p, "event", (json_t *)ev);
	r = vl_stream_send(m->st, p);
	if (r == 0)
		m->missed = 0;
	else if (r == -ENOBUFS)
		m->missed++;
}

static void mon_event(const json_t *ev, void *ud)
{
	mon_send(ud, ev);
}

/* The reader caught up after missing some: tell it how many, without waiting for the next
 * event. mon_send counted the refused sends, so this is what it missed. */
static void mon_drain(struct vl_stream *st, void *ud)
{
	struct monitor *m = ud;

	if (m->missed)
		mon_send(m, NULL);
}

static void mon_close(struct vl_stream *st, void *ud)
{
	iovd_event_unsubscribe(mon_event, ud);
	free(ud);
}

static void m_monitor(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "recent", NULL };
	struct monitor *m;
	bool recent;
	int r;

	if (!only_keys(c, p, keys) || get_bool(c, p, "recent", &recent) < 0)
		return;
	if (!c->more) {
		vl_error(c, "org.varlink.service.ExpectedMore", NULL);
		return;
	}
	if (!(m = calloc(1, sizeof(*m))) ||
	    !(m->st = vl_call_stream(c, MONITOR_MAX_PENDING, mon_close, mon_drain, m))) {
		free(m);
		vl_error(c, "io.iovd.Failed", no_memory_params());
		return;
	}
	if ((r = iovd_event_subscribe_as(mon_event, m, c->peer->uid, c->peer->privileged)) < 0) {
		char msg[160];

		/* The stream owns m now: the error ends it and mon_close frees m. */
		if (r == -EUSERS)
			snprintf(msg, sizeof(msg), "uid %u already has %d Monitor subscriptions",
				 (unsigned)c->peer->uid, IOVD_SUBS_PER_UID);
		else
			snprintf(msg, sizeof(msg), "all %d Monitor subscriptions open to %s are taken",
				 c->peer->privileged ? IOVD_SUBS_UNPRIV + IOVD_SUBS_PRIV :
				 IOVD_SUBS_UNPRIV, c->peer->privileged ? "root and the admin group" :
				 "unprivileged users");
		vl_error(c, "io.iovd.Refused", json_pack("{s:s, s:s, s:s}", "message", msg,
			 "fix", "close another `iovctl monitor`", "errno", errname(r)));
		return;
	}
	log_debug("Monitor: pid %d subscribed", (int)c->peer->pid);
	mon_send(m, NULL);
	if (recent) {
		json_t *a = iovd_event_recent(), *ev;
		size_t i;

		json_array_foreach(a, i, ev)
			mon_send(m, ev);
		json_decref(a);
	}
}

/* ---- guests (src/guest.c does the work) ---- */

static void guest_err(struct vl_call *c, const struct iov_err *e, int r)
{
	reply_err(c, r == -EPERM || r == -EBUSY || r == -EEXIST || r == -EINVAL || r == -ENOENT ||
		  r == -ENODEV || r == -EADDRNOTAVAIL ? "io.iovd.Refused" : "io.iovd.Failed", e, r);
}

/* A file passed with the call: key ("kernel_fd") is the index of one of the call's fds.
 * 1: taken into *fd; 0: not given; -1: refused (replied). */
static int passed_fd(struct vl_call *c, json_t *p, const char *key, int *fd)
{
	json_t *v = json_object_get(p, key);
	char msg[200];

	*fd = -1;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (*fd = vl_call_take_fd(c, (size_t)json_integer_value(v))) < 0) {
		*fd = -1;
		snprintf(msg, sizeof(msg), "%s: the index of a file descriptor passed with the call "
			 "(%zu passed, each named once)", key, vl_call_n_fds(c));
		bad_arg(c, key, msg);
		return -1;
	}
	return 1;
}

static void vm_start_files_close(struct iovd_guest_files *f)
{
	if (f->kernel_fd >= 0)
		close(f->kernel_fd);
	if (f->initrd_fd >= 0)
		close(f->initrd_fd);
	for (size_t i = 0; i < f->n_disks; i++)
		if (f->disk_fd[i] >= 0)
			close(f->disk_fd[i]);
	f->kernel_fd = f->initrd_fd = -1;
	f->n_disks = 0;
}

/* The start itself, on the loop, answered on c (the call, or a scratch one for a deferred
 * answer); h and u (taken): the host as the worker read it, NULL: read here. */
static void vm_start_run(struct vl_call *c, const struct iov_cfg_guest *g,
			 struct iovd_guest_files *files, struct iov_host *h, struct iov_usage *u,
			 bool save, const char *what)
{
	struct iov_err e = { 0 };
	json_t *info = NULL;
	const char *saved = NULL;
	char pre[80];
	int r;

	if ((r = iovd_guest_start_on(g, files, h, u, &info, &e)) < 0) {
		log_info("%s refused: %s", what, e.msg);
		guest_err(c, &e, r);
		return;
	}
	if (save && (r = iovd_guest_save(g, &saved, &e)) < 0) {
		json_decref(info);
		snprintf(pre, sizeof(pre), "guest %.32s is running but was not saved: ", g->name);
		memmove(e.msg + strlen(pre), e.msg, sizeof(e.msg) - strlen(pre));
		memcpy(e.msg, pre, strlen(pre));
		e.msg[sizeof(e.msg) - 1] = '\0';
		reply_err(c, "io.iovd.Failed", &e, r);
		return;
	}
	vl_reply(c, json_pack("{s:o, s:s?}", "guest", info, "saved", saved));
}

/* VmStart of a guest with NICs: the host read on the worker, the start on the loop. A
 * mutating call or a settled burst of uevents while the read ran (host_gen moved) makes it
 * read again (at most 3 reads; then the last one is used: the start checks what it takes
 * again as it binds and opens the groups). */
struct vm_start_job {
	struct vl_deferred *d;		/* NULL: the caller went away (nothing is started) */
	struct vl_server *srv;
	struct iov_cfg_guest g;
	struct iovd_guest_files files;
	bool passed, save;
	char what[160];
	unsigned long gen;
	int reads, r;
	struct iov_host *h;
	struct iov_usage *u;
};

static void vm_start_work(void *ud)
{
	struct vm_start_job *j = ud;

	j->reads++;
	if ((j->r = iov_host_load(&j->h)) == 0 && (j->r = iov_usage_load(&j->u)) < 0) {
		iov_host_free(j->h);
		j->h = NULL;
	}
}

static void vm_start_done(void *ud)
{
	struct vm_start_job *j = ud;
	struct vl_call ec = { 0 };

	if (j->d && j->r == 0 && j->gen != host_gen && j->reads < 3) {
		iov_host_free(j->h);
		iov_usage_free(j->u);
		j->h = NULL;
		j->u = NULL;
		j->gen = host_gen;
		iovd_offload(j->srv, vm_start_work, vm_start_done, j);
		return;
	}
	if (!j->d) {
		log_info("%s: the caller went away before the host was read; not started", j->what);
		iov_host_free(j->h);
		iov_usage_free(j->u);
	} else if (j->r < 0) {
		struct iov_err e = { 0 };

		iov_err_set(&e, j->r, "check that sysfs is mounted", "reading the host's PCI devices: %s",
			    strerror(-j->r));
		reply_err(&ec, "io.iovd.Failed", &e, j->r);
		deferred_error_from(j->d, &ec);
	} else {
		vm_start_run(&ec, &j->g, j->passed ? &j->files : NULL, j->h, j->u, j->save, j->what);
		if (ec.error)
			deferred_error_from(j->d, &ec);
		else
			vl_deferred_reply(j->d, ec.reply);
	}
	vm_start_files_close(&j->files);
	iov_gspec_free(&j->g);
	free(j);
}

static void vm_start_gone(struct vl_deferred *d, void *ud)
{
	((struct vm_start_job *)ud)->d = NULL;
}

/* No file a client names is opened by iovd (root): iovctl opens the kernel and initrd as
 * the caller and passes the fds (kernel_fd, initrd_fd; kernel and initrd are then only its
 * names for them). Paths iovd opens itself are root's alone: the old path-based call
 * works for a root caller. An unprivileged admin naming a path is refused before the path
 * is looked at, so the answer says nothing about the file. */
static void m_vm_start(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const extra[] = { "save", "kernel_fd", "initrd_fd", NULL };
	struct iov_gspec_in in = { .file = "VmStart", .path = "$", .extra = extra,
				   .flags = IOV_GSPEC_NULL_ABSENT | IOV_GSPEC_NO_AUTOSTART |
					    IOV_GSPEC_DISK_FD };
	struct iovd_guest_files files = { .kernel_fd = -1, .initrd_fd = -1, .by = c->peer->uid };
	struct iov_cfg_guest g = { 0 };
	struct iov_err e = { 0 };
	struct vm_start_job *j = NULL;
	char what[160], key[64], msg[sizeof(e.msg) + sizeof(e.fix) + 8];
	bool save, root = c->peer->uid == 0;
	int kr, ir;

	host_changing();

	if (get_bool(c, p, "save", &save) < 0 || (kr = passed_fd(c, p, "kernel_fd",
								    &files.kernel_fd)) < 0)
		return;
	if ((ir = passed_fd(c, p, "initrd_fd", &files.initrd_fd)) < 0)
		goto out;
	if (kr)
		in.flags |= IOV_GSPEC_NO_PATHS;
	/* The guest spec as the config loader reads it (config/guestspec.h). */
	if (iov_gspec_from_json(p, &in, &g, key, sizeof(key), &e) < 0) {
		snprintf(msg, sizeof(msg), "%s%s%s%s", e.msg, e.fix[0] ? " (" : "", e.fix,
			 e.fix[0] ? ")" : "");
		bad_arg(c, key[0] ? key : "parameters", msg);
		goto out;
	}
	{
		json_t *v;
		size_t i;

		json_array_foreach(json_object_get(p, "disks"), i, v) {
			int fd, dr = passed_fd(c, v, "fd", &fd);

			if (dr < 0)
				goto out;
			files.disk_fd[files.n_disks++] = fd;
			if (i < g.n_disks && g.disks[i].pool)
				continue;	/* an NVMe VF from a pool: no file (the codec
						 * refuses "fd" with "pool") */
			if (dr != kr) {
				bad_arg(c, "disks", kr ? "disks: pass each disk as an fd too (fd), as "
					"the kernel" : "disks: an fd only with the kernel's (kernel_fd)");
				goto out;
			}
		}
	}
	if (ir && !kr) {
		bad_arg(c, "initrd_fd", "initrd_fd: pass the kernel as an fd too (kernel_fd)");
		goto out;
	}
	if (kr && g.initrd && !ir) {
		bad_arg(c, "initrd", "initrd: pass it as an fd too (initrd_fd), as the kernel");
		goto out;
	}
	if (!kr && !root) {
		bad_arg(c, "kernel", "kernel: iovd opens no file a client names; pass the kernel "
			"and initrd as file descriptors (kernel_fd, initrd_fd), as `iovctl vm start` "
			"does");
		goto out;
	}
	/* A saved guest's files are opened by iovd at every autostart: only root's. */
	if (save && !root) {
		iov_err_set(&e, -EPERM, "ask root to save it, or write the drop-in as root",
			    "--save needs root: a saved guest's kernel and initrd are opened by iovd "
			    "itself");
		reply_err(c, "io.iovd.Refused", &e, -EPERM);
		goto out;
	}
	snprintf(what, sizeof(what), "start guest %s (%zu NIC%s%s)", g.name, g.n_nics,
		 g.n_nics == 1 ? "" : "s", kr ? ", files passed" : "");
	log_change(c, what);
	/* A guest with NICs needs the host's model (~0.1-0.2 s to read on a 2,000-device
	 * host): read on the worker, the start on the loop once it is there (deferred). */
	if (g.n_nics && (j = calloc(1, sizeof(*j))) && (j->d = vl_call_defer(c, vm_start_gone, j))) {
		j->srv = vl_call_server(c);
		j->g = g;
		memset(&g, 0, sizeof(g));
		j->files = files;
		files = (struct iovd_guest_files){ .kernel_fd = -1, .initrd_fd = -1 };
		j->passed = kr;
		j->save = save;
		snprintf(j->what, sizeof(j->what), "%s", what);
		j->gen = host_gen;
		iovd_offload(j->srv, vm_start_work, vm_start_done, j);
		goto out;
	}
	if (g.n_nics && j) {
		free(j);
		vl_error(c, "io.iovd.Failed", no_memory_params());
		goto out;
	}
	vm_start_run(c, &g, kr ? &files : NULL, NULL, NULL, save, what);
out:
	vm_start_files_close(&files);
	iov_gspec_free(&g);
}

/* VmStop's and VmRestart's timeout when none is given: policy.stop_timeout, else 30 s. */
static json_int_t stop_timeout_default(void)
{
	const struct iov_config *cfg = iovd_follow_config();

	return cfg && cfg->policy.stop_timeout >= 0 ? cfg->policy.stop_timeout :
	       IOVD_STOP_TIMEOUT_S;
}

/* VmStop answers once iovm has ended and the guest's VFs are back (deferred: the loop serves
 * others meanwhile); the deferred call is the stop's key. */
static void vm_stop_done(void *ud, json_t *info)
{
	vl_deferred_reply(ud, json_pack("{s:o}", "guest", info));
}

static void vm_stop_gone(struct vl_deferred *d, void *ud)
{
	iovd_guest_stop_cancel(d);
}

/* VmStop and VmRestart: their arguments (name, force, timeout: the policy's by default),
 * the change logged, the call deferred; NULL when it was answered (bad arguments, no memory). */
static struct vl_deferred *stop_call(struct vl_call *c, json_t *p, const char *verb,
				     const char **name, bool *force, json_int_t *timeout)
{
	static const char *const keys[] = { "name", "force", "timeout", NULL };
	struct vl_deferred *d;
	char what[96];

	host_changing();

	*timeout = stop_timeout_default();
	if (!only_keys(c, p, keys) || !(*name = get_str(c, p, "name", true)) ||
	    get_bool(c, p, "force", force) < 0)
		return NULL;
	if (json_object_get(p, "timeout") && !json_is_null(json_object_get(p, "timeout")) &&
	    !get_int(c, p, "timeout", IOVD_STOP_TIMEOUT_MAX_S, timeout))
		return NULL;
	snprintf(what, sizeof(what), "%s guest %.40s%s", verb, *name, *force ? " (force)" : "");
	log_change(c, what);
	if (!(d = vl_call_defer(c, vm_stop_gone, NULL)))
		vl_error(c, "io.iovd.Failed", no_memory_params());
	return d;
}

static void m_vm_stop(struct vl_call *c, json_t *p, void *ud)
{
	struct iov_err e = { 0 };
	json_int_t timeout;
	struct vl_deferred *d;
	json_t *info = NULL;
	const char *name;
	bool force;
	int r;

	if (!(d = stop_call(c, p, "stop", &name, &force, &timeout)))
		return;
	r = iovd_guest_stop_async(name, force, (int)timeout, vm_stop_done, d, &info, &e);
	if (r == 0) {
		vl_deferred_reply(d, json_pack("{s:o}", "guest", info));
	} else if (r < 0) {
		struct vl_call ec = { .peer = c->peer, .method = c->method };

		guest_err(&ec, &e, r);
		deferred_error_from(d, &ec);
	}
}

/* VmRestart: VmStop's deferred answer, once the guest runs again (or failed to start). */
static void vm_restart_done(void *ud, json_t *info)
{
	const char *state = json_string_value(json_object_get(info, "state"));

	if (state && strcmp(state, "running") == 0) {
		vl_deferred_reply(ud, json_pack("{s:o}", "guest", info));
		return;
	}
	{
		char msg[768];

		/* Its start failed (last_exit ends with it), or a vm stop came meanwhile. */
		snprintf(msg, sizeof(msg), "guest %s stopped and is not running again: %s",
			 json_string_value(json_object_get(info, "name")) ?: "?",
			 json_string_value(json_object_get(info, "last_exit")) ?: "no exit recorded");
		vl_deferred_error(ud, "io.iovd.Failed",
				  json_pack("{s:s, s:s, s:s}", "message", msg, "fix", "see `iovctl vm "
					    "log` and `vm show`; `iovctl vm start` it again", "errno",
					    "EIO"));
	}
	json_decref(info);
}

static void m_vm_restart(struct vl_call *c, json_t *p, void *ud)
{
	struct iov_err e = { 0 };
	json_int_t timeout;
	struct vl_deferred *d;
	const char *name;
	bool force;
	int r;

	if (!(d = stop_call(c, p, "restart", &name, &force, &timeout)))
		return;
	r = iovd_guest_restart_async(name, force, (int)timeout, vm_restart_done, d, &e);
	if (r < 0) {
		struct vl_call ec = { .peer = c->peer, .method = c->method };

		guest_err(&ec, &e, r);
		deferred_error_from(d, &ec);
	}
}

static void m_vm_reboot(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "name", "force", NULL };
	struct iov_err e = { 0 };
	json_t *info = NULL;
	const char *name;
	bool force;
	char what[96];
	int r;

	host_changing();

	if (!only_keys(c, p, keys) || !(name = get_str(c, p, "name", true)) ||
	    get_bool(c, p, "force", &force) < 0)
		return;
	snprintf(what, sizeof(what), "reboot guest %.40s%s", name, force ? " (force)" : "");
	log_change(c, what);
	if ((r = iovd_guest_reboot(name, force, &info, &e)) < 0) {
		guest_err(c, &e, r);
		return;
	}
	vl_reply(c, json_pack("{s:o}", "guest", info));
}

/* VmAttach and VmDetach answer once iovm has plugged the VF in, or the VF is back in its
 * pool (deferred: the loop serves others meanwhile). */
static void vm_hp_done(void *ud, json_t *result, const struct iov_err *e, int r)
{
	if (r >= 0) {
		vl_deferred_reply(ud, result);
	} else {
		struct vl_call ec = { 0 };

		guest_err(&ec, e, r);
		deferred_error_from(ud, &ec);
	}
}

static void vm_hp_gone(struct vl_deferred *d, void *ud)
{
	iovd_guest_hp_cancel(d);
}

static void vm_hp_defer(struct vl_call *c, bool attach, const char *name, const void *arg,
			int timeout, bool save)
{
	struct iov_err e = { 0 };
	struct vl_deferred *d;
	char what[128];
	int r;

	if (save && c->peer->uid != 0) {
		iov_err_set(&e, -EPERM, "ask root to save it", "save needs root: a saved guest is "
			    "started by iovd itself");
		reply_err(c, "io.iovd.Refused", &e, -EPERM);
		return;
	}
	snprintf(what, sizeof(what), "%s guest %.40s %s%.40s", attach ? "attach to" : "detach from",
		 name, attach ? "a NIC" : "NIC ", attach ? "" : (const char *)arg);
	log_change(c, what);
	if (!(d = vl_call_defer(c, vm_hp_gone, NULL))) {
		vl_error(c, "io.iovd.Failed", no_memory_params());
		return;
	}
	r = attach ? iovd_guest_attach_async(name, arg, save, vm_hp_done, d, &e) :
		     iovd_guest_detach_async(name, arg, timeout, save, vm_hp_done, d, &e);
	if (r < 0) {
		struct vl_call ec = { .peer = c->peer, .method = c->method };

		guest_err(&ec, &e, r);
		deferred_error_from(d, &ec);
	}
}

static void m_vm_attach(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "name", "nic", "save", NULL };
	struct iov_gspec_in in = { .file = "VmAttach", .path = "$.nic",
				   .flags = IOV_GSPEC_NULL_ABSENT };
	struct iov_cfg_nic nic = { 0 };
	struct iov_err e = { 0 };
	const char *name;
	bool save;

	host_changing();

	if (!only_keys(c, p, keys) || !(name = get_str(c, p, "name", true)) ||
	    get_bool(c, p, "save", &save) < 0)
		return;
	if (!json_is_object(json_object_get(p, "nic"))) {
		bad_arg(c, "nic", "nic: expected an object {pool|device, mac, vlan}");
		return;
	}
	if (iov_gspec_nic_from_json(json_object_get(p, "nic"), &in, &nic, &e) < 0) {
		bad_arg(c, "nic", e.msg);
		return;
	}
	vm_hp_defer(c, true, name, &nic, 0, save);
	iov_gspec_nic_free(&nic);
}

static void m_vm_detach(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "name", "nic", "timeout", "save", NULL };
	json_int_t timeout = IOVD_DETACH_TIMEOUT_S;
	const char *name, *nic;
	bool save;

	host_changing();

	if (!only_keys(c, p, keys) || !(name = get_str(c, p, "name", true)) ||
	    !(nic = get_str(c, p, "nic", true)) || get_bool(c, p, "save", &save) < 0)
		return;
	if (json_object_get(p, "timeout") && !json_is_null(json_object_get(p, "timeout")) &&
	    !get_int(c, p, "timeout", IOVD_DETACH_TIMEOUT_MAX_S, &timeout))
		return;
	vm_hp_defer(c, false, name, nic, (int)timeout, save);
}

static void m_vm_list(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { NULL };

	if (!only_keys(c, p, keys))
		return;
	vl_reply(c, json_pack("{s:o, s:o}", "guests", iovd_guests_json(), "quarantine",
			      iovd_quarantine_json()));
}

static void m_vm_show(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "name", NULL };
	struct iov_err e = { 0 };
	const char *name;
	json_t *g;
	int r;

	if (!only_keys(c, p, keys) || !(name = get_str(c, p, "name", true)))
		return;
	if ((r = iovd_guest_json(name, &g, &e)) < 0) {
		guest_err(c, &e, r);
		return;
	}
	vl_reply(c, json_pack("{s:o}", "guest", g));
}

static void m_vm_log(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "name", "bytes", "from", NULL };
	struct iov_err e = { 0 };
	json_int_t max = 64 * 1024, from = -1;
	const char *name;
	char *buf = NULL;
	size_t len = 0, end = 0;
	int r;

	if (!only_keys(c, p, keys) || !(name = get_str(c, p, "name", true)))
		return;
	if (json_object_get(p, "bytes") && !get_int(c, p, "bytes", 1024 * 1024, &max))
		return;
	if (json_object_get(p, "from") && !get_int(c, p, "from", (json_int_t)1 << 52, &from))
		return;
	if ((r = iovd_guest_log(name, (size_t)max, from, &buf, &len, &end, &e)) < 0) {
		guest_err(c, &e, r);
		return;
	}
	/* The console is the guest's: bytes that are not UTF-8 become '?'. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] >= 0x80 || (buf[i] < 0x20 && buf[i] != '\n' &&
						      buf[i] != '\t' && buf[i] != '\r'))
			buf[i] = '?';
	{
		json_t *o = json_pack("{s:s%}", "log", buf, len);

		json_object_set_new(o, "end", json_integer((json_int_t)end));
		vl_reply(c, o);
	}
	free(buf);
}

static void m_vm_console_input(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "name", "data", NULL };
	struct iov_err e = { 0 };
	json_t *d = json_object_get(p, "data");
	const char *name;
	size_t taken = 0;
	int r;

	if (!only_keys(c, p, keys) || !(name = get_str(c, p, "name", true)))
		return;
	if (!json_is_string(d) || json_string_length(d) > 4096) {
		bad_arg(c, "data", "data: expected a string of at most 4096 bytes");
		return;
	}
	if ((r = iovd_guest_console_input(name, json_string_value(d), json_string_length(d),
					  &taken, &e)) < 0) {
		guest_err(c, &e, r);
		return;
	}
	vl_reply(c, json_pack("{s:I}", "taken", (json_int_t)taken));
}

static void m_vf_unquarantine(struct vl_call *c, json_t *p, void *ud)
{
	static const char *const keys[] = { "device", NULL };
	struct iov_err e = { 0 };
	struct iov_host *h;
	struct iov_dev *d;
	const char *spec;
	int r;

	host_changing();

	if (!only_keys(c, p, keys) || !(spec = get_str(c, p, "device", true)) || load_host(c, &h) < 0)
		return;
	if ((d = resolve(c, h, spec))) {
		log_change(c, "unquarantine");
		if ((r = iovd_unquarantine(d->name, &e)) < 0)
			guest_err(c, &e, r);
		else
			vl_reply(c, json_pack("{s:s}", "device", d->name));
	}
	iov_host_free(h);
}

static const struct vl_method methods[] = {
	{ "io.iovd.GetVersion", m_get_version, false },
	{ "io.iovd.GetHost", m_get_host, false },
	{ "io.iovd.GetVfs", m_get_vfs, false },
	{ "io.iovd.SetVfCount", m_set_vf_count, true },
	{ "io.iovd.SetVf", m_set_vf, true },
	{ "io.iovd.Bind", m_bind, true },
	{ "io.iovd.Release", m_release, true },
	{ "io.iovd.Plan", m_plan, false },
	{ "io.iovd.Apply", m_apply, true },
	{ "io.iovd.Reload", m_reload, true },
	{ "io.iovd.GetStatus", m_get_status, false },
	{ "io.iovd.Monitor", m_monitor, false },
	{ "io.iovd.VmStart", m_vm_start, true },
	{ "io.iovd.VmStop", m_vm_stop, true },
	{ "io.iovd.VmRestart", m_vm_restart, true },
	{ "io.iovd.VmReboot", m_vm_reboot, true },
	{ "io.iovd.VmAttach", m_vm_attach, true },
	{ "io.iovd.VmDetach", m_vm_detach, true },
	{ "io.iovd.VmList", m_vm_list, false },
	{ "io.iovd.VmShow", m_vm_show, false },
	{ "io.iovd.VmLog", m_vm_log, false },
	{ "io.iovd.VmConsoleInput", m_vm_console_input, true },
	{ "io.iovd.VfUnquarantine", m_vf_unquarantine, true },
};

const struct vl_interface iovd_interface = {
	.name = "io.iovd",
	.description = iovd_idl,
	.methods = methods,
	.n_methods = sizeof(methods) / sizeof(methods[0]),
};

const struct vl_service_info iovd_service_info = {
	.vendor = "iovd",
	.product = "iovd",
	.version = IOVD_VERSION,
	.url = "docs/iovd.md",
};
