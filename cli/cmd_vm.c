/* iovctl vm start NAME --kernel K [--initrd I] [--cmdline S] [--mem 512M] [--cpus N]
 *                     --nic POOL|PF/vfN|ADDRESS[,mac=M][,vlan=V] ... [--restart POLICY] [--save] [--quiet]
 *        vm stop NAME [--timeout S] [--force] | vm list | vm show NAME | vm log NAME | vm console NAME
 * Clients of io.iovd.Vm* (src/guest.c does the work in iovd). Arguments are checked here
 * (exit 2 naming the bad one, nothing sent) and again by iovd. */
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/cmd_vm.h"
#include "cli/fdpass.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "cli/srvstr.h"
#include "sriov/vfconf.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* "512M", "2G", "512" (MiB) -> MiB. */
static int parse_mem(const char *s, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -EINVAL;
	if (*end == 'G' || *end == 'g')
		v *= 1024, end++;
	else if (*end == 'M' || *end == 'm')
		end++;
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end || v % 2 || v < 4 || v > (1 << 20))
		return -EINVAL;
	*out = v;
	return 0;
}

/* A bare word is a pool; PF/vfN, a PCI address or a netdev with '/' is a device. */
json_t *vm_parse_nic(const char *arg, char *err, size_t len)
{
	char buf[256], *save = NULL, *tok;
	json_t *n = json_object();
	bool first = true;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = false) {
		if (first) {
			bool dev = strchr(tok, '/') || strchr(tok, ':') || strchr(tok, '.');

			json_object_set_new(n, dev ? "device" : "pool", json_string(tok));
		} else if (strncmp(tok, "mac=", 4) == 0) {
			uint8_t m[6];

			if (iov_parse_mac(tok + 4, m, err, len) < 0 || iov_check_vf_mac(m, err, len) < 0)
				goto bad;
			json_object_set_new(n, "mac", json_string(tok + 4));
		} else if (strncmp(tok, "vlan=", 5) == 0) {
			uint16_t v;

			if (iov_parse_vlan(tok + 5, &v, err, len) < 0)
				goto bad;
			json_object_set_new(n, "vlan", json_integer(v));
		} else {
			snprintf(err, len, "--nic %s: unknown part '%s' (mac=M, vlan=V)", arg, tok);
			goto bad;
		}
	}
	if (first) {
		snprintf(err, len, "--nic: give a pool, PF/vfN or an address");
		goto bad;
	}
	return n;
bad:
	json_decref(n);
	return NULL;
}

static const char *str(json_t *o, const char *k)
{
	return cli_str(o, k, "-");
}

static void print_nics(json_t *g, const char *indent)
{
	json_t *nics = json_object_get(g, "nics"), *n;
	size_t i;

	json_array_foreach(nics, i, n) {
		json_t *vl = json_object_get(n, "vlan");
		char vlan[16] = "none";

		if (json_is_integer(vl))
			snprintf(vlan, sizeof(vlan), "%lld", (long long)json_integer_value(vl));
		printf("%snic%zu: %s (%s vf %lld, group %lld) mac %s vlan %s pool %s\n", indent, i,
		       str(n, "vf"), str(n, "pf_netdev"),
		       (long long)json_integer_value(json_object_get(n, "vf_index")),
		       (long long)json_integer_value(json_object_get(n, "group")), str(n, "mac"),
		       vlan, str(n, "pool"));
	}
}

