#include "lib/varlink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

static const char service_idl[] =
	"# The Varlink Service Interface is provided by every varlink service. It\n"
	"# describes the service and the interfaces it implements.\n"
	"interface org.varlink.service\n"
	"\n"
	"method GetInfo() -> (\n"
	"  vendor: string,\n"
	"  product: string,\n"
	"  version: string,\n"
	"  url: string,\n"
	"  interfaces: []string\n"
	")\n"
	"\n"
	"method GetInterfaceDescription(interface: string) -> (description: string)\n"
	"\n"
	"error InterfaceNotFound (interface: string)\n"
	"error MethodNotFound (method: string)\n"
	"error MethodNotImplemented (method: string)\n"
	"error InvalidParameter (parameter: string)\n"
	"error PermissionDenied ()\n"
	"error ExpectedMore ()\n";

#define VL_SVC "org.varlink.service"

enum slot_kind { SLOT_LISTEN, SLOT_CLIENT, SLOT_WATCH, SLOT_DEAD /* unwatched, freed after the turn */ };

/* File descriptors a client passed (SCM_RIGHTS). A call sends its fds with its message's
 * bytes (one sendmsg); the kernel hands them over with the recvmsg that reads the last
 * byte taken from that message's first segment and ends the read there, so each batch is
 * recorded with the stream offset of the last byte read with it, and a message owns the
 * batches recorded inside its bytes. Fds nobody took are closed after the call. */
struct vl_fdq {
	int fd[VL_MAX_FDS];
	unsigned long long at[VL_MAX_FDS];	/* stream offset the fd arrived with */
	size_t n;
	unsigned long long base;	/* stream offset of in[0] */
	int call[VL_MAX_FDS];		/* the fds of the call being handled (-1: taken) */
	size_t n_call;
	bool overflow;			/* more than VL_MAX_FDS pending: a protocol error */
};

struct client {
	int fd;
	struct vl_peer peer;
	char in[VL_MAX_MSG];
	size_t in_len;
	size_t msg_len;			/* length of the first complete message in `in`, or
					 * NO_MSG; bytes before in_scanned hold no NUL */
	size_t in_scanned;
	char *out;			/* pending replies */
	size_t out_len, out_off, out_cap;
	bool closing;			/* close once out is flushed */
	bool eof;			/* the peer shut down its side */
	long last_io;			/* ms (monotonic): last byte read or written */
	unsigned long served;		/* turn number when a message was last handled */
	struct slot *sl;		/* its slot in the server */
	struct vl_server *srv;
	struct vl_stream *stream;	/* an open "more" call; no other call is read meanwhile */
	struct vl_fdq fdq;		/* fds passed with calls (SCM_RIGHTS) */
	struct vl_deferred *deferred;	/* a call answered later; none other is read meanwhile */
	unsigned long n_deferred;	/* calls deferred so far (did this handler defer?) */
	bool call_oneway;		/* the call being handled is oneway */
};

struct vl_deferred {
	struct client *c;
	vl_deferred_fn on_cancel;
	void *ud;
	bool oneway;
};

struct later {
	const char *what;
	vl_later_fn fn;
	void *ud;
	struct later *next;
};

/* Loop-turn histogram bounds in microseconds; the last bucket is everything above. */
static const long turn_bounds_us[] = { 1000, 5000, 10000, 50000, 100000, 500000 };
static const char *const turn_bucket_names[] = { "<1ms", "<5ms", "<10ms", "<50ms", "<100ms",
						  "<500ms", ">=500ms" };
#define N_TURN_BUCKETS (sizeof(turn_bucket_names) / sizeof(*turn_bucket_names))

struct vl_stream {
	struct vl_server *s;
	struct client *c;
	size_t max_pending;
	vl_stream_fn on_close, on_drain;
	void *ud;
	bool want_drain;		/* a send was refused: tell the owner when drained */
};

#define NO_MSG ((size_t)-1)

struct slot {
	enum slot_kind kind;
	int fd;
	struct client *c;
	vl_watch_fn fn;
	void *ud;
	char what[48];			/* a watch's name for the loop statistics */
	struct slot *next;
};

struct vl_server {
	int epfd;
	struct slot *slots;
	const struct vl_service_info *info;
	const struct vl_interface *iface;
	gid_t admin_gid;
	void *ud;
	size_t n_clients;		/* all */
	size_t n_priv;			/* privileged among them */
	bool quit;
	unsigned long turn;		/* loop turns with at least one message handled */
	long last_sweep;		/* ms: last check for idle clients */
	int idle_ms;			/* VL_IDLE_TIMEOUT_MS, settable for tests */
	struct later *later, **later_tail;	/* vl_server_later, in order */
	/* Loop-turn statistics (vl_server_loop_stats). */
	long item_t0;			/* us: start of the item being timed */
	long item_max;			/* us: the longest item of this turn */
	char item_what[96];		/* what the item is (set while it runs) */
	char turn_what[96];		/* the longest item of this turn */
	unsigned long long n_turns, busy_us, hist[N_TURN_BUCKETS];
	long longest_us;
	char longest_what[96];
	struct timespec longest_at;
};

static long now_ms(void);
static void item_begin(struct vl_server *s);
static void item_end(struct vl_server *s, const char *what);

/* ---- call replies ---- */

void vl_reply(struct vl_call *c, json_t *params)
{
	json_decref(c->reply);
	c->reply = params ? params : json_object();
}

void vl_error(struct vl_call *c, const char *error, json_t *params)
{
	free(c->error);
	json_decref(c->error_params);
	c->error = strdup(error);
	c->error_params = params ? params : json_object();
}

void vl_error_invalid(struct vl_call *c, const char *parameter, const char *msg)
{
	vl_error(c, VL_SVC ".InvalidParameter",
		 json_pack("{s:s, s:s}", "parameter", parameter, "message", msg ? msg : ""));
}

/* ---- decoding ---- */

