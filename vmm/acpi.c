#include "vmm/acpi.h"
#include "vmm/aml.h"

#include <errno.h>
#include <string.h>

#define HDR		36	/* the common table header */
#define FADT_LEN	276	/* ACPI 6.5 FADT, revision 6 */
#define ALIGN16(x)	(((x) + 15) & ~(size_t)15)

/* FADT flags */
#define F_PWR_BUTTON	(1u << 4)	/* no fixed power button (a control method one) */
#define F_SLP_BUTTON	(1u << 5)
#define F_RESET_REG_SUP	(1u << 10)
#define F_HW_REDUCED	(1u << 20)
/* IA-PC boot architecture flags */
#define BA_8042		(1u << 1)	/* an i8042 at 0x60/0x64 (Ctrl-Alt-Del, reboot=k) */
#define BA_NO_VGA	(1u << 2)

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The common header; the checksum is set by finish() once the length is known. */
static void header(uint8_t *t, const char *sig, uint8_t rev)
{
	memcpy(t, sig, 4);
	t[8] = rev;
	memcpy(t + 10, "IOVM  ", 6);		/* OEM ID */
	memcpy(t + 16, "IOVMVM  ", 8);		/* OEM table ID */
	w32(t + 24, 1);				/* OEM revision */
	memcpy(t + 28, "IOVM", 4);		/* creator ID */
	w32(t + 32, 1);				/* creator revision */
}

static void finish(uint8_t *t, size_t len)
{
	w32(t + 4, (uint32_t)len);
	t[9] = 0;
	t[9] = (uint8_t)-sum(t, len);
}

/* Generic Address Structure: system I/O, byte access. */
static void gas_io(uint8_t *g, uint16_t port, uint8_t bits)
{
	g[0] = 1;		/* system I/O */
	g[1] = bits;
	g[2] = 0;
	g[3] = 1;		/* byte access */
	w64(g + 4, port);
}

