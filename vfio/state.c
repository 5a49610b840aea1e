#include "vfio/state.h"
#include "lib/atomicfile.h"

#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static void rec_clear(struct iov_bind_rec *r)
{
	free(r->driver);
	free(r->override);
	free(r->bound_to);
}

void iov_bind_state_free(struct iov_bind_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		rec_clear(&st->recs[i]);
	free(st->recs);
	free(st);
}

struct iov_bind_rec *iov_bind_state_find(const struct iov_bind_state *st, const char *dev)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->recs[i].dev, dev))
			return &st->recs[i];
	return NULL;
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return 0;
}

int iov_bind_state_add(struct iov_bind_state *st, const char *dev, int group,
		       const char *driver, const char *override, const char *bound_to)
{
	struct iov_bind_rec r = { .group = group }, *arr;

	if (iov_bind_state_find(st, dev))
		return 0;
	snprintf(r.dev, sizeof(r.dev), "%s", dev);
	if (dup_opt(driver, &r.driver) < 0 || dup_opt(override, &r.override) < 0 ||
	    dup_opt(bound_to, &r.bound_to) < 0) {
		rec_clear(&r);
		return -ENOMEM;
	}
	arr = realloc(st->recs, (st->n + 1) * sizeof(*arr));
	if (!arr) {
		rec_clear(&r);
		return -ENOMEM;
	}
	st->recs = arr;
	st->recs[st->n++] = r;
	return 1;
}

void iov_bind_state_drop(struct iov_bind_state *st, const char *dev)
{
	struct iov_bind_rec *r = iov_bind_state_find(st, dev);
	size_t i;

	if (!r)
		return;
	i = (size_t)(r - st->recs);
	rec_clear(r);
	memmove(&st->recs[i], &st->recs[i + 1], (st->n - i - 1) * sizeof(*r));
	st->n--;
}

/* A string member or null; anything else is malformed. */
static int get_opt_str(json_t *o, const char *key, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -EINVAL;
	return dup_opt(json_string_value(v), out);
}

int iov_bind_state_load(const char *path, struct iov_bind_state **out, struct iov_err *err)
{
	struct iov_bind_state *st = calloc(1, sizeof(*st));
	json_error_t jerr;
	json_t *root, *devs, *d;
	size_t i;
	int ret = 0;

	if (!st)
		return -ENOMEM;
	root = json_load_file(path, 0, &jerr);
	if (!root) {
		if (access(path, F_OK) < 0 && errno == ENOENT) {
			*out = st;
			return 0;
		}
		free(st);
		return iov_err_set(err, -EINVAL, "move it aside if it is damaged; devices it names "
				   "then release to their default driver",
				   "bind state %s:%d: %s", path, jerr.line, jerr.text);
	}
	devs = json_object_get(root, "devices");
	if (json_integer_value(json_object_get(root, "version")) != 1 || !json_is_array(devs)) {
		ret = iov_err_set(err, -EINVAL, "move it aside if it is damaged",
				  "bind state %s: not version 1 with a \"devices\" array", path);
		goto out;
	}
	json_array_foreach(devs, i, d) {
		json_t *dev = json_object_get(d, "device"), *grp = json_object_get(d, "group");
		struct iov_pci_addr a;
		char *drv = NULL, *ovr = NULL, *to = NULL;
		char name[IOV_PCI_ADDR_STRLEN];

		if (!json_is_string(dev) || iov_pci_addr_parse(json_string_value(dev), &a) < 0 ||
		    !json_is_integer(grp) || get_opt_str(d, "driver", &drv) < 0 ||
		    get_opt_str(d, "driver_override", &ovr) < 0 ||
		    get_opt_str(d, "bound_to", &to) < 0) {
			free(drv);
			free(ovr);
			free(to);
			ret = iov_err_set(err, -EINVAL, "move it aside if it is damaged",
					  "bind state %s: devices[%zu] is malformed", path, i);
			goto out;
		}
		ret = iov_bind_state_add(st, iov_pci_addr_fmt(&a, name),
					 (int)json_integer_value(grp), drv, ovr, to);
		free(drv);
		free(ovr);
		free(to);
		if (ret < 0)
			goto out;
		ret = 0;
	}
out:
	json_decref(root);
	if (ret < 0) {
		iov_bind_state_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

int iov_bind_state_save(const char *path, const struct iov_bind_state *st,
			struct iov_err *err)
{
	json_t *root = json_object(), *devs = json_array();
	char *text = NULL;
	int ret = 0;
	size_t len;

	if (!root || !devs) {
		json_decref(root);
		json_decref(devs);
		return -ENOMEM;
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "devices", devs);
	for (size_t i = 0; i < st->n; i++) {
		const struct iov_bind_rec *r = &st->recs[i];
		json_t *o = json_pack("{s:s, s:i, s:o, s:o, s:o}", "device", r->dev,
				      "group", r->group, "driver", opt_str(r->driver),
				      "driver_override", opt_str(r->override),
				      "bound_to", opt_str(r->bound_to));

		if (!o || json_array_append_new(devs, o) < 0) {
			ret = -ENOMEM;
			goto out;
		}
	}
	text = json_dumps(root, JSON_INDENT(2));
	if (!text) {
		ret = -ENOMEM;
		goto out;
	}
	/* A reader sees the old records or the new ones, never half (lib/atomicfile.h). */
	len = strlen(text);
	{
		char *nl = realloc(text, len + 2);

		if (!nl) {
			ret = -ENOMEM;
			goto out;
		}
		text = nl;
		text[len] = '\n';
		text[len + 1] = '\0';
	}
	ret = iov_write_atomic(path, text, len + 1, 0600, "bind state", err);
out:
	free(text);
	json_decref(root);
	return ret;
}

int iov_bind_state_lock(const char *path, struct iov_err *err)
{
	char lock[PATH_MAX], dirbuf[PATH_MAX];
	int fd, ret;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return -ENAMETOOLONG;
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	ret = iov_mkdir_p(dirname(dirbuf), 0755);
	if (ret < 0)
		return iov_err_set(err, ret, NULL, "bind state: cannot create the directory of %s: %s",
				   path, strerror(-ret));
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return iov_err_set(err, -errno, NULL, "bind state: cannot open %s: %s", lock,
				   strerror(errno));
	/* Never a blocking flock: the daemon's one thread must not freeze behind another
	 * holder (a stuck iov-bindtool, or anyone who can open the file). Bounded retry. */
	for (int waited = 0; flock(fd, LOCK_EX | LOCK_NB) < 0; waited += 20) {
		if (errno == EINTR)
			continue;
		ret = -errno;
		if (ret == -EWOULDBLOCK && waited < IOV_STATE_LOCK_WAIT_MS) {
			usleep(20 * 1000);
			continue;
		}
		close(fd);
		if (ret == -EWOULDBLOCK)
			return iov_err_set(err, -EBUSY, "wait for the other binder (iovd or "
					   "iov-bindtool) to finish, or stop it; `fuser` names it",
					   "bind state: %s is locked by another process (waited %d ms); "
					   "nothing was changed", lock, IOV_STATE_LOCK_WAIT_MS);
		return iov_err_set(err, ret, NULL, "bind state: cannot lock %s: %s", lock,
				   strerror(-ret));
	}
	return fd;
}

void iov_bind_state_unlock(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the flock */
}
