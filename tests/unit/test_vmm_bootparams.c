/* Linux boot protocol pieces of iovm (vmm/bootparams.c): bzImage header checks, e820,
 * initrd placement, the zero page, the boot GDT and page tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bootparams.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static uint8_t img[0x2000];

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void make_image(void)
{
	memset(img, 0, sizeof(img));
	img[BP_SETUP_SECTS] = 1;
	put16(img + BP_BOOT_FLAG, 0xaa55);
	img[BP_JUMP] = 0xeb;
	img[BP_JUMP + 1] = 0x66;
	memcpy(img + BP_HEADER, "HdrS", 4);
	put16(img + BP_VERSION, 0x020f);
	img[BP_LOADFLAGS] = BP_LOADED_HIGH;
	put32(img + BP_INITRD_ADDR_MAX, 0x7fffffff);
	put16(img + BP_XLOADFLAGS, BP_XLF_KERNEL_64);
	put32(img + BP_CMDLINE_SIZE, 2047);
	put32(img + BP_INIT_SIZE, 0x800000);
}

static void bzimage(void **state)
{
	struct iovm_bzimage bz = { .version = 1 };

	make_image();
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), 0);
	assert_int_equal(bz.version, 0x020f);
	assert_int_equal(bz.pm_offset, 1024);
	assert_int_equal(bz.pm_size, sizeof(img) - 1024);
	assert_int_equal(bz.hdr_end, 0x268);
	assert_int_equal(bz.cmdline_size, 2047);
	assert_int_equal(bz.init_size, 0x800000);
	/* setup_sects 0 means 4 */
	img[BP_SETUP_SECTS] = 0;
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), 0);
	assert_int_equal(bz.pm_offset, 5 * 512);
	/* setup bigger than the file */
	img[BP_SETUP_SECTS] = 200;
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), -EINVAL);
	make_image();
	/* truncated */
	assert_int_equal(iovm_bzimage_parse(img, 0x200, true, &bz), -EINVAL);
	/* bad magic, boot flag */
	img[BP_HEADER] = 'X';
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), -ENOEXEC);
	make_image();
	put16(img + BP_BOOT_FLAG, 0);
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), -ENOEXEC);
	/* old protocol, zImage, no 64-bit entry */
	make_image();
	put16(img + BP_VERSION, 0x0205);
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), -ENOTSUP);
	make_image();
	img[BP_LOADFLAGS] = 0;
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), -ENOTSUP);
	make_image();
	put16(img + BP_XLOADFLAGS, 0);
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), -ENOTSUP);
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), false, &bz), 0);
	/* a header length byte pointing past the setup area is clamped, not trusted */
	make_image();
	img[BP_JUMP + 1] = 0xff;
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), 0);
	assert_int_equal(bz.hdr_end, 0x280);
}

static void e820_small(void **state)
{
	struct iovm_mem mem;
	struct iovm_e820_entry e[BP_E820_MAX];
	int n;

	assert_int_equal(iovm_mem_layout(64 * MiB, &mem), 0);
	n = iovm_e820_build(&mem, NULL, 0, e, BP_E820_MAX);
	assert_int_equal(n, 4);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9fc00);
	assert_int_equal(e[0].type, IOVM_E820_RAM);
	assert_int_equal(e[1].addr, 0x9fc00);
	assert_int_equal(e[1].type, IOVM_E820_RESERVED);
	assert_int_equal(e[2].addr, 0xf0000);
	assert_int_equal(e[2].size, 0x10000);
	assert_int_equal(e[2].type, IOVM_E820_RESERVED);
	assert_int_equal(e[3].addr, MiB);
	assert_int_equal(e[3].size, 63 * MiB);
	assert_int_equal(e[3].type, IOVM_E820_RAM);
	e[0].addr = 0x1234;	/* written only on success */
	assert_int_equal(iovm_e820_build(&mem, NULL, 0, e, 3), -ENOSPC);
	assert_int_equal(e[0].addr, 0x1234);
}

static void e820_split(void **state)
{
	struct iovm_mem mem;
	struct iovm_e820_entry e[BP_E820_MAX];
	uint64_t ram = 0;
	int n;

	assert_int_equal(iovm_mem_layout(4 * GiB, &mem), 0);
	assert_int_equal(mem.nbanks, 2);
	assert_int_equal(mem.bank[0].size, 3 * GiB);
	assert_int_equal(mem.bank[1].gpa, 4 * GiB);
	assert_int_equal(mem.bank[1].size, 1 * GiB);
	n = iovm_e820_build(&mem, NULL, 0, e, BP_E820_MAX);
	assert_int_equal(n, 5);
	assert_int_equal(e[4].addr, 4 * GiB);
	for (int i = 0; i < n; i++)
		if (e[i].type == IOVM_E820_RAM)
			ram += e[i].size;
	assert_int_equal(ram, 4 * GiB - 0x60400);
	assert_int_equal(iovm_mem_layout(3 * MiB, &mem), -EINVAL);	/* not 2 MiB multiple */
	assert_int_equal(iovm_mem_layout(0, &mem), -EINVAL);
}