void vm_print_guest(json_t *g)
{
	json_t *pid = json_object_get(g, "pid");

	printf("%s: %s", str(g, "name"), str(g, "state"));
	if (json_is_integer(pid))
		printf(", iovm pid %lld as %s%s", (long long)json_integer_value(pid), str(g, "user"),
		       json_is_true(json_object_get(g, "adopted")) ? " (re-adopted)" : "");
	printf("\n  kernel %s%s%s, %lld MiB%s, %lld vCPU%s, restart %s, restarts %lld\n",
	       str(g, "kernel"), json_object_get(g, "initrd") ? ", initrd " : "",
	       json_object_get(g, "initrd") ? str(g, "initrd") : "",
	       (long long)json_integer_value(json_object_get(g, "mem_mib")),
	       json_is_true(json_object_get(g, "hugepages")) ? " on hugepages" : "",
	       (long long)json_integer_value(json_object_get(g, "cpus")),
	       json_integer_value(json_object_get(g, "cpus")) == 1 ? "" : "s", str(g, "restart"),
	       (long long)json_integer_value(json_object_get(g, "restarts")));
	if (json_object_get(g, "cmdline"))
		printf("  cmdline %s\n", str(g, "cmdline"));
	{
		json_t *d;
		size_t i;

		json_array_foreach(json_object_get(g, "disks"), i, d) {
			if (!json_is_string(json_object_get(d, "pool"))) {
				printf("  disk %zu: %s%s\n", i, str(d, "path"),
				       json_is_true(json_object_get(d, "readonly")) ? " (read-only)" : "");
				continue;
			}
			printf("  disk %zu: nvme:%s", i, str(d, "pool"));
			if (json_is_string(json_object_get(d, "vf")))
				printf(" VF %s (%s vf %lld) namespace %lld, on release %s", str(d, "vf"),
				       str(d, "pf"),
				       (long long)json_integer_value(json_object_get(d, "vf_index")),
				       (long long)json_integer_value(json_object_get(d, "namespace")),
				       str(d, "on_release"));
			printf("\n");
		}
	}
	print_nics(g, "  ");
	{
		json_t *irqs = json_object_get(g, "irqs"), *q;
		size_t i;

		if (json_array_size(irqs))
			printf("  host IRQs (iovm on CPUs %s):", str(g, "cpus_allowed"));
		json_array_foreach(irqs, i, q)
			printf(" %lld %s cpus %s%s", (long long)json_integer_value(json_object_get(q, "irq")),
			       str(q, "name"), str(q, "cpus"), i + 1 < json_array_size(irqs) ? "," : "\n");
	}
	printf("  started %s, log %s\n", str(g, "started"), str(g, "log"));
	if (json_is_string(json_object_get(g, "last_exit")))
		printf("  last exit: %s\n", str(g, "last_exit"));
	if (json_is_true(json_object_get(g, "waiting_for_vfs")))
		printf("  waiting for its VFs: started again once the host has them back%s%s\n",
		       json_object_get(g, "not_restarted_because") ? "; not yet: " : "",
		       json_object_get(g, "not_restarted_because") ?
		       str(g, "not_restarted_because") : "");
}

static const char *const vm_files[] = { "kernel", "initrd", NULL };

