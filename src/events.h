/* The event bus: every change iovd makes or sees is one event, logged and delivered to
 * Monitor subscribers (io.iovd.Monitor, a varlink `more` call). Emitting never blocks: a
 * subscriber's queue is bounded and it is told how many events it missed.
 *
 * An event is {"seq": N, "time": "2026-12-02T06:30:00.123Z", "type": T, ...fields}.
 * Types (keep this list and docs/iovd.md in step):
 *   device.added device.removed driver.changed netdev.renamed device.changed
 *   apply.started apply.step apply.finished apply.failed apply.recovered
 *   drift.found drift.repaired
 *   guest.step guest.started guest.exited guest.restarted guest.degraded guest.gave_up vf.quarantined
 *   vf.returned */
#ifndef IOV_SRC_EVENTS_H
#define IOV_SRC_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* Steals fields (an object, or NULL). Adds seq, time and type. */
void iovd_event(const char *type, json_t *fields);

/* Subscribers: fn is called with every event (borrowed) until removed. */
typedef void (*iovd_event_fn)(const json_t *ev, void *userdata);
int iovd_event_subscribe(iovd_event_fn fn, void *userdata);
/* Subscribers' slots: unprivileged callers (neither root nor in the admin group) share
 * IOVD_SUBS_UNPRIV, at most IOVD_SUBS_PER_UID each (-EUSERS beyond); IOVD_SUBS_PRIV more
 * are only for privileged ones, so local users holding every slot never lock root out
 * (-EBUSY when the slots a caller may take are all taken). iovd_event_subscribe is a
 * privileged subscriber (iovd's own). */
#define IOVD_SUBS_UNPRIV 64
#define IOVD_SUBS_PER_UID 8
#define IOVD_SUBS_PRIV 16
int iovd_event_subscribe_as(iovd_event_fn fn, void *userdata, uid_t uid, bool privileged);
void iovd_event_unsubscribe(iovd_event_fn fn, void *userdata);

/* The last events (up to 256), oldest first, for `iovctl status` and late subscribers.
 * Returns a new array. */
json_t *iovd_event_recent(void);
uint64_t iovd_event_last_seq(void);

#endif
