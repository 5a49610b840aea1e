/* iov_bind / iov_release: load state and usage, plan, write the state, execute. The state
 * is written before the host is touched, so a crash mid-way still knows every original
 * driver; a failed bind removes the records it added. */
#include "vfio/bind.h"

#include "lib/err.h"
#include "lib/host.h"
#include "lib/log.h"
#include "vfio/guard.h"
#include "vfio/plan.h"
#include "vfio/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *state_path = "/var/lib/iovd/bind-state.json";
static const struct iov_bind_io *bind_io = &iov_bind_io_sysfs;

void iov_bind_set_state_path(const char *path)
{
	state_path = path ? path : "/var/lib/iovd/bind-state.json";
}

const char *iov_bind_state_path(void)
{
	return state_path;
}

void iov_bind_set_io(const struct iov_bind_io *io)
{
	bind_io = io ? io : &iov_bind_io_sysfs;
}

/* Takes the state lock (held until the caller's unlock), then loads state and usage. */
static int load_all(int *lock, struct iov_bind_state **st, struct iov_usage **u,
		    struct iov_err *err)
{
	int ret = iov_bind_state_lock(state_path, err);

	if (ret < 0)
		return ret;
	*lock = ret;
	ret = iov_bind_state_load(state_path, st, err);
	if (ret < 0) {
		iov_bind_state_unlock(*lock);
		*lock = -1;
		return ret;
	}
	ret = iov_usage_load(u);
	if (ret == 0 && (ret = iov_usage_scan_vfio(*u)) < 0) {
		iov_usage_free(*u);
		*u = NULL;
	}
	if (ret < 0) {
		iov_bind_state_free(*st);
		iov_bind_state_unlock(*lock);
		*lock = -1;
		return iov_err_set(err, ret, NULL, "reading host usage: %s", strerror(-ret));
	}
	return 0;
}

static bool unsafe_interrupts_policy;

void iov_bind_set_unsafe_interrupts(bool allow) { unsafe_interrupts_policy = allow; }
bool iov_bind_unsafe_interrupts(void) { return unsafe_interrupts_policy; }

int iov_bind(const struct iov_host *h, const struct iov_dev *dev,
	     const struct iov_bind_opts *opts_in, struct iov_err *err)
{
	struct iov_bind_opts o = opts_in ? *opts_in : (struct iov_bind_opts){ 0 };
	const struct iov_bind_opts *opts = &o;
	struct iov_bind_state *st = NULL;
	struct iov_usage *u = NULL;
	struct iov_plan *p = NULL;
	bool *added = NULL, *done = NULL;
	int ret, lock = -1;

	o.allow_unsafe_interrupts |= unsafe_interrupts_policy;
	if (o.allow_unsafe_interrupts && h->iommu.intremap != 1)
		log_warn("UNSAFE: binding %s to %s without interrupt remapping (iovd runs with "
			 "--allow-unsafe-interrupts): a VM using it can inject interrupts into this host",
			 dev->name, o.driver ? o.driver : "vfio-pci");
	ret = load_all(&lock, &st, &u, err);
	if (ret < 0)
		return ret;
	ret = iov_plan_bind(h, u, dev, opts, &p, err);
	if (ret < 0 || p->n == 0)
		goto out;
	added = calloc(p->n, sizeof(*added));
	done = calloc(p->n, sizeof(*done));
	if (!added || !done) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct iov_move *m = &p->moves[i];

		ret = iov_bind_state_add(st, m->dev, p->group, m->from, m->from_override, m->to);
		if (ret < 0)
			goto out;
		added[i] = ret == 1;
	}
	ret = iov_bind_state_save(state_path, st, err);
	if (ret < 0)
		goto out;	/* nothing touched yet */
	ret = iov_plan_exec(p, bind_io, done, err);
	if (ret < 0) {
		struct iov_err e2 = { 0 };

		/* Rolled back: forget what this attempt added. */
		for (size_t i = 0; i < p->n; i++)
			if (added[i])
				iov_bind_state_drop(st, p->moves[i].dev);
		if (iov_bind_state_save(state_path, st, &e2) < 0)
			log_warn("%s", e2.msg);
		goto out;
	}
	for (size_t i = 0; i < p->n; i++)
		log_info("bound %s: %s -> %s", p->moves[i].dev,
			 p->moves[i].from ? p->moves[i].from : "no driver", p->moves[i].to);
out:
	free(added);
	free(done);
	iov_plan_free(p);
	iov_usage_free(u);
	iov_bind_state_free(st);
	iov_bind_state_unlock(lock);
	return ret;
}

int iov_release(const struct iov_host *h, const struct iov_dev *dev, struct iov_err *err)
{
	struct iov_bind_state *st = NULL;
	struct iov_usage *u = NULL;
	struct iov_plan *p = NULL;
	bool *done = NULL;
	int ret, ret2, lock = -1;

	ret = load_all(&lock, &st, &u, err);
	if (ret < 0)
		return ret;
	ret = iov_plan_release(h, u, st, dev, &p, err);
	if (ret < 0)
		goto out;
	if (p->n == 0 && p->n_drop == 0)
		goto out;
	done = calloc(p->n ? p->n : 1, sizeof(*done));
	if (!done) {
		ret = -ENOMEM;
		goto out;
	}
	ret = iov_plan_exec(p, bind_io, done, err);
	/* Forget what went back (and what no longer exists); keep the rest for a retry. */
	for (size_t i = 0; i < p->n; i++)
		if (done[i]) {
			iov_bind_state_drop(st, p->moves[i].dev);
			log_info("released %s: %s -> %s", p->moves[i].dev,
				 p->moves[i].from ? p->moves[i].from : "no driver",
				 p->moves[i].any ? "default driver"
				 : p->moves[i].to ? p->moves[i].to : "no driver");
		}
	for (size_t i = 0; i < p->n_drop; i++)
		iov_bind_state_drop(st, p->drop[i]);
	ret2 = iov_bind_state_save(state_path, st, ret < 0 ? NULL : err);
	if (ret == 0)
		ret = ret2;
	for (size_t i = 0; ret >= 0 && i < p->n; i++)
		ret += done[i];
out:
	free(done);
	iov_plan_free(p);
	iov_usage_free(u);
	iov_bind_state_free(st);
	iov_bind_state_unlock(lock);
	return ret;
}
