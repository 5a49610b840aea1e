#include "lib/par.h"

#include <pthread.h>
#include <sched.h>

#define CHUNK 16

struct par {
	void (*fn)(void *ctx, size_t i);
	void *ctx;
	size_t n, next;			/* next: the first unclaimed item (atomic) */
};

static void *worker(void *arg)
{
	struct par *p = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, CHUNK, __ATOMIC_RELAXED);

		if (i >= p->n)
			break;
		for (size_t k = i; k < p->n && k < i + CHUNK; k++)
			p->fn(p->ctx, k);
	}
	return NULL;
}

int iov_par_threads(size_t n)
{
	cpu_set_t set;
	int cpus = 1;

	if (n < IOV_PAR_MIN)
		return 1;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cpus = CPU_COUNT(&set);
	return cpus < 1 ? 1 : cpus > IOV_PAR_THREADS_MAX ? IOV_PAR_THREADS_MAX : cpus;
}

/* A thread that cannot be created leaves its share to the others. */
void iov_par_for(size_t n, void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct par p = { .fn = fn, .ctx = ctx, .n = n };
	pthread_t tid[IOV_PAR_THREADS_MAX];
	int nthreads = iov_par_threads(n), started = 0;

	for (int t = 1; t < nthreads; t++)
		if (pthread_create(&tid[started], NULL, worker, &p) == 0)
			started++;
	worker(&p);
	for (int t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}
