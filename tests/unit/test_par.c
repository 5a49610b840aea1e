/* lib/par.h: every item exactly once, whatever the thread count; small inputs stay on the
 * caller's thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include "lib/par.h"

struct ctx {
	int *hits;
	pthread_t *who;
};

static void one(void *arg, size_t i)
{
	struct ctx *c = arg;

	__atomic_fetch_add(&c->hits[i], 1, __ATOMIC_RELAXED);
	c->who[i] = pthread_self();
}

static void test_each_once(void **state)
{
	size_t sizes[] = { 0, 1, 15, 16, 17, IOV_PAR_MIN - 1, IOV_PAR_MIN, 1000, 4099 };

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		struct ctx c = { calloc(n + 1, sizeof(int)), calloc(n + 1, sizeof(pthread_t)) };

		assert_non_null(c.hits);
		iov_par_for(n, one, &c);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(c.hits[i], 1);
		assert_int_equal(c.hits[n], 0);
		if (n && n < IOV_PAR_MIN)	/* below the threshold: all on this thread */
			for (size_t i = 0; i < n; i++)
				assert_true(pthread_equal(c.who[i], pthread_self()));
		free(c.hits);
		free(c.who);
	}
	assert_int_equal(iov_par_threads(IOV_PAR_MIN - 1), 1);
	assert_true(iov_par_threads(100000) >= 1 && iov_par_threads(100000) <= IOV_PAR_THREADS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
