#include "src/journal.h"

#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/sysfs.h"

#define JOURNAL_MAX (64u << 20)

static unsigned fault_n;
static enum iovd_fault_mode fault_mode;
static bool fault_fired;

void iovd_journal_set_fault(unsigned n, enum iovd_fault_mode mode)
{
	fault_n = n;
	fault_mode = mode;
	fault_fired = false;
}

void iovd_journal_fault_from_env(void)
{
	const char *s = getenv("IOVD_TEST_EXIT_AFTER_STEP");
	long n;

	iovd_test_point("");	/* reads and logs IOVD_TEST_EXIT_AT now */
	if (!s || !*s)
		return;
	if (iov_parse_long(s, 10, &n) < 0 || n < 1 || n > 100000) {
		log_warn("IOVD_TEST_EXIT_AFTER_STEP=%s: not a record number 1..100000; ignored", s);
		return;
	}
	log_warn("IOVD_TEST_EXIT_AFTER_STEP=%ld: TEST ONLY, iovd exits after journal record %ld "
		 "of its next apply", n, n);
	iovd_journal_set_fault((unsigned)n, IOVD_FAULT_EXIT);
}

void iovd_test_point(const char *point)
{
	static const char *at;
	static bool read;
	static long want = 1, seen;
	const char *colon;
	size_t n;

	if (!read) {
		read = true;
		at = getenv("IOVD_TEST_EXIT_AT");
		if (at && *at) {
			if ((colon = strchr(at, ':')) &&
			    (iov_parse_long(colon + 1, 10, &want) < 0 || want < 1))
				want = 1;
			log_warn("IOVD_TEST_EXIT_AT=%s: TEST ONLY, iovd exits when it passes that point",
				 at);
		}
	}
	if (!at || !*at)
		return;
	n = (colon = strchr(at, ':')) ? (size_t)(colon - at) : strlen(at);
	if (strlen(point) != n || strncmp(point, at, n) != 0 || ++seen < want)
		return;
	log_warn("IOVD_TEST_EXIT_AT: exiting at %s (time %ld of it)", point, seen);
	_exit(99);
}

static void stamp(json_t *o)
{
	struct timespec ts;
	struct tm tm;
	char buf[40];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	json_object_set_new(o, "time", json_string(buf));
}

static iovd_journal_hook_fn hook;
static void *hook_ud;

void iovd_journal_set_hook(iovd_journal_hook_fn fn, void *ud)
{
	hook = fn;
	hook_ud = ud;
}

static int after_write(struct iovd_journal *j, struct iov_err *err)
{
	j->records++;
	if (hook)
		hook(j->records, hook_ud);
	if (fault_n && j->records == fault_n) {
		if (fault_mode == IOVD_FAULT_EXIT) {
			log_warn("IOVD_TEST_EXIT_AFTER_STEP: exiting after journal record %u", j->records);
			_exit(99);
		}
		fault_fired = true;
	}
	return 0;
}

static char *line_of(json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII), *l;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	l = realloc(s, n + 2);
	if (!l) {
		free(s);
		return NULL;
	}
	l[n] = '\n';
	l[n + 1] = 0;
	return l;
}

int iovd_journal_begin(struct iovd_journal *j, const char *state_dir, uint64_t txn,
		       json_t *header, struct iov_err *err)
{
	json_t *h = header ? header : json_object();
	char *line;
	int r;

	memset(j, 0, sizeof(*j));
	if ((size_t)snprintf(j->path, sizeof(j->path), "%s/%s", state_dir, IOVD_JOURNAL_NAME) >=
	    sizeof(j->path)) {
		json_decref(h);
		return iov_err_set(err, -ENAMETOOLONG, NULL, "%s: state directory path too long",
				   state_dir);
	}
	j->txn = txn;
	fault_fired = false;
	json_object_set_new(h, "r", json_string("begin"));
	json_object_set_new(h, "txn", json_integer((json_int_t)txn));
	stamp(h);
	line = line_of(h);
	json_decref(h);
	if (!line)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	if ((r = iov_mkdir_p(state_dir, 0755)) < 0) {
		free(line);
		return iov_err_set(err, r, "create it, or pass --state-dir DIR",
				   "%s: cannot create the state directory: %s", state_dir,
				   strerror(-r));
	}
	r = iov_write_atomic(j->path, line, strlen(line), 0600, "apply journal", err);
	free(line);
	return r < 0 ? r : after_write(j, err);
}

