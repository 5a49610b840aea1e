#include "vmm/bootparams.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EBDA_START	IOVM_EBDA_ADDR
#define LOWMEM_END	0xa0000ull
#define BIOS_START	0xf0000ull
#define HIGHMEM_START	0x100000ull

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, (uint16_t)v); wr16(p + 2, (uint16_t)(v >> 16)); }
static void wr64(uint8_t *p, uint64_t v) { wr32(p, (uint32_t)v); wr32(p + 4, (uint32_t)(v >> 32)); }

int iovm_bzimage_parse(const uint8_t *img, size_t len, bool want64, struct iovm_bzimage *out)
{
	struct iovm_bzimage bz = { 0 };
	unsigned sects;

	if (len < 0x270)
		return -EINVAL;
	if (rd16(img + BP_BOOT_FLAG) != 0xaa55 || memcmp(img + BP_HEADER, "HdrS", 4) != 0)
		return -ENOEXEC;
	bz.version = rd16(img + BP_VERSION);
	if (bz.version < 0x0206)
		return -ENOTSUP;	/* no cmdline_size before 2.06 */
	if (!(img[BP_LOADFLAGS] & BP_LOADED_HIGH))
		return -ENOTSUP;	/* zImage: loaded at 0x10000, not supported */
	sects = img[BP_SETUP_SECTS] ? img[BP_SETUP_SECTS] : 4;
	bz.setup_size = (sects + 1) * 512;
	if (bz.setup_size >= len)
		return -EINVAL;
	bz.pm_offset = bz.setup_size;
	bz.pm_size = (uint32_t)(len - bz.setup_size);
	bz.hdr_end = BP_HEADER + img[BP_JUMP + 1];
	if (bz.hdr_end > 0x280)
		bz.hdr_end = 0x280;
	if (bz.hdr_end > bz.setup_size)
		return -EINVAL;
	bz.initrd_addr_max = rd32(img + BP_INITRD_ADDR_MAX);
	bz.cmdline_size = rd32(img + BP_CMDLINE_SIZE);
	bz.xloadflags = bz.version >= 0x020c ? rd16(img + BP_XLOADFLAGS) : 0;
	bz.init_size = bz.version >= 0x020a ? rd32(img + BP_INIT_SIZE) : 0;
	if (bz.init_size < bz.pm_size)
		bz.init_size = bz.pm_size;
	if (want64 && !(bz.xloadflags & BP_XLF_KERNEL_64))
		return -ENOTSUP;
	*out = bz;
	return 0;
}

struct piece {
	uint64_t s, e;
	uint32_t type;
};

static int piece_cmp(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->s < y->s ? -1 : x->s > y->s;
}

int iovm_e820_build(const struct iovm_mem *mem, const struct iovm_range *excl, int nexcl,
		    struct iovm_e820_entry *out, int max)
{
	struct piece p[2 * BP_E820_MAX];
	int n = 0;

#define PUSH(S, E, T) do {						\
		if ((S) < (E)) {					\
			if (n >= 2 * BP_E820_MAX)			\
				return -ENOSPC;				\
			p[n++] = (struct piece){ (S), (E), (T) };	\
		}							\
	} while (0)

	for (int i = 0; i < mem->nbanks; i++) {
		uint64_t s = mem->bank[i].gpa, e = s + mem->bank[i].size;

		if (s < HIGHMEM_START) {
			PUSH(s, e < EBDA_START ? e : EBDA_START, IOVM_E820_RAM);
			if (e > EBDA_START)
				PUSH(EBDA_START, e < LOWMEM_END ? e : LOWMEM_END, IOVM_E820_RESERVED);
			if (e > BIOS_START)
				PUSH(BIOS_START, e < HIGHMEM_START ? e : HIGHMEM_START,
				     IOVM_E820_RESERVED);
			s = HIGHMEM_START;
		}
		PUSH(s, e, IOVM_E820_RAM);
	}
	/* Cut each excluded range out of the RAM pieces; the overlap becomes reserved. */
	for (int x = 0; x < nexcl; x++) {
		uint64_t xs = excl[x].start, xe = excl[x].end;
		int cur = n;

		for (int i = 0; i < cur; i++) {
			struct piece q = p[i];

			if (q.type != IOVM_E820_RAM || xe <= q.s || q.e <= xs)
				continue;
			p[i].e = p[i].s;	/* emptied; dropped below */
			PUSH(q.s, xs > q.s ? xs : q.s, IOVM_E820_RAM);
			PUSH(xe < q.e ? xe : q.e, q.e, IOVM_E820_RAM);
			PUSH(xs > q.s ? xs : q.s, xe < q.e ? xe : q.e, IOVM_E820_RESERVED);
		}
	}