int vl_parse_call(const char *buf, size_t len, json_t **msg, const char **method,
		  json_t **params, bool *oneway, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *m, *meth, *par, *ow;
	const char *key;
	json_t *v;

	m = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!m) {
		char t[4 * JSON_ERROR_TEXT_LENGTH];

		/* jansson quotes the offending input in its text. */
		snprintf(err, errlen, "request is not JSON: %s at offset %d",
			 iov_esc(t, sizeof(t), jerr.text), jerr.position);
		return -EINVAL;
	}
	if (!json_is_object(m)) {
		snprintf(err, errlen, "request is not a JSON object");
		goto bad;
	}
	json_object_foreach(m, key, v) {
		if (strcmp(key, "method") && strcmp(key, "parameters") && strcmp(key, "oneway") &&
		    strcmp(key, "more") && strcmp(key, "upgrade")) {
			char k[65];

			snprintf(err, errlen, "request has an unknown field '%s'",
				 iov_esc(k, sizeof(k), key));
			goto bad;
		}
	}
	meth = json_object_get(m, "method");
	if (!json_is_string(meth) || !strchr(json_string_value(meth), '.')) {
		snprintf(err, errlen, "request has no \"method\" string (interface.Method)");
		goto bad;
	}
	par = json_object_get(m, "parameters");
	if (par && !json_is_object(par) && !json_is_null(par)) {
		snprintf(err, errlen, "\"parameters\" must be an object");
		goto bad;
	}
	ow = json_object_get(m, "oneway");
	if (ow && !json_is_boolean(ow)) {
		snprintf(err, errlen, "\"oneway\" must be true or false");
		goto bad;
	}
	if (json_object_get(m, "more") && !json_is_boolean(json_object_get(m, "more"))) {
		snprintf(err, errlen, "\"more\" must be true or false");
		goto bad;
	}
	*msg = m;
	*method = json_string_value(meth);
	*params = json_is_object(par) ? par : NULL;
	*oneway = ow && json_is_true(ow);
	return 0;
bad:
	json_decref(m);
	return -EINVAL;
}

/* ---- server ---- */

int vl_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	mode_t old;
	char *slash;
	int fd, e, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A socket file left by a daemon that died: replace it, but never one that answers,
	 * and never anything that is not a socket (a regular file, a symlink). */
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return -ENOTSOCK;
		}
		probe = vl_connect(path);
		if (probe >= 0) {
			close(probe);
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	/* The mode comes from the umask at bind time: no chmod by path afterwards, which
	 * would follow whatever the path names by then. */
	old = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = -errno;
	umask(old);
	if (r < 0 || listen(fd, 64) < 0) {
		if (r == 0)
			e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int add_slot(struct vl_server *s, enum slot_kind kind, int fd, struct client *c,
		    vl_watch_fn fn, void *ud)
{
	struct slot *sl = calloc(1, sizeof(*sl));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!sl)
		return -ENOMEM;
	sl->kind = kind;
	sl->fd = fd;
	sl->c = c;
	sl->fn = fn;
	sl->ud = ud;
	ev.data.ptr = sl;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		free(sl);
		return e;
	}
	sl->next = s->slots;
	s->slots = sl;
	return 0;
}

/* The stream's end, whatever the cause: its owner hears of it once. */
static void stream_closed(struct vl_stream *st)
{
	st->c->stream = NULL;
	if (st->on_close)
		st->on_close(st, st->ud);
	free(st);
}

static void fdq_close(struct vl_fdq *q)
{
	for (size_t i = 0; i < q->n; i++)
		close(q->fd[i]);
	q->n = 0;
	for (size_t i = 0; i < q->n_call; i++)
		if (q->call[i] >= 0)
			close(q->call[i]);
	q->n_call = 0;
}

/* A deferred call whose peer went away (or whose server is freed): its owner hears of it. */
static void deferred_cancelled(struct vl_deferred *d)
{
	d->c->deferred = NULL;
	if (d->on_cancel)
		d->on_cancel(d, d->ud);
	free(d);
}

static void free_client(struct client *c)
{
	if (!c)
		return;
	fdq_close(&c->fdq);
	close(c->fd);
	free(c->out);
	free(c);
}

static void drop_slot(struct vl_server *s, struct slot *sl)
{
	for (struct slot **pp = &s->slots; *pp; pp = &(*pp)->next) {
		if (*pp == sl) {
			*pp = sl->next;
			break;
		}
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, sl->fd, NULL);
	if (sl->kind == SLOT_CLIENT) {
		if (sl->c->stream)
			stream_closed(sl->c->stream);
		if (sl->c->deferred)
			deferred_cancelled(sl->c->deferred);
		if (sl->c->peer.privileged)
			s->n_priv--;
		free_client(sl->c);
		s->n_clients--;
	} else if (sl->kind != SLOT_DEAD) {
		close(sl->fd);
	}
	free(sl);
}

void vl_server_set_admin_gid(struct vl_server *s, gid_t admin_gid)
{
	s->admin_gid = admin_gid;
}

struct vl_server *vl_server_new(int listen_fd, const struct vl_service_info *info,
				const struct vl_interface *iface, gid_t admin_gid,
				void *userdata)
{
	struct vl_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->info = info;
	s->iface = iface;
	s->admin_gid = admin_gid;
	s->ud = userdata;
	s->idle_ms = VL_IDLE_TIMEOUT_MS;
	s->last_sweep = now_ms();
	s->later_tail = &s->later;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 || add_slot(s, SLOT_LISTEN, listen_fd, NULL, NULL, NULL) < 0) {
		int e = errno;
		if (s->epfd >= 0)
			close(s->epfd);
		free(s);
		errno = e;
		return NULL;
	}
	return s;
}

void vl_server_free(struct vl_server *s)
{
	if (!s)
		return;
	while (s->slots)
		drop_slot(s, s->slots);
	while (s->later) {
		struct later *l = s->later;

		s->later = l->next;
		free(l);
	}
	close(s->epfd);
	free(s);
}

