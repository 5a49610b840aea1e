/* Config-space virtualization of a passed-through device (vmm/pcicfg.c) against a fake
 * device shaped like an igb VF: MSI-X in BAR3, PCIe capability, a hidden VPD capability,
 * an SR-IOV-like extended capability and a ROM BAR that must not show. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "vmm/pcicfg.h"

static uint8_t dev[4096];
static unsigned nwrites;
static struct { unsigned off, len; uint32_t val; } wr[32];

static int fake_read(void *ctx, unsigned off, unsigned len, uint32_t *val)
{
	uint32_t v = 0;

	assert_true(off + len <= sizeof(dev));
	memcpy(&v, dev + off, len);
	*val = v;
	return 0;
}

static int fake_write(void *ctx, unsigned off, unsigned len, uint32_t val)
{
	assert_true(off + len <= sizeof(dev));
	if (nwrites < 32)
		wr[nwrites] = (typeof(wr[0])){ off, len, val & (len == 4 ? ~0u : (1u << (8 * len)) - 1) };
	nwrites++;
	memcpy(dev + off, &val, len);
	return 0;
}

static const struct iovm_pcicfg_ops ops = { fake_read, fake_write };
static const uint64_t sizes[6] = { 0x4000, 0, 0, 0x4000, 0, 0 };

static void put16(unsigned o, uint16_t v) { memcpy(dev + o, &v, 2); }
static void put32(unsigned o, uint32_t v) { memcpy(dev + o, &v, 4); }

static void make_vf(void)
{
	memset(dev, 0, sizeof(dev));
	nwrites = 0;
	put16(0x00, 0x8086);
	put16(0x02, 0x10ca);
	put16(0x06, 0x0010);		/* capability list */
	dev[0x0b] = 0x02;		/* network */
	dev[0x0e] = 0x80;		/* multifunction set on the device */
	put32(0x10, 0x0000000c);	/* BAR0: 64-bit prefetchable */
	put32(0x1c, 0x0000000c);	/* BAR3: 64-bit prefetchable */
	put32(0x30, 0xfffe0001);	/* ROM */
	dev[0x34] = 0x70;
	dev[0x70] = PCI_CAP_ID_MSIX;	/* MSI-X: 3 vectors, table BAR3+0, PBA BAR3+0x2000 */
	dev[0x71] = 0x50;
	put16(0x72, 0x0002);
	put32(0x74, 0x00000003);
	put32(0x78, 0x00002003);
	dev[0x50] = 0x03;		/* VPD: hidden */
	dev[0x51] = 0xa0;
	dev[0xa0] = PCI_CAP_ID_EXP;	/* PCIe v2 */
	dev[0xa1] = 0x00;
	put16(0xa2, 0x0002);
	put32(0x100, 0x00010010);	/* an extended capability (SR-IOV-like) */
}

static void header(void **state)
{
	struct iovm_pcicfg c;

	make_vf();
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x00, 4), 0x10ca8086);
	assert_int_equal(iovm_pcicfg_read(&c, 0x0e, 1), 0x00);		/* multifunction cleared */
	assert_int_equal(iovm_pcicfg_read(&c, 0x30, 4), 0);		/* ROM hidden */
	iovm_pcicfg_write(&c, 0x30, 4, 0xffffffff);
	assert_int_equal(iovm_pcicfg_read(&c, 0x30, 4), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x06, 1) & 0x10, 0x10);
	/* capability chain: MSI-X -> PCIe, VPD gone */
	assert_int_equal(iovm_pcicfg_read(&c, 0x34, 1), 0x70);
	assert_int_equal(iovm_pcicfg_read(&c, 0x70, 2), 0xa011);
	assert_int_equal(iovm_pcicfg_read(&c, 0xa0, 2), 0x0010);
	assert_int_equal(iovm_pcicfg_read(&c, 0x50, 4), 0);
	/* extended capabilities hidden */
	assert_int_equal(iovm_pcicfg_read(&c, 0x100, 4), 0);
	assert_int_equal(c.cap_msix, 0x70);
	assert_int_equal(c.msix_nr, 3);
	assert_int_equal(c.msix_table_bir, 3);
	assert_int_equal(c.msix_pba_off, 0x2000);
	/* writes to hidden or read-only places do not reach the device */
	iovm_pcicfg_write(&c, 0x00, 4, 0x12345678);
	iovm_pcicfg_write(&c, 0x50, 4, 0x12345678);
	iovm_pcicfg_write(&c, 0x100, 4, 0x12345678);
	assert_int_equal(nwrites, 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x00, 4), 0x10ca8086);
	assert_int_equal(dev[0x100], 0x10);
}