#undef PUSH
	qsort(p, (size_t)n, sizeof(p[0]), piece_cmp);
	{
		int m = 0;

		for (int i = 0; i < n; i++)
			m += p[i].s < p[i].e;
		if (m > max || m > BP_E820_MAX)
			return -ENOSPC;		/* out untouched */
		m = 0;
		for (int i = 0; i < n; i++)
			if (p[i].s < p[i].e)
				out[m++] = (struct iovm_e820_entry){ p[i].s, p[i].e - p[i].s, p[i].type };
		return m;
	}
}

int iovm_initrd_place(const struct iovm_bzimage *bz, const struct iovm_e820_entry *e820, int n,
		      uint64_t min_addr, uint64_t size, uint64_t *addr)
{
	uint64_t best = 0, limit = (uint64_t)bz->initrd_addr_max + 1;
	bool found = false;

	if (size == 0 || size > limit)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		uint64_t s = e820[i].addr, e = e820[i].addr + e820[i].size, top, start;

		if (e820[i].type != IOVM_E820_RAM)
			continue;
		top = e < limit ? e : limit;
		if (top < size)
			continue;
		start = (top - size) & ~0xfffull;
		if (start < s || start < min_addr)
			continue;
		if (!found || start > best) {
			best = start;
			found = true;
		}
	}
	if (!found)
		return -ENOMEM;
	*addr = best;
	return 0;
}

int iovm_bootparams_fill(uint8_t *zp, const uint8_t *img, const struct iovm_bzimage *bz,
			 uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size,
			 const struct iovm_e820_entry *e820, int n)
{
	if (n < 0 || n > BP_E820_MAX || bz->hdr_end <= BP_SETUP_SECTS)
		return -EINVAL;
	memset(zp, 0, 4096);
	memcpy(zp + BP_SETUP_SECTS, img + BP_SETUP_SECTS, bz->hdr_end - BP_SETUP_SECTS);
	zp[BP_TYPE_OF_LOADER] = 0xff;		/* "undefined" boot loader */
	zp[BP_LOADFLAGS] &= (uint8_t)~BP_CAN_USE_HEAP;	/* no real-mode setup code runs */
	wr32(zp + BP_CMD_LINE_PTR, (uint32_t)cmdline_addr);
	wr32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(cmdline_addr >> 32));
	wr32(zp + BP_RAMDISK_IMAGE, (uint32_t)initrd_addr);
	wr32(zp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
	wr32(zp + BP_RAMDISK_SIZE, (uint32_t)initrd_size);
	wr32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + 20 * i;

		wr64(e, e820[i].addr);
		wr64(e + 8, e820[i].size);
		wr32(e + 16, e820[i].type);
	}
	return 0;
}

void iovm_boot_pagetables(uint8_t *low)
{
	uint64_t *pml4 = (uint64_t *)(low + IOVM_PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(low + IOVM_PDPT_ADDR);

	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = IOVM_PDPT_ADDR | 0x3;			/* present, writable */
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(low + IOVM_PD_ADDR + i * 4096);

		pdpt[i] = (IOVM_PD_ADDR + i * 4096) | 0x3;
		for (uint64_t j = 0; j < 512; j++)
			pd[j] = ((i * 512 + j) << 21) | 0x83;	/* present, writable, 2 MiB */
	}
}

uint64_t iovm_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0xffffu) | ((uint64_t)(limit & 0xf0000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40);
}

void iovm_boot_gdt(uint64_t gdt[IOVM_GDT_ENTRIES], bool long_mode)
{
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = iovm_gdt_entry(long_mode ? 0xa09b : 0xc09b, 0, 0xfffff);	/* code */
	gdt[3] = iovm_gdt_entry(0xc093, 0, 0xfffff);				/* data */
	gdt[4] = iovm_gdt_entry(0x808b, 0, 0xfffff);				/* TSS */
}

