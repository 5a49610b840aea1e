#include "cli/client.h"
#include "cli/cli.h"
#include "cli/progress.h"
#include "cli/srvstr.h"
#include "lib/iovd_proto.h"
#include "lib/log.h"
#include "lib/varlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Creating VFs waits for the devices and binds them: allow for a slow PF driver. */
#define CALL_TIMEOUT_MS 120000

const char *cli_socket_path(const struct cli_ctx *ctx)
{
	const char *s = ctx->socket;

	if (!s || !*s)
		s = getenv("IOVD_SOCKET");
	return s && *s ? s : IOVD_DEFAULT_SOCKET;
}

/* A string field of a reply, escaped for the terminal (cli/srvstr.h). */
static const char *str(json_t *o, const char *k)
{
	return cli_str(o, k, "");
}

int cli_print_error(const char *method, const char *name, json_t *p)
{
	const char *m = method + strlen("io.iovd."), *msg = str(p, "message"), *fix = str(p, "fix");

	if (strcmp(name, "io.iovd.InvalidArgument") == 0 ||
	    strcmp(name, "org.varlink.service.InvalidParameter") == 0)
		return cli_fail(2, NULL, "usage", NULL, "%s", *msg ? msg : str(p, "parameter"));
	if (strcmp(name, "io.iovd.NoSuchDevice") == 0)
		return cli_fail(2, NULL, "no-such-device", fix, "%s", msg);
	if (strcmp(name, "org.varlink.service.PermissionDenied") == 0)
		return cli_fail(1, NULL, "permission-denied", NULL, "%s: permission denied: %s", m,
				*msg ? msg : "changes need root");
	if (strcmp(name, "org.varlink.service.MethodNotFound") == 0)
		return cli_fail(1, NULL, "daemon", "restart iovd with this version (iovd --version)",
				"the running iovd does not know %s", method);
	if (strcmp(name, "io.iovd.Refused") == 0 || strcmp(name, "io.iovd.Failed") == 0) {
		/* Refused for want of the thing named (no such guest, pool): not found. */
		bool missing = !strcmp(str(p, "errno"), "ENOENT") || !strcmp(str(p, "errno"), "ENODEV");

		return cli_fail(1, NULL, missing ? "not-found" : name[8] == 'R' ? "refused" : "failed",
				fix, "%s%s", name[8] == 'R' && !missing ? "refused: " : "", msg);
	}
	if (strcmp(name, "io.iovd.ConfigError") == 0)
		return cli_fail(1, NULL, "config", fix, "config: %s", msg);
	char *txt = json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII), ename[256];
	int rc = cli_fail(1, NULL, "daemon", NULL, "%s: error %s %s", m,
			  iov_esc(ename, sizeof(ename), name), txt ? txt : "");

	free(txt);
	return rc;
}

int cli_connect(const struct cli_ctx *ctx)
{
	const char *path = cli_socket_path(ctx);
	int fd = vl_connect(path);

	if (fd == -ENOENT || fd == -ECONNREFUSED)
		cli_fail(1, NULL, "no-daemon", "changes go through iovd: start it as root (`iovd`, "
			 "or `systemctl start iovd` where the unit is installed); see iovd(8)",
			 "iovd is not running (nothing listens on %s)", path);
	else if (fd == -EACCES)
		cli_fail(1, NULL, "permission-denied", "iovd's socket is for root and its admin "
			 "group (iovd --group, policy.admin_group); see iovd(8)",
			 "cannot connect to %s: permission denied", path);
	else if (fd < 0)
		cli_fail(1, NULL, "no-daemon", NULL, "cannot connect to iovd at %s: %s", path,
			 strerror(-fd));
	return fd;
}

int cli_call(const struct cli_ctx *ctx, const char *method, json_t *params, json_t **reply)
{
	return cli_call_fds(ctx, method, params, NULL, 0, reply);
}

int cli_call_fds(const struct cli_ctx *ctx, const char *method, json_t *params, const int *fds,
		 size_t n_fds, json_t **reply)
{
	char *ename = NULL;
	json_t *r = NULL;
	int fd = cli_connect(ctx), ret;

	if (fd < 0)
		return 1;
	ret = vl_call_sync_fds(fd, method, params, fds, n_fds, CALL_TIMEOUT_MS, &r, &ename);
	close(fd);
	/* The progress lines end before anything else is printed. */
	cli_progress_stop(ctx->progress);
	if (ret == -ETIMEDOUT)
		return cli_fail(1, NULL, "daemon", "see iovd's log (journalctl -u iovd)",
				"iovd did not answer %s within %d s", method, CALL_TIMEOUT_MS / 1000);
	if (ret == -ECONNRESET || ret == -EPIPE)
		return cli_fail(1, NULL, "daemon", "see iovd's log (journalctl -u iovd)",
				"iovd closed the connection during %s", method);
	if (ret < 0)
		return cli_fail(1, NULL, "daemon", NULL, "%s: %s", method, strerror(-ret));
	if (ret == 1) {
		ret = cli_print_error(method, ename, r);
		free(ename);
		json_decref(r);
		return ret;
	}
	*reply = r;
	return 0;
}