static void bars(void **state)
{
	struct iovm_pcicfg c;

	make_vf();
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	/* sizing from the shadow */
	assert_int_equal(iovm_pcicfg_write(&c, 0x10, 4, 0xffffffff), IOVM_PCICFG_EV_BAR(0));
	assert_int_equal(iovm_pcicfg_read(&c, 0x10, 4), 0xffffc00c);
	iovm_pcicfg_write(&c, 0x14, 4, 0xffffffff);
	assert_int_equal(iovm_pcicfg_read(&c, 0x14, 4), 0xffffffff);
	/* program */
	iovm_pcicfg_write(&c, 0x10, 4, 0xc0004000);
	assert_int_equal(iovm_pcicfg_write(&c, 0x14, 4, 0), IOVM_PCICFG_EV_BAR(0));
	assert_int_equal(c.bar[0].gpa, 0xc0004000);
	assert_int_equal(iovm_pcicfg_read(&c, 0x10, 4), 0xc000400c);
	/* the same value again: no event */
	assert_int_equal(iovm_pcicfg_write(&c, 0x10, 4, 0xc0004000), 0);
	/* byte write into the BAR */
	iovm_pcicfg_write(&c, 0x12, 1, 0x10);
	assert_int_equal(c.bar[0].gpa, 0xc0104000);
	/* low bits below the size are not writable */
	iovm_pcicfg_write(&c, 0x10, 4, 0xc0001234);
	assert_int_equal(c.bar[0].gpa, 0xc0000000);
	/* unimplemented BAR */
	assert_int_equal(iovm_pcicfg_write(&c, 0x18, 4, 0xffffffff), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x18, 4), 0);
	/* BAR3 64-bit, high part */
	iovm_pcicfg_write(&c, 0x1c, 4, 0x00008000);
	iovm_pcicfg_write(&c, 0x20, 4, 0x1);
	assert_int_equal(c.bar[3].gpa, 0x100008000ull);
	assert_true(c.bar[4].upper);
	/* the device never saw any of it */
	assert_int_equal(nwrites, 0);
}

static void command_and_passthrough(void **state)
{
	struct iovm_pcicfg c;

	make_vf();
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(iovm_pcicfg_write(&c, 0x04, 2, 0x0006), IOVM_PCICFG_EV_CMD);
	assert_int_equal(iovm_pcicfg_command(&c), 0x0006);
	assert_int_equal(nwrites, 1);
	assert_int_equal(wr[0].off, 0x04);
	assert_int_equal(wr[0].val, 0x0006);
	/* bus master only: no decode change, still written through */
	assert_int_equal(iovm_pcicfg_write(&c, 0x04, 2, 0x0002), 0);
	assert_int_equal(iovm_pcicfg_write(&c, 0x04, 1, 0x06), 0);
	assert_int_equal(nwrites, 3);
	assert_int_equal(wr[2].val, 0x0006);
	assert_int_equal(iovm_pcicfg_write(&c, 0x04, 2, 0x0004), IOVM_PCICFG_EV_CMD);
	/* PCIe capability body comes from the device, both ways */
	put16(0xaa, 0x1234);
	assert_int_equal(iovm_pcicfg_read(&c, 0xa8, 4), 0x12340000);
	nwrites = 0;
	iovm_pcicfg_write(&c, 0xa8, 2, 0x8000);	/* Device Control: initiate FLR */
	assert_int_equal(nwrites, 1);
	assert_int_equal(wr[0].off, 0xa8);
	assert_int_equal(wr[0].len, 2);
	assert_int_equal(wr[0].val, 0x8000);
	/* status: from the device except the capability-list bit */
	put16(0x06, 0x4000);
	assert_int_equal(iovm_pcicfg_read(&c, 0x06, 2), 0x4010);
	/* interrupt line is the guest's */
	iovm_pcicfg_write(&c, 0x3c, 1, 11);
	assert_int_equal(iovm_pcicfg_read(&c, 0x3c, 1), 11);
}

