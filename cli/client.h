/* iovctl's side of the io.iovd varlink interface: every change goes through iovd. */
#ifndef IOV_CLI_CLIENT_H
#define IOV_CLI_CLIENT_H

#include <stddef.h>

#include <jansson.h>

struct cli_ctx;

/* The socket: --socket, else $IOVD_SOCKET, else /run/iovd/io.iovd. */
const char *cli_socket_path(const struct cli_ctx *ctx);

/* Calls method (e.g. "io.iovd.SetVf") with params (borrowed; NULL = {}). On success returns 0
 * with *reply set (caller decrefs). Otherwise prints a message for people on stderr
 * (the daemon's message and fix, or how to start iovd) and returns the exit code:
 * 2 when the daemon says an argument is bad or names no device, 1 for the rest. */
int cli_call(const struct cli_ctx *ctx, const char *method, json_t *params, json_t **reply);
/* The same, passing fds with the call (SCM_RIGHTS; the caller keeps and closes its own). */
int cli_call_fds(const struct cli_ctx *ctx, const char *method, json_t *params, const int *fds,
		 size_t n_fds, json_t **reply);

/* Connects to iovd; on failure prints why (and how to start iovd) and returns -errno. */
int cli_connect(const struct cli_ctx *ctx);
/* Prints an error reply of method for people; returns the exit code (as cli_call). */
int cli_print_error(const char *method, const char *name, json_t *params);

#endif