static int vm_start(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *name = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL, *restart = NULL;
	char err[512];
	long long mem = 512, cpus = 1;
	bool save = false, hugepages = false, quiet = false;
	json_t *nics = json_array(), *disks = json_array(), *p, *r = NULL;
	int ret;

	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (cli_is_opt(o) && strcmp(o, "--save") == 0) {
			save = true;
			continue;
		}
		if (cli_is_opt(o) && strcmp(o, "--hugepages") == 0) {
			hugepages = true;
			continue;
		}
		if (cli_is_opt(o) && strcmp(o, "--quiet") == 0) {
			quiet = true;
			continue;
		}
		if (!cli_is_opt(o)) {
			if (name) {
				json_decref(nics);
				json_decref(disks);
				return cli_usage("vm", "one guest name ('%s')", o);
			}
			name = o;
			continue;
		}
		if (!v) {
			json_decref(nics);
			json_decref(disks);
			return cli_usage("vm", "%s needs a value", o);
		}
		i++;
		if (strcmp(o, "--kernel") == 0)
			kernel = v;
		else if (strcmp(o, "--initrd") == 0)
			initrd = v;
		else if (strcmp(o, "--cmdline") == 0)
			cmdline = v;
		else if (strcmp(o, "--restart") == 0)
			restart = v;
		else if (strcmp(o, "--mem") == 0) {
			if (parse_mem(v, &mem) < 0) {
				json_decref(nics);
				json_decref(disks);
				return cli_usage("vm", "--mem '%s': a size in MiB, a multiple of 2 "
						 "(512M, 2G)", v);
			}
		} else if (strcmp(o, "--cpus") == 0) {
			char *end;

			cpus = strtoll(v, &end, 10);
			if (*end || end == v || cpus < 1 || cpus > 64) {
				json_decref(nics);
				json_decref(disks);
				return cli_usage("vm", "--cpus '%s': 1 to 64", v);
			}
		} else if (strcmp(o, "--disk") == 0) {
			if (cli_disk_arg(disks, v, err, sizeof(err)) < 0) {
				json_decref(nics);
				json_decref(disks);
				return cli_usage("vm", "%s", err);
			}
		} else if (strcmp(o, "--nic") == 0) {
			json_t *n = vm_parse_nic(v, err, sizeof(err));

			if (!n) {
				json_decref(nics);
				json_decref(disks);
				return cli_usage("vm", "%s", err);
			}
			json_array_append_new(nics, n);
		} else {
			json_decref(nics);
			json_decref(disks);
			return cli_usage("vm", "unknown option '%s'", o);
		}
	}
	if (!name || !kernel) {
		json_decref(nics);
		json_decref(disks);
		return cli_usage("vm", "vm start NAME --kernel FILE [--nic ...]: %s is missing",
				 name ? "--kernel" : "the guest name");
	}
	p = json_pack("{s:s, s:s, s:I, s:I, s:o}", "name", name, "kernel", kernel, "mem_mib",
		      (json_int_t)mem, "cpus", (json_int_t)cpus, "nics", nics);
	if (initrd)
		json_object_set_new(p, "initrd", json_string(initrd));
	if (json_array_size(disks))
		json_object_set_new(p, "disks", json_incref(disks));
	json_decref(disks);
	if (cmdline)
		json_object_set_new(p, "cmdline", json_string(cmdline));
	if (restart)
		json_object_set_new(p, "restart", json_string(restart));
	if (save)
		json_object_set_new(p, "save", json_true());
	if (hugepages)
		json_object_set_new(p, "hugepages", json_true());
	/* Opened here, as the caller, and passed as fds: iovd opens no path a client names. */
	/* On a terminal, each step of the start as iovd takes it (cli/progress.h). */
	ctx->progress = cli_progress_start(ctx, quiet, CLI_PROGRESS_VM_START, name);
	ret = cli_call_files(ctx, "io.iovd.VmStart", p, vm_files, &r);
	cli_progress_end(ctx->progress);
	ctx->progress = NULL;
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json)
		ret = cli_print_doc("vm-start", json_incref(r));
	else {
		vm_print_guest(json_object_get(r, "guest"));
		if (json_is_string(json_object_get(r, "saved")))
			printf("  saved to %s (started with iovd from now on)\n", str(r, "saved"));
	}
	json_decref(r);
	return ret;
}

static int vm_name_call(int argc, char **argv, struct cli_ctx *ctx, const char *method)
{
	const char *name = NULL;
	bool force = false;
	json_t *p, *r = NULL;
	long timeout = -1;
	int ret;

	/* --force: vm stop, restart, reboot; --timeout: vm stop, restart. */
	bool takes_force = strcmp(argv[1], "stop") == 0 || strcmp(argv[1], "restart") == 0 ||
			   strcmp(argv[1], "reboot") == 0;
	bool takes_timeout = strcmp(argv[1], "stop") == 0 || strcmp(argv[1], "restart") == 0;

	for (int i = 2; i < argc; i++) {
		if (cli_is_opt(argv[i]) && strcmp(argv[i], "--force") == 0 && takes_force)
			force = true;
		else if (cli_is_opt(argv[i]) && strcmp(argv[i], "--timeout") == 0 && takes_timeout) {
			char *end;

			if (i + 1 >= argc || (timeout = strtol(argv[++i], &end, 10)) < 0 || *end ||
			    timeout > 100)
				return cli_usage("vm", "--timeout S: seconds the guest has to shut "
						 "down before iovm is killed, 0..100 (default 30)");
		} else if (cli_is_opt(argv[i]))
			return cli_usage("vm", "vm %s: unknown option '%s'", argv[1], argv[i]);
		else if (!name)
			name = argv[i];
		else
			return cli_usage("vm", "one guest name ('%s')", argv[i]);
	}
	if (!name)
		return cli_usage("vm", "vm %s NAME: name the guest", argv[1]);
	p = json_pack("{s:s}", "name", name);
	if (force)
		json_object_set_new(p, "force", json_true());
	if (timeout >= 0)
		json_object_set_new(p, "timeout", json_integer(timeout));
	ret = cli_call(ctx, method, p, &r);
	json_decref(p);
	if (ret)
		return ret;
	if (ctx->json) {
		char doc[32];

		snprintf(doc, sizeof(doc), "vm-%s", argv[1]);	/* vm-stop, vm-show, ... */
		ret = cli_print_doc(doc, json_incref(r));
	}
	else if (json_object_get(r, "log"))
		cli_put_text(stdout, json_string_value(json_object_get(r, "log")), /* not printed raw */
			     json_string_length(json_object_get(r, "log")), false);
	else
		vm_print_guest(json_object_get(r, "guest"));
	json_decref(r);
	return ret;
}