static int dsdt(uint8_t *t, size_t cap, const struct iovm_acpi_cfg *c)
{
	struct iovm_aml a;
	struct iovm_res r;

	if (cap < HDR)
		return -ENOSPC;
	header(t, "DSDT", 2);
	iovm_aml_init(&a, t + HDR, cap - HDR);

	iovm_aml_scope(&a, "\\_SB_");

	/* The PCI host bridge: bus 0, config space by conf1 and ECAM (MCFG), the 32-bit MMIO
	 * window the BARs live in, all I/O ports but 0xcf8-0xcff. */
	iovm_aml_device(&a, "PCI0");
	iovm_aml_name(&a, "_HID"); iovm_aml_eisaid(&a, "PNP0A08");
	iovm_aml_name(&a, "_CID"); iovm_aml_eisaid(&a, "PNP0A03");
	iovm_aml_name(&a, "_ADR"); iovm_aml_int(&a, 0);
	iovm_aml_name(&a, "_SEG"); iovm_aml_int(&a, 0);
	iovm_aml_name(&a, "_BBN"); iovm_aml_int(&a, 0);
	iovm_aml_name(&a, "_UID"); iovm_aml_int(&a, 0);
	r = (struct iovm_res){ 0 };
	iovm_res_bus(&r, 0, (uint16_t)(c->hp_ports > 0 ? c->hp_ports : 0));
	iovm_res_io(&r, 0xcf8, 8);
	iovm_res_io_window(&r, 0x0000, 0x0cf7);
	iovm_res_io_window(&r, 0x0d00, 0xffff);
	iovm_res_mem32(&r, c->mmio_start, c->mmio_end - 1, 1);
	iovm_res_end(&r);
	iovm_aml_name(&a, "_CRS"); iovm_aml_buffer(&a, r.buf, r.len);
	if (r.err)
		return r.err;
	if (c->hp_ports > 0) {
		/* Method (_OSC, 4) { Return (Arg3) }: every control the OS asks for is granted,
		 * native PCIe hot-plug among them (without _OSC Linux leaves the root ports'
		 * slots to firmware, which iovm does not have). */
		static const uint8_t ret_arg3[] = { 0xa4, 0x6b };

		iovm_aml_method(&a, "_OSC", 4);
		iovm_aml_raw(&a, ret_arg3, sizeof(ret_arg3));
		iovm_aml_close(&a);
	}
	if (c->nintx > 0) {
		/* Package { Package { 0xDDDDFFFF, pin, 0, GSI } ... }: GSIs are level, low. */
		iovm_aml_name(&a, "_PRT");
		iovm_aml_package(&a, (unsigned)c->nintx);
		for (int i = 0; i < c->nintx; i++) {
			iovm_aml_package(&a, 4);
			iovm_aml_int(&a, (uint64_t)c->intx[i].dev << 16 | 0xffff);
			iovm_aml_int(&a, (uint64_t)(c->intx[i].pin - 1));
			iovm_aml_int(&a, 0);
			iovm_aml_int(&a, c->intx[i].gsi);
			iovm_aml_close(&a);
		}
		iovm_aml_close(&a);
	}
	iovm_aml_close(&a);

	/* The ECAM window, reserved as a motherboard resource (Linux uses MCFG's window only
	 * when something reserves it). */
	iovm_aml_device(&a, "RES0");
	iovm_aml_name(&a, "_HID"); iovm_aml_eisaid(&a, "PNP0C02");
	iovm_aml_name(&a, "_UID"); iovm_aml_int(&a, 0);
	r = (struct iovm_res){ 0 };
	iovm_res_mem32(&r, (uint32_t)c->ecam_base, (uint32_t)(c->ecam_base + (1u << 20) - 1), 0);
	iovm_res_end(&r);
	iovm_aml_name(&a, "_CRS"); iovm_aml_buffer(&a, r.buf, r.len);
	iovm_aml_close(&a);

	/* ttyS0 */
	iovm_aml_device(&a, "COM1");
	iovm_aml_name(&a, "_HID"); iovm_aml_eisaid(&a, "PNP0501");
	iovm_aml_name(&a, "_UID"); iovm_aml_int(&a, 0);
	r = (struct iovm_res){ 0 };
	iovm_res_io(&r, 0x3f8, 8);
	iovm_res_irq(&r, 4);
	iovm_res_end(&r);
	iovm_aml_name(&a, "_CRS"); iovm_aml_buffer(&a, r.buf, r.len);
	iovm_aml_close(&a);

	/* The i8042 (keyboard controller): Linux's i8042 driver takes its ports from here. */
	iovm_aml_device(&a, "KBD0");
	iovm_aml_name(&a, "_HID"); iovm_aml_eisaid(&a, "PNP0303");
	iovm_aml_name(&a, "_UID"); iovm_aml_int(&a, 0);
	r = (struct iovm_res){ 0 };
	iovm_res_io(&r, 0x60, 1);
	iovm_res_io(&r, 0x64, 1);
	iovm_res_irq(&r, 1);
	iovm_res_end(&r);
	iovm_aml_name(&a, "_CRS"); iovm_aml_buffer(&a, r.buf, r.len);
	iovm_aml_close(&a);

	/* The power button: a control-method button the Generic Event Device notifies when
	 * iovm raises its interrupt (vmm/power.c). Linux's button driver turns the
	 * notification into KEY_POWER on an input device. */
	iovm_aml_device(&a, "PWRB");
	iovm_aml_name(&a, "_HID"); iovm_aml_eisaid(&a, "PNP0C0C");
	iovm_aml_name(&a, "_UID"); iovm_aml_int(&a, 0);
	iovm_aml_close(&a);
	iovm_aml_device(&a, "GED0");
	iovm_aml_name(&a, "_HID"); iovm_aml_string(&a, "ACPI0013");
	iovm_aml_name(&a, "_UID"); iovm_aml_int(&a, 0);
	r = (struct iovm_res){ 0 };
	iovm_res_gsi(&r, IOVM_ACPI_GED_GSI, 1, 0);
	iovm_res_end(&r);
	iovm_aml_name(&a, "_CRS"); iovm_aml_buffer(&a, r.buf, r.len);
	iovm_aml_method(&a, "_EVT", 1);
	iovm_aml_notify(&a, "\\_SB_.PWRB", 0x80);
	iovm_aml_close(&a);
	iovm_aml_close(&a);

	iovm_aml_close(&a);	/* \_SB */

	/* S5: SLP_TYP 5 in the sleep control register (vmm/power.c). */
	iovm_aml_name(&a, "\\_S5_");
	iovm_aml_package(&a, 2);
	iovm_aml_int(&a, IOVM_ACPI_SLP_TYP_S5);
	iovm_aml_int(&a, 0);
	iovm_aml_close(&a);

	if (a.err || a.depth)
		return a.err ? a.err : -EINVAL;
	finish(t, HDR + a.len);
	return (int)(HDR + a.len);
}

static int fadt(uint8_t *t, size_t cap, uint64_t dsdt_gpa)
{
	if (cap < FADT_LEN)
		return -ENOSPC;
	memset(t, 0, FADT_LEN);
	header(t, "FACP", 6);
	w32(t + 40, (uint32_t)dsdt_gpa);			/* DSDT */
	w16(t + 109, BA_8042 | BA_NO_VGA);			/* IAPC_BOOT_ARCH */
	w32(t + 112, F_HW_REDUCED | F_RESET_REG_SUP | F_PWR_BUTTON | F_SLP_BUTTON);
	gas_io(t + 116, IOVM_ACPI_RESET_PORT, 8);		/* RESET_REG */
	t[128] = IOVM_ACPI_RESET_VALUE;
	t[131] = 5;						/* FADT minor version */
	w64(t + 140, dsdt_gpa);					/* X_DSDT */
	gas_io(t + 244, IOVM_ACPI_SLEEP_PORT, 8);		/* SLEEP_CONTROL_REG */
	gas_io(t + 256, IOVM_ACPI_SLEEP_PORT + 1, 8);		/* SLEEP_STATUS_REG */
	memcpy(t + 268, "IOVM    ", 8);				/* hypervisor vendor identity */
	finish(t, FADT_LEN);
	return FADT_LEN;
}