int iovd_journal_append(struct iovd_journal *j, const char *kind, json_t *rec,
			struct iov_err *err)
{
	json_t *o = rec ? rec : json_object();
	struct stat st = { 0 };
	char *line;
	int r;

	if (fault_fired) {
		json_decref(o);
		return iov_err_set(err, -ECANCELED, NULL, "test fault switch: stopped after "
				   "journal record %u", fault_n);
	}
	json_object_set_new(o, "r", json_string(kind));
	json_object_set_new(o, "txn", json_integer((json_int_t)j->txn));
	line = line_of(o);
	json_decref(o);
	if (!line)
		return iov_err_set(err, -ENOMEM, NULL, "out of memory");
	/* A write cut short (a full disk takes part of a line) leaves a torn line, to which the
	 * next record would be glued: the journal goes back to its size before. */
	r = stat(j->path, &st) == 0 ? 0 : -errno;
	if (r == 0)
		r = iov_append_durable(j->path, line, strlen(line), 0600, "apply journal", err);
	else
		iov_err_set(err, r, NULL, "apply journal: cannot read %s: %s", j->path,
			    strerror(-r));
	free(line);
	if (r < 0) {
		struct stat now;

		if (stat(j->path, &now) == 0 && now.st_size > st.st_size &&
		    truncate(j->path, st.st_size) < 0)
			log_warn("%s: cannot cut off the torn record: %s", j->path, strerror(errno));
		return r;
	}
	return after_write(j, err);
}

int iovd_journal_read(const char *state_dir, json_t **records, struct iov_err *err)
{
	char path[PATH_MAX], *buf, *p;
	size_t len;
	json_t *a;
	int r, lineno = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, IOVD_JOURNAL_NAME) >=
	    sizeof(path))
		return iov_err_set(err, -ENAMETOOLONG, NULL, "%s: path too long", state_dir);
	if ((r = iov_read_file(path, JOURNAL_MAX, &buf, &len)) < 0) {
		if (r == -ENOENT)
			return r;
		return iov_err_set(err, r, NULL, "%s: cannot read the apply journal: %s", path,
				   strerror(-r));
	}
	if (!(a = json_array())) {
		free(buf);
		return -ENOMEM;
	}
	for (p = buf; *p;) {
		char *nl = strchr(p, '\n');
		json_error_t je;
		json_t *o;

		lineno++;
		if (!nl) {
			/* A torn append: the step it describes never started. */
			log_warn("%s:%d: incomplete last record ignored (interrupted write)", path,
				 lineno);
			break;
		}
		*nl = 0;
		o = json_loads(p, 0, &je);
		if (!o || !json_is_object(o) || !json_is_string(json_object_get(o, "r"))) {
			log_warn("%s:%d: not a journal record; ignored", path, lineno);
			json_decref(o);
		} else {
			json_array_append_new(a, o);
		}
		p = nl + 1;
	}
	free(buf);
	*records = a;
	return 0;
}

int iovd_journal_trim(const char *state_dir, struct iov_err *err)
{
	char path[PATH_MAX], *buf, *nl;
	size_t len, keep;
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", state_dir, IOVD_JOURNAL_NAME);
	if ((r = iov_read_file(path, JOURNAL_MAX, &buf, &len)) < 0)
		return r == -ENOENT ? 0 : iov_err_set(err, r, NULL, "%s: %s", path, strerror(-r));
	nl = len ? memrchr(buf, '\n', len) : NULL;
	keep = nl ? (size_t)(nl - buf) + 1 : 0;
	free(buf);
	if (keep == len)
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)keep) < 0 || fsync(fd) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return iov_err_set(err, r, NULL, "%s: cutting the torn last record: %s", path,
				   strerror(-r));
	}
	close(fd);
	log_info("%s: cut a torn last record (%zu bytes)", path, len - keep);
	return 0;
}
