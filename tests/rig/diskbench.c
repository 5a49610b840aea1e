/* diskbench DEVICE MODE MIB|COUNT: a block device benchmark for inner guests (scenario
 * vmm_disk_bench), O_DIRECT so the guest's page cache is not measured.
 *   seqread MIB / seqwrite MIB   1 MiB requests over the first MIB MiB; prints MB/s
 *   randread N / randwrite N     N 4 KiB requests at random 4 KiB-aligned offsets in the
 *                                whole device (a fixed seed: the same offsets every run);
 *                                prints IOPS
 * Output: "MODE VALUE UNIT SECONDS". Exit 1 on any error (the message says which call). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int io(int fd, void *buf, size_t len, uint64_t off, int wr)
{
	ssize_t r = wr ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);

	if (r != (ssize_t)len) {
		fprintf(stderr, "diskbench: %s %zu bytes at %llu: %s\n", wr ? "pwrite" : "pread", len,
			(unsigned long long)off, r < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t size, x = 0x9e3779b97f4a7c15ull;
	long n;
	void *buf;
	int fd, wr, seq;
	double t0, t;

	if (argc != 4 || (n = strtol(argv[3], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: diskbench DEVICE seqread|seqwrite|randread|randwrite MIB|COUNT\n");
		return 2;
	}
	seq = strncmp(argv[2], "seq", 3) == 0;
	wr = strstr(argv[2], "write") != NULL;
	fd = open(argv[1], (wr ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &size) < 0) {	/* a regular file (tries here) */
		struct stat st;

		size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
	}
	if (fd < 0 || size < (1 << 20)) {
		fprintf(stderr, "diskbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (posix_memalign(&buf, 4096, 1 << 20))
		return 1;
	memset(buf, 0x5a, 1 << 20);
	t0 = now();
	for (long i = 0; i < n; i++) {
		uint64_t off;
		size_t len = seq ? 1 << 20 : 4096;

		if (seq) {
			off = (uint64_t)i << 20;
			if (off + len > size)
				off = 0;
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			off = (x % (size / 4096)) * 4096;
		}
		if (io(fd, buf, len, off, wr) < 0)
			return 1;
	}
	if (wr && fdatasync(fd) < 0) {
		fprintf(stderr, "diskbench: fdatasync: %s\n", strerror(errno));
		return 1;
	}
	t = now() - t0;
	if (seq)
		printf("%s %.1f MB/s %.3f\n", argv[2], (double)n * 1.048576 / t, t);
	else
		printf("%s %.0f IOPS %.3f\n", argv[2], (double)n / t, t);
	return 0;
}
