/* iovctl: one file per subcommand (cli/cmd_*.c), dispatched from the table in cli/main.c.
 * A command returns the process exit code: 0 ok, 1 failure (or "not isolated" for verify),
 * 2 usage error / bad argument. Global options are parsed by main.c before dispatch. */
#ifndef IOV_CLI_H
#define IOV_CLI_H

#include <stdbool.h>
#include <stdio.h>

struct iov_host;

struct cli_ctx {
	bool json;		/* --json */
	bool color;		/* stdout is a tty and NO_COLOR unset (and not --json) */
	const char *sysroot;	/* --sysroot DIR or NULL (IOV_SYSROOT is read by iov_sysroot_init) */
	const char *socket;	/* --socket PATH or NULL (daemon default) */
	struct cli_progress *progress;	/* a long call's progress lines (cli/progress.h) or NULL */
};

/* One option of a command: "--driver" with arg "D"; sub: only after that subcommand
 * (vm start's --kernel), NULL for all; alias: a short form ("-n"), or NULL. */
struct cli_opt {
	const char *name;
	const char *arg;
	const char *sub;
	const char *alias;
	const char *help;
};

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv, struct cli_ctx *ctx);
	const char *usage;	/* "list [pfs|vfs|groups]" */
	const char *help;	/* one line */
	const struct cli_opt *opts;	/* its options, { 0 }-terminated; NULL: none */
	const char *const *subs;	/* the words its first argument may be, NULL-terminated */
	const char *more;	/* more lines for its --help, or NULL */
};

/* Loads the host model from the sysroot; prints the error itself. Exit code on failure. */
int cli_load_host(struct cli_ctx *ctx, struct iov_host **out);
/* Prints a usage error for cmd ("iovctl CMD: msg" + usage line), returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An error: "iovctl[ CMD]: message" (and "  fix: FIX") on stderr; with --json also
 * {"schema": "iovd.error/1", "error": {"code", "message", "fix"}} on stdout (docs/json.md).
 * code: "usage", "no-such-device", "refused", "failed", "permission-denied", "config",
 * "no-daemon", "daemon", "host", "unknown" (not knowable under --sysroot). cmd and fix may be NULL. Returns rc. */
int cli_fail(int rc, const char *cmd, const char *code, const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Whether arg (a pointer into the command's argv) is an option: main.c moves a command's
 * options after its other arguments and checks them against the command's table; what
 * follows `--` on the line is never an option, whatever it starts with. */
bool cli_is_opt(const char *arg);

int cmd_list(int argc, char **argv, struct cli_ctx *ctx);
int cmd_show(int argc, char **argv, struct cli_ctx *ctx);
int cmd_verify(int argc, char **argv, struct cli_ctx *ctx);
/* Changes, through iovd (cli/client.h). */
int cmd_vfs(int argc, char **argv, struct cli_ctx *ctx);
int cmd_vf(int argc, char **argv, struct cli_ctx *ctx);
int cmd_bind(int argc, char **argv, struct cli_ctx *ctx);
int cmd_release(int argc, char **argv, struct cli_ctx *ctx);
int cmd_monitor(int argc, char **argv, struct cli_ctx *ctx);
/* Reads only: the config file against this host (config/check.h). */
int cmd_config(int argc, char **argv, struct cli_ctx *ctx);
/* The host config through iovd (cli/cmd_apply.c). */
int cmd_plan(int argc, char **argv, struct cli_ctx *ctx);
int cmd_apply(int argc, char **argv, struct cli_ctx *ctx);
int cmd_reload(int argc, char **argv, struct cli_ctx *ctx);
int cmd_status(int argc, char **argv, struct cli_ctx *ctx);
int cmd_vm(int argc, char **argv, struct cli_ctx *ctx);
/* Exports of the config's pools for container runtimes and Kubernetes (config/export.h). */
int cmd_export(int argc, char **argv, struct cli_ctx *ctx);

/* The VF settings table of `vfs show` (for `show PF` too): VF, MAC, VLAN, QOS, PROTO,
 * SPOOFCHK, TRUST, STATE, RATE; each line starts with indent. Data: iov_vfinfo_query()
 * (sriov/vfinfo.h); its JSON: iov_vfinfo_json()/iov_vfinfo_query_json(). */
struct iov_vfinfo;
void cli_print_vfinfo(FILE *f, const struct iov_vfinfo *v, size_t n, const char *indent);

#endif