static int madt(uint8_t *t, size_t cap, int ncpus)
{
	size_t len = HDR + 8 + (size_t)ncpus * 8 + 12 + 6;
	uint8_t *e;

	if (cap < len)
		return -ENOSPC;
	memset(t, 0, len);
	header(t, "APIC", 5);
	w32(t + 36, (uint32_t)IOVM_LAPIC_ADDR);
	w32(t + 40, 0);			/* no PCAT_COMPAT: hardware-reduced, no 8259 in use */
	e = t + 44;
	for (int i = 0; i < ncpus; i++, e += 8) {
		e[0] = 0;		/* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;	/* ACPI processor UID */
		e[3] = (uint8_t)i;	/* APIC id */
		w32(e + 4, 1);		/* enabled */
	}
	e[0] = 1;			/* I/O APIC */
	e[1] = 12;
	e[2] = (uint8_t)ncpus;		/* its id, as in the MP table */
	w32(e + 4, (uint32_t)IOVM_IOAPIC_ADDR);
	w32(e + 8, 0);			/* GSI base */
	e += 12;
	e[0] = 4;			/* local APIC NMI */
	e[1] = 6;
	e[2] = 0xff;			/* all processors */
	w16(e + 3, 0);			/* flags: conforming */
	e[5] = 1;			/* LINT1 */
	finish(t, len);
	return (int)len;
}

static int mcfg(uint8_t *t, size_t cap, uint64_t ecam)
{
	size_t len = HDR + 8 + 16;

	if (cap < len)
		return -ENOSPC;
	memset(t, 0, len);
	header(t, "MCFG", 1);
	w64(t + 44, ecam);		/* base address */
	w16(t + 52, 0);			/* segment */
	t[54] = 0;			/* start bus */
	t[55] = 0;			/* end bus */
	finish(t, len);
	return (int)len;
}

int iovm_acpi_build(uint8_t *buf, size_t len, uint64_t gpa, const struct iovm_acpi_cfg *cfg)
{
	enum { RSDP_LEN = 36, NTAB = 3 };
	size_t off, xsdt_off, fadt_off, madt_off, mcfg_off, dsdt_off;
	int n;

	if (!cfg || cfg->ncpus < 1 || cfg->ncpus > 254 || cfg->nintx < 0 ||
	    cfg->mmio_end <= cfg->mmio_start || (gpa & 15) || gpa + len > 0x100000000ull ||
	    (cfg->ecam_base & ((1u << 20) - 1)) || cfg->ecam_base + (1u << 20) > 0x100000000ull)
		return -EINVAL;
	for (int i = 0; i < cfg->nintx; i++)
		if (cfg->intx[i].dev > 31 || cfg->intx[i].pin < 1 || cfg->intx[i].pin > 4)
			return -EINVAL;
	if (len < RSDP_LEN)
		return -ENOSPC;
	memset(buf, 0, len);
	xsdt_off = ALIGN16(RSDP_LEN);
	fadt_off = ALIGN16(xsdt_off + HDR + 8 * NTAB);
	if (fadt_off > len)
		return -ENOSPC;
	if ((n = fadt(buf + fadt_off, len - fadt_off, 0)) < 0)
		return n;
	madt_off = ALIGN16(fadt_off + (size_t)n);
	if (madt_off > len || (n = madt(buf + madt_off, len - madt_off, cfg->ncpus)) < 0)
		return madt_off > len ? -ENOSPC : n;
	mcfg_off = ALIGN16(madt_off + (size_t)n);
	if (mcfg_off > len || (n = mcfg(buf + mcfg_off, len - mcfg_off, cfg->ecam_base)) < 0)
		return mcfg_off > len ? -ENOSPC : n;
	dsdt_off = ALIGN16(mcfg_off + (size_t)n);
	if (dsdt_off > len || (n = dsdt(buf + dsdt_off, len - dsdt_off, cfg)) < 0)
		return dsdt_off > len ? -ENOSPC : n;
	off = dsdt_off + (size_t)n;
	/* The FADT again, now that the DSDT's address is known. */
	fadt(buf + fadt_off, len - fadt_off, gpa + dsdt_off);

	header(buf + xsdt_off, "XSDT", 1);
	w64(buf + xsdt_off + HDR, gpa + fadt_off);
	w64(buf + xsdt_off + HDR + 8, gpa + madt_off);
	w64(buf + xsdt_off + HDR + 16, gpa + mcfg_off);
	finish(buf + xsdt_off, HDR + 8 * NTAB);

	memcpy(buf, "RSD PTR ", 8);
	memcpy(buf + 9, "IOVM  ", 6);
	buf[15] = 2;				/* revision: ACPI 2.0+, XSDT */
	w32(buf + 16, 0);			/* no RSDT */
	w32(buf + 20, RSDP_LEN);
	w64(buf + 24, gpa + xsdt_off);
	buf[8] = (uint8_t)-sum(buf, 20);	/* ACPI 1.0 checksum: the first 20 bytes */
	buf[32] = (uint8_t)-sum(buf, RSDP_LEN);	/* extended checksum: all 36 */
	return (int)off;
}
