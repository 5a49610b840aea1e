/* iovctl: the command-line client. Read-only commands (list, show, verify) read the host
 * directly; changes go through iovd. */
#include "cli/cli.h"
#include "cli/output.h"
#include "lib/host.h"
#include "lib/iovd_proto.h"
#include "lib/log.h"
#include "lib/suggest.h"
#include "lib/sysfs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const vfs_subs[] = { "create", "destroy", "show", NULL };
static const char *const vf_subs[] = { "set", "unquarantine", NULL };
static const char *const config_subs[] = { "check", NULL };
static const char *const vm_subs[] = { "start", "stop", "restart", "reboot", "list", "show", "log",
				       "console", "attach", "detach", NULL };
static const char *const export_subs[] = { "cdi", "sriovdp", NULL };

static const struct cli_opt list_opts[] = {
	{ "--summary", NULL, NULL, NULL, "each PF's VFs on one line, as runs: vf0-31 vfio-pci" },
	{ "--wide", NULL, NULL, NULL, "full lines (on a terminal the NAME column is cut to fit)" },
	{ 0 },
};
static const struct cli_opt vfs_opts[] = {
	{ "--vfio", NULL, "create", NULL, "bind the new VFs to vfio-pci" },
	{ "--force", NULL, NULL, NULL, "release VFs on vfio-pci first (not those a VM holds)" },
	{ "--dry-run", NULL, NULL, "-n", "print the steps, change nothing" },
	{ 0 },
};
static const struct cli_opt bind_opts[] = {
	{ "--driver", "D", NULL, NULL, "the driver to bind to (default vfio-pci)" },
	{ "--force", NULL, NULL, NULL, "even if a VM holds the group" },
	{ 0 },
};
static const struct cli_opt monitor_opts[] = {
	{ "--recent", NULL, NULL, NULL, "first the events iovd still holds" },
	{ "--count", "N", NULL, NULL, "exit after N events" },
	{ 0 },
};
static const struct cli_opt config_opts[] = {
	{ "--config-dir", "DIR", "check", NULL, "the drop-ins (default: with FILE none, else "
	  "/etc/iovd/iovd.d)" },
	{ 0 },
};
static const struct cli_opt plan_opts[] = {
	{ "--force", NULL, NULL, NULL, "plan as apply --force would (release VFs on vfio-pci)" },
	{ "--config", "FILE", NULL, NULL, "plan FILE here, without iovd (reads only)" },
	{ 0 },
};
static const struct cli_opt apply_opts[] = {
	{ "--dry-run", NULL, NULL, "-n", "print the plan, change nothing" },
	{ "--force", NULL, NULL, NULL, "release VFs on vfio-pci that are in the way" },
	{ "--quiet", NULL, NULL, "-q", "no progress lines (printed only on a terminal)" },
	{ 0 },
};
static const struct cli_opt vm_opts[] = {
	{ "--kernel", "FILE", "start", NULL, "the guest's bzImage (required)" },
	{ "--initrd", "FILE", "start", NULL, "its initramfs" },
	{ "--disk", "PATH", "start", NULL, "a virtio disk: PATH[,ro], or nvme:POOL (an NVMe VF from a pool); repeatable" },
	{ "--cmdline", "STR", "start", NULL, "its kernel command line" },
	{ "--mem", "SIZE", "start", NULL, "guest RAM, a multiple of 2 MiB: 512M, 2G (default 512M)" },
	{ "--cpus", "N", "start", NULL, "vCPUs, 1 to 64 (default 1)" },
	{ "--nic", "NIC", "start|attach", NULL, "POOL|PF/vfN|ADDRESS[,mac=M][,vlan=V]; repeatable "
	  "(start)" },
	{ "--restart", "POLICY", "start", NULL, "no, on-failure or always" },
	{ "--save", NULL, "start|attach|detach", NULL, "save the guest in the host config (started "
	  "with iovd); attach/detach: with the NIC added/removed" },
	{ "--hugepages", NULL, "start", NULL, "guest RAM on 2 MiB hugepages (reserved beforehand)" },
	{ "--quiet", NULL, "start", "-q", "no progress lines (printed only on a terminal)" },
	{ "--timeout", "S", "stop|restart|detach", NULL, "seconds to shut down before iovm is killed "
	  "(0..100; default policy.stop_timeout, else 30); detach: to release the NIC (default 20)" },
	{ "--force", NULL, "stop|restart|reboot", NULL, "stop: SIGKILL instead of SIGTERM; "
	  "reboot: a reset instead of Ctrl-Alt-Del" },
	{ 0 },
};
static const struct cli_opt export_opts[] = {
	{ "--pool", "P", "cdi", NULL, "only pool P" },
	{ "--config", "FILE", NULL, NULL, "that config file alone (default /etc/iovd/iovd.json "
	  "+ iovd.d/)" },
	{ 0 },
};

