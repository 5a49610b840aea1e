/* varlink (https://varlink.org) over a UNIX stream socket: each message is one JSON object
 * followed by a NUL byte. A call is {"method": "io.iovd.X", "parameters": {...}}; the reply
 * is {"parameters": {...}} or {"error": "io.iovd.Name", "parameters": {...}}.
 *
 * The server half is a single-threaded epoll loop. The socket is an attack surface, so:
 * - a message may be at most VL_MAX_MSG bytes; a peer that sends more gets an error and is
 *   disconnected (nothing is allocated from what a peer claims: buffers are fixed-size);
 * - sockets are non-blocking with per-client buffers, so a slow or stalled client holds
 *   only its own slot; a client that does not read its replies is not served further until
 *   it does (one request in flight per client, oneway calls included), so it holds one
 *   reply at most;
 * - service is round-robin: each loop turn handles at most one message per client,
 *   privileged clients first, then unprivileged ones least recently served first within a
 *   budget of VL_TURN_BUDGET_MS, so a flood of queued (oneway) calls from local users
 *   delays root's call by about one budget, not by the length of the queue;
 * - a connection with no byte read or written for VL_IDLE_TIMEOUT_MS (idle, a message left
 *   half-sent, a reply not read) is closed;
 * - connections are counted per uid, and privileged peers have their own slots, so no
 *   unprivileged user can exhaust the daemon for root;
 * - the peer's credentials come from SO_PEERCRED/SO_PEERGROUPS at accept time; methods
 *   marked `mutates` are refused with org.varlink.service.PermissionDenied unless the peer
 *   is root or in the configured admin group.
 * Method handlers run one at a time, so mutations are serialized.
 *
 * Streaming (varlink's "more"): a call made with "more": true may be kept open by its
 * handler (vl_call_stream); every reply then carries "continues": true until the stream
 * ends. A stream's unread replies are bounded per client (max_pending bytes): a send that
 * would exceed it is refused (-ENOBUFS) so that a slow reader costs the daemon nothing but
 * those bytes, and the stream's owner is told when the reader has caught up (on_drain), so
 * it can say how much was missed.
 *
 * File descriptors (SCM_RIGHTS, which varlink over a UNIX socket allows): a call may carry
 * up to VL_MAX_FDS fds, sent with its message's bytes; the handler takes the ones it keeps
 * (vl_call_take_fd) and the rest are closed after the call. A method's parameters name its
 * fds by index ("kernel_fd": 0). More than VL_MAX_FDS fds pending on one connection is a
 * protocol error (the connection is closed), so a client sends the next fd-carrying call
 * after the reply to the last one.
 *
 * The client half is blocking and is what iovctl uses. */
#ifndef IOV_VARLINK_H
#define IOV_VARLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define VL_MAX_MSG	(64 * 1024)	/* one request, NUL included */
#define VL_MAX_REPLY	(16 * 1024 * 1024)	/* one reply (GetHost on a big host), client side */
#define VL_MAX_OUT	VL_MAX_REPLY	/* unread reply bytes held for one client (one
					 * request in flight, so about one reply) */
#define VL_MAX_CLIENTS	128		/* unprivileged connections, all users together */
#define VL_MAX_PER_UID	16		/* unprivileged connections of one uid */
#define VL_TURN_BUDGET_MS 10		/* handler time for unprivileged clients per turn */
#define VL_IDLE_TIMEOUT_MS 30000	/* see above */
#define VL_MAX_FDS	8		/* fds passed with one call (and pending per client) */
#define VL_MAX_PRIV	64		/* privileged ones come on top: a local user holding
					 * every slot open cannot lock root out */

struct vl_server;

struct vl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool privileged;		/* root or in the admin group */
};

/* One call being answered. A handler sets exactly one of reply/error (vl_reply, vl_error);
 * neither means an empty reply. */
struct vl_call {
	const struct vl_peer *peer;
	const char *method;		/* full name */
	json_t *reply;			/* owned */
	char *error;			/* owned */
	json_t *error_params;		/* owned */
	bool more;			/* the caller asked for "more" (may stream) */
	struct vl_stream *stream;	/* set by vl_call_stream */
	void *internal;			/* the connection (varlink.c's own) */
};

typedef void (*vl_method_fn)(struct vl_call *call, json_t *params, void *userdata);

struct vl_method {
	const char *name;		/* "io.iovd.CreateVfs" */
	vl_method_fn fn;
	bool mutates;			/* only privileged peers may call it */
};

