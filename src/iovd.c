/* iovd: the only process that changes the host's SR-IOV and VFIO state. It serves the
 * io.iovd varlink interface (src/iovd_api.c) on a UNIX socket; iovctl is its client.
 * Single-threaded: one epoll loop, so changes are serialized. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/cdi.h"
#include "src/guest.h"
#include "src/iovd_api.h"
#include "src/udevmon.h"
#include "src/drift.h"
#include "config/check.h"
#include "config/config.h"
#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/host.h"
#include "src/apply.h"
#include "src/follow.h"
#include "src/journal.h"
#include "lib/group.h"
#include "lib/log.h"
#include "lib/sdnotify.h"
#include "lib/sysfs.h"
#include "lib/varlink.h"
#include "vfio/bind.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iovd [options]\n"
		"  -f, --foreground        stay in the foreground (for systemd and tests)\n"
		"  -s, --socket PATH       listen on PATH (default $IOVD_SOCKET, else %s)\n"
		"      --sysroot DIR       manage the sysfs tree under DIR (tests)\n"
		"  -g, --group NAME        members of group NAME may make changes (root always can)\n"
		"      --config FILE       the host config (default /etc/iovd/iovd.json)\n"
		"      --config-dir DIR    its drop-ins (default: FILE without .json, plus .d;\n"
		"                          /etc/iovd/iovd.d for the default file)\n"
		"      --no-apply          load the config but do not apply it at start\n"
		"      --check [FILE]      check the config (or FILE) as iovd would load it, then exit\n"
		"                          (0 valid, 1 invalid; the same check as `iovctl config check`)\n"
		"      --state-dir DIR     journal, bind records, last apply, guests, MAC registry,\n"
		"                          quarantine (default /var/lib/iovd,\n"
		"                          under --sysroot DIR: DIR/var/lib/iovd)\n"
		"      --cdi-dir DIR       keep the pools' CDI specs there (default /var/run/cdi,\n"
		"                          under --sysroot DIR/run/cdi; \"\" for none)\n"
		"      --bind-state PATH   where vfio bindings are remembered\n"
		"                          (default STATE_DIR/bind-state.json)\n"
		"      --pidfile PATH      write the daemon's pid there (removed on exit)\n"
		"      --allow-unsafe-interrupts  bind to vfio-pci even without interrupt remapping\n"
		"                          (refused by default; every such bind is logged as UNSAFE)\n"
		"      --iovm PATH         the VMM guests run in (default: next to iovd, else /usr/bin/iovm)\n"
		"      --guest-user NAME   user iovm runs as (NAME or UID[:GID], default iovm)\n"
		"  -v, --verbose           debug messages (connections); changes are always logged\n"
		"  -h, --help              this help\n"
		"      --version           print the version and exit\n", IOVD_DEFAULT_SOCKET);
}

/* iovd --check [FILE]: like nginx -t. The same code as `iovctl config check`. */
static int check_config(const char *file, const char *dropins)
{
	struct iov_host *h = NULL;
	struct iov_err err = { 0 };
	json_t *rep = NULL;
	int r = iov_host_load(&h);

	if (r < 0) {
		log_err("cannot read the host's PCI devices under %s/sys: %s", iov_sysroot(),
			strerror(-r));
		return 1;
	}
	r = iov_config_check(file, dropins, h, NULL, &rep, &err);
	iov_host_free(h);
	if (!rep) {
		log_err("out of memory");
		return 1;
	}
	iov_config_report_print(r < 0 ? stderr : stdout, rep);
	json_decref(rep);
	return r < 0 ? 1 : 0;
}

/* systemd socket activation (sd_listen_fds(3) protocol, without libsystemd): one
 * listening UNIX stream socket passed as fd 3. Returns it (non-blocking), or -1. */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0;
	socklen_t len = sizeof(type);

	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM) {
		log_warn("LISTEN_FDS set but fd 3 is not a stream socket; ignoring it");
		return -1;
	}
	if (fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	return 3;
}

static void write_pidfile(const char *path, pid_t pid)
{
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "w");
	if (!f || fprintf(f, "%d\n", (int)pid) < 0 || fclose(f) != 0)
		log_warn("--pidfile %s: cannot write it", path);
}

/* Tells the service manager (if any) that iovd serves; MAINPID covers the forked case. */
static void notify_ready(void)
{
	char msg[64];
	int r;

	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%d", (int)getpid());
	r = iov_sd_notify(msg);
	if (r < 0)
		log_warn_errno(r, "NOTIFY_SOCKET=%s: cannot tell the service manager iovd is ready",
			       getenv("NOTIFY_SOCKET"));
	else if (r > 0)
		log_debug("told the service manager: READY=1");
}