int vl_server_watch(struct vl_server *s, int fd, vl_watch_fn fn, void *userdata)
{
	return add_slot(s, SLOT_WATCH, fd, NULL, fn, userdata);
}

void vl_server_quit(struct vl_server *s) { s->quit = true; }
void vl_server_set_idle_timeout(struct vl_server *s, int ms) { s->idle_ms = ms > 0 ? ms : 1; }

static bool peer_in_group(int fd, gid_t primary, gid_t want)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (want == (gid_t)-1)
		return false;
	if (primary == want)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;	/* too many groups or an old kernel: primary group only */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == want)
			return true;
	return false;
}

/* Connection limits (see varlink.h); logs why a connection is refused. */
static bool conn_allowed(const struct vl_server *s, uid_t uid, bool priv)
{
	size_t unpriv = s->n_clients - s->n_priv, mine = 0;

	if (priv) {
		if (s->n_priv < VL_MAX_PRIV)
			return true;
		log_warn("%d privileged clients connected; refusing uid %u", VL_MAX_PRIV,
			 (unsigned)uid);
		return false;
	}
	if (unpriv >= VL_MAX_CLIENTS) {
		log_warn("%d unprivileged clients connected; refusing uid %u", VL_MAX_CLIENTS,
			 (unsigned)uid);
		return false;
	}
	for (const struct slot *sl = s->slots; sl; sl = sl->next)
		if (sl->kind == SLOT_CLIENT && sl->c->peer.uid == uid)
			mine++;
	if (mine >= VL_MAX_PER_UID) {
		log_warn("uid %u already has %d connections; refusing another", (unsigned)uid,
			 VL_MAX_PER_UID);
		return false;
	}
	return true;
}

static void do_accept(struct vl_server *s, int lfd)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct client *c;
		bool priv;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn_errno(-errno, "accept");
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		priv = cred.uid == 0 || peer_in_group(fd, cred.gid, s->admin_gid);
		if (!conn_allowed(s, cred.uid, priv)) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->msg_len = NO_MSG;
		c->last_io = now_ms();
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.pid = cred.pid;
		c->peer.privileged = priv;
		if (add_slot(s, SLOT_CLIENT, fd, c, NULL, NULL) < 0) {
			free_client(c);
			continue;
		}
		c->sl = s->slots;	/* add_slot puts the new slot first */
		c->srv = s;
		s->n_clients++;
		s->n_priv += priv;
		log_debug("client connected: pid %d uid %u%s", (int)cred.pid, (unsigned)cred.uid,
			  c->peer.privileged ? " (privileged)" : "");
	}
}

/* Queues one message (NUL appended). Drops the reply (and marks the client for closing)
 * if the client has let too much pile up. */
static void append_out(struct client *c, char *txt, size_t n);

static void queue_msg(struct client *c, json_t *msg)
{
	char *txt = json_dumps(msg, JSON_COMPACT);

	if (!txt) {
		c->closing = true;
		return;
	}
	append_out(c, txt, strlen(txt) + 1);
}

/* Appends n bytes of txt (freed) to the client's output. */
static void append_out(struct client *c, char *txt, size_t n)
{
	if (c->out_len - c->out_off + n > VL_MAX_OUT) {
		log_warn("client pid %d does not read its replies; disconnecting", (int)c->peer.pid);
		c->closing = true;
		free(txt);
		return;
	}
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + n)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p) {
			c->closing = true;
			free(txt);
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, txt, n);
	c->out_len += n;
	free(txt);
}

static void send_error(struct client *c, const char *name, json_t *params)
{
	json_t *m = json_pack("{s:s, s:o}", "error", name, "parameters",
			      params ? params : json_object());

	if (m)
		queue_msg(c, m);
	json_decref(m);
}

static json_t *get_info(const struct vl_server *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}",
			 "vendor", s->info->vendor, "product", s->info->product,
			 "version", s->info->version, "url", s->info->url,
			 "interfaces", VL_SVC, s->iface->name);
}

static void dispatch_service(struct vl_server *s, struct vl_call *call, const char *m,
			     json_t *params)
{
	if (strcmp(m, VL_SVC ".GetInfo") == 0) {
		vl_reply(call, get_info(s));
	} else if (strcmp(m, VL_SVC ".GetInterfaceDescription") == 0) {
		json_t *i = params ? json_object_get(params, "interface") : NULL;
		const char *name = json_string_value(i);

		if (!name)
			vl_error_invalid(call, "interface", "expected a string");
		else if (strcmp(name, VL_SVC) == 0)
			vl_reply(call, json_pack("{s:s}", "description", service_idl));
		else if (strcmp(name, s->iface->name) == 0)
			vl_reply(call, json_pack("{s:s}", "description", s->iface->description));
		else
			vl_error(call, VL_SVC ".InterfaceNotFound",
				 json_pack("{s:s}", "interface", name));
	} else {
		vl_error(call, VL_SVC ".MethodNotFound", json_pack("{s:s}", "method", m));
	}
}

/* The fds passed with the message at in[0..len] become the call's; older ones are stale
 * (a message that did not own them was handled) and closed. */
static void fdq_claim(struct vl_fdq *q, size_t len)
{
	size_t keep = 0;

	for (size_t i = 0; i < q->n; i++) {
		if (q->at[i] < q->base)
			close(q->fd[i]);
		else if (q->at[i] <= q->base + len)
			q->call[q->n_call++] = q->fd[i];
		else {
			q->fd[keep] = q->fd[i];
			q->at[keep++] = q->at[i];
		}
	}
	q->n = keep;
}