struct vl_interface {
	const char *name;		/* "io.iovd" */
	const char *description;	/* the interface definition text (varlink IDL) */
	const struct vl_method *methods;
	size_t n_methods;
};

struct vl_service_info {
	const char *vendor, *product, *version, *url;
};

/* Sets the reply parameters (steals params; NULL = {}). */
void vl_reply(struct vl_call *c, json_t *params);
/* Sets an error reply (steals params; NULL = {}). */
void vl_error(struct vl_call *c, const char *error, json_t *params);
/* org.varlink.service.InvalidParameter {"parameter": name, "message": msg}. */
void vl_error_invalid(struct vl_call *c, const char *parameter, const char *msg);

/* The fds the call carries (in the order sent), and taking one: it is the handler's to
 * close from then on. -EBADF when there is no fd i or it was taken. */
size_t vl_call_n_fds(const struct vl_call *c);
int vl_call_take_fd(struct vl_call *c, size_t i);

/* An open streaming call. */
struct vl_stream;
typedef void (*vl_stream_fn)(struct vl_stream *st, void *userdata);

/* In a handler of a call with c->more: keeps the call open after the handler returns. The
 * handler's reply (if any, vl_reply) is the first one and goes out with "continues": true;
 * an error set by the handler ends the stream at once. on_close runs exactly once when the
 * stream ends (peer gone, vl_stream_end, server freed); the handle is invalid after it.
 * on_drain (may be NULL) runs when a reader that had a send refused (-ENOBUFS) has read
 * everything queued. Returns NULL with errno EINVAL (no "more", or oneway) or ENOMEM. */
struct vl_stream *vl_call_stream(struct vl_call *c, size_t max_pending, vl_stream_fn on_close,
				 vl_stream_fn on_drain, void *userdata);
/* Queues {"parameters": params, "continues": true} (steals params) and writes what the
 * socket takes now. Returns 0, -ENOBUFS (more than max_pending bytes unread: the reply is
 * dropped, the caller counts it as missed) or -EPIPE (the peer is gone or going). */
int vl_stream_send(struct vl_stream *st, json_t *params);
/* Ends the stream with a last reply (no "continues") or, if error is set, an error reply
 * (steals params; NULL = {}). on_close runs before this returns. */
void vl_stream_end(struct vl_stream *st, const char *error, json_t *params);

/* Deferred replies: a handler that would wait (a process to end, a file read in pieces, a
 * long read of the host) keeps the call and answers later, from a watch callback or a later
 * turn (vl_server_later); the connection stays open (it is not idle while it waits) and
 * other clients are served meanwhile. The client's next call is handled only after the
 * answer (one call in flight per client).
 * vl_call_defer, in a handler of a call that is not a stream: the handler sets no reply
 * and returns. on_cancel (may be NULL) runs exactly once if the peer goes away or the
 * server is freed before the answer; the handle is invalid after it (and after an answer).
 * Returns NULL with errno EINVAL (already deferred, or a stream) or ENOMEM. A oneway
 * call may be deferred: its answer is dropped. A peer that shuts down its sending side
 * while it waits counts as gone (its call is cancelled). */
struct vl_deferred;
typedef void (*vl_deferred_fn)(struct vl_deferred *d, void *userdata);
struct vl_deferred *vl_call_defer(struct vl_call *c, vl_deferred_fn on_cancel, void *userdata);
/* The caller, as the handler saw it (valid until the answer or the cancel). */
const struct vl_peer *vl_deferred_peer(const struct vl_deferred *d);
/* The answer: a reply, or an error if error is set (steals params; NULL = {}). Frees d;
 * on_cancel does not run. */
void vl_deferred_reply(struct vl_deferred *d, json_t *params);
void vl_deferred_error(struct vl_deferred *d, const char *error, json_t *params);
/* A reply whose parameters are already JSON text (an object, e.g. a snapshot kept as text:
 * nothing is encoded again on the loop). */
void vl_deferred_reply_text(struct vl_deferred *d, const char *params_json);

/* Creates the socket at path (its directory is created 0755 if missing, a stale socket
 * replaced), mode 0666 (set through the umask at bind): authorization is per method, by
 * peer credentials. Returns the listening fd or -errno: -EADDRINUSE if a server answers
 * there, -ENOTSOCK if something other than a socket is there (left alone). */
int vl_listen(const char *path);

