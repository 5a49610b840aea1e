#include "vmm/console.h"
#include "vmm/confilter.h"
#include "lib/log.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK		4096	/* <= PIPE_BUF: one write never needs more than a free pipe page */
#define STOP_GRACE_MS	200
#define WAKE_SIGNAL	SIGUSR1	/* the vCPU kick signal; a no-op handler, no SA_RESTART */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping, waiting, dead, warned, abort;
	int fd;
	bool filter;
	struct iovm_confilter fst;
	uint8_t ring[IOVM_CONSOLE_RING];
	size_t head, count;
	uint64_t dropped, written;
} C = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .fd = -1 };

static void wake_handler(int sig)
{
	(void)sig;	/* only there to interrupt a blocked write */
}

void iovm_console_put(const uint8_t *buf, size_t len)
{
	size_t room, n;

	if (C.fd < 0)
		return;
	pthread_mutex_lock(&C.lock);
	room = C.dead ? 0 : IOVM_CONSOLE_RING - C.count;
	n = len < room ? len : room;
	for (size_t i = 0; i < n; i++)
		C.ring[(C.head + C.count + i) % IOVM_CONSOLE_RING] = buf[i];
	C.count += n;
	if (n < len) {
		C.dropped += len - n;
		if (!C.warned && !C.dead)
			log_warn("console: the reader does not keep up; dropping guest output");
		C.warned = true;
	}
	/* Wake the writer only when it sleeps: a futex call per byte would be the cost the
	 * ring is there to avoid. */
	if (n && C.waiting)
		pthread_cond_signal(&C.cond);
	pthread_mutex_unlock(&C.lock);
}

static bool write_all(const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w;

		if (__atomic_load_n(&C.abort, __ATOMIC_ACQUIRE))
			return false;
		w = write(C.fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void *writer(void *arg)
{
	static uint8_t raw[CHUNK], out[IOVM_CONFILTER_OUT(CHUNK)];
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pthread_mutex_lock(&C.lock);
	for (;;) {
		size_t n, first;

		while (!C.count && !C.stopping) {
			C.waiting = true;
			pthread_cond_wait(&C.cond, &C.lock);
			C.waiting = false;
		}
		if (!C.count)
			break;
		n = C.count < CHUNK ? C.count : CHUNK;
		first = IOVM_CONSOLE_RING - C.head;
		if (first > n)
			first = n;
		memcpy(raw, C.ring + C.head, first);
		memcpy(raw + first, C.ring, n - first);
		C.head = (C.head + n) % IOVM_CONSOLE_RING;
		C.count -= n;
		pthread_mutex_unlock(&C.lock);

		bool ok = C.filter ? write_all(out, iovm_confilter(&C.fst, raw, n, out))
				   : write_all(raw, n);

		pthread_mutex_lock(&C.lock);
		if (ok) {
			C.written += n;
		} else {
			/* The reader is gone (EPIPE, EIO, a hang-up) or we are stopping while it
			 * stalls: everything from here on is dropped and counted. */
			C.dropped += n + C.count;
			C.count = 0;
			C.dead = true;
			if (!C.stopping)
				log_warn("console: output fd failed (%s); dropping guest output",
					 strerror(errno));
			if (C.stopping)
				break;
		}
	}
	pthread_mutex_unlock(&C.lock);
	return NULL;
}

int iovm_console_start(int out_fd, bool filter)
{
	struct sigaction sa = { .sa_handler = wake_handler };
	int ret;

	C.fd = out_fd;
	C.filter = filter;
	if (out_fd < 0)
		return 0;
	sigemptyset(&sa.sa_mask);
	sigaction(WAKE_SIGNAL, &sa, NULL);
	ret = pthread_create(&C.thread, NULL, writer, NULL);
	if (ret)
		return log_err_errno(-ret, "console writer thread");
	C.running = true;
	return 0;
}

void iovm_console_stop(void)
{
	struct timespec until;

	if (!C.running)
		return;
	pthread_mutex_lock(&C.lock);
	C.stopping = true;
	pthread_cond_signal(&C.cond);
	pthread_mutex_unlock(&C.lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += STOP_GRACE_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (pthread_timedjoin_np(C.thread, NULL, &until) != 0) {
		/* Still blocked in write() on a stalled reader: give up the rest. */
		__atomic_store_n(&C.abort, true, __ATOMIC_RELEASE);
		pthread_kill(C.thread, WAKE_SIGNAL);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 20 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	C.running = false;
}

uint64_t iovm_console_dropped(void)
{
	uint64_t d;

	pthread_mutex_lock(&C.lock);
	d = C.dropped;
	pthread_mutex_unlock(&C.lock);
	return d;
}

uint64_t iovm_console_written(void)
{
	uint64_t w;

	pthread_mutex_lock(&C.lock);
	w = C.written;
	pthread_mutex_unlock(&C.lock);
	return w;
}
