#include "vmm/bus.h"
#include "lib/log.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#define BUS_MAX_RANGES 128

struct bus_range {
	enum iovm_space sp;
	uint64_t base, len;
	const char *name;
	const struct iovm_bus_ops *ops;
	void *opaque;
	uint64_t count;
	bool used;
};

static struct bus_range ranges[BUS_MAX_RANGES];
static uint64_t unclaimed[2];
/* Recursive: a device callback (a BAR move in config space) may add or remove ranges. */
static pthread_mutex_t bus_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void iovm_bus_lock(void) { pthread_mutex_lock(&bus_mutex); }
void iovm_bus_unlock(void) { pthread_mutex_unlock(&bus_mutex); }

int iovm_bus_add(enum iovm_space sp, uint64_t base, uint64_t len, const char *name,
		 const struct iovm_bus_ops *ops, void *opaque)
{
	struct bus_range *slot = NULL;
	int ret = 0;

	if (len == 0 || base + len < base)
		return -EINVAL;
	iovm_bus_lock();
	for (int i = 0; i < BUS_MAX_RANGES; i++) {
		struct bus_range *r = &ranges[i];

		if (!r->used) {
			if (!slot)
				slot = r;
			continue;
		}
		if (r->sp == sp && base < r->base + r->len && r->base < base + len) {
			ret = -EEXIST;
			goto out;
		}
	}
	if (!slot) {
		ret = -ENOSPC;
		goto out;
	}
	*slot = (struct bus_range){ .sp = sp, .base = base, .len = len, .name = name,
				    .ops = ops, .opaque = opaque, .used = true };
out:
	iovm_bus_unlock();
	return ret;
}

int iovm_bus_del(enum iovm_space sp, uint64_t base, void *opaque)
{
	int ret = -ENOENT;

	iovm_bus_lock();
	for (int i = 0; i < BUS_MAX_RANGES; i++) {
		struct bus_range *r = &ranges[i];

		if (r->used && r->sp == sp && r->base == base && r->opaque == opaque) {
			r->used = false;
			ret = 0;
			break;
		}
	}
	iovm_bus_unlock();
	return ret;
}

static struct bus_range *bus_find(enum iovm_space sp, uint64_t addr, unsigned len)
{
	for (int i = 0; i < BUS_MAX_RANGES; i++) {
		struct bus_range *r = &ranges[i];

		/* The whole access must fit: a guest straddling two ranges gets neither. */
		if (r->used && r->sp == sp && addr >= r->base && addr - r->base < r->len &&
		    len <= r->len - (addr - r->base))
			return r;
	}
	return NULL;
}

bool iovm_bus_access(enum iovm_space sp, uint64_t addr, void *data, unsigned len, bool is_write)
{
	struct bus_range *r;
	uint64_t v = 0;

	if (len != 1 && len != 2 && len != 4 && len != 8) {
		if (!is_write)
			memset(data, 0xff, len > 8 ? 8 : len);
		return false;
	}
	iovm_bus_lock();
	r = bus_find(sp, addr, len);
	if (!r) {
		if (unclaimed[sp == IOVM_MMIO]++ < 64)
			log_debug("unclaimed %s %s %#" PRIx64 " size %u", sp == IOVM_MMIO ? "mmio" : "pio",
				  is_write ? "write" : "read", addr, len);
		iovm_bus_unlock();
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->count++;
	if (is_write) {
		memcpy(&v, data, len);		/* x86 guests are little-endian, so is the host */
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, v, len);
	} else {
		v = r->ops->read ? r->ops->read(r->opaque, addr - r->base, len) : ~0ull;
		memcpy(data, &v, len);
	}
	iovm_bus_unlock();
	return true;
}

void iovm_bus_print_stats(FILE *f)
{
	iovm_bus_lock();
	for (int i = 0; i < BUS_MAX_RANGES; i++) {
		struct bus_range *r = &ranges[i];

		if (r->used && r->count)
			fprintf(f, "  %-5s %#-10" PRIx64 " %-16s %" PRIu64 "\n",
				r->sp == IOVM_PIO ? "pio" : "mmio", r->base, r->name, r->count);
	}
	fprintf(f, "  pio   unclaimed  %-16s %" PRIu64 "\n", "-", unclaimed[0]);
	fprintf(f, "  mmio  unclaimed  %-16s %" PRIu64 "\n", "-", unclaimed[1]);
	iovm_bus_unlock();
}