static void msix_control(void **state)
{
	struct iovm_pcicfg c;

	make_vf();
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	nwrites = 0;
	assert_int_equal(iovm_pcicfg_write(&c, 0x72, 2, 0xc7ff), IOVM_PCICFG_EV_MSIX);
	assert_true(iovm_pcicfg_msix_enabled(&c));
	assert_true(iovm_pcicfg_msix_fmask(&c));
	assert_int_equal(iovm_pcicfg_read(&c, 0x72, 2), 0xc002);	/* table size read-only */
	assert_int_equal(iovm_pcicfg_write(&c, 0x72, 2, 0x8000), IOVM_PCICFG_EV_MSIX);
	assert_false(iovm_pcicfg_msix_fmask(&c));
	assert_int_equal(iovm_pcicfg_write(&c, 0x72, 2, 0x8000), 0);
	iovm_pcicfg_write(&c, 0x74, 4, 0xffffffff);			/* table offset RO */
	assert_int_equal(iovm_pcicfg_read(&c, 0x74, 4), 3);
	assert_int_equal(nwrites, 0);
}

static void msi(void **state)
{
	struct iovm_pcicfg c;
	struct iovm_msi_state s;

	make_vf();
	dev[0x34] = 0x60;
	dev[0x60] = PCI_CAP_ID_MSI;
	dev[0x61] = 0x00;
	put16(0x62, 0x0186);		/* per-vector mask, 64-bit, MMC = 8 vectors */
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(c.cap_msi, 0x60);
	assert_true(c.msi_64);
	assert_true(c.msi_maskbit);
	assert_int_equal(iovm_pcicfg_write(&c, 0x64, 4, 0xfee01003), IOVM_PCICFG_EV_MSI);
	iovm_pcicfg_write(&c, 0x68, 4, 0);
	iovm_pcicfg_write(&c, 0x6c, 2, 0x4041);
	iovm_pcicfg_write(&c, 0x70, 4, 0x2);
	assert_int_equal(iovm_pcicfg_write(&c, 0x62, 2, 0x0031), IOVM_PCICFG_EV_MSI);
	iovm_pcicfg_msi(&c, &s);
	assert_true(s.enabled);
	assert_int_equal(s.nvec, 8);
	assert_int_equal(s.max_vec, 8);
	assert_int_equal(s.addr, 0xfee01000);	/* low two bits not writable */
	assert_int_equal(s.data, 0x4041);
	assert_int_equal(s.mask, 2);
	assert_int_equal(iovm_pcicfg_read(&c, 0x62, 2), 0x01b7);
	/* more vectors than the capability has: clamped */
	iovm_pcicfg_write(&c, 0x62, 2, 0x0051);
	iovm_pcicfg_msi(&c, &s);
	assert_int_equal(s.nvec, 8);
}

