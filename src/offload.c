#include "src/offload.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

struct job {
	iovd_job_fn work, done;
	void *ud;
	struct vl_server *srv;
	int pipe[2];			/* the worker writes a byte when work() has returned */
	struct job *next;
};

/* Jobs waiting for the worker, mutex-protected. Each job brings its own pipe, watched by its
 * server while the job is out: no fd outlives the server that watches it. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, **tail;
	bool thread;
	unsigned busy;			/* jobs queued or running */
	pthread_cond_t idle;
} W = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, &W.head, false, 0,
	PTHREAD_COND_INITIALIZER };

static void *worker(void *arg)
{
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&W.lock);
		while (!W.head)
			pthread_cond_wait(&W.cond, &W.lock);
		j = W.head;
		W.head = j->next;
		if (!W.head)
			W.tail = &W.head;
		pthread_mutex_unlock(&W.lock);
		j->work(j->ud);
		while (write(j->pipe[1], "", 1) < 0 && errno == EINTR)
			;
		pthread_mutex_lock(&W.lock);
		if (--W.busy == 0)
			pthread_cond_broadcast(&W.idle);
		pthread_mutex_unlock(&W.lock);
	}
	return NULL;
}

static void on_done(int fd, void *ud)
{
	struct job *j = ud;

	j->done(j->ud);
	close(j->pipe[1]);
	vl_server_unwatch(j->srv, j->pipe[0]);	/* closes it */
	free(j);
	/* A job's results (a host model: ~2 MiB on a large host) were allocated in the worker
	 * thread's malloc arena and are freed by now; give those pages back so iovd's RSS does
	 * not keep the high-water mark of the biggest read (guest_soak). */
	malloc_trim(0);
}

static int start_worker(void)
{
	sigset_t all, old;
	pthread_t t;
	int r;

	if (W.thread)
		return 0;
	/* The worker takes no signal: iovd's are read from a signalfd by the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&t, NULL, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	pthread_detach(t);
	W.thread = true;
	return 0;
}

int iovd_offload(struct vl_server *srv, iovd_job_fn work, iovd_job_fn done, void *userdata)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !srv || start_worker() < 0 || pipe2(j->pipe, O_CLOEXEC) < 0) {
		free(j);
		work(userdata);
		done(userdata);
		return 0;
	}
	if (vl_server_watch(srv, j->pipe[0], on_done, j) < 0) {
		close(j->pipe[0]);
		close(j->pipe[1]);
		free(j);
		work(userdata);
		done(userdata);
		return 0;
	}
	vl_server_watch_name(srv, j->pipe[0], "offloaded work, finished");
	j->work = work;
	j->done = done;
	j->ud = userdata;
	j->srv = srv;
	pthread_mutex_lock(&W.lock);
	*W.tail = j;
	W.tail = &j->next;
	W.busy++;
	pthread_cond_signal(&W.cond);
	pthread_mutex_unlock(&W.lock);
	return 0;
}

void iovd_offload_wait(void)
{
	pthread_mutex_lock(&W.lock);
	while (W.busy)
		pthread_cond_wait(&W.idle, &W.lock);
	pthread_mutex_unlock(&W.lock);
}
