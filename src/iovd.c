/* iovd: the only process that changes the host's SR-IOV and VFIO state. It serves the
 * io.iovd varlink interface (src/iovd_api.c) on a UNIX socket; iovctl is its client.
 * Single-threaded: one epoll loop, so changes are serialized. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/guest.h"
#include "src/iovd_api.h"
#include "lib/log.h"
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
		"      --bind-state PATH   where vfio bindings are remembered\n"
		"                          (default /run/iovd/bind-state.json)\n"
		"      --pidfile PATH      write the daemon's pid there (removed on exit)\n"
		"      --allow-unsafe-interrupts  bind to vfio-pci even without interrupt remapping\n"
		"                          (refused by default; every such bind is logged as UNSAFE)\n"
		"      --state-dir DIR     guests, MAC registry, quarantine (default /var/lib/iovd)\n"
		"      --iovm PATH         the VMM guests run in (default: next to iovd, else /usr/bin/iovm)\n"
		"      --guest-user NAME   user iovm runs as (NAME or UID[:GID], default iovm)\n"
		"  -v, --verbose           debug messages (connections); changes are always logged\n"
		"  -h, --help, --version\n", IOVD_DEFAULT_SOCKET);
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

static void on_signal(int fd, void *ud)
{
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	/* Nothing to reload: every request reads the host afresh. */
	if (si.ssi_signo == SIGHUP) {
		log_info("SIGHUP: nothing to reload (the host is read per request)");
		return;
	}
	log_info("signal %u: exiting", si.ssi_signo);
	vl_server_quit(ud);
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
		{ "state-dir", required_argument, NULL, 'S' },
		{ "iovm", required_argument, NULL, 'M' },
		{ "guest-user", required_argument, NULL, 'G' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	const char *sock = getenv("IOVD_SOCKET"), *sysroot = NULL, *group = NULL;
	const char *pidfile = NULL;
	struct iovd_guest_opts gopts = { 0 };
	bool foreground = false, unsafe = false;
	gid_t admin = (gid_t)-1;
	struct vl_server *srv;
	sigset_t mask;
	int c, lfd, sfd, verbose = 0, r;

	iov_log_set_prog("iovd");
	while ((c = getopt_long(argc, argv, "fs:g:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': foreground = true; break;
		case 's': sock = optarg; break;
		case 'R': sysroot = optarg; break;
		case 'g': group = optarg; break;
		case 'B': iov_bind_set_state_path(optarg); break;
		case 'P': pidfile = optarg; break;
		case 'U': unsafe = true; break;
		case 'S': gopts.state_dir = optarg; break;
		case 'M': gopts.iovm = optarg; break;
		case 'G': gopts.user = optarg; break;
		case 'v': verbose++; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("iovd %s\n", IOVD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
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
	if (unsafe) {
		iov_bind_set_unsafe_interrupts(true);
		log_warn("--allow-unsafe-interrupts: devices will be bound to vfio-pci even without "
			 "interrupt remapping; a VM could then inject interrupts into this host");
	}
	if (group) {
		struct group *g = getgrnam(group);

		if (!g) {
			log_err("--group %s: no such group (see /etc/group)", group);
			return 2;
		}
		admin = g->gr_gid;
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
		else
			log_err_errno(lfd, "cannot listen on %s (run iovd as root, or pick another "
				      "path with --socket)", sock);
		return 1;
	}
	/* The socket is listening before the parent returns, so `iovd && iovctl ...` works.
	 * The signalfd and epoll come after the fork: a signalfd polled through an epoll set
	 * created by another process never wakes up for this one's signals. */
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
		if (!freopen("/dev/null", "r", stdin) || !freopen("/dev/null", "w", stdout))
			log_warn("cannot redirect stdio to /dev/null");
	} else {
		write_pidfile(pidfile, getpid());
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		return log_err_errno(-errno, "signalfd"), 1;

	srv = vl_server_new(lfd, &iovd_service_info, &iovd_interface, admin, NULL);
	if (!srv || vl_server_watch(srv, sfd, on_signal, srv) < 0) {
		log_err("out of memory");
		return 1;
	}
	/* Guests recorded by an earlier iovd are re-adopted before the first request. */
	if (iovd_guests_init(srv, &gopts) < 0)
		return 1;
	log_info("serving io.iovd on %s (sysroot %s, pid %d)", sock ? sock : "the socket systemd passed",
		 iov_sysroot()[0] ? iov_sysroot() : "/", (int)getpid());
	r = vl_server_run(srv);
	iovd_guests_shutdown();
	vl_server_free(srv);
	if (sock)
		unlink(sock);
	if (pidfile)
		unlink(pidfile);
	if (r < 0)
		return log_err_errno(r, "event loop"), 1;
	return 0;
}
