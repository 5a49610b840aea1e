#include "vmm/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SZ_2M (2ull << 20)

int iovm_mem_layout(uint64_t size, struct iovm_mem *out)
{
	struct iovm_mem m = { 0 };
	uint64_t low;

	if (size == 0 || size % SZ_2M || size > (1ull << 46))
		return -EINVAL;
	low = size < IOVM_MMIO_HOLE_START ? size : IOVM_MMIO_HOLE_START;
	m.bank[m.nbanks++] = (struct iovm_mem_bank){ .gpa = 0, .size = low };
	if (size > low)
		m.bank[m.nbanks++] = (struct iovm_mem_bank){ .gpa = IOVM_MMIO_HOLE_END,
							     .size = size - low };
	m.size = size;
	*out = m;
	return 0;
}

int iovm_mem_alloc(struct iovm_mem *m, uint64_t size, bool hugepages)
{
	struct iovm_mem l;
	int ret = iovm_mem_layout(size, &l);

	if (ret < 0)
		return ret;
	for (int i = 0; i < l.nbanks; i++) {
		int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		void *p;

		/* Hugepages are reserved at the mmap (no MAP_NORESERVE): too few fails here,
		 * with a message, instead of a SIGBUS when the guest first touches a page the
		 * pool no longer has. */
		if (hugepages)
			flags = (flags & ~MAP_NORESERVE) | MAP_HUGETLB;
		/* 2 MiB aligned (THP can back it from the first fault, and VFIO then pins and
		 * maps it in 2 MiB pieces rather than 4 KiB pages): map 2 MiB more and trim. */
		p = mmap(NULL, l.bank[i].size + (hugepages ? 0 : SZ_2M), PROT_READ | PROT_WRITE,
			 flags, -1, 0);
		if (p == MAP_FAILED) {
			ret = -errno;
			for (int j = 0; j < i; j++)
				munmap(l.bank[j].hva, l.bank[j].size);
			return ret;
		}
		if (!hugepages) {
			uintptr_t a = ((uintptr_t)p + SZ_2M - 1) & ~(uintptr_t)(SZ_2M - 1);

			if (a > (uintptr_t)p)
				munmap(p, a - (uintptr_t)p);
			munmap((void *)(a + l.bank[i].size), (uintptr_t)p + SZ_2M - a);
			p = (void *)a;
		}
		if (!hugepages)
			madvise(p, l.bank[i].size, MADV_HUGEPAGE);	/* THP: a hint only */
		l.bank[i].hva = p;
	}
	l.huge = hugepages;
	*m = l;
	return 0;
}

#ifdef MADV_POPULATE_WRITE
struct populate_job {
	char *p;
	size_t len;
	pthread_t t;
	bool started;
};

static void *populate_one(void *arg)
{
	struct populate_job *j = arg;

	madvise(j->p, j->len, MADV_POPULATE_WRITE);
	return NULL;
}
#endif

void iovm_mem_populate(const struct iovm_mem *m)
{
#ifdef MADV_POPULATE_WRITE
	/* Zeroing the pages is the cost (a memset of all of guest RAM): in 2 MiB-aligned
	 * slices, one thread per online CPU (at most 8), the calling thread taking the last. */
	struct populate_job job[8];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu, k = 0;
	uint64_t slice = (m->size / (uint64_t)n + SZ_2M - 1) & ~(SZ_2M - 1);

	for (int i = 0; i < m->nbanks; i++) {
		for (uint64_t off = 0; m->bank[i].hva && off < m->bank[i].size && k < 8; off += slice) {
			job[k] = (struct populate_job){ .p = (char *)m->bank[i].hva + off,
							.len = m->bank[i].size - off < slice ?
							       m->bank[i].size - off : slice };
			k++;
		}
	}
	for (int i = 0; i + 1 < k; i++)
		job[i].started = pthread_create(&job[i].t, NULL, populate_one, &job[i]) == 0;
	for (int i = 0; i < k; i++)
		if (i + 1 == k || !job[i].started)
			populate_one(&job[i]);
	for (int i = 0; i + 1 < k; i++)
		if (job[i].started)
			pthread_join(job[i].t, NULL);
#else
	(void)m;
#endif
}

void iovm_mem_free(struct iovm_mem *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->nbanks; i++)
		if (m->bank[i].hva)
			munmap(m->bank[i].hva, m->bank[i].size);
	memset(m, 0, sizeof(*m));
}

void *iovm_mem_ptr(const struct iovm_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nbanks; i++) {
		const struct iovm_mem_bank *b = &m->bank[i];

		if (b->hva && gpa >= b->gpa && gpa - b->gpa <= b->size &&
		    len <= b->size - (gpa - b->gpa))
			return (char *)b->hva + (gpa - b->gpa);
	}
	return NULL;
}