static void e820_reserved_regions(void **state)
{
	struct iovm_mem mem;
	struct iovm_e820_entry e[BP_E820_MAX];
	/* the MSI window (in the hole: no effect) and an RMRR-like range inside RAM */
	struct iovm_range x[] = { { 0xfee00000, 0xfef00000 }, { 32 * MiB, 33 * MiB } };
	int n;

	assert_int_equal(iovm_mem_layout(64 * MiB, &mem), 0);
	n = iovm_e820_build(&mem, x, 1, e, BP_E820_MAX);
	assert_int_equal(n, 4);
	n = iovm_e820_build(&mem, x, 2, e, BP_E820_MAX);
	assert_int_equal(n, 6);
	assert_int_equal(e[3].addr, MiB);
	assert_int_equal(e[3].size, 31 * MiB);
	assert_int_equal(e[4].addr, 32 * MiB);
	assert_int_equal(e[4].size, MiB);
	assert_int_equal(e[4].type, IOVM_E820_RESERVED);
	assert_int_equal(e[5].addr, 33 * MiB);
	assert_int_equal(e[5].size, 31 * MiB);
	assert_int_equal(e[5].type, IOVM_E820_RAM);
	/* a range covering the end of RAM */
	x[1] = (struct iovm_range){ 60 * MiB, 100 * MiB };
	n = iovm_e820_build(&mem, x, 2, e, BP_E820_MAX);
	assert_int_equal(n, 5);
	assert_int_equal(e[3].size, 59 * MiB);
	assert_int_equal(e[4].addr, 60 * MiB);
	assert_int_equal(e[4].size, 4 * MiB);
}

static void initrd(void **state)
{
	struct iovm_mem mem;
	struct iovm_e820_entry e[BP_E820_MAX];
	struct iovm_bzimage bz;
	uint64_t a = 0;
	int n;

	make_image();
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), 0);
	assert_int_equal(iovm_mem_layout(64 * MiB, &mem), 0);
	n = iovm_e820_build(&mem, NULL, 0, e, BP_E820_MAX);
	assert_int_equal(iovm_initrd_place(&bz, e, n, 10 * MiB, 5000, &a), 0);
	assert_int_equal(a, 64 * MiB - 8192);		/* page aligned, at the top */
	assert_int_equal(iovm_initrd_place(&bz, e, n, 10 * MiB, 60 * MiB, &a), -ENOMEM);
	/* initrd_addr_max limits it */
	bz.initrd_addr_max = 32 * MiB - 1;
	assert_int_equal(iovm_initrd_place(&bz, e, n, 10 * MiB, 4096, &a), 0);
	assert_int_equal(a, 32 * MiB - 4096);
	/* big guest: stays below the hole even though RAM continues above 4 GiB */
	bz.initrd_addr_max = 0xffffffff;
	assert_int_equal(iovm_mem_layout(8 * GiB, &mem), 0);
	n = iovm_e820_build(&mem, NULL, 0, e, BP_E820_MAX);
	assert_int_equal(iovm_initrd_place(&bz, e, n, 10 * MiB, MiB, &a), 0);
	assert_int_equal(a, 3 * GiB - MiB);
	assert_int_equal(iovm_initrd_place(&bz, e, n, 10 * MiB, 0, &a), -ENOMEM);
}

static void zero_page(void **state)
{
	struct iovm_mem mem;
	struct iovm_e820_entry e[BP_E820_MAX];
	struct iovm_bzimage bz;
	uint8_t *zp = malloc(4096);
	int n;

	assert_non_null(zp);
	make_image();
	img[0x20] = 0x77;	/* outside the setup header: must not be copied */
	assert_int_equal(iovm_bzimage_parse(img, sizeof(img), true, &bz), 0);
	assert_int_equal(iovm_mem_layout(64 * MiB, &mem), 0);
	n = iovm_e820_build(&mem, NULL, 0, e, BP_E820_MAX);
	memset(zp, 0xaa, 4096);
	assert_int_equal(iovm_bootparams_fill(zp, img, &bz, IOVM_CMDLINE_ADDR, 0x1230000ull,
					      0x4567, e, n), 0);
	assert_int_equal(zp[0x20], 0);
	assert_int_equal(zp[BP_TYPE_OF_LOADER], 0xff);
	assert_int_equal(get32(zp + BP_HEADER), 0x53726448);
	assert_int_equal(get32(zp + BP_CMD_LINE_PTR), IOVM_CMDLINE_ADDR);
	assert_int_equal(get32(zp + BP_EXT_CMD_LINE_PTR), 0);
	assert_int_equal(get32(zp + BP_RAMDISK_IMAGE), 0x1230000);
	assert_int_equal(get32(zp + BP_RAMDISK_SIZE), 0x4567);
	assert_int_equal(zp[BP_E820_ENTRIES], 4);
	assert_int_equal(get64(zp + BP_E820_TABLE + 3 * 20), MiB);
	assert_int_equal(get64(zp + BP_E820_TABLE + 3 * 20 + 8), 63 * MiB);
	assert_int_equal(get32(zp + BP_E820_TABLE + 3 * 20 + 16), IOVM_E820_RAM);
	assert_int_equal(zp[0x268], 0);		/* past the header end */
	assert_int_equal(iovm_bootparams_fill(zp, img, &bz, 0, 0, 0, e, BP_E820_MAX + 1), -EINVAL);
	free(zp);
}