/* ---- vm console: input through VmConsoleInput, output by following VmLog ---- */

#define DETACH_KEY 0x1d		/* Ctrl-] */

static struct termios saved_tio;
static bool tio_saved;
static volatile sig_atomic_t stop_sig;

static void tty_restore(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

static void on_stop_signal(int sig)
{
	stop_sig = sig;
}

static int tty_raw(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return 0;
	t = saved_tio;
	cfmakeraw(&t);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	tio_saved = true;
	return 0;
}

/* The guest's bytes as VmLog gives them, escaped (cli/srvstr.h); in raw mode a bare
 * newline also needs a carriage return. */
static void put_out(const char *b, size_t n)
{
	cli_put_text(stdout, b, n, tio_saved);
	fflush(stdout);
}

/* New log bytes since *from; 1 when the guest no longer runs, 0, or an exit code. */
static int follow(struct cli_ctx *ctx, const char *name, long long *from)
{
	json_t *p = json_pack("{s:s, s:I}", "name", name, "from", (json_int_t)*from), *r = NULL;
	json_t *log;
	int ret = cli_call(ctx, "io.iovd.VmLog", p, &r);

	json_decref(p);
	if (ret)
		return -ret;
	log = json_object_get(r, "log");
	put_out(json_string_value(log), json_string_length(log));	/* not printed raw: put_out */
	*from = json_integer_value(json_object_get(r, "end"));
	json_decref(r);
	return 0;
}

static bool running(struct cli_ctx *ctx, const char *name)
{
	json_t *p = json_pack("{s:s}", "name", name), *r = NULL;
	bool run = false;

	if (cli_call(ctx, "io.iovd.VmShow", p, &r) == 0) {
		json_t *st = json_object_get(json_object_get(r, "guest"), "state");

		run = json_is_string(st) && strcmp(cli_sval(st, NULL), "running") == 0;
	}
	json_decref(p);
	json_decref(r);
	return run;
}

static int send_input(struct cli_ctx *ctx, const char *name, const char *b, size_t n)
{
	json_t *d = json_stringn(b, n), *p, *r = NULL;
	int ret;

	if (!d)		/* not UTF-8: the console takes ASCII and UTF-8 */
		return 0;
	p = json_pack("{s:s, s:o}", "name", name, "data", d);
	ret = cli_call(ctx, "io.iovd.VmConsoleInput", p, &r);
	json_decref(p);
	json_decref(r);
	return ret;
}

static int vm_console(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *name = NULL;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	long long from = -1;
	json_t *p, *r = NULL;
	int ret, last_check = 0;
	bool in_open = true;

	for (int i = 2; i < argc; i++) {
		if (!name)
			name = argv[i];
		else
			return cli_usage("vm", "one guest name ('%s')", argv[i]);
	}
	if (!name)
		return cli_usage("vm", "vm console NAME: name the guest");
	/* An empty input first: iovd refuses an unknown guest, one not running, or a caller
	 * who may not change things, before the terminal is touched. */
	if ((ret = send_input(ctx, name, "", 0)))
		return ret;
	p = json_pack("{s:s, s:i}", "name", name, "bytes", 1);
	if ((ret = cli_call(ctx, "io.iovd.VmLog", p, &r))) {
		json_decref(p);
		return ret;
	}
	json_decref(p);
	from = json_integer_value(json_object_get(r, "end"));
	json_decref(r);
	fprintf(stderr, "Connected to guest %s's console; detach with Ctrl-]\n", name);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if ((ret = tty_raw()) < 0) {
		fprintf(stderr, "iovctl vm console: cannot set the terminal raw: %s\n",
			strerror(-ret));
		return 1;
	}
	ret = 0;
	while (!stop_sig) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		char buf[1024];
		ssize_t n = 0;

		if (in_open && poll(&pfd, 1, 100) > 0) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;	/* end of input: detach once output is in */
			} else {
				char *k = memchr(buf, DETACH_KEY, (size_t)n);
				size_t len = k ? (size_t)(k - buf) : (size_t)n;

				if (len && (ret = send_input(ctx, name, buf, len)))
					break;
				if (k)
					break;
			}
		} else if (!in_open) {
			struct timespec ts = { 0, 300 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
		if ((ret = follow(ctx, name, &from)) < 0) {
			ret = -ret;
			break;
		}
		if (!in_open)
			break;
		if (++last_check >= 10) {	/* about once a second */
			last_check = 0;
			if (!running(ctx, name)) {
				follow(ctx, name, &from);
				tty_restore();
				fprintf(stderr, "\nguest %s is no longer running\n", name);
				return 1;
			}
		}
	}
	tty_restore();
	fprintf(stderr, "\nDetached from guest %s\n", name);
	return ret;
}

