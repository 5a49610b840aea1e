/* Progress lines of apply and vm start from io.iovd.Monitor (cli/progress.h).
 *
 * Ordering: iovd runs an apply or a guest start on its loop and writes each event to every
 * Monitor stream at once (lib/varlink.c vl_stream_send), before it writes the reply. So when
 * the reply is read, every event of the operation is in this side's socket buffer already:
 * reading the stream until nothing is left (DRAIN_MS) prints them all, in order. */
#include "cli/progress.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/srvstr.h"
#include "lib/varlink.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long to wait for Monitor's first reply (the subscription in place) before going on
 * without progress. */
#define SUBSCRIBE_MS 2000
/* Once the reply is in, how long a read of what is left may wait: the events are in the
 * socket already (written before the reply), so this is paid once, at the end. */
#define DRAIN_MS 20

struct cli_progress {
	enum cli_progress_kind kind;
	char guest[128];
	int fd;
	struct vl_reader *rd;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	double t0, last;		/* seconds, CLOCK_MONOTONIC */
	long long txn;			/* the apply's transaction, once apply.started came */
	long long steps;		/* its step count */
	size_t done;			/* steps printed as done */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long ival(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void line(struct cli_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void line(struct cli_progress *p, const char *fmt, ...)
{
	double t = now_s();
	va_list ap;

	/* The time since the call began, then what happened and how long it took. */
	printf("[%5.1fs] ", t - p->t0);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	p->last = t;
}

static void apply_event(struct cli_progress *p, const char *type, json_t *ev)
{
	double took = now_s() - p->last;

	if (!strcmp(type, "apply.started")) {
		/* Applies run one at a time: the first one to start after the call is this one. */
		if (p->txn)
			return;
		p->txn = ival(ev, "txn");
		p->steps = ival(ev, "steps");
		line(p, "applying: %lld step%s (transaction %lld)", p->steps, p->steps == 1 ? "" : "s",
		     p->txn);
		return;
	}
	if (!p->txn || ival(ev, "txn") != p->txn)
		return;
	if (!strcmp(type, "apply.step")) {
		p->done++;
		line(p, "  %lld/%lld %s (%.1f s)", ival(ev, "step") + 1, p->steps,
		     cli_str(ev, "line", "?"), took);
	} else if (!strcmp(type, "apply.failed")) {
		line(p, "  %lld/%lld failed; %s", ival(ev, "step") + 1, p->steps,
		     json_is_true(json_object_get(ev, "rolled_back")) ? "everything was put back" :
		     "the roll-back was incomplete");
	} else if (!strcmp(type, "apply.finished")) {
		line(p, "  all %lld step%s done", p->steps, p->steps == 1 ? "" : "s");
	}
}

static void vm_event(struct cli_progress *p, const char *type, json_t *ev)
{
	if (strcmp(cli_str(ev, "guest", ""), p->guest) != 0)
		return;
	if (!strcmp(type, "guest.step"))
		line(p, "%s: %s", p->guest, cli_str(ev, "step", "?"));
	else if (!strcmp(type, "guest.started"))
		line(p, "%s: iovm running (pid %lld)", p->guest, ival(ev, "pid"));
}

static void handle(struct cli_progress *p, json_t *r)
{
	json_t *ev = json_object_get(r, "event");
	const char *type = json_is_object(ev) ? cli_str(ev, "type", "") : "";

	if (!*type)
		return;
	if (p->kind == CLI_PROGRESS_APPLY && !strncmp(type, "apply.", 6))
		apply_event(p, type, ev);
	else if (p->kind == CLI_PROGRESS_VM_START && !strncmp(type, "guest.", 6))
		vm_event(p, type, ev);
}

/* Reads events until told to stop; then what is left without waiting. An error or the
 * stream's end stops it quietly: the call's own reply says what happened. */
static void *run(void *ud)
{
	struct cli_progress *p = ud;

	for (;;) {
		bool stopping = atomic_load(&p->stop), more = false;
		json_t *r = NULL;
		char *ename = NULL;
		/* Stopping: what is in the socket already, with a short wait (a 0 ms deadline
		 * would not even look: vl_reply_read counts it as passed). */
		int k = vl_reply_read(p->rd, stopping ? DRAIN_MS : 100, &r, &ename, &more);

		if (k == -ETIMEDOUT) {
			if (stopping)
				break;
			continue;
		}
		if (k < 0 || k == 1) {
			free(ename);
			json_decref(r);
			break;
		}
		handle(p, r);
		json_decref(r);
		if (!more)
			break;
	}
	return NULL;
}

struct cli_progress *cli_progress_start(const struct cli_ctx *ctx, bool quiet,
					enum cli_progress_kind kind, const char *guest)
{
	struct cli_progress *p;
	json_t *r = NULL;
	char *ename = NULL;
	bool more = false;
	int fd, k;

	if (quiet || ctx->json || !isatty(STDOUT_FILENO))
		return NULL;
	if ((fd = vl_connect(cli_socket_path(ctx))) < 0)
		return NULL;
	if (!(p = calloc(1, sizeof(*p)))) {
		close(fd);
		return NULL;
	}
	p->kind = kind;
	p->fd = fd;
	snprintf(p->guest, sizeof(p->guest), "%s", guest ? guest : "");
	atomic_init(&p->stop, false);
	/* Subscribed once the first reply (no event) is here: nothing of the call is missed. */
	if (vl_call_start(fd, "io.iovd.Monitor", NULL, true) < 0 || !(p->rd = vl_reader_new(fd)) ||
	    (k = vl_reply_read(p->rd, SUBSCRIBE_MS, &r, &ename, &more)) != 0 || !more) {
		free(ename);
		json_decref(r);
		vl_reader_free(p->rd);
		close(fd);
		free(p);
		return NULL;
	}
	json_decref(r);
	p->t0 = p->last = now_s();
	if (pthread_create(&p->thread, NULL, run, p) != 0) {
		vl_reader_free(p->rd);
		close(fd);
		free(p);
		return NULL;
	}
	p->running = true;
	return p;
}

void cli_progress_stop(struct cli_progress *p)
{
	if (!p || !p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->thread, NULL);
	p->running = false;
}

size_t cli_progress_end(struct cli_progress *p)
{
	size_t done;

	if (!p)
		return 0;
	cli_progress_stop(p);
	done = p->done;
	vl_reader_free(p->rd);
	close(p->fd);
	free(p);
	return done;
}
