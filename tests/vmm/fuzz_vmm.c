/* libFuzzer harness for iovm's guest-facing pure code: config-space virtualization and
 * MSI-X table emulation driven by arbitrary guest access sequences, plus the bzImage header
 * and e820 builders and the DMA plan fed arbitrary images and reserved ranges. The fake device aborts on any
 * access outside its 4 KiB config space. Build and run: `make vmm-fuzz` (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bootparams.h"
#include "vmm/dmaplan.h"
#include "vmm/msix.h"
#include "vmm/pcicfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t dev[4096];

static int fdev_read(void *ctx, unsigned off, unsigned len, uint32_t *val)
{
	uint32_t v = 0;

	if (off >= sizeof(dev) || len > 4 || off + len > sizeof(dev))
		abort();
	memcpy(&v, dev + off, len);
	*val = v;
	return 0;
}

static int fdev_write(void *ctx, unsigned off, unsigned len, uint32_t val)
{
	if (off >= sizeof(dev) || len > 4 || off + len > sizeof(dev))
		abort();
	memcpy(dev + off, &val, len);
	return 0;
}

static const struct iovm_pcicfg_ops fops = { fdev_read, fdev_write };

static void fuzz_cfg(const uint8_t *data, size_t size)
{
	static struct iovm_pcicfg c;
	static struct iovm_msix m;
	uint64_t sizes[IOVM_PCI_NBARS];

	if (size < 256 + 6)
		return;
	memset(dev, 0, sizeof(dev));
	memcpy(dev, data, 256);
	for (int i = 0; i < IOVM_PCI_NBARS; i++)
		sizes[i] = data[256 + i] < 40 ? (data[256 + i] ? 1ull << data[256 + i] : 0) : 0;
	data += 262;
	size -= 262;
	if (iovm_pcicfg_init(&c, dev, sizes, &fops, NULL) < 0)
		return;
	if (iovm_msix_init(&m, c.msix_nr ? c.msix_nr : 1) < 0)
		abort();
	while (size >= 8) {
		unsigned kind = data[0] & 3, len = 1u << (data[1] & 3);
		uint32_t off = (uint32_t)data[2] | (uint32_t)data[3] << 8;
		uint32_t val;
		struct iovm_msi_state s;

		memcpy(&val, data + 4, 4);
		switch (kind) {
		case 0:
			(void)iovm_pcicfg_read(&c, off, len);
			break;
		case 1:
			(void)iovm_pcicfg_write(&c, off, len, val);
			iovm_pcicfg_msi(&c, &s);
			if (s.nvec > 32 || s.nvec > s.max_vec)
				abort();
			break;
		case 2:
			(void)iovm_msix_table_read(&m, off, len);
			(void)iovm_msix_pba_read(&m, off, len);
			break;
		default: {
			int i = iovm_msix_table_write(&m, off, len, (uint64_t)val << 32 | val);

			if (i >= (int)m.nr)
				abort();
			if (i >= 0)
				(void)iovm_msix_masked(&m, (unsigned)i);
			break;
		}
		}
		for (int b = 0; b < IOVM_PCI_NBARS; b++)
			if (c.bar[b].size && !c.bar[b].upper && (c.bar[b].gpa & (c.bar[b].size - 1)))
				abort();	/* a BAR address must stay size-aligned */
		data += 8;
		size -= 8;
	}
}

static void fuzz_boot(const uint8_t *data, size_t size)
{
	struct iovm_bzimage bz;
	struct iovm_mem mem;
	struct iovm_e820_entry e[BP_E820_MAX];
	struct iovm_range x[8];
	static uint8_t zp[4096];
	uint64_t a;
	int n = 0;

	if (iovm_bzimage_parse(data, size, size & 1, &bz) == 0) {
		if (bz.pm_offset + bz.pm_size != size || bz.hdr_end > bz.setup_size)
			abort();
		if (iovm_mem_layout(64ull << 20, &mem) == 0) {
			int k = iovm_e820_build(&mem, NULL, 0, e, BP_E820_MAX);

			if (k > 0) {
				iovm_bootparams_fill(zp, data, &bz, 0x20000, 0, 0, e, k);
				(void)iovm_initrd_place(&bz, e, k, 0x200000, size, &a);
			}
		}
	}
	for (size_t i = 0; i + 9 <= size && n < 8; i += 9, n++) {
		uint64_t s, l;

		memcpy(&s, data + i, 8);
		s &= 0x3ffffffffull;
		l = (uint64_t)data[i + 8] << 20;
		x[n] = (struct iovm_range){ s, s + l };
	}
	if (iovm_mem_layout(size > 100 ? 6ull << 30 : 64ull << 20, &mem) == 0) {
		int k = iovm_e820_build(&mem, x, n, e, BP_E820_MAX);

		struct iovm_dma_piece p[16];
		struct iovm_range iova[] = { { 0, 0xfee00000 }, { 0xfef00000, 1ull << 39 } };
		int np;

		for (int i = 1; i < k; i++)
			if (e[i].addr < e[i - 1].addr + e[i - 1].size)
				abort();	/* sorted, no overlap */
		np = iovm_dma_plan(&mem, x, n, iova, 2, p, 16, NULL);
		for (int i = 0; i < np; i++) {
			if (!p[i].size || (p[i].gpa & 4095) || (p[i].size & 4095))
				abort();
			for (int j = 0; j < n; j++)	/* never maps a reserved byte */
				if (p[i].gpa < x[j].end && x[j].start < p[i].gpa + p[i].size &&
				    x[j].end > x[j].start)
					abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size && data[0] == 'B')
		fuzz_boot(data + 1, size - 1);
	else
		fuzz_cfg(data, size);
	return 0;
}
