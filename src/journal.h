/* The apply journal: each apply is one transaction in STATE_DIR/journal.jsonl, one JSON
 * record per line, each appended and fsync'd (lib/atomicfile.h) before the host is touched
 * for the next step:
 *
 *   {"r": "begin", "txn": 7, "time": "...", "steps": 3, "config": [...], "plan": [lines]}
 *   {"r": "start", "txn": 7, "step": 0, "act": {...}, "prev": {...}}   before step 0
 *   {"r": "done", "txn": 7, "step": 0}                                  after step 0
 *   {"r": "failed", "txn": 7, "step": 2, "error": "..."}
 *   {"r": "undo", "txn": 7, "step": 1} ... {"r": "undone", "txn": 7, "step": 1}
 *   {"r": "end", "txn": 7, "result": "ok" | "rolled_back" | "rollback_incomplete"}
 *
 * "prev" holds the value of everything the step changes, as it was just before it (VF
 * count, autoprobe, driver and driver_override, every VF property), so a step can be
 * undone after a crash at any instant. A begin record replaces the file (temp + fsync +
 * rename): the journal holds the last transaction only. A torn last line (power loss in
 * the middle of an append) is ignored: its step had not started.
 *
 * Test-only fault switch: iovd reads IOVD_TEST_EXIT_AFTER_STEP=N from its environment and
 * _exit()s right after the Nth record of a transaction is durable (begin is record 1).
 * Never set it outside tests. */
#ifndef IOV_SRC_JOURNAL_H
#define IOV_SRC_JOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct iov_err;

#define IOVD_DEFAULT_STATE_DIR "/var/lib/iovd"
#define IOVD_JOURNAL_NAME "journal.jsonl"

struct iovd_journal {
	char path[PATH_MAX];
	uint64_t txn;
	unsigned records;		/* written in this transaction, begin included */
};

/* Starts transaction txn: header gets "r", "txn" and "time" added (stolen). */
int iovd_journal_begin(struct iovd_journal *j, const char *state_dir, uint64_t txn,
		       json_t *header, struct iov_err *err);
/* Appends rec (stolen; "txn" added) durably. -ECANCELED: the test fault switch fired
 * (mode IOVD_FAULT_STOP): the caller must stop as if the process had died. */
int iovd_journal_append(struct iovd_journal *j, const char *r, json_t *rec,
			struct iov_err *err);

/* Every complete record of the journal in STATE_DIR, in order (torn or garbled lines are
 * skipped with a warning). -ENOENT when there is none. */
int iovd_journal_read(const char *state_dir, json_t **records, struct iov_err *err);

/* Cuts a torn last line off the journal (before appending to it again). 0 or -errno. */
int iovd_journal_trim(const char *state_dir, struct iov_err *err);

/* The test fault switch: after record n (1 = begin) of a transaction, EXIT: _exit(99);
 * STOP: every later append fails with -ECANCELED (unit tests). n = 0: off. */
enum iovd_fault_mode { IOVD_FAULT_EXIT, IOVD_FAULT_STOP };
void iovd_journal_set_fault(unsigned n, enum iovd_fault_mode mode);
/* Tests: fn(n, ud) runs right after record n of a transaction is durable (begin is 1),
 * e.g. to make the state directory full or read-only there. NULL: none. */
typedef void (*iovd_journal_hook_fn)(unsigned n, void *ud);
void iovd_journal_set_hook(iovd_journal_hook_fn fn, void *ud);
/* Reads IOVD_TEST_EXIT_AFTER_STEP; logs a warning when it is set. */
void iovd_journal_fault_from_env(void);

/* Test-only crash points outside the journal: IOVD_TEST_EXIT_AT=POINT or POINT:K in iovd's
 * environment makes it _exit(99) (as a kill -9 there would) the K-th time (default 1) it
 * passes the named point; logged at start. Points: start-recorded (a guest's start is on
 * disk, nothing touched yet), start-bound (its VFs on vfio-pci), start-set (their MAC/VLAN
 * set), start-spawned (iovm started, its pid not yet recorded); vf-reset (a returning VF
 * reset), vf-restored (its admin settings back), vf-returned (back to its pool or host
 * driver). Unset: nothing. */
void iovd_test_point(const char *point);

#endif