static int vm_list(int argc, char **argv, struct cli_ctx *ctx)
{
	json_t *r = NULL, *g, *q;
	size_t i;
	int ret;

	if (argc > 2)
		return cli_usage("vm", "vm list takes no arguments");
	if ((ret = cli_call(ctx, "io.iovd.VmList", NULL, &r)))
		return ret;
	if (ctx->json) {
		ret = cli_print_doc("vm-list", json_incref(r));
		json_decref(r);
		return ret;
	}
	printf("%-16s %-8s %-8s %-5s %-6s %s\n", "NAME", "STATE", "PID", "CPUS", "MEM", "NICS");
	json_array_foreach(json_object_get(r, "guests"), i, g) {
		json_t *pid = json_object_get(g, "pid"), *n;
		size_t k;
		char pids[16] = "-";

		if (json_is_integer(pid))
			snprintf(pids, sizeof(pids), "%lld", (long long)json_integer_value(pid));
		printf("%-16s %-8s %-8s %-5lld %-6lld", str(g, "name"), str(g, "state"), pids,
		       (long long)json_integer_value(json_object_get(g, "cpus")),
		       (long long)json_integer_value(json_object_get(g, "mem_mib")));
		json_array_foreach(json_object_get(g, "nics"), k, n)
			printf(" %s=%s", str(n, "vf"), str(n, "mac"));
		printf("\n");
	}
	json_array_foreach(json_object_get(r, "quarantine"), i, q)
		printf("quarantined: %s (guest %s): %s\n", str(q, "device"), str(q, "guest"),
		       str(q, "reason"));
	json_decref(r);
	return 0;
}

int cmd_vm(int argc, char **argv, struct cli_ctx *ctx)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "start") == 0)
		return vm_start(argc, argv, ctx);
	if (strcmp(sub, "stop") == 0)
		return vm_name_call(argc, argv, ctx, "io.iovd.VmStop");
	if (strcmp(sub, "restart") == 0)
		return vm_name_call(argc, argv, ctx, "io.iovd.VmRestart");
	if (strcmp(sub, "reboot") == 0)
		return vm_name_call(argc, argv, ctx, "io.iovd.VmReboot");
	if (strcmp(sub, "show") == 0)
		return vm_name_call(argc, argv, ctx, "io.iovd.VmShow");
	if (strcmp(sub, "log") == 0)
		return vm_name_call(argc, argv, ctx, "io.iovd.VmLog");
	if (strcmp(sub, "list") == 0)
		return vm_list(argc, argv, ctx);
	if (strcmp(sub, "console") == 0)
		return vm_console(argc, argv, ctx);
	if (strcmp(sub, "attach") == 0 || strcmp(sub, "detach") == 0)
		return vm_nic_cmd(argc, argv, ctx);	/* cli/cmd_vm_nic.c */
	return cli_usage("vm", "say start, stop, restart, reboot, list, show, log, console, attach "
			 "or detach");
}