static void bounds(void **state)
{
	struct iovm_pcicfg c;

	make_vf();
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 4096, 4), 0xffffffff);
	assert_int_equal(iovm_pcicfg_read(&c, 0xffffffff, 1), 0xffffffff);
	assert_int_equal(iovm_pcicfg_read(&c, 0xfe, 4), 0xffffffff);	/* crosses a dword */
	assert_int_equal(iovm_pcicfg_read(&c, 0x10, 3), 0xffffffff);
	assert_int_equal(iovm_pcicfg_read(&c, 0xfff, 1), 0);
	assert_int_equal(iovm_pcicfg_write(&c, 4096, 4, 0), 0);
	assert_int_equal(iovm_pcicfg_write(&c, 0x0f, 2, 0xffff), 0);
	assert_int_equal(iovm_pcicfg_write(&c, 0x11, 4, 0xffffffff), 0);
	assert_int_equal(iovm_pcicfg_write(&c, 0xffc, 4, 0xffffffff), 0);
	assert_int_equal(nwrites, 0);
}

static void malformed(void **state)
{
	struct iovm_pcicfg c;
	uint64_t odd[6] = { 0x3000, 0, 0, 0, 0, 0 };

	make_vf();
	dev[0x71] = 0x70;		/* a loop */
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x71, 1), 0);
	make_vf();
	dev[0x34] = 0xfc;		/* a capability that would run past 0x100 */
	dev[0xfc] = PCI_CAP_ID_MSIX;
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(c.cap_msix, 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x34, 1), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x06, 1) & 0x10, 0);
	make_vf();
	dev[0x34] = 0x08;		/* pointer into the header */
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), 0);
	assert_int_equal(iovm_pcicfg_read(&c, 0x34, 1), 0);
	make_vf();
	dev[0x0e] = 0x01;		/* a bridge */
	assert_int_equal(iovm_pcicfg_init(&c, dev, sizes, &ops, NULL), -EINVAL);
	make_vf();
	assert_int_equal(iovm_pcicfg_init(&c, dev, odd, &ops, NULL), -EINVAL);
}

/* A BAR moved by the guest to an address that is not page aligned is used (trapped), not
 * ignored; outside the windows or wrapping it is refused. */
static void bar_placement(void **state)
{
	const uint64_t lo = 0xc0000000ull, hi = 0xfec00000ull, top = 0x140000000ull;

	assert_int_equal(iovm_bar_placement(0xc0000000ull, 0x4000, lo, hi, top), IOVM_BAR_DIRECT);
	assert_int_equal(iovm_bar_placement(0xc0001100ull, 0x100, lo, hi, top), IOVM_BAR_TRAP);
	assert_int_equal(iovm_bar_placement(0xc0000800ull, 0x800, lo, hi, top), IOVM_BAR_TRAP);
	assert_int_equal(iovm_bar_placement(0x200000100ull, 0x100, lo, hi, top), IOVM_BAR_TRAP);
	assert_int_equal(iovm_bar_placement(0x200000000ull, 0x100000, lo, hi, top), IOVM_BAR_DIRECT);
	assert_int_equal(iovm_bar_placement(0x1000, 0x1000, lo, hi, top), IOVM_BAR_REFUSE);	/* RAM */
	assert_int_equal(iovm_bar_placement(0xfebff000ull, 0x2000, lo, hi, top), IOVM_BAR_REFUSE);
	assert_int_equal(iovm_bar_placement(0xfee00000ull, 0x1000, lo, hi, top), IOVM_BAR_REFUSE);
	assert_int_equal(iovm_bar_placement(~0ull - 0xfff, 0x2000, lo, hi, top), IOVM_BAR_REFUSE);
	assert_int_equal(iovm_bar_placement(1ull << 46, 0x1000, lo, hi, top), IOVM_BAR_REFUSE);
	assert_int_equal(iovm_bar_placement(0xc0000000ull, 0, lo, hi, top), IOVM_BAR_REFUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header),
		cmocka_unit_test(bars),
		cmocka_unit_test(command_and_passthrough),
		cmocka_unit_test(msix_control),
		cmocka_unit_test(msi),
		cmocka_unit_test(bounds),
		cmocka_unit_test(malformed),
		cmocka_unit_test(bar_placement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
