/* libFuzzer harness for what vfio/ parses from files: the procfs sources of the host usage
 * snapshot (route, ipv6_route, if_inet6, mountinfo, swaps) and the bind state file.
 * The input is split at NUL bytes into those six files of a temporary sysroot.
 *   make vfio-fuzz [FUZZ_SECS=60]      (needs clang) */
#include "lib/err.h"
#include "lib/sysfs.h"
#include "vfio/guard.h"
#include "vfio/state.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];

static void put(const char *rel, const uint8_t *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	if (n)
		fwrite(p, 1, n, f);
	fclose(f);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void cleanup(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
	static const char *const dirs[] = { "", "/sys", "/sys/bus", "/sys/bus/pci",
		"/sys/bus/pci/devices", "/proc", "/proc/net", "/proc/self", "/run" };
	char p[128];

	snprintf(root, sizeof(root), "/tmp/iovd-fuzz-%d", (int)getpid());
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		mkdir(p, 0755);
	}
	if (iov_sysroot_set(root) < 0)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const files[] = { "proc/net/route", "proc/net/ipv6_route",
		"proc/net/if_inet6", "proc/self/mountinfo", "proc/swaps", "run/state.json" };
	struct iov_usage *u = NULL;
	struct iov_bind_state *st = NULL;
	struct iov_err e = { 0 };
	char path[128];
	size_t off = 0;

	if (!*root)
		setup();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const uint8_t *nul = off < size ? memchr(data + off, 0, size - off) : NULL;
		size_t n = nul ? (size_t)(nul - (data + off)) : size - off;

		put(files[i], data + off, off < size ? n : 0);
		off = nul ? off + n + 1 : size;
	}
	if (iov_usage_load(&u) == 0)
		iov_usage_free(u);
	snprintf(path, sizeof(path), "%s/run/state.json", root);
	if (iov_bind_state_load(path, &st, &e) == 0)
		iov_bind_state_free(st);
	return 0;
}
