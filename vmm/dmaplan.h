/* Which guest RAM to DMA-map for a passthrough device (pure): every RAM bank at IOVA = GPA,
 * minus the IOMMU groups' reserved regions, each piece inside one of the IOMMU's usable
 * IOVA ranges. An IOMMU narrower than guest RAM is a real failure, reported here. */
#ifndef IOVM_DMAPLAN_H
#define IOVM_DMAPLAN_H

#include "vmm/bootparams.h"
#include "vmm/mem.h"

struct iovm_dma_piece {
	uint64_t gpa, size;
	int bank;		/* index into mem->bank */
};

/* resv and iova are [start, end) ranges; resv is rounded out to 4 KiB pages. niova 0 means
 * "no IOVA range information" (the kernel checks alone). Returns the number of pieces,
 * -ERANGE (with *bad, if not NULL, set to the first piece outside every IOVA range) or
 * -ENOSPC if more than max pieces are needed. */
int iovm_dma_plan(const struct iovm_mem *mem, const struct iovm_range *resv, int nresv,
		  const struct iovm_range *iova, int niova, struct iovm_dma_piece *out, int max,
		  struct iovm_range *bad);

#endif