static void gdt_and_pages(void **state)
{
	uint64_t gdt[IOVM_GDT_ENTRIES];
	uint8_t *low = calloc(1, MiB);
	uint64_t *pml4, *pdpt, *pd;

	assert_non_null(low);
	iovm_boot_gdt(gdt, true);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[IOVM_BOOT_CS / 8], 0x00af9b000000ffffull);
	assert_int_equal(gdt[IOVM_BOOT_DS / 8], 0x00cf93000000ffffull);
	iovm_boot_gdt(gdt, false);
	assert_int_equal(gdt[IOVM_BOOT_CS / 8], 0x00cf9b000000ffffull);
	iovm_boot_pagetables(low);
	pml4 = (uint64_t *)(low + IOVM_PML4_ADDR);
	pdpt = (uint64_t *)(low + IOVM_PDPT_ADDR);
	pd = (uint64_t *)(low + IOVM_PD_ADDR);
	assert_int_equal(pml4[0], IOVM_PDPT_ADDR | 3);
	assert_int_equal(pml4[1], 0);
	assert_int_equal(pdpt[3], (IOVM_PD_ADDR + 3 * 4096) | 3);
	assert_int_equal(pdpt[4], 0);
	assert_int_equal(pd[0], 0x83);
	assert_int_equal(pd[3 * 512 + 511], (4 * GiB - 2 * MiB) | 0x83);
	free(low);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void mptable(void **state)
{
	uint8_t *buf = calloc(1, IOVM_MPTABLE_MAX);
	int n, cpus = 0, ioapics = 0, ints = 0;
	uint8_t *h, *e;
	uint16_t len, count;

	assert_non_null(buf);
	const struct iovm_mp_intx intx[] = { { .dev = 1, .pin = 1, .gsi = 17 } };
	const struct iovm_mp_intx bad[] = { { .dev = 1, .pin = 5, .gsi = 17 } };
	const struct iovm_mp_intx bad_gsi[] = { { .dev = 1, .pin = 1, .gsi = 5 } };
	int pci_ints = 0;

	n = iovm_mptable_build(buf, IOVM_MPTABLE_MAX, IOVM_MPTABLE_ADDR, 4, intx, 1);
	assert_true(n > 0);
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(get32(buf + 4), IOVM_MPTABLE_ADDR + 16);
	assert_int_equal(sum8(buf, 16), 0);
	h = buf + 16;
	assert_memory_equal(h, "PCMP", 4);
	memcpy(&len, h + 4, 2);
	memcpy(&count, h + 34, 2);
	assert_int_equal(16 + len, n);
	assert_int_equal(sum8(h, len), 0);
	assert_int_equal(get32(h + 36), 0xfee00000);
	e = h + 44;
	for (unsigned i = 0; i < count; i++) {
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);
			assert_int_equal(e[3] & 2, cpus == 0 ? 2 : 0);
			cpus++;
			e += 20;
			break;
		case 2:
			ioapics++;
			assert_int_equal(get32(e + 4), 0xfec00000);
			e += 8;
			break;
		case 3:
			if (e[4] == 0) {	/* PCI bus: device 1 INTA, level/low, pin 17 */
				pci_ints++;
				assert_int_equal(e[5], 1 << 2 | 0);
				assert_int_equal(e[2], 0x0f);
				assert_int_equal(e[7], 17);
			} else {
				ints++;
				assert_int_equal(e[5], e[7]);	/* ISA IRQ n on pin n */
			}
			e += 8;
			break;
		default:
			assert_true(e[0] == 1 || e[0] == 4);
			e += 8;
		}
	}
	assert_int_equal(e - buf, n);
	assert_int_equal(cpus, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ints, 15);
	assert_int_equal(pci_ints, 1);
	assert_int_equal(iovm_mptable_build(buf, 64, IOVM_MPTABLE_ADDR, 4, NULL, 0), -ENOSPC);
	assert_int_equal(iovm_mptable_build(buf, IOVM_MPTABLE_MAX, IOVM_MPTABLE_ADDR, 0, NULL, 0), -ENOSPC);
	assert_int_equal(iovm_mptable_build(buf, IOVM_MPTABLE_MAX, IOVM_MPTABLE_ADDR, 1, bad, 1), -EINVAL);
	assert_int_equal(iovm_mptable_build(buf, IOVM_MPTABLE_MAX, IOVM_MPTABLE_ADDR, 1, bad_gsi, 1), -EINVAL);
	assert_true(iovm_mptable_build(buf, IOVM_MPTABLE_MAX, IOVM_MPTABLE_ADDR, 64, NULL, 0) > 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bzimage),
		cmocka_unit_test(e820_small),
		cmocka_unit_test(e820_split),
		cmocka_unit_test(e820_reserved_regions),
		cmocka_unit_test(initrd),
		cmocka_unit_test(zero_page),
		cmocka_unit_test(gdt_and_pages),
		cmocka_unit_test(mptable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