static uint8_t csum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

int iovm_mptable_build(uint8_t *buf, size_t len, uint64_t gpa, int ncpus,
		       const struct iovm_mp_intx *intx, int nintx)
{
	enum { FP = 16, HDR = 44, CPU = 20, ENT = 8, BUS_PCI = 0, BUS_ISA = 1 };
	size_t need = FP + HDR + (size_t)ncpus * CPU + 2 * ENT + ENT + 15 * ENT + 2 * ENT +
		      (size_t)(nintx > 0 ? nintx : 0) * ENT;
	uint8_t *h = buf + FP, *e = h + HDR;
	uint8_t ioapic_id = (uint8_t)ncpus;
	uint16_t count = 0;

	if (ncpus < 1 || ncpus > 254 || nintx < 0 || need > len || gpa + FP > 0xffffffffu)
		return -ENOSPC;
	for (int i = 0; i < nintx; i++)
		if (intx[i].dev > 31 || intx[i].pin < 1 || intx[i].pin > 4 || intx[i].gsi < 16 ||
		    intx[i].gsi > 23)
			return -EINVAL;
	memset(buf, 0, need);
	for (int i = 0; i < ncpus; i++, e += CPU, count++) {
		e[0] = 0;				/* processor */
		e[1] = (uint8_t)i;			/* LAPIC id */
		e[2] = 0x14;				/* LAPIC version */
		e[3] = (uint8_t)(0x01 | (i == 0 ? 0x02 : 0));	/* enabled, BSP */
		wr32(e + 4, 0x600);			/* CPU signature: family 6 */
		wr32(e + 8, 0x201);			/* features: FPU, APIC */
	}
	e[0] = 1; e[1] = BUS_PCI; memcpy(e + 2, "PCI   ", 6); e += ENT; count++;
	e[0] = 1; e[1] = BUS_ISA; memcpy(e + 2, "ISA   ", 6); e += ENT; count++;
	e[0] = 2; e[1] = ioapic_id; e[2] = 0x11; e[3] = 1;	/* IOAPIC, enabled */
	wr32(e + 4, (uint32_t)IOVM_IOAPIC_ADDR);
	e += ENT; count++;
	for (uint8_t irq = 0; irq < 16; irq++) {
		if (irq == 2)
			continue;	/* the PIC cascade */
		e[0] = 3; e[1] = 0;	/* I/O interrupt, INT */
		e[4] = BUS_ISA; e[5] = irq; e[6] = ioapic_id; e[7] = irq;
		e += ENT; count++;
	}
	for (int i = 0; i < nintx; i++) {
		e[0] = 3; e[1] = 0;
		e[2] = 0x0f;			/* active low, level triggered */
		e[4] = BUS_PCI;
		e[5] = (uint8_t)(intx[i].dev << 2 | (intx[i].pin - 1));
		e[6] = ioapic_id;
		e[7] = intx[i].gsi;
		e += ENT; count++;
	}
	e[0] = 4; e[1] = 3; e[4] = BUS_ISA; e[5] = 0; e[6] = 0xff; e[7] = 0;	/* ExtINT -> LINT0 */
	e += ENT; count++;
	e[0] = 4; e[1] = 1; e[4] = BUS_ISA; e[5] = 0; e[6] = 0xff; e[7] = 1;	/* NMI -> LINT1 */
	e += ENT; count++;

	memcpy(h, "PCMP", 4);
	wr16(h + 4, (uint16_t)(e - h));		/* base table length */
	h[6] = 4;				/* spec 1.4 */
	memcpy(h + 8, "IOVM    ", 8);
	memcpy(h + 16, "IOVM        ", 12);
	wr16(h + 34, count);
	wr32(h + 36, (uint32_t)IOVM_LAPIC_ADDR);
	h[7] = csum(h, (size_t)(e - h));

	memcpy(buf, "_MP_", 4);
	wr32(buf + 4, (uint32_t)(gpa + FP));
	buf[8] = 1;				/* length in 16-byte units */
	buf[9] = 4;
	buf[10] = csum(buf, FP);
	return (int)(e - buf);
}