/* admin_gid: a group whose members may call mutating methods, or (gid_t)-1 for none. */
struct vl_server *vl_server_new(int listen_fd, const struct vl_service_info *info,
				const struct vl_interface *iface, gid_t admin_gid,
				void *userdata);
void vl_server_free(struct vl_server *s);	/* closes every fd it owns */
/* Changes the admin group for connections accepted from now on (config reload). */
void vl_server_set_admin_gid(struct vl_server *s, gid_t admin_gid);

typedef void (*vl_watch_fn)(int fd, void *userdata);
/* Adds another fd (e.g. a signalfd) to the loop; fn runs when it is readable. */
int vl_server_watch(struct vl_server *s, int fd, vl_watch_fn fn, void *userdata);

/* Runs fn(userdata) once in the next turn of the loop, without waiting for any fd: work
 * done in bounded pieces queues its next piece (what: a label for the loop's statistics,
 * a string that outlives the call). 0 or -ENOMEM. vl_server_later_cancel drops the
 * queued runs of fn with that userdata (an owner freeing it), those due in this very turn
 * included. */
typedef void (*vl_later_fn)(void *userdata);
int vl_server_later(struct vl_server *s, const char *what, vl_later_fn fn, void *userdata);
void vl_server_later_cancel(struct vl_server *s, vl_later_fn fn, void *userdata);
/* Stops watching fd and closes it (from any callback, its own included). */
void vl_server_unwatch(struct vl_server *s, int fd);
/* Names a watched fd in the loop's statistics ("udev", "guests"); what is copied. */
void vl_server_watch_name(struct vl_server *s, int fd, const char *what);
/* The server handling a call (for handlers that need the loop). */
struct vl_server *vl_call_server(const struct vl_call *c);

/* The loop measures every turn that does work (from epoll's return to the next wait):
 * {"turns": N, "busy_ms": total, "histogram": {"<1ms": n, "<5ms": n, "<10ms": n,
 * "<50ms": n, "<100ms": n, "<500ms": n, ">=500ms": n}, "longest_ms": x,
 * "longest_what": the item that took most of that turn (a method and its caller's pid, a
 * watch, a later task), "longest_at": ISO time}. Returns a new object. */
json_t *vl_server_loop_stats(const struct vl_server *s);

/* One round: waits up to timeout_ms (-1 forever) and handles what is ready.
 * Returns the number of events handled or -errno. */
int vl_server_step(struct vl_server *s, int timeout_ms);
/* Steps until vl_server_quit(). */
int vl_server_run(struct vl_server *s);
void vl_server_quit(struct vl_server *s);
/* Replaces VL_IDLE_TIMEOUT_MS (tests). */
void vl_server_set_idle_timeout(struct vl_server *s, int ms);

/* Client. vl_connect returns a connected fd or -errno. vl_call_sync sends one call and
 * waits (timeout_ms, -1 forever) for the reply: returns 0 with *reply set (the
 * parameters), 1 with *error_name and *reply (the error's parameters) set for an error
 * reply, or -errno (-EPROTO: malformed reply, -ETIMEDOUT, -ECONNRESET: daemon went away). */
int vl_connect(const char *path);
int vl_call_sync(int fd, const char *method, json_t *params, int timeout_ms, json_t **reply,
		 char **error_name);
/* The same with fds passed along (at most VL_MAX_FDS, else -E2BIG); the caller keeps its
 * own copies. */
int vl_call_sync_fds(int fd, const char *method, json_t *params, const int *fds, size_t n_fds,
		     int timeout_ms, json_t **reply, char **error_name);

/* Streaming client: vl_call_start sends one call (more: ask for a stream) without waiting;
 * vl_reply_read reads the next reply on that connection: 0 with *reply set, 1 for an error
 * reply (*error_name set), or -errno as vl_call_sync; *continues says whether more replies
 * of this call follow. The reader keeps bytes of the next replies between calls. */
struct vl_reader;
int vl_call_start(int fd, const char *method, json_t *params, bool more);
struct vl_reader *vl_reader_new(int fd);
void vl_reader_free(struct vl_reader *rd);	/* does not close the fd */
int vl_reply_read(struct vl_reader *rd, int timeout_ms, json_t **reply, char **error_name,
		  bool *continues);

/* Decodes one message (without its NUL). Pure; for the server, the client and fuzzing. */
int vl_parse_call(const char *buf, size_t len, json_t **msg, const char **method,
		  json_t **params, bool *oneway, char *err, size_t errlen);

#endif
