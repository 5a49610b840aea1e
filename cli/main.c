/* iovctl: the command-line client. Read-only commands (list, show, verify) read the host
 * directly; changes go through iovd. */
#include "cli/cli.h"
#include "lib/host.h"
#include "lib/log.h"
#include "lib/sysfs.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct cli_cmd commands[] = {
	{ "list", cmd_list, "list [pfs|vfs|groups]",
	  "PFs with their VFs, drivers, IOMMU groups, IOMMU and interrupt remapping" },
	{ "show", cmd_show, "show DEVICE", "everything known about one device (address, netdev or PF/vfN)" },
	{ "verify", cmd_verify, "verify DEVICE...",
	  "can each device go to a VM in isolation? checks, reasons, fixes (exit 1 if not)" },
	{ "vfs", cmd_vfs, "vfs create|destroy|show PF [N]",
	  "create N VFs [--vfio] or remove them through iovd (--force: release VFs on vfio-pci "
	  "first; --dry-run: the steps); show their settings" },
	{ "vf", cmd_vf, "vf set PF/vfN PROPERTY VALUE...",
	  "mac, vlan [qos] [proto 802.1Q|802.1ad], spoofchk, trust, state, min-rate, max-rate (through iovd)" },
	{ "bind", cmd_bind, "bind DEVICE [--driver D]",
	  "move the device's IOMMU group to vfio-pci (through iovd; --force: even if a VM holds it)" },
	{ "release", cmd_release, "release DEVICE", "give the device's group back to its drivers (through iovd)" },
	{ "monitor", cmd_monitor, "monitor [--recent] [--count N]",
	  "iovd's events as they happen (--recent: first those iovd still holds)" },
	{ "config", cmd_config, "config check [FILE] [--json]",
	  "validate a host config (default /etc/iovd/iovd.json + iovd.d/) against this host (exit 1 if invalid)" },
	{ "plan", cmd_plan, "plan [--force] [--config FILE]",
	  "what applying the host config would change, as a diff, and what it disturbs (iovd's config; FILE: here)" },
	{ "apply", cmd_apply, "apply [--dry-run] [--force]",
	  "re-read the host config and apply it as one journaled transaction (through iovd)" },
	{ "reload", cmd_reload, "reload", "iovd re-reads its config and applies it (same as SIGHUP)" },
	{ "status", cmd_status, "status",
	  "the config in force, the last apply, and any difference between config and host now" },
	{ "vm", cmd_vm, "vm start|stop|list|show|log|console [NAME]",
	  "guests under iovm with VFs from pools (start NAME --kernel K --nic POOL|PF/vfN ...)" },
	{ "export", cmd_export, "export cdi [--pool P]|sriovdp",
	  "the config's pools as CDI specs or a sriov-network-device-plugin config (--config FILE)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: iovctl [--json] [--sysroot DIR] [--socket PATH] [-v] COMMAND [ARGS]\n\n"
		   "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-34s %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "\noptions:\n"
		   "  --json           machine-readable output (JSON on stdout)\n"
		   "  --sysroot DIR    read DIR/sys and DIR/proc instead of /sys and /proc (env IOV_SYSROOT)\n"
		   "  --socket PATH    iovd control socket (env IOVD_SOCKET, default /run/iovd/io.iovd)\n"
		   "  -v, --verbose    more messages on stderr\n"
		   "  -h, --help       this help\n\n"
		   "DEVICE is a PCI address (0000:01:10.0 or 01:10.0), a netdev name (eth0) or PF/vfN\n"
		   "(0000:01:00.0/vf2, eth0/vf2). Exit status: 0 ok, 1 failure, 2 bad usage.\n");
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "iovctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			fprintf(stderr, "usage: iovctl %s\n", commands[i].usage);
	return 2;
}

int cli_load_host(struct cli_ctx *ctx, struct iov_host **out)
{
	int ret = iov_host_load(out);

	if (ret < 0) {
		log_err("cannot read the host's PCI devices under %s/sys: %s",
			*iov_sysroot() ? iov_sysroot() : "", strerror(-ret));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sysroot", required_argument, NULL, 'r' },
		{ "socket", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli_ctx ctx = { 0 };
	int c;

	iov_log_set_prog("iovctl");
	/* '+': stop at the command name, so its own options are left to it. */
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': ctx.json = true; break;
		case 'r': ctx.sysroot = optarg; break;
		case 's': ctx.socket = optarg; break;
		case 'v': iov_log_set_level(IOV_LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (iov_sysroot_init(ctx.sysroot) < 0)
		return 2;
	ctx.color = !ctx.json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

	const char *name = argv[optind];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			/* Commands see argv[0] = their name; --json may also follow the command. */
			char **cargv = argv + optind;
			int cargc = 0;
			for (int k = 0; k < argc - optind; k++) {
				if (k > 0 && strcmp(cargv[k], "--json") == 0)
					ctx.json = true, ctx.color = false;
				else
					cargv[cargc++] = cargv[k];
			}
			cargv[cargc] = NULL;
			return commands[i].fn(cargc, cargv, &ctx);
		}
	}
	fprintf(stderr, "iovctl: unknown command '%s'; run 'iovctl --help' for the list\n", name);
	return 2;
}
