/* Progress of a long call (apply, vm start) on a terminal, from iovd's event stream: before
 * the call iovctl subscribes to io.iovd.Monitor on a second connection and waits for the
 * subscription to be in place; while the call runs, a thread prints each event of that
 * operation as a line (an apply's steps as they are done, a guest's start steps); when the
 * reply comes, the events iovd sent before it are printed and the thread ends, before
 * anything else is printed. Quiet (nothing subscribed) with --json, --quiet, or when stdout
 * is not a terminal. */
#ifndef IOV_CLI_PROGRESS_H
#define IOV_CLI_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

struct cli_ctx;
struct cli_progress;

enum cli_progress_kind { CLI_PROGRESS_APPLY, CLI_PROGRESS_VM_START };

/* NULL when quiet or when the subscription failed (the call then goes on without progress;
 * a daemon that is not there is reported by the call itself). guest: the guest's name for
 * CLI_PROGRESS_VM_START. */
struct cli_progress *cli_progress_start(const struct cli_ctx *ctx, bool quiet,
					enum cli_progress_kind kind, const char *guest);
/* Prints what iovd sent before its reply and ends the thread. Idempotent; NULL is fine.
 * cli_call_fds calls it as soon as the reply is read (via ctx->progress). */
void cli_progress_stop(struct cli_progress *p);
/* Stops it if needed; returns how many apply steps it printed as done. Frees p. */
size_t cli_progress_end(struct cli_progress *p);

#endif