static const struct cli_cmd commands[] = {
	{ "list", cmd_list, "list [pfs|vfs|groups|PF]",
	  "PFs with their VFs, drivers, IOMMU groups, IOMMU and interrupt remapping", list_opts,
	  NULL, NULL },
	{ "show", cmd_show, "show DEVICE", "everything known about one device (address, netdev or PF/vfN)",
	  NULL, NULL, NULL },
	{ "verify", cmd_verify, "verify DEVICE...",
	  "can each device go to a VM in isolation? checks, reasons, fixes (exit 1 if not)", NULL, NULL,
	  "Checks iommu, interrupt_remapping, group_viable, acs, reset, host_critical and numa.\n"
	  "Exit 0 if all are isolated, 1 if one is not, 2 on bad usage.\n" },
	{ "vfs", cmd_vfs, "vfs create|destroy|show PF [N]",
	  "create N VFs or remove them through iovd; show their settings", vfs_opts, vfs_subs, NULL },
	{ "vf", cmd_vf, "vf set|unquarantine PF/vfN [PROPERTY VALUE...]",
	  "set mac, vlan [qos] [proto 802.1Q|802.1ad], spoofchk, trust, state, min_rate, max_rate; "
	  "or let a quarantined VF be used again (through iovd)", NULL, vf_subs, NULL },
	{ "bind", cmd_bind, "bind DEVICE",
	  "move the device's IOMMU group to vfio-pci (through iovd)", bind_opts, NULL, NULL },
	{ "release", cmd_release, "release DEVICE", "give the device's group back to its drivers (through iovd)",
	  NULL, NULL, NULL },
	{ "monitor", cmd_monitor, "monitor", "iovd's events as they happen", monitor_opts, NULL, NULL },
	{ "config", cmd_config, "config check [FILE]",
	  "validate a host config (default /etc/iovd/iovd.json + iovd.d/) against this host (exit 1 if invalid)",
	  config_opts, config_subs,
	  "Loads the host config (default /etc/iovd/iovd.json with the drop-ins in /etc/iovd/iovd.d;\n"
	  "a FILE given alone is read without drop-ins, as iovd --config FILE does), checks every\n"
	  "value and matches the PFs against this host (or --sysroot): the same check as\n"
	  "iovd --check. Exit 0 valid, 1 invalid, 2 bad usage.\n" },
	{ "plan", cmd_plan, "plan",
	  "what applying the host config would change, as a diff, and what it disturbs", plan_opts, NULL, NULL },
	{ "apply", cmd_apply, "apply",
	  "re-read the host config and apply it as one journaled transaction (through iovd)",
	  apply_opts, NULL, NULL },
	{ "reload", cmd_reload, "reload", "iovd re-reads its config and applies it (same as SIGHUP)",
	  NULL, NULL, NULL },
	{ "status", cmd_status, "status",
	  "the config in force, the last apply, and any difference between config and host now",
	  NULL, NULL, NULL },
	{ "vm", cmd_vm, "vm start|stop|restart|reboot|list|show|log|console|attach|detach [NAME]",
	  "guests under iovm with VFs from pools", vm_opts, vm_subs, NULL },
	{ "export", cmd_export, "export cdi|sriovdp",
	  "the config's pools as CDI specs or a sriov-network-device-plugin config", export_opts,
	  export_subs, NULL },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The options every command takes, anywhere on the line. */
static const struct cli_opt global_opts[] = {
	{ "--json", NULL, NULL, NULL, "machine-readable output (JSON on stdout; iovctl(8), JSON OUTPUT)" },
	{ "--sysroot", "DIR", NULL, NULL, "read DIR/sys and DIR/proc instead of /sys and /proc "
	  "(env IOV_SYSROOT)" },
	{ "--socket", "PATH", NULL, NULL, "iovd control socket (env IOVD_SOCKET, default "
	  IOVD_DEFAULT_SOCKET ")" },
	{ "--verbose", NULL, NULL, "-v", "more messages on stderr" },
	{ "--help", NULL, NULL, "-h", "this help; with a command, that command's" },
	{ "--version", NULL, NULL, NULL, "print the version and exit" },
	{ 0 },
};

static const struct cli_cmd *find_cmd(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char *suggest_cmd(const char *word)
{
	const char *names[N_COMMANDS + 1];

	for (size_t i = 0; i < N_COMMANDS; i++)
		names[i] = commands[i].name;
	names[N_COMMANDS] = "help";
	return iov_suggest(word, names, N_COMMANDS + 1);
}

static void print_opt(FILE *f, const struct cli_opt *o, bool tag_sub)
{
	char left[64];

	snprintf(left, sizeof(left), "%s%s%s%s%s", o->alias ? o->alias : "", o->alias ? ", " : "",
		 o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fprintf(f, "  %-20s %s%s%s%s\n", left, tag_sub && o->sub ? "(" : "",
		tag_sub && o->sub ? o->sub : "", tag_sub && o->sub ? ") " : "", o->help);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: iovctl [OPTION]... COMMAND [ARG]...\n\n"
		   "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-34s %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "  %-34s %s\n", "help [COMMAND]", "this help, or a command's with its options");
	fprintf(f, "\noptions (anywhere on the line; `--` ends them):\n");
	for (const struct cli_opt *o = global_opts; o->name; o++)
		print_opt(f, o, false);
	fprintf(f, "\nDEVICE is a PCI address (0000:01:10.0 or 01:10.0), a netdev name (eth0) or PF/vfN\n"
		   "(0000:01:00.0/vf2, eth0/vf2). Each command's options: iovctl help COMMAND.\n"
		   "Exit status: 0 ok, 1 failure, 2 bad usage.\n");
}

/* An option's subcommands: one ("start") or several ("stop|restart"). */
static bool sub_match(const char *subs, const char *sub)
{
	size_t n = strlen(sub);

	for (const char *p = subs; p; p = strchr(p, '|'), p = p ? p + 1 : NULL)
		if (strncmp(p, sub, n) == 0 && (p[n] == '\0' || p[n] == '|'))
			return true;
	return false;
}

/* "usage: iovctl CMD ARGS [OPTIONS]\n"; with sub (vm start) only that subcommand's. */
static void usage_line(FILE *f, const struct cli_cmd *c, const char *sub)
{
	const char *rest = strchr(c->usage, ' ');

	/* "vm start|stop|... [NAME]" for sub start: "vm start [NAME]" */
	if (sub && rest && strchr(rest + 1, '|'))
		fprintf(f, "usage: iovctl %s %s%s", c->name, sub, strchr(rest + 1, ' ') ?: "");
	else
		fprintf(f, "usage: iovctl %s", c->usage);
	for (const struct cli_opt *o = c->opts; o && o->name; o++)
		if (!o->sub || !sub || sub_match(o->sub, sub))
			fprintf(f, " [%s%s%s]", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
	fputc('\n', f);
}

/* `iovctl help CMD`, `iovctl CMD --help`: the command's usage and options; with sub (vm
 * start) only the options that go with it. */
static void cmd_help(FILE *f, const struct cli_cmd *c, const char *sub)
{
	usage_line(f, c, sub);
	fprintf(f, "%s\n%s", c->help, c->more ? c->more : "");
	if (c->opts) {
		fprintf(f, "\noptions:\n");
		for (const struct cli_opt *o = c->opts; o->name; o++)
			if (!o->sub || !sub || sub_match(o->sub, sub))
				print_opt(f, o, !sub);
	}
	fprintf(f, "\nand the global options: --json, --sysroot DIR, --socket PATH, -v, -h "
		   "(iovctl --help)\n");
}

static bool json_errors;	/* --json: errors as JSON on stdout too */

static void json_error(const char *code, const char *msg, const char *fix)
{
	json_t *e;

	if (!json_errors)
		return;
	e = json_pack("{s:s, s:s, s:s}", "code", code, "message", msg, "fix", fix ? fix : "");
	fflush(stdout);		/* after whatever the command printed */
	cli_print_doc("error", json_pack("{s:o}", "error", e));
}

int cli_fail(int rc, const char *cmd, const char *code, const char *fix, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "iovctl%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "", msg);
	if (fix && *fix)
		fprintf(stderr, "  fix: %s\n", fix);
	json_error(code, msg, fix);
	return rc;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	const struct cli_cmd *c = find_cmd(cmd);
	char msg[1024], fix[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "iovctl %s: %s\n", cmd, msg);
	if (c)
		usage_line(stderr, c, NULL);
	snprintf(fix, sizeof(fix), "see iovctl %s --help", cmd);
	json_error("usage", msg, fix);
	return 2;
}

/* The option table entry named by arg ("--force", "-n"), or NULL. */
static const struct cli_opt *find_opt(const struct cli_opt *opts, const char *arg, size_t len)
{
	for (const struct cli_opt *o = opts; o && o->name; o++)
		if ((strlen(o->name) == len && strncmp(o->name, arg, len) == 0) ||
		    (o->alias && strlen(o->alias) == len && strncmp(o->alias, arg, len) == 0))
			return o;
	return NULL;
}

/* Any command's option of that name: whether it takes a value is the same for all. */
static const struct cli_opt *find_any_opt(const char *arg, size_t len)
{
	const struct cli_opt *o = find_opt(global_opts, arg, len);

	for (size_t i = 0; !o && i < N_COMMANDS; i++)
		o = find_opt(commands[i].opts, arg, len);
	return o;
}

static const char *suggest_opt(const struct cli_cmd *c, const char *arg)
{
	const char *names[64];
	size_t n = 0;

	for (const struct cli_opt *o = global_opts; o->name; o++)
		names[n++] = o->name;
	for (const struct cli_opt *o = c ? c->opts : NULL; o && o->name && n < 64; o++)
		names[n++] = o->name;
	return iov_suggest(arg, names, n);
}

static const char *opt_ptrs[128];
static size_t n_opt_ptrs;

bool cli_is_opt(const char *arg)
{
	for (size_t i = 0; i < n_opt_ptrs; i++)
		if (opt_ptrs[i] == arg)
			return true;
	return false;
}

int cli_load_host(struct cli_ctx *ctx, struct iov_host **out)
{
	int ret = iov_host_load(out);

	if (ret < 0)
		return cli_fail(1, NULL, "host", NULL, "cannot read the host's PCI devices under "
				"%s/sys: %s", *iov_sysroot() ? iov_sysroot() : "", strerror(-ret));
	return 0;
}

/* "-x", "--xyz": an option word (a lone "-" and negative numbers are arguments). */
static bool looks_like_opt(const char *a)
{
	return a[0] == '-' && a[1] && !(a[1] >= '0' && a[1] <= '9');
}

static int bad_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_usage(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd)
		return cli_usage(cmd, "%s", msg);
	return cli_fail(2, NULL, "usage", "see iovctl --help", "%s", msg);
}

/* main's work; pos, opt and cargv have room for every word of argv (twice for opt and
 * cargv: --opt=value becomes two). */
static int run(int argc, char **argv, char **pos, char **opt, char **cargv)
{
	size_t npos = 0, nopt = 0;
	struct cli_ctx ctx = { 0 };
	const struct cli_cmd *cmd = NULL;
	const char *cmd_name = NULL;
	bool help = false, version = false, endopts = false;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		json_errors |= strcmp(argv[i], "--json") == 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq, *val = NULL;
		const struct cli_opt *o;
		size_t len;

		if (endopts || !looks_like_opt(a)) {
			if (!cmd_name && !endopts)
				cmd_name = a;
			else
				pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			endopts = true;
			continue;
		}
		eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
		len = eq ? (size_t)(eq - a) : strlen(a);
		o = find_any_opt(a, len);
		if (!o) {
			const char *near = suggest_opt(cmd_name ? find_cmd(cmd_name) : NULL, a);

			return bad_usage(cmd_name && find_cmd(cmd_name) ? cmd_name : NULL,
					 "unknown option '%s'%s%s%s", a, near ? "; did you mean '" : "",
					 near ? near : "", near ? "'?" : "");
		}
		if (o->arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return bad_usage(cmd_name && find_cmd(cmd_name) ? cmd_name : NULL,
						 "%s needs a value (%s)", o->name, o->arg);
		} else if (eq) {
			return bad_usage(cmd_name && find_cmd(cmd_name) ? cmd_name : NULL,
					 "%s takes no value ('%s')", o->name, a);
		}
		if (find_opt(global_opts, o->name, strlen(o->name))) {
			if (!strcmp(o->name, "--json"))
				ctx.json = true;
			else if (!strcmp(o->name, "--sysroot"))
				ctx.sysroot = val;
			else if (!strcmp(o->name, "--socket"))
				ctx.socket = val;
			else if (!strcmp(o->name, "--verbose"))
				iov_log_set_level(IOV_LOG_DEBUG);
			else if (!strcmp(o->name, "--help"))
				help = true;
			else if (!strcmp(o->name, "--version"))
				version = true;
			continue;
		}
		opt[nopt++] = (char *)o->name;	/* the long form: "-n" is "--dry-run" */
		if (val)
			opt[nopt++] = val;
	}
	json_errors = ctx.json;
	if (version) {
		printf("iovctl %s\n", IOVD_VERSION);
		return 0;
	}
	if (cmd_name && strcmp(cmd_name, "help") == 0) {
		help = true;
		cmd_name = npos ? pos[0] : NULL;	/* help vm start: vm's help for start */
		if (npos > 2)
			return bad_usage(NULL, "help: one command at a time ('%s')", pos[2]);
		pos[0] = npos > 1 ? pos[1] : NULL;
		npos = npos > 1 ? 1 : 0;
	}
	if (cmd_name && !(cmd = find_cmd(cmd_name))) {
		const char *near = suggest_cmd(cmd_name);

		return cli_fail(2, NULL, "usage", "iovctl --help lists the commands",
				"unknown command '%s'%s%s%s", cmd_name, near ? "; did you mean '" : "",
				near ? near : "", near ? "'?" : "");
	}
	if (help) {
		if (cmd)
			cmd_help(stdout, cmd, npos && cmd->subs ? pos[0] : NULL);
		else
			usage(stdout);
		return 0;
	}
	if (!cmd) {
		usage(stderr);
		json_error("usage", "no command given", "see iovctl --help");
		return 2;
	}
	/* Its first argument, where it picks a subcommand or selection, and its options. */
	if (npos && cmd->subs) {
		bool known = false;

		for (size_t k = 0; cmd->subs[k]; k++)
			known |= strcmp(cmd->subs[k], pos[0]) == 0;
		if (!known) {
			char list[256] = "";
			size_t off = 0, n = 0;

			while (cmd->subs[n])
				n++;
			const char *near = iov_suggest(pos[0], cmd->subs, n);

			for (size_t k = 0; cmd->subs[k] && off < sizeof(list); k++)
				off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
							k ? (cmd->subs[k + 1] ? ", " : " or ") : "",
							cmd->subs[k]);
			return cli_usage(cmd->name, "unknown %s '%s'%s%s%s (expected %s)",
					 cmd->opts || strcmp(cmd->name, "list") ? "subcommand" : "selection",
					 pos[0], near ? "; did you mean '" : "", near ? near : "",
					 near ? "'?" : "", list);
		}
	}
	for (size_t k = 0; k < nopt; k++) {
		const struct cli_opt *o = find_opt(cmd->opts, opt[k], strlen(opt[k]));

		if (!o) {
			const char *near = suggest_opt(cmd, opt[k]);

			if (near && strcmp(near, opt[k]) == 0)
				near = NULL;
			return cli_usage(cmd->name, "%s is not an option of %s%s%s%s", opt[k], cmd->name,
					 near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		}
		if (o->sub && (!npos || !cmd->subs || !sub_match(o->sub, pos[0]))) {
			char subs[128] = "";	/* "'vm start' or 'vm attach'" */

			for (const char *p = o->sub; p && *p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
				snprintf(subs + strlen(subs), sizeof(subs) - strlen(subs), "%s'%s %.*s'",
					 *subs ? " or " : "", cmd->name, (int)strcspn(p, "|"), p);
			return cli_usage(cmd->name, "%s goes with %s", o->name, subs);
		}
		if (n_opt_ptrs < sizeof(opt_ptrs) / sizeof(opt_ptrs[0]))
			opt_ptrs[n_opt_ptrs++] = opt[k];
		if (o->arg)
			k++;
	}
	if (iov_sysroot_init(ctx.sysroot) < 0)
		return 2;
	ctx.color = !ctx.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	/* Commands see argv[0] = their name, then their arguments, then their options. */
	int cargc = 0;

	cargv[cargc++] = (char *)cmd->name;
	for (size_t k = 0; k < npos; k++)
		cargv[cargc++] = pos[k];
	for (size_t k = 0; k < nopt; k++)
		cargv[cargc++] = opt[k];
	cargv[cargc] = NULL;
	return cmd->fn(cargc, cargv, &ctx);
}

int main(int argc, char **argv)
{
	/* The command's words: its arguments, then its options (with their values). */
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	char **opt = calloc((size_t)argc * 2 + 1, sizeof(char *));
	char **cargv = calloc((size_t)argc * 2 + 2, sizeof(char *));
	int ret = 1;

	iov_log_set_prog("iovctl");
	if (pos && opt && cargv)
		ret = run(argc, argv, pos, opt, cargv);
	else
		fprintf(stderr, "iovctl: out of memory\n");
	free(pos);
	free(opt);
	free(cargv);
	return ret;
}