static void handle_message(struct vl_server *s, struct client *c, const char *buf, size_t len)
{
	struct vl_call call = { .peer = &c->peer, .internal = c };
	json_t *msg = NULL, *params;
	const char *m;
	char err[256];
	bool oneway;
	size_t ilen = strlen(s->iface->name);
	unsigned long deferrals;

	fdq_claim(&c->fdq, len);
	if (c->fdq.overflow) {
		char msg2[96];

		snprintf(msg2, sizeof(msg2), "more than %d file descriptors passed", VL_MAX_FDS);
		log_info("client pid %d: %s; disconnecting", (int)c->peer.pid, msg2);
		send_error(c, VL_SVC ".InvalidParameter",
			   json_pack("{s:s, s:s}", "parameter", "request", "message", msg2));
		c->closing = true;
		fdq_close(&c->fdq);
		return;
	}
	if (vl_parse_call(buf, len, &msg, &m, &params, &oneway, err, sizeof(err)) < 0) {
		log_info("client pid %d: bad request: %s", (int)c->peer.pid, err);
		send_error(c, VL_SVC ".InvalidParameter",
			   json_pack("{s:s, s:s}", "parameter", "request", "message", err));
		return;
	}
	call.method = m;
	call.more = !oneway && json_is_true(json_object_get(msg, "more"));
	snprintf(s->item_what, sizeof(s->item_what), "%s (pid %d)", m, (int)c->peer.pid);
	deferrals = c->n_deferred;
	c->call_oneway = oneway;
	if (strncmp(m, VL_SVC ".", sizeof(VL_SVC)) == 0) {
		dispatch_service(s, &call, m, params);
	} else if (strncmp(m, s->iface->name, ilen) == 0 && m[ilen] == '.' &&
		   !strchr(m + ilen + 1, '.')) {
		const struct vl_method *meth = NULL;

		for (size_t i = 0; i < s->iface->n_methods; i++)
			if (strcmp(s->iface->methods[i].name, m) == 0)
				meth = &s->iface->methods[i];
		if (!meth) {
			vl_error(&call, VL_SVC ".MethodNotFound", json_pack("{s:s}", "method", m));
		} else if (meth->mutates && !c->peer.privileged) {
			log_info("client pid %d uid %u: %s refused (not privileged)",
				 (int)c->peer.pid, (unsigned)c->peer.uid, m);
			vl_error(&call, VL_SVC ".PermissionDenied",
				 json_pack("{s:s}", "message", "changes need root or membership "
					   "of iovd's admin group (iovd --group)"));
		} else {
			json_t *empty = params ? NULL : json_object();

			meth->fn(&call, params ? params : empty, s->ud);
			json_decref(empty);
		}
	} else {
		char iface[128];
		const char *dot = strrchr(m, '.');

		snprintf(iface, sizeof(iface), "%.*s", (int)(dot - m), m);
		vl_error(&call, VL_SVC ".InterfaceNotFound", json_pack("{s:s}", "interface", iface));
	}
	if (c->n_deferred != deferrals) {
		/* Deferred: the answer comes (or came already) through vl_deferred_*. */
	} else if (call.stream) {
		/* An open stream: the handler's reply, if any, is the first of several; an
		 * error ends it at once. */
		json_t *r = NULL;

		if (call.error)
			r = json_pack("{s:s, s:O}", "error", call.error, "parameters",
				      call.error_params);
		else if (call.reply)
			r = json_pack("{s:O, s:b}", "parameters", call.reply, "continues", 1);
		if (r)
			queue_msg(c, r);
		json_decref(r);
		if (call.error && c->stream)
			stream_closed(c->stream);
	} else if (!oneway) {
		json_t *r;

		if (call.error)
			r = json_pack("{s:s, s:O}", "error", call.error, "parameters",
				      call.error_params);
		else
			r = call.reply ? json_pack("{s:O}", "parameters", call.reply)
				       : json_pack("{s:{}}", "parameters");
		if (r)
			queue_msg(c, r);
		else
			c->closing = true;
		json_decref(r);
	}
	json_decref(call.reply);
	json_decref(call.error_params);
	free(call.error);
	json_decref(msg);
}

size_t vl_call_n_fds(const struct vl_call *c)
{
	const struct client *cl = c->internal;

	return cl ? cl->fdq.n_call : 0;
}

int vl_call_take_fd(struct vl_call *c, size_t i)
{
	struct client *cl = c->internal;
	int fd;

	if (!cl || i >= cl->fdq.n_call || cl->fdq.call[i] < 0)
		return -EBADF;
	fd = cl->fdq.call[i];
	cl->fdq.call[i] = -1;
	return fd;
}

/* Writes what it can: -EPIPE (or another error) if the client is gone, 1 if output is
 * still pending, 0 if all is written. */
static int flush_out(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 1;
			return -errno;
		}
		c->out_off += (size_t)n;
		c->last_io = now_ms();
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* Finds the first complete message, scanning only bytes not looked at before. */
static void find_msg(struct client *c)
{
	char *nul;

	if (c->msg_len != NO_MSG)
		return;
	nul = memchr(c->in + c->in_scanned, '\0', c->in_len - c->in_scanned);
	if (nul)
		c->msg_len = (size_t)(nul - c->in);
	else
		c->in_scanned = c->in_len;
}

/* A client may have one message handled per turn, and only once its previous reply has
 * been written out: one request in flight per client, oneway calls included. */
static bool client_ready(const struct client *c)
{
	return !c->closing && c->out_len == 0 && c->msg_len != NO_MSG && !c->stream &&
	       !c->deferred;
}

/* Handles the first complete message of the input buffer. */
static void serve_one(struct vl_server *s, struct client *c)
{
	size_t mlen = c->msg_len;

	handle_message(s, c, c->in, mlen);
	for (size_t i = 0; i < c->fdq.n_call; i++)	/* fds the handler did not take */
		if (c->fdq.call[i] >= 0)
			close(c->fdq.call[i]);
	c->fdq.n_call = 0;
	c->fdq.base += mlen + 1;
	memmove(c->in, c->in + mlen + 1, c->in_len - mlen - 1);
	c->in_len -= mlen + 1;
	c->msg_len = NO_MSG;
	c->in_scanned = 0;
	c->served = s->turn;
	find_msg(c);
	if (flush_out(c) < 0)
		c->closing = true;
}