static void on_signal(int fd, void *ud)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		struct iov_err e = { 0 };
		json_t *res = NULL;
		bool bad;

		log_info("SIGHUP: re-reading the config");
		if (iovd_follow_reload(true, false, false, &res, &bad, &e) < 0)
			log_err("SIGHUP: %s%s", e.msg, bad ? " (the previous config stays in force)"
						       : "");
		else
			log_info("SIGHUP: %s", json_string_value(json_object_get(res, "result")));
		json_decref(res);
		return;
	}
	log_info("signal %u: exiting", si.ssi_signo);
	vl_server_quit(ud);
}

/* The old home of the bind records (before the state directory): read once, moved. */
#define OLD_BIND_STATE "/run/iovd/bind-state.json"

static void migrate_bind_state(const char *path)
{
	struct iov_err e = { 0 };
	char *buf;
	size_t len;

	if (access(path, F_OK) == 0 || iov_read_file(OLD_BIND_STATE, 1 << 20, &buf, &len) < 0)
		return;
	if (iov_write_atomic(path, buf, len, 0600, "bind state", &e) == 0) {
		log_info("bind records moved from %s to %s", OLD_BIND_STATE, path);
		unlink(OLD_BIND_STATE);
	} else {
		log_warn("%s", e.msg);
	}
	free(buf);
}

/* Before serving: the state directory, an interrupted apply, the config (and its apply). */
static int start_config(const char *state_dir, const char *bind_state, const char *config,
			bool config_given, const char *config_dir, bool unsafe, gid_t admin,
			bool no_apply)
{
	static char bs[PATH_MAX];
	struct iovd_follow_opts fo = { .config_path = config, .state_dir = state_dir,
				       .cmdline_unsafe = unsafe, .cmdline_admin = admin };
	struct iov_err e = { 0 };
	json_t *res = NULL;
	bool bad, missing;
	int r, lock;

	fo.dropin_dir = config_dir;	/* NULL: next to the file (FILE without .json + .d) */
	if ((r = iov_mkdir_p(state_dir, 0755)) < 0)
		return log_err_errno(r, "--state-dir %s: cannot create it", state_dir);
	/* One iovd per state directory: a second one must not recover or apply under the
	 * first one's feet. The fd stays open (and locked) for the daemon's life. */
	snprintf(bs, sizeof(bs), "%s/iovd.lock", state_dir);
	lock = open(bs, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0)
		return log_err_errno(-errno, "%s: cannot open the state lock", bs);
	if (flock(lock, LOCK_EX | LOCK_NB) < 0) {
		log_err("%s: another iovd uses this state directory (stop it, or pass another "
			"--state-dir)", state_dir);
		close(lock);
		return -EBUSY;
	}
	if (!bind_state) {
		snprintf(bs, sizeof(bs), "%s/bind-state.json", state_dir);
		bind_state = bs;
		if (!strcmp(state_dir, IOVD_DEFAULT_STATE_DIR))
			migrate_bind_state(bs);
	}
	iov_bind_set_state_path(bind_state);
	iovd_journal_fault_from_env();
	iovd_follow_init(&fo);
	r = iovd_recover(state_dir, &iovd_apply_ops_sysfs, NULL, &e);
	if (r < 0)
		log_err("recovering the interrupted apply failed: %s; the host may be half-changed "
			"(the journal in %s stays for the next start)", e.msg, state_dir);
	r = iovd_follow_reload(!no_apply, false, false, &res, &bad, &e);
	missing = access(config ? config : IOV_CONFIG_DEFAULT_PATH, F_OK) != 0;
	if (r < 0 && bad && e.code == -ENOENT && missing && !config_given) {
		log_info("no host config (%s): serving only", config ? config :
			 IOV_CONFIG_DEFAULT_PATH);
	} else if (r < 0 && bad && !missing) {
		/* A config that is there but does not load: fail the start loudly (systemd
		 * sees it) rather than serve without it. A reload keeps the previous one. */
		log_err("config: %s%s%s", e.msg, e.fix[0] ? "; fix: " : "", e.fix);
		json_decref(res);
		return -EINVAL;
	} else if (r < 0) {
		log_err("%s: %s", bad ? "config" : "apply at start", e.msg);
	}
	else if (!no_apply)
		log_info("config applied at start: %s",
			 json_string_value(json_object_get(res, "result")));
	json_decref(res);
	return 0;
}

/* The host changed under iovd (udev, coalesced): what it means is decided by planning
 * against the config once things have settled. */
