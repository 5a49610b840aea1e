/*
 * loadtool: two small tools for the load scenarios (guest_load, guest_soak); busybox has
 * neither.
 *
 *   loadtool lock -s|-x FILE CMD [ARGS...]
 *       CMD with a shared (-s) or exclusive (-x) flock(2) on FILE held while it runs: the
 *       clients' calls take it shared (they run at once), the invariant checks exclusive
 *       (they see the host between calls, never in the middle of one). Exit: CMD's.
 *   loadtool ping SOCKET SECONDS INTERVAL_MS LIMIT_MS
 *       For SECONDS, one io.iovd.GetVersion call every INTERVAL_MS on a fresh connection to
 *       iovd's varlink SOCKET (as the caller, root in the scenarios), each timed from
 *       connect to the whole reply. Prints "ping: N calls, max M ms, p99 P ms, over LIMIT:
 *       K, failed: F" and, for each call over LIMIT_MS, "slow: T ms at +S ms". Runs with
 *       SCHED_FIFO when it can (so that the emulated CPU's other load does not count as
 *       iovd's). Exit 0 when no call failed and none took LIMIT_MS or more, else 1.
 *   loadtool fifo PID
 *       Every thread of PID to SCHED_FIFO (priority 5, under the pinger's 10): what the
 *       pinger then measures is iovd's own loop, not the emulated CPU's queue.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int lock_main(int argc, char **argv)
{
	int fd, op;
	pid_t pid;
	int st;

	if (argc < 4 || (strcmp(argv[1], "-s") != 0 && strcmp(argv[1], "-x") != 0)) {
		fprintf(stderr, "usage: loadtool lock -s|-x FILE CMD [ARGS...]\n");
		return 2;
	}
	op = argv[1][1] == 's' ? LOCK_SH : LOCK_EX;
	if ((fd = open(argv[2], O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "loadtool: %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	while (flock(fd, op) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "loadtool: flock %s: %s\n", argv[2], strerror(errno));
			return 2;
		}
	if ((pid = fork()) < 0)
		return 2;
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "loadtool: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One call: 0 with *us, or -1 (failed). */
static int one_call(const char *sock, long long *us)
{
	static const char req[] = "{\"method\":\"io.iovd.GetVersion\",\"parameters\":{}}";
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	long long t0 = now_us();
	char buf[4096];
	size_t got = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = -1;

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, sizeof(req)) != (ssize_t)sizeof(req))	/* with its NUL */
		goto out;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			goto out;
		if ((n = read(fd, buf + got, sizeof(buf) - got - 1)) <= 0)
			goto out;
		got += (size_t)n;
		if (memchr(buf, 0, got))
			break;
		if (got >= sizeof(buf) - 1)
			goto out;
	}
	buf[got] = 0;
	if (strstr(buf, "\"error\""))
		goto out;
	ok = 0;
	*us = now_us() - t0;
out:
	close(fd);
	return ok;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int ping_main(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 10 };
	long long secs, ival, limit, t_end, start = now_us(), *t;
	size_t n = 0, cap = 1024, over = 0, failed = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: loadtool ping SOCKET SECONDS INTERVAL_MS LIMIT_MS\n");
		return 2;
	}
	secs = atoll(argv[2]);
	ival = atoll(argv[3]);
	limit = atoll(argv[4]);
	if (secs <= 0 || ival <= 0 || limit <= 0 || !(t = malloc(cap * sizeof(*t))))
		return 2;
	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		fprintf(stderr, "loadtool: SCHED_FIFO: %s (timings include the CPU's other load)\n",
			strerror(errno));
	t_end = start + secs * 1000000;
	while (now_us() < t_end) {
		long long us = 0, next = now_us() + ival * 1000;

		if (one_call(argv[1], &us) < 0) {
			failed++;
			printf("failed: call at +%lld ms\n", (now_us() - start) / 1000);
		} else {
			if (n == cap) {
				long long *m = realloc(t, (cap *= 2) * sizeof(*t));

				if (!m)
					return 2;
				t = m;
			}
			t[n++] = us;
			if (us >= limit * 1000) {
				over++;
				printf("slow: %lld ms at +%lld ms\n", us / 1000, (now_us() - start) / 1000);
			}
		}
		fflush(stdout);
		while (now_us() < next)
			usleep((useconds_t)(next - now_us()));
	}
	qsort(t, n, sizeof(*t), cmp_ll);
	printf("ping: %zu calls, max %lld ms, p99 %lld ms, median %lld ms, over %lld ms: %zu, "
	       "failed: %zu\n", n, n ? t[n - 1] / 1000 : 0, n ? t[n * 99 / 100] / 1000 : 0,
	       n ? t[n / 2] / 1000 : 0, limit, over, failed);
	free(t);
	return n && !over && !failed ? 0 : 1;
}

static int fifo_main(int argc, char **argv)
{
	struct sched_param sp = { .sched_priority = 5 };
	char dir[64];
	struct dirent *e;
	DIR *d;
	int n = 0, bad = 0;

	if (argc != 2)
		return 2;
	snprintf(dir, sizeof(dir), "/proc/%d/task", atoi(argv[1]));
	if (!(d = opendir(dir))) {
		fprintf(stderr, "loadtool: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			if (sched_setscheduler(atoi(e->d_name), SCHED_FIFO, &sp) < 0)
				bad++;
			n++;
		}
	closedir(d);
	printf("loadtool: %d threads of %s to SCHED_FIFO, %d failed\n", n, argv[1], bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "fifo") == 0)
		return fifo_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "lock") == 0)
		return lock_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "ping") == 0)
		return ping_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: loadtool lock -s|-x FILE CMD... | loadtool ping SOCKET SECONDS "
		"INTERVAL_MS LIMIT_MS\n");
	return 2;
}
