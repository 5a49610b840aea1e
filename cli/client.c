#include "cli/client.h"
#include "cli/cli.h"
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
	const char *m = method + strlen("io.iovd.");

	if (strcmp(name, "io.iovd.InvalidArgument") == 0 ||
	    strcmp(name, "org.varlink.service.InvalidParameter") == 0) {
		fprintf(stderr, "iovctl: %s\n", *str(p, "message") ? str(p, "message") : str(p, "parameter"));
		return 2;
	}
	if (strcmp(name, "io.iovd.NoSuchDevice") == 0) {
		fprintf(stderr, "iovctl: %s\n", str(p, "message"));
		return 2;
	}
	if (strcmp(name, "org.varlink.service.PermissionDenied") == 0) {
		fprintf(stderr, "iovctl: %s: permission denied: %s\n", m,
			*str(p, "message") ? str(p, "message") : "changes need root");
		return 1;
	}
	if (strcmp(name, "org.varlink.service.MethodNotFound") == 0) {
		fprintf(stderr, "iovctl: the running iovd does not know %s; restart it with this "
			"version (iovd --version)\n", method);
		return 1;
	}
	if (strcmp(name, "io.iovd.Refused") == 0 || strcmp(name, "io.iovd.Failed") == 0) {
		/* Refused for want of the thing named (no such guest, pool): not found. */
		bool missing = !strcmp(str(p, "errno"), "ENOENT") || !strcmp(str(p, "errno"), "ENODEV");

		fprintf(stderr, "iovctl: %s%s\n", name[8] == 'R' && !missing ? "refused: " : "",
			str(p, "message"));
		if (*str(p, "fix"))
			fprintf(stderr, "  fix: %s\n", str(p, "fix"));
		return 1;
	}
	if (strcmp(name, "io.iovd.ConfigError") == 0) {
		fprintf(stderr, "iovctl: config: %s\n", str(p, "message"));
		if (*str(p, "fix"))
			fprintf(stderr, "  fix: %s\n", str(p, "fix"));
		return 1;
	}
	char *txt = json_dumps(p, JSON_COMPACT | JSON_ENSURE_ASCII), ename[256];

	fprintf(stderr, "iovctl: %s: error %s %s\n", m, iov_esc(ename, sizeof(ename), name),
		txt ? txt : "");
	free(txt);
	return 1;
}

int cli_connect(const struct cli_ctx *ctx)
{
	const char *path = cli_socket_path(ctx);
	int fd = vl_connect(path);

	if (fd < 0) {
		if (fd == -ENOENT || fd == -ECONNREFUSED)
			fprintf(stderr, "iovctl: iovd is not running (nothing listens on %s).\n"
				"  Changes go through iovd. Start it as root: `iovd` (or `iovd &`), or\n"
				"  `systemctl start iovd` where the unit is installed; see iovd(8).\n",
				path);
		else if (fd == -EACCES)
			fprintf(stderr, "iovctl: cannot connect to %s: permission denied\n", path);
		else
			fprintf(stderr, "iovctl: cannot connect to iovd at %s: %s\n", path,
				strerror(-fd));
	}
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
	if (ret < 0) {
		if (ret == -ETIMEDOUT)
			fprintf(stderr, "iovctl: iovd did not answer %s within %d s\n", method,
				CALL_TIMEOUT_MS / 1000);
		else if (ret == -ECONNRESET || ret == -EPIPE)
			fprintf(stderr, "iovctl: iovd closed the connection during %s (see its "
				"log)\n", method);
		else
			fprintf(stderr, "iovctl: %s: %s\n", method, strerror(-ret));
		return 1;
	}
	if (ret == 1) {
		ret = cli_print_error(method, ename, r);
		free(ename);
		json_decref(r);
		return ret;
	}
	*reply = r;
	return 0;
}
