#include "vmm/dmaplan.h"

#include <errno.h>

#define PAGE 4096ull

/* One pass; out NULL only counts and checks. */
static int plan(const struct iovm_mem *mem, const struct iovm_range *resv, int nresv,
		const struct iovm_range *iova, int niova, struct iovm_dma_piece *out,
		struct iovm_range *bad)
{
	int n = 0;

	for (int b = 0; b < mem->nbanks; b++) {
		uint64_t s = mem->bank[b].gpa, e = s + mem->bank[b].size;

		while (s < e) {
			uint64_t pe = e, next = e;
			bool inside = niova == 0;

			/* The lowest reserved range that cuts [s, e) ends this piece. */
			for (int i = 0; i < nresv; i++) {
				uint64_t rs = resv[i].start & ~(PAGE - 1);
				uint64_t re = (resv[i].end + PAGE - 1) & ~(PAGE - 1);

				if (re <= s || rs >= pe || re <= rs)
					continue;
				if (rs <= s) {		/* s is inside it: skip past */
					pe = s;
					next = re < e ? re : e;
					break;
				}
				pe = rs;
				next = re < e ? re : e;
			}
			if (pe > s) {
				for (int i = 0; i < niova; i++)
					if (s >= iova[i].start && pe <= iova[i].end)
						inside = true;
				if (!inside) {
					if (bad)
						*bad = (struct iovm_range){ s, pe };
					return -ERANGE;
				}
				if (out)
					out[n] = (struct iovm_dma_piece){ s, pe - s, b };
				n++;
			}
			s = next;
		}
	}
	return n;
}

int iovm_dma_plan(const struct iovm_mem *mem, const struct iovm_range *resv, int nresv,
		  const struct iovm_range *iova, int niova, struct iovm_dma_piece *out, int max,
		  struct iovm_range *bad)
{
	int n = plan(mem, resv, nresv, iova, niova, NULL, bad);

	if (n < 0)
		return n;
	if (n > max)
		return -ENOSPC;		/* out untouched */
	return plan(mem, resv, nresv, iova, niova, out, NULL);
}