static void on_host_settled(const struct iovd_udev_window *w, void *ud)
{
	log_debug("host settled after %zu uevents (%zu events, %zu PFs bound)", w->uevents,
		  w->events, w->pfs_bound);
	iovd_drift_check(w->pfs_bound > 0);
	iovd_api_host_changed();	/* GetHost's shared snapshot is out of date */
	iovd_guests_host_settled();	/* degraded guests whose VFs are back */
	malloc_trim(0);			/* the host models read for it are freed: pages back */
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "sysroot", required_argument, NULL, 'R' },
		{ "group", required_argument, NULL, 'g' },
		{ "bind-state", required_argument, NULL, 'B' },
		{ "pidfile", required_argument, NULL, 'P' },
		{ "allow-unsafe-interrupts", no_argument, NULL, 'U' },
		{ "config", required_argument, NULL, 'F' },
		{ "config-dir", required_argument, NULL, 'D' },
		{ "no-apply", no_argument, NULL, 'N' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "cdi-dir", required_argument, NULL, 'I' },
		{ "check", no_argument, NULL, 'K' },
		{ "iovm", required_argument, NULL, 'M' },
		{ "guest-user", required_argument, NULL, 'G' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *sock = getenv("IOVD_SOCKET"), *sysroot = NULL, *group = NULL;
	const char *pidfile = NULL, *config = NULL, *config_dir = NULL, *bind_state = NULL;
	const char *cdi_dir = NULL;
	const char *state_dir = NULL;
	char sysroot_state[PATH_MAX], sysroot_dev[PATH_MAX];
	bool foreground = false, unsafe = false, no_apply = false, check = false;
	bool config_given;
	struct iovd_guest_opts gopts = { 0 };
	gid_t admin = (gid_t)-1;
	struct vl_server *srv;
	struct iovd_udev *udev = NULL;
	sigset_t mask;
	int c, lfd, sfd, verbose = 0, r;

	iov_log_set_prog("iovd");
	while ((c = getopt_long(argc, argv, "fs:g:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 's': sock = optarg; break;
		case 'R': sysroot = optarg; break;
		case 'g': group = optarg; break;
		case 'B': bind_state = optarg; break;
		case 'F': config = optarg; break;
		case 'D': config_dir = optarg; break;
		case 'N': no_apply = true; break;
		case 'S': state_dir = optarg; break;
		case 'I': cdi_dir = optarg; break;
		case 'P': pidfile = optarg; break;
		case 'U': unsafe = true; break;
		case 'K': check = true; break;
		case 'M': gopts.iovm = optarg; break;
		case 'G': gopts.user = optarg; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("iovd %s\n", IOVD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (check) {
		const char *file = optind < argc ? argv[optind++] : config;

		if (optind < argc) {
			fprintf(stderr, "iovd --check: one FILE only ('%s')\n", argv[optind]);
			return 2;
		}
		if (iov_sysroot_init(sysroot) < 0)
			return 1;
		return check_config(file, file && !config_dir ? "" : config_dir);
	}
	if (optind < argc) {
		fprintf(stderr, "iovd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!sock || !*sock)
		sock = IOVD_DEFAULT_SOCKET;
	/* Changes are always logged (info); -v adds connections and refusals' details. */
	iov_log_set_level(verbose ? IOV_LOG_DEBUG : IOV_LOG_INFO);
	if (iov_sysroot_init(sysroot) < 0)
		return 1;
	/* A tree under --sysroot is its own host: its state lives in it, never in this
	 * machine's /var/lib/iovd. */
	if (!state_dir && iov_sysroot()[0]) {
		snprintf(sysroot_state, sizeof(sysroot_state), "%s%s", iov_sysroot(),
			 IOVD_DEFAULT_STATE_DIR);
		state_dir = sysroot_state;
	} else if (!state_dir) {
		state_dir = IOVD_DEFAULT_STATE_DIR;
	}
	if (unsafe) {
		iov_bind_set_unsafe_interrupts(true);
		log_warn("--allow-unsafe-interrupts: devices will be bound to vfio-pci even without "
			 "interrupt remapping; a VM could then inject interrupts into this host");
	}
	if (group && (r = iov_group_gid(group, &admin)) < 0) {
		/* Under a sysroot only DIR/etc/group counts (lib/group.h). */
		log_err("--group %s: %s (see %s/etc/group)", group,
			r == -ENOENT ? "no such group" : r == -ENODATA ? "no group file" :
			strerror(-r), iov_sysroot());
		return 2;
	}

	if ((r = iovd_cdi_init(cdi_dir)) < 0)
		return log_err_errno(r, "CDI specs"), 1;
	/* Its config too: never this machine's /etc/iovd for a tree. */
	config_given = config != NULL;
	if (iov_sysroot()[0] && !config) {
		static char cf[PATH_MAX];

		snprintf(cf, sizeof(cf), "%s%s", iov_sysroot(), IOV_CONFIG_DEFAULT_PATH);
		config = cf;
	}
	lfd = activated_socket();
	if (lfd >= 0) {
		foreground = true;	/* systemd started us and watches this process */
		sock = NULL;		/* the socket file belongs to systemd */
	} else {
		lfd = vl_listen(sock);
	}
	if (lfd < 0) {
		if (lfd == -EADDRINUSE)
			log_err("%s: another iovd is already serving this socket", sock);
		else if (lfd == -ENOTSOCK)
			log_err("%s exists and is not a socket; remove it (it was left alone) or "
				"pick another path with --socket", sock);
		else
			log_err_errno(lfd, "cannot listen on %s (run iovd as root, or pick another "
				      "path with --socket)", sock);
		return 1;
	}
	/* Listening (connections wait in the backlog) but not serving: recovery and the apply
	 * at start come first, and a second iovd was refused above before touching anything. */
	if (start_config(state_dir, bind_state, config, config_given, config_dir, unsafe, admin,
			 no_apply) < 0) {
		if (sock)
			unlink(sock);
		return 1;
	}
	/* The pools' specs, for the config as applied, before the parent returns and before a
	 * request is served: `iovd && podman run --device iovd.io/...` finds them. */
	iovd_cdi_sync();
	/* The socket is listening before the parent returns, so `iovd && iovctl ...` works.
	 * The signalfd and epoll come after the fork: a signalfd polled through an epoll set
	 * created by another process never wakes up for this one's signals. The signals are
	 * blocked before it, though: a SIGTERM sent to the pid in --pidfile as soon as the
	 * parent returns then waits for the signalfd instead of killing the child before it
	 * can remove its socket. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if (!foreground) {
		pid_t pid = fork();

		if (pid < 0)
			return log_err_errno(-errno, "fork"), 1;
		if (pid > 0) {
			/* Written before the parent returns, so a caller can read it at once. */
			write_pidfile(pidfile, pid);
			_exit(0);
		}
		setsid();
		/* A daemon keeps no directory busy and creates nothing group/world-writable,
		 * whatever the shell that started it had. */
		if (chdir("/") < 0)
			log_warn_errno(-errno, "chdir /");
		umask(022);
		if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout))
			log_warn("cannot redirect stdio to /dev/null");
	} else {
		write_pidfile(pidfile, getpid());
	}
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		return log_err_errno(-errno, "signalfd"), 1;

	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, admin, NULL);
	if (!srv || vl_server_watch(srv, sfd, on_signal, srv) < 0) {
		log_err("out of memory");
		return 1;
	}
	vl_server_watch_name(srv, sfd, "signals");
	iovd_follow_set_server(srv);
	if ((r = iovd_cdi_watch(srv)) < 0)
		return log_err_errno(r, "CDI specs: watching the events"), 1;
	/* Under --sysroot the uevents would be this machine's, not the tree's: no udev. */
	if (!iov_sysroot()[0]) {
		struct iovd_udev_opts uo = { .live = true, .poll_s = 60,
					     .on_settled = on_host_settled };

		if (!(udev = iovd_udev_new(srv, &uo)))
			log_warn_errno(-errno, "udev monitor");
	}
	/* Guests recorded by an earlier iovd are re-adopted before the first request. */
	gopts.state_dir = state_dir;
	/* A tree under --sysroot is its own host: its guests' device nodes (kvm, vfio) are
	 * DIR/dev's, never this machine's. */
	if (iov_sysroot()[0]) {
		snprintf(sysroot_dev, sizeof(sysroot_dev), "%s/dev", iov_sysroot());
		gopts.dev_dir = sysroot_dev;
	}
	if (iovd_guests_init(srv, &gopts) < 0)
		return 1;
	iovd_guests_autostart();	/* the config's guests marked autostart */
	log_info("serving io.iovd on %s (sysroot %s, pid %d)", sock ? sock : "the socket systemd passed",
		 iov_sysroot()[0] ? iov_sysroot() : "/", (int)getpid());
	/* Type=notify: ready once the socket listens (and, later, the config is applied). */
	notify_ready();
	r = vl_server_run(srv);
	iovd_guests_shutdown();
	if (iov_sd_notify("STOPPING=1") < 0)
		log_debug("NOTIFY_SOCKET: cannot send STOPPING=1");
	vl_server_free(srv);
	iovd_udev_free(udev);
	if (sock)
		unlink(sock);
	if (pidfile)
		unlink(pidfile);
	if (r < 0)
		return log_err_errno(r, "event loop"), 1;
	return 0;
}