static void update_events(struct vl_server *s, struct slot *sl)
{
	struct client *c = sl->c;
	struct epoll_event ev = { .data.ptr = sl };

	/* Stop reading while replies wait (back-pressure), or when the buffer is full. */
	if (c->out_len > c->out_off)
		ev.events = EPOLLOUT;
	else if (!c->closing && !c->eof && c->in_len < sizeof(c->in))
		ev.events = EPOLLIN;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* After I/O or a handled message: drops the client if it is done, else re-arms epoll. */
static void settle(struct vl_server *s, struct slot *sl)
{
	struct client *c = sl->c;
	int r = flush_out(c);

	if (r == 0 && c->stream && c->stream->want_drain && !c->closing) {
		/* A stream's reader has caught up after missing replies. */
		c->stream->want_drain = false;
		if (c->stream->on_drain)
			c->stream->on_drain(c->stream, c->stream->ud);
		r = flush_out(c);
	}
	if (r < 0 || (r == 0 && (c->closing || (c->eof && c->msg_len == NO_MSG)))) {
		log_debug("client pid %d disconnected", (int)c->peer.pid);
		drop_slot(s, sl);
		return;
	}
	update_events(s, sl);
}

/* recv into c->in, taking the fds passed with the bytes (close-on-exec). */
static ssize_t recv_in(struct client *c)
{
	union {
		char buf[CMSG_SPACE(VL_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { c->in + c->in_len, sizeof(c->in) - c->in_len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n <= 0)
		return n;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
		size_t k;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (c->fdq.n == VL_MAX_FDS) {
				close(fd);
				c->fdq.overflow = true;
				continue;
			}
			c->fdq.fd[c->fdq.n] = fd;
			c->fdq.at[c->fdq.n++] = c->fdq.base + c->in_len + (size_t)n - 1;
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		c->fdq.overflow = true;
	return n;
}

/* Socket I/O only: messages are handled by serve_turn(). */
static void client_event(struct vl_server *s, struct slot *sl, uint32_t events)
{
	struct client *c = sl->c;

	if (events & EPOLLOUT) {
		int r = flush_out(c);

		if (r < 0)
			c->closing = true;
	}
	if (!c->closing && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		while (c->in_len < sizeof(c->in)) {
			ssize_t n = recv_in(c);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					c->eof = true;
				break;
			}
			if (n == 0) {
				c->eof = true;
				break;
			}
			c->in_len += (size_t)n;
			c->last_io = now_ms();
		}
		find_msg(c);
	}
	if (!c->closing && c->msg_len == NO_MSG && c->in_len == sizeof(c->in)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "request larger than %d bytes", VL_MAX_MSG);
		log_info("client pid %d: %s; disconnecting", (int)c->peer.pid, msg);
		send_error(c, VL_SVC ".InvalidParameter",
			   json_pack("{s:s, s:s}", "parameter", "request", "message", msg));
		c->closing = true;
	}
	settle(s, sl);
}

/* One message for every ready client: privileged ones first, then unprivileged ones, least
 * recently served first, until VL_TURN_BUDGET_MS of handler time is spent (those left over
 * go first in the next turn). Between turns the loop polls its sockets again, so a
 * privileged call waits for at most about one budget plus one handler, however many
 * messages unprivileged clients have queued. */
static int serve_turn(struct vl_server *s)
{
	struct slot *ready[VL_MAX_CLIENTS + VL_MAX_PRIV + 8];
	size_t n = 0;
	long t0;

	for (struct slot *sl = s->slots; sl; sl = sl->next)
		if (sl->kind == SLOT_CLIENT && client_ready(sl->c) && n < sizeof(ready) / sizeof(*ready))
			ready[n++] = sl;
	if (!n)
		return 0;
	s->turn++;
	/* Insertion sort: privileged first, then by the turn each was last served. */
	for (size_t i = 1; i < n; i++) {
		struct slot *x = ready[i];
		size_t j = i;

		for (; j > 0; j--) {
			const struct client *a = ready[j - 1]->c, *b = x->c;

			if (a->peer.privileged > b->peer.privileged ||
			    (a->peer.privileged == b->peer.privileged && a->served <= b->served))
				break;
			ready[j] = ready[j - 1];
		}
		ready[j] = x;
	}
	t0 = now_ms();
	for (size_t i = 0; i < n; i++) {
		struct client *c = ready[i]->c;

		if (!c->peer.privileged && i > 0 && now_ms() - t0 >= VL_TURN_BUDGET_MS)
			break;
		item_begin(s);
		serve_one(s, c);
		item_end(s, "a call");
		settle(s, ready[i]);
	}
	return (int)n;
}

static bool any_ready(const struct vl_server *s)
{
	for (const struct slot *sl = s->slots; sl; sl = sl->next)
		if (sl->kind == SLOT_CLIENT && client_ready(sl->c))
			return true;
	return false;
}

/* Drops connections with no byte read or written for idle_ms: an idle connection, a
 * message left half-sent, or a reply the client does not read. */
static void sweep_idle(struct vl_server *s, long now)
{
	struct slot *sl = s->slots, *next;

	for (; sl; sl = next) {
		next = sl->next;
		if (sl->kind != SLOT_CLIENT || now - sl->c->last_io < s->idle_ms)
			continue;
		/* A subscriber waiting for events is not idle; one that does not read them is.
		 * Nor is a client waiting for a deferred answer: the wait is iovd's. */
		if ((sl->c->stream || sl->c->deferred) && sl->c->out_len <= sl->c->out_off)
			continue;
		log_info("client pid %d uid %u: %s for %d s; disconnecting", (int)sl->c->peer.pid,
			 (unsigned)sl->c->peer.uid,
			 sl->c->out_len > sl->c->out_off ? "reply not read" : "idle",
			 s->idle_ms / 1000);
		drop_slot(s, sl);
	}
	s->last_sweep = now;
}

/* ---- streams ---- */

struct vl_stream *vl_call_stream(struct vl_call *call, size_t max_pending, vl_stream_fn on_close,
				 vl_stream_fn on_drain, void *userdata)
{
	struct client *c = call->internal;
	struct vl_stream *st;

	if (!call->more || !c || c->stream) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->s = c->srv;
	st->c = c;
	st->max_pending = max_pending;
	st->on_close = on_close;
	st->on_drain = on_drain;
	st->ud = userdata;
	c->stream = st;
	call->stream = st;
	return st;
}

/* Streams are written from outside their client's own event (another client's call emits
 * an event), so they re-arm the client's epoll events themselves. */
static void stream_rearm(struct vl_stream *st)
{
	struct client *c = st->c;
	struct epoll_event ev = { .data.ptr = c->sl };

	if (c->out_len > c->out_off || c->closing)
		ev.events = EPOLLOUT;
	else
		ev.events = EPOLLIN;
	epoll_ctl(st->s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

int vl_stream_send(struct vl_stream *st, json_t *params)
{
	struct client *c = st->c;
	json_t *m;
	char *txt;
	size_t n;

	if (c->closing) {
		json_decref(params);
		return -EPIPE;
	}
	m = json_pack("{s:o, s:b}", "parameters", params ? params : json_object(), "continues", 1);
	txt = m ? json_dumps(m, JSON_COMPACT) : NULL;
	json_decref(m);
	if (!txt)
		return -ENOMEM;
	n = strlen(txt) + 1;
	if (c->out_len - c->out_off + n > st->max_pending) {
		st->want_drain = true;
		free(txt);
		return -ENOBUFS;
	}
	append_out(c, txt, n);
	if (flush_out(c) < 0)
		c->closing = true;
	stream_rearm(st);
	return c->closing ? -EPIPE : 0;
}

void vl_stream_end(struct vl_stream *st, const char *error, json_t *params)
{
	struct client *c = st->c;
	json_t *m;

	if (!params)
		params = json_object();
	m = error ? json_pack("{s:s, s:o}", "error", error, "parameters", params)
		  : json_pack("{s:o}", "parameters", params);
	if (m && !c->closing)
		queue_msg(c, m);
	json_decref(m);
	if (!c->closing && flush_out(c) < 0)
		c->closing = true;
	stream_closed(st);
	/* EPOLLOUT fires at once: the client's event then reads any call it sent while the
	 * stream was open. */
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c->sl };

	epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* ---- deferred replies ---- */

struct vl_deferred *vl_call_defer(struct vl_call *call, vl_deferred_fn on_cancel, void *userdata)
{
	struct client *c = call->internal;
	struct vl_deferred *d;

	if (!c || c->deferred || c->stream || call->stream) {
		errno = EINVAL;
		return NULL;
	}
	if (!(d = calloc(1, sizeof(*d))))
		return NULL;
	d->c = c;
	d->on_cancel = on_cancel;
	d->ud = userdata;
	d->oneway = c->call_oneway;
	c->deferred = d;
	c->n_deferred++;
	return d;
}

const struct vl_peer *vl_deferred_peer(const struct vl_deferred *d)
{
	return &d->c->peer;
}

/* Queues the answer (msg stolen, or text: a whole message without its NUL, freed) and frees
 * d. Like a stream's end, it may run outside the client's own event, so EPOLLOUT is armed:
 * the client's event then writes the answer and reads any call that waited behind it. */
static void deferred_answer_as(struct vl_deferred *d, json_t *msg, char *text)
{
	struct client *c = d->c;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c->sl };

	c->deferred = NULL;
	if (!d->oneway && !c->closing) {
		if (msg) {
			queue_msg(c, msg);
		} else if (text) {
			append_out(c, text, strlen(text) + 1);	/* frees it */
			text = NULL;
		} else {
			c->closing = true;
		}
	}
	json_decref(msg);
	free(text);
	free(d);
	if (!c->closing && flush_out(c) < 0)
		c->closing = true;
	epoll_ctl(c->srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void deferred_answer(struct vl_deferred *d, json_t *msg)
{
	deferred_answer_as(d, msg, NULL);
}

void vl_deferred_reply_text(struct vl_deferred *d, const char *params_json)
{
	static const char head[] = "{\"parameters\":";
	size_t n = strlen(params_json);
	char *t = malloc(sizeof(head) + n + 1);

	if (t) {
		memcpy(t, head, sizeof(head) - 1);
		memcpy(t + sizeof(head) - 1, params_json, n);
		strcpy(t + sizeof(head) - 1 + n, "}");
	}
	deferred_answer_as(d, NULL, t);
}

void vl_deferred_reply(struct vl_deferred *d, json_t *params)
{
	deferred_answer(d, json_pack("{s:o}", "parameters", params ? params : json_object()));
}

void vl_deferred_error(struct vl_deferred *d, const char *error, json_t *params)
{
	deferred_answer(d, json_pack("{s:s, s:o}", "error", error, "parameters",
				     params ? params : json_object()));
}

struct vl_server *vl_call_server(const struct vl_call *call)
{
	const struct client *c = call->internal;

	return c ? c->srv : NULL;
}

/* ---- later tasks ---- */

int vl_server_later(struct vl_server *s, const char *what, vl_later_fn fn, void *userdata)
{
	struct later *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->what = what;
	l->fn = fn;
	l->ud = userdata;
	*s->later_tail = l;
	s->later_tail = &l->next;
	return 0;
}

void vl_server_later_cancel(struct vl_server *s, vl_later_fn fn, void *userdata)
{
	struct later **pp = &s->later;

	while (*pp) {
		struct later *l = *pp;

		if (l->fn == fn && l->ud == userdata) {
			*pp = l->next;
			free(l);
		} else {
			pp = &l->next;
		}
	}
	s->later_tail = &s->later;
	while (*s->later_tail)
		s->later_tail = &(*s->later_tail)->next;
}

void vl_server_unwatch(struct vl_server *s, int fd)
{
	for (struct slot *sl = s->slots; sl; sl = sl->next) {
		if (sl->kind == SLOT_WATCH && sl->fd == fd) {
			/* Freed after the turn: an event of this batch may still point at it. */
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			sl->kind = SLOT_DEAD;
			return;
		}
	}
}

static void reap_dead(struct vl_server *s)
{
	struct slot **pp = &s->slots;

	while (*pp) {
		struct slot *sl = *pp;

		if (sl->kind == SLOT_DEAD) {
			*pp = sl->next;
			free(sl);
		} else {
			pp = &sl->next;
		}
	}
}

void vl_server_watch_name(struct vl_server *s, int fd, const char *what)
{
	for (struct slot *sl = s->slots; sl; sl = sl->next)
		if (sl->kind == SLOT_WATCH && sl->fd == fd)
			snprintf(sl->what, sizeof(sl->what), "%s", what);
}

/* ---- loop-turn statistics ---- */

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void item_begin(struct vl_server *s)
{
	s->item_t0 = now_us();
	s->item_what[0] = '\0';
}

/* Ends the item begun last; what names it unless the item named itself (a method). */
static void item_end(struct vl_server *s, const char *what)
{
	long d = now_us() - s->item_t0;

	if (d >= s->item_max) {
		s->item_max = d;
		snprintf(s->turn_what, sizeof(s->turn_what), "%s",
			 s->item_what[0] ? s->item_what : what);
	}
}

static void turn_end(struct vl_server *s, long t0)
{
	long d = now_us() - t0;
	size_t b = 0;

	while (b < N_TURN_BUCKETS - 1 && d >= turn_bounds_us[b])
		b++;
	s->hist[b]++;
	s->n_turns++;
	s->busy_us += (unsigned long long)d;
	if (d > s->longest_us) {
		s->longest_us = d;
		snprintf(s->longest_what, sizeof(s->longest_what), "%s", s->turn_what);
		clock_gettime(CLOCK_REALTIME, &s->longest_at);
	}
}

json_t *vl_server_loop_stats(const struct vl_server *s)
{
	json_t *h = json_object(), *o;
	char at[40] = "";

	for (size_t i = 0; h && i < N_TURN_BUCKETS; i++)
		json_object_set_new(h, turn_bucket_names[i], json_integer((json_int_t)s->hist[i]));
	if (s->longest_at.tv_sec) {
		struct tm tm;
		size_t n;

		gmtime_r(&s->longest_at.tv_sec, &tm);
		n = strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(at + n, sizeof(at) - n, ".%03ldZ", s->longest_at.tv_nsec / 1000000);
	}
	o = json_pack("{s:I, s:f, s:o, s:f, s:s, s:s?}", "turns", (json_int_t)s->n_turns,
		      "busy_ms", (double)s->busy_us / 1000.0, "histogram", h,
		      "longest_ms", (double)s->longest_us / 1000.0, "longest_what", s->longest_what,
		      "longest_at", at[0] ? at : NULL);
	return o;
}

/* Runs the later tasks queued before this turn (those they queue run in the next), taken
 * off the queue one by one, so that one may cancel another still waiting. */
static int run_later(struct vl_server *s)
{
	size_t n = 0, ran = 0;

	for (struct later *l = s->later; l; l = l->next)
		n++;
	while (ran < n && s->later) {
		struct later *l = s->later;

		s->later = l->next;
		if (!s->later)
			s->later_tail = &s->later;
		item_begin(s);
		l->fn(l->ud);
		item_end(s, l->what ? l->what : "a later task");
		free(l);
		ran++;
	}
	return (int)ran;
}

int vl_server_step(struct vl_server *s, int timeout_ms)
{
	struct epoll_event evs[16];
	int sweep = s->idle_ms / 4 > 0 ? s->idle_ms / 4 : 1, n;
	long now;

	long t0;
	int work;

	/* Queued messages and later tasks run without waiting; otherwise wake for the idle
	 * sweep. */
	if (any_ready(s) || s->later)
		timeout_ms = 0;
	else if (s->n_clients && (timeout_ms < 0 || timeout_ms > sweep))
		timeout_ms = sweep;
	n = epoll_wait(s->epfd, evs, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	t0 = now_us();
	s->item_max = -1;
	s->turn_what[0] = '\0';
	for (int i = 0; i < n; i++) {
		struct slot *sl = evs[i].data.ptr;
		char what[64];

		/* A slot freed earlier in this batch cannot be among later events: clients are
		 * dropped only from their own event. */
		item_begin(s);
		switch (sl->kind) {
		case SLOT_LISTEN:
			do_accept(s, sl->fd);
			item_end(s, "accepting connections");
			break;
		case SLOT_WATCH:
			/* Named first: the callback may unwatch its own fd. */
			if (sl->what[0])
				snprintf(what, sizeof(what), "%s", sl->what);
			else
				snprintf(what, sizeof(what), "watch of fd %d", sl->fd);
			sl->fn(sl->fd, sl->ud);
			item_end(s, what);
			break;
		case SLOT_DEAD:
			break;
		case SLOT_CLIENT:
			client_event(s, sl, evs[i].events);
			item_end(s, "client I/O");
			break;
		}
	}
	work = n + run_later(s);
	work += serve_turn(s);
	if (work)
		turn_end(s, t0);
	reap_dead(s);
	now = now_ms();
	if (now - s->last_sweep >= sweep)
		sweep_idle(s, now);
	return n;
}

int vl_server_run(struct vl_server *s)
{
	while (!s->quit) {
		int r = vl_server_step(s, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- client ---- */

int vl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static int wait_fd(int fd, short ev, long deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r, left = -1;

	if (deadline >= 0) {
		long l = deadline - now_ms();
		if (l <= 0)
			return -ETIMEDOUT;
		left = l > INT_MAX ? INT_MAX : (int)l;
	}
	do
		r = poll(&p, 1, left);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Sends one call (blocking), its fds (SCM_RIGHTS) with the first bytes. */
static ssize_t send_fds(int fd, const char *buf, size_t len, const int *fds, size_t n_fds)
{
	union {
		char buf[CMSG_SPACE(VL_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;

	if (n_fds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(h), fds, n_fds * sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static int send_call(int fd, const char *method, json_t *params, bool more, const int *fds,
		     size_t n_fds)
{
	json_t *msg;
	char *txt;
	size_t len, off = 0;
	int r;

	msg = params ? json_pack("{s:s, s:O}", "method", method, "parameters", params)
		     : json_pack("{s:s, s:{}}", "method", method, "parameters");
	if (!msg)
		return -ENOMEM;
	if (more)
		json_object_set_new(msg, "more", json_true());
	txt = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!txt)
		return -ENOMEM;
	len = strlen(txt) + 1;	/* the NUL goes on the wire */
	if (len > VL_MAX_MSG) {
		free(txt);
		return -EMSGSIZE;
	}
	if (n_fds > VL_MAX_FDS) {
		free(txt);
		return -E2BIG;
	}
	while (off < len) {
		ssize_t n = off ? send(fd, txt + off, len - off, MSG_NOSIGNAL)
				: send_fds(fd, txt, len, fds, n_fds);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = errno == EPIPE ? -ECONNRESET : -errno;
			free(txt);
			return r;
		}
		off += (size_t)n;
	}
	free(txt);
	return 0;
}

int vl_call_sync(int fd, const char *method, json_t *params, int timeout_ms, json_t **reply,
		 char **error_name)
{
	return vl_call_sync_fds(fd, method, params, NULL, 0, timeout_ms, reply, error_name);
}

int vl_call_sync_fds(int fd, const char *method, json_t *params, const int *fds, size_t n_fds,
		     int timeout_ms, json_t **reply, char **error_name)
{
	long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	json_t *m, *p, *e;
	char *buf;
	size_t got = 0;
	int r;

	if ((r = send_call(fd, method, params, false, fds, n_fds)) < 0)
		return r;

	/* The daemon is trusted more than its clients, but not blindly: replies may be big
	 * (the host model of a large machine) yet are bounded, and the buffer grows with
	 * what actually arrives. */
	size_t cap = 64 * 1024;

	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (got == cap) {
			char *nb;

			if (cap >= VL_MAX_REPLY) {
				r = -EPROTO;
				goto out;
			}
			cap *= 2;
			if (!(nb = realloc(buf, cap))) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		if ((r = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		n = recv(fd, buf + got, cap - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0) {
			r = -ECONNRESET;
			goto out;
		}
		if (memchr(buf + got, '\0', (size_t)n)) {
			got += (size_t)n;
			break;
		}
		got += (size_t)n;
	}
	m = json_loadb(buf, strlen(buf), 0, NULL);
	if (!json_is_object(m)) {
		json_decref(m);
		r = -EPROTO;
		goto out;
	}
	p = json_object_get(m, "parameters");
	e = json_object_get(m, "error");
	if ((p && !json_is_object(p)) || (e && !json_is_string(e))) {
		json_decref(m);
		r = -EPROTO;
		goto out;
	}
	*reply = p ? json_incref(p) : json_object();
	if (e) {
		*error_name = strdup(json_string_value(e));
		r = 1;
	} else {
		r = 0;
	}
	json_decref(m);
out:
	free(buf);
	return r;
}

/* ---- streaming client ---- */

struct vl_reader {
	int fd;
	char *buf;
	size_t len, cap;
};

int vl_call_start(int fd, const char *method, json_t *params, bool more)
{
	return send_call(fd, method, params, more, NULL, 0);
}

struct vl_reader *vl_reader_new(int fd)
{
	struct vl_reader *rd = calloc(1, sizeof(*rd));

	if (rd)
		rd->fd = fd;
	return rd;
}

void vl_reader_free(struct vl_reader *rd)
{
	if (!rd)
		return;
	free(rd->buf);
	free(rd);
}

/* Decodes one reply: 0 ok, 1 error reply, -EPROTO. */
static int decode_reply(const char *buf, size_t len, json_t **reply, char **error_name,
			bool *continues)
{
	json_t *m = json_loadb(buf, len, 0, NULL), *p, *e, *more;
	int r;

	if (!json_is_object(m)) {
		json_decref(m);
		return -EPROTO;
	}
	p = json_object_get(m, "parameters");
	e = json_object_get(m, "error");
	more = json_object_get(m, "continues");
	if ((p && !json_is_object(p)) || (e && !json_is_string(e)) ||
	    (more && !json_is_boolean(more))) {
		json_decref(m);
		return -EPROTO;
	}
	if (e && !(*error_name = strdup(json_string_value(e)))) {
		json_decref(m);
		return -ENOMEM;
	}
	*reply = p ? json_incref(p) : json_object();
	*continues = !e && json_is_true(more);
	r = e ? 1 : 0;
	json_decref(m);
	return r;
}

int vl_reply_read(struct vl_reader *rd, int timeout_ms, json_t **reply, char **error_name,
		  bool *continues)
{
	long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;

	for (;;) {
		char *nul = rd->len ? memchr(rd->buf, '\0', rd->len) : NULL;
		ssize_t n;
		int r;

		if (nul) {
			size_t mlen = (size_t)(nul - rd->buf);

			r = decode_reply(rd->buf, mlen, reply, error_name, continues);
			memmove(rd->buf, nul + 1, rd->len - mlen - 1);
			rd->len -= mlen + 1;
			return r;
		}
		if (rd->len == rd->cap) {
			size_t cap = rd->cap ? rd->cap * 2 : 64 * 1024;
			char *nb;

			if (rd->cap >= VL_MAX_REPLY)
				return -EPROTO;
			if (!(nb = realloc(rd->buf, cap)))
				return -ENOMEM;
			rd->buf = nb;
			rd->cap = cap;
		}
		if ((r = wait_fd(rd->fd, POLLIN, deadline)) < 0)
			return r;
		n = recv(rd->fd, rd->buf + rd->len, rd->cap - rd->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		rd->len += (size_t)n;
	}
}
