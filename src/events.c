#include "src/events.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECENT 256
#define MAX_SUBS (IOVD_SUBS_UNPRIV + IOVD_SUBS_PRIV)

static json_t *recent[RECENT];
static size_t recent_head, recent_n;
static uint64_t seq;

static struct sub {
	iovd_event_fn fn;
	void *ud;
	uid_t uid;
	bool privileged;
} subs[MAX_SUBS];
static size_t n_subs;

static json_t *now_iso(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	return json_string(buf);
}

void iovd_event(const char *type, json_t *fields)
{
	json_t *ev = json_is_object(fields) ? fields : json_object();

	if (fields && ev != fields)
		json_decref(fields);
	if (!ev)
		return;
	json_object_set_new(ev, "seq", json_integer((json_int_t)++seq));
	json_object_set_new(ev, "time", now_iso());
	json_object_set_new(ev, "type", json_string(type));

	char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	log_debug("event %s", text ? text : type);
	free(text);

	if (recent_n == RECENT) {
		json_decref(recent[recent_head]);
		recent[recent_head] = ev;
		recent_head = (recent_head + 1) % RECENT;
	} else {
		recent[(recent_head + recent_n) % RECENT] = ev;
		recent_n++;
	}
	/* A subscriber may unsubscribe itself (or another) from its callback. */
	for (size_t i = 0; i < n_subs; i++) {
		struct sub s = subs[i];

		s.fn(ev, s.ud);
		if (i < n_subs && (subs[i].fn != s.fn || subs[i].ud != s.ud))
			i--;
	}
}

int iovd_event_subscribe_as(iovd_event_fn fn, void *userdata, uid_t uid, bool privileged)
{
	size_t unpriv = 0, mine = 0;

	for (size_t i = 0; i < n_subs; i++) {
		unpriv += !subs[i].privileged;
		mine += !subs[i].privileged && subs[i].uid == uid;
	}
	if (n_subs == MAX_SUBS || (!privileged && unpriv >= IOVD_SUBS_UNPRIV))
		return -EBUSY;
	if (!privileged && mine >= IOVD_SUBS_PER_UID)
		return -EUSERS;
	subs[n_subs++] = (struct sub){ fn, userdata, uid, privileged };
	return 0;
}

int iovd_event_subscribe(iovd_event_fn fn, void *userdata)
{
	return iovd_event_subscribe_as(fn, userdata, 0, true);
}

void iovd_event_unsubscribe(iovd_event_fn fn, void *userdata)
{
	for (size_t i = 0; i < n_subs; i++) {
		if (subs[i].fn == fn && subs[i].ud == userdata) {
			memmove(&subs[i], &subs[i + 1], (n_subs - i - 1) * sizeof(subs[0]));
			n_subs--;
			return;
		}
	}
}

json_t *iovd_event_recent(void)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < recent_n; i++)
		json_array_append(a, recent[(recent_head + i) % RECENT]);
	return a;
}

uint64_t iovd_event_last_seq(void)
{
	return seq;
}
